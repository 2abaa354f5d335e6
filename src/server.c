/*
 * server.c - the server socket: listeners, the live set of connections, signals, and an
 * orderly end. Objects finished inside their own callbacks are freed by the reaper, an
 * event that runs once the callback has returned (as redis's freeClientAsync does).
 */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "httpconn.h"
#include "drain.h"
#include "log.h"
#include "static.h"
#include "wsclient.h"

#define SERVER_ACCEPT_RETRY_MS 100 /* pause after accept fails for lack of fds or memory */

static void server_on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;
    struct wsclient *wc;
    struct httpconn *hc;

    (void)fd;
    (void)what;
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
    if (s->stopping && TAILQ_EMPTY(&s->httpconns) && TAILQ_EMPTY(&s->wsclients) &&
        TAILQ_EMPTY(&s->drains))
        event_base_loopbreak(s->base);
}

static void server_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                             int socklen, void *arg)
{
    struct server_listener *sl = arg;

    (void)lev;
    (void)socklen;
    if (sl->server->stopping) {
        close(fd);
        return;
    }
    httpconn_new(sl->server, fd, sa);
}

static void server_on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    struct server_listener *sl = arg;

    (void)fd;
    (void)what;
    if (!sl->server->stopping)
        evconnlistener_enable(sl->lev);
}

static void server_on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct server_listener *sl = arg;
    struct timeval tv = {0, SERVER_ACCEPT_RETRY_MS * 1000};
    int err = EVUTIL_SOCKET_ERROR();

    /* Out of fds or memory: the pending connection stays in the backlog, so accepting again
     * at once would spin. Pause this listener briefly; live connections keep being served. */
    log_msg(LOG_LEVEL_WARN, "accept on %s: %s; pausing for %d ms", sl->name,
            evutil_socket_error_to_string(err), SERVER_ACCEPT_RETRY_MS);
    evconnlistener_disable(lev);
    evtimer_add(sl->retry, &tv);
}

/* Creates, binds and listens on one socket for <ai>; -1 with "bind NAME: why" in <err>. */
static evutil_socket_t server_listen_socket(const struct addrinfo *ai, const char *name, char *err,
                                            size_t err_len)
{
    evutil_socket_t fd;
    int one = 1;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, err_len, "socket for %s: %s", name, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
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

static int server_add_listeners(struct server *s, const struct addr *a, char *err, size_t err_len)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
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
        struct server_listener *grown, *sl;
        evutil_socket_t fd;

        grown = realloc(s->listeners, (s->n_listeners + 1) * sizeof(*grown));
        if (grown == NULL) {
            snprintf(err, err_len, "listen %s: out of memory", name);
            freeaddrinfo(res);
            return -1;
        }
        s->listeners = grown;
        sl = &s->listeners[s->n_listeners];
        memset(sl, 0, sizeof(*sl));
        addr_format_sockaddr(ai->ai_addr, sl->name);
        fd = server_listen_socket(ai, sl->name, err, err_len);
        if (fd < 0) {
            freeaddrinfo(res);
            return -1;
        }
        sl->server = s;
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
        log_msg(LOG_LEVEL_INFO, "listening on %s", sl->name);
    }
    freeaddrinfo(res);
    return 0;
}

static void server_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;

    (void)fd;
    (void)what;
    log_msg(LOG_LEVEL_WARN, "stop: connections still open after close_timeout; closing them");
    event_base_loopbreak(s->base);
}

void server_stop(struct server *s)
{
    unsigned ms = s->config->close_timeout_ms + 1000;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    struct wsclient *wc, *next;
    struct httpconn *hc, *hc_next;

    if (s->stopping) {
        /* A second signal: leave now. */
        event_base_loopbreak(s->base);
        return;
    }
    s->stopping = true;
    log_msg(LOG_LEVEL_INFO, "stopping: closing listeners and %s",
            TAILQ_EMPTY(&s->wsclients) ? "no live clients" : "live clients with 1001");
    for (size_t i = 0; i < s->n_listeners; i++) {
        evconnlistener_free(s->listeners[i].lev);
        s->listeners[i].lev = NULL;
    }
    for (wc = TAILQ_FIRST(&s->wsclients); wc != NULL; wc = next) {
        next = TAILQ_NEXT(wc, link);
        if (wc->state == WSCLIENT_OPEN)
            wsclient_close(wc, WS_CLOSE_GOING_AWAY, "server shutting down", "bridge", true);
    }
    for (hc = TAILQ_FIRST(&s->httpconns); hc != NULL; hc = hc_next) {
        hc_next = TAILQ_NEXT(hc, link);
        httpconn_stop(hc); /* kept-alive connections between requests close now */
    }
    s->stop_timer = evtimer_new(s->base, server_on_stop_timeout, s);
    if (s->stop_timer != NULL)
        evtimer_add(s->stop_timer, &tv);
    server_conn_gone(s);
}

static void server_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_msg(LOG_LEVEL_INFO, "signal %s", strsignal((int)sig));
    server_stop(arg);
}

int server_init(struct server *s, struct config *config, char *err, size_t err_len)
{
    memset(s, 0, sizeof(*s));
    s->config = config;
    TAILQ_INIT(&s->httpconns);
    TAILQ_INIT(&s->wsclients);
    TAILQ_INIT(&s->drains);
    TAILQ_INIT(&s->dead);
    TAILQ_INIT(&s->dead_http);
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
    if (config->web_root != NULL) {
        s->web = static_root_new(config->web_root, STATIC_MIME_TYPES_FILE, err, err_len);
        if (s->web == NULL)
            return -1;
    }
    s->reaper = event_new(s->base, -1, 0, server_on_reap, s);
    s->sig_term = evsignal_new(s->base, SIGTERM, server_on_signal, s);
    s->sig_int = evsignal_new(s->base, SIGINT, server_on_signal, s);
    if (s->dns == NULL || s->reaper == NULL || s->sig_term == NULL || s->sig_int == NULL) {
        snprintf(err, err_len, "event setup: out of memory");
        return -1;
    }
    evsignal_add(s->sig_term, NULL);
    evsignal_add(s->sig_int, NULL);
    for (size_t i = 0; i < config->n_listen; i++)
        if (server_add_listeners(s, &config->listen[i], err, err_len) != 0)
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
    struct wsclient *wc;
    struct httpconn *hc;
    struct drain *l;

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
        if (s->listeners[i].lev != NULL)
            evconnlistener_free(s->listeners[i].lev);
        if (s->listeners[i].retry != NULL)
            event_free(s->listeners[i].retry);
    }
    free(s->listeners);
    if (s->base != NULL) {
        /* Let the echo targets see their partners' end of file and free themselves. */
        event_base_loop(s->base, EVLOOP_NONBLOCK);
    }
    if (s->stop_timer != NULL)
        event_free(s->stop_timer);
    if (s->sig_term != NULL)
        event_free(s->sig_term);
    if (s->sig_int != NULL)
        event_free(s->sig_int);
    if (s->reaper != NULL)
        event_free(s->reaper);
    if (s->dns != NULL)
        evdns_base_free(s->dns, 0);
    if (s->base != NULL)
        event_base_free(s->base);
    static_root_free(s->web);
    config_free(s->config);
    memset(s, 0, sizeof(*s));
}
