/*
 * test_conn.c - unit tests for conn.c (glue, but it needs only an event base): a finished
 * connection is freed once, by the reaper, after the callback that finished it has
 * returned; conn_finish is idempotent; a stop reaches every live connection once, and
 * on_empty comes only after a stop, once nothing is live (connections added by a stop
 * included); counts by kind and state; connset_free frees the live and the dead.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "conn.h"

/* A connection of the tests: it records what was done to it. */
struct test_obj {
    struct conn conn;
    const char *state;  /* what the state op says */
    int stops;          /* stop op calls */
    int *frees;         /* incremented by the free op: outlives the object */
    bool finish_on_stop; /* the stop op finishes it */
    struct connset *add_on_stop; /* the stop op adds a new connection here (a "drain") */
};

static int test_frees_of_added; /* frees of the objects added by a stop */

static void test_obj_free(struct conn *c)
{
    struct test_obj *o = CONN_OF(c, struct test_obj, conn);

    (*o->frees)++;
    free(o);
}

static const char *test_obj_state(const struct conn *c)
{
    return CONN_OF(c, struct test_obj, conn)->state;
}

static struct test_obj *test_obj_new(struct connset *set, const struct conn_ops *ops, int *frees);

static const struct conn_ops test_drain_ops = {.kind = "drain", .free = test_obj_free};

static void test_obj_stop(struct conn *c)
{
    struct test_obj *o = CONN_OF(c, struct test_obj, conn);

    o->stops++;
    if (o->add_on_stop != NULL)
        test_obj_new(o->add_on_stop, &test_drain_ops, &test_frees_of_added);
    if (o->finish_on_stop)
        conn_finish(c);
}

static const struct conn_ops test_ws_ops = {
    .kind = "websocket", .free = test_obj_free, .state = test_obj_state, .stop = test_obj_stop};
static const struct conn_ops test_http_ops = {
    .kind = "http", .free = test_obj_free, .state = test_obj_state, .stop = test_obj_stop};

static struct test_obj *test_obj_new(struct connset *set, const struct conn_ops *ops, int *frees)
{
    struct test_obj *o = calloc(1, sizeof(*o));

    ck_assert_ptr_nonnull(o);
    o->frees = frees;
    o->state = "open";
    conn_add(set, &o->conn, ops);
    return o;
}

static int test_empty_calls;

static void test_on_empty(void *arg)
{
    ck_assert_ptr_eq(arg, &test_empty_calls);
    test_empty_calls++;
}

static void test_run(struct event_base *base)
{
    /* Each round runs what is active; two rounds cover a reaper armed by the first. */
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_loop(base, EVLOOP_NONBLOCK);
}

/* A timer whose callback finishes its connection and still uses it afterwards. */
struct test_timer_arg {
    struct test_obj *obj;
    int *frees;
    int frees_inside; /* frees seen after conn_finish, inside the callback */
};

static void test_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct test_timer_arg *t = arg;

    (void)fd;
    (void)what;
    conn_finish(&t->obj->conn);
    conn_finish(&t->obj->conn); /* idempotent */
    t->obj->state = "still usable";
    t->frees_inside = *t->frees;
}

START_TEST(test_conn_free_after_callback)
{
    struct event_base *base = event_base_new();
    struct connset set;
    int frees = 0;
    struct test_timer_arg t = {.frees = &frees, .frees_inside = -1};
    struct event *ev;

    ck_assert_int_eq(connset_init(&set, base, test_on_empty, &test_empty_calls), 0);
    test_empty_calls = 0;
    t.obj = test_obj_new(&set, &test_ws_ops, &frees);
    ck_assert_uint_eq(connset_live(&set, "websocket"), 1);
    ck_assert(!conn_is_finished(&t.obj->conn));
    ev = evtimer_new(base, test_on_timer, &t);
    event_active(ev, EV_TIMEOUT, 0);
    test_run(base);
    ck_assert_int_eq(t.frees_inside, 0); /* not freed within the callback */
    ck_assert_int_eq(frees, 1);          /* freed once, by the reaper */
    ck_assert_uint_eq(connset_live(&set, "websocket"), 0);
    ck_assert_int_eq(test_empty_calls, 0); /* empty, but no stop was asked */
    event_free(ev);
    connset_free(&set);
    ck_assert_int_eq(frees, 1);
    event_base_free(base);
}
END_TEST

START_TEST(test_conn_stop_and_empty)
{
    struct event_base *base = event_base_new();
    struct connset set;
    struct test_obj *a, *b, *c;
    int frees = 0;

    ck_assert_int_eq(connset_init(&set, base, test_on_empty, &test_empty_calls), 0);
    test_empty_calls = 0;
    test_frees_of_added = 0;
    a = test_obj_new(&set, &test_ws_ops, &frees);
    b = test_obj_new(&set, &test_http_ops, &frees);
    c = test_obj_new(&set, &test_ws_ops, &frees);
    a->finish_on_stop = true;    /* finishes itself at the stop */
    a->add_on_stop = &set;       /* and hands a socket to "drain" */
    c->finish_on_stop = true;
    c->add_on_stop = &set;       /* the last one adds after itself */
    connset_stop(&set);
    ck_assert_int_eq(a->stops, 1);
    ck_assert_int_eq(b->stops, 1);
    ck_assert_int_eq(c->stops, 1);
    ck_assert_uint_eq(connset_live(&set, "drain"), 2);
    test_run(base);
    ck_assert_int_eq(frees, 2);          /* a and c */
    ck_assert_int_eq(test_empty_calls, 0); /* b and the drains are live */
    conn_finish(&b->conn);
    test_run(base);
    ck_assert_int_eq(frees, 3);
    ck_assert_int_eq(test_empty_calls, 0); /* the drains are live */
    connset_free(&set);                  /* frees the live drains */
    ck_assert_int_eq(test_frees_of_added, 2);
    event_base_free(base);
}
END_TEST

START_TEST(test_conn_empty_at_stop)
{
    struct event_base *base = event_base_new();
    struct connset set;
    struct test_obj *a;
    int frees = 0;

    ck_assert_int_eq(connset_init(&set, base, test_on_empty, &test_empty_calls), 0);
    test_empty_calls = 0;
    a = test_obj_new(&set, &test_http_ops, &frees);
    connset_stop(&set);
    test_run(base);
    ck_assert_int_eq(test_empty_calls, 0);
    conn_finish(&a->conn);
    test_run(base);
    ck_assert_int_eq(frees, 1);
    ck_assert_int_eq(test_empty_calls, 1); /* once the last is reaped */
    connset_free(&set);
    event_base_free(base);

    /* Nothing live at the stop: on_empty from the reaper, not from connset_stop. */
    base = event_base_new();
    ck_assert_int_eq(connset_init(&set, base, test_on_empty, &test_empty_calls), 0);
    test_empty_calls = 0;
    connset_stop(&set);
    ck_assert_int_eq(test_empty_calls, 0);
    test_run(base);
    ck_assert_int_eq(test_empty_calls, 1);
    connset_free(&set);
    event_base_free(base);
}
END_TEST

START_TEST(test_conn_count)
{
    struct event_base *base = event_base_new();
    struct connset set;
    struct test_obj *o[5];
    int frees = 0;
    struct connset_tally t[] = {
        {"websocket", "connecting", 0},
        {"websocket", "open", 0},
        {"http", NULL, 0},
        {"drain", NULL, 0},
    };

    ck_assert_int_eq(connset_init(&set, base, NULL, NULL), 0);
    o[0] = test_obj_new(&set, &test_ws_ops, &frees);
    o[1] = test_obj_new(&set, &test_ws_ops, &frees);
    o[2] = test_obj_new(&set, &test_ws_ops, &frees);
    o[3] = test_obj_new(&set, &test_http_ops, &frees);
    o[4] = test_obj_new(&set, &test_http_ops, &frees);
    o[0]->state = "connecting";
    o[4]->state = "sending";
    conn_finish(&o[2]->conn); /* finished: counted no more */
    connset_count(&set, t, sizeof(t) / sizeof(t[0]));
    ck_assert_uint_eq(t[0].n, 1);
    ck_assert_uint_eq(t[1].n, 1);
    ck_assert_uint_eq(t[2].n, 2); /* any state */
    ck_assert_uint_eq(t[3].n, 0);
    ck_assert_uint_eq(connset_live(&set, "websocket"), 2);
    ck_assert_uint_eq(connset_live(&set, "http"), 2);
    ck_assert_uint_eq(connset_live(&set, "nothing"), 0);
    connset_free(&set); /* before the reaper ran: the dead one too */
    ck_assert_int_eq(frees, 5);
    event_base_free(base);
}
END_TEST

/* More kinds than the set keeps counters for: connset_live counts them by walking. */
START_TEST(test_conn_many_kinds)
{
    static char kinds[CONNSET_KINDS_MAX + 3][16];
    static struct conn_ops ops[CONNSET_KINDS_MAX + 3];
    struct event_base *base = event_base_new();
    struct connset set;
    int frees = 0;

    ck_assert_int_eq(connset_init(&set, base, NULL, NULL), 0);
    for (size_t i = 0; i < CONNSET_KINDS_MAX + 3; i++) {
        snprintf(kinds[i], sizeof(kinds[i]), "kind%zu", i);
        ops[i] = (struct conn_ops){.kind = kinds[i], .free = test_obj_free};
        test_obj_new(&set, &ops[i], &frees);
        test_obj_new(&set, &ops[i], &frees);
    }
    for (size_t i = 0; i < CONNSET_KINDS_MAX + 3; i++)
        ck_assert_uint_eq(connset_live(&set, kinds[i]), 2);
    connset_free(&set);
    ck_assert_int_eq(frees, 2 * (CONNSET_KINDS_MAX + 3));
    event_base_free(base);
}
END_TEST

static Suite *test_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("lifecycle");

    tcase_add_test(tc, test_conn_free_after_callback);
    tcase_add_test(tc, test_conn_stop_and_empty);
    tcase_add_test(tc, test_conn_empty_at_stop);
    tcase_add_test(tc, test_conn_count);
    tcase_add_test(tc, test_conn_many_kinds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(test_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
