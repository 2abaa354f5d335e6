/*
 * connslot.h - one accepted connection's place in the counts behind the connection
 * limits (conncount.c, shared by every worker under workers.c's mutex), from its accept
 * until its socket is closed. Whatever object holds the connection (the TLS handshake,
 * httpconn, wsclient, drain) holds its slot too and hands it on with the socket
 * (connslot_move); the object that frees the socket releases the slot. Glue: it takes
 * the lock through workers.c.
 */
#ifndef WSB_CONNSLOT_H
#define WSB_CONNSLOT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "conncount.h"

struct route;
struct server;

struct connslot {
    struct server *server;          /* not owned; NULL: the slot counts nothing */
    struct conncount_ticket ticket; /* the place in the shared counts */
};

/* Counts a connection from <sa> just accepted by worker <s> into <slot> (empty), checking
 * the limits of the current configuration. Returns NULL (counted: released by
 * connslot_release), or the name of the limit reached (conncount_add's names) with its
 * value in <limit>; <slot> stays empty then. <*budget_full> says whether the descriptor
 * budget has no room left after this one (the caller pauses accepting). */
const char *connslot_admit(struct connslot *slot, struct server *s, const struct sockaddr *sa,
                           unsigned *limit, bool *budget_full);

/* The connection of <slot> becomes a WebSocket client of <route> (of a configuration the
 * caller holds), if the route's max_connections allows. Returns NULL, or the limit
 * reached ("route max_connections", or "out of memory") with its value in <limit>. */
const char *connslot_upgrade(struct connslot *slot, const struct route *route,
                             unsigned *limit);

/* A WebSocket client's target is gone: its route count is given back; the socket keeps
 * its count until connslot_release. No-op for a slot that is not a client's. */
void connslot_leave_route(struct connslot *slot);

/* Releases what <slot> counts, once: it is empty afterwards, and a second call (or a
 * call on an empty slot) does nothing. */
void connslot_release(struct connslot *slot);

/* Moves the count from <from> to <to> (empty); <from> is empty afterwards. <from> may be
 * NULL: <to> is made empty. */
void connslot_move(struct connslot *to, struct connslot *from);

/* True if the descriptor budget has room for one more connection on each worker (any
 * thread): a listener paused by connslot_admit's <budget_full> may accept again. */
bool connslot_has_room(struct server *s);

#endif
