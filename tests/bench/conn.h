/*
 * conn.h - one load generator connection: connect, upgrade (WebSocket) or not (raw TCP),
 * messages out as the run's mode allows, echoes in and checked against the pattern, close.
 * The run (loadgen.c) owns the slots and decides when connections start and end.
 */
#ifndef BENCH_CONN_H
#define BENCH_CONN_H

#include "wsc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loadgen;
struct ssl_st; /* OpenSSL's SSL, only with -T */

enum conn_state {
    CONN_FREE = 0,   /* slot unused */
    CONN_CONNECTING, /* connect() in progress */
    CONN_TLS,        /* -T: TLS handshake in progress */
    CONN_UPGRADING,  /* request sent, reading the 101 */
    CONN_OPEN,       /* payload flows */
    CONN_CLOSING,    /* close frame queued or sent; waiting for the server's and EOF */
    CONN_DONE,       /* fd closed */
};

struct conn {
    int fd;                        /* -1 once closed */
    enum conn_state state;         /* see the enum */
    uint32_t events;               /* epoll events registered */
    bool reading;                  /* EPOLLIN wanted (false in stall-read once open) */
    uint8_t *buf;                  /* own frames: request, data frames (ws), controls */
    size_t buf_cap;                /* bytes at buf */
    const uint8_t *out;            /* bytes being written: buf or the pattern (tcp) */
    size_t out_len;                /* bytes at out */
    size_t out_pos;                /* of them written */
    uint8_t head[1024];            /* the server's 101 head while upgrading */
    size_t head_len;               /* bytes in head */
    char key[WSC_KEY_LEN + 1];     /* Sec-WebSocket-Key sent */
    struct wsc_parser parser;      /* server frames */
    uint8_t pong[WSC_CONTROL_MAX]; /* payload of the last ping, to answer */
    size_t pong_len;               /* bytes in pong */
    bool pong_due;                 /* a pong waits for the output to empty */
    bool close_due;                /* our close frame waits for the output to empty */
    bool close_got;                /* the server's close frame arrived */
    uint16_t close_code;           /* its code */
    uint64_t tx_off;               /* payload bytes put into messages */
    uint64_t rx_off;               /* payload bytes echoed and checked */
    uint64_t wire_bytes;           /* bytes the socket took, framing included */
    uint64_t born_ns;              /* connect() called */
    uint64_t state_ns;             /* entered the current state */
    uint64_t msg_ns;               /* latency: the message in flight was built */
    bool echoed;                   /* connections: its one echo came back */
    bool final_due;                /* connections -E: its second message may go */
    bool final_echoed;             /* connections -E: its second echo came back */
    bool failed;                   /* ended by conn_fail() */
    struct ssl_st *ssl;            /* -T: the TLS connection over fd; NULL for plain */
    bool tls_want_write;           /* -T: OpenSSL waits for the socket to take bytes */
};

/* Opens slot <c> (FREE, DONE or fresh, with buf allocated) as connection number <n> of
 * the run <lg>: a non-blocking socket bound to a 127.0.0.x source, connecting. A failure
 * is counted in <lg> and leaves <c> DONE. */
void conn_start(struct loadgen *lg, struct conn *c, unsigned n);

/* Handles epoll events <ev> for <c>; ignores a connection already DONE. */
void conn_on_event(struct loadgen *lg, struct conn *c, uint32_t ev);

/* Writes what the socket and the run's phase allow: pending bytes, a due pong, a due
 * close frame, then new messages. */
void conn_pump(struct loadgen *lg, struct conn *c);

/* Begins the end of an OPEN connection: a close frame (the server closes TCP first,
 * RFC 6455 §7.1.1) or, for raw TCP, close(). Does nothing in other states. */
void conn_close(struct loadgen *lg, struct conn *c);

/* Closes <c>'s fd now and counts it; <clean> false counts an unclean close. */
void conn_finish(struct loadgen *lg, struct conn *c, bool clean);

/* Ends <c> as failed: counts the error and keeps the first message in <lg>. */
void conn_fail(struct loadgen *lg, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
