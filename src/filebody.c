/*
 * filebody.c - a web-root file into a connection's output. A plain socket gets an
 * evbuffer file segment, sent by the kernel (sendfile) with no copy in our memory. A TLS
 * connection cannot use one: libevent would map the whole file for SSL_write, and a file
 * truncated in place while mapped (logrotate's copytruncate, `> file`) kills the daemon
 * with SIGBUS at the next page touched. So TLS gets pread chunks, a bounded read-ahead,
 * and a file that ends early is reported as such, for that answer alone.
 */
#include "filebody.h"

#include <errno.h>
#include <unistd.h>

#include <event2/buffer.h>

#define FILEBODY_CHUNK_BYTES (64 * 1024) /* one pread */

void filebody_init(struct filebody *b)
{
    b->fd = -1;
    b->offset = 0;
    b->size = 0;
}

bool filebody_is_active(const struct filebody *b)
{
    return b->fd >= 0;
}

void filebody_reset(struct filebody *b)
{
    int e = errno; /* callers report the error that brought them here */

    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    errno = e;
}

/* Adds the whole file to <out> by reference. Not evbuffer_add_file: in libevent 2.1.12
 * its failure paths disagree about whether the fd was closed, and asking the kernel
 * afterwards (F_GETFD) is a race once other worker threads open descriptors. A segment's
 * contract is plain: a failed evbuffer_file_segment_new leaves the fd open; once it
 * exists, the fd is closed with its last reference, whether or not the buffer took one.
 * The segment is never mapped here: <out> drains to a socket, so libevent keeps it for
 * sendfile and never materializes it. */
static enum filebody_result filebody_add_segment(struct filebody *b, struct evbuffer *out)
{
    struct evbuffer_file_segment *seg;
    int r;

    seg = evbuffer_file_segment_new(b->fd, 0, b->size, EVBUF_FS_CLOSE_ON_FREE);
    if (seg == NULL) {
        errno = ENOMEM;
        filebody_reset(b);
        return FILEBODY_ERROR;
    }
    b->fd = -1; /* the segment's now */
    r = evbuffer_add_file_segment(out, seg, 0, b->size);
    evbuffer_file_segment_free(seg); /* ours; the buffer holds its own on success */
    if (r != 0) {
        errno = ENOMEM;
        return FILEBODY_ERROR;
    }
    b->offset = b->size;
    return FILEBODY_DONE;
}

enum filebody_result filebody_start(struct filebody *b, int fd, off_t size, struct evbuffer *out,
                                    bool by_reference)
{
    b->fd = fd;
    b->offset = 0;
    b->size = size;
    if (size <= 0) {
        filebody_reset(b);
        return FILEBODY_DONE;
    }
    if (by_reference)
        return filebody_add_segment(b, out);
    return filebody_fill(b, out);
}

enum filebody_result filebody_fill(struct filebody *b, struct evbuffer *out)
{
    while (b->offset < b->size && evbuffer_get_length(out) < FILEBODY_AHEAD_BYTES) {
        off_t left = b->size - b->offset;
        size_t want = left < FILEBODY_CHUNK_BYTES ? (size_t)left : FILEBODY_CHUNK_BYTES;
        struct evbuffer_iovec v;
        ssize_t n;

        /* Read straight into the output's own memory: one copy, from the page cache. */
        if (evbuffer_reserve_space(out, (ev_ssize_t)want, &v, 1) < 1) {
            errno = ENOMEM;
            filebody_reset(b);
            return FILEBODY_ERROR;
        }
        do
            n = pread(b->fd, v.iov_base, want, b->offset);
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
            /* Reserved space not committed is simply not part of the buffer. */
            filebody_reset(b);
            return n == 0 ? FILEBODY_SHORT : FILEBODY_ERROR;
        }
        v.iov_len = (size_t)n;
        if (evbuffer_commit_space(out, &v, 1) != 0) {
            errno = ENOMEM;
            filebody_reset(b);
            return FILEBODY_ERROR;
        }
        b->offset += n;
    }
    if (b->offset < b->size)
        return FILEBODY_MORE;
    filebody_reset(b);
    return FILEBODY_DONE;
}
