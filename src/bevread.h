/*
 * bevread.h - our own reader for a plain socket bufferevent. libevent 2.1 asks FIONREAD
 * before every read and then reads at most 4 KiB, so a small message cost two system
 * calls and a busy connection moved 4 KiB per wakeup. Once taken, the bufferevent's read
 * event fills its input with readv into reserved evbuffer space (no copy, no FIONREAD),
 * coalescing what the socket holds, and calls the bufferevent's own callbacks as
 * libevent would: EV_READ, bufferevent_setcb and the input work as before.
 */
#ifndef WSB_BEVREAD_H
#define WSB_BEVREAD_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;

/* Most bytes one wakeup reads from one socket: what a sink may get past its high
 * watermark in one go, before the flow pauses its source. libevent read 4 KiB; 64 KiB
 * keeps a busy connection's frames large without letting a small high_watermark be
 * overrun by much. */
#define BEVREAD_BUDGET (64 * 1024)

/* Makes bevread read <bev>, a plain socket bufferevent whose EV_READ is disabled; from
 * then on, for as long as <bev> lives, each readable event reads up to BEVREAD_BUDGET
 * bytes and calls <bev>'s read callback (not deferred, even with BEV_OPT_DEFER_CALLBACKS);
 * end of file and errors disable EV_READ and call its event callback with
 * BEV_EVENT_READING and BEV_EVENT_EOF or BEV_EVENT_ERROR. Returns false, changing
 * nothing, for a TLS bufferevent or a pair: OpenSSL must see every record of the one
 * (tlsio.c reads it once upgraded), libevent moves the other's bytes. */
bool bevread_take(struct bufferevent *bev);

/* As bevread_take, but each readable event of <bev> calls <cb>(fd, what, <bev>) instead,
 * which reads with bevread_read or in its own way (splicepump.c). */
bool bevread_take_as(struct bufferevent *bev, void (*cb)(int fd, short what, void *bev));

/* What a readable event of a taken <bev> does: reads up to BEVREAD_BUDGET bytes and calls
 * its callbacks as bevread_take says. Returns the bytes read (0: none, at end of file, on
 * an error, or when there was nothing). */
size_t bevread_read(struct bufferevent *bev);

#endif
