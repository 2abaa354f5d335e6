/*
 * ratelimit.h - at most one event per interval, counting the ones let go in between:
 * the bookkeeping behind log lines that a peer could otherwise repeat at will. Pure (the
 * time is passed in) and lock-free: one struct ratelimit may be shared by every thread.
 */
#ifndef WSB_RATELIMIT_H
#define WSB_RATELIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
    unsigned interval_ms;             /* at most one event per this many milliseconds */
    atomic_uint_least64_t next_ms;    /* the earliest time of the next allowed event */
    atomic_ulong suppressed;          /* events refused since the last allowed one */
};

/* A static initialiser: one event per <ms> milliseconds, the first one allowed. */
#define RATELIMIT_INIT(ms) {.interval_ms = (ms)}

/* Says whether an event at <now_ms> (any monotonic clock in milliseconds, the same for
 * every call on <rl>) may happen. Returns true for the first one of an interval and
 * puts in <suppressed> how many were refused since the previous allowed one; otherwise
 * counts this one as refused and returns false (<suppressed> untouched). Any thread;
 * when several call at once in a new interval exactly one of them is allowed. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, unsigned long *suppressed);

#endif
