/*
 * handshake.h - RFC 6455 §4.2 server handshake checks on a parsed request, no I/O.
 * Gives a verdict (101 or an HTTP error status with a reason), the Sec-WebSocket-Accept
 * value (SHA-1 and base64 from OpenSSL) and the chosen subprotocol; writes nothing.
 */
#ifndef WSB_HANDSHAKE_H
#define WSB_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "http_req.h"

#define HANDSHAKE_ACCEPT_LEN 28       /* base64 of a 20-byte SHA-1 */
#define HANDSHAKE_SUBPROTOCOL_MAX 128 /* bytes of an offered name that can be answered */

/* What a policy without a list answers. The zero value is the behaviour from before
 * issue 14, so that a policy built by code that does not know this field keeps it. */
enum handshake_subproto_mode {
    HANDSHAKE_SUBPROTO_BINARY = 0,    /* "binary" when offered, else none: a route with
                                       * `subprotocols: none` */
    HANDSHAKE_SUBPROTO_FIRST_OFFERED, /* "binary" when offered, else the first name offered,
                                       * copied into the result: a route without
                                       * `subprotocols:` (issue 14) */
};

struct handshake_policy {
    const char *const *subprotocols;   /* the route's list, in preference order; NULL if none */
    size_t n_subprotocols;             /* 0: no list, <mode> decides */
    enum handshake_subproto_mode mode; /* without a list only */
    const EVP_MD *sha1;                /* SHA-1 fetched once by the caller (EVP_MD_fetch); NULL:
                                        * EVP_sha1(), which OpenSSL 3 fetches on every use */
};

struct handshake_result {
    int status;        /* 101, or 400, 405, 426 (then send Sec-WebSocket-Version: 13),
                        * or 500 if OpenSSL failed */
    const char *error; /* status != 101: short static reason */
    char accept[HANDSHAKE_ACCEPT_LEN + 1]; /* status == 101: Sec-WebSocket-Accept, NUL-terminated */
    const char *subprotocol; /* status == 101: the chosen one, or NULL; see handshake_check() */
    char offered[HANDSHAKE_SUBPROTOCOL_MAX + 1]; /* HANDSHAKE_SUBPROTO_FIRST_OFFERED: the
                                                  * copy <subprotocol> points at */
};

/* True if <req> asks for a WebSocket (an "Upgrade: websocket" token is present): the
 * caller routes it here rather than to a static file. */
bool handshake_is_upgrade(const struct http_req *req);

/* Checks <req> (a complete head) against RFC 6455 §4.2.1, in this order: method GET
 * (else 405), HTTP/1.1 or later (else 400), Host present once (400), Origin at most
 * once (400), no body (400),
 * Upgrade token "websocket" (400), Connection token "upgrade" (400),
 * Sec-WebSocket-Version 13 (missing or other: 426), Sec-WebSocket-Key present once and
 * decoding to 16 bytes after trimming (400), then subprotocols. The offers are every
 * Sec-WebSocket-Protocol line in order, each a comma-separated list with optional spaces
 * and tabs; empty elements are ignored, and an element that is not an RFC 7230 token is
 * 400 (RFC 6455 §11.3.4: 1#token), whatever <pol> says. Names compare exactly. With a
 * <pol> list, the first offered name in it is chosen, and none offered from it is 400.
 * Without one (<pol> NULL, or n_subprotocols 0), <pol>'s mode decides:
 * HANDSHAKE_SUBPROTO_BINARY (also <pol> NULL) chooses "binary" when offered, else none;
 * HANDSHAKE_SUBPROTO_FIRST_OFFERED chooses "binary" when it is offered anywhere (the
 * byte-stream name websockify and older noVNC pick, as websockify does), else the first
 * offered name of at most HANDSHAKE_SUBPROTOCOL_MAX bytes, passing over longer ones (only
 * longer ones offered is 400), or none when nothing is offered. Fills <res>.
 * <res>->subprotocol points at a static string, into <pol>'s list (which must outlive its
 * use), or, in HANDSHAKE_SUBPROTO_FIRST_OFFERED mode, at <res>->offered: never into
 * <req>. A caller that copies <res> or frees it before sending the 101 copies that text
 * (HANDSHAKE_SUBPROTOCOL_MAX + 1 bytes hold it). */
void handshake_check(const struct http_req *req, const struct handshake_policy *pol,
                     struct handshake_result *res);

/* Computes Sec-WebSocket-Accept for <key> (<key_len> bytes, already trimmed) into <out>
 * (HANDSHAKE_ACCEPT_LEN + 1 bytes) with digest <sha1> (NULL: EVP_sha1()). Returns 0, or -1
 * if <key_len> is over 64 or OpenSSL failed. */
int handshake_accept_key(const char *key, size_t key_len, const EVP_MD *sha1, char *out);

#endif
