/*
 * authfail.c - failed logins per client address in a bounded table: a keyed hash
 * (SipHash-2-4) finds an address's entry, a list by last use finds the one to drop when
 * the table is full. Time is passed in; nothing here locks, sleeps or reads a clock.
 */
#include "authfail.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define AUTHFAIL_TAG_V4 4
#define AUTHFAIL_TAG_V6 6

static const unsigned char authfail_v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* SipHash-2-4 (Aumasson and Bernstein, 2012) ---------------------------------------- */

static uint64_t authfail_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t authfail_load64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void authfail_sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = authfail_rotl(v[1], 13) ^ v[0];
    v[0] = authfail_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = authfail_rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = authfail_rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = authfail_rotl(v[1], 17) ^ v[2];
    v[2] = authfail_rotl(v[2], 32);
}

/* SipHash-2-4 of <len> bytes at <in> under <key>: see authfail.h. */
uint64_t authfail_siphash(const unsigned char key[AUTHFAIL_KEY_BYTES], const unsigned char *in,
                          size_t len)
{
    uint64_t k0 = authfail_load64(key), k1 = authfail_load64(key + 8);
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                     k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
    uint64_t b = (uint64_t)len << 56;
    size_t i;

    for (i = 0; i + 8 <= len; i += 8) {
        uint64_t m = authfail_load64(in + i);
        v[3] ^= m;
        authfail_sipround(v);
        authfail_sipround(v);
        v[0] ^= m;
    }
    for (size_t j = 0; i + j < len; j++)
        b |= (uint64_t)in[i + j] << (8 * j);
    v[3] ^= b;
    authfail_sipround(v);
    authfail_sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        authfail_sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The table ------------------------------------------------------------------------ */

/* The key of a client at <sa> into <addr>: a family tag, then IPv4's 4 bytes or the
 * first 8 of IPv6. Returns false for a family that is not counted. */
static bool authfail_addr(const struct sockaddr *sa, unsigned char addr[9])
{
    memset(addr, 0, 9);
    if (sa != NULL && sa->sa_family == AF_INET) {
        addr[0] = AUTHFAIL_TAG_V4;
        memcpy(addr + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa != NULL && sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, authfail_v4_mapped, sizeof(authfail_v4_mapped)) == 0) {
            addr[0] = AUTHFAIL_TAG_V4;
            memcpy(addr + 1, a + 12, 4);
        } else {
            /* One host usually holds a whole /64: counting its addresses one by one would
             * give it 2^64 tries. */
            addr[0] = AUTHFAIL_TAG_V6;
            memcpy(addr + 1, a, 8);
        }
        return true;
    }
    return false;
}

static size_t authfail_bucket(const struct authfail *t, const unsigned char addr[9])
{
    return (size_t)authfail_siphash(t->key, addr, 9) & (t->n_buckets - 1);
}

/* Entry of <addr>, or AUTHFAIL_NONE. */
static uint32_t authfail_find(const struct authfail *t, const unsigned char addr[9])
{
    uint32_t i = t->buckets[authfail_bucket(t, addr)];

    while (i != AUTHFAIL_NONE && memcmp(t->entries[i].addr, addr, 9) != 0)
        i = t->entries[i].hash_next;
    return i;
}

/* Takes entry <i> out of the use order. */
static void authfail_unlink(struct authfail *t, uint32_t i)
{
    struct authfail_entry *e = &t->entries[i];

    if (e->newer != AUTHFAIL_NONE)
        t->entries[e->newer].older = e->older;
    else
        t->newest = e->older;
    if (e->older != AUTHFAIL_NONE)
        t->entries[e->older].newer = e->newer;
    else
        t->oldest = e->newer;
    e->newer = e->older = AUTHFAIL_NONE;
}

/* Puts entry <i> (not in the use order) at its newest end. */
static void authfail_push_newest(struct authfail *t, uint32_t i)
{
    struct authfail_entry *e = &t->entries[i];

    e->newer = AUTHFAIL_NONE;
    e->older = t->newest;
    if (t->newest != AUTHFAIL_NONE)
        t->entries[t->newest].newer = i;
    t->newest = i;
    if (t->oldest == AUTHFAIL_NONE)
        t->oldest = i;
}

/* Takes entry <i> out of its bucket's chain. */
static void authfail_unhash(struct authfail *t, uint32_t i)
{
    uint32_t *p = &t->buckets[authfail_bucket(t, t->entries[i].addr)];

    while (*p != i)
        p = &t->entries[*p].hash_next;
    *p = t->entries[i].hash_next;
}

/* A new table: see authfail.h. */
struct authfail *authfail_new(const struct authfail_limits *limits,
                              const unsigned char key[AUTHFAIL_KEY_BYTES])
{
    struct authfail_limits l = limits != NULL ? *limits : AUTHFAIL_DEFAULT_LIMITS;
    struct authfail *t;

    if (l.max_failures == 0 || l.max_entries == 0 || l.max_entries >= AUTHFAIL_NONE)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->limits = l;
    t->n_buckets = 1;
    while (t->n_buckets < l.max_entries)
        t->n_buckets *= 2;
    t->entries = calloc(l.max_entries, sizeof(*t->entries));
    t->buckets = malloc(t->n_buckets * sizeof(*t->buckets));
    if (t->entries == NULL || t->buckets == NULL) {
        authfail_free(t);
        return NULL;
    }
    for (size_t i = 0; i < t->n_buckets; i++)
        t->buckets[i] = AUTHFAIL_NONE;
    t->newest = t->oldest = AUTHFAIL_NONE;
    memcpy(t->key, key, AUTHFAIL_KEY_BYTES);
    return t;
}

/* Frees <t>; NULL is fine. */
void authfail_free(struct authfail *t)
{
    if (t == NULL)
        return;
    free(t->entries);
    free(t->buckets);
    free(t);
}

/* Milliseconds <sa> stays blocked at <now_ms>: see authfail.h. */
uint64_t authfail_blocked_ms(struct authfail *t, const struct sockaddr *sa, uint64_t now_ms)
{
    unsigned char addr[9];
    uint32_t i;

    if (!authfail_addr(sa, addr) || (i = authfail_find(t, addr)) == AUTHFAIL_NONE)
        return 0;
    if (t->entries[i].blocked_until_ms <= now_ms)
        return 0;
    /* An address that keeps trying while blocked stays among the newest: a flood of new
     * addresses must not push it out and so lift its block. */
    authfail_unlink(t, i);
    authfail_push_newest(t, i);
    return t->entries[i].blocked_until_ms - now_ms;
}

/* Counts a failure of <sa> at <now_ms>: see authfail.h. */
void authfail_record(struct authfail *t, const struct sockaddr *sa, uint64_t now_ms)
{
    unsigned char addr[9];
    struct authfail_entry *e;
    uint32_t i;

    if (!authfail_addr(sa, addr))
        return;
    i = authfail_find(t, addr);
    if (i == AUTHFAIL_NONE) {
        if (t->n < t->limits.max_entries) {
            i = (uint32_t)t->n++;
        } else {
            i = t->oldest;
            authfail_unlink(t, i);
            authfail_unhash(t, i);
        }
        e = &t->entries[i];
        memset(e, 0, sizeof(*e));
        memcpy(e->addr, addr, sizeof(addr));
        e->window_start_ms = now_ms;
        e->hash_next = t->buckets[authfail_bucket(t, addr)];
        t->buckets[authfail_bucket(t, addr)] = i;
    } else {
        authfail_unlink(t, i);
    }
    authfail_push_newest(t, i);
    e = &t->entries[i];
    if (now_ms - e->window_start_ms >= t->limits.window_ms || now_ms < e->window_start_ms) {
        e->window_start_ms = now_ms;
        e->failures = 0;
    }
    if (++e->failures >= t->limits.max_failures) {
        e->blocked_until_ms = now_ms + t->limits.block_ms;
        e->window_start_ms = now_ms;
        e->failures = 0;
    }
}
