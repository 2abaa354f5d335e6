/*
 * tlsio.h - our own reader and writer for a TLS bufferevent whose handshake is done.
 * libevent 2.1's OpenSSL bufferevent decrypts one record per wakeup (4 KiB asked, then
 * what OpenSSL holds), so a 64 KiB message arrived as four or five callbacks and left
 * as four or five sends to the target, and it writes only from its write event, arming
 * and disarming EPOLLOUT around every frame. Once taken, the bufferevent's read event
 * decrypts every record the socket holds, up to a budget, into the input and calls the
 * read callback once; writes go to SSL_write at once when nothing waits (bevwrite_flush),
 * and its write event is armed only while bytes wait for the socket. EV_READ, EV_WRITE,
 * the callbacks, the watermarks and the input and output work as before.
 */
#ifndef WSB_TLSIO_H
#define WSB_TLSIO_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;

/* Most plaintext bytes one wakeup decrypts: a 64 KiB message with its header spans five
 * records, and one callback should see it whole. */
#define TLSIO_BUDGET (128 * 1024)

/* Makes tlsio read and write <bev>, an OpenSSL bufferevent on a socket whose handshake
 * is done and whose EV_READ is disabled; from then on, for as long as <bev> lives, each
 * readable event decrypts up to TLSIO_BUDGET bytes and calls <bev>'s read callback (not
 * deferred); the peer's close_notify or end of file, and errors, disable EV_READ and call
 * its event callback with BEV_EVENT_READING and BEV_EVENT_EOF or BEV_EVENT_ERROR. Each
 * writable event writes the output and calls the write callback when it is at or below
 * the low watermark. Returns false, changing nothing, for anything else. */
bool tlsio_take(struct bufferevent *bev);

/* For the owner of <bev>, after it turns EV_READ on: if OpenSSL holds bytes it read ahead
 * (the socket will not say so), a read comes at once, from the loop. Does nothing for a
 * bufferevent that tlsio does not own. */
void tlsio_resume(struct bufferevent *bev);

/* True if tlsio reads and writes <bev>. */
bool tlsio_owns(const struct bufferevent *bev);

/* Writes what <bev>'s output holds with SSL_write, a record at a time, while the socket
 * takes it. Returns the bytes taken. What is left stays queued: the caller turns EV_WRITE
 * on. An error is not reported here: the write event is made active, and reports it to
 * the event callback from the loop, outside the caller's stack. */
size_t tlsio_write(struct bufferevent *bev);

#endif
