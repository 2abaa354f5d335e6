/*
 * workers.c - the worker threads and what they share. Worker 0 runs on the main thread,
 * which alone handles signals: it loads a new configuration on SIGHUP and publishes it,
 * tells the other workers to stop or to take the new configuration through events it
 * activates on their bases, asks every loop for a snapshot for the status line, and starts
 * the new process of an upgrade and hands the listeners over to it. The admin endpoint
 * lives on worker 0's loop.
 */
#include "workers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "admin.h"
#include "authpool.h"
#include "config.h"
#include "inherit.h"
#include "listener.h"
#include "log.h"
#include "reexec.h"
#include "sdnotify.h"
#include "server.h"
#include "snapshot.h"
#include "tls.h"
#include "upgrade.h"

#define WORKERS_STATUS_MS 500 /* how long the status line waits for every loop's count */

/* Runs one worker but the first on its own thread; tells the main thread when done. */
static void *workers_thread_main(void *arg)
{
    struct workers_thread *t = arg;
    struct workers *w = t->workers;

    server_run(t->server);
    atomic_fetch_sub(&w->running, 1);
    event_active(w->thread_done, EV_TIMEOUT, 0);
    return NULL;
}

/* Wakes the main thread's loop so that it sees a worker thread has ended. */
static void workers_on_thread_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* SIGTERM, SIGINT: every worker stops gracefully; a second signal makes them leave now. */
static void workers_on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    struct workers *w = arg;

    (void)what;
    log_msg(LOG_LEVEL_INFO, "signal %s", strsignal((int)sig));
    if (!w->stopping) {
        w->stopping = true;
        /* After a handover the service is the new process: this one only leaves. */
        if (!w->handed_over)
            sdnotify_send("STOPPING=1");
    }
    admin_stop(w->admin);
    for (size_t i = 0; i < w->n; i++)
        server_wake_stop(&w->servers[i]);
}

int workers_reload(struct workers *w)
{
    struct runconf *cur = runconf_slot_ref(&w->conf), *next;
    char err[1024], info[512];
    struct timespec now;

    /* systemd (Type=notify) shows "reloading" until READY=1 comes back. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    snprintf(info, sizeof(info), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000);
    sdnotify_send(info);
    next = runconf_reload(cur, err, sizeof(err));
    if (next != NULL && runconf_check_replace(cur, next, err, sizeof(err)) != 0) {
        runconf_unref(next);
        next = NULL;
    }
    runconf_unref(cur);
    if (next == NULL) {
        log_msg(LOG_LEVEL_ERROR, "reload failed: %s; the previous configuration keeps serving",
                err);
        sdnotify_send("READY=1");
        return -1;
    }
    /* Workers and connections made under the old one hold references; the last frees it. */
    runconf_slot_publish(&w->conf, runconf_ref(next));
    connlimits_configure(&w->limits, next->config);
    w->reloads++;
    /* The log section too; if its file cannot be opened, the previous target stays. */
    if (log_apply(&next->config->log, err, sizeof(err)) != 0)
        log_msg(LOG_LEVEL_ERROR, "reload: %s: log.file: %s; logging where it did",
                next->config->file, err);
    for (size_t i = 0; i < next->tls->n_listeners; i++) {
        struct tls_listener *l = &next->tls->listeners[i];
        if (l->cfg == NULL)
            continue;
        tls_listener_info(l, info, sizeof(info));
        log_msg(LOG_LEVEL_INFO, "reload: TLS %s: %s", l->name, info);
    }
    /* Each worker takes the new one at its next accept anyway; this drops the old one
     * from idle workers too. */
    for (size_t i = 0; i < w->n; i++)
        server_wake_conf(&w->servers[i]);
    log_msg(LOG_LEVEL_INFO, "config reloaded from %s (generation %lu): %zu route%s",
            next->config->file, next->generation, next->config->n_routes,
            next->config->n_routes == 1 ? "" : "s");
    upgrade_log_access(next->config);
    if (w->authpool != NULL && next->config->auth_threads != authpool_threads(w->authpool))
        log_msg(LOG_LEVEL_WARN, "reload: auth_threads stays %u until a restart",
                authpool_threads(w->authpool));
    runconf_unref(next);
    sdnotify_send("READY=1");
    return 0;
}

/* SIGHUP: a new configuration for new connections; live ones keep theirs. A log file is
 * opened again too, as after SIGUSR1. */
static void workers_on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct workers *w = arg;
    struct runconf *cur = runconf_slot_ref(&w->conf);

    (void)what;
    log_msg(LOG_LEVEL_INFO, "signal %s: reloading %s", strsignal((int)sig), cur->config->file);
    runconf_unref(cur);
    log_reopen();
    workers_reload(w);
}

/* SIGUSR1: the log file was moved by logrotate; open it again. */
static void workers_on_usr1(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (log_reopen() == 0)
        log_msg(LOG_LEVEL_INFO, "signal %s: log reopened", strsignal((int)sig));
}

/* Every loop has counted what it holds (or the deadline passed): one status line. */
static void workers_on_status(const struct snapshot_result *r, void *arg)
{
    struct workers *w = arg;
    const struct snapshot_states *st = &r->states;
    char per[CONFIG_WORKERS_MAX * 11 + 1] = "";
    struct connlimits_counts c;
    struct runconf *cur;
    size_t used = 0;

    w->status = NULL;
    /* Per worker, the clients it counted as WebSocket clients (connlimits_upgrade): those
     * connecting, open or closing, and upgrades waiting for their password ("?": the worker
     * did not answer). */
    for (size_t i = 0; i < w->n; i++) {
        const struct snapshot_states *one = snapshot_result_loop(r, i);
        int n = one == NULL ? snprintf(per + used, sizeof(per) - used, "%s?", i == 0 ? "" : ",")
                            : snprintf(per + used, sizeof(per) - used, "%s%lu", i == 0 ? "" : ",",
                                       one->connecting + one->open + one->closing + one->upgrading);
        if (n > 0 && (size_t)n < sizeof(per) - used)
            used += (size_t)n;
    }
    connlimits_get(&w->limits, &c);
    cur = runconf_slot_ref(&w->conf);
    log_msg(LOG_LEVEL_INFO,
            "status: websocket=%u (connecting %lu, open %lu, closing %lu) http=%lu "
            "tls_handshakes=%lu draining=%lu counted=%u pending=%u addresses=%zu workers=%zu "
            "websocket_per_worker=%s config=%s generation=%lu reloads=%lu",
            c.clients, st->connecting, st->open, st->closing, st->http, st->tls, st->draining,
            c.conns, c.pending, c.addresses, w->n, per, cur->config->file, cur->generation,
            w->reloads);
    runconf_unref(cur);
}

/* SIGWINCH: each loop counts what it holds on its own thread (its set is not to be read
 * from here); the line is logged once every count is in. */
static void workers_on_winch(evutil_socket_t sig, short what, void *arg)
{
    struct workers *w = arg;

    (void)sig;
    (void)what;
    if (w->status != NULL) {
        log_msg(LOG_LEVEL_WARN, "status: the previous SIGWINCH is still being answered");
        return;
    }
    w->status = snapshot_start(w->loops[0], w->loops, w->n, false, WORKERS_STATUS_MS,
                               workers_on_status, w);
    if (w->status == NULL)
        log_msg(LOG_LEVEL_ERROR, "status: out of memory");
}

/* The new process of an upgrade answered (reexec.c): hand over, or keep serving. */
static void workers_on_upgrade_done(pid_t pid, bool ready, void *arg)
{
    struct workers *w = arg;
    char state[64];

    reexec_free(w->upgrade);
    w->upgrade = NULL;
    if (!ready)
        return;
    w->handed_over = true;
    /* systemd follows the new process from now on (NotifyAccess=all lets it say READY=1
     * itself; this line is enough with the default, NotifyAccess=main). */
    snprintf(state, sizeof(state), "MAINPID=%ld", (long)pid);
    sdnotify_send(state);
    admin_stop(w->admin);
    for (size_t i = 0; i < w->n; i++)
        server_wake_handover(&w->servers[i]);
}

/* Adds <l>'s socket to the <*n> of <socks> (room for <max>) unless it is there already
 * under another descriptor (a Unix or handed-in socket every worker shares). */
static void workers_add_socket(struct reexec_socket *socks, size_t *n, size_t max,
                               const struct listener *l)
{
    int fd = listener_fd(l);
    struct stat st, seen;

    if (fd < 0 || *n >= max || fstat(fd, &st) != 0)
        return;
    for (size_t i = 0; i < *n; i++)
        if (fstat(socks[i].fd, &seen) == 0 && seen.st_dev == st.st_dev && seen.st_ino == st.st_ino)
            return;
    socks[*n].fd = fd;
    socks[*n].name = l->fdname[0] != '\0' ? l->fdname : INHERIT_NAME_OURS;
    (*n)++;
}

int workers_upgrade(struct workers *w)
{
    struct reexec_socket *socks;
    size_t n = 0, max = ADMIN_LISTENERS_MAX;
    char err[256];

    if (w->stopping || w->handed_over || w->upgrade != NULL) {
        log_msg(LOG_LEVEL_WARN, "upgrade: refused: %s",
                w->stopping      ? "the daemon is stopping"
                : w->handed_over ? "this process has handed over already (signal the new one)"
                                 : "a new process is starting already");
        return -1;
    }
    /* The ports do not change while the workers run (only a stop closes them, and there
     * is none): reading them from this thread is safe. */
    for (size_t i = 0; i < w->n; i++)
        max += w->servers[i].n_ports;
    if ((socks = calloc(max, sizeof(*socks))) == NULL) {
        log_msg(LOG_LEVEL_ERROR, "upgrade: out of memory");
        return -1;
    }
    /* Every socket: with SO_REUSEPORT each worker has its own, and a connection waiting in
     * one that was not handed over would be lost when this process closes it. */
    for (size_t i = 0; i < w->n; i++)
        for (size_t j = 0; j < w->servers[i].n_ports; j++)
            workers_add_socket(socks, &n, max, w->servers[i].ports[j]->listener);
    for (size_t i = 0; w->admin != NULL && i < w->admin->n_listeners; i++)
        workers_add_socket(socks, &n, max, w->admin->listeners[i]);
    w->upgrade = reexec_start(w->servers[0].loop.base, socks, n, workers_on_upgrade_done, w, err,
                              sizeof(err));
    free(socks);
    if (w->upgrade == NULL) {
        log_msg(LOG_LEVEL_ERROR, "%s; this process keeps serving", err);
        return -1;
    }
    return 0;
}

/* SIGUSR2: an upgrade. */
static void workers_on_usr2(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_msg(LOG_LEVEL_INFO, "signal %s: upgrading", strsignal((int)sig));
    workers_upgrade(arg);
}

int workers_init(struct workers *w, struct runconf *conf, struct authpool *pool,
                 struct inherit *in, char *err, size_t err_len)
{
    const struct config *c = conf->config;
    struct event_base *base;

    memset(w, 0, sizeof(*w));
    w->authpool = pool;
    atomic_init(&w->running, 0);
    if (runconf_slot_init(&w->conf, conf, err, err_len) != 0)
        return -1;
    if (connlimits_init(&w->limits, conf->workers, c, err, err_len) != 0)
        return -1;
    /* Before any event base exists: libevent then locks what its bases share and lets
     * another thread wake a loop (event_active). One worker needs neither. */
    if (conf->workers > 1 && evthread_use_pthreads() != 0) {
        snprintf(err, err_len, "evthread_use_pthreads: failed");
        return -1;
    }
    w->servers = calloc(conf->workers, sizeof(*w->servers));
    w->loops = calloc(conf->workers, sizeof(*w->loops));
    w->threads = calloc(conf->workers, sizeof(*w->threads));
    if (w->servers == NULL || w->loops == NULL || w->threads == NULL) {
        snprintf(err, err_len, "workers: out of memory");
        return -1;
    }
    /* All listeners are bound here, before any thread runs: a port in use stops the
     * start as it does with one worker. */
    for (unsigned i = 0; i < conf->workers; i++) {
        w->n = i + 1;
        w->loops[i] = &w->servers[i].loop;
        w->threads[i] = (struct workers_thread){.workers = w, .server = &w->servers[i]};
        if (server_init(&w->servers[i], i, i == 0 ? NULL : &w->servers[0], &w->conf, &w->limits,
                        pool, in, err, err_len) != 0)
            return -1;
    }
    base = w->servers[0].loop.base;
    /* One admin endpoint, on worker 0 (the main thread); it sums every worker's counters. */
    if (c->admin_listen != NULL &&
        (w->admin = admin_new(&w->servers[0].loop, w->loops, w->n, &w->limits, c->admin_listen,
                              in, err, err_len)) == NULL)
        return -1;
    w->thread_done = event_new(base, -1, 0, workers_on_thread_done, w);
    w->sig_term = evsignal_new(base, SIGTERM, workers_on_stop_signal, w);
    w->sig_int = evsignal_new(base, SIGINT, workers_on_stop_signal, w);
    w->sig_hup = evsignal_new(base, SIGHUP, workers_on_hup, w);
    w->sig_usr1 = evsignal_new(base, SIGUSR1, workers_on_usr1, w);
    w->sig_usr2 = evsignal_new(base, SIGUSR2, workers_on_usr2, w);
    w->sig_winch = evsignal_new(base, SIGWINCH, workers_on_winch, w);
    if (w->thread_done == NULL || w->sig_term == NULL || w->sig_int == NULL ||
        w->sig_hup == NULL || w->sig_usr1 == NULL || w->sig_usr2 == NULL || w->sig_winch == NULL) {
        snprintf(err, err_len, "event setup: out of memory");
        return -1;
    }
    evsignal_add(w->sig_term, NULL);
    evsignal_add(w->sig_int, NULL);
    evsignal_add(w->sig_hup, NULL);
    evsignal_add(w->sig_usr1, NULL);
    evsignal_add(w->sig_usr2, NULL);
    evsignal_add(w->sig_winch, NULL);
    /* Every listener, event base and log file is open: what the daemon needs before its
     * first client. */
    connlimits_measure_fds(&w->limits, c);
    return 0;
}

/* Joins every started thread. */
static void workers_join(struct workers *w)
{
    for (size_t i = 1; i <= w->n_started; i++)
        pthread_join(w->threads[i].id, NULL);
    w->n_started = 0;
}

int workers_start(struct workers *w, char *err, size_t err_len)
{
    sigset_t all, old;
    int r = 0;

    /* Threads inherit the mask: signals then reach the main thread only, where
     * libevent's handlers for worker 0 take them. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (size_t i = 1; i < w->n; i++) {
        char name[32]; /* 15 used at most: i < CONFIG_WORKERS_MAX */

        atomic_fetch_add(&w->running, 1);
        r = pthread_create(&w->threads[i].id, NULL, workers_thread_main, &w->threads[i]);
        if (r != 0) {
            atomic_fetch_sub(&w->running, 1);
            snprintf(err, err_len, "pthread_create for worker %zu: %s", i, strerror(r));
            break;
        }
        w->n_started = i;
        snprintf(name, sizeof(name), "wsbridge-w%zu", i);
        pthread_setname_np(w->threads[i].id, name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r == 0)
        return 0;
    /* Nothing has been accepted yet that would deserve a graceful stop. */
    for (size_t i = 1; i <= w->n_started; i++) {
        server_wake_stop(&w->servers[i]);
        server_wake_stop(&w->servers[i]);
    }
    workers_join(w);
    return -1;
}

int workers_run(struct workers *w)
{
    struct event_base *base = w->servers[0].loop.base;

    server_run(&w->servers[0]);
    /* Worker 0 is done; signals (a second SIGTERM) are still taken here while the other
     * workers finish their clients. */
    while (atomic_load(&w->running) > 0)
        event_base_loop(base, EVLOOP_ONCE);
    workers_join(w);
    return 0;
}

void workers_free(struct workers *w)
{
    struct event **events[] = {&w->thread_done, &w->sig_term, &w->sig_int, &w->sig_hup,
                               &w->sig_usr1,    &w->sig_usr2, &w->sig_winch};

    workers_join(w);
    reexec_free(w->upgrade);
    w->upgrade = NULL;
    /* Before worker 0's base goes. Freeing the signal events gives the default handlers
     * back, and those end the process: a second SIGTERM during the last clean-up (a
     * supervisor that repeats itself, or a slow exit under a leak checker) would then
     * turn a clean stop into death by signal. The daemon is leaving anyway: ignore them. */
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        if (*events[i] == NULL)
            continue;
        event_free(*events[i]);
        *events[i] = NULL;
    }
    if (w->n > 0) {
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGUSR1, SIG_IGN);
        signal(SIGUSR2, SIG_IGN);
        signal(SIGWINCH, SIG_IGN);
    }
    if (w->status != NULL)
        snapshot_cancel(w->status);
    w->status = NULL;
    /* Its listeners are on worker 0's base; its connections are in that loop's set and
     * need nothing of it once they are freed (a waiting scrape only lets go). */
    admin_free(w->admin);
    w->admin = NULL;
    for (size_t i = 0; i < w->n; i++)
        server_free(&w->servers[i]);
    free(w->servers);
    free(w->loops);
    free(w->threads);
    connlimits_free(&w->limits);
    runconf_slot_free(&w->conf);
    memset(w, 0, sizeof(*w));
}
