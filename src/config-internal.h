/*
 * config-internal.h - what the pieces of the route file reader share, included by them
 * alone: the key table's types, the parse context, the error helpers and each piece's
 * setters. config.c holds the key table and the walker, config_value.c the plain value
 * types, config_tls.c a listener's "tls:", config_route.c the routes, config_load.c the
 * reading of files from disk. Nothing here does I/O.
 */
#ifndef WSB_CONFIG_INTERNAL_H
#define WSB_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "yamlnode.h"

#define CONFIG_KEYS_MAX 128 /* rows config_keys[] may have: the size of "seen" tables */

/* The one variable a file name may start with. Under systemd, LoadCredential= copies a
 * root-only file (a TLS key, an auth file) into a folder readable by the service's user
 * alone, and names that folder here: with DynamicUser=yes there is no other way to give
 * the daemon a secret that is not world-readable. */
#define CONFIG_CREDENTIALS_VAR "CREDENTIALS_DIRECTORY"

enum config_section {
    CONFIG_TOP = 0,   /* top-level keys, fields of struct config */
    CONFIG_HEARTBEAT, /* keys under "heartbeat:", fields of struct config */
    CONFIG_ROUTE,     /* keys of one entry under "routes:", fields of struct route */
    CONFIG_LISTEN,    /* keys of a listener written as a mapping, struct config_listener */
    CONFIG_TLS,       /* keys under a listener's "tls:", fields of struct config_tls */
    CONFIG_TLS_CERT,  /* keys of one entry of "tls.certificates", struct config_tls_cert */
    CONFIG_ADMIN,     /* keys under "admin:", fields of struct config */
    CONFIG_LOG,       /* keys under "log:", fields of struct config (its log member) */
    CONFIG_JWT,       /* keys under a route's "tokens: { jwt: ... }", struct route_jwt */
};

enum config_type {
    CONFIG_T_DURATION = 0, /* unsigned milliseconds */
    CONFIG_T_SIZE,         /* uint64_t bytes */
    CONFIG_T_LISTEN,       /* one address or a list of them */
    CONFIG_T_DIR,          /* a folder, relative to the file's folder */
    CONFIG_T_HEARTBEAT,    /* a mapping of CONFIG_HEARTBEAT keys */
    CONFIG_T_ROUTES,       /* a list of mappings of CONFIG_ROUTE keys */
    CONFIG_T_PATH,         /* a route path: exact, or a prefix ending in slash-star */
    CONFIG_T_TARGET,       /* an address or "echo" */
    CONFIG_T_FRAMES,       /* "binary" or "text" */
    CONFIG_T_TOKENS,       /* one RFC 7230 token or a list of them */
    CONFIG_T_ADDRESS,      /* a listen address, in a listener mapping */
    CONFIG_T_TLS,          /* a mapping of CONFIG_TLS keys */
    CONFIG_T_FILE,         /* a file, relative to the config file's folder */
    CONFIG_T_BOOL,         /* true or false */
    CONFIG_T_TLS_VERSION,  /* "1.2" or "1.3", stored as 12 or 13 */
    CONFIG_T_STRING,       /* any non-empty text */
    CONFIG_T_CERTS,        /* a list of mappings of CONFIG_TLS_CERT keys */
    CONFIG_T_NAMES,        /* one SNI host name or a list of them */
    CONFIG_T_COUNT,        /* a whole number, no unit */
    CONFIG_T_ORIGINS,      /* one Origin pattern or a list of them (origin.c) */
    CONFIG_T_HOSTS,        /* one Host name or a list of them (origin.c) */
    CONFIG_T_NETS,         /* one CIDR network or a list of them (netlist.c) */
    CONFIG_T_WORKERS,      /* "auto" (stored as 0) or a whole number within the bounds */
    CONFIG_T_ADMIN,        /* a mapping of CONFIG_ADMIN keys */
    CONFIG_T_ADMIN_LISTEN, /* the admin listener: host:port, plain HTTP only */
    CONFIG_T_LOG,          /* a mapping of CONFIG_LOG keys */
    CONFIG_T_CHOICE,       /* one word of the key's row in config_choices[] */
    CONFIG_T_MODE,         /* a file mode: 3 or 4 octal digits, stored as unsigned */
    CONFIG_T_PROXIES,      /* trusted_proxies: one CIDR network or a list (netlist.c) */
    CONFIG_T_TOKEN_SOURCE, /* a token file or folder, a Redis URL, or { jwt: { ... } } */
    CONFIG_T_ALGORITHMS,   /* JWT algorithm names, one or a list (route_jwt) */
    CONFIG_T_PROXY_FROM,   /* a listener's proxy_from: CIDR networks (netlist.c) */
    CONFIG_T_SOURCES,      /* a route's source: one numeric IP address or a list */
};

#define CONFIG_REQUIRED 0x1 /* a route without this key is an error */
#define CONFIG_INHERIT 0x2  /* unset: the top-level key of the same name gives the value */

struct config_key {
    enum config_section section; /* where the key may appear */
    const char *name;            /* as written in the file */
    enum config_type type;       /* what its value must be */
    const char *def;             /* default, written as a user would; NULL: none */
    uint64_t min, max;           /* inclusive bounds of durations (ms) and sizes (bytes) */
    size_t offset;               /* of the field in struct config or struct route */
    unsigned flags;              /* CONFIG_REQUIRED, CONFIG_INHERIT */
};

/* Every key of the file and its default (config.c); config_n_keys rows. */
extern const struct config_key config_keys[];
extern const size_t config_n_keys;

/* A listener written as a mapping, while it is read; then split into config->listen and
 * config->listen_tls. */
struct config_listener {
    struct addr addr;
    struct config_tls *tls;           /* NULL: plain */
    unsigned mode;                    /* a unix: listener's file mode */
    struct config_listen_proxy proxy; /* "proxy_protocol" and "proxy_from" */
    bool v6only;                      /* "v6only" */
};

struct config_ctx {
    const char *name;                                 /* file name for messages */
    char *err;                                        /* caller's message buffer, or NULL */
    size_t err_len;                                   /* its size */
    struct config *c;                                 /* being built; not owned */
    struct yamlnode *routes;                          /* "routes:" value, read after the others */
    const struct yamlnode *admin_listen;              /* "admin.listen:" value, for messages */
    const char *credentials_dir;                      /* $CREDENTIALS_DIRECTORY; NULL: unset */
    const struct yamlnode_pair *top[CONFIG_KEYS_MAX]; /* top-level keys as found, by row */
};

/* config.c: errors, the table, the walker ------------------------------------------- */

/* Writes "FILE:LINE:COL: message" (or "FILE: message" when <line> is 0); returns -1. */
int config_fail_at(struct config_ctx *x, unsigned line, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As config_fail_at, at node <n>. */
int config_fail(struct config_ctx *x, const struct yamlnode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE: out of memory"; returns -1. */
int config_oom(struct config_ctx *x);

/* The row of <name> in section <sec>, or NULL. */
const struct config_key *config_key_find(enum config_section sec, const char *name);

/* Where key <name> of <sec> was found, from the "seen" table <seen> of config_map_read
 * (CONFIG_KEYS_MAX entries, by row), or NULL if it was not written. */
const struct yamlnode_pair *config_seen(const struct yamlnode_pair *const *seen,
                                        enum config_section sec, const char *name);

/* Name of <k> for messages, "heartbeat.timeout" or "tls.cert", into <out>; returns it. */
const char *config_key_label(const struct config_key *k, char *out, size_t cap);

/* True if <v> is a scalar; else fails with "\"KEY\" must be <what>" and returns false. */
bool config_want_scalar(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        const char *what);

/* Reads mapping <map> of section <sec> into <obj>, then fills each key not given from its
 * default, or from the top level (CONFIG_INHERIT). <seen>, when not NULL, receives where
 * each key was found. Returns 0 or -1 (message written). */
int config_map_read(struct config_ctx *x, enum config_section sec, struct yamlnode *map, void *obj,
                    const struct yamlnode_pair **seen);

/* config_value.c: values stored at the key's offset in <obj> ----------------------- */

int config_value_number(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        void *obj);
int config_value_count(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                       void *obj);
int config_value_bool(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      void *obj);
int config_value_string(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        void *obj);
int config_value_file(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      void *obj);
int config_value_dir(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                     void *obj);
int config_value_mode(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      void *obj);

/* A relative ADDR_UNIX path in <a> (read from value <v>) joined to the file's folder, as
 * file names are; fails at <v> if the result is longer than ADDR_UNIX_PATH_MAX. Any
 * other address is left alone. Returns 0 or -1 (message written). */
int config_value_unix_path(struct config_ctx *x, const struct yamlnode *v, struct addr *a);

/* A string or a list of strings, as one array of <*n> nodes at *<items> (<one> holds the
 * single string's pointer). Empty lists, lists over <max> and lists of anything but
 * non-null scalars fail with "\"KEY\" must be <what>" and the like. */
int config_value_list(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                      struct yamlnode **one, struct yamlnode ***items, size_t *n, size_t max,
                      const char *what);

/* config_tls.c: a listener's "tls:" mapping ---------------------------------------- */

/* The "tls" mapping <v> into a new struct config_tls at <l>->tls. */
int config_tls_read(struct config_ctx *x, struct yamlnode *v, struct config_listener *l);
int config_tls_certs(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                     struct config_tls *tls);
int config_tls_names(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                     struct config_tls_cert *cert);
int config_tls_version(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                       void *obj);
/* Frees <tls> and what it owns; NULL is fine. */
void config_tls_free(struct config_tls *tls);

/* config_route.c: the routes ------------------------------------------------------- */

/* Reads the "routes:" list <list> into x->c->routes, every key of every route, then the
 * rules that tie a route's keys together. */
int config_route_read_all(struct config_ctx *x, struct yamlnode *list);
int config_route_path(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      struct route *r);
int config_route_target(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        struct route *r);
int config_route_frames(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        struct route *r);
int config_route_tokens(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                        struct route *r);
int config_route_token_source(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                              struct route *r);
int config_route_algorithms(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                            struct route_jwt *j);
int config_route_origins(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                         struct route *r);
int config_route_nets(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                      struct route *r);
/* A route's "source": numeric IPv4 or IPv6 addresses (no port), into r->sources. */
int config_route_sources(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                         struct route *r);
/* Frees what route <r> owns (not <r>); a half-read route is fine. */
void config_route_free(struct route *r);

#endif
