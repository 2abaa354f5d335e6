/*
 * snapshot.c - copies of every loop's counters and connection states, each made on its
 * own loop's thread (loop_call) and handed back under the snapshot's lock, which nobody
 * holds for longer than a pointer store; the home loop is woken by event_active when the
 * last copy is in, or by its deadline. Nothing waits on a condition variable.
 */
#include "snapshot.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conn.h"
#include "loop.h"
#include "metrics.h"
#include "timeval.h"

/* One loop's part: queued on that loop, answered on its thread. */
struct snapshot_ask {
    struct loop_call call;         /* queued on the loop it asks */
    struct snapshot *snap;         /* not owned: the snapshot it is part of */
    bool answered;                 /* its copy is in (under the snapshot's lock) */
    struct metrics *copy;          /* owned: its registry, when asked; NULL if memory ran out */
    struct snapshot_states states; /* its connections by state */
};

struct snapshot {
    pthread_mutex_t lock;          /* guards refs, closed, answered and the asks' answers */
    unsigned refs;                 /* home's until closed, and one per ask not yet run */
    bool closed;                   /* answered or cancelled: later copies are dropped */
    bool with_metrics;             /* copy the registries too; set before any ask */
    struct event *done;            /* on home: every loop answered */
    struct event *deadline;        /* on home: answer with what has arrived */
    snapshot_cb *cb;
    void *arg;
    size_t n;                      /* asks */
    size_t answered;               /* asks answered */
    struct snapshot_ask asks[];    /* one per loop asked */
};

/* What <l> holds now, by kind and state. On <l>'s thread. */
static void snapshot_count(const struct loop *l, struct snapshot_states *st)
{
    /* First match wins: the bridge's HTTP connections wait only for a password. */
    struct connset_tally t[] = {
        {"tls", NULL, 0},         {"http", "wait", 0},        {"http", NULL, 0},
        {"websocket", "connecting", 0}, {"websocket", "open", 0}, {"websocket", "closing", 0},
        {"drain", NULL, 0},       {"admin", NULL, 0},
    };

    connset_count(&l->conns, t, sizeof(t) / sizeof(t[0]));
    *st = (struct snapshot_states){
        .tls = t[0].n,
        .http = t[1].n + t[2].n,
        .upgrading = t[1].n,
        .connecting = t[3].n,
        .open = t[4].n,
        .closing = t[5].n,
        .draining = t[6].n,
        .admin = t[7].n,
    };
}

static void snapshot_states_add(struct snapshot_states *sum, const struct snapshot_states *add)
{
    sum->tls += add->tls;
    sum->http += add->http;
    sum->upgrading += add->upgrading;
    sum->connecting += add->connecting;
    sum->open += add->open;
    sum->closing += add->closing;
    sum->draining += add->draining;
    sum->admin += add->admin;
}

/* Drops one reference; the last frees <s> (any thread: its events are gone by then). */
static void snapshot_unref(struct snapshot *s)
{
    bool last;

    pthread_mutex_lock(&s->lock);
    last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last)
        return;
    for (size_t i = 0; i < s->n; i++)
        metrics_free(s->asks[i].copy);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* On the asked loop's thread: makes its copy and hands it in, unless the snapshot is
 * closed; the last copy wakes the home loop. With <run> false (the loop is freed first)
 * it only lets go. */
static void snapshot_on_ask(struct loop *l, struct loop_call *call, bool run)
{
    struct snapshot_ask *ask =
        (struct snapshot_ask *)(void *)((char *)call - offsetof(struct snapshot_ask, call));
    struct snapshot *s = ask->snap;
    struct metrics *copy = NULL;
    struct snapshot_states st = {0};

    if (run) {
        if (s->with_metrics && (copy = metrics_new()) != NULL &&
            metrics_merge(copy, l->metrics) != 0) {
            metrics_free(copy);
            copy = NULL;
        }
        snapshot_count(l, &st);
    }
    pthread_mutex_lock(&s->lock);
    if (run && !s->closed) {
        ask->copy = copy;
        copy = NULL;
        ask->states = st;
        ask->answered = true;
        if (++s->answered == s->n)
            event_active(s->done, EV_TIMEOUT, 0);
    }
    pthread_mutex_unlock(&s->lock);
    metrics_free(copy);
    snapshot_unref(s);
}

/* Closes <s> to late answers and frees its events. On home's thread. */
static void snapshot_close(struct snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    s->closed = true;
    pthread_mutex_unlock(&s->lock);
    event_free(s->done);
    event_free(s->deadline);
    s->done = s->deadline = NULL;
}

/* Every loop answered, or the deadline passed: the sum goes to the callback. The answers
 * are read without the lock: once closed (under it), nobody writes them again. */
static void snapshot_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct snapshot *s = arg;
    struct snapshot_result r = {.snap = s};

    (void)fd;
    (void)what;
    snapshot_close(s);
    if (s->with_metrics)
        r.metrics = metrics_new();
    for (size_t i = 0; i < s->n; i++) {
        const struct snapshot_ask *ask = &s->asks[i];

        if (!ask->answered) {
            r.missing++;
            continue;
        }
        snapshot_states_add(&r.states, &ask->states);
        if (s->with_metrics &&
            (r.metrics == NULL || ask->copy == NULL || metrics_merge(r.metrics, ask->copy) != 0))
            r.missing++;
    }
    s->cb(&r, s->arg);
    metrics_free(r.metrics);
    snapshot_unref(s);
}

struct snapshot *snapshot_start(struct loop *home, struct loop *const *loops, size_t n,
                                bool with_metrics, unsigned deadline_ms, snapshot_cb *cb,
                                void *arg)
{
    struct timeval tv = timeval_from_ms(deadline_ms);
    struct snapshot *s = calloc(1, sizeof(*s) + n * sizeof(s->asks[0]));

    if (s == NULL)
        return NULL;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->refs = 1;
    s->with_metrics = with_metrics;
    s->cb = cb;
    s->arg = arg;
    s->n = n;
    s->done = event_new(home->base, -1, 0, snapshot_on_done, s);
    s->deadline = evtimer_new(home->base, snapshot_on_done, s);
    if (s->done == NULL || s->deadline == NULL) {
        if (s->done != NULL)
            event_free(s->done);
        if (s->deadline != NULL)
            event_free(s->deadline);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    evtimer_add(s->deadline, &tv);
    if (n == 0)
        event_active(s->done, EV_TIMEOUT, 0);
    /* Each ask holds a reference until its loop has run it (or dropped it). */
    s->refs += (unsigned)n;
    for (size_t i = 0; i < n; i++) {
        s->asks[i].snap = s;
        s->asks[i].call.fn = snapshot_on_ask;
        loop_call(loops[i], &s->asks[i].call);
    }
    return s;
}

const struct snapshot_states *snapshot_result_loop(const struct snapshot_result *r, size_t i)
{
    const struct snapshot *s = r->snap;

    return i < s->n && s->asks[i].answered ? &s->asks[i].states : NULL;
}

void snapshot_cancel(struct snapshot *s)
{
    snapshot_close(s);
    snapshot_unref(s);
}
