/*
 * heartbeat.h - keep-alive for one WebSocket client: a ping every interval, and a
 * deadline for an answer (a pong or any frame) after each ping. One timer per client.
 */
#ifndef WSB_HEARTBEAT_H
#define WSB_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

struct event;
struct event_base;

/* Sends a ping with <len> bytes of <payload> (at most 125). */
typedef void heartbeat_ping_cb(void *arg, const uint8_t *payload, size_t len);
/* No answer came within the timeout after a ping, or (idle) no data moved for idle_ms. */
typedef void heartbeat_expired_cb(void *arg);

enum heartbeat_state {
    HEARTBEAT_IDLE = 0, /* waiting for the next ping time */
    HEARTBEAT_AWAITING, /* a ping is out, no frame has arrived since */
    HEARTBEAT_ANSWERED, /* a ping is out and a frame arrived: wait for the next ping time */
};

struct heartbeat {
    struct event *timer;
    struct timeval tv_interval, tv_timeout, tv_rest; /* common timeouts: interval, timeout,
                                                      * interval - timeout */
    unsigned interval_ms;     /* 0: no pings */
    unsigned timeout_ms;      /* deadline after a ping */
    enum heartbeat_state state;
    bool paused;              /* the client is not being read: a missed deadline is excused */
    uint64_t pings_sent;      /* also the ping payload, so pongs can be told apart in logs */
    heartbeat_ping_cb *ping;
    heartbeat_expired_cb *expired;
    void *arg;
    struct event *idle_timer; /* NULL: no idle timeout */
    unsigned idle_ms;         /* close after this long without data either way */
    struct timeval last_data; /* when data last moved (the loop's cached clock) */
    heartbeat_expired_cb *idle;
};

/* Starts pinging every <interval_ms> (0: never) with a <timeout_ms> deadline. Returns 0,
 * or -1 if the timer could not be made. */
int heartbeat_start(struct heartbeat *hb, struct event_base *base, unsigned interval_ms,
                    unsigned timeout_ms, heartbeat_ping_cb *ping, heartbeat_expired_cb *expired,
                    void *arg);

/* A frame (pong, data, anything) arrived from the client: the deadline is met. */
void heartbeat_on_activity(struct heartbeat *hb);

/* The caller stopped reading the client because its target is not reading
 * (backpressure): pongs cannot be seen, so a missed deadline no longer fails the client.
 * Pings still go out every interval, so a peer that vanished is still found by TCP's
 * retransmission timeout on them. Idempotent. */
void heartbeat_pause(struct heartbeat *hb);

/* Reading the client again: a ping still unanswered gets a whole timeout from now (its
 * pong may wait, unread, in the socket). Does nothing unless paused. */
void heartbeat_resume(struct heartbeat *hb);

/* Adds an idle deadline to a started <hb>: <idle> runs when no data has moved either way
 * for <idle_ms> (0: never). Returns 0, or -1 if the timer could not be made. */
int heartbeat_start_idle(struct heartbeat *hb, struct event_base *base, unsigned idle_ms,
                         heartbeat_expired_cb *idle);

/* Data moved (either way): the idle deadline starts again. Cheap: no timer is touched. */
void heartbeat_on_data(struct heartbeat *hb);

/* Stops and frees the timers; safe on a zeroed or stopped heartbeat. */
void heartbeat_stop(struct heartbeat *hb);

#endif
