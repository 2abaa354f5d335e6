/*
 * conncount.h - the counts behind the connection limits: WebSocket clients in all, per
 * route path and per client address. Pure: no locks, no I/O; workers.c holds the one
 * mutex that makes a check and its count a single step across threads.
 */
#ifndef WSB_CONNCOUNT_H
#define WSB_CONNCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The limits a new client is checked against; 0 means no limit. */
struct conncount_limits {
    unsigned max_connections;        /* clients in all */
    unsigned max_connections_per_ip; /* clients from one address */
    unsigned route_max_connections;  /* clients of the route's path */
};

/* Clients of one route path. Keyed by path, not by a position in a config, so that
 * counts carry over a reload. */
struct conncount_route {
    char *path; /* owned */
    unsigned n; /* live clients; the entry is removed at 0 */
};

/* One slot of the address table (open addressing, linear probing). */
struct conncount_ip {
    unsigned char family;   /* 0: free; AF_INET (IPv4-mapped IPv6 included) or AF_INET6 */
    unsigned char addr[16]; /* 4 or 16 bytes used, the rest zero */
    unsigned n;             /* live clients from this address, > 0 in a used slot */
};

struct conncount {
    unsigned clients;                /* counted clients in all */
    struct conncount_route *routes;  /* a short list: a config has few routes */
    size_t n_routes, cap_routes;
    struct conncount_ip *ips;        /* hash table; NULL until the first address */
    size_t n_ips;                    /* used slots (distinct addresses) */
    size_t cap_ips;                  /* slots, a power of two; kept at most half full */
};

/* Makes <cc> empty; it allocates nothing until the first count. */
void conncount_init(struct conncount *cc);

/* Frees what <cc> holds; it is empty (and reusable) afterwards. */
void conncount_reset(struct conncount *cc);

/* Checks <limits> for one more client from <sa> on route path <path> and, if none is
 * reached, counts it. Returns NULL (counted: match it with one conncount_remove), or the
 * name of the limit reached ("max_connections", "max_connections_per_ip", "route
 * max_connections") with its value in <limit>, or "out of memory" (limit 0); nothing is
 * counted then. An address of another family than IPv4/IPv6 is not counted per address. */
const char *conncount_add(struct conncount *cc, const struct conncount_limits *limits,
                          const char *path, const struct sockaddr *sa, unsigned *limit);

/* Forgets one client counted by conncount_add with the same <path> and <sa>. */
void conncount_remove(struct conncount *cc, const char *path, const struct sockaddr *sa);

/* Clients counted from <sa>'s address now (0 if none). */
unsigned conncount_of_ip(const struct conncount *cc, const struct sockaddr *sa);

#endif
