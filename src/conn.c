/*
 * conn.c - the connection lifecycle shared by every kind: live, finished, freed by the
 * loop's one reaper. A connection finished inside its own callback is freed only once
 * that callback has returned, as redis's freeClientAsync does.
 */
#include "conn.h"

#include <string.h>

#include <event2/event.h>

/* The entry of <set>'s kind table for <kind>, added if there is room; NULL if full. */
static size_t *connset_kind_count(struct connset *set, const char *kind)
{
    for (size_t i = 0; i < set->n_kinds; i++)
        if (set->kinds[i].kind == kind || strcmp(set->kinds[i].kind, kind) == 0)
            return &set->kinds[i].live;
    if (set->n_kinds == CONNSET_KINDS_MAX)
        return NULL;
    set->kinds[set->n_kinds].kind = kind;
    set->kinds[set->n_kinds].live = 0;
    return &set->kinds[set->n_kinds++].live;
}

static void connset_on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct connset *set = arg;
    struct conn *c;

    (void)fd;
    (void)what;
    while ((c = TAILQ_FIRST(&set->dead)) != NULL) {
        TAILQ_REMOVE(&set->dead, c, link);
        c->ops->free(c);
    }
    if (set->stopping && TAILQ_EMPTY(&set->live) && set->on_empty != NULL)
        set->on_empty(set->arg);
}

int connset_init(struct connset *set, struct event_base *base, void (*on_empty)(void *arg),
                 void *arg)
{
    memset(set, 0, sizeof(*set));
    TAILQ_INIT(&set->live);
    TAILQ_INIT(&set->dead);
    set->on_empty = on_empty;
    set->arg = arg;
    set->reaper = event_new(base, -1, 0, connset_on_reap, set);
    return set->reaper != NULL ? 0 : -1;
}

void conn_add(struct connset *set, struct conn *c, const struct conn_ops *ops)
{
    size_t *live = connset_kind_count(set, ops->kind);

    c->ops = ops;
    c->set = set;
    c->finished = false;
    TAILQ_INSERT_TAIL(&set->live, c, link);
    if (live != NULL)
        (*live)++;
}

void conn_finish(struct conn *c)
{
    struct connset *set = c->set;
    size_t *live;

    if (c->finished)
        return;
    c->finished = true;
    live = connset_kind_count(set, c->ops->kind);
    if (live != NULL)
        (*live)--;
    TAILQ_REMOVE(&set->live, c, link);
    TAILQ_INSERT_TAIL(&set->dead, c, link);
    event_active(set->reaper, EV_TIMEOUT, 0);
}

bool conn_is_finished(const struct conn *c)
{
    return c->finished;
}

void connset_stop(struct connset *set)
{
    struct conn *c, *next;

    set->stopping = true;
    /* <next> is taken before the call: a stop op may finish its own connection (never
     * another one); what it adds goes to the tail. */
    for (c = TAILQ_FIRST(&set->live); c != NULL; c = next) {
        next = TAILQ_NEXT(c, link);
        if (c->ops->stop != NULL)
            c->ops->stop(c);
    }
    /* on_empty comes from the reaper, after this caller has returned. */
    if (set->reaper != NULL)
        event_active(set->reaper, EV_TIMEOUT, 0);
}

void connset_drain(struct connset *set)
{
    struct conn *c, *next;

    set->stopping = true;
    for (c = TAILQ_FIRST(&set->live); c != NULL; c = next) {
        next = TAILQ_NEXT(c, link);
        if (c->ops->drain != NULL)
            c->ops->drain(c);
    }
    if (set->reaper != NULL)
        event_active(set->reaper, EV_TIMEOUT, 0);
}

void connset_free(struct connset *set)
{
    struct conn *c;

    for (;;) {
        if ((c = TAILQ_FIRST(&set->live)) != NULL)
            TAILQ_REMOVE(&set->live, c, link);
        else if ((c = TAILQ_FIRST(&set->dead)) != NULL)
            TAILQ_REMOVE(&set->dead, c, link);
        else
            break;
        c->ops->free(c);
    }
    if (set->reaper != NULL)
        event_free(set->reaper);
    set->reaper = NULL;
    set->n_kinds = 0;
}

size_t connset_live(const struct connset *set, const char *kind)
{
    const struct conn *c;
    size_t n = 0;

    for (size_t i = 0; i < set->n_kinds; i++)
        if (strcmp(set->kinds[i].kind, kind) == 0)
            return set->kinds[i].live;
    if (set->n_kinds < CONNSET_KINDS_MAX)
        return 0; /* never added */
    TAILQ_FOREACH(c, &set->live, link)
        n += strcmp(c->ops->kind, kind) == 0;
    return n;
}

void connset_count(const struct connset *set, struct connset_tally *tally, size_t n)
{
    const struct conn *c;

    TAILQ_FOREACH(c, &set->live, link) {
        const char *state = c->ops->state != NULL ? c->ops->state(c) : NULL;

        for (size_t i = 0; i < n; i++) {
            if (strcmp(tally[i].kind, c->ops->kind) != 0)
                continue;
            if (tally[i].state != NULL && (state == NULL || strcmp(tally[i].state, state) != 0))
                continue;
            tally[i].n++;
            break;
        }
    }
}
