/*
 * heartbeat.c - ping interval and pong deadline (RFC 6455 §5.5.2, §5.5.3) on one timer:
 * after a ping the timer waits <timeout>, then, if the client answered, the rest of the
 * interval before the next ping.
 */
#include "heartbeat.h"

#include <string.h>

#include <event2/event.h>

static void heartbeat_arm(struct heartbeat *hb, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    evtimer_add(hb->timer, &tv);
}

static void heartbeat_send_ping(struct heartbeat *hb)
{
    uint8_t payload[8];
    uint64_t n = ++hb->pings_sent;

    for (int i = 7; i >= 0; i--, n >>= 8)
        payload[i] = (uint8_t)n;
    hb->state = HEARTBEAT_AWAITING;
    heartbeat_arm(hb, hb->timeout_ms);
    hb->ping(hb->arg, payload, sizeof(payload));
}

static void heartbeat_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct heartbeat *hb = arg;

    (void)fd;
    (void)what;
    switch (hb->state) {
    case HEARTBEAT_AWAITING:
        hb->expired(hb->arg);
        break;
    case HEARTBEAT_ANSWERED:
        hb->state = HEARTBEAT_IDLE;
        if (hb->interval_ms > hb->timeout_ms) {
            heartbeat_arm(hb, hb->interval_ms - hb->timeout_ms);
            break;
        }
        heartbeat_send_ping(hb);
        break;
    case HEARTBEAT_IDLE:
        heartbeat_send_ping(hb);
        break;
    }
}

int heartbeat_start(struct heartbeat *hb, struct event_base *base, unsigned interval_ms,
                    unsigned timeout_ms, heartbeat_ping_cb *ping, heartbeat_expired_cb *expired,
                    void *arg)
{
    memset(hb, 0, sizeof(*hb));
    hb->interval_ms = interval_ms;
    hb->timeout_ms = timeout_ms;
    hb->ping = ping;
    hb->expired = expired;
    hb->arg = arg;
    if (interval_ms == 0)
        return 0;
    hb->timer = evtimer_new(base, heartbeat_on_timer, hb);
    if (hb->timer == NULL)
        return -1;
    heartbeat_arm(hb, interval_ms);
    return 0;
}

void heartbeat_on_activity(struct heartbeat *hb)
{
    if (hb->state == HEARTBEAT_AWAITING)
        hb->state = HEARTBEAT_ANSWERED;
}

void heartbeat_stop(struct heartbeat *hb)
{
    if (hb->timer != NULL)
        event_free(hb->timer);
    hb->timer = NULL;
    hb->state = HEARTBEAT_IDLE;
}
