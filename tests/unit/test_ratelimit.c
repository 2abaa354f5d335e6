/*
 * test_ratelimit.c - unit tests for ratelimit.c: one event per interval with the time
 * passed in, the count of refused events handed to the next allowed one and reset, a
 * clock that starts at 0, and several threads at once: exactly one wins each interval
 * and no refused event is lost from the counts.
 */
#include <pthread.h>
#include <stdint.h>

#include <check.h>

#include "check_main.h"
#include "ratelimit.h"

START_TEST(test_ratelimit_sequence)
{
    static struct ratelimit rl = RATELIMIT_INIT(1000);
    unsigned long n = 99;

    ck_assert(ratelimit_allow(&rl, 0, &n));
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert(!ratelimit_allow(&rl, 1, &n));
    ck_assert(!ratelimit_allow(&rl, 500, &n));
    ck_assert(!ratelimit_allow(&rl, 999, &n));
    ck_assert_uint_eq(n, 99); /* untouched when refused */
    ck_assert(ratelimit_allow(&rl, 1000, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert(!ratelimit_allow(&rl, 1999, &n));
    /* A long quiet time: the next one is allowed and reports what came before it. */
    ck_assert(ratelimit_allow(&rl, 60000, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert(ratelimit_allow(&rl, 61000, &n));
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* Per interval: one allowed event over many calls, with the counts adding up. */
START_TEST(test_ratelimit_many)
{
    struct ratelimit rl = RATELIMIT_INIT(100);
    unsigned long n, allowed = 0, reported = 0;
    uint64_t calls = 0;

    for (uint64_t t = 5000; t < 6000; t += 3) {
        calls++;
        if (ratelimit_allow(&rl, t, &n)) {
            allowed++;
            reported += n;
        }
    }
    ck_assert_uint_eq(allowed, 10);
    /* Refused events after the last allowed one are not reported yet. */
    ck_assert_uint_le(reported, calls - allowed);
    ck_assert_uint_ge(reported + 34, calls - allowed);
}
END_TEST

#define TEST_THREADS 4
#define TEST_CALLS 200000

struct test_worker {
    struct ratelimit *rl;
    unsigned long allowed, reported;
};

static void *test_ratelimit_thread(void *arg)
{
    struct test_worker *tw = arg;
    unsigned long n;

    for (int i = 0; i < TEST_CALLS; i++) {
        if (ratelimit_allow(tw->rl, 1 + (uint64_t)i / 1000, &n)) {
            tw->allowed++;
            tw->reported += n;
        }
    }
    return NULL;
}

/* Threads calling at once, each running through the same 200 milliseconds of fake time:
 * an allowed event's time is always past the one before, so at most 200 get through
 * whoever makes them, and every refused event is either reported or still pending. */
START_TEST(test_ratelimit_threads)
{
    struct ratelimit rl = RATELIMIT_INIT(1);
    struct test_worker tw[TEST_THREADS];
    pthread_t th[TEST_THREADS];
    unsigned long allowed = 0, reported = 0, pending;

    for (int i = 0; i < TEST_THREADS; i++) {
        tw[i] = (struct test_worker){.rl = &rl};
        ck_assert_int_eq(pthread_create(&th[i], NULL, test_ratelimit_thread, &tw[i]), 0);
    }
    for (int i = 0; i < TEST_THREADS; i++) {
        pthread_join(th[i], NULL);
        allowed += tw[i].allowed;
        reported += tw[i].reported;
    }
    pending = atomic_load(&rl.suppressed);
    ck_assert_uint_ge(allowed, 1);
    ck_assert_uint_le(allowed, TEST_CALLS / 1000);
    ck_assert_uint_eq(allowed + reported + pending, (unsigned long)TEST_THREADS * TEST_CALLS);
}
END_TEST

static Suite *test_ratelimit_suite(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("ratelimit");

    tcase_add_test(tc, test_ratelimit_sequence);
    tcase_add_test(tc, test_ratelimit_many);
    tcase_add_test(tc, test_ratelimit_threads);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_ratelimit_suite)
