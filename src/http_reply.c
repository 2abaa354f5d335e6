/*
 * http_reply.c - the bytes of every HTTP answer head the daemon writes, into caller
 * memory, no I/O: a small builder (status line, Date, header lines, Connection, the end),
 * and on it the 101 answer and short plain-text error answers. RFC 7230 §3.1.2 status
 * line, §3.2 header fields, CRLF line ends; RFC 6455 §4.2.2 for the 101 headers.
 * Deciding which answer to give is handshake.c's, static.c's and the glue's job.
 */
#include "http_reply.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_date.h"

static void http_reply_put_mem(struct http_reply_head *h, const char *s, size_t n)
{
    if (n > 0 && h->len <= h->cap && n <= h->cap - h->len) /* n == 0: s may be NULL */
        memcpy(h->buf + h->len, s, n);
    h->len += n;
}

static void http_reply_put(struct http_reply_head *h, const char *s)
{
    http_reply_put_mem(h, s, strlen(s));
}

static void http_reply_put_uint(struct http_reply_head *h, uintmax_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%ju", v);

    http_reply_put_mem(h, digits, (size_t)n);
}

/* Ends <h>: returns its length, adding a NUL after it when there is room (callers use the
 * length, the NUL only helps a debugger), or 0 if it did not fit or was refused. */
static size_t http_reply_finish(struct http_reply_head *h)
{
    if (h->refused || h->len > h->cap)
        return 0;
    if (h->len < h->cap)
        h->buf[h->len] = '\0';
    return h->len;
}

static bool http_reply_is_ctl(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

/* RFC 7230 §3.2.6: token = 1*tchar. */
static bool http_reply_is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s) != NULL))
            return false;
    return true;
}

/* RFC 7230 §3.2: a field value holds no CR, LF or other control byte but HTAB. */
static bool http_reply_is_field_value(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (http_reply_is_ctl(s[i]) && s[i] != '\t')
            return false;
    return true;
}

/* Reason phrases, from RFC 7231 §6.1, RFC 7233 §4.4 and RFC 7540 §9.1.2 (421). */
static const struct http_reply_phrase {
    int status;         /* three-digit code */
    const char *reason; /* its phrase */
} http_reply_phrases[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

/* Reason phrase for <status>, or "Unknown" for a code not in the table. */
const char *http_reply_reason(int status)
{
    size_t i;

    for (i = 0; i < sizeof(http_reply_phrases) / sizeof(http_reply_phrases[0]); i++)
        if (http_reply_phrases[i].status == status)
            return http_reply_phrases[i].reason;
    return "Unknown";
}

/* Head builder -------------------------------------------------------------------- */

/* Starts a head for <status> in <buf> (<cap> bytes): see http_reply.h. */
void http_reply_head_init(struct http_reply_head *h, char *buf, size_t cap, int status)
{
    *h = (struct http_reply_head){.buf = buf, .cap = cap};
    if (status < 100 || status > 999) { /* RFC 7230 §3.1.2: status-code = 3DIGIT */
        h->refused = true;
        return;
    }
    http_reply_put(h, "HTTP/1.1 ");
    http_reply_put_uint(h, (uintmax_t)status);
    http_reply_put(h, " ");
    http_reply_put(h, http_reply_reason(status));
    http_reply_put(h, "\r\n");
}

/* Adds "<name>: <value>" to <h>: see http_reply.h. */
void http_reply_head_add(struct http_reply_head *h, const char *name, const char *value)
{
    if (!http_reply_is_token(name) || value == NULL ||
        !http_reply_is_field_value(value, strlen(value))) {
        h->refused = true;
        return;
    }
    http_reply_put(h, name);
    http_reply_put(h, ": ");
    http_reply_put(h, value);
    http_reply_put(h, "\r\n");
}

/* Adds "<name>: <value>" with <value> in decimal: see http_reply.h. */
void http_reply_head_add_uint(struct http_reply_head *h, const char *name, uintmax_t value)
{
    char digits[24];

    snprintf(digits, sizeof(digits), "%ju", value);
    http_reply_head_add(h, name, digits);
}

/* Adds "Date: " and <now> as an IMF-fixdate: see http_reply.h. */
void http_reply_head_date(struct http_reply_head *h, time_t now)
{
    char date[HTTP_DATE_LEN];

    http_reply_head_add(h, "Date", http_date_write(now, date));
}

/* Adds the Location of <path>, percent-encoded, then <query>: see http_reply.h. */
void http_reply_head_location(struct http_reply_head *h, const char *path, const char *query,
                              size_t query_len)
{
    static const char hex[] = "0123456789ABCDEF";

    /* "//host/..." is a network-path reference (RFC 3986 §4.2): another site. */
    if (path == NULL || path[0] != '/' || path[1] == '/' || (query_len > 0 && query == NULL)) {
        h->refused = true;
        return;
    }
    for (size_t i = 0; i < query_len; i++) {
        if (http_reply_is_ctl(query[i]) || query[i] == ' ') {
            h->refused = true;
            return;
        }
    }
    http_reply_put(h, "Location: ");
    /* RFC 3986 §3.3: pchar and '/' as they are, every other byte as %XX, so bytes
     * decoded from a request target never reach a header raw. */
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~!$&'()*+,;=:@", *p) != NULL) {
            http_reply_put_mem(h, (const char *)p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            http_reply_put_mem(h, esc, sizeof(esc));
        }
    }
    http_reply_put_mem(h, query, query_len);
    http_reply_put(h, "\r\n");
}

/* Adds the caller's complete header lines <lines>: see http_reply.h. */
void http_reply_head_add_lines(struct http_reply_head *h, const char *lines)
{
    if (lines != NULL)
        http_reply_put(h, lines);
}

/* Adds the Connection line an HTTP/<major>.<minor> client needs: see http_reply.h. */
void http_reply_head_connection(struct http_reply_head *h, unsigned major, unsigned minor,
                                bool keep)
{
    if (!keep)
        http_reply_put(h, "Connection: close\r\n");
    else if (major == 1 && minor == 0) /* RFC 7230 §A.1.2: 1.0 persists only if told */
        http_reply_put(h, "Connection: keep-alive\r\n");
}

/* Ends the head with its empty line: see http_reply.h. */
size_t http_reply_head_end(struct http_reply_head *h)
{
    http_reply_put(h, "\r\n");
    return http_reply_finish(h);
}

/* Whole answers ------------------------------------------------------------------------ */

/* Writes the 101 answer with <accept> (a NUL-terminated Sec-WebSocket-Accept value) and,
 * unless NULL, <subprotocol> into <out> (<cap> bytes). Returns the length, or 0 if it does
 * not fit, <accept> is NULL or a value holds a control byte. */
size_t http_reply_101(char *out, size_t cap, const char *accept, const char *subprotocol)
{
    struct http_reply_head h;

    if (accept == NULL)
        return 0;
    /* RFC 6455 §4.2.2 item 5 */
    http_reply_head_init(&h, out, cap, 101);
    http_reply_head_add(&h, "Upgrade", "websocket");
    http_reply_head_add(&h, "Connection", "Upgrade");
    http_reply_head_add(&h, "Sec-WebSocket-Accept", accept);
    if (subprotocol != NULL)
        http_reply_head_add(&h, "Sec-WebSocket-Protocol", subprotocol);
    return http_reply_head_end(&h);
}

/* True if the caller's header lines <headers> (NULL: none) include one named <name>,
 * given with its colon ("Allow:"). */
static bool http_reply_has_header(const char *headers, const char *name)
{
    size_t n = strlen(name);

    for (const char *line = headers; line != NULL && *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        if (strncasecmp(line, name, n) == 0)
            return true;
        line = end != NULL ? end + 2 : NULL;
    }
    return false;
}

/* Writes a complete error answer for <status> (100..999) with an optional <detail> line
 * into <out> (<cap> bytes), as http_reply.h describes. Returns the length, or 0 if it does
 * not fit or <status> has not three digits (a status line needs exactly three). */
size_t http_reply_error(char *out, size_t cap, int status, const char *detail)
{
    return http_reply_error_with(out, cap, status, detail, NULL);
}

/* As http_reply_error, with <headers> (NULL: none), complete "Name: value\r\n" lines
 * from the caller, written after the status's own headers. */
size_t http_reply_error_with(char *out, size_t cap, int status, const char *detail,
                             const char *headers)
{
    struct http_reply_head h;
    const char *reason = http_reply_reason(status);
    size_t i;

    http_reply_head_init(&h, out, cap, status);
    http_reply_head_add(&h, "Content-Type", "text/plain");
    /* the body below: "<status> <reason>[: <detail>]\n" */
    http_reply_head_add_uint(&h, "Content-Length",
                             3 + 1 + strlen(reason) + (detail != NULL ? 2 + strlen(detail) : 0) +
                                 1);
    http_reply_head_connection(&h, 1, 1, false);
    if (status == 426) { /* RFC 7231 §6.5.15 and RFC 6455 §4.4 */
        http_reply_head_add(&h, "Upgrade", "websocket");
        http_reply_head_add(&h, "Sec-WebSocket-Version", "13");
    }
    /* RFC 7231 §6.5.5: list the methods the target supports; GET unless the caller says. */
    if (status == 405 && !http_reply_has_header(headers, "Allow:"))
        http_reply_head_add(&h, "Allow", "GET");
    http_reply_head_add_lines(&h, headers);
    http_reply_put(&h, "\r\n");

    http_reply_put_uint(&h, (uintmax_t)status);
    http_reply_put(&h, " ");
    http_reply_put(&h, reason);
    if (detail != NULL) {
        http_reply_put(&h, ": ");
        /* The detail may quote the client (a path, a header): keep it on one harmless line. */
        for (i = 0; detail[i] != '\0'; i++)
            http_reply_put_mem(&h, http_reply_is_ctl(detail[i]) ? "?" : &detail[i], 1);
    }
    http_reply_put(&h, "\n");
    return http_reply_finish(&h);
}
