/*
 * bevread.c - top up a bufferevent's input from its socket with readv into reserved
 * evbuffer space (no copy). libevent 2.1's evbuffer_read never reads more than 4096 bytes
 * per call, and a bufferevent makes one call per readable event. Only a read that filled
 * those 4096 bytes is topped up: a shorter one already emptied the socket, and asking
 * again would cost a system call for nothing.
 */
#include "bevread.h"

#include <errno.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#define BEVREAD_CHUNK 65536 /* bytes asked of the kernel per readv */
#define BEVREAD_LIBEVENT_MAX 4096 /* libevent 2.1's EVBUFFER_MAX_READ: its most per read */

ssize_t bevread_more(struct bufferevent *bev, size_t budget)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t total = 0;

    if (fd < 0 || bufferevent_openssl_get_ssl(bev) != NULL)
        return 0;
    /* Less than libevent's most in the input: its read was short, the socket is empty. A
     * full one may have left more behind (or the input held older bytes: then the readv
     * below finds nothing, at the cost of the FIONREAD this replaces). */
    if (evbuffer_get_length(in) < BEVREAD_LIBEVENT_MAX)
        return 0;
    /* A bufferevent keeps its input's end frozen so that only libevent appends; its own
     * read callback unfreezes around evbuffer_read, and so do we. */
    evbuffer_unfreeze(in, 0);
    while (total < budget) {
        struct evbuffer_iovec v[2];
        size_t want = budget - total < BEVREAD_CHUNK ? budget - total : BEVREAD_CHUNK;
        int n;

        /* Space left unused here stays in the input only until the input is drained
         * whole, which frees every chain: an idle connection keeps none. */
        n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
        struct iovec iov[2];
        size_t asked = 0, left;
        ssize_t r;

        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            size_t len = v[i].iov_len < want - asked ? v[i].iov_len : want - asked;
            iov[i].iov_base = v[i].iov_base;
            iov[i].iov_len = len;
            asked += len;
        }
        r = readv(fd, iov, n);
        if (r <= 0) {
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                int err = errno;
                evbuffer_freeze(in, 0);
                errno = err;
                return -1;
            }
            break; /* nothing more now, or EOF: libevent's next read reports it */
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
    }
    evbuffer_freeze(in, 0);
    return (ssize_t)total;
}
