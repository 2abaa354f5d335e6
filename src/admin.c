/*
 * admin.c - the admin endpoint's routes, behind the same HTTP connection code as the
 * bridge's: one request per connection, answered and closed (Connection: close).
 * /metrics is the sum of every loop's registry (snapshot.c: each copies its own, and the
 * connection waits meanwhile), then gauges of the live connections and of the process
 * (/proc); /healthz says whether the loop is stopping. Heads come from http_reply.c.
 * Plain HTTP only: it belongs on loopback or a private network.
 */
#include "admin.h"

#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "addr.h"
#include "conn.h"
#include "connlimits.h"
#include "http_reply.h"
#include "httpconn.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "promtext.h"
#include "snapshot.h"

#define ADMIN_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A promtext_write_fn into an evbuffer. */
static int admin_buffer_add(void *arg, const char *data, size_t len)
{
    return evbuffer_add(arg, data, len);
}

/* Writes what the connection limits count now (connlimits.c, shared by all loops). */
static void admin_write_counts(const struct admin *a, struct promtext_writer *w)
{
    struct connlimits_counts c;
    struct promtext_label l = {"state", "pending"};

    connlimits_get(a->limits, &c);
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

/* Writes the live connections of every loop by state, <st> (counted at this scrape). */
static void admin_write_states(const struct admin *a, const struct snapshot_states *st,
                               struct promtext_writer *w)
{
    static const char *const names[] = {"tls_handshake", "http",     "connecting", "open",
                                        "closing",       "draining", "admin"};
    const unsigned long n[] = {st->tls,     st->http,     st->connecting, st->open,
                               st->closing, st->draining, st->admin};

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
static void admin_write_process(const struct admin *a, struct promtext_writer *w)
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

/* Queues a 200 whose body is <body_len> bytes of <type> (the body itself is the caller's
 * to add, unless the request is a HEAD), then closes. Returns false if the head could
 * not be made. */
static bool admin_send_head(struct httpconn *hc, int status, const char *type, size_t body_len)
{
    struct http_reply_head h;
    char buf[512];
    size_t n;

    http_reply_head_init(&h, buf, sizeof(buf), status);
    http_reply_head_add(&h, "Content-Type", type);
    http_reply_head_add_uint(&h, "Content-Length", body_len);
    http_reply_head_add(&h, "Cache-Control", "no-store");
    http_reply_head_connection(&h, 1, 1, false);
    n = http_reply_head_end(&h);
    return n > 0 && evbuffer_add(httpconn_output(hc), buf, n) == 0;
}

/* True if <hc>'s request is a HEAD: RFC 7231 §4.3.2, the GET answer's head alone. */
static bool admin_is_head(const struct httpconn *hc)
{
    return strcmp(hc->req.method, "HEAD") == 0;
}

/* /metrics, once every loop's copy is in or ADMIN_COLLECT_MS has passed: the registry,
 * then the gauges counted now. */
static void admin_on_collected(const struct snapshot_result *r, void *arg)
{
    struct httpconn *hc = arg;
    const struct admin *a = hc->handler_arg;
    struct evbuffer *body = evbuffer_new();
    struct promtext_writer w;
    int rc = -1;

    httpconn_wait_end(hc);
    if (r->missing > 0)
        log_msg(LOG_LEVEL_WARN, "admin: /metrics without %zu worker%s that did not answer",
                r->missing, r->missing == 1 ? "" : "s");
    if (body != NULL && r->metrics != NULL &&
        metrics_write(r->metrics, admin_buffer_add, body) == 0) {
        promtext_writer_init(&w, admin_buffer_add, body);
        admin_write_states(a, &r->states, &w);
        admin_write_process(a, &w);
        rc = w.error == NULL ? 0 : -1;
    }
    if (rc != 0 || !admin_send_head(hc, 200, ADMIN_METRICS_TYPE, evbuffer_get_length(body))) {
        if (body != NULL)
            evbuffer_free(body);
        httpconn_reply_error(hc, 500, "out of memory", NULL);
        return;
    }
    log_msg(LOG_LEVEL_DEBUG, "admin client=%s %s %s: 200, %zu bytes", hc->peer, hc->req.method,
            LOG_Q(hc->req.url), evbuffer_get_length(body));
    if (!admin_is_head(hc))
        evbuffer_add_buffer(httpconn_output(hc), body);
    evbuffer_free(body);
    httpconn_close(hc);
}

/* GET /metrics: every loop is asked for a copy of its counters; the connection waits. */
static void admin_metrics(struct httpconn *hc, const struct admin *a)
{
    struct snapshot *s = snapshot_start(a->home, a->loops, a->n_loops, true, ADMIN_COLLECT_MS,
                                        admin_on_collected, hc);

    if (s == NULL) {
        httpconn_reply_error(hc, 500, "out of memory", NULL);
        return;
    }
    httpconn_wait(hc, s);
}

/* GET /healthz: 200 while serving, 503 once a stop has begun (a load balancer stops
 * sending new clients while the live ones get their close handshakes). */
static void admin_health(struct httpconn *hc, const struct admin *a)
{
    bool stopping = a->home->stopping;
    const char *text = stopping ? "stopping\n" : "ok\n";
    int status = stopping ? 503 : 200;

    if (!admin_send_head(hc, status, "text/plain; charset=utf-8", strlen(text))) {
        httpconn_reply_error(hc, 500, "out of memory", NULL);
        return;
    }
    if (!admin_is_head(hc))
        evbuffer_add(httpconn_output(hc), text, strlen(text));
    log_msg(LOG_LEVEL_DEBUG, "admin client=%s %s %s: %d", hc->peer, hc->req.method,
            LOG_Q(hc->req.url), status);
    httpconn_close(hc);
}

/* Which answer a complete request head gets: the path decides (the query is ignored),
 * then the method. */
static void admin_on_request(struct httpconn *hc, void *arg)
{
    const struct admin *a = arg;
    const char *url = hc->req.url;
    size_t len = strcspn(url, "?");
    bool get = strcmp(hc->req.method, "GET") == 0 || admin_is_head(hc);
    bool metrics = len == strlen("/metrics") && strncmp(url, "/metrics", len) == 0;
    bool health = len == strlen("/healthz") && strncmp(url, "/healthz", len) == 0;

    if (!metrics && !health)
        httpconn_reply_error(hc, 404, "the admin endpoint serves /metrics and /healthz", NULL);
    else if (!get)
        httpconn_reply_error(hc, 405, "only GET and HEAD", "Allow: GET, HEAD\r\n");
    else if (metrics)
        admin_metrics(hc, a);
    else
        admin_health(hc, a);
}

/* A scrape waiting for its copies: the copies' own deadline (ADMIN_COLLECT_MS) answers it
 * soon, whatever comes; only a connection going away ends the collection. */
static void admin_on_cut(struct httpconn *hc, void *wait, enum httpconn_cut why)
{
    (void)hc;
    if (why == HTTPCONN_CUT_GONE)
        snapshot_cancel(wait);
}

static const struct httpconn_handler admin_handler = {
    .conn = HTTPCONN_CONN_OPS("admin"),
    .log_prefix = "admin ",
    .log_level = LOG_LEVEL_DEBUG,
    .bare_head = true,
    .on_request = admin_on_request,
    .on_cut = admin_on_cut,
};

static void admin_on_accept(struct listener *l, evutil_socket_t fd, const struct sockaddr *sa,
                            int socklen, void *arg)
{
    struct admin *a = arg;
    struct bufferevent *bev;

    (void)socklen;
    /* A scraper that opens connections and sends nothing must not use up the daemon's
     * descriptors: past the bound, new ones are closed unanswered. */
    if (connset_live(&a->home->conns, admin_handler.conn.kind) >= ADMIN_CONNS_MAX) {
        log_msg(LOG_LEVEL_DEBUG, "admin on %s: %d requests being read already; closing", l->name,
                ADMIN_CONNS_MAX);
        close(fd);
        return;
    }
    bev =
        bufferevent_socket_new(a->home->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        char peer[ADDR_SOCKADDR_STR_MAX];

        addr_format_sockaddr(sa, peer);
        log_msg(LOG_LEVEL_ERROR, "admin client=%s: out of memory", peer);
        close(fd);
        return;
    }
    httpconn_new(a->home, bev, sa, NULL, &admin_handler, a);
}

struct admin *admin_new(struct loop *home, struct loop *const *loops, size_t n_loops,
                        struct connlimits *limits, const struct addr *listen, struct inherit *in,
                        char *err, size_t err_len)
{
    struct listener_opts opts = {.what = "admin ", .accept = admin_on_accept, .inherit = in};
    struct addrinfo *res = NULL;
    struct admin *a = calloc(1, sizeof(*a));
    char name[ADDR_HOST_MAX + 16];
    struct timespec now;

    if (a == NULL) {
        addr_format(listen, name, sizeof(name));
        snprintf(err, err_len, "admin listen %s: out of memory", name);
        return NULL;
    }
    a->home = home;
    a->loops = loops;
    a->n_loops = n_loops;
    a->limits = limits;
    clock_gettime(CLOCK_REALTIME, &now);
    a->started = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    opts.arg = a;
    if (listener_resolve(listen, opts.what, &res, err, err_len) != 0)
        goto fail;
    for (struct addrinfo *ai = res; ai != NULL && a->n_listeners < ADMIN_LISTENERS_MAX;
         ai = ai->ai_next) {
        struct listener *l = listener_new(home->base, ai, &opts, err, err_len);

        if (l == NULL)
            goto fail;
        a->listeners[a->n_listeners++] = l;
        log_msg(LOG_LEVEL_INFO, "admin listening on %s", l->name);
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
    for (size_t i = 0; i < a->n_listeners; i++)
        listener_close(a->listeners[i]);
}

void admin_free(struct admin *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_listeners; i++)
        listener_free(a->listeners[i]);
    free(a);
}
