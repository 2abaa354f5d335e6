/*
 * test_route.c - unit tests for route.c: tables of request targets and the route each
 * selects, run against the same routes written in two orders (the answer must not depend
 * on the order), and against a set with a slash-star catch-all.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "config.h"
#include "route.h"

/* Exact and prefix routes nested in each other, prefix routes before exact ones. */
static const char routes_forward[] = "routes:\n"
                                     "  - { path: /a/*, target: echo }\n"
                                     "  - { path: /a, target: echo }\n"
                                     "  - { path: /vnc/*, target: \"127.0.0.1:5901\" }\n"
                                     "  - { path: /vnc/deep/*, target: echo }\n"
                                     "  - { path: /vnc/exact, target: echo }\n"
                                     "  - { path: /echo, target: echo }\n"
                                     "  - { path: /, target: echo }\n";

/* The same routes, exact ones first and shorter prefixes last. */
static const char routes_reverse[] = "routes:\n"
                                     "  - { path: /, target: echo }\n"
                                     "  - { path: /echo, target: echo }\n"
                                     "  - { path: /vnc/exact, target: echo }\n"
                                     "  - { path: /vnc/deep/*, target: echo }\n"
                                     "  - { path: /vnc/*, target: \"127.0.0.1:5901\" }\n"
                                     "  - { path: /a, target: echo }\n"
                                     "  - { path: /a/*, target: echo }\n";

static const char routes_catch_all[] = "routes:\n"
                                       "  - { path: /*, target: echo }\n"
                                       "  - { path: /echo, target: echo }\n"
                                       "  - { path: /x/*, target: echo }\n";

struct match_case {
    const char *url;
    const char *path; /* path of the route expected, NULL for none */
};

static const struct match_case nested_cases[] = {
    {"/echo", "/echo"},
    {"/echo?x=1", "/echo"},
    {"/echo?", "/echo"},
    {"/echo/", NULL},
    {"/echox", NULL},
    {"/ech", NULL},
    {"/ECHO", NULL},
    {"/echo#top", NULL},
    {"/", "/"},
    {"/?q=/echo", "/"},
    {"", NULL},
    {"?x", NULL},
    {"*", NULL},
    {"http://host/echo", NULL},
    {"//echo", NULL},
    {"/vnc", "/vnc/*"},
    {"/vnc/", "/vnc/*"},
    {"/vnc/x", "/vnc/*"},
    {"/vnc/x/y", "/vnc/*"},
    {"/vnc?token=1", "/vnc/*"},
    {"/vnc/?token=1", "/vnc/*"},
    {"/vncx", NULL},
    {"/vn", NULL},
    {"/VNC/x", NULL},
    {"/vnc/deep", "/vnc/deep/*"},
    {"/vnc/deep/", "/vnc/deep/*"},
    {"/vnc/deep/1/2", "/vnc/deep/*"},
    {"/vnc/deeper", "/vnc/*"},
    {"/vnc/dee", "/vnc/*"},
    {"/vnc/exact", "/vnc/exact"},
    {"/vnc/exact?q", "/vnc/exact"},
    {"/vnc/exact/", "/vnc/*"},
    {"/vnc/exactly", "/vnc/*"},
    {"/a", "/a"},
    {"/a?", "/a"},
    {"/a/", "/a/*"},
    {"/a/b", "/a/*"},
    {"/ab", NULL},
};

static const struct match_case catch_all_cases[] = {
    {"/", "/*"},          {"/anything/at/all", "/*"},
    {"/?q", "/*"},        {"/echo", "/echo"},
    {"/echo?x", "/echo"}, {"/echo/", "/*"},
    {"/x", "/x/*"},       {"/x/", "/x/*"},
    {"/x/y", "/x/*"},     {"/xy", "/*"},
    {"", "/*"},           {"*", NULL},
    {"echo", NULL},
};

static struct config *test_route_parse(const char *yaml)
{
    char err[256] = "";
    struct config *c = config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));

    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static void test_route_check_match(const char *yaml, const struct match_case *t)
{
    struct config *c = test_route_parse(yaml);
    const struct route *r = route_match(c, t->url);

    if (t->path == NULL)
        ck_assert_msg(r == NULL, "\"%s\" matched %s", t->url, r != NULL ? r->path : "");
    else
        ck_assert_msg(r != NULL && strcmp(r->path, t->path) == 0, "\"%s\": got %s, want %s", t->url,
                      r != NULL ? r->path : "none", t->path);
    config_free(c);
}

START_TEST(test_route_forward)
{
    test_route_check_match(routes_forward, &nested_cases[_i]);
}
END_TEST

START_TEST(test_route_reverse)
{
    test_route_check_match(routes_reverse, &nested_cases[_i]);
}
END_TEST

START_TEST(test_route_catch_all)
{
    test_route_check_match(routes_catch_all, &catch_all_cases[_i]);
}
END_TEST

/* The match returns the route itself, with its target, not a copy. */
START_TEST(test_route_returns_route)
{
    struct config *c = test_route_parse(routes_forward);
    const struct route *r = route_match(c, "/vnc/1");

    ck_assert_ptr_eq(r, &c->routes[2]);
    ck_assert_str_eq(r->target.host, "127.0.0.1");
    ck_assert_uint_eq(r->target.port, 5901);
    config_free(c);
}
END_TEST

/* A config with no routes (web_root only) and NULL arguments select nothing. */
START_TEST(test_route_none)
{
    struct config *c = test_route_parse("web_root: /srv/www\n");

    ck_assert_ptr_null(route_match(c, "/"));
    ck_assert_ptr_null(route_match(c, "/echo"));
    ck_assert_ptr_null(route_match(c, NULL));
    ck_assert_ptr_null(route_match(NULL, "/echo"));
    config_free(c);
}
END_TEST

/* route_match relies on prefix and match_len only, so a config built by hand works too. */
START_TEST(test_route_hand_built)
{
    struct route routes[2] = {
        {.path = "/p/*", .prefix = true, .match_len = 3},
        {.path = "/p/q/*", .prefix = true, .match_len = 5},
    };
    struct config c = {.routes = routes, .n_routes = 2};

    ck_assert_ptr_eq(route_match(&c, "/p"), &routes[0]);
    ck_assert_ptr_eq(route_match(&c, "/p/r"), &routes[0]);
    ck_assert_ptr_eq(route_match(&c, "/p/q"), &routes[1]);
    ck_assert_ptr_eq(route_match(&c, "/p/q/r?s"), &routes[1]);
    ck_assert_ptr_null(route_match(&c, "/pq"));
}
END_TEST

static Suite *test_route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("match");

    tcase_add_loop_test(tc, test_route_forward, 0, sizeof(nested_cases) / sizeof(nested_cases[0]));
    tcase_add_loop_test(tc, test_route_reverse, 0, sizeof(nested_cases) / sizeof(nested_cases[0]));
    tcase_add_loop_test(tc, test_route_catch_all, 0,
                        sizeof(catch_all_cases) / sizeof(catch_all_cases[0]));
    tcase_add_test(tc, test_route_returns_route);
    tcase_add_test(tc, test_route_none);
    tcase_add_test(tc, test_route_hand_built);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_route_suite)
