/*
 * drain.h - the last moments of a connection: send what is queued, half-close, read and
 * discard until the peer closes too (so a close frame or an error page is never lost to
 * a reset caused by unread input), then free. Bounded by a timeout.
 */
#ifndef WSB_DRAIN_H
#define WSB_DRAIN_H

#include <stdbool.h>
#include <sys/queue.h>

struct bufferevent;
struct event;
struct server;

struct drain {
    TAILQ_ENTRY(drain) link;
    struct server *server;   /* not owned */
    struct bufferevent *bev; /* owned; freed with its socket */
    struct event *timer;     /* gives up after the timeout */
    bool shut;               /* our write side was shut down */
    bool peer_eof;           /* the peer closed its side first; we still write */
};

/* Takes ownership of <bev> and closes it gracefully within <timeout_ms>. The bev's
 * callbacks are replaced; input already in it is discarded. A bufferevent without a
 * socket (the echo target's pair) gets an end-of-file flush instead of a half-close. If
 * memory runs out, <bev> is freed at once. */
void drain_start(struct server *s, struct bufferevent *bev, unsigned timeout_ms);

/* Frees <l> and its bufferevent at once (server shutdown). */
void drain_free(struct drain *l);

#endif
