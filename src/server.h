/*
 * server.h - the server socket: event base, listeners, and the set of live connections
 * (TLS handshakes, requests being read, WebSocket clients, connections being closed),
 * the connection counts behind the limits, signals: SIGHUP reloads the configuration,
 * SIGTERM/SIGINT stop, SIGUSR1 reopens the log file, SIGUSR2 logs a status line. It owns
 * every connection object; they point back at it without owning it.
 */
#ifndef WSB_SERVER_H
#define WSB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "addr.h"

struct addrinfo;
struct admin;
struct config;
struct route;
struct runconf;
struct event;
struct event_base;
struct evdns_base;
struct bufferevent;
struct evconnlistener;
struct httpconn;
struct drain;
struct metrics;
struct static_root;
struct wsclient;
struct tls;
struct tls_listener;

TAILQ_HEAD(httpconn_list, httpconn);
TAILQ_HEAD(wsclient_list, wsclient);
TAILQ_HEAD(drain_list, drain);

struct server_listener {
    struct server *server;          /* not owned */
    size_t index;                   /* its entry in config->listen (and in tls->listeners) */
    bool tls;                       /* TLS, not plain HTTP (a reload may not change it) */
    struct evconnlistener *lev;     /* owns the listening socket */
    struct event *retry;            /* re-enables accepting after EMFILE and the like */
    char name[64];                  /* "127.0.0.1:8080" for logs */
};

/* A connection accepted on a TLS listener, before httpconn: waiting for its first byte,
 * then for its handshake. Both steps are bounded by one deadline. */
struct server_tlsconn {
    TAILQ_ENTRY(server_tlsconn) link;
    struct server *server;          /* not owned */
    struct server_listener *listener; /* not owned */
    struct runconf *conf;           /* a reference: the SNI callback uses its TLS contexts */
    evutil_socket_t fd;             /* owned until the bufferevent takes it; then -1 */
    struct event *first_byte;       /* readable: peek whether it is TLS at all */
    struct event *deadline;         /* handshake_timeout from the accept */
    struct bufferevent *bev;        /* the TLS connection while it shakes hands; owned */
    struct sockaddr_storage sa;     /* the peer, for httpconn */
    bool done;                      /* handed on or closed; waits for the reaper */
    char peer[ADDR_SOCKADDR_STR_MAX];
};

TAILQ_HEAD(server_tlsconn_list, server_tlsconn);

/* WebSocket clients of one route path, for a route's max_connections. Keyed by path,
 * not by position in a config, so that counts carry over a reload. */
struct server_route_count {
    char *path;             /* owned */
    unsigned n;             /* live clients; the entry is removed at 0 */
};

/* WebSocket clients from one address, for max_connections_per_ip. */
struct server_ip_count {
    int family;             /* AF_INET (IPv4-mapped IPv6 included) or AF_INET6 */
    unsigned char addr[16]; /* 4 or 16 bytes used */
    unsigned n;             /* live clients; the entry is removed at 0 */
};

struct server {
    struct event_base *base;
    struct evdns_base *dns;
    struct runconf *conf;           /* current configuration, a reference: new connections
                                     * take theirs from here; SIGHUP replaces it */
    struct server_listener **listeners; /* each allocated alone: callbacks point at it */
    size_t n_listeners;
    struct server_tlsconn_list tlsconns; /* accepted on a TLS listener, handshake not done */
    struct httpconn_list httpconns; /* accepted, request head not done yet */
    struct wsclient_list wsclients; /* upgraded (or connecting to their target) */
    struct drain_list drains;     /* being drained and closed */
    struct wsclient_list dead;      /* finished, freed by the reaper */
    struct httpconn_list dead_http; /* finished, freed by the reaper */
    struct server_tlsconn_list dead_tls; /* finished, freed by the reaper */
    struct event *reaper;           /* frees dead objects outside their callbacks */
    struct event *sig_term, *sig_int;
    struct event *sig_hup;          /* reloads the configuration */
    struct event *sig_usr1;         /* reopens the log file */
    struct event *sig_usr2;         /* logs a status line */
    struct event *stop_timer;       /* bounds a graceful stop */
    bool stopping;                  /* a stop signal arrived: accept nothing more */
    unsigned ws_clients;            /* WebSocket clients counted, for max_connections */
    struct server_route_count *route_counts; /* the same per route path */
    size_t n_route_counts, cap_route_counts;
    unsigned long reloads;          /* configurations loaded by SIGHUP */
    struct server_ip_count *ip_counts; /* the same per client address; a linear list */
    size_t n_ip_counts, cap_ip_counts;
    struct metrics *metrics;        /* owned: counters by route path, outliving any config */
    struct admin *admin;            /* owned: the admin endpoint; NULL without admin.listen */
};

/* Builds <s> for configuration <conf> (taking its reference even on failure): event
 * base, DNS, signals, and a bound, listening socket per listen address. Returns 0, or
 * -1 with "what failed: why" in <err>. */
int server_init(struct server *s, struct runconf *conf, char *err, size_t err_len);

/* Loads the configuration file again (SIGHUP). A file that loads and keeps the listen
 * addresses becomes current: new connections take its routes, limits, certificates and
 * web root; live ones keep theirs. Otherwise the error is logged and nothing changes.
 * Returns 0 or -1. */
int server_reload(struct server *s);

/* Creates a socket for <ai>, binds it with SO_REUSEADDR (IPv6: V6ONLY) and listens.
 * Returns the descriptor (non-blocking, close-on-exec), or -1 with "bind NAME: why" (or
 * socket, listen) in <err>, <name> being the address as logs write it. */
evutil_socket_t server_listen_socket(const struct addrinfo *ai, const char *name, char *err,
                                     size_t err_len);

/* Runs the event loop until a stop signal has been handled. Returns 0. */
int server_run(struct server *s);

/* Frees everything <s> owns, connections included. Safe after a failed server_init. */
void server_free(struct server *s);

/* Asks the reaper to run: called after an object was moved to a dead list. */
void server_reap_soon(struct server *s);

/* Begins a graceful stop: listeners closed, every WebSocket client sent close 1001,
 * the loop ends when all connections are gone or after shutdown_timeout. */
void server_stop(struct server *s);

/* The current configuration: new connections use it. */
const struct config *server_config(const struct server *s);

/* Checks the connection limits before a client from <sa> opens a WebSocket on <route>.
 * Returns NULL if it may, or the name of the limit it would pass ("max_connections",
 * "max_connections_per_ip", "route max_connections") with that limit in <limit>. */
const char *server_limit_reached(const struct server *s, const struct route *route,
                                 const struct sockaddr *sa, unsigned *limit);

/* Counts a new WebSocket client from <sa> on <route>. Returns 0, or -1 if memory ran out
 * (nothing is counted then). Each successful call is matched by one server_uncount. */
int server_count(struct server *s, const struct route *route, const struct sockaddr *sa);

/* Forgets a client counted by server_count with the same <route> and <sa>. */
void server_uncount(struct server *s, const struct route *route, const struct sockaddr *sa);

/* Called when a connection was removed from the live sets: a stopping server ends its
 * loop once nothing is left. */
void server_conn_gone(struct server *s);

#endif
