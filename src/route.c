/*
 * route.c - which route a request target selects, no I/O. Paths are compared byte for
 * byte as sent (no percent-decoding, no dot-segment removal: a route is a name, not a
 * file; static files get their own safe path in path.c). The query string is ignored.
 */
#include "route.h"

#include <string.h>

/* True if prefix route <r> (path "/p/" plus a star, match_len covering "/p/") matches the
 * <len> bytes of path at <path>: "/p" itself, or anything starting with "/p/". */
static bool route_prefix_matches(const struct route *r, const char *path, size_t len)
{
    if (len >= r->match_len)
        return memcmp(path, r->path, r->match_len) == 0;
    /* "/vnc" opens the same route as "/vnc/": browsers and users drop the slash. */
    return len + 1 == r->match_len && memcmp(path, r->path, len) == 0;
}

/* Route for request target <url> (as sent: path and optional "?query") in <c>, or NULL.
 * An exact route wins over every prefix route; among prefix routes the longest wins
 * (config.c refuses duplicate paths, so there are no ties). NULL <c> or <url>: NULL. */
const struct route *route_match(const struct config *c, const char *url)
{
    const struct route *best = NULL;
    size_t len;

    if (c == NULL || url == NULL)
        return NULL;
    len = strcspn(url, "?");
    for (size_t i = 0; i < c->n_routes; i++) {
        const struct route *r = &c->routes[i];
        if (!r->prefix) {
            if (r->match_len == len && memcmp(url, r->path, len) == 0)
                return r;
        } else if (route_prefix_matches(r, url, len) &&
                   (best == NULL || r->match_len > best->match_len)) {
            best = r;
        }
    }
    return best;
}

bool route_is_token(const struct route *r)
{
    return r->tokens != NULL || r->tokens_redis != NULL || r->tokens_jwt != NULL;
}
