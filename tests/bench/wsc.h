/*
 * wsc.h - the client side of RFC 6455, written for the benchmark and independent of the
 * daemon's own codec: the §4.1 opening request and the check of its 101 answer, masked
 * frames out (§5.3), and an incremental parser for the server's unmasked frames (§5.2).
 * No I/O, no clock, no globals.
 */
#ifndef BENCH_WSC_H
#define BENCH_WSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSC_HEADER_MAX 14   /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WSC_CONTROL_MAX 125 /* RFC 6455 §5.5 */
#define WSC_KEY_LEN 24      /* base64 of 16 bytes */

enum wsc_opcode {
    WSC_OP_CONT = 0x0,
    WSC_OP_TEXT = 0x1,
    WSC_OP_BINARY = 0x2,
    WSC_OP_CLOSE = 0x8,
    WSC_OP_PING = 0x9,
    WSC_OP_PONG = 0xA,
};

enum wsc_event_type {
    WSC_NONE = 0, /* all input used, more bytes needed */
    WSC_DATA,     /* payload bytes of a text, binary or continuation frame */
    WSC_PING,     /* a whole ping: its payload in data/len */
    WSC_PONG,     /* a whole pong */
    WSC_CLOSE,    /* a whole close frame: close_code (1005 when it had none) */
    WSC_FAIL,     /* the server broke RFC 6455: reason says how */
};

struct wsc_event {
    enum wsc_event_type type;
    const uint8_t *data; /* DATA: inside the caller's input; control: inside the parser */
    size_t len;          /* bytes at data */
    uint16_t close_code; /* CLOSE only */
    const char *reason;  /* FAIL only: short static text */
};

struct wsc_parser {
    uint8_t hdr[WSC_HEADER_MAX];  /* header bytes gathered so far */
    size_t hdr_len;               /* how many of them */
    bool in_payload;              /* the header is complete, payload_left bytes follow */
    uint64_t payload_left;        /* payload bytes of the current frame still to come */
    uint8_t opcode;               /* of the current frame */
    bool in_message;              /* a fragmented data message awaits continuations */
    uint8_t ctl[WSC_CONTROL_MAX]; /* payload of the current control frame */
    size_t ctl_len;               /* bytes in ctl */
    bool failed;                  /* a FAIL was reported; nothing more is parsed */
};

/* Writes into <out> the base64 Sec-WebSocket-Key of the 16 bytes at <raw>, NUL-ended. */
void wsc_key_write(char out[WSC_KEY_LEN + 1], const uint8_t raw[16]);

/* Writes the §4.1 GET request for <path> on <host> (both NUL-ended, no CR or LF) with
 * key <key>, offering subprotocol "binary", into <buf> of <cap> bytes. Returns its
 * length, or 0 when it does not fit. */
size_t wsc_request_write(char *buf, size_t cap, const char *host, const char *path,
                         const char *key);

/* Returns the length of the HTTP head at the start of <buf> (up to and including the
 * empty line), or 0 when the <len> bytes do not hold a whole head yet. */
size_t wsc_head_len(const uint8_t *buf, size_t len);

/* Checks the server's answer <head> of <len> bytes (as measured by wsc_head_len) to a
 * request made with key <key>: status 101, Upgrade: websocket, Connection: upgrade and
 * the §4.2.2 Sec-WebSocket-Accept. Returns true, or false with a static text in <why>. */
bool wsc_response_is_ok(const uint8_t *head, size_t len, const char *key, const char **why);

/* Writes a final frame header for <opcode> and <len> payload bytes masked with the four
 * bytes <mask> into <out>. Returns the header's length (6, 8 or 14). */
size_t wsc_header_write(uint8_t out[WSC_HEADER_MAX], uint8_t opcode, uint64_t len,
                        const uint8_t mask[4]);

/* Copies <len> bytes from <src> to <dst>, XORed with <mask> as payload bytes starting at
 * payload offset 0 (§5.3). <dst> and <src> may be the same, not otherwise overlap. */
void wsc_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4]);

/* Resets <p> for a new connection. */
void wsc_parser_init(struct wsc_parser *p);

/* Feeds <len> bytes at <in> to <p>. Returns how many were used; stops after one event
 * and reports it in <ev> (WSC_NONE when all input was used without one). Data events
 * point into <in>; the caller calls again with the rest. After a FAIL, uses nothing. */
size_t wsc_parser_feed(struct wsc_parser *p, const uint8_t *in, size_t len, struct wsc_event *ev);

#endif
