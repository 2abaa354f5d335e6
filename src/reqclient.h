/*
 * reqclient.h - who sent one request, no I/O: the connection's peer, or, from a trusted
 * reverse proxy (trusted_proxies), the client its Forwarded (RFC 7239) or
 * X-Forwarded-For / X-Forwarded-Proto headers name, with the scheme that client used.
 * Reading the headers is forwarded.c's; answering 400 and acting on the address are the
 * caller's.
 */
#ifndef WSB_REQCLIENT_H
#define WSB_REQCLIENT_H

#include <stdbool.h>
#include <sys/socket.h>

struct http_req;
struct netlist;

/* Header lines of one kind (Forwarded, X-Forwarded-For, X-Forwarded-Proto) read in one
 * request; more are a BAD request rather than a silent cut. */
#define REQCLIENT_LINES_MAX 32

enum reqclient_result {
    REQCLIENT_PEER = 0,  /* the client is the peer: not a trusted proxy, or it named none */
    REQCLIENT_FORWARDED, /* a trusted proxy named the client: see sa */
    REQCLIENT_BAD,       /* a trusted proxy's headers are malformed, disagree or name no
                          * usable client: see error (the request earns a 400) */
};

struct reqclient {
    struct sockaddr_storage sa; /* the client: the peer, or the forwarded address (its
                                 * port 0 when the header gave none) */
    bool https;                 /* the client used https or wss: the proxy said so, or
                                 * (not said) the connection itself is TLS */
    const char *source;         /* FORWARDED: "Forwarded" or "X-Forwarded-For" */
    const char *error;          /* BAD: a short static reason */
};

/* Finds the client of request <req> (complete) that came over a connection from <peer>
 * (AF_INET, AF_INET6 or AF_UNIX), TLS when <tls>, with trusted proxies <trusted> (their
 * allow list; NULL: none). From a peer outside <trusted>, every forwarded header is
 * ignored: PEER. From a trusted one, both header kinds count and, when both are present,
 * must name the same client (forwarded.c's FORWARDED_USE_ANY): a proxy that writes one
 * kind passes the other on from the client untouched, so a forged one is refused rather
 * than believed. <out> is always set. */
enum reqclient_result reqclient_find(const struct http_req *req, const struct netlist *trusted,
                                     const struct sockaddr *peer, bool tls, struct reqclient *out);

#endif
