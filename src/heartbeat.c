/*
 * heartbeat.c - ping interval and pong deadline (RFC 6455 §5.5.2, §5.5.3) on one timer:
 * after a ping the timer waits <timeout>, then, if the client answered, the rest of the
 * interval before the next ping. The idle deadline (no data either way) has a timer of
 * its own. While the caller does not read the client (backpressure from its target) the
 * deadline is suspended, not the pings: see heartbeat_pause. Every client of a
 * configuration arms the same few durations, so they are libevent common timeouts: a
 * queue per duration, O(1) to arm, instead of one heap entry each (100,000 clients would
 * otherwise keep a heap of 100,000 timers busy).
 */
#include "heartbeat.h"

#include <string.h>

#include <event2/event.h>

#include "timeval.h"

/* <ms> as a common timeout of <base>: the same value for every caller with the same
 * duration. libevent keeps at most 256 per base; past that, a plain timeout. */
static struct timeval heartbeat_common(struct event_base *base, unsigned ms)
{
    struct timeval tv = timeval_from_ms(ms);
    const struct timeval *common = event_base_init_common_timeout(base, &tv);

    return common != NULL ? *common : tv;
}

static void heartbeat_arm(struct heartbeat *hb, const struct timeval *tv)
{
    evtimer_add(hb->timer, tv);
}

static void heartbeat_send_ping(struct heartbeat *hb)
{
    uint8_t payload[8];
    uint64_t n = ++hb->pings_sent;

    for (int i = 7; i >= 0; i--, n >>= 8)
        payload[i] = (uint8_t)n;
    hb->state = HEARTBEAT_AWAITING;
    heartbeat_arm(hb, &hb->tv_timeout);
    hb->ping(hb->arg, payload, sizeof(payload));
}

static void heartbeat_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct heartbeat *hb = arg;

    (void)fd;
    (void)what;
    switch (hb->state) {
    case HEARTBEAT_AWAITING:
        if (!hb->paused) {
            hb->expired(hb->arg);
            break;
        }
        /* Unread, the answer may well be there: count the ping as answered. */
        /* fall through */
    case HEARTBEAT_ANSWERED:
        hb->state = HEARTBEAT_IDLE;
        if (hb->interval_ms > hb->timeout_ms) {
            heartbeat_arm(hb, &hb->tv_rest);
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
    hb->tv_interval = heartbeat_common(base, interval_ms);
    hb->tv_timeout = heartbeat_common(base, timeout_ms);
    if (interval_ms > timeout_ms)
        hb->tv_rest = heartbeat_common(base, interval_ms - timeout_ms);
    heartbeat_arm(hb, &hb->tv_interval);
    return 0;
}

void heartbeat_on_activity(struct heartbeat *hb)
{
    if (hb->state == HEARTBEAT_AWAITING)
        hb->state = HEARTBEAT_ANSWERED;
}

/* Why suspend the deadline rather than read ahead for control frames: a pong can sit
 * behind a data frame of up to max_frame_bytes, so finding it means buffering that frame,
 * which is the memory backpressure exists to bound. A client that is really gone is
 * still found: its socket's EV_CLOSED watcher sees a FIN or reset, a ping sent while
 * paused draws a reset from an orphaned socket and makes TCP give up on a silent peer
 * (tcp_retries2, about 15 minutes), the idle timeout (when set) sees no data move, and
 * once the target reads again the deadline applies as before. */
void heartbeat_pause(struct heartbeat *hb)
{
    hb->paused = true;
}

void heartbeat_resume(struct heartbeat *hb)
{
    if (!hb->paused)
        return;
    hb->paused = false;
    if (hb->timer != NULL && hb->state == HEARTBEAT_AWAITING)
        heartbeat_arm(hb, &hb->tv_timeout);
}

static void heartbeat_on_idle_timer(evutil_socket_t fd, short what, void *arg)
{
    struct heartbeat *hb = arg;
    struct timeval now, since, left;
    struct timeval idle = timeval_from_ms(hb->idle_ms);

    (void)fd;
    (void)what;
    /* The deadline is not moved on every read: it is checked here and re-armed for what
     * is left, so a busy connection costs no timer operations. */
    event_base_gettimeofday_cached(event_get_base(hb->idle_timer), &now);
    evutil_timersub(&now, &hb->last_data, &since);
    if (!evutil_timercmp(&since, &idle, <)) {
        hb->idle(hb->arg);
        return;
    }
    evutil_timersub(&idle, &since, &left);
    evtimer_add(hb->idle_timer, &left);
}

int heartbeat_start_idle(struct heartbeat *hb, struct event_base *base, unsigned idle_ms,
                         heartbeat_expired_cb *idle)
{
    /* The first deadline is the same for every client; later ones are what is left. */
    struct timeval tv = heartbeat_common(base, idle_ms);

    hb->idle_ms = idle_ms;
    hb->idle = idle;
    if (idle_ms == 0)
        return 0;
    hb->idle_timer = evtimer_new(base, heartbeat_on_idle_timer, hb);
    if (hb->idle_timer == NULL)
        return -1;
    event_base_gettimeofday_cached(base, &hb->last_data);
    evtimer_add(hb->idle_timer, &tv);
    return 0;
}

void heartbeat_on_data(struct heartbeat *hb)
{
    if (hb->idle_timer != NULL)
        event_base_gettimeofday_cached(event_get_base(hb->idle_timer), &hb->last_data);
}

void heartbeat_stop(struct heartbeat *hb)
{
    if (hb->timer != NULL)
        event_free(hb->timer);
    hb->timer = NULL;
    if (hb->idle_timer != NULL)
        event_free(hb->idle_timer);
    hb->idle_timer = NULL;
    hb->state = HEARTBEAT_IDLE;
    hb->paused = false;
}
