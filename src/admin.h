/*
 * admin.h - the admin endpoint: listeners of its own (admin.listen) whose connections are
 * HTTP connections (httpconn.c) with this handler, one request each: GET or HEAD /metrics
 * (Prometheus text format 0.0.4: every loop's registry, collected asynchronously, then
 * the live connections and the process) and /healthz. Runs on one loop; its owner closes
 * it when that loop stops.
 */
#ifndef WSB_ADMIN_H
#define WSB_ADMIN_H

#include <stddef.h>

struct addr;
struct connlimits;
struct inherit;
struct listener;
struct loop;

#define ADMIN_CONNS_MAX 32      /* requests being read at once; more are closed unanswered */
#define ADMIN_LISTENERS_MAX 8   /* sockets for one admin.listen (a name may resolve to several) */
#define ADMIN_COLLECT_MS 500    /* how long /metrics waits for every loop's copy */

struct admin {
    struct loop *home;            /* not owned: the loop it runs on */
    struct loop *const *loops;    /* not owned: every loop, whose counters /metrics sums */
    size_t n_loops;
    struct connlimits *limits;    /* not owned: the connection counts */
    struct listener *listeners[ADMIN_LISTENERS_MAX];
    size_t n_listeners;
    double started;               /* Unix time of admin_new, for process metrics */
};

/* Opens the admin listeners on <home> for <listen> (every address the name resolves to)
 * and logs "admin listening on ADDR". /metrics sums the <n_loops> loops at <loops> and
 * reads <limits>; all of them outlive the endpoint. A socket of <in> (NULL: none) bound
 * to the address, handed over by the process this one replaces, is taken instead of
 * binding. Returns the new endpoint, or NULL
 * with "what failed: why" in <err> (a bind failure is a start failure, as for the main
 * listeners). */
struct admin *admin_new(struct loop *home, struct loop *const *loops, size_t n_loops,
                        struct connlimits *limits, const struct addr *listen, struct inherit *in,
                        char *err, size_t err_len);

/* Closes the listening sockets (a stop); requests already being read are still answered,
 * /healthz with 503 once <home> stops. NULL is fine. */
void admin_stop(struct admin *a);

/* Frees <a> and its listeners; NULL is fine. Its connections belong to <home>'s set: a
 * request still waiting for its counters then only lets its collection go. */
void admin_free(struct admin *a);

#endif
