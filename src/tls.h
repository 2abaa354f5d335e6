/*
 * tls.h - TLS contexts (OpenSSL 3): one per TLS listener, with its SNI certificates, and
 * one per route with a tls:// target; loading with errors that name the file and
 * OpenSSL's reason, re-reading on SIGHUP, and the few helpers the glue needs around a TLS
 * bufferevent. Sockets and bufferevents are made by server.c and clientsock.c.
 */
#ifndef WSB_TLS_H
#define WSB_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

struct addr;
struct bufferevent;
struct config;
struct config_tls;
struct route;

#define TLS_RECORD_HANDSHAKE 0x16 /* RFC 8446 §5.1: first byte of a ClientHello's record */

struct tls_sni {
    char *const *names; /* in the config, not owned */
    size_t n_names;
    SSL_CTX *ctx;       /* that entry's certificate, settings as the listener's */
};

struct tls_listener {
    const struct config_tls *cfg; /* in the config, not owned; NULL: a plain listener */
    SSL_CTX *ctx;                 /* default certificate; refcounted, so a reload leaves live
                                     connections on the context they started with */
    struct tls_sni *sni;          /* one per tls.certificates entry */
    size_t n_sni;
    char name[300];               /* "127.0.0.1:8443" for logs */
};

struct tls_target {
    const struct route *route; /* in the config, not owned; NULL: not a tls:// target */
    SSL_CTX *ctx;              /* client context: its CA file or the system store */
};

struct tls {
    const struct config *config;    /* not owned; outlives this object */
    struct tls_listener *listeners; /* one per config->listen entry, in the same order */
    size_t n_listeners;
    struct tls_target *targets;     /* one per config->routes entry, in the same order; a
                                     * context only for a tls:// target */
    size_t n_targets;
};

/* Builds every TLS context <c> asks for, reading every certificate, key, password and CA
 * file. Returns the new object (also for a config without TLS), or NULL with
 * "FILE:LINE:COL: tls.cert \"/path\": reason" in <err>, the position being where that
 * setting is in the config file. The OpenSSL error queue is left empty. */
struct tls *tls_new(const struct config *c, char *err, size_t err_len);

/* Frees <t> and drops its references to its contexts; NULL is fine. */
void tls_free(struct tls *t);

/* Writes "certificate \"SUBJECT\", valid until DATE, sha256 PREFIX..." of TLS listener
 * <l>'s default certificate into <out> (logs a warning if it has expired). */
void tls_listener_info(struct tls_listener *l, char *out, size_t cap);

/* A new server-side SSL for a connection accepted on <l>, or NULL when memory ran out. */
SSL *tls_accept_ssl_new(struct tls_listener *l);

/* A new client-side SSL for the tls:// target of route <route> (its index in <t>'s
 * config->routes): SNI set to its host name, certificate and host name checked unless
 * the route says "verify: false". NULL with the reason in <err> when that route has no
 * TLS context or memory ran out. */
SSL *tls_connect_ssl_new(const struct tls *t, size_t route, char *err, size_t err_len);

/* Writes why the TLS connection <bev> failed into <out>: OpenSSL's reasons, with the
 * certificate check's verdict when that was the cause ("certificate verify failed:
 * self-signed certificate"), or the socket error. Consumes the errors stored in <bev>. */
void tls_bev_error(struct bufferevent *bev, char *out, size_t cap);

/* Writes "TLSv1.3 TLS_AES_128_GCM_SHA256" and, when set, " sni=NAME alpn=PROTO" for the
 * established <ssl> into <out>. The client chose NAME: it is a log value (logesc.h). */
void tls_describe(const SSL *ssl, char *out, size_t cap);

/* Writes "subject=S issuer=I" of <ssl>'s peer certificate (RFC 2253 form, each a log
 * value as logesc_text_value writes it) into <out> and returns true, or returns false
 * when the peer sent none. */
bool tls_peer_certificate(const SSL *ssl, char *out, size_t cap);

/* Sends close_notify on the established <ssl> if it can go out at once (RFC 8446 §6.1:
 * lets the peer tell our end from a cut connection). Never blocks, never reports. */
void tls_close_notify(SSL *ssl);

#endif
