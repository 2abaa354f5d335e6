/*
 * test_utf8.c - unit tests for utf8.c: named good and bad sequences, and a differential
 * check against a reference decoder written here from RFC 3629 §3's bit-pattern table
 * (utf8.c works from §4's byte ranges instead): every 1-, 2- and 3-byte string, the
 * 4-byte boundaries, and random strings, each fed in every FEED_MODES chunking.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "feed.h"
#include "utf8.h"

/* ck_assert for hot loops: ck_assert reports every check that passes to the runner (one
 * write each, millions here); these cost nothing until they fail. */
#define EXPECT(cond) EXPECT_MSG(cond, "%s", #cond)
#define EXPECT_MSG(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

/* True if a code point whose leading bits are <cp>, followed by <left> more 6-bit
 * groups, can be a Unicode scalar value of at least <min> (the shortest-form bound of
 * its sequence length): RFC 3629 §3 forbids overlongs, surrogates and > U+10FFFF. */
static bool test_utf8_ref_feasible(uint32_t cp, int left, uint32_t min)
{
    uint32_t lo = cp << (6 * left);
    uint32_t hi = lo | ((UINT32_C(1) << (6 * left)) - 1);

    if (lo < min)
        lo = min;
    if (hi > 0x10FFFF)
        hi = 0x10FFFF;
    if (lo > hi)
        return false;
    return !(lo >= 0xD800 && hi <= 0xDFFF);
}

/* Reference: the first index i such that <p>[0..i] is not the start of any valid UTF-8
 * text, or <len> if there is none; then *pending is the length of an unfinished final
 * sequence. Sequences are recognised by RFC 3629 §3's bit patterns:
 *   0xxxxxxx | 110xxxxx 10xxxxxx | 1110xxxx 10xxxxxx 10xxxxxx | 11110xxx 10xxxxxx ... */
static size_t test_utf8_ref_first_bad(const uint8_t *p, size_t len, size_t *pending)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t i = 0;

    *pending = 0;
    while (i < len) {
        uint8_t b = p[i];
        uint32_t cp;
        int n;

        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            n = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            n = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            n = 4;
            cp = b & 0x07;
        } else {
            return i; /* 10xxxxxx with no lead, or 11111xxx */
        }
        for (int k = 1;; k++) {
            /* k bytes of this sequence are in: can any completion still be valid? */
            if (!test_utf8_ref_feasible(cp, n - k, min_cp[n]))
                return i + k - 1;
            if (k == n)
                break;
            if (i + k == len) {
                *pending = (size_t)k;
                return len;
            }
            if ((p[i + k] & 0xC0) != 0x80)
                return i + k;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        i += (size_t)n;
    }
    return len;
}

/* Feeds <s> to a fresh validator in the chunks of FEED_MODES entry <mode> and compares
 * each answer, the pending count and the final verdicts with the reference. */
static void test_utf8_check_against_ref(const uint8_t *s, size_t len, int mode)
{
    struct utf8 u;
    struct feed f;
    size_t off = 0;
    size_t pend;
    size_t bad = test_utf8_ref_first_bad(s, len, &pend);
    bool valid = bad == len && pend == 0;

    utf8_init(&u);
    feed_init(&f, mode);
    while (off < len) {
        size_t n = feed_chunk(&f, len - off);
        bool ok = utf8_feed(&u, s + off, n);
        size_t want_pend = 0;

        off += n;
        if (bad >= off)
            test_utf8_ref_first_bad(s, off, &want_pend);
        EXPECT_MSG(ok == (bad >= off), "len %zu mode %d: after %zu bytes got %d, bad at %zu", len,
                   mode, off, ok, bad);
        EXPECT_MSG(utf8_pending_bytes(&u) == want_pend,
                   "len %zu mode %d: after %zu bytes pending %zu, want %zu", len, mode, off,
                   utf8_pending_bytes(&u), want_pend);
    }
    EXPECT_MSG(utf8_is_complete(&u) == valid, "len %zu mode %d: complete", len, mode);
    EXPECT_MSG(utf8_is_valid(s, len) == valid, "len %zu: is_valid", len);
}

/* Named cases. bad_at: index of the first byte that can never be valid, -1 for none;
 * pending: unfinished bytes at the end when bad_at is -1. */
struct utf8_case {
    const char *name;
    const char *bytes;
    size_t len;
    int bad_at;
    size_t pending;
};

#define S(lit) lit, sizeof(lit) - 1

static const struct utf8_case utf8_cases[] = {
    /* good: the boundaries of each row of RFC 3629 §4 */
    {"empty", S(""), -1, 0},
    {"ascii", S("Hello, world"), -1, 0},
    {"U+0000", S("\x00"), -1, 0},
    {"U+007F", S("\x7f"), -1, 0},
    {"U+0080", S("\xc2\x80"), -1, 0},
    {"U+07FF", S("\xdf\xbf"), -1, 0},
    {"U+0800", S("\xe0\xa0\x80"), -1, 0},
    {"U+D7FF below surrogates", S("\xed\x9f\xbf"), -1, 0},
    {"U+E000 above surrogates", S("\xee\x80\x80"), -1, 0},
    {"U+FFFF", S("\xef\xbf\xbf"), -1, 0},
    {"U+10000", S("\xf0\x90\x80\x80"), -1, 0},
    {"U+10FFFF", S("\xf4\x8f\xbf\xbf"), -1, 0},
    {"kosme (RFC 6455 test text)", S("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), -1, 0},
    /* good prefixes: unfinished sequences are held, not failed */
    {"pending 1 of 2", S("a\xc3"), -1, 1},
    {"pending 1 of 3", S("\xe2"), -1, 1},
    {"pending 2 of 3", S("\xe2\x82"), -1, 2},
    {"pending 1 of 4", S("\xf0"), -1, 1},
    {"pending 2 of 4", S("\xf0\x9f"), -1, 2},
    {"pending 3 of 4", S("\xf0\x9f\x98"), -1, 3},
    {"pending after ascii word", S("abcdefgh\xf4\x8f\xbf"), -1, 3},
    /* bad: overlong forms */
    {"overlong C0 80", S("\xc0\x80"), 0, 0},
    {"overlong C1 BF", S("\xc1\xbf"), 0, 0},
    {"overlong E0 80 80", S("\xe0\x80\x80"), 1, 0},
    {"overlong E0 9F BF", S("\xe0\x9f\xbf"), 1, 0},
    {"overlong F0 80 80 80", S("\xf0\x80\x80\x80"), 1, 0},
    {"overlong F0 8F BF BF", S("\xf0\x8f\xbf\xbf"), 1, 0},
    /* bad: surrogates D800-DFFF */
    {"surrogate ED A0 80", S("\xed\xa0\x80"), 1, 0},
    {"surrogate ED BF BF", S("\xed\xbf\xbf"), 1, 0},
    {"surrogate pair", S("\xed\xa0\xbd\xed\xb8\x80"), 1, 0},
    /* bad: above U+10FFFF */
    {"F4 90 80 80", S("\xf4\x90\x80\x80"), 1, 0},
    {"F5", S("\xf5\x80\x80\x80"), 0, 0},
    {"F8 (old 5-byte form)", S("\xf8\x88\x80\x80\x80"), 0, 0},
    {"FE", S("\xfe"), 0, 0},
    {"FF", S("\xff"), 0, 0},
    /* bad: stray or missing continuation bytes */
    {"stray 80", S("\x80"), 0, 0},
    {"stray BF after ascii", S("ab\xbf"), 2, 0},
    {"extra continuation", S("\xc3\xa9\x80"), 2, 0},
    {"2-byte cut by ascii", S("\xc3\x41"), 1, 0},
    {"3-byte cut by ascii", S("\xe2\x82\x41"), 2, 0},
    {"4-byte cut by lead", S("\xf0\x9f\x98\xc3\xa9"), 3, 0},
    {"bad after 8 ascii", S("abcdefgh\xff"), 8, 0},
    {"bad inside word", S("abc\x80xyzwvuts"), 3, 0},
};

START_TEST(test_utf8_table)
{
    const struct utf8_case *c = &utf8_cases[_i];
    const uint8_t *s = (const uint8_t *)c->bytes;
    uint8_t *copy = malloc(c->len + 1); /* exact-size heap copy: ASan sees over-reads */
    struct utf8 u;
    int first_bad = -1;
    size_t pend;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, s, c->len);
    /* the byte that fails, found one byte at a time */
    utf8_init(&u);
    for (size_t i = 0; i < c->len && first_bad < 0; i++)
        if (!utf8_feed(&u, copy + i, 1))
            first_bad = (int)i;
    ck_assert_msg(first_bad == c->bad_at, "%s: fails at %d, want %d", c->name, first_bad,
                  c->bad_at);
    if (c->bad_at < 0)
        ck_assert_msg(utf8_pending_bytes(&u) == c->pending, "%s: pending %zu, want %zu", c->name,
                      utf8_pending_bytes(&u), c->pending);
    /* the reference agrees with the table, so the differential tests mean something */
    ck_assert_msg(test_utf8_ref_first_bad(s, c->len, &pend) ==
                      (c->bad_at < 0 ? c->len : (size_t)c->bad_at),
                  "%s: reference disagrees", c->name);
    for (int mode = 0; mode < FEED_MODES; mode++)
        test_utf8_check_against_ref(copy, c->len, mode);
    ck_assert(utf8_is_valid(copy, c->len) == (c->bad_at < 0 && c->pending == 0));
    free(copy);
}
END_TEST

START_TEST(test_utf8_sticky_failure)
{
    struct utf8 u;

    utf8_init(&u);
    ck_assert(utf8_feed(&u, (const uint8_t *)"\xe2\x82", 2));
    ck_assert_uint_eq(utf8_pending_bytes(&u), 2);
    ck_assert(!utf8_feed(&u, (const uint8_t *)"A", 1));
    ck_assert_uint_eq(utf8_pending_bytes(&u), 0);
    ck_assert(!utf8_is_complete(&u));
    ck_assert(!utf8_feed(&u, (const uint8_t *)"AAAAAAAAAAAAAAAA", 16));
    ck_assert(!utf8_feed(&u, NULL, 0));
    ck_assert(!utf8_is_complete(&u));
    utf8_init(&u);
    ck_assert(utf8_feed(&u, NULL, 0));
    ck_assert(utf8_is_complete(&u));
}
END_TEST

/* The word-wide ASCII path: a bad byte or a sequence at every offset of a buffer longer
 * than a few words, so each lands at every position inside a word and across two. */
START_TEST(test_utf8_word_path_offsets)
{
    enum { N = 48 };

    for (size_t at = 0; at < N; at++) {
        uint8_t *buf = malloc(N);
        struct utf8 u;
        size_t i;

        ck_assert_ptr_nonnull(buf);
        memset(buf, 'a', N);
        buf[at] = 0xFF;
        utf8_init(&u);
        ck_assert_msg(!utf8_feed(&u, buf, N), "0xFF at %zu passed", at);
        ck_assert_msg(utf8_feed(&u, buf, 0) == false, "not sticky");
        utf8_init(&u);
        ck_assert(at == 0 || utf8_feed(&u, buf, at)); /* the ASCII before it is fine */
        ck_assert(!utf8_feed(&u, buf + at, N - at));
        for (int mode = 0; mode < FEED_MODES; mode++)
            test_utf8_check_against_ref(buf, N, mode);

        if (at + 3 <= N) { /* U+20AC straddling whatever boundary falls at <at> */
            memset(buf, 'a', N);
            memcpy(buf + at, "\xe2\x82\xac", 3);
            ck_assert_msg(utf8_is_valid(buf, N), "euro at %zu", at);
            utf8_init(&u); /* cut after its second byte: 2 pending */
            ck_assert(utf8_feed(&u, buf, at + 2));
            ck_assert_uint_eq(utf8_pending_bytes(&u), 2);
            ck_assert(utf8_feed(&u, buf + at + 2, N - at - 2));
            ck_assert(utf8_is_complete(&u));
            for (i = 0; i < 3; i++) /* a lone lead byte followed by ASCII fails there */
                buf[at + i] = i == 0 ? 0xE2 : 'a';
            utf8_init(&u);
            ck_assert(!utf8_feed(&u, buf, N));
            for (int mode = 0; mode < FEED_MODES; mode++)
                test_utf8_check_against_ref(buf, N, mode);
        }
        free(buf);
    }
}
END_TEST

/* Every string of one and two bytes, fed whole and byte by byte. */
START_TEST(test_utf8_exhaustive_1_2)
{
    uint8_t s[2];

    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        test_utf8_check_against_ref(s, 1, 0);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            test_utf8_check_against_ref(s, 2, 0);
            test_utf8_check_against_ref(s, 2, 1);
        }
    }
}
END_TEST

/* Compares the validator with the reference on <s>[0..len) fed as one chunk, and on
 * the same bytes split after the first one. Cheaper than test_utf8_check_against_ref for the
 * millions of exhaustive strings. */
static void test_utf8_check_fast(const uint8_t *s, size_t len)
{
    struct utf8 u;
    size_t pend;
    size_t pend1;
    size_t bad = test_utf8_ref_first_bad(s, len, &pend);
    size_t bad1 = test_utf8_ref_first_bad(s, 1, &pend1);
    bool ok;

    utf8_init(&u);
    ok = utf8_feed(&u, s, len);
    if (ok != (bad == len) || utf8_pending_bytes(&u) != (ok ? pend : 0))
        ck_abort_msg("%02x %02x %02x %02x (len %zu): got %d pending %zu, want bad at %zu "
                     "pending %zu",
                     s[0], s[1], s[2], len > 3 ? s[3] : 0, len, ok, utf8_pending_bytes(&u), bad,
                     pend);
    utf8_init(&u);
    ok = utf8_feed(&u, s, 1);
    if (ok != (bad1 == 1) || utf8_pending_bytes(&u) != (ok ? pend1 : 0))
        ck_abort_msg("%02x: first byte alone", s[0]);
    ok = utf8_feed(&u, s + 1, len - 1) && ok;
    if (ok != (bad == len) || utf8_pending_bytes(&u) != (ok ? pend : 0))
        ck_abort_msg("%02x %02x %02x: split after byte 1", s[0], s[1], s[2]);
    if (utf8_is_complete(&u) != (bad == len && pend == 0))
        ck_abort_msg("%02x %02x %02x: complete", s[0], s[1], s[2]);
}

START_TEST(test_utf8_exhaustive_3)
{
    uint8_t s[4] = {0};

    for (unsigned v = 0; v < (1u << 24); v++) {
        s[0] = (uint8_t)(v >> 16);
        s[1] = (uint8_t)(v >> 8);
        s[2] = (uint8_t)v;
        test_utf8_check_fast(s, 3);
    }
}
END_TEST

/* Four-byte strings: every first and second byte, and the third and fourth from the
 * values where some range of RFC 3629 §4 begins or ends. */
START_TEST(test_utf8_boundaries_4)
{
    static const uint8_t edge[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    uint8_t s[4];

    for (unsigned v = 0; v < (1u << 16); v++) {
        s[0] = (uint8_t)(v >> 8);
        s[1] = (uint8_t)v;
        for (size_t c = 0; c < sizeof(edge); c++) {
            s[2] = edge[c];
            for (size_t d = 0; d < sizeof(edge); d++) {
                s[3] = edge[d];
                test_utf8_check_fast(s, 4);
            }
        }
    }
}
END_TEST

static uint32_t rng_state = 0x2545F491u;

static uint32_t test_utf8_rnd(void)
{
    uint32_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

/* Appends the UTF-8 form of <cp> (any value up to 0x1FFFFF, valid or not) to <out>. */
static size_t test_utf8_put_cp(uint8_t *out, uint32_t cp)
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

/* Fills <out> with up to <max> bytes that look like text: ASCII runs and valid code
 * points, and in half the strings also code points near every boundary, surrogates and
 * out-of-range values, cut sequences and random bytes. Returns the length. */
static size_t test_utf8_random_text(uint8_t *out, size_t max)
{
    static const uint32_t near[] = {0x7F,   0x80,   0x7FF,  0x800,   0xD7FF,   0xD800,
                                    0xDFFF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF, 0x110000};
    size_t len = 0;
    size_t want = test_utf8_rnd() % (max + 1);
    bool clean = test_utf8_rnd() % 2 == 0; /* half the strings only get the valid kinds of piece */

    while (len + 8 <= want) {
        uint32_t r = test_utf8_rnd() % (clean ? 10 : 16);
        uint8_t tmp[4];
        size_t n;

        if (r < 6) { /* an ASCII run, often long enough for the word path */
            n = 1 + test_utf8_rnd() % 7;
            for (size_t i = 0; i < n; i++)
                out[len++] = (uint8_t)(0x20 + test_utf8_rnd() % 95);
        } else if (r < 10) { /* a valid code point anywhere */
            uint32_t cp = test_utf8_rnd() % 0x110000;
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp -= 0x800;
            len += test_utf8_put_cp(out + len, cp);
        } else if (r < 12) { /* near a boundary, valid or not */
            len += test_utf8_put_cp(out + len,
                                    near[test_utf8_rnd() % (sizeof(near) / sizeof(near[0]))]);
        } else if (r < 13) { /* a cut sequence */
            n = test_utf8_put_cp(tmp, 0x80 + test_utf8_rnd() % 0x10FF80);
            n = n > 1 ? 1 + test_utf8_rnd() % (n - 1) : n;
            memcpy(out + len, tmp, n);
            len += n;
        } else if (r < 14) { /* an overlong form of an ASCII character */
            out[len++] = 0xC1;
            out[len++] = 0x81;
        } else if (r < 15) { /* a high byte, rare enough that strings often stay valid */
            out[len++] = (uint8_t)(0x80 + test_utf8_rnd() % 0x80);
        } else {
            out[len++] = (uint8_t)(test_utf8_rnd() % 0x80);
        }
    }
    return len;
}

START_TEST(test_utf8_random)
{
    enum { MAX = 300, ROUNDS = 4000 };
    int valid = 0;

    for (int r = 0; r < ROUNDS; r++) {
        uint8_t tmp[MAX + 8];
        size_t len = test_utf8_random_text(tmp, MAX);
        uint8_t *s = malloc(len + 1);

        ck_assert_ptr_nonnull(s);
        memcpy(s, tmp, len);
        for (int mode = 0; mode < FEED_MODES; mode++)
            test_utf8_check_against_ref(s, len, mode);
        valid += utf8_is_valid(s, len);
        free(s);
    }
    /* the generator must produce both outcomes, or this test proves little */
    ck_assert_msg(valid > ROUNDS / 10 && valid < ROUNDS * 9 / 10, "valid %d of %d", valid, ROUNDS);
}
END_TEST

/* Uniformly random bytes, short strings: mostly invalid, every state reached. */
START_TEST(test_utf8_random_bytes)
{
    for (int r = 0; r < 20000; r++) {
        uint8_t s[12];
        size_t len = test_utf8_rnd() % sizeof(s);

        for (size_t i = 0; i < len; i++)
            s[i] = (uint8_t)(test_utf8_rnd() % 4 == 0 ? test_utf8_rnd() % 0x80
                                                      : 0x80 + test_utf8_rnd() % 0x80);
        test_utf8_check_against_ref(s, len, 0);
        test_utf8_check_against_ref(s, len, 1);
        test_utf8_check_against_ref(s, len, 2 + r % (FEED_MODES - 2));
    }
}
END_TEST

static Suite *test_utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("table");
    TCase *slow = tcase_create("exhaustive");

    tcase_add_loop_test(tc, test_utf8_table, 0, sizeof(utf8_cases) / sizeof(utf8_cases[0]));
    tcase_add_test(tc, test_utf8_sticky_failure);
    tcase_add_test(tc, test_utf8_word_path_offsets);
    suite_add_tcase(s, tc);
    /* millions of strings: generous under sanitizers */
    tcase_set_timeout(slow, 600);
    tcase_add_test(slow, test_utf8_exhaustive_1_2);
    tcase_add_test(slow, test_utf8_exhaustive_3);
    tcase_add_test(slow, test_utf8_boundaries_4);
    tcase_add_test(slow, test_utf8_random);
    tcase_add_test(slow, test_utf8_random_bytes);
    suite_add_tcase(s, slow);
    return s;
}

CHECK_MAIN(test_utf8_suite)
