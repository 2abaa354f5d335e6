/*
 * tlsc.h - the load generator's TLS client (-T), OpenSSL over a connection's non-blocking
 * socket: the handshake in steps, reads and writes that report "would block" as EAGAIN,
 * and one session kept for resumption (-R). Nothing here runs when -T is off.
 */
#ifndef BENCH_TLSC_H
#define BENCH_TLSC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct loadgen;
struct conn;

/* Makes lg->ssl_ctx: TLS 1.2 or newer (only <max_version> "1.2" or "1.3" when given,
 * else NULL), no certificate verification, and with lg->o.tls_resume a callback that
 * keeps the first session the server hands out. Returns 0, or -1 with a message on
 * stderr. */
int tlsc_ctx_init(struct loadgen *lg, const char *max_version);

/* Frees lg->ssl_ctx and the kept session. */
void tlsc_ctx_free(struct loadgen *lg);

/* Makes c->ssl over c->fd (SNI "localhost"), offering the kept session if there is one.
 * Returns 0, or -1 (out of memory). */
int tlsc_start(struct loadgen *lg, struct conn *c);

/* One step of the handshake. Returns 1 when it is done (counted in lg->tls_full or
 * lg->tls_resumed), 0 while it waits for the socket (c->tls_want_write says which way),
 * -1 when it failed (tlsc_error() says why). */
int tlsc_handshake(struct loadgen *lg, struct conn *c);

/* SSL_read into <buf>: bytes read (> 0), 0 at the end of the stream (close_notify or
 * EOF), or -1 with errno EAGAIN (nothing yet; c->tls_want_write may be set) or EPROTO
 * (tlsc_error() says why). */
ssize_t tlsc_read(struct conn *c, void *buf, size_t len);

/* SSL_write of up to <len> bytes: bytes taken (> 0), or -1 with errno EAGAIN or EPROTO.
 * After EAGAIN the same bytes must be offered again. */
ssize_t tlsc_write(struct conn *c, const void *buf, size_t len);

/* True when OpenSSL holds decrypted bytes not read yet. */
bool tlsc_pending(const struct conn *c);

/* Frees c->ssl; <notify> first sends a close_notify alert (without waiting for one). */
void tlsc_end(struct conn *c, bool notify);

/* The last TLS failure, as OpenSSL words it. */
const char *tlsc_error(void);

#endif
