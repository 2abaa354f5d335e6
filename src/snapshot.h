/*
 * snapshot.h - a copy of what every event loop holds (its counters, its connections by
 * state), asked of each loop and made on that loop's own thread, the only one that
 * changes them; each answers with event_active on the asking loop, and a deadline answers
 * with what has arrived. No thread waits for another: the asker's callback runs later.
 * For /metrics and the SIGUSR2 status line.
 */
#ifndef WSB_SNAPSHOT_H
#define WSB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

struct loop;
struct metrics;
struct snapshot;

/* Connections by kind and state, summed over the loops that answered. */
struct snapshot_states {
    unsigned long tls;                      /* TLS handshakes */
    unsigned long http;                     /* requests being read or answered */
    unsigned long upgrading;                /* of those, upgrades admitted as WebSocket
                                             * clients, waiting for their password check */
    unsigned long connecting, open, closing; /* WebSocket clients by state */
    unsigned long draining;                 /* connections being drained and closed */
    unsigned long admin;                    /* admin endpoint requests */
};

struct snapshot_result {
    struct metrics *metrics;       /* the sum of every answered registry; NULL when not
                                    * asked for, or memory ran out */
    struct snapshot_states states; /* summed */
    size_t missing;                /* loops that did not answer in time, or whose copy
                                    * could not be made or added */
    const struct snapshot *snap;   /* for snapshot_result_loop */
};

/* What the <i>-th loop asked (in snapshot_start's <loops> order) holds, or NULL if it did
 * not answer. Valid during the callback only. */
const struct snapshot_states *snapshot_result_loop(const struct snapshot_result *r, size_t i);

/* Receives the result (valid during the call only) on the asking loop's thread. */
typedef void snapshot_cb(const struct snapshot_result *r, void *arg);

/* Asks each of the <n> loops at <loops> (the asker <home> may be one of them) for a copy:
 * connection states, and with <with_metrics> its registry. <cb>(<arg>) runs on <home>'s
 * thread, from an event, once every loop has answered or <deadline_ms> has passed,
 * whichever is first; never from within this call. Returns the snapshot, to cancel if
 * its asker goes first, or NULL if memory ran out (<cb> is not called then). On <home>'s
 * thread. */
struct snapshot *snapshot_start(struct loop *home, struct loop *const *loops, size_t n,
                                bool with_metrics, unsigned deadline_ms, snapshot_cb *cb,
                                void *arg);

/* Forgets <s> before its callback has run: the callback never runs, and late answers are
 * dropped. On its home loop's thread, before that loop's base is freed. */
void snapshot_cancel(struct snapshot *s);

#endif
