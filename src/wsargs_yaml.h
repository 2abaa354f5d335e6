/*
 * wsargs_yaml.h - a command line read by wsargs.c, written as the YAML of a route file.
 */
#ifndef WSB_WSARGS_YAML_H
#define WSB_WSARGS_YAML_H

#include <stddef.h>

#include "wsargs.h"

/* Writes <w> (from a successful wsargs_parse()) as the YAML of a route file into <out>
 * (at most <cap> bytes, NUL-terminated when <cap> > 0) and returns the length it needed,
 * as snprintf() does; the text does not depend on <cap>. Every path is absolute (made so
 * the way websockify resolves it), and every scalar from the command line is
 * double-quoted and escaped. The keys, in this order: listen (a list of one: "host:port",
 * or a mapping of address, mode and tls: cert, key, plain: allow, verify_client, ca,
 * min_version, ciphers), web_root, heartbeat (interval, timeout), log (target, file,
 * level, traffic), routes (one route: path, then target, or tokens and token_from: host;
 * then origins and allow_no_origin: false). Options accepted without an effect are
 * comments at the top. */
size_t wsargs_yaml_write(const struct wsargs *w, char *out, size_t cap);

/* Writes <len> bytes at <s> (valid UTF-8) as a YAML double-quoted scalar, quotes
 * included, into <out> (at most <cap> bytes, NUL-terminated when <cap> > 0); returns the
 * length it needed. Escaped: '"', '\', C0 and C1 controls, DEL, U+2028, U+2029 (line
 * breaks to YAML 1.1), U+FEFF, U+FFFE and U+FFFF (refused raw by libyaml), so that the
 * scalar reads back as exactly <s>. */
size_t wsargs_yaml_quote(const char *s, size_t len, char *out, size_t cap);

#endif
