/*
 * loop.c - one event loop's context: its bases, registry, configuration reference and
 * connection set, and the queue through which another thread has work done on it.
 */
#include "loop.h"

#include <stdio.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "runconf.h"
#include "splicepump.h"
#include "tokenredis.h"

/* Gives every route of <c> its entry in <l>'s metrics, so a new route shows at zero.
 * Returns 0, or -1 if memory ran out. */
static int loop_register_routes(struct loop *l, const struct config *c)
{
    for (size_t i = 0; i < c->n_routes; i++)
        if (metrics_route_get(l->metrics, c->routes[i].path) == NULL)
            return -1;
    return 0;
}

/* Runs the calls other threads queued, each once, in the order they came. */
static void loop_on_wake_call(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    struct loop_call_list todo = TAILQ_HEAD_INITIALIZER(todo);
    struct loop_call *call;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&l->call_lock);
    TAILQ_CONCAT(&todo, &l->calls, link);
    pthread_mutex_unlock(&l->call_lock);
    while ((call = TAILQ_FIRST(&todo)) != NULL) {
        TAILQ_REMOVE(&todo, call, link);
        call->fn(l, call, true);
    }
}

int loop_init(struct loop *l, unsigned id, struct runconf_slot *published,
              struct connlimits *limits, struct authpool *pool, void (*on_empty)(void *arg),
              void *arg, char *err, size_t err_len)
{
    struct event_config *cfg;

    memset(l, 0, sizeof(*l));
    l->id = id;
    l->published = published;
    l->conf = runconf_slot_ref(published);
    l->limits = limits;
    l->authpool = pool;
    TAILQ_INIT(&l->calls);
    if (pthread_mutex_init(&l->call_lock, NULL) != 0) {
        snprintf(err, err_len, "pthread: cannot make a lock");
        return -1;
    }
    l->call_lock_made = true;
    /* Every route is in the metrics from the start, at zero, not only once used. */
    l->metrics = metrics_new();
    if (l->metrics == NULL || loop_register_routes(l, l->conf->config) != 0) {
        snprintf(err, err_len, "metrics: out of memory");
        return -1;
    }
    cfg = event_config_new();
    if (cfg != NULL)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    l->base = cfg != NULL ? event_base_new_with_config(cfg) : NULL;
    if (cfg != NULL)
        event_config_free(cfg);
    if (l->base == NULL) {
        snprintf(err, err_len, "event_base_new: failed");
        return -1;
    }
    l->dns = evdns_base_new(l->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (l->dns == NULL) {
        /* No usable resolv.conf: numeric targets and /etc/hosts still work. */
        l->dns = evdns_base_new(l->base, 0);
    }
    l->wake_call = event_new(l->base, -1, 0, loop_on_wake_call, l);
    l->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (l->sha1 == NULL) {
        snprintf(err, err_len, "OpenSSL: no SHA-1");
        return -1;
    }
    if (l->dns == NULL || l->wake_call == NULL ||
        connset_init(&l->conns, l->base, on_empty, arg) != 0) {
        snprintf(err, err_len, "event setup: out of memory");
        return -1;
    }
    return 0;
}

void loop_free(struct loop *l)
{
    struct loop_call *call;

    connset_free(&l->conns);
    /* Calls not run yet are dropped below, not run on a loop being taken apart. */
    if (l->wake_call != NULL)
        event_del(l->wake_call);
    if (l->base != NULL) {
        /* Let the echo targets see their partners' end of file and free themselves. */
        event_base_loop(l->base, EVLOOP_NONBLOCK);
    }
    if (l->call_lock_made) {
        while ((call = TAILQ_FIRST(&l->calls)) != NULL) {
            TAILQ_REMOVE(&l->calls, call, link);
            call->fn(l, call, false);
        }
        pthread_mutex_destroy(&l->call_lock);
    }
    if (l->wake_call != NULL)
        event_free(l->wake_call);
    /* After every connection (no lookup is wanted any more), before the base. */
    tokenredis_free(l->redis);
    l->redis = NULL;
    splicepump_pool_free(l->splice); /* every frame in flight went with its connection */
    l->splice = NULL;
    if (l->dns != NULL)
        evdns_base_free(l->dns, 0);
    if (l->base != NULL)
        event_base_free(l->base);
    /* After every connection: their SSL objects hold references to its contexts, and
     * the SNI callback's argument is a listener in there. */
    runconf_unref(l->conf);
    metrics_free(l->metrics);
    EVP_MD_free(l->sha1);
    memset(l, 0, sizeof(*l));
}

const struct config *loop_config(const struct loop *l)
{
    return l->conf->config;
}

void loop_refresh_conf(struct loop *l)
{
    struct runconf *next;

    if (runconf_slot_generation(l->published) == l->conf->generation)
        return;
    next = runconf_slot_ref(l->published);
    runconf_unref(l->conf);
    l->conf = next;
    /* The metrics are this loop's own: only its thread may add routes to them. */
    if (loop_register_routes(l, next->config) != 0)
        log_msg(LOG_LEVEL_WARN, "reload: worker %u: out of memory for metrics; new routes show "
                "when used", l->id);
}

void loop_call(struct loop *l, struct loop_call *call)
{
    pthread_mutex_lock(&l->call_lock);
    TAILQ_INSERT_TAIL(&l->calls, call, link);
    pthread_mutex_unlock(&l->call_lock);
    event_active(l->wake_call, EV_TIMEOUT, 0);
}
