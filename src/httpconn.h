/*
 * httpconn.h - an HTTP connection: reads request heads under the handshake deadline and
 * gives each complete one to its handler (the bridge's dispatch, or the admin endpoint's
 * routes), which answers it, hands the connection on, or waits for work done elsewhere.
 * Answers from the web root and the keep-alive that follows them are done here, as are
 * the error answers and the graceful close. What a request means is the handler's.
 */
#ifndef WSB_HTTPCONN_H
#define WSB_HTTPCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "addr.h"
#include "conn.h"
#include "connlimits.h"
#include "filebody.h"
#include "http_req.h"
#include "log.h"

struct bufferevent;
struct event;
struct evbuffer;
struct httpconn;
struct loop;
struct static_root;

enum httpconn_state {
    HTTPCONN_HEAD = 0, /* reading a request head under the deadline */
    HTTPCONN_SENDING,  /* an answer's file is still being sent, or answers are above the
                        * high watermark: not reading until they have left */
    HTTPCONN_CLOSING,  /* last answer queued: drain takes over once the output is empty */
    HTTPCONN_WAIT,     /* the handler works on the request elsewhere (a password hashed on
                        * the pool, counters copied by every loop): not reading, under the
                        * same deadline */
};

/* Why a waiting connection must end its wait (httpconn_handler.on_cut). */
enum httpconn_cut {
    HTTPCONN_CUT_DEADLINE = 0, /* its deadline passed */
    HTTPCONN_CUT_STOP,         /* its loop stops */
    HTTPCONN_CUT_GONE,         /* it is being closed or freed: no answer is possible */
};

/* The connection ops of an HTTP connection, for a handler's table, with its own kind so
 * that the counts tell its connections apart: .conn = HTTPCONN_CONN_OPS("admin"). */
void httpconn_conn_free(struct conn *c);
const char *httpconn_conn_state(const struct conn *c);
void httpconn_conn_stop(struct conn *c);
void httpconn_conn_drain(struct conn *c);
#define HTTPCONN_CONN_OPS(kind_)                                                            \
    {                                                                                      \
        .kind = (kind_), .free = httpconn_conn_free, .state = httpconn_conn_state,          \
        .stop = httpconn_conn_stop, .drain = httpconn_conn_drain                           \
    }

/* What the connections of one listener do with their requests. A table of constants,
 * shared by every loop; the per-listener data is the handler_arg of httpconn_new. */
struct httpconn_handler {
    struct conn_ops conn;       /* HTTPCONN_CONN_OPS(kind) */
    const char *log_prefix;     /* "" or "admin ": written before "client=" */
    enum log_level log_level;   /* of the line httpconn writes for each error answer */
    bool bare_head;             /* a HEAD request's error answer is its head alone */
    /* A complete request head is in hc->req: answer it (httpconn_reply_error,
     * httpconn_serve_static, or the output then httpconn_close), hand the connection on
     * (httpconn_take), or wait (httpconn_wait). On <hc>'s loop. */
    void (*on_request)(struct httpconn *hc, void *arg);
    /* <hc> waits with <wait> (httpconn_wait) and <why> has come. DEADLINE and STOP: it
     * still waits; the handler ends the wait and answers, or lets its work end on its own
     * soon. GONE: the wait is over and nothing can be answered; the handler lets go of
     * <wait>'s work, so that none of it ever touches <hc> again. */
    void (*on_cut)(struct httpconn *hc, void *wait, enum httpconn_cut why);
};

struct httpconn {
    struct conn conn;        /* in its loop's set, of its handler's kind */
    struct loop *loop;       /* not owned */
    const struct httpconn_handler *handler; /* not owned */
    void *handler_arg;       /* not owned: given to on_request */
    void *wait;              /* WAIT: the handler's work, given to on_cut */
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
    char peer[ADDR_SOCKADDR_STR_MAX]; /* sa as log lines show it */
    struct sockaddr_storage sa; /* the client's address, for access rules and limits: the
                                 * connection's (conn_sa), or the one a trusted proxy's
                                 * headers named for the request being handled */
    struct sockaddr_storage conn_sa; /* the address the connection came from (accept, or a
                                      * PROXY protocol header): the proxy, if it is one */
    bool https;              /* the request's client used https or wss (a TLS connection,
                              * or a trusted proxy said so): for the same-origin check */
    struct connlimits_slot slot; /* its count, handed on with the connection */
};

/* Takes <bev>, a connection of loop <l> accepted from <sa> (a socket bufferevent, or a TLS
 * one whose handshake is done), and its count <slot> (moved in; NULL: not counted), and
 * starts reading requests for <handler> with <handler_arg>. On failure <bev> is freed and
 * <slot> released. */
void httpconn_new(struct loop *l, struct bufferevent *bev, const struct sockaddr *sa,
                  struct connlimits_slot *slot, const struct httpconn_handler *handler,
                  void *handler_arg);

/* The request target of <hc> as log lines show it: with a token route configured, its
 * query and any token in its path hidden (tokens_log_url). Returns it: in <buf> (<cap>
 * bytes), or the target itself. */
const char *httpconn_log_url(const struct httpconn *hc, char *buf, size_t cap);

/* Answers <status> with <detail> (NULL: none) and extra header lines <headers> (NULL:
 * none; see http_reply_error_with), logs one line, and closes gracefully: the answer is
 * never cut by a reset. */
void httpconn_reply_error(struct httpconn *hc, int status, const char *detail,
                          const char *headers);

/* Answers the request from web root <web> (static.c), then reads the next one (now, or
 * once the file and the answers have left) or closes gracefully. */
void httpconn_serve_static(struct httpconn *hc, struct static_root *web);

/* The output, for a handler that writes a whole answer itself before httpconn_close. */
struct evbuffer *httpconn_output(struct httpconn *hc);

/* Closes gracefully once what is in the output has been sent (drain). */
void httpconn_close(struct httpconn *hc);

/* Hands the connection on: returns its bufferevent (callbacks cleared) and moves its count
 * into <slot>; <hc> is finished. Bytes after the head stay in the input. */
struct bufferevent *httpconn_take(struct httpconn *hc, struct connlimits_slot *slot);

/* The handler works on the request elsewhere with <wait>: reading stops (the deadline
 * runs on) until httpconn_wait_end; meanwhile on_cut may be called. */
void httpconn_wait(struct httpconn *hc, void *wait);

/* Ends the wait: returns its <wait> and reads again (unless the client has closed); the
 * handler then answers or hands the connection on. */
void *httpconn_wait_end(struct httpconn *hc);

#endif
