/*
 * server.h - the server socket of one worker: its event loop (loop.h: base, connections,
 * configuration reference), a listener per listen address, the accept that counts a new
 * connection against the limits and makes it a TLS handshake or an HTTP connection, an
 * orderly stop, and the handover of the listeners to a new process (an upgrade). Another
 * thread reaches it only through server_wake_stop, server_wake_conf and
 * server_wake_handover (and the loop's calls).
 */
#ifndef WSB_SERVER_H
#define WSB_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

struct authpool;
struct event;
struct inherit;
struct connlimits;
struct listener;
struct runconf_slot;
struct server;

/* One listening socket of a worker and what its connections become. */
struct server_port {
    struct server *server;     /* not owned */
    size_t index;              /* its entry in config->listen (and in tls->listeners) */
    bool tls;                  /* TLS, not plain HTTP (a reload may not change it) */
    bool shared;               /* worker 0's: every worker accepts from this one socket
                                * (a Unix socket, or one handed in at start) */
    bool adopted;              /* the socket was handed in at start */
    struct listener *listener; /* owned */
};

struct server {
    struct loop loop;           /* its event loop, connections and configuration reference */
    struct server_port **ports; /* each allocated alone: callbacks point at it */
    size_t n_ports;
    struct event *wake_stop;    /* activated by the main thread: server_stop here */
    atomic_uint stops_asked;    /* server_wake_stop calls not yet acted on: two quick
                                 * signals must not merge into one active event */
    struct event *wake_conf;    /* activated by the main thread: a reload happened */
    struct event *wake_handover; /* activated by the main thread: a new process listens */
    struct event *stop_timer;   /* bounds a graceful stop */
    struct event *drain_timer;  /* after a handover: drain_timeout, then a stop */
};

/* Builds worker <id> in <s>: its loop (over the configuration in <published>, the shared
 * <limits> and password <pool>), wake-up events, and a bound, listening socket per listen
 * address, with SO_REUSEPORT when there are several workers; a Unix socket is bound by
 * worker 0 alone (<first> NULL) and shared by worker <first> (worker 0, built already)
 * with the others. Worker 0 takes the sockets handed in at start from <in> (NULL: none):
 * those of a "systemd:NAME" entry (-1 with "listen systemd:NAME: ..." if there is none),
 * and those bound to a listen address, which it then does not bind; the other workers
 * accept from worker 0's sockets for those entries. Returns 0, or -1 with "what failed:
 * why" in <err>; server_free is safe afterwards either way. On the main thread, before
 * any worker thread starts. */
int server_init(struct server *s, unsigned id, const struct server *first,
                struct runconf_slot *published, struct connlimits *limits, struct authpool *pool,
                struct inherit *in, char *err, size_t err_len);

/* Runs the event loop until a stop has been handled. Returns 0. On the worker's thread. */
int server_run(struct server *s);

/* Frees everything <s> owns, connections included. Safe after a failed server_init. */
void server_free(struct server *s);

/* Begins a graceful stop: listeners closed, every connection asked to stop (WebSocket
 * clients get close 1001); the loop ends when no connection is left or after
 * shutdown_timeout. A second call ends the loop at once. On the worker's own thread. */
void server_stop(struct server *s);

/* Another process accepts from the same sockets now (an upgrade): closes the listeners
 * (the other process's descriptors keep the sockets, their queues and Unix socket files),
 * lets the live connections go on for drain_timeout (idle HTTP ones close), then stops
 * as server_stop does; drain_timeout 0 stops at once. The loop ends when no connection
 * is left. Nothing after a stop began. On the worker's own thread. */
void server_handover(struct server *s);

/* Asks worker <s> to run server_stop, to take the current configuration, or to run
 * server_handover, on its own thread. Any thread (event_active is thread-safe). */
void server_wake_stop(struct server *s);
void server_wake_conf(struct server *s);
void server_wake_handover(struct server *s);

#endif
