/*
 * ratelimit.c - one event per interval with a count of the others, in two atomics: the
 * time the next event is allowed (taken by compare-and-swap, so one thread wins an
 * interval) and the number refused meanwhile (handed to the winner and reset).
 */
#include "ratelimit.h"

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, unsigned long *suppressed)
{
    uint_least64_t next = atomic_load_explicit(&rl->next_ms, memory_order_relaxed);

    if (now_ms < next ||
        !atomic_compare_exchange_strong(&rl->next_ms, &next, now_ms + rl->interval_ms)) {
        atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
        return false;
    }
    /* An event refused by another thread between the swap and here is reported with the
     * next allowed one instead: counted once either way. */
    *suppressed = atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
    return true;
}
