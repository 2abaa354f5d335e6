/*
 * server.h - the server socket: event base, listeners, and the set of live connections
 * (requests being read, WebSocket clients, connections being closed), shutdown.
 * It owns every connection object; they point back at it without owning it.
 */
#ifndef WSB_SERVER_H
#define WSB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

struct config;
struct event;
struct event_base;
struct evdns_base;
struct evconnlistener;
struct httpconn;
struct drain;
struct static_root;
struct wsclient;

TAILQ_HEAD(httpconn_list, httpconn);
TAILQ_HEAD(wsclient_list, wsclient);
TAILQ_HEAD(drain_list, drain);

struct server_listener {
    struct server *server;          /* not owned */
    struct evconnlistener *lev;     /* owns the listening socket */
    struct event *retry;            /* re-enables accepting after EMFILE and the like */
    char name[64];                  /* "127.0.0.1:8080" for logs */
};

struct server {
    struct event_base *base;
    struct evdns_base *dns;
    struct config *config;          /* owned */
    struct static_root *web;        /* owned: web root and MIME types; NULL without web_root */
    struct server_listener *listeners;
    size_t n_listeners;
    struct httpconn_list httpconns; /* accepted, request head not done yet */
    struct wsclient_list wsclients; /* upgraded (or connecting to their target) */
    struct drain_list drains;     /* being drained and closed */
    struct wsclient_list dead;      /* finished, freed by the reaper */
    struct httpconn_list dead_http; /* finished, freed by the reaper */
    struct event *reaper;           /* frees dead objects outside their callbacks */
    struct event *sig_term, *sig_int;
    struct event *stop_timer;       /* bounds a graceful stop */
    bool stopping;                  /* a stop signal arrived: accept nothing more */
};

/* Builds <s> for <config> (taking ownership of it even on failure): event base, DNS,
 * signals, and a bound, listening socket per listen address. Returns 0, or -1 with
 * "what failed: why" in <err>. */
int server_init(struct server *s, struct config *config, char *err, size_t err_len);

/* Runs the event loop until a stop signal has been handled. Returns 0. */
int server_run(struct server *s);

/* Frees everything <s> owns, connections included. Safe after a failed server_init. */
void server_free(struct server *s);

/* Asks the reaper to run: called after an object was moved to a dead list. */
void server_reap_soon(struct server *s);

/* Begins a graceful stop: listeners closed, every WebSocket client sent close 1001,
 * the loop ends when all connections are gone or after close_timeout. */
void server_stop(struct server *s);

/* Called when a connection was removed from the live sets: a stopping server ends its
 * loop once nothing is left. */
void server_conn_gone(struct server *s);

#endif
