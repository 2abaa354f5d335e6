/*
 * splicepump.c - target -> client frames by splice(2) on plain sockets (issue 17).
 *
 * Design.
 * - A frame is made only of bytes already in the pipe: splice(target -> pipe) says how
 *   many, then that count is the frame's length. Its header is sent with MSG_MORE, then
 *   splice(pipe -> client) moves the payload; on loopback and on a client that keeps up,
 *   that is three system calls per frame of up to 256 KiB (the pipe's size, raised from
 *   64 KiB) and no payload copy in user space.
 * - A pipe is two descriptors and up to 256 KiB of pages: it is held only while a frame is
 *   in flight, never by an idle connection. Each loop lends from a pool of at most
 *   SPLICEPUMP_POOL_MAX pipes, made on first use and kept open while frames flow (making
 *   one costs a pipe2 and a close per frame); a timer closes the pool's free pipes once a
 *   second has passed with none lent, so a daemon whose streams ended holds none. When
 *   all are lent the caller takes its copying path. A pipe is lent only empty and given
 *   back only empty (or closed).
 * - When the client socket is full mid-frame, the rest stays in the pipe and an EV_WRITE
 *   event of the pipe's (one per pool entry, not per connection) waits for the client
 *   socket; the owner must neither read the target (backpressure: the pipe is the only
 *   buffer) nor write anything else to the client. Anything it must write meanwhile (a
 *   pong, a close frame) first takes the frame's rest out of the pipe into the client's
 *   output buffer (splicepump_unload), so the wire order stays frame, then control; that
 *   rare path copies at most one pipe's worth.
 * - A failing client socket: the event fires (EPOLLERR counts as writable), the splice
 *   fails, the pipe (with its now useless bytes) is closed and the owner told the errno.
 * Protocol bytes come from ws_frame.c; this file only moves them.
 */
#include "splicepump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ws_frame.h"

struct splicepump {
    int rd, wr;                /* the pipe's ends; -1: not made yet (or closed) */
    size_t size;               /* its capacity: what one frame may carry */
    bool lent;                 /* a frame is in flight in it */
    int to;                    /* the client socket, while lent */
    size_t left;               /* payload bytes still in the pipe */
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    uint8_t hdr_len, hdr_sent; /* the frame's header, and how much of it <to> took */
    struct event *ev;          /* EV_WRITE on <to> while <to> is full; made with the pipe */
    splicepump_done_fn done;
    void *arg;
    struct splicepump_pool *pool; /* not owned: where it goes back */
};

struct splicepump_pool {
    struct event_base *base; /* not owned */
    struct event *trim;      /* closes the free pipes after a quiet second */
    unsigned lent_since;     /* pipes lent since the trim timer last looked */
    struct splicepump pipes[SPLICEPUMP_POOL_MAX];
};

/* How long the pool's free pipes outlive the last frame. */
#define SPLICEPUMP_TRIM_MS 1000

static void splicepump_on_writable(evutil_socket_t fd, short what, void *arg);
static void splicepump_close(struct splicepump *sp);

/* Keeps the trim timer running while the pool holds pipes. */
static void splicepump_arm_trim(struct splicepump_pool *pool)
{
    struct timeval tv = {.tv_sec = SPLICEPUMP_TRIM_MS / 1000,
                         .tv_usec = (SPLICEPUMP_TRIM_MS % 1000) * 1000};

    if (!evtimer_pending(pool->trim, NULL))
        evtimer_add(pool->trim, &tv);
}

static void splicepump_on_trim(evutil_socket_t fd, short what, void *arg)
{
    struct splicepump_pool *pool = arg;
    bool held = false;

    (void)fd;
    (void)what;
    if (pool->lent_since > 0) {
        pool->lent_since = 0;
        splicepump_arm_trim(pool);
        return;
    }
    for (int i = 0; i < SPLICEPUMP_POOL_MAX; i++) {
        if (!pool->pipes[i].lent)
            splicepump_close(&pool->pipes[i]);
        held = held || pool->pipes[i].rd >= 0;
    }
    if (held)
        splicepump_arm_trim(pool); /* frames still in flight: look again later */
}

struct splicepump_pool *splicepump_pool_new(struct event_base *base)
{
    struct splicepump_pool *pool = calloc(1, sizeof(*pool));

    if (pool == NULL)
        return NULL;
    pool->base = base;
    pool->trim = evtimer_new(base, splicepump_on_trim, pool);
    if (pool->trim == NULL) {
        free(pool);
        return NULL;
    }
    for (int i = 0; i < SPLICEPUMP_POOL_MAX; i++) {
        pool->pipes[i].rd = pool->pipes[i].wr = -1;
        pool->pipes[i].pool = pool;
    }
    return pool;
}

/* Closes <sp>'s pipe and event: its slot makes a new one when next needed. */
static void splicepump_close(struct splicepump *sp)
{
    if (sp->ev != NULL)
        event_free(sp->ev);
    sp->ev = NULL;
    if (sp->rd >= 0)
        close(sp->rd);
    if (sp->wr >= 0)
        close(sp->wr);
    sp->rd = sp->wr = -1;
    sp->lent = false;
}

void splicepump_pool_free(struct splicepump_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < SPLICEPUMP_POOL_MAX; i++)
        splicepump_close(&pool->pipes[i]);
    event_free(pool->trim);
    free(pool);
}

/* An empty pipe to lend: a made one first, else one made now. NULL: none left, or the
 * descriptors ran out. */
static struct splicepump *splicepump_take(struct splicepump_pool *pool)
{
    struct splicepump *unmade = NULL;
    int fds[2], r;

    pool->lent_since++;
    splicepump_arm_trim(pool);
    for (int i = 0; i < SPLICEPUMP_POOL_MAX; i++) {
        struct splicepump *sp = &pool->pipes[i];

        if (sp->lent)
            continue;
        if (sp->rd >= 0)
            return sp;
        if (unmade == NULL)
            unmade = sp;
    }
    if (unmade == NULL || pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return NULL;
    unmade->ev = event_new(pool->base, -1, 0, splicepump_on_writable, unmade);
    unmade->rd = fds[0];
    unmade->wr = fds[1];
    /* A refusal (pipe-max-size, the user's pipe quota) leaves the pipe as it was. */
    (void)fcntl(fds[1], F_SETPIPE_SZ, SPLICEPUMP_FRAME_MAX);
    r = fcntl(fds[1], F_GETPIPE_SZ);
    unmade->size = r > 0 && r < SPLICEPUMP_FRAME_MAX ? (size_t)r : SPLICEPUMP_FRAME_MAX;
    if (unmade->ev == NULL) {
        splicepump_close(unmade);
        return NULL;
    }
    return unmade;
}

/* Sends what is left of <sp>'s frame to its socket. Returns 1 when all of it is out, 0
 * when the socket is full, -1 with errno when it failed. */
static int splicepump_push(struct splicepump *sp)
{
    ssize_t r;

    while (sp->hdr_sent < sp->hdr_len) {
        /* MSG_MORE: the header waits for its payload, not a segment of its own. */
        r = send(sp->to, sp->hdr + sp->hdr_sent, sp->hdr_len - sp->hdr_sent,
                 MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        sp->hdr_sent += (uint8_t)r;
    }
    while (sp->left > 0) {
        r = splice(sp->rd, NULL, sp->to, NULL, sp->left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (r == 0) {
            errno = EPIPE; /* a pipe that holds bytes never reads as empty */
            return -1;
        }
        sp->left -= (size_t)r;
    }
    return 1;
}

/* Waits for <sp>'s socket to take more (or to fail: EPOLLERR wakes EV_WRITE too). */
static void splicepump_wait(struct splicepump *sp)
{
    event_assign(sp->ev, sp->pool->base, sp->to, EV_WRITE, splicepump_on_writable, sp);
    event_add(sp->ev, NULL);
}

static void splicepump_on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct splicepump *sp = arg;
    splicepump_done_fn done = sp->done;
    void *done_arg = sp->arg;
    int r = splicepump_push(sp);
    int err = errno;

    (void)fd;
    (void)what;
    if (r == 0) {
        splicepump_wait(sp);
        return;
    }
    if (r > 0)
        sp->lent = false;
    else
        splicepump_close(sp); /* bytes for a dead socket: not worth emptying */
    done(done_arg, r > 0 ? 0 : err);
}

ssize_t splicepump_start(struct splicepump_pool *pool, struct splicepump **out, int from, int to,
                         splicepump_done_fn done, void *arg)
{
    struct splicepump *sp = splicepump_take(pool);
    ssize_t n;
    int r;

    *out = NULL;
    if (sp == NULL) {
        errno = ENOBUFS;
        return -1;
    }
    do
        n = splice(from, NULL, sp->wr, NULL, sp->size,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n; /* the pipe stays in the pool, as empty as it was */
    sp->lent = true;
    sp->to = to;
    sp->left = (size_t)n;
    sp->hdr_len = (uint8_t)ws_frame_write_header(sp->hdr, true, WS_OP_BINARY, (uint64_t)n, NULL);
    sp->hdr_sent = 0;
    sp->done = done;
    sp->arg = arg;
    r = splicepump_push(sp);
    if (r > 0) {
        sp->lent = false;
        return n;
    }
    /* Full, or failed: either way the event says (a failed socket is writable). */
    splicepump_wait(sp);
    *out = sp;
    return n;
}

int splicepump_unload(struct splicepump *sp, struct evbuffer *dst)
{
    event_del(sp->ev);
    if (sp->hdr_sent < sp->hdr_len)
        evbuffer_add(dst, sp->hdr + sp->hdr_sent, sp->hdr_len - sp->hdr_sent);
    while (sp->left > 0) {
        /* Straight into reserved space: one readv where evbuffer_read takes 4 KiB. */
        struct evbuffer_iovec v[2];
        struct iovec iov[2];
        size_t asked = 0, got;
        int n = evbuffer_reserve_space(dst, (ev_ssize_t)sp->left, v, 2);
        ssize_t r;

        for (int i = 0; i < n; i++) {
            size_t len = v[i].iov_len < sp->left - asked ? v[i].iov_len : sp->left - asked;
            iov[i] = (struct iovec){.iov_base = v[i].iov_base, .iov_len = len};
            asked += len;
        }
        do
            r = n > 0 ? readv(sp->rd, iov, n) : -1;
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
            splicepump_close(sp);
            return -1;
        }
        got = (size_t)r;
        for (int i = 0; i < n; i++) {
            v[i].iov_len = got < iov[i].iov_len ? got : iov[i].iov_len;
            got -= v[i].iov_len;
        }
        evbuffer_commit_space(dst, v, n);
        sp->left -= (size_t)r;
    }
    sp->lent = false;
    return 0;
}
