/*
 * test_reqclient.c - proves that reqclient.c finds a request's client as reqclient.h
 * says: a peer outside trusted_proxies (or no list at all) keeps its own address and
 * the listener's scheme whatever headers it sends; a trusted peer's X-Forwarded-For or
 * Forwarded names the client (rightmost untrusted, port when given) and its proto the
 * scheme; both kinds must agree; malformed values, and too many lines, are BAD.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "check_main.h"
#include "http_req.h"
#include "netlist.h"
#include "reqclient.h"

#define PEER REQCLIENT_PEER
#define FWD REQCLIENT_FORWARDED
#define BAD REQCLIENT_BAD

struct rc_case {
    const char *name;
    const char *peer;    /* the connection's address */
    bool tls;            /* the listener is TLS */
    const char *headers; /* header lines, each ending in CRLF */
    enum reqclient_result result;
    const char *want; /* PEER/FWD: "ADDR:PORT https|http"; BAD: part of the reason */
};

static const struct rc_case test_cases[] = {
    {"untrusted peer, headers ignored", "192.0.2.9", false,
     "X-Forwarded-For: 198.51.100.1\r\nForwarded: for=198.51.100.2\r\n"
     "X-Forwarded-Proto: https\r\n",
     PEER, "192.0.2.9:1234 http"},
    {"untrusted peer, garbage ignored", "192.0.2.9", true, "X-Forwarded-For: ???\r\n", PEER,
     "192.0.2.9:1234 https"},
    {"trusted peer without headers", "10.0.0.5", false, "", PEER, "10.0.0.5:1234 http"},
    {"trusted peer, X-Forwarded-Proto alone", "10.0.0.5", false, "X-Forwarded-Proto: https\r\n",
     PEER, "10.0.0.5:1234 https"},
    {"X-Forwarded-For", "10.0.0.5", false, "X-Forwarded-For: 198.51.100.1\r\n", FWD,
     "198.51.100.1:0 http"},
    {"x-forwarded-for in lower case", "10.0.0.5", false, "x-forwarded-for: 198.51.100.1\r\n", FWD,
     "198.51.100.1:0 http"},
    {"rightmost untrusted", "10.0.0.5", false,
     "X-Forwarded-For: 203.0.113.7, 198.51.100.1\r\nX-Forwarded-For: 10.0.0.6\r\n", FWD,
     "198.51.100.1:0 http"},
    {"Forwarded with port and proto", "10.0.0.5", false,
     "Forwarded: for=\"198.51.100.1:4711\";proto=https\r\n", FWD, "198.51.100.1:4711 https"},
    {"Forwarded IPv6", "10.0.0.5", false, "Forwarded: for=\"[2001:db8::1]:80\"\r\n", FWD,
     "[2001:db8::1]:80 http"},
    {"proto http over a TLS listener", "10.0.0.5", true,
     "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Proto: http\r\n", FWD, "198.51.100.1:0 http"},
    {"proto wss", "10.0.0.5", false, "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Proto: wss\r\n",
     FWD, "198.51.100.1:0 https"},
    {"both kinds agree", "10.0.0.5", false,
     "Forwarded: for=198.51.100.1\r\nX-Forwarded-For: 198.51.100.1\r\n", FWD,
     "198.51.100.1:0 http"},
    {"both kinds disagree", "10.0.0.5", false,
     "Forwarded: for=198.51.100.1\r\nX-Forwarded-For: 198.51.100.2\r\n", BAD, "different"},
    {"malformed X-Forwarded-For", "10.0.0.5", false, "X-Forwarded-For: 1.2.3\r\n", BAD, ""},
    {"malformed Forwarded", "10.0.0.5", false, "Forwarded: for=1.2.3.4=x\r\n", BAD, ""},
    {"unknown client", "10.0.0.5", false, "Forwarded: for=unknown\r\n", BAD, "unknown"},
    {"IPv6 trusted proxy", "::1", false, "X-Forwarded-For: 198.51.100.1\r\n", FWD,
     "198.51.100.1:0 http"},
};

/* The trusted proxies of every case: 10.0.0.5/32, 10.0.0.6/32 and ::1. */
static struct netlist *test_trusted(void)
{
    struct netlist *nl = netlist_new();
    char err[128];

    ck_assert_ptr_nonnull(nl);
    ck_assert_int_eq(netlist_add(nl, NETLIST_ALLOW, "10.0.0.5", err, sizeof(err)), 0);
    ck_assert_int_eq(netlist_add(nl, NETLIST_ALLOW, "10.0.0.6/32", err, sizeof(err)), 0);
    ck_assert_int_eq(netlist_add(nl, NETLIST_ALLOW, "::1/128", err, sizeof(err)), 0);
    return nl;
}

static void test_peer(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(1234);
        ck_assert_int_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(1234);
        ck_assert_int_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1);
    }
}

static void test_request(struct http_req *r, const char *headers)
{
    char text[1024];
    size_t used;

    snprintf(text, sizeof(text), "GET /x HTTP/1.1\r\nHost: a\r\n%s\r\n", headers);
    ck_assert_int_eq(http_req_init(r, NULL), 0);
    ck_assert_int_eq(http_req_feed(r, (const uint8_t *)text, strlen(text), &used), HTTP_REQ_DONE);
}

START_TEST(test_reqclient_cases)
{
    const struct rc_case *c = &test_cases[_i];
    struct netlist *nl = test_trusted();
    struct sockaddr_storage peer;
    struct reqclient out;
    struct http_req r;
    char got[ADDR_SOCKADDR_STR_MAX + 8];
    enum reqclient_result res;

    test_peer(c->peer, &peer);
    test_request(&r, c->headers);
    res = reqclient_find(&r, nl, (struct sockaddr *)&peer, c->tls, &out);
    ck_assert_msg(res == c->result, "%s: result %d, want %d (%s)", c->name, res, c->result,
                  out.error ? out.error : "");
    if (res == BAD) {
        ck_assert_ptr_nonnull(out.error);
        ck_assert_msg(strstr(out.error, c->want) != NULL, "%s: %s", c->name, out.error);
    } else {
        addr_format_sockaddr((struct sockaddr *)&out.sa, got);
        strcat(got, out.https ? " https" : " http");
        ck_assert_msg(strcmp(got, c->want) == 0, "%s: got %s, want %s", c->name, got, c->want);
        ck_assert(res != FWD || out.source != NULL);
    }
    http_req_free(&r);
    netlist_free(nl);
}
END_TEST

/* No list, or an empty one, trusts nobody: the headers never count. */
START_TEST(test_reqclient_no_list)
{
    struct netlist *empty = netlist_new();
    struct sockaddr_storage peer;
    struct reqclient out;
    struct http_req r;

    test_peer("10.0.0.5", &peer);
    test_request(&r, "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Proto: https\r\n");
    ck_assert_int_eq(reqclient_find(&r, NULL, (struct sockaddr *)&peer, false, &out), PEER);
    ck_assert(!out.https);
    ck_assert_int_eq(memcmp(&out.sa, &peer, sizeof(struct sockaddr_in)), 0);
    ck_assert_int_eq(reqclient_find(&r, empty, (struct sockaddr *)&peer, false, &out), PEER);
    ck_assert(!out.https);
    http_req_free(&r);
    netlist_free(empty);
}
END_TEST

/* More than REQCLIENT_LINES_MAX lines of one kind: BAD, not a silent cut. */
START_TEST(test_reqclient_too_many_lines)
{
    struct netlist *nl = test_trusted();
    char headers[1024] = "";
    struct sockaddr_storage peer;
    struct reqclient out;
    struct http_req r;

    for (int i = 0; i < REQCLIENT_LINES_MAX + 1; i++)
        strcat(headers, "X-Forwarded-For: 10.0.0.6\r\n");
    test_peer("10.0.0.5", &peer);
    test_request(&r, headers);
    ck_assert_int_eq(reqclient_find(&r, nl, (struct sockaddr *)&peer, false, &out), BAD);
    ck_assert_str_eq(out.error, "too many forwarded header lines");
    http_req_free(&r);
    netlist_free(nl);
}
END_TEST

static Suite *reqclient_suite(void)
{
    Suite *s = suite_create("reqclient");
    TCase *tc = tcase_create("find");

    tcase_add_loop_test(tc, test_reqclient_cases, 0,
                        (int)(sizeof(test_cases) / sizeof(test_cases[0])));
    tcase_add_test(tc, test_reqclient_no_list);
    tcase_add_test(tc, test_reqclient_too_many_lines);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(reqclient_suite)
