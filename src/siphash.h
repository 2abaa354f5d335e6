/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed 64-bit hash for tables whose keys a peer chooses, so that without the
 * key nobody can pick inputs that collide. Pure: the caller supplies the key.
 */
#ifndef WSB_SIPHASH_H
#define WSB_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_BYTES 16

/* SipHash-2-4 of the <len> bytes at <data> under the 16-byte <key>, as the paper's
 * reference defines it (the 64-bit result is the little-endian reading of its 8 output
 * bytes). <data> may be NULL when <len> is 0. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_BYTES], const void *data, size_t len);

#endif
