/*
 * conncount.c - counts of live connections: in all, per route path (a short list) and
 * per client address (an open-addressing hash table with linear probing and
 * backward-shift deletion, so that many distinct addresses cost O(1) each per accept and
 * close). Slots are found by SipHash under a secret key: peers choose their addresses
 * (any of a /64's 2^64, or of many IPv4 ones), and with a public hash they could pile
 * them into one probe run walked under the shared mutex. No locks here: the caller
 * serialises.
 */
#include "conncount.h"

#include <assert.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define CONNCOUNT_IPS_MIN 64     /* first table size; a power of two */
#define CONNCOUNT_FDS_PER_CONN 2 /* its socket, and its target's or a served file's */

/* The hash covers the key's bytes as they are: no padding may hide in it. */
static_assert(sizeof(struct conncount_key) == 17, "conncount_key has no padding");

void conncount_init(struct conncount *cc, const uint8_t hash_key[SIPHASH_KEY_BYTES])
{
    memset(cc, 0, sizeof(*cc));
    memcpy(cc->hash_key, hash_key, SIPHASH_KEY_BYTES);
}

void conncount_reset(struct conncount *cc)
{
    uint8_t key[SIPHASH_KEY_BYTES];

    for (size_t i = 0; i < cc->n_routes; i++)
        free(cc->routes[i].path);
    free(cc->routes);
    free(cc->ips);
    memcpy(key, cc->hash_key, sizeof(key));
    conncount_init(cc, key);
}

bool conncount_key_of(const struct sockaddr *sa, unsigned prefix_v6, struct conncount_key *key)
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
        /* A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d. */
        key->family = AF_INET;
        memcpy(key->addr, a6 + 12, 4);
        return true;
    }
    if (prefix_v6 == 0 || prefix_v6 > 128)
        prefix_v6 = 128;
    key->family = AF_INET6;
    memcpy(key->addr, a6, prefix_v6 / 8);
    if (prefix_v6 % 8 != 0)
        key->addr[prefix_v6 / 8] = a6[prefix_v6 / 8] & (unsigned char)(0xff << (8 - prefix_v6 % 8));
    return true;
}

static size_t conncount_ip_hash(const struct conncount *cc, const struct conncount_key *key)
{
    return (size_t)siphash24(cc->hash_key, key, sizeof(*key));
}

static bool conncount_key_same(const struct conncount_key *a, const struct conncount_key *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The slot of <ips> (<cap> slots) holding <key>, or the free slot where it would go. The
 * table is never full. */
static size_t conncount_ip_slot(const struct conncount *cc, const struct conncount_ip *ips,
                                size_t cap, const struct conncount_key *key)
{
    size_t i = conncount_ip_hash(cc, key) & (cap - 1);

    while (ips[i].key.family != 0 && !conncount_key_same(&ips[i].key, key))
        i = (i + 1) & (cap - 1);
    return i;
}

/* The entry of <key>, or NULL. */
static struct conncount_ip *conncount_ip_find(const struct conncount *cc,
                                             const struct conncount_key *key)
{
    size_t i;

    if (cc->ips == NULL || key->family == 0)
        return NULL;
    i = conncount_ip_slot(cc, cc->ips, cc->cap_ips, key);
    return cc->ips[i].key.family != 0 ? &cc->ips[i] : NULL;
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
        if (cc->ips[i].key.family != 0)
            ips[conncount_ip_slot(cc, ips, cap, &cc->ips[i].key)] = cc->ips[i];
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
        cc->ips[i].key.family = 0;
        for (;;) {
            size_t home;

            j = (j + 1) & mask;
            if (cc->ips[j].key.family == 0) {
                cc->n_ips--;
                return;
            }
            home = conncount_ip_hash(cc, &cc->ips[j].key) & mask;
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
                          struct conncount_ticket *t, unsigned *limit)
{
    struct conncount_ip *ip = conncount_ip_find(cc, &t->key);

    /* The address's own limits first: they name the cause when one address floods. */
    if (limits->max_connections_per_ip != 0 && ip != NULL &&
        ip->n >= limits->max_connections_per_ip) {
        *limit = limits->max_connections_per_ip;
        return "max_connections_per_ip";
    }
    if (limits->max_pending_per_ip != 0 && ip != NULL &&
        ip->pending >= limits->max_pending_per_ip) {
        *limit = limits->max_pending_per_ip;
        return "max_pending_per_ip";
    }
    if (limits->max_connections != 0 && cc->conns >= limits->max_connections) {
        *limit = limits->max_connections;
        return "max_connections";
    }
    if (limits->max_by_fds != 0 && cc->conns >= limits->max_by_fds) {
        *limit = limits->max_by_fds;
        return "fd_reserve";
    }
    *limit = 0;
    if (t->key.family != 0 && ip == NULL) {
        if (conncount_ip_grow(cc) != 0)
            return "out of memory";
        ip = &cc->ips[conncount_ip_slot(cc, cc->ips, cc->cap_ips, &t->key)];
        *ip = (struct conncount_ip){.key = t->key};
        cc->n_ips++;
    }
    if (ip != NULL) {
        ip->n++;
        ip->pending++;
    }
    cc->conns++;
    cc->pending++;
    t->state = CONNCOUNT_PENDING;
    t->path = NULL;
    return NULL;
}

const char *conncount_upgrade(struct conncount *cc, unsigned route_max, const char *path,
                              struct conncount_ticket *t, unsigned *limit)
{
    static const struct conncount_limits none = {0};
    struct conncount_route *rc = conncount_route_find(cc, path);
    struct conncount_ip *ip;
    const char *reached;

    if (t->state == CONNCOUNT_NONE && (reached = conncount_add(cc, &none, t, limit)) != NULL)
        return reached;
    if (route_max != 0 && rc != NULL && rc->n >= route_max) {
        *limit = route_max;
        return "route max_connections";
    }
    *limit = 0;
    if (rc == NULL && (rc = conncount_route_new(cc, path)) == NULL)
        return "out of memory";
    /* Only a pending connection leaves the pending counts: one that left a route and is
     * admitted again (a reload during its password check) already did. */
    if (t->state == CONNCOUNT_PENDING) {
        if ((ip = conncount_ip_find(cc, &t->key)) != NULL && ip->pending > 0)
            ip->pending--;
        if (cc->pending > 0)
            cc->pending--;
    }
    rc->n++;
    cc->clients++;
    t->state = CONNCOUNT_CLIENT;
    t->path = rc->path;
    return NULL;
}

void conncount_leave_route(struct conncount *cc, struct conncount_ticket *t)
{
    if (t->state != CONNCOUNT_CLIENT)
        return;
    for (size_t i = 0; i < cc->n_routes; i++) {
        struct conncount_route *rc = &cc->routes[i];

        if (rc->path != t->path)
            continue;
        if (--rc->n == 0) {
            free(rc->path);
            *rc = cc->routes[--cc->n_routes]; /* order does not matter: swap the last in */
        }
        break;
    }
    if (cc->clients > 0)
        cc->clients--;
    t->state = CONNCOUNT_CLOSING;
    t->path = NULL;
}

const char *conncount_rekey(struct conncount *cc, const struct conncount_limits *limits,
                            struct conncount_ticket *t, const struct conncount_key *key,
                            unsigned *limit)
{
    struct conncount_ip *ip, *old;

    *limit = 0;
    if (t->state != CONNCOUNT_PENDING ||
        (key->family == t->key.family && memcmp(key->addr, t->key.addr, sizeof(key->addr)) == 0))
        return NULL;
    ip = conncount_ip_find(cc, key);
    if (limits->max_connections_per_ip != 0 && ip != NULL &&
        ip->n >= limits->max_connections_per_ip) {
        *limit = limits->max_connections_per_ip;
        return "max_connections_per_ip";
    }
    if (limits->max_pending_per_ip != 0 && ip != NULL &&
        ip->pending >= limits->max_pending_per_ip) {
        *limit = limits->max_pending_per_ip;
        return "max_pending_per_ip";
    }
    if (key->family != 0 && ip == NULL) {
        /* Grown before any pointer into the table is kept: growing moves the entries. */
        if (conncount_ip_grow(cc) != 0)
            return "out of memory";
        ip = &cc->ips[conncount_ip_slot(cc, cc->ips, cc->cap_ips, key)];
        *ip = (struct conncount_ip){.key = *key};
        cc->n_ips++;
    }
    if (ip != NULL) {
        ip->n++;
        ip->pending++;
    }
    /* Deleting the old entry may shift others (the new one among them): done with it. */
    if ((old = conncount_ip_find(cc, &t->key)) != NULL) {
        if (old->pending > 0)
            old->pending--;
        if (--old->n == 0)
            conncount_ip_delete(cc, (size_t)(old - cc->ips));
    }
    t->key = *key;
    return NULL;
}

void conncount_remove(struct conncount *cc, struct conncount_ticket *t)
{
    struct conncount_ip *ip;
    bool pending = t->state == CONNCOUNT_PENDING;

    if (t->state == CONNCOUNT_NONE)
        return;
    conncount_leave_route(cc, t);
    if ((ip = conncount_ip_find(cc, &t->key)) != NULL) {
        if (pending && ip->pending > 0)
            ip->pending--;
        if (--ip->n == 0)
            conncount_ip_delete(cc, (size_t)(ip - cc->ips));
    }
    if (pending && cc->pending > 0)
        cc->pending--;
    if (cc->conns > 0)
        cc->conns--;
    t->state = CONNCOUNT_NONE;
}

unsigned conncount_of_ip(const struct conncount *cc, const struct conncount_key *key)
{
    const struct conncount_ip *ip = conncount_ip_find(cc, key);

    return ip != NULL ? ip->n : 0;
}

unsigned conncount_pending_of_ip(const struct conncount *cc, const struct conncount_key *key)
{
    const struct conncount_ip *ip = conncount_ip_find(cc, key);

    return ip != NULL ? ip->pending : 0;
}

unsigned conncount_fd_reserve(uint64_t nofile, unsigned in_use, unsigned reserve)
{
    uint64_t free_fds = nofile > in_use ? nofile - in_use : 0;
    uint64_t r = reserve;

    if (reserve == 0 || nofile == 0)
        return 0;
    if (nofile / 100 > r)
        r = nofile / 100;
    /* A small limit still leaves half its free descriptors to connections. */
    if (r > free_fds / 2)
        r = free_fds / 2;
    return r > 0 ? (unsigned)r : 1;
}

unsigned conncount_fd_budget(uint64_t nofile, unsigned in_use, unsigned reserve)
{
    uint64_t n;

    if (reserve == 0 || nofile == 0)
        return 0;
    if (nofile <= (uint64_t)in_use + reserve + CONNCOUNT_FDS_PER_CONN)
        return 1;
    n = (nofile - in_use - reserve) / CONNCOUNT_FDS_PER_CONN;
    return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}
