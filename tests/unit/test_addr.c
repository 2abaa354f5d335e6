/*
 * test_addr.c - unit tests for addr.c: tables of addresses users write (good ones with
 * their parsed parts and their formatted form, bad ones with the exact reason), then
 * formatting of socket addresses for logs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "addr.h"
#include "check_main.h"

struct good_case {
    const char *in;
    bool allow_echo;
    enum addr_kind kind;
    bool tls;
    const char *host;
    unsigned port;
    const char *formatted; /* addr_format() of the result */
};

static const struct good_case good_cases[] = {
    {"127.0.0.1:8080", false, ADDR_HOSTPORT, false, "127.0.0.1", 8080, "127.0.0.1:8080"},
    {"0.0.0.0:1", false, ADDR_HOSTPORT, false, "0.0.0.0", 1, "0.0.0.0:1"},
    {"255.255.255.255:65535", false, ADDR_HOSTPORT, false, "255.255.255.255", 65535,
     "255.255.255.255:65535"},
    {"localhost:80", false, ADDR_HOSTPORT, false, "localhost", 80, "localhost:80"},
    {"Example.COM:443", true, ADDR_HOSTPORT, false, "Example.COM", 443, "Example.COM:443"},
    {"a-b.c-d.example:5901", true, ADDR_HOSTPORT, false, "a-b.c-d.example", 5901,
     "a-b.c-d.example:5901"},
    {"1host.example:22", true, ADDR_HOSTPORT, false, "1host.example", 22, "1host.example:22"},
    {"x:9", true, ADDR_HOSTPORT, false, "x", 9, "x:9"},
    {"[::1]:80", false, ADDR_HOSTPORT, false, "::1", 80, "[::1]:80"},
    {"[::]:8080", false, ADDR_HOSTPORT, false, "::", 8080, "[::]:8080"},
    {"[2001:db8::42]:5901", true, ADDR_HOSTPORT, false, "2001:db8::42", 5901,
     "[2001:db8::42]:5901"},
    {"[::ffff:192.0.2.1]:1", true, ADDR_HOSTPORT, false, "::ffff:192.0.2.1", 1,
     "[::ffff:192.0.2.1]:1"},
    {"[fe80:0000:0000:0000:0204:61ff:fe9d:f156]:7", true, ADDR_HOSTPORT, false,
     "fe80:0000:0000:0000:0204:61ff:fe9d:f156", 7, "[fe80:0000:0000:0000:0204:61ff:fe9d:f156]:7"},
    {"tls://example.com:443", true, ADDR_HOSTPORT, true, "example.com", 443,
     "tls://example.com:443"},
    {"tls://[::1]:8443", true, ADDR_HOSTPORT, true, "::1", 8443, "tls://[::1]:8443"},
    {"tls://10.0.0.1:993", false, ADDR_HOSTPORT, true, "10.0.0.1", 993, "tls://10.0.0.1:993"},
    {"echo", true, ADDR_ECHO, false, "", 0, "echo"},
    {"echo:7", false, ADDR_HOSTPORT, false, "echo", 7, "echo:7"},
    {"host:00080", true, ADDR_HOSTPORT, false, "host", 80, "host:80"},
    /* 63-byte label and a 253-byte name: the RFC 1123 limits themselves */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1", true, ADDR_HOSTPORT,
     false, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1"},
};

struct bad_case {
    const char *in;
    bool allow_echo;
    const char *why; /* exact text in err */
};

static const struct bad_case bad_cases[] = {
    {"", true, "empty address"},
    {"tls://", true, "empty address"},
    {"echo", false, "\"echo\" is a target, not an address to listen on"},
    {"tls://echo", true, "\"echo\" is built in and takes no tls://"},
    {"localhost", true, "missing \":port\""},
    {"127.0.0.1", true, "missing \":port\""},
    {":8080", true, "missing host before \":\""},
    {"host:", true, "missing port after \":\""},
    {"host:0", true, "port must be 1..65535"},
    {"host:65536", true, "port must be 1..65535"},
    {"1.2.3.4:99999", true, "port must be 1..65535"},
    {"host:99999999999999999999999", true, "port must be 1..65535"},
    {"host:+80", true, "port must be a number, 1..65535"},
    {"host:-1", true, "port must be a number, 1..65535"},
    {"host: 80", true, "port must be a number, 1..65535"},
    {"host:80 ", true, "port must be a number, 1..65535"},
    {"host:0x50", true, "port must be a number, 1..65535"},
    {"host:http", true, "port must be a number, 1..65535"},
    {" host:80", true, "space in host name"},
    {"ho st:80", true, "space in host name"},
    {"ho\tst:80", true, "bad character 0x09 in host name"},
    {"h\xc3\xa9:80", true, "bad character 0xc3 in host name"},
    {"under_score:80", true, "bad character '_' in host name"},
    {"a..b:80", true, "empty label in host name"},
    {".a:80", true, "empty label in host name"},
    {"a.:80", true, "empty label in host name"},
    {"-a:80", true, "host name label starts with \"-\""},
    {"a-.b:80", true, "host name label ends with \"-\""},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1", true,
     "host name label longer than 63 characters"},
    {"1.2.3:80", true, "bad IPv4 address"},
    {"1.2.3.256:80", true, "bad IPv4 address"},
    {"01.2.3.4:80", true, "bad IPv4 address"},
    {"1.2.3.4.5:80", true, "bad IPv4 address"},
    {"8080:80", true, "bad IPv4 address"},
    {"::1:80", true, "IPv6 addresses need brackets: \"[::1]:80\""},
    {"2001:db8::1:443", true, "IPv6 addresses need brackets: \"[2001:db8::1]:443\""},
    {"::1", true, "IPv6 addresses need brackets and a port, as in \"[::1]:80\""},
    {"a:b:c", true, "IPv6 addresses need brackets and a port, as in \"[::1]:80\""},
    {"[::1]", true, "missing \":port\" after \"]\""},
    {"[::1]80", true, "missing \":port\" after \"]\""},
    {"[::1:80", true, "missing \"]\" after IPv6 address"},
    {"[]:80", true, "empty IPv6 address in \"[]\""},
    {"[1.2.3.4]:80", true, "bad IPv6 address"},
    {"[::g]:80", true, "bad IPv6 address"},
    {"[fe80::1%eth0]:80", true, "bad IPv6 address"},
    {"[::1]:0", true, "port must be 1..65535"},
    {"[::1]:65536", true, "port must be 1..65535"},
    {"[::1]:", true, "missing port after \":\""},
    {"TLS://host:443", true, "unknown scheme (tls:// is the only one)"},
    {"http://host:80", true, "unknown scheme (tls:// is the only one)"},
    {"tls://tls://host:80", true, "unknown scheme (tls:// is the only one)"},
};

START_TEST(test_addr_good)
{
    const struct good_case *t = &good_cases[_i];
    struct addr a;
    char err[128] = "", out[300];
    int n;

    ck_assert_msg(addr_parse(t->in, t->allow_echo, &a, err, sizeof(err)) == 0, "%s: %s", t->in,
                  err);
    ck_assert_int_eq(a.kind, t->kind);
    ck_assert_int_eq(a.tls, t->tls);
    ck_assert_str_eq(a.host, t->host);
    ck_assert_uint_eq(a.port, t->port);
    n = addr_format(&a, out, sizeof(out));
    ck_assert_str_eq(out, t->formatted);
    ck_assert_int_eq(n, (int)strlen(t->formatted));
    /* snprintf rules: the needed length comes back even when nothing fits */
    ck_assert_int_eq(addr_format(&a, NULL, 0), n);
}
END_TEST

START_TEST(test_addr_bad)
{
    const struct bad_case *t = &bad_cases[_i];
    struct addr a = {.kind = ADDR_HOSTPORT, .host = "untouched", .port = 7};
    char err[128] = "";

    ck_assert_msg(addr_parse(t->in, t->allow_echo, &a, err, sizeof(err)) == -1, "%s", t->in);
    ck_assert_str_eq(err, t->why);
    /* a failed parse leaves the caller's struct alone */
    ck_assert_str_eq(a.host, "untouched");
    ck_assert_uint_eq(a.port, 7);
}
END_TEST

/* Host name length limits are checked on the whole name, not only on labels. */
START_TEST(test_addr_name_length)
{
    char name[300], err[128];
    struct addr a;

    /* 4 labels of 63 plus 3 dots = 255 bytes; trimmed to 253 it must pass */
    memset(name, 'a', sizeof(name));
    for (int i = 63; i < 255; i += 64)
        name[i] = '.';
    strcpy(name + 255, ":80");
    ck_assert_int_eq(addr_parse(name, true, &a, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "host name longer than 253 characters");
    strcpy(name + 253, ":80");
    ck_assert_int_eq(addr_parse(name, true, &a, err, sizeof(err)), 0);
    ck_assert_uint_eq(strlen(a.host), 253);
}
END_TEST

/* The error text is cut to the caller's buffer, always NUL-terminated; no buffer is fine. */
START_TEST(test_addr_err_buffer)
{
    char err[8];
    struct addr a;

    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(addr_parse("host:0", true, &a, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "port mu");
    ck_assert_int_eq(addr_parse("host:0", true, &a, NULL, 0), -1);
    ck_assert_int_eq(addr_parse(NULL, true, &a, NULL, 0), -1);
}
END_TEST

START_TEST(test_addr_format_truncates)
{
    struct addr a;
    char out[6];

    ck_assert_int_eq(addr_parse("[2001:db8::1]:443", true, &a, NULL, 0), 0);
    ck_assert_int_eq(addr_format(&a, out, sizeof(out)), 17);
    ck_assert_str_eq(out, "[2001");
}
END_TEST

START_TEST(test_addr_sockaddr_v4)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(5901)};
    char out[ADDR_SOCKADDR_STR_MAX];

    ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.33", &sin.sin_addr), 1);
    addr_format_sockaddr((struct sockaddr *)&sin, out);
    ck_assert_str_eq(out, "192.0.2.33:5901");
}
END_TEST

START_TEST(test_addr_sockaddr_v6)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    char out[ADDR_SOCKADDR_STR_MAX];

    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr), 1);
    addr_format_sockaddr((struct sockaddr *)&sin6, out);
    ck_assert_str_eq(out, "[2001:db8::1]:443");
    ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6.sin6_addr), 1);
    addr_format_sockaddr((struct sockaddr *)&sin6, out);
    ck_assert_str_eq(out, "[::ffff:192.0.2.1]:443");
    ck_assert_int_eq(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
    sin6.sin6_scope_id = 3;
    addr_format_sockaddr((struct sockaddr *)&sin6, out);
    ck_assert_str_eq(out, "[fe80::1%3]:443");
}
END_TEST

/* The longest text ADDR_SOCKADDR_STR_MAX has to hold still comes out whole. */
START_TEST(test_addr_sockaddr_longest)
{
    struct sockaddr_in6 sin6 = {
        .sin6_family = AF_INET6, .sin6_port = htons(65535), .sin6_scope_id = 4000000000u};
    char out[ADDR_SOCKADDR_STR_MAX];

    memset(&sin6.sin6_addr, 0xff, sizeof(sin6.sin6_addr));
    addr_format_sockaddr((struct sockaddr *)&sin6, out);
    ck_assert_str_eq(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4000000000]:65535");
}
END_TEST

START_TEST(test_addr_sockaddr_other)
{
    struct sockaddr sa = {.sa_family = AF_UNIX};
    char out[ADDR_SOCKADDR_STR_MAX];

    addr_format_sockaddr(&sa, out);
    ck_assert_str_eq(out, "?");
    addr_format_sockaddr(NULL, out);
    ck_assert_str_eq(out, "?");
}
END_TEST

/* The length of an accepted peer's address, by its family. */
START_TEST(test_addr_sockaddr_len)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

    ck_assert_uint_eq(addr_sockaddr_len((struct sockaddr *)&sin), sizeof(struct sockaddr_in));
    ck_assert_uint_eq(addr_sockaddr_len((struct sockaddr *)&sin6), sizeof(struct sockaddr_in6));
}
END_TEST

static Suite *test_addr_suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("parse");
    TCase *fmt = tcase_create("format");

    tcase_add_loop_test(tc, test_addr_good, 0, sizeof(good_cases) / sizeof(good_cases[0]));
    tcase_add_loop_test(tc, test_addr_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_addr_name_length);
    tcase_add_test(tc, test_addr_err_buffer);
    suite_add_tcase(s, tc);
    tcase_add_test(fmt, test_addr_format_truncates);
    tcase_add_test(fmt, test_addr_sockaddr_v4);
    tcase_add_test(fmt, test_addr_sockaddr_v6);
    tcase_add_test(fmt, test_addr_sockaddr_longest);
    tcase_add_test(fmt, test_addr_sockaddr_other);
    tcase_add_test(fmt, test_addr_sockaddr_len);
    suite_add_tcase(s, fmt);
    return s;
}

CHECK_MAIN(test_addr_suite)
