/*
 * redisurl.h - where a token route's Redis is, as the route file writes it, no I/O:
 *   redis://[:PASSWORD@]HOST[:PORT][/DB][?prefix=PREFIX]
 *   redis+unix://[:PASSWORD@]/PATH[?db=DB&prefix=PREFIX]
 * A token T is looked up as the value of key PREFIX + T in database DB.
 */
#ifndef WSB_REDISURL_H
#define WSB_REDISURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define REDISURL_PORT_DEFAULT 6379
#define REDISURL_DB_MAX 1000000   /* a database number; Redis' own default limit is 16 */
#define REDISURL_PREFIX_MAX 256   /* bytes of a key prefix, once decoded */
#define REDISURL_PASSWORD_MAX 256 /* bytes of a password, once decoded */

struct redisurl {
    bool is_unix;                             /* path is the server, else host and port */
    char host[ADDR_HOST_MAX + 1];             /* a name or an IP literal, no brackets */
    uint16_t port;                            /* 1..65535 (default 6379) */
    char path[ADDR_UNIX_PATH_MAX + 1];        /* redis+unix: an absolute socket path */
    unsigned db;                              /* 0..REDISURL_DB_MAX (default 0) */
    char prefix[REDISURL_PREFIX_MAX + 1];     /* key prefix, may be "" */
    char password[REDISURL_PASSWORD_MAX + 1]; /* "" : no AUTH */
};

/* True if <s> starts like a Redis URL ("redis://" or "redis+unix://"): a "tokens" value
 * that is not a token file name. */
bool redisurl_is_redis(const char *s);

/* Parses NUL-terminated <s> into <out>. In the password and in query values "%XX" is a
 * byte (a "%" without two hex digits is refused, as is a decoded NUL); the only query
 * fields are "prefix" and (redis+unix) "db", each at most once. Returns 0, or -1 with a
 * short reason in <err> (<err_len> bytes) that never quotes the password. */
int redisurl_parse(const char *s, struct redisurl *out, char *err, size_t err_len);

/* Writes <u> for log lines, without its password ("redis://127.0.0.1:6379/0?prefix=t:"),
 * into <out> (<cap> bytes, NUL-terminated when <cap> > 0); returns the length needed. */
size_t redisurl_format(const struct redisurl *u, char *out, size_t cap);

#endif
