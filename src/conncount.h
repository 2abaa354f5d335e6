/*
 * conncount.h - the counts behind the connection limits: every accepted connection from
 * its accept until its socket is closed, in all and per client address (an IPv6 client
 * by its prefix); of those, the ones not upgraded yet ("pending") and the WebSocket
 * clients of each route path. Pure: no locks, no I/O; connlimits.c holds the one mutex that
 * makes a check and its count a single step across threads.
 */
#ifndef WSB_CONNCOUNT_H
#define WSB_CONNCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "siphash.h"

/* A client address as counted: IPv4 (IPv4-mapped IPv6 included) whole, IPv6 cut to its
 * prefix, so that one /64 is one address. */
struct conncount_key {
    unsigned char family;   /* 0: no address (not counted per address); AF_INET, AF_INET6 */
    unsigned char addr[16]; /* 4 or 16 bytes used; the rest, and IPv6 bits past the
                             * prefix, zero */
};

/* The limits a new connection is checked against; 0 means no limit. */
struct conncount_limits {
    unsigned max_connections;        /* connections in all, upgraded or not */
    unsigned max_connections_per_ip; /* connections from one address */
    unsigned max_pending_per_ip;     /* connections from one address not upgraded yet */
    unsigned max_by_fds;             /* connections the descriptor budget holds */
};

enum conncount_state {
    CONNCOUNT_NONE = 0, /* not counted */
    CONNCOUNT_PENDING,  /* counted, not upgraded: a TLS handshake, HTTP requests */
    CONNCOUNT_CLIENT,   /* counted, a WebSocket client of a route */
    CONNCOUNT_CLOSING,  /* counted, its route left: the socket is being closed */
};

/* One connection's place in the counts, kept by whoever holds the connection. */
struct conncount_ticket {
    struct conncount_key key;
    enum conncount_state state;
    const char *path; /* CLIENT: its route path, the table's copy (valid while counted) */
};

/* Clients of one route path. Keyed by path, not by a position in a config, so that
 * counts carry over a reload. */
struct conncount_route {
    char *path; /* owned */
    unsigned n; /* live clients; the entry is removed at 0 */
};

/* One slot of the address table (open addressing, linear probing). */
struct conncount_ip {
    struct conncount_key key; /* key.family 0: a free slot */
    unsigned n;               /* connections from this address, > 0 in a used slot */
    unsigned pending;         /* of those, not upgraded */
};

struct conncount {
    unsigned conns;                 /* counted connections in all */
    unsigned pending;               /* of those, not upgraded */
    unsigned clients;               /* of those, WebSocket clients of a route */
    struct conncount_route *routes; /* a short list: a config has few routes */
    size_t n_routes, cap_routes;
    struct conncount_ip *ips;       /* hash table; NULL until the first address */
    size_t n_ips;                   /* used slots (distinct addresses) */
    size_t cap_ips;                 /* slots, a power of two; kept at most half full */
    uint8_t hash_key[SIPHASH_KEY_BYTES]; /* secret: addresses chosen by peers cannot be
                                          * made to share a probe run */
};

/* Makes <cc> empty, hashing addresses under <hash_key> (16 random bytes, copied); it
 * allocates nothing until the first count. */
void conncount_init(struct conncount *cc, const uint8_t hash_key[SIPHASH_KEY_BYTES]);

/* Frees what <cc> holds; it is empty (and reusable, with the same hash key) afterwards. */
void conncount_reset(struct conncount *cc);

/* The key of <sa> in <key>: IPv4 and IPv4-mapped IPv6 as the IPv4 address, other IPv6
 * addresses cut to their first <prefix_v6> bits (1..128; others count as 128). Returns
 * false, with family 0, for other families: such a connection is not counted per
 * address. */
bool conncount_key_of(const struct sockaddr *sa, unsigned prefix_v6, struct conncount_key *key);

/* Checks <limits> for one more connection with <t>->key (<t> not counted) and, if none
 * is reached, counts it as pending. Returns NULL (counted: <t> is PENDING until
 * conncount_remove), or the name of the limit reached ("max_connections_per_ip",
 * "max_pending_per_ip", "max_connections", "fd_reserve") with its value in <limit>, or
 * "out of memory" (limit 0); nothing is counted then. */
const char *conncount_add(struct conncount *cc, const struct conncount_limits *limits,
                          struct conncount_ticket *t, unsigned *limit);

/* The connection of <t> (pending; or not counted, then counted now without limits)
 * becomes a WebSocket client of route path <path> if the route has fewer than
 * <route_max> clients (0: no limit). Returns NULL (<t> is CLIENT), or "route
 * max_connections" with <route_max> in <limit>, or "out of memory" (limit 0): then <t>
 * stays pending. */
const char *conncount_upgrade(struct conncount *cc, unsigned route_max, const char *path,
                              struct conncount_ticket *t, unsigned *limit);

/* The pending connection of <t> turns out to come from <key>: a client behind a proxy
 * that was counted under no address (or the proxy's) until a PROXY protocol header or a
 * forwarded header named it. Its per-address counts move from <t>->key to <key> if <key>'s
 * own limits allow one more connection (the global counts do not change). Returns NULL
 * (<t>->key is <key> now; nothing changes for an equal key or a ticket that is not
 * pending), or "max_connections_per_ip" / "max_pending_per_ip" with that limit in <limit>,
 * or "out of memory" (limit 0): <t> then counts where it did, and the caller closes. */
const char *conncount_rekey(struct conncount *cc, const struct conncount_limits *limits,
                            struct conncount_ticket *t, const struct conncount_key *key,
                            unsigned *limit);

/* A client's route count is given back (its target is gone) while its socket still
 * counts until conncount_remove: CLIENT becomes CLOSING. Other states: nothing. */
void conncount_leave_route(struct conncount *cc, struct conncount_ticket *t);

/* Forgets the connection of <t>, whatever its state; <t> is NONE afterwards. */
void conncount_remove(struct conncount *cc, struct conncount_ticket *t);

/* Connections counted from <key>'s address now, all and pending (0 if none). */
unsigned conncount_of_ip(const struct conncount *cc, const struct conncount_key *key);
unsigned conncount_pending_of_ip(const struct conncount *cc, const struct conncount_key *key);

/* The descriptors kept free for what admitted connections still open (a target, a
 * file): <reserve> or 1 % of <nofile>, the larger, but never more than half of what
 * <in_use> leaves free (and at least 1); 0 when <reserve> is 0 or <nofile> is 0 (no
 * limit). */
unsigned conncount_fd_reserve(uint64_t nofile, unsigned in_use, unsigned reserve);

/* How many connections fit in <nofile> descriptors when the daemon itself holds
 * <in_use> and <reserve> (from conncount_fd_reserve) stay free: two each, its own
 * socket and its target's or a file's. At least 1; 0 (no limit) when <reserve> is 0. */
unsigned conncount_fd_budget(uint64_t nofile, unsigned in_use, unsigned reserve);

#endif
