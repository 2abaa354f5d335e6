/*
 * loop.h - the context every connection of one event loop is handed instead of its
 * parent: the event base and DNS base, this loop's metrics registry, its reference to
 * the current configuration, its connection set, and pointers (not owned) to what the
 * loops share: the connection limits and the password pool. Other threads reach a loop
 * only through loop_call.
 */
#ifndef WSB_LOOP_H
#define WSB_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include <openssl/evp.h>

#include "conn.h"

struct authpool;
struct config;
struct event;
struct event_base;
struct evdns_base;
struct connlimits;
struct loop;
struct metrics;
struct runconf;
struct runconf_slot;
struct splicepump_pool;
struct tokenredis;

/* Work another thread asks a loop to do on its own thread (loop_call). */
struct loop_call {
    TAILQ_ENTRY(loop_call) link;
    /* Runs on <l>'s thread with <run> true; or with <run> false when <l> is freed before
     * it ran (then it must only let go of what it holds). Never both. */
    void (*fn)(struct loop *l, struct loop_call *call, bool run);
};

TAILQ_HEAD(loop_call_list, loop_call);

struct loop {
    unsigned id;                    /* 0 for the main thread's, then 1, 2 ... */
    struct event_base *base;        /* owned */
    struct evdns_base *dns;         /* owned */
    struct metrics *metrics;        /* owned: this loop's counters by route path, outliving
                                     * any configuration; touched by its thread only */
    struct runconf *conf;           /* a reference to the current configuration: new
                                     * connections take theirs from here; replaced after a
                                     * reload (loop_refresh_conf) */
    struct runconf_slot *published; /* not owned: where reloads publish the current one */
    struct connset conns;           /* every connection of this loop */
    struct connlimits *limits;      /* not owned: the counts every loop shares */
    struct authpool *authpool;      /* not owned: hashes passwords; NULL: none */
    struct tokenredis *redis;       /* owned: this loop's Redis token connections, made on
                                     * first use (tokenredis.c); NULL: none yet */
    bool stopping;                  /* a stop began: accept nothing, keep nothing alive */
    bool draining;                  /* another process took the listeners: finish what was
                                     * accepted (upgrades too), keep nothing alive */
    pthread_mutex_t call_lock;      /* guards calls */
    bool call_lock_made;            /* call_lock initialised, to destroy */
    struct loop_call_list calls;    /* asked by other threads, not run yet */
    struct event *wake_call;        /* runs the calls on this loop's thread */
    struct splicepump_pool *splice; /* owned: pipes lent to frames in flight (splicepump.c),
                                     * made on first use; NULL: none yet */
    EVP_MD *sha1;                   /* owned: SHA-1 fetched once for every handshake's
                                     * accept key (OpenSSL 3 fetches on each EVP_sha1() use) */
};

/* Builds loop <id> in <l>: event base, DNS, the SHA-1 method, a metrics registry with every route of the
 * configuration published in <published> (whose reference it takes), the connection set
 * (<on_empty>(<arg>) is called once a stopping set is empty: connset_init), and the call
 * queue. <limits> and <pool> are shared and outlive it. Returns 0, or -1 with "what
 * failed: why" in <err>; loop_free is safe afterwards either way. */
int loop_init(struct loop *l, unsigned id, struct runconf_slot *published,
              struct connlimits *limits, struct authpool *pool, void (*on_empty)(void *arg),
              void *arg, char *err, size_t err_len);

/* Frees every connection of <l>, lets the echo targets go, drops the calls not run (their
 * fn with <run> false), then the bases, the registry and the configuration reference. On
 * <l>'s thread, or once it has ended. */
void loop_free(struct loop *l);

/* The configuration new connections use. */
const struct config *loop_config(const struct loop *l);

/* Takes the configuration made current by a reload, if there was one since <l> last
 * looked, and gives its new routes their metrics. Called where no connection holds a
 * pointer into <l>->conf without its own reference: an accept, a wake-up. */
void loop_refresh_conf(struct loop *l);

/* Queues <call> to run on <l>'s thread, soon. Any thread. */
void loop_call(struct loop *l, struct loop_call *call);

#endif
