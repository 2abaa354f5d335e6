/*
 * authpool.h - the password hashing pool: a few threads shared by every worker run the
 * costly half of a Basic check (basicauth_verify: crypt(3), 15-250 ms) so that no event
 * loop ever waits for one, and the failed-login table (authfail.c) behind the 429s. A
 * bounded queue: when it is full the caller answers 503 rather than wait.
 */
#ifndef WSB_AUTHPOOL_H
#define WSB_AUTHPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "basicauth.h"

#define AUTHPOOL_THREADS_MAX 16     /* auth_threads at most */
#define AUTHPOOL_QUEUE_PER_THREAD 8 /* checks waiting for a thread, per thread */

struct authpool;
struct authpool_job;
struct event_base;

/* Delivers a check's <result> (BASICAUTH_OK, DENIED or ERROR) for user name <user> to
 * <arg>, on the loop of the base it was submitted from. The job is gone by then. */
typedef void (*authpool_cb)(enum basicauth_result result, const char *user, void *arg);

/* Starts a pool of <threads> (1 to AUTHPOOL_THREADS_MAX) threads, each at a lower CPU
 * priority (nice + 10) than the event loops, with every signal blocked, and queueing at
 * most <threads> x AUTHPOOL_QUEUE_PER_THREAD checks. Turns libevent's thread support on
 * (the threads wake event loops): call it before any event base is made. Returns the
 * pool, or NULL with "what failed: why" in <err>. */
struct authpool *authpool_new(unsigned threads, char *err, size_t err_len);

/* Stops and joins the threads (each finishes the hash it is running, at most one hash's
 * time) and frees <p>; NULL is fine. Every job must have been delivered or cancelled
 * before (a worker's httpconn_free cancels its own). */
void authpool_free(struct authpool *p);

/* The number of threads <p> runs. */
unsigned authpool_threads(const struct authpool *p);

/* Queues the check of <cred> (from basicauth_decode, BASICAUTH_PENDING) and wipes
 * <cred>: the job keeps its own copy, wiped once hashed. <cb> is called with <arg> on the
 * loop of <base> when the result is known, unless the job is cancelled first. Returns
 * the job, or NULL if the queue is full, the pool is stopping or memory ran out (then
 * <cb> is never called). On <base>'s own thread. */
struct authpool_job *authpool_submit(struct authpool *p, struct event_base *base,
                                     struct basicauth_cred *cred, authpool_cb cb, void *arg);

/* Forgets <job> (its owner goes away): a queued job is dropped unhashed, a running one is
 * freed by its thread when the hash ends, a finished one now; its callback never runs.
 * On the thread of the base it was submitted from, before that base is freed. */
void authpool_cancel(struct authpool_job *job);

/* How much longer, in ms, a client at <sa> may not try a password (too many failures):
 * 0 if it may. Any thread. */
uint64_t authpool_blocked_ms(struct authpool *p, const struct sockaddr *sa);

/* Counts a wrong password from a client at <sa>. Any thread. */
void authpool_record_failure(struct authpool *p, const struct sockaddr *sa);

#endif
