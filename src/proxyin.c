/*
 * proxyin.c - glue between a proxy_protocol listener's accepted socket and proxyproto.c's
 * reader. The header is taken from the socket with MSG_PEEK and then consumed exactly as
 * far as the reader used it, so the first byte after it (a TLS ClientHello, a request
 * line) is still in the kernel for whatever the connection becomes.
 */
#include "proxyin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "netlist.h"
#include "ratelimit.h"
#include "timeval.h"

/* One line per second per kind: a flood of bad peers must not flood the log. */
static struct ratelimit proxyin_peer_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
static struct ratelimit proxyin_bad_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);

static void proxyin_conn_free(struct conn *c)
{
    struct proxyin *pi = CONN_OF(c, struct proxyin, conn);

    if (pi->readable != NULL)
        event_free(pi->readable);
    if (pi->deadline != NULL)
        event_free(pi->deadline);
    if (pi->fd >= 0)
        close(pi->fd);
    connlimits_release(&pi->slot);
    free(pi);
}

/* Ends <pi>'s part: its socket was handed on, or is closed when the reaper frees it. */
static void proxyin_finish(struct proxyin *pi)
{
    if (conn_is_finished(&pi->conn))
        return;
    if (pi->readable != NULL)
        event_del(pi->readable);
    if (pi->deadline != NULL)
        event_del(pi->deadline);
    conn_finish(&pi->conn);
}

/* The loop stops: nobody is a client yet, nothing to say. */
static void proxyin_conn_stop(struct conn *c)
{
    proxyin_finish(CONN_OF(c, struct proxyin, conn));
}

static const struct conn_ops proxyin_conn_ops = {
    .kind = "proxy",
    .free = proxyin_conn_free,
    .stop = proxyin_conn_stop,
};

/* Closes <pi> without a word for <why> (a metrics reason), logged with <detail>. */
static void proxyin_refuse(struct proxyin *pi, enum metrics_proxy_refusal why, const char *detail)
{
    metrics_count_proxy_refused(pi->loop->metrics, why);
    log_msg_limited(&proxyin_bad_log, LOG_LEVEL_INFO, "client=%s PROXY header on %s: %s; closed",
                    pi->peer, pi->listener, detail);
    proxyin_finish(pi);
}

/* The header is read: the client it names takes the connection's count, then the socket
 * goes on. */
static void proxyin_hand_on(struct proxyin *pi)
{
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
    const struct proxyproto_header *h = &pi->reader.hdr;
    const struct sockaddr *sa = (const struct sockaddr *)&pi->peer_sa;
    socklen_t sa_len = pi->peer_len;
    char client[ADDR_SOCKADDR_STR_MAX];
    const char *reached;
    unsigned limit;
    evutil_socket_t fd;

    /* LOCAL and UNKNOWN (a proxy's health check) keep the real peer; so does a Unix
     * socket client, which has no address the limits or the lists could use. */
    if (!h->local && (h->src.ss_family == AF_INET || h->src.ss_family == AF_INET6)) {
        sa = (const struct sockaddr *)&h->src;
        sa_len = h->src_len;
    }
    addr_format_sockaddr(sa, client);
    log_msg(LOG_LEVEL_DEBUG, "client=%s PROXY v%u header from %s on %s%s", client, h->version,
            pi->peer, pi->listener, h->local ? " (local: the proxy's own connection)" : "");
    if (sa != (const struct sockaddr *)&pi->peer_sa) {
        reached = connlimits_rekey(&pi->slot, sa, loop_config(pi->loop)->per_ip_prefix_v6, &limit);
        if (reached != NULL) {
            metrics_count_refused(pi->loop->metrics, reached);
            log_msg_limited(&rl, LOG_LEVEL_WARN,
                            "client=%s (via %s) refused on %s: %s reached (%u)", client, pi->peer,
                            pi->listener, reached, limit);
            proxyin_finish(pi);
            return;
        }
    }
    fd = pi->fd;
    pi->fd = -1;
    proxyin_finish(pi);
    pi->done(pi->loop, fd, sa, sa_len, &pi->slot, pi->done_arg);
}

static void proxyin_on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct proxyin *pi = arg;
    uint8_t buf[PROXYPROTO_V2_MAX_BYTES];
    enum proxyproto_result r;
    size_t used = 0;
    ssize_t n;

    (void)what;
    /* Peeked, then consumed only as far as the header goes: never a byte of what follows. */
    n = recv(fd, buf, sizeof(buf), MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(pi->readable, NULL);
        return;
    }
    if (n <= 0) {
        log_msg(LOG_LEVEL_DEBUG, "client=%s left before its PROXY header (%s)", pi->peer,
                n == 0 ? "EOF" : strerror(errno));
        proxyin_finish(pi);
        return;
    }
    r = proxyproto_feed(&pi->reader, buf, (size_t)n, &used);
    if (r == PROXYPROTO_FAIL) {
        proxyin_refuse(pi, METRICS_PROXY_MALFORMED, pi->reader.error);
        return;
    }
    /* <used> bytes are in the socket's queue (just peeked): this takes exactly them. */
    if (used > 0 && recv(fd, buf, used, 0) != (ssize_t)used) {
        log_msg(LOG_LEVEL_DEBUG, "client=%s PROXY header: recv: %s", pi->peer, strerror(errno));
        proxyin_finish(pi);
        return;
    }
    if (r == PROXYPROTO_DONE) {
        proxyin_hand_on(pi);
        return;
    }
    event_add(pi->readable, NULL);
}

static void proxyin_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct proxyin *pi = arg;

    (void)fd;
    (void)what;
    proxyin_refuse(pi, METRICS_PROXY_TIMEOUT, "not complete within handshake_timeout");
}

bool proxyin_is_trusted(const struct config_listen_proxy *proxy, const struct sockaddr *sa)
{
    return proxy->from != NULL && netlist_is_allowed(proxy->from, sa);
}

void proxyin_new(struct loop *l, evutil_socket_t fd, const struct sockaddr *sa, socklen_t socklen,
                 struct connlimits_slot *slot, const struct config_listen_proxy *proxy,
                 const char *name, proxyin_done_fn *done, void *done_arg)
{
    struct timeval tv = timeval_from_ms(loop_config(l)->handshake_timeout_ms);
    struct proxyin *pi;
    char peer[ADDR_SOCKADDR_STR_MAX];

    /* A header from anyone else would let any client choose its own address: not one
     * byte is read. */
    if (!proxyin_is_trusted(proxy, sa)) {
        close(fd);
        connlimits_release(slot);
        metrics_count_proxy_refused(l->metrics, METRICS_PROXY_PEER);
        if (log_enabled(LOG_LEVEL_WARN)) {
            addr_format_sockaddr(sa, peer);
            log_msg_limited(&proxyin_peer_log, LOG_LEVEL_WARN,
                            "client=%s refused on %s: not in proxy_from", peer, name);
        }
        return;
    }
    pi = calloc(1, sizeof(*pi));
    if (pi == NULL || socklen <= 0 || (size_t)socklen > sizeof(pi->peer_sa)) {
        free(pi);
        close(fd);
        connlimits_release(slot);
        return;
    }
    connlimits_move(&pi->slot, slot);
    pi->loop = l;
    pi->done = done;
    pi->done_arg = done_arg;
    pi->fd = fd;
    memcpy(&pi->peer_sa, sa, (size_t)socklen);
    pi->peer_len = socklen;
    proxyproto_init(&pi->reader, (enum proxyproto_mode)proxy->mode);
    snprintf(pi->listener, sizeof(pi->listener), "%s", name);
    addr_format_sockaddr(sa, pi->peer);
    conn_add(&l->conns, &pi->conn, &proxyin_conn_ops);
    pi->readable = event_new(l->base, fd, EV_READ, proxyin_on_readable, pi);
    pi->deadline = evtimer_new(l->base, proxyin_on_deadline, pi);
    if (pi->readable == NULL || pi->deadline == NULL) {
        log_msg(LOG_LEVEL_ERROR, "client=%s: out of memory", pi->peer);
        proxyin_finish(pi);
        return;
    }
    event_add(pi->readable, NULL);
    evtimer_add(pi->deadline, &tv);
}
