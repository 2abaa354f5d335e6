/*
 * wsclient.h - a WebSocket client: one upgraded browser connection and the client socket
 * to its route's target. Frames in, bytes out to the target; target bytes back as frames;
 * pings, the close handshake, backpressure both ways. Owns both connections.
 */
#ifndef WSB_WSCLIENT_H
#define WSB_WSCLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "conn.h"
#include "connlimits.h"
#include "flow.h"
#include "handshake.h"
#include "heartbeat.h"
#include "utf8.h"
#include "ws_msg.h"

struct bufferevent;
struct clientsock;
struct event;
struct loop;
struct metrics_route;
struct route;
struct runconf;
struct splicepump;

/* What only some clients need, in an allocation of its own so that the others pay
 * nothing for it: the subprotocol chosen at the handshake (copied: the handshake result
 * ends with the upgrade), kept until the 101 is out, and the target a token chose, kept
 * to the end. */
struct wsclient_own {
    bool has_target;     /* <target> is the client's, not its route's */
    struct addr target;  /* a token route's target */
    char subprotocol[];  /* NUL-terminated; "" for none */
};

enum wsclient_state {
    WSCLIENT_CONNECTING = 0, /* connecting to the target: no 101 yet, client not read */
    WSCLIENT_OPEN,           /* pumping both ways */
    WSCLIENT_CLOSING,        /* our close frame is out: waiting for the client's */
    WSCLIENT_DONE,           /* both connections handed to drain; the reaper frees it */
};

struct wsclient {
    struct conn conn;              /* in its loop's set, kind "websocket" */
    struct loop *loop;             /* not owned */
    struct runconf *conf;          /* a reference: the configuration it started under */
    const struct route *route;     /* in conf->config, not owned */
    enum wsclient_state state;
    bool client_fin;               /* the client closed while paused: read the rest regardless */
    bool traffic;                  /* log.traffic at debug level: a line per frame (in the
                                    * padding after the flag above: no bigger) */
    bool splice_next;              /* target -> client by splice (splicepump.c): the last read
                                    * from the target was big, splice the next one */
    struct bufferevent *bev;       /* the browser's connection */
    struct clientsock *connecting; /* while CONNECTING */
    struct bufferevent *target;    /* the target connection once connected; NULL once closed */
    struct event *close_timer;     /* CLOSING: how long to wait for the client's close frame */
    struct event *hup;             /* while the client is paused: notices it closing */
    struct splicepump *splice;     /* a frame in flight, lent from loop->splice: until it is
                                    * out, the target is not read and nothing else is written
                                    * to the client (wsclient_unsplice first); NULL: none */
    struct ws_msg msg;             /* parser of the client's frames */
    struct heartbeat hb;
    struct flow to_target;         /* client -> target: pauses reading the client */
    struct flow to_client;         /* target -> client: pauses reading the target */
    size_t text_held;              /* text routes: validated bytes held back (part of a char) */
    uint64_t to_target_bytes;      /* payload bytes written towards the target */
    uint64_t to_client_bytes;      /* payload bytes framed towards the client */
    struct timespec started;       /* upgrade time, CLOCK_MONOTONIC */
    struct wsclient_own *own;      /* what few clients need, apart: the subprotocol until
                                    * the 101, a token route's target; NULL: neither */
    const char *closed_by;         /* "client", "target" or "bridge" */
    const char *tls_version;       /* the client's TLS version (OpenSSL's static text) or
                                    * "no", taken at the upgrade: the access line is written
                                    * after the socket has moved on to drain */
    uint16_t close_code;           /* code received or sent first; 1006 if none */
    char close_reason[124];        /* its reason, as sent (the log escapes it) */
    char peer[ADDR_SOCKADDR_STR_MAX];
    char accept[HANDSHAKE_ACCEPT_LEN + 1];
    struct utf8 text_out;          /* text routes: validator of the target's bytes (among the
                                    * byte-sized fields, where it costs no padding) */
    struct connlimits_slot slot;   /* its count: the route's until finished, the socket's
                                    * until closed (handed to drain with it) */
    struct metrics_route *stats;   /* its route's counters in loop->metrics, not owned;
                                    * NULL: not counted (memory ran out) */
};

/* Takes over <bev>, a connection of loop <l> whose request <res> passed the handshake for
 * <route>, a route of <l>'s current configuration (any bytes after the head are still in
 * its input), and starts connecting to <target>: &route->target, or the target a token
 * chose (copied); the 101 is sent once the target answers, a 502/504 if it does not. The client lives in <l>'s connection set; a loop
 * that stops sends it close 1001.
 * <slot> is the connection's count, already a client of <route> (connlimits_upgrade): it
 * moves in, the route's part is given back when the client finishes and the rest when
 * its socket is closed, even when this fails. <client> is the client's address (the
 * peer's, or the one a trusted proxy named), for the route's send_proxy, and <peer> the
 * same as text for logs. On failure to allocate, <bev> is closed. */
void wsclient_new(struct loop *l, struct bufferevent *bev, const struct route *route,
                  const struct addr *target, const struct handshake_result *res,
                  struct connlimits_slot *slot, const struct sockaddr *client, const char *peer);

/* Begins closing: sends a close frame with <code> (0: an empty one) and <reason>, closes
 * the target after it has received everything queued for it, and either waits for the
 * client's close frame (<wait>) or closes the client connection once the frame is out.
 * <by> is "client", "target" or "bridge" for the access line. Idempotent. */
void wsclient_close(struct wsclient *wc, uint16_t code, const char *reason, const char *by,
                    bool wait);

#endif
