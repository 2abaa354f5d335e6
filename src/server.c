/*
 * server.c - the server socket of one worker: listeners, the live set of connections, and
 * an orderly end. A TLS listener's connection is peeked at (plain HTTP gets a readable 400)
 * and shakes hands here before httpconn sees it. Objects finished inside their own
 * callbacks are freed by the reaper, an event that runs once the callback has returned
 * (as redis's freeClientAsync does). Signals, and what workers share, are in workers.c.
 */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "config.h"
#include "drain.h"
#include "http_reply.h"
#include "httpconn.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "runconf.h"
#include "static.h"
#include "tls.h"
#include "workers.h"
#include "wsclient.h"

#define SERVER_ACCEPT_RETRY_MS 100 /* pause after accept fails for lack of fds or memory */

static void server_tlsconn_free(struct server_tlsconn *tc)
{
    if (tc->first_byte != NULL)
        event_free(tc->first_byte);
    if (tc->deadline != NULL)
        event_free(tc->deadline);
    if (tc->bev != NULL)
        bufferevent_free(tc->bev);
    if (tc->fd >= 0)
        close(tc->fd);
    connslot_release(&tc->slot);
    runconf_unref(tc->conf);
    free(tc);
}

static void server_on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;
    struct server_tlsconn *tc;
    struct wsclient *wc;
    struct httpconn *hc;

    (void)fd;
    (void)what;
    while ((tc = TAILQ_FIRST(&s->dead_tls)) != NULL) {
        TAILQ_REMOVE(&s->dead_tls, tc, link);
        server_tlsconn_free(tc);
    }
    while ((wc = TAILQ_FIRST(&s->dead)) != NULL) {
        TAILQ_REMOVE(&s->dead, wc, link);
        wsclient_free(wc);
    }
    while ((hc = TAILQ_FIRST(&s->dead_http)) != NULL) {
        TAILQ_REMOVE(&s->dead_http, hc, link);
        httpconn_free(hc);
    }
    server_conn_gone(s);
}

void server_reap_soon(struct server *s)
{
    event_active(s->reaper, EV_TIMEOUT, 0);
}

void server_conn_gone(struct server *s)
{
    if (s->stopping && TAILQ_EMPTY(&s->tlsconns) && TAILQ_EMPTY(&s->httpconns) &&
        TAILQ_EMPTY(&s->wsclients) && TAILQ_EMPTY(&s->drains)) {
        /* Worker 0's base keeps running while the other workers finish: no late warning. */
        if (s->stop_timer != NULL)
            evtimer_del(s->stop_timer);
        event_base_loopbreak(s->base);
    }
}

/* Ends <tc>'s part: its connection was handed on, or is closed when the reaper frees it. */
static void server_tlsconn_finish(struct server_tlsconn *tc)
{
    struct server *s = tc->server;

    if (tc->done)
        return;
    tc->done = true;
    if (tc->first_byte != NULL)
        event_del(tc->first_byte);
    if (tc->deadline != NULL)
        event_del(tc->deadline);
    TAILQ_REMOVE(&s->tlsconns, tc, link);
    TAILQ_INSERT_TAIL(&s->dead_tls, tc, link);
    server_reap_soon(s);
}

/* Plain HTTP on a TLS port: a short readable answer instead of a handshake that can only
 * fail, closed as gracefully as any other error answer. */
static void server_tlsconn_refuse_plain(struct server_tlsconn *tc)
{
    struct server *s = tc->server;
    char buf[512];
    size_t n =
        http_reply_error(buf, sizeof(buf), 400, "this port speaks TLS; use https:// or wss://");
    struct bufferevent *bev =
        bufferevent_socket_new(s->base, tc->fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);

    log_msg(LOG_LEVEL_INFO, "client=%s plain HTTP on TLS listener %s: 400", tc->peer,
            tc->listener->name);
    if (bev != NULL) {
        tc->fd = -1;
        bufferevent_write(bev, buf, n);
        drain_start_counted(s, bev, tc->conf->config->close_timeout_ms, &tc->slot);
    }
    server_tlsconn_finish(tc);
}

static void server_tlsconn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct server_tlsconn *tc = arg;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    char info[256], cert[600];

    if (tc->done) /* the deadline came first; the reaper frees <bev> */
        return;
    if (what & BEV_EVENT_CONNECTED) {
        tls_describe(ssl, info, sizeof(info));
        log_msg(LOG_LEVEL_DEBUG, "client=%s TLS on %s: %s", tc->peer, tc->listener->name, info);
        if (tls_peer_certificate(ssl, cert, sizeof(cert)))
            log_msg(LOG_LEVEL_INFO, "client=%s TLS client certificate %s", tc->peer, cert);
        tc->bev = NULL;
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        server_tlsconn_finish(tc);
        httpconn_new(tc->server, bev, (const struct sockaddr *)&tc->sa, &tc->slot);
        return;
    }
    tls_bev_error(bev, info, sizeof(info));
    log_msg(LOG_LEVEL_INFO, "client=%s TLS handshake on %s failed: %s", tc->peer,
            tc->listener->name, info);
    /* The alert OpenSSL wrote is followed by our FIN, not cut by a reset. */
    tc->bev = NULL;
    drain_start_counted(tc->server, bev, tc->conf->config->close_timeout_ms, &tc->slot);
    server_tlsconn_finish(tc);
}

static void server_tlsconn_start_handshake(struct server_tlsconn *tc)
{
    struct server *s = tc->server;
    SSL *ssl = tls_accept_ssl_new(&tc->conf->tls->listeners[tc->listener->index]);

    if (ssl != NULL)
        tc->bev = bufferevent_openssl_socket_new(s->base, tc->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (tc->bev == NULL) {
        /* libevent freed <ssl> on its failure path; the socket is still ours. */
        log_msg(LOG_LEVEL_ERROR, "client=%s: TLS setup: out of memory", tc->peer);
        server_tlsconn_finish(tc);
        return;
    }
    tc->fd = -1;
    /* A peer that closes TCP without close_notify ends like a plain one: EOF, not error. */
    bufferevent_openssl_set_allow_dirty_shutdown(tc->bev, 1);
    bufferevent_setcb(tc->bev, NULL, NULL, server_tlsconn_on_event, tc);
}

static void server_tlsconn_on_first_byte(evutil_socket_t fd, short what, void *arg)
{
    struct server_tlsconn *tc = arg;
    unsigned char first;
    ssize_t r;

    (void)what;
    r = recv(fd, &first, 1, MSG_PEEK);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(tc->first_byte, NULL);
        return;
    }
    if (r <= 0) {
        log_msg(LOG_LEVEL_DEBUG, "client=%s left before its TLS handshake (%s)", tc->peer,
                r == 0 ? "EOF" : strerror(errno));
        server_tlsconn_finish(tc);
    } else if (first != TLS_RECORD_HANDSHAKE) {
        server_tlsconn_refuse_plain(tc);
    } else {
        server_tlsconn_start_handshake(tc);
    }
}

static void server_tlsconn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct server_tlsconn *tc = arg;

    (void)fd;
    (void)what;
    log_msg(LOG_LEVEL_DEBUG, "client=%s TLS handshake on %s not done within handshake_timeout",
            tc->peer, tc->listener->name);
    server_tlsconn_finish(tc);
}

/* Gives every route of <c> its entry in this worker's metrics, so a new route shows at
 * zero. Returns 0, or -1 if memory ran out. */
static int server_register_routes(struct server *s, const struct config *c)
{
    for (size_t i = 0; i < c->n_routes; i++)
        if (metrics_route_get(s->metrics, c->routes[i].path) == NULL)
            return -1;
    return 0;
}

/* Takes the configuration made current by a reload, if there was one since this worker
 * last looked. Called only where no configuration pointer is held: at an accept, or from
 * this worker's own wake-up event; live connections keep their own references. */
static void server_refresh_conf(struct server *s)
{
    struct runconf *next;

    if (workers_generation(s->workers) == s->conf->generation)
        return;
    next = workers_conf_ref(s->workers);
    runconf_unref(s->conf);
    s->conf = next;
    /* The metrics are this worker's own: only its thread may add routes to them. */
    if (server_register_routes(s, next->config) != 0)
        log_msg(LOG_LEVEL_WARN, "reload: worker %u: out of memory for metrics; new routes show "
                "when used", s->id);
}

/* Takes accepted socket <fd> of TLS listener <sl> and its count <slot>: waits for its
 * first byte, bounded by handshake_timeout (which also bounds the handshake; the request
 * head gets its own). */
static void server_tlsconn_new(struct server_listener *sl, evutil_socket_t fd,
                               const struct sockaddr *sa, int socklen, struct connslot *slot)
{
    struct server *s = sl->server;
    unsigned ms = s->conf->config->handshake_timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    struct server_tlsconn *tc = calloc(1, sizeof(*tc));

    if (tc == NULL) {
        close(fd);
        connslot_release(slot);
        return;
    }
    connslot_move(&tc->slot, slot);
    tc->server = s;
    tc->listener = sl;
    tc->conf = runconf_ref(s->conf);
    tc->fd = fd;
    if (socklen > 0 && (size_t)socklen <= sizeof(tc->sa))
        memcpy(&tc->sa, sa, (size_t)socklen);
    addr_format_sockaddr(sa, tc->peer);
    TAILQ_INSERT_TAIL(&s->tlsconns, tc, link);
    tc->first_byte = event_new(s->base, fd, EV_READ, server_tlsconn_on_first_byte, tc);
    tc->deadline = evtimer_new(s->base, server_tlsconn_on_deadline, tc);
    if (tc->first_byte == NULL || tc->deadline == NULL) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", tc->peer);
        server_tlsconn_finish(tc);
        return;
    }
    event_add(tc->first_byte, NULL);
    evtimer_add(tc->deadline, &tv);
}

/* Stops accepting on <sl> for a while: the connections wait in the listen queue. */
static void server_pause_accepting(struct server_listener *sl)
{
    struct timeval tv = {0, SERVER_ACCEPT_RETRY_MS * 1000};

    evconnlistener_disable(sl->lev);
    evtimer_add(sl->retry, &tv);
}

/* Closes accepted socket <fd> from <sa> unread (no TLS or HTTP work is spent on it): it
 * would pass limit <reason> of value <limit>. */
static void server_refuse(struct server_listener *sl, evutil_socket_t fd,
                          const struct sockaddr *sa, const char *reason, unsigned limit)
{
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
    char peer[ADDR_SOCKADDR_STR_MAX];

    close(fd);
    metrics_count_refused(sl->server->metrics, reason);
    if (!log_enabled(LOG_LEVEL_WARN))
        return;
    addr_format_sockaddr(sa, peer);
    log_msg_limited(&rl, LOG_LEVEL_WARN, "client=%s refused on %s: %s reached (%u)", peer,
                    sl->name, reason, limit);
}

static void server_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                             int socklen, void *arg)
{
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
    struct server_listener *sl = arg;
    struct connslot slot;
    struct bufferevent *bev;
    const char *reached;
    unsigned limit;
    bool full;
    int one = 1;

    (void)lev;
    if (sl->server->stopping) {
        close(fd);
        return;
    }
    server_refresh_conf(sl->server);
    if (log_enabled(LOG_LEVEL_DEBUG)) {
        char peer[ADDR_SOCKADDR_STR_MAX];

        addr_format_sockaddr(sa, peer);
        log_msg(LOG_LEVEL_DEBUG, "client=%s accepted on %s by worker %u", peer, sl->name,
                sl->server->id);
    }
    /* Counted from here to the close of its socket, whatever it turns out to be. */
    reached = connslot_admit(&slot, sl->server, sa, &limit, &full);
    if (reached != NULL) {
        server_refuse(sl, fd, sa, reached, limit);
        if (strcmp(reached, "fd_reserve") == 0)
            server_pause_accepting(sl);
        return;
    }
    if (full) {
        /* The next connection would eat into the descriptors kept for those admitted:
         * leave it in the listen queue until some close. */
        log_msg_limited(&rl, LOG_LEVEL_WARN, "accept on %s: connections fill the descriptor "
                        "budget (RLIMIT_NOFILE less fd_reserve); pausing", sl->name);
        server_pause_accepting(sl);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (sl->tls) {
        server_tlsconn_new(sl, fd, sa, socklen, &slot);
        return;
    }
    bev = bufferevent_socket_new(sl->server->base, fd,
                                 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        log_msg(LOG_LEVEL_ERROR, "accept on %s: out of memory", sl->name);
        close(fd);
        connslot_release(&slot);
        return;
    }
    httpconn_new(sl->server, bev, sa, &slot);
}

static void server_on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    struct server_listener *sl = arg;
    struct timeval tv = {0, SERVER_ACCEPT_RETRY_MS * 1000};

    (void)fd;
    (void)what;
    if (sl->server->stopping)
        return;
    if (!connslot_has_room(sl->server)) {
        evtimer_add(sl->retry, &tv);
        return;
    }
    evconnlistener_enable(sl->lev);
}

static void server_on_accept_error(struct evconnlistener *lev, void *arg)
{
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
    struct server_listener *sl = arg;
    int err = EVUTIL_SOCKET_ERROR();

    /* Out of fds or memory: the pending connection stays in the backlog, so accepting again
     * at once would spin. Pause this listener briefly; live connections keep being served. */
    log_msg_limited(&rl, LOG_LEVEL_WARN, "accept on %s: %s; pausing for %d ms", sl->name,
                    evutil_socket_error_to_string(err), SERVER_ACCEPT_RETRY_MS);
    (void)lev;
    server_pause_accepting(sl);
}

/* Creates, binds and listens on one socket for <ai>; -1 with "bind NAME: why" in <err>.
 * With <reuseport> each worker binds its own socket to the same address and the kernel
 * spreads new connections over them. */
static evutil_socket_t server_bind_socket(const struct addrinfo *ai, const char *name,
                                          bool reuseport, char *err, size_t err_len)
{
    evutil_socket_t fd;
    int one = 1;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, err_len, "socket for %s: %s", name, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        snprintf(err, err_len, "SO_REUSEPORT for %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    /* "[::]:8080" and "0.0.0.0:8080" are two listeners, not one that collides. */
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, err_len, "bind %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 1024) != 0) {
        snprintf(err, err_len, "listen %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

evutil_socket_t server_listen_socket(const struct addrinfo *ai, const char *name, char *err,
                                     size_t err_len)
{
    return server_bind_socket(ai, name, false, err, err_len);
}

/* Fails with "bind NAME: Address already in use" if something listens on <ai> already.
 * SO_REUSEPORT would otherwise let a second daemon of the same user share the port
 * silently, where one worker alone gets the error at bind. */
static int server_listen_probe(const struct addrinfo *ai, const char *name, char *err,
                               size_t err_len)
{
    evutil_socket_t fd = server_bind_socket(ai, name, false, err, err_len);

    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Opens the listeners of listen entry <index> of the current config: one per address
 * its host name resolves to. */
static int server_add_listeners(struct server *s, size_t index, char *err, size_t err_len)
{
    const struct addr *a = &s->conf->config->listen[index];
    struct tls_listener *tls =
        s->conf->tls->listeners[index].cfg != NULL ? &s->conf->tls->listeners[index] : NULL;
    char info[512] = "";
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    bool reuseport = s->conf->workers > 1;
    char port[8];
    char name[ADDR_HOST_MAX + 16];
    int r;

    addr_format(a, name, sizeof(name));
    snprintf(port, sizeof(port), "%u", a->port);
    r = getaddrinfo(a->host, port, &hints, &res);
    if (r != 0) {
        snprintf(err, err_len, "listen %s: %s", name, gai_strerror(r));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        struct server_listener **grown, *sl;
        evutil_socket_t fd;

        /* One allocation per listener: its address is the accept callback's argument,
         * so it must not move when the array grows. */
        grown = realloc(s->listeners, (s->n_listeners + 1) * sizeof(*grown));
        if (grown == NULL || (sl = calloc(1, sizeof(*sl))) == NULL) {
            snprintf(err, err_len, "listen %s: out of memory", name);
            if (grown != NULL)
                s->listeners = grown;
            freeaddrinfo(res);
            return -1;
        }
        s->listeners = grown;
        s->listeners[s->n_listeners] = sl;
        addr_format_sockaddr(ai->ai_addr, sl->name);
        if (reuseport && s->id == 0 && server_listen_probe(ai, sl->name, err, err_len) != 0)
            fd = -1;
        else
            fd = server_bind_socket(ai, sl->name, reuseport, err, err_len);
        if (fd < 0) {
            free(sl);
            freeaddrinfo(res);
            return -1;
        }
        sl->server = s;
        sl->index = index;
        sl->tls = tls != NULL;
        sl->retry = evtimer_new(s->base, server_on_accept_retry, sl);
        sl->lev = evconnlistener_new(s->base, server_on_accept, sl, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        if (sl->lev == NULL || sl->retry == NULL) {
            snprintf(err, err_len, "listen %s: out of memory", sl->name);
            if (sl->lev == NULL)
                close(fd);
            s->n_listeners++;
            freeaddrinfo(res);
            return -1;
        }
        evconnlistener_set_error_cb(sl->lev, server_on_accept_error);
        s->n_listeners++;
        if (s->id != 0)
            continue; /* the others listen on the same addresses: said once is enough */
        if (tls != NULL && info[0] == '\0')
            tls_listener_info(tls, info, sizeof(info));
        log_msg(LOG_LEVEL_INFO, "listening on %s%s%s%s", sl->name, tls != NULL ? " with TLS, " : "",
                info, reuseport ? " (a socket per worker)" : "");
    }
    freeaddrinfo(res);
    return 0;
}

static void server_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;

    (void)fd;
    (void)what;
    log_msg(LOG_LEVEL_WARN, "stop: worker %u: connections still open after shutdown_timeout; "
            "closing them", s->id);
    event_base_loopbreak(s->base);
}

void server_stop(struct server *s)
{
    unsigned ms = s->conf->config->shutdown_timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    struct server_tlsconn *tc;
    struct wsclient *wc, *next;
    struct httpconn *hc, *hc_next;

    if (s->stopping) {
        /* A second signal: leave now. */
        event_base_loopbreak(s->base);
        return;
    }
    s->stopping = true;
    log_msg(LOG_LEVEL_INFO, "stopping: closing listeners and %s (worker %u)",
            TAILQ_EMPTY(&s->wsclients) ? "no live clients" : "live clients with 1001", s->id);
    for (size_t i = 0; i < s->n_listeners; i++) {
        evconnlistener_free(s->listeners[i]->lev);
        s->listeners[i]->lev = NULL;
    }
    admin_stop(s->admin);
    for (wc = TAILQ_FIRST(&s->wsclients); wc != NULL; wc = next) {
        next = TAILQ_NEXT(wc, link);
        if (wc->state == WSCLIENT_OPEN)
            wsclient_close(wc, WS_CLOSE_GOING_AWAY, "server shutting down", "bridge", true);
    }
    for (hc = TAILQ_FIRST(&s->httpconns); hc != NULL; hc = hc_next) {
        hc_next = TAILQ_NEXT(hc, link);
        httpconn_stop(hc); /* kept-alive connections between requests close now */
    }
    /* Not a client yet: nothing to say goodbye to. */
    while ((tc = TAILQ_FIRST(&s->tlsconns)) != NULL)
        server_tlsconn_finish(tc);
    s->stop_timer = evtimer_new(s->base, server_on_stop_timeout, s);
    if (s->stop_timer != NULL)
        evtimer_add(s->stop_timer, &tv);
    server_conn_gone(s);
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
    (void)fd;
    (void)what;
    server_refresh_conf(arg);
}

/* SIGUSR2: what this worker holds, counted on its own thread; workers.c sums them. */
void server_status_add(struct server_status *sum, const struct server_status *add)
{
    sum->connecting += add->connecting;
    sum->open += add->open;
    sum->closing += add->closing;
    sum->http += add->http;
    sum->tls += add->tls;
    sum->draining += add->draining;
}

void server_count_status(const struct server *s, struct server_status *st)
{
    const struct wsclient *wc;
    const struct httpconn *hc;
    const struct server_tlsconn *tc;
    const struct drain *d;

    *st = (struct server_status){0};
    TAILQ_FOREACH(wc, &s->wsclients, link) {
        if (wc->state == WSCLIENT_CONNECTING)
            st->connecting++;
        else if (wc->state == WSCLIENT_OPEN)
            st->open++;
        else
            st->closing++;
    }
    TAILQ_FOREACH(hc, &s->httpconns, link)
        st->http++;
    TAILQ_FOREACH(tc, &s->tlsconns, link)
        st->tls++;
    TAILQ_FOREACH(d, &s->drains, link)
        st->draining++;
}

static void server_on_wake_status(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;

    (void)fd;
    (void)what;
    server_count_status(s, &s->status);
    workers_status_done(s->workers);
}

/* The admin endpoint (another thread) wants this worker's counters: copy them here, on
 * the only thread that changes them, so no counter is ever read while it is written. */
static void server_on_wake_metrics(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;
    struct metrics *copy = metrics_new();

    (void)fd;
    (void)what;
    if (copy != NULL && metrics_merge(copy, s->metrics) != 0) {
        metrics_free(copy);
        copy = NULL;
    }
    pthread_mutex_lock(&s->snap_lock);
    metrics_free(s->snap);
    s->snap = copy;
    server_count_status(s, &s->snap_status);
    s->snap_done = s->snap_asked;
    pthread_cond_broadcast(&s->snap_cond);
    pthread_mutex_unlock(&s->snap_lock);
}

unsigned long server_metrics_ask(struct server *s)
{
    unsigned long ticket;

    pthread_mutex_lock(&s->snap_lock);
    ticket = ++s->snap_asked;
    pthread_mutex_unlock(&s->snap_lock);
    event_active(s->wake_metrics, EV_TIMEOUT, 0);
    return ticket;
}

int server_metrics_wait(struct server *s, unsigned long ticket, const struct timespec *deadline,
                        struct metrics *into, struct server_status *st)
{
    int rc = 0;

    pthread_mutex_lock(&s->snap_lock);
    while (s->snap_done < ticket && rc == 0)
        rc = pthread_cond_timedwait(&s->snap_cond, &s->snap_lock, deadline);
    if (s->snap_done >= ticket && s->snap != NULL && metrics_merge(into, s->snap) == 0) {
        server_status_add(st, &s->snap_status);
        rc = 0;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&s->snap_lock);
    return rc;
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

void server_wake_status(struct server *s)
{
    event_active(s->wake_status, EV_TIMEOUT, 0);
}

const struct config *server_config(const struct server *s)
{
    return s->conf->config;
}

int server_init(struct server *s, struct workers *w, unsigned id, struct runconf *conf,
                char *err, size_t err_len)
{
    memset(s, 0, sizeof(*s));
    s->workers = w;
    s->id = id;
    s->conf = conf;
    atomic_init(&s->ws_clients, 0);
    atomic_init(&s->stops_asked, 0);
    if (pthread_mutex_init(&s->snap_lock, NULL) != 0 ||
        pthread_cond_init(&s->snap_cond, NULL) != 0) {
        snprintf(err, err_len, "pthread: cannot make a lock");
        return -1;
    }
    s->snap_made = true;
    TAILQ_INIT(&s->tlsconns);
    TAILQ_INIT(&s->dead_tls);
    TAILQ_INIT(&s->httpconns);
    TAILQ_INIT(&s->wsclients);
    TAILQ_INIT(&s->drains);
    TAILQ_INIT(&s->dead);
    TAILQ_INIT(&s->dead_http);
    /* Every route is in the metrics from the start, at zero, not only once used. */
    s->metrics = metrics_new();
    if (s->metrics == NULL || server_register_routes(s, conf->config) != 0) {
        snprintf(err, err_len, "metrics: out of memory");
        return -1;
    }
    s->base = event_base_new();
    if (s->base == NULL) {
        snprintf(err, err_len, "event_base_new: failed");
        return -1;
    }
    s->dns = evdns_base_new(s->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (s->dns == NULL) {
        /* No usable resolv.conf: numeric targets and /etc/hosts still work. */
        s->dns = evdns_base_new(s->base, 0);
    }
    s->reaper = event_new(s->base, -1, 0, server_on_reap, s);
    s->wake_stop = event_new(s->base, -1, 0, server_on_wake_stop, s);
    s->wake_conf = event_new(s->base, -1, 0, server_on_wake_conf, s);
    s->wake_status = event_new(s->base, -1, 0, server_on_wake_status, s);
    s->wake_metrics = event_new(s->base, -1, 0, server_on_wake_metrics, s);
    if (s->dns == NULL || s->reaper == NULL || s->wake_stop == NULL || s->wake_conf == NULL ||
        s->wake_status == NULL || s->wake_metrics == NULL) {
        snprintf(err, err_len, "event setup: out of memory");
        return -1;
    }
    for (size_t i = 0; i < conf->config->n_listen; i++)
        if (server_add_listeners(s, i, err, err_len) != 0)
            return -1;
    /* One admin endpoint, on worker 0 (the main thread); it sums every worker's counters. */
    if (id == 0 && conf->config->admin_listen != NULL &&
        (s->admin = admin_new(s, conf->config->admin_listen, err, err_len)) == NULL)
        return -1;
    return 0;
}

int server_run(struct server *s)
{
    event_base_dispatch(s->base);
    return 0;
}

void server_free(struct server *s)
{
    struct server_tlsconn *tc;
    struct wsclient *wc;
    struct httpconn *hc;
    struct drain *l;

    while ((tc = TAILQ_FIRST(&s->tlsconns)) != NULL) {
        TAILQ_REMOVE(&s->tlsconns, tc, link);
        server_tlsconn_free(tc);
    }
    while ((hc = TAILQ_FIRST(&s->httpconns)) != NULL) {
        TAILQ_REMOVE(&s->httpconns, hc, link);
        httpconn_free(hc);
    }
    while ((wc = TAILQ_FIRST(&s->wsclients)) != NULL) {
        TAILQ_REMOVE(&s->wsclients, wc, link);
        wsclient_abort(wc);
    }
    while ((l = TAILQ_FIRST(&s->drains)) != NULL)
        drain_free(l);
    if (s->reaper != NULL)
        server_on_reap(-1, 0, s);
    for (size_t i = 0; i < s->n_listeners; i++) {
        if (s->listeners[i]->lev != NULL)
            evconnlistener_free(s->listeners[i]->lev);
        if (s->listeners[i]->retry != NULL)
            event_free(s->listeners[i]->retry);
        free(s->listeners[i]);
    }
    free(s->listeners);
    admin_free(s->admin);
    if (s->base != NULL) {
        /* Let the echo targets see their partners' end of file and free themselves. */
        event_base_loop(s->base, EVLOOP_NONBLOCK);
    }
    if (s->stop_timer != NULL)
        event_free(s->stop_timer);
    if (s->wake_stop != NULL)
        event_free(s->wake_stop);
    if (s->wake_conf != NULL)
        event_free(s->wake_conf);
    if (s->wake_status != NULL)
        event_free(s->wake_status);
    if (s->wake_metrics != NULL)
        event_free(s->wake_metrics);
    if (s->reaper != NULL)
        event_free(s->reaper);
    if (s->dns != NULL)
        evdns_base_free(s->dns, 0);
    if (s->base != NULL)
        event_base_free(s->base);
    /* After every connection: their SSL objects hold references to its contexts, and
     * the SNI callback's argument is a listener in there. */
    runconf_unref(s->conf);
    metrics_free(s->metrics);
    metrics_free(s->snap);
    if (s->snap_made) {
        pthread_mutex_destroy(&s->snap_lock);
        pthread_cond_destroy(&s->snap_cond);
    }
    memset(s, 0, sizeof(*s));
}
