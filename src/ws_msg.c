/*
 * ws_msg.c - RFC 6455 rules above single frames, no I/O: fragmentation with control
 * frames between fragments (§5.4), control payloads (§5.5), close codes and reasons
 * (§5.5.1, §7.4), UTF-8 of text messages (§8.1, failing fast) and size limits.
 * Data is streamed as ws_frame.c unmasks it; only a control payload is copied, into a
 * fixed 125-byte slot. Answering pings and closes is the caller's job.
 */
#include "ws_msg.h"

#include <assert.h>
#include <string.h>

static_assert(WS_CONTROL_MAX <= UINT8_MAX, "ctrl_len is a uint8_t");

/* Prepares <m> for a client's frames (masking required) under <limits> (NULL: none). */
void ws_msg_init(struct ws_msg *m, const struct ws_msg_limits *limits)
{
    *m = (struct ws_msg){.limits = limits != NULL ? *limits : (struct ws_msg_limits){0}};
    ws_frame_parser_init(&m->frame, true, m->limits.max_frame_bytes); /* RFC 6455 §5.1 */
    utf8_init(&m->utf8);
}

/* True for close, ping and pong (RFC 6455 §5.5: opcodes with the high bit set); the
 * frame parser has already refused the reserved ones. */
static bool ws_msg_is_control(uint8_t opcode)
{
    return (opcode & 0x8) != 0;
}

/* Reports a violation of <m> with <code> and <reason> in <ev>; nothing is parsed after. */
static void ws_msg_fail(struct ws_msg *m, struct ws_msg_event *ev, uint16_t code,
                        const char *reason)
{
    m->done = true;
    *ev = (struct ws_msg_event){.type = WS_MSG_FAIL, .close_code = code, .reason = reason};
}

/* A frame header is complete: applies the fragmentation rules and the message limit. */
static void ws_msg_on_header(struct ws_msg *m, struct ws_msg_event *ev)
{
    const struct ws_frame_parser *f = &m->frame;
    uint64_t max = m->limits.max_message_bytes;

    if (ws_msg_is_control(f->opcode)) {
        /* RFC 6455 §5.4: control frames may come between fragments and leave the open
         * message alone; only their own slot starts over */
        m->ctrl_len = 0;
        return;
    }
    if (f->opcode == WS_OP_CONT) {
        if (m->msg_opcode == 0) {
            /* RFC 6455 §5.4: a continuation belongs to an open fragmented message */
            ws_msg_fail(m, ev, WS_CLOSE_PROTOCOL, "continuation frame without a message");
            return;
        }
    } else {
        if (m->msg_opcode != 0) {
            /* RFC 6455 §5.4: fragments of one message are not interleaved with another */
            ws_msg_fail(m, ev, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
            return;
        }
        m->msg_opcode = f->opcode;
        m->msg_first = true;
        m->msg_bytes = 0;
        utf8_init(&m->utf8);
    }
    /* Checked on the declared length, before any of it arrives; msg_bytes <= max holds,
     * so the subtraction cannot wrap. */
    if (max != 0 && f->payload_len > max - m->msg_bytes) {
        ws_msg_fail(m, ev, WS_CLOSE_TOO_BIG, "message too big"); /* RFC 6455 §7.4.1 */
        return;
    }
    m->msg_bytes += f->payload_len;
}

/* Reports <len> data bytes of the open message in <ev> (the caller sets ev->data);
 * <fin>: they end the message. Text is validated first, so bytes that hold an invalid
 * sequence are never passed on. */
static void ws_msg_data(struct ws_msg *m, const uint8_t *data, size_t len, bool fin,
                        struct ws_msg_event *ev)
{
    if (m->msg_opcode == WS_OP_TEXT) {
        if (!utf8_feed(&m->utf8, data, len)) {
            /* RFC 6455 §8.1: fail the connection as soon as invalid data is seen */
            ws_msg_fail(m, ev, WS_CLOSE_INVALID_DATA, "invalid UTF-8 in text message");
            return;
        }
        if (fin && !utf8_is_complete(&m->utf8)) {
            ws_msg_fail(m, ev, WS_CLOSE_INVALID_DATA, "text message ends inside a UTF-8 sequence");
            return;
        }
    }
    *ev = (struct ws_msg_event){
        .type = WS_MSG_DATA,
        .opcode = m->msg_opcode,
        .first = m->msg_first,
        .fin = fin,
        .len = len,
    };
    m->msg_first = false;
    if (fin)
        m->msg_opcode = 0;
}

/* A whole close payload is in ctrl: checks it (RFC 6455 §5.5.1, §7.1.5, §7.4). */
static void ws_msg_on_close(struct ws_msg *m, struct ws_msg_event *ev)
{
    uint16_t code;

    if (m->ctrl_len == 0) {
        /* RFC 6455 §7.1.5: no status code means 1005 for the receiver */
        *ev = (struct ws_msg_event){
            .type = WS_MSG_CLOSE, .close_code = WS_CLOSE_NO_STATUS, .data = m->ctrl};
        m->done = true;
        return;
    }
    if (m->ctrl_len == 1) {
        ws_msg_fail(m, ev, WS_CLOSE_PROTOCOL, "close payload of 1 byte"); /* §5.5.1 */
        return;
    }
    code = (uint16_t)(m->ctrl[0] << 8 | m->ctrl[1]);
    if (!ws_close_code_is_valid(code)) {
        ws_msg_fail(m, ev, WS_CLOSE_PROTOCOL, "invalid close code"); /* RFC 6455 §7.4 */
        return;
    }
    if (!utf8_is_valid(m->ctrl + 2, m->ctrl_len - 2u)) {
        ws_msg_fail(m, ev, WS_CLOSE_INVALID_DATA, "close reason not UTF-8"); /* §5.5.1 */
        return;
    }
    *ev = (struct ws_msg_event){
        .type = WS_MSG_CLOSE,
        .close_code = code,
        .data = m->ctrl + 2,
        .len = m->ctrl_len - 2u,
    };
    m->done = true; /* RFC 6455 §5.5.1: nothing after a close frame is processed */
}

/* The current frame ended: reports a whole control frame, or the single empty DATA
 * event of a data frame without payload. */
static void ws_msg_on_end(struct ws_msg *m, struct ws_msg_event *ev)
{
    const struct ws_frame_parser *f = &m->frame;

    switch (f->opcode) {
    case WS_OP_PING:
    case WS_OP_PONG:
        *ev = (struct ws_msg_event){
            .type = f->opcode == WS_OP_PING ? WS_MSG_PING : WS_MSG_PONG,
            .data = m->ctrl,
            .len = m->ctrl_len,
        };
        return;
    case WS_OP_CLOSE:
        ws_msg_on_close(m, ev);
        return;
    default:
        /* a non-empty data frame was fully reported by its payload events */
        if (f->payload_len == 0)
            ws_msg_data(m, NULL, 0, f->fin, ev);
        return;
    }
}

/* Takes one payload chunk of the current frame: a data chunk becomes one DATA event, a
 * control chunk is copied into ctrl (the frame parser already bounded it to 125 bytes). */
static void ws_msg_on_payload(struct ws_msg *m, const struct ws_frame_event *fev,
                              struct ws_msg_event *ev)
{
    const struct ws_frame_parser *f = &m->frame;

    if (ws_msg_is_control(f->opcode)) {
        memcpy(m->ctrl + m->ctrl_len, fev->data, fev->len);
        m->ctrl_len = (uint8_t)(m->ctrl_len + fev->len);
        return;
    }
    ws_msg_data(m, fev->data, fev->len, f->fin && f->payload_left == 0, ev);
}

/* <in> + <off>, without forming NULL + 0 when the caller passed no buffer. */
static uint8_t *ws_msg_at(uint8_t *in, size_t off)
{
    return off == 0 ? in : in + off;
}

/* Feeds <len> bytes at <in> to <m>; returns how many were used and reports at most one
 * event in <ev>, running frame events through the message rules until one of them
 * gives an event or the input is used up. DATA bytes are the tail of the used span.
 * After CLOSE or FAIL, returns 0 with WS_MSG_NONE. Never keeps <in>. */
size_t ws_msg_feed(struct ws_msg *m, uint8_t *in, size_t len, struct ws_msg_event *ev)
{
    size_t used = 0;

    *ev = (struct ws_msg_event){.type = WS_MSG_NONE};
    if (m->done)
        return 0;
    for (;;) {
        struct ws_frame_event fev;

        used += ws_frame_feed(&m->frame, ws_msg_at(in, used), len - used, &fev);
        switch (fev.type) {
        case WS_FRAME_NONE:
            return used;
        case WS_FRAME_HEADER:
            m->frame_fresh = true;
            ws_msg_on_header(m, ev);
            break;
        case WS_FRAME_PAYLOAD:
            ws_msg_on_payload(m, &fev, ev);
            break;
        case WS_FRAME_END:
            ws_msg_on_end(m, ev);
            break;
        case WS_FRAME_FAIL:
            ws_msg_fail(m, ev, fev.close_code, fev.reason);
            break;
        }
        if (ev->type == WS_MSG_DATA)
            ev->data = ws_msg_at(in, used - ev->len);
        if (ev->type != WS_MSG_NONE) {
            /* every frame gives at least one event: its first one carries the mark */
            ev->frame_first = m->frame_fresh && ev->type != WS_MSG_FAIL;
            m->frame_fresh = false;
            return used;
        }
    }
}

/* True once <m> reported CLOSE or FAIL. */
bool ws_msg_is_done(const struct ws_msg *m)
{
    return m->done;
}
