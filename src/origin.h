/*
 * origin.h - where a request comes from and whom it addresses, no I/O: Origin allowlists
 * (RFC 6454 origins, RFC 6455 §10.2) with same-origin as the default, and the Host
 * allowlist against DNS rebinding (RFC 7230 §5.4). Answering 403 or 421 is the caller's.
 */
#ifndef WSB_ORIGIN_H
#define WSB_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#define ORIGIN_REQUIRE 0x1 /* a request without an Origin header is refused */

#define ORIGIN_SCHEME_MAX 32 /* bytes of an origin's scheme */
#define ORIGIN_HOST_MAX 255  /* bytes of a host name, brackets of an IPv6 literal included */
#define ORIGIN_HOSTS_MAX 256 /* names in one Host allowlist */

/* Origins -------------------------------------------------------------------------- */

struct origin {
    char scheme[ORIGIN_SCHEME_MAX + 1]; /* lowercase */
    char host[ORIGIN_HOST_MAX + 1];     /* lowercase; without the "*." of a wildcard */
    bool wildcard;                      /* written "*.host": subdomains of host only */
    unsigned port;                      /* 0: the scheme's default (or none given) */
};

struct origin_list {
    struct origin *items; /* parsed patterns, in the order given */
    size_t n;
    bool any;        /* a lone "*" was given: every Origin value passes */
    bool allow_null; /* "null" was given: Origin "null" passes */
    unsigned flags;  /* ORIGIN_* */
};

/* Parses <n> patterns at <patterns> into a new allowlist. A pattern is an origin as a
 * browser serializes it, "scheme://host" or "scheme://host:port" (no path, no slash at
 * the end, no user info), where host may start with "*." to match any subdomain at any
 * depth (not the domain itself); or "*" alone, any Origin value; or "null", the opaque
 * origin (RFC 6454 §6.2) that any sandboxed iframe or file: page can send, so rarely
 * wise. A default port (80 for http and ws, 443 for https and wss) is the same as none.
 * With no patterns the list means same-origin: see origin_list_is_allowed. <flags>:
 * ORIGIN_REQUIRE. Returns the list, or NULL with "origin pattern N \"...\": why" (N
 * 1-based) in <err>. */
struct origin_list *origin_list_parse(const char *const *patterns, size_t n, unsigned flags,
                                      char *err, size_t err_len);

/* Frees <o>; NULL is fine. */
void origin_list_free(struct origin_list *o);

/* True if <o> lets every Origin value through (a "*" pattern): a page on any site may
 * then open the route from the browser of whoever visits it. */
bool origin_list_is_any(const struct origin_list *o);

/* True if a request whose Origin header is <origin> (NULL: no such header) and whose Host
 * header is <host> (NULL: none), received on a TLS listener when <tls>, may proceed
 * under <o>. A missing Origin passes unless ORIGIN_REQUIRE was given: browsers always
 * send Origin with a WebSocket handshake (RFC 6455 §4.1), so its absence means a
 * non-browser client, which could have sent any value anyway. A list with patterns
 * compares scheme and host case-insensitively (RFC 6454 §4 lowercases them) and ports
 * exactly once defaults are dropped; a value that is not a well-formed origin matches
 * only "*". A list without patterns lets through only the same origin: see
 * origin_is_same. */
bool origin_list_is_allowed(const struct origin_list *o, const char *origin, const char *host,
                            bool tls);

/* True if Origin value <origin> names the host and port that Host value <host> does: the
 * hosts compare case-insensitively, the Origin's port defaults to its scheme's (80 for
 * http and ws, 443 for https and wss; no other scheme has one), the Host's to 443 when
 * <tls> and 80 otherwise. The scheme itself is not compared. "null", a malformed value
 * on either side, or a NULL, is never the same. */
bool origin_is_same(const char *origin, const char *host, bool tls);

/* Host allowlist ---------------------------------------------------------------------- */

struct origin_host {
    char host[ORIGIN_HOST_MAX + 1]; /* lowercase; without a final dot or a wildcard's "*." */
    bool wildcard;                  /* written "*.host": subdomains of host at any depth */
    unsigned port;                  /* 0: any port */
};

struct origin_hosts {
    struct origin_host *items;
    size_t n;
};

/* Parses <n> Host names at <names> into a new allowlist: "example.com", "*.example.com"
 * (subdomains at any depth, not the domain itself), "127.0.0.1", "[::1]", each with an
 * optional ":port" (none: any port). Names compare case-insensitively, one final dot
 * ignored. At most ORIGIN_HOSTS_MAX names. Returns the list, or NULL with
 * "host N \"...\": why" (N 1-based) in <err>. */
struct origin_hosts *origin_hosts_parse(const char *const *names, size_t n, char *err,
                                        size_t err_len);

/* Frees <h>; NULL is fine. */
void origin_hosts_free(struct origin_hosts *h);

/* True if Host value <host> (NULL: none) on a TLS listener when <tls> is allowed by <h>:
 * it is well-formed (uri-host [":" port], RFC 7230 §5.4) and matches a name, and the
 * name's port if it has one, a Host without a port being on 443 when <tls> and 80
 * otherwise. A NULL <h> allows every Host, and none. */
bool origin_hosts_is_allowed(const struct origin_hosts *h, const char *host, bool tls);

#endif
