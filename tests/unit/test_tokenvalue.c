/*
 * test_tokenvalue.c - unit tests for tokenvalue.c: the values websockify's TokenRedis
 * reads (plain "host:port", JSON {"host": "host:port"}), the forms added here (JSON host
 * + port, unix, unix_socket:), whitespace, and refusals: tls://, echo, relative sockets,
 * bad JSON, both host and unix, bad ports, NUL bytes, too long.
 */
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "tokenvalue.h"

struct good_case {
    const char *value;
    enum addr_kind kind;
    const char *host;
    unsigned port;
};

static const struct good_case good_cases[] = {
    {"127.0.0.1:5900", ADDR_HOSTPORT, "127.0.0.1", 5900},
    {"  vnc.example:5901 \r\n", ADDR_HOSTPORT, "vnc.example", 5901},
    {"[::1]:22", ADDR_HOSTPORT, "::1", 22},
    {"{\"host\": \"127.0.0.1:5000\"}", ADDR_HOSTPORT, "127.0.0.1", 5000},
    {"{\"host\": \"h\", \"port\": 5901}", ADDR_HOSTPORT, "h", 5901},
    {"{\"host\": \"h\", \"port\": \"5902\", \"note\": [1, {}]}", ADDR_HOSTPORT, "h", 5902},
    {"{\"host\": \"::1\", \"port\": 7}", ADDR_HOSTPORT, "::1", 7},
    {"{\"unix\": \"/run/vnc.sock\"}", ADDR_UNIX, "/run/vnc.sock", 0},
    {"unix_socket:/run/vnc.sock", ADDR_UNIX, "/run/vnc.sock", 0},
    {"systemd:5900", ADDR_HOSTPORT, "systemd", 5900}, /* a host name like any other */
    {"\t{\"host\":\"[::1]:9\"}\n", ADDR_HOSTPORT, "::1", 9},
};

START_TEST(test_tokenvalue_good)
{
    const struct good_case *g = &good_cases[_i];
    const char *why = NULL;
    struct addr a;

    ck_assert_msg(tokenvalue_parse(g->value, strlen(g->value), &a, &why) == 0, "%s: %s", g->value,
                  why);
    ck_assert_int_eq(a.kind, g->kind);
    ck_assert_str_eq(a.host, g->host);
    ck_assert_uint_eq(a.port, g->port);
    ck_assert(!a.tls);
}
END_TEST

static const char *const bad_cases[] = {
    "",
    "   \n",
    "echo",
    "127.0.0.1",
    "127.0.0.1:0",
    "127.0.0.1:65536",
    "tls://127.0.0.1:443",
    "unix:/run/x.sock",
    "systemd:web", /* a listener's inherited socket, not a target */
    "systemd:5s",
    "unix_socket:relative.sock",
    "unix_socket:",
    "host:5900 extra",
    "{\"host\": \"127.0.0.1:5000\"",
    "{\"host\": \"127.0.0.1:5000\",}",
    "{\"host\": 5}",
    "{\"port\": 5}",
    "{}",
    "[\"127.0.0.1:5000\"]",
    "{\"host\": \"h\", \"unix\": \"/x\"}",
    "{\"host\": \"h\", \"port\": 0}",
    "{\"host\": \"h\", \"port\": 70000}",
    "{\"host\": \"h\", \"port\": \"80a\"}",
    "{\"host\": \"h\", \"port\": 1.5}",
    "{\"host\": \"h\"}",
    "{\"host\": \"unix:/run/x.sock\"}",
    "{\"host\": \"[::1]\", \"port\": 5}",
    "{\"unix\": \"x.sock\"}",
    "{\"unix\": \"/run/x.sock \"}", /* the plain form could not say it */
    "{\"unix\": \"/5\\t\"}",
    "{\"unix\": \"/x\", \"port\": 5}",
    "{\"host\": \"a\\u0000b:5\"}",
    "{\"host\": \"tls://h:5\"}",
    "{\"host\": \"h:5\", \"host\": \"i:6\"}",
};

START_TEST(test_tokenvalue_bad)
{
    const char *v = bad_cases[_i], *why = NULL;
    struct addr a;

    ck_assert_msg(tokenvalue_parse(v, strlen(v), &a, &why) != 0, "%s parsed", v);
    ck_assert(why != NULL && why[0] != '\0');
}
END_TEST

START_TEST(test_tokenvalue_bytes)
{
    static char big[TOKENVALUE_MAX + 2];
    const char *why;
    struct addr a;

    ck_assert(tokenvalue_parse("127.0.0.1:5\0", 12, &a, &why) != 0); /* a NUL inside */
    ck_assert(tokenvalue_parse("127.0.0.1:5900", 9, &a, &why) != 0); /* len is the end */
    ck_assert(tokenvalue_parse("127.0.0.1:5900", 12, &a, &why) == 0);
    ck_assert_uint_eq(a.port, 59);
    memset(big, ' ', sizeof(big));
    memcpy(big, "h:1", 3);
    big[sizeof(big) - 1] = 'x';
    ck_assert(tokenvalue_parse(big, sizeof(big), &a, &why) != 0);
}
END_TEST

static Suite *test_tokenvalue_suite(void)
{
    Suite *s = suite_create("tokenvalue");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_tokenvalue_good, 0, sizeof(good_cases) / sizeof(good_cases[0]));
    tcase_add_loop_test(tc, test_tokenvalue_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_tokenvalue_bytes);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_tokenvalue_suite)
