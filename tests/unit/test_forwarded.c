/*
 * test_forwarded.c - proves that forwarded.c finds the client of a request the way
 * forwarded.h says: RFC 7239's own examples, X-Forwarded-For chains with forged entries
 * on the left, trusted proxies skipped from the right, the all-trusted case, schemes from
 * the element that names the client, both kinds agreeing or refused, every malformed
 * shape refused without a guess; a list split into lines at any comma, or across lines
 * of both kinds in order, gives the same answer.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "forwarded.h"

#define ANY FORWARDED_USE_ANY
#define RFC FORWARDED_USE_RFC7239
#define XFF FORWARDED_USE_XFF
#define CLIENT FORWARDED_CLIENT
#define NOCL FORWARDED_NO_CLIENT
#define NONE FORWARDED_NONE
#define L(...)                                                                                     \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }

struct fw_case {
    const char *name;
    enum forwarded_use use;
    const char *fwd[4]; /* Forwarded lines, NULL-terminated */
    const char *xff[4]; /* X-Forwarded-For lines */
    const char *xfp[4]; /* X-Forwarded-Proto lines */
    enum forwarded_result result;
    const char *want; /* CLIENT: "ADDR PROTO SOURCE"; NONE: "none PROTO"; NO_CLIENT: part
                       * of the reason */
};

static const struct fw_case test_cases[] = {
    /* RFC 7239 §4 and §7 examples */
    {"rfc obfuscated only", ANY, L("for=\"_gazonk\""), L(0), L(0), NOCL, "obfuscated"},
    {"rfc IPv6 with port", ANY, L("For=\"[2001:db8:cafe::17]:4711\""), L(0), L(0), CLIENT,
     "[2001:db8:cafe::17]:4711 - Forwarded"},
    {"rfc for proto by", ANY, L("for=192.0.2.60;proto=http;by=203.0.113.43"), L(0), L(0), CLIENT,
     "192.0.2.60 http Forwarded"},
    {"rfc two elements", ANY, L("for=192.0.2.43, for=198.51.100.17"), L(0), L(0), CLIENT,
     "198.51.100.17 - Forwarded"},
    {"rfc §7.1 two lines", ANY,
     L("for=192.0.2.43", "for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com"), L(0),
     L(0), CLIENT, "198.51.100.17 http Forwarded"},
    {"rfc unknown", ANY, L("for=unknown"), L(0), L(0), NOCL, "\"unknown\""},

    /* Forwarded walks */
    {"trusted proxy skipped, its proto is not the client's", ANY,
     L("for=203.0.113.9;proto=https, for=10.1.1.1;proto=http"), L(0), L(0), CLIENT,
     "203.0.113.9 https Forwarded"},
    {"forged on the left, ignored", ANY,
     L("for=198.51.100.66;proto=https, for=203.0.113.9;proto=http"), L(0), L(0), CLIENT,
     "203.0.113.9 http Forwarded"},
    {"all trusted: the leftmost", ANY, L("for=10.1.1.1, for=192.168.1.1, for=10.2.2.2"), L(0), L(0),
     CLIENT, "10.1.1.1 - Forwarded"},
    {"trusted IPv6 proxy", ANY, L("for=203.0.113.9, for=\"[::1]\""), L(0), L(0), CLIENT,
     "203.0.113.9 - Forwarded"},
    {"unknown at the right", ANY, L("for=203.0.113.9, for=unknown"), L(0), L(0), NOCL, "unknown"},
    {"unknown behind a trusted proxy", ANY, L("for=UNKNOWN, for=10.1.1.1"), L(0), L(0), NOCL,
     "unknown"},
    {"unknown past the client, not reached", ANY, L("for=unknown, for=203.0.113.5"), L(0), L(0),
     CLIENT, "203.0.113.5 - Forwarded"},
    {"unknown with a port", ANY, L("for=\"unknown:80\""), L(0), L(0), NOCL, "unknown"},
    {"obfuscated port", ANY, L("for=\"192.0.2.43:_abc\""), L(0), L(0), CLIENT,
     "192.0.2.43 - Forwarded"},
    {"port 0", ANY, L("for=\"192.0.2.43:0\""), L(0), L(0), CLIENT, "192.0.2.43:0 - Forwarded"},
    {"quoted IPv4", ANY, L("for=\"192.0.2.43\""), L(0), L(0), CLIENT, "192.0.2.43 - Forwarded"},
    {"quoted pairs", ANY, L("for=\"\\[2001:db8::1\\]\""), L(0), L(0), CLIENT,
     "[2001:db8::1] - Forwarded"},
    {"names in any case, schemes too", ANY, L("FOR=192.0.2.1;PROTO=HTTPS"), L(0), L(0), CLIENT,
     "192.0.2.1 https Forwarded"},
    {"empty list elements", ANY, L(", for=192.0.2.1 ,,\t,"), L(0), L(0), CLIENT,
     "192.0.2.1 - Forwarded"},
    {"empty pairs", ANY, L("for=192.0.2.1;;proto=https;"), L(0), L(0), CLIENT,
     "192.0.2.1 https Forwarded"},
    {"extension parameter", ANY, L("for=192.0.2.1;secret=\"a b\";x=y"), L(0), L(0), CLIENT,
     "192.0.2.1 - Forwarded"},
    {"wss is https", ANY, L("for=192.0.2.1;proto=wss"), L(0), L(0), CLIENT,
     "192.0.2.1 https Forwarded"},
    {"ws is http", ANY, L("for=192.0.2.1;proto=ws"), L(0), L(0), CLIENT,
     "192.0.2.1 http Forwarded"},
    {"other scheme tells nothing", ANY, L("for=192.0.2.1;proto=ftp"), L(0), L(0), CLIENT,
     "192.0.2.1 - Forwarded"},
    {"mapped IPv4 is IPv4", ANY, L("for=\"[::ffff:192.0.2.7]:9\""), L(0), L(0), CLIENT,
     "192.0.2.7:9 - Forwarded"},
    {"by only", ANY, L("by=10.0.0.1"), L(0), L(0), NOCL, "no for="},
    {"semicolons only", ANY, L(";"), L(0), L(0), NOCL, "no for="},
    {"empty line", ANY, L(""), L(0), L(0), NOCL, "names no node"},

    /* Forwarded malformed */
    {"unquoted IPv6", ANY, L("for=[2001:db8::1]"), L(0), L(0), NOCL, "token or a quoted"},
    {"IPv6 without brackets", ANY, L("for=\"2001:db8::1\""), L(0), L(0), NOCL, "not an address"},
    {"unquoted port", ANY, L("for=192.0.2.1:80"), L(0), L(0), NOCL, "unexpected byte"},
    {"space before =", ANY, L("for =192.0.2.1"), L(0), L(0), NOCL, "without \"=\""},
    {"space after =", ANY, L("for= 192.0.2.1"), L(0), L(0), NOCL, "token or a quoted"},
    {"space before ;", ANY, L("for=192.0.2.1 ;proto=http"), L(0), L(0), NOCL, "unexpected byte"},
    {"unterminated quote", ANY, L("for=\"192.0.2.1"), L(0), L(0), NOCL, "token or a quoted"},
    {"for twice", ANY, L("for=192.0.2.1;for=192.0.2.2"), L(0), L(0), NOCL, "twice"},
    {"proto twice", ANY, L("for=192.0.2.1;proto=http;Proto=http"), L(0), L(0), NOCL, "twice"},
    {"by twice", ANY, L("by=a;for=192.0.2.1;by=b"), L(0), L(0), NOCL, "twice"},
    {"proto not a scheme", ANY, L("for=192.0.2.1;proto=1http"), L(0), L(0), NOCL, "URI scheme"},
    {"proto empty", ANY, L("for=192.0.2.1;proto=\"\""), L(0), L(0), NOCL, "URI scheme"},
    {"leading zero", ANY, L("for=192.0.2.01"), L(0), L(0), NOCL, "not an address"},
    {"three octets", ANY, L("for=192.0.2"), L(0), L(0), NOCL, "not an address"},
    {"host name", ANY, L("for=example.com"), L(0), L(0), NOCL, "not an address"},
    {"bare underscore", ANY, L("for=_"), L(0), L(0), NOCL, "not an address"},
    {"port 65536", ANY, L("for=\"192.0.2.1:65536\""), L(0), L(0), NOCL, "port"},
    {"port of six digits", ANY, L("for=\"192.0.2.1:000080\""), L(0), L(0), NOCL, "port"},
    {"empty port", ANY, L("for=\"192.0.2.1:\""), L(0), L(0), NOCL, "port"},
    {"zone", ANY, L("for=\"[fe80::1%25eth0]\""), L(0), L(0), NOCL, "IPv6"},
    {"unclosed bracket", ANY, L("for=\"[2001:db8::1\""), L(0), L(0), NOCL, "IPv6"},
    {"bytes after the bracket", ANY, L("for=\"[2001:db8::1]x\""), L(0), L(0), NOCL,
     "after the node"},
    {"control byte in quotes", ANY, L("for=\"192.0.2.1\x01\""), L(0), L(0), NOCL,
     "token or a quoted"},
    {"DEL in quotes", ANY, L("for=\"192.0.2.1\x7f\""), L(0), L(0), NOCL, "token or a quoted"},
    {"garbage element", ANY, L("for=192.0.2.1, =x"), L(0), L(0), NOCL, "unexpected byte"},
    {"junk after a malformed element, even left of the client", ANY, L("for=bad!, for=192.0.2.1"),
     L(0), L(0), NOCL, "not an address"},

    /* X-Forwarded-For */
    {"xff one", ANY, L(0), L("203.0.113.7"), L(0), CLIENT, "203.0.113.7 - X-Forwarded-For"},
    {"xff with the proxy", ANY, L(0), L("203.0.113.7, 10.0.0.2"), L(0), CLIENT,
     "203.0.113.7 - X-Forwarded-For"},
    {"xff forged on the left", ANY, L(0), L("198.51.100.1, 203.0.113.7, 10.0.0.2"), L(0), CLIENT,
     "203.0.113.7 - X-Forwarded-For"},
    {"xff two lines", ANY, L(0), L("198.51.100.1", "203.0.113.7,10.0.0.2"), L(0), CLIENT,
     "203.0.113.7 - X-Forwarded-For"},
    {"xff IPv6", ANY, L(0), L("2001:db8::5"), L(0), CLIENT, "[2001:db8::5] - X-Forwarded-For"},
    {"xff IPv6 brackets and port", ANY, L(0), L("[2001:db8::5]:443"), L(0), CLIENT,
     "[2001:db8::5]:443 - X-Forwarded-For"},
    {"xff IPv6 brackets", ANY, L(0), L("[2001:db8::5]"), L(0), CLIENT,
     "[2001:db8::5] - X-Forwarded-For"},
    {"xff IPv4 and port", ANY, L(0), L("203.0.113.7:5555"), L(0), CLIENT,
     "203.0.113.7:5555 - X-Forwarded-For"},
    {"xff mapped", ANY, L(0), L("::ffff:203.0.113.7"), L(0), CLIENT,
     "203.0.113.7 - X-Forwarded-For"},
    {"xff all trusted", ANY, L(0), L("10.9.9.9, 192.168.3.3"), L(0), CLIENT,
     "10.9.9.9 - X-Forwarded-For"},
    {"xff unknown", ANY, L(0), L("unknown, 10.0.0.2"), L(0), NOCL, "unknown"},
    {"xff empty elements", ANY, L(0), L(", ,203.0.113.7,,"), L(0), CLIENT,
     "203.0.113.7 - X-Forwarded-For"},
    {"xff empty", ANY, L(0), L(""), L(0), NOCL, "names no node"},
    {"xff space inside", ANY, L(0), L("203.0.113.7 10.0.0.2"), L(0), NOCL, "not an address"},
    {"xff host name", ANY, L(0), L("example.com"), L(0), NOCL, "not an address"},
    {"xff empty port", ANY, L(0), L("203.0.113.7:"), L(0), NOCL, "bad port"},
    {"xff port 65536", ANY, L(0), L("203.0.113.7:65536"), L(0), NOCL, "bad port"},
    {"xff unclosed bracket", ANY, L(0), L("[2001:db8::5"), L(0), NOCL, "not an address"},
    {"xff junk after bracket", ANY, L(0), L("[2001:db8::5]x"), L(0), NOCL, "bad port"},
    {"xff bad IPv6", ANY, L(0), L("2001:db8::5:99999"), L(0), NOCL, "not an address"},
    {"xff quoted", ANY, L(0), L("\"203.0.113.7\""), L(0), NOCL, "not an address"},
    {"xff too many", ANY, L(0),
     L("1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,"
       "1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,"
       "1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,"
       "1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,"
       "1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,"
       "1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,1.1.1.1,"
       "1.1.1.1,1.1.1.1,1.1.1.1"),
     L(0), NOCL, "MAX_HOPS"},

    /* X-Forwarded-Proto */
    {"xfp single", ANY, L(0), L("203.0.113.7, 10.0.0.2"), L("https"), CLIENT,
     "203.0.113.7 https X-Forwarded-For"},
    {"xfp paired", ANY, L(0), L("203.0.113.7, 10.0.0.2"), L("https, http"), CLIENT,
     "203.0.113.7 https X-Forwarded-For"},
    {"xfp paired over lines", ANY, L(0), L("203.0.113.7", "10.0.0.2"), L("http", "HTTPS"), CLIENT,
     "203.0.113.7 http X-Forwarded-For"},
    {"xfp count does not match", ANY, L(0), L("203.0.113.7, 10.0.0.2"), L("https,http,http"),
     CLIENT, "203.0.113.7 - X-Forwarded-For"},
    {"xfp wss", ANY, L(0), L("203.0.113.7"), L("wss"), CLIENT, "203.0.113.7 https X-Forwarded-For"},
    {"xfp malformed", ANY, L(0), L("203.0.113.7"), L("h ttp"), NOCL, "URI scheme"},
    {"xfp alone", ANY, L(0), L(0), L("https"), NONE, "none https"},
    {"xfp alone, two values", ANY, L(0), L(0), L("https", "http"), NONE, "none -"},

    /* both kinds */
    {"both agree", ANY, L("for=203.0.113.7;proto=https"), L("203.0.113.7"), L(0), CLIENT,
     "203.0.113.7 https Forwarded"},
    {"both, forged Forwarded passed on", ANY, L("for=198.51.100.99"), L("203.0.113.7"), L(0), NOCL,
     "different clients"},
    {"both, Forwarded only counts", RFC, L("for=198.51.100.99"), L("203.0.113.7"), L("http"),
     CLIENT, "198.51.100.99 - Forwarded"},
    {"both, X-Forwarded-For only counts", XFF, L("for=198.51.100.99"), L("203.0.113.7"), L(0),
     CLIENT, "203.0.113.7 - X-Forwarded-For"},
    {"both, schemes differ", ANY, L("for=203.0.113.7;proto=http"), L("203.0.113.7"), L("https"),
     NOCL, "different schemes"},
    {"both, scheme from X-Forwarded-Proto", ANY, L("for=203.0.113.7"), L("203.0.113.7"), L("https"),
     CLIENT, "203.0.113.7 https Forwarded"},
    {"Forwarded and a lone X-Forwarded-Proto", ANY, L("for=203.0.113.7"), L(0), L("https"), CLIENT,
     "203.0.113.7 https Forwarded"},
    {"both, the port from X-Forwarded-For", ANY, L("for=203.0.113.7"), L("203.0.113.7:999"), L(0),
     CLIENT, "203.0.113.7:999 - Forwarded"},
    {"both, X-Forwarded-For malformed", ANY, L("for=203.0.113.7"), L("nope"), L(0), NOCL,
     "not an address"},
    {"both, malformed one ignored when it does not count", RFC, L("for=203.0.113.7"), L("nope"),
     L("n o"), CLIENT, "203.0.113.7 - Forwarded"},
    {"Forwarded malformed, not counted", XFF, L("for=[bad"), L("203.0.113.7"), L(0), CLIENT,
     "203.0.113.7 - X-Forwarded-For"},
    {"nothing", ANY, L(0), L(0), L(0), NONE, "none -"},
    {"only the other kind", RFC, L(0), L("203.0.113.7"), L(0), NONE, "none -"},
};

#define TEST_N_CASES (sizeof(test_cases) / sizeof(test_cases[0]))

/* Trusted: 10.0.0.0/8, 192.168.0.0/16, ::1, 2001:db8:ffff::/48. Counts calls. */
static int test_calls;

static bool test_trusted(void *arg, const struct sockaddr *sa)
{
    (void)arg;
    test_calls++;
    if (sa->sa_family == AF_INET) {
        const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        return a[0] == 10 || (a[0] == 192 && a[1] == 168);
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        static const uint8_t net[6] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};
        return IN6_IS_ADDR_LOOPBACK(a) || memcmp(a->s6_addr, net, 6) == 0;
    }
    return false;
}

static size_t test_count(const char *const *lines)
{
    size_t n = 0;

    while (lines[n] != NULL)
        n++;
    return n;
}

static const char *test_proto(enum forwarded_proto p)
{
    return p == FORWARDED_PROTO_HTTPS ? "https" : p == FORWARDED_PROTO_HTTP ? "http" : "-";
}

/* The answer in the table's form. */
static void test_dump(enum forwarded_result r, const struct forwarded_answer *a, char *out,
                      size_t cap)
{
    char text[INET6_ADDRSTRLEN], port[8] = "";
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->client;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->client;

    if (r == NONE) {
        snprintf(out, cap, "none %s", test_proto(a->proto));
        return;
    }
    if (r == NOCL) {
        snprintf(out, cap, "%s", a->error);
        return;
    }
    if (a->client.ss_family == AF_INET) {
        ck_assert_uint_eq(a->client_len, sizeof(*s4));
        inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text));
        if (a->has_port)
            snprintf(port, sizeof(port), ":%u", ntohs(s4->sin_port));
        snprintf(out, cap, "%s%s %s %s", text, port, test_proto(a->proto), a->source);
    } else {
        ck_assert_int_eq(a->client.ss_family, AF_INET6);
        ck_assert_uint_eq(a->client_len, sizeof(*s6));
        inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text));
        if (a->has_port)
            snprintf(port, sizeof(port), ":%u", ntohs(s6->sin6_port));
        snprintf(out, cap, "[%s]%s %s %s", text, port, test_proto(a->proto), a->source);
    }
}

static enum forwarded_result test_run(const struct fw_case *c, const char *const *fwd, size_t nf,
                                      const char *const *xff, size_t nx, struct forwarded_answer *a)
{
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
    struct forwarded_headers h = {.forwarded = fwd,
                                  .n_forwarded = nf,
                                  .xff = xff,
                                  .n_xff = nx,
                                  .xfp = c->xfp,
                                  .n_xfp = test_count(c->xfp)};

    inet_pton(AF_INET, "10.0.0.1", &peer.sin_addr);
    return forwarded_find(&h, c->use, (struct sockaddr *)&peer, test_trusted, NULL, a);
}

static void test_expect(const struct fw_case *c, enum forwarded_result r,
                        const struct forwarded_answer *a, const char *how)
{
    char dump[256];

    test_dump(r, a, dump, sizeof(dump));
    ck_assert_msg(r == c->result, "%s (%s): result %d, want %d (%s)", c->name, how, r, c->result,
                  dump);
    if (r == NOCL)
        ck_assert_msg(a->error != NULL && strstr(a->error, c->want) != NULL,
                      "%s (%s): reason \"%s\", want \"%s\"", c->name, how, a->error, c->want);
    else
        ck_assert_msg(strcmp(dump, c->want) == 0, "%s (%s): \"%s\", want \"%s\"", c->name, how,
                      dump, c->want);
}

START_TEST(test_forwarded_cases)
{
    const struct fw_case *c = &test_cases[_i];
    struct forwarded_answer a;
    enum forwarded_result r;

    r = test_run(c, c->fwd, test_count(c->fwd), c->xff, test_count(c->xff), &a);
    test_expect(c, r, &a, "as written");
}
END_TEST

/* Splits <line> at its top-level comma number <k> (outside quotes) into <left> and
 * <right>; false if it has no such comma. */
static bool test_split_at_comma(const char *line, size_t k, char *left, char *right, size_t cap)
{
    bool quoted = false;
    size_t seen = 0;

    for (size_t i = 0; line[i] != '\0'; i++) {
        if (line[i] == '\\' && quoted && line[i + 1] != '\0') {
            i++;
            continue;
        }
        if (line[i] == '"')
            quoted = !quoted;
        if (line[i] == ',' && !quoted && seen++ == k) {
            ck_assert_uint_lt(i, cap);
            memcpy(left, line, i);
            left[i] = '\0';
            snprintf(right, cap, "%s", line + i + 1);
            return true;
        }
    }
    return false;
}

/* RFC 7230 §3.2.2: a list in one line or split into lines at any comma is the same list.
 * Each line of a case is cut at each of its commas in turn; the answer must not change. */
START_TEST(test_forwarded_lines_split_at_every_comma)
{
    const struct fw_case *c = &test_cases[_i];
    char left[1024], right[1024];
    struct forwarded_answer a;
    enum forwarded_result r;

    for (int kind = 0; kind < 2; kind++) {
        const char *const *lines = kind == 0 ? c->fwd : c->xff;
        size_t n = test_count(lines);

        for (size_t li = 0; li < n; li++) {
            for (size_t k = 0; test_split_at_comma(lines[li], k, left, right, sizeof(left)); k++) {
                const char *split[6];
                size_t m = 0;
                char how[64];

                for (size_t j = 0; j < n; j++) {
                    if (j == li) {
                        split[m++] = left;
                        split[m++] = right;
                    } else {
                        split[m++] = lines[j];
                    }
                }
                if (kind == 0)
                    r = test_run(c, split, m, c->xff, test_count(c->xff), &a);
                else
                    r = test_run(c, c->fwd, test_count(c->fwd), split, m, &a);
                snprintf(how, sizeof(how), "line %zu cut at comma %zu", li, k);
                /* MAX_HOPS counts elements, not lines, so even that case holds */
                test_expect(c, r, &a, how);
            }
        }
    }
}
END_TEST

/* From a peer that is not trusted, nothing is read: not even a malformed header. */
START_TEST(test_forwarded_untrusted_peer)
{
    const char *fwd[] = {"for=bad!!"}, *xff[] = {"203.0.113.7"}, *xfp[] = {"https"};
    struct forwarded_headers h = {
        .forwarded = fwd, .n_forwarded = 1, .xff = xff, .n_xff = 1, .xfp = xfp, .n_xfp = 1};
    struct sockaddr_in6 peer = {.sin6_family = AF_INET6};
    struct forwarded_answer a;

    inet_pton(AF_INET6, "2001:db8:1::1", &peer.sin6_addr);
    test_calls = 0;
    ck_assert_int_eq(forwarded_find(&h, ANY, (struct sockaddr *)&peer, test_trusted, NULL, &a),
                     NONE);
    ck_assert_int_eq(test_calls, 1);
    ck_assert_int_eq(a.client.ss_family, 0);
    ck_assert_int_eq(a.proto, FORWARDED_PROTO_UNKNOWN);
    ck_assert_ptr_null(a.error);
    ck_assert_int_eq(forwarded_find(&h, ANY, NULL, test_trusted, NULL, &a), NONE);
    /* the same peer, trusted (2001:db8:ffff::/48): the headers count */
    inet_pton(AF_INET6, "2001:db8:ffff::9", &peer.sin6_addr);
    ck_assert_int_eq(forwarded_find(&h, XFF, (struct sockaddr *)&peer, test_trusted, NULL, &a),
                     CLIENT);
}
END_TEST

/* The walk asks about each address from the right and stops at the client; the trusted
 * callback sees the header's port. */
struct test_seen {
    char text[8][64];
    int n;
};

static bool test_record(void *arg, const struct sockaddr *sa)
{
    struct test_seen *s = arg;
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

    ck_assert_int_lt(s->n, 8);
    ck_assert_int_eq(sa->sa_family, AF_INET);
    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
    snprintf(s->text[s->n++], 64, "%s:%u", ip, ntohs(s4->sin_port));
    return strncmp(ip, "10.", 3) == 0;
}

START_TEST(test_forwarded_walk_order)
{
    const char *xff[] = {"198.51.100.1, 203.0.113.7:77", "10.0.0.3, 10.0.0.4"};
    struct forwarded_headers h = {.xff = xff, .n_xff = 2};
    struct sockaddr_in peer = {.sin_family = AF_INET};
    struct test_seen seen = {.n = 0};
    struct forwarded_answer a;

    inet_pton(AF_INET, "10.0.0.5", &peer.sin_addr);
    ck_assert_int_eq(forwarded_find(&h, ANY, (struct sockaddr *)&peer, test_record, &seen, &a),
                     CLIENT);
    ck_assert_int_eq(seen.n, 4);
    ck_assert_str_eq(seen.text[0], "10.0.0.5:0");
    ck_assert_str_eq(seen.text[1], "10.0.0.4:0");
    ck_assert_str_eq(seen.text[2], "10.0.0.3:0");
    ck_assert_str_eq(seen.text[3], "203.0.113.7:77");
}
END_TEST

/* A value at FORWARDED_VALUE_MAX passes the reader's length check; one over it fails. */
START_TEST(test_forwarded_value_limit)
{
    char line[FORWARDED_VALUE_MAX + 64];
    const char *fwd[] = {line};
    struct forwarded_headers h = {.forwarded = fwd, .n_forwarded = 1};
    struct sockaddr_in peer = {.sin_family = AF_INET};
    struct forwarded_answer a;
    size_t n;

    inet_pton(AF_INET, "10.0.0.1", &peer.sin_addr);
    /* for=192.0.2.1;x=<token of n bytes> */
    for (n = FORWARDED_VALUE_MAX - 1; n <= FORWARDED_VALUE_MAX + 1; n++) {
        int at = snprintf(line, sizeof(line), "for=192.0.2.1;x=");
        memset(line + at, 't', n);
        line[at + (int)n] = '\0';
        ck_assert_int_eq(forwarded_find(&h, ANY, (struct sockaddr *)&peer, test_trusted, NULL, &a),
                         n <= FORWARDED_VALUE_MAX ? CLIENT : NOCL);
    }
    /* the same with a quoted string: quotes count */
    for (n = FORWARDED_VALUE_MAX - 3; n <= FORWARDED_VALUE_MAX; n++) {
        int at = snprintf(line, sizeof(line), "for=192.0.2.1;x=\"");
        memset(line + at, 'q', n);
        snprintf(line + at + n, sizeof(line) - (size_t)at - n, "\"");
        ck_assert_int_eq(forwarded_find(&h, ANY, (struct sockaddr *)&peer, test_trusted, NULL, &a),
                         n + 2 <= FORWARDED_VALUE_MAX ? CLIENT : NOCL);
    }
}
END_TEST

/* 64 hops pass, 65 fail, in either kind, whatever the lines. */
START_TEST(test_forwarded_hop_limit)
{
    static char fline[FORWARDED_MAX_HOPS + 1][32], xline[FORWARDED_MAX_HOPS + 1][32];
    const char *fwd[FORWARDED_MAX_HOPS + 1], *xff[FORWARDED_MAX_HOPS + 1];
    struct sockaddr_in peer = {.sin_family = AF_INET};
    struct forwarded_answer a;

    inet_pton(AF_INET, "10.0.0.1", &peer.sin_addr);
    for (int i = 0; i <= FORWARDED_MAX_HOPS; i++) {
        snprintf(fline[i], sizeof(fline[i]), "for=203.0.113.%d", i);
        snprintf(xline[i], sizeof(xline[i]), "203.0.113.%d", i);
        fwd[i] = fline[i];
        xff[i] = xline[i];
    }
    for (size_t n = FORWARDED_MAX_HOPS; n <= FORWARDED_MAX_HOPS + 1; n++) {
        struct forwarded_headers hf = {.forwarded = fwd, .n_forwarded = n};
        struct forwarded_headers hx = {.xff = xff, .n_xff = n};
        enum forwarded_result want = n <= FORWARDED_MAX_HOPS ? CLIENT : NOCL;

        ck_assert_int_eq(forwarded_find(&hf, ANY, (struct sockaddr *)&peer, test_trusted, NULL, &a),
                         want);
        ck_assert_int_eq(forwarded_find(&hx, ANY, (struct sockaddr *)&peer, test_trusted, NULL, &a),
                         want);
    }
}
END_TEST

static Suite *test_suite(void)
{
    Suite *s = suite_create("forwarded");
    TCase *tc = tcase_create("forwarded");

    tcase_add_loop_test(tc, test_forwarded_cases, 0, (int)TEST_N_CASES);
    tcase_add_loop_test(tc, test_forwarded_lines_split_at_every_comma, 0, (int)TEST_N_CASES);
    tcase_add_test(tc, test_forwarded_untrusted_peer);
    tcase_add_test(tc, test_forwarded_walk_order);
    tcase_add_test(tc, test_forwarded_value_limit);
    tcase_add_test(tc, test_forwarded_hop_limit);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_suite)
