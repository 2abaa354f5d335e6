/*
 * fuzz_unmask.c - libFuzzer driver for ws_frame_unmask(), differential: the word-wide
 * unmask must equal a plain byte loop (RFC 6455 §5.3) for every start offset 0..3 and
 * every buffer misalignment 0..7, whole and split in two at a point the input chooses,
 * must return the key offset of the byte after, and must not touch a byte outside.
 *
 * Input: bytes 0..3 the masking key, bytes 4..5 the split point (little endian, taken
 * modulo the length + 1), the rest the payload.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ws_frame.h"

#define FUZZ_UNMASK_GUARD 0xA5 /* filler before the payload, checked after */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 6455 §5.3: transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4),
 * with i counted from key offset <pos>. */
static void fuzz_unmask_ref(uint8_t *buf, size_t len, const uint8_t mask[4], uint8_t pos)
{
    for (size_t i = 0; i < len; i++)
        buf[i] ^= mask[(pos + i) % 4];
}

/* One case: <len> bytes of <payload> at misalignment <mis> from key offset <pos>, unmasked
 * in one call or in two split at <split>. */
static void fuzz_unmask_case(const uint8_t *payload, size_t len, const uint8_t *mask, uint8_t pos,
                             size_t mis, size_t split, bool two_calls)
{
    /* exact end: a write or read past the payload is a report; the <mis> bytes before it
     * are filler that must come back unchanged */
    uint8_t *block = malloc(mis + len);
    uint8_t *buf = block + mis;
    uint8_t *want = fuzz_copy(payload, len);
    uint8_t next;

    FUZZ_CHECK(block != NULL);
    memset(block, FUZZ_UNMASK_GUARD, mis);
    if (len > 0)
        memcpy(buf, payload, len);
    fuzz_unmask_ref(want, len, mask, pos);

    if (two_calls) {
        next = ws_frame_unmask(buf, split, mask, pos);
        FUZZ_CHECK(next == (pos + split) % 4);
        next = ws_frame_unmask(buf + split, len - split, mask, next);
    } else {
        next = ws_frame_unmask(buf, len, mask, pos);
    }
    FUZZ_CHECK(next == (pos + len) % 4);
    FUZZ_CHECK(len == 0 || memcmp(buf, want, len) == 0);
    for (size_t i = 0; i < mis; i++)
        FUZZ_CHECK(block[i] == FUZZ_UNMASK_GUARD);
    free(want);
    free(block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *mask;
    size_t split, len;

    if (size < 6)
        return 0;
    mask = fuzz_copy(data, 4); /* exact: the key is 4 bytes, not 8 */
    len = size - 6;
    split = ((size_t)data[4] | (size_t)data[5] << 8) % (len + 1);
    for (uint8_t pos = 0; pos < 4; pos++) {
        for (size_t mis = 0; mis < 8; mis++) {
            fuzz_unmask_case(data + 6, len, mask, pos, mis, split, false);
            fuzz_unmask_case(data + 6, len, mask, pos, mis, split, true);
        }
    }
    free(mask);
    return 0;
}
