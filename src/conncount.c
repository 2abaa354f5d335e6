/*
 * conncount.c - counts of live WebSocket clients: in all, per route path (a short list)
 * and per client address (an open-addressing hash table with linear probing and
 * backward-shift deletion, so that many distinct addresses cost O(1) each per connect
 * and close). No locks here: the caller serialises.
 */
#include "conncount.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CONNCOUNT_IPS_MIN 64 /* first table size; a power of two */

void conncount_init(struct conncount *cc)
{
    memset(cc, 0, sizeof(*cc));
}

void conncount_reset(struct conncount *cc)
{
    for (size_t i = 0; i < cc->n_routes; i++)
        free(cc->routes[i].path);
    free(cc->routes);
    free(cc->ips);
    conncount_init(cc);
}

/* The key of <sa>: IPv4-mapped IPv6 addresses (a dual-stack listener) count with their
 * IPv4 address. Returns false for other families. */
static bool conncount_ip_key(const struct sockaddr *sa, struct conncount_ip *key)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const unsigned char *a6;

    memset(key, 0, sizeof(*key));
    if (sa->sa_family == AF_INET) {
        key->family = AF_INET;
        memcpy(key->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
        key->family = AF_INET;
        memcpy(key->addr, a6 + 12, 4);
    } else {
        key->family = AF_INET6;
        memcpy(key->addr, a6, 16);
    }
    return true;
}

/* FNV-1a over family and address, folded so the low bits (the slot) see every byte. */
static size_t conncount_ip_hash(const struct conncount_ip *key)
{
    uint64_t h = 14695981039346656037ull;

    h = (h ^ key->family) * 1099511628211ull;
    for (size_t i = 0; i < sizeof(key->addr); i++)
        h = (h ^ key->addr[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 32));
}

static bool conncount_ip_same(const struct conncount_ip *a, const struct conncount_ip *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The slot holding <key>, or the free slot where it would go. The table is never full. */
static size_t conncount_ip_slot(const struct conncount_ip *ips, size_t cap,
                                const struct conncount_ip *key)
{
    size_t i = conncount_ip_hash(key) & (cap - 1);

    while (ips[i].family != 0 && !conncount_ip_same(&ips[i], key))
        i = (i + 1) & (cap - 1);
    return i;
}

/* The entry of <key>, or NULL. */
static struct conncount_ip *conncount_ip_find(const struct conncount *cc,
                                             const struct conncount_ip *key)
{
    size_t i;

    if (cc->ips == NULL)
        return NULL;
    i = conncount_ip_slot(cc->ips, cc->cap_ips, key);
    return cc->ips[i].family != 0 ? &cc->ips[i] : NULL;
}

/* Makes room for one more address: doubles the table when it would pass half full. */
static int conncount_ip_grow(struct conncount *cc)
{
    size_t cap = cc->cap_ips == 0 ? CONNCOUNT_IPS_MIN : cc->cap_ips * 2;
    struct conncount_ip *ips;

    if ((cc->n_ips + 1) * 2 <= cc->cap_ips)
        return 0;
    ips = calloc(cap, sizeof(*ips));
    if (ips == NULL)
        return -1;
    for (size_t i = 0; i < cc->cap_ips; i++)
        if (cc->ips[i].family != 0)
            ips[conncount_ip_slot(ips, cap, &cc->ips[i])] = cc->ips[i];
    free(cc->ips);
    cc->ips = ips;
    cc->cap_ips = cap;
    return 0;
}

/* Empties slot <i> and moves later entries of its probe run back, so that every entry
 * stays reachable from its home slot without tombstones. */
static void conncount_ip_delete(struct conncount *cc, size_t i)
{
    size_t mask = cc->cap_ips - 1, j = i;

    for (;;) {
        cc->ips[i].family = 0;
        for (;;) {
            size_t home;

            j = (j + 1) & mask;
            if (cc->ips[j].family == 0) {
                cc->n_ips--;
                return;
            }
            home = conncount_ip_hash(&cc->ips[j]) & mask;
            /* <j> may fill the hole at <i> unless its home lies cyclically in (i, j]. */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        cc->ips[i] = cc->ips[j];
        i = j;
    }
}

/* The count entry of route path <path>, or NULL. */
static struct conncount_route *conncount_route_find(const struct conncount *cc,
                                                    const char *path)
{
    for (size_t i = 0; i < cc->n_routes; i++)
        if (strcmp(cc->routes[i].path, path) == 0)
            return &cc->routes[i];
    return NULL;
}

/* A new entry for <path> with count 0, or NULL if memory ran out. */
static struct conncount_route *conncount_route_new(struct conncount *cc, const char *path)
{
    struct conncount_route *rc;

    if (cc->n_routes == cc->cap_routes) {
        size_t cap = cc->cap_routes == 0 ? 8 : cc->cap_routes * 2;
        struct conncount_route *grown = realloc(cc->routes, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        cc->routes = grown;
        cc->cap_routes = cap;
    }
    rc = &cc->routes[cc->n_routes];
    rc->path = strdup(path);
    if (rc->path == NULL)
        return NULL;
    rc->n = 0;
    cc->n_routes++;
    return rc;
}

const char *conncount_add(struct conncount *cc, const struct conncount_limits *limits,
                          const char *path, const struct sockaddr *sa, unsigned *limit)
{
    struct conncount_route *rc = conncount_route_find(cc, path);
    struct conncount_ip key, *ip = NULL;
    bool keyed = conncount_ip_key(sa, &key);

    if (keyed)
        ip = conncount_ip_find(cc, &key);
    if (limits->max_connections != 0 && cc->clients >= limits->max_connections) {
        *limit = limits->max_connections;
        return "max_connections";
    }
    if (limits->max_connections_per_ip != 0 && ip != NULL &&
        ip->n >= limits->max_connections_per_ip) {
        *limit = limits->max_connections_per_ip;
        return "max_connections_per_ip";
    }
    if (limits->route_max_connections != 0 && rc != NULL &&
        rc->n >= limits->route_max_connections) {
        *limit = limits->route_max_connections;
        return "route max_connections";
    }
    *limit = 0;
    /* Everything that can fail comes before the first count changes. */
    if (keyed && ip == NULL && conncount_ip_grow(cc) != 0)
        return "out of memory";
    if (rc == NULL && (rc = conncount_route_new(cc, path)) == NULL)
        return "out of memory";
    if (keyed && ip == NULL) {
        ip = &cc->ips[conncount_ip_slot(cc->ips, cc->cap_ips, &key)];
        *ip = key;
        cc->n_ips++;
    }
    if (ip != NULL)
        ip->n++;
    rc->n++;
    cc->clients++;
    return NULL;
}

void conncount_remove(struct conncount *cc, const char *path, const struct sockaddr *sa)
{
    struct conncount_route *rc = conncount_route_find(cc, path);
    struct conncount_ip key, *ip = NULL;

    if (conncount_ip_key(sa, &key))
        ip = conncount_ip_find(cc, &key);
    if (ip != NULL && --ip->n == 0)
        conncount_ip_delete(cc, (size_t)(ip - cc->ips));
    if (rc != NULL && --rc->n == 0) {
        free(rc->path);
        *rc = cc->routes[--cc->n_routes]; /* order does not matter: swap the last in */
    }
    if (cc->clients > 0)
        cc->clients--;
}

unsigned conncount_of_ip(const struct conncount *cc, const struct sockaddr *sa)
{
    struct conncount_ip key;
    const struct conncount_ip *ip;

    if (!conncount_ip_key(sa, &key))
        return 0;
    ip = conncount_ip_find(cc, &key);
    return ip != NULL ? ip->n : 0;
}
