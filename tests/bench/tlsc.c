/*
 * tlsc.c - the load generator's TLS client (-T): OpenSSL on the connection's own
 * non-blocking socket, driven by the same epoll loop as plain connections. SNI is
 * "localhost" and the server's certificate is not checked (the bench makes its own and
 * measures the relay, not the client). With -R the first session the server gives
 * (a TLS 1.3 ticket arrives after the handshake, so it is taken from the new-session
 * callback, not from SSL_get1_session) is offered by every later connection.
 */
#include "tlsc.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "loadgen.h"

static char tlsc_why[160];

/* Keeps the reason of the last failure: OpenSSL's error queue, else <what>. */
static void tlsc_note_error(const char *what, int ssl_err)
{
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, tlsc_why, sizeof(tlsc_why));
    else if (ssl_err == SSL_ERROR_SYSCALL && errno != 0)
        snprintf(tlsc_why, sizeof(tlsc_why), "%s: %s", what, strerror(errno));
    else
        snprintf(tlsc_why, sizeof(tlsc_why), "%s: SSL error %d", what, ssl_err);
    ERR_clear_error();
}

const char *tlsc_error(void)
{
    return tlsc_why;
}

/* -R: keeps a copy of the first session (the original stays the connection's own). */
static int tlsc_on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct loadgen *lg = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

    if (lg->o.tls_resume && lg->tls_session == NULL)
        lg->tls_session = SSL_SESSION_dup(sess);
    return 0;
}

int tlsc_ctx_init(struct loadgen *lg, const char *max_version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        fprintf(stderr, "loadgen: SSL_CTX_new failed\n");
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (max_version != NULL)
        SSL_CTX_set_max_proto_version(ctx, strcmp(max_version, "1.2") == 0 ? TLS1_2_VERSION
                                                                           : TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF); /* a TCP close ends the stream */
    SSL_CTX_set_app_data(ctx, lg);
    if (lg->o.tls_resume) {
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, tlsc_on_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    lg->ssl_ctx = ctx;
    return 0;
}

void tlsc_ctx_free(struct loadgen *lg)
{
    if (lg->tls_session != NULL)
        SSL_SESSION_free(lg->tls_session);
    lg->tls_session = NULL;
    if (lg->ssl_ctx != NULL)
        SSL_CTX_free(lg->ssl_ctx);
    lg->ssl_ctx = NULL;
}

int tlsc_start(struct loadgen *lg, struct conn *c)
{
    SSL *ssl = SSL_new(lg->ssl_ctx);
    /* A copy for each connection: OpenSSL's client marks a TLS 1.3 session it resumed
     * as used up (not resumable), the RFC 8446 advice against reusing a ticket. The
     * servers accept a ticket again; a client that reuses one is what -R measures. */
    SSL_SESSION *sess = lg->tls_session != NULL ? SSL_SESSION_dup(lg->tls_session) : NULL;
    bool ok = ssl != NULL && SSL_set_fd(ssl, c->fd) == 1 &&
              SSL_set_tlsext_host_name(ssl, "localhost") == 1 &&
              (lg->tls_session == NULL || (sess != NULL && SSL_set_session(ssl, sess) == 1));

    SSL_SESSION_free(sess); /* NULL is fine; SSL_set_session took its own reference */
    if (!ok) {
        tlsc_note_error("SSL_new", SSL_ERROR_SSL);
        SSL_free(ssl);
        return -1;
    }
    SSL_set_connect_state(ssl);
    c->ssl = ssl;
    c->tls_want_write = false;
    return 0;
}

/* Sorts an SSL result <rc> of <what>: the socket would block (errno EAGAIN), or a
 * failure (errno EPROTO), or the end of the stream (returns 0). Returns -1 otherwise. */
static int tlsc_sort(struct conn *c, int rc, const char *what)
{
    int e = SSL_get_error(c->ssl, rc);

    switch (e) {
    case SSL_ERROR_WANT_WRITE:
        c->tls_want_write = true;
        /* fall through */
    case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        tlsc_note_error(what, e);
        errno = EPROTO;
        return -1;
    }
}

int tlsc_handshake(struct loadgen *lg, struct conn *c)
{
    int rc;

    c->tls_want_write = false;
    rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        if (SSL_session_reused(c->ssl))
            lg->tls_resumed++;
        else
            lg->tls_full++;
        return 1;
    }
    if (tlsc_sort(c, rc, "handshake") == 0) {
        snprintf(tlsc_why, sizeof(tlsc_why), "handshake: the server closed");
        return -1;
    }
    return errno == EAGAIN ? 0 : -1;
}

ssize_t tlsc_read(struct conn *c, void *buf, size_t len)
{
    size_t n = 0, got = 0;
    int rc;

    c->tls_want_write = false;
    rc = SSL_read_ex(c->ssl, buf, len, &n);
    if (rc != 1)
        return tlsc_sort(c, rc, "SSL_read");
    /* SSL_read gives one record (16 KiB at most): read on while records are there, as
     * one recv() would take what the socket holds. Whatever stops the loop (no more
     * bytes, the end, a failure) is met again by the next call. */
    for (got = n; len - got >= 16384 && SSL_read_ex(c->ssl, (char *)buf + got, len - got, &n);)
        got += n;
    ERR_clear_error();
    return (ssize_t)got;
}

ssize_t tlsc_write(struct conn *c, const void *buf, size_t len)
{
    size_t n = 0;
    int rc;

    c->tls_want_write = false;
    rc = SSL_write_ex(c->ssl, buf, len, &n);
    if (rc == 1)
        return (ssize_t)n;
    if (tlsc_sort(c, rc, "SSL_write") == 0) {
        errno = EPIPE;
        return -1;
    }
    return -1;
}

bool tlsc_pending(const struct conn *c)
{
    return SSL_pending(c->ssl) > 0;
}

void tlsc_end(struct conn *c, bool notify)
{
    if (notify)
        SSL_shutdown(c->ssl); /* sends close_notify; the answer is not awaited */
    else /* else SSL_free() marks the session, maybe the kept one, not resumable */
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c->ssl);
    c->ssl = NULL;
    ERR_clear_error();
}
