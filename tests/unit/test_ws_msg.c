/*
 * test_ws_msg.c - unit tests for ws_msg.c: RFC 6455 §5.7 examples (masked, as a client
 * sends them), fragments with control frames between them, close payloads, UTF-8 of
 * text failing fast, limits, one row per violation; every input fed in every FEED_MODES
 * chunking with the same events expected; and random conversations read back whole.
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
#include "ws_msg.h"


/* Byte i of generated payloads: ASCII, so it also fits text messages and close reasons. */
static uint8_t test_ws_msg_pattern(size_t i)
{
    return (uint8_t)('a' + i % 26);
}

/* One frame of a test input, as a client would send it. */
struct tframe {
    uint8_t b0;       /* FIN, RSV bits and opcode, as sent */
    const char *data; /* payload start (C string unless len is set) */
    size_t len;       /* bytes of data; 0: strlen(data) */
    size_t fill;      /* then this many pattern bytes */
    bool unmasked;    /* sent without a mask: a violation from a client */
    const char *raw;  /* instead of all the above: these hex bytes, as they are */
};

static bool test_ws_msg_tframe_present(const struct tframe *t)
{
    return t->b0 != 0 || t->data != NULL || t->fill != 0 || t->raw != NULL;
}

/* Appends the encoding of <t> to <out> (RFC 6455 §5.2, written here independently of
 * ws_frame_write_header) with a key that varies with <index>; appends its payload to
 * <data> (when not NULL) if it is a data frame. Returns the bytes written to <out>. */
static size_t test_ws_msg_tframe_encode(const struct tframe *t, int index, uint8_t *out,
                                        uint8_t *data, size_t *data_len)
{
    const uint8_t key[4] = {(uint8_t)(0x37 + index), 0xfa, (uint8_t)(0x21 ^ index), 0x3d};
    size_t plen;
    size_t dlen;
    size_t n = 0;
    uint8_t *payload;

    if (t->raw != NULL)
        return hex_decode(t->raw, out);
    dlen = t->data == NULL ? 0 : t->len != 0 ? t->len : strlen(t->data);
    plen = dlen + t->fill;
    out[n++] = t->b0;
    if (plen < 126) {
        out[n++] = (uint8_t)plen;
    } else if (plen < 65536) {
        out[n++] = 126;
        out[n++] = (uint8_t)(plen >> 8);
        out[n++] = (uint8_t)plen;
    } else {
        out[n++] = 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)plen >> (8 * i));
    }
    if (!t->unmasked) {
        out[1] |= 0x80;
        memcpy(out + n, key, 4);
        n += 4;
    }
    payload = out + n;
    if (dlen > 0)
        memcpy(payload, t->data, dlen);
    for (size_t i = 0; i < t->fill; i++)
        payload[dlen + i] = test_ws_msg_pattern(i);
    if (data != NULL && (t->b0 & 0x0F) < 0x8) {
        memcpy(data + *data_len, payload, plen);
        *data_len += plen;
    }
    if (!t->unmasked)
        for (size_t i = 0; i < plen; i++)
            payload[i] ^= key[i % 4];
    return n + plen;
}

/* One raw event, for tests that count them. */
struct raw_ev {
    enum ws_msg_event_type type;
    uint8_t opcode;
    bool first;
    bool fin;
    size_t len;
};

/* What one run of ws_msg over an input gave. */
struct test_ws_msg_run {
    struct sbuf log; /* events, consecutive DATA of one message merged */
    uint8_t *data;   /* every DATA byte, in order */
    size_t data_len;
    struct raw_ev *evs; /* every event but NONE */
    size_t n_evs;
    size_t partial; /* data bytes of the message open when FAIL came */
    struct sbuf frames; /* "OPCODE FIN LEN" of the parser's frame at each frame_first event */
    size_t n_frames;    /* frame_first events */
};

/* Adds the DATA record merged so far (bytes from <rec_start>) to the log. */
static void test_ws_msg_run_flush(struct test_ws_msg_run *r, size_t *rec_start, uint8_t op,
                                  bool first, bool fin)
{
    sb_printf(&r->log, "data(%s%s%s ", op == WS_OP_TEXT ? "text" : "binary", first ? " first" : "",
              fin ? " fin" : "");
    sb_bytes(&r->log, r->data + *rec_start, r->data_len - *rec_start);
    sb_printf(&r->log, ") ");
}

/* Feeds <input> to a new ws_msg under <limits> in the chunks of FEED_MODES entry <mode>
 * and records the events in <r>, checking what every call must satisfy: DATA bytes are
 * the tail of the used span, first/fin bracket each message, control payloads live in
 * the parser, NONE only when the chunk is used, nothing after CLOSE or FAIL. With
 * <fail_fast>, DATA of the message open at a FAIL is left out of the log (how much of it
 * came before depends on the chunking) and its length kept in r->partial. */
static void test_ws_msg_run(const uint8_t *input, size_t len, const struct ws_msg_limits *limits,
                            int mode, bool fail_fast, struct test_ws_msg_run *r)
{
    uint8_t *in = malloc(len + 1); /* a private copy: payload is unmasked in place */
    struct ws_msg m;
    struct ws_msg_event ev;
    struct feed f;
    size_t off = 0;
    size_t rec_start = 0;  /* start in r->data of the DATA record being merged */
    bool rec_open = false; /* a DATA record is being merged */
    bool rec_first = false;
    bool msg_open = false;
    uint8_t msg_op = 0;
    size_t msg_bytes = 0;
    bool done = false;

    EXPECT(in != NULL);
    memcpy(in, input, len);
    memset(r, 0, sizeof(*r));
    r->data = malloc(len + 1);
    r->evs = malloc((len + 2) * sizeof(*r->evs)); /* at most one event per byte, plus 1 */
    EXPECT(r->data != NULL && r->evs != NULL);
    sb_printf(&r->log, "%s", "");
    sb_printf(&r->frames, "%s", "");
    ws_msg_init(&m, limits);
    feed_init(&f, mode);
    while (!done) {
        size_t end = off + (off < len ? feed_chunk(&f, len - off) : 0);

        for (;;) {
            size_t n = ws_msg_feed(&m, in + off, end - off, &ev);

            EXPECT(n <= end - off);
            EXPECT_MSG(!ev.frame_first || (ev.type != WS_MSG_NONE && ev.type != WS_MSG_FAIL),
                       "frame_first on NONE or FAIL");
            if (ev.frame_first) {
                sb_printf(&r->frames, "%x%s%llu ", m.frame.opcode, m.frame.fin ? "f" : "-",
                          (unsigned long long)m.frame.payload_len);
                r->n_frames++;
            }
            if (ev.type != WS_MSG_NONE) {
                EXPECT(r->n_evs < len + 2);
                r->evs[r->n_evs++] = (struct raw_ev){ev.type, ev.opcode, ev.first, ev.fin, ev.len};
            }
            if (ev.type != WS_MSG_DATA && ev.type != WS_MSG_NONE && rec_open) {
                if (ev.type == WS_MSG_FAIL && fail_fast) {
                    r->data_len = rec_start; /* unreported, as far as the log knows */
                } else {
                    test_ws_msg_run_flush(r, &rec_start, msg_op, rec_first, false);
                }
                rec_open = false;
            }
            switch (ev.type) {
            case WS_MSG_NONE:
                EXPECT_MSG(off + n == end, "NONE before the chunk was used");
                EXPECT(!ws_msg_is_done(&m));
                break;
            case WS_MSG_DATA:
                EXPECT_MSG(ev.data == in + off + n - ev.len, "DATA is not the tail");
                EXPECT(ev.opcode == WS_OP_TEXT || ev.opcode == WS_OP_BINARY);
                if (ev.first) {
                    EXPECT_MSG(!msg_open, "first inside an open message");
                    msg_open = true;
                    msg_op = ev.opcode;
                    msg_bytes = 0;
                } else {
                    EXPECT_MSG(msg_open, "DATA without first");
                    EXPECT(ev.opcode == msg_op);
                }
                if (!rec_open) {
                    rec_open = true;
                    rec_first = ev.first;
                    rec_start = r->data_len;
                }
                memcpy(r->data + r->data_len, ev.data, ev.len);
                r->data_len += ev.len;
                msg_bytes += ev.len;
                if (ev.fin) {
                    msg_open = false;
                    test_ws_msg_run_flush(r, &rec_start, msg_op, rec_first, true);
                    rec_open = false;
                }
                break;
            case WS_MSG_PING:
            case WS_MSG_PONG:
            case WS_MSG_CLOSE:
                EXPECT_MSG(ev.data >= m.ctrl && ev.data + ev.len <= m.ctrl + WS_CONTROL_MAX,
                           "control payload not in the parser");
                if (ev.type == WS_MSG_CLOSE) {
                    sb_printf(&r->log, "close(%u ", ev.close_code);
                    done = true;
                } else {
                    sb_printf(&r->log, "%s(", ev.type == WS_MSG_PING ? "ping" : "pong");
                }
                sb_bytes(&r->log, ev.data, ev.len);
                sb_printf(&r->log, ") ");
                break;
            case WS_MSG_FAIL:
                EXPECT(ev.reason != NULL);
                sb_printf(&r->log, "fail(%u %s) ", ev.close_code, ev.reason);
                r->partial = msg_open ? msg_bytes : 0;
                done = true;
                break;
            }
            EXPECT(ws_msg_is_done(&m) == done);
            off += n;
            if (ev.type == WS_MSG_NONE || done)
                break;
        }
        if (off == len)
            break;
    }
    if (rec_open)
        test_ws_msg_run_flush(r, &rec_start, msg_op, rec_first, false);
    if (done) { /* nothing after CLOSE or FAIL, whatever is fed */
        EXPECT(ws_msg_feed(&m, in + off, len - off, &ev) == 0);
        EXPECT(ev.type == WS_MSG_NONE);
        EXPECT(ws_msg_feed(&m, in, len, &ev) == 0);
        EXPECT(ev.type == WS_MSG_NONE);
        EXPECT(ws_msg_feed(&m, NULL, 0, &ev) == 0);
        EXPECT(ev.type == WS_MSG_NONE && ws_msg_is_done(&m));
    }
    if (r->log.len > 0 && r->log.s[r->log.len - 1] == ' ')
        r->log.s[--r->log.len] = '\0';
    free(in);
}

static void test_ws_msg_run_free(struct test_ws_msg_run *r)
{
    free(r->log.s);
    free(r->frames.s);
    free(r->data);
    free(r->evs);
}

/* One input and the events it must give. fail_fast: a text message fails on its UTF-8
 * and bad_at is the number of its bytes before the offending one (or all but the last
 * byte when it ends inside a sequence): no more of it may be reported, and fed a byte
 * at a time exactly that much is. */
struct msg_case {
    const char *name;
    struct tframe f[6];
    struct ws_msg_limits limits;
    const char *want;
    bool fail_fast;
    size_t bad_at;
};

#define CLOSE_1000 "\x03\xe8"
/* frames of a row: opcode byte with a C-string payload, with an explicit length, or with
 * <n> pattern bytes */
/* kept on one line each: clang-format would spread them over four */
/* clang-format off */
#define F(b0_, s_) {.b0 = (b0_), .data = (s_)}
#define FN(b0_, s_, n_) {.b0 = (b0_), .data = (s_), .len = (n_)}
#define FILL(b0_, n_) {.b0 = (b0_), .fill = (n_)}
/* clang-format on */

static const struct msg_case msg_cases[] = {
    /* RFC 6455 §5.7 examples, masked as a client sends them */
    {"RFC 5.7 single-frame masked text",
     {F(0x81, "Hello")},
     .want = "data(text first fin \"Hello\")"},
    {"RFC 5.7 fragmented text, masked",
     {F(0x01, "Hel"), F(0x80, "lo")},
     .want = "data(text first fin \"Hello\")"},
    {"RFC 5.7 ping, masked", {F(0x89, "Hello")}, .want = "ping(\"Hello\")"},
    {"RFC 5.7 masked pong", {F(0x8a, "Hello")}, .want = "pong(\"Hello\")"},
    {"RFC 5.7 256 bytes binary, masked", {FILL(0x82, 256)}, .want = "data(binary first fin #256)"},
    {"RFC 5.7 64 KiB binary, masked", {FILL(0x82, 65536)}, .want = "data(binary first fin #65536)"},
    /* fragments and control frames between them (RFC 6455 §5.4) */
    {"ping between fragments",
     {F(0x01, "Hel"), F(0x89, "Hello"), F(0x80, "lo")},
     .want = "data(text first \"Hel\") ping(\"Hello\") data(text fin \"lo\")"},
    {"pong and ping between fragments",
     {F(0x02, "ab"), F(0x8a, ""), F(0x00, "cd"), F(0x89, "x"), F(0x80, "ef")},
     .want = "data(binary first \"ab\") pong(\"\") data(binary \"cd\") ping(\"x\") "
             "data(binary fin \"ef\")"},
    {"close between fragments ends it all",
     {F(0x01, "Hel"), F(0x88, CLOSE_1000), F(0x80, "lo")},
     .want = "data(text first \"Hel\") close(1000 \"\")"},
    {"many fragments",
     {F(0x01, "a"), F(0x00, "b"), F(0x00, "c"), F(0x00, "d"), F(0x80, "e")},
     .want = "data(text first fin \"abcde\")"},
    {"two messages",
     {F(0x81, "Hi"), F(0x82, "\x01\x02")},
     .want = "data(text first fin \"Hi\") data(binary first fin \"\\x01\\x02\")"},
    {"empty ping", {F(0x89, "")}, .want = "ping(\"\")"},
    {"control frames back to back",
     {F(0x89, "ab"), F(0x8a, "cd"), F(0x89, "")},
     .want = "ping(\"ab\") pong(\"cd\") ping(\"\")"},
    {"ping of 125 bytes", {FILL(0x89, 125)}, .want = "ping(#125)"},
    {"empty text frame", {F(0x81, "")}, .want = "data(text first fin \"\")"},
    {"empty binary frame", {F(0x82, "")}, .want = "data(binary first fin \"\")"},
    {"empty fragments",
     {F(0x01, ""), F(0x00, ""), F(0x80, "")},
     .want = "data(text first fin \"\")"},
    {"empty last fragment", {F(0x01, "Hel"), F(0x80, "")}, .want = "data(text first fin \"Hel\")"},
    {"UTF-8 split across fragments",
     {F(0x01, "\xce\xba\xe1"), F(0x00, "\xbd\xb9\xcf"), F(0x80, "\x83\xce\xbc\xce\xb5")},
     .want = "data(text first fin "
             "\"\\xce\\xba\\xe1\\xbd\\xb9\\xcf\\x83\\xce\\xbc\\xce\\xb5\")"},
    {"UTF-8 split around a ping",
     {F(0x01, "\xe2\x82"), F(0x89, ""), F(0x80, "\xac")},
     .want = "data(text first \"\\xe2\\x82\") ping(\"\") data(text fin \"\\xac\")"},
    {"binary need not be UTF-8",
     {F(0x82, "\xff\xfe\xc0")},
     .want = "data(binary first fin \"\\xff\\xfe\\xc0\")"},
    {"long text",
     {FILL(0x01, 70000), F(0x80, "\xf4\x8f\xbf\xbf")},
     .want = "data(text first fin #70004)"},
    /* close payloads (RFC 6455 §5.5.1, §7.4) */
    {"close without payload", {F(0x88, "")}, .want = "close(1005 \"\")"},
    {"close 1000", {F(0x88, CLOSE_1000)}, .want = "close(1000 \"\")"},
    {"close 1000 with reason", {F(0x88, CLOSE_1000 "bye")}, .want = "close(1000 \"bye\")"},
    {"close 1001", {F(0x88, "\x03\xe9")}, .want = "close(1001 \"\")"},
    {"close 1003", {F(0x88, "\x03\xeb")}, .want = "close(1003 \"\")"},
    {"close 1007", {F(0x88, "\x03\xef")}, .want = "close(1007 \"\")"},
    {"close 1014", {F(0x88, "\x03\xf6")}, .want = "close(1014 \"\")"},
    {"close 3000", {F(0x88, "\x0b\xb8")}, .want = "close(3000 \"\")"},
    {"close 4999", {F(0x88, "\x13\x87")}, .want = "close(4999 \"\")"},
    {"close with a UTF-8 reason",
     {F(0x88, CLOSE_1000 "\xce\xba\xe1\xbd\xb9")},
     .want = "close(1000 \"\\xce\\xba\\xe1\\xbd\\xb9\")"},
    {"close with a 123-byte reason",
     {{.b0 = 0x88, .data = CLOSE_1000, .fill = 123}},
     .want = "close(1000 #123)"},
    {"nothing after close",
     {F(0x88, CLOSE_1000), F(0x81, "Hello"), F(0x80, "x")},
     .want = "close(1000 \"\")"},
    /* limits that hold */
    {"message at max_message_bytes",
     {F(0x01, "Hel"), F(0x80, "lo")},
     {0, 5},
     .want = "data(text first fin \"Hello\")"},
    {"control frames outside the message budget",
     {F(0x01, "Hel"), F(0x89, "ping"), F(0x80, "lo")},
     {0, 5},
     .want = "data(text first \"Hel\") ping(\"ping\") data(text fin \"lo\")"},
    {"each message has its own budget",
     {F(0x81, "Hello"), F(0x82, "World")},
     {0, 5},
     .want = "data(text first fin \"Hello\") data(binary first fin \"World\")"},
    {"frame at max_frame_bytes",
     {F(0x01, "Hel"), F(0x80, "lo")},
     {3, 0},
     .want = "data(text first fin \"Hello\")"},

    /* violations: one row each */
    {"continuation without a message",
     {F(0x80, "Hello")},
     .want = "fail(1002 continuation frame without a message)"},
    {"non-final continuation without a message",
     {F(0x00, "x")},
     .want = "fail(1002 continuation frame without a message)"},
    {"continuation after a finished message",
     {F(0x81, "Hi"), F(0x80, "x")},
     .want = "data(text first fin \"Hi\") fail(1002 continuation frame without a message)"},
    {"text inside a fragmented message",
     {F(0x01, "Hel"), F(0x81, "x")},
     .want = "data(text first \"Hel\") fail(1002 new message inside a fragmented one)"},
    {"binary inside a fragmented text",
     {F(0x01, "Hel"), F(0x82, "x")},
     .want = "data(text first \"Hel\") fail(1002 new message inside a fragmented one)"},
    {"fragment of text inside a fragmented binary",
     {F(0x02, "ab"), F(0x01, "x")},
     .want = "data(binary first \"ab\") fail(1002 new message inside a fragmented one)"},
    {"close of 1 byte", {FN(0x88, "\x03", 1)}, .want = "fail(1002 close payload of 1 byte)"},
    {"close code 0", {FN(0x88, "\x00\x00", 2)}, .want = "fail(1002 invalid close code)"},
    {"close code 999", {F(0x88, "\x03\xe7")}, .want = "fail(1002 invalid close code)"},
    {"close code 1004", {F(0x88, "\x03\xec")}, .want = "fail(1002 invalid close code)"},
    {"close code 1005", {F(0x88, "\x03\xed")}, .want = "fail(1002 invalid close code)"},
    {"close code 1006", {F(0x88, "\x03\xee")}, .want = "fail(1002 invalid close code)"},
    {"close code 1015", {F(0x88, "\x03\xf7")}, .want = "fail(1002 invalid close code)"},
    {"close code 1016", {F(0x88, "\x03\xf8")}, .want = "fail(1002 invalid close code)"},
    {"close code 2999", {F(0x88, "\x0b\xb7")}, .want = "fail(1002 invalid close code)"},
    {"close code 5000", {F(0x88, "\x13\x88")}, .want = "fail(1002 invalid close code)"},
    {"close code 65535", {F(0x88, "\xff\xff")}, .want = "fail(1002 invalid close code)"},
    {"close reason with 0xFF",
     {F(0x88, CLOSE_1000 "\xff")},
     .want = "fail(1007 close reason not UTF-8)"},
    {"close reason cut inside a sequence",
     {F(0x88, CLOSE_1000 "ab\xe2\x82")},
     .want = "fail(1007 close reason not UTF-8)"},
    {"close reason overlong",
     {F(0x88, CLOSE_1000 "\xc0\xaf")},
     .want = "fail(1007 close reason not UTF-8)"},
    {"close reason surrogate",
     {F(0x88, CLOSE_1000 "\xed\xa0\x80")},
     .want = "fail(1007 close reason not UTF-8)"},
    {"text with 0xFF",
     {F(0x81, "Hello\xffworld")},
     .fail_fast = true,
     .bad_at = 5,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"text with an overlong",
     {F(0x81, "ab\xc0\xaf")},
     .fail_fast = true,
     .bad_at = 2,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"text with a surrogate",
     {F(0x81, "ab\xed\xa0\x80")},
     .fail_fast = true,
     .bad_at = 3,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"text above U+10FFFF",
     {F(0x81, "\xf4\x90\x80\x80")},
     .fail_fast = true,
     .bad_at = 1,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"text with a stray continuation",
     {F(0x81, "ab\x80")},
     .fail_fast = true,
     .bad_at = 2,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"text with a sequence cut by ASCII",
     {F(0x81, "\xe2\x82\x41")},
     .fail_fast = true,
     .bad_at = 2,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"invalid byte in a later fragment",
     {F(0x01, "Hel\xc3"), F(0x80, "\x28")},
     .fail_fast = true,
     .bad_at = 4,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"sequence cut across fragments",
     {F(0x01, "\xe2"), F(0x80, "\x82\x41")},
     .fail_fast = true,
     .bad_at = 2,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"invalid byte after a ping between fragments",
     {F(0x01, "Hel"), F(0x89, ""), F(0x80, "\xff")},
     .fail_fast = true,
     .bad_at = 3,
     .want = "data(text first \"Hel\") ping(\"\") fail(1007 invalid UTF-8 in text message)"},
    {"invalid byte after a long fragment",
     {FILL(0x01, 5000), F(0x80, "\xff")},
     .fail_fast = true,
     .bad_at = 5000,
     .want = "fail(1007 invalid UTF-8 in text message)"},
    {"text ends inside a sequence",
     {F(0x81, "Hello\xe2\x82")},
     .fail_fast = true,
     .bad_at = 6,
     .want = "fail(1007 text message ends inside a UTF-8 sequence)"},
    {"fragmented text ends inside a sequence",
     {F(0x01, "ab\xe2\x82"), F(0x80, "")},
     .fail_fast = true,
     .bad_at = 4,
     .want = "fail(1007 text message ends inside a UTF-8 sequence)"},
    {"frame over max_frame_bytes", {F(0x81, "Hello")}, {4, 0}, .want = "fail(1009 frame too big)"},
    {"message over max_message_bytes in one frame",
     {F(0x81, "Hello")},
     {0, 4},
     .want = "fail(1009 message too big)"},
    {"fragments over max_message_bytes",
     {F(0x01, "Hel"), F(0x80, "lo")},
     {0, 4},
     .want = "data(text first \"Hel\") fail(1009 message too big)"},
    {"64 KiB message over a 65535 limit",
     {FILL(0x02, 32768), FILL(0x80, 32768)},
     {0, 65535},
     .want = "data(binary first #32768) fail(1009 message too big)"},
    {"unmasked frame from a client",
     {{.b0 = 0x81, .data = "Hello", .unmasked = true}},
     .want = "fail(1002 unmasked client frame)"},
    {"RSV1 set", {F(0xc1, "Hello")}, .want = "fail(1002 reserved bits set)"},
    {"reserved opcode 0xB", {F(0x8b, "")}, .want = "fail(1002 reserved opcode 0xB)"},
    {"fragmented ping", {F(0x09, "")}, .want = "fail(1002 fragmented control frame)"},
    {"ping of 126 bytes", {FILL(0x89, 126)}, .want = "fail(1002 control frame over 125 bytes)"},
    {"64-bit length with the top bit set",
     {{.raw = "82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d"}},
     .want = "fail(1002 64-bit length with the top bit set)"},
    {"violation between fragments",
     {F(0x01, "Hel"), F(0xc9, ""), F(0x80, "lo")},
     .want = "data(text first \"Hel\") fail(1002 reserved bits set)"},
    {"nothing after a violation",
     {F(0x80, "x"), F(0x81, "Hello"), F(0x89, ""), F(0x88, "")},
     .want = "fail(1002 continuation frame without a message)"},
};

/* Builds the input of <c>: returns it (malloc'd), its length in <len>, and in <data>
 * (malloc'd) the payloads of its data frames, in order. */
static uint8_t *test_ws_msg_case_input(const struct msg_case *c, size_t *len, uint8_t **data,
                                       size_t *data_len)
{
    size_t cap = 64;
    uint8_t *in;

    for (size_t i = 0; i < ARRAY_LEN(c->f) && test_ws_msg_tframe_present(&c->f[i]); i++)
        cap += 14 + c->f[i].fill + (c->f[i].data ? strlen(c->f[i].data) + c->f[i].len : 0) +
               (c->f[i].raw ? strlen(c->f[i].raw) : 0);
    in = malloc(cap);
    *data = malloc(cap);
    ck_assert(in != NULL && *data != NULL);
    *len = 0;
    *data_len = 0;
    for (size_t i = 0; i < ARRAY_LEN(c->f) && test_ws_msg_tframe_present(&c->f[i]); i++)
        *len += test_ws_msg_tframe_encode(&c->f[i], (int)i, in + *len, *data, data_len);
    ck_assert_uint_le(*len, cap);
    return in;
}

START_TEST(test_ws_msg_table)
{
    const struct msg_case *c = &msg_cases[_i];
    size_t len;
    size_t data_len;
    uint8_t *data;
    uint8_t *in = test_ws_msg_case_input(c, &len, &data, &data_len);

    for (int mode = 0; mode < FEED_MODES; mode++) {
        struct test_ws_msg_run r;

        test_ws_msg_run(in, len, &c->limits, mode, c->fail_fast, &r);
        ck_assert_msg(strcmp(r.log.s, c->want) == 0, "%s (mode %d):\n got  %s\n want %s", c->name,
                      mode, r.log.s, c->want);
        /* the logged data bytes are the data frames' payloads, unmasked, in order */
        ck_assert_uint_le(r.data_len, data_len);
        ck_assert_msg(memcmp(r.data, data, r.data_len) == 0, "%s: data bytes differ", c->name);
        if (strstr(c->want, "fail") == NULL && strstr(c->want, "close") == NULL)
            ck_assert_uint_eq(r.data_len, data_len);
        if (c->fail_fast) {
            ck_assert_msg(r.partial <= c->bad_at, "%s (mode %d): %zu bytes reported, at most %zu",
                          c->name, mode, r.partial, c->bad_at);
            if (mode == 1)
                ck_assert_msg(r.partial == c->bad_at, "%s (bytes): %zu reported, want %zu", c->name,
                              r.partial, c->bad_at);
        }
        test_ws_msg_run_free(&r);
    }
    free(in);
    free(data);
}
END_TEST

/* Raw events of <frames> fed in FEED_MODES entry <mode>. */
static void test_ws_msg_run_frames(const struct tframe *frames, size_t n, int mode,
                                   struct test_ws_msg_run *r)
{
    struct msg_case c = {.name = "raw"};
    uint8_t *in;
    uint8_t *data;
    size_t len;
    size_t data_len;

    memcpy(c.f, frames, n * sizeof(*frames));
    in = test_ws_msg_case_input(&c, &len, &data, &data_len);
    test_ws_msg_run(in, len, NULL, mode, false, r);
    free(in);
    free(data);
}

/* An empty data frame is exactly one DATA event of length 0, in every chunking. */
START_TEST(test_ws_msg_empty_frame_one_event)
{
    const struct tframe frames[] = {F(0x81, "")};

    for (int mode = 0; mode < FEED_MODES; mode++) {
        struct test_ws_msg_run r;

        test_ws_msg_run_frames(frames, ARRAY_LEN(frames), mode, &r);
        ck_assert_uint_eq(r.n_evs, 1);
        ck_assert(r.evs[0].type == WS_MSG_DATA && r.evs[0].len == 0);
        ck_assert(r.evs[0].first && r.evs[0].fin && r.evs[0].opcode == WS_OP_TEXT);
        test_ws_msg_run_free(&r);
    }
}
END_TEST

/* Empty fragments: one event each, first on the first only, fin on the last only. */
START_TEST(test_ws_msg_empty_fragments_events)
{
    const struct tframe frames[] = {F(0x02, ""), F(0x00, ""), F(0x89, ""), F(0x80, "")};

    for (int mode = 0; mode < FEED_MODES; mode++) {
        struct test_ws_msg_run r;

        test_ws_msg_run_frames(frames, ARRAY_LEN(frames), mode, &r);
        ck_assert_uint_eq(r.n_evs, 4);
        ck_assert(r.evs[0].type == WS_MSG_DATA && r.evs[0].first && !r.evs[0].fin);
        ck_assert(r.evs[1].type == WS_MSG_DATA && !r.evs[1].first && !r.evs[1].fin);
        ck_assert(r.evs[2].type == WS_MSG_PING);
        ck_assert(r.evs[3].type == WS_MSG_DATA && !r.evs[3].first && r.evs[3].fin);
        for (int i = 0; i < 4; i++)
            ck_assert_uint_eq(r.evs[i].len, 0);
        test_ws_msg_run_free(&r);
    }
}
END_TEST

/* A payload that arrives in one chunk is one DATA event, not one per byte; fed a byte
 * at a time it is one per byte, the last one carrying fin. */
START_TEST(test_ws_msg_big_chunk_one_event)
{
    const struct tframe frames[] = {FILL(0x82, 65536)};
    struct test_ws_msg_run r;

    test_ws_msg_run_frames(frames, 1, 0, &r);
    ck_assert_uint_eq(r.n_evs, 1);
    ck_assert(r.evs[0].len == 65536 && r.evs[0].first && r.evs[0].fin);
    test_ws_msg_run_free(&r);
    test_ws_msg_run_frames(frames, 1, 1, &r);
    ck_assert_uint_eq(r.n_evs, 65536);
    ck_assert(r.evs[0].first && !r.evs[0].fin && r.evs[65535].fin && !r.evs[65535].first);
    test_ws_msg_run_free(&r);
}
END_TEST

/* Each frame's first event, and only that one, is marked frame_first, with the frame's
 * header in the parser: data frames of any size (marked at their first payload chunk, or
 * at their end when empty), fragments with a control frame between them, the close. */
START_TEST(test_ws_msg_frame_first)
{
    const struct tframe frames[] = {F(0x81, "hello"), FILL(0x02, 300), F(0x89, "p"),
                                    F(0x00, ""), FILL(0x80, 70000), F(0x88, CLOSE_1000)};

    for (int mode = 0; mode < FEED_MODES; mode++) {
        struct test_ws_msg_run r;

        test_ws_msg_run_frames(frames, ARRAY_LEN(frames), mode, &r);
        ck_assert_msg(strcmp(r.frames.s, "1f5 2-300 9f1 0-0 0f70000 8f2 ") == 0,
                      "mode %d: %s", mode, r.frames.s);
        ck_assert_uint_eq(r.n_frames, ARRAY_LEN(frames));
        test_ws_msg_run_free(&r);
    }
}
END_TEST

/* The exact calls for a masked text frame then a ping, fed whole: DATA is the tail of
 * the used span, a control frame is reported once whole, then NONE. */
START_TEST(test_ws_msg_calls)
{
    uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
                    0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_msg m;
    struct ws_msg_event ev;
    size_t n;

    ws_msg_init(&m, NULL);
    ck_assert_uint_eq(ws_msg_feed(&m, NULL, 0, &ev), 0);
    ck_assert(ev.type == WS_MSG_NONE);
    n = ws_msg_feed(&m, in, sizeof(in), &ev);
    ck_assert_uint_eq(n, 11);
    ck_assert(ev.type == WS_MSG_DATA && ev.data == in + 6 && ev.len == 5 && ev.first && ev.fin);
    ck_assert_mem_eq(ev.data, "Hello", 5);
    n = ws_msg_feed(&m, in + 11, sizeof(in) - 11, &ev);
    ck_assert_uint_eq(n, 11);
    ck_assert(ev.type == WS_MSG_PING && ev.len == 5);
    ck_assert_mem_eq(ev.data, "Hello", 5);
    ck_assert_uint_eq(ws_msg_feed(&m, in + 22, 0, &ev), 0);
    ck_assert(ev.type == WS_MSG_NONE && !ws_msg_is_done(&m));
}
END_TEST

static uint32_t rng_state = 0x1234567u;

static uint32_t test_ws_msg_rnd(void)
{
    uint32_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

/* Random conversations: messages of random type and size (text is valid UTF-8 with
 * multi-byte characters, so fragment cuts fall inside sequences), cut into random
 * fragments with pings and pongs between them, then a close. Read back in every
 * chunking, they must come out as sent. */
START_TEST(test_ws_msg_random_conversations)
{
    /* per message: its bytes, and up to 5 fragments each with a header and a ping */
    enum { MSGS = 12, MAXMSG = 3000, CAP = MSGS * (MAXMSG + 5 * (14 + 14 + 125)) + 256 };
    static const char *const chars[] = {
        "a", "Z", " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};

    for (int round = 0; round < 40; round++) {
        uint8_t *in = malloc(CAP);
        uint8_t *sent = malloc(CAP); /* data payloads as sent, messages back to back */
        size_t sent_len = 0;
        size_t len = 0;
        struct sbuf want = {0};
        int fi = 0;

        ck_assert(in != NULL && sent != NULL);
        sb_printf(&want, "%s", "");
        for (int msg = 0; msg < MSGS; msg++) {
            bool text = test_ws_msg_rnd() % 2 == 0;
            size_t size = test_ws_msg_rnd() % (test_ws_msg_rnd() % 4 == 0 ? MAXMSG : 40);
            uint8_t *body = sent + sent_len;
            size_t blen = 0;
            int frags = 1 + (int)(test_ws_msg_rnd() % 5);
            size_t at = 0;

            while (blen < size) {
                const char *ch = text ? chars[test_ws_msg_rnd() % ARRAY_LEN(chars)] : NULL;
                size_t clen = ch ? strlen(ch) : 1;

                if (blen + clen > size)
                    break;
                if (ch)
                    memcpy(body + blen, ch, clen);
                else
                    body[blen] = (uint8_t)test_ws_msg_rnd();
                blen += clen;
            }
            for (int k = 0; k < frags; k++) {
                size_t take = k == frags - 1 ? blen - at : test_ws_msg_rnd() % (blen - at + 1);
                struct tframe t = {
                    .b0 = (uint8_t)((k == frags - 1 ? 0x80 : 0) | (k == 0 ? (text ? 1 : 2) : 0)),
                    .data = take == 0 ? "" : (const char *)body + at,
                    .len = take,
                };

                len += test_ws_msg_tframe_encode(&t, fi++, in + len, NULL, NULL);
                at += take;
                if (test_ws_msg_rnd() % 3 == 0) {
                    char ping[126];
                    size_t plen = test_ws_msg_rnd() % 126;
                    struct tframe c = {
                        .b0 = test_ws_msg_rnd() % 2 ? 0x89 : 0x8a, .data = ping, .len = plen};

                    memset(ping, 'p', plen);
                    ping[plen] = '\0';
                    len += test_ws_msg_tframe_encode(&c, fi++, in + len, NULL, NULL);
                    if (k < frags - 1) {
                        sb_printf(&want, "%c%zu ", c.b0 == 0x89 ? 'P' : 'p', plen);
                    } else {
                        /* after the last fragment: the message line comes first */
                        sb_printf(&want, "M%d:%zu %c%zu ", text, blen, c.b0 == 0x89 ? 'P' : 'p',
                                  plen);
                        continue;
                    }
                }
                if (k == frags - 1)
                    sb_printf(&want, "M%d:%zu ", text, blen);
            }
            sent_len += blen;
        }
        {
            struct tframe close = F(0x88, CLOSE_1000 "done");

            len += test_ws_msg_tframe_encode(&close, fi, in + len, NULL, NULL);
            sb_printf(&want, "C1000");
        }
        ck_assert_uint_le(len, CAP);
        for (int mode = 0; mode < FEED_MODES; mode++) {
            struct test_ws_msg_run r;
            struct sbuf got = {0};
            size_t msg_len = 0;

            test_ws_msg_run(in, len, NULL, mode, false, &r);
            sb_printf(&got, "%s", "");
            for (size_t i = 0; i < r.n_evs; i++) {
                const struct raw_ev *e = &r.evs[i];

                switch (e->type) {
                case WS_MSG_DATA:
                    msg_len += e->len;
                    if (e->fin) {
                        sb_printf(&got, "M%d:%zu ", e->opcode == WS_OP_TEXT, msg_len);
                        msg_len = 0;
                    }
                    break;
                case WS_MSG_PING:
                case WS_MSG_PONG:
                    sb_printf(&got, "%c%zu ", e->type == WS_MSG_PING ? 'P' : 'p', e->len);
                    break;
                case WS_MSG_CLOSE:
                    sb_printf(&got, "C1000");
                    ck_assert_uint_eq(e->len, 4);
                    break;
                default:
                    ck_abort_msg("round %d mode %d: unexpected event %d", round, mode, e->type);
                }
            }
            ck_assert_msg(strcmp(got.s, want.s) == 0, "round %d mode %d:\n got  %s\n want %s",
                          round, mode, got.s, want.s);
            ck_assert_uint_eq(r.data_len, sent_len);
            ck_assert_msg(memcmp(r.data, sent, sent_len) == 0, "round %d mode %d: data", round,
                          mode);
            ck_assert_uint_eq(r.n_frames, (size_t)fi + 1); /* one mark per frame */
            free(got.s);
            test_ws_msg_run_free(&r);
        }
        free(want.s);
        free(in);
        free(sent);
    }
}
END_TEST

static Suite *test_ws_msg_suite(void)
{
    Suite *s = suite_create("ws_msg");
    TCase *tc = tcase_create("table");
    TCase *ev = tcase_create("events");

    tcase_set_timeout(tc, 120); /* 64 KiB fed a byte at a time, under sanitizers */
    tcase_add_loop_test(tc, test_ws_msg_table, 0, ARRAY_LEN(msg_cases));
    suite_add_tcase(s, tc);
    tcase_set_timeout(ev, 120);
    tcase_add_test(ev, test_ws_msg_empty_frame_one_event);
    tcase_add_test(ev, test_ws_msg_empty_fragments_events);
    tcase_add_test(ev, test_ws_msg_big_chunk_one_event);
    tcase_add_test(ev, test_ws_msg_calls);
    tcase_add_test(ev, test_ws_msg_frame_first);
    tcase_add_test(ev, test_ws_msg_random_conversations);
    suite_add_tcase(s, ev);
    return s;
}

CHECK_MAIN(test_ws_msg_suite)
