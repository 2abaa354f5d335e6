/*
 * test_ws_frame.c - unit tests for ws_frame.c: RFC 6455 §5.7 example frames and one row
 * per violation, each fed in every FEED_MODES chunking and expected to give the same
 * events; the word-wide unmask against a byte loop; the header and close writers.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "feed.h"
#include "wstest.h"
#include "utf8.h"
#include "ws_frame.h"


/* The payload used by generated frames: byte i of every long payload. */
static uint8_t test_ws_frame_pattern(size_t i)
{
    return (uint8_t)(i * 31 + 7);
}

/* What one run of the parser over an input gave. */
struct test_ws_frame_run {
    struct sbuf log;  /* events, payload of each frame merged */
    uint8_t *payload; /* every PAYLOAD byte, in order */
    size_t payload_len;
    size_t payload_events;
};

/* Appends the payload collected for the current frame to the log. */
static void test_ws_frame_run_flush(struct test_ws_frame_run *r, size_t *frame_start)
{
    if (r->payload_len > *frame_start) {
        sb_printf(&r->log, "data(");
        sb_bytes(&r->log, r->payload + *frame_start, r->payload_len - *frame_start);
        sb_printf(&r->log, ") ");
    }
    *frame_start = r->payload_len;
}

/* Feeds <input> to a new parser in the chunks of FEED_MODES entry <mode> and logs the
 * events in <r>, checking on the way what every call must satisfy whatever the input:
 * used counts, payload placement, NONE only once the input is used, a repeated FAIL. */
static void test_ws_frame_run(const uint8_t *input, size_t len, bool require_mask,
                              uint64_t max_frame, int mode, struct test_ws_frame_run *r)
{
    uint8_t *in = malloc(len + 1); /* a private copy: the parser unmasks in place */
    struct ws_frame_parser p;
    struct ws_frame_event ev;
    struct feed f;
    size_t off = 0;
    size_t frame_start = 0;
    bool failed = false;

    EXPECT(in != NULL);
    memcpy(in, input, len);
    memset(r, 0, sizeof(*r));
    r->payload = malloc(len + 1);
    EXPECT(r->payload != NULL);
    sb_printf(&r->log, "%s", "");
    ws_frame_parser_init(&p, require_mask, max_frame);
    feed_init(&f, mode);
    while (!failed) {
        size_t end = off + (off < len ? feed_chunk(&f, len - off) : 0);

        for (;;) {
            size_t n = ws_frame_feed(&p, in + off, end - off, &ev);

            EXPECT(n <= end - off);
            switch (ev.type) {
            case WS_FRAME_NONE:
                EXPECT_MSG(off + n == end, "NONE before the chunk was used");
                break;
            case WS_FRAME_HEADER:
                test_ws_frame_run_flush(r, &frame_start);
                EXPECT(n > 0);
                EXPECT(p.payload_left == p.payload_len && p.mask_pos == 0);
                sb_printf(&r->log, "hdr(fin=%d op=%u len=%llu mask=%d) ", p.fin, p.opcode,
                          (unsigned long long)p.payload_len, p.masked);
                break;
            case WS_FRAME_PAYLOAD:
                EXPECT(ev.len > 0);
                EXPECT_MSG(ev.data == in + off + n - ev.len, "payload is not the tail");
                memcpy(r->payload + r->payload_len, ev.data, ev.len);
                r->payload_len += ev.len;
                r->payload_events++;
                break;
            case WS_FRAME_END:
                EXPECT(n == 0);
                EXPECT(p.payload_left == 0);
                test_ws_frame_run_flush(r, &frame_start);
                sb_printf(&r->log, "end ");
                break;
            case WS_FRAME_FAIL:
                test_ws_frame_run_flush(r, &frame_start);
                sb_printf(&r->log, "fail(%u %s) ", ev.close_code, ev.reason);
                failed = true;
                break;
            }
            off += n;
            if (ev.type == WS_FRAME_NONE || failed)
                break;
        }
        if (off == len)
            break;
    }
    test_ws_frame_run_flush(r, &frame_start);
    if (failed) { /* later calls repeat the failure and use nothing */
        struct ws_frame_event again;

        EXPECT(ws_frame_feed(&p, in + off, len - off, &again) == 0);
        EXPECT(again.type == WS_FRAME_FAIL && again.close_code == ev.close_code);
        ck_assert_str_eq(again.reason, ev.reason);
        EXPECT(ws_frame_feed(&p, in, len, &again) == 0);
        EXPECT(again.type == WS_FRAME_FAIL);
    }
    if (r->log.len > 0 && r->log.s[r->log.len - 1] == ' ')
        r->log.s[--r->log.len] = '\0';
    free(in);
}

static void test_ws_frame_run_free(struct test_ws_frame_run *r)
{
    free(r->log.s);
    free(r->payload);
}

/* One input and the events it must give. fill: that many pattern bytes follow <hex>,
 * masked with the key in the last 4 bytes of <hex> when fill_masked; then <hex_after>. */
struct frame_case {
    const char *name;
    const char *hex;
    size_t fill;
    bool fill_masked;
    const char *hex_after;
    bool require_mask;
    uint64_t max_frame_bytes;
    const char *want;
};

#define HELLO_MASKED "37 fa 21 3d 7f 9f 4d 51 58" /* RFC 6455 §5.7 key and masked "Hello" */
#define KEY "37 fa 21 3d"

static const struct frame_case frame_cases[] = {
    /* RFC 6455 §5.7 examples; the unmasked ones parsed as a client would */
    {"RFC 5.7 single-frame unmasked text", "81 05 48 65 6c 6c 6f", .require_mask = false,
     .want = "hdr(fin=1 op=1 len=5 mask=0) data(\"Hello\") end"},
    {"RFC 5.7 single-frame masked text", "81 85 " HELLO_MASKED, .require_mask = true,
     .want = "hdr(fin=1 op=1 len=5 mask=1) data(\"Hello\") end"},
    {"RFC 5.7 fragmented unmasked text", "01 03 48 65 6c 80 02 6c 6f",
     .want = "hdr(fin=0 op=1 len=3 mask=0) data(\"Hel\") end "
             "hdr(fin=1 op=0 len=2 mask=0) data(\"lo\") end"},
    {"RFC 5.7 fragmented text, masked", "01 83 " KEY " 7f 9f 4d 80 82 " KEY " 5b 95",
     .require_mask = true,
     .want = "hdr(fin=0 op=1 len=3 mask=1) data(\"Hel\") end "
             "hdr(fin=1 op=0 len=2 mask=1) data(\"lo\") end"},
    {"RFC 5.7 unmasked ping", "89 05 48 65 6c 6c 6f",
     .want = "hdr(fin=1 op=9 len=5 mask=0) data(\"Hello\") end"},
    {"RFC 5.7 ping, masked", "89 85 " HELLO_MASKED, .require_mask = true,
     .want = "hdr(fin=1 op=9 len=5 mask=1) data(\"Hello\") end"},
    {"RFC 5.7 masked pong", "8a 85 " HELLO_MASKED, .require_mask = true,
     .want = "hdr(fin=1 op=10 len=5 mask=1) data(\"Hello\") end"},
    {"RFC 5.7 256 bytes, unmasked", "82 7e 01 00", .fill = 256,
     .want = "hdr(fin=1 op=2 len=256 mask=0) data(#256) end"},
    {"RFC 5.7 64 KiB, unmasked", "82 7f 00 00 00 00 00 01 00 00", .fill = 65536,
     .want = "hdr(fin=1 op=2 len=65536 mask=0) data(#65536) end"},
    {"256 bytes, masked", "82 fe 01 00 " KEY, .fill = 256, .fill_masked = true,
     .require_mask = true, .want = "hdr(fin=1 op=2 len=256 mask=1) data(#256) end"},
    {"64 KiB, masked", "82 ff 00 00 00 00 00 01 00 00 " KEY, .fill = 65536, .fill_masked = true,
     .require_mask = true, .want = "hdr(fin=1 op=2 len=65536 mask=1) data(#65536) end"},
    {"odd length masked, then a ping", "82 fe 01 03 " KEY, .fill = 259, .fill_masked = true,
     .hex_after = "89 85 " HELLO_MASKED, .require_mask = true,
     .want = "hdr(fin=1 op=2 len=259 mask=1) data(#259) end "
             "hdr(fin=1 op=9 len=5 mask=1) data(\"Hello\") end"},
    /* empty frames: a header, then END */
    {"empty unmasked text", "81 00", .want = "hdr(fin=1 op=1 len=0 mask=0) end"},
    {"empty masked text", "81 80 " KEY, .require_mask = true,
     .want = "hdr(fin=1 op=1 len=0 mask=1) end"},
    {"empty close", "88 80 " KEY, .require_mask = true, .want = "hdr(fin=1 op=8 len=0 mask=1) end"},
    {"three empty frames", "01 80 " KEY " 00 80 " KEY " 80 80 " KEY, .require_mask = true,
     .want = "hdr(fin=0 op=1 len=0 mask=1) end hdr(fin=0 op=0 len=0 mask=1) end "
             "hdr(fin=1 op=0 len=0 mask=1) end"},
    /* lengths */
    {"non-minimal 16-bit length accepted", "82 7e 00 05 01 02 03 04 05",
     .want = "hdr(fin=1 op=2 len=5 mask=0) data(\"\\x01\\x02\\x03\\x04\\x05\") end"},
    {"non-minimal 64-bit length accepted", "82 7f 00 00 00 00 00 00 00 03 61 62 63",
     .want = "hdr(fin=1 op=2 len=3 mask=0) data(\"abc\") end"},
    {"ping of 125 bytes", "89 7d", .fill = 125,
     .want = "hdr(fin=1 op=9 len=125 mask=0) data(#125) end"},
    {"ping of 125 bytes in a 16-bit length", "89 7e 00 7d", .fill = 125,
     .want = "hdr(fin=1 op=9 len=125 mask=0) data(#125) end"},
    {"largest length, top bit clear", "82 7f 7f ff ff ff ff ff ff ff",
     .want = "hdr(fin=1 op=2 len=9223372036854775807 mask=0)"},
    {"header cut short", "81 85 37 fa", .require_mask = true, .want = ""},
    {"payload cut short", "81 85 " KEY " 7f 9f", .require_mask = true,
     .want = "hdr(fin=1 op=1 len=5 mask=1) data(\"He\")"},
    {"require_mask off accepts masked frames", "81 85 " HELLO_MASKED,
     .want = "hdr(fin=1 op=1 len=5 mask=1) data(\"Hello\") end"},
    {"continuation alone is fine at frame level", "80 85 " HELLO_MASKED, .require_mask = true,
     .want = "hdr(fin=1 op=0 len=5 mask=1) data(\"Hello\") end"},
    {"data frame at max_frame_bytes", "81 85 " HELLO_MASKED, .require_mask = true,
     .max_frame_bytes = 5, .want = "hdr(fin=1 op=1 len=5 mask=1) data(\"Hello\") end"},
    {"control frame not bound by max_frame_bytes", "89 85 " HELLO_MASKED, .require_mask = true,
     .max_frame_bytes = 4, .want = "hdr(fin=1 op=9 len=5 mask=1) data(\"Hello\") end"},

    /* violations: one row each */
    {"RSV1 set", "c1 85 " HELLO_MASKED, .require_mask = true,
     .want = "fail(1002 reserved bits set)"},
    {"RSV2 set", "a1 85 " HELLO_MASKED, .require_mask = true,
     .want = "fail(1002 reserved bits set)"},
    {"RSV3 set", "91 85 " HELLO_MASKED, .require_mask = true,
     .want = "fail(1002 reserved bits set)"},
    {"RSV on a ping", "c9 80 " KEY, .require_mask = true, .want = "fail(1002 reserved bits set)"},
    {"RSV and reserved opcode: first check wins", "f3 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved bits set)"},
    {"reserved opcode 0x3", "83 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0x3)"},
    {"reserved opcode 0x4", "84 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0x4)"},
    {"reserved opcode 0x5", "85 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0x5)"},
    {"reserved opcode 0x6", "86 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0x6)"},
    {"reserved opcode 0x7", "87 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0x7)"},
    {"reserved opcode 0xB", "8b 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0xB)"},
    {"reserved opcode 0xC", "8c 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0xC)"},
    {"reserved opcode 0xD", "8d 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0xD)"},
    {"reserved opcode 0xE", "8e 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0xE)"},
    {"reserved opcode 0xF", "8f 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0xF)"},
    {"reserved opcode without FIN", "03 80 " KEY, .require_mask = true,
     .want = "fail(1002 reserved opcode 0x3)"},
    {"fragmented ping", "09 80 " KEY, .require_mask = true,
     .want = "fail(1002 fragmented control frame)"},
    {"fragmented pong", "0a 80 " KEY, .require_mask = true,
     .want = "fail(1002 fragmented control frame)"},
    {"fragmented close", "08 80 " KEY, .require_mask = true,
     .want = "fail(1002 fragmented control frame)"},
    {"ping of 126 bytes", "89 fe 00 7e " KEY, .fill = 126, .require_mask = true,
     .want = "fail(1002 control frame over 125 bytes)"},
    {"close of 126 bytes", "88 fe 00 7e " KEY, .fill = 126, .require_mask = true,
     .want = "fail(1002 control frame over 125 bytes)"},
    {"pong with a 64-bit length of 200", "8a ff 00 00 00 00 00 00 00 c8 " KEY, .require_mask = true,
     .want = "fail(1002 control frame over 125 bytes)"},
    {"unmasked text from a client", "81 05 48 65 6c 6c 6f", .require_mask = true,
     .want = "fail(1002 unmasked client frame)"},
    {"unmasked empty close from a client", "88 00", .require_mask = true,
     .want = "fail(1002 unmasked client frame)"},
    {"64-bit length with the top bit set", "82 ff 80 00 00 00 00 00 00 00 " KEY,
     .require_mask = true, .want = "fail(1002 64-bit length with the top bit set)"},
    {"64-bit length all ones", "82 7f ff ff ff ff ff ff ff ff",
     .want = "fail(1002 64-bit length with the top bit set)"},
    {"data frame over max_frame_bytes", "81 85 " HELLO_MASKED, .require_mask = true,
     .max_frame_bytes = 4, .want = "fail(1009 frame too big)"},
    {"64 KiB frame over a 65535 limit", "82 ff 00 00 00 00 00 01 00 00 " KEY, .fill = 65536,
     .fill_masked = true, .require_mask = true, .max_frame_bytes = 65535,
     .want = "fail(1009 frame too big)"},
    {"continuation over max_frame_bytes", "00 83 " KEY " 7f 9f 4d", .require_mask = true,
     .max_frame_bytes = 2, .want = "fail(1009 frame too big)"},
    {"nothing after a violation is reported", "83 80 " KEY " 81 85 " HELLO_MASKED,
     .require_mask = true, .want = "fail(1002 reserved opcode 0x3)"},
    {"frames before a violation are",
     "81 85 " HELLO_MASKED " c1 85 " HELLO_MASKED " 81 85 " HELLO_MASKED, .require_mask = true,
     .want = "hdr(fin=1 op=1 len=5 mask=1) data(\"Hello\") end fail(1002 reserved bits set)"},
    {"violation in the second frame of a message", "01 83 " KEY " 7f 9f 4d 80 02 6c 6f",
     .require_mask = true,
     .want = "hdr(fin=0 op=1 len=3 mask=1) data(\"Hel\") end fail(1002 unmasked client frame)"},
};

/* Builds the input of <c>; returns it (malloc'd) and its length in <len>. */
static uint8_t *test_ws_frame_case_input(const struct frame_case *c, size_t *len)
{
    size_t hex_len = strlen(c->hex) + (c->hex_after ? strlen(c->hex_after) : 0);
    uint8_t *in = malloc(hex_len / 2 + c->fill + 1);
    size_t n;

    ck_assert_ptr_nonnull(in);
    n = hex_decode(c->hex, in);
    for (size_t i = 0; i < c->fill; i++)
        in[n + i] = (uint8_t)(test_ws_frame_pattern(i) ^ (c->fill_masked ? in[n - 4 + i % 4] : 0));
    n += c->fill;
    n += hex_decode(c->hex_after, in + n);
    *len = n;
    return in;
}

START_TEST(test_ws_frame_table)
{
    const struct frame_case *c = &frame_cases[_i];
    struct test_ws_frame_run whole;
    size_t len;
    uint8_t *in = test_ws_frame_case_input(c, &len);

    test_ws_frame_run(in, len, c->require_mask, c->max_frame_bytes, 0, &whole);
    ck_assert_msg(strcmp(whole.log.s, c->want) == 0, "%s (whole):\n got  %s\n want %s", c->name,
                  whole.log.s, c->want);
    if (c->fill > 0 && strstr(c->want, "fail") == NULL) {
        ck_assert_uint_ge(whole.payload_len, c->fill);
        for (size_t i = 0; i < c->fill; i++)
            EXPECT_MSG(whole.payload[i] == test_ws_frame_pattern(i), "%s: payload byte %zu",
                       c->name, i);
    }
    for (int mode = 1; mode < FEED_MODES; mode++) {
        struct test_ws_frame_run r;

        test_ws_frame_run(in, len, c->require_mask, c->max_frame_bytes, mode, &r);
        ck_assert_msg(strcmp(r.log.s, c->want) == 0, "%s (mode %d):\n got  %s\n want %s", c->name,
                      mode, r.log.s, c->want);
        ck_assert_uint_eq(r.payload_len, whole.payload_len);
        ck_assert_msg(memcmp(r.payload, whole.payload, r.payload_len) == 0, "%s: payload", c->name);
        test_ws_frame_run_free(&r);
    }
    test_ws_frame_run_free(&whole);
    free(in);
}
END_TEST

/* The exact calls for one masked frame fed whole: one event per call, with the used
 * counts the header promises, and nothing more once it is all used. */
START_TEST(test_ws_frame_one_event_per_call)
{
    uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_frame_parser p;
    struct ws_frame_event ev;

    ws_frame_parser_init(&p, true, 0);
    ck_assert_uint_eq(ws_frame_feed(&p, NULL, 0, &ev), 0);
    ck_assert(ev.type == WS_FRAME_NONE);
    ck_assert_uint_eq(ws_frame_feed(&p, in, sizeof(in), &ev), 6);
    ck_assert(ev.type == WS_FRAME_HEADER);
    ck_assert(p.fin && p.opcode == WS_OP_TEXT && p.masked && p.payload_len == 5);
    ck_assert_uint_eq(ws_frame_feed(&p, in + 6, 5, &ev), 5);
    ck_assert(ev.type == WS_FRAME_PAYLOAD && ev.data == in + 6 && ev.len == 5);
    ck_assert_mem_eq(in + 6, "Hello", 5); /* unmasked in place */
    ck_assert_uint_eq(ws_frame_feed(&p, in + 11, 0, &ev), 0);
    ck_assert(ev.type == WS_FRAME_END);
    ck_assert_uint_eq(ws_frame_feed(&p, in + 11, 0, &ev), 0);
    ck_assert(ev.type == WS_FRAME_NONE);
}
END_TEST

/* Reference unmask: the definition in RFC 6455 §5.3, one byte at a time. */
static uint8_t test_ws_frame_unmask_ref(uint8_t *buf, size_t len, const uint8_t mask[4],
                                        uint8_t pos)
{
    for (size_t i = 0; i < len; i++)
        buf[i] ^= mask[(pos + i) % 4];
    return (uint8_t)((pos + len) % 4);
}

/* ws_frame_unmask against the byte loop: every key offset, lengths 0..300 and some
 * larger ones, buffers starting at several misaligned addresses; bytes around the
 * range must stay untouched. */
START_TEST(test_ws_frame_unmask_differential)
{
    static const size_t big[] = {511, 512, 513, 1000, 4095, 4096, 4097, 65536 + 5};
    static const size_t starts[] = {0, 1, 2, 3, 5, 7, 8};
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    enum { GUARD = 16, MAXLEN = 65536 + 5 };
    uint8_t *a = malloc(MAXLEN + 2 * GUARD);
    uint8_t *b = malloc(MAXLEN + 2 * GUARD);
    uint32_t seed = 12345;

    EXPECT(a != NULL);
    EXPECT(b != NULL);
    for (size_t li = 0; li < 301 + ARRAY_LEN(big); li++) {
        size_t len = li < 301 ? li : big[li - 301];

        for (size_t si = 0; si < ARRAY_LEN(starts); si++) {
            for (uint8_t pos = 0; pos < 4; pos++) {
                uint8_t *pa = a + starts[si];
                uint8_t *pb = b + starts[si];

                for (size_t i = 0; i < len + 2 * GUARD; i++) {
                    seed = seed * 1103515245u + 12345u;
                    a[i] = b[i] = (uint8_t)(seed >> 16);
                }
                EXPECT(ws_frame_unmask(pa, len, mask, pos) ==
                       test_ws_frame_unmask_ref(pb, len, mask, pos));
                EXPECT_MSG(memcmp(a, b, len + 2 * GUARD) == 0, "len %zu start %zu pos %u differs",
                           len, starts[si], pos);
            }
        }
    }
    free(a);
    free(b);
}
END_TEST

/* Unmasking in pieces continues where the last piece stopped. */
START_TEST(test_ws_frame_unmask_pieces)
{
    static const uint8_t mask[4] = {1, 2, 4, 8};
    uint8_t a[100];
    uint8_t b[100];
    uint8_t pos = 0;

    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)i;
    for (size_t off = 0, step = 1; off < sizeof(a); off += step, step = step % 13 + 1) {
        size_t n = off + step <= sizeof(a) ? step : sizeof(a) - off;

        pos = ws_frame_unmask(a + off, n, mask, pos);
    }
    test_ws_frame_unmask_ref(b, sizeof(b), mask, 0);
    ck_assert_mem_eq(a, b, sizeof(a));
}
END_TEST

struct header_case {
    const char *name;
    bool fin;
    enum ws_opcode opcode;
    uint64_t len;
    bool masked;
    const char *want;
};

static const struct header_case header_cases[] = {
    {"length 0", true, WS_OP_BINARY, 0, false, "82 00"},
    {"length 125", true, WS_OP_BINARY, 125, false, "82 7d"},
    {"length 126", true, WS_OP_BINARY, 126, false, "82 7e 00 7e"},
    {"length 65535", true, WS_OP_BINARY, 65535, false, "82 7e ff ff"},
    {"length 65536", true, WS_OP_BINARY, 65536, false, "82 7f 00 00 00 00 00 01 00 00"},
    {"length 2^32", true, WS_OP_BINARY, UINT64_C(1) << 32, false, "82 7f 00 00 00 01 00 00 00 00"},
    {"length 2^63-1", true, WS_OP_BINARY, INT64_MAX, false, "82 7f 7f ff ff ff ff ff ff ff"},
    {"masked, length 0", true, WS_OP_TEXT, 0, true, "81 80 37 fa 21 3d"},
    {"masked, length 5", true, WS_OP_TEXT, 5, true, "81 85 37 fa 21 3d"},
    {"masked, length 126", true, WS_OP_TEXT, 126, true, "81 fe 00 7e 37 fa 21 3d"},
    {"masked, length 65536", true, WS_OP_BINARY, 65536, true,
     "82 ff 00 00 00 00 00 01 00 00 37 fa 21 3d"},
    {"first fragment", false, WS_OP_TEXT, 3, false, "01 03"},
    {"continuation", false, WS_OP_CONT, 3, false, "00 03"},
    {"ping", true, WS_OP_PING, 5, false, "89 05"},
    {"pong", true, WS_OP_PONG, 0, false, "8a 00"},
};

START_TEST(test_ws_frame_write_header)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    const struct header_case *c = &header_cases[_i];
    uint8_t want[WS_FRAME_HEADER_MAX];
    uint8_t out[WS_FRAME_HEADER_MAX + 1];
    size_t want_len = hex_decode(c->want, want);
    size_t n;
    struct ws_frame_parser p;
    struct ws_frame_event ev;

    memset(out, 0xEE, sizeof(out));
    n = ws_frame_write_header(out, c->fin, c->opcode, c->len, c->masked ? key : NULL);
    ck_assert_msg(n == want_len, "%s: %zu bytes, want %zu", c->name, n, want_len);
    ck_assert_msg(memcmp(out, want, n) == 0, "%s: bytes differ", c->name);
    ck_assert_uint_eq(out[n], 0xEE);
    /* and the parser reads back what was written */
    ws_frame_parser_init(&p, false, 0);
    ck_assert_uint_eq(ws_frame_feed(&p, out, n, &ev), n);
    ck_assert(ev.type == WS_FRAME_HEADER);
    ck_assert(p.fin == c->fin && p.opcode == c->opcode && p.payload_len == c->len);
    ck_assert(p.masked == c->masked);
    if (c->masked)
        ck_assert_mem_eq(p.mask, key, 4);
}
END_TEST

struct close_case {
    const char *name;
    uint16_t code;
    const char *prefix; /* reason: prefix then <repeat> copies of <unit>; NULL: no reason */
    const char *unit;
    int repeat;
    size_t want_reason_len;
};

static const struct close_case close_cases[] = {
    {"code 0: empty payload", 0, "bye", "", 0, 0},
    {"code 0 with a long reason: still empty", 0, "", "a", 200, 0},
    {"NULL reason", 1000, NULL, NULL, 0, 0},
    {"empty reason", 1001, "", "", 0, 0},
    {"short reason", 1002, "reserved opcode 0x3", "", 0, 19},
    {"123 ASCII bytes fit", 1000, "", "a", 123, 123},
    {"124 ASCII bytes: cut to 123", 1000, "", "a", 124, 123},
    {"300 ASCII bytes: cut to 123", 1000, "", "a", 300, 123},
    {"2-byte chars, 122 bytes fit", 1000, "", "\xc3\xa9", 61, 122},
    {"2-byte chars, 124 bytes: cut to 122", 1000, "", "\xc3\xa9", 62, 122},
    {"'a' + 2-byte chars, 123 bytes fit", 1000, "a", "\xc3\xa9", 61, 123},
    {"3-byte chars, 123 bytes fit", 1000, "", "\xe2\x82\xac", 41, 123},
    {"3-byte chars, 126 bytes: cut to 123", 1000, "", "\xe2\x82\xac", 42, 123},
    {"'a' + 3-byte chars: cut to 121", 1000, "a", "\xe2\x82\xac", 41, 121},
    {"'ab' + 3-byte chars: cut to 122", 1000, "ab", "\xe2\x82\xac", 41, 122},
    {"4-byte chars, 124 bytes: cut to 120", 1000, "", "\xf0\x9f\x98\x80", 31, 120},
    {"'abc' + 4-byte chars, 123 bytes fit", 1000, "abc", "\xf0\x9f\x98\x80", 30, 123},
    {"'a' + 4-byte chars: cut to 121", 1000, "a", "\xf0\x9f\x98\x80", 31, 121},
    {"'ab' + 4-byte chars: cut to 122", 1000, "ab", "\xf0\x9f\x98\x80", 31, 122},
    {"high code 4999", 4999, "x", "", 0, 1},
};

START_TEST(test_ws_frame_write_close)
{
    const struct close_case *c = &close_cases[_i];
    char reason[1024] = "";
    uint8_t out[2 + WS_CONTROL_MAX + 1];
    size_t n;
    size_t payload = c->code == 0 ? 0 : 2 + c->want_reason_len;
    struct ws_frame_parser p;
    struct ws_frame_event ev;

    if (c->prefix != NULL) {
        strcpy(reason, c->prefix);
        for (int i = 0; i < c->repeat; i++)
            strcat(reason, c->unit);
    }
    memset(out, 0xEE, sizeof(out));
    n = ws_frame_write_close(out, c->code, c->prefix != NULL ? reason : NULL);
    ck_assert_msg(n == 2 + payload, "%s: frame of %zu bytes, want %zu", c->name, n, 2 + payload);
    ck_assert_uint_eq(out[0], 0x88);
    ck_assert_uint_eq(out[1], payload);
    ck_assert_uint_le(n, 2 + WS_CONTROL_MAX);
    if (n < sizeof(out))
        ck_assert_uint_eq(out[n], 0xEE);
    if (c->code != 0) {
        ck_assert_uint_eq(out[2] << 8 | out[3], c->code);
        ck_assert_mem_eq(out + 4, reason, c->want_reason_len);
        ck_assert_msg(utf8_is_valid(out + 4, c->want_reason_len), "%s: cut inside a sequence",
                      c->name);
    }
    /* a frame the parser takes whole */
    ws_frame_parser_init(&p, false, 0);
    ck_assert_uint_eq(ws_frame_feed(&p, out, n, &ev), 2);
    ck_assert(ev.type == WS_FRAME_HEADER && p.opcode == WS_OP_CLOSE && p.payload_len == payload);
}
END_TEST

struct code_case {
    uint16_t code;
    bool valid;
};

static const struct code_case code_cases[] = {
    {0, false},    {1, false},    {999, false},  {1000, true},  {1001, true},  {1002, true},
    {1003, true},  {1004, false}, {1005, false}, {1006, false}, {1007, true},  {1008, true},
    {1009, true},  {1010, true},  {1011, true},  {1012, true},  {1013, true},  {1014, true},
    {1015, false}, {1016, false}, {1100, false}, {2000, false}, {2999, false}, {3000, true},
    {3999, true},  {4000, true},  {4999, true},  {5000, false}, {9999, false}, {65535, false},
};

START_TEST(test_ws_frame_close_code_is_valid)
{
    const struct code_case *c = &code_cases[_i];

    ck_assert_msg(ws_close_code_is_valid(c->code) == c->valid, "code %u: want %s", c->code,
                  c->valid ? "valid" : "invalid");
}
END_TEST

static Suite *test_ws_frame_suite(void)
{
    Suite *s = suite_create("ws_frame");
    TCase *parse = tcase_create("parse");
    TCase *unmask = tcase_create("unmask");
    TCase *write = tcase_create("write");

    tcase_set_timeout(parse, 120); /* 64 KiB fed a byte at a time, under sanitizers */
    tcase_add_loop_test(parse, test_ws_frame_table, 0, ARRAY_LEN(frame_cases));
    tcase_add_test(parse, test_ws_frame_one_event_per_call);
    suite_add_tcase(s, parse);
    tcase_set_timeout(unmask, 120);
    tcase_add_test(unmask, test_ws_frame_unmask_differential);
    tcase_add_test(unmask, test_ws_frame_unmask_pieces);
    suite_add_tcase(s, unmask);
    tcase_add_loop_test(write, test_ws_frame_write_header, 0, ARRAY_LEN(header_cases));
    tcase_add_loop_test(write, test_ws_frame_write_close, 0, ARRAY_LEN(close_cases));
    tcase_add_loop_test(write, test_ws_frame_close_code_is_valid, 0, ARRAY_LEN(code_cases));
    suite_add_tcase(s, write);
    return s;
}

CHECK_MAIN(test_ws_frame_suite)
