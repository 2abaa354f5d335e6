/*
 * test_yamlnode.c - unit tests for yamlnode.c: the tree of a document with the kind,
 * text and 1-based position of every node; what counts as null; and every refusal
 * (aliases, anchors, NUL, depth, a second document, libyaml's syntax and reader errors)
 * with its place, and no tree left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "yamlnode.h"

/* A mapping in block style, a flow sequence and a nested flow mapping, with positions. */
START_TEST(test_yamlnode_tree)
{
    static const char text[] = "# head\n"
                               "a: 1\n"
                               "list: [ x, 'y z', ~ ]\n"
                               "map:\n"
                               "  k: { n: null, q: \"\" }\n"
                               "a: again\n";
    struct yamlnode_error err;
    struct yamlnode *root, *list, *map, *inner;

    ck_assert_int_eq(yamlnode_read(text, strlen(text), &root, &err), 0);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(root->kind, YAMLNODE_MAPPING);
    ck_assert_uint_eq(root->line, 2);
    ck_assert_uint_eq(root->column, 1);
    ck_assert_uint_eq(root->n, 4); /* a duplicate key is kept: meaning is the reader's */
    ck_assert_str_eq(root->pairs[0].key->text, "a");
    ck_assert_str_eq(root->pairs[0].value->text, "1");
    ck_assert_uint_eq(root->pairs[0].value->line, 2);
    ck_assert_uint_eq(root->pairs[0].value->column, 4);
    ck_assert_str_eq(root->pairs[3].value->text, "again");
    ck_assert_uint_eq(root->pairs[3].key->line, 6);

    list = root->pairs[1].value;
    ck_assert_int_eq(list->kind, YAMLNODE_SEQUENCE);
    ck_assert_uint_eq(list->n, 3);
    ck_assert_str_eq(list->items[0]->text, "x");
    ck_assert_str_eq(list->items[1]->text, "y z");
    ck_assert(!list->items[1]->is_null);
    ck_assert_uint_eq(list->items[1]->column, 12);
    ck_assert(list->items[2]->is_null);

    map = root->pairs[2].value;
    ck_assert_int_eq(map->kind, YAMLNODE_MAPPING);
    ck_assert_uint_eq(map->line, 5);
    ck_assert_uint_eq(map->column, 3);
    inner = map->pairs[0].value;
    ck_assert_int_eq(inner->kind, YAMLNODE_MAPPING);
    ck_assert(inner->pairs[0].value->is_null);  /* plain null */
    ck_assert(!inner->pairs[1].value->is_null); /* quoted "": a value, empty */
    ck_assert_str_eq(inner->pairs[1].value->text, "");
    yamlnode_free(root);
    yamlnode_free(NULL);
}
END_TEST

/* No document at all is not an error: the root is NULL. */
START_TEST(test_yamlnode_empty)
{
    static const char *const texts[] = {"", "# only a comment\n", "\n\n"};
    struct yamlnode_error err;
    struct yamlnode *root = (struct yamlnode *)&err;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        ck_assert_int_eq(yamlnode_read(texts[i], strlen(texts[i]), &root, &err), 0);
        ck_assert_ptr_null(root);
    }
    ck_assert_int_eq(yamlnode_read(NULL, 0, &root, &err), 0);
    ck_assert_ptr_null(root);
    /* "---" alone is a document holding one null scalar */
    ck_assert_int_eq(yamlnode_read("---\n", 4, &root, &err), 0);
    ck_assert_int_eq(root->kind, YAMLNODE_SCALAR);
    ck_assert(root->is_null);
    yamlnode_free(root);
}
END_TEST

struct yamlnode_bad_case {
    const char *text;
    size_t len; /* 0: strlen(text) */
    unsigned line, column;
    const char *message;
};

static const struct yamlnode_bad_case bad_cases[] = {
    {"a: &x 1\nb: *x\n", 0, 1, 4, "YAML anchors are not supported"},
    {"a: *x\n", 0, 1, 4, "YAML aliases are not supported"},
    {"a: &x [ 1 ]\n", 0, 1, 4, "YAML anchors are not supported"},
    {"a: \"b\\0c\"\n", 0, 1, 4, "NUL characters are not allowed"},
    {"a: 1\n---\nb: 2\n", 0, 2, 1, "only one YAML document is allowed"},
    {"a: b\x01\n", 0, 1, 5, "control characters are not allowed (0x01)"},
    {"a: \xff\n", 0, 1, 4, "invalid leading UTF-8 octet (0xff)"},
    {"a: [ 1, 2\nb: 3\n", 0, 2, 2,
     "did not find expected ',' or ']' (while parsing a flow sequence started at line 1)"},
    {"a:\n\tb: 1\n", 0, 2, 1, "found character that cannot start any token"},
};

START_TEST(test_yamlnode_bad)
{
    const struct yamlnode_bad_case *t = &bad_cases[_i];
    size_t len = t->len != 0 ? t->len : strlen(t->text);
    struct yamlnode_error err;
    struct yamlnode *root = NULL;

    ck_assert_int_eq(yamlnode_read(t->text, len, &root, &err), -1);
    ck_assert_ptr_null(root);
    ck_assert_str_eq(err.message, t->message);
    ck_assert_uint_eq(err.line, t->line);
    ck_assert_uint_eq(err.column, t->column);
}
END_TEST

/* Nesting is bounded: YAMLNODE_DEPTH_MAX levels are read, one more is refused at the
 * node that passes it. */
START_TEST(test_yamlnode_depth)
{
    char text[2 * YAMLNODE_DEPTH_MAX + 8];
    struct yamlnode_error err;
    struct yamlnode *root;
    size_t n;

    for (int depth = YAMLNODE_DEPTH_MAX; depth <= YAMLNODE_DEPTH_MAX + 1; depth++) {
        n = 0;
        for (int i = 0; i < depth; i++)
            text[n++] = '[';
        for (int i = 0; i < depth; i++)
            text[n++] = ']';
        if (depth == YAMLNODE_DEPTH_MAX) {
            ck_assert_int_eq(yamlnode_read(text, n, &root, &err), 0);
            yamlnode_free(root);
            continue;
        }
        ck_assert_int_eq(yamlnode_read(text, n, &root, &err), -1);
        ck_assert_str_eq(err.message, "YAML nested more than 32 levels deep");
        ck_assert_uint_eq(err.line, 1);
        ck_assert_uint_eq(err.column, YAMLNODE_DEPTH_MAX + 1);
    }
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_yamlnode_suite(void)
{
    Suite *s = suite_create("yamlnode");
    TCase *tc = tcase_create("yamlnode");

    tcase_add_test(tc, test_yamlnode_tree);
    tcase_add_test(tc, test_yamlnode_empty);
    tcase_add_loop_test(tc, test_yamlnode_bad, 0, N(bad_cases));
    tcase_add_test(tc, test_yamlnode_depth);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_yamlnode_suite)
