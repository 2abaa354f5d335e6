/*
 * utf8.h - incremental UTF-8 validation (RFC 3629), state kept across chunks.
 * Used for text messages from clients (RFC 6455 §8.1, fail fast) and for text-mode
 * routes, where only whole sequences may leave in a frame.
 */
#ifndef WSB_UTF8_H
#define WSB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct utf8 {
    uint8_t need;   /* continuation bytes still expected in the current sequence */
    uint8_t have;   /* bytes of the current sequence seen so far */
    uint8_t lo, hi; /* allowed range of the next continuation byte */
    bool failed;    /* an invalid byte was seen; sticky */
};

/* Sets <u> to the start state: no sequence in progress, not failed. */
void utf8_init(struct utf8 *u);

/* Feeds <len> bytes at <p> to <u>. Returns true if every byte so far can be part of
 * valid UTF-8 (a sequence may still be unfinished at the end); returns false at the
 * first byte that can never be valid (overlong forms, surrogates, > U+10FFFF, stray or
 * missing continuation bytes), and keeps returning false. ASCII runs are checked a
 * word at a time. */
bool utf8_feed(struct utf8 *u, const uint8_t *p, size_t len);

/* True if <u> has not failed and no sequence is unfinished: the bytes fed so far are
 * complete, valid UTF-8. */
bool utf8_is_complete(const struct utf8 *u);

/* Number of bytes (0..3) at the end of what was fed that belong to an unfinished
 * sequence: a sender of whole sequences holds these back. 0 after a failure. */
size_t utf8_pending_bytes(const struct utf8 *u);

/* One-shot check of a whole buffer: true if <p>[0..len) is complete, valid UTF-8. */
bool utf8_is_valid(const uint8_t *p, size_t len);

#endif
