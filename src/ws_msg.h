/*
 * ws_msg.h - RFC 6455 rules above single frames, no I/O: fragmentation with control
 * frames between fragments (§5.4), control frame payloads (§5.5), close codes and
 * reasons (§5.5.1, §7.4), UTF-8 of text messages (§8.1, failing fast), size limits.
 * Data is streamed out as it arrives; only control payloads (<= 125 bytes) are kept.
 */
#ifndef WSB_WS_MSG_H
#define WSB_WS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"
#include "ws_frame.h"

enum ws_msg_event_type {
    WS_MSG_NONE = 0, /* all input used, more bytes needed (or the parser is finished) */
    WS_MSG_DATA,     /* payload bytes of a text or binary message, unmasked in place */
    WS_MSG_PING,     /* a whole ping: payload in data/len (a copy, at most 125 bytes) */
    WS_MSG_PONG,     /* a whole pong: payload in data/len */
    WS_MSG_CLOSE,    /* a valid close frame: close_code (1005 if it had none), reason */
    WS_MSG_FAIL,     /* violation: close_code (1002, 1007, 1009) and reason to send */
};

struct ws_msg_event {
    enum ws_msg_event_type type;
    uint8_t opcode;      /* DATA: WS_OP_TEXT or WS_OP_BINARY, the message's type */
    bool first;          /* DATA: the first bytes of a message */
    bool fin;            /* DATA: these bytes end the message (len may be 0 then) */
    uint8_t *data;       /* DATA: inside the caller's input, the last <len> bytes used;
                            PING/PONG/CLOSE: inside the parser (valid until the next feed) */
    size_t len;          /* bytes at data; for CLOSE the reason's length */
    uint16_t close_code; /* CLOSE: code received; FAIL: code to send */
    const char *reason;  /* FAIL: short static text */
    bool frame_first;    /* the first event of its frame (DATA, PING, PONG, CLOSE): the
                            frame's header is in the parser's frame fields until the next
                            header starts (wsclient's per-frame debug lines) */
};

struct ws_msg_limits {
    uint64_t max_frame_bytes;   /* 0 = no limit; a larger data frame fails with 1009 */
    uint64_t max_message_bytes; /* 0 = no limit; a larger message fails with 1009 */
};

struct ws_msg {
    struct ws_frame_parser frame;
    struct ws_msg_limits limits;
    uint8_t msg_opcode;          /* WS_OP_TEXT/WS_OP_BINARY while a message is open, else 0 */
    bool msg_first;              /* the next data bytes are the message's first */
    uint64_t msg_bytes;          /* payload bytes of the open message so far */
    struct utf8 utf8;            /* validator for the open text message */
    uint8_t ctrl[WS_CONTROL_MAX]; /* payload of the control frame being read */
    uint8_t ctrl_len;            /* bytes in ctrl */
    bool done;                   /* CLOSE or FAIL was reported: nothing more is parsed */
    bool frame_fresh;            /* a header was read and its frame reported no event yet */
};

/* Prepares <m> to read a client's frames (masking required) under <limits> (NULL: none). */
void ws_msg_init(struct ws_msg *m, const struct ws_msg_limits *limits);

/* Feeds <len> bytes at <in> to <m>. Returns how many were used and reports at most one
 * event in <ev> (WS_MSG_NONE when the bytes only advanced a header or a control frame).
 * Data bytes are unmasked in place; a DATA event's bytes are the tail of the used span,
 * so a caller may discard (used - ev->len) bytes and pass ev->len on. Never keeps a
 * pointer to <in>. Violations (frame-level ones, orphan continuations, a new message
 * inside a fragmented one, invalid close payloads, invalid UTF-8 in text, limits)
 * report WS_MSG_FAIL once. After CLOSE or FAIL every call returns 0 with WS_MSG_NONE. */
size_t ws_msg_feed(struct ws_msg *m, uint8_t *in, size_t len, struct ws_msg_event *ev);

/* True once a CLOSE or FAIL event was reported. */
bool ws_msg_is_done(const struct ws_msg *m);

#endif
