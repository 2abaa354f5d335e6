/*
 * httpconn.h - an accepted connection before its upgrade: reads the request head under
 * the handshake deadline, then hands the connection to a WebSocket client, answers with
 * an HTTP error, or answers from the web root and reads the next request (keep-alive).
 */
#ifndef WSB_HTTPCONN_H
#define WSB_HTTPCONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "addr.h"
#include "filebody.h"
#include "connslot.h"
#include "handshake.h"
#include "http_req.h"

struct authpool_job;
struct bufferevent;
struct config;
struct event;
struct route;
struct runconf;
struct server;

enum httpconn_state {
    HTTPCONN_HEAD = 0, /* reading a request head under the deadline */
    HTTPCONN_SENDING,  /* an answer's file is still being sent, or answers are above the
                        * high watermark: not reading until they have left */
    HTTPCONN_CLOSING,  /* last answer queued: drain takes over once the output is empty */
    HTTPCONN_AUTH,     /* an upgrade's password is being hashed on the pool: not reading,
                        * under the same deadline */
};

struct httpconn {
    TAILQ_ENTRY(httpconn) link;
    struct server *server;   /* not owned */
    struct bufferevent *bev; /* owned until handed on */
    struct event *deadline;  /* the whole head must arrive before it fires; between kept-alive
                              * requests, the idle limit (keepalive_timeout) */
    struct http_req req;     /* the request being read; reset after each static answer */
    struct http_req_limits limits; /* for every request on this connection */
    enum httpconn_state state;
    unsigned long served;    /* static answers given on this connection */
    struct filebody body;    /* the file streamed to a TLS connection; idle otherwise */
    bool file_in_output;     /* a file segment (sendfile) is in the output: the next request
                              * waits until the output is empty, so one file at a time */
    bool tls;                /* files are streamed (filebody), never added by reference */
    bool idle;               /* the deadline is the idle limit, not a request head's */
    uint64_t started_ms;     /* CLOCK_MONOTONIC at the accept, for keepalive_time */
    bool read_eof;           /* the client has closed its side: no request will follow */
    bool done;               /* handed on or closed; waits for the reaper */
    char peer[ADDR_SOCKADDR_STR_MAX];
    struct sockaddr_storage sa; /* the client's address, for access rules and limits */
    struct connslot slot;    /* its count, handed on with the connection */
    struct handshake_result hs; /* the verdict of the upgrade being admitted */
    struct authpool_job *auth_job;  /* AUTH: the check on the pool; cancelled if we go first */
    struct runconf *auth_conf;      /* AUTH: a reference, keeping auth_route alive */
    const struct route *auth_route; /* AUTH: the route, in auth_conf; counted by server_admit */
};

/* Takes <bev>, an accepted connection from <sa> (a socket bufferevent, or a TLS one whose
 * handshake is done; server.c makes both), and its count <slot> (moved in), and starts
 * reading its request. On failure <bev> is freed and <slot> released. */
void httpconn_new(struct server *s, struct bufferevent *bev, const struct sockaddr *sa,
                  struct connslot *slot);

/* Server stop: closes <hc> at once if it is a kept-alive connection waiting for its next
 * request; one in the middle of a request is left to finish, and its answer says
 * "Connection: close". May move <hc> to the dead list. */
void httpconn_stop(struct httpconn *hc);

/* Frees <hc> and, unless handed on, its connection. */
void httpconn_free(struct httpconn *hc);

/* Logs what a configuration <c>, just loaded, leaves open to browsers: a warn line for
 * each route that accepts any Origin. At start and after each reload. */
void httpconn_log_access(const struct config *c);

#endif
