/*
 * pattern.c - the benchmark byte stream: a xorshift sequence with a prime period, laid
 * out once with PATTERN_SPAN bytes of overhang so that any offset reads contiguously.
 */
#include "pattern.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *pattern_table; /* PATTERN_PERIOD + PATTERN_SPAN bytes */

int pattern_init(void)
{
    uint64_t x = 0x9e3779b97f4a7c15u;

    if (pattern_table != NULL)
        return 0;
    pattern_table = malloc((size_t)PATTERN_PERIOD + PATTERN_SPAN);
    if (pattern_table == NULL)
        return -1;
    for (size_t i = 0; i < PATTERN_PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern_table[i] = (uint8_t)(x >> 32);
    }
    for (size_t i = PATTERN_PERIOD; i < (size_t)PATTERN_PERIOD + PATTERN_SPAN; i++)
        pattern_table[i] = pattern_table[i - PATTERN_PERIOD];
    return 0;
}

const uint8_t *pattern_at(uint64_t off)
{
    return pattern_table + off % PATTERN_PERIOD;
}

size_t pattern_check(uint64_t off, const uint8_t *data, size_t len)
{
    size_t done = 0;

    while (done < len) {
        size_t n = len - done < PATTERN_SPAN ? len - done : PATTERN_SPAN;
        const uint8_t *want = pattern_at(off + done);
        if (memcmp(want, data + done, n) != 0) {
            for (size_t i = 0; i < n; i++)
                if (want[i] != data[done + i])
                    return done + i;
        }
        done += n;
    }
    return len;
}
