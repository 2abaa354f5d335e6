/*
 * handshake.h - RFC 6455 §4.2 server handshake checks on a parsed request, no I/O.
 * Gives a verdict (101 or an HTTP error status with a reason), the Sec-WebSocket-Accept
 * value (SHA-1 and base64 from OpenSSL) and the chosen subprotocol; writes nothing.
 */
#ifndef WSB_HANDSHAKE_H
#define WSB_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "http_req.h"

#define HANDSHAKE_ACCEPT_LEN 28 /* base64 of a 20-byte SHA-1 */

struct handshake_policy {
    const char *const *subprotocols; /* the route's list, in preference order; NULL if none */
    size_t n_subprotocols;
};

struct handshake_result {
    int status;                 /* 101, or 400, 405, 426 (then send Sec-WebSocket-Version: 13),
                                 * or 500 if OpenSSL failed */
    const char *error;          /* status != 101: short static reason */
    char accept[HANDSHAKE_ACCEPT_LEN + 1]; /* status == 101: Sec-WebSocket-Accept, NUL-terminated */
    const char *subprotocol;    /* status == 101: the chosen one (static or from the policy), or NULL */
};

/* True if <req> asks for a WebSocket (an "Upgrade: websocket" token is present): the
 * caller routes it here rather than to a static file. */
bool handshake_is_upgrade(const struct http_req *req);

/* Checks <req> (a complete head) against RFC 6455 §4.2.1, in this order: method GET
 * (else 405), HTTP/1.1 or later (else 400), Host present once (400), Origin at most
 * once (400), no body (400),
 * Upgrade token "websocket" (400), Connection token "upgrade" (400),
 * Sec-WebSocket-Version 13 (missing or other: 426), Sec-WebSocket-Key present once and
 * decoding to 16 bytes after trimming (400), then subprotocols: with a <pol> list, the
 * first offered protocol in that list is chosen and none offered from it is 400; without
 * one, "binary" is chosen when offered, else none. Fills <res>. */
void handshake_check(const struct http_req *req, const struct handshake_policy *pol,
                     struct handshake_result *res);

/* Computes Sec-WebSocket-Accept for <key> (<key_len> bytes, already trimmed) into <out>
 * (HANDSHAKE_ACCEPT_LEN + 1 bytes). Returns 0, or -1 if <key_len> is over 64 or OpenSSL
 * failed. */
int handshake_accept_key(const char *key, size_t key_len, char *out);

#endif
