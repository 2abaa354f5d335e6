/*
 * test_netlist.c - unit tests for netlist.c: CIDR rules parsed and refused with their
 * exact messages, each rule written back in canonical form, and the verdict for IPv4,
 * IPv6, IPv4-mapped and non-IP clients under allow and deny lists.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <check.h>

#include "check_main.h"
#include "netlist.h"

struct net_good_case {
    const char *cidr;
    int family;
    unsigned prefix_bits;
    const char *addr; /* the stored network, as inet_ntop writes it */
};

static const struct net_good_case net_good_cases[] = {
    {"10.0.0.0/8", AF_INET, 8, "10.0.0.0"},
    {"192.168.1.5", AF_INET, 32, "192.168.1.5"},
    {"192.168.1.5/32", AF_INET, 32, "192.168.1.5"},
    {"0.0.0.0/0", AF_INET, 0, "0.0.0.0"},
    {"192.168.1.128/25", AF_INET, 25, "192.168.1.128"},
    {"::1/128", AF_INET6, 128, "::1"},
    {"::1", AF_INET6, 128, "::1"},
    {"2001:db8::/32", AF_INET6, 32, "2001:db8::"},
    {"2001:DB8::/32", AF_INET6, 32, "2001:db8::"},
    {"::/0", AF_INET6, 0, "::"},
    {"fe80::/10", AF_INET6, 10, "fe80::"},
    {"::ffff:10.0.0.0/104", AF_INET, 8, "10.0.0.0"},
    {"::ffff:1.2.3.4", AF_INET, 32, "1.2.3.4"},
    {"::ffff:0.0.0.0/96", AF_INET, 0, "0.0.0.0"},
};

struct net_bad_case {
    const char *cidr;
    const char *err; /* exact text */
};

static const struct net_bad_case net_bad_cases[] = {
    {"", "network \"\": not an IP address"},
    {"/8", "network \"/8\": not an IP address"},
    {"10.0.0.0/", "network \"10.0.0.0/\": bad prefix length"},
    {"10.0.0.0/33", "network \"10.0.0.0/33\": prefix length above 32"},
    {"10.0.0.0/08", "network \"10.0.0.0/08\": bad prefix length"},
    {"10.0.0.0/1000", "network \"10.0.0.0/1000\": bad prefix length"},
    {"10.0.0.0/-1", "network \"10.0.0.0/-1\": bad prefix length"},
    {"10.0.0.0/ 8", "network \"10.0.0.0/ 8\": bad prefix length"},
    {"10.0.0.0/8 ", "network \"10.0.0.0/8 \": bad prefix length"},
    {"10.0.0.0/8/8", "network \"10.0.0.0/8/8\": bad prefix length"},
    {"10.0.0.1/8", "network \"10.0.0.1/8\": host bits are set after the prefix length (did "
                   "you mean 10.0.0.0/8?)"},
    {"192.168.1.129/25", "network \"192.168.1.129/25\": host bits are set after the prefix "
                         "length (did you mean 192.168.1.128/25?)"},
    {"::1/129", "network \"::1/129\": prefix length above 128"},
    {"2001:db8::1/32", "network \"2001:db8::1/32\": host bits are set after the prefix length "
                       "(did you mean 2001:db8::/32?)"},
    {"::ffff:0:0/80", "network \"::ffff:0:0/80\": host bits are set after the prefix length "
                      "(did you mean ::/80?)"},
    {"10.1", "network \"10.1\": not an IPv4 address"},
    {"010.0.0.1", "network \"010.0.0.1\": not an IPv4 address"},
    {"256.0.0.0/8", "network \"256.0.0.0/8\": not an IPv4 address"},
    {" 10.0.0.0/8", "network \" 10.0.0.0/8\": not an IPv4 address"},
    {"host.example", "network \"host.example\": not an IPv4 address"},
    {"fe80::1%eth0", "network \"fe80::1%eth0\": not an IPv6 address"},
    {"[::1]/128", "network \"[::1]/128\": not an IPv6 address"},
    {"::g/128", "network \"::g/128\": not an IPv6 address"},
    {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128",
     "network \"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128\": not an IP address"},
};

START_TEST(test_netlist_good)
{
    const struct net_good_case *t = &net_good_cases[_i];
    struct netlist *nets = netlist_new();
    char err[256] = "", text[INET6_ADDRSTRLEN];

    ck_assert_ptr_nonnull(nets);
    ck_assert_msg(netlist_add(nets, NETLIST_DENY, t->cidr, err, sizeof(err)) == 0, "%s: %s",
                  t->cidr, err);
    ck_assert_uint_eq(nets->n[NETLIST_DENY], 1);
    ck_assert_uint_eq(nets->n[NETLIST_ALLOW], 0);
    ck_assert_int_eq(nets->rules[NETLIST_DENY][0].family, t->family);
    ck_assert_uint_eq(nets->rules[NETLIST_DENY][0].prefix_bits, t->prefix_bits);
    ck_assert_ptr_nonnull(
        inet_ntop(t->family, nets->rules[NETLIST_DENY][0].addr, text, sizeof(text)));
    ck_assert_str_eq(text, t->addr);
    netlist_free(nets);
}
END_TEST

START_TEST(test_netlist_bad)
{
    const struct net_bad_case *t = &net_bad_cases[_i];
    struct netlist *nets = netlist_new();
    char err[256] = "";

    ck_assert_int_eq(netlist_add(nets, NETLIST_ALLOW, t->cidr, err, sizeof(err)), -1);
    ck_assert_str_eq(err, t->err);
    ck_assert_uint_eq(nets->n[NETLIST_ALLOW], 0);
    netlist_free(nets);
}
END_TEST

#define TEST_NETLIST_RULES 4

struct net_decide_case {
    const char *allow[TEST_NETLIST_RULES]; /* up to the first NULL */
    const char *deny[TEST_NETLIST_RULES];
    const char *client; /* IPv4 or IPv6 text; "unix" for an AF_UNIX peer */
    bool allowed;
};

static const struct net_decide_case net_decide_cases[] = {
    {{NULL}, {NULL}, "203.0.113.9", true},
    {{NULL}, {NULL}, "2001:db8::9", true},
    {{NULL}, {NULL}, "unix", true},
    {{"10.0.0.0/8"}, {NULL}, "10.1.2.3", true},
    {{"10.0.0.0/8"}, {NULL}, "10.255.255.255", true},
    {{"10.0.0.0/8"}, {NULL}, "11.0.0.1", false},
    {{"10.0.0.0/8"}, {NULL}, "9.255.255.255", false},
    {{"10.0.0.0/8"}, {NULL}, "::ffff:10.1.2.3", true},
    {{"10.0.0.0/8"}, {NULL}, "::ffff:11.1.2.3", false},
    {{"10.0.0.0/8"}, {NULL}, "::a01:203", false}, /* IPv4-compatible is not mapped */
    {{"10.0.0.0/8"}, {NULL}, "::1", false},
    {{"10.0.0.0/8"}, {NULL}, "unix", false},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "10.0.0.5", false},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "::ffff:10.0.0.5", false},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "10.0.0.6", true},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "10.0.0.4", true},
    {{"10.0.0.5"}, {"10.0.0.0/8"}, "10.0.0.5", false},
    {{NULL}, {"::1/128"}, "::1", false},
    {{NULL}, {"::1/128"}, "::2", true},
    {{NULL}, {"::1/128"}, "127.0.0.1", true},
    {{NULL}, {"::1/128"}, "unix", true},
    {{"2001:db8::/32"}, {NULL}, "2001:db8:ffff::1", true},
    {{"2001:db8::/32"}, {NULL}, "2001:db9::", false},
    {{"2001:db8::/32"}, {NULL}, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {{"2001:db8::/33"}, {NULL}, "2001:db8:7fff::1", true},
    {{"2001:db8::/33"}, {NULL}, "2001:db8:8000::", false},
    {{"::ffff:192.168.0.0/112"}, {NULL}, "192.168.5.5", true},
    {{"::ffff:192.168.0.0/112"}, {NULL}, "::ffff:192.168.5.5", true},
    {{"::ffff:192.168.0.0/112"}, {NULL}, "192.169.0.1", false},
    {{NULL}, {"0.0.0.0/0"}, "1.2.3.4", false},
    {{NULL}, {"0.0.0.0/0"}, "::ffff:1.2.3.4", false},
    {{NULL}, {"0.0.0.0/0"}, "::2", true},
    {{"::/0"}, {NULL}, "1.2.3.4", false},
    {{"::/0"}, {NULL}, "::ffff:1.2.3.4", false},
    {{"::/0"}, {NULL}, "fe80::1", true},
    {{"192.168.1.128/25"}, {NULL}, "192.168.1.129", true},
    {{"192.168.1.128/25"}, {NULL}, "192.168.1.127", false},
    {{"192.168.1.128/25"}, {NULL}, "192.168.1.255", true},
    {{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, {"172.16.0.0/16"}, "172.31.0.1", true},
    {{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, {"172.16.0.0/16"}, "172.16.9.9", false},
    {{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, {"172.16.0.0/16"}, "172.32.0.1", false},
    {{"1.2.3.4/31"}, {NULL}, "1.2.3.5", true},
    {{"1.2.3.4/31"}, {NULL}, "1.2.3.6", false},
};

/* Fills <ss> with the client <text> names; see net_decide_case. */
static void test_netlist_client(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strcmp(text, "unix") == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, "/tmp/x");
    } else if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(40000);
        ck_assert_int_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(40000);
        ck_assert_int_eq(inet_pton(AF_INET, text, &in->sin_addr), 1);
    }
}

START_TEST(test_netlist_decide)
{
    const struct net_decide_case *t = &net_decide_cases[_i];
    struct netlist *nets = netlist_new();
    struct sockaddr_storage ss;
    char err[256];

    for (size_t i = 0; i < TEST_NETLIST_RULES && t->allow[i] != NULL; i++)
        ck_assert_msg(netlist_add(nets, NETLIST_ALLOW, t->allow[i], err, sizeof(err)) == 0, "%s",
                      err);
    for (size_t i = 0; i < TEST_NETLIST_RULES && t->deny[i] != NULL; i++)
        ck_assert_msg(netlist_add(nets, NETLIST_DENY, t->deny[i], err, sizeof(err)) == 0, "%s",
                      err);
    test_netlist_client(t->client, &ss);
    ck_assert_msg(netlist_is_allowed(nets, (const struct sockaddr *)&ss) == t->allowed,
                  "case %d: %s -> %s", _i, t->client, t->allowed ? "allow" : "refuse");
    netlist_free(nets);
}
END_TEST

/* Each list is bounded; a rule past the bound is refused and the list stays usable. */
START_TEST(test_netlist_limit)
{
    struct netlist *nets = netlist_new();
    struct sockaddr_storage ss;
    char cidr[32], err[256];

    for (unsigned i = 0; i < NETLIST_MAX; i++) {
        snprintf(cidr, sizeof(cidr), "10.%u.%u.0/24", i / 256, i % 256);
        ck_assert_int_eq(netlist_add(nets, NETLIST_ALLOW, cidr, err, sizeof(err)), 0);
    }
    ck_assert_int_eq(netlist_add(nets, NETLIST_ALLOW, "192.0.2.0/24", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "network \"192.0.2.0/24\": more than 4096 networks in one list");
    ck_assert_int_eq(netlist_add(nets, NETLIST_DENY, "192.0.2.0/24", err, sizeof(err)), 0);
    ck_assert_int_eq(netlist_add(nets, (enum netlist_which)7, "192.0.2.0/24", err, sizeof(err)),
                     -1);
    ck_assert_str_eq(err, "network list 7: no such list");
    ck_assert_int_eq(netlist_add(nets, NETLIST_DENY, NULL, err, sizeof(err)), -1);
    test_netlist_client("10.15.255.1", &ss);
    ck_assert(netlist_is_allowed(nets, (const struct sockaddr *)&ss));
    test_netlist_client("10.16.0.1", &ss);
    ck_assert(!netlist_is_allowed(nets, (const struct sockaddr *)&ss));
    ck_assert(!netlist_is_allowed(nets, NULL));
    netlist_free(nets);
    netlist_free(NULL);
}
END_TEST

/* Every good rule is written back as "ADDRESS/BITS", which reads back as the same rule;
 * a buffer too small or a rule of no known family gives -1 and "". */
START_TEST(test_netlist_write)
{
    const struct net_good_case *t = &net_good_cases[_i];
    struct netlist *nets = netlist_new(), *again = netlist_new();
    char err[256] = "", text[NETLIST_RULE_TEXT_MAX], want[NETLIST_RULE_TEXT_MAX + 8], small[8];
    int n;

    ck_assert_int_eq(netlist_add(nets, NETLIST_ALLOW, t->cidr, err, sizeof(err)), 0);
    n = netlist_rule_write(&nets->rules[NETLIST_ALLOW][0], text, sizeof(text));
    snprintf(want, sizeof(want), "%s/%u", t->addr, t->prefix_bits);
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(n, (int)strlen(want));
    ck_assert_msg(netlist_add(again, NETLIST_ALLOW, text, err, sizeof(err)) == 0, "%s", err);
    ck_assert_mem_eq(&again->rules[NETLIST_ALLOW][0], &nets->rules[NETLIST_ALLOW][0],
                     sizeof(struct netlist_rule));
    /* exactly the length and its NUL fit; one byte less does not */
    ck_assert_int_eq(netlist_rule_write(&nets->rules[NETLIST_ALLOW][0], text, (size_t)n + 1), n);
    ck_assert_int_eq(netlist_rule_write(&nets->rules[NETLIST_ALLOW][0], text, (size_t)n), -1);
    ck_assert_str_eq(text, "");
    ck_assert_int_eq(netlist_rule_write(&nets->rules[NETLIST_ALLOW][0], small, 0), -1);
    netlist_free(again);
    netlist_free(nets);
}
END_TEST

START_TEST(test_netlist_write_limits)
{
    static const char all_ones[] = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128";
    struct netlist_rule longest = {.family = AF_INET6, .prefix_bits = 128};
    struct netlist_rule none = {.family = AF_UNIX};
    char text[NETLIST_RULE_TEXT_MAX];

    /* room for the longest address text there is, and its prefix */
    ck_assert_uint_ge(sizeof(text), sizeof("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128"));
    memset(longest.addr, 0xff, sizeof(longest.addr));
    ck_assert_int_eq(netlist_rule_write(&longest, text, sizeof(text)), (int)strlen(all_ones));
    ck_assert_str_eq(text, all_ones);
    ck_assert_int_eq(netlist_rule_write(&none, text, sizeof(text)), -1);
    ck_assert_str_eq(text, "");
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_netlist_suite(void)
{
    Suite *s = suite_create("netlist");
    TCase *nets = tcase_create("nets");

    tcase_add_loop_test(nets, test_netlist_good, 0, N(net_good_cases));
    tcase_add_loop_test(nets, test_netlist_bad, 0, N(net_bad_cases));
    tcase_add_loop_test(nets, test_netlist_write, 0, N(net_good_cases));
    tcase_add_test(nets, test_netlist_write_limits);
    tcase_add_loop_test(nets, test_netlist_decide, 0, N(net_decide_cases));
    tcase_add_test(nets, test_netlist_limit);
    suite_add_tcase(s, nets);
    return s;
}

CHECK_MAIN(test_netlist_suite)
