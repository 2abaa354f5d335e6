/*
 * test_authfail.c - unit tests for authfail.c: the failure that blocks, the window that
 * forgets, the block that ends, addresses told apart (IPv4, IPv4-mapped, IPv6 by /64),
 * the bounded table dropping the entry used longest ago (and keeping a blocked address
 * that keeps trying), and SipHash-2-4 against the reference vector of its paper.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <check.h>

#include "authfail.h"
#include "check_main.h"

static const unsigned char test_key[AUTHFAIL_KEY_BYTES] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                           8, 9, 10, 11, 12, 13, 14, 15};

/* <text> (IPv4 or IPv6) as a client address in <ss>. */
static const struct sockaddr *test_authfail_addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, text, &in->sin_addr), 1);
    }
    return (const struct sockaddr *)ss;
}

static struct authfail *test_authfail_table(unsigned max_failures, uint64_t window_ms,
                                            uint64_t block_ms, size_t max_entries)
{
    struct authfail_limits l = {.max_failures = max_failures,
                                .window_ms = window_ms,
                                .block_ms = block_ms,
                                .max_entries = max_entries};
    struct authfail *t = authfail_new(&l, test_key);

    ck_assert_ptr_nonnull(t);
    return t;
}

/* The defaults: ten failures in a minute block for a minute; the ninth does not. */
START_TEST(test_authfail_defaults)
{
    struct authfail *t = authfail_new(NULL, test_key);
    struct sockaddr_storage ss;
    const struct sockaddr *a = test_authfail_addr("192.0.2.1", &ss);
    uint64_t now = 1000000;

    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < 9; i++) {
        authfail_record(t, a, now + (uint64_t)i * 6000);
        ck_assert_uint_eq(authfail_blocked_ms(t, a, now + (uint64_t)i * 6000), 0);
    }
    authfail_record(t, a, now + 54000);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, now + 54000), 60000);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, now + 54001), 59999);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, now + 113999), 1);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, now + 114000), 0);
    /* after the block, the count starts again from nothing */
    authfail_record(t, a, now + 114000);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, now + 114000), 0);
    authfail_free(t);
    authfail_free(NULL);
}
END_TEST

/* Failures further apart than the window never add up to a block. */
START_TEST(test_authfail_window)
{
    struct authfail *t = test_authfail_table(3, 1000, 5000, 16);
    struct sockaddr_storage ss;
    const struct sockaddr *a = test_authfail_addr("192.0.2.1", &ss);

    authfail_record(t, a, 0);
    authfail_record(t, a, 999);
    authfail_record(t, a, 1000); /* the window of the first has passed: 1 again */
    authfail_record(t, a, 1500);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, 1500), 0);
    authfail_record(t, a, 1999);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, 1999), 5000);
    /* a clock that went backwards (another caller's earlier reading) starts a window */
    authfail_record(t, a, 10);
    ck_assert_uint_eq(authfail_blocked_ms(t, a, 1999), 5000);
    authfail_free(t);
}
END_TEST

/* Each address counts alone; IPv4-mapped is IPv4; IPv6 counts by its /64. */
START_TEST(test_authfail_addresses)
{
    struct authfail *t = test_authfail_table(2, 1000, 1000, 16);
    struct sockaddr_storage s1, s2;
    struct sockaddr_un un = {.sun_family = AF_UNIX};

    authfail_record(t, test_authfail_addr("192.0.2.1", &s1), 0);
    authfail_record(t, test_authfail_addr("192.0.2.2", &s1), 0);
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("192.0.2.1", &s1), 0), 0);
    authfail_record(t, test_authfail_addr("::ffff:192.0.2.1", &s1), 0);
    ck_assert_uint_gt(authfail_blocked_ms(t, test_authfail_addr("192.0.2.1", &s1), 0), 0);
    ck_assert_uint_gt(authfail_blocked_ms(t, test_authfail_addr("::ffff:192.0.2.1", &s1), 0), 0);
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("192.0.2.2", &s1), 0), 0);

    authfail_record(t, test_authfail_addr("2001:db8:1:2::1", &s1), 0);
    authfail_record(t, test_authfail_addr("2001:db8:1:2:ffff::9", &s2), 0);
    ck_assert_uint_gt(authfail_blocked_ms(t, test_authfail_addr("2001:db8:1:2:aaaa::", &s1), 0), 0);
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("2001:db8:1:3::1", &s1), 0), 0);
    /* an IPv6 prefix never meets the IPv4 address of the same bytes */
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("::c000:201", &s1), 0), 0);

    authfail_record(t, (const struct sockaddr *)&un, 0);
    authfail_record(t, (const struct sockaddr *)&un, 0);
    ck_assert_uint_eq(authfail_blocked_ms(t, (const struct sockaddr *)&un, 0), 0);
    authfail_record(t, NULL, 0);
    ck_assert_uint_eq(authfail_blocked_ms(t, NULL, 0), 0);
    authfail_free(t);
}
END_TEST

/* A full table drops the entry touched longest ago; a blocked address that keeps
 * knocking is touched, so new addresses do not push it out. */
START_TEST(test_authfail_bounded)
{
    struct authfail *t = test_authfail_table(2, 100000, 100000, 4);
    struct sockaddr_storage ss;
    char text[32];

    authfail_record(t, test_authfail_addr("10.0.0.1", &ss), 0);
    authfail_record(t, test_authfail_addr("10.0.0.1", &ss), 1); /* blocked */
    authfail_record(t, test_authfail_addr("10.0.0.2", &ss), 2); /* one failure */
    for (int i = 3; i <= 4; i++) {
        snprintf(text, sizeof(text), "10.0.1.%d", i);
        authfail_record(t, test_authfail_addr(text, &ss), (uint64_t)i);
    }
    ck_assert_uint_eq(t->n, 4);
    /* 10.0.0.1 knocks; then a fifth address drops the oldest, 10.0.0.2 */
    ck_assert_uint_gt(authfail_blocked_ms(t, test_authfail_addr("10.0.0.1", &ss), 5), 0);
    authfail_record(t, test_authfail_addr("10.0.1.5", &ss), 6);
    ck_assert_uint_eq(t->n, 4);
    authfail_record(t, test_authfail_addr("10.0.0.2", &ss),
                    7); /* its first failure again, not its second */
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("10.0.0.2", &ss), 7), 0);
    ck_assert_uint_gt(authfail_blocked_ms(t, test_authfail_addr("10.0.0.1", &ss), 8), 0);
    /* a thousand new addresses: the table stays at 4, and every lookup still works */
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "10.1.%d.%d", i / 256, i % 256);
        authfail_record(t, test_authfail_addr(text, &ss), 100 + (uint64_t)i);
        authfail_record(t, test_authfail_addr(text, &ss), 100 + (uint64_t)i);
        ck_assert_uint_gt(authfail_blocked_ms(t, test_authfail_addr(text, &ss), 100 + (uint64_t)i),
                          0);
    }
    ck_assert_uint_eq(t->n, 4);
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("10.0.0.1", &ss), 2000), 0);
    authfail_free(t);
}
END_TEST

START_TEST(test_authfail_limits)
{
    struct authfail_limits l = AUTHFAIL_DEFAULT_LIMITS;

    l.max_failures = 0;
    ck_assert_ptr_null(authfail_new(&l, test_key));
    l = AUTHFAIL_DEFAULT_LIMITS;
    l.max_entries = 0;
    ck_assert_ptr_null(authfail_new(&l, test_key));
    /* one failure blocks at once; one entry is enough */
    struct authfail *t = test_authfail_table(1, 10, 10, 1);
    struct sockaddr_storage ss;
    authfail_record(t, test_authfail_addr("10.0.0.1", &ss), 0);
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("10.0.0.1", &ss), 0), 10);
    authfail_record(t, test_authfail_addr("10.0.0.2", &ss), 1);
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("10.0.0.1", &ss), 1), 0);
    ck_assert_uint_eq(authfail_blocked_ms(t, test_authfail_addr("10.0.0.2", &ss), 1), 10);
    authfail_free(t);
}
END_TEST

/* SipHash-2-4 against the reference: key 00..0f, messages 00..n-1 (the paper's
 * Appendix A for n = 15; the reference implementation's vectors.h for the others). */
START_TEST(test_authfail_siphash)
{
    unsigned char in[16];

    for (int i = 0; i < 16; i++)
        in[i] = (unsigned char)i;
    ck_assert_uint_eq(authfail_siphash(test_key, in, 0), 0x726fdb47dd0e0e31ull);
    ck_assert_uint_eq(authfail_siphash(test_key, in, 8), 0x93f5f5799a932462ull);
    ck_assert_uint_eq(authfail_siphash(test_key, in, 15), 0xa129ca6149be45e5ull);
}
END_TEST

/* The table's hash is keyed: another key places the same addresses differently. */
START_TEST(test_authfail_keyed)
{
    static const unsigned char other[AUTHFAIL_KEY_BYTES] = {15, 14, 13, 12, 11, 10, 9, 8,
                                                            7,  6,  5,  4,  3,  2,  1, 0};
    struct authfail_limits l = {
        .max_failures = 5, .window_ms = 10, .block_ms = 10, .max_entries = 1024};
    struct authfail *a = authfail_new(&l, test_key), *b = authfail_new(&l, other);
    struct sockaddr_storage ss;
    char text[32];
    size_t same = 0;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 256; i++) {
        snprintf(text, sizeof(text), "10.0.0.%d", i);
        authfail_record(a, test_authfail_addr(text, &ss), 0);
        authfail_record(b, test_authfail_addr(text, &ss), 0);
    }
    for (size_t i = 0; i < a->n_buckets; i++)
        same += (a->buckets[i] == AUTHFAIL_NONE) == (b->buckets[i] == AUTHFAIL_NONE);
    /* 256 entries in 1024 buckets: two keys place them alike in very few runs */
    ck_assert_uint_lt(same, a->n_buckets);
    authfail_free(a);
    authfail_free(b);
}
END_TEST

static Suite *test_authfail_suite(void)
{
    Suite *s = suite_create("authfail");
    TCase *tc = tcase_create("authfail");

    tcase_add_test(tc, test_authfail_defaults);
    tcase_add_test(tc, test_authfail_window);
    tcase_add_test(tc, test_authfail_addresses);
    tcase_add_test(tc, test_authfail_bounded);
    tcase_add_test(tc, test_authfail_limits);
    tcase_add_test(tc, test_authfail_siphash);
    tcase_add_test(tc, test_authfail_keyed);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_authfail_suite)
