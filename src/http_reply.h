/*
 * http_reply.h - the bytes of every HTTP answer head the daemon writes: a bounded builder
 * for any head (static files, redirects, the admin endpoint), and on it 101 Switching
 * Protocols and short plain-text errors. Everything goes into caller memory. No I/O.
 */
#ifndef WSB_HTTP_REPLY_H
#define WSB_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Reason phrase for <status> ("Bad Request"), or "Unknown" for a code it does not know. */
const char *http_reply_reason(int status);

/* Head builder --------------------------------------------------------------------------
 * One head, line by line, into caller memory: http_reply_head_init, then any of the
 * http_reply_head_add* calls in the order the lines should appear, then
 * http_reply_head_end, which alone says whether the head is good. Nothing is ever written
 * past <cap>; a head that does not fit keeps counting, so <len> then tells how much room
 * it needed. */

struct http_reply_head {
    char *buf;    /* caller memory */
    size_t cap;   /* bytes at buf */
    size_t len;   /* bytes written so far, or wanted once past cap */
    bool refused; /* a bad status, name or value was given: the head is worth nothing */
};

/* Starts a head in <buf> (<cap> bytes; NULL with 0 only measures) with the status line
 * "HTTP/1.1 <status> <reason>". A <status> outside 100..999 refuses the head. */
void http_reply_head_init(struct http_reply_head *h, char *buf, size_t cap, int status);

/* Adds the line "<name>: <value>". <name> must be a token (RFC 7230 §3.2.6) and <value>
 * hold no control byte but HTAB (so no CR or LF: no line can be injected); otherwise the
 * head is refused. The value is written as given: it is the caller's to make it mean
 * what the header wants. */
void http_reply_head_add(struct http_reply_head *h, const char *name, const char *value);

/* Adds the line "<name>: <value>" with <value> in decimal (Content-Length). */
void http_reply_head_add_uint(struct http_reply_head *h, const char *name, uintmax_t value);

/* Adds "Date: " and <now> (the caller's clock) as an IMF-fixdate (RFC 7231 §7.1.1.2). */
void http_reply_head_date(struct http_reply_head *h, time_t now);

/* Adds "Location: " with <path> percent-encoded (RFC 3986 §3.3: pchar and '/' as they
 * are, every other byte as %XX), then the <query_len> bytes at <query> (a "?..." taken
 * from the request target, or nothing) as given. <path> must start with exactly one '/'
 * ("//" would name another host) and <query> hold no space or control byte, else the
 * head is refused. */
void http_reply_head_location(struct http_reply_head *h, const char *path, const char *query,
                              size_t query_len);

/* Adds <lines> (NULL: nothing), whole header lines each ending in CRLF, as given: they
 * are the caller's constant text ("Allow: GET, HEAD\r\n"); never pass client bytes. */
void http_reply_head_add_lines(struct http_reply_head *h, const char *lines);

/* Adds the Connection line an HTTP/<major>.<minor> client needs to know whether the
 * connection stays open (RFC 7230 §6.1, §6.3): "Connection: close" when <keep> is false;
 * "Connection: keep-alive" when it is true for HTTP/1.0; nothing for HTTP/1.1 and later,
 * which persist by default. */
void http_reply_head_connection(struct http_reply_head *h, unsigned major, unsigned minor,
                                bool keep);

/* Ends the head with its empty line. Returns its length (a NUL follows when there is
 * room), or 0 if the head was refused or did not fit in <cap> (then h->len is the room
 * it needs, unless refused). A body, if any, is the caller's to send after it. */
size_t http_reply_head_end(struct http_reply_head *h);

/* Whole answers ------------------------------------------------------------------------ */

/* Writes "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, <accept> and, when
 * not NULL, Sec-WebSocket-Protocol: <subprotocol>. Returns the length, or 0 if <cap> is
 * too small or a value holds a control byte (nothing useful is written then). */
size_t http_reply_101(char *out, size_t cap, const char *accept, const char *subprotocol);

/* Writes a complete error answer: status line, Content-Type: text/plain,
 * Content-Length, Connection: close, the headers a status calls for (426: Upgrade:
 * websocket and Sec-WebSocket-Version: 13; 405: Allow: GET), then a one-line body
 * "<status> <reason>: <detail>\n" (": <detail>" left out when <detail> is NULL; control
 * characters in <detail> are replaced by '?'). Returns the length, or 0 if <cap> is too
 * small or <status> is outside 100..999. */
size_t http_reply_error(char *out, size_t cap, int status, const char *detail);

/* As http_reply_error, plus <headers> (NULL: none): whole header lines, each ending in
 * CRLF, such as "Retry-After: 1\r\n" or a 401's WWW-Authenticate. They are the caller's
 * text, written as given: never pass client bytes. An "Allow:" line among them replaces
 * the 405's own "Allow: GET" (an endpoint that serves HEAD too). */
size_t http_reply_error_with(char *out, size_t cap, int status, const char *detail,
                             const char *headers);

#endif
