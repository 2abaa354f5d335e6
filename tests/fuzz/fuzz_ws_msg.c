/*
 * fuzz_ws_msg.c - libFuzzer driver for ws_msg.c over ws_frame.c and utf8.c: any bytes, as
 * a client's frames, split as the input chooses and under limits it chooses, must give
 * events that keep the promises of ws_msg.h, and the same messages, control frames and
 * ending as the same bytes fed whole.
 *
 * Checked on every call: `used` within the chunk; NONE only once the chunk is used up (or
 * when finished); DATA bytes the tail of the used span and never more than the bytes fed;
 * `first`, `fin` and the type consistent within a message; text never passes an invalid
 * byte and each whole text message is valid UTF-8; PING, PONG and CLOSE payloads inside
 * the parser and at most 125 bytes; CLOSE codes receivable (or 1005 with no reason) and
 * reasons UTF-8; FAIL codes 1002, 1007 or 1009 with a reason; nothing after CLOSE or FAIL;
 * frame_first never on NONE or FAIL, always on a control frame's event and on a message's
 * first DATA, and the frame headers it marks the same whole and split (but for the frame a
 * FAIL cuts short).
 *
 * Input: the chunking prefix of fuzz.h with flags FUZZ_FLAG_1 lazy (a chunk's last event
 * is left to the next feed), FUZZ_FLAG_2 and FUZZ_FLAG_3 a 32-bit little-endian
 * max_frame_bytes and max_message_bytes follow (in that order), FUZZ_FLAG_4 both are
 * shifted left by 31 bits; then the frames.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "utf8.h"
#include "ws_frame.h"
#include "ws_msg.h"

#define FUZZ_MSG_LAZY FUZZ_FLAG_1
#define FUZZ_MSG_MAX_FRAME FUZZ_FLAG_2
#define FUZZ_MSG_MAX_MESSAGE FUZZ_FLAG_3
#define FUZZ_MSG_HUGE FUZZ_FLAG_4

/* A growing byte array. */
struct fuzz_msg_bytes {
    uint8_t *p;
    size_t len, cap;
};

/* One run of the parser over the input, and what it reported. */
struct fuzz_msg_run {
    struct ws_msg m;
    bool done;                 /* CLOSE or FAIL was reported */
    char end;                  /* then 'C' or 'F' */
    uint64_t fed;              /* bytes used so far */
    uint64_t data_bytes;       /* DATA bytes reported so far */
    bool open;                 /* a message has had DATA but no fin yet */
    uint8_t opcode;            /* its type */
    struct utf8 text;          /* a second validator over the open text message */
    struct fuzz_msg_bytes msg; /* its bytes so far */
    struct fuzz_msg_bytes log; /* whole messages, control frames and the end, serialised */
    struct fuzz_msg_bytes frames; /* the header at each frame_first: FUZZ_MSG_FRAME_REC bytes */
};

#define FUZZ_MSG_FRAME_REC 10 /* opcode, FIN, 64-bit payload length */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_msg_put(struct fuzz_msg_bytes *b, const void *p, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        FUZZ_CHECK(b->p != NULL);
    }
    if (len > 0)
        memcpy(b->p + b->len, p, len);
    b->len += len;
}

/* Appends an entry to <run>'s log: a tag, a number and <len> bytes. */
static void fuzz_msg_log(struct fuzz_msg_run *run, char tag, uint32_t num, const void *p,
                         size_t len)
{
    uint64_t n = len;

    fuzz_msg_put(&run->log, &tag, 1);
    fuzz_msg_put(&run->log, &num, sizeof(num));
    fuzz_msg_put(&run->log, &n, sizeof(n));
    fuzz_msg_put(&run->log, p, len);
}

/* True if [<p>, <p> + <len>) lies inside [<lo>, <lo> + <cap>). */
static bool fuzz_msg_inside(const uint8_t *p, size_t len, const uint8_t *lo, size_t cap)
{
    return p != NULL && p >= lo && (size_t)(p - lo) <= cap && len <= cap - (size_t)(p - lo);
}

static void fuzz_msg_on_data(struct fuzz_msg_run *run, const struct ws_msg_event *ev)
{
    FUZZ_CHECK(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY);
    FUZZ_CHECK(ev->first == !run->open);
    if (ev->first) {
        run->open = true;
        run->opcode = ev->opcode;
        run->msg.len = 0;
        utf8_init(&run->text);
    }
    FUZZ_CHECK(ev->opcode == run->opcode);
    run->data_bytes += ev->len;
    FUZZ_CHECK(run->data_bytes <= run->fed);
    fuzz_msg_put(&run->msg, ev->data, ev->len);
    /* RFC 6455 §8.1, failing fast: no DATA carries a byte that can never be valid */
    if (run->opcode == WS_OP_TEXT)
        FUZZ_CHECK(utf8_feed(&run->text, ev->data, ev->len));
    if (!ev->fin)
        return;
    if (run->opcode == WS_OP_TEXT)
        FUZZ_CHECK(utf8_is_valid(run->msg.p, run->msg.len));
    fuzz_msg_log(run, 'M', run->opcode, run->msg.p, run->msg.len);
    run->open = false;
    run->msg.len = 0;
}

/* Checks one ws_msg_feed() call that was given <left> bytes at <in> and returned <used>
 * with <ev>, and records what it reported. */
static void fuzz_msg_check(struct fuzz_msg_run *run, const uint8_t *in, size_t left, size_t used,
                           const struct ws_msg_event *ev)
{
    FUZZ_CHECK(used <= left);
    if (run->done) {
        /* After CLOSE or FAIL every call returns 0 with WS_MSG_NONE. */
        FUZZ_CHECK(used == 0 && ev->type == WS_MSG_NONE);
        FUZZ_CHECK(ws_msg_is_done(&run->m));
        return;
    }
    run->fed += used;
    FUZZ_CHECK(!ev->frame_first || (ev->type != WS_MSG_NONE && ev->type != WS_MSG_FAIL));
    FUZZ_CHECK(ev->frame_first || ev->type == WS_MSG_NONE || ev->type == WS_MSG_FAIL ||
               (ev->type == WS_MSG_DATA && !ev->first));
    if (ev->frame_first) {
        uint8_t rec[FUZZ_MSG_FRAME_REC] = {run->m.frame.opcode, run->m.frame.fin};
        for (int i = 0; i < 8; i++)
            rec[2 + i] = (uint8_t)(run->m.frame.payload_len >> (8 * i));
        fuzz_msg_put(&run->frames, rec, sizeof(rec));
    }
    switch (ev->type) {
    case WS_MSG_NONE:
        FUZZ_CHECK(used == left); /* all input used, more bytes needed */
        break;
    case WS_MSG_DATA:
        /* the last <len> bytes used, inside the caller's input */
        FUZZ_CHECK(ev->len <= used);
        FUZZ_CHECK(ev->data == in + used - ev->len);
        FUZZ_CHECK(fuzz_msg_inside(ev->data, ev->len, in, left));
        fuzz_msg_on_data(run, ev);
        break;
    case WS_MSG_PING:
    case WS_MSG_PONG:
        FUZZ_CHECK(ev->len <= WS_CONTROL_MAX);
        FUZZ_CHECK(fuzz_msg_inside(ev->data, ev->len, run->m.ctrl, WS_CONTROL_MAX));
        fuzz_msg_log(run, ev->type == WS_MSG_PING ? 'P' : 'Q', 0, ev->data, ev->len);
        break;
    case WS_MSG_CLOSE:
        FUZZ_CHECK(ws_close_code_is_valid(ev->close_code) || ev->close_code == WS_CLOSE_NO_STATUS);
        FUZZ_CHECK(ev->close_code != WS_CLOSE_NO_STATUS || ev->len == 0);
        FUZZ_CHECK(ev->len <= WS_CONTROL_MAX - 2);
        FUZZ_CHECK(ev->len == 0 || fuzz_msg_inside(ev->data, ev->len, run->m.ctrl, WS_CONTROL_MAX));
        FUZZ_CHECK(ev->len == 0 || utf8_is_valid(ev->data, ev->len)); /* RFC 6455 §5.5.1 */
        fuzz_msg_log(run, 'C', ev->close_code, ev->data, ev->len);
        run->done = true;
        run->end = 'C';
        break;
    case WS_MSG_FAIL:
        FUZZ_CHECK(ev->close_code == WS_CLOSE_PROTOCOL || ev->close_code == WS_CLOSE_INVALID_DATA ||
                   ev->close_code == WS_CLOSE_TOO_BIG);
        FUZZ_CHECK(ev->reason != NULL);
        fuzz_msg_log(run, 'F', ev->close_code, ev->reason, strlen(ev->reason));
        run->done = true;
        run->end = 'F';
        break;
    default:
        FUZZ_CHECK(!"unknown event type");
    }
    FUZZ_CHECK(ws_msg_is_done(&run->m) == run->done);
}

/* Feeds <n> bytes at <src> as one chunk, from an exact copy: calls again while events
 * come, until NONE; <lazy> stops at the end of the chunk instead, leaving an event that
 * needs no bytes (the END of a frame) to the next feed. */
static void fuzz_msg_feed(struct fuzz_msg_run *run, const uint8_t *src, size_t n, bool lazy)
{
    uint8_t *chunk = fuzz_copy(src, n);
    size_t off = 0;
    int stalls = 0;

    for (;;) {
        struct ws_msg_event ev;
        size_t used = ws_msg_feed(&run->m, chunk + off, n - off, &ev);

        fuzz_msg_check(run, chunk + off, n - off, used, &ev);
        off += used;
        if (ev.type == WS_MSG_NONE)
            break;
        /* an event that used no bytes (a frame's END) is followed by one that uses some */
        stalls = used == 0 ? stalls + 1 : 0;
        FUZZ_CHECK(stalls <= 2);
        if (lazy && off == n)
            break;
    }
    free(chunk);
}

/* Runs <run> over <size> bytes at <data>, split by <split> or whole when NULL, then asks
 * with empty feeds for what is left to report. */
static void fuzz_msg_run(struct fuzz_msg_run *run, const struct ws_msg_limits *limits,
                         const uint8_t *data, size_t size, struct fuzz_split *split, bool lazy)
{
    size_t off = 0;

    memset(run, 0, sizeof(*run));
    ws_msg_init(&run->m, limits);
    FUZZ_CHECK(!ws_msg_is_done(&run->m));
    while (off < size) {
        size_t n = split != NULL ? fuzz_split_next(split, size - off) : size;
        fuzz_msg_feed(run, data + off, n, lazy);
        off += n;
    }
    fuzz_msg_feed(run, NULL, 0, false);
    /* finished: more bytes change nothing */
    if (run->done && size > 0)
        fuzz_msg_feed(run, data, size, false);
}

/* True if one of <a> and <b> starts the other. */
static bool fuzz_msg_is_prefix(const struct fuzz_msg_bytes *a, const struct fuzz_msg_bytes *b)
{
    size_t n = a->len < b->len ? a->len : b->len;

    return n == 0 || memcmp(a->p, b->p, n) == 0;
}

static void fuzz_msg_free(struct fuzz_msg_run *run)
{
    free(run->msg.p);
    free(run->log.p);
    free(run->frames.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_msg_limits limits = {0};
    struct fuzz_msg_run whole, split_run;
    struct fuzz_split split;
    unsigned flags;
    size_t skip = fuzz_split_init(&split, data, size, &flags);

    if (skip == 0)
        return 0;
    data += skip;
    size -= skip;
    if (flags & FUZZ_MSG_MAX_FRAME)
        limits.max_frame_bytes = fuzz_take_u32(&data, &size);
    if (flags & FUZZ_MSG_MAX_MESSAGE)
        limits.max_message_bytes = fuzz_take_u32(&data, &size);
    if (flags & FUZZ_MSG_HUGE) {
        limits.max_frame_bytes <<= 31;
        limits.max_message_bytes <<= 31;
    }

    fuzz_msg_run(&whole, &limits, data, size, NULL, false);
    fuzz_msg_run(&split_run, &limits, data, size, &split, (flags & FUZZ_MSG_LAZY) != 0);

    /* The chunking changes where DATA events split, nothing else: the same whole messages,
     * control frames and ending. An unfinished message may be cut shorter in one run
     * (failing text stops at the chunk that holds the bad byte), but never differs. */
    if (whole.log.len != split_run.log.len ||
        (whole.log.len > 0 && memcmp(whole.log.p, split_run.log.p, whole.log.len) != 0)) {
        fprintf(stderr, "events differ between whole and split feeding\n");
        abort();
    }
    FUZZ_CHECK(whole.done == split_run.done);
    FUZZ_CHECK(fuzz_msg_is_prefix(&whole.msg, &split_run.msg));
    FUZZ_CHECK(whole.open == split_run.open || whole.done);
    /* Bytes used: all of them, or those up to the end of the close frame, in both runs. */
    FUZZ_CHECK(whole.end == split_run.end);
    if (!whole.done)
        FUZZ_CHECK(whole.fed == size && split_run.fed == size);
    else if (whole.end == 'C')
        FUZZ_CHECK(whole.fed == split_run.fed);
    /* The frames marked: the same, but that a FAIL may come before the first event of the
     * failing frame in one run and after it in the other. */
    FUZZ_CHECK(fuzz_msg_is_prefix(&whole.frames, &split_run.frames));
    if (whole.end == 'F')
        FUZZ_CHECK(whole.frames.len + FUZZ_MSG_FRAME_REC >= split_run.frames.len &&
                   split_run.frames.len + FUZZ_MSG_FRAME_REC >= whole.frames.len);
    else
        FUZZ_CHECK(whole.frames.len == split_run.frames.len);
    fuzz_msg_free(&whole);
    fuzz_msg_free(&split_run);
    return 0;
}
