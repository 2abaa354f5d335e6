/*
 * fuzz_utf8.c - libFuzzer driver for utf8.c, differential: after every chunk of a split
 * input, utf8_feed(), utf8_is_complete() and utf8_pending_bytes() must say what a plain
 * matcher over the rows of RFC 3629 §4 says of the bytes so far, and utf8_is_valid() of
 * each prefix must agree too. The matcher's table is checked once against every scalar
 * value, encoded by hand, before any input runs.
 *
 * Input: the chunking prefix of fuzz.h (no flags), then the bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_utf8_range {
    uint8_t lo, hi; /* inclusive */
};

/* One alternative of RFC 3629 §4's syntax: a byte range per position. */
struct fuzz_utf8_row {
    size_t len;                     /* 1..4 */
    struct fuzz_utf8_range byte[4]; /* range of each byte */
};

/* RFC 3629 §4, row by row, as written there; UTF8-tail = %x80-BF. */
static const struct fuzz_utf8_row fuzz_utf8_rows[] = {
    /* UTF8-1 = %x00-7F */
    {1, {{0x00, 0x7F}}},
    /* UTF8-2 = %xC2-DF UTF8-tail */
    {2, {{0xC2, 0xDF}, {0x80, 0xBF}}},
    /* UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
     *          %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail ) */
    {3, {{0xE0, 0xE0}, {0xA0, 0xBF}, {0x80, 0xBF}}},
    {3, {{0xE1, 0xEC}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {3, {{0xED, 0xED}, {0x80, 0x9F}, {0x80, 0xBF}}},
    {3, {{0xEE, 0xEF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    /* UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
     *          %xF4 %x80-8F 2( UTF8-tail ) */
    {4, {{0xF0, 0xF0}, {0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF1, 0xF3}, {0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF4, 0xF4}, {0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}}},
};

#define FUZZ_UTF8_N_ROWS (sizeof(fuzz_utf8_rows) / sizeof(fuzz_utf8_rows[0]))

/* What the reference says of a whole byte string. */
struct fuzz_utf8_verdict {
    bool failed;    /* some byte can never be valid */
    size_t fail_at; /* failed: index of the first such byte */
    size_t pending; /* not failed: bytes of a sequence the input ends inside (0..3) */
};

/* Number of bytes of <row> that <p> (<len> bytes) matches from its start. */
static size_t fuzz_utf8_row_match(const struct fuzz_utf8_row *row, const uint8_t *p, size_t len)
{
    size_t k;

    for (k = 0; k < row->len && k < len; k++)
        if (p[k] < row->byte[k].lo || p[k] > row->byte[k].hi)
            break;
    return k;
}

/* The reference over <p>[0..len), from sequence start *<at>: at each sequence start, the
 * row that matches furthest decides. A row matched whole is a sequence; matched up to
 * the end of the input, an unfinished one; otherwise the byte where the best row stopped
 * matching is the first invalid one. *<at> moves over whole sequences only, so that a
 * longer input can resume there: bytes already judged are judged the same. */
static struct fuzz_utf8_verdict fuzz_utf8_ref(const uint8_t *p, size_t len, size_t *at)
{
    struct fuzz_utf8_verdict v = {0};
    size_t i = *at;

    while (i < len) {
        size_t best = 0, best_len = 0;
        for (size_t r = 0; r < FUZZ_UTF8_N_ROWS; r++) {
            size_t m = fuzz_utf8_row_match(&fuzz_utf8_rows[r], p + i, len - i);
            if (m > best) {
                best = m;
                best_len = fuzz_utf8_rows[r].len;
            }
        }
        if (best == best_len && best > 0) {
            i += best;
            *at = i;
            continue;
        }
        if (best > 0 && i + best == len) {
            v.pending = best;
            return v;
        }
        v.failed = true;
        v.fail_at = i + best;
        return v;
    }
    return v;
}

/* Encodes scalar value <cp> the textbook way (RFC 3629 §3) into <out>; returns the length. */
static size_t fuzz_utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Checks the table before trusting it: every scalar value's encoding matches a row, and
 * the rows together accept exactly as many sequences as there are scalar values
 * (0x110000 less the 2048 surrogates), so they accept nothing else. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint64_t accepted = 0;

    (void)argc;
    (void)argv;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        uint8_t enc[4];
        size_t n;
        struct fuzz_utf8_verdict v;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        size_t at = 0;
        n = fuzz_utf8_encode(cp, enc);
        v = fuzz_utf8_ref(enc, n, &at);
        FUZZ_CHECK(!v.failed && v.pending == 0);
    }
    for (size_t r = 0; r < FUZZ_UTF8_N_ROWS; r++) {
        uint64_t count = 1;
        for (size_t k = 0; k < fuzz_utf8_rows[r].len; k++)
            count *= (uint64_t)(fuzz_utf8_rows[r].byte[k].hi - fuzz_utf8_rows[r].byte[k].lo + 1);
        accepted += count;
    }
    FUZZ_CHECK(accepted == 0x110000 - 0x800);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_split split;
    struct utf8 u;
    unsigned flags;
    size_t off, at = 0, checks = 0, skip = fuzz_split_init(&split, data, size, &flags);

    if (skip == 0)
        return 0;
    data += skip;
    size -= skip;

    utf8_init(&u);
    FUZZ_CHECK(utf8_is_complete(&u) && utf8_pending_bytes(&u) == 0);
    for (off = 0; off < size;) {
        size_t n = fuzz_split_next(&split, size - off);
        uint8_t *chunk = fuzz_copy(data + off, n);
        bool ok = utf8_feed(&u, chunk, n);
        struct fuzz_utf8_verdict v;

        free(chunk);
        off += n;
        v = fuzz_utf8_ref(data, off, &at);
        if (ok != !v.failed || utf8_is_complete(&u) != (!v.failed && v.pending == 0) ||
            utf8_pending_bytes(&u) != (v.failed ? 0 : v.pending)) {
            fprintf(stderr,
                    "after %zu bytes: feed %d complete %d pending %zu; reference: failed %d "
                    "at %zu, pending %zu\n",
                    off, ok, utf8_is_complete(&u), utf8_pending_bytes(&u), v.failed, v.fail_at,
                    v.pending);
            abort();
        }
        /* the one-shot check of the same prefix, from an exact copy: for the first few
         * chunks and the whole, to keep a run linear in the input */
        if (checks++ < 8 || off == size) {
            chunk = fuzz_copy(data, off);
            FUZZ_CHECK(utf8_is_valid(chunk, off) == (!v.failed && v.pending == 0));
            free(chunk);
        }
    }
    return 0;
}
