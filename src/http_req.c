/*
 * http_req.c - an HTTP/1.x request head, read incrementally on http-parser 2.9, no I/O.
 * A line scanner runs in front of http-parser: it finds the empty line that ends the head
 * and enforces the RFC 7230 §3.2.4 and §3.5 rules that Debian's non-strict build lets
 * through (bare CR, obs-fold, control characters). http-parser tokenises what it passes.
 * Bare LF line ends and one empty line before the request line are accepted (RFC 7230 §3.5).
 * What to do with the head (routing, upgrade checks) is left to route.c and handshake.c.
 */
#include "http_req.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#define HTTP_REQ_BUF_START 256 /* first allocation of buf; most heads fit in a few of these */

/* Slots of offs[]: the url first, then a name and a value per header line. */
#define HTTP_REQ_URL_SLOT 0
#define HTTP_REQ_NAME_SLOT(i) (1 + 2 * (i))
#define HTTP_REQ_VALUE_SLOT(i) (2 + 2 * (i))

/* Marks <r> failed with <status> and <error> unless it failed already (the first reason is
 * the one the client hears). Returns -1, which also tells http-parser to stop. */
static int http_req_fail(struct http_req *r, int status, const char *error)
{
    if (r->result != HTTP_REQ_FAIL) {
        r->result = HTTP_REQ_FAIL;
        r->status = status;
        r->error = error;
    }
    return -1;
}

/* http_req_fail() for http_req_feed(), which answers with a result rather than -1. */
static enum http_req_result http_req_refuse(struct http_req *r, int status, const char *error)
{
    http_req_fail(r, status, error);
    return r->result;
}

static bool http_req_is_ows(char c)
{
    return c == ' ' || c == '\t'; /* RFC 7230 §3.2.3: OWS is SP / HTAB */
}

/* Appends <len> bytes at <at> to the private copy. Returns 0, or -1 after failing <r>. */
static int http_req_append(struct http_req *r, const char *at, size_t len)
{
    /* Every stored byte or NUL stands for at least one head byte (the ':' and line ends
     * are not stored), so the head budget in http_req_feed() already bounds buf; this
     * limit only makes the bound hold by construction. */
    size_t limit = r->limits.max_head_bytes + 1;
    size_t need = r->buf_len + len;
    size_t cap;
    char *grown;

    if (len == 0)
        return 0;
    if (need > r->buf_cap) {
        if (need > limit)
            return http_req_fail(r, 431, "request head too large");
        cap = r->buf_cap > 0 ? r->buf_cap : HTTP_REQ_BUF_START;
        while (cap < need && cap <= limit / 2)
            cap *= 2;
        if (cap < need || cap > limit)
            cap = limit;
        grown = realloc(r->buf, cap);
        if (grown == NULL)
            return http_req_fail(r, 500, "out of memory");
        r->buf = grown;
        r->buf_cap = cap;
    }
    memcpy(r->buf + r->buf_len, at, len);
    r->buf_len = need;
    return 0;
}

/* Ends the string being stored (url, name or value) with a NUL; a value first loses its
 * surrounding OWS. Returns 0, or -1 after failing <r>. */
static int http_req_close_string(struct http_req *r)
{
    size_t *start;

    switch (r->last_cb) {
    case HTTP_REQ_CB_NONE:
        return 0;
    case HTTP_REQ_CB_URL:
    case HTTP_REQ_CB_FIELD:
        break;
    case HTTP_REQ_CB_VALUE:
        /* RFC 7230 §3.2.4: OWS around a value is not part of it. http-parser drops the
         * leading part only; trim both here so a value split over chunks is trimmed too. */
        start = &r->offs[HTTP_REQ_VALUE_SLOT(r->n_headers - 1)];
        while (r->buf_len > *start && http_req_is_ows(r->buf[r->buf_len - 1]))
            r->buf_len--;
        while (*start < r->buf_len && http_req_is_ows(r->buf[*start]))
            (*start)++;
        break;
    }
    return http_req_append(r, "", 1);
}

/* True for an RFC 7230 §3.2.6 tchar, the only bytes a header name may hold. */
static bool http_req_is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* True if the <len> bytes at <at> are all tchars. */
static bool http_req_is_token(const char *at, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!http_req_is_tchar(at[i]))
            return false;
    return true;
}

static int http_req_on_url(http_parser *p, const char *at, size_t len)
{
    struct http_req *r = p->data;

    /* The scanner refuses the other controls; Debian's non-strict http-parser lets HTAB
     * into a target, where RFC 7230 §5.3 has no room for it. */
    if (memchr(at, '\t', len) != NULL)
        return http_req_fail(r, 400, "invalid character in request target");
    if (r->last_cb != HTTP_REQ_CB_URL) {
        r->offs[HTTP_REQ_URL_SLOT] = r->buf_len;
        r->last_cb = HTTP_REQ_CB_URL;
    }
    /* http-parser reports the target piece by piece, at the latest when a feed ends, and
     * the feed is bounded by the head budget: an overlong target fails before it is kept. */
    if (r->buf_len - r->offs[HTTP_REQ_URL_SLOT] + len > r->limits.max_url_bytes)
        return http_req_fail(r, 414, "request target too long");
    return http_req_append(r, at, len);
}

static int http_req_on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_req *r = p->data;

    /* A name continues across feeds; a new one starts after a value (http-parser always
     * reports a value, empty ones too, before the next name). */
    if (r->too_many_headers && r->last_cb == HTTP_REQ_CB_VALUE)
        r->last_cb = HTTP_REQ_CB_FIELD;
    if (r->last_cb != HTTP_REQ_CB_FIELD) {
        if (http_req_close_string(r) != 0)
            return -1;
        if (r->n_headers == r->limits.max_headers) {
            /* The verdict (400 or 431) must not depend on where TCP split the request,
             * and http-parser calls back for a name or value cut by a feed boundary
             * before it has seen the rest, which may still be malformed (400). So the
             * 431 waits for the end of the head, the one callback that comes after
             * every byte was checked in any chunking. Meanwhile names are checked and
             * nothing is kept; max_head_bytes still bounds the bytes read. */
            r->too_many_headers = true;
            r->last_cb = HTTP_REQ_CB_FIELD;
        }
    }
    if (r->too_many_headers)
        return http_req_is_token(at, len)
                   ? 0
                   : http_req_fail(r, 400, "invalid character in header name");
    if (r->last_cb != HTTP_REQ_CB_FIELD) {
        r->offs[HTTP_REQ_NAME_SLOT(r->n_headers)] = r->buf_len;
        r->n_headers++;
        r->last_cb = HTTP_REQ_CB_FIELD;
    }
    /* RFC 7230 §3.2.4: no whitespace in or after a name; Debian's non-strict http-parser
     * takes "Host : x" as a header named "Host ", which other hops would read as Host. */
    if (!http_req_is_token(at, len))
        return http_req_fail(r, 400, "invalid character in header name");
    return http_req_append(r, at, len);
}

static int http_req_on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_req *r = p->data;

    if (r->too_many_headers) {
        r->last_cb = HTTP_REQ_CB_VALUE;
        return 0;
    }
    /* Consecutive value callbacks are one value split by feed boundaries, never a folded
     * line: the scanner rejects obs-fold before http-parser sees it. */
    if (r->last_cb != HTTP_REQ_CB_VALUE) {
        if (http_req_close_string(r) != 0)
            return -1;
        r->offs[HTTP_REQ_VALUE_SLOT(r->n_headers - 1)] = r->buf_len;
        r->last_cb = HTTP_REQ_CB_VALUE;
    }
    return http_req_append(r, at, len);
}

static int http_req_on_headers_complete(http_parser *p)
{
    struct http_req *r = p->data;

    if (r->last_cb == HTTP_REQ_CB_FIELD && http_req_on_header_value(p, "", 0) != 0)
        return -1;
    if (r->too_many_headers)
        return http_req_fail(r, 431, "too many header lines");
    if (http_req_close_string(r) != 0)
        return -1;
    r->last_cb = HTTP_REQ_CB_NONE;
    /* http-parser reads a request line without a version as HTTP/0.9, which RFC 7230
     * §3.1.1 no longer allows; our answers would be HTTP/1.1 anyway. */
    if (p->http_major == 0)
        return http_req_fail(r, 400, "no HTTP version in request line");
    /* Stop on the LF that ends the head: without the pause http-parser would go on to read
     * the bytes after it (frames, a pipelined request) as a body or a new message. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings http_req_settings = {
    .on_url = http_req_on_url,
    .on_header_field = http_req_on_header_field,
    .on_header_value = http_req_on_header_value,
    .on_headers_complete = http_req_on_headers_complete,
};

/* Scans up to <len> bytes at <in> for the line structure of the head. Returns how many
 * belong to the head and pass; sets *<end> when the last of them ends the head, or
 * *<error> when the byte after them is refused. State is kept in <r> across calls. */
static size_t http_req_scan(struct http_req *r, const uint8_t *in, size_t len, bool *end,
                            const char **error)
{
    size_t i;
    uint8_t c;

    for (i = 0; i < len; i++) {
        c = in[i];
        if (c == '\n') {
            if (r->line == HTTP_REQ_LINE_TEXT || r->line == HTTP_REQ_LINE_CR) {
                r->line = HTTP_REQ_LINE_START;
                continue;
            }
            r->line = HTTP_REQ_LINE_START;
            if (r->request_line_seen) {
                *end = true; /* RFC 7230 §3: an empty line ends the head */
                return i + 1;
            }
            /* RFC 7230 §3.5: ignore at least one empty line before the request line. One
             * is enough for the clients that send it; more is not HTTP at all. */
            if (++r->blank_lines > 1) {
                *error = "empty line before request line";
                return i;
            }
            continue;
        }
        /* RFC 7230 §3.5: a bare CR is invalid; Debian's non-strict http-parser would take
         * "\rX" as a line end and swallow the X, so catch it here. */
        if (r->line == HTTP_REQ_LINE_CR || r->line == HTTP_REQ_LINE_BLANK_CR) {
            *error = "CR not followed by LF";
            return i;
        }
        if (c == '\r') {
            r->line = r->line == HTTP_REQ_LINE_START ? HTTP_REQ_LINE_BLANK_CR : HTTP_REQ_LINE_CR;
            continue;
        }
        /* RFC 7230 §3.2: no CTL but HTAB anywhere in a head (NUL, ESC, DEL, TLS records) */
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *error = "control character in request head";
            return i;
        }
        if (r->line == HTTP_REQ_LINE_START) {
            /* RFC 7230 §3.2.4: obs-fold outside message/http must be rejected with 400 */
            if (r->request_line_seen && http_req_is_ows((char)c)) {
                *error = "folded header line (obs-fold)";
                return i;
            }
            r->request_line_seen = true;
            r->line = HTTP_REQ_LINE_TEXT;
        }
    }
    return len;
}

/* Points the public fields into buf, now that it will not move any more. */
static void http_req_finish(struct http_req *r)
{
    size_t i;

    r->result = HTTP_REQ_DONE;
    r->url = r->buf + r->offs[HTTP_REQ_URL_SLOT];
    for (i = 0; i < r->n_headers; i++) {
        r->headers[i].name = r->buf + r->offs[HTTP_REQ_NAME_SLOT(i)];
        r->headers[i].value = r->buf + r->offs[HTTP_REQ_VALUE_SLOT(i)];
    }
    r->method = http_method_str((enum http_method)r->parser.method);
    r->http_major = r->parser.http_major;
    r->http_minor = r->parser.http_minor;
    /* http-parser has checked Content-Length (digits, no conflicting repeats) and leaves
     * it at UINT64_MAX when none was sent. */
    r->has_body = (r->parser.content_length != UINT64_MAX && r->parser.content_length > 0) ||
                  http_req_header_count(r, "Transfer-Encoding") > 0;
}

/* Prepares <r> under <limits> (NULL: HTTP_REQ_DEFAULT_LIMITS). Returns 0, or -1 if memory
 * ran out or max_headers is absurd (then <r> holds nothing to free). */
int http_req_init(struct http_req *r, const struct http_req_limits *limits)
{
    static const struct http_req_limits defaults = HTTP_REQ_DEFAULT_LIMITS;
    size_t max_headers;

    memset(r, 0, sizeof(*r));
    r->limits = limits != NULL ? *limits : defaults;
    max_headers = r->limits.max_headers;
    if (max_headers > (SIZE_MAX / sizeof(*r->offs) - 2) / 2)
        return -1;
    /* + 1 so that max_headers == 0 still gets a non-NULL pointer from calloc */
    r->headers = calloc(max_headers + 1, sizeof(*r->headers));
    r->offs = calloc(HTTP_REQ_NAME_SLOT(max_headers), sizeof(*r->offs));
    if (r->headers == NULL || r->offs == NULL) {
        http_req_free(r);
        return -1;
    }
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    return 0;
}

/* Releases what <r> holds and zeroes it; <r> may then be initialised again. Safe on a
 * zeroed <r>. */
void http_req_free(struct http_req *r)
{
    free(r->buf);
    free(r->headers);
    free(r->offs);
    memset(r, 0, sizeof(*r));
}

/* Feeds <len> bytes at <in> to <r>. Sets *<used>: <len> for MORE, the bytes up to and
 * including the LF that ends the head for DONE, 0 for FAIL. Keeps no pointer to <in>.
 * After DONE or FAIL, uses nothing and repeats the result. */
enum http_req_result http_req_feed(struct http_req *r, const uint8_t *in, size_t len, size_t *used)
{
    const char *scan_error = NULL;
    bool end = false;
    size_t budget, n, ok, got = 0;
    enum http_errno err;

    *used = 0;
    if (r->result != HTTP_REQ_MORE)
        return r->result;

    /* Show http-parser no more than the head may still take, so an overlong head fails
     * at its limit whatever the chunking, with memory bounded by max_head_bytes. */
    budget = r->limits.max_head_bytes - r->head_bytes;
    n = len < budget ? len : budget;
    ok = http_req_scan(r, in, n, &end, &scan_error);
    /* http_parser_execute() reads a length of 0 as end of stream: never pass one. */
    if (ok > 0)
        got = http_parser_execute(&r->parser, &http_req_settings, (const char *)in, ok);
    if (r->result == HTTP_REQ_FAIL) /* a callback failed: it said why */
        return HTTP_REQ_FAIL;

    err = HTTP_PARSER_ERRNO(&r->parser);
    if (err == HPE_PAUSED) {
        /* Paused in on_headers_complete, before the final LF: the scanner must agree. */
        if (!end || got + 1 != ok)
            return http_req_refuse(r, 400, "malformed end of head");
        r->head_bytes += ok;
        *used = ok;
        http_req_finish(r);
        return HTTP_REQ_DONE;
    }
    if (err == HPE_HEADER_OVERFLOW) /* http-parser's own limit, in case ours is above it */
        return http_req_refuse(r, 431, "request head too large");
    if (err != HPE_OK)
        return http_req_refuse(r, 400, http_errno_description(err));
    if (got != ok || end)
        return http_req_refuse(r, 400, "malformed end of head");
    r->head_bytes += ok;
    /* Errors in stream order: what http-parser refused came first, then the scanner's. */
    if (scan_error != NULL)
        return http_req_refuse(r, 400, scan_error);
    if (n < len)
        return http_req_refuse(r, 431, "request head too large");
    *used = len;
    return HTTP_REQ_MORE;
}

/* Value of the first header named <name> (case-insensitive) in a DONE <r>, or NULL. */
const char *http_req_header(const struct http_req *r, const char *name)
{
    size_t i;

    if (r->result != HTTP_REQ_DONE)
        return NULL;
    for (i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* Number of header lines named <name> (case-insensitive) in a DONE <r>; 0 otherwise. */
size_t http_req_header_count(const struct http_req *r, const char *name)
{
    size_t i, count = 0;

    if (r->result != HTTP_REQ_DONE)
        return 0;
    for (i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            count++;
    return count;
}

/* Finds the next element of the comma-separated list at <p>: sets *<tok> and *<tok_len>
 * to it without its OWS (empty elements give 0) and returns where the next one starts. */
static const char *http_req_next_token(const char *p, const char **tok, size_t *tok_len)
{
    const char *end, *last;

    while (http_req_is_ows(*p))
        p++;
    end = strchrnul(p, ',');
    *tok = p;
    for (last = end; last > p && http_req_is_ows(last[-1]); last--)
        ;
    *tok_len = (size_t)(last - p);
    return *end == ',' ? end + 1 : end;
}

/* True if <token> is an element (case-insensitive) of the comma-separated lists of all
 * header lines named <name> in a DONE <r> (RFC 7230 §7). An empty <token> never is. */
bool http_req_has_token(const struct http_req *r, const char *name, const char *token)
{
    size_t i, n, token_len = strlen(token);
    const char *p, *tok;

    if (r->result != HTTP_REQ_DONE || token_len == 0)
        return false;
    for (i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        for (p = r->headers[i].value; *p != '\0';) {
            p = http_req_next_token(p, &tok, &n);
            if (n == token_len && strncasecmp(tok, token, n) == 0)
                return true;
        }
    }
    return false;
}

/* True if the client of <r> wants the connection kept after the answer: see http_req.h. */
bool http_req_wants_keep_alive(const struct http_req *r)
{
    if (r->result != HTTP_REQ_DONE || http_req_has_token(r, "Connection", "close"))
        return false;
    /* RFC 7230 §6.3 and §A.1.2: HTTP/1.0 persists only on request. */
    if (r->http_major == 1 && r->http_minor == 0)
        return http_req_has_token(r, "Connection", "keep-alive");
    return r->http_major >= 1;
}
