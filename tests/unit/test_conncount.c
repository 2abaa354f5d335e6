/*
 * test_conncount.c - unit tests for conncount.c: each limit refuses the connection past it
 * and counts nothing then; pending connections have their own per-address cap which an
 * upgrade frees while the per-address count stays; a route's count is given back before
 * the socket's; IPv4-mapped IPv6 counts with IPv4; IPv6 addresses of one /64 (or of the
 * configured prefix) count as one address and of two prefixes as two; the table is keyed
 * (addresses sharing a probe run under one key are spread under another); the descriptor
 * budget arithmetic; 10,000 distinct addresses, counted and removed in a shuffled order,
 * leave the table consistent at every step (checked against a plain array).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "conncount.h"

static const uint8_t test_hash_key[SIPHASH_KEY_BYTES] = "0123456789abcdef";

static struct sockaddr_storage test_conncount_v4(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage test_conncount_v6(const char *text)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin6->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* A ticket for a connection from <text> (IPv4 or IPv6), IPv6 cut to <prefix> bits. */
static struct conncount_ticket test_conncount_ticket(const char *text, unsigned prefix)
{
    struct sockaddr_storage ss =
        strchr(text, ':') != NULL ? test_conncount_v6(text) : test_conncount_v4(text);
    struct conncount_ticket t = {0};

    ck_assert(conncount_key_of(SA(ss), prefix, &t.key));
    return t;
}

START_TEST(test_conncount_limits)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_connections = 3, .max_connections_per_ip = 2};
    struct conncount_ticket a[3], b[3];
    unsigned limit = 99;

    conncount_init(&cc, test_hash_key);
    for (int i = 0; i < 3; i++) {
        a[i] = test_conncount_ticket("10.0.0.1", 64);
        b[i] = test_conncount_ticket("10.0.0.2", 64);
    }
    ck_assert_ptr_null(conncount_add(&cc, &lim, &a[0], &limit));
    ck_assert_uint_eq(limit, 0);
    ck_assert_int_eq(a[0].state, CONNCOUNT_PENDING);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &a[1], &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, &a[2], &limit), "max_connections_per_ip");
    ck_assert_uint_eq(limit, 2);
    ck_assert_int_eq(a[2].state, CONNCOUNT_NONE);
    ck_assert_uint_eq(cc.conns, 2);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &b[0], &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, &b[1], &limit), "max_connections");
    ck_assert_uint_eq(limit, 3);
    ck_assert_uint_eq(cc.conns, 3);
    ck_assert_uint_eq(cc.pending, 3);
    conncount_remove(&cc, &a[0]);
    ck_assert_int_eq(a[0].state, CONNCOUNT_NONE);
    conncount_remove(&cc, &a[0]); /* a second remove changes nothing */
    ck_assert_uint_eq(conncount_of_ip(&cc, &a[1].key), 1);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &b[1], &limit));
    ck_assert_uint_eq(conncount_of_ip(&cc, &b[0].key), 2);
    conncount_remove(&cc, &a[1]);
    conncount_remove(&cc, &b[0]);
    conncount_remove(&cc, &b[1]);
    ck_assert_uint_eq(cc.conns, 0);
    ck_assert_uint_eq(cc.pending, 0);
    ck_assert_uint_eq(cc.n_ips, 0);
    conncount_reset(&cc);
}
END_TEST

/* Pending connections from one address stop at max_pending_per_ip; upgraded ones do not
 * use that cap up but still count for max_connections_per_ip. */
START_TEST(test_conncount_pending)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_connections_per_ip = 5, .max_pending_per_ip = 2};
    struct conncount_ticket t[6];
    unsigned limit;

    conncount_init(&cc, test_hash_key);
    for (int i = 0; i < 6; i++)
        t[i] = test_conncount_ticket("192.0.2.1", 64);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[0], &limit));
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[1], &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, &t[2], &limit), "max_pending_per_ip");
    ck_assert_uint_eq(limit, 2);
    ck_assert_ptr_null(conncount_upgrade(&cc, 0, "/e", &t[0], &limit));
    ck_assert_int_eq(t[0].state, CONNCOUNT_CLIENT);
    ck_assert_uint_eq(conncount_pending_of_ip(&cc, &t[0].key), 1);
    ck_assert_uint_eq(conncount_of_ip(&cc, &t[0].key), 2);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[2], &limit));
    ck_assert_ptr_null(conncount_upgrade(&cc, 0, "/e", &t[1], &limit));
    ck_assert_ptr_null(conncount_upgrade(&cc, 0, "/e", &t[2], &limit));
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[3], &limit));
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[4], &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, &t[5], &limit), "max_connections_per_ip");
    ck_assert_uint_eq(limit, 5);
    ck_assert_uint_eq(cc.clients, 3);
    ck_assert_uint_eq(cc.pending, 2);
    ck_assert_uint_eq(cc.conns, 5);
    /* A client whose target is gone keeps its socket's count until removed. */
    conncount_leave_route(&cc, &t[0]);
    ck_assert_int_eq(t[0].state, CONNCOUNT_CLOSING);
    ck_assert_uint_eq(cc.clients, 2);
    ck_assert_uint_eq(cc.conns, 5);
    ck_assert_uint_eq(conncount_pending_of_ip(&cc, &t[0].key), 2);
    for (int i = 0; i < 5; i++)
        conncount_remove(&cc, &t[i]);
    ck_assert_uint_eq(cc.conns, 0);
    ck_assert_uint_eq(cc.pending, 0);
    ck_assert_uint_eq(cc.clients, 0);
    ck_assert_uint_eq(cc.n_ips, 0);
    ck_assert_uint_eq(cc.n_routes, 0);
    conncount_reset(&cc);
}
END_TEST

START_TEST(test_conncount_route)
{
    struct conncount cc;
    struct conncount_limits lim = {0};
    struct conncount_ticket t[5];
    unsigned limit;

    conncount_init(&cc, test_hash_key);
    for (int i = 0; i < 5; i++) {
        t[i] = test_conncount_ticket("10.0.0.1", 64);
        ck_assert_ptr_null(conncount_add(&cc, &lim, &t[i], &limit));
    }
    ck_assert_ptr_null(conncount_upgrade(&cc, 1, "/a", &t[0], &limit));
    ck_assert_str_eq(conncount_upgrade(&cc, 1, "/a", &t[1], &limit), "route max_connections");
    ck_assert_uint_eq(limit, 1);
    ck_assert_int_eq(t[1].state, CONNCOUNT_PENDING);
    ck_assert_ptr_null(conncount_upgrade(&cc, 1, "/b", &t[1], &limit));
    conncount_leave_route(&cc, &t[0]);
    ck_assert_ptr_null(conncount_upgrade(&cc, 1, "/a", &t[2], &limit));
    ck_assert_str_eq(conncount_upgrade(&cc, 1, "/b", &t[3], &limit), "route max_connections");
    ck_assert_uint_eq(cc.n_routes, 2);
    /* Removing a client gives its route back too. */
    conncount_remove(&cc, &t[1]);
    ck_assert_ptr_null(conncount_upgrade(&cc, 1, "/b", &t[3], &limit));
    ck_assert_str_eq(t[3].path, "/b");
    /* A connection counted nowhere yet is counted by its upgrade. */
    conncount_remove(&cc, &t[4]);
    ck_assert_ptr_null(conncount_upgrade(&cc, 0, "/c", &t[4], &limit));
    ck_assert_uint_eq(cc.conns, 4);
    ck_assert_uint_eq(cc.clients, 3);
    ck_assert_uint_eq(cc.pending, 0);
    for (int i = 0; i < 5; i++)
        conncount_remove(&cc, &t[i]);
    ck_assert_uint_eq(cc.conns, 0);
    ck_assert_uint_eq(cc.clients, 0);
    ck_assert_uint_eq(cc.n_routes, 0);
    conncount_reset(&cc);
}
END_TEST

START_TEST(test_conncount_fds)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_by_fds = 2};
    struct conncount_ticket t[3];
    unsigned limit;

    conncount_init(&cc, test_hash_key);
    for (int i = 0; i < 3; i++)
        t[i] = test_conncount_ticket(i == 0 ? "10.0.0.1" : i == 1 ? "10.0.0.2" : "10.0.0.3", 64);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[0], &limit));
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[1], &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, &t[2], &limit), "fd_reserve");
    ck_assert_uint_eq(limit, 2);
    conncount_remove(&cc, &t[0]);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[2], &limit));
    conncount_remove(&cc, &t[1]);
    conncount_remove(&cc, &t[2]);
    conncount_reset(&cc);

    /* 1 % of the limit when that is more than asked; at most half of what is free. */
    ck_assert_uint_eq(conncount_fd_reserve(1024, 20, 32), 32);
    ck_assert_uint_eq(conncount_fd_reserve(65536, 20, 32), 655);
    ck_assert_uint_eq(conncount_fd_reserve(64, 16, 32), 24);
    ck_assert_uint_eq(conncount_fd_reserve(10, 16, 32), 1);
    ck_assert_uint_eq(conncount_fd_reserve(1024, 20, 0), 0);
    ck_assert_uint_eq(conncount_fd_reserve(0, 20, 32), 0);
    /* Two descriptors a connection. */
    ck_assert_uint_eq(conncount_fd_budget(200, 17, 32), 75);
    ck_assert_uint_eq(conncount_fd_budget(64, 16, 24), 12);
    ck_assert_uint_eq(conncount_fd_budget(20, 16, 2), 1);
    ck_assert_uint_eq(conncount_fd_budget(1024, 20, 0), 0);
    ck_assert_uint_eq(conncount_fd_budget(0, 20, 32), 0);
}
END_TEST

/* A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; they share the count. */
START_TEST(test_conncount_mapped)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_connections_per_ip = 1};
    struct conncount_ticket v4 = test_conncount_ticket("192.0.2.7", 64),
                            mapped = test_conncount_ticket("::ffff:192.0.2.7", 64),
                            v6 = test_conncount_ticket("2001:db8::7", 64);
    unsigned limit;

    conncount_init(&cc, test_hash_key);
    ck_assert_int_eq(mapped.key.family, AF_INET);
    ck_assert_ptr_null(conncount_add(&cc, &lim, &v4, &limit));
    ck_assert_str_eq(conncount_add(&cc, &lim, &mapped, &limit), "max_connections_per_ip");
    ck_assert_ptr_null(conncount_add(&cc, &lim, &v6, &limit));
    ck_assert_uint_eq(cc.n_ips, 2);
    conncount_remove(&cc, &v4);
    ck_assert_uint_eq(conncount_of_ip(&cc, &mapped.key), 0);
    ck_assert_uint_eq(conncount_of_ip(&cc, &v6.key), 1);
    conncount_remove(&cc, &v6);
    conncount_reset(&cc);
}
END_TEST

/* Addresses of one /64 are one address; of two /64s, two. Other prefixes cut there. */
START_TEST(test_conncount_prefix)
{
    static const struct {
        const char *a, *b;
        unsigned prefix;
        bool same;
    } cases[] = {
        {"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", 64, true},
        {"2001:db8:1:2::1", "2001:db8:1:3::1", 64, false},
        {"2001:db8:1:2::1", "2001:db8:1:3::1", 48, true},
        {"2001:db8:1:2::1", "2001:db8:2:2::1", 48, false},
        {"2001:db8::1", "2001:db8::2", 128, false},
        {"2001:db8::1", "2001:db8::1", 128, true},
        {"2001:db8::1", "2001:db8::2", 0, false},   /* 0: the whole address */
        {"2001:db8::1", "2001:db8::2", 200, false}, /* past 128: the whole address */
        {"2001:db8::2", "2001:db8::3", 127, true},
        {"2001:db8::1", "2001:db8::2", 127, false},
        {"2001:db8:ff00::", "2001:db8:fe00::", 39, true},  /* 0xff/0xfe: 7 bits kept */
        {"2001:db8:ff00::", "2001:db8:fd00::", 39, false},
        {"8000::", "::1", 1, false},
        {"8000::", "ffff::1", 1, true},
        {"::1", "::1", 64, true},
        /* IPv4 ignores the IPv6 prefix. */
        {"10.0.0.1", "10.0.0.2", 1, false},
        {"::ffff:10.0.0.1", "::ffff:10.0.0.2", 64, false},
    };
    struct conncount cc;
    struct conncount_limits lim = {.max_connections_per_ip = 1};
    unsigned limit;

    conncount_init(&cc, test_hash_key);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conncount_ticket a = test_conncount_ticket(cases[i].a, cases[i].prefix),
                                b = test_conncount_ticket(cases[i].b, cases[i].prefix);
        const char *r;

        ck_assert_ptr_null(conncount_add(&cc, &lim, &a, &limit));
        r = conncount_add(&cc, &lim, &b, &limit);
        ck_assert_msg(cases[i].same ? r != NULL : r == NULL, "%s and %s /%u: %s", cases[i].a,
                      cases[i].b, cases[i].prefix, r != NULL ? r : "both counted");
        ck_assert_uint_eq(cc.n_ips, cases[i].same ? 1 : 2);
        conncount_remove(&cc, &a);
        conncount_remove(&cc, &b);
        ck_assert_uint_eq(cc.n_ips, 0);
    }
    conncount_reset(&cc);
}
END_TEST

/* Other families (a UNIX socket) count in all but not per address. */
START_TEST(test_conncount_no_address)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_connections_per_ip = 1, .max_pending_per_ip = 1};
    struct sockaddr_storage ss = {.ss_family = AF_UNIX};
    struct conncount_ticket t[2];
    unsigned limit;

    memset(t, 0, sizeof(t));
    conncount_init(&cc, test_hash_key);
    ck_assert(!conncount_key_of(SA(ss), 64, &t[0].key));
    ck_assert(!conncount_key_of(SA(ss), 64, &t[1].key));
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[0], &limit));
    ck_assert_ptr_null(conncount_add(&cc, &lim, &t[1], &limit));
    ck_assert_uint_eq(cc.conns, 2);
    ck_assert_uint_eq(cc.n_ips, 0);
    conncount_remove(&cc, &t[0]);
    conncount_remove(&cc, &t[1]);
    ck_assert_uint_eq(cc.conns, 0);
    conncount_reset(&cc);
}
END_TEST

/* Behind a proxy: counted under no address at accept, then moved to the client's address
 * once a PROXY or forwarded header names it, under that address's own limits; the old
 * and new entries stay consistent, an equal key or a ticket past pending changes nothing. */
START_TEST(test_conncount_rekey)
{
    struct conncount cc;
    struct conncount_limits lim = {.max_connections_per_ip = 2, .max_pending_per_ip = 2};
    struct conncount_ticket t[4];
    struct conncount_ticket a = test_conncount_ticket("192.0.2.1", 64);
    struct conncount_ticket b = test_conncount_ticket("2001:db8::1", 64);
    struct conncount_key proxy = test_conncount_ticket("10.0.0.1", 64).key;
    unsigned limit;

    memset(t, 0, sizeof(t));
    conncount_init(&cc, test_hash_key);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_null(conncount_add(&cc, &(struct conncount_limits){0}, &t[i], &limit));
    ck_assert_uint_eq(cc.n_ips, 0); /* no address yet */
    ck_assert_ptr_null(conncount_rekey(&cc, &lim, &t[0], &a.key, &limit));
    ck_assert_ptr_null(conncount_rekey(&cc, &lim, &t[1], &a.key, &limit));
    ck_assert_uint_eq(conncount_of_ip(&cc, &a.key), 2);
    ck_assert_uint_eq(conncount_pending_of_ip(&cc, &a.key), 2);
    /* a third from the same client is over its limit, and still counts under none */
    ck_assert_str_eq(conncount_rekey(&cc, &lim, &t[2], &a.key, &limit), "max_connections_per_ip");
    ck_assert_uint_eq(limit, 2);
    ck_assert_uint_eq(t[2].key.family, 0);
    ck_assert_uint_eq(conncount_of_ip(&cc, &a.key), 2);
    /* the same key again changes nothing */
    ck_assert_ptr_null(conncount_rekey(&cc, &lim, &t[0], &a.key, &limit));
    ck_assert_uint_eq(conncount_of_ip(&cc, &a.key), 2);
    /* from one address to another: the old entry goes when empty */
    ck_assert_ptr_null(conncount_rekey(&cc, &lim, &t[3], &proxy, &limit));
    ck_assert_ptr_null(conncount_rekey(&cc, &lim, &t[3], &b.key, &limit));
    ck_assert_uint_eq(conncount_of_ip(&cc, &proxy), 0);
    ck_assert_uint_eq(conncount_of_ip(&cc, &b.key), 1);
    ck_assert_uint_eq(cc.n_ips, 2);
    ck_assert_uint_eq(cc.conns, 4);
    ck_assert_uint_eq(cc.pending, 4);
    /* a client's address is settled: no rekey after the upgrade */
    ck_assert_ptr_null(conncount_upgrade(&cc, 0, "/r", &t[0], &limit));
    ck_assert_ptr_null(conncount_rekey(&cc, &lim, &t[0], &b.key, &limit));
    ck_assert_uint_eq(conncount_of_ip(&cc, &a.key), 2);
    ck_assert_uint_eq(conncount_pending_of_ip(&cc, &a.key), 1);
    for (int i = 0; i < 4; i++)
        conncount_remove(&cc, &t[i]);
    ck_assert_uint_eq(cc.conns, 0);
    ck_assert_uint_eq(cc.n_ips, 0);
    conncount_reset(&cc);
}
END_TEST

#define TEST_RUN 8

/* Addresses picked, knowing the key, to share one home slot of a 64-slot table are
 * spread over several slots under another key: without the key, a peer cannot pick
 * addresses that pile up. Both tables still count them right. */
START_TEST(test_conncount_keyed)
{
    static const uint8_t other_key[SIPHASH_KEY_BYTES] = "fedcba9876543210";
    struct conncount_ticket t[TEST_RUN];
    struct conncount a, b;
    struct conncount_limits lim = {0};
    size_t n = 0, home0 = 0;
    bool spread = false;
    unsigned limit;
    char text[32];

    for (unsigned i = 0; n < TEST_RUN && i < 100000; i++) {
        struct conncount_ticket x;
        size_t home;

        snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
        x = test_conncount_ticket(text, 64);
        home = (size_t)siphash24(test_hash_key, &x.key, sizeof(x.key)) & 63;
        if (n == 0)
            home0 = home;
        if (home == home0)
            t[n++] = x;
    }
    ck_assert_uint_eq(n, TEST_RUN);
    for (size_t i = 1; i < n; i++)
        if (((size_t)siphash24(other_key, &t[i].key, sizeof(t[i].key)) & 63) !=
            ((size_t)siphash24(other_key, &t[0].key, sizeof(t[0].key)) & 63))
            spread = true;
    ck_assert(spread);
    conncount_init(&a, test_hash_key);
    conncount_init(&b, other_key);
    for (size_t i = 0; i < n; i++) {
        struct conncount_ticket u = t[i];

        ck_assert_ptr_null(conncount_add(&a, &lim, &t[i], &limit));
        ck_assert_ptr_null(conncount_add(&b, &lim, &u, &limit));
        ck_assert_uint_eq(conncount_of_ip(&a, &t[i].key), 1);
        ck_assert_uint_eq(conncount_of_ip(&b, &u.key), 1);
        conncount_remove(&b, &u);
    }
    ck_assert_uint_eq(a.n_ips, TEST_RUN);
    ck_assert_uint_eq(b.n_ips, 0);
    for (size_t i = 0; i < n; i++)
        conncount_remove(&a, &t[i]);
    ck_assert_uint_eq(a.n_ips, 0);
    conncount_reset(&a);
    conncount_reset(&b);
}
END_TEST

#define TEST_N_ADDRS 10000

/* Many addresses, some with two connections, added and removed in a shuffled order;
 * after every step each address's count matches a plain array. */
START_TEST(test_conncount_many)
{
    struct conncount cc;
    struct conncount_limits lim = {0};
    static unsigned want[TEST_N_ADDRS];
    static unsigned order[2 * TEST_N_ADDRS];
    static struct conncount_ticket tickets[2 * TEST_N_ADDRS];
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct conncount_key key;
    unsigned limit;
    size_t n = 0;

    conncount_init(&cc, test_hash_key);
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
    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < n; k++) {
            size_t slot = pass == 0 ? k : n - 1 - k;
            unsigned i = order[slot];

            if (pass == 0) {
                sin->sin_addr.s_addr = htonl(0x0a000000u + i * 7919u);
                memset(&tickets[slot], 0, sizeof(tickets[slot]));
                ck_assert(conncount_key_of(SA(ss), 64, &tickets[slot].key));
                ck_assert_ptr_null(conncount_add(&cc, &lim, &tickets[slot], &limit));
                want[i]++;
            } else {
                conncount_remove(&cc, &tickets[slot]);
                want[i]--;
            }
            ck_assert_uint_eq(conncount_of_ip(&cc, &tickets[slot].key), want[i]);
            if (k % 997 == 0) {
                for (unsigned a = 0; a < TEST_N_ADDRS; a += 13) {
                    sin->sin_addr.s_addr = htonl(0x0a000000u + a * 7919u);
                    conncount_key_of(SA(ss), 64, &key);
                    ck_assert_uint_eq(conncount_of_ip(&cc, &key), want[a]);
                }
            }
        }
        ck_assert_uint_le(cc.n_ips * 2, cc.cap_ips);
    }
    ck_assert_uint_eq(cc.n_ips, 0);
    ck_assert_uint_eq(cc.conns, 0);
    ck_assert_uint_eq(cc.pending, 0);
    conncount_reset(&cc);
}
END_TEST

static Suite *test_conncount_suite(void)
{
    Suite *s = suite_create("conncount");
    TCase *tc = tcase_create("conncount");

    tcase_add_test(tc, test_conncount_limits);
    tcase_add_test(tc, test_conncount_pending);
    tcase_add_test(tc, test_conncount_route);
    tcase_add_test(tc, test_conncount_fds);
    tcase_add_test(tc, test_conncount_mapped);
    tcase_add_test(tc, test_conncount_prefix);
    tcase_add_test(tc, test_conncount_no_address);
    tcase_add_test(tc, test_conncount_rekey);
    tcase_add_test(tc, test_conncount_keyed);
    tcase_add_test(tc, test_conncount_many);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_conncount_suite)
