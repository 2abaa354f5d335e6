/*
 * httpconn.h - an accepted connection before its upgrade: reads the request head under
 * the handshake deadline, then hands the connection to a WebSocket client or answers
 * with an HTTP error.
 */
#ifndef WSB_HTTPCONN_H
#define WSB_HTTPCONN_H

#include <stdbool.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "addr.h"
#include "http_req.h"

struct bufferevent;
struct event;
struct server;

struct httpconn {
    TAILQ_ENTRY(httpconn) link;
    struct server *server;   /* not owned */
    struct bufferevent *bev; /* owned until handed on */
    struct event *deadline;  /* the whole head must arrive before it fires */
    struct http_req req;
    bool done;               /* handed on or closed; waits for the reaper */
    char peer[ADDR_SOCKADDR_STR_MAX];
};

/* Takes the accepted socket <fd> from <sa> and starts reading its request. On failure the
 * socket is closed. */
void httpconn_new(struct server *s, evutil_socket_t fd, const struct sockaddr *sa);

/* Frees <hc> and, unless handed on, its connection. */
void httpconn_free(struct httpconn *hc);

#endif
