/*
 * clientsock.c - connect to a target: numeric addresses directly, names through evdns,
 * Unix sockets by their path, the built-in echo through echo.c; for tls:// the connected
 * socket then moves to an OpenSSL bufferevent for the handshake. One deadline covers
 * resolving, connecting and the handshake. A connected TCP target socket gets
 * TCP_NODELAY and TCP keepalive (a Unix one has neither: no network to wait on). A
 * route's PROXY protocol header goes out on the bare socket the moment it connects, so
 * that it comes before the TLS ClientHello of a tls:// target.
 */
#include "clientsock.h"

#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "echo.h"
#include "log.h"
#include "proxyproto.h"
#include "timeval.h"
#include "tls.h"

/* A Unix target's listen queue is full: the next connect() this much later. */
#define CLIENTSOCK_UNIX_RETRY_MS 10
/* Routes' round-robin counters over their source addresses, shared modulo this many. */
#define CLIENTSOCK_SOURCE_SLOTS 64
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* Linux 4.2; older C libraries lack the name */
#endif

static void clientsock_report(struct clientsock *cs, enum clientsock_result result)
{
    if (cs->done)
        return;
    cs->done = 1;
    if (cs->timer != NULL)
        evtimer_del(cs->timer);
    if (cs->unix_try != NULL)
        evtimer_del(cs->unix_try);
    cs->cb(cs, result, cs->reason, cs->arg);
}

static void clientsock_on_event(struct bufferevent *bev, short what, void *arg);

/* Sends <cs>'s PROXY header, if any, on its socket just connected, straight to the kernel:
 * nothing else has been written yet, so the whole header fits in the empty send buffer
 * (a short write would be a broken socket). Returns true, or false once reported as
 * FAILED. */
static bool clientsock_send_proxy(struct clientsock *cs)
{
    ssize_t n;

    if (cs->proxy_len == 0)
        return true;
    n = send(bufferevent_getfd(cs->bev), cs->proxy_hdr, cs->proxy_len, MSG_NOSIGNAL);
    if (n == (ssize_t)cs->proxy_len)
        return true;
    snprintf(cs->reason, sizeof(cs->reason), "send PROXY header to %s: %s", cs->target,
             n < 0 ? strerror(errno) : "short write");
    clientsock_report(cs, CLIENTSOCK_FAILED);
    return false;
}

/* TCP keepalive on a target socket: a target that vanishes without a FIN or reset (a host
 * powered off, a firewall or NAT that forgot the flow) is otherwise never noticed while
 * the bridge has nothing to send it. With these values the first probe goes after 60 s
 * of silence and the socket fails (ETIMEDOUT, then close 1011 to the client) after 6
 * unanswered probes 10 s apart: about two minutes. Best effort: a failure only loses
 * the probes. */
#define CLIENTSOCK_KEEPIDLE_S 60
#define CLIENTSOCK_KEEPINTVL_S 10
#define CLIENTSOCK_KEEPCNT 6

static void clientsock_keepalive(evutil_socket_t fd)
{
    int on = 1, idle = CLIENTSOCK_KEEPIDLE_S, intvl = CLIENTSOCK_KEEPINTVL_S,
        cnt = CLIENTSOCK_KEEPCNT;

    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
        log_msg(LOG_LEVEL_DEBUG, "setsockopt keepalive: %s", strerror(errno));
}

/* TCP is up to a tls:// target: the socket moves to a TLS bufferevent, which shakes
 * hands. Done in two steps so that a refused connect reads exactly as for a plain
 * target, and a TLS failure names TLS. */
static void clientsock_tls_start(struct clientsock *cs)
{
    evutil_socket_t fd = bufferevent_getfd(cs->bev);
    char why[256];
    SSL *ssl = tls_connect_ssl_new(cs->tls, cs->tls_route, why, sizeof(why));

    if (ssl == NULL) {
        snprintf(cs->reason, sizeof(cs->reason), "TLS with %s: %s", cs->target, why);
        clientsock_report(cs, CLIENTSOCK_FAILED);
        return;
    }
    /* Freed later with this object, not inside its own callback. */
    cs->tcp = cs->bev;
    bufferevent_setcb(cs->tcp, NULL, NULL, NULL, NULL);
    bufferevent_disable(cs->tcp, EV_READ | EV_WRITE);
    bufferevent_setfd(cs->tcp, -1);
    cs->bev = bufferevent_openssl_socket_new(bufferevent_get_base(cs->tcp), fd, ssl,
                                             BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (cs->bev == NULL) {
        close(fd); /* libevent freed <ssl>, not the socket */
        snprintf(cs->reason, sizeof(cs->reason), "TLS with %s: out of memory", cs->target);
        clientsock_report(cs, CLIENTSOCK_FAILED);
        return;
    }
    cs->handshaking = true;
    /* A target that closes TCP without close_notify ends like a plain one: EOF. */
    bufferevent_openssl_set_allow_dirty_shutdown(cs->bev, 1);
    bufferevent_setcb(cs->bev, NULL, NULL, clientsock_on_event, cs);
}

static void clientsock_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct clientsock *cs = arg;
    char why[256];
    int dns_err;
    int one = 1;

    if ((what & BEV_EVENT_CONNECTED) && cs->handshaking) {
        tls_describe(bufferevent_openssl_get_ssl(bev), why, sizeof(why));
        log_msg(LOG_LEVEL_DEBUG, "target %s: %s", cs->target, why);
        /* Only the handshake was read so far; the WebSocket client enables reading. */
        clientsock_report(cs, CLIENTSOCK_CONNECTED);
        return;
    }
    if (what & BEV_EVENT_CONNECTED) {
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        clientsock_keepalive(bufferevent_getfd(bev));
        if (!clientsock_send_proxy(cs))
            return;
        if (cs->tls_target)
            clientsock_tls_start(cs);
        else
            clientsock_report(cs, CLIENTSOCK_CONNECTED);
        return;
    }
    if (cs->handshaking) {
        tls_bev_error(bev, why, sizeof(why));
        snprintf(cs->reason, sizeof(cs->reason), "TLS handshake with %s: %s", cs->target, why);
        clientsock_report(cs, CLIENTSOCK_FAILED);
        return;
    }
    dns_err = bufferevent_socket_get_dns_error(bev);
    if (dns_err != 0)
        snprintf(cs->reason, sizeof(cs->reason), "resolve %s: %s", cs->target,
                 evutil_gai_strerror(dns_err));
    else
        snprintf(cs->reason, sizeof(cs->reason), "connect %s: %s", cs->target,
                 what & BEV_EVENT_ERROR ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                        : "connection closed");
    clientsock_report(cs, CLIENTSOCK_FAILED);
}

static void clientsock_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct clientsock *cs = arg;

    (void)fd;
    (void)what;
    if (bufferevent_getfd(cs->bev) < 0 && cs->timeout_ms == 0) {
        /* The echo target: its "connect" completes on the next loop turn. */
        clientsock_report(cs, CLIENTSOCK_CONNECTED);
        return;
    }
    snprintf(cs->reason, sizeof(cs->reason), "%s %s: timed out after %u ms",
             cs->handshaking ? "TLS handshake with" : "connect", cs->target, cs->timeout_ms);
    clientsock_report(cs, CLIENTSOCK_TIMEOUT);
}

/* One connect() to a Unix target. A Unix stream socket connects or fails at once: there
 * is no handshake to wait for. A full listen queue is EAGAIN, not a connect in progress,
 * so the attempt is repeated on a short timer until it works or the deadline passes, as a
 * TCP connect would wait in the SYN queue. A missing file (ENOENT) or nobody listening
 * (ECONNREFUSED) fails like a refused TCP target: 502, the reason in the log only. */
static void clientsock_unix_on_try(evutil_socket_t unused, short what, void *arg)
{
    struct clientsock *cs = arg;
    struct timeval tv = timeval_from_ms(CLIENTSOCK_UNIX_RETRY_MS);
    int r =
        connect(bufferevent_getfd(cs->bev), (const struct sockaddr *)&cs->unix_sa, cs->unix_sa_len);

    (void)unused;
    (void)what;
    if (r == 0 || errno == EISCONN) {
        if (clientsock_send_proxy(cs))
            clientsock_report(cs, CLIENTSOCK_CONNECTED);
        return;
    }
    if (errno == EAGAIN || errno == EINPROGRESS || errno == EALREADY || errno == EINTR) {
        evtimer_add(cs->unix_try, &tv);
        return;
    }
    snprintf(cs->reason, sizeof(cs->reason), "connect %s: %s", cs->target, strerror(errno));
    clientsock_report(cs, CLIENTSOCK_FAILED);
}

/* Starts connecting to Unix socket <target>: the first attempt runs on the next loop turn,
 * so that neither outcome is reported from within clientsock_new. */
static int clientsock_connect_unix(struct clientsock *cs, struct event_base *base,
                                   const struct addr *target)
{
    struct timeval now = {0, 0};
    evutil_socket_t fd;

    cs->unix_sa_len = addr_unix_sockaddr(target, &cs->unix_sa);
    if (cs->unix_sa_len == 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    cs->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (cs->bev == NULL) {
        close(fd);
        return -1;
    }
    cs->unix_try = evtimer_new(base, clientsock_unix_on_try, cs);
    if (cs->unix_try == NULL)
        return -1;
    evtimer_add(cs->unix_try, &now);
    return 0;
}

/* Round-robin positions in routes' source lists, by route index (modulo): shared by the
 * workers, so atomic. */
static _Atomic unsigned clientsock_source_next[CLIENTSOCK_SOURCE_SLOTS];

/* A new non-blocking socket bound to <src> (port 0), given to <cs>'s bufferevent. With
 * IP_BIND_ADDRESS_NO_PORT the port is chosen at connect() for the whole 4-tuple, so one
 * source address is not limited to one ephemeral range across every target. Returns 0,
 * or -1 with errno set (the socket closed). */
static int clientsock_bind_source(struct clientsock *cs, const struct sockaddr_storage *src)
{
    socklen_t len =
        src->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1, e;
    evutil_socket_t fd = socket(src->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    /* Best effort: without it (before Linux 4.2) bind takes a port of its own. */
    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)src, len) != 0) {
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    bufferevent_setfd(cs->bev, fd);
    return 0;
}

/* Connects <cs> to <sa> from one of <sources> (n > 0): the next in turn, or the one after
 * it when the address has no port left or is not this host's (EADDRNOTAVAIL, EADDRINUSE).
 * Returns 0 (connecting), or -2 with the reason logged (the caller cannot start it). */
static int clientsock_connect_from(struct clientsock *cs, const struct sockaddr *sa,
                                   socklen_t sa_len, const struct sockaddr_storage *sources,
                                   size_t n, size_t route)
{
    unsigned first = atomic_fetch_add(&clientsock_source_next[route % CLIENTSOCK_SOURCE_SLOTS], 1);
    int e = 0;

    for (size_t i = 0; i < n; i++) {
        const struct sockaddr_storage *src = &sources[(first + i) % n];
        if (clientsock_bind_source(cs, src) == 0) {
            if (bufferevent_socket_connect(cs->bev, sa, (int)sa_len) == 0)
                return 0;
            evutil_socket_t fd = bufferevent_getfd(cs->bev);
            e = errno;
            bufferevent_setfd(cs->bev, -1);
            close(fd);
        } else {
            e = errno;
        }
        if (e != EADDRNOTAVAIL && e != EADDRINUSE)
            break;
    }
    log_msg(LOG_LEVEL_WARN, "connect %s from route source addresses: %s", cs->target, strerror(e));
    return -2;
}

/* Starts a connect to an IP literal without touching DNS (its socket address was made when
 * <target> was parsed), from one of <sources> if n > 0. -1 if <target> is a name. */
static int clientsock_connect_numeric(struct clientsock *cs, const struct addr *target,
                                      const struct sockaddr_storage *sources, size_t n,
                                      size_t route)
{
    if (target->sa_len == 0)
        return -1;
    if (n > 0)
        return clientsock_connect_from(cs, &target->sa.sa, target->sa_len, sources, n, route) == 0
                   ? 0
                   : -2;
    return bufferevent_socket_connect(cs->bev, &target->sa.sa, (int)target->sa_len) == 0 ? 0 : -2;
}

struct clientsock *clientsock_new(struct event_base *base, struct evdns_base *dns,
                                  const struct tls *tls, const struct addr *target, size_t route,
                                  unsigned timeout_ms, uint64_t high_bytes, uint64_t low_bytes,
                                  const struct clientsock_proxy *proxy,
                                  const struct sockaddr_storage *sources, size_t n_sources,
                                  clientsock_cb *cb, void *arg)
{
    struct timeval tv = timeval_from_ms(timeout_ms);
    struct clientsock *cs = calloc(1, sizeof(*cs));
    int r;

    if (cs == NULL)
        return NULL;
    cs->cb = cb;
    cs->arg = arg;
    cs->timeout_ms = timeout_ms;
    cs->tls_target = target->tls;
    cs->tls_route = route;
    cs->tls = tls;
    addr_format(target, cs->target, sizeof(cs->target));
    if (proxy != NULL && target->kind != ADDR_ECHO) {
        int n = proxy->version == 1
                    ? proxyproto_write_v1(proxy->src, proxy->dst, (char *)cs->proxy_hdr,
                                          sizeof(cs->proxy_hdr))
                    : proxyproto_write_v2(proxy->src, proxy->dst, NULL, 0, 0, cs->proxy_hdr,
                                          sizeof(cs->proxy_hdr));
        if (n < 0)
            goto fail;
        cs->proxy_len = (size_t)n;
    }
    cs->timer = evtimer_new(base, clientsock_on_timer, cs);
    if (cs->timer == NULL)
        goto fail;
    if (target->kind == ADDR_ECHO) {
        cs->bev = echo_new(base, high_bytes, low_bytes);
        if (cs->bev == NULL)
            goto fail;
        cs->timeout_ms = 0;
        tv = (struct timeval){0, 0};
        evtimer_add(cs->timer, &tv);
        return cs;
    }
    if (target->kind == ADDR_UNIX) {
        if (clientsock_connect_unix(cs, base, target) != 0)
            goto fail;
        evtimer_add(cs->timer, &tv);
        return cs;
    }
    cs->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (cs->bev == NULL)
        goto fail;
    bufferevent_setcb(cs->bev, NULL, NULL, clientsock_on_event, cs);
    evtimer_add(cs->timer, &tv);
    r = clientsock_connect_numeric(cs, target, sources, n_sources, route);
    if (r == -1 && n_sources == 0)
        r = bufferevent_socket_connect_hostname(cs->bev, dns, AF_UNSPEC, target->host,
                                                target->port);
    if (r != 0) {
        /* libevent reports most failures through the event callback; this one is early
         * (no socket could be made), and a failing constructor never calls back. */
        goto fail;
    }
    return cs;
fail:
    clientsock_free(cs);
    return NULL;
}

struct bufferevent *clientsock_take_bev(struct clientsock *cs)
{
    struct bufferevent *bev = cs->bev;

    cs->bev = NULL;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    return bev;
}

void clientsock_free(struct clientsock *cs)
{
    if (cs == NULL)
        return;
    if (cs->timer != NULL)
        event_free(cs->timer);
    if (cs->unix_try != NULL)
        event_free(cs->unix_try);
    if (cs->bev != NULL) {
        if (bufferevent_getfd(cs->bev) < 0)
            bufferevent_flush(cs->bev, EV_WRITE, BEV_FINISHED); /* lets the echo end go */
        bufferevent_free(cs->bev);
    }
    if (cs->tcp != NULL)
        bufferevent_free(cs->tcp);
    free(cs);
}
