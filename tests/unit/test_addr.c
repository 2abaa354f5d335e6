/*
 * test_addr.c - unit tests for addr.c: tables of addresses users write (good ones with
 * their parsed parts and their formatted form, bad ones with the exact reason), then
 * formatting of socket addresses for logs. Unix sockets ("unix:PATH", issue 14): the path
 * kept as written, its limits (sun_path), no tls://, and the socket address built from it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

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
    {"unix:/run/wsbridge.sock", false, ADDR_UNIX, false, "/run/wsbridge.sock", 0,
     "unix:/run/wsbridge.sock"},
    {"unix:/tmp/.X11-unix/X1", true, ADDR_UNIX, false, "/tmp/.X11-unix/X1", 0,
     "unix:/tmp/.X11-unix/X1"},
    /* relative: kept as written, the config joins it to its folder */
    {"unix:run/vnc.sock", true, ADDR_UNIX, false, "run/vnc.sock", 0, "unix:run/vnc.sock"},
    {"unix:vnc", false, ADDR_UNIX, false, "vnc", 0, "unix:vnc"},
    /* a listening socket handed in by name (LISTEN_FDNAMES), listeners only */
    {"systemd:web", false, ADDR_SYSTEMD, false, "web", 0, "systemd:web"},
    {"systemd:wsbridge.https-1", false, ADDR_SYSTEMD, false, "wsbridge.https-1", 0,
     "systemd:wsbridge.https-1"},
    /* any byte a file name may hold but control characters: spaces, colons, UTF-8 */
    {"unix:/srv/a b:1/\xc3\xa9.sock", true, ADDR_UNIX, false, "/srv/a b:1/\xc3\xa9.sock", 0,
     "unix:/srv/a b:1/\xc3\xa9.sock"},
    {"unix:/x://y", true, ADDR_UNIX, false, "/x://y", 0, "unix:/x://y"},
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
    {"systemd:web", true, "port must be a number, 1..65535"}, /* a target: port "web" */
    {"systemd:", false, "empty socket name after \"systemd:\""},
    {"systemd:a b", false, "a socket name is printable ASCII without spaces or \":\""},
    {"systemd:a:b", false, "a socket name is printable ASCII without spaces or \":\""},
    {"tls://systemd:web", false, "a systemd: socket takes no tls://"},
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
    {"unix:", true, "empty Unix socket path after \"unix:\""},
    {"unix:", false, "empty Unix socket path after \"unix:\""},
    {"tls://unix:/run/x.sock", true, "a Unix socket takes no tls://"},
    {"tls://unix:", false, "a Unix socket takes no tls://"},
    {"unix:///run/x.sock", true, "a Unix socket is written unix:/path, not unix://"},
    {"unix://x", true, "a Unix socket is written unix:/path, not unix://"},
    {"unix:/run/a\nb.sock", true, "control character in Unix socket path"},
    {"unix:/run/a\tb", true, "control character in Unix socket path"},
    {"unix:/run/\x7f", true, "control character in Unix socket path"},
    {"unix:/run/", true, "Unix socket path ends with \"/\" (a folder)"},
    {"unix:/", false, "Unix socket path ends with \"/\" (a folder)"},
    /* the scheme is lower case, as tls:// is; anything else is a host and a port */
    {"UNIX:/run/x", true, "port must be a number, 1..65535"},
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

/* An IP literal carries its socket address from the parse (no resolver at connect time);
 * a name, echo and a Unix path carry none. */
START_TEST(test_addr_parse_sockaddr)
{
    struct addr a;
    struct in6_addr v6;

    ck_assert_int_eq(addr_parse("tls://192.0.2.7:8443", true, &a, NULL, 0), 0);
    ck_assert_uint_eq(a.sa_len, sizeof(struct sockaddr_in));
    ck_assert_int_eq(a.sa.in4.sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(a.sa.in4.sin_port), 8443);
    ck_assert_uint_eq(ntohl(a.sa.in4.sin_addr.s_addr), 0xC0000207u);
    ck_assert_int_eq(addr_parse("[2001:db8::1]:80", true, &a, NULL, 0), 0);
    ck_assert_uint_eq(a.sa_len, sizeof(struct sockaddr_in6));
    ck_assert_int_eq(a.sa.in6.sin6_family, AF_INET6);
    ck_assert_uint_eq(ntohs(a.sa.in6.sin6_port), 80);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &v6), 1);
    ck_assert_mem_eq(&a.sa.in6.sin6_addr, &v6, sizeof(v6));
    ck_assert_uint_eq(a.sa.in6.sin6_scope_id, 0);
    ck_assert_int_eq(addr_parse("localhost:80", true, &a, NULL, 0), 0);
    ck_assert_uint_eq(a.sa_len, 0);
    ck_assert_int_eq(addr_parse("echo", true, &a, NULL, 0), 0);
    ck_assert_uint_eq(a.sa_len, 0);
    ck_assert_int_eq(addr_parse("unix:/run/x.sock", true, &a, NULL, 0), 0);
    ck_assert_uint_eq(a.sa_len, 0);
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

/* sun_path's limit: 107 bytes and its NUL; one more is refused, at any depth. */
START_TEST(test_addr_unix_length)
{
    char text[300], err[128];
    struct addr a;
    struct sockaddr_un sun;
    socklen_t len;

    ck_assert_uint_eq(ADDR_UNIX_PATH_MAX, sizeof(sun.sun_path) - 1);
    memset(text, 'a', sizeof(text));
    memcpy(text, "unix:/", 6);
    text[5 + ADDR_UNIX_PATH_MAX] = '\0';
    ck_assert_msg(addr_parse(text, false, &a, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(strlen(a.host), ADDR_UNIX_PATH_MAX);
    len = addr_unix_sockaddr(&a, &sun);
    ck_assert_uint_eq(len, sizeof(sun)); /* the whole sun_path, its NUL the last byte */
    ck_assert_int_eq(sun.sun_family, AF_UNIX);
    ck_assert_str_eq(sun.sun_path, a.host);
    text[5 + ADDR_UNIX_PATH_MAX] = 'a';
    text[5 + ADDR_UNIX_PATH_MAX + 1] = '\0';
    ck_assert_int_eq(addr_parse(text, true, &a, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "Unix socket path longer than 107 bytes");
}
END_TEST

/* The socket address of a Unix address, and none for the other kinds. */
START_TEST(test_addr_unix_sockaddr)
{
    struct sockaddr_un sun = {.sun_family = AF_INET};
    struct addr a;

    ck_assert_int_eq(addr_parse("unix:/run/x.sock", false, &a, NULL, 0), 0);
    ck_assert_uint_eq(addr_unix_sockaddr(&a, &sun),
                      offsetof(struct sockaddr_un, sun_path) + sizeof("/run/x.sock"));
    ck_assert_int_eq(sun.sun_family, AF_UNIX);
    ck_assert_str_eq(sun.sun_path, "/run/x.sock");
    memset(&sun, 0x5a, sizeof(sun));
    ck_assert_int_eq(addr_parse("127.0.0.1:80", false, &a, NULL, 0), 0);
    ck_assert_uint_eq(addr_unix_sockaddr(&a, &sun), 0);
    ck_assert_int_eq(addr_parse("echo", true, &a, NULL, 0), 0);
    ck_assert_uint_eq(addr_unix_sockaddr(&a, &sun), 0);
    ck_assert_int_eq((unsigned char)sun.sun_path[0], 0x5a); /* untouched */
}
END_TEST

/* A peer on a Unix socket is written "unix": it has no address, and the path a client
 * may have bound its own socket to is its own choice, not worth a log field. */
START_TEST(test_addr_sockaddr_unix)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/tmp/client\n.sock"};
    char out[ADDR_SOCKADDR_STR_MAX];

    addr_format_sockaddr((struct sockaddr *)&sun, out);
    ck_assert_str_eq(out, "unix");
    ck_assert_uint_eq(addr_sockaddr_len((struct sockaddr *)&sun), sizeof(sa_family_t));
}
END_TEST

START_TEST(test_addr_sockaddr_other)
{
    struct sockaddr sa = {.sa_family = AF_APPLETALK};
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
    tcase_add_test(tc, test_addr_unix_length);
    suite_add_tcase(s, tc);
    tcase_add_test(fmt, test_addr_format_truncates);
    tcase_add_test(fmt, test_addr_sockaddr_v4);
    tcase_add_test(fmt, test_addr_sockaddr_v6);
    tcase_add_test(fmt, test_addr_sockaddr_longest);
    tcase_add_test(fmt, test_addr_unix_sockaddr);
    tcase_add_test(fmt, test_addr_parse_sockaddr);
    tcase_add_test(fmt, test_addr_sockaddr_unix);
    tcase_add_test(fmt, test_addr_sockaddr_other);
    tcase_add_test(fmt, test_addr_sockaddr_len);
    suite_add_tcase(s, fmt);
    return s;
}

CHECK_MAIN(test_addr_suite)
