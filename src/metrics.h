/*
 * metrics.h - the registry of wsbridge's own counters, no I/O: the glue updates it, the
 * admin endpoint merges the workers' registries and writes them out in the Prometheus
 * text format (promtext.h).
 */
#ifndef WSB_METRICS_H
#define WSB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promtext.h"

/* Histograms ------------------------------------------------------------------------ */

#define METRICS_BUCKETS_MAX 32 /* finite upper bounds of one histogram */

struct metrics_histogram {
    const double *bounds; /* finite, increasing upper bounds; not owned */
    size_t n_bounds;
    uint64_t counts[METRICS_BUCKETS_MAX + 1]; /* per bucket, not summed; last: above all */
    double sum;                               /* of observed values */
    uint64_t count;                           /* observations */
};

/* Prepares <h> with <n> upper bounds at <bounds> (kept, not copied). Returns 0, or -1 if
 * <n> is 0 or over METRICS_BUCKETS_MAX or the bounds are not finite and increasing. */
int metrics_histogram_init(struct metrics_histogram *h, const double *bounds, size_t n);

/* Counts <v> in the first bucket whose bound is >= <v> (the "le" of the format), or
 * above all; NaN is ignored. */
void metrics_histogram_observe(struct metrics_histogram *h, double v);

/* Registry -------------------------------------------------------------------------- */

#define METRICS_CONNECT_BUCKETS 14 /* bounds of the target connect latency histogram */
#define METRICS_FAILURES_MAX 64    /* distinct (status, reason) pairs kept; others: "other" */
#define METRICS_REASON_MAX 63      /* bytes of a failure reason kept */
#define METRICS_CLOSE_CODES_MAX 64 /* distinct close codes kept; others: code="other" */
#define METRICS_REFUSED_MAX 16     /* distinct reasons for refusing at accept kept */

struct metrics_route {
    char *path;                               /* the route's path, label route="..." */
    uint64_t connections_total;               /* WebSocket clients accepted (101 sent) */
    uint64_t connections_open;                /* of those, not yet closed (a gauge) */
    uint64_t to_target_bytes;                 /* payload bytes written to the target */
    uint64_t to_client_bytes;                 /* bytes from the target sent to the client */
    uint64_t client_read_pauses;              /* client reads paused: target above high mark */
    uint64_t target_read_pauses;              /* target reads paused: client above high mark */
    struct metrics_histogram connect_seconds; /* target connect latency, seconds */
};

struct metrics_failure {
    int status;                          /* HTTP status answered instead of 101 */
    char reason[METRICS_REASON_MAX + 1]; /* short reason, as logged */
    uint64_t count;
};

struct metrics_close {
    unsigned code; /* WebSocket close code (RFC 6455 §7.4) */
    uint64_t count;
};

struct metrics_refused {
    char reason[METRICS_REASON_MAX + 1]; /* the limit reached, as its configuration key */
    uint64_t count;
};

/* Why a connection on a proxy_protocol listener was closed before its PROXY header was
 * taken (wsbridge_proxy_header_refused_total's reason label). */
enum metrics_proxy_refusal {
    METRICS_PROXY_PEER = 0,  /* the peer is not in proxy_from: closed unread */
    METRICS_PROXY_MALFORMED, /* the bytes are not a valid header of the listener's version */
    METRICS_PROXY_TIMEOUT,   /* no whole header within handshake_timeout */
    METRICS_PROXY_REFUSALS,  /* how many reasons there are */
};

/* Routes are found by path, not by position: a reload may add and drop routes while
 * connections of the old ones still count into their entries. */
struct metrics {
    struct metrics_route **routes; /* each allocated once, never moved or freed before
                                    * the registry: the glue keeps pointers to them */
    size_t n_routes, cap_routes;   /* in the order first asked for; capacity of routes */
    size_t *index;                 /* open addressing by path hash: 1 + position in
                                    * routes, or 0 for an empty slot */
    size_t n_index;                /* slots: a power of two, at least twice n_routes */
    struct metrics_failure failures[METRICS_FAILURES_MAX];
    size_t n_failures;
    uint64_t failures_other; /* failures past the table's capacity */
    struct metrics_close closes[METRICS_CLOSE_CODES_MAX];
    size_t n_closes;
    uint64_t closes_other; /* close codes past the table's capacity */
    struct metrics_refused refused[METRICS_REFUSED_MAX];
    size_t n_refused;
    uint64_t refused_other; /* reasons past the table's capacity */
    uint64_t proxy_refused[METRICS_PROXY_REFUSALS]; /* by enum metrics_proxy_refusal */
};

/* Returns an empty registry, or NULL if memory ran out. */
struct metrics *metrics_new(void);

/* Returns the entry of route <path> (any text; copied), adding a zeroed one, its
 * histogram set to the connect buckets (0.5 ms to 10 s), if there is none yet. The entry
 * stays at the same address until metrics_free, whatever is added after it, so the glue
 * keeps the pointer and adds to its counters directly. Entries are never removed: a
 * route dropped by a reload keeps its counters (Prometheus counters must not go back).
 * Returns NULL only if memory ran out (nothing is added then). */
struct metrics_route *metrics_route_get(struct metrics *m, const char *path);

/* Frees <m>; NULL is fine. */
void metrics_free(struct metrics *m);

/* Counts one handshake answered with <status> for <reason> (cut to METRICS_REASON_MAX
 * bytes; NULL is ""). Pairs past METRICS_FAILURES_MAX distinct ones are written with
 * status="other" and reason="other", so memory stays bounded whatever clients send. */
void metrics_count_failure(struct metrics *m, int status, const char *reason);

/* Counts one WebSocket close with <code>, bounded like metrics_count_failure. */
void metrics_count_close(struct metrics *m, unsigned code);

/* Counts one connection closed at accept for <reason> (the limit reached; cut to
 * METRICS_REASON_MAX bytes), bounded like metrics_count_failure (reason="other"). */
void metrics_count_refused(struct metrics *m, const char *reason);

/* Counts one connection closed before its PROXY header was taken, for <why>. */
void metrics_count_proxy_refused(struct metrics *m, enum metrics_proxy_refusal why);

/* Adds every count of <src> into <dst>: routes by path, failures by status and reason,
 * closes by code, refusals by reason, histograms bucket by bucket; what <dst> lacks is added. For
 * one exposition of several registries (one per worker thread). Returns 0, or -1 if memory ran out
 * (<dst> then holds part of <src>). */
int metrics_merge(struct metrics *dst, const struct metrics *src);

/* Writes every family of <m> through <write>(<arg>, ...) in the Prometheus text format,
 * names prefixed "wsbridge_". Returns 0, or -1 if <write> failed (what was written is
 * then incomplete). */
int metrics_write(const struct metrics *m, promtext_write_fn write, void *arg);

#endif
