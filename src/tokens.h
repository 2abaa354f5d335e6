/*
 * tokens.h - the token sources of a running configuration: for each route with
 * "tokens:", its websockify token file or folder, read when the configuration is loaded
 * and read again when it changes (no SIGHUP needed), shared by every worker thread. A
 * request's token (tokenreq.c) is looked up here and becomes the connection's target.
 * Tokens are secrets: a token is only ever logged as its keyed hash (tokenfile.c).
 */
#ifndef WSB_TOKENS_H
#define WSB_TOKENS_H

#include <stddef.h>

#include "addr.h"
#include "tokenfile.h"
#include "tokenreq.h"

struct config;
struct route;
struct tokens;

#define TOKENS_CHECK_INTERVAL_MS 1000 /* a source is checked for changes at most this often */
#define TOKENS_FILES_MAX 10000        /* files of one token folder */
#define TOKENS_ERRORS_LOGGED 100      /* malformed lines logged per read; then one count */

enum tokens_result {
    TOKENS_FOUND = 0, /* the token's target is in *out */
    TOKENS_NONE,      /* the request carries no token, or an empty one */
    TOKENS_MALFORMED, /* it carries one no token file can hold (tokenreq.h) */
    TOKENS_UNKNOWN,   /* no such token in the source */
    TOKENS_UNUSABLE,  /* a token whose target cannot be connected to from here (logged) */
    TOKENS_DENIED,    /* a signed token (JWT) that does not verify, expired, not yet
                       * valid, for another audience: 401 */
    TOKENS_REDIS,     /* the route's tokens are in Redis: tokenredis.c looks it up */
};

/* Reads the token source of every route of <c> that has one (routes naming the same path
 * share it). A folder is every regular file in it (symlinks to files count) except those
 * whose name starts with "." (editor swap files, Kubernetes' "..data"), read in bytewise
 * order of their names so that when two files name the same token, the later name wins;
 * subfolders are passed over. Lines that are wrong are logged ("FILE:LINE: why", never
 * the token) and skipped. Returns the sources (none at all is fine), or NULL with
 * "CONFIG:LINE:COL: tokens \"PATH\": why" in <err> (at the route) when a source cannot
 * be read. <c> must outlive the result. */
struct tokens *tokens_new(const struct config *c, char *err, size_t err_len);

/* Frees <t>; NULL is fine. No lookup may be under way. */
void tokens_free(struct tokens *t);

/*
 * Finds the target of a request for token route <r> (a route of the config <t> was made
 * from): its token from request target <url> and Host value <host> (NULL: none), as
 * r->token_from says, looked up in r's source. Checks the source for changes first when
 * it was last checked TOKENS_CHECK_INTERVAL_MS ago or more (then this call may read and
 * parse it; other threads meanwhile use the table they have). A source that cannot be
 * read keeps its last good table, and says so once in the log until it reads again.
 * TOKENS_FOUND fills <out>: a host and port, or a Unix socket path ("unix_socket:PATH";
 * a relative PATH is taken from the source's folder: the token file's, or the token
 * folder itself). On a "tokens: { jwt: ... }" route the token is verified with the key
 * read at load (jwt.c, the clock now) and its claims are the target: TOKENS_DENIED when
 * it does not pass (the reason logged at debug level). A Redis route answers
 * TOKENS_REDIS at once: its lookup is asynchronous (tokenredis.h). <hash> receives the token's log
 * hash, or "" when there is none. Any thread, at once.
 */
enum tokens_result tokens_lookup(struct tokens *t, const struct route *r, const char *url,
                                 const char *host, struct addr *out,
                                 char hash[TOKENFILE_LOG_HASH_LEN + 1]);

/* The token of a request for token route <r> (tokenreq_get, as r->token_from says) into
 * <out>, its length into *<len>, its log hash into <hash> ("" when none). Returns
 * TOKENS_FOUND, TOKENS_NONE or TOKENS_MALFORMED. Pure but for the process's hash key. */
enum tokens_result tokens_request_token(const struct route *r, const char *url, const char *host,
                                        char out[TOKENREQ_TOKEN_MAX + 1], size_t *len,
                                        char hash[TOKENFILE_LOG_HASH_LEN + 1]);

/* Writes request target <url> into <out> (<cap> bytes) as log lines may show it when
 * <t> has token routes: its query hidden, and the token's part of the path on a route of
 * <c> with "token_from: path" (tokenreq_redact), and returns <out>. Returns <url> itself
 * (NULL too) when <t> is NULL or has no token route. */
const char *tokens_log_url(const struct tokens *t, const struct config *c, const char *url,
                           char *out, size_t cap);

#endif
