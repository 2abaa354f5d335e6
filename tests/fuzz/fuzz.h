/*
 * fuzz.h - what the libFuzzer drivers share: the chunking prefix that lets an input choose
 * how it is split into feeds, exact-size copies of each chunk (so AddressSanitizer sees a
 * read one byte past a feed), and FUZZ_CHECK, which aborts on a broken invariant.
 */
#ifndef WSB_FUZZ_H
#define WSB_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts with the failed condition: libFuzzer saves the input as a crash artifact. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * The chunking prefix, at the start of every chunked driver's input:
 *   byte 0            low 4 bits: n, the number of chunk-size bytes that follow;
 *                     high 4 bits: flags of the driver (FUZZ_FLAG_*)
 *   bytes 1..n        chunk sizes, used in turn and over again: 1..255 bytes, or 0 for an
 *                     empty feed
 * n == 0 feeds one byte at a time. The driver's own bytes and the data follow.
 */
#define FUZZ_FLAG_1 0x10
#define FUZZ_FLAG_2 0x20
#define FUZZ_FLAG_3 0x40
#define FUZZ_FLAG_4 0x80

struct fuzz_split {
    const uint8_t *sizes; /* the chunk-size bytes, inside the input */
    size_t n_sizes;       /* 0: one byte per feed */
    size_t next;          /* index of the next size to use */
    size_t empties;       /* empty feeds in a row, to end a table of zeros */
};

/* Reads the chunking prefix of <data> (<size> bytes) into <s> and the driver flags into
 * *<flags>. Returns the prefix length (the driver's bytes start there), or 0 if <data> is
 * too short to hold the prefix. */
static inline size_t fuzz_split_init(struct fuzz_split *s, const uint8_t *data, size_t size,
                                     unsigned *flags)
{
    size_t n;

    if (size < 1)
        return 0;
    n = data[0] & 0x0f;
    if (size < 1 + n)
        return 0;
    *s = (struct fuzz_split){.sizes = data + 1, .n_sizes = n};
    *flags = data[0] & 0xf0;
    return 1 + n;
}

/* Same split from its start again, for a second run over the same data. */
static inline void fuzz_split_rewind(struct fuzz_split *s)
{
    s->next = 0;
    s->empties = 0;
}

/* Size of the next feed when <left> bytes remain: 0 (an empty feed) or 1..left. An empty
 * feed never comes twice in a row more often than the table has entries, so every run
 * ends. */
static inline size_t fuzz_split_next(struct fuzz_split *s, size_t left)
{
    size_t n;

    if (s->n_sizes == 0)
        return left > 0 ? 1 : 0;
    n = s->sizes[s->next];
    s->next = (s->next + 1) % s->n_sizes;
    if (n == 0 && s->empties++ < s->n_sizes)
        return 0;
    s->empties = 0;
    if (n == 0)
        n = 1;
    return n < left ? n : left;
}

/* A heap copy of exactly <len> bytes at <p> (malloc(0) for none: a real, empty block), so
 * reading past a chunk is an AddressSanitizer report. Never NULL. */
static inline uint8_t *fuzz_copy(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len);

    FUZZ_CHECK(c != NULL);
    if (len > 0)
        memcpy(c, p, len);
    return c;
}

/* Reads a little-endian 32-bit value at *<p> if 4 of the <*left> bytes remain, moving
 * both on; else returns 0 and leaves them. */
static inline uint32_t fuzz_take_u32(const uint8_t **p, size_t *left)
{
    uint32_t v;

    if (*left < 4)
        return 0;
    v = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 | (uint32_t)(*p)[2] << 16 |
        (uint32_t)(*p)[3] << 24;
    *p += 4;
    *left -= 4;
    return v;
}

/* Reads one byte at *<p> if one remains, moving both on; else returns 0. */
static inline uint8_t fuzz_take_u8(const uint8_t **p, size_t *left)
{
    uint8_t v;

    if (*left < 1)
        return 0;
    v = (*p)[0];
    *p += 1;
    *left -= 1;
    return v;
}

#endif
