/*
 * proxyin.h - a connection accepted on a listener with "proxy_protocol", before anything
 * else: the peer must be in the listener's proxy_from (otherwise it is closed unread),
 * then the PROXY header is read under handshake_timeout, taking no byte past it, and the
 * client it names becomes the connection's address for everything after (its count in
 * the limits, allow and deny, log lines). What the header means is proxyproto.c's.
 */
#ifndef WSB_PROXYIN_H
#define WSB_PROXYIN_H

#include <sys/socket.h>

#include <event2/util.h>

#include "addr.h"
#include "conn.h"
#include "connlimits.h"
#include "listener.h"
#include "proxyproto.h"

struct config_listen_proxy;
struct event;
struct loop;

/* Takes accepted socket <fd> once its header is read: <sa> (<sa_len> bytes) is the
 * client (the header's source, or the peer for a LOCAL or UNKNOWN header), <slot> its
 * count (moved out by the callee), by the client's address (or none, for a LOCAL
 * header). The callee owns <fd>. Runs on <l>'s thread. */
typedef void proxyin_done_fn(struct loop *l, evutil_socket_t fd, const struct sockaddr *sa,
                             socklen_t sa_len, struct connlimits_slot *slot, void *arg);

struct proxyin {
    struct conn conn;                /* in its loop's set, kind "proxy" */
    struct loop *loop;               /* not owned */
    proxyin_done_fn *done;           /* where the connection goes with its header read */
    void *done_arg;                  /* not owned */
    evutil_socket_t fd;              /* owned until handed on; then -1 */
    struct event *readable;          /* more of the header may be there */
    struct event *deadline;          /* handshake_timeout from the accept */
    struct sockaddr_storage peer_sa; /* the proxy's address, kept for LOCAL headers */
    socklen_t peer_len;
    struct connlimits_slot slot;      /* its count: under no address until the header */
    struct proxyproto reader;         /* the header so far */
    char listener[LISTENER_NAME_MAX]; /* the listener's name, for logs */
    char peer[ADDR_SOCKADDR_STR_MAX]; /* the proxy's address, for logs */
};

/* True if peer <sa> may send the PROXY header of a listener with settings <proxy> (mode
 * not none): it is in proxy_from. Such a peer is a proxy, whose connections are all
 * counted under no address until their header names the client. */
bool proxyin_is_trusted(const struct config_listen_proxy *proxy, const struct sockaddr *sa);

/* Takes accepted socket <fd> from peer <sa> (<socklen> bytes) on listener <name>, whose
 * PROXY protocol settings are <proxy> (read now, not kept), with its count <slot> (moved
 * in). A peer outside proxy->from is closed at once, unread, logged (rate-limited) and
 * counted. Otherwise the header is read under handshake_timeout; a malformed or late one
 * closes the connection without a word (counted), as does a client address whose
 * per-address limits are full (counted as that limit). A good header hands the socket,
 * with nothing of it read past the header, to <done>(<l>, ..., <done_arg>). On any failure
 * <fd> is closed and the slot released; <done> is then never called. */
void proxyin_new(struct loop *l, evutil_socket_t fd, const struct sockaddr *sa, socklen_t socklen,
                 struct connlimits_slot *slot, const struct config_listen_proxy *proxy,
                 const char *name, proxyin_done_fn *done, void *done_arg);

#endif
