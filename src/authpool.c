/*
 * authpool.c - threads that run crypt(3) for the event loops. A job lives in one of
 * three states under the pool's lock: queued (only the queue knows it), running (a
 * thread hashes its own copy of the credentials, touching nothing else), done (its
 * event is active on the owner's loop). The owner may cancel in any state; the event is
 * only ever freed on the owner's thread, and the thread activates it under the lock, so
 * neither side can use a job the other has freed.
 */
#include "authpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "authfail.h"
#include "log.h"

#define AUTHPOOL_NICE 10 /* added to the threads' nice value: loops first, hashes after */

enum authpool_state {
    AUTHPOOL_QUEUED = 0, /* in the queue; no thread has it */
    AUTHPOOL_RUNNING,    /* a thread is hashing it */
    AUTHPOOL_DONE,       /* result set, its event activated on the owner's loop */
};

struct authpool_job {
    TAILQ_ENTRY(authpool_job) link; /* in the queue while QUEUED */
    struct authpool *pool;          /* not owned */
    enum authpool_state state;      /* under pool->lock */
    bool orphan;                    /* cancelled while RUNNING: its thread frees it */
    struct event *done;             /* on the owner's base; freed on the owner's thread */
    struct basicauth_cred cred;     /* own copy; password and hash wiped once hashed */
    enum basicauth_result result;   /* DONE: OK, DENIED or ERROR */
    authpool_cb cb;
    void *arg;
};

TAILQ_HEAD(authpool_queue, authpool_job);

struct authpool {
    pthread_mutex_t lock; /* guards queue, n_queued, stopping and job states */
    pthread_cond_t wake;  /* a job was queued, or stop */
    struct authpool_queue queue;
    size_t n_queued, queue_max;
    bool stopping;
    pthread_t *threads;
    unsigned n_threads;        /* started, to join */
    pthread_mutex_t fail_lock; /* guards fails: workers on any thread record into it */
    struct authfail *fails;
};

/* Frees <job> and wipes what it holds; its event must be freed already. */
static void authpool_job_free(struct authpool_job *job)
{
    basicauth_cred_wipe(&job->cred);
    free(job);
}

static void *authpool_thread(void *arg)
{
    struct authpool *p = arg;
    struct authpool_job *job;
    enum basicauth_result result;

    /* Per thread on Linux: the event loops keep the CPU when hashes compete for it. */
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, (id_t)gettid());
    if (errno == 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), nice_now + AUTHPOOL_NICE);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && TAILQ_EMPTY(&p->queue))
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping)
            break;
        job = TAILQ_FIRST(&p->queue);
        TAILQ_REMOVE(&p->queue, job, link);
        p->n_queued--;
        job->state = AUTHPOOL_RUNNING;
        pthread_mutex_unlock(&p->lock);

        result = basicauth_verify(&job->cred);
        OPENSSL_cleanse(job->cred.password, sizeof(job->cred.password));
        OPENSSL_cleanse(job->cred.hash, sizeof(job->cred.hash));

        pthread_mutex_lock(&p->lock);
        if (job->orphan) {
            authpool_job_free(job);
            continue;
        }
        job->result = result;
        job->state = AUTHPOOL_DONE;
        /* Under the lock: the owner cannot free the event between these two lines. */
        event_active(job->done, EV_TIMEOUT, 0);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* On the owner's loop: a result is in. */
static void authpool_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct authpool_job *job = arg;
    struct authpool *p = job->pool;
    char user[BASICAUTH_USER_MAX + 1];
    authpool_cb cb = job->cb;
    void *cb_arg = job->arg;
    enum basicauth_result result;

    (void)fd;
    (void)what;
    /* The thread activated the event under the lock: once we hold it, it is done with
     * the job. */
    pthread_mutex_lock(&p->lock);
    result = job->result;
    pthread_mutex_unlock(&p->lock);
    memcpy(user, job->cred.user, sizeof(user));
    event_free(job->done);
    authpool_job_free(job);
    cb(result, user, cb_arg);
}

struct authpool *authpool_new(unsigned threads, char *err, size_t err_len)
{
    unsigned char key[AUTHFAIL_KEY_BYTES];
    struct authpool *p;
    sigset_t all, old;
    int r = 0;

    if (threads == 0 || threads > AUTHPOOL_THREADS_MAX) {
        snprintf(err, err_len, "auth_threads: %u is not between 1 and %d", threads,
                 AUTHPOOL_THREADS_MAX);
        return NULL;
    }
    /* Before any event base exists: a base made after it can be woken from a thread. */
    if (evthread_use_pthreads() != 0) {
        snprintf(err, err_len, "evthread_use_pthreads: failed");
        return NULL;
    }
    if (RAND_bytes(key, sizeof(key)) != 1) {
        snprintf(err, err_len, "RAND_bytes: no random key for the failed-login table");
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->threads = calloc(threads, sizeof(*p->threads))) == NULL ||
        (p->fails = authfail_new(NULL, key)) == NULL) {
        snprintf(err, err_len, "auth pool: out of memory");
        if (p != NULL) {
            free(p->threads);
            free(p);
        }
        return NULL;
    }
    OPENSSL_cleanse(key, sizeof(key));
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->fail_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    TAILQ_INIT(&p->queue);
    p->queue_max = (size_t)threads * AUTHPOOL_QUEUE_PER_THREAD;
    /* Signals belong to the main thread, where libevent's handlers take them. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < threads; i++) {
        char name[16];
        r = pthread_create(&p->threads[i], NULL, authpool_thread, p);
        if (r != 0)
            break;
        p->n_threads++;
        snprintf(name, sizeof(name), "wsbridge-auth%u", i);
        pthread_setname_np(p->threads[i], name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        snprintf(err, err_len, "pthread_create for the auth pool: %s", strerror(r));
        authpool_free(p);
        return NULL;
    }
    return p;
}

void authpool_free(struct authpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    if (!TAILQ_EMPTY(&p->queue))
        log_msg(LOG_LEVEL_ERROR, "auth pool: %zu checks still queued at exit", p->n_queued);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->fail_lock);
    authfail_free(p->fails);
    free(p->threads);
    free(p);
}

unsigned authpool_threads(const struct authpool *p)
{
    return p->n_threads;
}

struct authpool_job *authpool_submit(struct authpool *p, struct event_base *base,
                                     struct basicauth_cred *cred, authpool_cb cb, void *arg)
{
    struct authpool_job *job = calloc(1, sizeof(*job));

    if (job == NULL || (job->done = event_new(base, -1, 0, authpool_on_done, job)) == NULL)
        goto fail;
    job->pool = p;
    job->cb = cb;
    job->arg = arg;
    pthread_mutex_lock(&p->lock);
    if (p->stopping || p->n_queued >= p->queue_max) {
        pthread_mutex_unlock(&p->lock);
        goto fail;
    }
    job->cred = *cred;
    job->state = AUTHPOOL_QUEUED;
    TAILQ_INSERT_TAIL(&p->queue, job, link);
    p->n_queued++;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    basicauth_cred_wipe(cred);
    return job;

fail:
    if (job != NULL && job->done != NULL)
        event_free(job->done);
    free(job);
    basicauth_cred_wipe(cred);
    return NULL;
}

void authpool_cancel(struct authpool_job *job)
{
    struct authpool *p = job->pool;
    bool free_now = true;

    pthread_mutex_lock(&p->lock);
    switch (job->state) {
    case AUTHPOOL_QUEUED:
        TAILQ_REMOVE(&p->queue, job, link);
        p->n_queued--;
        break;
    case AUTHPOOL_RUNNING:
        /* Its thread is hashing and touches only the credentials; it frees the job after. */
        job->orphan = true;
        free_now = false;
        break;
    case AUTHPOOL_DONE:
        /* Its event may be active: freeing it below takes it off the loop. */
        break;
    }
    /* On the owner's thread, under the lock the thread activates it with. */
    event_free(job->done);
    job->done = NULL;
    if (free_now)
        authpool_job_free(job);
    pthread_mutex_unlock(&p->lock);
}

/* Milliseconds since some fixed point, for the failed-login table. */
static uint64_t authpool_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t authpool_blocked_ms(struct authpool *p, const struct sockaddr *sa)
{
    uint64_t ms;

    pthread_mutex_lock(&p->fail_lock);
    ms = authfail_blocked_ms(p->fails, sa, authpool_now_ms());
    pthread_mutex_unlock(&p->fail_lock);
    return ms;
}

void authpool_record_failure(struct authpool *p, const struct sockaddr *sa)
{
    pthread_mutex_lock(&p->fail_lock);
    authfail_record(p->fails, sa, authpool_now_ms());
    pthread_mutex_unlock(&p->fail_lock);
}
