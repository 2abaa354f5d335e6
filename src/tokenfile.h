/*
 * tokenfile.h - websockify's TokenFile syntax ("token: host:port", "token:
 * unix_socket:/path", "#" comments) read into a table that maps a token to its target,
 * with a keyed short hash of a token for log lines. Pure: the caller reads the files
 * (a directory is every file in it, fed in order) and supplies the hash keys.
 * Tokens are secrets: nothing here logs, and no message quotes a token.
 */
#ifndef WSB_TOKENFILE_H
#define WSB_TOKENFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

#define TOKENFILE_TOKEN_MAX 512        /* bytes of a token */
#define TOKENFILE_LINE_MAX 8192        /* bytes of a line, its line end excluded */
#define TOKENFILE_TEXT_MAX (64u << 20) /* bytes of one file's text */
#define TOKENFILE_ENTRIES_MAX 1000000  /* tokens of one table, all files together */
#define TOKENFILE_UNIX_PATH_MAX 107    /* bytes of a socket path: sun_path less its NUL */
#define TOKENFILE_ERROR_MAX 512        /* bytes of one error message, NUL included */
#define TOKENFILE_LOG_HASH_LEN 8       /* hex digits of tokenfile_log_hash() */

enum tokenfile_kind {
    TOKENFILE_TCP = 0, /* host and port */
    TOKENFILE_UNIX,    /* a Unix socket path */
};

/* A token's target. Its strings live in the table: valid until the table changes. */
struct tokenfile_target {
    enum tokenfile_kind kind;
    const char *host; /* TCP: a name or an IP literal, IPv6 without brackets; UNIX: NULL */
    uint16_t port;    /* TCP: 1..65535; UNIX: 0 */
    const char *path; /* UNIX: the path as written (a relative one is the reader's business,
                       * as in websockify: relative to its working folder); TCP: NULL */
};

struct tokenfile;

/* Receives one error line, "NAME:LINE: what is wrong" or "NAME: what is wrong" (NAME as
 * the caller gave it, unescaped), NUL-terminated, valid only during the call. */
typedef void tokenfile_error_cb(void *arg, const char *message);

/* A new, empty table whose lookups hash tokens with SipHash-2-4 under <key> (copied), so
 * that nobody without the key can choose tokens that collide. Returns NULL if out of
 * memory. */
struct tokenfile *tokenfile_new(const uint8_t key[SIPHASH_KEY_BYTES]);

/* Frees <t> and every string its targets point to; NULL is fine. */
void tokenfile_free(struct tokenfile *t);

/*
 * Reads one file's <len> bytes at <text> (not NUL-terminated, may hold any bytes) into
 * <t>, as websockify's ReadOnlyTokenFile reads a line:
 * - Lines end at "\n", "\r\n" or a lone "\r" (Python's universal newlines). A UTF-8 byte
 *   order mark opening the text is dropped (websockify would keep it in the first token).
 * - A line whose first byte is "#" is a comment; a line of whitespace only is skipped
 *   (websockify logs a syntax error for it). Whitespace is Python's: ASCII space, \t, \n,
 *   \v, \f, \r, 0x1c..0x1f and the Unicode spaces (U+0085, U+00A0, U+1680, U+2000..U+200A,
 *   U+2028, U+2029, U+202F, U+205F, U+3000).
 * - Any other line must hold exactly one colon followed by whitespace (or by the end of
 *   the line). The token is every byte before that colon, kept as it is (spaces
 *   included); the target is everything after the colon and that one whitespace
 *   character, with whitespace stripped at both ends.
 * - A target "unix_socket:PATH" is a Unix socket (PATH may hold colons, which websockify
 *   would misread). Any other target is split at its last colon into host and port: a
 *   host with colons is an IPv6 literal, with or without brackets ("::1:5900" as
 *   websockify writes it, or "[::1]:5900"); an empty host is 127.0.0.1, where
 *   websockify's getaddrinfo() goes; the port is decimal, 1..65535; host names follow
 *   addr.c's rules.
 * - A token that appears again replaces its target, within a file and across calls:
 *   later lines and later files win, as in websockify's dictionary. websockify reads a
 *   directory in an unspecified order; the caller feeds its files sorted by name.
 * A malformed line (no separator or two, an empty or over-long token, no target, a bad
 * host, port or path, a line over TOKENFILE_LINE_MAX, bytes that are not UTF-8, a NUL) is
 * reported through <on_error> (may be NULL) as "<name>:LINE: ..." and skipped: the other
 * lines stay in force. A text over TOKENFILE_TEXT_MAX is one error "<name>: ..." and
 * adds nothing; past TOKENFILE_ENTRIES_MAX tokens in <t>, one error names the line and
 * the rest of the text is ignored. Returns the number of errors reported, or -1 if out of
 * memory (then <t> holds part of the text: discard it).
 */
int tokenfile_parse(struct tokenfile *t, const char *name, const char *text, size_t len,
                    tokenfile_error_cb *on_error, void *arg);

/* Adds every token of <src> to <dst> in <src>'s order, replacing the target of a token
 * <dst> has already: <src> is the later file. Returns 0, or -1 if out of memory or
 * TOKENFILE_ENTRIES_MAX would be passed (then <dst> holds part of <src>: discard it). */
int tokenfile_merge(struct tokenfile *dst, const struct tokenfile *src);

/* The target of the <len> bytes at <token> (any bytes), or NULL if <t> has no such
 * token. Expected constant time in the table's size; the final comparison takes the same
 * time for every token of that length. */
const struct tokenfile_target *tokenfile_lookup(const struct tokenfile *t, const char *token,
                                                size_t len);

/* Number of tokens in <t>. */
size_t tokenfile_count(const struct tokenfile *t);

/* The <i>-th token of <t> (i < tokenfile_count(t)), in the order tokens were first
 * added: sets *<token> (NUL-terminated) and *<token_len>, returns its target. */
const struct tokenfile_target *tokenfile_entry(const struct tokenfile *t, size_t i,
                                               const char **token, size_t *token_len);

/* Writes <t> as a token file that tokenfile_parse() reads back to the same table: a
 * comment line, then "TOKEN: TARGET" per token in tokenfile_entry() order, in
 * websockify's own spelling (bare IPv6 hosts, unix_socket:PATH). Writes at most <cap>
 * bytes into <out> (NUL-terminated when <cap> > 0) and returns the length it needed,
 * as snprintf() does. Holds every token: never log it. */
size_t tokenfile_write(const struct tokenfile *t, char *out, size_t cap);

/* Writes <tgt> as wsbridge writes a target ("host:port", "[v6]:port", "unix:/path") into
 * <out> (at most <cap> bytes, NUL-terminated when <cap> > 0); returns the length it
 * needed, as snprintf() does. */
size_t tokenfile_target_format(const struct tokenfile_target *tgt, char *out, size_t cap);

/* Writes into <out> the first TOKENFILE_LOG_HASH_LEN lowercase hex digits of SipHash-2-4
 * of the <len> bytes at <token> under <key>, and a NUL: a name for the token in log lines
 * that tells tokens apart without revealing them. <key> should be random per process,
 * so that a hash seen in one log cannot be tried against guesses elsewhere. */
void tokenfile_log_hash(const uint8_t key[SIPHASH_KEY_BYTES], const char *token, size_t len,
                        char out[TOKENFILE_LOG_HASH_LEN + 1]);

#endif
