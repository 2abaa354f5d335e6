/*
 * test_mime.c - unit tests for mime.c: the built-in table alone (every entry, so its sort
 * order is checked too), a mime.types text with every kind of line the format allows or
 * that a damaged file may hold, precedence (file before built-in, first line before a
 * later one, longest extension first), the charset rule, random bytes, and Debian's own
 * /etc/mime.types when the machine has it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "mime.h"

struct lookup_case {
    const char *name;
    const char *want;
};

/* Every built-in extension (a missing or mis-sorted entry fails here), then names that
 * have no extension to speak of. */
static const struct lookup_case builtin_cases[] = {
    {"a.css", "text/css; charset=utf-8"},
    {"a.gif", "image/gif"},
    {"a.htm", "text/html; charset=utf-8"},
    {"index.html", "text/html; charset=utf-8"},
    {"favicon.ico", "image/vnd.microsoft.icon"},
    {"a.jpeg", "image/jpeg"},
    {"a.jpg", "image/jpeg"},
    {"echo.js", "text/javascript; charset=utf-8"},
    {"a.json", "application/json; charset=utf-8"},
    {"a.js.map", "application/json; charset=utf-8"},
    {"a.mjs", "text/javascript; charset=utf-8"},
    {"a.mp4", "video/mp4"},
    {"a.pdf", "application/pdf"},
    {"a.png", "image/png"},
    {"a.svg", "image/svg+xml"},
    {"a.txt", "text/plain; charset=utf-8"},
    {"a.wasm", "application/wasm"},
    {"a.webm", "video/webm"},
    {"site.webmanifest", "application/manifest+json; charset=utf-8"},
    {"a.webp", "image/webp"},
    {"a.woff", "font/woff"},
    {"a.woff2", "font/woff2"},
    {"a.xml", "application/xml"},
    {"INDEX.HTML", "text/html; charset=utf-8"}, /* extensions ignore case */
    {"a.Png", "image/png"},
    {"dir/sub/page.html", "text/html; charset=utf-8"},
    {"jquery.min.js", "text/javascript; charset=utf-8"},
    {"README", MIME_DEFAULT_TYPE},
    {"a.", MIME_DEFAULT_TYPE},
    {".bashrc", MIME_DEFAULT_TYPE},
    {".html", MIME_DEFAULT_TYPE},
    {"dir.html/file", MIME_DEFAULT_TYPE}, /* a dot in a folder name is no extension */
    {"a.tar.gz", MIME_DEFAULT_TYPE},
    {"a.unknownext", MIME_DEFAULT_TYPE},
    {"", MIME_DEFAULT_TYPE},
    {"a/", MIME_DEFAULT_TYPE},
};

START_TEST(test_mime_builtin)
{
    const struct lookup_case *t = &builtin_cases[_i];
    struct mime_table *empty = mime_table_new();

    ck_assert_str_eq(mime_lookup(NULL, t->name), t->want);
    ck_assert_ptr_nonnull(empty);
    ck_assert_str_eq(mime_lookup(empty, t->name), t->want);
    mime_table_free(empty);
}
END_TEST

static const char sample[] = "# a comment line\n"
                             "\n"
                             "   \t  \n"
                             "text/html\t\t\thtml htm shtml\n"
                             "text/x-first\t\tdup\n"
                             "text/x-second\t\tdup first2\n" /* dup keeps its first type */
                             "application/x-later\thtml\n"   /* and so does html */
                             "application/vnd.a+json\tajson # trailing comment\n"
                             "application/vnd.b+xml\tbxml\n"
                             "application/json\t\tjson\n"
                             "application/tm+json\ttm.json\n" /* a two-part extension */
                             "image/x-upper\t\tUPPER\r\n"     /* CRLF, upper case */
                             "application/x-js\tjs\n"         /* overrides the built-in */
                             "notatype\t\tbogus1\n"           /* no slash: skipped */
                             "a/b/c\t\t\tbogus2\n"            /* two slashes */
                             "/x\t\t\tbogus3\n"
                             "x/\t\t\tbogus4\n"
                             "bad type/x\tbogus5\n"
                             "text/ok\t\tgood .bad bad. b/ad b\\ad "
                             "waytoolongextensionwaytoolongextension ok2\n"
                             "#text/commented\tcommented\n"
                             "text/plain\t\ttxt text\n"
                             "image/last\t\tlast"; /* no final newline */

static struct mime_table *test_mime_sample_table(void)
{
    struct mime_table *t = mime_table_new();

    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(mime_table_parse(t, sample, strlen(sample)), 0);
    return t;
}

static const struct lookup_case sample_cases[] = {
    {"a.html", "text/html; charset=utf-8"},
    {"a.shtml", "text/html; charset=utf-8"},
    {"a.dup", "text/x-first; charset=utf-8"},
    {"a.first2", "text/x-second; charset=utf-8"},
    {"a.ajson", "application/vnd.a+json; charset=utf-8"},
    {"a.bxml", "application/vnd.b+xml"},
    {"a.json", "application/json; charset=utf-8"},
    {"x.tm.json", "application/tm+json; charset=utf-8"}, /* longest extension first */
    {"x.other.json", "application/json; charset=utf-8"},
    {"a.upper", "image/x-upper"},
    {"a.UPPER", "image/x-upper"},
    {"a.js", "application/x-js"},         /* the file wins over the built-in table */
    {"a.css", "text/css; charset=utf-8"}, /* the built-in table fills the gaps */
    {"a.bogus1", MIME_DEFAULT_TYPE},
    {"a.bogus2", MIME_DEFAULT_TYPE},
    {"a.bogus3", MIME_DEFAULT_TYPE},
    {"a.bogus4", MIME_DEFAULT_TYPE},
    {"a.bogus5", MIME_DEFAULT_TYPE},
    {"a.good", "text/ok; charset=utf-8"},
    {"a.ok2", "text/ok; charset=utf-8"},
    {"a.bad", MIME_DEFAULT_TYPE},
    {"a.commented", MIME_DEFAULT_TYPE},
    {"a.text", "text/plain; charset=utf-8"},
    {"a.last", "image/last"},
    {"a.#", MIME_DEFAULT_TYPE},
};

START_TEST(test_mime_sample)
{
    const struct lookup_case *t = &sample_cases[_i];
    struct mime_table *table = test_mime_sample_table();

    ck_assert_msg(strcmp(mime_lookup(table, t->name), t->want) == 0, "%s: got \"%s\", want \"%s\"",
                  t->name, mime_lookup(table, t->name), t->want);
    mime_table_free(table);
}
END_TEST

/* One entry per extension kept: html htm shtml dup first2 ajson bxml json tm.json upper js
 * good ok2 txt text last. */
START_TEST(test_mime_count)
{
    struct mime_table *t = test_mime_sample_table();

    ck_assert_uint_eq(mime_table_count(t), 16);
    ck_assert_uint_eq(mime_table_count(NULL), 0);
    /* A second text adds to the table; what it repeats keeps the first type. */
    ck_assert_int_eq(mime_table_parse(t, "text/x-new new html\n", 20), 0);
    ck_assert_uint_eq(mime_table_count(t), 17);
    ck_assert_str_eq(mime_lookup(t, "a.new"), "text/x-new; charset=utf-8");
    ck_assert_str_eq(mime_lookup(t, "a.html"), "text/html; charset=utf-8");
    mime_table_free(t);
}
END_TEST

/* The parser takes a length, not a string: a NUL inside is just a byte that no name may
 * hold, and text past <len> is not read. */
START_TEST(test_mime_length)
{
    static const char text[] = "text/a\taaa\nimage/b\tbbb\0text/c ccc\nimage/d\tddd";
    struct mime_table *t = mime_table_new();

    ck_assert_int_eq(mime_table_parse(t, text, 11), 0);
    ck_assert_str_eq(mime_lookup(t, "x.aaa"), "text/a; charset=utf-8");
    ck_assert_str_eq(mime_lookup(t, "x.bbb"), MIME_DEFAULT_TYPE);
    ck_assert_int_eq(mime_table_parse(t, text + 11, sizeof(text) - 1 - 11), 0);
    ck_assert_str_eq(mime_lookup(t, "x.ddd"), "image/d");
    /* The NUL spoils the one token it is in ("bbb\0text/c"); "ccc" stays on image/b's line. */
    ck_assert_str_eq(mime_lookup(t, "x.bbb"), MIME_DEFAULT_TYPE);
    ck_assert_str_eq(mime_lookup(t, "x.ccc"), "image/b");
    ck_assert_int_eq(mime_table_parse(t, "", 0), 0);
    mime_table_free(t);
    mime_table_free(NULL);
}
END_TEST

/* Random bytes never crash the parser nor leave a lookup without an answer. */
START_TEST(test_mime_random)
{
    static const char alphabet[] = "ab/+.# \t\r\n\x00\xff-tx";
    uint32_t x = 0x9e3779b9u;
    char text[512];

    for (int round = 0; round < 2000; round++) {
        struct mime_table *t = mime_table_new();

        for (size_t i = 0; i < sizeof(text); i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            text[i] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        ck_assert_int_eq(mime_table_parse(t, text, x % sizeof(text)), 0);
        ck_assert_ptr_nonnull(mime_lookup(t, "a.b"));
        ck_assert_ptr_nonnull(mime_lookup(t, "a.ab.ta"));
        mime_table_free(t);
    }
}
END_TEST

/* Debian's media-types file, as the daemon reads it at start. */
START_TEST(test_mime_debian)
{
    static const struct lookup_case cases[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"a.css", "text/css; charset=utf-8"},
        {"a.js", "text/javascript; charset=utf-8"},
        {"a.png", "image/png"},
        {"a.svg", "image/svg+xml"},
        {"a.wasm", "application/wasm"},
        {"a.json", "application/json; charset=utf-8"},
        {"a.txt", "text/plain; charset=utf-8"},
    };
    FILE *f = fopen("/etc/mime.types", "rb");
    struct mime_table *t;
    char *text;
    size_t len;

    if (f == NULL)
        return; /* no media-types package: the built-in cases cover the fallback */
    text = malloc(4 * 1024 * 1024);
    ck_assert_ptr_nonnull(text);
    len = fread(text, 1, 4 * 1024 * 1024, f);
    fclose(f);
    t = mime_table_new();
    ck_assert_int_eq(mime_table_parse(t, text, len), 0);
    free(text);
    ck_assert_uint_gt(mime_table_count(t), 500);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(strcmp(mime_lookup(t, cases[i].name), cases[i].want) == 0, "%s: got %s",
                      cases[i].name, mime_lookup(t, cases[i].name));
    mime_table_free(t);
}
END_TEST

static Suite *test_mime_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("mime");

    tcase_add_loop_test(tc, test_mime_builtin, 0, sizeof(builtin_cases) / sizeof(builtin_cases[0]));
    tcase_add_loop_test(tc, test_mime_sample, 0, sizeof(sample_cases) / sizeof(sample_cases[0]));
    tcase_add_test(tc, test_mime_count);
    tcase_add_test(tc, test_mime_length);
    tcase_add_test(tc, test_mime_random);
    tcase_add_test(tc, test_mime_debian);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_mime_suite)
