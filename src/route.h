/*
 * route.h - which route a request target selects, no I/O. Exact paths win over
 * prefix routes (paths ending in slash-star), longer prefixes over shorter ones, and a
 * lone slash-star catches all; the query
 * string is not part of the match.
 */
#ifndef WSB_ROUTE_H
#define WSB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Route for request target <url> (as sent: path and optional "?query") in <c>, or NULL.
 * A prefix route written "/p/" plus a star matches "/p" and every path starting "/p/". */
const struct route *route_match(const struct config *c, const char *url);

/* True if <r> takes its target from a token (a file, Redis or a signed token). */
bool route_is_token(const struct route *r);

#endif
