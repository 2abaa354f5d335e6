/*
 * http_req.h - an HTTP/1.x request head, read incrementally with http-parser, no I/O.
 * Keeps a private copy of the head (bounded by limits), so the caller may drop its input
 * after each feed. Bytes after the head are never consumed: they belong to the caller.
 */
#ifndef WSB_HTTP_REQ_H
#define WSB_HTTP_REQ_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_req_limits {
    size_t max_head_bytes;  /* whole head, request line included; over it: 431 */
    size_t max_url_bytes;   /* request target; over it: 414 */
    size_t max_headers;     /* number of header lines; over it: 431 */
};

#define HTTP_REQ_DEFAULT_LIMITS { .max_head_bytes = 16384, .max_url_bytes = 8192, .max_headers = 100 }

struct http_header {
    const char *name;   /* NUL-terminated, as sent (compare case-insensitively) */
    const char *value;  /* NUL-terminated, leading and trailing spaces and tabs removed */
};

enum http_req_result {
    HTTP_REQ_MORE = 0, /* all input used, the head is not complete yet */
    HTTP_REQ_DONE,     /* the head is complete: fields below are valid */
    HTTP_REQ_FAIL,     /* the head is malformed or over a limit: status and error say why */
};

/* Private to http_req.c: the http-parser data callback that ran last, so that a string
 * continued in a later input chunk is appended to rather than started anew. */
enum http_req_cb {
    HTTP_REQ_CB_NONE = 0, /* nothing stored yet */
    HTTP_REQ_CB_URL,      /* storing the request target */
    HTTP_REQ_CB_FIELD,    /* storing a header name */
    HTTP_REQ_CB_VALUE,    /* storing a header value */
};

/* Private to http_req.c: where the line scanner stands, for the RFC 7230 line rules
 * http-parser does not enforce (bare CR, obs-fold, control characters). */
enum http_req_line {
    HTTP_REQ_LINE_START = 0, /* at the start of a line, nothing on it yet */
    HTTP_REQ_LINE_TEXT,      /* inside a non-empty line */
    HTTP_REQ_LINE_CR,        /* after the CR of a non-empty line */
    HTTP_REQ_LINE_BLANK_CR,  /* after the CR of an empty line */
};

struct http_req {
    http_parser parser;            /* http-parser state (private) */
    struct http_req_limits limits;
    char *buf;                     /* private copy: url, names and values, NUL-separated */
    size_t buf_len, buf_cap;       /* bytes used / allocated in buf */
    size_t head_bytes;             /* head bytes consumed so far */
    struct http_header *headers;   /* max_headers entries, pointing into buf once DONE */
    size_t n_headers;
    /* Valid once DONE: */
    const char *method;            /* "GET", "POST", ... (static string) */
    const char *url;               /* request target as sent, NUL-terminated */
    unsigned http_major, http_minor;
    bool has_body;                 /* Content-Length > 0 or Transfer-Encoding present */
    /* Valid after FAIL: */
    int status;                    /* 400, 414 or 431 (500 if memory ran out) */
    const char *error;             /* short static text */
    /* private */
    enum http_req_cb last_cb;      /* which http-parser data callback ran last */
    enum http_req_line line;       /* line scanner state */
    bool request_line_seen;        /* the scanner is past the start of the request line */
    size_t blank_lines;            /* empty lines seen before the request line */
    size_t *offs;                  /* offsets in buf: url, then name and value per header */
    bool too_many_headers;         /* a line past max_headers: 431 at the end of the head */
    enum http_req_result result;
};

/* Prepares <r> under <limits> (NULL: HTTP_REQ_DEFAULT_LIMITS). Returns 0, or -1 if memory
 * ran out (then <r> holds nothing to free). */
int http_req_init(struct http_req *r, const struct http_req_limits *limits);

/* Releases what <r> holds; <r> may then be initialised again. Safe on a zeroed <r>. */
void http_req_free(struct http_req *r);

/* Feeds <len> bytes at <in>. Sets *<used> to the bytes taken: all of them for MORE; for
 * DONE exactly the bytes up to the end of the head (what follows, e.g. WebSocket frames
 * a client pipelined, is the caller's); for FAIL, unspecified. Any chunking gives the
 * same result. After DONE or FAIL, further calls use nothing and repeat the result. */
enum http_req_result http_req_feed(struct http_req *r, const uint8_t *in, size_t len, size_t *used);

/* Value of the first header named <name> (case-insensitive), or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);

/* Number of header lines named <name> (case-insensitive). */
size_t http_req_header_count(const struct http_req *r, const char *name);

/* True if <token> appears (case-insensitively) in the comma-separated token lists of all
 * header lines named <name> taken together (RFC 7230 §7: "Connection: keep-alive, Upgrade"). */
bool http_req_has_token(const struct http_req *r, const char *name, const char *token);

/* True if the client of <r> (a complete head) asks that the connection stay open after
 * the answer, by RFC 7230 §6.3: HTTP/1.1 and later unless a Connection line lists
 * "close"; HTTP/1.0 only if one lists "keep-alive" and none "close"; earlier versions
 * never. Whether the server agrees (limits, a body left unread) is the caller's choice.
 * False before DONE. */
bool http_req_wants_keep_alive(const struct http_req *r);

#endif
