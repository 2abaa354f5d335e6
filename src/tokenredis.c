/*
 * tokenredis.c - Redis token lookups on a loop (see tokenredis.h), through hiredis'
 * asynchronous API and its libevent adapter.
 *
 * A lookup is owned by the GET in flight once the GET is sent: hiredis calls the reply
 * callback exactly once, with the reply or, when the connection goes, with NULL; that
 * callback frees it. A lookup whose client went away or whose deadline passed is only
 * marked (no callback any more) and waits for its reply to be freed. A deadline that
 * passes means Redis did not answer a GET in token_timeout: the connection is dropped
 * (every lookup on it answered at once) and made again later, after a backoff.
 * A connection once made is kept: when it goes, a timer connects again after the backoff
 * (and again, backing off, while Redis is down), so that a worker whose connection died
 * while idle is ready again soon after Redis is back instead of failing the first client
 * that comes after. Meanwhile lookups get 503 at once; one that comes after the backoff
 * connects then.
 */
#include "tokenredis.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/crypto.h>

#include "config.h"
#include "log.h"
#include "ratelimit.h"
#include "redisurl.h"
#include "siphash.h"
#include "tokenvalue.h"

enum tokenredis_state {
    TOKENREDIS_DOWN = 0,   /* no context; connect again from next_attempt_ms on */
    TOKENREDIS_CONNECTING, /* a context whose connect has not completed */
    TOKENREDIS_READY,      /* connected (AUTH and SELECT sent first, in order) */
};

struct tokenredis_neg {
    uint64_t h;          /* SipHash of the token under the connection's key; 0: empty */
    uint64_t expires_ms; /* CLOCK_MONOTONIC */
};

/* One Redis (one URL) on one loop. */
struct tokenredis_conn {
    struct tokenredis_conn *next;
    struct tokenredis *owner; /* not owned */
    struct redisurl url;
    char shown[ADDR_HOST_MAX + ADDR_UNIX_PATH_MAX + 64]; /* the URL for logs, no password */
    redisAsyncContext *ac; /* owned by hiredis once connected; NULL when DOWN */
    enum tokenredis_state state;
    uint64_t next_attempt_ms; /* DOWN: when connecting is allowed again */
    unsigned backoff_ms;      /* the next failure's wait */
    struct event *retry;      /* DOWN: connects again at next_attempt_ms */
    size_t pending;           /* GETs in flight */
    uint8_t key[SIPHASH_KEY_BYTES];
    struct tokenredis_neg neg[TOKENREDIS_NEGATIVE_SLOTS];
};

struct tokenredis {
    struct event_base *base; /* not owned: the loop's */
    struct tokenredis_conn *conns;
};

struct tokenredis_lookup {
    struct tokenredis_conn *conn; /* not owned; NULL once the connection is gone */
    tokenredis_cb *cb;            /* NULL: answered or cancelled, only the reply is awaited */
    void *arg;
    struct event *timer; /* the deadline */
    uint64_t h;          /* the token's negative-cache hash */
    char hash[16];       /* the token's log hash */
    char route[64];      /* the route's path, for log lines */
};

/* Redis trouble: a peer cannot cause it, but a Redis down causes it per request. */
static struct ratelimit tokenredis_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
static struct ratelimit tokenredis_value_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);

static uint64_t tokenredis_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Answers <lk> once (if still wanted), and stops its deadline. */
static void tokenredis_answer(struct tokenredis_lookup *lk, enum tokenredis_result r,
                              const struct addr *target)
{
    tokenredis_cb *cb = lk->cb;

    lk->cb = NULL;
    if (lk->timer != NULL)
        event_del(lk->timer);
    if (cb != NULL)
        cb(r, target, lk->arg);
}

static void tokenredis_lookup_free(struct tokenredis_lookup *lk)
{
    if (lk->timer != NULL)
        event_free(lk->timer);
    free(lk);
}

/* The connection of <c> is gone (hiredis frees or has freed the context): lookups get
 * 503 through their NULL replies; the next connect waits for the backoff, and the retry
 * timer makes it then (never from inside a hiredis callback). */
static void tokenredis_conn_down(struct tokenredis_conn *c, const char *why)
{
    struct timeval tv = {.tv_sec = c->backoff_ms / 1000, .tv_usec = (c->backoff_ms % 1000) * 1000};

    c->ac = NULL;
    c->state = TOKENREDIS_DOWN;
    c->next_attempt_ms = tokenredis_now_ms() + c->backoff_ms;
    if (c->retry != NULL)
        evtimer_add(c->retry, &tv);
    log_msg_limited(&tokenredis_log, LOG_LEVEL_WARN,
                    "tokens %s: %s; connecting again in %u ms (meanwhile: 503)", c->shown, why,
                    c->backoff_ms);
    c->backoff_ms = c->backoff_ms * 2 > TOKENREDIS_BACKOFF_MAX_MS ? TOKENREDIS_BACKOFF_MAX_MS
                                                                  : c->backoff_ms * 2;
}

static void tokenredis_on_connect(const redisAsyncContext *ac, int status)
{
    struct tokenredis_conn *c = ac->data;

    if (c == NULL)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        tokenredis_conn_down(c, ac->errstr[0] != '\0' ? ac->errstr : "cannot connect");
        return;
    }
    c->state = TOKENREDIS_READY;
    c->backoff_ms = TOKENREDIS_BACKOFF_MIN_MS;
    log_msg(LOG_LEVEL_INFO, "tokens %s: connected", c->shown);
}

static void tokenredis_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct tokenredis_conn *c = ac->data;

    if (c == NULL)
        return;
    tokenredis_conn_down(c, status == REDIS_OK      ? "connection closed"
                            : ac->errstr[0] != '\0' ? ac->errstr
                                                    : "connection lost");
}

/* AUTH's and SELECT's replies: an error there is a configuration mistake, said once a
 * while; the GETs that follow fail with it too (NOAUTH) and get 503. */
static void tokenredis_on_setup(redisAsyncContext *ac, void *reply, void *arg)
{
    const redisReply *rep = reply;
    struct tokenredis_conn *c = ac->data;

    if (c != NULL && rep != NULL && rep->type == REDIS_REPLY_ERROR)
        log_msg_limited(&tokenredis_log, LOG_LEVEL_WARN, "tokens %s: %s: %s", c->shown,
                        (const char *)arg, rep->str);
}

/* Makes a new context for <c>. Returns 0, or -1 (then <c> is DOWN). */
static int tokenredis_connect(struct tokenredis_conn *c)
{
    redisAsyncContext *ac = c->url.is_unix ? redisAsyncConnectUnix(c->url.path)
                                           : redisAsyncConnect(c->url.host, c->url.port);
    char why[160];

    if (ac == NULL || ac->err != 0) {
        snprintf(why, sizeof(why), "connect: %s", ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        tokenredis_conn_down(c, why);
        return -1;
    }
    if (redisLibeventAttach(ac, c->owner->base) != REDIS_OK) {
        redisAsyncFree(ac);
        tokenredis_conn_down(c, "cannot attach to the event loop");
        return -1;
    }
    ac->data = c;
    redisAsyncSetConnectCallback(ac, tokenredis_on_connect);
    redisAsyncSetDisconnectCallback(ac, tokenredis_on_disconnect);
    c->ac = ac;
    c->state = TOKENREDIS_CONNECTING;
    /* Queued now, sent first once connected, answered in order before any GET. */
    if (c->url.password[0] != '\0')
        redisAsyncCommand(ac, tokenredis_on_setup, "AUTH", "AUTH %s", c->url.password);
    if (c->url.db != 0)
        redisAsyncCommand(ac, tokenredis_on_setup, "SELECT", "SELECT %u", c->url.db);
    return 0;
}

static void tokenredis_on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct tokenredis_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->state == TOKENREDIS_DOWN)
        tokenredis_connect(c); /* a failure arms the timer again, backing off */
}

/* Drops <c>'s context now (not from inside a hiredis callback): every GET in flight is
 * answered NULL, hence 503. */
static void tokenredis_drop(struct tokenredis_conn *c, const char *why)
{
    redisAsyncContext *ac = c->ac;

    if (ac == NULL)
        return;
    ac->data = NULL; /* no disconnect callback into <c> */
    tokenredis_conn_down(c, why);
    redisAsyncFree(ac);
}

static void tokenredis_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct tokenredis_lookup *lk = arg;
    struct tokenredis_conn *c = lk->conn;

    (void)fd;
    (void)what;
    tokenredis_answer(lk, TOKENREDIS_UNAVAILABLE, NULL);
    /* Redis answers a GET at once: one not answered in token_timeout means the
     * connection (or Redis) is stuck. Dropping it frees <lk> through its NULL reply. */
    if (c != NULL)
        tokenredis_drop(c, "no answer in time");
}

static bool tokenredis_neg_has(struct tokenredis_conn *c, uint64_t h, uint64_t now)
{
    const struct tokenredis_neg *n = &c->neg[h % TOKENREDIS_NEGATIVE_SLOTS];

    return n->h == h && now < n->expires_ms;
}

static void tokenredis_neg_add(struct tokenredis_conn *c, uint64_t h, uint64_t now)
{
    struct tokenredis_neg *n = &c->neg[h % TOKENREDIS_NEGATIVE_SLOTS];

    n->h = h;
    n->expires_ms = now + TOKENREDIS_NEGATIVE_MS;
}

static void tokenredis_on_reply(redisAsyncContext *ac, void *reply, void *arg)
{
    struct tokenredis_lookup *lk = arg;
    struct tokenredis_conn *c = lk->conn;
    const redisReply *rep = reply;
    struct addr target;
    const char *why;

    (void)ac;
    if (c != NULL)
        c->pending--;
    if (rep == NULL) {
        tokenredis_answer(lk, TOKENREDIS_UNAVAILABLE, NULL);
    } else if (rep->type == REDIS_REPLY_NIL) {
        if (c != NULL)
            tokenredis_neg_add(c, lk->h, tokenredis_now_ms());
        tokenredis_answer(lk, TOKENREDIS_UNKNOWN, NULL);
    } else if (rep->type == REDIS_REPLY_STRING) {
        if (tokenvalue_parse(rep->str, rep->len, &target, &why) == 0) {
            tokenredis_answer(lk, TOKENREDIS_FOUND, &target);
        } else {
            log_msg_limited(&tokenredis_value_log, LOG_LEVEL_WARN,
                            "route %s: token=#%s: value in Redis: %s", lk->route, lk->hash, why);
            tokenredis_answer(lk, TOKENREDIS_UNUSABLE, NULL);
        }
    } else {
        log_msg_limited(&tokenredis_log, LOG_LEVEL_WARN, "route %s: token=#%s: Redis: %s",
                        lk->route, lk->hash,
                        rep->type == REDIS_REPLY_ERROR ? rep->str : "not a string value");
        tokenredis_answer(
            lk, rep->type == REDIS_REPLY_ERROR ? TOKENREDIS_UNAVAILABLE : TOKENREDIS_UNUSABLE,
            NULL);
    }
    tokenredis_lookup_free(lk);
}

/* The connection of the loop at *<tp> (event base <base>) to <url>, made on first use.
 * NULL if out of memory. */
static struct tokenredis_conn *tokenredis_conn_get(struct tokenredis **tp, struct event_base *base,
                                                   const struct redisurl *url)
{
    struct tokenredis *t = *tp;
    struct tokenredis_conn *c;

    if (t == NULL) {
        if ((t = calloc(1, sizeof(*t))) == NULL)
            return NULL;
        t->base = base;
        *tp = t;
    }
    for (c = t->conns; c != NULL; c = c->next)
        if (memcmp(&c->url, url, sizeof(*url)) == 0)
            return c;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    if (getrandom(c->key, sizeof(c->key), 0) != (ssize_t)sizeof(c->key) ||
        (c->retry = evtimer_new(base, tokenredis_on_retry, c)) == NULL) {
        free(c);
        return NULL;
    }
    c->owner = t;
    c->url = *url;
    c->backoff_ms = TOKENREDIS_BACKOFF_MIN_MS;
    redisurl_format(url, c->shown, sizeof(c->shown));
    c->next = t->conns;
    t->conns = c;
    return c;
}

enum tokenredis_result tokenredis_lookup(struct tokenredis **t, struct event_base *base,
                                         const struct route *r, const char *token, size_t len,
                                         const char *hash, tokenredis_cb *cb, void *arg,
                                         struct addr *out, struct tokenredis_lookup **pending)
{
    struct tokenredis_conn *c = tokenredis_conn_get(t, base, r->tokens_redis);
    struct tokenredis_lookup *lk;
    uint64_t now = tokenredis_now_ms(), h;
    struct timeval tv;

    (void)out;
    *pending = NULL;
    if (c == NULL)
        return TOKENREDIS_UNAVAILABLE;
    h = siphash24(c->key, token, len) | 1; /* 0 marks an empty slot */
    if (tokenredis_neg_has(c, h, now))
        return TOKENREDIS_UNKNOWN;
    if (c->state == TOKENREDIS_DOWN && (now < c->next_attempt_ms || tokenredis_connect(c) != 0))
        return TOKENREDIS_UNAVAILABLE;
    if (c->pending >= TOKENREDIS_PENDING_MAX)
        return TOKENREDIS_UNAVAILABLE;
    if ((lk = calloc(1, sizeof(*lk))) == NULL ||
        (lk->timer = evtimer_new(base, tokenredis_on_timeout, lk)) == NULL) {
        free(lk);
        return TOKENREDIS_UNAVAILABLE;
    }
    lk->conn = c;
    lk->cb = cb;
    lk->arg = arg;
    lk->h = h;
    snprintf(lk->hash, sizeof(lk->hash), "%s", hash);
    snprintf(lk->route, sizeof(lk->route), "%s", r->path);
    if (redisAsyncCommand(c->ac, tokenredis_on_reply, lk, "GET %b%b", c->url.prefix,
                          strlen(c->url.prefix), token, len) != REDIS_OK) {
        tokenredis_lookup_free(lk);
        return TOKENREDIS_UNAVAILABLE;
    }
    c->pending++;
    tv.tv_sec = r->token_timeout_ms / 1000;
    tv.tv_usec = (r->token_timeout_ms % 1000) * 1000;
    evtimer_add(lk->timer, &tv);
    *pending = lk;
    return TOKENREDIS_PENDING;
}

void tokenredis_cancel(struct tokenredis_lookup *lk)
{
    /* The deadline stays: it still tells a stuck connection (tokenredis_on_timeout). */
    lk->cb = NULL;
}

void tokenredis_free(struct tokenredis *t)
{
    struct tokenredis_conn *c, *next;

    if (t == NULL)
        return;
    for (c = t->conns; c != NULL; c = next) {
        next = c->next;
        if (c->ac != NULL) {
            c->ac->data = NULL;
            /* Lookups still in flight are freed through their NULL replies; none has a
             * callback any more. Their conn pointer must not be used: cleared first. */
            redisAsyncFree(c->ac);
        }
        event_free(c->retry);
        OPENSSL_cleanse(c->url.password, sizeof(c->url.password));
        free(c);
    }
    free(t);
}
