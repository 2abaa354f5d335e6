/*
 * conn.c - one connection of the load generator, driven by epoll events: connect, the
 * RFC 6455 §4.1 upgrade (wsc.c), masked messages out while the run's mode allows, echoes
 * in through the frame parser (or straight, for raw TCP) and checked byte by byte against
 * the pattern at their stream offset, pings answered, the close handshake. Whatever goes
 * wrong is counted in the run and ends this connection only.
 */
#define _GNU_SOURCE /* IP_BIND_ADDRESS_NO_PORT */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"
#include "pattern.h"
#include "tlsc.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* linux/in.h, since 4.2 */
#endif

static uint8_t conn_rbuf[LOADGEN_READ_BYTES]; /* every read lands here, then is parsed */

static void conn_random(void *out, size_t len)
{
    static uint64_t x;
    uint8_t *p = out;

    if (x == 0)
        x = loadgen_now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x2545f4914f6cdd1du;
    for (size_t i = 0; i < len; i++) { /* xorshift: mask keys and Sec-WebSocket-Key */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

static void conn_set_state(struct loadgen *lg, struct conn *c, enum conn_state s)
{
    (void)lg;
    c->state = s;
    c->state_ns = loadgen_now_ns();
}

/* Registers what <c> waits for: reading when it reads, writing while output is pending
 * or a connect is in progress. */
static void conn_watch(struct loadgen *lg, struct conn *c)
{
    bool pending = c->out_pos < c->out_len || c->state == CONN_CONNECTING || c->tls_want_write;
    uint32_t ev = (c->reading ? EPOLLIN : 0) | (pending ? EPOLLOUT : 0);
    struct epoll_event e = {.events = ev, .data.ptr = c};

    if (ev == c->events)
        return;
    if (epoll_ctl(lg->ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
        conn_fail(lg, c, "epoll_ctl: %s", strerror(errno));
    else
        c->events = ev;
}

/* The connection is over: closes its fd and updates the run's counters. A handshake
 * cycle counts when it ends inside MEASURE. */
void conn_finish(struct loadgen *lg, struct conn *c, bool clean)
{
    uint64_t now = loadgen_now_ns();

    if (c->state == CONN_DONE || c->state == CONN_FREE)
        return;
    if (!clean)
        lg->unclean++;
    if (c->ssl != NULL) /* raw TCP over TLS: the client ends first, with close_notify */
        tlsc_end(c, clean && !c->failed && !lg->o.ws && c->state == CONN_OPEN);
    close(c->fd);
    c->fd = -1;
    conn_set_state(lg, c, CONN_DONE);
    lg->live--;
    if (lg->o.mode == LOADGEN_HANDSHAKE && !c->failed && c->rx_off == lg->o.msg_bytes) {
        lg->completed_total++;
        if (lg->phase == LOADGEN_MEASURE) { /* cycles that end inside the window */
            lg->completed++;
            if (lg->nsamples < lg->samples_cap)
                lg->samples[lg->nsamples++] = now - c->born_ns;
        }
    }
}

void conn_fail(struct loadgen *lg, struct conn *c, const char *fmt, ...)
{
    va_list ap;

    if (c->state == CONN_DONE || c->state == CONN_FREE)
        return;
    if (lg->errors++ == 0) {
        va_start(ap, fmt);
        vsnprintf(lg->error, sizeof(lg->error), fmt, ap);
        va_end(ap);
    }
    if (lg->o.mode == LOADGEN_CONNECTIONS && !c->echoed)
        lg->open_failed++;
    c->failed = true;
    conn_finish(lg, c, true);
}

/* Opens slot <c> as connection number <n>: a socket bound to its source address,
 * connecting. Failures are counted, never fatal to the run. */
void conn_start(struct loadgen *lg, struct conn *c, unsigned n)
{
    struct sockaddr_in src = {.sin_family = AF_INET};
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    int one = 1;
    uint8_t *buf = c->buf;
    size_t cap = c->buf_cap;

    memset(c, 0, sizeof(*c));
    c->buf = buf;
    c->buf_cap = cap;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->state = CONN_CONNECTING;
    c->born_ns = c->state_ns = loadgen_now_ns();
    c->events = EPOLLOUT;
    c->reading = true;
    wsc_parser_init(&c->parser);
    lg->started++;
    lg->live++;
    if (c->fd < 0) {
        conn_fail(lg, c, "socket: %s", strerror(errno));
        return;
    }
    /* 127.0.0.x, one address per LOADGEN_PORTS_PER_ADDR connections: each source address
     * has its own ephemeral port range towards the relay. */
    if (lg->o.n_src_list > 0)
        src.sin_addr = lg->o.src_list[n % lg->o.n_src_list];
    else
        src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + n % lg->o.src_addrs);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
        conn_fail(lg, c, "bind %s: %s", inet_ntoa(src.sin_addr), strerror(errno));
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&lg->o.dst, sizeof(lg->o.dst)) != 0 &&
        errno != EINPROGRESS) {
        conn_fail(lg, c, "connect %s: %s", lg->o.host, strerror(errno));
        return;
    }
    if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, c->fd, &e) != 0)
        conn_fail(lg, c, "epoll_ctl: %s", strerror(errno));
}

static bool conn_wants_message(struct loadgen *lg, struct conn *c)
{
    bool flowing = lg->phase == LOADGEN_WARMUP || lg->phase == LOADGEN_MEASURE;

    if (c->state != CONN_OPEN)
        return false;
    switch (lg->o.mode) {
    case LOADGEN_THROUGHPUT:
        return flowing && c->tx_off - c->rx_off + lg->o.msg_bytes <= lg->o.window_bytes;
    case LOADGEN_LATENCY:
        return flowing && c->tx_off == c->rx_off;
    case LOADGEN_CONNECTIONS:
        /* -E: a second message once the hold is over */
        return c->tx_off == 0 ||
               (c->final_due && c->tx_off == lg->o.msg_bytes && c->rx_off == c->tx_off);
    case LOADGEN_HANDSHAKE:
        return c->tx_off == 0;
    case LOADGEN_STALL_WRITE:
        return lg->phase == LOADGEN_MEASURE && !lg->rss_capped && c->tx_off < lg->o.stall_bytes;
    case LOADGEN_STALL_READ:
        break;
    }
    return false;
}

/* Puts the next message in the output: a masked binary frame of the pattern at tx_off,
 * or (tcp) the pattern bytes themselves, written straight from the table. */
static void conn_build_message(struct loadgen *lg, struct conn *c)
{
    size_t len = lg->o.msg_bytes;
    const uint8_t *payload = pattern_at(c->tx_off);

    if (lg->o.ws) {
        uint8_t mask[4];
        conn_random(mask, sizeof(mask));
        size_t h = wsc_header_write(c->buf, WSC_OP_BINARY, len, mask);
        wsc_mask(c->buf + h, payload, len, mask);
        c->out = c->buf;
        c->out_len = h + len;
    } else {
        c->out = payload;
        c->out_len = len;
    }
    c->out_pos = 0;
    c->tx_off += len;
    c->msg_ns = loadgen_now_ns();
}

/* Puts a control frame in the (empty) output. */
static void conn_build_control(struct conn *c, uint8_t opcode, const uint8_t *payload, size_t len)
{
    uint8_t mask[4];

    conn_random(mask, sizeof(mask));
    size_t h = wsc_header_write(c->buf, opcode, len, mask);
    wsc_mask(c->buf + h, payload, len, mask);
    c->out = c->buf;
    c->out_len = h + len;
    c->out_pos = 0;
}

/* send() or, with -T, SSL_write(): bytes taken, or -1 with errno (EAGAIN: later). */
static ssize_t conn_send(struct conn *c, const void *buf, size_t len)
{
    if (c->ssl != NULL)
        return tlsc_write(c, buf, len);
    return send(c->fd, buf, len, MSG_NOSIGNAL);
}

/* recv() or, with -T, SSL_read(): bytes, 0 at the end, or -1 with errno. */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
    if (c->ssl != NULL)
        return tlsc_read(c, buf, len);
    return recv(c->fd, buf, len, 0);
}

/* What the last failed conn_send() or conn_recv() means. */
static const char *conn_io_error(const struct conn *c)
{
    return c->ssl != NULL && errno == EPROTO ? tlsc_error() : strerror(errno);
}

/* Writes what is pending. Returns true when the output is empty. */
static bool conn_flush(struct loadgen *lg, struct conn *c)
{
    while (c->out_pos < c->out_len) {
        ssize_t n = conn_send(c, c->out + c->out_pos, c->out_len - c->out_pos);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            conn_fail(lg, c, "send: %s", conn_io_error(c));
            return false;
        }
        c->out_pos += (size_t)n;
        c->wire_bytes += (uint64_t)n;
    }
    if (c->out_pos == c->out_len)
        c->out_len = c->out_pos = 0;
    conn_watch(lg, c);
    return c->out_len == 0 && c->state != CONN_DONE;
}

/* Writes as much as the socket and the mode allow: pending bytes, then a due pong, then
 * a due close frame, then new messages. */
void conn_pump(struct loadgen *lg, struct conn *c)
{
    for (int i = 0; i < 1024; i++) {
        if (c->state == CONN_DONE || !conn_flush(lg, c))
            return;
        if (c->pong_due) {
            c->pong_due = false;
            conn_build_control(c, WSC_OP_PONG, c->pong, c->pong_len);
        } else if (c->close_due) {
            uint8_t code[2] = {1000 >> 8, 1000 & 0xff}; /* RFC 6455 §7.4.1: normal */
            c->close_due = false;
            conn_build_control(c, WSC_OP_CLOSE, code, sizeof(code));
        } else if (conn_wants_message(lg, c)) {
            conn_build_message(lg, c);
        } else {
            return;
        }
    }
}

/* Starts the end of <c>: a close frame for WebSocket (the server closes TCP first, §7.1.1),
 * close() for TCP. */
void conn_close(struct loadgen *lg, struct conn *c)
{
    if (c->state != CONN_OPEN)
        return;
    if (!lg->o.ws) {
        conn_finish(lg, c, true);
        return;
    }
    conn_set_state(lg, c, CONN_CLOSING);
    c->close_due = true;
    conn_pump(lg, c);
}

static void conn_on_open(struct loadgen *lg, struct conn *c)
{
    conn_set_state(lg, c, CONN_OPEN);
    lg->opened++;
    if (lg->o.mode == LOADGEN_CONNECTIONS && lg->opened == lg->o.conns)
        lg->upgraded_ns = loadgen_now_ns();
    if (lg->o.mode == LOADGEN_STALL_READ) {
        c->reading = false; /* the point of the scenario: never read again */
        conn_watch(lg, c);
        return;
    }
    conn_pump(lg, c);
}

/* Checks echoed payload against the pattern at its stream offset. */
static void conn_on_payload(struct loadgen *lg, struct conn *c, const uint8_t *data, size_t len)
{
    if (c->rx_off + len > c->tx_off) {
        conn_fail(lg, c, "%zu bytes echoed past the %llu sent", len, (unsigned long long)c->tx_off);
        return;
    }
    size_t good = pattern_check(c->rx_off, data, len);
    if (good != len) {
        conn_fail(lg, c, "echoed byte at stream offset %llu differs",
                  (unsigned long long)(c->rx_off + good));
        return;
    }
    c->rx_off += len;
    lg->rx_total += len;
    if (lg->phase == LOADGEN_MEASURE)
        lg->rx_measured += len;
}

/* After a read's payload is taken: what each mode does once echoes have come back. */
static void conn_after_echo(struct loadgen *lg, struct conn *c)
{
    uint64_t now = loadgen_now_ns();
    bool all_back = c->tx_off > 0 && c->rx_off == c->tx_off;

    if (c->state != CONN_OPEN)
        return;
    switch (lg->o.mode) {
    case LOADGEN_LATENCY:
        if (all_back && lg->phase == LOADGEN_MEASURE && c->msg_ns >= lg->measure_start_ns) {
            if (lg->nsamples < lg->samples_cap)
                lg->samples[lg->nsamples++] = now - c->msg_ns;
            else
                lg->samples_dropped++;
        }
        /* fall through */
    case LOADGEN_THROUGHPUT:
        if (lg->phase == LOADGEN_DRAIN && c->rx_off == c->tx_off && c->out_len == 0)
            conn_close(lg, c);
        else
            conn_pump(lg, c);
        break;
    case LOADGEN_CONNECTIONS:
        if (all_back && !c->echoed) {
            c->echoed = true;
            lg->echoed++;
        } else if (all_back && lg->final_started && c->tx_off > lg->o.msg_bytes &&
                   !c->final_echoed) {
            c->final_echoed = true;
            lg->final_echoed++;
        }
        break;
    case LOADGEN_HANDSHAKE:
        if (all_back)
            conn_close(lg, c);
        break;
    case LOADGEN_STALL_READ:
    case LOADGEN_STALL_WRITE:
        break;
    }
}

/* Hands received bytes to the frame parser (ws) or straight to the check (tcp). */
static void conn_on_bytes(struct loadgen *lg, struct conn *c, const uint8_t *in, size_t len)
{
    struct wsc_event ev;

    if (!lg->o.ws) {
        conn_on_payload(lg, c, in, len);
        return;
    }
    while (len > 0 && c->state != CONN_DONE) {
        size_t used = wsc_parser_feed(&c->parser, in, len, &ev);
        in += used;
        len -= used;
        switch (ev.type) {
        case WSC_NONE:
        case WSC_PONG:
            break;
        case WSC_DATA:
            conn_on_payload(lg, c, ev.data, ev.len);
            break;
        case WSC_PING:
            memcpy(c->pong, ev.data, ev.len); /* §5.5.3: answer the latest ping */
            c->pong_len = ev.len;
            c->pong_due = true;
            break;
        case WSC_CLOSE:
            c->close_got = true;
            c->close_code = ev.close_code;
            if (c->state == CONN_OPEN) {
                conn_fail(lg, c, "server sent close %u before the client did", ev.close_code);
                return;
            }
            break;
        case WSC_FAIL:
            conn_fail(lg, c, "server frame: %s", ev.reason);
            return;
        }
    }
}

/* The 101 head is complete in c->head: checks it, opens, and passes on the bytes after
 * it (frames the server sent at once). */
static void conn_on_head(struct loadgen *lg, struct conn *c, size_t head_len)
{
    const char *why = NULL;
    uint8_t rest[sizeof(c->head)];
    size_t rest_len = c->head_len - head_len;

    if (!wsc_response_is_ok(c->head, head_len, c->key, &why)) {
        char line[80];
        size_t n = strcspn((const char *)c->head, "\r\n");
        snprintf(line, sizeof(line), "%.*s", (int)(n < 60 ? n : 60), (const char *)c->head);
        conn_fail(lg, c, "upgrade refused: %s (%s)", why, line);
        return;
    }
    memcpy(rest, c->head + head_len, rest_len);
    conn_on_open(lg, c);
    if (rest_len > 0 && c->reading)
        conn_on_bytes(lg, c, rest, rest_len);
    if (c->state == CONN_OPEN || c->state == CONN_CLOSING)
        conn_after_echo(lg, c);
}

static void conn_on_eof(struct loadgen *lg, struct conn *c)
{
    if (c->state == CONN_CLOSING)
        conn_finish(lg, c, c->close_got || !lg->o.ws);
    else
        conn_fail(lg, c,
                  "the relay closed the connection (%s, %llu of %llu bytes "
                  "echoed)",
                  c->state == CONN_OPEN ? "open" : "opening", (unsigned long long)c->rx_off,
                  (unsigned long long)c->tx_off);
}

static void conn_on_readable(struct loadgen *lg, struct conn *c)
{
    ssize_t n;

    if (c->state == CONN_UPGRADING) {
        n = conn_recv(c, c->head + c->head_len, sizeof(c->head) - c->head_len);
    } else {
        n = conn_recv(c, conn_rbuf, sizeof(conn_rbuf));
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (c->tls_want_write)
            conn_watch(lg, c);
        return;
    }
    if (n < 0 && c->state == CONN_CLOSING && errno == ECONNRESET) {
        conn_finish(lg, c, false);
        return;
    }
    if (n < 0) {
        conn_fail(lg, c, "recv: %s", conn_io_error(c));
        return;
    }
    if (n == 0) {
        conn_on_eof(lg, c);
        return;
    }
    if (c->state == CONN_UPGRADING) {
        c->head_len += (size_t)n;
        size_t hl = wsc_head_len(c->head, c->head_len);
        if (hl > 0)
            conn_on_head(lg, c, hl);
        else if (c->head_len == sizeof(c->head))
            conn_fail(lg, c, "response head over %zu bytes", sizeof(c->head));
        return;
    }
    conn_on_bytes(lg, c, conn_rbuf, (size_t)n);
    if (c->state == CONN_OPEN || c->state == CONN_CLOSING)
        conn_after_echo(lg, c);
    if (c->state == CONN_OPEN || c->state == CONN_CLOSING)
        conn_pump(lg, c); /* a pong may be due */
}

static void conn_on_transport(struct loadgen *lg, struct conn *c);

/* -T: drives the handshake on; once done, goes on as a plain connection would. */
static void conn_tls_step(struct loadgen *lg, struct conn *c)
{
    int rc = tlsc_handshake(lg, c);

    if (rc < 0)
        conn_fail(lg, c, "TLS handshake: %s", tlsc_error());
    else if (rc == 0)
        conn_watch(lg, c);
    else
        conn_on_transport(lg, c);
}

static void conn_on_connected(struct loadgen *lg, struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        conn_fail(lg, c, "connect %s: %s", lg->o.host, strerror(err ? err : errno));
        return;
    }
    if (lg->o.tls) {
        conn_set_state(lg, c, CONN_TLS);
        if (tlsc_start(lg, c) != 0)
            conn_fail(lg, c, "TLS: %s", tlsc_error());
        else
            conn_tls_step(lg, c);
        return;
    }
    conn_on_transport(lg, c);
}

/* TCP (and with -T, TLS) is up: the upgrade request (ws) or straight open (raw). */
static void conn_on_transport(struct loadgen *lg, struct conn *c)
{
    if (!lg->o.ws) {
        conn_on_open(lg, c);
        return;
    }
    uint8_t raw[16];
    conn_random(raw, sizeof(raw));
    wsc_key_write(c->key, raw);
    c->out_len = wsc_request_write((char *)c->buf, c->buf_cap, lg->o.host, lg->o.path, c->key);
    c->out = c->buf;
    c->out_pos = 0;
    conn_set_state(lg, c, CONN_UPGRADING);
    conn_pump(lg, c);
}

void conn_on_event(struct loadgen *lg, struct conn *c, uint32_t ev)
{
    if (c->state == CONN_DONE || c->state == CONN_FREE)
        return; /* an event for a connection closed earlier in this batch */
    if (c->state == CONN_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_on_connected(lg, c);
        return;
    }
    if (c->state == CONN_TLS) {
        conn_tls_step(lg, c);
        return;
    }
    if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c->reading) {
        conn_on_readable(lg, c);
        /* -T: bytes OpenSSL decrypted but the buffer had no room for (the 101's head
         * buffer is small): the socket will not signal them again */
        for (int i = 0; i < 64 && c->ssl != NULL && c->reading && tlsc_pending(c); i++)
            conn_on_readable(lg, c);
    } else if ((ev & (EPOLLERR | EPOLLHUP)) && !c->reading)
        conn_fail(lg, c, "the relay reset the connection");
    if ((ev & EPOLLOUT) && c->tls_want_write && c->reading && c->state != CONN_DONE)
        conn_on_readable(lg, c); /* -T: a read that waited for the socket to take bytes */
    if ((ev & EPOLLOUT) && c->state != CONN_DONE)
        conn_pump(lg, c);
}
