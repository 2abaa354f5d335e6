/*
 * drain.h - the last moments of a connection: send what is queued, half-close, read and
 * discard until the peer closes too (so a close frame or an error page is never lost to
 * a reset caused by unread input), then free. Bounded by a timeout.
 */
#ifndef WSB_DRAIN_H
#define WSB_DRAIN_H

#include <stdbool.h>
#include <sys/queue.h>

#include "connslot.h"

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
    struct connslot slot;    /* the client connection's count, released with the socket;
                              * empty for a target's socket */
};

/* Takes ownership of <bev> and closes it gracefully within <timeout_ms>. The bev's
 * callbacks are replaced; input already in it is discarded. A bufferevent without a
 * socket (the echo target's pair) gets an end-of-file flush instead of a half-close. If
 * memory runs out, <bev> is freed at once. */
void drain_start(struct server *s, struct bufferevent *bev, unsigned timeout_ms);

/* As drain_start for a client's connection: <slot>'s count moves in with it (<slot> is
 * empty afterwards) and is released when the socket is closed, whichever way. */
void drain_start_counted(struct server *s, struct bufferevent *bev, unsigned timeout_ms,
                         struct connslot *slot);

/* Frees <l> and its bufferevent at once (server shutdown). */
void drain_free(struct drain *l);

#endif
