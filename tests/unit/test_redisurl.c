/*
 * test_redisurl.c - unit tests for redisurl.c: the Redis URL forms of "tokens:" (host,
 * bracketed IPv6, default port and database, prefix and password percent-decoded, Unix
 * socket with db in the query), refusals with their reasons (never quoting a password),
 * and the log form without the password.
 */
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "redisurl.h"

struct good_case {
    const char *url;
    bool is_unix;
    const char *host_or_path;
    unsigned port, db;
    const char *prefix, *password, *shown;
};

static const struct good_case good_cases[] = {
    {"redis://127.0.0.1", false, "127.0.0.1", 6379, 0, "", "", "redis://127.0.0.1:6379/0"},
    {"redis://127.0.0.1:6380/2", false, "127.0.0.1", 6380, 2, "", "", "redis://127.0.0.1:6380/2"},
    {"redis://redis.example:7000/", false, "redis.example", 7000, 0, "", "",
     "redis://redis.example:7000/0"},
    {"redis://[::1]:6379/3?prefix=wsb:", false, "::1", 6379, 3, "wsb:", "",
     "redis://[::1]:6379/3?prefix=wsb:"},
    {"redis://[::1]", false, "::1", 6379, 0, "", "", "redis://[::1]:6379/0"},
    {"redis://:s%40cret@10.0.0.1:6379/1?prefix=a%3Ab%20", false, "10.0.0.1", 6379, 1, "a:b ",
     "s@cret", "redis://:***@10.0.0.1:6379/1?prefix=a:b "},
    {"redis+unix:///run/redis/redis.sock", true, "/run/redis/redis.sock", 6379, 0, "", "",
     "redis+unix:///run/redis/redis.sock?db=0"},
    {"redis+unix://:pw@/run/r.sock?db=4&prefix=t:", true, "/run/r.sock", 6379, 4, "t:", "pw",
     "redis+unix://:***@/run/r.sock?db=4&prefix=t:"},
    {"redis://127.0.0.1/1000000?prefix=", false, "127.0.0.1", 6379, 1000000, "", "",
     "redis://127.0.0.1:6379/1000000"},
};

START_TEST(test_redisurl_good)
{
    const struct good_case *g = &good_cases[_i];
    struct redisurl u;
    char err[256], shown[512];

    ck_assert_msg(redisurl_parse(g->url, &u, err, sizeof(err)) == 0, "%s: %s", g->url, err);
    ck_assert(redisurl_is_redis(g->url));
    ck_assert_int_eq(u.is_unix, g->is_unix);
    ck_assert_str_eq(g->is_unix ? u.path : u.host, g->host_or_path);
    ck_assert_uint_eq(u.port, g->port);
    ck_assert_uint_eq(u.db, g->db);
    ck_assert_str_eq(u.prefix, g->prefix);
    ck_assert_str_eq(u.password, g->password);
    ck_assert_uint_eq(redisurl_format(&u, shown, sizeof(shown)), strlen(g->shown));
    ck_assert_str_eq(shown, g->shown);
}
END_TEST

struct bad_case {
    const char *url, *reason; /* reason: a part of the message */
};

static const struct bad_case bad_cases[] = {
    {"http://127.0.0.1", "not redis://"},
    {"redis://", "no host"},
    {"redis:///0", "no host"},
    {"redis://127.0.0.1:0", "port"},
    {"redis://127.0.0.1:65536", "port"},
    {"redis://127.0.0.1/x", "database"},
    {"redis://127.0.0.1/1000001", "database"},
    {"redis://127.0.0.1/-1", "database"},
    {"redis://127.0.0.1/0?db=1", "unknown or repeated"},
    {"redis://127.0.0.1/0?prefix=a&prefix=b", "unknown or repeated"},
    {"redis://127.0.0.1/0?prefix", "without \"=\""},
    {"redis://127.0.0.1/0?prefix=a&", "ends with"},
    {"redis://127.0.0.1/0?prefix=%zz", "hex"},
    {"redis://127.0.0.1/0?prefix=%00", "hex"},
    {"redis://127.0.0.1/0?prefix=a b", "control"},
    {"redis://127.0.0.1/0#frag", "fragment"},
    {"redis://user:secretpw@127.0.0.1", "only a password"},
    {"redis://:secret%4@127.0.0.1", "hex"},
    {"redis://bad_host!/0", ""},
    {"redis://systemd:web/0", "port"}, /* never a listener's inherited socket */
    {"redis+unix://run/redis.sock", "absolute"},
    {"redis+unix://", "absolute"},
    {"redis+unix:///r.sock?db=x", "db"},
    {"redis+unix:///r.sock?db=1&db=2", "unknown or repeated"},
};

START_TEST(test_redisurl_bad)
{
    const struct bad_case *b = &bad_cases[_i];
    struct redisurl u;
    char err[256] = "";

    ck_assert_msg(redisurl_parse(b->url, &u, err, sizeof(err)) != 0, "%s parsed", b->url);
    ck_assert_msg(strstr(err, b->reason) != NULL, "%s: \"%s\" lacks \"%s\"", b->url, err,
                  b->reason);
    ck_assert_msg(strstr(err, "secret") == NULL, "%s: the password is quoted: %s", b->url, err);
}
END_TEST

START_TEST(test_redisurl_limits)
{
    char url[1024], err[256];
    struct redisurl u;

    /* A prefix of exactly REDISURL_PREFIX_MAX bytes fits; one more does not. */
    snprintf(
        url, sizeof(url), "redis://h/0?prefix=%.*s", REDISURL_PREFIX_MAX,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ck_assert_msg(redisurl_parse(url, &u, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(strlen(u.prefix), REDISURL_PREFIX_MAX);
    strcat(url, "a");
    ck_assert(redisurl_parse(url, &u, err, sizeof(err)) != 0);
    ck_assert(!redisurl_is_redis("tokens.txt"));
    ck_assert(!redisurl_is_redis("redis:/x"));
}
END_TEST

static Suite *test_redisurl_suite(void)
{
    Suite *s = suite_create("redisurl");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, test_redisurl_good, 0, sizeof(good_cases) / sizeof(good_cases[0]));
    tcase_add_loop_test(tc, test_redisurl_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_redisurl_limits);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_redisurl_suite)
