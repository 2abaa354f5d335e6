/*
 * feed.h - chunkings for feeding pure parsers in unit tests: the whole input at once,
 * one byte at a time, and seeded random splits. A test runs every case under each
 * FEED_MODES entry and expects the same events.
 */
#ifndef WSB_TEST_FEED_H
#define WSB_TEST_FEED_H

#include <stddef.h>
#include <stdint.h>

enum feed_mode {
    FEED_WHOLE = 0, /* everything in one call */
    FEED_BYTES,     /* one byte per call */
    FEED_RANDOM,    /* 1..max(1,left) bytes per call, from a seeded generator */
};

struct feed {
    enum feed_mode mode;
    uint32_t rng; /* xorshift32 state; never 0 */
};

/* Modes a test loops over: index 0 whole, 1 bytes, 2.. random with different seeds. */
#define FEED_MODES 8

static inline void feed_init(struct feed *f, int index)
{
    f->mode = index == 0 ? FEED_WHOLE : index == 1 ? FEED_BYTES : FEED_RANDOM;
    f->rng = 0x9e3779b9u ^ (uint32_t)(index * 2654435761u);
    if (f->rng == 0)
        f->rng = 1;
}

static inline uint32_t feed_rand(struct feed *f)
{
    uint32_t x = f->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    f->rng = x;
    return x;
}

/* Size of the next chunk when <left> bytes remain (left > 0): never 0, never > left.
 * Random splits favour small chunks so that every boundary gets crossed. */
static inline size_t feed_chunk(struct feed *f, size_t left)
{
    size_t n;

    switch (f->mode) {
    case FEED_WHOLE:
        return left;
    case FEED_BYTES:
        return 1;
    default:
        n = feed_rand(f) % 4 == 0 ? 1 + feed_rand(f) % 4096 : 1 + feed_rand(f) % 17;
        return n < left ? n : left;
    }
}

#endif
