/*
 * loadgen.c - the benchmark's load generator: one epoll loop, one thread, many
 * non-blocking connections through a relay to a target, either as WebSocket clients
 * (wsc.c: masked frames out, server frames parsed) or as raw TCP carrying the same
 * payload bytes unframed. Every byte that comes back is checked against the pattern
 * stream at its offset (pattern.c), whatever the frame or segment boundaries.
 * This file holds the run: phases, deadlines, figures and the command line; one
 * connection is conn.c. Prints one line of key=value figures; see loadgen_usage() and
 * tests/bench/README.md.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pattern.h"
#include "tlsc.h"

static volatile sig_atomic_t loadgen_interrupted;
static volatile sig_atomic_t loadgen_released; /* SIGUSR1: end the hold now */

static void loadgen_on_signal(int sig)
{
    (void)sig;
    loadgen_interrupted = 1;
}

static void loadgen_on_release(int sig)
{
    (void)sig;
    loadgen_released = 1;
}

/* ---------------------------------------------------------------------------------------
 * The run */

static void loadgen_set_phase(struct loadgen *lg, enum loadgen_phase p)
{
    lg->phase = p;
    lg->phase_ns = loadgen_now_ns();
    if (p == LOADGEN_MEASURE)
        lg->measure_start_ns = lg->phase_ns;
}

static void loadgen_sample_memory(struct loadgen *lg, struct proc_usage *u, bool with_pss)
{
    if (lg->o.relay_pid > 0 && proc_usage_read(lg->o.relay_pid, u, with_pss) == 0 &&
        u->rss_kib > lg->rss_max_kib)
        lg->rss_max_kib = u->rss_kib;
}

/* Enters DRAIN: no new messages or connections; connections with nothing outstanding
 * begin closing, the others close as their last echo arrives. */
static void loadgen_drain(struct loadgen *lg)
{
    lg->measure_end_ns = loadgen_now_ns();
    loadgen_set_phase(lg, LOADGEN_DRAIN);
    for (unsigned i = 0; i < lg->o.conns; i++) {
        struct conn *c = &lg->conns[i];
        if (c->state != CONN_OPEN)
            continue;
        if (lg->o.mode == LOADGEN_STALL_READ || lg->o.mode == LOADGEN_STALL_WRITE)
            conn_finish(lg, c, true); /* with data unread: a reset is fine here */
        else if (lg->o.mode != LOADGEN_HANDSHAKE && c->rx_off == c->tx_off && c->out_len == 0)
            conn_close(lg, c);
    }
}

/* Per-connection deadlines, checked every 100 ms. */
static void loadgen_scan(struct loadgen *lg, uint64_t now)
{
    for (unsigned i = 0; i < lg->o.conns; i++) {
        struct conn *c = &lg->conns[i];
        uint64_t age = now - c->state_ns;
        if ((c->state == CONN_CONNECTING || c->state == CONN_TLS || c->state == CONN_UPGRADING) &&
            age > LOADGEN_OPEN_TIMEOUT_NS)
            conn_fail(lg, c, "%s timed out",
                      c->state == CONN_CONNECTING ? "connect"
                      : c->state == CONN_TLS      ? "TLS handshake"
                                                  : "upgrade");
        else if (c->state == CONN_CLOSING && age > LOADGEN_CLOSE_TIMEOUT_NS)
            conn_finish(lg, c, false);
    }
}

/* Moves the run along: starts connections, changes phase on time, samples memory. */
static void loadgen_tick(struct loadgen *lg)
{
    const struct loadgen_opts *o = &lg->o;
    uint64_t now = loadgen_now_ns();
    uint64_t in_phase = now - lg->phase_ns;

    if (now - lg->last_scan_ns > 100000000u) {
        lg->last_scan_ns = now;
        loadgen_scan(lg, now);
    }
    if ((o->mode == LOADGEN_STALL_READ || o->mode == LOADGEN_STALL_WRITE) &&
        now - lg->last_sample_ns > LOADGEN_SAMPLE_NS) {
        struct proc_usage u;
        lg->last_sample_ns = now;
        loadgen_sample_memory(lg, &u, false);
        lg->rss_capped = lg->rss_capped || lg->rss_max_kib > o->rss_cap_kib;
    }

    switch (lg->phase) {
    case LOADGEN_OPENING:
        if (o->mode == LOADGEN_CONNECTIONS) {
            while (lg->started < o->conns &&
                   lg->started - lg->echoed - lg->open_failed < o->open_inflight)
                conn_start(lg, &lg->conns[lg->started], lg->started);
            if (lg->echoed + lg->open_failed == o->conns) {
                lg->open_seconds = (double)(now - lg->start_ns) / NS;
                if (lg->errors)
                    loadgen_drain(lg);
                else
                    loadgen_set_phase(lg, LOADGEN_HOLD);
                /* For a script that runs several: every connection is open now. */
                fprintf(stderr, "loadgen: holding opened=%u open_seconds=%.3f\n", lg->echoed,
                        lg->open_seconds);
            }
        } else if (lg->opened == o->conns) {
            bool stall = o->mode == LOADGEN_STALL_READ || o->mode == LOADGEN_STALL_WRITE;
            loadgen_set_phase(lg, stall ? LOADGEN_MEASURE : LOADGEN_WARMUP);
            for (unsigned i = 0; i < o->conns; i++)
                conn_pump(lg, &lg->conns[i]);
        } else if (lg->errors > 0) {
            loadgen_drain(lg);
        }
        break;
    case LOADGEN_WARMUP:
        if (in_phase >= (uint64_t)(o->warmup_seconds * NS))
            loadgen_set_phase(lg, LOADGEN_MEASURE);
        break;
    case LOADGEN_MEASURE:
        if (in_phase >= (uint64_t)(o->seconds * NS) ||
            (o->mode == LOADGEN_STALL_READ && lg->rss_capped))
            loadgen_drain(lg);
        break;
    case LOADGEN_HOLD:
        if (!lg->final_started && (in_phase >= (uint64_t)(o->hold_seconds * NS) ||
                                   loadgen_released)) {
            loadgen_sample_memory(lg, &lg->mem_after, true);
            for (unsigned i = 0; i < o->conns; i++)
                lg->held += lg->conns[i].state == CONN_OPEN;
            if (!o->final_echo) {
                loadgen_drain(lg); /* closes them all: each has its echo back */
                break;
            }
            /* -E: every connection still open sends one more message and waits for it */
            lg->final_started = true;
            lg->final_start_ns = now;
        }
        /* ... at most -k of them outstanding, as when opening: a burst of 100,000 small
         * writes overflows loopback's backlog (net.core.netdev_max_backlog), and the
         * dropped segments wait for retransmission timeouts, pongs included. */
        while (lg->final_started && lg->final_next < o->conns &&
               lg->final_sent - lg->final_echoed < o->open_inflight) {
            struct conn *c = &lg->conns[lg->final_next++];
            if (c->state != CONN_OPEN)
                continue;
            c->final_due = true;
            lg->final_sent++;
            conn_pump(lg, c);
        }
        if (lg->final_started && (lg->final_echoed == lg->held ||
                                  now - lg->final_start_ns > LOADGEN_FINAL_TIMEOUT_NS)) {
            lg->final_seconds = (double)(now - lg->final_start_ns) / NS;
            loadgen_drain(lg); /* one not echoed yet fails there after its own timeout */
        }
        break;
    case LOADGEN_DRAIN:
        if (lg->live == 0) {
            loadgen_set_phase(lg, LOADGEN_FINISHED);
        } else if (in_phase > LOADGEN_DRAIN_TIMEOUT_NS) {
            for (unsigned i = 0; i < o->conns; i++)
                conn_fail(lg, &lg->conns[i], "%llu bytes not echoed at the end",
                          (unsigned long long)(lg->conns[i].tx_off - lg->conns[i].rx_off));
            loadgen_set_phase(lg, LOADGEN_FINISHED);
        }
        break;
    case LOADGEN_FINISHED:
        break;
    }
    /* Handshake mode keeps K cycles in flight until MEASURE ends; slots are refilled
     * here, never inside an event batch, so a stale event cannot reach a new socket. */
    if (o->mode == LOADGEN_HANDSHAKE &&
        (lg->phase == LOADGEN_WARMUP || lg->phase == LOADGEN_MEASURE)) {
        for (unsigned i = 0; i < o->conns; i++) {
            struct conn *c = &lg->conns[i];
            if (c->state == CONN_FREE || c->state == CONN_DONE)
                conn_start(lg, c, lg->started);
        }
    }
}

static int loadgen_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile <p> (0 < p <= 100) of the sorted samples, in µs. */
static double loadgen_percentile_us(const struct loadgen *lg, double p)
{
    if (lg->nsamples == 0)
        return 0;
    double want = p / 100.0 * (double)lg->nsamples;
    size_t rank = (size_t)want;
    if ((double)rank < want)
        rank++; /* the ceiling: the smallest sample with at least p% at or below it */
    if (rank < 1)
        rank = 1;
    return (double)lg->samples[rank - 1] / 1000.0;
}

static void loadgen_report(struct loadgen *lg)
{
    const struct loadgen_opts *o = &lg->o;
    double secs = (double)(lg->measure_end_ns - lg->measure_start_ns) / NS;
    struct rusage ru;
    const char *mode_names[] = {"throughput", "latency",    "connections",
                                "handshake",  "stall-read", "stall-write"};
    bool ok = lg->errors == 0 && !loadgen_interrupted;

    getrusage(RUSAGE_SELF, &ru);
    printf("ok=%d mode=%s proto=%s conns=%u msg_bytes=%zu", ok, mode_names[o->mode],
           o->ws ? "ws" : "tcp", o->conns, o->msg_bytes);
    switch (o->mode) {
    case LOADGEN_THROUGHPUT:
        printf(" seconds=%.3f bytes=%llu mb_per_s=%.2f msgs_per_s=%.0f bytes_total=%llu "
               "window_bytes=%zu",
               secs, (unsigned long long)lg->rx_measured, (double)lg->rx_measured / secs / 1e6,
               (double)lg->rx_measured / (double)o->msg_bytes / secs,
               (unsigned long long)lg->rx_total, o->window_bytes);
        break;
    case LOADGEN_LATENCY:
        qsort(lg->samples, lg->nsamples, sizeof(*lg->samples), loadgen_cmp_u64);
        printf(" seconds=%.3f samples=%zu dropped=%zu p50_us=%.1f p90_us=%.1f p99_us=%.1f "
               "max_us=%.1f msgs_per_s=%.0f bytes_total=%llu",
               secs, lg->nsamples, lg->samples_dropped, loadgen_percentile_us(lg, 50),
               loadgen_percentile_us(lg, 90), loadgen_percentile_us(lg, 99),
               loadgen_percentile_us(lg, 100), (double)lg->nsamples / secs,
               (unsigned long long)lg->rx_total);
        break;
    case LOADGEN_CONNECTIONS: {
        const struct proc_usage *b = &lg->mem_before, *a = &lg->mem_after;
        double n = lg->held ? lg->held : 1;
        printf(" opened=%u held=%u open_seconds=%.3f upgraded_seconds=%.3f src_addrs=%u "
               "rss_before_kib=%llu "
               "rss_after_kib=%llu pss_before_kib=%llu pss_after_kib=%llu "
               "rss_per_conn_kib=%.2f pss_per_conn_kib=%.2f procs=%u final_echoed=%u "
               "final_seconds=%.3f",
               lg->echoed, lg->held, lg->open_seconds,
               lg->upgraded_ns != 0 ? (double)(lg->upgraded_ns - lg->start_ns) / NS : 0.0,
               o->src_addrs, (unsigned long long)b->rss_kib,
               (unsigned long long)a->rss_kib, (unsigned long long)b->pss_kib,
               (unsigned long long)a->pss_kib, ((double)a->rss_kib - (double)b->rss_kib) / n,
               ((double)a->pss_kib - (double)b->pss_kib) / n, a->procs, lg->final_echoed,
               lg->final_seconds);
        break;
    }
    case LOADGEN_HANDSHAKE:
        qsort(lg->samples, lg->nsamples, sizeof(*lg->samples), loadgen_cmp_u64);
        printf(" seconds=%.3f completed=%u conns_per_s=%.1f cycle_p50_us=%.1f "
               "cycle_p99_us=%.1f conns_total=%u",
               secs, lg->completed, (double)lg->completed / secs, loadgen_percentile_us(lg, 50),
               loadgen_percentile_us(lg, 99), lg->completed_total);
        break;
    case LOADGEN_STALL_READ:
    case LOADGEN_STALL_WRITE: {
        uint64_t sent = 0;
        for (unsigned i = 0; i < o->conns; i++)
            sent += lg->conns[i].wire_bytes;
        printf(" seconds=%.3f rss_before_kib=%llu rss_max_kib=%llu rss_capped=%d "
               "client_sent_bytes=%llu",
               secs, (unsigned long long)lg->mem_before.rss_kib,
               (unsigned long long)lg->rss_max_kib, lg->rss_capped, (unsigned long long)sent);
        break;
    }
    }
    if (o->tls)
        printf(" tls=1 tls_full=%u tls_resumed=%u", lg->tls_full, lg->tls_resumed);
    printf(" unclean_closes=%u errors=%u loadgen_cpu_s=%.2f", lg->unclean, lg->errors,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
               ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6);
    if (lg->errors)
        printf(" error=\"%s\"", lg->error);
    if (loadgen_interrupted)
        printf(" interrupted=1");
    printf("\n");
    fflush(stdout);
}

/* Runs <lg> to the end within a hard deadline. Returns 0 when every connection did what
 * it should, 1 otherwise. */
static int loadgen_run(struct loadgen *lg)
{
    const struct loadgen_opts *o = &lg->o;
    struct epoll_event evs[512];
    uint64_t deadline;

    lg->samples_cap =
        o->mode == LOADGEN_LATENCY || o->mode == LOADGEN_HANDSHAKE ? LOADGEN_SAMPLES_MAX : 0;
    lg->samples = malloc((lg->samples_cap ? lg->samples_cap : 1) * sizeof(*lg->samples));
    lg->conns = calloc(o->conns, sizeof(*lg->conns));
    lg->ep = epoll_create1(EPOLL_CLOEXEC);
    if (lg->samples == NULL || lg->conns == NULL || lg->ep < 0) {
        fprintf(stderr, "loadgen: out of memory or epoll_create1: %s\n", strerror(errno));
        return 1;
    }
    for (unsigned i = 0; i < o->conns; i++) {
        lg->conns[i].buf_cap = WSC_HEADER_MAX + o->msg_bytes + 512; /* + request, controls */
        lg->conns[i].buf = malloc(lg->conns[i].buf_cap);
        lg->conns[i].fd = -1;
        if (lg->conns[i].buf == NULL) {
            fprintf(stderr, "loadgen: out of memory for %u connections\n", o->conns);
            return 1;
        }
    }
    loadgen_sample_memory(lg, &lg->mem_before, o->mode == LOADGEN_CONNECTIONS);
    lg->rss_max_kib = lg->mem_before.rss_kib;
    lg->start_ns = lg->last_scan_ns = loadgen_now_ns();
    deadline =
        lg->start_ns + (uint64_t)((o->seconds + o->warmup_seconds + o->hold_seconds + 60) * NS);
    loadgen_set_phase(lg, LOADGEN_OPENING);
    if (o->mode != LOADGEN_CONNECTIONS && o->mode != LOADGEN_HANDSHAKE) {
        for (unsigned i = 0; i < o->conns; i++)
            conn_start(lg, &lg->conns[i], i);
    } else if (o->mode == LOADGEN_HANDSHAKE) {
        loadgen_set_phase(lg, LOADGEN_WARMUP);
    }
    while (lg->phase != LOADGEN_FINISHED && !loadgen_interrupted) {
        int n = epoll_wait(lg->ep, evs, 512, 10);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "loadgen: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++)
            conn_on_event(lg, evs[i].data.ptr, evs[i].events);
        loadgen_tick(lg);
        if (loadgen_now_ns() > deadline) {
            for (unsigned i = 0; i < o->conns; i++)
                conn_fail(lg, &lg->conns[i], "run over its hard deadline");
            break;
        }
    }
    if (lg->measure_end_ns == 0)
        lg->measure_end_ns = loadgen_now_ns();
    for (unsigned i = 0; i < o->conns; i++) {
        if (lg->conns[i].ssl != NULL)
            tlsc_end(&lg->conns[i], false);
        if (lg->conns[i].fd >= 0 && lg->conns[i].state != CONN_DONE)
            close(lg->conns[i].fd);
    }
    loadgen_report(lg);
    tlsc_ctx_free(lg);
    for (unsigned i = 0; i < o->conns; i++)
        free(lg->conns[i].buf);
    free(lg->conns);
    free(lg->samples);
    close(lg->ep);
    return lg->errors == 0 && !loadgen_interrupted ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------
 * Command line */

static void loadgen_usage(FILE *f)
{
    fprintf(f, "usage: loadgen MODE [options]\n"
               "modes: throughput latency connections handshake stall-read stall-write\n"
               "       free-port (print a free 127.0.0.1 port)   wait (until -a accepts)\n"
               "       usage PID (print the CPU ticks, RSS and PSS of PID's process tree)\n"
               "       tree PID (print the pids of PID's descendants)\n"
               "  -a 127.0.0.1:PORT  relay address (loopback only)\n"
               "  -t ws|tcp          WebSocket client or raw TCP (default ws)\n"
               "  -u PATH            request path (default /echo)\n"
               "  -c N               connections; in flight for handshake (default 1)\n"
               "  -s BYTES           payload bytes per message, at most 1 MiB (default 65536)\n"
               "  -w BYTES           throughput: payload in flight per connection (default 1 MiB)\n"
               "  -d SECONDS         measured time (default 3)\n"
               "  -W SECONDS         warm-up before measuring (default 0.5)\n"
               "  -H SECONDS         connections: idle hold before reading memory (default 2)\n"
               "  -k N               connections: handshakes in flight while opening (200)\n"
               "  -S N               source addresses 127.0.0.1..N (default: one per 20000)\n"
               "  -A IP,IP,...       source addresses to use in turn instead (127.x only)\n"
               "  -E                 connections: after the hold (or SIGUSR1, which ends it),\n"
               "                     one more echo on every connection, all checked, -k at once\n"
               "  -p PID             relay to read memory from (/proc, children included)\n"
               "  -n BYTES           stall-write: payload to send at most (default 1 GiB)\n"
               "  -m KIB             stall modes: stop once the relay's RSS passes this\n"
               "  -T                 TLS on every connection (wss, or raw TCP over TLS); SNI\n"
               "                     localhost, the certificate not checked\n"
               "  -R                 with -T: resume the first handshake's session on the\n"
               "                     later ones (the output counts tls_full, tls_resumed)\n"
               "  -V 1.2|1.3         with -T: the highest TLS version offered (default 1.3)\n");
}

static int loadgen_parse_addr(struct loadgen_opts *o, const char *s)
{
    char ip[32];
    const char *colon = strrchr(s, ':');

    if (colon == NULL || (size_t)(colon - s) >= sizeof(ip))
        return -1;
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    o->dst.sin_family = AF_INET;
    o->dst.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, ip, &o->dst.sin_addr) != 1 ||
        (ntohl(o->dst.sin_addr.s_addr) >> 24) != 127 || o->dst.sin_port == 0)
        return -1; /* loopback only: this tool must never load another host */
    snprintf(o->host, sizeof(o->host), "%s", s);
    return 0;
}

/* -A: a comma-separated list of loopback addresses into o->src_list. */
static int loadgen_parse_sources(struct loadgen_opts *o, const char *s)
{
    char ip[32];

    o->n_src_list = 0;
    while (*s != '\0') {
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof(ip) || o->n_src_list == LOADGEN_SRC_LIST_MAX)
            return -1;
        memcpy(ip, s, len);
        ip[len] = '\0';
        if (inet_pton(AF_INET, ip, &o->src_list[o->n_src_list]) != 1 ||
            (ntohl(o->src_list[o->n_src_list].s_addr) >> 24) != 127)
            return -1;
        o->n_src_list++;
        s += len + (s[len] == ',');
    }
    return o->n_src_list > 0 ? 0 : -1;
}

static int loadgen_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        fprintf(stderr, "loadgen: free port: %s\n", strerror(errno));
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

/* Waits up to <seconds> for <o>'s address to accept a TCP connection. */
static int loadgen_wait(const struct loadgen_opts *o, double seconds)
{
    uint64_t end = loadgen_now_ns() + (uint64_t)(seconds * NS);

    while (loadgen_now_ns() < end) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int rc = fd < 0 ? -1 : connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst));
        if (fd >= 0)
            close(fd);
        if (rc == 0)
            return 0;
        usleep(20000);
    }
    fprintf(stderr, "loadgen: nothing accepts on %s after %.0f s\n", o->host, seconds);
    return 1;
}

static int loadgen_print_usage(const char *pid)
{
    struct proc_usage u;

    if (proc_usage_read(atoi(pid), &u, true) != 0) {
        fprintf(stderr, "loadgen: no process %s\n", pid);
        return 1;
    }
    printf("cpu_ticks=%llu rss_kib=%llu pss_kib=%llu procs=%u\n", (unsigned long long)u.cpu_ticks,
           (unsigned long long)u.rss_kib, (unsigned long long)u.pss_kib, u.procs);
    return 0;
}

static int loadgen_print_tree(const char *pid)
{
    static int kids[PROC_TREE_MAX];
    size_t n = proc_descendants(atoi(pid), kids, PROC_TREE_MAX);

    for (size_t i = 0; i < n; i++)
        printf("%d\n", kids[i]);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *modes[] = {"throughput", "latency",    "connections",
                                  "handshake",  "stall-read", "stall-write"};
    struct loadgen lg = {.o = {.ws = true,
                               .path = "/echo",
                               .conns = 1,
                               .msg_bytes = 65536,
                               .window_bytes = 1024 * 1024,
                               .seconds = 3,
                               .warmup_seconds = 0.5,
                               .hold_seconds = 2,
                               .open_inflight = 200,
                               .stall_bytes = 1ull << 30,
                               .rss_cap_kib = 1024 * 1024}};
    struct loadgen_opts *o = &lg.o;
    struct sigaction sa = {.sa_handler = loadgen_on_signal};
    struct rlimit rl;
    int mode = -1, opt;
    bool have_addr = false;
    const char *tls_version = NULL;

    if (argc < 2) {
        loadgen_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "free-port") == 0)
        return loadgen_free_port();
    if (strcmp(argv[1], "usage") == 0 && argc == 3)
        return loadgen_print_usage(argv[2]);
    if (strcmp(argv[1], "tree") == 0 && argc == 3)
        return loadgen_print_tree(argv[2]);
    for (int i = 0; i < 6; i++)
        if (strcmp(argv[1], modes[i]) == 0)
            mode = i;
    if (mode < 0 && strcmp(argv[1], "wait") != 0) {
        loadgen_usage(stderr);
        return 2;
    }
    optind = 2;
    while ((opt = getopt(argc, argv, "a:t:u:c:s:w:d:W:H:k:S:A:Ep:n:m:TRV:")) != -1) {
        switch (opt) {
        case 'a':
            if (loadgen_parse_addr(o, optarg) != 0) {
                fprintf(stderr, "loadgen: -a %s: want 127.x.y.z:PORT\n", optarg);
                return 2;
            }
            have_addr = true;
            break;
        case 't':
            o->ws = strcmp(optarg, "tcp") != 0;
            break;
        case 'u':
            o->path = optarg;
            break;
        case 'c':
            o->conns = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->msg_bytes = strtoull(optarg, NULL, 10);
            break;
        case 'w':
            o->window_bytes = strtoull(optarg, NULL, 10);
            break;
        case 'd':
            o->seconds = atof(optarg);
            break;
        case 'W':
            o->warmup_seconds = atof(optarg);
            break;
        case 'H':
            o->hold_seconds = atof(optarg);
            break;
        case 'k':
            o->open_inflight = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'S':
            o->src_addrs = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'A':
            if (loadgen_parse_sources(o, optarg) != 0) {
                fprintf(stderr, "loadgen: -A %s: want 127.x.y.z[,127.x.y.z...] (at most %d)\n",
                        optarg, LOADGEN_SRC_LIST_MAX);
                return 2;
            }
            break;
        case 'E':
            o->final_echo = true;
            break;
        case 'p':
            o->relay_pid = atoi(optarg);
            break;
        case 'n':
            o->stall_bytes = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            o->rss_cap_kib = strtoull(optarg, NULL, 10);
            break;
        case 'T':
            o->tls = true;
            break;
        case 'R':
            o->tls_resume = true;
            break;
        case 'V':
            if (strcmp(optarg, "1.2") != 0 && strcmp(optarg, "1.3") != 0) {
                fprintf(stderr, "loadgen: -V %s: want 1.2 or 1.3\n", optarg);
                return 2;
            }
            tls_version = optarg;
            break;
        default:
            loadgen_usage(stderr);
            return 2;
        }
    }
    if (!have_addr) {
        fprintf(stderr, "loadgen: -a is required\n");
        return 2;
    }
    if (mode < 0)
        return loadgen_wait(o, o->seconds);
    o->mode = (enum loadgen_mode)mode;
    if (o->conns == 0 || o->conns > 1000000 || o->msg_bytes == 0 || o->msg_bytes > PATTERN_SPAN ||
        o->seconds <= 0 || o->seconds > 3600 || o->warmup_seconds < 0 || o->hold_seconds < 0 ||
        o->open_inflight == 0) {
        fprintf(stderr, "loadgen: a count, size or duration is out of range\n");
        return 2;
    }
    if (o->window_bytes < o->msg_bytes)
        o->window_bytes = o->msg_bytes;
    if (o->src_addrs == 0)
        o->src_addrs = 1 + (o->conns - 1) / LOADGEN_PORTS_PER_ADDR;
    if (o->src_addrs > 254)
        o->src_addrs = 254;

    /* Each connection is one fd: take all the descriptors the hard limit allows. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)o->conns + 16) {
            fprintf(stderr, "loadgen: %u connections need more fds than the limit %llu\n", o->conns,
                    (unsigned long long)rl.rlim_cur);
            return 2;
        }
    }
    if (pattern_init() != 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    if (o->tls_resume && !o->tls) {
        fprintf(stderr, "loadgen: -R needs -T\n");
        return 2;
    }
    if (o->tls && tlsc_ctx_init(&lg, tls_version) != 0)
        return 1;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = loadgen_on_release;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return loadgen_run(&lg);
}
