/*
 * tlsaccept.c - the TLS side of an accept: peek at the first byte, answer plain HTTP with
 * a 400 (or pass it on as plain HTTP where "tls.plain: allow" says so, as websockify does
 * without --ssl-only), shake hands under the deadline, then hand the connection to
 * httpconn. What fails is closed through drain, so an alert or the 400 is not cut by a
 * reset.
 */
#include "tlsaccept.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "config.h"
#include "drain.h"
#include "http_reply.h"
#include "httpconn.h"
#include "log.h"
#include "loop.h"
#include "runconf.h"
#include "timeval.h"
#include "tls.h"

static void tlsaccept_conn_free(struct conn *c)
{
    struct tlsaccept *ta = CONN_OF(c, struct tlsaccept, conn);

    if (ta->first_byte != NULL)
        event_free(ta->first_byte);
    if (ta->deadline != NULL)
        event_free(ta->deadline);
    if (ta->bev != NULL)
        bufferevent_free(ta->bev);
    if (ta->fd >= 0)
        close(ta->fd);
    connlimits_release(&ta->slot);
    runconf_unref(ta->conf);
    free(ta);
}

/* Ends <ta>'s part: its connection was handed on, or is closed when the reaper frees it. */
static void tlsaccept_finish(struct tlsaccept *ta)
{
    if (conn_is_finished(&ta->conn))
        return;
    if (ta->first_byte != NULL)
        event_del(ta->first_byte);
    if (ta->deadline != NULL)
        event_del(ta->deadline);
    conn_finish(&ta->conn);
}

/* The loop stops: not a client yet, nothing to say goodbye to. */
static void tlsaccept_conn_stop(struct conn *c)
{
    tlsaccept_finish(CONN_OF(c, struct tlsaccept, conn));
}

static const struct conn_ops tlsaccept_conn_ops = {
    .kind = "tls",
    .free = tlsaccept_conn_free,
    .stop = tlsaccept_conn_stop,
};

/* Plain HTTP on a TLS port: a short readable answer instead of a handshake that can only
 * fail, closed as gracefully as any other error answer. */
static void tlsaccept_refuse_plain(struct tlsaccept *ta)
{
    char buf[512];
    size_t n =
        http_reply_error(buf, sizeof(buf), 400, "this port speaks TLS; use https:// or wss://");
    struct bufferevent *bev = bufferevent_socket_new(
        ta->loop->base, ta->fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);

    log_msg(LOG_LEVEL_INFO, "client=%s plain HTTP on TLS listener %s: 400", ta->peer,
            ta->listener);
    if (bev != NULL) {
        ta->fd = -1;
        bufferevent_write(bev, buf, n);
        drain_start(ta->loop, bev, ta->conf->config->close_timeout_ms, &ta->slot);
    }
    tlsaccept_finish(ta);
}

/* Plain HTTP on a TLS port that allows it: the connection becomes a plain HTTP connection,
 * with its count, as if it had come to a plain listener. httpconn sees a socket
 * bufferevent, so it is not TLS for what depends on it (the default port of a Host
 * without one in the same-origin check, sendfile for files). Its request head gets
 * handshake_timeout from here, as a TLS connection's does once its handshake is done. */
static void tlsaccept_pass_plain(struct tlsaccept *ta)
{
    struct bufferevent *bev = bufferevent_socket_new(
        ta->loop->base, ta->fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);

    if (bev == NULL) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", ta->peer);
        tlsaccept_finish(ta);
        return;
    }
    ta->fd = -1;
    log_msg(LOG_LEVEL_DEBUG, "client=%s plain HTTP on TLS listener %s (tls.plain: allow)", ta->peer,
            ta->listener);
    tlsaccept_finish(ta);
    httpconn_new(ta->loop, bev, (const struct sockaddr *)&ta->sa, &ta->slot, ta->handler,
                 ta->handler_arg);
}

/* True if listener <ta> came in on serves plain HTTP too. Read from the configuration the
 * connection holds: a reload may change it. */
static bool tlsaccept_plain_is_allowed(const struct tlsaccept *ta)
{
    const struct config *c = ta->conf->config;

    return ta->index < c->n_listen && c->listen_tls[ta->index] != NULL &&
           c->listen_tls[ta->index]->plain == CONFIG_TLS_PLAIN_ALLOW;
}

static void tlsaccept_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct tlsaccept *ta = arg;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    char info[256], cert[600];

    if (conn_is_finished(&ta->conn)) /* the deadline came first; the reaper frees <bev> */
        return;
    if (what & BEV_EVENT_CONNECTED) {
        tls_describe(ssl, info, sizeof(info));
        log_msg(LOG_LEVEL_DEBUG, "client=%s TLS on %s: %s", ta->peer, ta->listener, info);
        if (tls_peer_certificate(ssl, cert, sizeof(cert)))
            log_msg(LOG_LEVEL_INFO, "client=%s TLS client certificate %s", ta->peer, cert);
        ta->bev = NULL;
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        tlsaccept_finish(ta);
        httpconn_new(ta->loop, bev, (const struct sockaddr *)&ta->sa, &ta->slot, ta->handler,
                     ta->handler_arg);
        return;
    }
    tls_bev_error(bev, info, sizeof(info));
    log_msg(LOG_LEVEL_INFO, "client=%s TLS handshake on %s failed: %s", ta->peer, ta->listener,
            info);
    /* The alert OpenSSL wrote is followed by our FIN, not cut by a reset. */
    ta->bev = NULL;
    drain_start(ta->loop, bev, ta->conf->config->close_timeout_ms, &ta->slot);
    tlsaccept_finish(ta);
}

static void tlsaccept_start_handshake(struct tlsaccept *ta)
{
    SSL *ssl = tls_accept_ssl_new(&ta->conf->tls->listeners[ta->index]);

    if (ssl != NULL)
        ta->bev = bufferevent_openssl_socket_new(ta->loop->base, ta->fd, ssl,
                                                 BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (ta->bev == NULL) {
        /* libevent freed <ssl> on its failure path; the socket is still ours. */
        log_msg(LOG_LEVEL_ERROR, "client=%s: TLS setup: out of memory", ta->peer);
        tlsaccept_finish(ta);
        return;
    }
    ta->fd = -1;
    /* A peer that closes TCP without close_notify ends like a plain one: EOF, not error. */
    bufferevent_openssl_set_allow_dirty_shutdown(ta->bev, 1);
    bufferevent_setcb(ta->bev, NULL, NULL, tlsaccept_on_event, ta);
}

static void tlsaccept_on_first_byte(evutil_socket_t fd, short what, void *arg)
{
    struct tlsaccept *ta = arg;
    unsigned char first;
    ssize_t r;

    (void)what;
    r = recv(fd, &first, 1, MSG_PEEK);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(ta->first_byte, NULL);
        return;
    }
    if (r <= 0) {
        log_msg(LOG_LEVEL_DEBUG, "client=%s left before its TLS handshake (%s)", ta->peer,
                r == 0 ? "EOF" : strerror(errno));
        tlsaccept_finish(ta);
    } else if (first != TLS_RECORD_HANDSHAKE && tlsaccept_plain_is_allowed(ta)) {
        tlsaccept_pass_plain(ta);
    } else if (first != TLS_RECORD_HANDSHAKE) {
        tlsaccept_refuse_plain(ta);
    } else {
        tlsaccept_start_handshake(ta);
    }
}

static void tlsaccept_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct tlsaccept *ta = arg;

    (void)fd;
    (void)what;
    log_msg(LOG_LEVEL_DEBUG, "client=%s TLS handshake on %s not done within handshake_timeout",
            ta->peer, ta->listener);
    tlsaccept_finish(ta);
}

void tlsaccept_new(struct loop *l, evutil_socket_t fd, const struct sockaddr *sa, int socklen,
                   struct connlimits_slot *slot, size_t index, const char *name,
                   const struct httpconn_handler *handler, void *handler_arg)
{
    struct timeval tv = timeval_from_ms(loop_config(l)->handshake_timeout_ms);
    struct tlsaccept *ta = calloc(1, sizeof(*ta));

    if (ta == NULL) {
        close(fd);
        connlimits_release(slot);
        return;
    }
    connlimits_move(&ta->slot, slot);
    ta->loop = l;
    ta->handler = handler;
    ta->handler_arg = handler_arg;
    ta->index = index;
    ta->conf = runconf_ref(l->conf);
    ta->fd = fd;
    if (socklen > 0 && (size_t)socklen <= sizeof(ta->sa))
        memcpy(&ta->sa, sa, (size_t)socklen);
    snprintf(ta->listener, sizeof(ta->listener), "%s", name);
    addr_format_sockaddr(sa, ta->peer);
    conn_add(&l->conns, &ta->conn, &tlsaccept_conn_ops);
    ta->first_byte = event_new(l->base, fd, EV_READ, tlsaccept_on_first_byte, ta);
    ta->deadline = evtimer_new(l->base, tlsaccept_on_deadline, ta);
    if (ta->first_byte == NULL || ta->deadline == NULL) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", ta->peer);
        tlsaccept_finish(ta);
        return;
    }
    event_add(ta->first_byte, NULL);
    evtimer_add(ta->deadline, &tv);
}
