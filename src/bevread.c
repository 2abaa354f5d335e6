/*
 * bevread.c - our own reader for a plain socket bufferevent: readv into reserved evbuffer
 * space (no copy), the first read 4 KiB (a small message takes one system call), then
 * 64 KiB at a time while the socket fills them, up to a budget; libevent 2.1's reader
 * asks FIONREAD before each read and never reads more than 4 KiB. The bufferevent's own
 * read event is reassigned, through event2/bufferevent_struct.h (libevent's public, if
 * discouraged, view of the structure), so that it keeps its EV_READ switch and its size:
 * a second event per connection would cost idle memory.
 */
#include "bevread.h"

#include <errno.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>

#define BEVREAD_FIRST 4096  /* bytes asked by a wakeup's first readv */
#define BEVREAD_CHUNK 65536 /* by each later one, while the socket fills them */

/* Reads what <fd> holds, up to BEVREAD_BUDGET bytes, into <in>. Returns the bytes added
 * (> 0); 0 at end of file with nothing read; -1 with errno set: EAGAIN when there was
 * nothing, else the socket's error. An end or error right after some bytes shows on the
 * next wakeup (the socket stays readable). */
static ssize_t bevread_fill(evutil_socket_t fd, struct evbuffer *in)
{
    size_t total = 0, want = BEVREAD_FIRST;
    int err = 0;

    /* A bufferevent keeps its input's end frozen so that only its reader appends; that
     * is us now, around the reads. */
    evbuffer_unfreeze(in, 0);
    while (total < BEVREAD_BUDGET) {
        struct evbuffer_iovec v[2];
        struct iovec iov[2];
        size_t asked = 0, left;
        ssize_t r;
        int n;

        if (want > BEVREAD_BUDGET - total)
            want = BEVREAD_BUDGET - total;
        /* Space reserved and not filled stays only until the input is drained whole,
         * which frees every chain: an idle connection keeps none. */
        n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
        if (n <= 0) {
            err = ENOMEM;
            break;
        }
        for (int i = 0; i < n; i++) {
            size_t len = v[i].iov_len < want - asked ? v[i].iov_len : want - asked;
            iov[i] = (struct iovec){.iov_base = v[i].iov_base, .iov_len = len};
            asked += len;
        }
        do
            r = readv(fd, iov, n);
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
            err = r < 0 ? errno : 0;
            break;
        }
        left = (size_t)r;
        for (int i = 0; i < n; i++) {
            v[i].iov_len = left < iov[i].iov_len ? left : iov[i].iov_len;
            left -= v[i].iov_len;
        }
        evbuffer_commit_space(in, v, n);
        total += (size_t)r;
        if ((size_t)r < asked)
            break; /* the socket is empty */
        want = BEVREAD_CHUNK;
    }
    evbuffer_freeze(in, 0);
    if (total > 0)
        return (ssize_t)total;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

/* <bev>'s socket is readable: read, then call its callbacks as libevent's reader would. */
size_t bevread_read(struct bufferevent *bev)
{
    bufferevent_data_cb on_read;
    bufferevent_event_cb on_event;
    void *cbarg;
    ssize_t n = bevread_fill(bufferevent_getfd(bev), bufferevent_get_input(bev));
    int err = errno;

    bufferevent_getcb(bev, &on_read, NULL, &on_event, &cbarg);
    if (n > 0) {
        if (on_read != NULL)
            on_read(bev, cbarg);
        return (size_t)n;
    }
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK))
        return 0;
    bufferevent_disable(bev, EV_READ);
    if (on_event != NULL) {
        errno = err; /* EVUTIL_SOCKET_ERROR() in the callback names it */
        on_event(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), cbarg);
    }
    return 0;
}

static void bevread_on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bevread_read(arg);
}

bool bevread_take_as(struct bufferevent *bev, void (*cb)(int fd, short what, void *bev))
{
    evutil_socket_t fd = bufferevent_getfd(bev);

    if (fd < 0 || bufferevent_openssl_get_ssl(bev) != NULL ||
        event_get_fd(&bev->ev_read) != fd || event_pending(&bev->ev_read, EV_READ, NULL))
        return false;
    event_assign(&bev->ev_read, bev->ev_base, fd, event_get_events(&bev->ev_read), cb, bev);
    return true;
}

bool bevread_take(struct bufferevent *bev)
{
    return bevread_take_as(bev, bevread_on_read);
}
