/*
 * ws_frame.h - RFC 6455 §5 wire format, both directions, no I/O.
 * The parser reads frame headers and streams payload to the caller, unmasked in place;
 * it never buffers a frame. Message rules (fragments, UTF-8, close codes) are in ws_msg.h.
 */
#ifndef WSB_WS_FRAME_H
#define WSB_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

#define WS_FRAME_HEADER_MAX 14   /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WS_CONTROL_MAX 125       /* RFC 6455 §5.5: control payloads are at most 125 bytes */

/* Close codes (RFC 6455 §7.4.1) the bridge sends or checks. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005,   /* never on the wire: "the close frame had no code" */
    WS_CLOSE_ABNORMAL = 1006,    /* never on the wire: "no close frame at all" */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

enum ws_frame_event_type {
    WS_FRAME_NONE = 0, /* all input used, more bytes needed */
    WS_FRAME_HEADER,   /* a frame header is complete: see ws_frame_parser's fields */
    WS_FRAME_PAYLOAD,  /* payload bytes of the current frame, unmasked in place */
    WS_FRAME_END,      /* the current frame's payload is complete (also for empty frames) */
    WS_FRAME_FAIL,     /* protocol violation: close_code and reason say which */
};

struct ws_frame_event {
    enum ws_frame_event_type type;
    uint8_t *data;       /* PAYLOAD: first byte, inside the caller's input */
    size_t len;          /* PAYLOAD: number of bytes; they are the last <len> bytes used */
    uint16_t close_code; /* FAIL: code to send (1002, or 1009 when over max_frame_bytes) */
    const char *reason;  /* FAIL: short static text for the close frame and the log */
};

enum ws_frame_state {
    WS_FRAME_STATE_HEADER = 0, /* reading the 2..14 header bytes */
    WS_FRAME_STATE_PAYLOAD,    /* streaming payload_left bytes */
    WS_FRAME_STATE_FAILED,     /* a violation was reported; nothing more is parsed */
};

struct ws_frame_parser {
    enum ws_frame_state state;
    bool require_mask;          /* true on a server: unmasked frames are a violation */
    uint64_t max_frame_bytes;   /* 0 = no limit; larger frames fail with 1009 */
    uint8_t hdr[WS_FRAME_HEADER_MAX]; /* header bytes gathered so far */
    uint8_t hdr_have;           /* bytes in hdr */
    uint8_t hdr_need;           /* header length once known (2 until byte 2 is read) */
    /* The current frame, valid from WS_FRAME_HEADER until the next header starts: */
    bool fin;                   /* FIN bit */
    uint8_t opcode;             /* enum ws_opcode */
    bool masked;                /* MASK bit */
    uint8_t mask[4];            /* masking key */
    uint64_t payload_len;       /* declared payload length */
    uint64_t payload_left;      /* payload bytes not yet streamed */
    uint8_t mask_pos;           /* key offset (0..3) of the next payload byte */
    /* Once failed, repeated by every later call: */
    uint16_t fail_code;         /* close code of the reported violation */
    const char *fail_reason;    /* its static text */
};

/* Prepares <p> to read frames. <require_mask>: true for frames from clients. */
void ws_frame_parser_init(struct ws_frame_parser *p, bool require_mask, uint64_t max_frame_bytes);

/* Feeds <len> bytes at <in> to <p>. Returns how many bytes were used and reports at
 * most one event in <ev>: parsing stops right after a header completes, after each
 * payload chunk, and at the end of each frame, so every event belongs to the bytes
 * used by that call. Payload bytes are unmasked in place in <in>; a PAYLOAD event's
 * bytes are the tail of the used span (ev->data == in + used - ev->len). Never reads
 * past <len>, never keeps a pointer to <in>. Frame-level violations (RSV bits, reserved
 * opcodes, unmasked client frames, fragmented or oversized control frames, 64-bit
 * lengths with the top bit set, frames over max_frame_bytes) report WS_FRAME_FAIL;
 * after that every call returns 0 and reports WS_FRAME_FAIL again. */
size_t ws_frame_feed(struct ws_frame_parser *p, uint8_t *in, size_t len, struct ws_frame_event *ev);

/* XORs <len> bytes at <buf> with <mask>, starting at key offset <mask_pos> (0..3),
 * eight bytes at a time where it can. Returns the key offset for the byte after. */
uint8_t ws_frame_unmask(uint8_t *buf, size_t len, const uint8_t mask[4], uint8_t mask_pos);

/* Writes a frame header into <out> (WS_FRAME_HEADER_MAX bytes of room) for a frame with
 * <fin>, <opcode> and <payload_len>, using the shortest length form. <mask> is NULL for
 * server frames, or the 4-byte key to announce (the caller masks the payload). Returns
 * the header length (2..14). */
size_t ws_frame_write_header(uint8_t *out, bool fin, enum ws_opcode opcode, uint64_t payload_len,
                             const uint8_t *mask);

/* Writes a whole unmasked close frame into <out> (2 + WS_CONTROL_MAX bytes of room):
 * <code> then <reason> cut to fit 123 bytes without splitting a UTF-8 sequence. <code> 0
 * writes an empty close payload. Returns the frame length. */
size_t ws_frame_write_close(uint8_t *out, uint16_t code, const char *reason);

/* True if <code> may be received in a close frame (RFC 6455 §7.4, IANA registry):
 * 1000-1003, 1007-1014, 3000-4999. */
bool ws_close_code_is_valid(uint16_t code);

#endif
