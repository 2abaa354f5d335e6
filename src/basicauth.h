/*
 * basicauth.h - HTTP Basic authentication (RFC 7617), no I/O: the users of an
 * htpasswd-style text with crypt(3) hashes of one method and cost, and the check of an
 * Authorization header against them, split into a cheap decode for the event loop and a
 * costly hash for a thread. Reading the file and answering 401 are the caller's.
 */
#ifndef WSB_BASICAUTH_H
#define WSB_BASICAUTH_H

#include <stdbool.h>
#include <stddef.h>

#define BASICAUTH_USER_MAX 255     /* bytes of a user name, in the file and in a request */
#define BASICAUTH_PASSWORD_MAX 255 /* bytes of a password in a request */
#define BASICAUTH_USERS_MAX 10000  /* lines with a user in one file */

#define BASICAUTH_HASH_MAX 383 /* bytes of a hash (libcrypt's CRYPT_OUTPUT_SIZE less one) */

struct basicauth_user {
    char name[BASICAUTH_USER_MAX + 1];
    char hash[BASICAUTH_HASH_MAX + 1]; /* crypt(3) string, checked at parse time */
    unsigned line;                     /* where it was defined, for duplicate messages */
};

struct basicauth_users {
    struct basicauth_user *items;
    size_t n;
    char dummy[BASICAUTH_HASH_MAX + 1]; /* setting with a random salt and the method and cost of
                                         * every hash in the file: unknown users are checked
                                         * against it; "" when the file has no user */
};

enum basicauth_result {
    BASICAUTH_OK = 0,    /* user known and password right */
    BASICAUTH_MISSING,   /* no Authorization header, or another scheme: answer 401 */
    BASICAUTH_MALFORMED, /* "Basic" with bad base64, no colon, control characters, or
                          * longer than BASICAUTH_USER_MAX + 1 + BASICAUTH_PASSWORD_MAX bytes: 401
                          */
    BASICAUTH_DENIED,    /* unknown user or wrong password (not told apart): 401 */
    BASICAUTH_ERROR,     /* crypt(3) failed or memory ran out: 500 */
    BASICAUTH_PENDING,   /* credentials decoded: basicauth_verify decides */
};

/* Decoded credentials with the hash to check them against: what basicauth_verify needs,
 * copied, so that it may run on another thread after the users are gone. */
struct basicauth_cred {
    char user[BASICAUTH_USER_MAX + 1];         /* as sent, for the access log */
    char password[BASICAUTH_PASSWORD_MAX + 1]; /* secret: wiped by basicauth_cred_wipe */
    char hash[BASICAUTH_HASH_MAX + 1];         /* the user's hash, or the file's dummy setting */
    bool known;                                /* the user is in the file */
};

/* Parses <len> bytes of htpasswd-style text at <text>: one "user:hash" per line, blank
 * lines and lines starting with '#' ignored, spaces and tabs around a line dropped, LF or
 * CRLF endings. Hashes must be crypt(3) strings of yescrypt ($y$), SHA-512 ($6$),
 * SHA-256 ($5$) or bcrypt ($2b$, $2y$) that this libcrypt accepts; plain text, DES, MD5
 * ($1$, $apr1$) and {SHA} are refused. Every hash must have the method and cost
 * parameters of the first (bcrypt cost, SHA rounds, yescrypt parameters), so that a
 * wrong password costs the same time whoever the user is; a dummy setting with those and
 * a random salt (from libcrypt's crypt_gensalt) is made for unknown users. <name> (the
 * file name) starts every message. Returns the users, or NULL with "NAME:LINE: why" in
 * <err>. Nothing is kept from <text>. */
struct basicauth_users *basicauth_users_parse(const char *text, size_t len, const char *name,
                                              char *err, size_t err_len);

/* Frees <u> (wiping the hashes it holds); NULL is fine. */
void basicauth_users_free(struct basicauth_users *u);

/* The cheap half of a check, for the caller's thread: decodes Authorization header value
 * <authorization> (NULL: none) into <cred> and picks the hash to check it against in <u>
 * (NULL: no users): the user's, or for an unknown user the file's dummy (a fixed SHA-512
 * setting for a file with no user), so that basicauth_verify costs the same either way.
 * Scheme "Basic" in any case, then base64 (RFC 4648, padded) of "user:password" with no
 * control characters (RFC 7617 §2). Returns BASICAUTH_PENDING (<cred> filled: verify it,
 * then wipe it), or MISSING or MALFORMED (<cred>->user is "", nothing secret is left in
 * <cred>). Runs no hash. */
enum basicauth_result basicauth_decode(const struct basicauth_users *u, const char *authorization,
                                       struct basicauth_cred *cred);

/* The costly half: crypt(3) of <cred>'s password with its hash's setting, compared with
 * CRYPTO_memcmp. Returns OK (a known user with the right password), DENIED or ERROR.
 * Takes as long as the hash's cost (bcrypt at cost 12: about 0.2 s): run it off the
 * event loop. Thread-safe (crypt_r). Leaves <cred> as it was: the caller wipes it. */
enum basicauth_result basicauth_verify(const struct basicauth_cred *cred);

/* Wipes the secrets of <cred> (password and hash) and clears it. */
void basicauth_cred_wipe(struct basicauth_cred *cred);

/* Both halves at once, on the caller's thread: basicauth_decode, then basicauth_verify
 * when it decoded, the credentials wiped after. The user name, cut to <user_len> - 1
 * bytes, goes to <user> (may be NULL) once the credentials decode (OK, DENIED, ERROR);
 * otherwise <user> is "". For tests and tools: the daemon runs the hash on its pool. */
enum basicauth_result basicauth_check(const struct basicauth_users *u, const char *authorization,
                                      char *user, size_t user_len);

/* A short static name for <a>, for log lines: "ok", "missing", "malformed", ... */
const char *basicauth_result_name(enum basicauth_result a);

#endif
