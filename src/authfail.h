/*
 * authfail.h - failed logins by client address, no I/O and no clock: after too many
 * wrong passwords within a window, an address is blocked for a while, and the caller
 * answers 429 without hashing. A bounded table: when it is full, the entry touched
 * longest ago is dropped. Not thread-safe: the caller holds a lock around every call.
 */
#ifndef WSB_AUTHFAIL_H
#define WSB_AUTHFAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define AUTHFAIL_KEY_BYTES 16    /* SipHash key */
#define AUTHFAIL_NONE UINT32_MAX /* no entry */

struct authfail_limits {
    unsigned max_failures; /* failures within window_ms that block an address, >= 1 */
    uint64_t window_ms;    /* how long failures are remembered together */
    uint64_t block_ms;     /* how long a blocked address stays blocked */
    size_t max_entries;    /* addresses remembered at once, >= 1 */
};

/* A minute's 10 failures block for a minute; 4096 addresses remembered. */
#define AUTHFAIL_DEFAULT_LIMITS                                                                    \
    ((struct authfail_limits){                                                                     \
        .max_failures = 10, .window_ms = 60000, .block_ms = 60000, .max_entries = 4096})

struct authfail_entry {
    unsigned char addr[9];     /* family tag, then 4 bytes of IPv4 or the IPv6 /64 */
    uint64_t window_start_ms;  /* when the failures counted now began */
    unsigned failures;         /* within the window */
    uint64_t blocked_until_ms; /* 0: not blocked */
    uint32_t hash_next;        /* next entry in the same bucket; AUTHFAIL_NONE: last */
    uint32_t newer, older;     /* neighbours by last use; AUTHFAIL_NONE at the ends */
};

struct authfail {
    struct authfail_limits limits;
    struct authfail_entry *entries; /* limits.max_entries of them, n used */
    size_t n;
    uint32_t *buckets;                     /* n_buckets heads; AUTHFAIL_NONE: empty */
    size_t n_buckets;                      /* a power of two */
    uint32_t newest, oldest;               /* ends of the use order; AUTHFAIL_NONE when empty */
    unsigned char key[AUTHFAIL_KEY_BYTES]; /* SipHash key: addresses chosen by a client
                                            * cannot pile up in one bucket */
};

/* A new, empty table under <limits> (NULL: AUTHFAIL_DEFAULT_LIMITS) hashing with <key>
 * (AUTHFAIL_KEY_BYTES random bytes from the caller). Returns NULL if memory ran out or a
 * limit is 0. */
struct authfail *authfail_new(const struct authfail_limits *limits,
                              const unsigned char key[AUTHFAIL_KEY_BYTES]);

/* Frees <t>; NULL is fine. */
void authfail_free(struct authfail *t);

/* How much longer, in ms, a client at <sa> is blocked at time <now_ms> (any monotonic
 * clock, the same for every call): 0 if it may try. IPv4-mapped IPv6 addresses count as
 * IPv4; IPv6 addresses count by their /64, which one host usually holds whole. Other
 * families are never blocked. */
uint64_t authfail_blocked_ms(struct authfail *t, const struct sockaddr *sa, uint64_t now_ms);

/* Counts one failed login of a client at <sa> at <now_ms>: the max_failures-th within
 * window_ms blocks it for block_ms. May drop the entry used longest ago to make room. */
void authfail_record(struct authfail *t, const struct sockaddr *sa, uint64_t now_ms);

/* SipHash-2-4 of <len> bytes at <in> under <key>. Exported for tests. */
uint64_t authfail_siphash(const unsigned char key[AUTHFAIL_KEY_BYTES], const unsigned char *in,
                          size_t len);

#endif
