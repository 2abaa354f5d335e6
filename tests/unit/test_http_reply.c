/*
 * test_http_reply.c - proves that http_reply.c writes exact bytes: the 101 answer with and
 * without a subprotocol, error answers with the headers their status calls for and a
 * Content-Length equal to the body, control characters in the detail neutralised, and
 * nothing (0) whenever the buffer is one byte too small, without writing past it.
 */
#include <check.h>
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
    ck_assert_uint_eq(http_reply_error(NULL, 0, 400, NULL), 0);
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
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_suite)
