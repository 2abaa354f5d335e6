/*
 * test_origin.c - unit tests for origin.c: tables of origin patterns (good ones with their
 * parsed parts, bad ones with the exact message), of Origin values each pattern set lets
 * through, same-origin against the Host header on plain and TLS listeners, and Host
 * allowlists: names, wildcards, ports, and the Host values each one lets through.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "origin.h"

struct origin_good_case {
    const char *pattern;
    const char *scheme, *host; /* as stored: lowercase, without "*." */
    bool wildcard;
    unsigned port; /* 0: default */
};

static const struct origin_good_case origin_good_cases[] = {
    {"https://app.example.com", "https", "app.example.com", false, 0},
    {"http://localhost:8080", "http", "localhost", false, 8080},
    {"HTTPS://App.Example.COM", "https", "app.example.com", false, 0},
    {"https://*.example.com", "https", "example.com", true, 0},
    {"https://*.example.com:8443", "https", "example.com", true, 8443},
    {"https://example.com:443", "https", "example.com", false, 0},
    {"http://example.com:80", "http", "example.com", false, 0},
    {"http://example.com:443", "http", "example.com", false, 443},
    {"https://example.com:80", "https", "example.com", false, 80},
    {"wss://x.example:443", "wss", "x.example", false, 0},
    {"http://[::1]:8080", "http", "[::1]", false, 8080},
    {"http://[2001:DB8::1]", "http", "[2001:db8::1]", false, 0},
    {"http://127.0.0.1:3000", "http", "127.0.0.1", false, 3000},
    {"chrome-extension://abcdefghijklmnop", "chrome-extension", "abcdefghijklmnop", false, 0},
    {"app+x.y-z://host_1", "app+x.y-z", "host_1", false, 0},
    {"https://*.com", "https", "com", true, 0},
    {"http://h:65535", "http", "h", false, 65535},
};

struct origin_bad_case {
    const char *pattern;
    const char *err; /* exact text */
};

static const struct origin_bad_case origin_bad_cases[] = {
    {"", "origin pattern 1 \"\": expected scheme://host[:port]"},
    {"example.com", "origin pattern 1 \"example.com\": expected scheme://host[:port]"},
    {"//example.com", "origin pattern 1 \"//example.com\": expected scheme://host[:port]"},
    {"1http://x", "origin pattern 1 \"1http://x\": expected scheme://host[:port]"},
    {"https:/x", "origin pattern 1 \"https:/x\": expected scheme://host[:port]"},
    {"https://", "origin pattern 1 \"https://\": no host"},
    {"https://app.example.com/",
     "origin pattern 1 \"https://app.example.com/\": an origin has no path, query or fragment "
     "(nor a \"/\" at the end)"},
    {"https://a.com/path",
     "origin pattern 1 \"https://a.com/path\": an origin has no path, query or fragment (nor a "
     "\"/\" at the end)"},
    {"https://a.com?x",
     "origin pattern 1 \"https://a.com?x\": an origin has no path, query or fragment (nor a "
     "\"/\" at the end)"},
    {"https://u@a.com", "origin pattern 1 \"https://u@a.com\": an origin has no user name"},
    {"https://a.com:", "origin pattern 1 \"https://a.com:\": bad port"},
    {"https://a.com:0", "origin pattern 1 \"https://a.com:0\": bad port"},
    {"https://a.com:65536", "origin pattern 1 \"https://a.com:65536\": bad port"},
    {"https://a.com:123456", "origin pattern 1 \"https://a.com:123456\": bad port"},
    {"https://a.com:+80", "origin pattern 1 \"https://a.com:+80\": bad port"},
    {"https://a.com:*", "origin pattern 1 \"https://a.com:*\": bad port"},
    {"https://*", "origin pattern 1 \"https://*\": \"*\" is only allowed as the first label, as "
                  "in https://*.example.com"},
    {"https://*.", "origin pattern 1 \"https://*.\": no host"},
    {"https://a.*.example.com", "origin pattern 1 \"https://a.*.example.com\": \"*\" is only "
                                "allowed as the first label, as in https://*.example.com"},
    {"https://*example.com", "origin pattern 1 \"https://*example.com\": \"*\" is only allowed "
                             "as the first label, as in https://*.example.com"},
    {"https://*.*.example.com", "origin pattern 1 \"https://*.*.example.com\": \"*\" is only "
                                "allowed as the first label, as in https://*.example.com"},
    {"https://*.[::1]",
     "origin pattern 1 \"https://*.[::1]\": a wildcard needs a domain name after \"*.\""},
    {"https://a..com", "origin pattern 1 \"https://a..com\": empty label in host"},
    {"https://.a.com", "origin pattern 1 \"https://.a.com\": empty label in host"},
    {"https://a.com.", "origin pattern 1 \"https://a.com.\": empty label in host"},
    {"https://a b.com", "origin pattern 1 \"https://a b.com\": bad character in host"},
    {"https://h\xc3\xa9.com", "origin pattern 1 \"https://h\xc3\xa9.com\": bad character in host"},
    {"http://[::1", "origin pattern 1 \"http://[::1\": bad IPv6 literal"},
    {"http://[::g]", "origin pattern 1 \"http://[::g]\": bad IPv6 literal"},
    {"http://[]", "origin pattern 1 \"http://[]\": bad IPv6 literal"},
    {"http://::1", "origin pattern 1 \"http://::1\": bad character in host"},
    {"https://a.com\n", "origin pattern 1 \"https://a.com?\": bad character in host"},
    {"**", "origin pattern 1 \"**\": expected scheme://host[:port]"},
    {"NULL", "origin pattern 1 \"NULL\": expected scheme://host[:port]"},
};

START_TEST(test_origin_good)
{
    const struct origin_good_case *t = &origin_good_cases[_i];
    const char *patterns[] = {t->pattern};
    char err[256] = "";
    struct origin_list *o = origin_list_parse(patterns, 1, 0, err, sizeof(err));

    ck_assert_msg(o != NULL, "%s: %s", t->pattern, err);
    ck_assert_uint_eq(o->n, 1);
    ck_assert_str_eq(o->items[0].scheme, t->scheme);
    ck_assert_str_eq(o->items[0].host, t->host);
    ck_assert_int_eq(o->items[0].wildcard, t->wildcard);
    ck_assert_uint_eq(o->items[0].port, t->port);
    ck_assert(!o->any && !o->allow_null);
    /* the pattern, as written, is an origin its own list lets through, unless wildcard */
    if (!t->wildcard)
        ck_assert(origin_list_is_allowed(o, t->pattern, "unrelated.host", false));
    origin_list_free(o);
}
END_TEST

START_TEST(test_origin_bad)
{
    const struct origin_bad_case *t = &origin_bad_cases[_i];
    const char *patterns[] = {t->pattern};
    char err[256] = "";

    ck_assert_ptr_null(origin_list_parse(patterns, 1, 0, err, sizeof(err)));
    ck_assert_str_eq(err, t->err);
}
END_TEST

/* Errors name the pattern's position; NULL entries and tiny buffers are safe. */
START_TEST(test_origin_errors)
{
    const char *patterns[] = {"*", "https://ok.example", "https://bad.example/"};
    const char *with_null[] = {"*", NULL};
    char err[16];

    ck_assert_ptr_null(origin_list_parse(patterns, 3, 0, err, sizeof(err)));
    ck_assert_str_eq(err, "origin pattern ");
    {
        char big[128];
        ck_assert_ptr_null(origin_list_parse(patterns, 3, 0, big, sizeof(big)));
        ck_assert(strncmp(big, "origin pattern 3 ", 17) == 0);
        ck_assert_ptr_null(origin_list_parse(patterns + 2, 2, 0, big, sizeof(big)));
        ck_assert(strncmp(big, "origin pattern 1 ", 17) == 0);
        ck_assert_ptr_null(origin_list_parse(with_null, 2, 0, big, sizeof(big)));
        ck_assert_str_eq(big, "origin pattern 2: missing");
    }
    ck_assert_ptr_null(origin_list_parse(patterns, 3, 0, NULL, 0));
}
END_TEST

#define ORIGIN_PATTERNS_MAX 4

struct origin_match_case {
    const char *patterns[ORIGIN_PATTERNS_MAX]; /* up to the first NULL */
    unsigned flags;
    const char *origin; /* NULL: no Origin header */
    bool allowed;
    const char *host; /* the Host header (NULL: none); only a list without patterns uses it */
    bool tls;         /* received on a TLS listener */
};

#define APP "https://app.example.com"
#define WILD "https://*.example.com"

static const struct origin_match_case origin_match_cases[] = {
    {{APP}, 0, "https://app.example.com", true, NULL, false},
    {{APP}, 0, "HTTPS://APP.EXAMPLE.COM", true, NULL, false},
    {{APP}, 0, "https://app.example.com:443", true, NULL, false},
    {{APP}, 0, "https://app.example.com:8443", false, NULL, false},
    {{APP}, 0, "http://app.example.com", false, NULL, false},
    {{APP}, 0, "https://app.example.co", false, NULL, false},
    {{APP}, 0, "https://app.example.com.evil.net", false, NULL, false},
    {{APP}, 0, "https://evil.app.example.com", false, NULL, false},
    {{APP}, 0, "https://app.example.com/", false, NULL, false},
    {{APP}, 0, "https://app.example.com ", false, NULL, false},
    {{APP}, 0, "", false, NULL, false},
    {{APP}, 0, "null", false, NULL, false},
    {{APP}, 0, NULL, true, NULL, false},
    {{APP}, ORIGIN_REQUIRE, NULL, false, NULL, false},
    {{APP}, ORIGIN_REQUIRE, "https://app.example.com", true, NULL, false},
    {{WILD}, 0, "https://a.example.com", true, NULL, false},
    {{WILD}, 0, "https://a.b.c.example.com", true, NULL, false},
    {{WILD}, 0, "https://A.Example.Com", true, NULL, false},
    {{WILD}, 0, "https://example.com", false, NULL, false},
    {{WILD}, 0, "https://.example.com", false, NULL, false},
    {{WILD}, 0, "https://badexample.com", false, NULL, false},
    {{WILD}, 0, "https://a.example.com.evil.net", false, NULL, false},
    {{WILD}, 0, "https://a.example.org", false, NULL, false},
    {{WILD}, 0, "http://a.example.com", false, NULL, false},
    {{WILD}, 0, "https://a.example.com:444", false, NULL, false},
    {{WILD}, 0, "https://*.example.com", false, NULL, false},
    {{"https://*.example.com:8443"}, 0, "https://a.example.com:8443", true, NULL, false},
    {{"https://*.example.com:8443"}, 0, "https://a.example.com", false, NULL, false},
    {{"http://localhost:8080"}, 0, "http://localhost:8080", true, NULL, false},
    {{"http://localhost:8080"}, 0, "http://localhost", false, NULL, false},
    {{"http://localhost:8080"}, 0, "http://localhost:80", false, NULL, false},
    {{"http://localhost:8080"}, 0, "http://localhost:08080", true, NULL, false},
    {{"http://localhost"}, 0, "http://localhost:80", true, NULL, false},
    {{"http://[::1]:8080"}, 0, "http://[::1]:8080", true, NULL, false},
    {{"http://[::1]:8080"}, 0, "http://[0::1]:8080", false, NULL, false},
    {{"*"}, 0, "https://anything.example", true, NULL, false},
    {{"*"}, 0, "null", true, NULL, false},
    {{"*"}, 0, "garbage", true, NULL, false},
    {{"*"}, 0, NULL, true, NULL, false},
    {{"*"}, ORIGIN_REQUIRE, NULL, false, NULL, false},
    {{"null"}, 0, "null", true, NULL, false},
    {{"null"}, 0, "NULL", false, NULL, false},
    {{"null"}, 0, "https://a.example.com", false, NULL, false},
    {{APP, "null"}, 0, "null", true, NULL, false},
    {{APP, WILD, "http://localhost:8080"}, 0, "https://x.example.com", true, NULL, false},
    {{APP, WILD, "http://localhost:8080"}, 0, "http://localhost:8080", true, NULL, false},
    {{APP, WILD, "http://localhost:8080"}, 0, "https://example.com", false, NULL, false},
    {{APP, "*"}, 0, "https://other.example", true, NULL, false},
    /* No patterns: same-origin, the Origin's host and port against the Host header's. */
    {{NULL}, 0, "https://anything.example", false, "127.0.0.1:8080", false},
    {{NULL}, 0, "null", false, "127.0.0.1:8080", false},
    {{NULL}, 0, NULL, true, "127.0.0.1:8080", false},
    {{NULL}, ORIGIN_REQUIRE, NULL, false, "127.0.0.1:8080", false},
    {{NULL}, 0, "http://127.0.0.1:8080", true, "127.0.0.1:8080", false},
    {{NULL}, ORIGIN_REQUIRE, "http://127.0.0.1:8080", true, "127.0.0.1:8080", false},
    {{NULL}, 0, "http://127.0.0.1:8080", false, "127.0.0.1:8081", false},
    {{NULL}, 0, "http://127.0.0.1", false, "127.0.0.1:8080", false},
    {{NULL}, 0, "http://localhost:8080", false, "127.0.0.1:8080", false},
    {{NULL}, 0, "http://Example.COM:8080", true, "example.com:8080", false},
    {{NULL}, 0, "http://example.com:8080", true, "EXAMPLE.com:8080", false},
    {{NULL}, 0, "https://example.com:8080", true, "example.com:8080", false},
    {{NULL}, 0, "http://example.com", true, "example.com", false},
    {{NULL}, 0, "http://example.com:80", true, "example.com", false},
    {{NULL}, 0, "http://example.com", true, "example.com:80", false},
    {{NULL}, 0, "http://example.com", false, "example.com", true},
    {{NULL}, 0, "https://example.com", true, "example.com", true},
    {{NULL}, 0, "wss://example.com", true, "example.com:443", true},
    {{NULL}, 0, "https://example.com", false, "example.com", false},
    {{NULL}, 0, "https://example.com:443", false, "example.com:8443", true},
    {{NULL}, 0, "https://example.com", true, "example.com.", true},
    {{NULL}, 0, "http://evil.example.com:8080", false, "example.com:8080", false},
    {{NULL}, 0, "http://example.com.evil.net:8080", false, "example.com:8080", false},
    {{NULL}, 0, "http://[::1]:8080", true, "[::1]:8080", false},
    {{NULL}, 0, "http://[::1]", false, "[::1]:8080", false},
    {{NULL}, 0, "chrome-extension://abcdef", false, "abcdef", false},
    {{NULL}, 0, "http://example.com:8080/", false, "example.com:8080", false},
    {{NULL}, 0, "http://example.com:8080", false, NULL, false},
    {{NULL}, 0, "http://example.com:8080", false, "", false},
    {{NULL}, 0, "http://example.com:8080", false, "example.com:8080:8080", false},
    {{NULL}, 0, "http://example.com:8080", false, "example.com:", false},
    {{NULL}, 0, "http://example.com:8080", false, "user@example.com:8080", false},
    {{NULL}, 0, "http://example.com:8080", false, "example.com:8080 ", false},
    {{NULL}, 0, "http://a b:8080", false, "a b:8080", false},
    /* "*" and "null" patterns leave same-origin off: the list decides alone. */
    {{"*"}, 0, "http://evil.example", true, "127.0.0.1:8080", false},
    {{"null"}, 0, "http://127.0.0.1:8080", false, "127.0.0.1:8080", false},
    {{APP}, 0, "http://127.0.0.1:8080", false, "127.0.0.1:8080", false},
};

START_TEST(test_origin_match)
{
    const struct origin_match_case *t = &origin_match_cases[_i];
    size_t n = 0;
    char err[256] = "";
    struct origin_list *o;

    while (n < ORIGIN_PATTERNS_MAX && t->patterns[n] != NULL)
        n++;
    o = origin_list_parse(t->patterns, n, t->flags, err, sizeof(err));
    ck_assert_msg(o != NULL, "%s", err);
    ck_assert_msg(origin_list_is_allowed(o, t->origin, t->host, t->tls) == t->allowed,
                  "case %d: %s -> %s", _i, t->origin != NULL ? t->origin : "(none)",
                  t->allowed ? "allow" : "refuse");
    origin_list_free(o);
}
END_TEST

START_TEST(test_origin_any)
{
    const char *star[] = {"https://a.example", "*"}, *plain[] = {"https://a.example"};
    struct origin_list *o = origin_list_parse(star, 2, 0, NULL, 0);

    ck_assert_ptr_nonnull(o);
    ck_assert(origin_list_is_any(o));
    origin_list_free(o);
    o = origin_list_parse(plain, 1, 0, NULL, 0);
    ck_assert(!origin_list_is_any(o));
    origin_list_free(o);
    o = origin_list_parse(NULL, 0, 0, NULL, 0);
    ck_assert(!origin_list_is_any(o));
    origin_list_free(o);
    ck_assert(!origin_list_is_any(NULL));
}
END_TEST

/* Host allowlist -------------------------------------------------------------------- */

struct hosts_bad_case {
    const char *name;
    const char *err; /* exact text */
};

static const struct hosts_bad_case hosts_bad_cases[] = {
    {"", "host 1 \"\": no host"},
    {":8080", "host 1 \":8080\": no host"},
    {"example.com:", "host 1 \"example.com:\": bad port"},
    {"example.com:0", "host 1 \"example.com:0\": bad port"},
    {"example.com:65536", "host 1 \"example.com:65536\": bad port"},
    {"example.com:x", "host 1 \"example.com:x\": bad port"},
    {"*", "host 1 \"*\": \"*\" is only allowed as the first label, as in *.example.com"},
    {"a.*.example.com",
     "host 1 \"a.*.example.com\": \"*\" is only allowed as the first label, as in *.example.com"},
    {"*.", "host 1 \"*.\": no host"},
    {"*.[::1]", "host 1 \"*.[::1]\": a wildcard needs a domain name after \"*.\""},
    {"a..com", "host 1 \"a..com\": empty label in host"},
    {"http://example.com",
     "host 1 \"http://example.com\": a host name is written alone, without a scheme"},
    {"example.com/", "host 1 \"example.com/\": bad character in host"},
    {"[::1", "host 1 \"[::1\": bad IPv6 literal"},
    {"::1", "host 1 \"::1\": bad character in host"},
    {"a b", "host 1 \"a b\": bad character in host"},
};

START_TEST(test_origin_hosts_bad)
{
    const struct hosts_bad_case *t = &hosts_bad_cases[_i];
    const char *names[] = {t->name};
    char err[256] = "";

    ck_assert_ptr_null(origin_hosts_parse(names, 1, err, sizeof(err)));
    ck_assert_str_eq(err, t->err);
}
END_TEST

START_TEST(test_origin_hosts_errors)
{
    const char *names[] = {"ok.example", "bad example"}, *with_null[] = {"a", NULL};
    const char *many[ORIGIN_HOSTS_MAX + 1];
    char err[128];

    ck_assert_ptr_null(origin_hosts_parse(names, 2, err, sizeof(err)));
    ck_assert_str_eq(err, "host 2 \"bad example\": bad character in host");
    ck_assert_ptr_null(origin_hosts_parse(with_null, 2, err, sizeof(err)));
    ck_assert_str_eq(err, "host 2: missing");
    for (size_t i = 0; i <= ORIGIN_HOSTS_MAX; i++)
        many[i] = "a.example";
    ck_assert_ptr_null(origin_hosts_parse(many, ORIGIN_HOSTS_MAX + 1, err, sizeof(err)));
    ck_assert_str_eq(err, "more than 256 hosts");
    struct origin_hosts *h = origin_hosts_parse(many, ORIGIN_HOSTS_MAX, err, sizeof(err));
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(h->n, ORIGIN_HOSTS_MAX);
    origin_hosts_free(h);
    origin_hosts_free(NULL);
    ck_assert_ptr_null(origin_hosts_parse(names, 2, NULL, 0));
}
END_TEST

#define HOSTS_MAX 4

struct hosts_match_case {
    const char *names[HOSTS_MAX]; /* up to the first NULL */
    const char *host;             /* the Host header; NULL: none */
    bool tls;
    bool allowed;
};

static const struct hosts_match_case hosts_match_cases[] = {
    {{"example.com"}, "example.com", false, true},
    {{"example.com"}, "EXAMPLE.Com", false, true},
    {{"example.com"}, "example.com:8080", false, true},
    {{"example.com"}, "example.com.", false, true},
    {{"Example.COM."}, "example.com", false, true},
    {{"example.com"}, "example.com..", false, false},
    {{"example.com"}, "www.example.com", false, false},
    {{"example.com"}, "example.com.evil.net", false, false},
    {{"example.com"}, "evilexample.com", false, false},
    {{"example.com"}, "", false, false},
    {{"example.com"}, NULL, false, false},
    {{"example.com"}, "example.com:", false, false},
    {{"example.com"}, "example.com:99999", false, false},
    {{"example.com"}, "example.com ", false, false},
    {{"example.com"}, "u@example.com", false, false},
    {{"example.com:8080"}, "example.com:8080", false, true},
    {{"example.com:8080"}, "example.com:8081", false, false},
    {{"example.com:8080"}, "example.com", false, false},
    {{"example.com:80"}, "example.com", false, true},
    {{"example.com:80"}, "example.com", true, false},
    {{"example.com:443"}, "example.com", true, true},
    {{"example.com:443"}, "example.com:443", false, true},
    {{"*.example.com"}, "a.example.com", false, true},
    {{"*.example.com"}, "a.b.example.com:9", false, true},
    {{"*.example.com"}, "A.Example.Com.", false, true},
    {{"*.example.com"}, "example.com", false, false},
    {{"*.example.com"}, "a.example.com.evil.net", false, false},
    {{"*.example.com"}, "aexample.com", false, false},
    {{"*.example.com:8443"}, "a.example.com:8443", true, true},
    {{"*.example.com:8443"}, "a.example.com", true, false},
    {{"127.0.0.1"}, "127.0.0.1:8080", false, true},
    {{"127.0.0.1"}, "127.0.0.2:8080", false, false},
    {{"[::1]"}, "[::1]:8080", false, true},
    {{"[::1]"}, "[::1]", false, true},
    {{"[::1]:8080"}, "[::1]:8081", false, false},
    {{"[::1]"}, "::1", false, false},
    {{"localhost", "127.0.0.1", "[::1]"}, "localhost:1234", false, true},
    {{"localhost", "127.0.0.1", "[::1]"}, "127.0.0.1", false, true},
    {{"localhost", "127.0.0.1", "[::1]"}, "attacker.example", false, false},
    {{"localhost", "127.0.0.1", "[::1]"}, "localhost.attacker.example", false, false},
};

START_TEST(test_origin_hosts_match)
{
    const struct hosts_match_case *t = &hosts_match_cases[_i];
    size_t n = 0;
    char err[256] = "";
    struct origin_hosts *h;

    while (n < HOSTS_MAX && t->names[n] != NULL)
        n++;
    h = origin_hosts_parse(t->names, n, err, sizeof(err));
    ck_assert_msg(h != NULL, "%s", err);
    ck_assert_msg(origin_hosts_is_allowed(h, t->host, t->tls) == t->allowed,
                  "case %d: %s (%s) -> %s", _i, t->host != NULL ? t->host : "(none)",
                  t->tls ? "TLS" : "plain", t->allowed ? "allow" : "refuse");
    origin_hosts_free(h);
    /* no list: every Host, and none */
    ck_assert(origin_hosts_is_allowed(NULL, t->host, t->tls));
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_origin_suite(void)
{
    Suite *s = suite_create("origin");
    TCase *origins = tcase_create("origins");
    TCase *hosts = tcase_create("hosts");

    tcase_add_loop_test(origins, test_origin_good, 0, N(origin_good_cases));
    tcase_add_loop_test(origins, test_origin_bad, 0, N(origin_bad_cases));
    tcase_add_test(origins, test_origin_errors);
    tcase_add_loop_test(origins, test_origin_match, 0, N(origin_match_cases));
    tcase_add_test(origins, test_origin_any);
    suite_add_tcase(s, origins);
    tcase_add_loop_test(hosts, test_origin_hosts_bad, 0, N(hosts_bad_cases));
    tcase_add_test(hosts, test_origin_hosts_errors);
    tcase_add_loop_test(hosts, test_origin_hosts_match, 0, N(hosts_match_cases));
    suite_add_tcase(s, hosts);
    return s;
}

CHECK_MAIN(test_origin_suite)
