/*
 * utf8.c - incremental UTF-8 validation (RFC 3629 §4), state kept across chunks.
 * Each byte is checked against the byte ranges of RFC 3629's syntax table, so the
 * first byte that no continuation could make valid fails at once; code points are
 * never decoded and nothing is buffered. What a failure costs is the caller's business.
 */
#include "utf8.h"

#include <string.h>

/* RFC 3629 §4: UTF8-tail = %x80-BF */
#define UTF8_TAIL_LO 0x80
#define UTF8_TAIL_HI 0xBF

/* Every byte of an ASCII word has its top bit clear. */
#define UTF8_ASCII_WORD_MASK UINT64_C(0x8080808080808080)

/* Sets <u> to the start state: nothing pending, not failed. */
void utf8_init(struct utf8 *u)
{
    *u = (struct utf8){.lo = UTF8_TAIL_LO, .hi = UTF8_TAIL_HI};
}

/* Starts the sequence that lead byte <b> opens. Returns false if <b> cannot open one.
 * The branches are the rows of RFC 3629 §4; the first continuation byte's range is
 * narrowed where the table narrows it, which is what makes overlongs, surrogates and
 * code points above U+10FFFF fail on the byte that commits to them. */
static bool utf8_lead(struct utf8 *u, uint8_t b)
{
    uint8_t need;
    uint8_t lo = UTF8_TAIL_LO;
    uint8_t hi = UTF8_TAIL_HI;

    if (b <= 0x7F)
        return true; /* UTF8-1 = %x00-7F */
    if (b < 0xC2)
        return false; /* 80-BF: stray continuation; C0, C1: only overlong 2-byte forms */
    if (b <= 0xDF) {
        need = 1; /* UTF8-2 = %xC2-DF UTF8-tail */
    } else if (b <= 0xEF) {
        need = 2;
        if (b == 0xE0)
            lo = 0xA0; /* %xE0 %xA0-BF UTF8-tail: 80-9F would be overlong */
        else if (b == 0xED)
            hi = 0x9F; /* %xED %x80-9F UTF8-tail: A0-BF would be surrogates D800-DFFF */
    } else if (b <= 0xF4) {
        need = 3;
        if (b == 0xF0)
            lo = 0x90; /* %xF0 %x90-BF 2( UTF8-tail ): 80-8F would be overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* %xF4 %x80-8F 2( UTF8-tail ): 90-BF would be above U+10FFFF */
    } else {
        return false; /* F5-FF: every sequence would be above U+10FFFF */
    }
    u->need = need;
    u->have = 1;
    u->lo = lo;
    u->hi = hi;
    return true;
}

/* Takes one byte <b>. Returns false if it can never be part of valid UTF-8 here. */
static bool utf8_step(struct utf8 *u, uint8_t b)
{
    if (u->need == 0)
        return utf8_lead(u, b);
    if (b < u->lo || b > u->hi)
        return false;
    u->need--;
    u->have = u->need == 0 ? 0 : u->have + 1;
    /* only the first continuation byte has a narrowed range (RFC 3629 §4) */
    u->lo = UTF8_TAIL_LO;
    u->hi = UTF8_TAIL_HI;
    return true;
}

/* Feeds <len> bytes at <p> to <u>. Returns false at the first byte that can never be
 * valid and on every call after; else true, even with a sequence still unfinished. */
bool utf8_feed(struct utf8 *u, const uint8_t *p, size_t len)
{
    size_t i = 0;

    if (u->failed)
        return false;
    while (i < len) {
        if (u->need == 0) {
            /* Between sequences, skip ASCII eight bytes at a time. memcpy keeps the load
             * defined at any alignment; compilers turn it into one unaligned load. */
            while (len - i >= 8) {
                uint64_t w;

                memcpy(&w, p + i, sizeof(w));
                if ((w & UTF8_ASCII_WORD_MASK) != 0)
                    break;
                i += 8;
            }
            if (i == len)
                break;
        }
        if (!utf8_step(u, p[i])) {
            utf8_init(u);
            u->failed = true;
            return false;
        }
        i++;
    }
    return true;
}

/* True if <u> has not failed and is between sequences. */
bool utf8_is_complete(const struct utf8 *u)
{
    return !u->failed && u->need == 0;
}

/* Bytes (0..3) of the unfinished sequence at the end of the input; 0 after a failure. */
size_t utf8_pending_bytes(const struct utf8 *u)
{
    /* have is reset when a sequence completes and when a failure is recorded */
    return u->have;
}

/* True if <p>[0..len) is complete, valid UTF-8. Keeps no state. */
bool utf8_is_valid(const uint8_t *p, size_t len)
{
    struct utf8 u;

    utf8_init(&u);
    return utf8_feed(&u, p, len) && utf8_is_complete(&u);
}
