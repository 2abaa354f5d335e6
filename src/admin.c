/*
 * admin.c - the admin endpoint: its own listener, one request per connection read with
 * http_req.c under the handshake deadline, answered and closed (Connection: close).
 * /metrics is the sum of every worker's registry (workers_collect_metrics), then gauges
 * of the live connections and of the process (/proc); /healthz says whether the server
 * is stopping. Error answers come from http_reply.c. Plain HTTP only: it belongs on loopback or a private network.
 */
#include "admin.h"

#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "drain.h"
#include "http_reply.h"
#include "httpconn.h"
#include "log.h"
#include "metrics.h"
#include "promtext.h"
#include "ratelimit.h"
#include "server.h"
#include "workers.h"
#include "wsclient.h"

#define ADMIN_ACCEPT_RETRY_MS 100 /* pause after accept fails for lack of fds or memory */

/* RFC 7231 §4.3.2: a HEAD answer is the GET answer's head alone. */
#define ADMIN_HEAD_END "\r\n\r\n"

static void admin_conn_free(struct admin_conn *c)
{
    if (c->deadline != NULL)
        event_free(c->deadline);
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    http_req_free(&c->req);
    free(c);
}

static void admin_on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct admin *a = arg;
    struct admin_conn *c;

    (void)fd;
    (void)what;
    while ((c = TAILQ_FIRST(&a->dead)) != NULL) {
        TAILQ_REMOVE(&a->dead, c, link);
        admin_conn_free(c);
    }
}

/* Ends <c>'s part: its connection was handed to drain, or is closed by the reaper. */
static void admin_conn_finish(struct admin_conn *c)
{
    struct admin *a = c->admin;

    if (c->done)
        return;
    c->done = true;
    if (c->deadline != NULL)
        evtimer_del(c->deadline);
    TAILQ_REMOVE(&a->conns, c, link);
    TAILQ_INSERT_TAIL(&a->dead, c, link);
    a->n_conns--;
    event_active(a->reaper, EV_TIMEOUT, 0);
}

/* Queues <len> bytes of a complete answer at <reply>, cut to its head for HEAD, and lets
 * drain send them and close. */
static void admin_conn_send(struct admin_conn *c, int status, const char *reply, size_t len)
{
    const char *end;
    struct server *s = c->admin->server;

    if (c->req.method != NULL && strcmp(c->req.method, "HEAD") == 0 &&
        (end = memmem(reply, len, ADMIN_HEAD_END, 4)) != NULL)
        len = (size_t)(end - reply) + 4;
    log_msg(LOG_LEVEL_DEBUG, "admin client=%s %s %s: %d", c->peer,
            c->req.method != NULL ? c->req.method : "-", LOG_Q(c->req.url), status);
    bufferevent_write(c->bev, reply, len);
    drain_start(s, c->bev, server_config(s)->close_timeout_ms);
    c->bev = NULL;
    admin_conn_finish(c);
}

/* Answers with a short plain-text error page (http_reply.c) and closes. */
static void admin_conn_error(struct admin_conn *c, int status, const char *detail,
                             const char *headers)
{
    char buf[512];
    size_t n = http_reply_error_with(buf, sizeof(buf), status, detail, headers);

    admin_conn_send(c, status, buf, n);
}

/* A promtext_write_fn into an evbuffer. */
static int admin_buffer_add(void *arg, const char *data, size_t len)
{
    return evbuffer_add(arg, data, len);
}

/* Writes what the connection limits count now (workers.c, shared by all workers). */
static void admin_write_counts(const struct admin *a, struct promtext_writer *w)
{
    struct workers_counts c;
    struct promtext_label l = {"state", "pending"};

    workers_counts_get(a->server->workers, &c);
    promtext_write_family(w, "wsbridge_connections_counted", PROMTEXT_GAUGE,
                          "Connections counted against max_connections and the per-address "
                          "limits, from accept to close: not upgraded yet (pending), WebSocket "
                          "clients, and WebSocket sockets being closed.");
    promtext_write_gauge(w, &l, 1, (double)c.pending);
    l.value = "websocket";
    promtext_write_gauge(w, &l, 1, (double)c.clients);
    l.value = "closing";
    promtext_write_gauge(w, &l, 1, (double)(c.conns - c.pending - c.clients));
    promtext_write_family(w, "wsbridge_client_addresses", PROMTEXT_GAUGE,
                          "Distinct client addresses counted (IPv6: per_ip_prefix_v6 prefixes).");
    promtext_write_gauge(w, NULL, 0, (double)c.addresses);
    if (c.max_by_fds != 0) {
        promtext_write_family(w, "wsbridge_connections_max_by_fds", PROMTEXT_GAUGE,
                              "Connections the descriptor limit holds, two descriptors each "
                              "with fd_reserve kept free.");
        promtext_write_gauge(w, NULL, 0, (double)c.max_by_fds);
    }
}

/* Writes the live connections of every worker by state, <st> (counted at this scrape),
 * and the admin endpoint's own. */
static void admin_write_states(const struct admin *a, const struct server_status *st,
                               struct promtext_writer *w)
{
    static const char *const names[] = {"tls_handshake", "http",     "connecting", "open",
                                        "closing",       "draining", "admin"};
    const unsigned long n[] = {st->tls,     st->http,     st->connecting, st->open,
                               st->closing, st->draining, (unsigned long)a->n_conns};

    promtext_write_family(w, "wsbridge_connections_by_state", PROMTEXT_GAUGE,
                          "Connections being served now, by state: TLS handshake, HTTP request, "
                          "WebSocket connecting to its target, open or closing, and sockets "
                          "being drained and closed (each side of a WebSocket counts once), "
                          "admin requests.");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct promtext_label l = {"state", names[i]};
        promtext_write_gauge(w, &l, 1, (double)n[i]);
    }
    admin_write_counts(a, w);
}

/* Number of open descriptors (entries of /proc/self/fd but the one reading it), or -1. */
static long admin_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    long n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* Resident set size in bytes (/proc/self/statm), or -1. */
static double admin_rss_bytes(void)
{
    unsigned long size, resident;
    FILE *f = fopen("/proc/self/statm", "re");
    int got;

    if (f == NULL)
        return -1;
    got = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return got == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : -1;
}

/* The process gauges the Prometheus client libraries export, those that are cheap here;
 * a value that cannot be read leaves its family out. */
static void admin_write_process(struct admin *a, struct promtext_writer *w)
{
    struct rlimit rl;
    long fds = admin_open_fds();
    double rss = admin_rss_bytes();

    if (fds >= 0) {
        promtext_write_family(w, "process_open_fds", PROMTEXT_GAUGE,
                              "Number of open file descriptors.");
        promtext_write_gauge(w, NULL, 0, (double)fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        promtext_write_family(w, "process_max_fds", PROMTEXT_GAUGE,
                              "Maximum number of open file descriptors.");
        promtext_write_gauge(w, NULL, 0, (double)rl.rlim_cur);
    }
    if (rss >= 0) {
        promtext_write_family(w, "process_resident_memory_bytes", PROMTEXT_GAUGE,
                              "Resident memory size in bytes.");
        promtext_write_gauge(w, NULL, 0, rss);
    }
    promtext_write_family(w, "process_start_time_seconds", PROMTEXT_GAUGE,
                          "Start time of the process since the Unix epoch in seconds.");
    promtext_write_gauge(w, NULL, 0, a->started);
}

/* GET /metrics: the registry, then the gauges counted now. */
static void admin_conn_metrics(struct admin_conn *c)
{
    struct admin *a = c->admin;
    struct evbuffer *body = evbuffer_new(), *out = bufferevent_get_output(c->bev);
    struct metrics *sum = metrics_new();
    struct server_status st;
    struct promtext_writer w;
    size_t missing;
    int rc = -1;

    /* Each worker counts into its own registry; their sum is the daemon's. */
    if (body != NULL && sum != NULL) {
        missing = workers_collect_metrics(a->server->workers, a->server, sum, &st);
        if (missing > 0)
            log_msg(LOG_LEVEL_WARN, "admin: /metrics without %zu worker%s that did not answer",
                    missing, missing == 1 ? "" : "s");
        if (metrics_write(sum, admin_buffer_add, body) == 0) {
            promtext_writer_init(&w, admin_buffer_add, body);
            admin_write_states(a, &st, &w);
            admin_write_process(a, &w);
            rc = w.error == NULL ? 0 : -1;
        }
    }
    metrics_free(sum);
    if (rc != 0) {
        evbuffer_free(body);
        admin_conn_error(c, 500, "out of memory", NULL);
        return;
    }
    log_msg(LOG_LEVEL_DEBUG, "admin client=%s %s %s: 200, %zu bytes", c->peer, c->req.method,
            LOG_Q(c->req.url), evbuffer_get_length(body));
    evbuffer_add_printf(out,
                        "HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n"
                        "Cache-Control: no-store\r\n"
                        "Connection: close\r\n\r\n",
                        evbuffer_get_length(body));
    if (strcmp(c->req.method, "HEAD") != 0)
        evbuffer_add_buffer(out, body);
    evbuffer_free(body);
    drain_start(a->server, c->bev, server_config(a->server)->close_timeout_ms);
    c->bev = NULL;
    admin_conn_finish(c);
}

/* GET /healthz: 200 while serving, 503 once a stop has begun (a load balancer stops
 * sending new clients while the live ones get their close handshakes). */
static void admin_conn_health(struct admin_conn *c)
{
    bool stopping = c->admin->server->stopping;
    const char *text = stopping ? "stopping\n" : "ok\n";
    int status = stopping ? 503 : 200;
    char buf[256];
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, http_reply_reason(status), strlen(text), text);

    admin_conn_send(c, status, buf, (size_t)n);
}

/* Which answer a complete request head gets: the path decides (the query is ignored),
 * then the method. */
static void admin_conn_answer(struct admin_conn *c)
{
    const char *url = c->req.url;
    size_t len = strcspn(url, "?");
    bool get = strcmp(c->req.method, "GET") == 0 || strcmp(c->req.method, "HEAD") == 0;
    bool metrics = len == 8 && strncmp(url, "/metrics", len) == 0;
    bool health = len == 8 && strncmp(url, "/healthz", len) == 0;

    if (!metrics && !health)
        admin_conn_error(c, 404, "the admin endpoint serves /metrics and /healthz", NULL);
    else if (!get)
        admin_conn_error(c, 405, "only GET and HEAD", "Allow: GET, HEAD\r\n");
    else if (metrics)
        admin_conn_metrics(c);
    else
        admin_conn_health(c);
}

static void admin_conn_on_read(struct bufferevent *bev, void *arg)
{
    struct admin_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    enum http_req_result r = HTTP_REQ_MORE;

    while (r == HTTP_REQ_MORE && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        size_t used = 0;

        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        r = http_req_feed(&c->req, v.iov_base, v.iov_len, &used);
        if (r != HTTP_REQ_FAIL)
            evbuffer_drain(in, used);
    }
    if (r == HTTP_REQ_FAIL)
        admin_conn_error(c, c->req.status, c->req.error, NULL);
    else if (r == HTTP_REQ_DONE)
        admin_conn_answer(c);
}

static void admin_conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct admin_conn *c = arg;

    (void)bev;
    log_msg(LOG_LEVEL_DEBUG, "admin client=%s left before finishing its request (%s)", c->peer,
            what & BEV_EVENT_ERROR ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) : "EOF");
    admin_conn_finish(c);
}

static void admin_conn_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    admin_conn_error(arg, 408, "request head not received in time", NULL);
}

/* Takes accepted socket <fd> from <sa>: reads its request under the deadline. */
static void admin_conn_new(struct admin *a, evutil_socket_t fd, const struct sockaddr *sa)
{
    const struct config *cfg = server_config(a->server);
    unsigned ms = cfg->handshake_timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    struct http_req_limits limits = HTTP_REQ_DEFAULT_LIMITS;
    struct admin_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        close(fd);
        return;
    }
    c->admin = a;
    addr_format_sockaddr(sa, c->peer);
    TAILQ_INSERT_TAIL(&a->conns, c, link);
    a->n_conns++;
    limits.max_head_bytes = (size_t)cfg->max_request_head_bytes;
    if (limits.max_url_bytes > limits.max_head_bytes)
        limits.max_url_bytes = limits.max_head_bytes;
    c->limits = limits;
    c->bev = bufferevent_socket_new(a->server->base, fd,
                                    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (c->bev == NULL)
        close(fd);
    c->deadline = evtimer_new(a->server->base, admin_conn_on_deadline, c);
    if (c->bev == NULL || c->deadline == NULL || http_req_init(&c->req, &c->limits) != 0) {
        log_msg(LOG_LEVEL_ERROR, "admin client=%s: out of memory", c->peer);
        admin_conn_finish(c);
        return;
    }
    evtimer_add(c->deadline, &tv);
    bufferevent_setcb(c->bev, admin_conn_on_read, NULL, admin_conn_on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void admin_on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                            int socklen, void *arg)
{
    struct admin_listener *al = arg;
    struct admin *a = al->admin;

    (void)lev;
    (void)socklen;
    /* A scraper that opens connections and sends nothing must not use up the daemon's
     * descriptors: past the bound, new ones are closed unanswered. */
    if (a->n_conns >= ADMIN_CONNS_MAX) {
        log_msg(LOG_LEVEL_DEBUG, "admin on %s: %d requests being read already; closing", al->name,
                ADMIN_CONNS_MAX);
        close(fd);
        return;
    }
    admin_conn_new(a, fd, sa);
}

static void admin_on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    struct admin_listener *al = arg;

    (void)fd;
    (void)what;
    if (al->lev != NULL)
        evconnlistener_enable(al->lev);
}

static void admin_on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct admin_listener *al = arg;
    struct timeval tv = {0, ADMIN_ACCEPT_RETRY_MS * 1000};
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);

    /* Out of fds or memory: the connection stays in the backlog, so accepting again at
     * once would spin. Pause briefly, as server.c does for the main listeners. */
    log_msg_limited(&rl, LOG_LEVEL_WARN, "accept on admin %s: %s; pausing for %d ms", al->name,
            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()), ADMIN_ACCEPT_RETRY_MS);
    evconnlistener_disable(lev);
    evtimer_add(al->retry, &tv);
}

struct admin *admin_new(struct server *s, const struct addr *listen, char *err, size_t err_len)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8], name[ADDR_HOST_MAX + 16];
    struct admin *a = calloc(1, sizeof(*a));
    struct timespec now;
    int r;

    addr_format(listen, name, sizeof(name));
    if (a == NULL) {
        snprintf(err, err_len, "admin listen %s: out of memory", name);
        return NULL;
    }
    a->server = s;
    TAILQ_INIT(&a->conns);
    TAILQ_INIT(&a->dead);
    clock_gettime(CLOCK_REALTIME, &now);
    a->started = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    a->reaper = event_new(s->base, -1, 0, admin_on_reap, a);
    if (a->reaper == NULL) {
        snprintf(err, err_len, "admin listen %s: out of memory", name);
        goto fail;
    }
    snprintf(port, sizeof(port), "%u", listen->port);
    r = getaddrinfo(listen->host, port, &hints, &res);
    if (r != 0) {
        snprintf(err, err_len, "admin listen %s: %s", name, gai_strerror(r));
        goto fail;
    }
    for (struct addrinfo *ai = res; ai != NULL && a->n_listeners < ADMIN_LISTENERS_MAX;
         ai = ai->ai_next) {
        struct admin_listener *al = &a->listeners[a->n_listeners];
        evutil_socket_t fd;

        addr_format_sockaddr(ai->ai_addr, al->name);
        fd = server_listen_socket(ai, al->name, err, err_len);
        if (fd < 0)
            goto fail;
        al->admin = a;
        a->n_listeners++;
        al->retry = evtimer_new(s->base, admin_on_accept_retry, al);
        al->lev = evconnlistener_new(s->base, admin_on_accept, al, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        if (al->lev == NULL || al->retry == NULL) {
            snprintf(err, err_len, "admin listen %s: out of memory", al->name);
            if (al->lev == NULL)
                close(fd);
            goto fail;
        }
        evconnlistener_set_error_cb(al->lev, admin_on_accept_error);
        log_msg(LOG_LEVEL_INFO, "admin listening on %s", al->name);
    }
    freeaddrinfo(res);
    return a;

fail:
    if (res != NULL)
        freeaddrinfo(res);
    admin_free(a);
    return NULL;
}

void admin_stop(struct admin *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_listeners; i++) {
        if (a->listeners[i].lev != NULL)
            evconnlistener_free(a->listeners[i].lev);
        a->listeners[i].lev = NULL;
        if (a->listeners[i].retry != NULL)
            evtimer_del(a->listeners[i].retry);
    }
}

void admin_free(struct admin *a)
{
    struct admin_conn *c;

    if (a == NULL)
        return;
    admin_stop(a);
    for (size_t i = 0; i < a->n_listeners; i++)
        if (a->listeners[i].retry != NULL)
            event_free(a->listeners[i].retry);
    while ((c = TAILQ_FIRST(&a->conns)) != NULL) {
        TAILQ_REMOVE(&a->conns, c, link);
        admin_conn_free(c);
    }
    while ((c = TAILQ_FIRST(&a->dead)) != NULL) {
        TAILQ_REMOVE(&a->dead, c, link);
        admin_conn_free(c);
    }
    if (a->reaper != NULL)
        event_free(a->reaper);
    free(a);
}
