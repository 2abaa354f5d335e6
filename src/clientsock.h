/*
 * clientsock.h - a client socket: the outbound connection to a route's target, from DNS
 * (evdns) and a non-blocking connect, then for a tls:// target the TLS handshake, all
 * under one deadline, to "connected" or "failed: why"; a unix: target is connected to
 * its path, with no DNS. Once connected, the WebSocket client takes the bufferevent (a
 * TLS one for tls://) and frees this object.
 */
#ifndef WSB_CLIENTSOCK_H
#define WSB_CLIENTSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"

struct bufferevent;
struct event;
struct event_base;
struct evdns_base;

enum clientsock_result {
    CLIENTSOCK_CONNECTED = 0, /* the bufferevent is ready: take it */
    CLIENTSOCK_FAILED,        /* refused, unreachable, name not found, TLS handshake failed:
                                 reason says which */
    CLIENTSOCK_TIMEOUT,       /* no connection within the deadline */
};

struct clientsock;
struct tls;

/* A PROXY protocol v2 header without TLVs for two Unix addresses, the longest we write
 * (a v1 line is at most 107 bytes). */
#define CLIENTSOCK_PROXY_MAX (16 + 216)

/* The PROXY protocol header a target gets before its first byte (a route's send_proxy). */
struct clientsock_proxy {
    unsigned version;           /* 1 (text line) or 2 (binary) */
    const struct sockaddr *src; /* the client: AF_INET, AF_INET6 or AF_UNIX */
    const struct sockaddr *dst; /* the bridge's address the client reached; NULL: unknown
                                 * (v1 then says UNKNOWN, v2 has no addresses) */
};

/* Reports how the connect ended; called once, never from within clientsock_new. */
typedef void clientsock_cb(struct clientsock *cs, enum clientsock_result result,
                           const char *reason, void *arg);

struct clientsock {
    struct bufferevent *bev; /* owned until taken */
    struct bufferevent *tcp; /* tls://: the connecting bufferevent, its socket moved to bev */
    bool tls_target;         /* tls://: the TLS handshake follows the connect */
    size_t tls_route;        /* tls://: its route's index, which keys its TLS context */
    const struct tls *tls;   /* tls://: the contexts holding that route's, not owned */
    bool handshaking;        /* tls://: TCP is up, the TLS handshake is running */
    struct event *timer;     /* connect deadline, or the deferred "connected" of echo */
    struct event *unix_try;  /* unix: the next connect() attempt (the first one deferred,
                              * then again while the target's listen queue is full) */
    struct sockaddr_un unix_sa; /* unix: where to connect */
    socklen_t unix_sa_len;      /* unix: its length; 0 for the other kinds */
    clientsock_cb *cb;
    void *arg;
    char target[ADDR_HOST_MAX + 16]; /* "host:port" for messages */
    char reason[600];        /* why it failed */
    uint8_t proxy_hdr[CLIENTSOCK_PROXY_MAX]; /* sent as soon as the socket connects */
    size_t proxy_len;        /* its bytes; 0: none */
    unsigned timeout_ms;
    int done;                /* the callback ran */
};

/* Starts connecting to <target> (a host and port, a Unix socket, or the built-in echo
 * with watermarks <high_bytes>/<low_bytes>) within <timeout_ms>. With <proxy> (NULL:
 * none; ignored for echo), the PROXY protocol header it describes is the first thing the
 * socket sends once connected, before any TLS handshake; it is built here and the
 * caller's addresses are not kept. With <n_sources> > 0 (a numeric TCP <target> of their
 * family; the caller keeps <sources>), the socket is bound to one of them before the
 * connect: route <route>'s next one in turn, or the one after when an address has no
 * port left for the target. A tls:// <target> must be
 * the target of route <route> (its index in the config <tls> was made from), and <tls>
 * must outlive the client socket: "connected" is reported once the TLS handshake has
 * succeeded. Returns
 * the new client socket, or NULL if it could not even start (memory, sockets); <cb> is
 * not called then. */
struct clientsock *clientsock_new(struct event_base *base, struct evdns_base *dns,
                                  const struct tls *tls, const struct addr *target, size_t route,
                                  unsigned timeout_ms, uint64_t high_bytes, uint64_t low_bytes,
                                  const struct clientsock_proxy *proxy,
                                  const struct sockaddr_storage *sources, size_t n_sources,
                                  clientsock_cb *cb, void *arg);

/* Hands the connected bufferevent to the caller, who now owns it (callbacks cleared). */
struct bufferevent *clientsock_take_bev(struct clientsock *cs);

/* Frees <cs> and, unless taken, its bufferevent; the callback will not run after. NULL ok. */
void clientsock_free(struct clientsock *cs);

#endif
