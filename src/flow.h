/*
 * flow.h - backpressure for one direction of a bridge: the source stops reading while
 * its sink's output is above the high watermark and starts again at or below the low one.
 */
#ifndef WSB_FLOW_H
#define WSB_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bufferevent;

struct flow {
    uint64_t high_bytes; /* pause when the sink holds more than this */
    uint64_t low_bytes;  /* resume when it holds this much or less */
    bool paused;         /* the source is not being read */
    uint64_t *pauses;    /* incremented at each pause (a metric); NULL: none; not owned */
};

/* Sets <f> to "flowing" with the two watermarks (low < high), pauses not counted. */
void flow_init(struct flow *f, uint64_t high_bytes, uint64_t low_bytes);

/* Updates <f> for a sink that now holds <sink_bytes> and returns true if the source may
 * be read. Between the watermarks the previous answer stands (hysteresis). Each change
 * from flowing to paused adds one to *pauses. */
bool flow_update(struct flow *f, size_t sink_bytes);

/* Applies flow_update to <src>: enables or disables its EV_READ for a sink of
 * <sink_bytes>, unless <hold> forces reading off (a closing or connecting side). Returns
 * the flow_update answer. */
bool flow_apply(struct flow *f, struct bufferevent *src, size_t sink_bytes, bool hold);

#endif
