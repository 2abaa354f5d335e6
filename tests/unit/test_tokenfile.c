/*
 * test_tokenfile.c - proves that tokenfile.c reads websockify's TokenFile syntax as
 * websockify does (separator, whitespace, comments, line ends, IPv6 and unix_socket
 * targets, the last duplicate winning), reports each malformed line as "NAME:LINE: ..."
 * without quoting its token and keeps the other lines, finds every token of a large
 * table, writes a table back to text that reads back the same, stops at its named
 * limits, and gives a keyed log hash that reveals nothing of the token.
 */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "siphash.h"
#include "tokenfile.h"

static const uint8_t test_key[SIPHASH_KEY_BYTES] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                    8, 9, 10, 11, 12, 13, 14, 15};

/* Error lines collected by test_tokenfile_collect(), joined by "\n". */
struct test_errors {
    char text[16384];
    size_t len;
    int count;
};

static void test_tokenfile_collect(void *arg, const char *message)
{
    struct test_errors *e = arg;
    int n;

    ck_assert_uint_lt(strlen(message), TOKENFILE_ERROR_MAX);
    ck_assert_ptr_null(strchr(message, '\n'));
    n = snprintf(e->text + e->len, sizeof(e->text) - e->len, "%s%s", e->count ? "\n" : "", message);
    ck_assert_int_gt(n, 0);
    e->len += (size_t)n;
    ck_assert_uint_lt(e->len, sizeof(e->text));
    e->count++;
}

/* Writes <t> as "TOKEN -> TARGET" lines in entry order into <out>, checking that each
 * token's lookup gives its own entry. */
static void test_tokenfile_dump(const struct tokenfile *t, char *out, size_t cap)
{
    size_t at = 0, i, len;
    const char *token;
    char target[512];

    out[0] = '\0';
    for (i = 0; i < tokenfile_count(t); i++) {
        const struct tokenfile_target *tgt = tokenfile_entry(t, i, &token, &len);
        ck_assert_uint_eq(strlen(token), len);
        ck_assert_ptr_eq(tokenfile_lookup(t, token, len), tgt);
        ck_assert_uint_lt(tokenfile_target_format(tgt, target, sizeof(target)), sizeof(target));
        at += (size_t)snprintf(out + at, cap - at, "%s -> %s\n", token, target);
        ck_assert_uint_lt(at, cap);
    }
}

#define L107                                                                                       \
    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaa"

struct tf_case {
    const char *name;
    const char *text;   /* the file */
    size_t len;         /* 0: strlen(text) */
    const char *table;  /* "TOKEN -> TARGET\n" per token, in entry order */
    const char *errors; /* the error lines of file "t", joined by "\n" */
};

static const struct tf_case test_cases[] = {
    /* the forms websockify documents */
    {"one line", "alice: localhost:5901\n", 0, "alice -> localhost:5901\n", ""},
    {"no final line end", "alice: localhost:5901", 0, "alice -> localhost:5901\n", ""},
    {"two lines", "alice: 10.0.0.1:5901\nbob: 10.0.0.2:5902\n", 0,
     "alice -> 10.0.0.1:5901\nbob -> 10.0.0.2:5902\n", ""},
    {"unix socket", "carol: unix_socket:/run/vnc/carol.sock\n", 0,
     "carol -> unix:/run/vnc/carol.sock\n", ""},
    {"relative unix socket", "c: unix_socket:vnc.sock\n", 0, "c -> unix:vnc.sock\n", ""},
    {"unix socket path with a colon", "c: unix_socket:/tmp/a:b\n", 0, "c -> unix:/tmp/a:b\n", ""},
    {"unix socket path with a space", "c: unix_socket:/tmp/my sock\n", 0,
     "c -> unix:/tmp/my sock\n", ""},
    {"unix socket path of 107 bytes", "c: unix_socket:" L107 "\n", 0, "c -> unix:" L107 "\n", ""},
    {"comment", "# tokens\nalice: h:1\n", 0, "alice -> h:1\n", ""},
    {"commented-out token", "#alice: h:1\nbob: h:2\n", 0, "bob -> h:2\n", ""},
    {"comment with a colon and space", "# a: b: c\n", 0, "", ""},

    /* line ends: Python's universal newlines */
    {"CRLF", "alice: h:1\r\nbob: h:2\r\n", 0, "alice -> h:1\nbob -> h:2\n", ""},
    {"lone CR", "alice: h:1\rbob: h:2", 0, "alice -> h:1\nbob -> h:2\n", ""},
    {"LF CR is two line ends", "x\n\rbad\nb: h:2\n", 0, "b -> h:2\n",
     "t:1: no \": \" between token and target\nt:3: no \": \" between token and target"},
    {"CRLF line numbers", "a: h:1\r\n\r\nbad\r\n", 0, "a -> h:1\n",
     "t:3: no \": \" between token and target"},

    /* whitespace */
    {"blank lines skipped", "\n\n  \t\nalice: h:1\n\n", 0, "alice -> h:1\n", ""},
    {"Unicode blank line skipped", "\xc2\xa0\xe3\x80\x80\nalice: h:1\n", 0, "alice -> h:1\n", ""},
    {"tab separator", "alice:\th:1\n", 0, "alice -> h:1\n", ""},
    {"spaces after the separator", "alice:     h:1   \n", 0, "alice -> h:1\n", ""},
    {"vertical tab and form feed", "alice:\v\fh:1\f\n", 0, "alice -> h:1\n", ""},
    {"0x1c..0x1f are whitespace", "alice:\x1ch:1\x1f\n", 0, "alice -> h:1\n", ""},
    {"no-break space separator", "alice:\xc2\xa0h:1\n", 0, "alice -> h:1\n", ""},
    {"ideographic space stripped", "alice: h:1\xe3\x80\x80\n", 0, "alice -> h:1\n", ""},
    {"U+2028 and U+205F stripped", "a: \xe2\x80\xa8h:1\xe2\x81\x9f\n", 0, "a -> h:1\n", ""},
    {"zero-width space is not whitespace", "a:\xe2\x80\x8bh:1\n", 0, "",
     "t:1: no \": \" between token and target"},
    {"spaces kept in the token", "  alice : h:1\n", 0, "  alice  -> h:1\n", ""},
    {"indented comment is a line", " # x\n", 0, "", "t:1: no \": \" between token and target"},
    {"token with a colon", "a:b: h:1\n", 0, "a:b -> h:1\n", ""},
    {"token ending in a colon", "a:: h:1\n", 0, "a: -> h:1\n", ""},
    {"token with a hash", "a#b: h:1\n", 0, "a#b -> h:1\n", ""},
    {"UTF-8 token", "caf\xc3\xa9: h:1\n", 0, "caf\xc3\xa9 -> h:1\n", ""},
    {"byte order mark dropped",
     "\xef\xbb\xbf"
     "alice: h:1\n",
     0, "alice -> h:1\n", ""},
    {"byte order mark later kept",
     "a: h:1\n\xef\xbb\xbf"
     "b: h:2\n",
     0,
     "a -> h:1\n\xef\xbb\xbf"
     "b -> h:2\n",
     ""},

    /* hosts and ports */
    {"IPv6 bare", "a: ::1:5900\n", 0, "a -> [::1]:5900\n", ""},
    {"IPv6 bracketed", "a: [::1]:5900\n", 0, "a -> [::1]:5900\n", ""},
    {"IPv6 long", "a: 2001:db8::1:443\n", 0, "a -> [2001:db8::1]:443\n", ""},
    {"IPv4 mapped", "a: ::ffff:10.0.0.1:80\n", 0, "a -> [::ffff:10.0.0.1]:80\n", ""},
    {"empty host is loopback", "a: :5900\n", 0, "a -> 127.0.0.1:5900\n", ""},
    {"host named echo", "a: echo:7\n", 0, "a -> echo:7\n", ""},
    {"leading zeros in the port", "a: h:05900\n", 0, "a -> h:5900\n", ""},
    {"port 65535", "a: h:65535\n", 0, "a -> h:65535\n", ""},
    /* found by fuzz_tokenfile: getaddrinfo() takes any number of leading zeros */
    {"many leading zeros", "a: h:0000000000000000000000000000000000005900\n", 0, "a -> h:5900\n",
     ""},

    /* duplicates: the last one wins, in the first one's place */
    {"duplicate", "a: h:1\nb: h:2\na: h:3\n", 0, "a -> h:3\nb -> h:2\n", ""},
    {"duplicate unix then tcp", "a: unix_socket:/s\na: h:3\n", 0, "a -> h:3\n", ""},
    {"bad duplicate keeps the first", "a: h:1\na: h:0\n", 0, "a -> h:1\n",
     "t:2: target: port must be 1..65535"},

    /* malformed lines: reported, skipped, the rest stays */
    {"no separator", "alice localhost:5901\nb: h:2\n", 0, "b -> h:2\n",
     "t:1: no \": \" between token and target"},
    {"no space after the colon", "alice:localhost:5901\n", 0, "",
     "t:1: no \": \" between token and target"},
    {"two separators", "a: b: h:1\n", 0, "", "t:1: more than one \": \" (a colon then a space)"},
    {"unix socket with a space", "a: unix_socket: /s\n", 0, "",
     "t:1: more than one \": \" (a colon then a space)"},
    {"empty token", ": h:1\n", 0, "", "t:1: empty token"},
    {"colon ending the line", "alice:\n", 0, "", "t:1: no target after \": \""},
    {"colon ending the text", "alice:", 0, "", "t:1: no target after \": \""},
    {"only spaces after the separator", "alice:   \n", 0, "", "t:1: no target after \": \""},
    {"no port", "a: localhost\n", 0, "", "t:1: target has no \":port\""},
    {"empty port", "a: h:\n", 0, "", "t:1: more than one \": \" (a colon then a space)"},
    {"port 0", "a: h:0\n", 0, "", "t:1: target: port must be 1..65535"},
    {"port 65536", "a: h:65536\n", 0, "", "t:1: target: port must be 1..65535"},
    {"service name", "a: h:vnc\n", 0, "", "t:1: target: port must be a number, 1..65535"},
    {"signed port", "a: h:+80\n", 0, "", "t:1: target: port must be a number, 1..65535"},
    {"a comment after the target", "a: h:1 # x\n", 0, "",
     "t:1: target: port must be a number, 1..65535"},
    {"space in the host", "a: my host:1\n", 0, "", "t:1: target: space in host name"},
    {"underscore in the host", "a: my_host:1\n", 0, "",
     "t:1: target: bad character '_' in host name"},
    {"bad IPv6", "a: [::1:5900\n", 0, "", "t:1: target: missing \"]\" after IPv6 address"},
    {"bad bare IPv6", "a: 1:2:x:80\n", 0, "", "t:1: target: bad IPv6 address"},
    {"IPv6 scope", "a: fe80::1%eth0:80\n", 0, "", "t:1: target: bad IPv6 address"},
    {"bad IPv4", "a: 1.2.3:80\n", 0, "", "t:1: target: bad IPv4 address"},
    {"tls scheme", "a: tls://h:1\n", 0, "", "t:1: target: a scheme is not a host name"},
    {"wsbridge's unix form", "a: unix:/s\n", 0, "",
     "t:1: target: a Unix socket is written unix_socket:PATH here"},
    {"unix socket without a path", "a: unix_socket:\n", 0, "",
     "t:1: more than one \": \" (a colon then a space)"},
    {"unix socket path of 108 bytes", "c: unix_socket:" L107 "a\n", 0, "",
     "t:1: unix_socket: path longer than 107 bytes"},
    {"NUL in a line", "a: h:1\nb\0: h:2\nc: h:3\n", 22, "a -> h:1\nc -> h:3\n",
     "t:2: NUL byte in the line"},
    {"not UTF-8", "a: h:1\n\xff: h:2\n", 0, "a -> h:1\n", "t:2: not UTF-8"},
    {"overlong UTF-8", "\xc0\xba: h:2\n", 0, "", "t:1: not UTF-8"},
    /* found by fuzz_tokenfile: E2 80 then a byte below 0x80 was taken for U+2000..U+200A */
    {"cut U+2000 is not blank",
     "\xe2\x80"
     "c\n",
     0, "", "t:1: not UTF-8"},
    {"cut U+2000 is not a separator", "a:\xe2\x80 h:1\n", 0, "", "t:1: not UTF-8"},
    {"several errors", "# c\nbad\n\na: h:1\nb: h:0\n: h:1\nc: h:3", 0, "a -> h:1\nc -> h:3\n",
     "t:2: no \": \" between token and target\nt:5: target: port must be 1..65535\n"
     "t:6: empty token"},
    {"empty file", "", 0, "", ""},
};

#define TEST_N_CASES (sizeof(test_cases) / sizeof(test_cases[0]))

START_TEST(test_tokenfile_parse_cases)
{
    const struct tf_case *c = &test_cases[_i];
    size_t len = c->len != 0 ? c->len : strlen(c->text);
    struct tokenfile *t = tokenfile_new(test_key), *again;
    static char dump[8192], dump2[8192];
    struct test_errors errs = {0};
    char *text;
    size_t need;
    int rc;

    ck_assert_ptr_nonnull(t);
    rc = tokenfile_parse(t, "t", c->text, len, test_tokenfile_collect, &errs);
    ck_assert_int_eq(rc, errs.count);
    ck_assert_msg(strcmp(errs.text, c->errors) == 0, "%s: errors\n%s\nwant\n%s", c->name, errs.text,
                  c->errors);
    test_tokenfile_dump(t, dump, sizeof(dump));
    ck_assert_msg(strcmp(dump, c->table) == 0, "%s: table\n%s\nwant\n%s", c->name, dump, c->table);

    /* written back, the text reads back to the same table, without errors */
    need = tokenfile_write(t, NULL, 0);
    text = malloc(need + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(tokenfile_write(t, text, need + 1), need);
    ck_assert_uint_eq(strlen(text), need);
    again = tokenfile_new(test_key);
    ck_assert_ptr_nonnull(again);
    ck_assert_int_eq(tokenfile_parse(again, "again", text, need, NULL, NULL), 0);
    test_tokenfile_dump(again, dump2, sizeof(dump2));
    ck_assert_msg(strcmp(dump, dump2) == 0, "%s: read back\n%s\nwant\n%s", c->name, dump2, dump);
    free(text);
    tokenfile_free(again);

    /* the same without a callback: the same count */
    again = tokenfile_new(test_key);
    ck_assert_ptr_nonnull(again);
    ck_assert_int_eq(tokenfile_parse(again, "t", c->text, len, NULL, NULL), errs.count);
    tokenfile_free(again);
    tokenfile_free(t);
}
END_TEST

/* No error message quotes the token of its line, nor any part of it. */
START_TEST(test_tokenfile_errors_keep_tokens_secret)
{
    static const char *const lines[] = {
        "s3cr3t-token localhost:5901",
        "s3cr3t-token:localhost:5901",
        "s3cr3t-token: h:0",
        "s3cr3t-token: a: h:1",
        "s3cr3t-token: h",
        "s3cr3t-token: bad host:1",
        "s3cr3t-token: unix_socket:",
        "s3cr3t-token:",
        "s3cr3t-token\xff: h:1",
    };
    char text[256];

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct tokenfile *t = tokenfile_new(test_key);
        struct test_errors errs = {0};
        snprintf(text, sizeof(text), "%s\n", lines[i]);
        ck_assert_int_eq(tokenfile_parse(t, "f", text, strlen(text), test_tokenfile_collect, &errs), 1);
        ck_assert_msg(strstr(errs.text, "s3cr") == NULL, "%s", errs.text);
        ck_assert_msg(strncmp(errs.text, "f:1: ", 5) == 0, "%s", errs.text);
        tokenfile_free(t);
    }
}
END_TEST

/* A long file name is cut so that the reason still fits. */
START_TEST(test_tokenfile_long_name)
{
    struct tokenfile *t = tokenfile_new(test_key);
    struct test_errors errs = {0};
    char name[2048];

    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_int_eq(tokenfile_parse(t, name, "\n\nbad\n", 6, test_tokenfile_collect, &errs), 1);
    ck_assert_uint_lt(strlen(errs.text), TOKENFILE_ERROR_MAX);
    ck_assert_msg(strstr(errs.text, ":3: no \": \" between token and target") != NULL, "%s",
                  errs.text);
    tokenfile_free(t);
}
END_TEST

/* Several files: later files win, through one table or through a merge. */
START_TEST(test_tokenfile_files_and_merge)
{
    static const char a[] = "alice: h:1\nbob: h:2\n", b[] = "bob: unix_socket:/b\ncarol: h:3\n";
    static const uint8_t other_key[SIPHASH_KEY_BYTES] = {9};
    struct tokenfile *one = tokenfile_new(test_key), *ta = tokenfile_new(test_key),
                     *tb = tokenfile_new(other_key);
    char d1[512], d2[512];

    ck_assert_int_eq(tokenfile_parse(one, "a", a, strlen(a), NULL, NULL), 0);
    ck_assert_int_eq(tokenfile_parse(one, "b", b, strlen(b), NULL, NULL), 0);
    test_tokenfile_dump(one, d1, sizeof(d1));
    ck_assert_str_eq(d1, "alice -> h:1\nbob -> unix:/b\ncarol -> h:3\n");

    /* each file its own table (another key, even), then merged in order */
    ck_assert_int_eq(tokenfile_parse(ta, "a", a, strlen(a), NULL, NULL), 0);
    ck_assert_int_eq(tokenfile_parse(tb, "b", b, strlen(b), NULL, NULL), 0);
    ck_assert_int_eq(tokenfile_merge(ta, tb), 0);
    test_tokenfile_dump(ta, d2, sizeof(d2));
    ck_assert_str_eq(d2, d1);
    tokenfile_free(one);
    tokenfile_free(ta);
    tokenfile_free(tb);
}
END_TEST

START_TEST(test_tokenfile_lookup)
{
    static const char text[] = "alice: h:1\nAlice: h:2\nalice2: h:3\n";
    struct tokenfile *t = tokenfile_new(test_key);
    const struct tokenfile_target *tgt;

    ck_assert_int_eq(tokenfile_parse(t, "t", text, strlen(text), NULL, NULL), 0);
    tgt = tokenfile_lookup(t, "alice", 5);
    ck_assert_ptr_nonnull(tgt);
    ck_assert_int_eq(tgt->kind, TOKENFILE_TCP);
    ck_assert_str_eq(tgt->host, "h");
    ck_assert_uint_eq(tgt->port, 1);
    ck_assert_ptr_null(tgt->path);
    ck_assert_uint_eq(tokenfile_lookup(t, "Alice", 5)->port, 2); /* case matters */
    ck_assert_uint_eq(tokenfile_lookup(t, "alice2", 6)->port, 3);
    ck_assert_uint_eq(tokenfile_lookup(t, "alice2", 5)->port, 1); /* only <len> bytes count */
    ck_assert_ptr_null(tokenfile_lookup(t, "alic", 4));
    ck_assert_ptr_null(tokenfile_lookup(t, "ALICE", 5));
    ck_assert_ptr_null(tokenfile_lookup(t, "alice\0", 6));
    ck_assert_ptr_null(tokenfile_lookup(t, "", 0));
    ck_assert_ptr_null(tokenfile_lookup(t, " alice", 6));
    ck_assert_uint_eq(tokenfile_count(t), 3);
    tokenfile_free(t);
}
END_TEST

/* 200 000 tokens: every one found, with its own target; none of a similar set is. */
START_TEST(test_tokenfile_large_table)
{
    const size_t n = 200000;
    size_t cap = n * 40, at = 0, i;
    char *text = malloc(cap), token[32];
    struct tokenfile *t = tokenfile_new(test_key);
    const struct tokenfile_target *tgt;

    ck_assert_ptr_nonnull(text);
    for (i = 0; i < n; i++)
        at += (size_t)snprintf(text + at, cap - at, "tok-%zu: 10.%zu.%zu.1:%zu\n", i,
                               (i >> 8) & 255, i & 255, 1 + i % 65535);
    ck_assert_int_eq(tokenfile_parse(t, "big", text, at, NULL, NULL), 0);
    ck_assert_uint_eq(tokenfile_count(t), n);
    for (i = 0; i < n; i++) {
        int len = snprintf(token, sizeof(token), "tok-%zu", i);
        char host[32];
        tgt = tokenfile_lookup(t, token, (size_t)len);
        ck_assert_ptr_nonnull(tgt);
        snprintf(host, sizeof(host), "10.%zu.%zu.1", (i >> 8) & 255, i & 255);
        ck_assert_str_eq(tgt->host, host);
        ck_assert_uint_eq(tgt->port, 1 + i % 65535);
        len = snprintf(token, sizeof(token), "tok+%zu", i);
        ck_assert_ptr_null(tokenfile_lookup(t, token, (size_t)len));
    }
    free(text);
    tokenfile_free(t);
}
END_TEST

/* TOKENFILE_TOKEN_MAX and TOKENFILE_LINE_MAX: the longest pass, one byte more does not. */
START_TEST(test_tokenfile_length_limits)
{
    static char text[3 * TOKENFILE_LINE_MAX];
    struct tokenfile *t = tokenfile_new(test_key);
    struct test_errors errs = {0};
    size_t at = 0;

    memset(text + at, 'a', TOKENFILE_TOKEN_MAX);
    at += TOKENFILE_TOKEN_MAX;
    at += (size_t)sprintf(text + at, ": h:1\n");
    memset(text + at, 'b', TOKENFILE_TOKEN_MAX + 1);
    at += TOKENFILE_TOKEN_MAX + 1;
    at += (size_t)sprintf(text + at, ": h:2\n");
    /* a line of exactly TOKENFILE_LINE_MAX bytes: a short token, a long relative path */
    at += (size_t)sprintf(text + at, "c: h:3%*s\n", TOKENFILE_LINE_MAX - 6, "");
    at += (size_t)sprintf(text + at, "d: h:4%*s\n", TOKENFILE_LINE_MAX - 5, "");
    ck_assert_int_eq(tokenfile_parse(t, "t", text, at, test_tokenfile_collect, &errs), 2);
    ck_assert_str_eq(errs.text, "t:2: token longer than 512 bytes\n"
                                "t:4: line longer than 8192 bytes");
    ck_assert_uint_eq(tokenfile_count(t), 2);
    ck_assert_ptr_nonnull(tokenfile_lookup(t, text, TOKENFILE_TOKEN_MAX));
    ck_assert_ptr_null(
        tokenfile_lookup(t, text + TOKENFILE_TOKEN_MAX + 6, TOKENFILE_TOKEN_MAX + 1));
    ck_assert_uint_eq(tokenfile_lookup(t, "c", 1)->port, 3);
    tokenfile_free(t);
}
END_TEST

/* TOKENFILE_TEXT_MAX: a larger text is one error and adds nothing. */
START_TEST(test_tokenfile_text_limit)
{
    size_t len = TOKENFILE_TEXT_MAX + 1;
    char *text = calloc(1, len);
    struct tokenfile *t = tokenfile_new(test_key);
    struct test_errors errs = {0};

    ck_assert_ptr_nonnull(text);
    memcpy(text, "a: h:1\n", 7);
    ck_assert_int_eq(tokenfile_parse(t, "big", text, len, test_tokenfile_collect, &errs), 1);
    ck_assert_str_eq(errs.text, "big: larger than 64 MiB: not read");
    ck_assert_uint_eq(tokenfile_count(t), 0);
    /* one byte less is read (the NULs make one over-long line) */
    errs = (struct test_errors){0};
    ck_assert_int_eq(tokenfile_parse(t, "big", text, len - 1, test_tokenfile_collect, &errs), 1);
    ck_assert_str_eq(errs.text, "big:2: line longer than 8192 bytes");
    ck_assert_uint_eq(tokenfile_count(t), 1);
    free(text);
    tokenfile_free(t);
}
END_TEST

/* TOKENFILE_ENTRIES_MAX: the token after the last one that fits is an error and the rest
 * of that text is not read; replacing a known token still works in a later text. */
START_TEST(test_tokenfile_entries_limit)
{
    size_t n = TOKENFILE_ENTRIES_MAX, cap = (n + 2) * 16, at = 0, i;
    char *text = malloc(cap), expect[128];
    struct tokenfile *t = tokenfile_new(test_key);
    struct test_errors errs = {0};

    ck_assert_ptr_nonnull(text);
    for (i = 0; i < n + 2; i++)
        at += (size_t)snprintf(text + at, cap - at, "%zx: h:1\n", i);
    ck_assert_int_eq(tokenfile_parse(t, "t", text, at, test_tokenfile_collect, &errs), 1);
    snprintf(expect, sizeof(expect), "t:%zu: more than %d tokens: the rest is not read", n + 1,
             TOKENFILE_ENTRIES_MAX);
    ck_assert_str_eq(errs.text, expect);
    ck_assert_uint_eq(tokenfile_count(t), n);
    ck_assert_int_eq(tokenfile_parse(t, "u", "0: h:2\n", 7, NULL, NULL), 0);
    ck_assert_uint_eq(tokenfile_lookup(t, "0", 1)->port, 2);
    free(text);
    tokenfile_free(t);
}
END_TEST

START_TEST(test_tokenfile_target_format)
{
    static const struct {
        struct tokenfile_target tgt;
        const char *wsbridge;
    } rows[] = {
        {{TOKENFILE_TCP, "localhost", 5901, NULL}, "localhost:5901"},
        {{TOKENFILE_TCP, "::1", 5901, NULL}, "[::1]:5901"},
        {{TOKENFILE_UNIX, NULL, 0, "/run/a.sock"}, "unix:/run/a.sock"},
    };
    char out[64];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ck_assert_uint_eq(tokenfile_target_format(&rows[i].tgt, out, sizeof(out)),
                          strlen(rows[i].wsbridge));
        ck_assert_str_eq(out, rows[i].wsbridge);
        /* too little room: cut, NUL-terminated, the needed length still returned */
        ck_assert_uint_eq(tokenfile_target_format(&rows[i].tgt, out, 4), strlen(rows[i].wsbridge));
        ck_assert_uint_eq(strlen(out), 3);
    }
}
END_TEST

/* tokenfile_write() into every size of buffer: the prefix that fits, NUL-terminated. */
START_TEST(test_tokenfile_write_sizes)
{
    static const char text[] = "alice: h:1\nbob: unix_socket:/s\nc: ::1:80\n";
    struct tokenfile *t = tokenfile_new(test_key);
    char full[256], part[256];
    size_t need;

    ck_assert_int_eq(tokenfile_parse(t, "t", text, strlen(text), NULL, NULL), 0);
    need = tokenfile_write(t, full, sizeof(full));
    ck_assert_str_eq(full, "# written by wsbridge: token: target\n"
                           "alice: h:1\nbob: unix_socket:/s\nc: ::1:80\n");
    for (size_t cap = 1; cap <= need + 1; cap++) {
        memset(part, 'x', sizeof(part));
        ck_assert_uint_eq(tokenfile_write(t, part, cap), need);
        ck_assert_uint_eq(strlen(part), cap - 1);
        ck_assert_int_eq(memcmp(part, full, cap - 1), 0);
        ck_assert_int_eq(part[cap], 'x');
    }
    tokenfile_free(t);
}
END_TEST

START_TEST(test_tokenfile_log_hash)
{
    char a[TOKENFILE_LOG_HASH_LEN + 1], b[TOKENFILE_LOG_HASH_LEN + 1];
    static const uint8_t other_key[SIPHASH_KEY_BYTES] = {1};

    /* the reference vector for the empty message: output bytes 31 0e 0e dd 47 db 6f 72 */
    tokenfile_log_hash(test_key, "", 0, a);
    ck_assert_str_eq(a, "726fdb47");
    tokenfile_log_hash(test_key, "alice", 5, a);
    ck_assert_uint_eq(strlen(a), TOKENFILE_LOG_HASH_LEN);
    ck_assert_uint_eq(strspn(a, "0123456789abcdef"), TOKENFILE_LOG_HASH_LEN);
    tokenfile_log_hash(test_key, "alicf", 5, b);
    ck_assert_str_ne(a, b);
    tokenfile_log_hash(other_key, "alice", 5, b);
    ck_assert_str_ne(a, b);
    tokenfile_log_hash(test_key, "alice", 5, b);
    ck_assert_str_eq(a, b);
}
END_TEST

static Suite *test_tokenfile_suite(void)
{
    Suite *s = suite_create("tokenfile");
    TCase *tc = tcase_create("tokenfile");

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_tokenfile_parse_cases, 0, (int)TEST_N_CASES);
    tcase_add_test(tc, test_tokenfile_errors_keep_tokens_secret);
    tcase_add_test(tc, test_tokenfile_long_name);
    tcase_add_test(tc, test_tokenfile_files_and_merge);
    tcase_add_test(tc, test_tokenfile_lookup);
    tcase_add_test(tc, test_tokenfile_large_table);
    tcase_add_test(tc, test_tokenfile_length_limits);
    tcase_add_test(tc, test_tokenfile_text_limit);
    tcase_add_test(tc, test_tokenfile_entries_limit);
    tcase_add_test(tc, test_tokenfile_target_format);
    tcase_add_test(tc, test_tokenfile_write_sizes);
    tcase_add_test(tc, test_tokenfile_log_hash);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_tokenfile_suite)
