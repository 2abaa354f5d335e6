/*
 * test_metrics.c - unit tests for metrics.c, the registry: histograms count each value in
 * the first bucket whose bound is >= it; routes are found by path and never move; the
 * failure, close and refusal tables are bounded with an "other" row; merging registries
 * sums them; and every exposition of a registry is read back by the strict parser of
 * promparse.h (the text format itself is test_promtext.c's).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "metrics.h"
#include "promparse.h"
#include "promtext.h"

/* Histograms ------------------------------------------------------------------------ */

static const double test_bounds[] = {0.5, 1, 2.5};

struct histogram_case {
    double values[8];
    size_t n;
    uint64_t counts[4]; /* per bucket: le 0.5, 1, 2.5, above all */
    double sum;
    uint64_t count;
};

static const struct histogram_case histogram_cases[] = {
    {{0}, 0, {0, 0, 0, 0}, 0, 0},
    {{0.5}, 1, {1, 0, 0, 0}, 0.5, 1},
    {{0.5000001}, 1, {0, 1, 0, 0}, 0.5000001, 1},
    {{1, 1, 1}, 3, {0, 3, 0, 0}, 3, 3},
    {{2.5, 3}, 2, {0, 0, 1, 1}, 5.5, 2},
    {{-1, 0, 100}, 3, {2, 0, 0, 1}, 99, 3},
    {{INFINITY}, 1, {0, 0, 0, 1}, INFINITY, 1},
    {{NAN, 0.25}, 2, {1, 0, 0, 0}, 0.25, 1}, /* NaN is not counted */
    {{0.1, 0.6, 1.2, 2.4, 2.6, 0.2, 1, 9}, 8, {2, 2, 2, 2}, 17.1, 8},
};

/* Each value lands in the first bucket whose bound is >= it (le is inclusive). */
START_TEST(test_metrics_histogram)
{
    const struct histogram_case *t = &histogram_cases[_i];
    struct metrics_histogram h;

    ck_assert_int_eq(metrics_histogram_init(&h, test_bounds, 3), 0);
    for (size_t i = 0; i < t->n; i++)
        metrics_histogram_observe(&h, t->values[i]);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(h.counts[i] == t->counts[i], "bucket %zu: %llu", i,
                      (unsigned long long)h.counts[i]);
    ck_assert_uint_eq(h.count, t->count);
    ck_assert_msg(fabs(h.sum - t->sum) < 1e-9 || (isinf(t->sum) && h.sum == t->sum), "sum %g",
                  h.sum);
}
END_TEST

START_TEST(test_metrics_histogram_init)
{
    static const double flat[] = {1, 1}, down[] = {2, 1}, nan_b[] = {1, NAN},
                        inf_b[] = {1, INFINITY};
    double many[METRICS_BUCKETS_MAX + 1];
    struct metrics_histogram h;

    for (size_t i = 0; i <= METRICS_BUCKETS_MAX; i++)
        many[i] = (double)i;
    ck_assert_int_eq(metrics_histogram_init(&h, flat, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, down, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, nan_b, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, inf_b, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, many, 0), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, NULL, 1), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, many, METRICS_BUCKETS_MAX + 1), -1);
    ck_assert_uint_eq(h.n_bounds, 0); /* a failed init leaves nothing to count into */
    ck_assert_int_eq(metrics_histogram_init(&h, many, METRICS_BUCKETS_MAX), 0);
    metrics_histogram_observe(&h, 1e9);
    ck_assert_uint_eq(h.counts[METRICS_BUCKETS_MAX], 1);
}
END_TEST

/* Registry -------------------------------------------------------------------------- */

/* A sink that takes <budget> bytes, then fails; notes calls made after it failed. */
struct failing_sink {
    size_t budget;      /* bytes it takes */
    size_t taken;       /* bytes taken */
    bool failed;        /* it has refused a write */
    size_t calls_after; /* writes asked of it after that */
};

static int failing_sink_write(void *arg, const char *data, size_t len)
{
    struct failing_sink *s = arg;

    (void)data;
    if (s->failed) {
        s->calls_after++;
        return -1;
    }
    if (len > s->budget - s->taken) {
        s->failed = true;
        return -1;
    }
    s->taken += len;
    return 0;
}

static struct metrics *registry_sample(void)
{
    struct metrics *m = metrics_new();
    struct metrics_route *echo, *vnc;

    ck_assert_ptr_nonnull(m);
    echo = metrics_route_get(m, "/echo");
    vnc = metrics_route_get(m, "/vnc/*");
    ck_assert_ptr_nonnull(echo);
    ck_assert_ptr_nonnull(vnc);
    ck_assert_ptr_nonnull(metrics_route_get(m, "/odd\"path\\"));
    echo->connections_total = 12;
    echo->connections_open = 2;
    echo->to_target_bytes = 1000;
    echo->to_client_bytes = 5000000000ull;
    echo->client_read_pauses = 3;
    vnc->target_read_pauses = 4;
    metrics_histogram_observe(&echo->connect_seconds, 0.0003);
    metrics_histogram_observe(&echo->connect_seconds, 0.0005);
    metrics_histogram_observe(&echo->connect_seconds, 0.2);
    metrics_histogram_observe(&echo->connect_seconds, 11);
    metrics_count_failure(m, 404, "no route");
    metrics_count_failure(m, 404, "no route");
    metrics_count_failure(m, 426, "Sec-WebSocket-Version must be 13");
    metrics_count_failure(m, 400, "bad \"key\"\nline");
    metrics_count_close(m, 1000);
    metrics_count_close(m, 1001);
    metrics_count_close(m, 1000);
    metrics_count_refused(m, "max_connections_per_ip");
    metrics_count_refused(m, "fd_reserve");
    metrics_count_refused(m, "max_connections_per_ip");
    metrics_count_proxy_refused(m, METRICS_PROXY_PEER);
    metrics_count_proxy_refused(m, METRICS_PROXY_PEER);
    metrics_count_proxy_refused(m, METRICS_PROXY_TIMEOUT);
    return m;
}

START_TEST(test_metrics_registry)
{
    static const char *const families[][2] = {
        {"wsbridge_connections_total", "counter"},
        {"wsbridge_bytes_to_target_total", "counter"},
        {"wsbridge_bytes_to_client_total", "counter"},
        {"wsbridge_connections_open", "gauge"},
        {"wsbridge_backpressure_pauses_total", "counter"},
        {"wsbridge_target_connect_seconds", "histogram"},
        {"wsbridge_handshakes_failed_total", "counter"},
        {"wsbridge_closes_total", "counter"},
        {"wsbridge_connections_refused_total", "counter"},
        {"wsbridge_proxy_header_refused_total", "counter"},
    };
    struct metrics *m = registry_sample();
    struct promtext_buf b = {0};
    const struct promparse_sample *s;
    struct promparse *p;

    ck_assert_int_eq(metrics_write(m, promtext_buf_append, &b), 0);
    p = promparse_ok(&b);
    ck_assert_uint_eq(p->n_families, sizeof(families) / sizeof(families[0]));
    for (size_t i = 0; i < p->n_families; i++) {
        ck_assert_str_eq(p->families[i].name, families[i][0]);
        ck_assert_str_eq(p->families[i].type, families[i][1]);
        ck_assert(p->families[i].has_help && p->families[i].help[0] != '\0');
    }
    s = promparse_find(p, "wsbridge_connections_total", "route", "/echo");
    ck_assert(s != NULL && s->value == 12);
    s = promparse_find(p, "wsbridge_connections_total", "route", "/odd\"path\\");
    ck_assert(s != NULL && s->value == 0);
    s = promparse_find(p, "wsbridge_connections_open", "route", "/echo");
    ck_assert(s != NULL && s->value == 2);
    s = promparse_find(p, "wsbridge_bytes_to_client_total", "route", "/echo");
    ck_assert(s != NULL && s->value == 5e9);
    s = promparse_find(p, "wsbridge_bytes_to_target_total", "route", "/echo");
    ck_assert(s != NULL && s->value == 1000);
    s = promparse_find(p, "wsbridge_backpressure_pauses_total", "paused", "client");
    ck_assert(s != NULL && s->value == 3 && strcmp(promparse_label(s, "route"), "/echo") == 0);
    ck_assert(strstr(b.data, "wsbridge_backpressure_pauses_total{route=\"/vnc/*\","
                             "paused=\"target\"} 4\n") != NULL);
    s = promparse_find(p, "wsbridge_handshakes_failed_total", "reason", "no route");
    ck_assert(s != NULL && s->value == 2 && strcmp(promparse_label(s, "status"), "404") == 0);
    s = promparse_find(p, "wsbridge_handshakes_failed_total", "reason", "bad \"key\"\nline");
    ck_assert(s != NULL && s->value == 1 && strcmp(promparse_label(s, "status"), "400") == 0);
    s = promparse_find(p, "wsbridge_closes_total", "code", "1000");
    ck_assert(s != NULL && s->value == 2);
    s = promparse_find(p, "wsbridge_closes_total", "code", "1001");
    ck_assert(s != NULL && s->value == 1);
    ck_assert_ptr_null(promparse_find(p, "wsbridge_closes_total", "code", "other"));
    ck_assert_ptr_null(promparse_find(p, "wsbridge_handshakes_failed_total", "reason", "other"));
    s = promparse_find(p, "wsbridge_connections_refused_total", "reason", "max_connections_per_ip");
    ck_assert(s != NULL && s->value == 2);
    s = promparse_find(p, "wsbridge_connections_refused_total", "reason", "fd_reserve");
    ck_assert(s != NULL && s->value == 1);
    ck_assert_ptr_null(promparse_find(p, "wsbridge_connections_refused_total", "reason", "other"));
    /* every reason of a PROXY header refusal, zeros too */
    s = promparse_find(p, "wsbridge_proxy_header_refused_total", "reason", "peer");
    ck_assert(s != NULL && s->value == 2);
    s = promparse_find(p, "wsbridge_proxy_header_refused_total", "reason", "malformed");
    ck_assert(s != NULL && s->value == 0);
    s = promparse_find(p, "wsbridge_proxy_header_refused_total", "reason", "timeout");
    ck_assert(s != NULL && s->value == 1);
    /* the connect histogram: 0.5 ms to 10 s, le inclusive, 11 s only in +Inf */
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"0.0005\"} 2\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"0.25\"} 3\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"10\"} 3\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"+Inf\"} 4\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_count{route=\"/echo\"} 4\n") != NULL);
    ck_assert_uint_eq(p->n_samples, 3 * 3 + 3 + 6 + 3 * (15 + 2) + 3 + 2 + 2 + 3);
    free(p);
    promtext_buf_reset(&b);
    metrics_free(m);
    metrics_free(NULL);
}
END_TEST

/* A registry with no routes and nothing counted is still a valid exposition. */
START_TEST(test_metrics_registry_empty)
{
    struct metrics *m = metrics_new();
    struct promtext_buf b = {0};
    struct promparse *p;

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(metrics_write(m, promtext_buf_append, &b), 0);
    p = promparse_ok(&b);
    ck_assert_uint_eq(p->n_families, 10);
    /* only the PROXY header refusals, whose three reasons are always written */
    ck_assert_uint_eq(p->n_samples, 3);
    free(p);
    promtext_buf_reset(&b);
    metrics_free(m);
}
END_TEST

/* metrics_merge: the sum of two registries, whatever each holds, is what one registry
 * would have counted; tables full in one stay bounded in the sum. */
START_TEST(test_metrics_merge)
{
    struct metrics *a = metrics_new(), *b = metrics_new(), *sum = metrics_new();
    struct metrics_route *ra, *rb, *rs;
    char reason[32];

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(sum);
    ra = metrics_route_get(a, "/both");
    rb = metrics_route_get(b, "/both");
    ra->connections_total = 3;
    ra->connections_open = 1;
    ra->to_target_bytes = 100;
    ra->to_client_bytes = 200;
    ra->client_read_pauses = 4;
    rb->connections_total = 5;
    rb->to_target_bytes = 1;
    rb->target_read_pauses = 2;
    metrics_histogram_observe(&ra->connect_seconds, 0.0001);
    metrics_histogram_observe(&rb->connect_seconds, 0.0001);
    metrics_histogram_observe(&rb->connect_seconds, 100.0);
    metrics_route_get(b, "/b-only")->connections_total = 7;
    metrics_count_failure(a, 404, "no route");
    metrics_count_failure(b, 404, "no route");
    metrics_count_failure(b, 403, "origin");
    metrics_count_close(a, 1000);
    metrics_count_close(b, 1000);
    metrics_count_close(b, 1001);
    /* b's failure table is full: its overflow adds to the sum's overflow */
    for (int i = 0; i < METRICS_FAILURES_MAX + 5; i++) {
        snprintf(reason, sizeof(reason), "r%d", i);
        metrics_count_failure(b, 500, reason);
    }
    metrics_count_refused(a, "max_pending_per_ip");
    metrics_count_refused(b, "max_pending_per_ip");
    metrics_count_refused(b, "fd_reserve");
    /* b's refusal table is full too */
    for (int i = 0; i < METRICS_REFUSED_MAX + 3; i++) {
        snprintf(reason, sizeof(reason), "x%d", i);
        metrics_count_refused(b, reason);
    }
    ck_assert_uint_eq(b->n_refused, METRICS_REFUSED_MAX);
    ck_assert_uint_eq(b->refused_other, 5);
    metrics_count_proxy_refused(a, METRICS_PROXY_MALFORMED);
    metrics_count_proxy_refused(b, METRICS_PROXY_MALFORMED);
    metrics_count_proxy_refused(b, METRICS_PROXY_TIMEOUT);
    ck_assert_int_eq(metrics_merge(sum, a), 0);
    ck_assert_int_eq(metrics_merge(sum, b), 0);
    rs = metrics_route_get(sum, "/both");
    ck_assert_uint_eq(rs->connections_total, 8);
    ck_assert_uint_eq(rs->connections_open, 1);
    ck_assert_uint_eq(rs->to_target_bytes, 101);
    ck_assert_uint_eq(rs->to_client_bytes, 200);
    ck_assert_uint_eq(rs->client_read_pauses, 4);
    ck_assert_uint_eq(rs->target_read_pauses, 2);
    ck_assert_uint_eq(rs->connect_seconds.count, 3);
    ck_assert_uint_eq(rs->connect_seconds.counts[0], 2);
    ck_assert_uint_eq(rs->connect_seconds.counts[METRICS_CONNECT_BUCKETS], 1);
    ck_assert(rs->connect_seconds.sum > 100.0 && rs->connect_seconds.sum < 100.001);
    ck_assert_uint_eq(metrics_route_get(sum, "/b-only")->connections_total, 7);
    ck_assert_uint_eq(sum->n_routes, 2);
    ck_assert_int_eq(sum->failures[0].status, 404);
    ck_assert_uint_eq(sum->failures[0].count, 2);
    ck_assert_int_eq(sum->failures[1].status, 403);
    ck_assert_uint_eq(sum->failures[1].count, 1);
    ck_assert_uint_eq(sum->n_failures, METRICS_FAILURES_MAX);
    /* b kept 62 of the 500s and counted 7 as other; the sum has room for the same 62 */
    ck_assert_uint_eq(sum->failures_other, b->failures_other);
    ck_assert_uint_eq(sum->closes[0].code, 1000);
    ck_assert_uint_eq(sum->closes[0].count, 2);
    ck_assert_uint_eq(sum->closes[1].code, 1001);
    ck_assert_uint_eq(sum->closes[1].count, 1);
    ck_assert_str_eq(sum->refused[0].reason, "max_pending_per_ip");
    ck_assert_uint_eq(sum->refused[0].count, 2);
    ck_assert_str_eq(sum->refused[1].reason, "fd_reserve");
    ck_assert_uint_eq(sum->refused[1].count, 1);
    ck_assert_uint_eq(sum->n_refused, METRICS_REFUSED_MAX);
    ck_assert_uint_eq(sum->refused_other, b->refused_other);
    ck_assert_uint_eq(sum->proxy_refused[METRICS_PROXY_PEER], 0);
    ck_assert_uint_eq(sum->proxy_refused[METRICS_PROXY_MALFORMED], 2);
    ck_assert_uint_eq(sum->proxy_refused[METRICS_PROXY_TIMEOUT], 1);
    metrics_free(a);
    metrics_free(b);
    metrics_free(sum);
}
END_TEST

/* Routes are found by path: the same path gives the same entry, which never moves while
 * thousands of others are added (the glue keeps the pointers across reloads), keeps its
 * counts, and is written in the order first asked for. */
START_TEST(test_metrics_route_get)
{
    enum { N_ROUTES = 3000 };
    struct metrics *m = metrics_new();
    struct metrics_route **kept = calloc(N_ROUTES, sizeof(*kept));
    struct promtext_buf b = {0};
    char path[32];
    const struct promparse_sample *s;
    struct promparse *p;

    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(kept);
    for (int i = 0; i < N_ROUTES; i++) {
        snprintf(path, sizeof(path), "/r%d", i);
        kept[i] = metrics_route_get(m, path);
        ck_assert_ptr_nonnull(kept[i]);
        ck_assert_str_eq(kept[i]->path, path);
        ck_assert_uint_eq(kept[i]->connections_total, 0);
        ck_assert_uint_eq(kept[i]->connect_seconds.n_bounds, METRICS_CONNECT_BUCKETS);
        kept[i]->connections_total = (uint64_t)i + 1;
        /* an earlier entry is still where it was, and found again */
        ck_assert_ptr_eq(metrics_route_get(m, "/r0"), kept[0]);
        ck_assert_ptr_eq(metrics_route_get(m, path), kept[i]);
    }
    ck_assert_uint_eq(m->n_routes, N_ROUTES);
    for (int i = 0; i < N_ROUTES; i++) {
        snprintf(path, sizeof(path), "/r%d", i);
        ck_assert_ptr_eq(metrics_route_get(m, path), kept[i]);
        ck_assert_uint_eq(kept[i]->connections_total, (uint64_t)i + 1);
    }
    ck_assert_uint_eq(m->n_routes, N_ROUTES);
    /* paths differing only late, empty, or in a byte the hash mixes in last */
    ck_assert_ptr_ne(metrics_route_get(m, "/r1"), metrics_route_get(m, "/r10"));
    ck_assert_ptr_nonnull(metrics_route_get(m, ""));
    ck_assert_ptr_eq(metrics_route_get(m, ""), m->routes[N_ROUTES]);
    ck_assert_uint_eq(m->n_routes, N_ROUTES + 1);
    ck_assert_int_eq(metrics_write(m, promtext_buf_append, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "wsbridge_connections_total{route=\"/r0\"} 1\n"
                                         "wsbridge_connections_total{route=\"/r1\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "wsbridge_connections_total{route=\"/r2999\"} 3000\n"
                                         "wsbridge_connections_total{route=\"\"} 0\n"));
    promtext_buf_reset(&b);
    metrics_free(m);
    free(kept);

    /* a small registry read back by the strict parser: one sample per route and family */
    m = metrics_new();
    ck_assert_ptr_nonnull(metrics_route_get(m, "/b"));
    ck_assert_ptr_nonnull(metrics_route_get(m, "/a"));
    metrics_route_get(m, "/b")->connections_open = 5;
    ck_assert_int_eq(metrics_write(m, promtext_buf_append, &b), 0);
    p = promparse_ok(&b);
    s = promparse_find(p, "wsbridge_connections_open", "route", "/b");
    ck_assert(s != NULL && s->value == 5);
    ck_assert(s ==
              promparse_find(p, "wsbridge_connections_open", NULL, NULL)); /* "/b" came first */
    ck_assert_uint_eq(p->n_samples, 2 * (3 + 1 + 2 + 15 + 2) + 3);
    free(p);
    promtext_buf_reset(&b);
    metrics_free(m);
}
END_TEST

/* The failure and close tables are bounded; what does not fit is counted as "other". */
START_TEST(test_metrics_registry_bounded)
{
    struct metrics *m = metrics_new();
    struct promtext_buf b = {0};
    char reason[160];
    const struct promparse_sample *s;
    struct promparse *p;

    for (int i = 0; i < METRICS_FAILURES_MAX + 10; i++) {
        snprintf(reason, sizeof(reason), "reason %d", i);
        metrics_count_failure(m, 400, reason);
    }
    metrics_count_failure(m, 400, "reason 3");
    metrics_count_failure(m, 400, NULL);
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    metrics_count_failure(m, 500, reason);
    for (unsigned code = 1000; code < 1000 + METRICS_CLOSE_CODES_MAX + 5; code++)
        metrics_count_close(m, code);
    ck_assert_uint_eq(m->n_failures, METRICS_FAILURES_MAX);
    ck_assert_uint_eq(m->failures_other, 12);
    ck_assert_uint_eq(m->n_closes, METRICS_CLOSE_CODES_MAX);
    ck_assert_uint_eq(m->closes_other, 5);
    ck_assert_int_eq(metrics_write(m, promtext_buf_append, &b), 0);
    p = promparse_ok(&b);
    s = promparse_find(p, "wsbridge_handshakes_failed_total", "reason", "reason 3");
    ck_assert(s != NULL && s->value == 2);
    s = promparse_find(p, "wsbridge_handshakes_failed_total", "reason", "other");
    ck_assert(s != NULL && s->value == 12 && strcmp(promparse_label(s, "status"), "other") == 0);
    s = promparse_find(p, "wsbridge_closes_total", "code", "other");
    ck_assert(s != NULL && s->value == 5);
    free(p);
    promtext_buf_reset(&b);
    metrics_free(m);

    /* reasons are cut to METRICS_REASON_MAX bytes */
    m = metrics_new();
    metrics_count_failure(m, 500, reason);
    ck_assert_uint_eq(strlen(m->failures[0].reason), METRICS_REASON_MAX);
    metrics_free(m);
}
END_TEST

/* An output that fails at any byte makes metrics_write fail, never crash or loop, and
 * nothing is written after the failure. */
START_TEST(test_metrics_output_fails)
{
    struct metrics *m = registry_sample();
    struct promtext_buf b = {0};

    ck_assert_int_eq(metrics_write(m, promtext_buf_append, &b), 0);
    for (size_t budget = 0; budget < b.len; budget++) {
        struct failing_sink s = {.budget = budget};
        ck_assert_int_eq(metrics_write(m, failing_sink_write, &s), -1);
        ck_assert(s.failed);
        ck_assert_uint_le(s.taken, budget);
        ck_assert_uint_eq(s.calls_after, 0);
    }
    {
        struct failing_sink s = {.budget = b.len};
        ck_assert_int_eq(metrics_write(m, failing_sink_write, &s), 0);
        ck_assert(!s.failed);
        ck_assert_uint_eq(s.taken, b.len);
    }
    promtext_buf_reset(&b);
    metrics_free(m);
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *histogram = tcase_create("histogram");
    TCase *registry = tcase_create("registry");

    tcase_add_loop_test(histogram, test_metrics_histogram, 0, N(histogram_cases));
    tcase_add_test(histogram, test_metrics_histogram_init);
    suite_add_tcase(s, histogram);
    tcase_add_test(registry, test_metrics_registry);
    tcase_add_test(registry, test_metrics_registry_empty);
    tcase_add_test(registry, test_metrics_route_get);
    tcase_add_test(registry, test_metrics_merge);
    tcase_add_test(registry, test_metrics_registry_bounded);
    tcase_add_test(registry, test_metrics_output_fails);
    suite_add_tcase(s, registry);
    return s;
}

CHECK_MAIN(test_suite)
