/*
 * metrics.c - the registry of wsbridge's own counters, no I/O: per route (clients,
 * bytes, backpressure pauses, connect latency histogram), handshake failures, close
 * codes and refusals in bounded tables, the merge of several registries, and their
 * exposition through promtext.c. When to count is the glue's; serving is admin.c's.
 */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds: from a local target (well under a millisecond) to connect_timeout's default. */
static const double metrics_connect_bounds[METRICS_CONNECT_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Histograms ------------------------------------------------------------------------ */

/* Prepares <h> with <n> upper bounds at <bounds>: see metrics.h. */
int metrics_histogram_init(struct metrics_histogram *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof(*h));
    if (bounds == NULL || n == 0 || n > METRICS_BUCKETS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
            return -1;
    h->bounds = bounds;
    h->n_bounds = n;
    return 0;
}

/* Counts <v> in the first bucket whose bound is >= <v>: see metrics.h. */
void metrics_histogram_observe(struct metrics_histogram *h, double v)
{
    size_t i = 0;

    if (isnan(v))
        return;
    while (i < h->n_bounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

/* Registry -------------------------------------------------------------------------- */

/* Returns an empty registry: see metrics.h. */
struct metrics *metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

/* Frees <m>; NULL is fine. */
void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_routes; i++) {
        free(m->routes[i]->path);
        free(m->routes[i]);
    }
    free(m->routes);
    free(m->index);
    free(m);
}

/* FNV-1a: short paths, no adversary (paths come from the configuration). */
static size_t metrics_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The slot of <path> in <m>'s index: the one holding it, or the empty one where it would
 * go. The index is never full (at most half its slots are used). */
static size_t metrics_slot(const struct metrics *m, const char *path)
{
    size_t mask = m->n_index - 1, i = metrics_hash(path) & mask;

    while (m->index[i] != 0 && strcmp(m->routes[m->index[i] - 1]->path, path) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Makes room for one more route in <m>: the array and an index at most half full.
 * Returns 0, or -1 with <m> unchanged. */
static int metrics_reserve(struct metrics *m)
{
    if (m->n_routes == m->cap_routes) {
        size_t cap = m->cap_routes == 0 ? 8 : m->cap_routes * 2;
        struct metrics_route **grown = realloc(m->routes, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        m->routes = grown;
        m->cap_routes = cap;
    }
    if (2 * (m->n_routes + 1) > m->n_index) {
        size_t n = m->n_index == 0 ? 16 : m->n_index * 2;
        size_t *index = calloc(n, sizeof(*index)), *old = m->index;
        if (index == NULL)
            return -1;
        m->index = index;
        m->n_index = n;
        for (size_t i = 0; i < m->n_routes; i++)
            m->index[metrics_slot(m, m->routes[i]->path)] = i + 1;
        free(old);
    }
    return 0;
}

/* Finds or adds the entry of route <path>: see metrics.h. */
struct metrics_route *metrics_route_get(struct metrics *m, const char *path)
{
    struct metrics_route *r;

    if (m->n_index > 0) {
        size_t slot = metrics_slot(m, path);
        if (m->index[slot] != 0)
            return m->routes[m->index[slot] - 1];
    }
    if (metrics_reserve(m) < 0 || (r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    if ((r->path = strdup(path)) == NULL) {
        free(r);
        return NULL;
    }
    /* Cannot fail: the bounds are static and checked by the unit tests. */
    metrics_histogram_init(&r->connect_seconds, metrics_connect_bounds, METRICS_CONNECT_BUCKETS);
    m->routes[m->n_routes++] = r;
    m->index[metrics_slot(m, path)] = m->n_routes;
    return r;
}

/* Counts one handshake answered with <status> for <reason>: see metrics.h. */
void metrics_count_failure(struct metrics *m, int status, const char *reason)
{
    char cut[METRICS_REASON_MAX + 1];
    struct metrics_failure *f;

    snprintf(cut, sizeof(cut), "%s", reason != NULL ? reason : "");
    for (size_t i = 0; i < m->n_failures; i++) {
        if (m->failures[i].status == status && strcmp(m->failures[i].reason, cut) == 0) {
            m->failures[i].count++;
            return;
        }
    }
    if (m->n_failures == METRICS_FAILURES_MAX) {
        m->failures_other++;
        return;
    }
    f = &m->failures[m->n_failures++];
    f->status = status;
    memcpy(f->reason, cut, sizeof(cut));
    f->count = 1;
}

/* Counts one WebSocket close with <code>: see metrics.h. */
void metrics_count_close(struct metrics *m, unsigned code)
{
    for (size_t i = 0; i < m->n_closes; i++) {
        if (m->closes[i].code == code) {
            m->closes[i].count++;
            return;
        }
    }
    if (m->n_closes == METRICS_CLOSE_CODES_MAX) {
        m->closes_other++;
        return;
    }
    m->closes[m->n_closes++] = (struct metrics_close){.code = code, .count = 1};
}

/* The refusal entry of <reason> in <m>, added with count 0 if there is room; NULL if not. */
static struct metrics_refused *metrics_refused_entry(struct metrics *m, const char *reason)
{
    char cut[METRICS_REASON_MAX + 1];
    struct metrics_refused *r;

    snprintf(cut, sizeof(cut), "%s", reason != NULL ? reason : "");
    for (size_t i = 0; i < m->n_refused; i++)
        if (strcmp(m->refused[i].reason, cut) == 0)
            return &m->refused[i];
    if (m->n_refused == METRICS_REFUSED_MAX)
        return NULL;
    r = &m->refused[m->n_refused++];
    memcpy(r->reason, cut, sizeof(cut));
    r->count = 0;
    return r;
}

/* Counts one connection refused at accept for <reason>: see metrics.h. */
void metrics_count_refused(struct metrics *m, const char *reason)
{
    struct metrics_refused *r = metrics_refused_entry(m, reason);

    if (r != NULL)
        r->count++;
    else
        m->refused_other++;
}

void metrics_count_proxy_refused(struct metrics *m, enum metrics_proxy_refusal why)
{
    if ((size_t)why < METRICS_PROXY_REFUSALS)
        m->proxy_refused[why]++;
}

/* Adds <n> to the failure (<status>, <reason>) of <m>, as that many metrics_count_failure. */
static void metrics_add_failure(struct metrics *m, int status, const char *reason, uint64_t n)
{
    metrics_count_failure(m, status, reason);
    for (size_t i = 0; i < m->n_failures; i++)
        if (m->failures[i].status == status && strcmp(m->failures[i].reason, reason) == 0) {
            m->failures[i].count += n - 1;
            return;
        }
    m->failures_other += n - 1;
}

/* Adds <n> to close code <code> of <m>, as that many metrics_count_close. */
static void metrics_add_close(struct metrics *m, unsigned code, uint64_t n)
{
    metrics_count_close(m, code);
    for (size_t i = 0; i < m->n_closes; i++)
        if (m->closes[i].code == code) {
            m->closes[i].count += n - 1;
            return;
        }
    m->closes_other += n - 1;
}

/* Adds every count of <src> to <dst>: see metrics.h. */
int metrics_merge(struct metrics *dst, const struct metrics *src)
{
    for (size_t i = 0; i < src->n_routes; i++) {
        const struct metrics_route *from = src->routes[i];
        struct metrics_route *to = metrics_route_get(dst, from->path);
        if (to == NULL)
            return -1;
        to->connections_total += from->connections_total;
        to->connections_open += from->connections_open;
        to->to_target_bytes += from->to_target_bytes;
        to->to_client_bytes += from->to_client_bytes;
        to->client_read_pauses += from->client_read_pauses;
        to->target_read_pauses += from->target_read_pauses;
        /* Same bounds: every route's histogram has the connect buckets. */
        for (size_t b = 0; b <= from->connect_seconds.n_bounds; b++)
            to->connect_seconds.counts[b] += from->connect_seconds.counts[b];
        to->connect_seconds.sum += from->connect_seconds.sum;
        to->connect_seconds.count += from->connect_seconds.count;
    }
    for (size_t i = 0; i < src->n_failures; i++)
        metrics_add_failure(dst, src->failures[i].status, src->failures[i].reason,
                            src->failures[i].count);
    dst->failures_other += src->failures_other;
    for (size_t i = 0; i < src->n_closes; i++)
        metrics_add_close(dst, src->closes[i].code, src->closes[i].count);
    dst->closes_other += src->closes_other;
    for (size_t i = 0; i < src->n_refused; i++) {
        struct metrics_refused *r = metrics_refused_entry(dst, src->refused[i].reason);
        if (r != NULL)
            r->count += src->refused[i].count;
        else
            dst->refused_other += src->refused[i].count;
    }
    dst->refused_other += src->refused_other;
    for (size_t i = 0; i < METRICS_PROXY_REFUSALS; i++)
        dst->proxy_refused[i] += src->proxy_refused[i];
    return 0;
}

/* One per-route counter family: its name, help and field. */
struct metrics_route_counter {
    const char *name;
    const char *help;
    size_t offset; /* of a uint64_t in struct metrics_route */
};

#define METRICS_ROUTE_FIELD(m) offsetof(struct metrics_route, m)

static const struct metrics_route_counter metrics_route_counters[] = {
    {"wsbridge_connections_total", "WebSocket clients accepted (101 sent), by route.",
     METRICS_ROUTE_FIELD(connections_total)},
    {"wsbridge_bytes_to_target_total", "Payload bytes written to targets, by route.",
     METRICS_ROUTE_FIELD(to_target_bytes)},
    {"wsbridge_bytes_to_client_total", "Bytes read from targets and sent to clients, by route.",
     METRICS_ROUTE_FIELD(to_client_bytes)},
};

static uint64_t metrics_route_value(const struct metrics_route *r, size_t offset)
{
    return *(const uint64_t *)((const char *)r + offset);
}

/* Writes histogram <h> as a series of the current family of <w>, with <n> <labels>. */
static int metrics_write_histogram(struct promtext_writer *w, const struct promtext_label *labels,
                                   size_t n, const struct metrics_histogram *h)
{
    const struct promtext_buckets b = {
        .bounds = h->bounds, .n_bounds = h->n_bounds, .counts = h->counts, .sum = h->sum};

    return promtext_write_histogram(w, labels, n, &b);
}

/* Writes every family of <m> through <write>(<arg>, ...): see metrics.h. */
int metrics_write(const struct metrics *m, promtext_write_fn write, void *arg)
{
    struct promtext_writer w;
    char text[32];

    promtext_writer_init(&w, write, arg);
    for (size_t c = 0; c < sizeof(metrics_route_counters) / sizeof(metrics_route_counters[0]);
         c++) {
        promtext_write_family(&w, metrics_route_counters[c].name, PROMTEXT_COUNTER,
                              metrics_route_counters[c].help);
        for (size_t i = 0; i < m->n_routes; i++) {
            struct promtext_label l = {"route", m->routes[i]->path};
            promtext_write_counter(
                &w, &l, 1, metrics_route_value(m->routes[i], metrics_route_counters[c].offset));
        }
    }
    promtext_write_family(&w, "wsbridge_connections_open", PROMTEXT_GAUGE,
                          "WebSocket clients open now, by route.");
    for (size_t i = 0; i < m->n_routes; i++) {
        struct promtext_label l = {"route", m->routes[i]->path};
        promtext_write_gauge(&w, &l, 1, (double)m->routes[i]->connections_open);
    }
    promtext_write_family(&w, "wsbridge_backpressure_pauses_total", PROMTEXT_COUNTER,
                          "Times reading stopped because the other side had more than "
                          "high_watermark queued (or, spliced, a full client socket), by "
                          "route and the side no longer read.");
    for (size_t i = 0; i < m->n_routes; i++) {
        struct promtext_label l[2] = {{"route", m->routes[i]->path}, {"paused", "client"}};
        promtext_write_counter(&w, l, 2, m->routes[i]->client_read_pauses);
        l[1].value = "target";
        promtext_write_counter(&w, l, 2, m->routes[i]->target_read_pauses);
    }
    promtext_write_family(&w, "wsbridge_target_connect_seconds", PROMTEXT_HISTOGRAM,
                          "Time to connect to a target (DNS included), by route.");
    for (size_t i = 0; i < m->n_routes; i++) {
        struct promtext_label l = {"route", m->routes[i]->path};
        metrics_write_histogram(&w, &l, 1, &m->routes[i]->connect_seconds);
    }
    promtext_write_family(&w, "wsbridge_handshakes_failed_total", PROMTEXT_COUNTER,
                          "Upgrade requests answered with an HTTP error, by status and reason.");
    for (size_t i = 0; i < m->n_failures; i++) {
        struct promtext_label l[2] = {{"status", text}, {"reason", m->failures[i].reason}};
        snprintf(text, sizeof(text), "%d", m->failures[i].status);
        promtext_write_counter(&w, l, 2, m->failures[i].count);
    }
    if (m->failures_other > 0) {
        struct promtext_label l[2] = {{"status", "other"}, {"reason", "other"}};
        promtext_write_counter(&w, l, 2, m->failures_other);
    }
    promtext_write_family(&w, "wsbridge_closes_total", PROMTEXT_COUNTER,
                          "WebSocket connections closed, by close code (RFC 6455 7.4).");
    for (size_t i = 0; i < m->n_closes; i++) {
        struct promtext_label l = {"code", text};
        snprintf(text, sizeof(text), "%u", m->closes[i].code);
        promtext_write_counter(&w, &l, 1, m->closes[i].count);
    }
    if (m->closes_other > 0) {
        struct promtext_label l = {"code", "other"};
        promtext_write_counter(&w, &l, 1, m->closes_other);
    }
    promtext_write_family(&w, "wsbridge_connections_refused_total", PROMTEXT_COUNTER,
                          "Connections closed at accept, unread, by the limit they would have "
                          "passed.");
    for (size_t i = 0; i < m->n_refused; i++) {
        struct promtext_label l = {"reason", m->refused[i].reason};
        promtext_write_counter(&w, &l, 1, m->refused[i].count);
    }
    if (m->refused_other > 0) {
        struct promtext_label l = {"reason", "other"};
        promtext_write_counter(&w, &l, 1, m->refused_other);
    }
    /* Every reason, zeros included: an alert on a rate needs the series before the first. */
    promtext_write_family(&w, "wsbridge_proxy_header_refused_total", PROMTEXT_COUNTER,
                          "Connections on proxy_protocol listeners closed before a PROXY header "
                          "was taken: peer not in proxy_from, malformed header, or none within "
                          "handshake_timeout.");
    for (size_t i = 0; i < METRICS_PROXY_REFUSALS; i++) {
        static const char *const names[METRICS_PROXY_REFUSALS] = {
            [METRICS_PROXY_PEER] = "peer",
            [METRICS_PROXY_MALFORMED] = "malformed",
            [METRICS_PROXY_TIMEOUT] = "timeout",
        };
        struct promtext_label l = {"reason", names[i]};
        promtext_write_counter(&w, &l, 1, m->proxy_refused[i]);
    }
    return w.error == NULL ? 0 : -1;
}
