/*
 * server.h - the server socket of one worker: event base, listeners, and the set of live
 * connections (TLS handshakes, requests being read, WebSocket clients, connections being
 * closed). It owns every connection object; they point back at it without owning it.
 * What workers share (the current configuration, the connection counts, signals) is in
 * workers.c; a worker touches it only at accept, admit, close, reload and stop.
 */
#ifndef WSB_SERVER_H
#define WSB_SERVER_H

#include <stdatomic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/util.h>

#include "addr.h"
#include "connslot.h"

struct addrinfo;
struct admin;
struct config;
struct route;
struct runconf;
struct event;
struct event_base;
struct evdns_base;
struct bufferevent;
struct evconnlistener;
struct httpconn;
struct drain;
struct metrics;
struct static_root;
struct wsclient;
struct tls;
struct tls_listener;
struct workers;

TAILQ_HEAD(httpconn_list, httpconn);
TAILQ_HEAD(wsclient_list, wsclient);
TAILQ_HEAD(drain_list, drain);

struct server_listener {
    struct server *server;          /* not owned */
    size_t index;                   /* its entry in config->listen (and in tls->listeners) */
    bool tls;                       /* TLS, not plain HTTP (a reload may not change it) */
    struct evconnlistener *lev;     /* owns the listening socket */
    struct event *retry;            /* re-enables accepting after EMFILE and the like */
    char name[64];                  /* "127.0.0.1:8080" for logs */
};

/* A connection accepted on a TLS listener, before httpconn: waiting for its first byte,
 * then for its handshake. Both steps are bounded by one deadline. */
struct server_tlsconn {
    TAILQ_ENTRY(server_tlsconn) link;
    struct server *server;          /* not owned */
    struct server_listener *listener; /* not owned */
    struct runconf *conf;           /* a reference: the SNI callback uses its TLS contexts */
    evutil_socket_t fd;             /* owned until the bufferevent takes it; then -1 */
    struct event *first_byte;       /* readable: peek whether it is TLS at all */
    struct event *deadline;         /* handshake_timeout from the accept */
    struct bufferevent *bev;        /* the TLS connection while it shakes hands; owned */
    struct sockaddr_storage sa;     /* the peer, for httpconn */
    bool done;                      /* handed on or closed; waits for the reaper */
    struct connslot slot;           /* its count, handed on with the connection */
    char peer[ADDR_SOCKADDR_STR_MAX];
};

TAILQ_HEAD(server_tlsconn_list, server_tlsconn);

/* What one worker holds, counted by its own thread for a SIGUSR2 status line. */
struct server_status {
    unsigned long connecting, open, closing; /* WebSocket clients by state */
    unsigned long http;                     /* requests being read or answered */
    unsigned long tls;                      /* TLS handshakes */
    unsigned long draining;                 /* connections being drained and closed */
};

struct server {
    struct workers *workers;        /* not owned: what the workers share */
    unsigned id;                    /* 0 for the main thread's worker, then 1, 2 ... */
    struct event_base *base;
    struct evdns_base *dns;
    struct runconf *conf;           /* this worker's reference to the current configuration:
                                     * new connections take theirs from here; replaced
                                     * after a reload, at the next accept or wake-up */
    struct server_listener **listeners; /* each allocated alone: callbacks point at it */
    size_t n_listeners;
    struct server_tlsconn_list tlsconns; /* accepted on a TLS listener, handshake not done */
    struct httpconn_list httpconns; /* accepted, request head not done yet */
    struct wsclient_list wsclients; /* upgraded (or connecting to their target) */
    struct drain_list drains;     /* being drained and closed */
    struct wsclient_list dead;      /* finished, freed by the reaper */
    struct httpconn_list dead_http; /* finished, freed by the reaper */
    struct server_tlsconn_list dead_tls; /* finished, freed by the reaper */
    struct event *reaper;           /* frees dead objects outside their callbacks */
    struct event *wake_stop;        /* activated by the main thread: server_stop here */
    atomic_uint stops_asked;        /* server_wake_stop calls not yet acted on: two quick
                                     * signals must not merge into one active event */
    struct event *wake_conf;        /* activated by the main thread: a reload happened */
    struct event *wake_status;      /* activated by the main thread: take a snapshot */
    struct event *stop_timer;       /* bounds a graceful stop */
    bool stopping;                  /* a stop signal arrived: accept nothing more */
    atomic_uint ws_clients;         /* WebSocket clients this worker counted (connslot.c;
                                     * any thread reads it for the status line) */
    struct server_status status;    /* the last snapshot, for workers_status_done */
    struct metrics *metrics;        /* owned: this worker's counters by route path,
                                     * outliving any config; touched by its thread only */
    struct event *wake_metrics;     /* activated by the admin endpoint: copy the counters */
    pthread_mutex_t snap_lock;      /* guards the four fields below */
    pthread_cond_t snap_cond;       /* signalled when a copy is made */
    bool snap_made;                 /* snap_lock and snap_cond initialised, to destroy */
    unsigned long snap_asked, snap_done; /* copies asked for / made */
    struct metrics *snap;           /* owned: the last copy of metrics; NULL if none */
    struct server_status snap_status; /* what the worker held at that copy */
    struct admin *admin;            /* owned: the admin endpoint, on worker 0 only; NULL
                                     * without admin.listen */
};

/* Builds worker <id> of <w> in <s> for configuration <conf> (taking its reference even
 * on failure): event base, DNS, wake-up events, and a bound, listening socket per listen
 * address, with SO_REUSEPORT when there are several workers. Returns 0, or -1 with "what
 * failed: why" in <err>. Called on the main thread before any worker thread starts. */
int server_init(struct server *s, struct workers *w, unsigned id, struct runconf *conf,
                char *err, size_t err_len);

/* Creates a socket for <ai>, binds it with SO_REUSEADDR (IPv6: V6ONLY) and listens.
 * Returns the descriptor (non-blocking, close-on-exec), or -1 with "bind NAME: why" (or
 * socket, listen) in <err>, <name> being the address as logs write it. */
evutil_socket_t server_listen_socket(const struct addrinfo *ai, const char *name, char *err,
                                     size_t err_len);

/* Runs the event loop until a stop has been handled. Returns 0. On the worker's thread. */
int server_run(struct server *s);

/* Frees everything <s> owns, connections included. Safe after a failed server_init. */
void server_free(struct server *s);

/* Asks the reaper to run: called after an object was moved to a dead list. */
void server_reap_soon(struct server *s);

/* Begins a graceful stop: listeners closed, every WebSocket client sent close 1001,
 * the loop ends when all connections are gone or after shutdown_timeout. A second call
 * ends the loop at once. On the worker's own thread. */
void server_stop(struct server *s);

/* Asks worker <s> to run server_stop, to take the current configuration, or to take a
 * status snapshot, on its own thread. Any thread (event_active is thread-safe). */
void server_wake_stop(struct server *s);
void server_wake_conf(struct server *s);
void server_wake_status(struct server *s);

/* Adds every count of <add> to <sum>. */
void server_status_add(struct server_status *sum, const struct server_status *add);

/* Counts what <s> holds now, by state. On <s>'s own thread only. */
void server_count_status(const struct server *s, struct server_status *st);

/* Asks <s> (another worker) for a copy of its counters, made on its own thread. Returns
 * the ticket to wait for with server_metrics_wait. Any thread. */
unsigned long server_metrics_ask(struct server *s);

/* Waits until the copy of <ticket> is made, up to <deadline> (CLOCK_REALTIME), then adds
 * it to <into> and its connection states to <st>. Returns 0, or -1 if <s> did not answer
 * in time (a worker ending its loop) or memory ran out. Any thread but <s>'s. */
int server_metrics_wait(struct server *s, unsigned long ticket, const struct timespec *deadline,
                        struct metrics *into, struct server_status *st);

/* The current configuration: new connections use it. */
const struct config *server_config(const struct server *s);

/* Called when a connection was removed from the live sets: a stopping server ends its
 * loop once nothing is left. */
void server_conn_gone(struct server *s);

#endif
