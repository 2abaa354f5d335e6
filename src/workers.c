/*
 * workers.c - the worker threads and what they share. Worker 0 runs on the main thread,
 * which alone handles signals: it loads a new configuration on SIGHUP and publishes it,
 * and tells the other workers to stop, to take the new configuration, or to count what
 * they hold, through events it activates on their bases. The connection counts behind
 * the limits live here under one mutex, taken at admit and at close only.
 */
#include "workers.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "authpool.h"
#include "config.h"
#include "conncount.h"
#include "httpconn.h"
#include "log.h"
#include "metrics.h"
#include "route.h"
#include "runconf.h"
#include "sdnotify.h"
#include "server.h"
#include "tls.h"

static void workers_fd_budget(struct workers *w, const struct config *c);

/* Runs one worker but the first on its own thread; tells the main thread when done. */
static void *workers_thread(void *arg)
{
    struct server *s = arg;
    struct workers *w = s->workers;

    server_run(s);
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
        sdnotify_send("STOPPING=1");
    }
    for (size_t i = 0; i < w->n; i++)
        server_wake_stop(&w->servers[i]);
}

int workers_reload(struct workers *w)
{
    /* Only this thread replaces w->conf, so reading it here needs no lock. */
    const char *file = w->conf->config->file; /* freed with the old one: not used after */
    struct runconf *next, *old;
    char err[1024], info[512];
    struct timespec now;

    /* systemd (Type=notify) shows "reloading" until READY=1 comes back. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    snprintf(info, sizeof(info), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000);
    sdnotify_send(info);
    next = runconf_load(file, w->conf->generation + 1, err, sizeof(err));
    if (next != NULL && runconf_check_replace(w->conf, next, err, sizeof(err)) != 0) {
        runconf_unref(next);
        next = NULL;
    }
    if (next == NULL) {
        log_msg(LOG_LEVEL_ERROR, "reload failed: %s; the previous configuration keeps serving",
                err);
        sdnotify_send("READY=1");
        return -1;
    }
    pthread_mutex_lock(&w->lock);
    old = w->conf;
    w->conf = next;
    w->reloads++;
    atomic_store(&w->generation, next->generation);
    workers_fd_budget(w, next->config);
    pthread_mutex_unlock(&w->lock);
    /* Workers and connections made under the old one hold references; the last frees it. */
    runconf_unref(old);
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
    httpconn_log_access(next->config);
    if (w->authpool != NULL && next->config->auth_threads != authpool_threads(w->authpool))
        log_msg(LOG_LEVEL_WARN, "reload: auth_threads stays %u until a restart",
                authpool_threads(w->authpool));
    sdnotify_send("READY=1");
    return 0;
}

/* SIGHUP: a new configuration for new connections; live ones keep theirs. A log file is
 * opened again too, as after SIGUSR1. */
static void workers_on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct workers *w = arg;

    (void)what;
    log_msg(LOG_LEVEL_INFO, "signal %s: reloading %s", strsignal((int)sig),
            w->conf->config->file);
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

/* SIGUSR2: each worker counts what it holds on its own thread (its lists are not to be
 * read from here); the last to finish logs the line (workers_status_done). */
static void workers_on_usr2(evutil_socket_t sig, short what, void *arg)
{
    struct workers *w = arg;
    unsigned idle = 0;

    (void)sig;
    (void)what;
    if (!atomic_compare_exchange_strong(&w->status_pending, &idle, (unsigned)w->n)) {
        log_msg(LOG_LEVEL_WARN, "status: the previous SIGUSR2 is still being answered");
        return;
    }
    for (size_t i = 0; i < w->n; i++)
        server_wake_status(&w->servers[i]);
}

size_t workers_collect_metrics(struct workers *w, struct server *self, struct metrics *into,
                               struct server_status *st)
{
    unsigned long tickets[CONFIG_WORKERS_MAX];
    struct server_status own;
    struct timespec deadline;
    size_t missing = 0;

    for (size_t i = 0; i < w->n; i++)
        if (&w->servers[i] != self)
            tickets[i] = server_metrics_ask(&w->servers[i]);
    if (metrics_merge(into, self->metrics) != 0)
        missing++;
    server_count_status(self, &own);
    *st = own;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 500 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000 * 1000 * 1000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000 * 1000 * 1000;
    }
    for (size_t i = 0; i < w->n; i++)
        if (&w->servers[i] != self &&
            server_metrics_wait(&w->servers[i], tickets[i], &deadline, into, st) != 0)
            missing++;
    return missing;
}

void workers_status_done(struct workers *w)
{
    struct server_status sum = {0};
    char per[CONFIG_WORKERS_MAX * 11 + 1] = "", file[512];
    size_t used = 0, addresses;
    unsigned long generation, reloads;
    unsigned clients, conns, pending;

    /* The last worker to report sees every snapshot: each was written before its
     * worker's (sequentially consistent) decrement. */
    if (atomic_fetch_sub(&w->status_pending, 1) != 1)
        return;
    for (size_t i = 0; i < w->n; i++) {
        const struct server_status *st = &w->servers[i].status;
        int r;

        server_status_add(&sum, st);
        r = snprintf(per + used, sizeof(per) - used, "%s%u", i == 0 ? "" : ",",
                     atomic_load(&w->servers[i].ws_clients));
        if (r > 0 && (size_t)r < sizeof(per) - used)
            used += (size_t)r;
    }
    pthread_mutex_lock(&w->lock);
    clients = w->counts.clients;
    conns = w->counts.conns;
    pending = w->counts.pending;
    addresses = w->counts.n_ips;
    generation = w->conf->generation;
    reloads = w->reloads;
    snprintf(file, sizeof(file), "%s", w->conf->config->file);
    pthread_mutex_unlock(&w->lock);
    log_msg(LOG_LEVEL_INFO,
            "status: websocket=%u (connecting %lu, open %lu, closing %lu) http=%lu "
            "tls_handshakes=%lu draining=%lu counted=%u pending=%u addresses=%zu workers=%zu "
            "websocket_per_worker=%s config=%s generation=%lu reloads=%lu",
            clients, sum.connecting, sum.open, sum.closing, sum.http, sum.tls, sum.draining,
            conns, pending, addresses, w->n, per, file, generation, reloads);
}

struct runconf *workers_conf_ref(struct workers *w)
{
    struct runconf *rc;

    pthread_mutex_lock(&w->lock);
    rc = runconf_ref(w->conf);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

unsigned long workers_generation(struct workers *w)
{
    return atomic_load_explicit(&w->generation, memory_order_acquire);
}

/* How early the descriptor budget counts as full: every other worker may still accept
 * one connection before it sees that (and all may start again at once), so a paused
 * budget is not overrun. Under the lock. */
static unsigned workers_fd_margin(const struct workers *w)
{
    unsigned others = (unsigned)w->n - 1;

    return w->max_by_fds > others ? others : w->max_by_fds - 1;
}

const char *workers_count_add(struct workers *w, struct conncount_ticket *t, unsigned *limit,
                              bool *budget_full)
{
    struct conncount_limits limits;
    const char *reached;

    pthread_mutex_lock(&w->lock);
    limits = (struct conncount_limits){
        .max_connections = w->conf->config->max_connections,
        .max_connections_per_ip = w->conf->config->max_connections_per_ip,
        .max_pending_per_ip = w->conf->config->max_pending_per_ip,
        .max_by_fds = w->max_by_fds,
    };
    reached = conncount_add(&w->counts, &limits, t, limit);
    *budget_full = w->max_by_fds != 0 && w->counts.conns + workers_fd_margin(w) >= w->max_by_fds;
    pthread_mutex_unlock(&w->lock);
    return reached;
}

const char *workers_count_upgrade(struct workers *w, const struct route *route,
                                  struct conncount_ticket *t, unsigned *limit)
{
    const char *reached;

    pthread_mutex_lock(&w->lock);
    reached = conncount_upgrade(&w->counts, route->max_connections, route->path, t, limit);
    pthread_mutex_unlock(&w->lock);
    return reached;
}

void workers_count_leave_route(struct workers *w, struct conncount_ticket *t)
{
    pthread_mutex_lock(&w->lock);
    conncount_leave_route(&w->counts, t);
    pthread_mutex_unlock(&w->lock);
}

void workers_count_remove(struct workers *w, struct conncount_ticket *t)
{
    pthread_mutex_lock(&w->lock);
    conncount_remove(&w->counts, t);
    pthread_mutex_unlock(&w->lock);
}

bool workers_count_has_room(struct workers *w)
{
    bool room;

    pthread_mutex_lock(&w->lock);
    room = w->max_by_fds == 0 || w->counts.conns + workers_fd_margin(w) < w->max_by_fds;
    pthread_mutex_unlock(&w->lock);
    return room;
}

void workers_counts_get(struct workers *w, struct workers_counts *out)
{
    pthread_mutex_lock(&w->lock);
    *out = (struct workers_counts){
        .conns = w->counts.conns,
        .pending = w->counts.pending,
        .clients = w->counts.clients,
        .addresses = w->counts.n_ips,
        .max_by_fds = w->max_by_fds,
    };
    pthread_mutex_unlock(&w->lock);
}

/* Descriptors open now: the entries of /proc/self/fd but the one reading it; without
 * /proc, the lowest free descriptor (they are dense at start). */
static unsigned workers_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    unsigned n = 0;
    int fd;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
        return n > 0 ? n - 1 : 0;
    }
    fd = dup(0);
    if (fd < 0)
        return 3;
    close(fd);
    return (unsigned)fd;
}

/* Sets the descriptor budget from <c>'s fd_reserve: how many connections fit below
 * RLIMIT_NOFILE with two descriptors each and the reserve kept free. Under the lock, or
 * before any thread runs. */
static void workers_fd_budget(struct workers *w, const struct config *c)
{
    unsigned reserve = conncount_fd_reserve(w->fd_limit, w->fd_in_use, c->fd_reserve);
    unsigned budget = conncount_fd_budget(w->fd_limit, w->fd_in_use, reserve);

    if (budget == w->max_by_fds && reserve == w->fd_reserve)
        return;
    w->fd_reserve = reserve;
    w->max_by_fds = budget;
    if (budget == 0)
        log_msg(LOG_LEVEL_INFO, "descriptors: limit %llu, %u in use, no reserve kept",
                (unsigned long long)w->fd_limit, w->fd_in_use);
    else
        log_msg(budget < 16 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
                "descriptors: limit %llu, %u in use, %u kept in reserve: room for %u "
                "connections", (unsigned long long)w->fd_limit, w->fd_in_use, reserve, budget);
}

int workers_init(struct workers *w, struct runconf *conf, char *err, size_t err_len)
{
    struct event_base *base;
    uint8_t hash_key[SIPHASH_KEY_BYTES];
    struct rlimit rl;

    memset(w, 0, sizeof(*w));
    w->conf = conf;
    atomic_init(&w->generation, conf->generation);
    atomic_init(&w->running, 0);
    atomic_init(&w->status_pending, 0);
    /* The address table's secret: peers must not be able to predict where an address
     * lands. */
    if (getrandom(hash_key, sizeof(hash_key), 0) != (ssize_t)sizeof(hash_key)) {
        snprintf(err, err_len, "getrandom: %s", strerror(errno));
        return -1;
    }
    conncount_init(&w->counts, hash_key);
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        snprintf(err, err_len, "pthread_mutex_init: failed");
        return -1;
    }
    w->lock_made = true;
    /* Before any event base exists: libevent then locks what its bases share and lets
     * another thread wake a loop (event_active). One worker needs neither. */
    if (conf->workers > 1 && evthread_use_pthreads() != 0) {
        snprintf(err, err_len, "evthread_use_pthreads: failed");
        return -1;
    }
    w->servers = calloc(conf->workers, sizeof(*w->servers));
    w->threads = calloc(conf->workers, sizeof(*w->threads));
    if (w->servers == NULL || w->threads == NULL) {
        snprintf(err, err_len, "workers: out of memory");
        return -1;
    }
    /* All listeners are bound here, before any thread runs: a port in use stops the
     * start as it does with one worker. */
    for (unsigned i = 0; i < conf->workers; i++) {
        w->n = i + 1;
        if (server_init(&w->servers[i], w, i, runconf_ref(conf), err, err_len) != 0)
            return -1;
    }
    base = w->servers[0].base;
    w->thread_done = event_new(base, -1, 0, workers_on_thread_done, w);
    w->sig_term = evsignal_new(base, SIGTERM, workers_on_stop_signal, w);
    w->sig_int = evsignal_new(base, SIGINT, workers_on_stop_signal, w);
    w->sig_hup = evsignal_new(base, SIGHUP, workers_on_hup, w);
    w->sig_usr1 = evsignal_new(base, SIGUSR1, workers_on_usr1, w);
    w->sig_usr2 = evsignal_new(base, SIGUSR2, workers_on_usr2, w);
    if (w->thread_done == NULL || w->sig_term == NULL || w->sig_int == NULL ||
        w->sig_hup == NULL || w->sig_usr1 == NULL || w->sig_usr2 == NULL) {
        snprintf(err, err_len, "event setup: out of memory");
        return -1;
    }
    evsignal_add(w->sig_term, NULL);
    evsignal_add(w->sig_int, NULL);
    evsignal_add(w->sig_hup, NULL);
    evsignal_add(w->sig_usr1, NULL);
    evsignal_add(w->sig_usr2, NULL);
    /* Every listener, event base and log file is open: what the daemon needs before its
     * first client. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        w->fd_limit = rl.rlim_cur;
    w->fd_in_use = workers_open_fds();
    workers_fd_budget(w, conf->config);
    return 0;
}

/* Joins every started thread. */
static void workers_join(struct workers *w)
{
    for (size_t i = 1; i <= w->n_started; i++)
        pthread_join(w->threads[i], NULL);
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
        r = pthread_create(&w->threads[i], NULL, workers_thread, &w->servers[i]);
        if (r != 0) {
            atomic_fetch_sub(&w->running, 1);
            snprintf(err, err_len, "pthread_create for worker %zu: %s", i, strerror(r));
            break;
        }
        w->n_started = i;
        snprintf(name, sizeof(name), "wsbridge-w%zu", i);
        pthread_setname_np(w->threads[i], name);
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
    struct event_base *base = w->servers[0].base;

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
    struct event **events[] = {&w->thread_done, &w->sig_term, &w->sig_int,
                               &w->sig_hup,     &w->sig_usr1, &w->sig_usr2};

    workers_join(w);
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
    }
    for (size_t i = 0; i < w->n; i++)
        server_free(&w->servers[i]);
    free(w->servers);
    free(w->threads);
    runconf_unref(w->conf);
    conncount_reset(&w->counts);
    if (w->lock_made)
        pthread_mutex_destroy(&w->lock);
    memset(w, 0, sizeof(*w));
}
