/*
 * test_inherit.c - unit tests for inherit_parse, the LISTEN_FDS protocol of
 * sd_listen_fds(3): variables meant for another process are ignored; names are matched
 * to descriptors 3.. in order, missing ones are "unknown"; a count that is not a number,
 * too large, or fewer descriptors than names is an error.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "inherit.h"

START_TEST(test_inherit_names)
{
    struct inherit in;
    char err[128] = "";

    ck_assert_int_eq(inherit_parse("42", "3", "web:admin:extra", 42, &in, err, sizeof(err)), 0);
    ck_assert_uint_eq(in.n, 3);
    ck_assert_int_eq(in.fds[0].fd, 3);
    ck_assert_str_eq(in.fds[0].name, "web");
    ck_assert_int_eq(in.fds[2].fd, 5);
    ck_assert_str_eq(in.fds[2].name, "extra");
    free(in.fds);
    /* fewer names than descriptors, an empty name: systemd's "unknown" */
    ck_assert_int_eq(inherit_parse("42", "3", "web::", 42, &in, err, sizeof(err)), 0);
    ck_assert_str_eq(in.fds[0].name, "web");
    ck_assert_str_eq(in.fds[1].name, INHERIT_UNNAMED);
    ck_assert_str_eq(in.fds[2].name, INHERIT_UNNAMED);
    free(in.fds);
    ck_assert_int_eq(inherit_parse("42", "2", NULL, 42, &in, err, sizeof(err)), 0);
    ck_assert_uint_eq(in.n, 2);
    ck_assert_str_eq(in.fds[1].name, INHERIT_UNNAMED);
    free(in.fds);
}
END_TEST

START_TEST(test_inherit_not_ours)
{
    struct inherit in;
    char err[128] = "";

    /* for the parent that started us, or no variables at all: nothing inherited */
    ck_assert_int_eq(inherit_parse("41", "1", "web", 42, &in, err, sizeof(err)), 0);
    ck_assert_uint_eq(in.n, 0);
    ck_assert_int_eq(inherit_parse(NULL, "1", "web", 42, &in, err, sizeof(err)), 0);
    ck_assert_uint_eq(in.n, 0);
    ck_assert_int_eq(inherit_parse("42", NULL, NULL, 42, &in, err, sizeof(err)), 0);
    ck_assert_uint_eq(in.n, 0);
    ck_assert_int_eq(inherit_parse("42x", "1", NULL, 42, &in, err, sizeof(err)), 0);
    ck_assert_uint_eq(in.n, 0);
    ck_assert_int_eq(inherit_parse("42", "0", NULL, 42, &in, err, sizeof(err)), 0);
    ck_assert_uint_eq(in.n, 0);
}
END_TEST

START_TEST(test_inherit_bad)
{
    struct inherit in;
    char err[128] = "";

    ck_assert_int_eq(inherit_parse("42", "x", NULL, 42, &in, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "LISTEN_FDS: \"x\" is not a count from 0 to 256");
    ck_assert_int_eq(inherit_parse("42", "257", NULL, 42, &in, err, sizeof(err)), -1);
    ck_assert_int_eq(inherit_parse("42", "1", "a:b", 42, &in, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "LISTEN_FDNAMES: more names than the 1 descriptors of LISTEN_FDS");
    ck_assert_ptr_null(in.fds);
    ck_assert_uint_eq(in.n, 0);
}
END_TEST

static Suite *test_inherit_suite(void)
{
    Suite *s = suite_create("inherit");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_inherit_names);
    tcase_add_test(tc, test_inherit_not_ours);
    tcase_add_test(tc, test_inherit_bad);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_inherit_suite)
