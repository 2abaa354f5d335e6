/*
 * drain.c - graceful close of one socket: drain, TLS close_notify, shutdown(SHUT_WR),
 * discard until EOF. Closing a socket that still has unread input makes the kernel send
 * a reset, and a reset can destroy data the peer has not read yet (our close frame, our
 * 502 page).
 */
#include "drain.h"

#include <stdlib.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "server.h"
#include "tls.h"

static void drain_shut(struct drain *l)
{
    evutil_socket_t fd = bufferevent_getfd(l->bev);
    SSL *ssl = bufferevent_openssl_get_ssl(l->bev);

    l->shut = true;
    if (fd < 0) {
        /* A pair end (the echo target): tell its partner we are done writing. */
        bufferevent_flush(l->bev, EV_WRITE, BEV_FINISHED);
        drain_free(l);
        return;
    }
    /* TLS: the output is all in the socket by now, so close_notify goes out behind it;
     * reading on afterwards still works (OpenSSL reads after sending close_notify) and
     * ends at the peer's close_notify or FIN. */
    if (ssl != NULL)
        tls_close_notify(ssl);
    shutdown(fd, SHUT_WR);
    if (l->peer_eof)
        drain_free(l); /* both sides are done: nothing left to wait for */
}

static void drain_on_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void drain_on_write(struct bufferevent *bev, void *arg)
{
    struct drain *l = arg;

    if (!l->shut && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        drain_shut(l);
}

static void drain_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct drain *l = arg;

    /* A peer that half-closed still reads: finish sending what is queued (the close frame,
     * the rest of a file) before closing, bounded by the timeout. Errors end it at once. */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !l->shut &&
        evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        l->peer_eof = true;
        bufferevent_disable(bev, EV_READ);
        return;
    }
    drain_free(l);
}

static void drain_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain_free(arg);
}

void drain_start(struct server *s, struct bufferevent *bev, unsigned timeout_ms)
{
    drain_start_counted(s, bev, timeout_ms, NULL);
}

void drain_start_counted(struct server *s, struct bufferevent *bev, unsigned timeout_ms,
                         struct connslot *slot)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    struct drain *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        bufferevent_free(bev);
        if (slot != NULL)
            connslot_release(slot);
        return;
    }
    connslot_move(&l->slot, slot);
    l->server = s;
    l->bev = bev;
    l->timer = evtimer_new(s->base, drain_on_timeout, l);
    TAILQ_INSERT_TAIL(&s->drains, l, link);
    if (l->timer == NULL) {
        drain_free(l);
        return;
    }
    evtimer_add(l->timer, &tv);
    drain_on_read(bev, l);
    bufferevent_setcb(bev, drain_on_read, drain_on_write, drain_on_event, l);
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    bufferevent_set_timeouts(bev, NULL, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        drain_shut(l);
}

void drain_free(struct drain *l)
{
    struct server *s = l->server;

    TAILQ_REMOVE(&s->drains, l, link);
    if (l->timer != NULL)
        event_free(l->timer);
    if (!l->shut && bufferevent_getfd(l->bev) < 0)
        bufferevent_flush(l->bev, EV_WRITE, BEV_FINISHED);
    bufferevent_free(l->bev);
    connslot_release(&l->slot);
    free(l);
    server_conn_gone(s);
}
