/*
 * connslot.c - a connection's count, carried by value from the accept to the close of
 * its socket. The counts are shared by every worker (workers.c); the per-worker number
 * of WebSocket clients, read by the status line, is kept here too.
 */
#include "connslot.h"

#include <string.h>

#include "config.h"
#include "route.h"
#include "server.h"
#include "workers.h"

const char *connslot_admit(struct connslot *slot, struct server *s, const struct sockaddr *sa,
                           unsigned *limit, bool *budget_full)
{
    const char *reached;

    memset(slot, 0, sizeof(*slot));
    conncount_key_of(sa, server_config(s)->per_ip_prefix_v6, &slot->ticket.key);
    reached = workers_count_add(s->workers, &slot->ticket, limit, budget_full);
    if (reached == NULL)
        slot->server = s;
    return reached;
}

const char *connslot_upgrade(struct connslot *slot, const struct route *route, unsigned *limit)
{
    const char *reached;

    if (slot->server == NULL) {
        /* Not counted (cannot happen for an accepted connection): nothing to check. */
        *limit = 0;
        return NULL;
    }
    reached = workers_count_upgrade(slot->server->workers, route, &slot->ticket, limit);
    if (reached == NULL)
        atomic_fetch_add_explicit(&slot->server->ws_clients, 1, memory_order_relaxed);
    return reached;
}

void connslot_leave_route(struct connslot *slot)
{
    if (slot->server == NULL || slot->ticket.state != CONNCOUNT_CLIENT)
        return;
    workers_count_leave_route(slot->server->workers, &slot->ticket);
    atomic_fetch_sub_explicit(&slot->server->ws_clients, 1, memory_order_relaxed);
}

void connslot_release(struct connslot *slot)
{
    if (slot->server == NULL)
        return;
    connslot_leave_route(slot);
    workers_count_remove(slot->server->workers, &slot->ticket);
    memset(slot, 0, sizeof(*slot));
}

void connslot_move(struct connslot *to, struct connslot *from)
{
    if (from == NULL) {
        memset(to, 0, sizeof(*to));
        return;
    }
    *to = *from;
    memset(from, 0, sizeof(*from));
}

bool connslot_has_room(struct server *s)
{
    return workers_count_has_room(s->workers);
}
