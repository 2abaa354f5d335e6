/*
 * tokenreq.h - the token a request carries for a token route, no I/O: from the query
 * ("?token=", read as websockify reads it), from the last path segment after a prefix
 * route's prefix, or from the Host header (whole, as websockify's --host-token, or its
 * first label). Which token it is, is tokenfile.c's to look up; tokens are secrets, so
 * nothing here logs and no result holds anything but the token itself.
 */
#ifndef WSB_TOKENREQ_H
#define WSB_TOKENREQ_H

#include <stddef.h>

#define TOKENREQ_TOKEN_MAX 4096 /* bytes of a token: a signed one (JWT) is long; a token file
                                * holds shorter ones (TOKENFILE_TOKEN_MAX) */

/* Where a route's token comes from ("token_from:"). */
enum tokenreq_from {
    TOKENREQ_QUERY = 0,   /* the first non-empty "token" field of the query */
    TOKENREQ_PATH,        /* the last segment of the path after the route's prefix */
    TOKENREQ_HOST,        /* the Host value without its port */
    TOKENREQ_HOST_LABEL,  /* the Host name's first label (up to the first dot) */
};

enum tokenreq_result {
    TOKENREQ_OK = 0, /* a token of 1..TOKENREQ_TOKEN_MAX bytes of UTF-8 without NUL */
    TOKENREQ_NONE,   /* no token, or an empty one */
    TOKENREQ_BAD,    /* a token that no token file can hold: longer than the limit, not
                      * UTF-8 once decoded, a NUL, raw bytes over 0x7f in the query */
};

/*
 * Finds the token of a request for a route whose token comes from <from>, and copies it
 * into <out> (TOKENREQ_TOKEN_MAX + 1 bytes: the token, then a NUL), its length into
 * *<len>. Returns TOKENREQ_OK, or NONE or BAD with *<len> 0 and <out> "".
 * <target> is the request target as sent (NUL-terminated; the path, then "?query").
 * <prefix_len> is the length of the prefix route's path without its "*" ("/vnc/" is 5),
 * for TOKENREQ_PATH: <target> starts with it when the route matched; a shorter target
 * ("/vnc", which the route matches too) has no token.
 * <host> is the Host header's value (NULL: none), for the two Host sources.
 *
 * TOKENREQ_QUERY reads the query as websockify does (Python's parse_qs, separator "&",
 * blank values dropped): the query runs from the first "?" to a "#" or the end; its
 * fields are split at "&", a field without "=" or with an empty value is passed over, and
 * in name and value "+" is a space and "%XX" a byte ("%" without two hex digits stays as
 * it is); the first field whose name is "token" gives the value, its trailing newlines
 * stripped. noVNC's `vnc.html?path=websockify%3Ftoken%3Dalice` arrives as
 * "/websockify?token=alice".
 * TOKENREQ_PATH: the path (up to "?" or "#") after the prefix, from its last "/" on,
 * percent-decoded ("+" stays: it is a path); "/vnc/alice" gives "alice", "/vnc/a/b"
 * gives "b", "/vnc/" none; a "%" without two hex digits is BAD.
 * TOKENREQ_HOST: the value without its ":port" ("[v6]" keeps its brackets).
 * TOKENREQ_HOST_LABEL: that name up to its first "."; an IPv6 literal has none.
 */
enum tokenreq_result tokenreq_get(enum tokenreq_from from, const char *target, size_t prefix_len,
                                  const char *host, char out[TOKENREQ_TOKEN_MAX + 1],
                                  size_t *len);

#define TOKENREQ_REDACTED "<redacted>" /* what stands for hidden text in a logged target */

/* Writes request target <target> for a log line with whatever may hold a token hidden:
 * its query, all of it (a token may hide in any field, as when noVNC's page is loaded as
 * "vnc.html?path=websockify%3Ftoken%3Dalice"), becomes "?<redacted>"; with
 * <path_prefix_len> > 0 (the target is on a route whose token is in its path), the path
 * after that many bytes becomes "<redacted>" too. A fragment goes with the query. Writes
 * at most <cap> bytes into <out>, NUL-terminated when <cap> > 0, and returns the length
 * it needed, as snprintf() does. */
size_t tokenreq_redact(const char *target, size_t path_prefix_len, char *out, size_t cap);

/* The name of <from> as the route file writes it ("query", "path", "host", "host_label"). */
const char *tokenreq_from_name(enum tokenreq_from from);

#endif
