/*
 * bevwrite.c - direct writes to a bufferevent's plain socket when nothing waits for it
 * (the shape of haproxy's and nginx's "send now, poll only if the send was short"):
 * EV_WRITE is on only while libevent has bytes the kernel did not take. A TLS bufferevent
 * taken by tlsio.c is written the same way, through SSL_write; other TLS bufferevents and
 * pairs keep libevent's own path: their bytes must go through OpenSSL or the partner's
 * input.
 */
#include "bevwrite.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "tlsio.h"

/* Chunks of the output one sendmsg takes; a longer chain sends its first ones now and
 * leaves the rest to libevent. */
#define BEVWRITE_IOV_MAX 64

/* Frames up to this size are joined into one chunk on TLS (bevwrite_queue_joined); a
 * bigger one is split into records by OpenSSL anyway. */
#define BEVWRITE_JOIN_MAX (1024 * 1024)

static bool bevwrite_is_plain(struct bufferevent *bev)
{
    return bufferevent_getfd(bev) >= 0 && bufferevent_openssl_get_ssl(bev) == NULL;
}

/* True if bytes queued on <bev> can be written now, from outside its write event. */
static bool bevwrite_is_direct(struct bufferevent *bev)
{
    return bevwrite_is_plain(bev) || tlsio_owns(bev);
}

bool bevwrite_is_idle(struct bufferevent *bev)
{
    return bevwrite_is_direct(bev) && evbuffer_get_length(bufferevent_get_output(bev)) == 0;
}

/* Appends the frame <hdr> + <len> bytes of <src> to <out> as one contiguous chunk. A TLS
 * bufferevent gives each chunk of its output its own SSL_write, hence its own record and
 * its own write(2): a header moved in as a chunk of its own would cost a record of a few
 * bytes and a system call per frame. One copy of the payload (which the cipher reads
 * anyway) is cheaper. Returns false when the space cannot be had (the caller then moves
 * the chunks as they are). */
static bool bevwrite_queue_joined(struct evbuffer *out, const void *hdr, size_t hdr_len,
                                  struct evbuffer *src, size_t len)
{
    struct evbuffer_iovec v;

    if (evbuffer_get_length(src) < len ||
        evbuffer_reserve_space(out, (ev_ssize_t)(hdr_len + len), &v, 1) != 1 ||
        v.iov_len < hdr_len + len)
        return false;
    memcpy(v.iov_base, hdr, hdr_len);
    evbuffer_remove(src, (char *)v.iov_base + hdr_len, len);
    v.iov_len = hdr_len + len;
    return evbuffer_commit_space(out, &v, 1) == 0;
}

void bevwrite_queue(struct bufferevent *bev, const void *hdr, size_t hdr_len,
                    struct evbuffer *src, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(bev);

    if (hdr_len > 0 && len > 0 && len <= BEVWRITE_JOIN_MAX && !bevwrite_is_plain(bev) &&
        bevwrite_queue_joined(out, hdr, hdr_len, src, len))
        return;
    if (hdr_len > 0)
        evbuffer_add(out, hdr, hdr_len);
    if (len == 0)
        return;
    if (len == evbuffer_get_length(src))
        evbuffer_add_buffer(out, src);
    else
        evbuffer_remove_buffer(src, out, len);
}

/* One sendmsg of the start of <out> to <fd>. Returns the bytes the kernel took; 0 when
 * it took none or the socket failed (libevent's write, which gets the bytes instead,
 * reports the failure). */
static size_t bevwrite_send(evutil_socket_t fd, struct evbuffer *out)
{
    struct evbuffer_iovec v[BEVWRITE_IOV_MAX];
    struct iovec iov[BEVWRITE_IOV_MAX];
    struct msghdr m = {.msg_iov = iov};
    int n = evbuffer_peek(out, -1, NULL, v, BEVWRITE_IOV_MAX);
    ssize_t r;

    for (int i = 0; i < n && i < BEVWRITE_IOV_MAX; i++)
        iov[m.msg_iovlen++] = (struct iovec){.iov_base = v[i].iov_base, .iov_len = v[i].iov_len};
    if (m.msg_iovlen == 0)
        return 0;
    /* MSG_NOSIGNAL: a peer that went away is an error to report, not a SIGPIPE. */
    do
        r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r > 0 ? (size_t)r : 0;
}

bool bevwrite_flush(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    size_t sent = 0;

    if (evbuffer_get_length(out) == 0)
        return false;
    if (bufferevent_get_enabled(bev) & EV_WRITE)
        return false; /* libevent has it: adding armed its write event */
    if (bevwrite_is_plain(bev)) {
        sent = bevwrite_send(bufferevent_getfd(bev), out);
        /* The bufferevent keeps its output's start frozen so that only its writer drains
         * it; that is us here. */
        evbuffer_unfreeze(out, 1);
        evbuffer_drain(out, sent);
        evbuffer_freeze(out, 1);
    } else if (tlsio_owns(bev)) {
        sent = tlsio_write(bev);
    }
    if (evbuffer_get_length(out) > 0)
        bufferevent_enable(bev, EV_WRITE);
    return sent > 0;
}

void bevwrite_move(struct bufferevent *bev, const void *hdr, size_t hdr_len, struct evbuffer *src,
                   size_t len)
{
    bevwrite_queue(bev, hdr, hdr_len, src, len);
    bevwrite_flush(bev);
}

void bevwrite_add(struct bufferevent *bev, const void *data, size_t len)
{
    bevwrite_move(bev, data, len, NULL, 0);
}

void bevwrite_on_written(struct bufferevent *bev)
{
    if (bevwrite_is_idle(bev))
        bufferevent_disable(bev, EV_WRITE);
}
