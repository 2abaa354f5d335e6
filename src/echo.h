/*
 * echo.h - the built-in "echo" target: every byte the bridge writes to it comes back.
 * It is one end of a bufferevent pair, so the bridge drives it exactly like a socket.
 */
#ifndef WSB_ECHO_H
#define WSB_ECHO_H

#include <stdint.h>

struct bufferevent;
struct event_base;

/* Creates an echo target and returns the end the bridge writes to and reads from. The
 * other end, owned by the echo, echoes with backpressure: it stops reading while more
 * than <high_bytes> wait to go back, and resumes at <low_bytes>. It frees itself when the
 * returned end is flushed with BEV_FINISHED (drain.c does so before freeing). Returns
 * NULL if memory ran out. */
struct bufferevent *echo_new(struct event_base *base, uint64_t high_bytes, uint64_t low_bytes);

#endif
