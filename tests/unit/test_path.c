/*
 * test_path.c - unit tests for path.c: a table of good targets and the relative path
 * each names, a table of traversal encodings and malformed targets with the status each
 * earns, the length limit, and a seeded random search over the characters traversal is
 * made of, checking that whatever is accepted can never climb out of the root.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "path.h"

struct good_case {
    const char *target;
    const char *want; /* relative path */
    bool is_dir;
};

static const struct good_case good_cases[] = {
    {"/", "", true},
    {"/index.html", "index.html", false},
    {"/a/b/c.js", "a/b/c.js", false},
    {"/a/", "a", true},
    {"/a/b/", "a/b", true},
    {"/a//b", "a/b", false}, /* empty segments are dropped */
    {"//a", "a", false},     /* not a network-path: the root's "a" */
    {"///", "", true},
    {"/a//", "a", true},
    {"/a?x=1", "a", false},
    {"/a/?x=/../../etc", "a", true}, /* the query is not part of the path */
    {"/a?../../etc/passwd", "a", false},
    {"/a#../x", "a", false},
    {"/?", "", true},
    {"/caf%C3%A9.txt", "caf\xc3\xa9.txt", false},
    {"/caf\xc3\xa9.txt", "caf\xc3\xa9.txt", false}, /* raw UTF-8 */
    {"/%41%62c", "Abc", false},
    {"/a%20b", "a b", false},
    {"/a+b", "a+b", false},
    {"/a..b", "a..b", false}, /* dots inside a name are fine */
    {"/a./b.", "a./b.", false},
    {"/%252e%252e/x", "%2e%2e/x", false}, /* decoded once: a name with a percent sign */
    {"/x/y.min.js", "x/y.min.js", false},
    {"/%7e~", "~~", false},
    {"/a:b@c;d=e,f", "a:b@c;d=e,f", false},
};

struct bad_case {
    const char *target;
    int status;
};

/* Traversal in every spelling first, then the rest of what is refused. */
static const struct bad_case bad_cases[] = {
    {"/..", 403},
    {"/../etc/passwd", 403},
    {"/a/../../etc/passwd", 403},
    {"/a/..", 403},
    {"/a/../b", 403}, /* refused even when it would stay inside */
    {"/%2e%2e/etc/passwd", 403},
    {"/%2E%2E/", 403},
    {"/.%2e/x", 403},
    {"/%2e./x", 403},
    {"/a/%2e%2e", 403},
    {"/..%2fetc%2fpasswd", 403}, /* encoded slash */
    {"/a%2f..%2f..%2fetc", 403},
    {"/a%2Fb", 403},
    {"/..%5cetc", 403},        /* encoded backslash */
    {"/..\\etc\\passwd", 403}, /* raw backslash */
    {"/a\\..\\b", 403},
    {"/%00", 403}, /* NUL */
    {"/index.html%00.png", 403},
    {"/%c0%ae%c0%ae/etc", 403}, /* overlong UTF-8 dots */
    {"/%e0%80%ae%e0%80%ae/", 403},
    {"/%c0%af", 403}, /* overlong slash */
    {"/%ff", 403},
    {"/./a", 403}, /* dot segment */
    {"/a/.", 403},
    {"/%2e", 403},
    {"/.git/config", 403}, /* hidden names */
    {"/.htpasswd", 403},
    {"/a/.ssh/id_rsa", 403},
    {"/..;/x", 403},
    {"/...x/y", 403},
    {"/%0a", 403}, /* encoded control characters */
    {"/a%0d%0aSet-Cookie:x", 403},
    {"/%7f", 403},
    {"/a%09b", 403},
    {"../etc/passwd", 400}, /* not origin-form */
    {"etc/passwd", 400},
    {"*", 400},
    {"http://host/a", 400},
    {"", 400},
    {"/%", 400}, /* bad percent-encoding */
    {"/%2", 400},
    {"/%zz", 400},
    {"/%2g", 400},
    {"/%%32%65", 400},
    {"/a b", 400}, /* raw space and controls */
    {"/a\x01", 400},
    {"/a\x7f", 400},
    {"/a\tb", 400},
};

START_TEST(test_path_good)
{
    const struct good_case *t = &good_cases[_i];
    struct path_result res;
    char out[PATH_MAX_BYTES];

    ck_assert_msg(path_from_target(t->target, out, sizeof(out), &res) == 0, "\"%s\": %d %s",
                  t->target, res.status, res.error != NULL ? res.error : "");
    ck_assert_int_eq(res.status, 0);
    ck_assert_str_eq(out, t->want);
    ck_assert_msg(res.is_dir == t->is_dir, "\"%s\": is_dir %d", t->target, res.is_dir);
}
END_TEST

START_TEST(test_path_bad)
{
    const struct bad_case *t = &bad_cases[_i];
    struct path_result res;
    char out[PATH_MAX_BYTES];

    ck_assert_msg(path_from_target(t->target, out, sizeof(out), &res) == -1,
                  "\"%s\" accepted as \"%s\"", t->target, out);
    ck_assert_msg(res.status == t->status, "\"%s\": got %d (%s), want %d", t->target, res.status,
                  res.error, t->status);
    ck_assert_ptr_nonnull(res.error);
    ck_assert_uint_le(res.offset, strlen(t->target));
}
END_TEST

/* The offset points at the byte at fault, or at the start of the refused segment. */
START_TEST(test_path_offsets)
{
    static const struct {
        const char *target;
        size_t offset;
    } cases[] = {
        {"/a/../b", 3}, {"/a%2fb", 2}, {"/abc%zz", 4}, {"/ab\\c", 3}, {"x", 0}, {"/a/%2e%2e", 3},
    };
    struct path_result res;
    char out[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(path_from_target(cases[i].target, out, sizeof(out), &res), -1);
        ck_assert_msg(res.offset == cases[i].offset, "\"%s\": offset %zu, want %zu",
                      cases[i].target, res.offset, cases[i].offset);
    }
}
END_TEST

/* The limit counts the NUL: cap - 1 bytes fit, cap do not, with or without a separator. */
START_TEST(test_path_length)
{
    struct path_result res;
    char target[32], out[8];

    ck_assert_int_eq(path_from_target("/abcdefg", out, sizeof(out), &res), 0);
    ck_assert_str_eq(out, "abcdefg");
    ck_assert_int_eq(path_from_target("/abcdefgh", out, sizeof(out), &res), -1);
    ck_assert_int_eq(res.status, 414);
    ck_assert_int_eq(path_from_target("/abc/def", out, sizeof(out), &res), 0);
    ck_assert_str_eq(out, "abc/def");
    ck_assert_int_eq(path_from_target("/abc/defg", out, sizeof(out), &res), -1);
    ck_assert_int_eq(res.status, 414);
    ck_assert_int_eq(path_from_target("/abcdef/g", out, sizeof(out), &res), -1);
    ck_assert_int_eq(res.status, 414);
    /* Encoded bytes count once decoded. */
    ck_assert_int_eq(path_from_target("/%61%62%63%64%65%66%67", out, sizeof(out), &res), 0);
    ck_assert_str_eq(out, "abcdefg");
    ck_assert_int_eq(path_from_target("/x", out, 1, &res), -1);
    ck_assert_int_eq(res.status, 414);
    ck_assert_int_eq(path_from_target("/", out, 1, &res), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(path_from_target("/x", out, 0, &res), -1);
    ck_assert_int_eq(path_from_target(NULL, out, sizeof(out), &res), -1);
    ck_assert_int_eq(res.status, 400);
    memset(target, 'a', sizeof(target) - 1);
    target[0] = '/';
    target[sizeof(target) - 1] = '\0';
    ck_assert_int_eq(path_from_target(target, out, sizeof(out), &res), -1);
    ck_assert_int_eq(res.status, 414);
}
END_TEST

/* True if <p> is a path that stays beneath the root: relative, no empty, "." or ".."
 * segment, no backslash or control byte. */
static bool test_path_is_safe(const char *p)
{
    const char *seg = p;

    if (p[0] == '/')
        return false;
    if (p[0] == '\0')
        return true;
    for (;;) {
        size_t len = strcspn(seg, "/");

        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        for (size_t i = 0; i < len; i++)
            if (seg[i] == '\\' || (unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
                return false;
        if (seg[len] == '\0')
            return true;
        seg += len + 1;
    }
}

/* Random targets over the alphabet traversal is spelled with: whatever is accepted is
 * safe. Seeded, so a failure repeats. */
START_TEST(test_path_random)
{
    static const char alphabet[] = "/./.%2e%2E%2f%5c%00\\aE0c5f%c0%ae";
    uint32_t x = 0x2545f491u;
    struct path_result res;
    char target[40], out[64];
    unsigned accepted = 0;

    for (int n = 0; n < 200000; n++) {
        size_t len;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        len = 1 + x % (sizeof(target) - 2);
        target[0] = '/';
        for (size_t i = 1; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            target[i] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        target[len] = '\0';
        if (path_from_target(target, out, sizeof(out), &res) != 0)
            continue;
        accepted++;
        ck_assert_msg(test_path_is_safe(out), "\"%s\" -> unsafe \"%s\"", target, out);
        ck_assert_uint_eq(strlen(out) < sizeof(out), 1);
    }
    ck_assert_uint_gt(accepted, 100); /* the search reached the accepting side too */
}
END_TEST

static Suite *test_path_suite(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("path");

    tcase_add_loop_test(tc, test_path_good, 0, sizeof(good_cases) / sizeof(good_cases[0]));
    tcase_add_loop_test(tc, test_path_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_path_offsets);
    tcase_add_test(tc, test_path_length);
    tcase_add_test(tc, test_path_random);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_path_suite)
