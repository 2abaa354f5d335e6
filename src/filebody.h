/*
 * filebody.h - the body of one web-root answer, from its open file to a connection's
 * output: by reference on a plain socket (the kernel copies it: sendfile), or read in
 * bounded pread chunks on TLS, refilled as the output drains. Never mapped: a mapped file
 * that shrinks turns the next read of it into SIGBUS for the whole daemon. What to answer
 * is static.c's job; when to refill is httpconn.c's.
 */
#ifndef WSB_FILEBODY_H
#define WSB_FILEBODY_H

#include <stdbool.h>
#include <sys/types.h>

#define FILEBODY_AHEAD_BYTES (256 * 1024)  /* a stream fills the output up to this */
#define FILEBODY_REFILL_BYTES (128 * 1024) /* ... and is refilled when it falls to this */

struct evbuffer;

struct filebody {
    int fd;       /* the file being streamed; -1: none (idle, or handed to the output) */
    off_t offset; /* bytes of it already in the output */
    off_t size;   /* bytes the answer promised (its Content-Length) */
};

enum filebody_result {
    FILEBODY_MORE = 0, /* the output is full enough: call filebody_fill when it drains */
    FILEBODY_DONE,     /* every byte is in the output (or referenced by it); fd let go */
    FILEBODY_SHORT,    /* the file ended before <size>: the answer cannot be completed */
    FILEBODY_ERROR,    /* a read or the output failed; errno says why */
};

/* Makes <b> idle. */
void filebody_init(struct filebody *b);

/* True while <b> streams a file: it holds an fd and the answer is not complete. */
bool filebody_is_active(const struct filebody *b);

/* Starts sending <size> bytes of <fd> (a regular file, read from offset 0) into <out>,
 * after the head already there; <b> must be idle and takes <fd> in every case.
 * <by_reference>: <out> drains to a plain socket; the file is added as a segment that
 * the kernel sends (sendfile) and <out> closes <fd> once it has left: FILEBODY_DONE or
 * FILEBODY_ERROR. Otherwise the first chunks are read now, as filebody_fill does. Never
 * maps the file, never reads more than FILEBODY_AHEAD_BYTES ahead of the socket. */
enum filebody_result filebody_start(struct filebody *b, int fd, off_t size, struct evbuffer *out,
                                    bool by_reference);

/* Reads the file of active <b> into <out> in chunks while <out> holds less than
 * FILEBODY_AHEAD_BYTES. Returns FILEBODY_MORE, or a final result, after which <b> is idle
 * and its fd closed (<offset> and <size> stay readable for a log line). */
enum filebody_result filebody_fill(struct filebody *b, struct evbuffer *out);

/* Closes <b>'s file, if any, and makes it idle: the answer is abandoned. */
void filebody_reset(struct filebody *b);

#endif
