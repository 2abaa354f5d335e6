/*
 * admin.h - the admin endpoint: a plain-HTTP listener of its own (admin.listen) that
 * answers one request per connection: GET or HEAD /metrics (Prometheus text format
 * 0.0.4) and /healthz. The server owns it; it is closed when the server stops.
 */
#ifndef WSB_ADMIN_H
#define WSB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <time.h>

#include "addr.h"
#include "http_req.h"

struct addr;
struct bufferevent;
struct event;
struct evconnlistener;
struct server;

#define ADMIN_CONNS_MAX 32    /* requests being read at once; more are closed unanswered */
#define ADMIN_LISTENERS_MAX 8 /* sockets for one admin.listen (a name may resolve to several) */

struct admin_conn {
    TAILQ_ENTRY(admin_conn) link;
    struct admin *admin;           /* not owned */
    struct bufferevent *bev;       /* owned until handed to drain */
    struct event *deadline;        /* the head must arrive within handshake_timeout */
    struct http_req req;           /* the one request of this connection */
    struct http_req_limits limits; /* max_request_head of the config */
    bool done;                     /* answered or gone: waits for the reaper */
    char peer[ADDR_SOCKADDR_STR_MAX];
};

TAILQ_HEAD(admin_conn_list, admin_conn);

struct admin_listener {
    struct admin *admin;        /* not owned */
    struct evconnlistener *lev; /* owns the listening socket; NULL once stopped */
    struct event *retry;        /* accepting again after EMFILE and the like */
    char name[64];              /* "127.0.0.1:9090" for logs */
};

struct admin {
    struct server *server; /* not owned */
    struct admin_listener listeners[ADMIN_LISTENERS_MAX];
    size_t n_listeners;
    struct admin_conn_list conns; /* reading their request */
    struct admin_conn_list dead;  /* finished, freed by the reaper */
    struct event *reaper;         /* frees dead conns outside their callbacks */
    unsigned n_conns;             /* in conns: at most ADMIN_CONNS_MAX */
    double started;               /* Unix time of admin_new, for process metrics */
};

/* Opens the admin listener of <s> on <listen> (every address the name resolves to) and
 * logs "admin listening on ADDR". Returns the new endpoint, or NULL with "what failed:
 * why" in <err> (a bind failure is a start failure, as for the main listeners). */
struct admin *admin_new(struct server *s, const struct addr *listen, char *err, size_t err_len);

/* Closes the listening sockets (server stop); requests already being read are still
 * answered, /healthz with 503. NULL is fine. */
void admin_stop(struct admin *a);

/* Frees <a>, its listeners and its connections at once; NULL is fine. */
void admin_free(struct admin *a);

#endif
