/*
 * bevwrite.h - writes to a bufferevent's socket without the bufferevent's round trip:
 * when nothing is waiting for the socket, bytes go straight to a plain socket with one
 * sendmsg, and only what the kernel does not take is left to libevent (which then arms
 * EPOLLOUT). A bufferevent writes only from its write event, so every small write
 * otherwise costs an epoll_ctl to arm it, an epoll_wait, the write, and an epoll_ctl to
 * disarm it. Bytes may be queued first and flushed once (many frames, one sendmsg).
 */
#ifndef WSB_BEVWRITE_H
#define WSB_BEVWRITE_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct evbuffer;

/* True if <bev> is a plain socket (not a pair; not TLS, unless tlsio writes it) with
 * nothing queued: a write to it now goes straight to the kernel, and an EV_WRITE enabled
 * now would only wake the loop to find nothing to send. */
bool bevwrite_is_idle(struct bufferevent *bev);

/* Appends <hdr_len> bytes at <hdr> (may be 0) and then the first <len> bytes of <src>
 * (moved without a copy where chains allow; on TLS, header and bytes are copied into one
 * chunk, so that they make one record; <src> NULL when <len> is 0, else holding at
 * least <len>) to <bev>'s output, behind what is there. Sends nothing by itself unless
 * <bev>'s EV_WRITE is on (libevent then writes when the socket is writable); call
 * bevwrite_flush. */
void bevwrite_queue(struct bufferevent *bev, const void *hdr, size_t hdr_len,
                    struct evbuffer *src, size_t len);

/* Sends what <bev>'s output holds with one sendmsg, if <bev> is a plain socket whose
 * EV_WRITE is off (with SSL_write, a record at a time, if tlsio writes it); whatever the
 * kernel does not take stays queued and EV_WRITE goes on (libevent, or tlsio, writes it,
 * and calls the write callback as usual). For other TLS bufferevents and pairs, only
 * makes sure EV_WRITE is on when something is queued. Returns true if bytes were sent.
 * A socket error is not reported here: the bytes stay queued and libevent's own write
 * reports the error to <bev>'s event callback. */
bool bevwrite_flush(struct bufferevent *bev);

/* bevwrite_queue then bevwrite_flush. */
void bevwrite_move(struct bufferevent *bev, const void *hdr, size_t hdr_len, struct evbuffer *src,
                   size_t len);

/* bevwrite_move with <len> bytes at <data> only. */
void bevwrite_add(struct bufferevent *bev, const void *data, size_t len);

/* For <bev>'s write callback: once libevent has emptied the output, EV_WRITE goes off
 * again (on a plain socket), so that the next write goes straight out. */
void bevwrite_on_written(struct bufferevent *bev);

#endif
