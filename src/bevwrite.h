/*
 * bevwrite.h - writes to a bufferevent's socket without the bufferevent's round trip:
 * when nothing is queued, bytes go straight to a plain socket, and only what the kernel
 * does not take is queued for libevent (which then arms EPOLLOUT). A bufferevent writes
 * only from its write event, so every small write otherwise costs an epoll_ctl to arm
 * it, an epoll_wait, the write, and an epoll_ctl to disarm it.
 */
#ifndef WSB_BEVWRITE_H
#define WSB_BEVWRITE_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct evbuffer;

/* True if <bev> is a plain socket (not TLS, not a pair) with nothing queued: a write to
 * it now goes straight to the kernel, and an EV_WRITE enabled now would only wake the
 * loop to find nothing to send. */
bool bevwrite_is_idle(struct bufferevent *bev);

/* Sends <hdr_len> bytes at <hdr> (may be 0) followed by the first <len> bytes of <src>
 * (NULL when <len> is 0) on <bev>, in order after anything already queued there: on an
 * idle plain socket (bevwrite_is_idle) with one sendmsg, what it does not take is queued;
 * otherwise (TLS, a pair, bytes already queued) all is queued, the payload moved without
 * a copy. <len> bytes leave <src> either way; <src> must hold at least <len>. Enables
 * EV_WRITE on <bev> when something was queued. A socket error is not reported here: the
 * bytes are queued and libevent's own write reports it to <bev>'s event callback. */
void bevwrite_move(struct bufferevent *bev, const void *hdr, size_t hdr_len, struct evbuffer *src,
                   size_t len);

/* bevwrite_move with <len> bytes at <data> only. */
void bevwrite_add(struct bufferevent *bev, const void *data, size_t len);

#endif
