/*
 * loadgen.h - the run of the load generator, shared by loadgen.c (phases, figures,
 * command line) and conn.c (one connection).
 */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include "conn.h"
#include "proc.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define LOADGEN_READ_BYTES (256 * 1024)
#define LOADGEN_SAMPLES_MAX (4u * 1024 * 1024)        /* latency samples kept (32 MiB) */
#define LOADGEN_OPEN_TIMEOUT_NS (10ull * 1000000000)  /* connect + upgrade */
#define LOADGEN_CLOSE_TIMEOUT_NS (5ull * 1000000000)  /* close handshake + EOF */
#define LOADGEN_DRAIN_TIMEOUT_NS (15ull * 1000000000) /* outstanding echoes at the end */
#define LOADGEN_SAMPLE_NS (50ull * 1000000)           /* memory sampling in stall modes */
#define LOADGEN_PORTS_PER_ADDR 20000u                 /* below the default 28232 ephemeral ports */
#define LOADGEN_SRC_LIST_MAX 64                      /* -A addresses */
#define LOADGEN_FINAL_TIMEOUT_NS (60ull * 1000000000) /* -E: the last echoes, all of them */
#define NS 1000000000.0

enum loadgen_mode {
    LOADGEN_THROUGHPUT = 0, /* C connections, window of bytes in flight each */
    LOADGEN_LATENCY,        /* C connections, one message in flight each */
    LOADGEN_CONNECTIONS,    /* open C, one echo each, hold, read the relay's memory */
    LOADGEN_HANDSHAKE,      /* K in flight of connect, upgrade, one echo, close */
    LOADGEN_STALL_READ,     /* the client never reads (the target floods) */
    LOADGEN_STALL_WRITE,    /* the client writes to a target that never reads */
};

enum loadgen_phase {
    LOADGEN_OPENING = 0, /* connections being opened; nothing counted */
    LOADGEN_WARMUP,      /* traffic flows, not counted */
    LOADGEN_MEASURE,     /* traffic counted */
    LOADGEN_HOLD,        /* connections mode: every connection open and idle */
    LOADGEN_DRAIN,       /* nothing new; outstanding echoes finish, connections close */
    LOADGEN_FINISHED,
};

struct loadgen_opts {
    enum loadgen_mode mode;
    bool ws;                /* WebSocket (true) or raw TCP */
    struct sockaddr_in dst; /* relay address */
    char host[64];          /* Host header */
    const char *path;       /* request path */
    unsigned conns;         /* connections (in flight for handshake) */
    size_t msg_bytes;       /* payload bytes per message */
    size_t window_bytes;    /* throughput: payload bytes in flight per connection */
    double seconds;         /* measured duration */
    double warmup_seconds;  /* traffic before measuring */
    double hold_seconds;    /* connections: idle time before reading memory */
    unsigned open_inflight; /* connections: handshakes in flight while opening */
    unsigned src_addrs;     /* source addresses 127.0.0.1 .. 127.0.0.N */
    struct in_addr src_list[LOADGEN_SRC_LIST_MAX]; /* -A: these instead, one in turn */
    unsigned n_src_list;    /* entries in src_list; 0: src_addrs decides */
    bool final_echo;        /* connections: one more echo on every connection after the hold */
    int relay_pid;          /* relay to read memory from (0: none) */
    uint64_t stall_bytes;   /* stall-write: payload to send at most */
    uint64_t rss_cap_kib;   /* stall modes: stop once the relay's RSS passes this */
    bool tls;               /* -T: every connection in TLS (SNI localhost, no verification) */
    bool tls_resume;        /* -R: resume the first handshake's session on the next ones */
};

struct loadgen {
    struct loadgen_opts o;
    int ep;             /* epoll fd */
    struct conn *conns; /* o.conns slots */
    enum loadgen_phase phase;
    uint64_t start_ns;            /* run started */
    uint64_t phase_ns;            /* current phase entered */
    uint64_t measure_start_ns;    /* MEASURE entered */
    uint64_t measure_end_ns;      /* MEASURE left */
    uint64_t last_scan_ns;        /* per-connection deadlines last checked */
    uint64_t last_sample_ns;      /* memory last sampled */
    unsigned started;             /* connections started */
    unsigned live;                /* connections not DONE */
    unsigned opened;              /* connections that reached OPEN */
    unsigned echoed;              /* connections mode: first echo done */
    unsigned open_failed;         /* connections mode: failed before their echo */
    unsigned held;                /* connections mode: open when memory was read */
    unsigned completed;           /* handshake: cycles completed inside MEASURE */
    unsigned completed_total;     /* handshake: cycles completed */
    unsigned unclean;             /* closes without the server's close frame or EOF */
    unsigned errors;              /* failed connections */
    char error[200];              /* the first failure */
    uint64_t rx_measured;         /* payload bytes echoed inside MEASURE */
    uint64_t rx_total;            /* payload bytes echoed in the whole run */
    uint64_t *samples;            /* latency or cycle times, ns */
    size_t nsamples;              /* in samples */
    size_t samples_cap;           /* allocated */
    size_t samples_dropped;       /* past LOADGEN_SAMPLES_MAX */
    struct proc_usage mem_before; /* relay before the first connection */
    struct proc_usage mem_after;  /* relay at the end of HOLD */
    uint64_t rss_max_kib;         /* stall modes: highest RSS sampled */
    bool rss_capped;              /* stall modes: RSS passed o.rss_cap_kib */
    double open_seconds;          /* connections: time to open and echo all */
    bool final_started;           /* -E: the last echoes were sent */
    uint64_t final_start_ns;      /* ... at this time */
    unsigned final_echoed;        /* -E: connections whose last echo came back */
    unsigned final_next;          /* -E: the next connection to send its last message */
    unsigned final_sent;          /* -E: connections that sent it */
    double final_seconds;         /* -E: time for all of them */
    uint64_t upgraded_ns;         /* connections: when the last one reached OPEN (its 101
                                   * read; raw TCP: connected); 0: not yet */
    struct ssl_ctx_st *ssl_ctx;   /* -T: the client context (tlsc.c) */
    struct ssl_session_st *tls_session; /* -R: the first session the server gave */
    unsigned tls_full;            /* -T: handshakes done in full */
    unsigned tls_resumed;         /* -T: handshakes that resumed tls_session */
};

static inline uint64_t loadgen_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
