/*
 * test_tokenreq.c - unit tests for tokenreq.c: a table of request targets and Host
 * values with the token (or the verdict) each gives for each source. The query rows are
 * what websockify's parse_qs(...)['token'][0].rstrip('\n') gives for the same target
 * (Python 3.11; every row was compared with it when written), NONE where it gives none
 * or "", and BAD where it gives a string no token file can hold (a NUL, U+FFFD for bytes
 * that are not UTF-8, ISO-8859-1 text for raw bytes). Then the length limit, and every
 * target cut at every length in exact-size copies, so nothing is read past the end.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "tokenreq.h"

struct tokenreq_case {
    enum tokenreq_from from;
    const char *target;
    size_t prefix_len;
    const char *host;
    enum tokenreq_result want;
    const char *token; /* TOKENREQ_OK: the token (NUL-free rows only) */
};

#define Q TOKENREQ_QUERY
#define P TOKENREQ_PATH
#define H TOKENREQ_HOST
#define L TOKENREQ_HOST_LABEL
#define OK TOKENREQ_OK
#define NONE TOKENREQ_NONE
#define BAD TOKENREQ_BAD

static const struct tokenreq_case cases[] = {
    /* query: websockify's parse_qs */
    {Q, "/websockify?token=alice", 0, NULL, OK, "alice"},
    {Q, "/?token=alice", 0, NULL, OK, "alice"},
    {Q, "/websockify", 0, NULL, NONE, NULL},
    {Q, "/websockify?", 0, NULL, NONE, NULL},
    {Q, "/websockify?token=", 0, NULL, NONE, NULL},
    {Q, "/websockify?token", 0, NULL, NONE, NULL},
    {Q, "/websockify?token=&token=bob", 0, NULL, OK, "bob"}, /* blank values are dropped */
    {Q, "/websockify?token=alice&token=bob", 0, NULL, OK, "alice"},
    {Q, "/websockify?x=1&token=bob&y=2", 0, NULL, OK, "bob"},
    {Q, "/websockify?&&token=bob&", 0, NULL, OK, "bob"},
    {Q, "/websockify?tokens=bob", 0, NULL, NONE, NULL},
    {Q, "/websockify?Token=bob", 0, NULL, NONE, NULL},
    {Q, "/websockify?xtoken=bob", 0, NULL, NONE, NULL},
    {Q, "/websockify?to%6Ben=bob", 0, NULL, OK, "bob"}, /* the name is decoded too */
    {Q, "/websockify?token=a+b", 0, NULL, OK, "a b"},
    {Q, "/websockify?token=a%2Bb", 0, NULL, OK, "a+b"},
    {Q, "/websockify?token=a%20b%3d%26c", 0, NULL, OK, "a b=&c"},
    {Q, "/websockify?token=a=b", 0, NULL, OK, "a=b"},
    {Q, "/websockify?token=%", 0, NULL, OK, "%"},
    {Q, "/websockify?token=%zz1", 0, NULL, OK, "%zz1"},
    {Q, "/websockify?token=%4", 0, NULL, OK, "%4"},
    {Q, "/websockify?token=%41%4", 0, NULL, OK, "A%4"},
    {Q, "/websockify?token=caf%C3%A9", 0, NULL, OK, "caf\xc3\xa9"},
    {Q, "/websockify?token=alice%0A%0A", 0, NULL, OK, "alice"}, /* rstrip('\n') */
    {Q, "/websockify?token=%0A", 0, NULL, NONE, NULL},
    {Q, "/websockify?token=%0Dalice", 0, NULL, OK, "\ralice"},
    {Q, "/websockify?token=alice#frag", 0, NULL, OK, "alice"},
    {Q, "/websockify#?token=alice", 0, NULL, NONE, NULL},
    {Q, "/a?b?token=alice", 0, NULL, NONE, NULL}, /* the field is "b?token" */
    {Q, "/a?b&?token=alice", 0, NULL, NONE, NULL},
    {Q, "/a?x=1;token=alice", 0, NULL, NONE, NULL}, /* ";" is no separator since 3.10 */
    {Q, "/vnc/bob?token=alice", 0, NULL, OK, "alice"},
    {Q, "/websockify?token=%00", 0, NULL, BAD, NULL},
    {Q, "/websockify?token=%C3", 0, NULL, BAD, NULL},    /* Python: U+FFFD */
    {Q, "/websockify?token=\xc3\xa9", 0, NULL, BAD, NULL}, /* Python: "Ã©" */
    {Q, "/websockify?token=%FF%FE", 0, NULL, BAD, NULL},
    /* path: the last segment after the prefix */
    {P, "/vnc/alice", 5, NULL, OK, "alice"},
    {P, "/vnc/alice?token=bob", 5, NULL, OK, "alice"},
    {P, "/vnc/alice#x", 5, NULL, OK, "alice"},
    {P, "/vnc/a/b", 5, NULL, OK, "b"},
    {P, "/vnc/", 5, NULL, NONE, NULL},
    {P, "/vnc", 5, NULL, NONE, NULL},
    {P, "/vnc/alice/", 5, NULL, NONE, NULL},
    {P, "/vnc/a%20b+c", 5, NULL, OK, "a b+c"},
    {P, "/vnc/a%2Fb", 5, NULL, OK, "a/b"},
    {P, "/vnc/caf%c3%a9", 5, NULL, OK, "caf\xc3\xa9"},
    {P, "/vnc/a%2", 5, NULL, BAD, NULL},
    {P, "/vnc/a%zz", 5, NULL, BAD, NULL},
    {P, "/vnc/a%00", 5, NULL, BAD, NULL},
    {P, "/vnc/%C3", 5, NULL, BAD, NULL},
    {P, "/alice", 1, NULL, OK, "alice"}, /* route "/*" */
    {P, "/", 1, NULL, NONE, NULL},
    /* host: without the port, as websockify's --host-token */
    {H, "/", 0, "alice.example.com", OK, "alice.example.com"},
    {H, "/", 0, "alice.example.com:8080", OK, "alice.example.com"},
    {H, "/", 0, "Alice:8080", OK, "Alice"},
    {H, "/", 0, "[::1]:8080", OK, "[::1]"},
    {H, "/", 0, "[::1]", OK, "[::1]"},
    {H, "/", 0, "", NONE, NULL},
    {H, "/", 0, ":80", NONE, NULL},
    {H, "/", 0, NULL, NONE, NULL},
    {H, "/?token=bob", 0, NULL, NONE, NULL},
    {H, "/", 0, "caf\xc3", BAD, NULL},
    /* host_label: the first label */
    {L, "/", 0, "alice.vnc.example.com:443", OK, "alice"},
    {L, "/", 0, "alice.vnc.example.com", OK, "alice"},
    {L, "/", 0, "alice:443", OK, "alice"},
    {L, "/", 0, "alice", OK, "alice"},
    {L, "/", 0, ".example.com", NONE, NULL},
    {L, "/", 0, "[::1]:443", NONE, NULL},
    {L, "/", 0, "127.0.0.1:80", OK, "127"},
    {L, "/", 0, NULL, NONE, NULL},
};

static const char *test_tokenreq_result_name(enum tokenreq_result r)
{
    return r == TOKENREQ_OK ? "OK" : r == TOKENREQ_NONE ? "NONE" : "BAD";
}

START_TEST(test_tokenreq_table)
{
    const struct tokenreq_case *c = &cases[_i];
    char out[TOKENREQ_TOKEN_MAX + 1];
    size_t len = 99;
    enum tokenreq_result r;

    memset(out, 'x', sizeof(out));
    r = tokenreq_get(c->from, c->target, c->prefix_len, c->host, out, &len);
    ck_assert_msg(r == c->want, "%s %s host %s: got %s, want %s", tokenreq_from_name(c->from),
                  c->target, c->host != NULL ? c->host : "(none)", test_tokenreq_result_name(r),
                  test_tokenreq_result_name(c->want));
    if (r != TOKENREQ_OK) {
        ck_assert_uint_eq(len, 0);
        ck_assert_str_eq(out, "");
        return;
    }
    ck_assert_str_eq(out, c->token);
    ck_assert_uint_eq(len, strlen(c->token));
}
END_TEST

/* A token of exactly TOKENREQ_TOKEN_MAX bytes fits, one more is BAD, wherever it is. */
START_TEST(test_tokenreq_length)
{
    static char target[3 * TOKENREQ_TOKEN_MAX + 64], host[TOKENREQ_TOKEN_MAX + 16];
    char out[TOKENREQ_TOKEN_MAX + 1];
    size_t len;

    for (size_t extra = 0; extra <= 1; extra++) {
        size_t n = TOKENREQ_TOKEN_MAX + extra;
        enum tokenreq_result want = extra == 0 ? TOKENREQ_OK : TOKENREQ_BAD;

        strcpy(target, "/websockify?token=");
        memset(target + strlen(target), 'a', n);
        target[18 + n] = '\0';
        ck_assert_int_eq(tokenreq_get(TOKENREQ_QUERY, target, 0, NULL, out, &len), want);
        /* the same length spelt with escapes: the decoded length counts */
        strcpy(target, "/websockify?token=");
        for (size_t i = 0; i < n; i++)
            strcat(target, "%61");
        ck_assert_int_eq(tokenreq_get(TOKENREQ_QUERY, target, 0, NULL, out, &len), want);
        if (want == TOKENREQ_OK)
            ck_assert_uint_eq(len, n);
        strcpy(target, "/vnc/");
        memset(target + 5, 'b', n);
        target[5 + n] = '\0';
        ck_assert_int_eq(tokenreq_get(TOKENREQ_PATH, target, 5, NULL, out, &len), want);
        memset(host, 'c', n);
        strcpy(host + n, ":80");
        ck_assert_int_eq(tokenreq_get(TOKENREQ_HOST, "/", 0, host, out, &len), want);
        ck_assert_int_eq(tokenreq_get(TOKENREQ_HOST_LABEL, "/", 0, host, out, &len), want);
    }
}
END_TEST

/* Every row's target and Host cut at every length, in exact-size heap copies: whatever
 * comes back is a terminated token of the promised shape. */
START_TEST(test_tokenreq_cuts)
{
    const struct tokenreq_case *c = &cases[_i];
    char out[TOKENREQ_TOKEN_MAX + 1];
    size_t len;

    for (size_t cut = 0; cut <= strlen(c->target); cut++) {
        char *t = malloc(cut + 1);
        char *h = c->host != NULL ? strndup(c->host, cut) : NULL;
        enum tokenreq_result r;

        ck_assert_ptr_nonnull(t);
        memcpy(t, c->target, cut);
        t[cut] = '\0';
        r = tokenreq_get(c->from, t, c->prefix_len, h, out, &len);
        if (r == TOKENREQ_OK) {
            ck_assert_uint_ge(len, 1);
            ck_assert_uint_le(len, TOKENREQ_TOKEN_MAX);
            ck_assert_uint_eq(strlen(out), len);
        } else {
            ck_assert_uint_eq(len, 0);
        }
        free(t);
        free(h);
    }
}
END_TEST

/* Logged targets: the query goes whole, the path after a path-token route's prefix too. */
START_TEST(test_tokenreq_redact)
{
    static const struct {
        const char *target;
        size_t prefix_len;
        const char *want;
    } rows[] = {
        {"/websockify?token=alice", 0, "/websockify?<redacted>"},
        {"/vnc.html?autoconnect=1&path=websockify%3Ftoken%3Dalice", 0, "/vnc.html?<redacted>"},
        {"/websockify", 0, "/websockify"},
        {"/websockify?", 0, "/websockify?<redacted>"},
        {"/a#token=x", 0, "/a?<redacted>"},
        {"/vnc/alice", 5, "/vnc/<redacted>"},
        {"/vnc/alice?x=1", 5, "/vnc/<redacted>?<redacted>"},
        {"/vnc/", 5, "/vnc/"},
        {"/vnc", 5, "/vnc"},
        {"/vnc?x", 5, "/vnc?<redacted>"},
    };
    char out[64];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t n = tokenreq_redact(rows[i].target, rows[i].prefix_len, out, sizeof(out));
        ck_assert_str_eq(out, rows[i].want);
        ck_assert_uint_eq(n, strlen(rows[i].want));
        /* cut short, as snprintf: the length it needed, a terminated prefix */
        ck_assert_uint_eq(tokenreq_redact(rows[i].target, rows[i].prefix_len, out, 4), n);
        ck_assert_uint_le(strlen(out), 3);
    }
}
END_TEST

START_TEST(test_tokenreq_names)
{
    ck_assert_str_eq(tokenreq_from_name(TOKENREQ_QUERY), "query");
    ck_assert_str_eq(tokenreq_from_name(TOKENREQ_PATH), "path");
    ck_assert_str_eq(tokenreq_from_name(TOKENREQ_HOST), "host");
    ck_assert_str_eq(tokenreq_from_name(TOKENREQ_HOST_LABEL), "host_label");
}
END_TEST

static Suite *test_tokenreq_suite(void)
{
    Suite *s = suite_create("tokenreq");
    TCase *tc = tcase_create("tokenreq");
    int n = (int)(sizeof(cases) / sizeof(cases[0]));

    tcase_add_loop_test(tc, test_tokenreq_table, 0, n);
    tcase_add_test(tc, test_tokenreq_length);
    tcase_add_loop_test(tc, test_tokenreq_cuts, 0, n);
    tcase_add_test(tc, test_tokenreq_redact);
    tcase_add_test(tc, test_tokenreq_names);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_tokenreq_suite)
