/*
 * httpconn.c - glue between an accepted socket and the pure request parser: feed bytes,
 * give each complete head to the handler. Bytes after the head stay in the bufferevent's
 * input, so frames a client pipelines after its request reach the WebSocket client
 * untouched, and requests pipelined after a static one are answered in order, one file at
 * a time. A static answer may keep the connection for the next request, within
 * keepalive_requests, keepalive_timeout and keepalive_time.
 */
#include "httpconn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "bevread.h"
#include "config.h"
#include "drain.h"
#include "filebody.h"
#include "http_reply.h"
#include "loop.h"
#include "runconf.h"
#include "static.h"
#include "timeval.h"
#include "tokens.h"

/* RFC 7231 §4.3.2: a HEAD answer is the GET answer's head alone. */
#define HTTPCONN_HEAD_END "\r\n\r\n"

static const char *const httpconn_state_names[] = {"head", "sending", "closing", "wait"};

static void httpconn_set_state(struct httpconn *hc, enum httpconn_state state)
{
    if (hc->state == state)
        return;
    log_msg(LOG_LEVEL_DEBUG, "%sclient=%s http %s -> %s", hc->handler->log_prefix, hc->peer,
            httpconn_state_names[hc->state], httpconn_state_names[state]);
    hc->state = state;
}

static const struct config *httpconn_config(const struct httpconn *hc)
{
    return loop_config(hc->loop);
}

/* Ends <hc>'s part: the connection has been handed on or closed. A handler still at work
 * is told first (GONE). */
static void httpconn_finish(struct httpconn *hc)
{
    void *wait = hc->wait;

    if (conn_is_finished(&hc->conn))
        return;
    if (wait != NULL) {
        hc->wait = NULL;
        hc->handler->on_cut(hc, wait, HTTPCONN_CUT_GONE);
    }
    conn_finish(&hc->conn);
    filebody_reset(&hc->body); /* an answer cut short: its file is no longer needed */
    if (hc->deadline != NULL)
        evtimer_del(hc->deadline);
}

/* Hands the connection to drain: what is queued is sent, then a graceful close. */
static void httpconn_hand_to_drain(struct httpconn *hc)
{
    drain_start(hc->loop, hc->bev, httpconn_config(hc)->close_timeout_ms, &hc->slot);
    hc->bev = NULL;
    httpconn_finish(hc);
}

const char *httpconn_log_url(const struct httpconn *hc, char *buf, size_t cap)
{
    return tokens_log_url(hc->loop->conf->tokens, loop_config(hc->loop), hc->req.url, buf, cap);
}

void httpconn_reply_error(struct httpconn *hc, int status, const char *detail,
                          const char *headers)
{
    char buf[1024], url[LOG_QUOTE_MAX];
    size_t n = http_reply_error_with(buf, sizeof(buf), status, detail, headers);
    const char *end;

    log_msg(hc->handler->log_level, "%sclient=%s %s %s: %d %s%s%s", hc->handler->log_prefix,
            hc->peer, hc->req.method != NULL ? hc->req.method : "-",
            LOG_Q(httpconn_log_url(hc, url, sizeof(url))), status,
            http_reply_reason(status), detail != NULL ? ": " : "", detail != NULL ? detail : "");
    if (hc->handler->bare_head && hc->req.method != NULL && strcmp(hc->req.method, "HEAD") == 0 &&
        (end = memmem(buf, n, HTTPCONN_HEAD_END, strlen(HTTPCONN_HEAD_END))) != NULL)
        n = (size_t)(end - buf) + strlen(HTTPCONN_HEAD_END);
    bufferevent_write(hc->bev, buf, n);
    httpconn_hand_to_drain(hc);
}

struct evbuffer *httpconn_output(struct httpconn *hc)
{
    return bufferevent_get_output(hc->bev);
}

void httpconn_close(struct httpconn *hc)
{
    httpconn_hand_to_drain(hc);
}

struct bufferevent *httpconn_take(struct httpconn *hc, struct connlimits_slot *slot)
{
    struct bufferevent *bev = hc->bev;

    hc->bev = NULL;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    connlimits_move(slot, &hc->slot);
    httpconn_finish(hc);
    return bev;
}

void httpconn_wait(struct httpconn *hc, void *wait)
{
    hc->wait = wait;
    bufferevent_disable(hc->bev, EV_READ);
    httpconn_set_state(hc, HTTPCONN_WAIT);
}

void *httpconn_wait_end(struct httpconn *hc)
{
    void *wait = hc->wait;

    hc->wait = NULL;
    httpconn_set_state(hc, HTTPCONN_HEAD);
    if (!hc->read_eof)
        bufferevent_enable(hc->bev, EV_READ);
    return wait;
}

/* Sets when the write callback runs: while a file is streamed, when the output falls to
 * the refill level; while a file segment is queued or the last answer is going out, when
 * the output is empty; otherwise at the low watermark. libevent calls it after every
 * write that leaves the output at or under this level. */
static void httpconn_watch_output(struct httpconn *hc)
{
    size_t low = (size_t)httpconn_config(hc)->low_watermark_bytes;

    if (filebody_is_active(&hc->body))
        low = FILEBODY_REFILL_BYTES;
    else if (hc->file_in_output || hc->state == HTTPCONN_CLOSING)
        low = 0;
    bufferevent_setwatermark(hc->bev, EV_WRITE, low, 0);
}

/* Closes gracefully once every byte of the answers (their files included) has left:
 * drain frees the connection at the client's end of file, which may arrive before our
 * last bytes are out, so it gets the connection only with an empty output. */
static void httpconn_close_after_output(struct httpconn *hc)
{
    if (!filebody_is_active(&hc->body) &&
        evbuffer_get_length(bufferevent_get_output(hc->bev)) == 0) {
        httpconn_hand_to_drain(hc);
        return;
    }
    evtimer_del(hc->deadline);
    bufferevent_disable(hc->bev, EV_READ);
    httpconn_set_state(hc, HTTPCONN_CLOSING);
    httpconn_watch_output(hc);
}

/* (Re)starts the deadline for the request head being read. */
static void httpconn_arm_deadline(struct httpconn *hc)
{
    struct timeval tv = timeval_from_ms(httpconn_config(hc)->handshake_timeout_ms);

    hc->idle = false;
    evtimer_add(hc->deadline, &tv);
}

static uint64_t httpconn_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds of keepalive_time <hc> has left; 0 once it is over. */
static uint64_t httpconn_lifetime_left_ms(const struct httpconn *hc)
{
    uint64_t age = httpconn_now_ms() - hc->started_ms;
    uint64_t limit = httpconn_config(hc)->keepalive_time_ms;

    return age < limit ? limit - age : 0;
}

/* True if the answer about to be written may leave <hc> open for another request: the
 * loop is not stopping or draining, keep-alive is on, this is not the keepalive_requests-th answer
 * and keepalive_time has not run out. Otherwise the answer says "Connection: close". */
static bool httpconn_may_keep(const struct httpconn *hc)
{
    const struct config *cfg = httpconn_config(hc);

    return !hc->loop->stopping && !hc->loop->draining && cfg->keepalive_timeout_ms > 0 &&
           hc->served + 1 < cfg->keepalive_requests && httpconn_lifetime_left_ms(hc) > 0;
}

/* After an answer on a kept-alive connection: the next head's handshake_timeout if some
 * of it is already in, else the idle limit, keepalive_timeout, cut short if keepalive_time
 * runs out sooner. The deadline no longer restarts for a client that just keeps asking. */
static void httpconn_arm_next(struct httpconn *hc)
{
    uint64_t ms = httpconn_config(hc)->keepalive_timeout_ms;
    uint64_t left = httpconn_lifetime_left_ms(hc);
    struct timeval tv;

    if (evbuffer_get_length(bufferevent_get_input(hc->bev)) > 0) {
        httpconn_arm_deadline(hc);
        return;
    }
    if (left < ms)
        ms = left;
    tv = timeval_from_ms(ms);
    hc->idle = true;
    evtimer_add(hc->deadline, &tv);
}

/* True if <hc> is a kept-alive connection between requests: an answer was given and no
 * byte of the next request has arrived. Such a connection may be closed without a word
 * (RFC 7230 §6.3.1: the client retries an idempotent request on a new one). */
static bool httpconn_is_idle(struct httpconn *hc)
{
    return hc->state == HTTPCONN_HEAD && hc->served > 0 && hc->req.head_bytes == 0 &&
           evbuffer_get_length(bufferevent_get_input(hc->bev)) == 0;
}

/* Logs why the file of the answer being sent could not be completed (<r> from
 * filebody.c): the client gets fewer bytes than the Content-Length promised. */
static void httpconn_log_file_cut(struct httpconn *hc, enum filebody_result r)
{
    if (r == FILEBODY_SHORT)
        log_msg(LOG_LEVEL_WARN,
                "client=%s: the file shrank while sent (%jd of its %jd bytes read); closing",
                hc->peer, (intmax_t)hc->body.offset, (intmax_t)hc->body.size);
    else
        log_msg(LOG_LEVEL_ERROR, "client=%s: sending a file: %s; closing", hc->peer,
                strerror(errno));
}

/* Sends the file of the answer whose head is in the output: by reference on a plain
 * socket (sendfile), streamed in chunks on TLS, where libevent would map it. Returns
 * false if it cannot be sent, and the connection must close. */
static bool httpconn_start_file(struct httpconn *hc, const struct static_body *body)
{
    enum filebody_result r =
        filebody_start(&hc->body, body->fd, body->size, bufferevent_get_output(hc->bev), !hc->tls);

    if (r == FILEBODY_MORE || r == FILEBODY_DONE) {
        hc->file_in_output = !hc->tls;
        return true;
    }
    httpconn_log_file_cut(hc, r);
    return false;
}

/* True while <hc>'s answers hold the next request back: a file still being sent (one
 * open file per connection, however many requests a client pipelines), or more than
 * <level> bytes queued. */
static bool httpconn_is_sending(struct httpconn *hc, uint64_t level)
{
    size_t out_len = evbuffer_get_length(bufferevent_get_output(hc->bev));

    if (hc->file_in_output && out_len == 0)
        hc->file_in_output = false; /* the segment has left, and its fd is closed */
    return filebody_is_active(&hc->body) || hc->file_in_output || out_len > level;
}

void httpconn_serve_static(struct httpconn *hc, struct static_root *web)
{
    const struct config *cfg = httpconn_config(hc);
    struct timeval tv = timeval_from_ms(cfg->handshake_timeout_ms);
    struct static_body body;
    char url[LOG_QUOTE_MAX];
    bool keep;

    if (hc->served == 0) {
        /* A client that takes no byte of an answer for this long is gone. */
        bufferevent_set_timeouts(hc->bev, NULL, &tv);
        bufferevent_set_max_single_write(hc->bev, (size_t)cfg->high_watermark_bytes);
    }
    keep = static_serve(web, &hc->req, bufferevent_get_output(hc->bev), httpconn_may_keep(hc),
                        hc->peer, httpconn_log_url(hc, url, sizeof(url)), &body);
    hc->served++;
    evtimer_del(hc->deadline);
    http_req_free(&hc->req);
    if (body.fd >= 0 && !httpconn_start_file(hc, &body))
        keep = false; /* the head is out: only a close can tell the client */
    if (keep && http_req_init(&hc->req, &hc->limits) != 0) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", hc->peer);
        keep = false;
    }
    if (!keep) {
        httpconn_close_after_output(hc);
        return;
    }
    /* Pipelined requests wait in the input while the answers before them are sent, so
     * a client cannot make the daemon hold more than one file and a watermark of
     * answers for it. */
    if (httpconn_is_sending(hc, cfg->high_watermark_bytes)) {
        bufferevent_disable(hc->bev, EV_READ);
        httpconn_set_state(hc, HTTPCONN_SENDING);
        httpconn_watch_output(hc);
        return;
    }
    httpconn_arm_next(hc);
}

/* Parses every complete request in the input, in order, and gives it to the handler,
 * while <hc> reads. */
static void httpconn_parse(struct httpconn *hc)
{
    while (!conn_is_finished(&hc->conn) && hc->state == HTTPCONN_HEAD) {
        struct evbuffer *in = bufferevent_get_input(hc->bev);
        enum http_req_result r = HTTP_REQ_MORE;

        /* The next head has begun: from now on it has handshake_timeout, not the idle
         * limit. */
        if (hc->idle && evbuffer_get_length(in) > 0)
            httpconn_arm_deadline(hc);
        while (r == HTTP_REQ_MORE && evbuffer_get_length(in) > 0) {
            struct evbuffer_iovec v;
            size_t used = 0;

            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
                break;
            r = http_req_feed(&hc->req, v.iov_base, v.iov_len, &used);
            if (r == HTTP_REQ_FAIL)
                break;
            evbuffer_drain(in, used);
        }
        if (r == HTTP_REQ_FAIL) {
            httpconn_reply_error(hc, hc->req.status, hc->req.error, NULL);
            return;
        }
        if (r != HTTP_REQ_DONE)
            break;
        hc->handler->on_request(hc, hc->handler_arg);
    }
    /* After the client's end of file, a partial head can never complete. */
    if (!conn_is_finished(&hc->conn) && hc->state == HTTPCONN_HEAD &&
        (hc->read_eof ||
         ((hc->loop->stopping || hc->loop->draining) && httpconn_is_idle(hc))))
        httpconn_close_after_output(hc);
}

static void httpconn_on_read(struct bufferevent *bev, void *arg)
{
    struct httpconn *hc = arg;

    (void)bev;
    /* A read queued before reading was paused: the bytes wait in the input. */
    if (hc->state == HTTPCONN_HEAD)
        httpconn_parse(hc);
}

static void httpconn_on_write(struct bufferevent *bev, void *arg)
{
    struct httpconn *hc = arg;
    enum filebody_result r;

    /* The streamed file first: refilled in every state, CLOSING included. A file that
     * shrank ends this answer, and so the connection: its Content-Length is a promise. */
    if (filebody_is_active(&hc->body)) {
        r = filebody_fill(&hc->body, bufferevent_get_output(bev));
        if (r == FILEBODY_SHORT || r == FILEBODY_ERROR) {
            httpconn_log_file_cut(hc, r);
            httpconn_hand_to_drain(hc);
            return;
        }
    }
    /* A deferred write callback may have been queued before the answer now in the output
     * was added (libevent 2.1 triggers one after every write event, even an empty one):
     * check the level here rather than trust the call. SENDING resumes once the file has
     * left and the output is at the low watermark; CLOSING waits for an empty output. */
    if (hc->state == HTTPCONN_CLOSING && !httpconn_is_sending(hc, 0)) {
        httpconn_hand_to_drain(hc);
    } else if (hc->state == HTTPCONN_SENDING &&
               !httpconn_is_sending(hc, httpconn_config(hc)->low_watermark_bytes)) {
        httpconn_set_state(hc, HTTPCONN_HEAD);
        httpconn_watch_output(hc);
        if (!hc->read_eof)
            bufferevent_enable(bev, EV_READ);
        httpconn_arm_next(hc);
        httpconn_parse(hc);
    } else {
        httpconn_watch_output(hc); /* the stream may just have ended */
    }
}

static void httpconn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct httpconn *hc = arg;

    (void)bev;
    if ((what & BEV_EVENT_READING) && (what & BEV_EVENT_EOF) && hc->served > 0) {
        /* The client has sent its last request (HTTP/1.0 tools half-close): answer what
         * is in the input, then close after the answers. */
        hc->read_eof = true;
        if (hc->state == HTTPCONN_HEAD)
            httpconn_close_after_output(hc);
        return;
    }
    if (!hc->tls && (what & BEV_EVENT_WRITING) && (what & BEV_EVENT_EOF))
        /* A plain socket reports a write of nothing as end of file, and only sendfile
         * writes nothing: the file in the output ended before its length. (TLS says EOF
         * when the client closes while we write.) */
        log_msg(LOG_LEVEL_WARN,
                "client=%s: the file shrank while sent (sendfile found its end early); closing",
                hc->peer);
    else if (what & BEV_EVENT_TIMEOUT)
        log_msg(LOG_LEVEL_DEBUG, "client=%s took no bytes of its answer for %u ms", hc->peer,
                httpconn_config(hc)->handshake_timeout_ms);
    else
        log_msg(LOG_LEVEL_DEBUG, "%sclient=%s left before finishing its request (%s)",
                hc->handler->log_prefix, hc->peer,
                what & BEV_EVENT_ERROR ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                       : "EOF");
    httpconn_finish(hc);
}

static void httpconn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct httpconn *hc = arg;

    (void)fd;
    (void)what;
    if (hc->state == HTTPCONN_WAIT) {
        hc->handler->on_cut(hc, hc->wait, HTTPCONN_CUT_DEADLINE);
        return;
    }
    if (httpconn_is_idle(hc)) {
        log_msg(LOG_LEVEL_DEBUG, "client=%s idle after %lu answers: closing", hc->peer, hc->served);
        httpconn_close_after_output(hc);
        return;
    }
    if (hc->idle) {
        /* Bytes of the next head came with the idle limit: they get their own deadline. */
        httpconn_arm_deadline(hc);
        return;
    }
    /* A slow or silent client (slowloris) must not hold a connection for ever. */
    httpconn_reply_error(hc, 408, "request head not received in time", NULL);
}

void httpconn_new(struct loop *l, struct bufferevent *bev, const struct sockaddr *sa,
                  struct connlimits_slot *slot, const struct httpconn_handler *handler,
                  void *handler_arg)
{
    const struct config *cfg = loop_config(l);
    struct http_req_limits limits = HTTP_REQ_DEFAULT_LIMITS;
    struct httpconn *hc = calloc(1, sizeof(*hc));

    if (hc == NULL) {
        bufferevent_free(bev);
        if (slot != NULL)
            connlimits_release(slot);
        return;
    }
    connlimits_move(&hc->slot, slot);
    hc->loop = l;
    hc->handler = handler;
    hc->handler_arg = handler_arg;
    hc->bev = bev;
    filebody_init(&hc->body);
    hc->tls = bufferevent_openssl_get_ssl(bev) != NULL;
    hc->started_ms = httpconn_now_ms();
    addr_format_sockaddr(sa, hc->peer);
    memcpy(&hc->sa, sa, addr_sockaddr_len(sa));
    memcpy(&hc->conn_sa, sa, addr_sockaddr_len(sa));
    hc->https = hc->tls;
    conn_add(&l->conns, &hc->conn, &handler->conn);
    limits.max_head_bytes = (size_t)cfg->max_request_head_bytes;
    if (limits.max_url_bytes > limits.max_head_bytes)
        limits.max_url_bytes = limits.max_head_bytes;
    hc->limits = limits;
    hc->deadline = evtimer_new(l->base, httpconn_on_deadline, hc);
    if (hc->deadline == NULL || http_req_init(&hc->req, &hc->limits) != 0) {
        log_msg(LOG_LEVEL_ERROR, "%sclient=%s: out of memory", handler->log_prefix, hc->peer);
        httpconn_finish(hc);
        return;
    }
    httpconn_arm_deadline(hc);
    bufferevent_setcb(hc->bev, httpconn_on_read, httpconn_on_write, httpconn_on_event, hc);
    /* The write callback runs when a paused connection's output falls this low. */
    bufferevent_setwatermark(hc->bev, EV_WRITE, (size_t)cfg->low_watermark_bytes, 0);
    /* A plain socket's request is read by bevread: no FIONREAD before the read. */
    bevread_take(hc->bev);
    bufferevent_enable(hc->bev, EV_READ | EV_WRITE);
}

/* The loop stops: a kept-alive connection waiting for its next request closes now; one in
 * the middle of a request is left to finish, and its answer says "Connection: close"; a
 * waiting one is the handler's to end. */
void httpconn_conn_stop(struct conn *c)
{
    struct httpconn *hc = CONN_OF(c, struct httpconn, conn);

    if (conn_is_finished(&hc->conn))
        return;
    if (hc->state == HTTPCONN_WAIT) {
        hc->handler->on_cut(hc, hc->wait, HTTPCONN_CUT_STOP);
        return;
    }
    if (!httpconn_is_idle(hc))
        return;
    /* Nothing left to send: close at once rather than wait for the client's FIN. */
    if (evbuffer_get_length(bufferevent_get_output(hc->bev)) == 0)
        httpconn_finish(hc);
    else
        httpconn_close_after_output(hc);
}

/* The loop drains: a connection idle between requests closes; one at work finishes its
 * answer, which says "Connection: close" (httpconn_may_keep), and an upgrade it asks for
 * still succeeds. */
void httpconn_conn_drain(struct conn *c)
{
    struct httpconn *hc = CONN_OF(c, struct httpconn, conn);

    if (conn_is_finished(&hc->conn) || hc->state == HTTPCONN_WAIT || !httpconn_is_idle(hc))
        return;
    if (evbuffer_get_length(bufferevent_get_output(hc->bev)) == 0)
        httpconn_finish(hc);
    else
        httpconn_close_after_output(hc);
}

const char *httpconn_conn_state(const struct conn *c)
{
    return httpconn_state_names[CONN_OF(c, struct httpconn, conn)->state];
}

/* Frees <hc> and, unless handed on, its connection; a handler still at work is told. */
void httpconn_conn_free(struct conn *c)
{
    struct httpconn *hc = CONN_OF(c, struct httpconn, conn);
    void *wait = hc->wait;

    if (wait != NULL) {
        hc->wait = NULL;
        hc->handler->on_cut(hc, wait, HTTPCONN_CUT_GONE);
    }
    if (hc->deadline != NULL)
        event_free(hc->deadline);
    filebody_reset(&hc->body);
    if (hc->bev != NULL)
        bufferevent_free(hc->bev);
    connlimits_release(&hc->slot);
    http_req_free(&hc->req);
    free(hc);
}
