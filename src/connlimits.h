/*
 * connlimits.h - connection admission: the counts behind max_connections, the per-address
 * limits and the descriptor budget (conncount.c), shared by every event loop under one
 * mutex taken at accept, upgrade and close only, never per byte; and each connection's
 * slot in them, carried by value from its accept until its socket is closed. Whatever
 * object holds the connection (TLS handshake, HTTP, WebSocket client, drain) holds its
 * slot and hands it on with the socket (connlimits_move); the one that closes the socket
 * releases it.
 */
#ifndef WSB_CONNLIMITS_H
#define WSB_CONNLIMITS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conncount.h"

struct config;
struct route;

struct connlimits {
    pthread_mutex_t lock;          /* guards everything below */
    bool lock_made;                /* lock initialised, to destroy */
    struct conncount counts;       /* live connections of every loop */
    struct conncount_limits conf;  /* the current configuration's limits (max_by_fds too) */
    size_t n_loops;                /* loops that accept: each may take one more before it
                                    * sees a full budget */
    uint64_t fd_limit;             /* RLIMIT_NOFILE at start; 0: none */
    unsigned fd_in_use;            /* descriptors the daemon held at start, before a client */
    unsigned fd_reserve;           /* descriptors kept free for admitted connections */
};

/* One connection's place in the counts. */
struct connlimits_slot {
    struct connlimits *limits;      /* not owned; NULL: the slot counts nothing */
    struct conncount_ticket ticket; /* the place in the shared counts */
};

/* What the counts hold now, for the status line and the admin endpoint. */
struct connlimits_counts {
    unsigned conns, pending, clients; /* connections counted; not upgraded; WebSocket */
    size_t addresses;                 /* distinct client addresses (IPv6: prefixes) */
    unsigned max_by_fds;              /* the descriptor budget; 0: no limit */
};

/* Makes <l> empty for <n_loops> accepting loops, with the limits of <c> and no descriptor
 * budget yet (connlimits_measure_fds). Returns 0, or -1 with "what failed: why" in <err>.
 * connlimits_free is safe afterwards either way. */
int connlimits_init(struct connlimits *l, size_t n_loops, const struct config *c, char *err,
                size_t err_len);

/* Sets the descriptor budget from RLIMIT_NOFILE and the descriptors open now (every
 * listener, loop and log file: what the daemon needs before its first client) with <c>'s
 * fd_reserve, and logs it. Once, at start, before any connection. */
void connlimits_measure_fds(struct connlimits *l, const struct config *c);

/* Takes the limits of <c>, a configuration just made current (reload), and recomputes the
 * budget from its fd_reserve (logged if it changed). Any thread. */
void connlimits_configure(struct connlimits *l, const struct config *c);

/* Counts a connection from <sa> just accepted into <slot> (empty), checking the limits
 * and the descriptor budget in one step under the lock, so that they hold across loops.
 * IPv6 addresses count by their first <prefix_v6> bits. Returns NULL (counted: released by
 * connlimits_release), or the name of the limit reached (conncount_add's names) with its
 * value in <limit>; <slot> stays empty then. <*budget_full>: the budget has no room left
 * for one more accept on every loop; the caller stops accepting until
 * connlimits_has_room. Any thread. */
const char *connlimits_admit(struct connlimits *l, struct connlimits_slot *slot,
                             const struct sockaddr *sa, unsigned prefix_v6, unsigned *limit,
                             bool *budget_full);

/* The connection of <slot> becomes a WebSocket client of <route> (of a configuration the
 * caller holds), if the route's max_connections allows. Returns NULL, or the limit
 * reached ("route max_connections", or "out of memory") with its value in <limit>. */
const char *connlimits_upgrade(struct connlimits_slot *slot, const struct route *route,
                           unsigned *limit);

/* The pending connection of <slot> comes from <sa> after all (a PROXY protocol header or
 * a trusted proxy's forwarded header named the client): its per-address counts move
 * there, IPv6 by its first <prefix_v6> bits, if that address's limits allow (see
 * conncount_rekey). Returns NULL, or the limit reached with its value in <limit>: the
 * caller then closes the connection, whose slot still counts where it did. Any thread. */
const char *connlimits_rekey(struct connlimits_slot *slot, const struct sockaddr *sa,
                             unsigned prefix_v6, unsigned *limit);

/* A WebSocket client's target is gone: its route count is given back; the socket keeps
 * its count until connlimits_release. No-op for a slot that is not a client's. */
void connlimits_leave_route(struct connlimits_slot *slot);

/* Releases what <slot> counts, once: it is empty afterwards, and a second call (or a
 * call on an empty slot) does nothing. */
void connlimits_release(struct connlimits_slot *slot);

/* Moves the count from <from> to <to>; <from> is empty afterwards. <from> may be NULL:
 * <to> is made empty. */
void connlimits_move(struct connlimits_slot *to, struct connlimits_slot *from);

/* True if the descriptor budget has room for one more connection on each loop (they may
 * all resume accepting at once). Any thread. */
bool connlimits_has_room(struct connlimits *l);

/* Copies what the counts hold now into <out>. Any thread. */
void connlimits_get(struct connlimits *l, struct connlimits_counts *out);

/* Frees what <l> holds; every slot must have been released. */
void connlimits_free(struct connlimits *l);

#endif
