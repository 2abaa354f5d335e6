/*
 * http_reply.c - the bytes of the 101 answer and of short plain-text error answers, into
 * caller memory, no I/O. RFC 7230 §3.1.2 status line, CRLF line ends; RFC 6455 §4.2.2 for
 * the 101 headers. Deciding which answer to give is handshake.c's and the glue's job.
 */
#include "http_reply.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Output cursor over caller memory. <len> keeps counting past <cap>, so one test at the
 * end tells whether everything fitted. */
struct http_reply_out {
    char *buf;  /* caller memory */
    size_t cap; /* bytes available at buf */
    size_t len; /* bytes written or wanted so far */
};

static void http_reply_put_mem(struct http_reply_out *o, const char *s, size_t n)
{
    if (o->len <= o->cap && n <= o->cap - o->len)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void http_reply_put(struct http_reply_out *o, const char *s)
{
    http_reply_put_mem(o, s, strlen(s));
}

static void http_reply_put_size(struct http_reply_out *o, size_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%zu", v);

    http_reply_put_mem(o, digits, (size_t)n);
}

/* Ends <o>: returns its length, adding a NUL after it when there is room (callers use the
 * length, the NUL only helps a debugger), or 0 if it did not fit. */
static size_t http_reply_end(struct http_reply_out *o)
{
    if (o->len > o->cap)
        return 0;
    if (o->len < o->cap)
        o->buf[o->len] = '\0';
    return o->len;
}

static bool http_reply_is_ctl(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
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

/* Writes the 101 answer with <accept> (a NUL-terminated Sec-WebSocket-Accept value) and,
 * unless NULL, <subprotocol> into <out> (<cap> bytes). Returns the length, or 0 if it does
 * not fit or <accept> is NULL. Neither value is checked for CR or LF: both come from
 * handshake.c, never from the client. */
size_t http_reply_101(char *out, size_t cap, const char *accept, const char *subprotocol)
{
    struct http_reply_out o = {.buf = out, .cap = cap, .len = 0};

    if (accept == NULL)
        return 0;
    /* RFC 6455 §4.2.2 item 5 */
    http_reply_put(&o, "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: ");
    http_reply_put(&o, accept);
    http_reply_put(&o, "\r\n");
    if (subprotocol != NULL) {
        http_reply_put(&o, "Sec-WebSocket-Protocol: ");
        http_reply_put(&o, subprotocol);
        http_reply_put(&o, "\r\n");
    }
    http_reply_put(&o, "\r\n");
    return http_reply_end(&o);
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
    struct http_reply_out o = {.buf = out, .cap = cap, .len = 0};
    const char *reason = http_reply_reason(status);
    char code[4];
    size_t body_len, i;

    if (status < 100 || status > 999) /* RFC 7230 §3.1.2: status-code = 3DIGIT */
        return 0;
    snprintf(code, sizeof(code), "%d", status);
    body_len = 3 + 1 + strlen(reason) + (detail != NULL ? 2 + strlen(detail) : 0) + 1;

    http_reply_put(&o, "HTTP/1.1 ");
    http_reply_put(&o, code);
    http_reply_put(&o, " ");
    http_reply_put(&o, reason);
    http_reply_put(&o, "\r\nContent-Type: text/plain\r\nContent-Length: ");
    http_reply_put_size(&o, body_len);
    http_reply_put(&o, "\r\nConnection: close\r\n");
    if (status == 426) /* RFC 7231 §6.5.15 and RFC 6455 §4.4 */
        http_reply_put(&o, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    /* RFC 7231 §6.5.5: list the methods the target supports; GET unless the caller says. */
    if (status == 405 && !http_reply_has_header(headers, "Allow:"))
        http_reply_put(&o, "Allow: GET\r\n");
    if (headers != NULL)
        http_reply_put(&o, headers);
    http_reply_put(&o, "\r\n");

    http_reply_put(&o, code);
    http_reply_put(&o, " ");
    http_reply_put(&o, reason);
    if (detail != NULL) {
        http_reply_put(&o, ": ");
        /* The detail may quote the client (a path, a header): keep it on one harmless line. */
        for (i = 0; detail[i] != '\0'; i++)
            http_reply_put_mem(&o, http_reply_is_ctl(detail[i]) ? "?" : &detail[i], 1);
    }
    http_reply_put(&o, "\n");
    return http_reply_end(&o);
}
