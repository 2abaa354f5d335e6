/*
 * test_conncount.c - unit tests for conncount.c: each limit refuses the client past it and
 * counts nothing then; IPv4-mapped IPv6 counts with IPv4; counts by path survive other
 * paths coming and going; 10,000 distinct addresses, counted and removed in a shuffled
 * order, leave the table consistent at every step (checked against a plain array).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conncount.h"

static struct sockaddr_storage test_v4(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage test_v6(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin6->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

START_TEST(test_conncount_limits)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_connections = 3, .max_connections_per_ip = 2,
                                   .route_max_connections = 0};
    struct sockaddr_storage a = test_v4("10.0.0.1"), b = test_v4("10.0.0.2");
    unsigned limit = 99;

    conncount_init(&cc);
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/e", SA(a), &limit));
    ck_assert_uint_eq(limit, 0);
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/e", SA(a), &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, "/e", SA(a), &limit), "max_connections_per_ip");
    ck_assert_uint_eq(limit, 2);
    ck_assert_uint_eq(cc.clients, 2);
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/f", SA(b), &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, "/f", SA(b), &limit), "max_connections");
    ck_assert_uint_eq(limit, 3);
    ck_assert_uint_eq(cc.clients, 3);
    conncount_remove(&cc, "/e", SA(a));
    ck_assert_uint_eq(conncount_of_ip(&cc, SA(a)), 1);
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/f", SA(b), &limit));
    ck_assert_uint_eq(conncount_of_ip(&cc, SA(b)), 2);
    conncount_remove(&cc, "/e", SA(a));
    conncount_remove(&cc, "/f", SA(b));
    conncount_remove(&cc, "/f", SA(b));
    ck_assert_uint_eq(cc.clients, 0);
    ck_assert_uint_eq(cc.n_ips, 0);
    ck_assert_uint_eq(cc.n_routes, 0);
    conncount_reset(&cc);
}
END_TEST

START_TEST(test_conncount_route)
{
    struct conncount cc;
    struct conncount_limits lim = {.route_max_connections = 1};
    struct sockaddr_storage a = test_v4("10.0.0.1");
    unsigned limit;

    conncount_init(&cc);
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/a", SA(a), &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, "/a", SA(a), &limit), "route max_connections");
    ck_assert_uint_eq(limit, 1);
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/b", SA(a), &limit));
    conncount_remove(&cc, "/a", SA(a));
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/a", SA(a), &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, "/b", SA(a), &limit), "route max_connections");
    ck_assert_uint_eq(cc.n_routes, 2);
    conncount_reset(&cc);
    ck_assert_uint_eq(cc.clients, 0);
}
END_TEST

/* A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; they share the count. */
START_TEST(test_conncount_mapped)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_connections_per_ip = 1};
    struct sockaddr_storage v4 = test_v4("192.0.2.7"), mapped = test_v6("::ffff:192.0.2.7"),
                            v6 = test_v6("2001:db8::7");
    unsigned limit;

    conncount_init(&cc);
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/e", SA(v4), &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, "/e", SA(mapped), &limit),
                     "max_connections_per_ip");
    ck_assert_ptr_null(conncount_add(&cc, &lim, "/e", SA(v6), &limit));
    ck_assert_uint_eq(cc.n_ips, 2);
    conncount_remove(&cc, "/e", SA(mapped));
    ck_assert_uint_eq(conncount_of_ip(&cc, SA(v4)), 0);
    ck_assert_uint_eq(conncount_of_ip(&cc, SA(v6)), 1);
    conncount_reset(&cc);
}
END_TEST

#define TEST_N_ADDRS 10000

/* Many addresses, some with two clients, added and removed in a shuffled order; after
 * every step each address's count matches a plain array. */
START_TEST(test_conncount_many)
{
    struct conncount cc;
    struct conncount_limits lim = {0};
    static unsigned want[TEST_N_ADDRS];
    static unsigned order[2 * TEST_N_ADDRS];
    struct sockaddr_storage ss;
    unsigned limit;
    size_t n = 0;

    conncount_init(&cc);
    memset(want, 0, sizeof(want));
    srand(6);
    for (unsigned i = 0; i < TEST_N_ADDRS; i++) {
        order[n++] = i;
        if (i % 3 == 0)
            order[n++] = i;
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rand() % (i + 1);
        unsigned t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < n; k++) {
            unsigned i = order[pass == 0 ? k : n - 1 - k];
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

            memset(&ss, 0, sizeof(ss));
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(0x0a000000u + i * 7919u);
            if (pass == 0) {
                ck_assert_ptr_null(conncount_add(&cc, &lim, "/e", SA(ss), &limit));
                want[i]++;
            } else {
                conncount_remove(&cc, "/e", SA(ss));
                want[i]--;
            }
            ck_assert_uint_eq(conncount_of_ip(&cc, SA(ss)), want[i]);
            if (k % 997 == 0) {
                for (unsigned a = 0; a < TEST_N_ADDRS; a += 13) {
                    sin->sin_addr.s_addr = htonl(0x0a000000u + a * 7919u);
                    ck_assert_uint_eq(conncount_of_ip(&cc, SA(ss)), want[a]);
                }
            }
        }
        ck_assert_uint_le(cc.n_ips * 2, cc.cap_ips);
    }
    ck_assert_uint_eq(cc.n_ips, 0);
    ck_assert_uint_eq(cc.clients, 0);
    conncount_reset(&cc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conncount");
    TCase *tc = tcase_create("conncount");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_conncount_limits);
    tcase_add_test(tc, test_conncount_route);
    tcase_add_test(tc, test_conncount_mapped);
    tcase_add_test(tc, test_conncount_many);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
