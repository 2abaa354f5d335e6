/*
 * wsclient.c - a WebSocket client: the pump between one browser connection and its
 * target (the shape of nginx's upgraded-connection pump), the close handshake
 * (RFC 6455 §5.5.1, §7), pings, and backpressure. Protocol decisions come from ws_msg.c;
 * this file only moves bytes and acts on the events it is given.
 */
#include "wsclient.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "bevread.h"
#include "bevwrite.h"
#include "clientsock.h"
#include "config.h"
#include "drain.h"
#include "http_reply.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "ratelimit.h"
#include "runconf.h"
#include "splicepump.h"
#include "timeval.h"
#include "tlsio.h"

/* What a client is told when its target cannot be reached: fixed texts, never the
 * target's address or the error (issue 12); the detail goes to the log line. */
#define WSCLIENT_REPLY_UNAVAILABLE "target unavailable"
#define WSCLIENT_REPLY_TIMEOUT "target timed out"

/* Frames one readable event may splice from a streaming target (up to 256 KiB each):
 * what bevread's budget is to the copying path, larger because nothing is buffered in
 * the daemon's memory. */
#define WSCLIENT_SPLICE_BURST 4

static void wsclient_pump_client(struct wsclient *wc, bool force);
static void wsclient_pump_target(struct wsclient *wc);

/* The warn line of a failed target connect: a peer may repeat it at will. */
static struct ratelimit wsclient_connect_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);

static const char *wsclient_state_names[] = {
    [WSCLIENT_CONNECTING] = "connecting",
    [WSCLIENT_OPEN] = "open",
    [WSCLIENT_CLOSING] = "closing",
    [WSCLIENT_DONE] = "done",
};

static void wsclient_set_state(struct wsclient *wc, enum wsclient_state state)
{
    log_msg(LOG_LEVEL_DEBUG, "client=%s %s -> %s", wc->peer, wsclient_state_names[wc->state],
            wsclient_state_names[state]);
    wc->state = state;
}

static const struct config *wsclient_config(const struct wsclient *wc)
{
    return wc->conf->config;
}

/* The target <wc> connects to: its route's, or the one a token chose. */
static const struct addr *wsclient_target(const struct wsclient *wc)
{
    return wc->own != NULL && wc->own->has_target ? &wc->own->target : &wc->route->target;
}

/* Seconds since <wc>->started, to the nanosecond (connect latencies are sub-millisecond). */
static double wsclient_elapsed_seconds(const struct wsclient *wc)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)((int64_t)now.tv_sec - (int64_t)wc->started.tv_sec) +
           (double)((int64_t)now.tv_nsec - (int64_t)wc->started.tv_nsec) / 1e9;
}

static uint64_t wsclient_elapsed_ms(const struct wsclient *wc)
{
    struct timespec now;
    int64_t ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    /* Signed: the nanosecond difference alone is negative about half the time. */
    ms = ((int64_t)now.tv_sec - (int64_t)wc->started.tv_sec) * 1000 +
         ((int64_t)now.tv_nsec - (int64_t)wc->started.tv_nsec) / 1000000;
    return ms > 0 ? (uint64_t)ms : 0;
}

/* Keeps the first close cause; later ones (the echo of our own close) change nothing. */
static void wsclient_note_close(struct wsclient *wc, uint16_t code, const uint8_t *reason,
                                size_t len, const char *by)
{
    if (wc->closed_by != NULL)
        return;
    wc->closed_by = by;
    wc->close_code = code;
    if (len > sizeof(wc->close_reason) - 1)
        len = sizeof(wc->close_reason) - 1;
    /* The reason may come from the client: kept as it is, escaped by log.c. */
    if (len > 0)
        memcpy(wc->close_reason, reason, len);
    wc->close_reason[len] = '\0';
}

/* wsclient_note_close with a text of the bridge's own (a C string). */
static void wsclient_note_close_text(struct wsclient *wc, uint16_t code, const char *text,
                                     const char *by)
{
    wsclient_note_close(wc, code, (const uint8_t *)text, strlen(text), by);
}

static void wsclient_log_access(const struct wsclient *wc)
{
    /* Nothing to format for a line that is not written (a quiet daemon). */
    if (!log_enabled(LOG_LEVEL_INFO))
        return;

    char target[ADDR_HOST_MAX + 16];
    struct log_field f[] = {
        {.key = "client", .str = wc->peer},
        {.key = "tls", .str = wc->tls_version},
        {.key = "route", .str = wc->route->path},
        {.key = "target", .str = target},
        {.key = "to_target", .type = LOG_FIELD_U64, .u64 = wc->to_target_bytes},
        {.key = "to_client", .type = LOG_FIELD_U64, .u64 = wc->to_client_bytes},
        {.key = "duration_ms", .type = LOG_FIELD_U64, .u64 = wsclient_elapsed_ms(wc)},
        {.key = "close", .type = LOG_FIELD_U64, .u64 = wc->close_code},
        {.key = "reason", .str = wc->close_reason},
        {.key = "by", .str = wc->closed_by != NULL ? wc->closed_by : "bridge"},
    };

    addr_format(wsclient_target(wc), target, sizeof(target));
    log_event(LOG_LEVEL_INFO, "access", f, sizeof(f) / sizeof(f[0]));
}

/* Takes a frame in flight out of its pipe into the client's output, ahead of whatever is
 * written next: called before anything else is written to the client, and before the
 * client's connection moves on. A pipe that cannot be read leaves the frame cut: the
 * client's connection can only end (its close frame is not sent). */
static void wsclient_unsplice(struct wsclient *wc)
{
    if (wc->splice == NULL)
        return;
    if (splicepump_unload(wc->splice, bufferevent_get_output(wc->bev)) != 0)
        wsclient_note_close_text(wc, WS_CLOSE_ABNORMAL, "splice pipe unreadable", "bridge");
    wc->splice = NULL;
    /* The frame's rest is now the output's to send, and libevent's writer must send it:
     * a direct write (bevwrite_flush, which writes only while EV_WRITE is off) could send
     * it all at once, and then no write callback would come to let the target go (seen
     * as a stream that stopped after a ping, the target held for ever). With EV_WRITE on,
     * the callback at the low watermark resumes the target, as on the copying path. */
    if (wc->bev != NULL && evbuffer_get_length(bufferevent_get_output(wc->bev)) > 0)
        bufferevent_enable(wc->bev, EV_WRITE);
    if (wc->target != NULL && wc->state == WSCLIENT_OPEN)
        flow_apply(&wc->to_client, wc->target, evbuffer_get_length(bufferevent_get_output(wc->bev)),
                   false);
}

static void wsclient_release_target(struct wsclient *wc)
{
    if (wc->connecting != NULL) {
        clientsock_free(wc->connecting);
        wc->connecting = NULL;
    }
    if (wc->target != NULL) {
        /* Everything already queued for the target is still delivered, then it sees EOF. */
        drain_start(wc->loop, wc->target, wsclient_config(wc)->close_timeout_ms, NULL);
        wc->target = NULL;
    }
}

/* Hands both connections to drain and leaves the object to the reaper. */
static void wsclient_finish(struct wsclient *wc)
{
    if (wc->state == WSCLIENT_DONE)
        return;
    wsclient_release_target(wc);
    heartbeat_stop(&wc->hb);
    if (wc->close_timer != NULL)
        evtimer_del(wc->close_timer);
    if (wc->hup != NULL) {
        event_free(wc->hup); /* before the socket moves on */
        wc->hup = NULL;
    }
    /* The target is gone: the route's count goes back now, the socket's with the socket. */
    connlimits_leave_route(&wc->slot);
    if (wc->bev != NULL) {
        wsclient_unsplice(wc);
        drain_start(wc->loop, wc->bev, wsclient_config(wc)->close_timeout_ms, &wc->slot);
        wc->bev = NULL;
    }
    if (wc->closed_by == NULL)
        wsclient_note_close(wc, WS_CLOSE_ABNORMAL, NULL, 0, "bridge");
    wsclient_log_access(wc);
    /* A client that never got its 101 was counted as a failed handshake instead. */
    if (wc->stats != NULL && wc->state != WSCLIENT_CONNECTING) {
        wc->stats->connections_open--;
        metrics_count_close(wc->loop->metrics, wc->close_code);
    }
    wsclient_set_state(wc, WSCLIENT_DONE);
    conn_finish(&wc->conn);
}

/* log.traffic (websockify's --traffic): one debug line per frame, "in" from the client or
 * "out" to it, with its header only: never a payload byte, which may be a password typed
 * into a remote desktop. Called only when wc->traffic is set, so that a connection without
 * it pays one test of a flag per frame. */
static void wsclient_trace(const struct wsclient *wc, const char *dir, bool fin, unsigned op,
                           uint64_t len)
{
    static const char *const names[16] = {
        [WS_OP_CONT] = "continuation", [WS_OP_TEXT] = "text", [WS_OP_BINARY] = "binary",
        [WS_OP_CLOSE] = "close",       [WS_OP_PING] = "ping", [WS_OP_PONG] = "pong",
    };
    const char *name = names[op & 0xF] != NULL ? names[op & 0xF] : "reserved";

    log_msg(LOG_LEVEL_DEBUG, "client=%s frame %s op=%s fin=%d len=%llu", wc->peer, dir, name,
            fin ? 1 : 0, (unsigned long long)len);
}

static void wsclient_send_control(struct wsclient *wc, enum ws_opcode op, const uint8_t *payload,
                                  size_t len)
{
    uint8_t frame[WS_FRAME_HEADER_MAX + WS_CONTROL_MAX];
    size_t n = ws_frame_write_header(frame, true, op, len, NULL);

    if (wc->traffic)
        wsclient_trace(wc, "out", true, op, len);
    if (len > 0)
        memcpy(frame + n, payload, len); /* RFC 6455 §5.5: len <= 125 */
    wsclient_unsplice(wc);
    bevwrite_add(wc->bev, frame, n + len);
}

static void wsclient_on_close_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wsclient_finish(arg);
}

void wsclient_close(struct wsclient *wc, uint16_t code, const char *reason, const char *by,
                    bool wait)
{
    uint8_t frame[2 + WS_CONTROL_MAX];
    struct timeval tv = timeval_from_ms(wsclient_config(wc)->close_timeout_ms);

    if (wc->state != WSCLIENT_OPEN) {
        if (wc->state == WSCLIENT_CLOSING && !wait)
            wsclient_finish(wc);
        return;
    }
    wsclient_note_close(wc, code == 0 ? WS_CLOSE_NO_STATUS : code, (const uint8_t *)reason,
                        reason != NULL ? strlen(reason) : 0, by);
    heartbeat_stop(&wc->hb);
    wsclient_release_target(wc);
    if (wc->bev != NULL) {
        size_t n = ws_frame_write_close(frame, code, reason != NULL ? reason : "");
        if (wc->traffic)
            wsclient_trace(wc, "out", true, WS_OP_CLOSE, n - 2); /* a 2-byte header */
        wsclient_unsplice(wc);
        bevwrite_add(wc->bev, frame, n);
    }
    if (!wait || wc->bev == NULL) {
        wsclient_finish(wc);
        return;
    }
    wsclient_set_state(wc, WSCLIENT_CLOSING);
    if (wc->close_timer == NULL)
        wc->close_timer = evtimer_new(wc->loop->base, wsclient_on_close_timeout, wc);
    if (wc->close_timer == NULL) {
        wsclient_finish(wc);
        return;
    }
    evtimer_add(wc->close_timer, &tv);
    /* Frames may already wait in the input: the client's close could be among them. */
    wsclient_pump_client(wc, false);
}

/* The client sent a valid close frame: answer it (OPEN) or accept it (CLOSING). */
static void wsclient_on_client_close(struct wsclient *wc, const struct ws_msg_event *ev)
{
    uint8_t frame[2 + WS_CONTROL_MAX];
    size_t n;

    wsclient_note_close(wc, ev->close_code, ev->data, ev->len, "client");
    if (wc->state == WSCLIENT_OPEN) {
        /* RFC 6455 §5.5.1: echo the status code; a close without one gets an empty one. */
        n = ws_frame_write_close(frame, ev->close_code == WS_CLOSE_NO_STATUS ? 0 : ev->close_code,
                                 "");
        if (wc->traffic)
            wsclient_trace(wc, "out", true, WS_OP_CLOSE, n - 2); /* a 2-byte header */
        wsclient_unsplice(wc);
        bevwrite_add(wc->bev, frame, n);
    }
    wsclient_finish(wc);
}

static void wsclient_on_client_hup(evutil_socket_t fd, short what, void *arg)
{
    struct wsclient *wc = arg;

    (void)fd;
    (void)what;
    /* The client closed (or reset) while we were not reading it. It can send nothing
     * more, so what is left in its socket is bounded: read it all, deliver it, and let
     * the end-of-file path close the connection. */
    log_msg(LOG_LEVEL_DEBUG, "client=%s closed while paused", wc->peer);
    wc->client_fin = true;
    if (wc->state == WSCLIENT_OPEN || wc->state == WSCLIENT_CLOSING) {
        bufferevent_enable(wc->bev, EV_READ);
        tlsio_resume(wc->bev);
    }
}

/* Turns reading the client on or off. While it is off, a peer close is still noticed
 * (EV_CLOSED: EPOLLRDHUP), so a paused client that leaves does not hold its target for ever. */
static void wsclient_set_client_reading(struct wsclient *wc, bool on)
{
    if (on || wc->client_fin) {
        bufferevent_enable(wc->bev, EV_READ);
        tlsio_resume(wc->bev);
        if (wc->hup != NULL)
            event_del(wc->hup);
        return;
    }
    bufferevent_disable(wc->bev, EV_READ);
    if (wc->hup == NULL && bufferevent_getfd(wc->bev) >= 0 &&
        (event_base_get_features(wc->loop->base) & EV_FEATURE_EARLY_CLOSE))
        wc->hup = event_new(wc->loop->base, bufferevent_getfd(wc->bev), EV_CLOSED,
                            wsclient_on_client_hup, wc);
    if (wc->hup != NULL)
        event_add(wc->hup, NULL);
}

/* Client -> target. Parses what the client sent and moves data payloads to the target's
 * output without copying where the evbuffer chains allow. Stops while the target (or, for
 * pongs, the client) has more queued than the high watermark; <force> ignores that, for
 * the last bytes before the client's connection ends. Leaves the payloads queued for
 * wsclient_pump_client to send at once. */
static void wsclient_pump_client_frames(struct wsclient *wc, bool force)
{
    struct evbuffer *in = bufferevent_get_input(wc->bev);
    struct evbuffer *out_client = bufferevent_get_output(wc->bev);
    const struct config *cfg = wsclient_config(wc);

    force = force || wc->client_fin;
    while (wc->state == WSCLIENT_OPEN || wc->state == WSCLIENT_CLOSING) {
        struct evbuffer_iovec v;
        struct ws_msg_event ev;
        size_t used;

        if (wc->state == WSCLIENT_OPEN && !force) {
            size_t queued =
                wc->target != NULL ? evbuffer_get_length(bufferevent_get_output(wc->target)) : 0;
            bool ok = flow_update(&wc->to_target, queued) &&
                      evbuffer_get_length(out_client) <= cfg->high_watermark_bytes;
            if (!ok)
                break;
        }
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            break;
        used = ws_msg_feed(&wc->msg, v.iov_base, v.iov_len, &ev);
        if (wc->traffic && ev.frame_first)
            wsclient_trace(wc, "in", wc->msg.frame.fin, wc->msg.frame.opcode,
                           wc->msg.frame.payload_len);
        if (ev.type != WS_MSG_NONE && ev.type != WS_MSG_FAIL)
            heartbeat_on_activity(&wc->hb);
        switch (ev.type) {
        case WS_MSG_NONE:
            if (used == 0) {
                /* The parser is finished: whatever follows a close frame is discarded. */
                evbuffer_drain(in, evbuffer_get_length(in));
                return;
            }
            evbuffer_drain(in, used);
            break;
        case WS_MSG_DATA:
            evbuffer_drain(in, used - ev.len);
            if (wc->state == WSCLIENT_OPEN && wc->target != NULL && ev.len > 0) {
                bevwrite_queue(wc->target, NULL, 0, in, ev.len);
                wc->to_target_bytes += ev.len;
                if (wc->stats != NULL)
                    wc->stats->to_target_bytes += ev.len;
                heartbeat_on_data(&wc->hb);
            } else {
                evbuffer_drain(in, ev.len);
            }
            break;
        case WS_MSG_PING:
            if (wc->state == WSCLIENT_OPEN)
                wsclient_send_control(wc, WS_OP_PONG, ev.data, ev.len);
            evbuffer_drain(in, used);
            break;
        case WS_MSG_PONG:
            evbuffer_drain(in, used);
            break;
        case WS_MSG_CLOSE:
            evbuffer_drain(in, used);
            wsclient_on_client_close(wc, &ev);
            return;
        case WS_MSG_FAIL:
            evbuffer_drain(in, evbuffer_get_length(in));
            log_msg(LOG_LEVEL_DEBUG, "client=%s protocol error %u: %s", wc->peer, ev.close_code,
                    ev.reason);
            if (wc->state == WSCLIENT_OPEN)
                wsclient_close(wc, ev.close_code, ev.reason, "bridge", false);
            else
                wsclient_finish(wc);
            return;
        }
    }
    if (wc->state == WSCLIENT_OPEN && !force) {
        size_t queued =
            wc->target != NULL ? evbuffer_get_length(bufferevent_get_output(wc->target)) : 0;
        bool target_ok = flow_update(&wc->to_target, queued);

        wsclient_set_client_reading(
            wc, target_ok && evbuffer_get_length(out_client) <= cfg->high_watermark_bytes);
        /* Held back for its target, the client cannot be heard: excuse its pongs. Held
         * back because it does not read what we send, it stays on the hook. */
        if (target_ok)
            heartbeat_resume(&wc->hb);
        else
            heartbeat_pause(&wc->hb);
    }
}

/* Client -> target: the frames parsed, then their payloads sent together, one sendmsg
 * for every frame that came in one read. A send that empties the target's output may
 * let parsing (and reading) go on: then once more, until nothing more moves. */
static void wsclient_pump_client(struct wsclient *wc, bool force)
{
    for (;;) {
        wsclient_pump_client_frames(wc, force);
        if (wc->state != WSCLIENT_OPEN || wc->target == NULL ||
            !bevwrite_flush(wc->target))
            return;
    }
}

/* Validates the target's new bytes on a text route and returns how many whole UTF-8
 * characters can be framed now, or -1 if the target sent something that is not UTF-8. */
static ssize_t wsclient_text_ready(struct wsclient *wc, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v[8];
    int n;

    if (evbuffer_ptr_set(in, &pos, wc->text_held, EVBUFFER_PTR_SET) != 0)
        return -1;
    while (pos.pos < (ssize_t)len) {
        n = evbuffer_peek(in, -1, &pos, v, 8);
        for (int i = 0; i < n && i < 8; i++) {
            if (!utf8_feed(&wc->text_out, v[i].iov_base, v[i].iov_len))
                return -1;
            evbuffer_ptr_set(in, &pos, v[i].iov_len, EVBUFFER_PTR_ADD);
        }
    }
    wc->text_held = utf8_pending_bytes(&wc->text_out);
    return (ssize_t)(len - wc->text_held);
}

/* Target -> client: everything the target sent so far becomes one frame; the payload
 * chains move to the client's output without a copy. */
static void wsclient_pump_target(struct wsclient *wc)
{
    struct evbuffer *in;
    struct evbuffer *out;
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    size_t len;
    ssize_t ready;
    enum ws_opcode op = WS_OP_BINARY;

    /* A frame in flight holds the target until it is out (wsclient_on_spliced). */
    if (wc->target == NULL || wc->splice != NULL)
        return;
    in = bufferevent_get_input(wc->target);
    len = evbuffer_get_length(in);
    if (wc->state != WSCLIENT_OPEN) {
        evbuffer_drain(in, len);
        return;
    }
    out = bufferevent_get_output(wc->bev);
    if (len > 0 && wc->route->frames == ROUTE_FRAMES_TEXT) {
        op = WS_OP_TEXT;
        ready = wsclient_text_ready(wc, in);
        if (ready < 0) {
            wsclient_close(wc, WS_CLOSE_INTERNAL, "target sent invalid UTF-8 on a text route",
                           "bridge", true);
            return;
        }
        len = (size_t)ready;
    }
    if (len > 0) {
        if (wc->traffic)
            wsclient_trace(wc, "out", true, op, len);
        bevwrite_move(wc->bev, hdr, ws_frame_write_header(hdr, true, op, len, NULL), in, len);
        wc->to_client_bytes += len;
        if (wc->stats != NULL)
            wc->stats->to_client_bytes += len;
        heartbeat_on_data(&wc->hb);
    }
    flow_apply(&wc->to_client, wc->target, evbuffer_get_length(out), false);
}

static void wsclient_on_client_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    wsclient_pump_client(arg, false);
}

static void wsclient_on_client_write(struct bufferevent *bev, void *arg)
{
    struct wsclient *wc = arg;

    bevwrite_on_written(bev);
    /* The client's output fell to the low watermark: the target may be read again, and
     * input held back for pongs may be parsed. */
    if (wc->state != WSCLIENT_OPEN)
        return;
    wsclient_pump_target(wc);
    if (wc->state == WSCLIENT_OPEN)
        wsclient_pump_client(wc, false);
}

static void wsclient_on_client_event(struct bufferevent *bev, short what, void *arg)
{
    struct wsclient *wc = arg;
    char reason[96];

    (void)bev;
    if (wc->state == WSCLIENT_OPEN) {
        /* Bytes that arrived before the end are delivered first. */
        wsclient_pump_client(wc, true);
        if (wc->state != WSCLIENT_OPEN)
            return;
    }
    if (what & BEV_EVENT_ERROR)
        snprintf(reason, sizeof(reason), "client connection: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    else
        snprintf(reason, sizeof(reason), "client closed the connection without a close frame");
    wsclient_note_close_text(wc, WS_CLOSE_ABNORMAL, reason, "client");
    wsclient_finish(wc);
}

static void wsclient_on_target_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    wsclient_pump_target(arg);
}

static void wsclient_on_client_event(struct bufferevent *bev, short what, void *arg);

/* The frame in flight is out (or the client's socket failed under it). */
static void wsclient_on_spliced(void *arg, int err)
{
    struct wsclient *wc = arg;

    wc->splice = NULL;
    if (err != 0) {
        /* As libevent's writer would report it. */
        bufferevent_disable(wc->bev, EV_WRITE);
        EVUTIL_SET_SOCKET_ERROR(err);
        wsclient_on_client_event(wc->bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, wc);
        return;
    }
    /* The target was held while the pipe was full: read it again (if the client's output
     * allows: only control frames can have been queued meanwhile). */
    wsclient_pump_target(wc);
}

/* The target's socket is readable (bevread_take_as, on splice_ok connections). A target
 * that streams (its last read was big) is spliced to the client while nothing waits in
 * the client's output; otherwise, and whenever splicing is not possible now, bevread
 * reads and the copying path frames. The event's argument is the bufferevent, not <wc>:
 * once the target has gone to drain, with other callbacks, it is only read. */
static void wsclient_on_target_readable(int fd, short what, void *arg)
{
    struct bufferevent *bev = arg;
    bufferevent_data_cb on_read;
    bufferevent_event_cb on_event;
    struct wsclient *wc;
    ssize_t n;

    (void)what;
    bufferevent_getcb(bev, &on_read, NULL, &on_event, (void **)&wc);
    if (on_read != wsclient_on_target_read || !wc->splice_next || wc->state != WSCLIENT_OPEN ||
        wc->splice != NULL || !bevwrite_is_idle(wc->bev) ||
        evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
        size_t got = bevread_read(bev);

        if (on_read == wsclient_on_target_read)
            wc->splice_next = got >= SPLICEPUMP_WORTH_BYTES;
        return;
    }
    if (wc->loop->splice == NULL)
        wc->loop->splice = splicepump_pool_new(wc->loop->base);
    if (wc->loop->splice == NULL) {
        bevread_read(bev);
        return;
    }
    /* A big frame that went out whole says the target streams and the client takes it:
     * a few more before going back to the loop (each saves an epoll_wait; the last may
     * find nothing, EAGAIN, which costs as much). */
    for (int burst = 0; burst < WSCLIENT_SPLICE_BURST; burst++) {
        n = splicepump_start(wc->loop->splice, &wc->splice, fd, bufferevent_getfd(wc->bev),
                             wsclient_on_spliced, wc);
        if (n <= 0)
            break;
        wc->splice_next = (size_t)n >= SPLICEPUMP_WORTH_BYTES;
        wc->to_client_bytes += (uint64_t)n;
        if (wc->stats != NULL)
            wc->stats->to_client_bytes += (uint64_t)n;
        heartbeat_on_data(&wc->hb);
        if (wc->splice != NULL) {
            /* The pipe is the buffer, and the client's socket is full: hold the target,
             * as a pause (counted; the frame's end or its unloading resumes it). */
            flow_update(&wc->to_client, SIZE_MAX);
            bufferevent_disable(bev, EV_READ);
            return;
        }
        if (!wc->splice_next)
            return;
    }
    if (n > 0)
        return;
    if (n < 0 && errno == ENOBUFS) {
        bevread_read(bev); /* every pipe is lent: copy this time */
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    /* End of file or an error: as bevread reports them. */
    bufferevent_disable(bev, EV_READ);
    on_event(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), wc);
}

static void wsclient_on_target_write(struct bufferevent *bev, void *arg)
{
    struct wsclient *wc = arg;

    bevwrite_on_written(bev);
    /* The target's output fell to the low watermark: parse and read the client again. */
    if (wc->state == WSCLIENT_OPEN)
        wsclient_pump_client(wc, false);
}

static void wsclient_on_target_event(struct bufferevent *bev, short what, void *arg)
{
    struct wsclient *wc = arg;
    char reason[120];

    (void)bev;
    wsclient_pump_target(wc);
    if (wc->state != WSCLIENT_OPEN)
        return;
    if (what & BEV_EVENT_ERROR) {
        snprintf(reason, sizeof(reason), "target connection: %s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        wsclient_close(wc, WS_CLOSE_INTERNAL, reason, "target", true);
        return;
    }
    wsclient_close(wc, WS_CLOSE_NORMAL, "target closed the connection", "target", true);
}

static void wsclient_on_ping_due(void *arg, const uint8_t *payload, size_t len)
{
    struct wsclient *wc = arg;

    wsclient_send_control(wc, WS_OP_PING, payload, len);
}

static void wsclient_on_pong_missing(void *arg)
{
    struct wsclient *wc = arg;

    log_msg(LOG_LEVEL_DEBUG, "client=%s no answer to ping", wc->peer);
    wsclient_close(wc, WS_CLOSE_INTERNAL, "no pong within the heartbeat timeout", "bridge", false);
}

static void wsclient_on_idle(void *arg)
{
    struct wsclient *wc = arg;

    wsclient_close(wc, WS_CLOSE_GOING_AWAY, "idle timeout", "bridge", true);
}

static void wsclient_reply_error(struct wsclient *wc, int status, const char *reason)
{
    char buf[1024];
    size_t n = http_reply_error(buf, sizeof(buf), status, reason);

    bevwrite_add(wc->bev, buf, n);
}

static void wsclient_on_connected(struct clientsock *cs, enum clientsock_result result,
                                  const char *reason, void *arg)
{
    struct wsclient *wc = arg;
    const struct config *cfg = wsclient_config(wc);
    char buf[512];
    size_t n;
    bool splice_ok;

    if (result != CLIENTSOCK_CONNECTED) {
        int status = result == CLIENTSOCK_TIMEOUT ? 504 : 502;

        log_msg_limited(&wsclient_connect_log, LOG_LEVEL_WARN,
                        "client=%s route=%s: %s (answered %d)", wc->peer, wc->route->path,
                        reason, status);
        /* The reason names the target and the error: too many label values for a metric,
         * and nothing a client should learn of the inside (addresses, TLS verdicts). It
         * stays in the log line above. */
        metrics_count_failure(wc->loop->metrics, status,
                              status == 504 ? "target connect timeout" : "target connect failed");
        wsclient_reply_error(wc, status,
                             status == 504 ? WSCLIENT_REPLY_TIMEOUT : WSCLIENT_REPLY_UNAVAILABLE);
        wsclient_note_close_text(wc, WS_CLOSE_ABNORMAL, reason, "target");
        wsclient_finish(wc);
        return;
    }
    wc->target = clientsock_take_bev(cs);
    clientsock_free(cs);
    wc->connecting = NULL;
    bufferevent_setcb(wc->target, wsclient_on_target_read, wsclient_on_target_write,
                      wsclient_on_target_event, wc);
    bufferevent_setwatermark(wc->target, EV_WRITE, (size_t)cfg->low_watermark_bytes, 0);
    /* libevent 2.1 writes at most 16 KiB per event by default; let one writev take up to
     * a high watermark's worth. */
    bufferevent_set_max_single_write(wc->target, (size_t)cfg->high_watermark_bytes);
    bufferevent_set_max_single_write(wc->bev, (size_t)cfg->high_watermark_bytes);
    bufferevent_setcb(wc->bev, wsclient_on_client_read, wsclient_on_client_write,
                      wsclient_on_client_event, wc);
    /* Plain sockets are read by bevread (no FIONREAD, more than 4 KiB a wakeup), which
     * calls the callbacks above as libevent does for TLS and the echo pair. */
    /* splice: plain sockets both ways, a binary route, no per-frame trace lines. */
    splice_ok = cfg->splice == CONFIG_SPLICE_AUTO && wc->route->frames != ROUTE_FRAMES_TEXT &&
                !wc->traffic && bufferevent_openssl_get_ssl(wc->bev) == NULL &&
                bevwrite_is_idle(wc->bev) &&
                bevread_take_as(wc->target, wsclient_on_target_readable);
    if (!splice_ok)
        bevread_take(wc->target);
    if (!bevread_take(wc->bev))
        tlsio_take(wc->bev); /* TLS: whole records, many a wakeup; direct writes */
    bufferevent_setwatermark(wc->bev, EV_WRITE, (size_t)cfg->low_watermark_bytes, 0);
    /* On plain sockets EV_WRITE is on only while libevent holds bytes the kernel did not
     * take (bevwrite.c): the 101 and what follows go straight out. */
    bevwrite_on_written(wc->bev);
    bevwrite_on_written(wc->target);
    n = http_reply_101(buf, sizeof(buf), wc->accept,
                       wc->own != NULL && wc->own->subprotocol[0] != '\0' ? wc->own->subprotocol
                                                                        : NULL);
    bevwrite_add(wc->bev, buf, n);
    if (wc->own != NULL && !wc->own->has_target) {
        free(wc->own); /* the subprotocol alone: its work is done */
        wc->own = NULL;
    }
    if (wc->stats != NULL) {
        metrics_histogram_observe(&wc->stats->connect_seconds, wsclient_elapsed_seconds(wc));
        wc->stats->connections_total++;
        wc->stats->connections_open++;
    }
    clock_gettime(CLOCK_MONOTONIC, &wc->started);
    wsclient_set_state(wc, WSCLIENT_OPEN);
    if (heartbeat_start(&wc->hb, wc->loop->base, cfg->heartbeat_interval_ms,
                        cfg->heartbeat_timeout_ms, wsclient_on_ping_due, wsclient_on_pong_missing,
                        wc) != 0 ||
        heartbeat_start_idle(&wc->hb, wc->loop->base, wc->route->idle_timeout_ms,
                             wsclient_on_idle) != 0) {
        wsclient_close(wc, WS_CLOSE_INTERNAL, "out of memory", "bridge", false);
        return;
    }
    /* EV_WRITE on a plain socket with nothing queued would only wake the loop for nothing:
     * bevwrite enables it when a write falls short. */
    bufferevent_enable(wc->target, bevwrite_is_idle(wc->target) ? EV_READ : EV_READ | EV_WRITE);
    bufferevent_enable(wc->bev, bevwrite_is_idle(wc->bev) ? EV_READ : EV_READ | EV_WRITE);
    tlsio_resume(wc->bev);
    /* Frames the client pipelined right after its request are already here. */
    wsclient_pump_client(wc, false);
}

static void wsclient_on_early_event(struct bufferevent *bev, short what, void *arg)
{
    struct wsclient *wc = arg;

    (void)bev;
    (void)what;
    /* The client left while we were still connecting to its target. */
    wsclient_note_close_text(wc, WS_CLOSE_ABNORMAL, "client left before the target answered",
                             "client");
    wsclient_finish(wc);
}

/* Frees <wc> and whatever it still holds: nothing but memory once finished (its
 * connections went to drain), both connections at once if it is live (a loop that ends
 * before its clients did). */
static void wsclient_conn_free(struct conn *c)
{
    struct wsclient *wc = CONN_OF(c, struct wsclient, conn);

    if (wc->bev != NULL)
        wsclient_unsplice(wc); /* gives the pipe back; the bytes go with the connection */
    if (wc->target != NULL) {
        if (bufferevent_getfd(wc->target) < 0)
            bufferevent_flush(wc->target, EV_WRITE, BEV_FINISHED);
        bufferevent_free(wc->target);
    }
    if (wc->bev != NULL)
        bufferevent_free(wc->bev);
    heartbeat_stop(&wc->hb);
    if (wc->close_timer != NULL)
        event_free(wc->close_timer);
    if (wc->hup != NULL)
        event_free(wc->hup);
    clientsock_free(wc->connecting);
    connlimits_release(&wc->slot);
    runconf_unref(wc->conf);
    free(wc->own);
    free(wc);
}

static const char *wsclient_conn_state(const struct conn *c)
{
    return wsclient_state_names[CONN_OF(c, struct wsclient, conn)->state];
}

/* The loop stops: an open client is told 1001 and gets its close handshake. */
static void wsclient_conn_stop(struct conn *c)
{
    struct wsclient *wc = CONN_OF(c, struct wsclient, conn);

    if (wc->state == WSCLIENT_OPEN)
        wsclient_close(wc, WS_CLOSE_GOING_AWAY, "server shutting down", "bridge", true);
}

static const struct conn_ops wsclient_conn_ops = {
    .kind = "websocket",
    .free = wsclient_conn_free,
    .state = wsclient_conn_state,
    .stop = wsclient_conn_stop,
};

/* Copies into <wc>->own what outlives the caller's: the subprotocol of <res> (which may
 * live in <res>, a first offer) and a <target> other than <route>'s. Returns 0, or -1 if
 * out of memory. */
static int wsclient_own_new(struct wsclient *wc, const struct route *route,
                            const struct addr *target, const struct handshake_result *res)
{
    const char *sub = res->subprotocol != NULL ? res->subprotocol : "";
    size_t len = strlen(sub);

    if (target == &route->target && len == 0)
        return 0;
    if ((wc->own = malloc(sizeof(*wc->own) + len + 1)) == NULL)
        return -1;
    wc->own->has_target = target != &route->target;
    if (wc->own->has_target)
        wc->own->target = *target;
    memcpy(wc->own->subprotocol, sub, len + 1);
    return 0;
}

void wsclient_new(struct loop *l, struct bufferevent *bev, const struct route *route,
                  const struct addr *target, const struct handshake_result *res,
                  struct connlimits_slot *slot, const struct sockaddr *client, const char *peer)
{
    const struct config *cfg = loop_config(l);
    struct sockaddr_storage local;
    socklen_t local_len = sizeof(local);
    struct clientsock_proxy proxy = {.version = route->send_proxy == ROUTE_SEND_PROXY_V1 ? 1 : 2,
                                     .src = client};
    struct ws_msg_limits limits = {.max_frame_bytes = route->max_frame_bytes,
                                   .max_message_bytes = route->max_message_bytes};
    const SSL *ssl = bufferevent_openssl_get_ssl(bev);
    struct wsclient *wc = calloc(1, sizeof(*wc));

    if (wc != NULL && wsclient_own_new(wc, route, target, res) != 0) {
        free(wc);
        wc = NULL;
    }
    if (wc == NULL) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", peer);
        bufferevent_free(bev);
        connlimits_release(slot);
        return;
    }
    connlimits_move(&wc->slot, slot);
    wc->loop = l;
    wc->conf = runconf_ref(l->conf);
    wc->route = route;
    wc->bev = bev;
    wc->tls_version = ssl != NULL ? SSL_get_version(ssl) : "no";
    /* Decided once: the level can only change with a reload, and a connection keeps the
     * configuration it started under. */
    wc->traffic = cfg->log.traffic && log_enabled(LOG_LEVEL_DEBUG);
    memcpy(wc->accept, res->accept, sizeof(wc->accept));
    snprintf(wc->peer, sizeof(wc->peer), "%s", peer);
    clock_gettime(CLOCK_MONOTONIC, &wc->started);
    ws_msg_init(&wc->msg, &limits);
    utf8_init(&wc->text_out);
    flow_init(&wc->to_target, cfg->high_watermark_bytes, cfg->low_watermark_bytes);
    flow_init(&wc->to_client, cfg->high_watermark_bytes, cfg->low_watermark_bytes);
    /* Looked up once here: the route's entry never moves, even across reloads. */
    wc->stats = metrics_route_get(l->metrics, route->path);
    if (wc->stats != NULL) {
        wc->to_target.pauses = &wc->stats->client_read_pauses;
        wc->to_client.pauses = &wc->stats->target_read_pauses;
    }
    wc->state = WSCLIENT_CONNECTING;
    conn_add(&l->conns, &wc->conn, &wsclient_conn_ops);
    bufferevent_setcb(bev, NULL, NULL, wsclient_on_early_event, wc);
    /* Read nothing until the target answers: pipelined frames wait in the input. */
    bufferevent_disable(bev, EV_READ);
    bufferevent_set_timeouts(bev, NULL, NULL);
    /* send_proxy: the bridge's end of the client's connection is the address the client
     * reached (behind a proxy, the one the proxy reached). */
    if (getsockname(bufferevent_getfd(bev), (struct sockaddr *)&local, &local_len) == 0)
        proxy.dst = (const struct sockaddr *)&local;
    /* A tls:// target's context is found by its route's place in the configuration. */
    wc->connecting = clientsock_new(
        l->base, l->dns, wc->conf->tls, wsclient_target(wc),
        (size_t)(route - wc->conf->config->routes), route->connect_timeout_ms,
        cfg->high_watermark_bytes, cfg->low_watermark_bytes,
        route->send_proxy != ROUTE_SEND_PROXY_OFF ? &proxy : NULL, route->sources,
        route->n_sources, wsclient_on_connected, wc);
    if (wc->connecting == NULL) {
        log_msg(LOG_LEVEL_WARN, "client=%s route=%s: cannot start a connection to the target "
                "(answered 502)", peer, route->path);
        metrics_count_failure(l->metrics, 502, "cannot start a connection to the target");
        wsclient_reply_error(wc, 502, WSCLIENT_REPLY_UNAVAILABLE);
        wsclient_note_close_text(wc, WS_CLOSE_ABNORMAL, "no socket", "bridge");
        wsclient_finish(wc);
    }
}
