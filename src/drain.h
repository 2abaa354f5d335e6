/*
 * drain.h - the last moments of a connection: send what is queued, half-close, read and
 * discard until the peer closes too (so a close frame or an error page is never lost to
 * a reset caused by unread input), then free. Bounded by a timeout.
 */
#ifndef WSB_DRAIN_H
#define WSB_DRAIN_H

#include <stdbool.h>

#include "conn.h"
#include "connlimits.h"

struct bufferevent;
struct event;
struct loop;

struct drain {
    struct conn conn;            /* in its loop's set, kind "drain" */
    struct bufferevent *bev;     /* owned; freed with its socket */
    struct event *timer;         /* gives up after the timeout */
    bool shut;                   /* our write side was shut down */
    bool peer_eof;               /* the peer closed its side first; we still write */
    struct connlimits_slot slot; /* the client connection's count, released with the
                                  * socket; empty for a target's socket */
};

/* Takes ownership of <bev>, a connection of loop <l>, and closes it gracefully within
 * <timeout_ms>. The bev's callbacks are replaced; input already in it is discarded. A
 * bufferevent without a socket (the echo target's pair) gets an end-of-file flush instead
 * of a half-close. <slot> (NULL for a target's socket) is the connection's count: it
 * moves in (<slot> is empty afterwards) and is released when the socket is closed,
 * whichever way. If memory runs out, <bev> is freed at once. */
void drain_start(struct loop *l, struct bufferevent *bev, unsigned timeout_ms,
                 struct connlimits_slot *slot);

#endif
