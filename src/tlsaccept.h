/*
 * tlsaccept.h - a connection accepted on a TLS listener, before it is an HTTP connection:
 * its first byte is peeked at (plain HTTP gets a readable 400 instead of a handshake that
 * can only fail, or, with "tls.plain: allow", goes to httpconn as a plain connection),
 * then it shakes hands; both steps under one deadline, handshake_timeout from the accept.
 * A connection that made it is handed to httpconn with its count.
 */
#ifndef WSB_TLSACCEPT_H
#define WSB_TLSACCEPT_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "addr.h"
#include "conn.h"
#include "connlimits.h"
#include "listener.h"

struct bufferevent;
struct event;
struct httpconn_handler;
struct loop;
struct runconf;

struct tlsaccept {
    struct conn conn;               /* in its loop's set, kind "tls" */
    struct loop *loop;              /* not owned */
    const struct httpconn_handler *handler; /* not owned: what its requests get */
    void *handler_arg;              /* not owned */
    size_t index;                   /* its listen entry (conf->tls->listeners) */
    struct runconf *conf;           /* a reference: the SNI callback uses its TLS contexts */
    evutil_socket_t fd;             /* owned until the bufferevent takes it; then -1 */
    struct event *first_byte;       /* readable: peek whether it is TLS at all */
    struct event *deadline;         /* handshake_timeout from the accept */
    struct bufferevent *bev;        /* the TLS connection while it shakes hands; owned */
    struct sockaddr_storage sa;     /* the peer, for httpconn */
    struct connlimits_slot slot;    /* its count, handed on with the connection */
    char listener[LISTENER_NAME_MAX]; /* the listener's name, for logs */
    char peer[ADDR_SOCKADDR_STR_MAX];
};

/* Takes accepted socket <fd> from <sa> (<socklen> bytes) on listener <name>, entry <index>
 * of the listen list of <l>'s current configuration (a TLS one), with its count <slot>
 * (moved in), and waits for its first byte. Once its handshake is done it becomes an HTTP
 * connection for <handler> with <handler_arg> (httpconn_new); so does a plain one at once
 * when the listener's "tls.plain" is allow. On failure everything is closed and the slot
 * released. */
void tlsaccept_new(struct loop *l, evutil_socket_t fd, const struct sockaddr *sa, int socklen,
                   struct connlimits_slot *slot, size_t index, const char *name,
                   const struct httpconn_handler *handler, void *handler_arg);

#endif
