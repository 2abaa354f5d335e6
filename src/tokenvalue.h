/*
 * tokenvalue.h - the value a token has in a shared store (Redis), read as websockify's
 * TokenRedis reads it, no I/O: plain "host:port", or JSON {"host": "host:port"}; and,
 * beyond websockify, {"host": "h", "port": 5900}, {"unix": "/path"} and the token
 * file's "unix_socket:/path". Values are secrets' neighbours: nothing here logs.
 */
#ifndef WSB_TOKENVALUE_H
#define WSB_TOKENVALUE_H

#include <stddef.h>

#include "addr.h"

#define TOKENVALUE_MAX 4096 /* bytes of a value */

/* Reads the <len> bytes at <value> (any bytes) into target <out>: a host and port or a
 * Unix socket (never "echo", never tls://). Leading and trailing ASCII whitespace is
 * stripped. A value starting with "{" is strict JSON (jsonmini.c): an object whose
 * "host" is "HOST:PORT", or "HOST" with "port" (an integer, or a string of digits), or
 * whose "unix" is an absolute path; other members are ignored. Anything else is
 * "unix_socket:/PATH", "HOST:PORT" or "[V6]:PORT", hosts by addr.c's rules. Returns 0,
 * or -1 with a short static reason in *<why>. */
int tokenvalue_parse(const char *value, size_t len, struct addr *out, const char **why);

#endif
