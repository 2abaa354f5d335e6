/*
 * workers.h - the worker threads and what they share. Each worker is a struct server with
 * its own event loop, listeners (SO_REUSEPORT) and connections; worker 0 runs on the main
 * thread, which alone receives signals and forwards stop, reload and status to the others.
 * Shared, under one mutex and only at admit, close, reload and stop (never per byte): the
 * current configuration and the counts behind the connection limits.
 */
#ifndef WSB_WORKERS_H
#define WSB_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "conncount.h"

struct authpool;
struct event;
struct metrics;
struct server_status;
struct route;
struct runconf;
struct server;

struct workers {
    pthread_mutex_t lock;        /* guards conf, counts and reloads */
    bool lock_made;              /* lock initialised, to destroy */
    struct runconf *conf;        /* current configuration, a reference; under lock */
    atomic_ulong generation;     /* conf->generation: a worker sees a reload without the lock */
    struct conncount counts;     /* live connections of every worker; under lock */
    uint64_t fd_limit;           /* RLIMIT_NOFILE at start; 0: none */
    unsigned fd_in_use;          /* descriptors the daemon held at start, before any client */
    unsigned fd_reserve;         /* descriptors kept free for admitted connections; under lock */
    unsigned max_by_fds;         /* connections the descriptor budget holds (0: no limit);
                                  * under lock */
    unsigned long reloads;       /* configurations loaded by SIGHUP; under lock */
    size_t n;                    /* workers, >= 1 */
    struct server *servers;      /* n of them; servers[0] runs on the main thread */
    pthread_t *threads;          /* threads[i] runs servers[i]; [0] unused */
    size_t n_started;            /* threads[1 .. n_started] were created and must be joined */
    atomic_size_t running;       /* started threads whose loop has not ended */
    atomic_uint status_pending;  /* SIGUSR2: workers yet to take their snapshot */
    bool stopping;               /* a stop signal came; main thread only */
    struct event *thread_done;   /* on worker 0's base: a worker thread's loop ended */
    struct event *sig_term, *sig_int;
    struct event *sig_hup;       /* reloads the configuration */
    struct event *sig_usr1;      /* reopens the log file */
    struct event *sig_usr2;      /* logs a status line */
    struct authpool *authpool;   /* not owned (main.c's): hashes passwords for every worker */
};

/* Builds <w> for configuration <conf> (taking its reference even on failure): thread
 * support in libevent, then conf->workers servers, each with its event loop and a bound,
 * listening socket per listen address; signal handlers on worker 0. No thread is started
 * yet. Returns 0, or -1 with "what failed: why" in <err>. */
int workers_init(struct workers *w, struct runconf *conf, char *err, size_t err_len);

/* Starts a thread per worker but the first, with every signal blocked in it. Returns 0,
 * or -1 with "what failed: why" in <err> (the threads started are stopped and joined). */
int workers_start(struct workers *w, char *err, size_t err_len);

/* Runs worker 0 on the calling (main) thread until a stop has ended every worker, and
 * joins every thread. Returns 0. */
int workers_run(struct workers *w);

/* Frees everything <w> owns; its threads are joined. Safe after a failed workers_init. */
void workers_free(struct workers *w);

/* Loads the configuration file again (SIGHUP, main thread). A file that loads and keeps
 * the listen addresses and the worker count becomes current and every worker is told;
 * otherwise the error is logged and nothing changes. Returns 0 or -1. */
int workers_reload(struct workers *w);

/* A reference to the current configuration, for a worker (any thread). */
struct runconf *workers_conf_ref(struct workers *w);

/* The current configuration's generation, read without the lock (any thread). */
unsigned long workers_generation(struct workers *w);

/* What the counts hold now, for the status line and the admin endpoint. */
struct workers_counts {
    unsigned conns, pending, clients; /* connections counted; not upgraded; WebSocket */
    size_t addresses;                 /* distinct client addresses (IPv6: prefixes) */
    unsigned max_by_fds;              /* the descriptor budget; 0: no limit */
};

/* Checks the connection limits of the current configuration and the descriptor budget
 * for a connection just accepted with <t>->key and counts it as pending, in one step
 * under the lock, so that limits hold across workers. Returns NULL (counted; matched by
 * one workers_count_remove) or the limit reached with its value in <limit> (or "out of
 * memory"). <*budget_full>: the budget has no room left for one more accept on every
 * worker; the caller stops accepting until workers_count_has_room. Any thread. */
const char *workers_count_add(struct workers *w, struct conncount_ticket *t, unsigned *limit,
                              bool *budget_full);

/* The pending connection of <t> becomes a WebSocket client of <route> if the route's own
 * max_connections allows (conncount_upgrade). Any thread. */
const char *workers_count_upgrade(struct workers *w, const struct route *route,
                                  struct conncount_ticket *t, unsigned *limit);

/* conncount_leave_route and conncount_remove under the lock. Any thread. */
void workers_count_leave_route(struct workers *w, struct conncount_ticket *t);
void workers_count_remove(struct workers *w, struct conncount_ticket *t);

/* True if the descriptor budget has room for one more connection on every worker (they
 * may all resume accepting at once). Any thread. */
bool workers_count_has_room(struct workers *w);

/* Copies what the counts hold now into <out>. Any thread. */
void workers_counts_get(struct workers *w, struct workers_counts *out);

/* For the admin endpoint on worker <self>: adds every worker's counters into <into> and
 * what each holds now into <st>. The others copy theirs on their own threads, asked all
 * at once and waited for up to half a second. Returns the number of workers that did not
 * answer (0 normally; a worker ending its loop at a stop may not). */
size_t workers_collect_metrics(struct workers *w, struct server *self, struct metrics *into,
                               struct server_status *st);

/* Called by a worker once its status snapshot is taken; the last one logs the line. */
void workers_status_done(struct workers *w);

#endif
