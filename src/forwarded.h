/*
 * forwarded.h - the client's address and scheme from the headers an HTTP reverse proxy
 * adds: Forwarded (RFC 7239) and X-Forwarded-For / X-Forwarded-Proto. No I/O: the caller
 * hands over the header values of one request and says which addresses are its trusted
 * proxies (trusted_proxies); acting on the answer is the caller's.
 */
#ifndef WSB_FORWARDED_H
#define WSB_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define FORWARDED_MAX_HOPS 64   /* addresses in all lines of one kind together */
#define FORWARDED_VALUE_MAX 256 /* bytes of one parameter value, quotes included */

/* True if a proxy at <sa> (AF_INET or AF_INET6, port 0 or the one the header gave) is
 * trusted to report the address of the node before it. <arg>: the caller's (its list). */
typedef bool forwarded_trusted_fn(void *arg, const struct sockaddr *sa);

/* Which headers count. Both kinds at once are a trap: a proxy that writes one of them
 * passes the other on from the client untouched, so either may be forged. */
enum forwarded_use {
    FORWARDED_USE_ANY = 0, /* both; when both are present they must name the same client */
    FORWARDED_USE_RFC7239, /* Forwarded only; X-Forwarded-* ignored */
    FORWARDED_USE_XFF,     /* X-Forwarded-For and X-Forwarded-Proto only; Forwarded ignored */
};

/* The header values of one request, each kind as a list of its lines in the order they
 * came (a proxy may append a line rather than extend one: the lines of a kind make one
 * list, RFC 7230 §3.2.2). Values are NUL-terminated as http_req.c gives them. */
struct forwarded_headers {
    const char *const *forwarded; /* Forwarded lines */
    size_t n_forwarded;
    const char *const *xff; /* X-Forwarded-For lines */
    size_t n_xff;
    const char *const *xfp; /* X-Forwarded-Proto lines */
    size_t n_xfp;
};

enum forwarded_proto {
    FORWARDED_PROTO_UNKNOWN = 0, /* not said, or said in a way that does not tell */
    FORWARDED_PROTO_HTTP,        /* "http" or "ws" */
    FORWARDED_PROTO_HTTPS,       /* "https" or "wss" */
};

enum forwarded_result {
    FORWARDED_NONE = 0, /* nothing to use: the peer is not trusted, or no header counts */
    FORWARDED_CLIENT,   /* the client address is in the answer */
    FORWARDED_NO_CLIENT /* headers count but give no usable address (malformed, the two
                         * kinds disagree, the client hop is "unknown", obfuscated or
                         * has no for=): keep the peer, do not guess; see error */
};

struct forwarded_answer {
    struct sockaddr_storage client; /* FORWARDED_CLIENT: AF_INET or AF_INET6 */
    socklen_t client_len;           /* its length for its family */
    bool has_port;                  /* the header gave a port (client's port is it) */
    enum forwarded_proto proto;     /* the scheme the client used, as far as told */
    const char *source;             /* "Forwarded" or "X-Forwarded-For" (CLIENT) */
    const char *error;              /* NO_CLIENT: a short static reason */
};

/*
 * Finds the client of a request that came from <peer> with headers <h>.
 * Precondition: the caller reads these headers only from a trusted peer. To keep that
 * true by construction, a <peer> that <trusted> refuses gives FORWARDED_NONE at once and
 * nothing is read.
 * The addresses of the kinds <use> allows make one list per kind, left (the first node)
 * to right (the node our peer talked to). Walking from the right, the client is the first
 * address that <trusted> refuses; if every address is trusted, it is the leftmost one
 * (the request started at a trusted machine, e.g. a health check through two proxies).
 * A hop that is "unknown", obfuscated ("_name") or lacks for= ends the walk with
 * FORWARDED_NO_CLIENT: nothing is known past it.
 * The scheme (RFC 7239 §5.4: proto is what the request used to reach the proxy that
 * wrote the element) is the proto= of the element that names the client, so that a
 * client -> https -> CDN -> http -> proxy chain says https. For X-Forwarded-Proto: a
 * single value speaks for the whole chain (the usual "first proxy sets it"); as many
 * values as X-Forwarded-For has addresses pair up with them; any other count tells
 * nothing (UNKNOWN).
 * With FORWARDED_USE_ANY and both kinds present, both are read and must agree on the
 * client address (and on the scheme where both tell one), else FORWARDED_NO_CLIENT.
 * Any malformed value of a kind that counts gives FORWARDED_NO_CLIENT: a proxy that
 * writes garbage is not trusted to have written the rest.
 * <out> is always set (zeroed first).
 */
enum forwarded_result forwarded_find(const struct forwarded_headers *h, enum forwarded_use use,
                                     const struct sockaddr *peer, forwarded_trusted_fn *trusted,
                                     void *arg, struct forwarded_answer *out);

#endif
