/*
 * siphash.c - SipHash-2-4: two compression rounds per 8-byte word, four finalisation
 * rounds, 64-bit output (the paper's §2). Bytes are read little-endian one at a time, so
 * the result does not depend on the host's byte order or alignment.
 */
#include "siphash.h"

#define SIPHASH_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* Reads 8 bytes at <p> as a little-endian word. */
static uint64_t siphash_load64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* One SipRound on the state <v>. */
static void siphash_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = SIPHASH_ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = SIPHASH_ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = SIPHASH_ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = SIPHASH_ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = SIPHASH_ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = SIPHASH_ROTL(v[2], 32);
}

/* Absorbs word <m>: c = 2 compression rounds. */
static void siphash_compress(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    siphash_round(v);
    siphash_round(v);
    v[0] ^= m;
}

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_BYTES], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = siphash_load64(key), k1 = siphash_load64(key + 8);
    /* The paper's constants: "somepseudorandomlygeneratedbytes". */
    uint64_t v[4] = {
        k0 ^ 0x736f6d6570736575ull,
        k1 ^ 0x646f72616e646f6dull,
        k0 ^ 0x6c7967656e657261ull,
        k1 ^ 0x7465646279746573ull,
    };
    uint64_t last = (uint64_t)(len & 0xff) << 56; /* the length mod 256 in the top byte */
    size_t whole = len - len % 8;

    for (size_t i = 0; i < whole; i += 8)
        siphash_compress(v, siphash_load64(in + i));
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)in[whole + i] << (8 * i);
    siphash_compress(v, last);
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++) /* d = 4 finalisation rounds */
        siphash_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}
