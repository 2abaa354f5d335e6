/*
 * bevread.h - reads past libevent 2.1's 4 KiB-per-event cap on plain sockets: after
 * libevent's own read, the caller tops the input up directly from the socket, so a busy
 * connection moves tens of KiB per wakeup instead of 4.
 */
#ifndef WSB_BEVREAD_H
#define WSB_BEVREAD_H

#include <stddef.h>
#include <sys/types.h>

struct bufferevent;

/* Reads up to <budget> more bytes from <bev>'s socket into its input buffer. Does nothing
 * for a bufferevent without a plain socket (a pair, or TLS: its records must go through
 * OpenSSL). Returns the bytes added; 0 when the socket had nothing more or is at end of
 * file (libevent's next read reports that); -1 with errno set on a socket error, which
 * the caller must treat as its event callback would. */
ssize_t bevread_more(struct bufferevent *bev, size_t budget);

#endif
