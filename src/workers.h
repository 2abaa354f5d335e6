/*
 * workers.h - the worker threads and what they share. Each worker is a struct server with
 * its own event loop, listeners (SO_REUSEPORT) and connections; worker 0 runs on the main
 * thread, which alone receives signals and forwards stop, reload, status and the handover
 * of an upgrade to the others, and holds the admin endpoint. Shared, each under its own
 * lock and only at accept, upgrade, close and reload (never per byte): the published
 * configuration (runconf.c) and the connection counts (connlimits.c).
 */
#ifndef WSB_WORKERS_H
#define WSB_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "connlimits.h"
#include "runconf.h"

struct admin;
struct authpool;
struct event;
struct inherit;
struct loop;
struct reexec;
struct server;
struct snapshot;

/* A worker thread: what it runs, and whom it tells when its loop has ended. */
struct workers_thread {
    pthread_t id;
    struct workers *workers;     /* not owned */
    struct server *server;       /* not owned: the worker it runs */
};

struct workers {
    struct runconf_slot conf;    /* the current configuration, published for every loop */
    struct connlimits limits;    /* the connection counts every loop shares */
    unsigned long reloads;       /* configurations loaded by SIGHUP; main thread only */
    size_t n;                    /* workers, >= 1 */
    struct server *servers;      /* n of them; servers[0] runs on the main thread */
    struct loop **loops;         /* n: each server's loop, for snapshots */
    struct workers_thread *threads; /* threads[i] runs servers[i]; [0] unused */
    size_t n_started;            /* threads[1 .. n_started] were created and must be joined */
    atomic_size_t running;       /* started threads whose loop has not ended */
    bool stopping;               /* a stop signal came; main thread only */
    struct snapshot *status;     /* SIGWINCH being answered; NULL: none; main thread only */
    struct reexec *upgrade;      /* owned: SIGUSR2's new process, until it answers; NULL:
                                  * none; main thread only */
    bool handed_over;            /* a new process took the listeners: this one drains */
    struct admin *admin;         /* owned: the admin endpoint, on worker 0's loop; NULL
                                  * without admin.listen */
    struct event *thread_done;   /* on worker 0's base: a worker thread's loop ended */
    struct event *sig_term, *sig_int;
    struct event *sig_hup;       /* reloads the configuration */
    struct event *sig_usr1;      /* reopens the log file */
    struct event *sig_usr2;      /* upgrade: starts a new process (reexec.h) */
    struct event *sig_winch;     /* logs a status line */
    struct authpool *authpool;   /* not owned (main.c's): hashes passwords for every worker */
};

/* Builds <w> for configuration <conf> (taking its reference even on failure) with the
 * password pool <pool> (NULL: none; it must outlive <w>): thread support in libevent, then
 * conf->workers servers, each with its event loop and a bound, listening socket per listen
 * address (or one taken from the sockets handed in, <in>: see server_init), the admin
 * endpoint on worker 0, and signal handlers there. No thread is started yet. Returns 0,
 * or -1 with "what failed: why" in <err>. */
int workers_init(struct workers *w, struct runconf *conf, struct authpool *pool,
                 struct inherit *in, char *err, size_t err_len);

/* Starts a thread per worker but the first, with every signal blocked in it. Returns 0,
 * or -1 with "what failed: why" in <err> (the threads started are stopped and joined). */
int workers_start(struct workers *w, char *err, size_t err_len);

/* Runs worker 0 on the calling (main) thread until a stop has ended every worker, and
 * joins every thread. Returns 0. */
int workers_run(struct workers *w);

/* Frees everything <w> owns; its threads are joined. Safe after a failed workers_init. */
void workers_free(struct workers *w);

/* SIGUSR2: starts a new process of the daemon's binary with every listening socket
 * (reexec.h); once it is ready, tells systemd its pid (MAINPID) and every worker to hand
 * over and drain (server_handover). Refused, with a warning, while one is starting, after
 * a handover or during a stop. Returns 0, or -1 if nothing was started. */
int workers_upgrade(struct workers *w);

/* Loads the configuration again from where it came, its file or websockify's command
 * line (runconf_reload; SIGHUP, main thread). One that loads and keeps
 * the listen addresses and the worker count becomes current and every worker is told;
 * otherwise the error is logged and nothing changes. Returns 0 or -1. */
int workers_reload(struct workers *w);

#endif
