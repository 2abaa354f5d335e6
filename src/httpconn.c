/*
 * httpconn.c - glue between an accepted socket and the pure request parser: feed bytes,
 * act on the verdict. Bytes after the head stay in the bufferevent's input, so frames a
 * client pipelines after its request reach the WebSocket client untouched.
 */
#include "httpconn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "handshake.h"
#include "http_reply.h"
#include "drain.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "wsclient.h"

/* Ends <hc>'s part: the connection has been handed on or closed. */
static void httpconn_finish(struct httpconn *hc)
{
    struct server *s = hc->server;

    if (hc->done)
        return;
    hc->done = true;
    if (hc->deadline != NULL)
        evtimer_del(hc->deadline);
    TAILQ_REMOVE(&s->httpconns, hc, link);
    TAILQ_INSERT_TAIL(&s->dead_http, hc, link);
    server_reap_soon(s);
}

/* Answers with <status> and closes gracefully (the answer is never cut by a reset). */
static void httpconn_reply_error(struct httpconn *hc, int status, const char *detail)
{
    char buf[1024];
    size_t n = http_reply_error(buf, sizeof(buf), status, detail);

    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: %d %s%s%s", hc->peer,
            hc->req.method != NULL ? hc->req.method : "-", hc->req.url != NULL ? hc->req.url : "-",
            status, http_reply_reason(status), detail != NULL ? ": " : "",
            detail != NULL ? detail : "");
    bufferevent_write(hc->bev, buf, n);
    drain_start(hc->server, hc->bev, hc->server->config->close_timeout_ms);
    hc->bev = NULL;
    httpconn_finish(hc);
}

static void httpconn_dispatch(struct httpconn *hc)
{
    const struct route *route = route_match(hc->server->config, hc->req.url);
    struct handshake_policy policy = {0};
    struct handshake_result res;
    struct bufferevent *bev;

    if (route == NULL) {
        /* TODO(#3): requests without an upgrade go to the web root when one is set. */
        httpconn_reply_error(hc, 404, "no route for this path");
        return;
    }
    policy.subprotocols = (const char *const *)route->subprotocols;
    policy.n_subprotocols = route->n_subprotocols;
    handshake_check(&hc->req, &policy, &res);
    if (res.status != 101) {
        httpconn_reply_error(hc, res.status, res.error);
        return;
    }
    log_msg(LOG_LEVEL_DEBUG, "client=%s upgrade %s -> route %s", hc->peer, hc->req.url,
            route->path);
    bev = hc->bev;
    hc->bev = NULL;
    httpconn_finish(hc);
    wsclient_new(hc->server, bev, route, &res, hc->peer);
}

static void httpconn_on_read(struct bufferevent *bev, void *arg)
{
    struct httpconn *hc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    enum http_req_result r = HTTP_REQ_MORE;

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
    if (r == HTTP_REQ_FAIL)
        httpconn_reply_error(hc, hc->req.status, hc->req.error);
    else if (r == HTTP_REQ_DONE)
        httpconn_dispatch(hc);
}

static void httpconn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct httpconn *hc = arg;

    (void)bev;
    log_msg(LOG_LEVEL_DEBUG, "client=%s left before finishing its request (%s)", hc->peer,
            what & BEV_EVENT_ERROR ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) : "EOF");
    httpconn_finish(hc);
}

static void httpconn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct httpconn *hc = arg;

    (void)fd;
    (void)what;
    /* A slow or silent client (slowloris) must not hold a connection for ever. */
    httpconn_reply_error(hc, 408, "request head not received in time");
}

void httpconn_new(struct server *s, evutil_socket_t fd, const struct sockaddr *sa)
{
    const struct config *cfg = s->config;
    unsigned ms = cfg->handshake_timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    struct http_req_limits limits = HTTP_REQ_DEFAULT_LIMITS;
    struct httpconn *hc = calloc(1, sizeof(*hc));
    int one = 1;

    if (hc == NULL) {
        close(fd);
        return;
    }
    hc->server = s;
    addr_format_sockaddr(sa, hc->peer);
    TAILQ_INSERT_TAIL(&s->httpconns, hc, link);
    limits.max_head_bytes = (size_t)cfg->max_request_head_bytes;
    if (limits.max_url_bytes > limits.max_head_bytes)
        limits.max_url_bytes = limits.max_head_bytes;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    hc->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (hc->bev == NULL)
        close(fd);
    hc->deadline = evtimer_new(s->base, httpconn_on_deadline, hc);
    if (hc->bev == NULL || hc->deadline == NULL || http_req_init(&hc->req, &limits) != 0) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", hc->peer);
        httpconn_finish(hc);
        return;
    }
    evtimer_add(hc->deadline, &tv);
    bufferevent_setcb(hc->bev, httpconn_on_read, NULL, httpconn_on_event, hc);
    bufferevent_enable(hc->bev, EV_READ | EV_WRITE);
}

void httpconn_free(struct httpconn *hc)
{
    if (hc == NULL)
        return;
    if (hc->deadline != NULL)
        event_free(hc->deadline);
    if (hc->bev != NULL)
        bufferevent_free(hc->bev);
    http_req_free(&hc->req);
    free(hc);
}
