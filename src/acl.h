/*
 * acl.h - who may open a WebSocket, no I/O: client address allow and deny lists (CIDR),
 * and HTTP Basic authentication (RFC 7617) against htpasswd-style text hashed with
 * crypt(3). Origin and Host rules are origin.h's. Reading the password file, running the
 * hash off the event loop and answering 403 or 401 are the caller's.
 */
#ifndef WSB_ACL_H
#define WSB_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Networks ------------------------------------------------------------------------- */

enum acl_list {
    ACL_ALLOW = 0, /* addresses that may connect (none listed: all may) */
    ACL_DENY,      /* addresses that may not, whatever the allow list says */
};

#define ACL_NETS_MAX 4096 /* rules in one list */

struct acl_net {
    int family;             /* AF_INET or AF_INET6 (IPv4-mapped rules are AF_INET) */
    unsigned prefix_bits;   /* 0..32 or 0..128 */
    unsigned char addr[16]; /* network address, 4 or 16 bytes used, host bits zero */
};

struct acl_nets {
    struct acl_net *nets[2]; /* indexed by enum acl_list */
    size_t n[2], cap[2];
};

/* Returns a new, empty pair of lists (everything allowed), or NULL if memory ran out. */
struct acl_nets *acl_nets_new(void);

/* Frees <nets>; NULL is fine. */
void acl_nets_free(struct acl_nets *nets);

/* Adds <cidr> to list <which> of <nets>: "10.0.0.0/8", "192.168.1.5" (a /32),
 * "::1/128", "2001:db8::/32", "::ffff:10.0.0.0/104" (stored as the IPv4 rule 10.0.0.0/8).
 * Host bits after the prefix must be zero ("10.0.0.1/8" is refused as a likely slip).
 * Returns 0, or -1 with "network \"...\": why" in <err>. */
int acl_nets_add(struct acl_nets *nets, enum acl_list which, const char *cidr, char *err,
                 size_t err_len);

/* True if a client at <sa> may connect under <nets>: it matches no ACL_DENY rule, and the
 * ACL_ALLOW list is empty or it matches a rule there. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, from a dual-stack listener) is judged as the IPv4 address. A family
 * other than AF_INET and AF_INET6 matches no rule. */
bool acl_nets_is_allowed(const struct acl_nets *nets, const struct sockaddr *sa);

/* Basic authentication --------------------------------------------------------------- */

#define ACL_USER_MAX 255     /* bytes of a user name, in the file and in a request */
#define ACL_PASSWORD_MAX 255 /* bytes of a password in a request */
#define ACL_USERS_MAX 10000  /* lines with a user in one file */

#define ACL_HASH_MAX 383 /* bytes of a hash (libcrypt's CRYPT_OUTPUT_SIZE less one) */

struct acl_user {
    char name[ACL_USER_MAX + 1];
    char hash[ACL_HASH_MAX + 1]; /* crypt(3) string, checked at parse time */
    unsigned line;               /* where it was defined, for duplicate messages */
};

struct acl_users {
    struct acl_user *items;
    size_t n;
    char dummy[ACL_HASH_MAX + 1]; /* setting with a random salt and the method and cost of
                                   * every hash in the file: unknown users are checked
                                   * against it; "" when the file has no user */
};

enum acl_auth {
    ACL_AUTH_OK = 0,    /* user known and password right */
    ACL_AUTH_MISSING,   /* no Authorization header, or another scheme: answer 401 */
    ACL_AUTH_MALFORMED, /* "Basic" with bad base64, no colon, control characters, or
                         * longer than ACL_USER_MAX + 1 + ACL_PASSWORD_MAX bytes: 401 */
    ACL_AUTH_DENIED,    /* unknown user or wrong password (not told apart): 401 */
    ACL_AUTH_ERROR,     /* crypt(3) failed or memory ran out: 500 */
    ACL_AUTH_PENDING,   /* credentials decoded: acl_basic_verify decides */
};

/* Decoded credentials with the hash to check them against: what acl_basic_verify needs,
 * copied, so that it may run on another thread after the users are gone. */
struct acl_basic_cred {
    char user[ACL_USER_MAX + 1];         /* as sent, for the access log */
    char password[ACL_PASSWORD_MAX + 1]; /* secret: wiped by acl_basic_cred_wipe */
    char hash[ACL_HASH_MAX + 1];         /* the user's hash, or the file's dummy setting */
    bool known;                          /* the user is in the file */
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
struct acl_users *acl_users_parse(const char *text, size_t len, const char *name, char *err,
                                  size_t err_len);

/* Frees <u> (wiping the hashes it holds); NULL is fine. */
void acl_users_free(struct acl_users *u);

/* The cheap half of a check, for the caller's thread: decodes Authorization header value
 * <authorization> (NULL: none) into <cred> and picks the hash to check it against in <u>
 * (NULL: no users): the user's, or for an unknown user the file's dummy (a fixed SHA-512
 * setting for a file with no user), so that acl_basic_verify costs the same either way.
 * Scheme "Basic" in any case, then base64 (RFC 4648, padded) of "user:password" with no
 * control characters (RFC 7617 §2). Returns ACL_AUTH_PENDING (<cred> filled: verify it,
 * then wipe it), or MISSING or MALFORMED (<cred>->user is "", nothing secret is left in
 * <cred>). Runs no hash. */
enum acl_auth acl_basic_decode(const struct acl_users *u, const char *authorization,
                               struct acl_basic_cred *cred);

/* The costly half: crypt(3) of <cred>'s password with its hash's setting, compared with
 * CRYPTO_memcmp. Returns OK (a known user with the right password), DENIED or ERROR.
 * Takes as long as the hash's cost (bcrypt at cost 12: about 0.2 s): run it off the
 * event loop. Thread-safe (crypt_r). Leaves <cred> as it was: the caller wipes it. */
enum acl_auth acl_basic_verify(const struct acl_basic_cred *cred);

/* Wipes the secrets of <cred> (password and hash) and clears it. */
void acl_basic_cred_wipe(struct acl_basic_cred *cred);

/* Both halves at once, on the caller's thread: acl_basic_decode, then acl_basic_verify
 * when it decoded, the credentials wiped after. The user name, cut to <user_len> - 1
 * bytes, goes to <user> (may be NULL) once the credentials decode (OK, DENIED, ERROR);
 * otherwise <user> is "". For tests and tools: the daemon runs the hash on its pool. */
enum acl_auth acl_basic_check(const struct acl_users *u, const char *authorization, char *user,
                              size_t user_len);

/* A short static name for <a>, for log lines: "ok", "missing", "malformed", ... */
const char *acl_auth_name(enum acl_auth a);

#endif
