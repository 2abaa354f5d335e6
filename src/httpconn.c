/*
 * httpconn.c - glue between an accepted socket and the pure request parser: feed bytes,
 * act on the verdict. Bytes after the head stay in the bufferevent's input, so frames a
 * client pipelines after its request reach the WebSocket client untouched, and requests
 * pipelined after a static one are answered in order, one file at a time. An upgrade or
 * an error ends this object's part; a static answer may keep the connection for the next
 * request, within keepalive_requests, keepalive_timeout and keepalive_time.
 */
#include "httpconn.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "authpool.h"
#include "basicauth.h"
#include "config.h"
#include "drain.h"
#include "filebody.h"
#include "handshake.h"
#include "http_reply.h"
#include "log.h"
#include "metrics.h"
#include "netlist.h"
#include "ratelimit.h"
#include "origin.h"
#include "route.h"
#include "runconf.h"
#include "server.h"
#include "static.h"
#include "workers.h"
#include "wsclient.h"

static const char *const httpconn_state_names[] = {"head", "sending", "closing", "auth"};

/* The 503 warn line of a limit reached: a peer may repeat it at will. */
static struct ratelimit httpconn_limit_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);

static void httpconn_set_state(struct httpconn *hc, enum httpconn_state state)
{
    if (hc->state == state)
        return;
    log_msg(LOG_LEVEL_DEBUG, "client=%s http %s -> %s", hc->peer, httpconn_state_names[hc->state],
            httpconn_state_names[state]);
    hc->state = state;
}

/* Gives up <hc>'s password check, if one is under way: the job is cancelled (its result
 * is never delivered), the client uncounted and the configuration let go. Idempotent. */
static void httpconn_auth_abandon(struct httpconn *hc)
{
    if (hc->auth_job != NULL)
        authpool_cancel(hc->auth_job);
    hc->auth_job = NULL;
    if (hc->auth_route != NULL)
        connslot_leave_route(&hc->slot);
    hc->auth_route = NULL;
    runconf_unref(hc->auth_conf);
    hc->auth_conf = NULL;
}

/* Ends <hc>'s part: the connection has been handed on or closed. */
static void httpconn_finish(struct httpconn *hc)
{
    struct server *s = hc->server;

    if (hc->done)
        return;
    httpconn_auth_abandon(hc);
    hc->done = true;
    filebody_reset(&hc->body); /* an answer cut short: its file is no longer needed */
    if (hc->deadline != NULL)
        evtimer_del(hc->deadline);
    TAILQ_REMOVE(&s->httpconns, hc, link);
    TAILQ_INSERT_TAIL(&s->dead_http, hc, link);
    server_reap_soon(s);
}

/* Hands the connection to drain: what is queued is sent, then a graceful close. */
static void httpconn_hand_to_drain(struct httpconn *hc)
{
    drain_start_counted(hc->server, hc->bev, server_config(hc->server)->close_timeout_ms,
                        &hc->slot);
    hc->bev = NULL;
    httpconn_finish(hc);
}

/* Answers with <status> and closes gracefully (the answer is never cut by a reset). */
static void httpconn_reply_error(struct httpconn *hc, int status, const char *detail)
{
    char buf[1024];
    size_t n = http_reply_error(buf, sizeof(buf), status, detail);

    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: %d %s%s%s", hc->peer,
            hc->req.method != NULL ? hc->req.method : "-", LOG_Q(hc->req.url), status,
            http_reply_reason(status), detail != NULL ? ": " : "", detail != NULL ? detail : "");
    bufferevent_write(hc->bev, buf, n);
    httpconn_hand_to_drain(hc);
}

/* Sets when the write callback runs: while a file is streamed, when the output falls to
 * the refill level; while a file segment is queued or the last answer is going out, when
 * the output is empty; otherwise at the low watermark. libevent calls it after every
 * write that leaves the output at or under this level. */
static void httpconn_watch_output(struct httpconn *hc)
{
    size_t low = (size_t)server_config(hc->server)->low_watermark_bytes;

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
    unsigned ms = server_config(hc->server)->handshake_timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

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
    uint64_t limit = server_config(hc->server)->keepalive_time_ms;

    return age < limit ? limit - age : 0;
}

/* True if the answer about to be written may leave <hc> open for another request: the
 * server is not stopping, keep-alive is on, this is not the keepalive_requests-th answer
 * and keepalive_time has not run out. Otherwise the answer says "Connection: close". */
static bool httpconn_may_keep(const struct httpconn *hc)
{
    const struct config *cfg = server_config(hc->server);

    return !hc->server->stopping && cfg->keepalive_timeout_ms > 0 &&
           hc->served + 1 < cfg->keepalive_requests && httpconn_lifetime_left_ms(hc) > 0;
}

/* After an answer on a kept-alive connection: the next head's handshake_timeout if some
 * of it is already in, else the idle limit, keepalive_timeout, cut short if keepalive_time
 * runs out sooner. The deadline no longer restarts for a client that just keeps asking. */
static void httpconn_arm_next(struct httpconn *hc)
{
    uint64_t ms = server_config(hc->server)->keepalive_timeout_ms;
    uint64_t left = httpconn_lifetime_left_ms(hc);
    struct timeval tv;

    if (evbuffer_get_length(bufferevent_get_input(hc->bev)) > 0) {
        httpconn_arm_deadline(hc);
        return;
    }
    if (left < ms)
        ms = left;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
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

/* Answers <status> with extra header lines <headers> (see http_reply_error_with) and
 * closes gracefully, as httpconn_reply_error. */
static void httpconn_reply_error_with(struct httpconn *hc, int status, const char *detail,
                                      const char *headers)
{
    char buf[1024];
    size_t n = http_reply_error_with(buf, sizeof(buf), status, detail, headers);

    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: %d %s: %s", hc->peer, hc->req.method,
            LOG_Q(hc->req.url), status, http_reply_reason(status), detail);
    bufferevent_write(hc->bev, buf, n);
    httpconn_hand_to_drain(hc);
}

/* Refuses an upgrade: counts the failure by <status> and <detail> (a short static text:
 * it becomes a label value), then answers as httpconn_reply_error_with (<headers> NULL:
 * none) and closes. */
static void httpconn_refuse(struct httpconn *hc, int status, const char *detail,
                            const char *headers)
{
    metrics_count_failure(hc->server->metrics, status, detail);
    if (headers == NULL)
        httpconn_reply_error(hc, status, detail);
    else
        httpconn_reply_error_with(hc, status, detail, headers);
}

/* The route's cheap access rules and the connection limits, in that order, after the
 * handshake checks and before any password is hashed, so that a refused client costs
 * little and never causes a connection to the target. Returns true if <hc> may go on,
 * counted as a client of <route> (connslot_upgrade: every later refusal gives the route
 * count back with connslot_leave_route); otherwise
 * it has been answered (403 or 503) and closed. */
static bool httpconn_admit(struct httpconn *hc, const struct route *route)
{
    const struct sockaddr *sa = (const struct sockaddr *)&hc->sa;
    const char *limit_name;
    unsigned limit;

    if (route->nets != NULL && !netlist_is_allowed(route->nets, sa)) {
        httpconn_refuse(hc, 403, "client address not allowed", NULL);
        return false;
    }
    /* Cross-site WebSocket hijacking: without "origins:", only pages of this very host
     * and port (what the web root serves) may open the route from a browser. */
    if (!origin_list_is_allowed(route->origins, http_req_header(&hc->req, "Origin"),
                                http_req_header(&hc->req, "Host"), hc->tls)) {
        httpconn_refuse(hc, 403, "origin not allowed", NULL);
        return false;
    }
    limit_name = connslot_upgrade(&hc->slot, route, &limit);
    if (limit_name != NULL) {
        log_msg_limited(&httpconn_limit_log, LOG_LEVEL_WARN, "client=%s %s: %s reached (%u)",
                        hc->peer, LOG_Q(hc->req.url), limit_name, limit);
        httpconn_refuse(hc, 503, "too many connections", "Retry-After: 1\r\n");
        return false;
    }
    return true;
}

/* Hands the admitted, counted connection to a new wsclient on <route>, which takes the
 * count over. <route> is in the server's current configuration. */
static void httpconn_hand_on(struct httpconn *hc, const struct route *route)
{
    struct bufferevent *bev = hc->bev;

    log_msg(LOG_LEVEL_DEBUG, "client=%s upgrade %s -> route %s", hc->peer, LOG_Q(hc->req.url),
            route->path);
    hc->bev = NULL;
    httpconn_finish(hc);
    wsclient_new(hc->server, bev, route, &hc->hs, &hc->slot, hc->peer);
}

/* Answers 401 for credentials <auth> (MISSING, MALFORMED or DENIED) of <user> on
 * <route>, whose count the caller has given back, and closes. */
static void httpconn_auth_refuse(struct httpconn *hc, const struct route *route,
                                 enum basicauth_result auth, const char *user)
{
    char headers[64 + CONFIG_REALM_MAX];

    log_msg(LOG_LEVEL_INFO, "client=%s user=%s %s: authentication %s", hc->peer, LOG_Q(user),
            LOG_Q(hc->req.url), basicauth_result_name(auth));
    /* RFC 7617 §2: the realm is a quoted-string; config.c kept it free of quotes. */
    snprintf(headers, sizeof(headers), "WWW-Authenticate: Basic realm=\"%s\"\r\n",
             route->auth_realm);
    httpconn_refuse(hc, 401, "authentication required", headers);
}

static void httpconn_dispatch(struct httpconn *hc);

/* The pool's answer for <hc>'s password (see httpconn_auth_start), on its loop. */
static void httpconn_on_auth(enum basicauth_result result, const char *user, void *arg)
{
    struct httpconn *hc = arg;
    const struct route *route = hc->auth_route;
    struct runconf *conf = hc->auth_conf;
    const struct sockaddr *sa = (const struct sockaddr *)&hc->sa;

    /* The count now goes with the connection, which is handed on or refused below. */
    hc->auth_job = NULL;
    hc->auth_route = NULL;
    hc->auth_conf = NULL;
    httpconn_set_state(hc, HTTPCONN_HEAD);
    if (result == BASICAUTH_DENIED)
        authpool_record_failure(hc->server->workers->authpool, sa);
    if (result == BASICAUTH_OK && conf != hc->server->conf) {
        /* A reload while the password was hashed: the route may be gone, or its users
         * changed. Everything is checked again under the new configuration. */
        log_msg(LOG_LEVEL_DEBUG,
                "client=%s %s: configuration reloaded during the password "
                "check: checking again",
                hc->peer, LOG_Q(hc->req.url));
        connslot_leave_route(&hc->slot);
        runconf_unref(conf);
        if (!hc->read_eof)
            bufferevent_enable(hc->bev, EV_READ);
        httpconn_dispatch(hc);
        return;
    }
    if (result == BASICAUTH_OK) {
        httpconn_hand_on(hc, route);
    } else {
        connslot_leave_route(&hc->slot);
        if (result == BASICAUTH_DENIED)
            httpconn_auth_refuse(hc, route, result, user);
        else
            httpconn_refuse(hc, 500, "cannot check credentials", NULL);
    }
    runconf_unref(conf);
}

/* Basic authentication for an admitted (counted) upgrade on <route>: the credentials are
 * decoded here, then hashed on the pool while <hc> waits in HTTPCONN_AUTH, unless they
 * are missing or malformed (401), the address failed too often lately (429), or the
 * pool's queue is full (503). */
static void httpconn_auth_start(struct httpconn *hc, const struct route *route)
{
    struct authpool *pool = hc->server->workers->authpool;
    const struct sockaddr *sa = (const struct sockaddr *)&hc->sa;
    struct basicauth_cred cred;
    enum basicauth_result auth;
    uint64_t blocked_ms;
    char headers[64];

    auth = basicauth_decode(route->users, http_req_header(&hc->req, "Authorization"), &cred);
    if (auth == BASICAUTH_PENDING && pool == NULL) {
        /* Only a daemon built without the pool: never hash on the loop. */
        basicauth_cred_wipe(&cred);
        connslot_leave_route(&hc->slot);
        httpconn_refuse(hc, 500, "cannot check credentials", NULL);
        return;
    }
    if (auth != BASICAUTH_PENDING) {
        connslot_leave_route(&hc->slot);
        httpconn_auth_refuse(hc, route, auth, cred.user);
        basicauth_cred_wipe(&cred);
        return;
    }
    /* Before any hash: a guesser gets nothing more from us, not even CPU time. */
    blocked_ms = authpool_blocked_ms(pool, sa);
    if (blocked_ms > 0) {
        log_msg(LOG_LEVEL_INFO,
                "client=%s user=%s %s: too many failed logins, blocked for "
                "%llu ms more",
                hc->peer, LOG_Q(cred.user), LOG_Q(hc->req.url), (unsigned long long)blocked_ms);
        basicauth_cred_wipe(&cred);
        connslot_leave_route(&hc->slot);
        snprintf(headers, sizeof(headers), "Retry-After: %llu\r\n",
                 (unsigned long long)(blocked_ms + 999) / 1000);
        httpconn_refuse(hc, 429, "too many failed logins", headers);
        return;
    }
    hc->auth_job = authpool_submit(pool, hc->server->base, &cred, httpconn_on_auth, hc);
    if (hc->auth_job == NULL) {
        log_msg_limited(&httpconn_limit_log, LOG_LEVEL_WARN,
                        "client=%s %s: password check queue full", hc->peer, LOG_Q(hc->req.url));
        connslot_leave_route(&hc->slot);
        httpconn_refuse(hc, 503, "authentication busy", "Retry-After: 1\r\n");
        return;
    }
    hc->auth_conf = runconf_ref(hc->server->conf);
    hc->auth_route = route;
    bufferevent_disable(hc->bev, EV_READ);
    httpconn_set_state(hc, HTTPCONN_AUTH);
}

/* The WebSocket way, cheapest checks first: the route, the RFC 6455 handshake, the
 * route's address and Origin rules, the connection limits, and only then the password,
 * whose hash runs on the pool; then the connection goes to a new wsclient. */
static void httpconn_upgrade(struct httpconn *hc, const struct route *route)
{
    struct handshake_policy policy = {0};

    if (route == NULL) {
        httpconn_refuse(hc, 404, "no route for this path", NULL);
        return;
    }
    policy.subprotocols = (const char *const *)route->subprotocols;
    policy.n_subprotocols = route->n_subprotocols;
    handshake_check(&hc->req, &policy, &hc->hs);
    if (hc->hs.status != 101) {
        httpconn_refuse(hc, hc->hs.status, hc->hs.error, NULL);
        return;
    }
    if (!httpconn_admit(hc, route))
        return;
    if (route->users != NULL)
        httpconn_auth_start(hc, route);
    else
        httpconn_hand_on(hc, route);
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

/* A static request: static.c writes the answer and hands over its file; then either the
 * next request (now, or once the file and the answers have left) or a graceful close. */
static void httpconn_serve_static(struct httpconn *hc)
{
    struct server *s = hc->server;
    const struct config *cfg = server_config(s);
    unsigned ms = cfg->handshake_timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    struct static_body body;
    bool keep;

    if (hc->served == 0) {
        /* A client that takes no byte of an answer for this long is gone. */
        bufferevent_set_timeouts(hc->bev, NULL, &tv);
        bufferevent_set_max_single_write(hc->bev, (size_t)cfg->high_watermark_bytes);
    }
    keep = static_serve(s->conf->web, &hc->req, bufferevent_get_output(hc->bev),
                        httpconn_may_keep(hc), hc->peer, &body);
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

/* Dispatch rule: an upgrade, or a path with a route, goes the WebSocket way (which
 * answers the errors); any other request goes to the web root when there is one. */
static void httpconn_dispatch(struct httpconn *hc)
{
    const struct config *cfg = server_config(hc->server);
    const struct route *route;

    /* DNS rebinding: a page of the attacker's site, its name pointed at us, would
     * otherwise be same-origin with everything served here. RFC 7230 §5.4: several Host
     * lines are a 400. */
    if (cfg->hosts != NULL) {
        int status = http_req_header_count(&hc->req, "Host") > 1 ? 400 : 421;
        if (status == 400 || !origin_hosts_is_allowed(cfg->hosts, http_req_header(&hc->req, "Host"),
                                                      hc->tls)) {
            const char *why = status == 400 ? "more than one Host" : "host not served here";
            if (handshake_is_upgrade(&hc->req))
                httpconn_refuse(hc, status, why, NULL);
            else
                httpconn_reply_error(hc, status, why);
            return;
        }
    }
    route = route_match(cfg, hc->req.url);
    if (route != NULL || handshake_is_upgrade(&hc->req) || hc->server->conf->web == NULL)
        httpconn_upgrade(hc, route);
    else
        httpconn_serve_static(hc);
}

/* Parses and answers every complete request in the input, in order, while <hc> reads. */
static void httpconn_parse(struct httpconn *hc)
{
    while (!hc->done && hc->state == HTTPCONN_HEAD) {
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
            httpconn_reply_error(hc, hc->req.status, hc->req.error);
            return;
        }
        if (r != HTTP_REQ_DONE)
            break;
        httpconn_dispatch(hc);
    }
    /* After the client's end of file, a partial head can never complete. */
    if (!hc->done && hc->state == HTTPCONN_HEAD &&
        (hc->read_eof || (hc->server->stopping && httpconn_is_idle(hc))))
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
               !httpconn_is_sending(hc, server_config(hc->server)->low_watermark_bytes)) {
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
                server_config(hc->server)->handshake_timeout_ms);
    else
        log_msg(LOG_LEVEL_DEBUG, "client=%s left before finishing its request (%s)", hc->peer,
                what & BEV_EVENT_ERROR ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                       : "EOF");
    httpconn_finish(hc);
}

static void httpconn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct httpconn *hc = arg;

    (void)fd;
    (void)what;
    if (hc->state == HTTPCONN_AUTH) {
        httpconn_auth_abandon(hc);
        httpconn_refuse(hc, 503, "password check took too long", "Retry-After: 1\r\n");
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
    httpconn_reply_error(hc, 408, "request head not received in time");
}

void httpconn_new(struct server *s, struct bufferevent *bev, const struct sockaddr *sa,
                  struct connslot *slot)
{
    const struct config *cfg = server_config(s);
    struct http_req_limits limits = HTTP_REQ_DEFAULT_LIMITS;
    struct httpconn *hc = calloc(1, sizeof(*hc));

    if (hc == NULL) {
        bufferevent_free(bev);
        connslot_release(slot);
        return;
    }
    connslot_move(&hc->slot, slot);
    hc->server = s;
    hc->bev = bev;
    filebody_init(&hc->body);
    hc->tls = bufferevent_openssl_get_ssl(bev) != NULL;
    hc->started_ms = httpconn_now_ms();
    addr_format_sockaddr(sa, hc->peer);
    memcpy(&hc->sa, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    TAILQ_INSERT_TAIL(&s->httpconns, hc, link);
    limits.max_head_bytes = (size_t)cfg->max_request_head_bytes;
    if (limits.max_url_bytes > limits.max_head_bytes)
        limits.max_url_bytes = limits.max_head_bytes;
    hc->limits = limits;
    hc->deadline = evtimer_new(s->base, httpconn_on_deadline, hc);
    if (hc->deadline == NULL || http_req_init(&hc->req, &hc->limits) != 0) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", hc->peer);
        httpconn_finish(hc);
        return;
    }
    httpconn_arm_deadline(hc);
    bufferevent_setcb(hc->bev, httpconn_on_read, httpconn_on_write, httpconn_on_event, hc);
    /* The write callback runs when a paused connection's output falls this low. */
    bufferevent_setwatermark(hc->bev, EV_WRITE, (size_t)cfg->low_watermark_bytes, 0);
    bufferevent_enable(hc->bev, EV_READ | EV_WRITE);
}

void httpconn_stop(struct httpconn *hc)
{
    /* A queued password check could hold the stop for many hashes' time. */
    if (!hc->done && hc->state == HTTPCONN_AUTH) {
        httpconn_auth_abandon(hc);
        httpconn_refuse(hc, 503, "server stopping", "Retry-After: 1\r\n");
        return;
    }
    /* A connection mid-request finishes it: its answer says "Connection: close". */
    if (hc->done || !httpconn_is_idle(hc))
        return;
    /* Nothing left to send: close at once rather than wait for the client's FIN. */
    if (evbuffer_get_length(bufferevent_get_output(hc->bev)) == 0)
        httpconn_finish(hc);
    else
        httpconn_close_after_output(hc);
}

void httpconn_free(struct httpconn *hc)
{
    if (hc == NULL)
        return;
    httpconn_auth_abandon(hc);
    if (hc->deadline != NULL)
        event_free(hc->deadline);
    filebody_reset(&hc->body);
    if (hc->bev != NULL)
        bufferevent_free(hc->bev);
    connslot_release(&hc->slot);
    http_req_free(&hc->req);
    free(hc);
}

void httpconn_log_access(const struct config *c)
{
    for (size_t i = 0; i < c->n_routes; i++)
        if (origin_list_is_any(c->routes[i].origins))
            log_msg(LOG_LEVEL_WARN,
                    "route %s accepts any Origin (origins: [\"*\"]): a page on "
                    "any web site may open it from the browser of whoever visits that page",
                    c->routes[i].path);
}
