/*
 * pattern.h - the byte stream every benchmark connection carries, as a function of the
 * stream offset, so an echo can be checked at any frame or segment boundary without
 * keeping a copy of what was sent. Shared by the load generator and the targets.
 */
#ifndef BENCH_PATTERN_H
#define BENCH_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define PATTERN_PERIOD 65521u        /* prime, so chunk boundaries drift over it */
#define PATTERN_SPAN (1024u * 1024u) /* bytes readable at once from pattern_at() */

/* Builds the table; call once before pattern_at(). Returns 0, or -1 without memory. */
int pattern_init(void);

/* Returns a pointer to PATTERN_SPAN bytes: the stream from offset <off> on. */
const uint8_t *pattern_at(uint64_t off);

/* Returns the offset (0..<len>) of the first byte of <data> that differs from the stream
 * starting at <off>, or <len> when all <len> bytes match. <len> may be any size. */
size_t pattern_check(uint64_t off, const uint8_t *data, size_t len);

#endif
