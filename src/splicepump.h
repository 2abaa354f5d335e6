/*
 * splicepump.h - one binary WebSocket frame moved from a target socket to a client socket
 * through a pipe with splice(2), so that its payload never crosses user space: the
 * target's bytes are spliced into a pipe, the frame header (unmasked, 2, 4 or 10 bytes)
 * goes out with send(MSG_MORE), then the pipe is spliced into the client socket. Pipes
 * come from a small pool per loop and are held only while a frame is in flight.
 */
#ifndef WSB_SPLICEPUMP_H
#define WSB_SPLICEPUMP_H

#include <stddef.h>
#include <sys/types.h>

struct evbuffer;
struct event_base;
struct splicepump;
struct splicepump_pool;

/* Most pipes one pool lends at once (each is two descriptors and up to
 * SPLICEPUMP_FRAME_MAX of kernel pages while full): past it, a read takes the copying
 * path. */
#define SPLICEPUMP_POOL_MAX 16

/* Most payload bytes one frame moves: the capacity asked for each pipe (F_SETPIPE_SZ;
 * where refused, the pipe's own, 64 KiB). Three system calls move a frame, so a larger
 * frame is fewer calls per byte; a stalled client holds at most this much in its pipe,
 * the default high_watermark. */
#define SPLICEPUMP_FRAME_MAX (256 * 1024)

/* A read of at least this many bytes says the target is streaming: its next read is
 * spliced. A splice that moved fewer sends the one after back to the copying path, where
 * a small message costs one readv and one sendmsg instead of three calls. */
#define SPLICEPUMP_WORTH_BYTES (16 * 1024)

/* Called once when a frame left in flight by splicepump_start is finished: <err> 0, every
 * byte is in the client socket; else the errno of the client socket's failure (what was
 * left of the frame is dropped). The pipe is back in its pool either way. */
typedef void (*splicepump_done_fn)(void *arg, int err);

/* A pool for the loop of <base>; pipes are made on first use. NULL if out of memory. */
struct splicepump_pool *splicepump_pool_new(struct event_base *base);

/* Closes every pipe of <pool> and frees it; none may be lent. Accepts NULL. */
void splicepump_pool_free(struct splicepump_pool *pool);

/* Splices up to SPLICEPUMP_FRAME_MAX bytes from socket <from> into a pipe of <pool> and
 * sends them to socket <to> as one final binary frame. Returns the payload bytes framed
 * (> 0); 0 at the target's end of file (nothing framed); -1 with errno: EAGAIN nothing to
 * read, ENOBUFS no pipe to lend (the caller copies instead), else <from>'s error.
 * With > 0, *<sp> is NULL if the whole frame went out; else <to> was full (or failed) and
 * *<sp> is the frame in flight: the rest goes out when <to> is writable, then
 * <done>(<arg>, ...) is called. Until then nothing else may be written to <to> (first
 * splicepump_unload) and nothing more should be read from <from>. */
ssize_t splicepump_start(struct splicepump_pool *pool, struct splicepump **sp, int from, int to,
                         splicepump_done_fn done, void *arg);

/* Ends a frame in flight early: appends what <to> has not taken of it (header rest, then
 * payload, copied out of the pipe) to <dst>, which must be what is written to <to> next,
 * and gives the pipe back. <done> is not called. Returns 0, or -1 if the pipe could not be
 * read (the frame is cut: the caller's connection is broken). */
int splicepump_unload(struct splicepump *sp, struct evbuffer *dst);

#endif
