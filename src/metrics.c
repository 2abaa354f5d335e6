/*
 * metrics.c - Prometheus text exposition format 0.0.4 (prometheus/docs,
 * "Exposition formats"), no I/O: families, escaped labels, cumulative histograms, and
 * the registry wsbridge fills. Serving the text over HTTP is admin.c's; when to count is
 * the glue's.
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

static const char *const metrics_type_names[] = {
    [METRICS_COUNTER] = "counter",
    [METRICS_GAUGE] = "gauge",
    [METRICS_HISTOGRAM] = "histogram",
};

/* Writer ---------------------------------------------------------------------------- */

/* Prepares <w> to send text to <write>(<arg>, ...). */
void metrics_writer_init(struct metrics_writer *w, metrics_write_fn write, void *arg)
{
    memset(w, 0, sizeof(*w));
    w->write = write;
    w->arg = arg;
}

/* Stops <w> with static text <why>; returns -1. */
static int metrics_fail(struct metrics_writer *w, const char *why)
{
    if (w->error == NULL)
        w->error = why;
    return -1;
}

static int metrics_put(struct metrics_writer *w, const char *data, size_t len)
{
    if (w->error != NULL)
        return -1;
    if (len > 0 && w->write(w->arg, data, len) != 0)
        return metrics_fail(w, "output failed");
    return 0;
}

static int metrics_puts(struct metrics_writer *w, const char *s)
{
    return metrics_put(w, s, strlen(s));
}

/* Writes <s> with the escapes of a HELP text (<quoted> false: backslash, newline) or of a
 * label value (<quoted> true: also the double quote). Unescaped runs go out in one call. */
static int metrics_put_escaped(struct metrics_writer *w, const char *s, bool quoted)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\'            ? "\\\\"
                          : *s == '\n'          ? "\\n"
                          : *s == '"' && quoted ? "\\\""
                                                : NULL;
        if (esc == NULL)
            continue;
        if (metrics_put(w, run, (size_t)(s - run)) < 0 || metrics_puts(w, esc) < 0)
            return -1;
        run = s + 1;
    }
    return metrics_put(w, run, (size_t)(s - run));
}

/* metric_name = [a-zA-Z_:][a-zA-Z0-9_:]*; label names allow no colon. */
static bool metrics_is_name(const char *s, bool label)
{
    if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (; *s != '\0'; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || (ch == ':' && !label)))
            return false;
    }
    return true;
}

/* Writes <v> as the format spells numbers: see metrics.h. */
const char *metrics_format_number(double v, char *out)
{
    char e[METRICS_NUMBER_MAX];
    int digits, exp;

    if (isnan(v))
        return strcpy(out, "NaN");
    if (isinf(v))
        return strcpy(out, v > 0 ? "+Inf" : "-Inf");
    /* The fewest significant digits that read back as the same double: %.17g always
     * round-trips but prints 0.1 as 0.10000000000000001. */
    for (digits = 1; digits < 17; digits++) {
        snprintf(e, sizeof(e), "%.*e", digits - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", digits - 1, v);
    exp = atoi(strchr(e, 'e') + 1);
    /* Then the layout of Go's strconv.FormatFloat(v, 'g', -1, 64), which the Prometheus
     * client libraries write: an exponent below 1e-4 and from 1e6 up, else plain digits.
     * "le" values must be the same text in every exporter to be summed across them. */
    if (exp < -4 || exp >= 6)
        return strcpy(out, e);
    snprintf(out, METRICS_NUMBER_MAX, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
    return out;
}

/* Starts family <name> of <type>: see metrics.h. */
int metrics_write_family(struct metrics_writer *w, const char *name, enum metrics_type type,
                         const char *help)
{
    if (w->error != NULL)
        return -1;
    if (!metrics_is_name(name, false) || strlen(name) > METRICS_NAME_MAX)
        return metrics_fail(w, "bad metric name");
    if (type != METRICS_COUNTER && type != METRICS_GAUGE && type != METRICS_HISTOGRAM)
        return metrics_fail(w, "bad metric type");
    strcpy(w->family, name);
    w->type = type;
    if (help != NULL &&
        (metrics_puts(w, "# HELP ") < 0 || metrics_puts(w, name) < 0 || metrics_puts(w, " ") < 0 ||
         metrics_put_escaped(w, help, false) < 0 || metrics_puts(w, "\n") < 0))
        return -1;
    if (metrics_puts(w, "# TYPE ") < 0 || metrics_puts(w, name) < 0 || metrics_puts(w, " ") < 0 ||
        metrics_puts(w, metrics_type_names[type]) < 0 || metrics_puts(w, "\n") < 0)
        return -1;
    return 0;
}

/* Checks the <n> labels at <labels> for a sample of <w>'s current family of <type>. */
static int metrics_check_sample(struct metrics_writer *w, enum metrics_type type,
                                const struct metrics_label *labels, size_t n)
{
    if (w->error != NULL)
        return -1;
    if (w->family[0] == '\0')
        return metrics_fail(w, "sample before any family");
    if (w->type != type)
        return metrics_fail(w, "sample of another type than its family");
    for (size_t i = 0; i < n; i++) {
        if (!metrics_is_name(labels[i].name, true) || strncmp(labels[i].name, "__", 2) == 0)
            return metrics_fail(w, "bad label name");
        if (labels[i].value == NULL)
            return metrics_fail(w, "label without a value");
        if (type == METRICS_HISTOGRAM && strcmp(labels[i].name, "le") == 0)
            return metrics_fail(w, "label \"le\" is the histogram's own");
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i].name, labels[j].name) == 0)
                return metrics_fail(w, "label given twice");
    }
    return 0;
}

/* Writes one sample line: family name and <suffix>, the <n> labels at <labels> plus
 * le=<le> when not NULL, then <value> (already formatted). Labels are checked. */
static int metrics_put_sample(struct metrics_writer *w, const char *suffix,
                              const struct metrics_label *labels, size_t n, const char *le,
                              const char *value)
{
    if (metrics_puts(w, w->family) < 0 || metrics_puts(w, suffix) < 0)
        return -1;
    if (n > 0 || le != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (metrics_puts(w, i == 0 ? "{" : ",") < 0 || metrics_puts(w, labels[i].name) < 0 ||
                metrics_puts(w, "=\"") < 0 || metrics_put_escaped(w, labels[i].value, true) < 0 ||
                metrics_puts(w, "\"") < 0)
                return -1;
        }
        if (le != NULL && (metrics_puts(w, n == 0 ? "{le=\"" : ",le=\"") < 0 ||
                           metrics_puts(w, le) < 0 || metrics_puts(w, "\"") < 0))
            return -1;
        if (metrics_puts(w, "}") < 0)
            return -1;
    }
    if (metrics_puts(w, " ") < 0 || metrics_puts(w, value) < 0 || metrics_puts(w, "\n") < 0)
        return -1;
    return 0;
}

/* Writes one sample of the current counter family: see metrics.h. */
int metrics_write_counter(struct metrics_writer *w, const struct metrics_label *labels, size_t n,
                          uint64_t value)
{
    char text[METRICS_NUMBER_MAX];

    if (metrics_check_sample(w, METRICS_COUNTER, labels, n) < 0)
        return -1;
    snprintf(text, sizeof(text), "%" PRIu64, value);
    return metrics_put_sample(w, "", labels, n, NULL, text);
}

/* As metrics_write_counter, for a gauge family. */
int metrics_write_gauge(struct metrics_writer *w, const struct metrics_label *labels, size_t n,
                        double value)
{
    char text[METRICS_NUMBER_MAX];

    if (metrics_check_sample(w, METRICS_GAUGE, labels, n) < 0)
        return -1;
    return metrics_put_sample(w, "", labels, n, NULL, metrics_format_number(value, text));
}

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

/* Writes <h> as samples of the current histogram family: see metrics.h. */
int metrics_write_histogram(struct metrics_writer *w, const struct metrics_label *labels, size_t n,
                            const struct metrics_histogram *h)
{
    char le[METRICS_NUMBER_MAX], text[METRICS_NUMBER_MAX];
    uint64_t cumulative = 0;

    if (metrics_check_sample(w, METRICS_HISTOGRAM, labels, n) < 0)
        return -1;
    if (h->n_bounds == 0 || h->n_bounds > METRICS_BUCKETS_MAX)
        return metrics_fail(w, "histogram not initialised");
    for (size_t i = 0; i <= h->n_bounds; i++) {
        cumulative += h->counts[i];
        snprintf(text, sizeof(text), "%" PRIu64, cumulative);
        if (metrics_put_sample(w, "_bucket", labels, n,
                               i < h->n_bounds ? metrics_format_number(h->bounds[i], le) : "+Inf",
                               text) < 0)
            return -1;
    }
    if (metrics_put_sample(w, "_sum", labels, n, NULL, metrics_format_number(h->sum, text)) < 0)
        return -1;
    /* _count is written from the buckets so that it equals le="+Inf" by construction. */
    snprintf(text, sizeof(text), "%" PRIu64, cumulative);
    return metrics_put_sample(w, "_count", labels, n, NULL, text);
}

/* Buffer sink --------------------------------------------------------------------------- */

/* A metrics_write_fn appending to the struct metrics_buf at <buf>: see metrics.h. */
int metrics_buf_append(void *buf, const char *data, size_t len)
{
    struct metrics_buf *b = buf;
    size_t max = b->max_bytes != 0 ? b->max_bytes : METRICS_BUF_MAX_BYTES;

    if (len > max || b->len > max - len)
        return -1;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        char *grown;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        grown = realloc(b->data, cap);
        if (grown == NULL)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

/* Frees the text of <b> and empties it; max_bytes is kept. */
void metrics_buf_reset(struct metrics_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
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

/* Writes every family of <m> through <write>(<arg>, ...): see metrics.h. */
int metrics_write(const struct metrics *m, metrics_write_fn write, void *arg)
{
    struct metrics_writer w;
    char text[32];

    metrics_writer_init(&w, write, arg);
    for (size_t c = 0; c < sizeof(metrics_route_counters) / sizeof(metrics_route_counters[0]);
         c++) {
        metrics_write_family(&w, metrics_route_counters[c].name, METRICS_COUNTER,
                             metrics_route_counters[c].help);
        for (size_t i = 0; i < m->n_routes; i++) {
            struct metrics_label l = {"route", m->routes[i]->path};
            metrics_write_counter(
                &w, &l, 1, metrics_route_value(m->routes[i], metrics_route_counters[c].offset));
        }
    }
    metrics_write_family(&w, "wsbridge_connections_open", METRICS_GAUGE,
                         "WebSocket clients open now, by route.");
    for (size_t i = 0; i < m->n_routes; i++) {
        struct metrics_label l = {"route", m->routes[i]->path};
        metrics_write_gauge(&w, &l, 1, (double)m->routes[i]->connections_open);
    }
    metrics_write_family(&w, "wsbridge_backpressure_pauses_total", METRICS_COUNTER,
                         "Times reading stopped because the other side had more than "
                         "high_watermark queued, by route and the side no longer read.");
    for (size_t i = 0; i < m->n_routes; i++) {
        struct metrics_label l[2] = {{"route", m->routes[i]->path}, {"paused", "client"}};
        metrics_write_counter(&w, l, 2, m->routes[i]->client_read_pauses);
        l[1].value = "target";
        metrics_write_counter(&w, l, 2, m->routes[i]->target_read_pauses);
    }
    metrics_write_family(&w, "wsbridge_target_connect_seconds", METRICS_HISTOGRAM,
                         "Time to connect to a target (DNS included), by route.");
    for (size_t i = 0; i < m->n_routes; i++) {
        struct metrics_label l = {"route", m->routes[i]->path};
        metrics_write_histogram(&w, &l, 1, &m->routes[i]->connect_seconds);
    }
    metrics_write_family(&w, "wsbridge_handshakes_failed_total", METRICS_COUNTER,
                         "Upgrade requests answered with an HTTP error, by status and reason.");
    for (size_t i = 0; i < m->n_failures; i++) {
        struct metrics_label l[2] = {{"status", text}, {"reason", m->failures[i].reason}};
        snprintf(text, sizeof(text), "%d", m->failures[i].status);
        metrics_write_counter(&w, l, 2, m->failures[i].count);
    }
    if (m->failures_other > 0) {
        struct metrics_label l[2] = {{"status", "other"}, {"reason", "other"}};
        metrics_write_counter(&w, l, 2, m->failures_other);
    }
    metrics_write_family(&w, "wsbridge_closes_total", METRICS_COUNTER,
                         "WebSocket connections closed, by close code (RFC 6455 7.4).");
    for (size_t i = 0; i < m->n_closes; i++) {
        struct metrics_label l = {"code", text};
        snprintf(text, sizeof(text), "%u", m->closes[i].code);
        metrics_write_counter(&w, &l, 1, m->closes[i].count);
    }
    if (m->closes_other > 0) {
        struct metrics_label l = {"code", "other"};
        metrics_write_counter(&w, &l, 1, m->closes_other);
    }
    metrics_write_family(&w, "wsbridge_connections_refused_total", METRICS_COUNTER,
                         "Connections closed at accept, unread, by the limit they would have "
                         "passed.");
    for (size_t i = 0; i < m->n_refused; i++) {
        struct metrics_label l = {"reason", m->refused[i].reason};
        metrics_write_counter(&w, &l, 1, m->refused[i].count);
    }
    if (m->refused_other > 0) {
        struct metrics_label l = {"reason", "other"};
        metrics_write_counter(&w, &l, 1, m->refused_other);
    }
    return w.error == NULL ? 0 : -1;
}
