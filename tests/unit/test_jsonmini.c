/*
 * test_jsonmini.c - proves that jsonmini.c reads exactly RFC 8259 JSON: every valid form
 * reads back (written again compactly) as the same value, every invalid one is refused
 * with a reason at the right offset, duplicate keys (also when spelled with escapes) are
 * refused, every proper prefix of a document is refused, limits pass at their value and
 * fail one over, and the accessors decode strings and integers as the claims need.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "jsonenc.h"
#include "jsonmini.h"

#define TEST_TOKS 64

struct json_case {
    const char *name;
    const char *in;
    size_t len;
    const char *want; /* valid: the compact text; invalid: NULL */
    const char *why;  /* invalid: part of the reason */
};

#define J(s) .in = s, .len = sizeof(s) - 1

static const struct json_case test_cases[] = {
    /* valid */
    {"empty object", J("{}"), "{}", NULL},
    {"empty array", J("[ ]"), "[]", NULL},
    {"claims", J("{\"host\":\"10.0.0.5\",\"port\":5900,\"exp\":1700000000}"),
     "{\"host\":\"10.0.0.5\",\"port\":5900,\"exp\":1700000000}", NULL},
    {"whitespace everywhere", J(" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n"),
     "{\"a\":[1,2],\"b\":{}}", NULL},
    {"scalars at the top", J("\"x\""), "\"x\"", NULL},
    {"number at the top", J("-0"), "-0", NULL},
    {"literals", J("[true,false,null]"), "[true,false,null]", NULL},
    {"numbers", J("[0,-1,12.5,1e3,1E+3,1e-3,-0.0e0,123456789012345678901234567890]"),
     "[0,-1,12.5,1e3,1E+3,1e-3,-0.0e0,123456789012345678901234567890]", NULL},
    {"simple escapes", J("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""),
     "\"\\\" \\\\ / \\u0008 \\u000c \\u000a \\u000d \\u0009\"", NULL},
    {"unicode escapes", J("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\""),
     "\"A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", NULL},
    {"escaped NUL", J("\"a\\u0000b\""), "\"a\\u0000b\"", NULL},
    {"raw UTF-8", J("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", NULL},
    {"DEL is not a control character", J("\"\x7f\""), "\"\x7f\"", NULL},
    {"nested", J("{\"a\":{\"b\":[[],[{}],{\"c\":null}]}}"),
     "{\"a\":{\"b\":[[],[{}],{\"c\":null}]}}", NULL},
    {"keys that differ", J("{\"a\":1,\"A\":2,\"a \":3,\"\":4}"),
     "{\"a\":1,\"A\":2,\"a \":3,\"\":4}", NULL},
    {"same key in two objects", J("[{\"a\":1},{\"a\":2}]"), "[{\"a\":1},{\"a\":2}]", NULL},
    {"same key at two depths", J("{\"a\":{\"a\":1}}"), "{\"a\":{\"a\":1}}", NULL},

    /* invalid */
    {"empty", J(""), NULL, "end"},
    {"spaces only", J("  \n"), NULL, "end"},
    {"trailing comma in an array", J("[1,2,]"), NULL, "value"},
    {"trailing comma in an object", J("{\"a\":1,}"), NULL, "key"},
    {"leading comma", J("[,1]"), NULL, "value"},
    {"two commas", J("[1,,2]"), NULL, "value"},
    {"missing comma", J("[1 2]"), NULL, "expected"},
    {"missing colon", J("{\"a\" 1}"), NULL, ":"},
    {"unquoted key", J("{a:1}"), NULL, "key"},
    {"single quotes", J("['a']"), NULL, "value"},
    {"number key", J("{1:2}"), NULL, "key"},
    {"line comment", J("{} // c"), NULL, "after"},
    {"block comment", J("[/* c */1]"), NULL, "value"},
    {"unclosed array", J("[1"), NULL, "expected"},
    {"unclosed object", J("{\"a\":1"), NULL, "expected"},
    {"wrong closer", J("[1}"), NULL, "expected"},
    {"two values", J("{} {}"), NULL, "after"},
    {"byte order mark", J("\xef\xbb\xbf{}"), NULL, "value"},
    {"NUL after the value", J("{}\0"), NULL, "after"},
    {"leading zero", J("01"), NULL, "after"},
    {"leading zero in an array", J("[00]"), NULL, "expected"},
    {"plus sign", J("+1"), NULL, "value"},
    {"bare minus", J("-"), NULL, "digits"},
    {"minus then letter", J("-a"), NULL, "digits"},
    {"point without digits", J("1."), NULL, "decimal"},
    {"point first", J(".5"), NULL, "value"},
    {"exponent without digits", J("1e"), NULL, "exponent"},
    {"exponent sign only", J("1e+"), NULL, "exponent"},
    {"hex number", J("0x10"), NULL, "after"},
    {"NaN", J("NaN"), NULL, "value"},
    {"Infinity", J("[-Infinity]"), NULL, "digits"},
    {"True capitalised", J("True"), NULL, "value"},
    {"truncated literal", J("tru"), NULL, "literal"},
    {"literal with more", J("nulls"), NULL, "after"},
    {"unterminated string", J("\"abc"), NULL, "unterminated"},
    {"raw newline in a string", J("\"a\nb\""), NULL, "control"},
    {"raw tab in a string", J("\"a\tb\""), NULL, "control"},
    {"raw NUL in a string", J("\"a\0b\""), NULL, "control"},
    {"unknown escape", J("\"\\x41\""), NULL, "unknown escape"},
    {"escaped single quote", J("\"\\'\""), NULL, "unknown escape"},
    {"short \\u", J("\"\\u12\""), NULL, "four hex"},
    {"\\u with a non-hex digit", J("\"\\u12g4\""), NULL, "four hex"},
    {"escape at the end", J("\"\\"), NULL, "unfinished"},
    {"lone high surrogate", J("\"\\ud83d\""), NULL, "high surrogate"},
    {"high surrogate then text", J("\"\\ud83dx\""), NULL, "high surrogate"},
    {"high surrogate then a high one", J("\"\\ud83d\\ud83d\""), NULL, "high surrogate"},
    {"high surrogate then BMP", J("\"\\ud83d\\u0041\""), NULL, "high surrogate"},
    {"lone low surrogate", J("\"\\ude00\""), NULL, "low surrogate"},
    {"invalid UTF-8 byte", J("\"\xff\""), NULL, "UTF-8"},
    {"overlong UTF-8", J("\"\xc0\xaf\""), NULL, "UTF-8"},
    {"UTF-8 surrogate", J("\"\xed\xa0\x80\""), NULL, "UTF-8"},
    {"cut UTF-8", J("\"\xe2\x82\""), NULL, "UTF-8"},
    {"invalid UTF-8 outside a string", J("\xff"), NULL, "value"},
    {"duplicate key", J("{\"a\":1,\"a\":2}"), NULL, "duplicate"},
    {"duplicate key, escaped", J("{\"a\":1,\"\\u0061\":2}"), NULL, "duplicate"},
    {"duplicate key, both escaped", J("{\"\\u00e9\":1,\"\\u00E9\":2}"), NULL, "duplicate"},
    {"duplicate key, raw and escaped", J("{\"\xc3\xa9\":1,\"\\u00e9\":2}"), NULL, "duplicate"},
    {"duplicate key after a nested value", J("{\"a\":{\"x\":1,\"y\":[1]},\"b\":2,\"a\":3}"), NULL,
     "duplicate"},
    {"duplicate empty key", J("{\"\":1,\"\":2}"), NULL, "duplicate"},
};

#define TEST_N_CASES (sizeof(test_cases) / sizeof(test_cases[0]))

START_TEST(test_jsonmini_cases)
{
    const struct json_case *c = &test_cases[_i];
    struct jsonmini_tok toks[TEST_TOKS];
    struct jsonmini j, again;
    char out[1024], out2[1024];
    int rc = jsonmini_parse(&j, c->in, c->len, toks, TEST_TOKS);

    if (c->want == NULL) {
        ck_assert_msg(rc == -1, "%s: accepted", c->name);
        ck_assert_msg(j.error != NULL && strstr(j.error, c->why) != NULL,
                      "%s: reason \"%s\", want \"%s\"", c->name, j.error, c->why);
        ck_assert_uint_le(j.error_offset, c->len);
        return;
    }
    ck_assert_msg(rc == 0, "%s: refused: %s at %zu", c->name, j.error, j.error_offset);
    ck_assert_uint_eq(toks[0].start + toks[0].len <= c->len, 1);
    ck_assert_uint_eq(toks[0].end, j.n);
    ck_assert_uint_lt(jsonenc_write(&j, out, sizeof(out)), sizeof(out));
    ck_assert_str_eq(out, c->want);
    /* written again, it reads the same */
    ck_assert_int_eq(jsonmini_parse(&again, out, strlen(out), toks, TEST_TOKS), 0);
    jsonenc_write(&again, out2, sizeof(out2));
    ck_assert_str_eq(out2, out);
}
END_TEST

/* Every proper prefix of a valid object or array is refused (a cut token is no JWT). */
START_TEST(test_jsonmini_every_prefix)
{
    const struct json_case *c = &test_cases[_i];
    struct jsonmini_tok toks[TEST_TOKS];
    struct jsonmini j;
    size_t first, last;

    if (c->want == NULL)
        return;
    first = strspn(c->in, " \t\r\n");
    if (c->in[first] != '{' && c->in[first] != '[')
        return;
    /* trailing whitespace after the closer may go: stop at the closer */
    last = c->len;
    while (last > 0 && strchr(" \t\r\n", c->in[last - 1]) != NULL)
        last--;
    for (size_t n = 0; n < last; n++) {
        ck_assert_msg(jsonmini_parse(&j, c->in, n, toks, TEST_TOKS) == -1,
                      "%s: prefix of %zu bytes accepted", c->name, n);
    }
}
END_TEST

START_TEST(test_jsonmini_accessors)
{
    static const char doc[] =
        "{\"host\":\"h\\u00e9\",\"port\":5900,\"neg\":-9223372036854775808,"
        "\"big\":9223372036854775808,\"max\":9223372036854775807,\"frac\":1.0,\"exp\":1e3,"
        "\"aud\":[\"a\",\"b\"],\"nul\":\"a\\u0000b\",\"s\":\"x\"}";
    struct jsonmini_tok toks[TEST_TOKS];
    struct jsonmini j;
    char buf[16];
    size_t i, n;
    int64_t v;

    ck_assert_int_eq(jsonmini_parse(&j, doc, strlen(doc), toks, TEST_TOKS), 0);
    ck_assert_uint_eq(toks[0].count, 10);
    i = jsonmini_get(&j, 0, "host");
    ck_assert_int_eq(jsonmini_string(&j, i, buf, sizeof(buf), &n), 0);
    ck_assert_str_eq(buf, "h\xc3\xa9");
    ck_assert_uint_eq(n, 3);
    ck_assert(jsonmini_string_is(&j, i, "h\xc3\xa9", 3));
    ck_assert(!jsonmini_string_is(&j, i, "h\xc3", 2));
    ck_assert_int_eq(jsonmini_string(&j, i, buf, 3, &n), -1); /* no room for the NUL */
    ck_assert_int_eq(jsonmini_string(&j, i, buf, 4, &n), 0);
    ck_assert_int_eq(jsonmini_int64(&j, i, &v), -1);
    ck_assert_int_eq(jsonmini_int64(&j, jsonmini_get(&j, 0, "port"), &v), 0);
    ck_assert_int_eq(v, 5900);
    ck_assert_int_eq(jsonmini_string(&j, jsonmini_get(&j, 0, "port"), buf, sizeof(buf), &n), -1);
    ck_assert_int_eq(jsonmini_int64(&j, jsonmini_get(&j, 0, "neg"), &v), 0);
    ck_assert(v == INT64_MIN);
    ck_assert_int_eq(jsonmini_int64(&j, jsonmini_get(&j, 0, "max"), &v), 0);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(jsonmini_int64(&j, jsonmini_get(&j, 0, "big"), &v), -1);
    ck_assert_int_eq(jsonmini_int64(&j, jsonmini_get(&j, 0, "frac"), &v), -1);
    ck_assert_int_eq(jsonmini_int64(&j, jsonmini_get(&j, 0, "exp"), &v), -1);
    i = jsonmini_get(&j, 0, "aud");
    ck_assert_int_eq(toks[i].type, JSONMINI_ARRAY);
    ck_assert_uint_eq(toks[i].count, 2);
    ck_assert(jsonmini_string_is(&j, i + 1, "a", 1));
    ck_assert(jsonmini_string_is(&j, jsonmini_next(&j, i + 1), "b", 1));
    ck_assert_uint_eq(jsonmini_next(&j, i), jsonmini_get(&j, 0, "nul") - 1);
    ck_assert_int_eq(jsonmini_string(&j, jsonmini_get(&j, 0, "nul"), buf, sizeof(buf), &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(memcmp(buf, "a\0b", 4), 0);
    ck_assert(jsonmini_string_is(&j, jsonmini_get(&j, 0, "s"), "x", 1));
    ck_assert_uint_eq(jsonmini_get(&j, 0, "missing"), JSONMINI_NONE);
    ck_assert_uint_eq(jsonmini_get(&j, 0, "hos"), JSONMINI_NONE);
    ck_assert_uint_eq(jsonmini_get(&j, i, "a"), JSONMINI_NONE); /* not an object */
    ck_assert_uint_eq(jsonmini_get(&j, 999, "a"), JSONMINI_NONE);
}
END_TEST

/* Depth 32 passes, 33 fails; the token cap is exact; strings and numbers at their limit
 * pass and one over fails. */
START_TEST(test_jsonmini_limits)
{
    static char doc[JSONMINI_STRING_MAX * 6 + 64];
    static struct jsonmini_tok toks[JSONMINI_STRING_MAX];
    struct jsonmini j;
    size_t n;

    for (int depth = JSONMINI_DEPTH_MAX; depth <= JSONMINI_DEPTH_MAX + 1; depth++) {
        memset(doc, '[', (size_t)depth);
        memset(doc + depth, ']', (size_t)depth);
        ck_assert_int_eq(jsonmini_parse(&j, doc, 2 * (size_t)depth, toks, 64),
                         depth <= JSONMINI_DEPTH_MAX ? 0 : -1);
    }
    /* [1,1,1,1]: 5 tokens */
    ck_assert_int_eq(jsonmini_parse(&j, "[1,1,1,1]", 9, toks, 5), 0);
    ck_assert_int_eq(jsonmini_parse(&j, "[1,1,1,1]", 9, toks, 4), -1);
    ck_assert_str_eq(j.error, "more values than the token array holds");
    ck_assert_int_eq(jsonmini_parse(&j, "1", 1, toks, 0), -1);
    /* a string of JSONMINI_STRING_MAX bytes, raw and as \u escapes of 3-byte characters */
    for (size_t len = JSONMINI_STRING_MAX; len <= JSONMINI_STRING_MAX + 1; len++) {
        doc[0] = '"';
        memset(doc + 1, 'x', len);
        doc[len + 1] = '"';
        ck_assert_int_eq(jsonmini_parse(&j, doc, len + 2, toks, 4),
                         len <= JSONMINI_STRING_MAX ? 0 : -1);
    }
    n = 0;
    doc[n++] = '"';
    for (size_t k = 0; k < JSONMINI_STRING_MAX / 3; k++) {
        memcpy(doc + n, "\\u20ac", 6);
        n += 6;
    }
    memcpy(doc + n, "x\"", 2); /* 3 * 1365 + 1 = 4096 bytes */
    ck_assert_int_eq(jsonmini_parse(&j, doc, n + 2, toks, 4), 0);
    memcpy(doc + n, "xy\"", 3);
    ck_assert_int_eq(jsonmini_parse(&j, doc, n + 3, toks, 4), -1);
    /* numbers */
    memset(doc, '7', JSONMINI_NUMBER_MAX + 1);
    ck_assert_int_eq(jsonmini_parse(&j, doc, JSONMINI_NUMBER_MAX, toks, 4), 0);
    ck_assert_int_eq(jsonmini_parse(&j, doc, JSONMINI_NUMBER_MAX + 1, toks, 4), -1);
    /* the whole text */
    ck_assert_int_eq(jsonmini_parse(&j, "1", JSONMINI_TEXT_MAX + 1, toks, 4), -1);
    ck_assert_str_eq(j.error, "document longer than JSONMINI_TEXT_MAX");
}
END_TEST

/* A refusal points at the offending byte. */
START_TEST(test_jsonmini_error_offsets)
{
    struct jsonmini_tok toks[TEST_TOKS];
    struct jsonmini j;

    ck_assert_int_eq(jsonmini_parse(&j, "{\"a\":1,\"a\":2}", 13, toks, TEST_TOKS), -1);
    ck_assert_uint_eq(j.error_offset, 7);
    ck_assert_int_eq(jsonmini_parse(&j, "[1,2,]", 6, toks, TEST_TOKS), -1);
    ck_assert_uint_eq(j.error_offset, 5);
    ck_assert_int_eq(jsonmini_parse(&j, "\"ab\\q\"", 6, toks, TEST_TOKS), -1);
    ck_assert_uint_eq(j.error_offset, 3);
}
END_TEST

static Suite *test_suite(void)
{
    Suite *s = suite_create("jsonmini");
    TCase *tc = tcase_create("jsonmini");

    tcase_add_loop_test(tc, test_jsonmini_cases, 0, (int)TEST_N_CASES);
    tcase_add_loop_test(tc, test_jsonmini_every_prefix, 0, (int)TEST_N_CASES);
    tcase_add_test(tc, test_jsonmini_accessors);
    tcase_add_test(tc, test_jsonmini_limits);
    tcase_add_test(tc, test_jsonmini_error_offsets);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_suite)
