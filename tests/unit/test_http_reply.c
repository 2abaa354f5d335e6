/*
 * test_http_reply.c - proves that http_reply.c writes exact bytes: the 101 answer with and
 * without a subprotocol, error answers with the headers their status calls for and a
 * Content-Length equal to the body, control characters in the detail neutralised, and
 * nothing (0) whenever the buffer is one byte too small, without writing past it. The head
 * builder: exact heads as static.c and admin.c send them, the Connection line for each
 * version and keep decision, Location percent-encoding, refusal of bad names, values
 * (CR, LF, controls), statuses and Locations, and the room a head that did not fit needs.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "http_reply.h"

struct reply_case {
    const char *name;
    int status;         /* 101: a 101 answer, with detail as the subprotocol */
    const char *detail; /* detail, or the subprotocol for 101 */
    const char *bytes;  /* exact expected answer */
};

#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static const struct reply_case test_cases[] = {
    {"101 without subprotocol", 101, NULL,
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n"},
    {"101 with subprotocol", 101, "binary",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Protocol: binary\r\n\r\n"},
    {"400 with detail", 400, "no Upgrade: websocket",
     "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 39\r\n"
     "Connection: close\r\n\r\n400 Bad Request: no Upgrade: websocket\n"},
    {"404 without detail", 404, NULL,
     "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
     "Connection: close\r\n\r\n404 Not Found\n"},
    {"426 names the version", 426, "Sec-WebSocket-Version is not 13",
     "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\nContent-Length: 54\r\n"
     "Connection: close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"
     "426 Upgrade Required: Sec-WebSocket-Version is not 13\n"},
    {"405 names the method", 405, "method is not GET",
     "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n"
     "Connection: close\r\nAllow: GET\r\n\r\n405 Method Not Allowed: method is not GET\n"},
    {"431", 431, "too many header lines",
     "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
     "Content-Length: 59\r\nConnection: close\r\n\r\n"
     "431 Request Header Fields Too Large: too many header lines\n"},
    {"control characters in the detail", 502, "a\r\nb\tc\x01\x1b\x7f\xc3\xa9",
     "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n"
     "Connection: close\r\n\r\n502 Bad Gateway: a?\?b?c?\??\xc3\xa9\n"},
    {"header injection attempt", 400, "x\r\nSet-Cookie: a=b\r\n\r\n<html>",
     "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 46\r\n"
     "Connection: close\r\n\r\n400 Bad Request: x?\?Set-Cookie: a=b?\??\?<html>\n"},
    {"empty detail", 500, "",
     "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 28\r\n"
     "Connection: close\r\n\r\n500 Internal Server Error: \n"},
    {"unknown status", 299, NULL,
     "HTTP/1.1 299 Unknown\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
     "Connection: close\r\n\r\n299 Unknown\n"},
};

#define TEST_N_CASES (sizeof(test_cases) / sizeof(test_cases[0]))

static size_t test_write(const struct reply_case *c, char *out, size_t cap)
{
    if (c->status == 101)
        return http_reply_101(out, cap, ACCEPT, c->detail);
    return http_reply_error(out, cap, c->status, c->detail);
}

START_TEST(test_exact_bytes)
{
    const struct reply_case *c = &test_cases[_i];
    size_t want = strlen(c->bytes), len;
    char out[1024];

    memset(out, 'x', sizeof(out));
    len = test_write(c, out, sizeof(out));
    ck_assert_msg(len == want && memcmp(out, c->bytes, want) == 0, "%s: got %zu bytes\n%.*s",
                  c->name, len, (int)len, out);
    ck_assert_int_eq(out[len], '\0'); /* room was left, so a NUL follows */
}
END_TEST

/* Every cap below the length gives 0, the exact length works; the heap buffer is exactly
 * <cap> bytes so that AddressSanitizer catches any write past it. */
START_TEST(test_cap_boundaries)
{
    const struct reply_case *c = &test_cases[_i];
    size_t want = strlen(c->bytes), cap;
    char *out;

    for (cap = 0; cap <= want + 1; cap++) {
        out = malloc(cap > 0 ? cap : 1);
        ck_assert_ptr_nonnull(out);
        if (cap < want) {
            ck_assert_msg(test_write(c, out, cap) == 0, "%s: cap %zu", c->name, cap);
        } else {
            ck_assert_uint_eq(test_write(c, out, cap), want);
            ck_assert(memcmp(out, c->bytes, want) == 0);
        }
        free(out);
    }
}
END_TEST

/* Parses the answer in <s> (<len> bytes) and checks its framing: a status line, CRLF line
 * ends only, a Content-Length that matches the bytes after the empty line. */
static void test_check_framing(const char *s, size_t len, int status)
{
    const char *body = strstr(s, "\r\n\r\n");
    const char *cl = strstr(s, "\r\nContent-Length: ");
    char line[64];
    size_t i;

    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(cl);
    ck_assert(cl < body);
    body += 4;
    ck_assert_uint_eq(strtoul(cl + 18, NULL, 10), len - (size_t)(body - s));
    snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
    ck_assert(strncmp(s, line, strlen(line)) == 0);
    for (i = 0; s + i < body; i++)
        if (s[i] == '\n')
            ck_assert_int_eq(s[i - 1], '\r');
        else if (s[i] == '\r')
            ck_assert_int_eq(s[i + 1], '\n');
}

static const int test_statuses[] = {101, 200, 204, 206, 301, 304, 400, 403, 404, 405, 408,
                                    413, 414, 416, 426, 431, 500, 501, 502, 503, 504, 505};

START_TEST(test_every_status_is_framed)
{
    int status = test_statuses[_i];
    char out[512], detail[8];
    size_t len;

    ck_assert_str_ne(http_reply_reason(status), "Unknown");
    len = http_reply_error(out, sizeof(out), status, NULL);
    ck_assert_uint_gt(len, 0);
    test_check_framing(out, len, status);
    snprintf(detail, sizeof(detail), "d%d", status);
    len = http_reply_error(out, sizeof(out), status, detail);
    ck_assert_uint_gt(len, 0);
    test_check_framing(out, len, status);
    ck_assert_uint_eq((size_t)(strstr(out, "\r\n\r\n") != NULL), 1);
    ck_assert_int_eq(strstr(out, "Allow: GET\r\n") != NULL, status == 405);
    ck_assert_int_eq(strstr(out, "Sec-WebSocket-Version: 13\r\n") != NULL, status == 426);
    ck_assert_int_eq(strstr(out, "Upgrade: websocket\r\n") != NULL, status == 426);
}
END_TEST

static const struct {
    int status;
    const char *reason;
} test_reasons[] = {
    {101, "Switching Protocols"},
    {200, "OK"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {416, "Range Not Satisfiable"},
    {426, "Upgrade Required"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {0, "Unknown"},
    {-1, "Unknown"},
    {299, "Unknown"},
    {600, "Unknown"},
};

START_TEST(test_reason)
{
    ck_assert_str_eq(http_reply_reason(test_reasons[_i].status), test_reasons[_i].reason);
}
END_TEST

/* Caller header lines come after the status's own; a caller's Allow replaces a 405's. */
START_TEST(test_extra_headers)
{
    char out[512];
    size_t n;

    n = http_reply_error_with(out, sizeof(out), 405, NULL, "Allow: GET, HEAD\r\n");
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(out, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 23\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n"
                          "405 Method Not Allowed\n");
    n = http_reply_error_with(out, sizeof(out), 405, NULL, "X-A: 1\r\nallow: POST\r\n");
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_null(strstr(out, "Allow: GET"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nX-A: 1\r\nallow: POST\r\n\r\n"));
    /* a header merely containing the word, or another status, changes nothing */
    n = http_reply_error_with(out, sizeof(out), 405, NULL, "X-Allow: POST\r\n");
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(out, "\r\nAllow: GET\r\nX-Allow: POST\r\n\r\n"));
    n = http_reply_error_with(out, sizeof(out), 503, "busy", "Retry-After: 1\r\n");
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\nRetry-After: 1\r\n\r\n"));
    ck_assert_ptr_null(strstr(out, "Allow"));
}
END_TEST

START_TEST(test_refusals)
{
    char out[512];

    /* a status line needs exactly three digits */
    ck_assert_uint_eq(http_reply_error(out, sizeof(out), 99, "x"), 0);
    ck_assert_uint_eq(http_reply_error(out, sizeof(out), 1000, "x"), 0);
    ck_assert_uint_eq(http_reply_error(out, sizeof(out), -400, NULL), 0);
    ck_assert_uint_eq(http_reply_101(out, sizeof(out), NULL, NULL), 0);
    ck_assert_uint_eq(http_reply_101(NULL, 0, ACCEPT, NULL), 0);
    /* no value can end a line early */
    ck_assert_uint_eq(http_reply_101(out, sizeof(out), ACCEPT "\r\nX: y", NULL), 0);
    ck_assert_uint_eq(http_reply_101(out, sizeof(out), ACCEPT, "binary\r\n"), 0);
    ck_assert_uint_eq(http_reply_error(NULL, 0, 400, NULL), 0);
}
END_TEST

/* Head builder -------------------------------------------------------------------------- */

#define TEST_DATE 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

/* The heads the glue builds, each written by one of the functions below. */
enum test_head_kind {
    TEST_HEAD_FILE = 0,  /* static.c: a 200 for a file, HTTP/1.1 kept */
    TEST_HEAD_304_10,    /* static.c: a 304 to an HTTP/1.0 client that asked to keep */
    TEST_HEAD_ERROR_405, /* static.c: a 405 with Allow, closing */
    TEST_HEAD_REDIRECT,  /* static.c: a 301 with an encoded Location and the query */
    TEST_HEAD_ADMIN,     /* admin.c: /metrics, no Date, closing */
};

struct test_head_case {
    const char *name;
    enum test_head_kind kind;
    const char *bytes; /* exact expected head */
};

static const struct test_head_case test_head_cases[] = {
    {"file", TEST_HEAD_FILE,
     "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
     "ETag: \"a740d3-6-17979cfe362a0000\"\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
     "Cache-Control: no-cache\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Length: 6\r\nX-Content-Type-Options: nosniff\r\n\r\n"},
    {"304 to HTTP/1.0", TEST_HEAD_304_10,
     "HTTP/1.1 304 Not Modified\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
     "ETag: \"a740d3-6-17979cfe362a0000\"\r\nConnection: keep-alive\r\n\r\n"},
    {"405", TEST_HEAD_ERROR_405,
     "HTTP/1.1 405 Method Not Allowed\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n"
     "X-Content-Type-Options: nosniff\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\n"},
    {"redirect", TEST_HEAD_REDIRECT,
     "HTTP/1.1 301 Moved Permanently\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
     "Location: /sp%20ace/caf%C3%A9/?q=1&r=%41\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Length: 22\r\n\r\n"},
    {"admin", TEST_HEAD_ADMIN,
     "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
     "Content-Length: 1234\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"},
};

/* Builds the head of <kind> into <out> (<cap> bytes) as the glue would; returns what
 * http_reply_head_end returned and leaves the builder in *<h>. */
static size_t test_head_build(enum test_head_kind kind, char *out, size_t cap,
                              struct http_reply_head *h)
{
    static const char query[] = "?q=1&r=%41#frag";

    switch (kind) {
    case TEST_HEAD_FILE:
        http_reply_head_init(h, out, cap, 200);
        http_reply_head_date(h, TEST_DATE);
        http_reply_head_add(h, "ETag", "\"a740d3-6-17979cfe362a0000\"");
        http_reply_head_add(h, "Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT");
        http_reply_head_add(h, "Cache-Control", "no-cache");
        http_reply_head_add(h, "Content-Type", "text/plain; charset=utf-8");
        http_reply_head_add_uint(h, "Content-Length", 6);
        http_reply_head_add(h, "X-Content-Type-Options", "nosniff");
        http_reply_head_connection(h, 1, 1, true);
        break;
    case TEST_HEAD_304_10:
        http_reply_head_init(h, out, cap, 304);
        http_reply_head_date(h, TEST_DATE);
        http_reply_head_add(h, "ETag", "\"a740d3-6-17979cfe362a0000\"");
        http_reply_head_connection(h, 1, 0, true);
        break;
    case TEST_HEAD_ERROR_405:
        http_reply_head_init(h, out, cap, 405);
        http_reply_head_date(h, TEST_DATE);
        http_reply_head_add(h, "Content-Type", "text/plain; charset=utf-8");
        http_reply_head_add_uint(h, "Content-Length", 23);
        http_reply_head_add(h, "X-Content-Type-Options", "nosniff");
        http_reply_head_add_lines(h, "Allow: GET, HEAD\r\n");
        http_reply_head_connection(h, 1, 1, false);
        break;
    case TEST_HEAD_REDIRECT:
        http_reply_head_init(h, out, cap, 301);
        http_reply_head_date(h, TEST_DATE);
        http_reply_head_location(h, "/sp ace/caf\xc3\xa9/", query, strcspn(query, "#"));
        http_reply_head_add(h, "Content-Type", "text/plain; charset=utf-8");
        http_reply_head_add_uint(h, "Content-Length", 22);
        http_reply_head_connection(h, 1, 1, true);
        break;
    case TEST_HEAD_ADMIN:
        http_reply_head_init(h, out, cap, 200);
        http_reply_head_add(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        http_reply_head_add_uint(h, "Content-Length", 1234);
        http_reply_head_add(h, "Cache-Control", "no-store");
        http_reply_head_connection(h, 1, 1, false);
        break;
    }
    return http_reply_head_end(h);
}

START_TEST(test_head_exact_bytes)
{
    const struct test_head_case *c = &test_head_cases[_i];
    struct http_reply_head h;
    size_t want = strlen(c->bytes), len;
    char out[1024];

    memset(out, 'x', sizeof(out));
    len = test_head_build(c->kind, out, sizeof(out), &h);
    ck_assert_msg(len == want && memcmp(out, c->bytes, want) == 0, "%s: got %zu bytes\n%.*s",
                  c->name, len, (int)len, out);
    ck_assert_int_eq(out[len], '\0');
    ck_assert(!h.refused);
}
END_TEST

/* Every cap below the length gives 0 and tells the room needed; the exact length works;
 * the heap buffer is exactly <cap> bytes so that AddressSanitizer sees a write past it. */
START_TEST(test_head_cap_boundaries)
{
    const struct test_head_case *c = &test_head_cases[_i];
    struct http_reply_head h;
    size_t want = strlen(c->bytes);

    ck_assert_uint_eq(test_head_build(c->kind, NULL, 0, &h), 0); /* only measures */
    ck_assert_uint_eq(h.len, want);
    for (size_t cap = 1; cap <= want + 1; cap++) {
        char *out = malloc(cap);
        ck_assert_ptr_nonnull(out);
        if (cap < want) {
            ck_assert_msg(test_head_build(c->kind, out, cap, &h) == 0, "%s: cap %zu", c->name, cap);
            ck_assert_uint_eq(h.len, want);
        } else {
            ck_assert_uint_eq(test_head_build(c->kind, out, cap, &h), want);
            ck_assert(memcmp(out, c->bytes, want) == 0);
        }
        free(out);
    }
}
END_TEST

/* The Connection line for each version and keep decision (RFC 7230 §6.1, §6.3). */
START_TEST(test_head_connection)
{
    static const struct {
        unsigned major, minor;
        bool keep;
        const char *line;
    } rows[] = {
        {1, 1, true, ""},
        {1, 1, false, "Connection: close\r\n"},
        {1, 0, true, "Connection: keep-alive\r\n"},
        {1, 0, false, "Connection: close\r\n"},
        {1, 2, true, ""},
        {2, 0, true, ""},
        {2, 0, false, "Connection: close\r\n"},
    };
    char out[128], want[128];
    struct http_reply_head h;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        http_reply_head_init(&h, out, sizeof(out), 204);
        http_reply_head_connection(&h, rows[i].major, rows[i].minor, rows[i].keep);
        ck_assert_uint_gt(http_reply_head_end(&h), 0);
        snprintf(want, sizeof(want), "HTTP/1.1 204 No Content\r\n%s\r\n", rows[i].line);
        ck_assert_msg(strcmp(out, want) == 0, "HTTP/%u.%u keep %d: %s", rows[i].major,
                      rows[i].minor, rows[i].keep, out);
    }
}
END_TEST

/* Location: what is percent-encoded and what stays, and the paths and queries refused. */
START_TEST(test_head_location)
{
    static const struct {
        const char *path, *query;
        const char *line; /* NULL: refused */
    } rows[] = {
        {"/", "", "Location: /\r\n"},
        {"/dir/", "", "Location: /dir/\r\n"},
        {"/a-._~!$&'()*+,;=:@z/", "", "Location: /a-._~!$&'()*+,;=:@z/\r\n"},
        {"/a b%c?d#e\\f\"g<h>/", "", "Location: /a%20b%25c%3Fd%23e%5Cf%22g%3Ch%3E/\r\n"},
        {"/\r\n\x01\x7f\xff/", "", "Location: /%0D%0A%01%7F%FF/\r\n"},
        {"/caf\xc3\xa9/", "?x=%2F", "Location: /caf%C3%A9/?x=%2F\r\n"},
        {"/d/", "?", "Location: /d/?\r\n"},
        {"//evil.example/", "", NULL}, /* another host */
        {"dir/", "", NULL},
        {"", "", NULL},
        {NULL, "", NULL},
        {"/d/", "?a b", NULL},
        {"/d/", "?a\r\nX: y", NULL},
        {"/d/", "?a\tb", NULL},
    };
    char out[256], want[256];
    struct http_reply_head h;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t n;
        http_reply_head_init(&h, out, sizeof(out), 301);
        http_reply_head_location(&h, rows[i].path, rows[i].query, strlen(rows[i].query));
        n = http_reply_head_end(&h);
        if (rows[i].line == NULL) {
            ck_assert_msg(n == 0 && h.refused, "row %zu accepted: %s", i, out);
            continue;
        }
        snprintf(want, sizeof(want), "HTTP/1.1 301 Moved Permanently\r\n%s\r\n", rows[i].line);
        ck_assert_msg(n == strlen(want) && strcmp(out, want) == 0, "row %zu: %s", i, out);
    }
    /* a query pointer is needed only when there are query bytes */
    http_reply_head_init(&h, out, sizeof(out), 301);
    http_reply_head_location(&h, "/d/", NULL, 0);
    ck_assert_uint_gt(http_reply_head_end(&h), 0);
    http_reply_head_init(&h, out, sizeof(out), 301);
    http_reply_head_location(&h, "/d/", NULL, 1);
    ck_assert_uint_eq(http_reply_head_end(&h), 0);
}
END_TEST

/* A bad status, name or value refuses the whole head, wherever it comes; a good value may
 * hold HTAB and bytes above 0x7f (obs-text). */
START_TEST(test_head_refusals)
{
    static const struct {
        int status;
        const char *name, *value;
        bool ok;
    } rows[] = {
        {200, "X-A", "b", true},
        {200, "X-A", "", true},
        {200, "X-A", "a\tb \xc3\xa9", true},
        {200, "!#$%&'*+-.^_`|~0aZ", "v", true},
        {99, "X-A", "b", false},
        {1000, "X-A", "b", false},
        {-200, "X-A", "b", false},
        {200, "", "b", false},
        {200, NULL, "b", false},
        {200, "X A", "b", false},
        {200, "X-A:", "b", false},
        {200, "X\r\nY", "b", false},
        {200, "X-A", NULL, false},
        {200, "X-A", "b\r\nSet-Cookie: c=d", false},
        {200, "X-A", "b\n", false},
        {200, "X-A", "b\r", false},
        {200, "X-A", "\x01", false},
        {200, "X-A", "\x7f", false},
    };
    char out[256];
    struct http_reply_head h;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t n;
        memset(out, 0, sizeof(out));
        http_reply_head_init(&h, out, sizeof(out), rows[i].status);
        http_reply_head_add(&h, rows[i].name, rows[i].value);
        http_reply_head_add(&h, "X-Later", "fine"); /* later good lines do not undo it */
        n = http_reply_head_end(&h);
        ck_assert_msg((n > 0) == rows[i].ok && h.refused == !rows[i].ok, "row %zu: %zu", i, n);
    }
    /* the decimal form: 0 and the widest value */
    http_reply_head_init(&h, out, sizeof(out), 200);
    http_reply_head_add_uint(&h, "A", 0);
    http_reply_head_add_uint(&h, "B", UINTMAX_MAX);
    ck_assert_uint_gt(http_reply_head_end(&h), 0);
    ck_assert_str_eq(out, "HTTP/1.1 200 OK\r\nA: 0\r\nB: 18446744073709551615\r\n\r\n");
}
END_TEST

static Suite *test_suite(void)
{
    Suite *s = suite_create("http_reply");
    TCase *tc = tcase_create("http_reply");

    tcase_add_loop_test(tc, test_exact_bytes, 0, (int)TEST_N_CASES);
    tcase_add_loop_test(tc, test_cap_boundaries, 0, (int)TEST_N_CASES);
    tcase_add_loop_test(tc, test_every_status_is_framed, 0,
                        (int)(sizeof(test_statuses) / sizeof(test_statuses[0])));
    tcase_add_loop_test(tc, test_reason, 0, (int)(sizeof(test_reasons) / sizeof(test_reasons[0])));
    tcase_add_test(tc, test_extra_headers);
    tcase_add_test(tc, test_refusals);
    tcase_add_loop_test(tc, test_head_exact_bytes, 0,
                        (int)(sizeof(test_head_cases) / sizeof(test_head_cases[0])));
    tcase_add_loop_test(tc, test_head_cap_boundaries, 0,
                        (int)(sizeof(test_head_cases) / sizeof(test_head_cases[0])));
    tcase_add_test(tc, test_head_connection);
    tcase_add_test(tc, test_head_location);
    tcase_add_test(tc, test_head_refusals);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_suite)
