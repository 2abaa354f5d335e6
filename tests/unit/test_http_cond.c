/*
 * test_http_cond.c - proves that http_cond.c makes entity tags from a file's inode, size
 * and nanosecond mtime (each change gives a new tag, the widest still fits), matches
 * If-None-Match lists by weak comparison (W/, "*", separators, malformed lists that end
 * early), and decides 304 by RFC 7232 §6: If-None-Match, when present, wins over
 * If-Modified-Since, which counts only as a valid date not before the file's mtime.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http_cond.h"
#include "check_main.h"
#include "http_req.h"

/* Entity tags ---------------------------------------------------------------------- */

static struct stat test_stat(uint64_t ino, int64_t size, int64_t sec, long nsec)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_ino = (ino_t)ino;
    st.st_size = (off_t)size;
    st.st_mtim.tv_sec = (time_t)sec;
    st.st_mtim.tv_nsec = nsec;
    return st;
}

START_TEST(test_http_cond_etag)
{
    char a[HTTP_COND_ETAG_LEN], b[HTTP_COND_ETAG_LEN];
    struct stat st = test_stat(0xa740d3, 6, 1700000000, 0);

    ck_assert_str_eq(http_cond_etag_write(&st, a), "\"a740d3-6-17979cfe362a0000\"");
    st = test_stat(0, 0, 0, 0);
    ck_assert_str_eq(http_cond_etag_write(&st, a), "\"0-0-0\"");
    /* each of inode, size, second and nanosecond changes the tag */
    st = test_stat(10, 20, 30, 40);
    http_cond_etag_write(&st, a);
    ck_assert_str_eq(a, "\"a-14-6fc23ac28\"");
    st = test_stat(11, 20, 30, 40);
    ck_assert_str_ne(http_cond_etag_write(&st, b), a);
    st = test_stat(10, 21, 30, 40);
    ck_assert_str_ne(http_cond_etag_write(&st, b), a);
    st = test_stat(10, 20, 31, 40);
    ck_assert_str_ne(http_cond_etag_write(&st, b), a);
    st = test_stat(10, 20, 30, 41);
    ck_assert_str_ne(http_cond_etag_write(&st, b), a);
    /* the widest tag fits, with its NUL */
    st = test_stat(UINT64_MAX, INT64_MAX, INT64_MAX / 1000000000, 999999999);
    http_cond_etag_write(&st, a);
    ck_assert_uint_lt(strlen(a), HTTP_COND_ETAG_LEN);
    ck_assert_str_eq(a, "\"ffffffffffffffff-7fffffffffffffff-8000000008a7f1ff\"");
}
END_TEST

/* If-None-Match lists ---------------------------------------------------------------- */

struct test_list_case {
    const char *list;
    bool listed; /* names "abc" */
};

static const struct test_list_case test_list_cases[] = {
    {"\"abc\"", true},
    {"W/\"abc\"", true}, /* weak comparison */
    {"\"x\", \"abc\"", true},
    {"\"x\",\"abc\"", true},
    {"\"x\" \t \"abc\"", true},
    {" ,, \"abc\" ,,", true},
    {"\"x\", W/\"abc\", \"y\"", true},
    {"\"x\"\"abc\"", true}, /* no separator: still read member by member */
    {"*", true},
    {"\"x\", *", true},
    {"*junk", true}, /* a member starting with '*' */
    {"", false},
    {" \t,", false},
    {"\"abcd\"", false},
    {"\"ab\"", false},
    {"\"ABC\"", false}, /* opaque-tags compare byte for byte */
    {"\"\"", false},
    {"abc", false},               /* no quotes */
    {"\"abc", false},             /* no closing quote */
    {"w/\"abc\"", false},         /* W is upper case */
    {"W/ \"abc\"", false},        /* nothing between W/ and the quote */
    {"x, \"abc\"", false},        /* malformed first member ends the list */
    {"\"x\", y, \"abc\"", false}, /* ...and in the middle */
    {"\"x\", \"abc", false},      /* unterminated */
    {"W/", false},
};

START_TEST(test_http_cond_listed)
{
    const struct test_list_case *c = &test_list_cases[_i];

    ck_assert_msg(http_cond_etag_listed(c->list, "\"abc\"") == c->listed, "[%s]", c->list);
}
END_TEST

/* The 304 decision ------------------------------------------------------------------- */

#define TEST_MTIME 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */
#define TEST_ETAG "\"abc\""

struct test_304_case {
    const char *name;
    const char *headers; /* header lines of a GET, each ending in CRLF */
    bool not_modified;
};

static const struct test_304_case test_304_cases[] = {
    {"no condition", "", false},
    {"If-None-Match lists the tag", "If-None-Match: \"abc\"\r\n", true},
    {"If-None-Match weak", "If-None-Match: W/\"abc\"\r\n", true},
    {"If-None-Match *", "If-None-Match: *\r\n", true},
    {"If-None-Match another tag", "If-None-Match: \"old\"\r\n", false},
    {"name in lower case", "if-none-match: \"abc\"\r\n", true},
    {"second If-None-Match line lists it",
     "If-None-Match: \"old\"\r\nIf-None-Match: \"x\", \"abc\"\r\n", true},
    {"If-None-Match wins over a later If-Modified-Since",
     "If-None-Match: \"old\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n", false},
    {"If-None-Match wins, in either order",
     "If-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\nIf-None-Match: \"old\"\r\n", false},
    {"If-None-Match wins over an earlier If-Modified-Since",
     "If-None-Match: \"abc\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n", true},
    {"an empty If-None-Match still decides",
     "If-None-Match:\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n", false},
    {"a malformed If-None-Match still decides",
     "If-None-Match: abc\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n", false},
    {"If-Modified-Since the mtime", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", true},
    {"If-Modified-Since a second later", "If-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n",
     true},
    {"If-Modified-Since a second earlier", "If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n",
     false},
    {"If-Modified-Since RFC 850", "If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n", true},
    {"If-Modified-Since asctime", "If-Modified-Since: Sun Nov  6 08:49:37 1994\r\n", true},
    {"If-Modified-Since not a date", "If-Modified-Since: yesterday\r\n", false},
    {"If-Modified-Since with junk", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT;x\r\n",
     false},
    {"only the first If-Modified-Since counts",
     "If-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\nIf-Modified-Since: nonsense\r\n", true},
    {"only the first If-Modified-Since counts, invalid",
     "If-Modified-Since: nonsense\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n", false},
};

START_TEST(test_http_cond_304)
{
    const struct test_304_case *c = &test_304_cases[_i];
    char head[512];
    struct http_req req;
    size_t used;

    snprintf(head, sizeof(head), "GET /f HTTP/1.1\r\nHost: x\r\n%s\r\n", c->headers);
    ck_assert_int_eq(http_req_init(&req, NULL), 0);
    ck_assert_int_eq(http_req_feed(&req, (const uint8_t *)head, strlen(head), &used),
                     HTTP_REQ_DONE);
    ck_assert_msg(http_cond_is_not_modified(&req, TEST_ETAG, TEST_MTIME) == c->not_modified, "%s",
                  c->name);
    http_req_free(&req);
}
END_TEST

#define TEST_N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_http_cond_suite(void)
{
    Suite *s = suite_create("http_cond");
    TCase *tc = tcase_create("http_cond");

    tcase_add_test(tc, test_http_cond_etag);
    tcase_add_loop_test(tc, test_http_cond_listed, 0, TEST_N(test_list_cases));
    tcase_add_loop_test(tc, test_http_cond_304, 0, TEST_N(test_304_cases));
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_http_cond_suite)
