/*
 * test_logesc.c - unit tests for logesc.c: a table of inputs (quotes, backslashes, every
 * kind of control character, valid and invalid UTF-8 of each length) with the JSON body,
 * the text escapes with and without quotes, and the text value each must give; every
 * output cut at every capacity (a prefix at a character boundary, as long as fits); and a
 * seeded random search whose outputs are decoded again: JSON always valid UTF-8 that
 * decodes to the input where the input was valid UTF-8, text always lossless.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "logesc.h"
#include "utf8.h"

#define S(x) x, sizeof(x) - 1

struct esc_case {
    const char *in;
    size_t len;
    const char *json;   /* logesc_json */
    const char *text;   /* logesc_text, no flags */
    const char *quoted; /* logesc_text with LOGESC_QUOTES */
    const char *value;  /* logesc_text_value */
};

static const struct esc_case esc_cases[] = {
    {S("abc"), "abc", "abc", "abc", "abc"},
    {S(""), "", "", "", "\"\""},
    {S("a b"), "a b", "a b", "a b", "\"a b\""},
    {S("/x?a=b"), "/x?a=b", "/x?a=b", "/x?a=b", "\"/x?a=b\""},
    {S("x\" level=\"error"), "x\\\" level=\\\"error", "x\" level=\"error",
     "x\\\" level=\\\"error", "\"x\\\" level=\\\"error\""},
    {S("a\\b"), "a\\\\b", "a\\b", "a\\\\b", "\"a\\\\b\""},
    {S("\n\r\t"), "\\n\\r\\t", "\\n\\r\\t", "\\n\\r\\t", "\"\\n\\r\\t\""},
    {S("a\nb=c d"), "a\\nb=c d", "a\\nb=c d", "a\\nb=c d", "\"a\\nb=c d\""},
    {S("\x01\x1f\x7f\x0c"), "\\u0001\\u001f\\u007f\\u000c", "\\x01\\x1f\\x7f\\x0c",
     "\\x01\\x1f\\x7f\\x0c", "\"\\x01\\x1f\\x7f\\x0c\""},
    {S("\0z"), "\\u0000z", "\\x00z", "\\x00z", "\"\\x00z\""},
    {S("caf\xc3\xa9"), "caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9", "\"caf\xc3\xa9\""},
    {S("\xc2\xa0"), "\xc2\xa0", "\xc2\xa0", "\xc2\xa0", "\"\xc2\xa0\""}, /* NBSP: quoted */
    {S("\xc2\x85\xc2\x9b"), "\\u0085\\u009b", "\\xc2\\x85\\xc2\\x9b", "\\xc2\\x85\\xc2\\x9b",
     "\"\\xc2\\x85\\xc2\\x9b\""}, /* C1: NEL, CSI */
    {S("\xe2\x80\xa8\xe2\x80\xa9"), "\\u2028\\u2029", "\\xe2\\x80\\xa8\\xe2\\x80\\xa9",
     "\\xe2\\x80\\xa8\\xe2\\x80\\xa9", "\"\\xe2\\x80\\xa8\\xe2\\x80\\xa9\""},
    {S("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80",
     "\"\xf0\x9f\x98\x80\""},
    {S("\xef\xbf\xbd"), "\xef\xbf\xbd", "\xef\xbf\xbd", "\xef\xbf\xbd", "\"\xef\xbf\xbd\""},
    {S("a\xff" "b"), "a\\ufffdb", "a\\xffb", "a\\xffb", "\"a\\xffb\""},
    {S("\x80"), "\\ufffd", "\\x80", "\\x80", "\"\\x80\""},
    {S("\xc3"), "\\ufffd", "\\xc3", "\\xc3", "\"\\xc3\""},            /* cut short */
    {S("\xc3" "A"), "\\ufffdA", "\\xc3A", "\\xc3A", "\"\\xc3A\""},     /* missing tail */
    {S("\xc0\xaf"), "\\ufffd\\ufffd", "\\xc0\\xaf", "\\xc0\\xaf", "\"\\xc0\\xaf\""}, /* overlong */
    {S("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd", "\\xe0\\x80\\xaf", "\\xe0\\x80\\xaf",
     "\"\\xe0\\x80\\xaf\""},
    {S("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd", "\\xed\\xa0\\x80", "\\xed\\xa0\\x80",
     "\"\\xed\\xa0\\x80\""}, /* surrogate */
    {S("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd", "\\xf4\\x90\\x80\\x80",
     "\\xf4\\x90\\x80\\x80", "\"\\xf4\\x90\\x80\\x80\""}, /* above U+10FFFF */
    {S("\xf0\x9f\x98"), "\\ufffd\\ufffd\\ufffd", "\\xf0\\x9f\\x98", "\\xf0\\x9f\\x98",
     "\"\\xf0\\x9f\\x98\""},
    {S("\xf5\xfe\xff"), "\\ufffd\\ufffd\\ufffd", "\\xf5\\xfe\\xff", "\\xf5\\xfe\\xff",
     "\"\\xf5\\xfe\\xff\""},
};

#define N_CASES (sizeof(esc_cases) / sizeof(esc_cases[0]))

enum esc_mode { MODE_JSON = 0, MODE_TEXT, MODE_QUOTED };

static size_t test_logesc_run(enum esc_mode m, char *out, size_t cap, const char *in, size_t len,
                              size_t *used)
{
    if (m == MODE_JSON)
        return logesc_json(out, cap, in, len, used);
    return logesc_text(out, cap, in, len, m == MODE_QUOTED ? LOGESC_QUOTES : 0, used);
}

START_TEST(test_logesc_table)
{
    const struct esc_case *c = &esc_cases[_i];
    const char *want[] = {c->json, c->text, c->quoted};
    char out[512];
    size_t n, used;

    for (int m = MODE_JSON; m <= MODE_QUOTED; m++) {
        n = test_logesc_run(m, out, sizeof(out), c->in, c->len, &used);
        ck_assert_msg(n == strlen(want[m]) && memcmp(out, want[m], n) == 0,
                      "case %d mode %d: got \"%.*s\", want \"%s\"", _i, m, (int)n, out, want[m]);
        ck_assert_uint_eq(used, c->len);
    }
    n = logesc_text_value(out, sizeof(out), c->in, c->len);
    ck_assert_msg(n == strlen(c->value) && memcmp(out, c->value, n) == 0,
                  "case %d value: got \"%.*s\", want \"%s\"", _i, (int)n, out, c->value);
    ck_assert_int_eq(logesc_text_is_bare(c->in, c->len), c->value[0] != '"');
}
END_TEST

/* Every capacity: what is written is the escape of the bytes used, and the next
 * character's escape would not have fit. */
START_TEST(test_logesc_cut)
{
    const struct esc_case *c = &esc_cases[_i];
    char full[512], out[512], rest[512], again[512];

    for (int m = MODE_JSON; m <= MODE_QUOTED; m++) {
        size_t full_n = test_logesc_run(m, full, sizeof(full), c->in, c->len, NULL);

        for (size_t cap = 0; cap <= full_n + 1; cap++) {
            size_t used, used2, n = test_logesc_run(m, out, cap, c->in, c->len, &used);

            ck_assert_uint_le(n, cap);
            ck_assert_uint_le(used, c->len);
            ck_assert_uint_eq(test_logesc_run(m, again, sizeof(again), c->in, used, NULL), n);
            ck_assert_mem_eq(again, out, n);
            ck_assert_mem_eq(full, out, n);
            if (used < c->len) {
                ck_assert_uint_eq(
                    test_logesc_run(m, rest, cap - n, c->in + used, c->len - used, &used2), 0);
                ck_assert_uint_eq(used2, 0);
            } else {
                ck_assert_uint_eq(n, full_n);
            }
        }
    }
    for (size_t cap = 0; cap < 40; cap++) {
        size_t n = logesc_text_value(out, cap, c->in, c->len);

        ck_assert_uint_le(n, cap);
        if (cap < 2) {
            ck_assert_uint_eq(n, 0);
            continue;
        }
        ck_assert_uint_ge(n, 1);
        if (out[0] == '"') {
            ck_assert_uint_ge(n, 2);
            ck_assert_int_eq(out[n - 1], '"');
        }
    }
}
END_TEST

/* Decodes the body of a JSON string (RFC 8259 §7) at <in> into <out>; returns its length,
 * or -1 if it is not one: a raw '"' or control byte, a bad escape or a surrogate. */
static long test_logesc_json_decode(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char ch = (unsigned char)in[i];
        unsigned cp = 0;

        if (ch == '"' || ch < 0x20)
            return -1;
        if (ch != '\\') {
            out[o++] = (char)ch;
            i++;
            continue;
        }
        if (i + 1 >= len)
            return -1;
        switch (in[i + 1]) {
        case '"': out[o++] = '"'; i += 2; continue;
        case '\\': out[o++] = '\\'; i += 2; continue;
        case '/': out[o++] = '/'; i += 2; continue;
        case 'b': out[o++] = '\b'; i += 2; continue;
        case 'f': out[o++] = '\f'; i += 2; continue;
        case 'n': out[o++] = '\n'; i += 2; continue;
        case 'r': out[o++] = '\r'; i += 2; continue;
        case 't': out[o++] = '\t'; i += 2; continue;
        case 'u': break;
        default: return -1;
        }
        if (i + 6 > len)
            return -1;
        for (int d = 2; d < 6; d++) {
            char h = in[i + d];
            cp = cp * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0'
                                      : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                      : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 99);
            if (cp > 0xFFFF)
                return -1;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return -1; /* logesc never writes surrogate escapes */
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xE0 | cp >> 12);
            out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
        i += 6;
    }
    return (long)o;
}

/* Decodes the escapes of a quoted text value (\n \r \t \xHH \" \\); -1 on a raw control
 * byte, a raw '"' or a stray backslash. */
static long test_logesc_text_decode(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char ch = (unsigned char)in[i];

        if (ch < 0x20 || ch == 0x7f || ch == '"')
            return -1;
        if (ch != '\\') {
            out[o++] = (char)ch;
            i++;
            continue;
        }
        if (i + 1 >= len)
            return -1;
        if (in[i + 1] == 'x') {
            unsigned v;
            char hex[3] = {0};

            if (i + 4 > len)
                return -1;
            memcpy(hex, in + i + 2, 2);
            v = (unsigned)strtoul(hex, NULL, 16);
            out[o++] = (char)v;
            i += 4;
            continue;
        }
        switch (in[i + 1]) {
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        default: return -1;
        }
        i += 2;
    }
    return (long)o;
}

/* Inputs drawn from the bytes that matter: ASCII, quotes, backslash, controls, leads and
 * tails of every length, and a few whole sequences. */
static size_t test_logesc_random_input(unsigned *seed, char *buf, size_t cap)
{
    static const unsigned char pool[] = {'a', 'Z', ' ', '=', '"', '\\', 'x', 'n', '\n', '\r',
                                         '\t', 0x00, 0x01, 0x1b, 0x7f, 0x80, 0x85, 0x9b, 0xa0,
                                         0xa8, 0xa9, 0xbf, 0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2,
                                         0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
    size_t n = (size_t)rand_r(seed) % cap;

    for (size_t i = 0; i < n; i++)
        buf[i] = (char)pool[(size_t)rand_r(seed) % sizeof(pool)];
    return n;
}

START_TEST(test_logesc_random)
{
    unsigned seed = 12;
    char in[48], out[512], dec[512];

    for (int iter = 0; iter < 50000; iter++) {
        size_t len = test_logesc_random_input(&seed, in, sizeof(in));
        size_t used, n;
        long d;

        n = logesc_json(out, sizeof(out), in, len, &used);
        ck_assert_uint_eq(used, len);
        ck_assert(utf8_is_valid((const uint8_t *)out, n));
        d = test_logesc_json_decode(out, n, dec);
        ck_assert_msg(d >= 0, "json \"%.*s\" does not decode", (int)n, out);
        if (utf8_is_valid((const uint8_t *)in, len))
            ck_assert(d == (long)len && memcmp(dec, in, len) == 0);

        for (int quoted = 0; quoted <= 1; quoted++) {
            n = logesc_text(out, sizeof(out), in, len, quoted ? LOGESC_QUOTES : 0, &used);
            ck_assert_uint_eq(used, len);
            ck_assert(utf8_is_valid((const uint8_t *)out, n));
            ck_assert(memchr(out, '\n', n) == NULL);
            if (quoted) {
                d = test_logesc_text_decode(out, n, dec);
                ck_assert_msg(d == (long)len && memcmp(dec, in, len) == 0,
                              "text \"%.*s\" does not give its input back", (int)n, out);
            } else {
                for (size_t i = 0; i < n; i++)
                    ck_assert((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
            }
        }

        n = logesc_text_value(out, sizeof(out), in, len);
        ck_assert(utf8_is_valid((const uint8_t *)out, n));
        if (out[0] == '"') {
            d = test_logesc_text_decode(out + 1, n - 2, dec);
            ck_assert(out[n - 1] == '"' && d == (long)len && memcmp(dec, in, len) == 0);
        } else {
            ck_assert(n == len && memcmp(out, in, len) == 0 && logesc_text_is_bare(in, len));
        }
    }
}
END_TEST

static Suite *test_logesc_suite(void)
{
    Suite *s = suite_create("logesc");
    TCase *tc = tcase_create("logesc");

    tcase_add_loop_test(tc, test_logesc_table, 0, N_CASES);
    tcase_add_loop_test(tc, test_logesc_cut, 0, N_CASES);
    tcase_add_test(tc, test_logesc_random);
    /* 50,000 inputs: a fraction of a second alone, but many times that under ASan on a busy
     * machine, where Check's 4 s default cut it short. It only guards against a hang. */
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_logesc_suite)
