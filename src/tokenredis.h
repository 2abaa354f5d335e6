/*
 * tokenredis.h - token routes whose tokens are in Redis ("tokens: redis://..."), shared by
 * every instance behind a balancer, as websockify's TokenRedis: one GET of PREFIX+TOKEN
 * per new connection, its value read by tokenvalue.c. Each loop has its own connections
 * (one per Redis URL), driven by hiredis' libevent adapter on the loop's event base, so
 * no worker ever blocks on Redis. A lookup waits at most the route's token_timeout; a
 * Redis that is down or does not answer makes lookups fail fast (503) while it is
 * reconnected with a growing backoff. Unknown tokens are remembered for a short while
 * (a bounded negative cache per connection), so that a burst of bad tokens is not a burst
 * of Redis queries. Tokens are secrets: they are never logged (only their log hash).
 */
#ifndef WSB_TOKENREDIS_H
#define WSB_TOKENREDIS_H

#include <stddef.h>

#include "addr.h"

struct event_base;
struct route;
struct tokenredis;
struct tokenredis_lookup;

#define TOKENREDIS_NEGATIVE_MS 1000    /* an unknown token is answered from memory this long */
#define TOKENREDIS_NEGATIVE_SLOTS 4096 /* unknown tokens remembered per connection, at most */
#define TOKENREDIS_BACKOFF_MIN_MS 100  /* first wait before connecting again after a failure */
#define TOKENREDIS_BACKOFF_MAX_MS 5000 /* doubled up to this */
#define TOKENREDIS_PENDING_MAX 10000   /* lookups under way per connection; then 503 */

enum tokenredis_result {
    TOKENREDIS_FOUND = 0,   /* the target is in *out (or given to the callback) */
    TOKENREDIS_UNKNOWN,     /* no such key: 404 */
    TOKENREDIS_UNUSABLE,    /* a value that names no target this bridge can use: 502 */
    TOKENREDIS_UNAVAILABLE, /* Redis is down, refused, or did not answer in time: 503 */
    TOKENREDIS_PENDING,     /* the answer comes through the callback */
};

/* The answer of a pending lookup, on the loop's thread; <target> only for FOUND. */
typedef void tokenredis_cb(enum tokenredis_result result, const struct addr *target, void *arg);

/*
 * Looks up the <len> bytes of <token> (its log hash <hash>) for route <r> (with
 * r->tokens_redis) on the loop whose event base is <base> and whose connections are at
 * *<t> (loop.h's l->redis: made here on first use). Answers at once when it can
 * (UNKNOWN from the negative cache, UNAVAILABLE while Redis is known to be down or out of
 * memory); then <cb> is never called. Otherwise returns PENDING with *<pending> set:
 * <cb>(<arg>) is called once, later, from that loop, within r->token_timeout_ms
 * (UNAVAILABLE then), unless tokenredis_cancel(*<pending>) comes first. On the loop's
 * thread.
 */
enum tokenredis_result tokenredis_lookup(struct tokenredis **t, struct event_base *base,
                                         const struct route *r, const char *token, size_t len,
                                         const char *hash, tokenredis_cb *cb, void *arg,
                                         struct addr *out, struct tokenredis_lookup **pending);

/* Gives up a pending lookup: its callback is never called. */
void tokenredis_cancel(struct tokenredis_lookup *lk);

/* Closes every Redis connection of a loop (<t> is its l->redis; NULL is fine). No lookup
 * may still be pending. Before the loop's event base is freed. */
void tokenredis_free(struct tokenredis *t);

#endif
