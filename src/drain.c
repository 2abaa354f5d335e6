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

#include "bevwrite.h"
#include "loop.h"
#include "timeval.h"
#include "tls.h"
#include "tlsio.h"

static void drain_conn_free(struct conn *c)
{
    struct drain *d = CONN_OF(c, struct drain, conn);

    if (d->timer != NULL)
        event_free(d->timer);
    if (!d->shut && bufferevent_getfd(d->bev) < 0)
        bufferevent_flush(d->bev, EV_WRITE, BEV_FINISHED);
    bufferevent_free(d->bev);
    connlimits_release(&d->slot);
    free(d);
}

static const struct conn_ops drain_conn_ops = {
    .kind = "drain",
    .free = drain_conn_free,
};

/* Done: the reaper frees the socket; nothing of <d> runs before. */
static void drain_finish(struct drain *d)
{
    if (d->timer != NULL)
        evtimer_del(d->timer);
    bufferevent_disable(d->bev, EV_READ | EV_WRITE);
    bufferevent_setcb(d->bev, NULL, NULL, NULL, NULL);
    conn_finish(&d->conn);
}

static void drain_shut(struct drain *d)
{
    evutil_socket_t fd = bufferevent_getfd(d->bev);
    SSL *ssl = bufferevent_openssl_get_ssl(d->bev);

    d->shut = true;
    if (fd < 0) {
        /* A pair end (the echo target): tell its partner we are done writing. */
        bufferevent_flush(d->bev, EV_WRITE, BEV_FINISHED);
        drain_finish(d);
        return;
    }
    /* TLS: the output is all in the socket by now, so close_notify goes out behind it;
     * reading on afterwards still works (OpenSSL reads after sending close_notify) and
     * ends at the peer's close_notify or FIN. */
    if (ssl != NULL)
        tls_close_notify(ssl);
    shutdown(fd, SHUT_WR);
    if (d->peer_eof)
        drain_finish(d); /* both sides are done: nothing left to wait for */
}

static void drain_on_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void drain_on_write(struct bufferevent *bev, void *arg)
{
    struct drain *d = arg;

    if (!d->shut && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        drain_shut(d);
}

static void drain_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct drain *d = arg;

    /* A peer that half-closed still reads: finish sending what is queued (the close frame,
     * the rest of a file) before closing, bounded by the timeout. Errors end it at once. */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !d->shut &&
        evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        d->peer_eof = true;
        bufferevent_disable(bev, EV_READ);
        return;
    }
    drain_finish(d);
}

static void drain_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain_finish(arg);
}

void drain_start(struct loop *l, struct bufferevent *bev, unsigned timeout_ms,
                 struct connlimits_slot *slot)
{
    struct timeval tv = timeval_from_ms(timeout_ms);
    struct drain *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        bufferevent_free(bev);
        if (slot != NULL)
            connlimits_release(slot);
        return;
    }
    connlimits_move(&d->slot, slot);
    d->bev = bev;
    d->timer = evtimer_new(l->base, drain_on_timeout, d);
    conn_add(&l->conns, &d->conn, &drain_conn_ops);
    if (d->timer == NULL) {
        drain_finish(d);
        return;
    }
    evtimer_add(d->timer, &tv);
    drain_on_read(bev, d);
    bufferevent_setcb(bev, drain_on_read, drain_on_write, drain_on_event, d);
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    bufferevent_set_timeouts(bev, NULL, NULL);
    /* A plain socket with nothing queued has nothing for a write event to do. */
    bufferevent_enable(bev, bevwrite_is_idle(bev) ? EV_READ : EV_READ | EV_WRITE);
    tlsio_resume(bev);
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        drain_shut(d);
}
