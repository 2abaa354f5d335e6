/*
 * conn.h - one lifecycle for every kind of connection (TLS handshake, HTTP, WebSocket
 * client, draining socket, admin): live, then finished, then freed by the one reaper of
 * its event loop, outside the object's own callbacks (redis's freeClientAsync, made
 * generic). An object embeds a struct conn; a set per loop holds them. Nothing of the
 * daemon is known here: libevent and libc only.
 */
#ifndef WSB_CONN_H
#define WSB_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

struct conn;
struct event;
struct event_base;

/* What a kind of connection does for its set. */
struct conn_ops {
    const char *kind;                           /* "websocket", "http", ... for counts */
    void (*free)(struct conn *c);               /* frees the object, live or finished */
    const char *(*state)(const struct conn *c); /* its state's name for counts; NULL: none */
    void (*stop)(struct conn *c);               /* the loop stops: say goodbye, or finish;
                                                 * NULL: let it end on its own */
    void (*drain)(struct conn *c);              /* the loop drains (another process took its
                                                 * listeners): keep nothing alive that is
                                                 * idle; NULL: let it end on its own */
};

/* The header each connection object embeds. */
struct conn {
    TAILQ_ENTRY(conn) link;     /* in its set's live or dead list */
    const struct conn_ops *ops; /* not owned */
    struct connset *set;        /* not owned */
    bool finished;              /* conn_finish ran: waits for the reaper */
};

TAILQ_HEAD(conn_list, conn);

#define CONNSET_KINDS_MAX 8 /* kinds whose live connections a set counts as they come */

/* Every connection of one event loop. */
struct connset {
    struct conn_list live;         /* added, not finished */
    struct conn_list dead;         /* finished, freed by the reaper */
    struct event *reaper;          /* frees the dead outside their callbacks */
    void (*on_empty)(void *arg);   /* after connset_stop: called once nothing is live */
    void *arg;
    bool stopping;                 /* connset_stop ran */
    struct {
        const char *kind;          /* a conn_ops kind, compared as text */
        size_t live;               /* its live connections */
    } kinds[CONNSET_KINDS_MAX];
    size_t n_kinds;
};

/* The object of type <type> whose member <member> is at <ptr>. */
#define CONN_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Prepares <set> on <base>. <on_empty>(<arg>) (may be NULL) is called from the reaper
 * once connset_stop has run and no connection is live, and again after each reaping
 * while that holds. Returns 0, or -1 if memory ran out (<set> can still be freed). */
int connset_init(struct connset *set, struct event_base *base, void (*on_empty)(void *arg),
                 void *arg);

/* Adds <c>, a new connection of kind <ops>, to <set>'s live connections. */
void conn_add(struct connset *set, struct conn *c, const struct conn_ops *ops);

/* Ends <c>'s life: it moves to the dead list and the reaper frees it (ops->free) once the
 * running callbacks have returned. The caller must leave no event of <c> that could run
 * first and use what it has given away. Idempotent. */
void conn_finish(struct conn *c);

/* True once conn_finish has run on <c>. */
bool conn_is_finished(const struct conn *c);

/* The loop stops: calls the stop op of each connection live at the call (once), then,
 * through the reaper, on_empty as soon as none is live. A stop op may finish its own
 * connection (never another) and add new ones, such as a socket to drain, which are not
 * necessarily asked to stop: a kind that adds connections at a stop must not need it.
 * Once per set. */
void connset_stop(struct connset *set);

/* The loop drains: calls the drain op of each connection live at the call (once), then,
 * through the reaper, on_empty as soon as none is live. connset_stop may follow (a
 * deadline): a stop op must then work on a connection that was asked to drain. */
void connset_drain(struct connset *set);

/* Frees every connection of <set>, live or dead (ops->free), and the reaper. For the end
 * of a loop that no longer runs. Safe after a failed connset_init. */
void connset_free(struct connset *set);

/* Live connections of kind <kind>. */
size_t connset_live(const struct connset *set, const char *kind);

/* One line of a count by kind and state. */
struct connset_tally {
    const char *kind;  /* the kind to count */
    const char *state; /* the state to count; NULL: any */
    unsigned long n;   /* incremented for each live connection that matches */
};

/* Adds every live connection of <set> to the first of the <n> entries of <tally> it
 * matches (kind, then state). The walk is O(live connections): for a status line or a
 * scrape, not per connection. */
void connset_count(const struct connset *set, struct connset_tally *tally, size_t n);

#endif
