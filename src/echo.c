/*
 * echo.c - the built-in echo target for the default config and health checks.
 * A bufferevent pair: the bridge holds one end as if it were a target socket, the echo
 * holds the other and moves its input to its output without copying.
 */
#include "echo.h"

#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

struct echo {
    struct bufferevent *bev; /* our end of the pair */
    uint64_t high_bytes;     /* stop reading above this much queued output */
};

static void echo_free(struct echo *e)
{
    bufferevent_free(e->bev);
    free(e);
}

static void echo_on_read(struct bufferevent *bev, void *arg)
{
    struct echo *e = arg;
    struct evbuffer *out = bufferevent_get_output(bev);

    evbuffer_add_buffer(out, bufferevent_get_input(bev));
    if (evbuffer_get_length(out) > e->high_bytes)
        bufferevent_disable(bev, EV_READ);
}

static void echo_on_write(struct bufferevent *bev, void *arg)
{
    (void)arg;
    /* Output drained to the low watermark: the bridge reads again, so may we. */
    bufferevent_enable(bev, EV_READ);
}

static void echo_on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        echo_free(arg);
}

struct bufferevent *echo_new(struct event_base *base, uint64_t high_bytes, uint64_t low_bytes)
{
    struct bufferevent *pair[2];
    struct echo *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    if (bufferevent_pair_new(base, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, pair) != 0) {
        free(e);
        return NULL;
    }
    e->bev = pair[1];
    e->high_bytes = high_bytes;
    bufferevent_setcb(e->bev, echo_on_read, echo_on_write, echo_on_event, e);
    bufferevent_setwatermark(e->bev, EV_WRITE, (size_t)low_bytes, 0);
    bufferevent_enable(e->bev, EV_READ | EV_WRITE);
    return pair[0];
}
