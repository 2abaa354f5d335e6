/*
 * server.c - the server socket of one worker: its listeners, the accept (limits first,
 * then a TLS handshake or an HTTP connection), the wake-ups the main thread sends, and an
 * orderly end: listeners closed, every connection asked to stop through the loop's set,
 * the loop left when the set is empty or shutdown_timeout has passed; or, after an
 * upgrade, a drain: listeners handed over, clients left to finish within drain_timeout.
 * Signals, and what workers share, are in workers.c.
 */
#include "server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "addr.h"
#include "config.h"
#include "connlimits.h"
#include "httpconn.h"
#include "inherit.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "proxyin.h"
#include "ratelimit.h"
#include "runconf.h"
#include "timeval.h"
#include "tls.h"
#include "tlsaccept.h"
#include "upgrade.h"

/* The loop's set is empty after a stop: leave the loop. */
static void server_on_empty(void *arg)
{
    struct server *s = arg;

    /* Worker 0's base keeps running while the other workers finish: no late warning. */
    if (s->stop_timer != NULL)
        evtimer_del(s->stop_timer);
    if (s->drain_timer != NULL)
        evtimer_del(s->drain_timer);
    event_base_loopbreak(s->loop.base);
}

/* Closes accepted socket <fd> from <sa> unread (no TLS or HTTP work is spent on it): it
 * would pass limit <reason> of value <limit>. */
static void server_refuse(struct server_port *p, evutil_socket_t fd, const struct sockaddr *sa,
                          const char *reason, unsigned limit)
{
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
    char peer[ADDR_SOCKADDR_STR_MAX];

    close(fd);
    metrics_count_refused(p->server->loop.metrics, reason);
    if (!log_enabled(LOG_LEVEL_WARN))
        return;
    addr_format_sockaddr(sa, peer);
    log_msg_limited(&rl, LOG_LEVEL_WARN, "client=%s refused on %s: %s reached (%u)", peer,
                    p->listener->name, reason, limit);
}

/* Makes admitted socket <fd> of port <arg> from client <sa> (<sa_len> bytes), counted in
 * <slot> (moved on), a TLS handshake or an HTTP connection: proxyin_done_fn. */
static void server_hand_on(struct loop *l, evutil_socket_t fd, const struct sockaddr *sa,
                           socklen_t sa_len, struct connlimits_slot *slot, void *arg)
{
    struct server_port *p = arg;
    struct bufferevent *bev;

    if (p->tls) {
        tlsaccept_new(l, fd, sa, (int)sa_len, slot, p->index, p->listener->name, &upgrade_handler,
                      NULL);
        return;
    }
    bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        log_msg(LOG_LEVEL_ERROR, "accept on %s: out of memory", p->listener->name);
        close(fd);
        connlimits_release(slot);
        return;
    }
    httpconn_new(l, bev, sa, slot, &upgrade_handler, NULL);
}

static void server_on_accept(struct listener *lst, evutil_socket_t fd, const struct sockaddr *sa,
                             int socklen, void *arg)
{
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
    struct server_port *p = arg;
    struct loop *l = &p->server->loop;
    const struct config_listen_proxy *proxy;
    const struct sockaddr no_address = {.sa_family = AF_UNSPEC};
    const struct sockaddr *counted_as;
    struct connlimits_slot slot;
    const char *reached;
    unsigned limit;
    bool full;
    int one = 1;

    if (l->stopping) {
        close(fd);
        return;
    }
    loop_refresh_conf(l);
    if (log_enabled(LOG_LEVEL_DEBUG)) {
        char peer[ADDR_SOCKADDR_STR_MAX];

        addr_format_sockaddr(sa, peer);
        log_msg(LOG_LEVEL_DEBUG, "client=%s accepted on %s by worker %u", peer, lst->name, l->id);
    }
    /* Behind a front proxy every connection comes from the proxy's address: counted there,
     * its clients would share one max_connections_per_ip. Until the header names the
     * client, a connection from a proxy counts under no address (global limits only). */
    proxy = &loop_config(l)->listen_proxy[p->index];
    counted_as =
        proxy->mode != CONFIG_PROXY_NONE && proxyin_is_trusted(proxy, sa) ? &no_address : sa;
    /* Counted from here to the close of its socket, whatever it turns out to be. */
    reached = connlimits_admit(l->limits, &slot, counted_as, loop_config(l)->per_ip_prefix_v6,
                               &limit, &full);
    if (reached != NULL) {
        server_refuse(p, fd, sa, reached, limit);
        if (strcmp(reached, "fd_reserve") == 0)
            listener_pause(lst);
        return;
    }
    if (full) {
        /* The next connection would eat into the descriptors kept for those admitted:
         * leave it in the listen queue until some close. */
        log_msg_limited(&rl, LOG_LEVEL_WARN, "accept on %s: connections fill the descriptor "
                        "budget (RLIMIT_NOFILE less fd_reserve); pausing", lst->name);
        listener_pause(lst);
    }
    if (sa->sa_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (proxy->mode != CONFIG_PROXY_NONE) {
        /* The front proxy's header comes first, before any TLS. */
        proxyin_new(l, fd, sa, (socklen_t)socklen, &slot, proxy, lst->name, server_hand_on, p);
        return;
    }
    server_hand_on(l, fd, sa, (socklen_t)socklen, &slot, p);
}

/* A paused listener may accept again once the descriptor budget has room. */
static bool server_has_room(void *arg)
{
    struct server_port *p = arg;

    return connlimits_has_room(p->server->loop.limits);
}

/* Opens one listener of listen entry <index>: bound to <ai>, accepting from <owner>'s
 * socket when it is not NULL, or from socket <fd> handed in under <fdname> when <fd> is
 * not -1 (taken). Returns its port, or NULL with "what failed: why" in <err>. */
static struct server_port *server_add_port(struct server *s, size_t index, bool tls,
                                           const struct addrinfo *ai, const struct listener *owner,
                                           evutil_socket_t fd, const char *fdname,
                                           struct listener_opts *opts, char *err, size_t err_len)
{
    struct server_port **grown, *p;

    /* One allocation per port: its address is the accept callback's argument, so it must
     * not move when the array grows. */
    grown = realloc(s->ports, (s->n_ports + 1) * sizeof(*grown));
    if (grown != NULL)
        s->ports = grown;
    if (grown == NULL || (p = calloc(1, sizeof(*p))) == NULL) {
        snprintf(err, err_len, "listen: out of memory");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    p->server = s;
    p->index = index;
    p->tls = tls;
    opts->arg = p;
    p->adopted = fd >= 0;
    p->shared = fd >= 0 || (ai != NULL && ai->ai_family == AF_UNIX);
    p->listener = owner != NULL ? listener_share(s->loop.base, owner, opts, err, err_len)
                  : fd >= 0     ? listener_adopt(s->loop.base, fd, fdname, opts, err, err_len)
                                : listener_new(s->loop.base, ai, opts, err, err_len);
    if (p->listener == NULL) {
        free(p);
        return NULL;
    }
    s->ports[s->n_ports++] = p;
    return p;
}

/* Worker <s> (not worker 0) accepts from every socket worker <first> has for listen
 * entry <index>, if those are shared (a Unix socket, or sockets handed in at start).
 * Returns 1 if they were, 0 if the entry is to be bound by each worker, -1 with "what
 * failed: why" in <err>. */
static int server_share_ports(struct server *s, const struct server *first, size_t index,
                              bool tls, struct listener_opts *opts, char *err, size_t err_len)
{
    bool shared = false;

    for (size_t i = 0; first != NULL && i < first->n_ports; i++) {
        const struct server_port *fp = first->ports[i];

        if (fp->index != index || !fp->shared)
            continue;
        shared = true;
        if (server_add_port(s, index, tls, NULL, fp->listener, -1, NULL, opts, err, err_len) ==
            NULL)
            return -1;
    }
    return shared ? 1 : 0;
}

/* Logs where worker 0 listens now for listen entry <index> (<a>, <tls>): <p>'s socket. */
static void server_log_port(const struct server_port *p, const struct addr *a,
                            struct tls_listener *tls, const char *how)
{
    char info[512] = "";

    if (tls != NULL)
        tls_listener_info(tls, info, sizeof(info));
    if (a->kind == ADDR_SYSTEMD)
        log_msg(LOG_LEVEL_INFO, "listening on %s%s%s (handed in as \"%s\")", p->listener->name,
                tls != NULL ? " with TLS, " : "", info, p->listener->fdname);
    else if (p->adopted)
        log_msg(LOG_LEVEL_INFO, "listening on %s%s%s (socket handed in)", p->listener->name,
                tls != NULL ? " with TLS, " : "", info);
    else
        log_msg(LOG_LEVEL_INFO, "listening on %s%s%s%s", p->listener->name,
                tls != NULL ? " with TLS, " : "", info, how);
}

/* Worker 0 takes every socket handed in under the name of "systemd:NAME" entry <index>. */
static int server_add_systemd(struct server *s, struct inherit *in, size_t index,
                              struct tls_listener *tls, struct listener_opts *opts, char *err,
                              size_t err_len)
{
    const struct addr *a = &loop_config(&s->loop)->listen[index];
    struct server_port *p;
    size_t n = 0;
    evutil_socket_t fd;

    while (in != NULL && (fd = inherit_take_name(in, a->host)) >= 0) {
        if ((p = server_add_port(s, index, tls != NULL, NULL, NULL, fd, a->host, opts, err,
                                 err_len)) == NULL)
            return -1;
        server_log_port(p, a, tls, "");
        n++;
    }
    if (n > 0)
        return 0;
    snprintf(err, err_len,
             "listen systemd:%s: no socket named \"%s\" was handed in (%s); start wsbridge "
             "from a socket unit with FileDescriptorName=%s, or listen on an address",
             a->host, a->host,
             in == NULL || in->n == 0 ? "LISTEN_FDS is not set for this process"
                                      : "LISTEN_FDNAMES has other names",
             a->host);
    return -1;
}

/* Opens the listeners of listen entry <index> of the current config: one per address
 * its host name resolves to, or one Unix socket. SO_REUSEPORT does not spread the
 * connections of AF_UNIX sockets over several of them (the last one bound would get them
 * all), so worker 0 (<first> NULL) binds a Unix socket and every other worker accepts
 * from that same socket: all of them are woken by a connection, one wins the accept, and
 * a proxy in front of a Unix socket gets every worker, not only the first. */
static int server_add_ports(struct server *s, const struct server *first, struct inherit *in,
                            size_t index, char *err, size_t err_len)
{
    struct runconf *conf = s->loop.conf;
    const struct addr *a = &conf->config->listen[index];
    struct tls_listener *tls =
        conf->tls->listeners[index].cfg != NULL ? &conf->tls->listeners[index] : NULL;
    struct listener_opts opts = {
        .what = "",
        /* share_port: other processes may bind the port too, so no probe for one */
        .reuseport = conf->workers > 1 || conf->config->share_port,
        .probe = conf->workers > 1 && s->loop.id == 0 && !conf->config->share_port,
        .accept = server_on_accept,
        .room = server_has_room,
        .unix_mode = conf->config->listen_mode[index],
        .dual_stack = !conf->config->listen_v6only[index],
    };
    char how[128] = "";
    struct addrinfo *res = NULL, unix_ai = {.ai_family = AF_UNIX, .ai_socktype = SOCK_STREAM};
    struct sockaddr_un sun;
    struct server_port *p;
    const char *fdname;
    evutil_socket_t fd;
    int r;

    if (s->loop.id != 0 && (r = server_share_ports(s, first, index, tls != NULL, &opts, err,
                                                   err_len)) != 0)
        return r < 0 ? -1 : 0;
    if (a->kind == ADDR_SYSTEMD)
        return server_add_systemd(s, in, index, tls, &opts, err, err_len);
    if (a->kind == ADDR_UNIX) {
        unix_ai.ai_addr = (struct sockaddr *)&sun;
        unix_ai.ai_addrlen = addr_unix_sockaddr(a, &sun);
        opts.reuseport = opts.probe = false;
        snprintf(how, sizeof(how), " (mode %04o%s)", opts.unix_mode,
                 conf->workers > 1 ? ", one socket for every worker" : "");
    } else {
        if (listener_resolve(a, "", &res, err, err_len) != 0)
            return -1;
        snprintf(how, sizeof(how), "%s%s%s", opts.dual_stack ? " (IPv4 too)" : "",
                 conf->config->listen_proxy[index].mode != CONFIG_PROXY_NONE
                     ? " (PROXY protocol first)"
                     : "",
                 conf->config->share_port ? " (shared with other processes)"
                 : opts.reuseport         ? " (a socket per worker)"
                                          : "");
    }
    for (const struct addrinfo *ai = res != NULL ? res : &unix_ai; ai != NULL; ai = ai->ai_next) {
        bool adopted = false;

        /* Sockets handed in and bound to this address (by the process this one replaces,
         * one per worker it had, or by systemd): all of them, or a connection waiting in
         * one nobody took would be lost when it is closed. */
        while (s->loop.id == 0 && in != NULL &&
               (fd = inherit_take_addr(in, ai->ai_addr, ai->ai_addrlen, &fdname)) >= 0) {
            adopted = true;
            if ((p = server_add_port(s, index, tls != NULL, ai, NULL, fd, fdname, &opts, err,
                                     err_len)) == NULL)
                goto fail;
            server_log_port(p, a, tls, how);
        }
        if (adopted)
            continue;
        p = server_add_port(s, index, tls != NULL, ai, NULL, -1, NULL, &opts, err, err_len);
        if (p == NULL)
            goto fail;
        if (s->loop.id == 0) /* the others listen on the same addresses: said once is enough */
            server_log_port(p, a, tls, how);
    }
    if (res != NULL)
        freeaddrinfo(res);
    return 0;
fail:
    if (res != NULL)
        freeaddrinfo(res);
    return -1;
}

static void server_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;

    (void)fd;
    (void)what;
    log_msg(LOG_LEVEL_WARN, "stop: worker %u: connections still open after shutdown_timeout; "
            "closing them", s->loop.id);
    event_base_loopbreak(s->loop.base);
}

static void server_on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;

    (void)fd;
    (void)what;
    log_msg(LOG_LEVEL_INFO, "drain: worker %u: drain_timeout reached; closing the remaining "
            "clients with 1001", s->loop.id);
    server_stop(s);
}

void server_handover(struct server *s)
{
    unsigned ms = loop_config(&s->loop)->drain_timeout_ms;
    struct timeval tv = timeval_from_ms(ms);
    size_t live = connset_live(&s->loop.conns, "websocket");

    if (s->loop.stopping || s->loop.draining)
        return;
    s->loop.draining = true;
    for (size_t i = 0; i < s->n_ports; i++)
        listener_release(s->ports[i]->listener);
    if (ms == 0) {
        server_stop(s);
        return;
    }
    log_msg(LOG_LEVEL_INFO, "drain: worker %u: listeners handed over; %zu client%s may go on "
            "for up to %u s", s->loop.id, live, live == 1 ? "" : "s", (ms + 999) / 1000);
    s->drain_timer = evtimer_new(s->loop.base, server_on_drain_timeout, s);
    if (s->drain_timer == NULL) {
        server_stop(s);
        return;
    }
    evtimer_add(s->drain_timer, &tv);
    /* Idle kept-alive connections close now; server_on_empty ends the loop once nothing
     * is left. */
    connset_drain(&s->loop.conns);
}

void server_stop(struct server *s)
{
    struct timeval tv = timeval_from_ms(loop_config(&s->loop)->shutdown_timeout_ms);

    if (s->loop.stopping) {
        /* A second signal: leave now. */
        event_base_loopbreak(s->loop.base);
        return;
    }
    s->loop.stopping = true;
    if (s->drain_timer != NULL)
        evtimer_del(s->drain_timer);
    log_msg(LOG_LEVEL_INFO, "stopping: closing listeners and %s (worker %u)",
            connset_live(&s->loop.conns, "websocket") == 0 ? "no live clients"
                                                           : "live clients with 1001",
            s->loop.id);
    for (size_t i = 0; i < s->n_ports; i++)
        listener_close(s->ports[i]->listener);
    s->stop_timer = evtimer_new(s->loop.base, server_on_stop_timeout, s);
    if (s->stop_timer != NULL)
        evtimer_add(s->stop_timer, &tv);
    /* WebSocket clients get 1001, kept-alive connections between requests close, the
     * rest finish what they do; server_on_empty ends the loop once nothing is left. */
    connset_stop(&s->loop.conns);
}

/* The main thread asked for a stop (a stop signal): the first begins a graceful one, a
 * second ends the loop at once. */
static void server_on_wake_stop(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;
    unsigned n = atomic_exchange(&s->stops_asked, 0);

    (void)fd;
    (void)what;
    while (n-- > 0)
        server_stop(s);
}

/* The main thread loaded a new configuration: take it now, so an idle worker does not
 * keep the old one alive until its next accept. */
static void server_on_wake_conf(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;

    (void)fd;
    (void)what;
    loop_refresh_conf(&s->loop);
}

/* The main thread's new process is ready: hand the listeners over. */
static void server_on_wake_handover(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    server_handover(arg);
}

void server_wake_handover(struct server *s)
{
    event_active(s->wake_handover, EV_TIMEOUT, 0);
}

void server_wake_stop(struct server *s)
{
    atomic_fetch_add(&s->stops_asked, 1);
    event_active(s->wake_stop, EV_TIMEOUT, 0);
}

void server_wake_conf(struct server *s)
{
    event_active(s->wake_conf, EV_TIMEOUT, 0);
}

int server_init(struct server *s, unsigned id, const struct server *first,
                struct runconf_slot *published, struct connlimits *limits, struct authpool *pool,
                struct inherit *in, char *err, size_t err_len)
{
    memset(s, 0, sizeof(*s));
    atomic_init(&s->stops_asked, 0);
    if (loop_init(&s->loop, id, published, limits, pool, server_on_empty, s, err, err_len) != 0)
        return -1;
    s->wake_stop = event_new(s->loop.base, -1, 0, server_on_wake_stop, s);
    s->wake_conf = event_new(s->loop.base, -1, 0, server_on_wake_conf, s);
    s->wake_handover = event_new(s->loop.base, -1, 0, server_on_wake_handover, s);
    if (s->wake_stop == NULL || s->wake_conf == NULL || s->wake_handover == NULL) {
        snprintf(err, err_len, "event setup: out of memory");
        return -1;
    }
    /* The sockets a "systemd:" entry names are its own, whatever address they are bound
     * to: an address entry listed before it must not take them. */
    for (size_t i = 0; id == 0 && in != NULL && i < loop_config(&s->loop)->n_listen; i++)
        if (loop_config(&s->loop)->listen[i].kind == ADDR_SYSTEMD)
            inherit_reserve(in, loop_config(&s->loop)->listen[i].host);
    for (size_t i = 0; i < loop_config(&s->loop)->n_listen; i++)
        if (server_add_ports(s, first, id == 0 ? in : NULL, i, err, err_len) != 0)
            return -1;
    return 0;
}

int server_run(struct server *s)
{
    event_base_dispatch(s->loop.base);
    return 0;
}

void server_free(struct server *s)
{
    for (size_t i = 0; i < s->n_ports; i++) {
        listener_free(s->ports[i]->listener);
        free(s->ports[i]);
    }
    free(s->ports);
    if (s->stop_timer != NULL)
        event_free(s->stop_timer);
    if (s->drain_timer != NULL)
        event_free(s->drain_timer);
    if (s->wake_handover != NULL)
        event_free(s->wake_handover);
    if (s->wake_stop != NULL)
        event_free(s->wake_stop);
    if (s->wake_conf != NULL)
        event_free(s->wake_conf);
    loop_free(&s->loop);
    memset(s, 0, sizeof(*s));
}
