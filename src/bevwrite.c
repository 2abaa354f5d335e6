/*
 * bevwrite.c - direct writes to a bufferevent's plain socket when its output is empty
 * (the shape of haproxy's and nginx's "send now, poll only if the send was short").
 * TLS bufferevents and pairs keep libevent's own path: their bytes must go through
 * OpenSSL or the partner's input.
 */
#include "bevwrite.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

/* Chunks of the source sent by one sendmsg; a longer chain sends its first ones now and
 * queues the rest. */
#define BEVWRITE_IOV_MAX 16

bool bevwrite_is_idle(struct bufferevent *bev)
{
    return bufferevent_getfd(bev) >= 0 && bufferevent_openssl_get_ssl(bev) == NULL &&
           evbuffer_get_length(bufferevent_get_output(bev)) == 0;
}

/* One sendmsg of <hdr> and the first <len> bytes of <src> to <fd>. Returns the bytes the
 * kernel took; 0 when it took none or the socket failed (libevent's write, which gets the
 * bytes instead, reports the failure). */
static size_t bevwrite_send(evutil_socket_t fd, const void *hdr, size_t hdr_len,
                            struct evbuffer *src, size_t len)
{
    struct iovec iov[BEVWRITE_IOV_MAX + 1];
    struct evbuffer_iovec v[BEVWRITE_IOV_MAX];
    struct msghdr m = {.msg_iov = iov};
    size_t left = len;
    ssize_t r;
    int n;

    if (hdr_len > 0)
        iov[m.msg_iovlen++] = (struct iovec){.iov_base = (void *)hdr, .iov_len = hdr_len};
    n = len > 0 ? evbuffer_peek(src, (ev_ssize_t)len, NULL, v, BEVWRITE_IOV_MAX) : 0;
    for (int i = 0; i < n && i < BEVWRITE_IOV_MAX && left > 0; i++) {
        size_t take = v[i].iov_len < left ? v[i].iov_len : left;
        iov[m.msg_iovlen++] = (struct iovec){.iov_base = v[i].iov_base, .iov_len = take};
        left -= take;
    }
    if (m.msg_iovlen == 0)
        return 0;
    /* MSG_NOSIGNAL: a client that went away is an error to report, not a SIGPIPE. */
    do
        r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r > 0 ? (size_t)r : 0;
}

void bevwrite_move(struct bufferevent *bev, const void *hdr, size_t hdr_len, struct evbuffer *src,
                   size_t len)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    size_t sent = 0;

    if (hdr_len + len == 0)
        return;
    if (bevwrite_is_idle(bev))
        sent = bevwrite_send(bufferevent_getfd(bev), hdr, hdr_len, src, len);
    if (sent < hdr_len) {
        evbuffer_add(out, (const char *)hdr + sent, hdr_len - sent);
        sent = 0;
    } else {
        sent -= hdr_len;
    }
    if (sent > 0)
        evbuffer_drain(src, sent);
    if (len > sent) {
        if (len - sent == evbuffer_get_length(src))
            evbuffer_add_buffer(out, src);
        else
            evbuffer_remove_buffer(src, out, len - sent);
    }
    /* Queued bytes need libevent's write event; with EV_WRITE already enabled, adding
     * them armed it. */
    if (evbuffer_get_length(out) > 0 && !(bufferevent_get_enabled(bev) & EV_WRITE))
        bufferevent_enable(bev, EV_WRITE);
}

void bevwrite_add(struct bufferevent *bev, const void *data, size_t len)
{
    bevwrite_move(bev, data, len, NULL, 0);
}
