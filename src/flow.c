/*
 * flow.c - watermark backpressure for one direction (the le-proxy pattern).
 * The caller pauses on the sink's *output* length, not on the source's read watermark:
 * a TLS bufferevent can read past its read watermark, an output length cannot lie.
 */
#include "flow.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

void flow_init(struct flow *f, uint64_t high_bytes, uint64_t low_bytes)
{
    f->high_bytes = high_bytes;
    f->low_bytes = low_bytes;
    f->paused = false;
    f->pauses = NULL;
}

bool flow_update(struct flow *f, size_t sink_bytes)
{
    if (f->paused && sink_bytes <= f->low_bytes)
        f->paused = false;
    else if (!f->paused && sink_bytes > f->high_bytes) {
        f->paused = true;
        if (f->pauses != NULL)
            (*f->pauses)++;
    }
    return !f->paused;
}

bool flow_apply(struct flow *f, struct bufferevent *src, size_t sink_bytes, bool hold)
{
    bool flowing = flow_update(f, sink_bytes);

    if (flowing && !hold)
        bufferevent_enable(src, EV_READ);
    else
        bufferevent_disable(src, EV_READ);
    return flowing;
}
