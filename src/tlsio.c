/*
 * tlsio.c - our own reader and writer for a TLS bufferevent whose handshake is done: the
 * bufferevent's read and write events are reassigned (as bevread.c does for plain
 * sockets, through event2/bufferevent_struct.h), OpenSSL keeps its socket BIO, and the
 * bufferevent keeps its SSL, its buffers and its callbacks. libevent's own OpenSSL code
 * never runs for the bufferevent again, except to enable and disable its events (which
 * adds and deletes the same two events) and to free it.
 *
 * Reads ask OpenSSL to read ahead (a read system call takes the rest of one record and
 * the start of the next, not a record header and then its body), and a wakeup decrypts
 * until OpenSSL needs the socket again. What OpenSSL holds (read ahead, or decrypted and
 * not yet taken) is not announced by the socket: a wakeup that stops at the budget with
 * bytes in hand comes back at once, and turning reading on again (tlsio_resume) does the
 * same.
 *
 * Writes go a record at a time: SSL_write is given at most 16 KiB from the start of the
 * output, made contiguous, so that a write OpenSSL could not finish is retried, as it
 * requires, with the same bytes and at least as many.
 */
#include "tlsio.h"

#include <errno.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define TLSIO_RECORD 16384        /* the most plaintext one record carries */
#define TLSIO_FIRST 4096          /* input space a wakeup reserves first */
#define TLSIO_NO_MEMORY (-1)      /* not an SSL_ERROR_* value: the input could not grow */

static void tlsio_on_readable(evutil_socket_t fd, short what, void *arg);
static void tlsio_on_writable(evutil_socket_t fd, short what, void *arg);

bool tlsio_owns(const struct bufferevent *bev)
{
    return event_get_callback(&bev->ev_read) == tlsio_on_readable;
}

bool tlsio_take(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    bool writing;

    if (ssl == NULL || fd < 0 || bufferevent_get_underlying(bev) != NULL ||
        !SSL_is_init_finished(ssl) || event_get_fd(&bev->ev_read) != fd ||
        event_get_fd(&bev->ev_write) != fd || event_pending(&bev->ev_read, EV_READ, NULL))
        return false;
    writing = event_pending(&bev->ev_write, EV_WRITE, NULL) != 0;
    if (writing)
        event_del(&bev->ev_write);
    event_assign(&bev->ev_read, bev->ev_base, fd, event_get_events(&bev->ev_read),
                 tlsio_on_readable, bev);
    event_assign(&bev->ev_write, bev->ev_base, fd, event_get_events(&bev->ev_write),
                 tlsio_on_writable, bev);
    if (writing)
        event_add(&bev->ev_write, NULL);
    SSL_set_read_ahead(ssl, 1);
    return true;
}

void tlsio_resume(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);

    if (tlsio_owns(bev) && (bufferevent_get_enabled(bev) & EV_READ) && SSL_has_pending(ssl))
        event_active(&bev->ev_read, EV_READ, 1);
}

/* Decrypts what the socket holds into <in>, up to TLSIO_BUDGET bytes or until reading is
 * turned off. Returns the bytes added; *err is SSL_ERROR_NONE when the budget stopped it,
 * else what stopped it (SSL_ERROR_WANT_READ: the socket is empty). */
static size_t tlsio_fill(struct bufferevent *bev, SSL *ssl, struct evbuffer *in, int *err)
{
    size_t total = 0, want = TLSIO_FIRST;

    *err = SSL_ERROR_NONE;
    /* A bufferevent keeps its input's end frozen so that only its reader appends. */
    evbuffer_unfreeze(in, 0);
    while (total < TLSIO_BUDGET && (bufferevent_get_enabled(bev) & EV_READ)) {
        struct evbuffer_iovec v;
        size_t got = 0, n;

        /* A small first space (a small message costs a small chain, as in bevread.c),
         * then a record's worth at a time, each filled before the next is reserved. */
        if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) != 1) {
            *err = TLSIO_NO_MEMORY;
            break;
        }
        while (got < v.iov_len && total + got < TLSIO_BUDGET) {
            int rc;

            ERR_clear_error();
            rc = SSL_read_ex(ssl, (char *)v.iov_base + got, v.iov_len - got, &n);
            if (rc <= 0) {
                *err = SSL_get_error(ssl, rc);
                break;
            }
            got += n;
        }
        if (got > 0) {
            v.iov_len = got;
            evbuffer_commit_space(in, &v, 1);
            total += got;
        }
        if (*err != SSL_ERROR_NONE)
            break;
        want = TLSIO_RECORD;
    }
    evbuffer_freeze(in, 0);
    return total;
}

/* Reading ended for good (<err>: what SSL_read said): EV_READ goes off and the event
 * callback hears it, as from libevent's reader. */
static void tlsio_report_read_end(struct bufferevent *bev, int err, int saved_errno)
{
    bufferevent_event_cb on_event;
    void *cbarg;
    short what = BEV_EVENT_READING;

    /* The peer's close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a bare end of file. */
    what |= err == SSL_ERROR_ZERO_RETURN ? BEV_EVENT_EOF : BEV_EVENT_ERROR;
    bufferevent_disable(bev, EV_READ);
    bufferevent_getcb(bev, NULL, NULL, &on_event, &cbarg);
    if (on_event != NULL) {
        errno = err == TLSIO_NO_MEMORY ? ENOMEM : saved_errno;
        on_event(bev, what, cbarg);
    }
}

static void tlsio_read(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    bufferevent_data_cb on_read;
    void *cbarg;
    int err, saved_errno;
    size_t got = tlsio_fill(bev, ssl, bufferevent_get_input(bev), &err);

    saved_errno = errno;
    if (got > 0) {
        bufferevent_getcb(bev, &on_read, NULL, NULL, &cbarg);
        if (on_read != NULL)
            on_read(bev, cbarg);
    }
    switch (err) {
    case SSL_ERROR_NONE:
        tlsio_resume(bev); /* the budget stopped it: on with what OpenSSL holds, if any */
        return;
    case SSL_ERROR_WANT_READ:
        return;
    case SSL_ERROR_WANT_WRITE:
        /* OpenSSL must answer something (a key update) and the socket is full: the write
         * event retries the read once the socket takes it. */
        event_add(&bev->ev_write, NULL);
        return;
    default:
        /* The end came right behind the bytes just delivered. If their callback paused
         * reading, the end waits: the socket stays readable (the peer's FIN) and OpenSSL
         * says the same again when reading resumes. */
        if (got == 0 || (bufferevent_get_enabled(bev) & EV_READ))
            tlsio_report_read_end(bev, err, saved_errno);
    }
}

static void tlsio_on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent *bev = arg;
    bufferevent_event_cb on_event;
    void *cbarg;

    (void)fd;
    /* The callbacks may free <bev>: the reference keeps it until this returns. */
    bufferevent_incref(bev);
    if (what & EV_TIMEOUT) {
        bufferevent_getcb(bev, NULL, NULL, &on_event, &cbarg);
        if (on_event != NULL)
            on_event(bev, BEV_EVENT_TIMEOUT | BEV_EVENT_READING, cbarg);
    } else {
        tlsio_read(bev);
    }
    bufferevent_decref(bev);
}

/* SSL_write from the start of the output while the socket takes it. Returns the bytes
 * taken; *err says what stopped it (SSL_ERROR_NONE: the output is empty). */
static size_t tlsio_send(struct bufferevent *bev, int *err)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    struct evbuffer *out = bufferevent_get_output(bev);
    size_t len, sent = 0;

    *err = SSL_ERROR_NONE;
    /* A bufferevent keeps its output's start frozen so that only its writer drains it. */
    evbuffer_unfreeze(out, 1);
    while ((len = evbuffer_get_length(out)) > 0) {
        size_t n = len < TLSIO_RECORD ? len : TLSIO_RECORD, w;
        unsigned char *p = evbuffer_pullup(out, (ev_ssize_t)n);
        int rc;

        if (p == NULL) {
            *err = TLSIO_NO_MEMORY;
            break;
        }
        ERR_clear_error();
        rc = SSL_write_ex(ssl, p, n, &w);
        if (rc <= 0) {
            *err = SSL_get_error(ssl, rc);
            break;
        }
        evbuffer_drain(out, w);
        sent += w;
    }
    evbuffer_freeze(out, 1);
    return sent;
}

size_t tlsio_write(struct bufferevent *bev)
{
    int err;
    size_t sent = tlsio_send(bev, &err);

    /* Adding to an empty output armed the write event (libevent's output callback); with
     * nothing left to send and EV_WRITE off, it is disarmed before the loop sees it. */
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
        !(bufferevent_get_enabled(bev) & EV_WRITE))
        event_del(&bev->ev_write);
    return sent;
}

static void tlsio_on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct bufferevent *bev = arg;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    struct evbuffer *out = bufferevent_get_output(bev);
    bufferevent_data_cb on_write;
    bufferevent_event_cb on_event;
    void *cbarg;
    int err = SSL_ERROR_NONE;
    size_t low;

    (void)fd;
    bufferevent_incref(bev);
    bufferevent_getcb(bev, NULL, NULL, &on_event, &cbarg);
    if (what & EV_TIMEOUT) {
        if (on_event != NULL)
            on_event(bev, BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING, cbarg);
        goto done;
    }
    if (!(bufferevent_get_enabled(bev) & EV_WRITE) && !SSL_want_write(ssl)) {
        event_del(&bev->ev_write); /* armed by an output that filled while EV_WRITE was off */
        goto done;
    }
    if (evbuffer_get_length(out) > 0)
        tlsio_send(bev, &err);
    /* SSL_write wants to read only for a renegotiation, which is refused
     * (SSL_OP_NO_RENEGOTIATION): that, like any other failure, ends the connection. */
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_WRITE) {
        bufferevent_disable(bev, EV_WRITE);
        if (on_event != NULL) {
            if (err == TLSIO_NO_MEMORY)
                errno = ENOMEM;
            on_event(bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, cbarg);
        }
        goto done;
    }
    if (evbuffer_get_length(out) == 0) {
        event_del(&bev->ev_write);
        /* A read that had to write first (tlsio_read) goes on now. */
        if (SSL_want_write(ssl) && (bufferevent_get_enabled(bev) & EV_READ))
            tlsio_read(bev);
    }
    /* As libevent's writer: the write callback once the output is down to its low
     * watermark (the read above may have changed the callbacks). */
    bufferevent_getcb(bev, NULL, &on_write, NULL, &cbarg);
    bufferevent_getwatermark(bev, EV_WRITE, &low, NULL);
    if (on_write != NULL && (bufferevent_get_enabled(bev) & EV_WRITE) &&
        evbuffer_get_length(out) <= low)
        on_write(bev, cbarg);
done:
    bufferevent_decref(bev);
}
