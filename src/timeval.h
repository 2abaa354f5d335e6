/*
 * timeval.h - a duration in milliseconds as the struct timeval libevent's timers take.
 * One line, written once instead of at every timer.
 */
#ifndef WSB_TIMEVAL_H
#define WSB_TIMEVAL_H

#include <stdint.h>
#include <sys/time.h>

/* <ms> milliseconds as seconds and microseconds. */
static inline struct timeval timeval_from_ms(uint64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

#endif
