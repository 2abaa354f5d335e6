/*
 * config.c - the YAML file (libyaml event API) as a struct config. Every key, its type,
 * default and bounds is one row of config_keys[]; every limit on a growing buffer is a
 * CONFIG_*_MAX below. Errors are "FILE:LINE:COL: message", 1-based, at the offending key
 * or value. No I/O but reading the file: addresses are checked here, resolved elsewhere.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "addr.h"
#include "basicauth.h"
#include "netlist.h"

#define CONFIG_FILE_MAX_BYTES (1u << 20) /* a route file larger than this is a mistake */
#define CONFIG_DEPTH_MAX 32              /* YAML nesting; the format itself needs 4 */
#define CONFIG_LISTEN_MAX 64             /* listen addresses */
#define CONFIG_ROUTES_MAX 4096           /* routes; duplicate checks are quadratic */
#define CONFIG_SUBPROTOCOLS_MAX 64       /* subprotocols of one route */
#define CONFIG_TLS_CERTS_MAX 64          /* entries of one listener's tls.certificates */
#define CONFIG_SNI_NAMES_MAX 64          /* names of one of those entries */
#define CONFIG_QUOTE_MAX 64              /* bytes of user text quoted in one message */
#define CONFIG_KEY_NAME_MAX 32           /* longest key worth a "did you mean" */
#define CONFIG_SUGGEST_DISTANCE 2        /* edit distance of a "did you mean" */
#define CONFIG_ORIGINS_MAX 256           /* origin patterns of one route */
#define CONFIG_AUTH_THREADS_MAX 16       /* auth_threads: authpool.c's AUTHPOOL_THREADS_MAX */
#define CONFIG_AUTH_FILE_MAX_BYTES (8u << 20) /* BASICAUTH_USERS_MAX lines of long hashes fit */

enum config_section {
    CONFIG_TOP = 0,   /* top-level keys, fields of struct config */
    CONFIG_HEARTBEAT, /* keys under "heartbeat:", fields of struct config */
    CONFIG_ROUTE,     /* keys of one entry under "routes:", fields of struct route */
    CONFIG_LISTEN,    /* keys of a listener written as a mapping, struct config_listener */
    CONFIG_TLS,       /* keys under a listener's "tls:", fields of struct config_tls */
    CONFIG_TLS_CERT,  /* keys of one entry of "tls.certificates", struct config_tls_cert */
    CONFIG_ADMIN,     /* keys under "admin:", fields of struct config */
    CONFIG_LOG,       /* keys under "log:", fields of struct config (its log member) */
};

/* What a section is called in "... has no KEY" messages, and the prefix of its keys'
 * labels ("heartbeat.timeout"). */
static const char *const config_section_noun[] = {
    [CONFIG_TOP] = "the file",    [CONFIG_HEARTBEAT] = "\"heartbeat\"",
    [CONFIG_ROUTE] = "route",     [CONFIG_LISTEN] = "listener",
    [CONFIG_TLS] = "\"tls\"",     [CONFIG_TLS_CERT] = "certificate",
    [CONFIG_ADMIN] = "\"admin\"", [CONFIG_LOG] = "\"log\"",
};
static const char *const config_section_prefix[] = {
    [CONFIG_TOP] = "",         [CONFIG_HEARTBEAT] = "heartbeat.",
    [CONFIG_ROUTE] = "",       [CONFIG_LISTEN] = "",
    [CONFIG_TLS] = "tls.",     [CONFIG_TLS_CERT] = "tls.certificates.",
    [CONFIG_ADMIN] = "admin.", [CONFIG_LOG] = "log.",
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

/* _Generic makes a row whose field has the wrong C type fail to compile, since rows are
 * written through untyped offsets. */
#define CONFIG_MS(st, m) _Generic(((struct st *)0)->m, unsigned : offsetof(struct st, m))
#define CONFIG_BYTES(st, m) _Generic(((struct st *)0)->m, uint64_t : offsetof(struct st, m))
#define CONFIG_STR(st, m) _Generic(((struct st *)0)->m, char * : offsetof(struct st, m))
#define CONFIG_BOOL(st, m) _Generic(((struct st *)0)->m, bool : offsetof(struct st, m))
#define CONFIG_UINT(st, m) _Generic(((struct st *)0)->m, unsigned : offsetof(struct st, m))
/* Choices are stored as unsigned: the enums they go to must be that size. */
#define CONFIG_ENUM(st, m, e) _Generic(((struct st *)0)->m, enum e : offsetof(struct st, m))
static_assert(sizeof(enum config_log_target) == sizeof(unsigned), "choices store unsigned");
static_assert(sizeof(enum config_log_level) == sizeof(unsigned), "choices store unsigned");
static_assert(sizeof(enum config_log_format) == sizeof(unsigned), "choices store unsigned");
/* A listener written as a mapping, while it is read; then split into config->listen and
 * config->listen_tls. */
struct config_listener {
    struct addr addr;
    struct config_tls *tls; /* NULL: plain */
};

#define CONFIG_KIB 1024u
#define CONFIG_MIB (1024u * 1024u)

/* Every key of the file and every default. etc/wsbridge.yaml repeats these values and
 * tests/unit/test_config.c checks that it does. */
static const struct config_key config_keys[] = {
    {CONFIG_TOP, "listen", CONFIG_T_LISTEN, "127.0.0.1:8080", 0, 0, 0, 0},
    {CONFIG_TOP, "web_root", CONFIG_T_DIR, NULL, 0, 0, 0, 0},
    {CONFIG_TOP, "heartbeat", CONFIG_T_HEARTBEAT, NULL, 0, 0, 0, 0},
    {CONFIG_HEARTBEAT, "interval", CONFIG_T_DURATION, "30s", 0, UINT_MAX,
     CONFIG_MS(config, heartbeat_interval_ms), 0},
    {CONFIG_HEARTBEAT, "timeout", CONFIG_T_DURATION, "10s", 1, UINT_MAX,
     CONFIG_MS(config, heartbeat_timeout_ms), 0},
    {CONFIG_TOP, "handshake_timeout", CONFIG_T_DURATION, "10s", 1, UINT_MAX,
     CONFIG_MS(config, handshake_timeout_ms), 0},
    {CONFIG_TOP, "connect_timeout", CONFIG_T_DURATION, "10s", 1, UINT_MAX,
     CONFIG_MS(config, connect_timeout_ms), 0},
    {CONFIG_TOP, "idle_timeout", CONFIG_T_DURATION, "0", 0, UINT_MAX,
     CONFIG_MS(config, idle_timeout_ms), 0},
    {CONFIG_TOP, "close_timeout", CONFIG_T_DURATION, "5s", 1, UINT_MAX,
     CONFIG_MS(config, close_timeout_ms), 0},
    {CONFIG_TOP, "shutdown_timeout", CONFIG_T_DURATION, "10s", 1, UINT_MAX,
     CONFIG_MS(config, shutdown_timeout_ms), 0},
    {CONFIG_TOP, "high_watermark", CONFIG_T_SIZE, "256KiB", 4 * CONFIG_KIB, UINT64_MAX,
     CONFIG_BYTES(config, high_watermark_bytes), 0},
    {CONFIG_TOP, "low_watermark", CONFIG_T_SIZE, "64KiB", 0, UINT64_MAX,
     CONFIG_BYTES(config, low_watermark_bytes), 0},
    {CONFIG_TOP, "max_request_head", CONFIG_T_SIZE, "16KiB", CONFIG_KIB, CONFIG_MIB,
     CONFIG_BYTES(config, max_request_head_bytes), 0},
    {CONFIG_TOP, "max_connections", CONFIG_T_COUNT, "10000", 0, UINT_MAX,
     CONFIG_UINT(config, max_connections), 0},
    {CONFIG_TOP, "max_connections_per_ip", CONFIG_T_COUNT, "256", 0, UINT_MAX,
     CONFIG_UINT(config, max_connections_per_ip), 0},
    {CONFIG_TOP, "keepalive_requests", CONFIG_T_COUNT, "100", 1, 1000000,
     CONFIG_UINT(config, keepalive_requests), 0},
    {CONFIG_TOP, "keepalive_timeout", CONFIG_T_DURATION, "15s", 0, UINT_MAX,
     CONFIG_MS(config, keepalive_timeout_ms), 0},
    {CONFIG_TOP, "keepalive_time", CONFIG_T_DURATION, "5m", 1, UINT_MAX,
     CONFIG_MS(config, keepalive_time_ms), 0},
    {CONFIG_TOP, "max_pending_per_ip", CONFIG_T_COUNT, "32", 0, UINT_MAX,
     CONFIG_UINT(config, max_pending_per_ip), 0},
    {CONFIG_TOP, "per_ip_prefix_v6", CONFIG_T_COUNT, "64", 1, 128,
     CONFIG_UINT(config, per_ip_prefix_v6), 0},
    {CONFIG_TOP, "fd_reserve", CONFIG_T_COUNT, "32", 0, UINT_MAX, CONFIG_UINT(config, fd_reserve),
     0},
    {CONFIG_TOP, "workers", CONFIG_T_WORKERS, "auto", 1, CONFIG_WORKERS_MAX,
     CONFIG_UINT(config, workers), 0},
    {CONFIG_TOP, "auth_threads", CONFIG_T_COUNT, "2", 1, CONFIG_AUTH_THREADS_MAX,
     CONFIG_UINT(config, auth_threads), 0},
    {CONFIG_TOP, "hosts", CONFIG_T_HOSTS, NULL, 0, 0, 0, 0},
    {CONFIG_TOP, "routes", CONFIG_T_ROUTES, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "path", CONFIG_T_PATH, NULL, 0, 0, 0, CONFIG_REQUIRED},
    {CONFIG_ROUTE, "target", CONFIG_T_TARGET, NULL, 0, 0, 0, CONFIG_REQUIRED},
    {CONFIG_ROUTE, "frames", CONFIG_T_FRAMES, "binary", 0, 0, 0, 0},
    {CONFIG_ROUTE, "subprotocols", CONFIG_T_TOKENS, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "connect_timeout", CONFIG_T_DURATION, NULL, 1, UINT_MAX,
     CONFIG_MS(route, connect_timeout_ms), CONFIG_INHERIT},
    {CONFIG_ROUTE, "idle_timeout", CONFIG_T_DURATION, NULL, 0, UINT_MAX,
     CONFIG_MS(route, idle_timeout_ms), CONFIG_INHERIT},
    {CONFIG_ROUTE, "max_frame", CONFIG_T_SIZE, "0", 0, UINT64_MAX,
     CONFIG_BYTES(route, max_frame_bytes), 0},
    {CONFIG_ROUTE, "max_message", CONFIG_T_SIZE, "0", 0, UINT64_MAX,
     CONFIG_BYTES(route, max_message_bytes), 0},
    {CONFIG_ROUTE, "ca", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(route, tls_ca_file), 0},
    {CONFIG_ROUTE, "verify", CONFIG_T_BOOL, "true", 0, 0, CONFIG_BOOL(route, tls_verify), 0},
    {CONFIG_ROUTE, "max_connections", CONFIG_T_COUNT, "0", 0, UINT_MAX,
     CONFIG_UINT(route, max_connections), 0},
    {CONFIG_ROUTE, "origins", CONFIG_T_ORIGINS, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "allow_no_origin", CONFIG_T_BOOL, "true", 0, 0,
     CONFIG_BOOL(route, allow_no_origin), 0},
    {CONFIG_ROUTE, "allow", CONFIG_T_NETS, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "deny", CONFIG_T_NETS, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "auth_file", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(route, auth_file), 0},
    {CONFIG_ROUTE, "auth_realm", CONFIG_T_STRING, "wsbridge", 0, 0, CONFIG_STR(route, auth_realm),
     0},
    {CONFIG_LISTEN, "address", CONFIG_T_ADDRESS, NULL, 0, 0, 0, CONFIG_REQUIRED},
    {CONFIG_LISTEN, "tls", CONFIG_T_TLS, NULL, 0, 0, 0, 0},
    {CONFIG_TLS, "cert", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(config_tls, cert.cert_file),
     CONFIG_REQUIRED},
    {CONFIG_TLS, "key", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(config_tls, cert.key_file),
     CONFIG_REQUIRED},
    {CONFIG_TLS, "key_password_file", CONFIG_T_FILE, NULL, 0, 0,
     CONFIG_STR(config_tls, cert.key_password_file), 0},
    {CONFIG_TLS, "ca", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(config_tls, ca_file), 0},
    {CONFIG_TLS, "verify_client", CONFIG_T_BOOL, "false", 0, 0,
     CONFIG_BOOL(config_tls, verify_client), 0},
    {CONFIG_TLS, "min_version", CONFIG_T_TLS_VERSION, "1.2", 0, 0,
     CONFIG_UINT(config_tls, min_version), 0},
    {CONFIG_TLS, "ciphers", CONFIG_T_STRING, NULL, 0, 0, CONFIG_STR(config_tls, ciphers), 0},
    {CONFIG_TLS, "ciphersuites", CONFIG_T_STRING, NULL, 0, 0, CONFIG_STR(config_tls, ciphersuites),
     0},
    {CONFIG_TLS, "allow_expired", CONFIG_T_BOOL, "false", 0, 0,
     CONFIG_BOOL(config_tls, allow_expired), 0},
    {CONFIG_TLS, "certificates", CONFIG_T_CERTS, NULL, 0, 0, 0, 0},
    {CONFIG_TLS_CERT, "cert", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(config_tls_cert, cert_file),
     CONFIG_REQUIRED},
    {CONFIG_TLS_CERT, "key", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(config_tls_cert, key_file),
     CONFIG_REQUIRED},
    {CONFIG_TLS_CERT, "key_password_file", CONFIG_T_FILE, NULL, 0, 0,
     CONFIG_STR(config_tls_cert, key_password_file), 0},
    {CONFIG_TLS_CERT, "names", CONFIG_T_NAMES, NULL, 0, 0, 0, CONFIG_REQUIRED},
    {CONFIG_TOP, "admin", CONFIG_T_ADMIN, NULL, 0, 0, 0, 0},
    {CONFIG_ADMIN, "listen", CONFIG_T_ADMIN_LISTEN, NULL, 0, 0, 0, 0},
    {CONFIG_TOP, "log", CONFIG_T_LOG, NULL, 0, 0, 0, 0},
    {CONFIG_LOG, "target", CONFIG_T_CHOICE, "stderr", 0, 0,
     CONFIG_ENUM(config, log.target, config_log_target), 0},
    {CONFIG_LOG, "file", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(config, log.file), 0},
    {CONFIG_LOG, "level", CONFIG_T_CHOICE, "info", 0, 0,
     CONFIG_ENUM(config, log.level, config_log_level), 0},
    {CONFIG_LOG, "format", CONFIG_T_CHOICE, "text", 0, 0,
     CONFIG_ENUM(config, log.format, config_log_format), 0},
};

/* The words of each CONFIG_T_CHOICE key, in the order of the enum they are stored as. */
struct config_choice {
    enum config_section section;
    const char *name;         /* the key */
    const char *const *words; /* NULL-terminated; the index is the value */
};

static const char *const config_log_targets[] = {[CONFIG_LOG_STDERR] = "stderr",
                                                 [CONFIG_LOG_SYSLOG] = "syslog",
                                                 [CONFIG_LOG_FILE] = "file",
                                                 NULL};
static const char *const config_log_levels[] = {[CONFIG_LOG_ERROR] = "error",
                                                [CONFIG_LOG_WARN] = "warn",
                                                [CONFIG_LOG_INFO] = "info",
                                                [CONFIG_LOG_DEBUG] = "debug",
                                                NULL};
static const char *const config_log_formats[] = {
    [CONFIG_LOG_TEXT] = "text", [CONFIG_LOG_JSON] = "json", NULL};

static const struct config_choice config_choices[] = {
    {CONFIG_LOG, "target", config_log_targets},
    {CONFIG_LOG, "level", config_log_levels},
    {CONFIG_LOG, "format", config_log_formats},
};

#define CONFIG_N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

struct config_unit {
    const char *name;
    uint64_t factor;  /* milliseconds or bytes per unit */
    bool in_messages; /* used to write values in messages */
};

static const struct config_unit config_duration_units[] = {
    {"ms", 1, true},  {"s", 1000, true}, {"m", 60 * 1000, true}, {"h", 60 * 60 * 1000, true},
    {NULL, 0, false},
};

/* KB, MB and GB are decimal (SI); KiB, MiB and GiB binary (IEC 80000-13). Messages use
 * the binary units only, as the defaults do. */
static const struct config_unit config_size_units[] = {
    {"B", 1, true},
    {"KiB", 1u << 10, true},
    {"MiB", 1u << 20, true},
    {"GiB", 1u << 30, true},
    {"KB", 1000, false},
    {"MB", 1000 * 1000, false},
    {"GB", 1000000000ull, false},
    {NULL, 0, false},
};

enum config_num {
    CONFIG_NUM_OK = 0,  /* parsed */
    CONFIG_NUM_SYNTAX,  /* no digits first */
    CONFIG_NUM_UNIT,    /* digits, then a unit not in the table */
    CONFIG_NUM_NO_UNIT, /* a bare non-zero number where a unit is required */
    CONFIG_NUM_RANGE,   /* past the largest value the field holds */
};

enum config_node_kind {
    CONFIG_NODE_SCALAR = 0, /* text */
    CONFIG_NODE_SEQUENCE,   /* items */
    CONFIG_NODE_MAPPING,    /* pairs */
};

struct config_pair {
    struct config_node *key, *value;
};

/* The document as a small tree, so that every key and value keeps its position. */
struct config_node {
    enum config_node_kind kind;
    unsigned line, column;      /* 1-based start of the node */
    char *text;                 /* scalar: NUL-terminated, holds no other NUL */
    bool is_null;               /* scalar: plain "", "~" or "null", i.e. no value */
    struct config_node **items; /* sequence */
    struct config_pair *pairs;  /* mapping */
    size_t n;                   /* items or pairs */
};

struct config_ctx {
    const char *name;                             /* file name for messages */
    const char *text;                             /* the YAML, to place reader errors */
    size_t len;                                   /* bytes at text */
    char *err;                                    /* caller's message buffer, or NULL */
    size_t err_len;                               /* its size */
    struct config *c;                             /* being built; not owned */
    struct config_node *routes;                   /* "routes:" value, read after the others */
    const struct config_node *admin_listen;       /* "admin.listen:" value, for messages */
    const char *credentials_dir;                  /* $CREDENTIALS_DIRECTORY; NULL: unset */
    const struct config_pair *top[CONFIG_N_KEYS]; /* top-level keys as found, for checks */
};

static int config_fail_at(struct config_ctx *x, unsigned line, unsigned column, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static int config_fail(struct config_ctx *x, const struct config_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int config_map_read(struct config_ctx *x, enum config_section sec, struct config_node *map,
                           void *obj, const struct config_pair **seen);
static const struct config_key *config_key_find(enum config_section sec, const char *name);

/* Writes "FILE:LINE:COL: message" (or "FILE: message" when <line> is 0); returns -1. */
static int config_fail_at(struct config_ctx *x, unsigned line, unsigned column, const char *fmt,
                          ...)
{
    char msg[512];
    va_list ap;

    if (x->err == NULL || x->err_len == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line == 0)
        snprintf(x->err, x->err_len, "%s: %s", x->name, msg);
    else
        snprintf(x->err, x->err_len, "%s:%u:%u: %s", x->name, line, column, msg);
    return -1;
}

static int config_fail(struct config_ctx *x, const struct config_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return config_fail_at(x, n->line, n->column, "%s", msg);
}

static int config_oom(struct config_ctx *x)
{
    return config_fail_at(x, 0, 0, "out of memory");
}

/* Copies user text <s> for quoting in a message into <out>: control characters become '?'
 * so a message stays one line, and long text is cut at a character boundary with "...". */
static const char *config_quote(const char *s, char out[CONFIG_QUOTE_MAX + 4])
{
    size_t i;

    for (i = 0; s[i] != '\0' && i < CONFIG_QUOTE_MAX; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i] != '\0') {
        while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
            i--;
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static void config_node_free(struct config_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; n->items != NULL && i < n->n; i++)
        config_node_free(n->items[i]);
    for (size_t i = 0; n->pairs != NULL && i < n->n; i++) {
        config_node_free(n->pairs[i].key);
        config_node_free(n->pairs[i].value);
    }
    free(n->items);
    free(n->pairs);
    free(n->text);
    free(n);
}

/* Reports the error libyaml left in <p>. Reader errors (bad UTF-8, control characters)
 * carry a byte offset instead of a mark, so the position is counted from the text. */
static int config_fail_yaml(struct config_ctx *x, const yaml_parser_t *p)
{
    const char *problem = p->problem != NULL ? p->problem : "YAML error";
    unsigned line = (unsigned)p->problem_mark.line + 1;
    unsigned column = (unsigned)p->problem_mark.column + 1;

    if (p->error == YAML_MEMORY_ERROR)
        return config_oom(x);
    /* libyaml's context names the construct left open, worth saying when it began on an
     * earlier line ("did not find expected ',' or ']'" points past the end of it). */
    if (p->error != YAML_READER_ERROR && p->context != NULL &&
        p->context_mark.line < p->problem_mark.line)
        return config_fail_at(x, line, column, "%s (%s started at line %u)", problem, p->context,
                              (unsigned)p->context_mark.line + 1);
    if (p->error != YAML_READER_ERROR)
        return config_fail_at(x, line, column, "%s", problem);
    line = column = 1;
    for (size_t i = 0; i < p->problem_offset && i < x->len; i++) {
        if (x->text[i] == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)x->text[i] & 0xc0) != 0x80) {
            column++;
        }
    }
    if (p->problem_value >= 0)
        return config_fail_at(x, line, column, "%s (0x%02x)", problem, p->problem_value);
    return config_fail_at(x, line, column, "%s", problem);
}

static int config_next(struct config_ctx *x, yaml_parser_t *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(p, ev))
        return config_fail_yaml(x, p);
    return 0;
}

/* Reads the node that <ev> starts, and the events up to its end, into *<out>. Always
 * deletes <ev>. Anchors and aliases are refused: they would let a small file name the
 * same subtree many times ("billion laughs"), and nothing in this format needs them. */
static int config_node_read(struct config_ctx *x, yaml_parser_t *p, yaml_event_t *ev,
                            unsigned depth, struct config_node **out)
{
    struct config_node *n = calloc(1, sizeof(*n));
    yaml_event_type_t end =
        ev->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
    const yaml_char_t *anchor = NULL;
    size_t cap = 0;
    int rc = -1;

    *out = n;
    if (n == NULL) {
        yaml_event_delete(ev);
        return config_oom(x);
    }
    n->line = (unsigned)ev->start_mark.line + 1;
    n->column = (unsigned)ev->start_mark.column + 1;
    if (ev->type == YAML_SCALAR_EVENT)
        anchor = ev->data.scalar.anchor;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        anchor = ev->data.sequence_start.anchor;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        anchor = ev->data.mapping_start.anchor;

    if (ev->type == YAML_ALIAS_EVENT) {
        rc = config_fail(x, n, "YAML aliases are not supported");
    } else if (anchor != NULL) {
        rc = config_fail(x, n, "YAML anchors are not supported");
    } else if (ev->type == YAML_SCALAR_EVENT) {
        const char *v = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (memchr(v, '\0', len) != NULL) {
            rc = config_fail(x, n, "NUL characters are not allowed");
        } else if ((n->text = strdup(v)) == NULL) {
            rc = config_oom(x);
        } else {
            n->kind = CONFIG_NODE_SCALAR;
            n->is_null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                         (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
                          strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
            rc = 0;
        }
    } else if (depth >= CONFIG_DEPTH_MAX) {
        rc = config_fail(x, n, "YAML nested more than %d levels deep", CONFIG_DEPTH_MAX);
    } else {
        n->kind = end == YAML_SEQUENCE_END_EVENT ? CONFIG_NODE_SEQUENCE : CONFIG_NODE_MAPPING;
        rc = 0;
    }
    yaml_event_delete(ev);
    if (rc < 0 || n->kind == CONFIG_NODE_SCALAR)
        return rc;

    for (;;) {
        struct config_node *child;
        if (config_next(x, p, ev) < 0)
            return -1;
        if (ev->type == end) {
            yaml_event_delete(ev);
            return 0;
        }
        if (n->n == cap) {
            cap = cap == 0 ? 8 : cap * 2;
            void *grown = n->kind == CONFIG_NODE_SEQUENCE
                              ? realloc(n->items, cap * sizeof(*n->items))
                              : realloc(n->pairs, cap * sizeof(*n->pairs));
            if (grown == NULL) {
                yaml_event_delete(ev);
                return config_oom(x);
            }
            if (n->kind == CONFIG_NODE_SEQUENCE)
                n->items = grown;
            else
                n->pairs = grown;
        }
        rc = config_node_read(x, p, ev, depth + 1, &child);
        if (n->kind == CONFIG_NODE_SEQUENCE) {
            n->items[n->n++] = child;
        } else if (n->n > 0 && n->pairs[n->n - 1].value == NULL) {
            n->pairs[n->n - 1].value = child;
        } else {
            n->pairs[n->n++] = (struct config_pair){.key = child, .value = NULL};
        }
        if (rc < 0)
            return -1;
    }
}

/* Reads the one document of the stream into *<root>: NULL for an empty stream. */
static int config_tree_read(struct config_ctx *x, yaml_parser_t *p, struct config_node **root)
{
    yaml_event_t ev;

    *root = NULL;
    if (config_next(x, p, &ev) < 0) /* STREAM-START */
        return -1;
    yaml_event_delete(&ev);
    if (config_next(x, p, &ev) < 0)
        return -1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if (config_next(x, p, &ev) < 0 || config_node_read(x, p, &ev, 0, root) < 0)
        return -1;
    if (config_next(x, p, &ev) < 0) /* DOCUMENT-END */
        return -1;
    yaml_event_delete(&ev);
    if (config_next(x, p, &ev) < 0)
        return -1;
    if (ev.type != YAML_STREAM_END_EVENT) {
        unsigned line = (unsigned)ev.start_mark.line + 1,
                 column = (unsigned)ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        return config_fail_at(x, line, column, "only one YAML document is allowed");
    }
    yaml_event_delete(&ev);
    return 0;
}

/* Parses digits and an optional unit from <units> in <s>; <unit_required>: a non-zero
 * number needs one. The value must not exceed <max>. */
static enum config_num config_number(const char *s, const struct config_unit *units,
                                     bool unit_required, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (s == NULL || s[0] < '0' || s[0] > '9')
        return CONFIG_NUM_SYNTAX;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return CONFIG_NUM_RANGE;
        v = v * 10 + digit;
    }
    if (s[i] == '\0') {
        if (unit_required && v != 0)
            return CONFIG_NUM_NO_UNIT;
        if (v > max)
            return CONFIG_NUM_RANGE;
        *out = v;
        return CONFIG_NUM_OK;
    }
    for (const struct config_unit *u = units; u->name != NULL; u++) {
        if (strcmp(s + i, u->name) != 0)
            continue;
        if (v > max / u->factor)
            return CONFIG_NUM_RANGE;
        *out = v * u->factor;
        return CONFIG_NUM_OK;
    }
    return CONFIG_NUM_UNIT;
}

/* Parses a duration ("500ms", "30s", "5m", "1h", "0"); returns 0 or -1. Pure helper,
 * exported for tests. A bare non-zero number is refused: "30" could mean s or ms. */
int config_parse_duration_ms(const char *s, unsigned *ms)
{
    uint64_t v;

    if (config_number(s, config_duration_units, true, UINT_MAX, &v) != CONFIG_NUM_OK)
        return -1;
    *ms = (unsigned)v;
    return 0;
}

/* Parses a size ("512", "512B", "64KiB", "16MiB", "1GiB", "64KB", "1MB"); returns 0 or -1.
 * KB, MB and GB are powers of 1000, KiB, MiB and GiB powers of 1024. */
int config_parse_size(const char *s, uint64_t *bytes)
{
    return config_number(s, config_size_units, false, UINT64_MAX, bytes) == CONFIG_NUM_OK ? 0 : -1;
}

/* Writes <v> in the largest unit of <units> that divides it, for messages: "4KiB". */
static const char *config_format_number(uint64_t v, const struct config_unit *units, char *out,
                                        size_t cap)
{
    const struct config_unit *best = NULL;

    for (const struct config_unit *u = units; u->name != NULL; u++)
        if (u->in_messages && v != 0 && v % u->factor == 0 &&
            (best == NULL || u->factor > best->factor))
            best = u;
    if (best == NULL)
        snprintf(out, cap, "%llu", (unsigned long long)v);
    else
        snprintf(out, cap, "%llu%s", (unsigned long long)(v / best->factor), best->name);
    return out;
}

/* Name of <k> for messages: "heartbeat.timeout" or "tls.cert" rather than a bare key. */
static const char *config_key_label(const struct config_key *k, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", config_section_prefix[k->section], k->name);
    return out;
}

static bool config_want_scalar(struct config_ctx *x, const struct config_key *k,
                               const struct config_node *v, const char *what)
{
    char label[64];

    if (v->kind == CONFIG_NODE_SCALAR)
        return true;
    config_fail(x, v, "\"%s\" must be %s", config_key_label(k, label, sizeof(label)), what);
    return false;
}

/* Durations and sizes: parses, checks the bounds of <k>, stores into <obj>. */
static int config_set_number(struct config_ctx *x, const struct config_key *k,
                             const struct config_node *v, void *obj)
{
    bool is_ms = k->type == CONFIG_T_DURATION;
    const struct config_unit *units = is_ms ? config_duration_units : config_size_units;
    const char *kind = is_ms ? "duration" : "size";
    uint64_t type_max = is_ms ? UINT_MAX : UINT64_MAX;
    char q[CONFIG_QUOTE_MAX + 4], label[64], lo[32], hi[32];
    uint64_t n = 0;

    if (!config_want_scalar(x, k, v, is_ms ? "a duration, like 30s" : "a size, like 64KiB"))
        return -1;
    config_quote(v->text, q);
    switch (config_number(v->text, units, is_ms, type_max, &n)) {
    case CONFIG_NUM_OK:
        break;
    case CONFIG_NUM_SYNTAX:
        return config_fail(x, v, "bad %s \"%s\": expected a number and %s", kind, q,
                           is_ms ? "a unit, like 30s" : "an optional unit, like 64KiB");
    case CONFIG_NUM_UNIT:
        return config_fail(x, v, "bad %s \"%s\": unknown unit \"%s\" (use %s)", kind, q,
                           q + strspn(q, "0123456789"),
                           is_ms ? "ms, s, m or h" : "B, KiB, MiB, GiB, KB, MB or GB");
    case CONFIG_NUM_NO_UNIT:
        return config_fail(x, v, "duration \"%s\" needs a unit: ms, s, m or h", q);
    case CONFIG_NUM_RANGE:
        if (!is_ms)
            return config_fail(x, v, "bad size \"%s\": too large", q);
        return config_fail(x, v, "bad duration \"%s\": too large (at most %ums, about 49 days)", q,
                           UINT_MAX);
    }
    config_key_label(k, label, sizeof(label));
    config_format_number(k->min, units, lo, sizeof(lo));
    config_format_number(k->max, units, hi, sizeof(hi));
    if ((n < k->min || n > k->max) && k->max != type_max)
        return config_fail(x, v, "\"%s\" must be between %s and %s", label, lo, hi);
    if (n < k->min && k->min == 1)
        return config_fail(x, v, "\"%s\" must be more than 0", label);
    if (n < k->min)
        return config_fail(x, v, "\"%s\" must be at least %s", label, lo);
    if (is_ms)
        *(unsigned *)((char *)obj + k->offset) = (unsigned)n;
    else
        *(uint64_t *)((char *)obj + k->offset) = n;
    return 0;
}

/* A string or a list of strings, as one array of nodes in *<items>; <one> holds the
 * single string's pointer. Lists of other things, and empty lists, are refused. */
static int config_list(struct config_ctx *x, const struct config_key *k, struct config_node *v,
                       struct config_node **one, struct config_node ***items, size_t *n, size_t max,
                       const char *what)
{
    *one = v;
    *items = one;
    *n = 1;
    if (v->kind == CONFIG_NODE_SEQUENCE) {
        *items = v->items;
        *n = v->n;
    } else if (v->kind != CONFIG_NODE_SCALAR) {
        return config_fail(x, v, "\"%s\" must be %s", k->name, what);
    }
    if (*n == 0)
        return config_fail(x, v, "\"%s\" must not be an empty list", k->name);
    if (*n > max)
        return config_fail(x, v, "\"%s\" has more than %zu entries", k->name, max);
    for (size_t i = 0; i < *n; i++) {
        if ((*items)[i]->kind != CONFIG_NODE_SCALAR || (*items)[i]->is_null)
            return config_fail(x, (*items)[i], "\"%s\" must be %s", k->name, what);
    }
    return 0;
}

/* Parses listen address <v> into <a>: a host and port, never echo, never tls:// (a TLS
 * listener is a mapping with a "tls" key). */
static int config_listen_addr(struct config_ctx *x, const struct config_node *v, struct addr *a)
{
    char q[CONFIG_QUOTE_MAX + 4], why[128], plain[ADDR_HOST_MAX + 16];
    struct addr bare;

    if (addr_parse(v->text, false, a, why, sizeof(why)) < 0)
        return config_fail(x, v, "bad address \"%s\": %s", config_quote(v->text, q), why);
    if (!a->tls)
        return 0;
    bare = *a;
    bare.tls = false;
    addr_format(&bare, plain, sizeof(plain));
    return config_fail(x, v,
                       "a TLS listener is written { address: \"%s\", tls: { cert: FILE, key: "
                       "FILE } }, without tls://",
                       plain);
}

/* "listen": one address, or a list of addresses and listener mappings
 * ({ address: ..., tls: { ... } }); a single mapping stands for a list of one. */
static int config_set_listen(struct config_ctx *x, const struct config_key *k,
                             struct config_node *v, struct config *c)
{
    struct config_node *one = v, **items = &one;
    char q[CONFIG_QUOTE_MAX + 4];
    size_t n = 1;

    if (v->kind == CONFIG_NODE_SEQUENCE) {
        items = v->items;
        n = v->n;
    }
    if (n == 0)
        return config_fail(x, v, "\"%s\" must not be an empty list", k->name);
    if (n > CONFIG_LISTEN_MAX)
        return config_fail(x, v, "\"%s\" has more than %d entries", k->name, CONFIG_LISTEN_MAX);
    c->listen = calloc(n, sizeof(*c->listen));
    c->listen_tls = calloc(n, sizeof(*c->listen_tls));
    if (c->listen == NULL || c->listen_tls == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++) {
        struct config_node *item = items[i];
        struct config_listener l = {.tls = NULL};
        const struct config_node *at = item;
        int rc;

        if (item->kind == CONFIG_NODE_MAPPING) {
            const struct config_pair *seen[CONFIG_N_KEYS] = {NULL};
            rc = config_map_read(x, CONFIG_LISTEN, item, &l, seen);
            if (rc == 0)
                at = seen[config_key_find(CONFIG_LISTEN, "address") - config_keys]->value;
        } else if (item->kind == CONFIG_NODE_SCALAR && !item->is_null) {
            rc = config_listen_addr(x, item, &l.addr);
        } else {
            return config_fail(x, item, "\"%s\" must be a string or a list of strings", k->name);
        }
        /* Stored before the result is looked at, so config_free finds what was built. */
        c->listen[i] = l.addr;
        c->listen_tls[i] = l.tls;
        c->n_listen = i + 1;
        if (rc < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (c->listen[j].port == l.addr.port && strcmp(c->listen[j].host, l.addr.host) == 0)
                return config_fail(x, at, "listen address \"%s\" is listed twice",
                                   config_quote(at->text, q));
    }
    return 0;
}

/* Joins relative <path> to the config file's folder, so the daemon finds its files
 * whatever its working directory; nothing is checked on disk here (no I/O). Returns a
 * new string, or NULL when memory ran out. */
static char *config_path_join(const struct config_ctx *x, const char *path)
{
    const char *slash = strrchr(x->name, '/');
    size_t dir_len = slash == NULL ? 0 : (size_t)(slash - x->name);
    size_t len = dir_len + 1 + strlen(path) + 1;
    char *out;

    if (path[0] == '/' || slash == NULL)
        return strdup(path);
    if ((out = malloc(len)) != NULL)
        snprintf(out, len, "%.*s/%s", (int)dir_len, x->name, path);
    return out;
}

static int config_set_dir(struct config_ctx *x, const struct config_key *k,
                          const struct config_node *v, struct config *c)
{
    if (!config_want_scalar(x, k, v, "a string (a folder)"))
        return -1;
    if (v->text[0] == '\0')
        return config_fail(x, v, "\"%s\" must not be empty", k->name);
    c->web_root = config_path_join(x, v->text);
    return c->web_root == NULL ? config_oom(x) : 0;
}

/* The one variable a file name may start with. Under systemd, LoadCredential= copies a
 * root-only file (a TLS key, an auth file) into a folder readable by the service's user
 * alone, and names that folder here: with DynamicUser=yes there is no other way to give
 * the daemon a secret that is not world-readable. */
#define CONFIG_CREDENTIALS_VAR "CREDENTIALS_DIRECTORY"

/* Length of the "$CREDENTIALS_DIRECTORY" or "${CREDENTIALS_DIRECTORY}" that <s> starts
 * with, if a '/' or the end follows it; else 0. */
static size_t config_credentials_prefix(const char *s)
{
    size_t n = strlen(CONFIG_CREDENTIALS_VAR);

    if (strncmp(s, "$" CONFIG_CREDENTIALS_VAR, 1 + n) == 0 && (s[1 + n] == '/' || s[1 + n] == '\0'))
        return 1 + n;
    if (strncmp(s, "${" CONFIG_CREDENTIALS_VAR "}", 3 + n) == 0 &&
        (s[3 + n] == '/' || s[3 + n] == '\0'))
        return 3 + n;
    return 0;
}

/* File names (certificates, keys, CAs): a leading $CREDENTIALS_DIRECTORY replaced by its
 * value, then joined like web_root; stored at <k>'s offset. */
static int config_set_file(struct config_ctx *x, const struct config_key *k,
                           const struct config_node *v, void *obj)
{
    char label[64], q[CONFIG_QUOTE_MAX + 4];
    char **field = (char **)((char *)obj + k->offset);
    const char *name = v->text;
    char *expanded = NULL;
    size_t skip;

    if (!config_want_scalar(x, k, v, "a file name"))
        return -1;
    config_key_label(k, label, sizeof(label));
    if (name[0] == '\0')
        return config_fail(x, v, "\"%s\" must not be empty", label);
    if (name[0] == '$') {
        skip = config_credentials_prefix(name);
        if (skip == 0)
            return config_fail(x, v,
                               "\"%s\": only $" CONFIG_CREDENTIALS_VAR " is expanded in a file "
                               "name, not \"%s\"",
                               label, config_quote(name, q));
        if (x->credentials_dir == NULL || x->credentials_dir[0] == '\0')
            return config_fail(x, v,
                               "\"%s\" names $" CONFIG_CREDENTIALS_VAR ", which is not set "
                               "(systemd sets it for a unit with LoadCredential=)",
                               label);
        if (asprintf(&expanded, "%s%s", x->credentials_dir, name + skip) < 0)
            return config_oom(x);
        name = expanded;
    }
    *field = config_path_join(x, name);
    free(expanded);
    return *field == NULL ? config_oom(x) : 0;
}

static int config_set_string(struct config_ctx *x, const struct config_key *k,
                             const struct config_node *v, void *obj)
{
    char label[64];
    char **field = (char **)((char *)obj + k->offset);

    if (!config_want_scalar(x, k, v, "a string"))
        return -1;
    if (v->text[0] == '\0')
        return config_fail(x, v, "\"%s\" must not be empty",
                           config_key_label(k, label, sizeof(label)));
    *field = strdup(v->text);
    return *field == NULL ? config_oom(x) : 0;
}

/* YAML 1.2 core schema booleans only: "yes" and "on" are too easy to mean something else. */
static int config_set_bool(struct config_ctx *x, const struct config_key *k,
                           const struct config_node *v, void *obj)
{
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False",
                                                                              "FALSE"};
    char q[CONFIG_QUOTE_MAX + 4], label[64];
    bool *field = (bool *)((char *)obj + k->offset);

    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, "true or false"))
        return -1;
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(v->text, yes[i]) == 0 || strcmp(v->text, no[i]) == 0) {
            *field = strcmp(v->text, yes[i]) == 0;
            return 0;
        }
    }
    return config_fail(x, v, "\"%s\" must be true or false, not \"%s\"", label,
                       config_quote(v->text, q));
}

static int config_set_tls_version(struct config_ctx *x, const struct config_key *k,
                                  const struct config_node *v, void *obj)
{
    char q[CONFIG_QUOTE_MAX + 4], label[64];
    unsigned *field = (unsigned *)((char *)obj + k->offset);

    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, "\"1.2\" or \"1.3\""))
        return -1;
    if (strcmp(v->text, "1.2") == 0 || strcmp(v->text, "1.3") == 0) {
        *field = v->text[2] == '2' ? 12 : 13;
        return 0;
    }
    return config_fail(x, v, "\"%s\" must be \"1.2\" or \"1.3\", not \"%s\"", label,
                       config_quote(v->text, q));
}

/* An SNI name as a client sends it (RFC 6066 §3: a DNS host name, no trailing dot), or
 * "*." and such a name: letters, digits and hyphens in dot-separated labels. */
static bool config_is_sni_name(const char *s)
{
    size_t label = 0;

    if (strncmp(s, "*.", 2) == 0)
        s += 2;
    if (*s == '\0' || strlen(s) > ADDR_HOST_MAX)
        return false;
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '.') {
            if (label == 0 || s[1] == '\0' || s[-1] == '-')
                return false;
            label = 0;
        } else if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z') || (ch == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return s[-1] != '-';
}

static int config_set_names(struct config_ctx *x, const struct config_key *k, struct config_node *v,
                            struct config_tls_cert *cert)
{
    struct config_node *one, **items;
    char q[CONFIG_QUOTE_MAX + 4];
    size_t n;

    if (config_list(x, k, v, &one, &items, &n, CONFIG_SNI_NAMES_MAX,
                    "a host name or a list of host names") < 0)
        return -1;
    cert->names = calloc(n, sizeof(*cert->names));
    if (cert->names == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++) {
        const char *t = items[i]->text;
        if (!config_is_sni_name(t))
            return config_fail(x, items[i],
                               "SNI name \"%s\" is not a host name (\"*.\" may start it)",
                               config_quote(t, q));
        if ((cert->names[i] = strdup(t)) == NULL)
            return config_oom(x);
        cert->n_names = i + 1;
    }
    return 0;
}

static int config_set_certs(struct config_ctx *x, const struct config_key *k, struct config_node *v,
                            struct config_tls *tls)
{
    if (v->kind != CONFIG_NODE_SEQUENCE || v->n == 0)
        return config_fail(x, v,
                           "\"tls.%s\" must be a list of mappings, like "
                           "[ { cert: a.pem, key: a.key, names: [ a.example ] } ]",
                           k->name);
    if (v->n > CONFIG_TLS_CERTS_MAX)
        return config_fail(x, v, "\"tls.%s\" has more than %d entries", k->name,
                           CONFIG_TLS_CERTS_MAX);
    tls->certs = calloc(v->n, sizeof(*tls->certs));
    if (tls->certs == NULL)
        return config_oom(x);
    for (size_t i = 0; i < v->n; i++) {
        struct config_node *item = v->items[i];
        struct config_tls_cert *cert = &tls->certs[i];
        if (item->kind != CONFIG_NODE_MAPPING)
            return config_fail(x, item,
                               "each of \"tls.%s\" must be a mapping, like "
                               "{ cert: a.pem, key: a.key, names: [ a.example ] }",
                               k->name);
        tls->n_certs = i + 1;
        cert->line = item->line;
        cert->column = item->column;
        if (config_map_read(x, CONFIG_TLS_CERT, item, cert, NULL) < 0)
            return -1;
    }
    return 0;
}

/* True if name <n> of certificate <i> appeared earlier in <tls>'s list (names are
 * compared as DNS does, ignoring case). */
static bool config_sni_listed_before(const struct config_tls *tls, size_t i, size_t n)
{
    const char *name = tls->certs[i].names[n];

    for (size_t j = 0; j <= i; j++)
        for (size_t m = 0; m < (j < i ? tls->certs[j].n_names : n); m++)
            if (strcasecmp(name, tls->certs[j].names[m]) == 0)
                return true;
    return false;
}

/* The "tls" mapping of a listener into a new struct config_tls at <l>->tls. */
static int config_set_tls(struct config_ctx *x, struct config_node *v, struct config_listener *l)
{
    const struct config_pair *seen[CONFIG_N_KEYS] = {NULL};
    const struct config_key *verify = config_key_find(CONFIG_TLS, "verify_client");
    char q[CONFIG_QUOTE_MAX + 4];
    struct config_tls *tls;

    if (v->kind != CONFIG_NODE_MAPPING)
        return config_fail(x, v,
                           "\"tls\" must be a mapping, like { cert: server.pem, key: "
                           "server.key }");
    if ((tls = l->tls = calloc(1, sizeof(*tls))) == NULL)
        return config_oom(x);
    tls->cert.line = v->line;
    tls->cert.column = v->column;
    if (config_map_read(x, CONFIG_TLS, v, tls, seen) < 0)
        return -1;
    if (tls->verify_client && tls->ca_file == NULL)
        return config_fail(x, seen[verify - config_keys]->value,
                           "\"tls.verify_client\" needs \"tls.ca\", the CA file that signs "
                           "client certificates");
    /* One name, one certificate: a second entry for a name could never be chosen. */
    for (size_t i = 0; i < tls->n_certs; i++)
        for (size_t n = 0; n < tls->certs[i].n_names; n++)
            if (config_sni_listed_before(tls, i, n))
                return config_fail_at(x, tls->certs[i].line, tls->certs[i].column,
                                      "SNI name \"%s\" is listed twice",
                                      config_quote(tls->certs[i].names[n], q));
    return 0;
}

/* Route paths are compared byte for byte with request targets, which are ASCII
 * (RFC 3986 §2: other bytes arrive percent-encoded), so a path that could never match
 * is refused here rather than left silently unused. */
static int config_set_path(struct config_ctx *x, const struct config_node *v, struct route *r)
{
    const char *p = v->text;
    size_t len = strlen(p);
    char q[CONFIG_QUOTE_MAX + 4];

    config_quote(p, q);
    if (p[0] != '/')
        return config_fail(x, v, "route path \"%s\" must start with \"/\"", q);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch == 0x7f)
            return config_fail(x, v, "route path \"%s\" has a space or control character", q);
        if (ch >= 0x80)
            return config_fail(x, v, "route path \"%s\" must be ASCII (percent-encode the rest)",
                               q);
        if (ch == '?' || ch == '#')
            return config_fail(x, v, "route path \"%s\" must not contain \"?\" or \"#\"", q);
        if (ch == '*' && (i != len - 1 || p[i - 1] != '/'))
            return config_fail(x, v,
                               "route path \"%s\": \"*\" is only allowed at the end, after "
                               "\"/\", as in \"/vnc/*\"",
                               q);
    }
    for (size_t i = 0; i + 1 < x->c->n_routes; i++)
        if (strcmp(x->c->routes[i].path, p) == 0)
            return config_fail(x, v, "duplicate route path \"%s\" (first at line %u)", q,
                               x->c->routes[i].line);
    if ((r->path = strdup(p)) == NULL)
        return config_oom(x);
    r->prefix = p[len - 1] == '*';
    r->match_len = r->prefix ? len - 1 : len;
    return 0;
}

static int config_set_target(struct config_ctx *x, const struct config_node *v, struct route *r)
{
    char q[CONFIG_QUOTE_MAX + 4], why[128];

    if (addr_parse(v->text, true, &r->target, why, sizeof(why)) < 0)
        return config_fail(x, v, "bad address \"%s\": %s", config_quote(v->text, q), why);
    return 0;
}

/* RFC 7230 §3.2.6 tchar: what a Sec-WebSocket-Protocol value may hold (RFC 6455 §4.1). */
static bool config_is_token(const char *s)
{
    if (s[0] == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL)))
            return false;
    }
    return true;
}

static int config_set_tokens(struct config_ctx *x, const struct config_key *k,
                             struct config_node *v, struct route *r)
{
    struct config_node *one, **items;
    char q[CONFIG_QUOTE_MAX + 4];
    size_t n;

    if (config_list(x, k, v, &one, &items, &n, CONFIG_SUBPROTOCOLS_MAX,
                    "a token or a list of tokens") < 0)
        return -1;
    r->subprotocols = calloc(n, sizeof(*r->subprotocols));
    if (r->subprotocols == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++) {
        const char *t = items[i]->text;
        if (!config_is_token(t))
            return config_fail(x, items[i],
                               "subprotocol \"%s\" is not a token (RFC 7230: letters, digits "
                               "and !#$%%&'*+-.^_`|~)",
                               config_quote(t, q));
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->subprotocols[j], t) == 0)
                return config_fail(x, items[i], "subprotocol \"%s\" is listed twice",
                                   config_quote(t, q));
        if ((r->subprotocols[i] = strdup(t)) == NULL)
            return config_oom(x);
        r->n_subprotocols = i + 1;
    }
    return 0;
}

/* A whole number without a unit (connection counts), within <k>'s bounds. */
static int config_set_count(struct config_ctx *x, const struct config_key *k,
                            const struct config_node *v, void *obj)
{
    static const struct config_unit none[] = {{NULL, 0, false}};
    char q[CONFIG_QUOTE_MAX + 4], label[64];
    uint64_t n = 0;

    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, "a whole number, like 100"))
        return -1;
    switch (config_number(v->text, none, false, UINT_MAX, &n)) {
    case CONFIG_NUM_OK:
        break;
    case CONFIG_NUM_RANGE:
        return config_fail(x, v, "\"%s\" is too large: at most %u", label, UINT_MAX);
    default:
        /* A count whose bounds exclude 0 is not a limit (per_ip_prefix_v6). */
        return config_fail(x, v, "\"%s\" must be a whole number%s, not \"%s\"", label,
                           k->min == 0 ? " (0: no limit)" : "", config_quote(v->text, q));
    }
    if (n < k->min || n > k->max)
        return config_fail(x, v, "\"%s\" must be between %llu and %llu", label,
                           (unsigned long long)k->min, (unsigned long long)k->max);
    *(unsigned *)((char *)obj + k->offset) = (unsigned)n;
    return 0;
}

/* "origins": parsed by origin.c now, so a bad pattern is reported at its own line and
 * column. ORIGIN_REQUIRE is added once "allow_no_origin" is known. */
static int config_set_origins(struct config_ctx *x, const struct config_key *k,
                              struct config_node *v, struct route *r)
{
    struct config_node *one, **items;
    const char **patterns;
    char why[256];
    size_t n;

    if (config_list(x, k, v, &one, &items, &n, CONFIG_ORIGINS_MAX,
                    "an origin or a list of origins, like [ \"https://app.example.com\" ]") < 0)
        return -1;
    if ((patterns = calloc(n, sizeof(*patterns))) == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++)
        patterns[i] = items[i]->text;
    r->origins = origin_list_parse(patterns, n, 0, why, sizeof(why));
    if (r->origins == NULL) {
        /* The message numbers the pattern (1-based): place the error at that item. */
        const struct config_node *at = v;
        size_t bad = 0;
        if (strstr(why, "out of memory") != NULL) {
            free(patterns);
            return config_oom(x);
        }
        if (sscanf(why, "origin pattern %zu", &bad) == 1 && bad >= 1 && bad <= n)
            at = items[bad - 1];
        free(patterns);
        return config_fail(x, at, "%s", why);
    }
    free(patterns);
    return 0;
}

/* "hosts": the Host allowlist, each name checked by origin.c at its own position. */
static int config_set_hosts(struct config_ctx *x, const struct config_key *k, struct config_node *v,
                            struct config *c)
{
    struct config_node *one, **items;
    const char **names;
    char why[256];
    size_t n, bad = 0;

    if (config_list(x, k, v, &one, &items, &n, ORIGIN_HOSTS_MAX,
                    "a host name or a list of them, like [ app.example.com, \"*.example.com\" ]") <
        0)
        return -1;
    if ((names = calloc(n, sizeof(*names))) == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++)
        names[i] = items[i]->text;
    c->hosts = origin_hosts_parse(names, n, why, sizeof(why));
    free(names);
    if (c->hosts != NULL)
        return 0;
    if (strstr(why, "out of memory") != NULL)
        return config_oom(x);
    if (sscanf(why, "host %zu", &bad) == 1 && bad >= 1 && bad <= n)
        return config_fail(x, items[bad - 1], "%s", why);
    return config_fail(x, v, "%s", why);
}

/* "allow" and "deny": CIDR networks into the route's lists, each checked by netlist.c. */
static int config_set_nets(struct config_ctx *x, const struct config_key *k, struct config_node *v,
                           struct route *r)
{
    enum netlist_which which = strcmp(k->name, "deny") == 0 ? NETLIST_DENY : NETLIST_ALLOW;
    struct config_node *one, **items;
    char why[256];
    size_t n;

    if (config_list(x, k, v, &one, &items, &n, NETLIST_MAX,
                    "a network or a list of networks, like [ 10.0.0.0/8, \"::1/128\" ]") < 0)
        return -1;
    if (r->nets == NULL && (r->nets = netlist_new()) == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++)
        if (netlist_add(r->nets, which, items[i]->text, why, sizeof(why)) < 0)
            return config_fail(x, items[i], "%s", why);
    return 0;
}

/* "workers": auto (0: the daemon counts the CPUs, since this file reads no system
 * state) or a thread count within the key's bounds. */
static int config_set_workers(struct config_ctx *x, const struct config_key *k,
                              const struct config_node *v, void *obj)
{
    static const struct config_unit none[] = {{NULL, 0, false}};
    char q[CONFIG_QUOTE_MAX + 4];
    uint64_t n = 0;

    if (!config_want_scalar(x, k, v, "auto or a whole number, like 4"))
        return -1;
    if (strcmp(v->text, "auto") == 0) {
        *(unsigned *)((char *)obj + k->offset) = 0;
        return 0;
    }
    if (config_number(v->text, none, false, UINT_MAX, &n) != CONFIG_NUM_OK ||
        n < k->min || n > k->max)
        return config_fail(x, v, "\"workers\" must be auto or a whole number from %llu to %llu, "
                           "not \"%s\"", (unsigned long long)k->min,
                           (unsigned long long)k->max, config_quote(v->text, q));
    *(unsigned *)((char *)obj + k->offset) = (unsigned)n;
    return 0;
}

/* One word of <k>'s row in config_choices[], stored as its index. */
static int config_set_choice(struct config_ctx *x, const struct config_key *k,
                             const struct config_node *v, void *obj)
{
    char q[CONFIG_QUOTE_MAX + 4], label[64], list[128] = "";
    const char *const *words = NULL;
    size_t n = 0;

    for (size_t i = 0; i < sizeof(config_choices) / sizeof(config_choices[0]); i++)
        if (config_choices[i].section == k->section && strcmp(config_choices[i].name, k->name) == 0)
            words = config_choices[i].words;
    if (words == NULL)
        return config_fail(x, v, "internal error: no choices for \"%s\"", k->name);
    while (words[n] != NULL)
        n++;
    /* "a, b, c or d", for messages */
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : i + 1 < n ? ", " : " or ";
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", sep, words[i]);
    }
    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, list))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v->text, words[i]) == 0) {
            *(unsigned *)((char *)obj + k->offset) = (unsigned)i;
            return 0;
        }
    }
    return config_fail(x, v, "\"%s\" must be %s, not \"%s\"", label, list,
                       config_quote(v->text, q));
}

/* "admin.listen": a host and port for plain HTTP; never echo, never tls://. */
static int config_set_admin_listen(struct config_ctx *x, const struct config_key *k,
                                   const struct config_node *v, struct config *c)
{
    char q[CONFIG_QUOTE_MAX + 4], why[128];
    struct addr a;

    if (!config_want_scalar(x, k, v, "a string, like \"127.0.0.1:9090\""))
        return -1;
    if (addr_parse(v->text, false, &a, why, sizeof(why)) < 0)
        return config_fail(x, v, "bad address \"%s\": %s", config_quote(v->text, q), why);
    if (a.tls)
        return config_fail(x, v,
                           "\"admin.listen\" takes no tls://: the admin endpoint speaks "
                           "plain HTTP (keep it on a loopback or private address)");
    if ((c->admin_listen = malloc(sizeof(*c->admin_listen))) == NULL)
        return config_oom(x);
    *c->admin_listen = a;
    x->admin_listen = v;
    return 0;
}

/* "log": its keys, then the rule tying target and file together. */
static int config_set_log(struct config_ctx *x, struct config_node *v, struct config *c)
{
    const struct config_pair *seen[CONFIG_N_KEYS] = {NULL};
    const struct config_key *target = config_key_find(CONFIG_LOG, "target");
    const struct config_key *file = config_key_find(CONFIG_LOG, "file");
    const struct config_key *level = config_key_find(CONFIG_LOG, "level");
    const struct config_pair *at;

    if (v->kind != CONFIG_NODE_MAPPING)
        return config_fail(x, v,
                           "\"log\" must be a mapping, like { target: stderr, level: info, "
                           "format: text }");
    if (config_map_read(x, CONFIG_LOG, v, c, seen) < 0)
        return -1;
    c->log.level_set = seen[level - config_keys] != NULL;
    if (c->log.target == CONFIG_LOG_FILE && c->log.file == NULL) {
        at = seen[target - config_keys];
        return config_fail(x, at->value,
                           "\"log.target: file\" needs \"log.file\", the file to write to");
    }
    if (c->log.target != CONFIG_LOG_FILE && c->log.file != NULL) {
        at = seen[file - config_keys];
        return config_fail(x, at->key,
                           "\"log.file\" applies to \"target: file\" only; this log goes to %s",
                           config_log_targets[c->log.target]);
    }
    return 0;
}

/* Stores value <v> of key <k> into <obj> (struct config or struct route by section). */
static int config_set(struct config_ctx *x, const struct config_key *k, struct config_node *v,
                      void *obj)
{
    char q[CONFIG_QUOTE_MAX + 4];

    switch (k->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
        return config_set_number(x, k, v, obj);
    case CONFIG_T_LISTEN:
        return config_set_listen(x, k, v, obj);
    case CONFIG_T_DIR:
        return config_set_dir(x, k, v, obj);
    case CONFIG_T_HEARTBEAT:
        if (v->kind != CONFIG_NODE_MAPPING)
            return config_fail(x, v,
                               "\"heartbeat\" must be a mapping, like "
                               "{ interval: 30s, timeout: 10s }");
        return config_map_read(x, CONFIG_HEARTBEAT, v, obj, NULL);
    case CONFIG_T_ROUTES:
        if (v->kind != CONFIG_NODE_SEQUENCE)
            return config_fail(x, v, "\"routes\" must be a list of routes");
        x->routes = v; /* read last, when the defaults routes inherit are known */
        return 0;
    case CONFIG_T_PATH:
        if (!config_want_scalar(x, k, v, "a string, like /echo"))
            return -1;
        return config_set_path(x, v, obj);
    case CONFIG_T_TARGET:
        if (!config_want_scalar(x, k, v, "a string, like 127.0.0.1:5901 or echo"))
            return -1;
        return config_set_target(x, v, obj);
    case CONFIG_T_FRAMES:
        if (!config_want_scalar(x, k, v, "binary or text"))
            return -1;
        if (strcmp(v->text, "binary") == 0 || strcmp(v->text, "text") == 0) {
            ((struct route *)obj)->frames =
                v->text[0] == 'b' ? ROUTE_FRAMES_BINARY : ROUTE_FRAMES_TEXT;
            return 0;
        }
        return config_fail(x, v, "\"frames\" must be binary or text, not \"%s\"",
                           config_quote(v->text, q));
    case CONFIG_T_TOKENS:
        return config_set_tokens(x, k, v, obj);
    case CONFIG_T_ADDRESS:
        if (!config_want_scalar(x, k, v, "a string, like 0.0.0.0:443"))
            return -1;
        return config_listen_addr(x, v, &((struct config_listener *)obj)->addr);
    case CONFIG_T_TLS:
        return config_set_tls(x, v, obj);
    case CONFIG_T_FILE:
        return config_set_file(x, k, v, obj);
    case CONFIG_T_BOOL:
        return config_set_bool(x, k, v, obj);
    case CONFIG_T_TLS_VERSION:
        return config_set_tls_version(x, k, v, obj);
    case CONFIG_T_STRING:
        return config_set_string(x, k, v, obj);
    case CONFIG_T_CERTS:
        return config_set_certs(x, k, v, obj);
    case CONFIG_T_NAMES:
        return config_set_names(x, k, v, obj);
    case CONFIG_T_COUNT:
        return config_set_count(x, k, v, obj);
    case CONFIG_T_WORKERS:
        return config_set_workers(x, k, v, obj);
    case CONFIG_T_ORIGINS:
        return config_set_origins(x, k, v, obj);
    case CONFIG_T_HOSTS:
        return config_set_hosts(x, k, v, obj);
    case CONFIG_T_NETS:
        return config_set_nets(x, k, v, obj);
    case CONFIG_T_ADMIN:
        if (v->kind != CONFIG_NODE_MAPPING)
            return config_fail(x, v,
                               "\"admin\" must be a mapping, like { listen: \"127.0.0.1:9090\" }");
        return config_map_read(x, CONFIG_ADMIN, v, obj, NULL);
    case CONFIG_T_ADMIN_LISTEN:
        return config_set_admin_listen(x, k, v, obj);
    case CONFIG_T_LOG:
        return config_set_log(x, v, obj);
    case CONFIG_T_CHOICE:
        return config_set_choice(x, k, v, obj);
    }
    return config_fail(x, v, "internal error: key type %d", (int)k->type);
}

static const struct config_key *config_key_find(enum config_section sec, const char *name)
{
    for (size_t i = 0; i < CONFIG_N_KEYS; i++)
        if (config_keys[i].section == sec && strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

/* Levenshtein distance between <a> and <b>, both at most CONFIG_KEY_NAME_MAX bytes. */
static size_t config_distance(const char *a, const char *b)
{
    size_t row[CONFIG_KEY_NAME_MAX + 1], la = strlen(a), lb = strlen(b);

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int config_fail_unknown(struct config_ctx *x, enum config_section sec,
                               const struct config_node *key)
{
    const char *best = NULL;
    size_t best_d = CONFIG_SUGGEST_DISTANCE + 1;
    char q[CONFIG_QUOTE_MAX + 4];

    for (size_t i = 0; i < CONFIG_N_KEYS && strlen(key->text) <= CONFIG_KEY_NAME_MAX; i++) {
        size_t d;
        if (config_keys[i].section != sec)
            continue;
        d = config_distance(key->text, config_keys[i].name);
        if (d < best_d) {
            best = config_keys[i].name;
            best_d = d;
        }
    }
    config_quote(key->text, q);
    if (best != NULL)
        return config_fail(x, key, "unknown key \"%s\" (did you mean \"%s\"?)", q, best);
    return config_fail(x, key, "unknown key \"%s\"", q);
}

/* Reads mapping <map> of section <sec> into <obj>, in file order, then fills each key not
 * given from its default, or from the top level (CONFIG_INHERIT). <seen>, when not NULL,
 * receives where each key was found (CONFIG_N_KEYS entries). */
static int config_map_read(struct config_ctx *x, enum config_section sec, struct config_node *map,
                           void *obj, const struct config_pair **seen)
{
    const struct config_pair *local[CONFIG_N_KEYS] = {NULL};
    char label[64];

    if (seen == NULL)
        seen = local;
    for (size_t i = 0; i < map->n; i++) {
        const struct config_pair *pair = &map->pairs[i];
        const struct config_key *k;
        size_t row;
        if (pair->key->kind != CONFIG_NODE_SCALAR || pair->key->is_null)
            return config_fail(x, pair->key, "keys must be plain names, like \"listen\"");
        if ((k = config_key_find(sec, pair->key->text)) == NULL)
            return config_fail_unknown(x, sec, pair->key);
        row = (size_t)(k - config_keys);
        config_key_label(k, label, sizeof(label));
        if (seen[row] != NULL)
            return config_fail(x, pair->key, "duplicate key \"%s\" (first at line %u)", label,
                               seen[row]->key->line);
        seen[row] = pair;
        if (pair->value->is_null)
            return config_fail(x, pair->value, "\"%s\" has no value", label);
        if (config_set(x, k, pair->value, obj) < 0)
            return -1;
    }
    for (size_t row = 0; row < CONFIG_N_KEYS; row++) {
        const struct config_key *k = &config_keys[row];
        struct config_node def = {.kind = CONFIG_NODE_SCALAR, .line = 1, .column = 1};
        if (k->section != sec || seen[row] != NULL)
            continue;
        if (k->flags & CONFIG_REQUIRED)
            return config_fail(x, map, "%s has no \"%s\"", config_section_noun[sec], k->name);
        if (k->flags & CONFIG_INHERIT) {
            const struct config_key *top = config_key_find(CONFIG_TOP, k->name);
            *(unsigned *)((char *)obj + k->offset) =
                *(const unsigned *)((const char *)x->c + top->offset);
        } else if (k->type == CONFIG_T_HEARTBEAT || k->type == CONFIG_T_LOG) {
            def.kind = CONFIG_NODE_MAPPING; /* empty: every key of the section takes its default */
            if (config_set(x, k, &def, obj) < 0)
                return -1;
        } else if (k->def != NULL) {
            def.text = (char *)k->def; /* never freed: this node lives on the stack */
            if (config_set(x, k, &def, obj) < 0)
                return -1;
        }
    }
    return 0;
}

/* Reads <r>'s auth_file whole (at most CONFIG_AUTH_FILE_MAX_BYTES) into a new buffer at
 * *<text>. Returns 0, or -1 with "why" in <why>. */
static int config_read_auth_file(const char *file, char **text, size_t *len, char *why,
                                 size_t why_len)
{
    size_t cap = 4096;
    int fd = open(file, O_RDONLY | O_CLOEXEC);

    *text = NULL;
    *len = 0;
    if (fd < 0) {
        snprintf(why, why_len, "%s: %s", file, strerror(errno));
        return -1;
    }
    for (;;) {
        ssize_t got;
        if (*text == NULL || *len == cap) {
            char *grown;
            if (*text != NULL)
                cap *= 2;
            if ((grown = realloc(*text, cap)) == NULL) {
                snprintf(why, why_len, "%s: out of memory", file);
                goto fail;
            }
            *text = grown;
        }
        got = read(fd, *text + *len, cap - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(why, why_len, "%s: %s", file, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        *len += (size_t)got;
        if (*len > CONFIG_AUTH_FILE_MAX_BYTES) {
            snprintf(why, why_len, "%s: larger than %u bytes", file, CONFIG_AUTH_FILE_MAX_BYTES);
            goto fail;
        }
    }
    close(fd);
    return 0;

fail:
    close(fd);
    free(*text);
    *text = NULL;
    return -1;
}

/* Access rules of route <r> once all its keys are read (<seen>: where each was): the
 * Origin rule for clients that send none, the realm's characters, and the users of
 * auth_file, read now so a bad file stops the daemon at start rather than at a request. */
static int config_route_access(struct config_ctx *x, struct route *r,
                               const struct config_pair **seen)
{
    const struct config_key *realm_key = config_key_find(CONFIG_ROUTE, "auth_realm");
    const struct config_key *file_key = config_key_find(CONFIG_ROUTE, "auth_file");
    const struct config_pair *realm = seen[realm_key - config_keys];
    const struct config_pair *file = seen[file_key - config_keys];
    char why[512];
    size_t len;
    char *text;

    /* No "origins": browsers may open the route from pages of the same origin only. */
    if (r->origins == NULL &&
        (r->origins = origin_list_parse(NULL, 0, 0, why, sizeof(why))) == NULL)
        return config_oom(x);
    if (!r->allow_no_origin)
        r->origins->flags |= ORIGIN_REQUIRE;
    /* The realm is sent inside a quoted-string (RFC 7617 §2): keep it printable and plain. */
    for (const char *p = r->auth_realm; p != NULL && *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return config_fail(x, realm->value,
                               "\"auth_realm\" must not contain quotes, backslashes or control "
                               "characters");
    if (r->auth_realm != NULL && strlen(r->auth_realm) > CONFIG_REALM_MAX)
        return config_fail(x, realm->value, "\"auth_realm\" is longer than %d bytes",
                           CONFIG_REALM_MAX);
    if (r->auth_file == NULL)
        return 0;
    if (config_read_auth_file(r->auth_file, &text, &len, why, sizeof(why)) < 0)
        return config_fail_at(x, r->line, r->column, "%s", why);
    /* Messages name the file as the config wrote it, not as joined to its folder. */
    r->users = basicauth_users_parse(text, len, file->value->text, why, sizeof(why));
    free(text);
    if (r->users == NULL)
        return config_fail_at(x, r->line, r->column, "%s", why);
    return 0;
}

static int config_read_routes(struct config_ctx *x, struct config_node *list)
{
    struct config *c = x->c;

    if (list->n > CONFIG_ROUTES_MAX)
        return config_fail(x, list, "more than %d routes", CONFIG_ROUTES_MAX);
    if (list->n == 0)
        return 0;
    c->routes = calloc(list->n, sizeof(*c->routes));
    if (c->routes == NULL)
        return config_oom(x);
    for (size_t i = 0; i < list->n; i++) {
        const struct config_pair *seen[CONFIG_N_KEYS] = {NULL};
        struct config_node *item = list->items[i];
        struct route *r = &c->routes[c->n_routes++];
        if (item->kind != CONFIG_NODE_MAPPING)
            return config_fail(x, item,
                               "each route must be a mapping, like "
                               "{ path: /echo, target: echo }");
        r->line = item->line;
        r->column = item->column;
        if (config_map_read(x, CONFIG_ROUTE, item, r, seen) < 0)
            return -1;
        for (size_t j = 0; j < 2 && !r->target.tls; j++) {
            /* A CA or "verify: false" on a plain target would silently do nothing. */
            static const char *const tls_only[] = {"ca", "verify"};
            const struct config_pair *at =
                seen[config_key_find(CONFIG_ROUTE, tls_only[j]) - config_keys];
            if (at != NULL)
                return config_fail(x, at->key,
                                   "\"%s\" applies to tls:// targets only; this target is plain "
                                   "TCP",
                                   tls_only[j]);
        }
        if (config_route_access(x, r, seen) < 0)
            return -1;
    }
    return 0;
}

/* Rules that tie two keys together, checked once everything is read. */
static int config_check(struct config_ctx *x)
{
    const struct config_key *hi = config_key_find(CONFIG_TOP, "high_watermark");
    const struct config_key *lo = config_key_find(CONFIG_TOP, "low_watermark");
    const struct config_pair *at = x->top[hi - config_keys];
    struct config *c = x->c;
    char a[32], b[32];

    if (at == NULL)
        at = x->top[lo - config_keys];
    if (c->high_watermark_bytes <= c->low_watermark_bytes)
        return config_fail_at(
            x, at != NULL ? at->value->line : 1, at != NULL ? at->value->column : 1,
            "\"high_watermark\" (%s) must be above \"low_watermark\" (%s)",
            config_format_number(c->high_watermark_bytes, config_size_units, a, sizeof(a)),
            config_format_number(c->low_watermark_bytes, config_size_units, b, sizeof(b)));
    if (c->n_routes == 0 && c->web_root == NULL)
        return config_fail_at(x, 1, 1, "nothing to serve: add \"routes\" or \"web_root\"");
    for (size_t i = 0; c->admin_listen != NULL && i < c->n_listen; i++)
        if (c->listen[i].port == c->admin_listen->port &&
            strcmp(c->listen[i].host, c->admin_listen->host) == 0)
            return config_fail(x, x->admin_listen,
                               "\"admin.listen\" is also a \"listen\" address: give the admin "
                               "endpoint a port of its own");
    return 0;
}

/* As config_load, on <len> bytes of YAML at <text>; <name> is used in messages and to
 * resolve a relative web_root (its folder). For tests and fuzzers: any bytes are safe,
 * nothing is kept from <text>. */
struct config *config_parse(const char *name, const char *text, size_t len, char *err,
                            size_t err_len)
{
    return config_parse_env(name, text, len, NULL, err, err_len);
}

struct config *config_parse_env(const char *name, const char *text, size_t len,
                                const char *credentials_dir, char *err, size_t err_len)
{
    struct config_ctx x = {.name = name != NULL ? name : "-",
                           .text = text,
                           .len = len,
                           .err = err,
                           .err_len = err_len,
                           .credentials_dir = credentials_dir};
    struct config_node *root = NULL;
    yaml_parser_t parser;
    bool parser_ready = false;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (text == NULL)
        x.len = len = 0;
    x.c = calloc(1, sizeof(*x.c));
    if (x.c == NULL || (x.c->file = strdup(x.name)) == NULL) {
        config_oom(&x);
        goto fail;
    }
    if (!yaml_parser_initialize(&parser)) {
        config_oom(&x);
        goto fail;
    }
    parser_ready = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)(len > 0 ? text : ""), len);
    if (config_tree_read(&x, &parser, &root) < 0)
        goto fail;
    if (root == NULL || (root->kind == CONFIG_NODE_SCALAR && root->is_null)) {
        config_fail_at(&x, 1, 1, "empty configuration");
        goto fail;
    }
    if (root->kind != CONFIG_NODE_MAPPING) {
        config_fail(&x, root, "the top level must be a mapping of keys, like \"listen: ...\"");
        goto fail;
    }
    if (config_map_read(&x, CONFIG_TOP, root, x.c, x.top) < 0)
        goto fail;
    if (x.routes != NULL && config_read_routes(&x, x.routes) < 0)
        goto fail;
    if (config_check(&x) < 0)
        goto fail;
    config_node_free(root);
    yaml_parser_delete(&parser);
    return x.c;

fail:
    config_node_free(root);
    if (parser_ready)
        yaml_parser_delete(&parser);
    config_free(x.c);
    return NULL;
}

/* Reads and checks <file>. Returns a new config, or NULL with "FILE:LINE:COL: message"
 * (or "FILE: reason" when the file cannot be read) in <err>. Reads at most
 * CONFIG_FILE_MAX_BYTES. */
struct config *config_load(const char *file, char *err, size_t err_len)
{
    struct config_ctx x = {.name = file, .err = err, .err_len = err_len};
    size_t len = 0, cap = 16384;
    char *buf = NULL;
    struct config *c;
    int fd;

    if (file == NULL) {
        x.name = "-";
        config_fail_at(&x, 0, 0, "no configuration file");
        return NULL;
    }
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        config_fail_at(&x, 0, 0, "%s", strerror(errno));
        return NULL;
    }
    for (;;) {
        ssize_t got;
        if (buf == NULL || len == cap) {
            char *grown;
            if (buf != NULL)
                cap *= 2;
            if ((grown = realloc(buf, cap)) == NULL) {
                config_oom(&x);
                goto fail;
            }
            buf = grown;
        }
        got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            config_fail_at(&x, 0, 0, "%s", strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len > CONFIG_FILE_MAX_BYTES) {
            config_fail_at(&x, 0, 0, "larger than %u bytes", CONFIG_FILE_MAX_BYTES);
            goto fail;
        }
    }
    close(fd);
    c = config_parse_env(file, buf, len, getenv(CONFIG_CREDENTIALS_VAR), err, err_len);
    free(buf);
    return c;

fail:
    close(fd);
    free(buf);
    return NULL;
}

static void config_tls_cert_free(struct config_tls_cert *cert)
{
    for (size_t i = 0; i < cert->n_names; i++)
        free(cert->names[i]);
    free(cert->names);
    free(cert->cert_file);
    free(cert->key_file);
    free(cert->key_password_file);
}

static void config_tls_free(struct config_tls *tls)
{
    if (tls == NULL)
        return;
    config_tls_cert_free(&tls->cert);
    for (size_t i = 0; i < tls->n_certs; i++)
        config_tls_cert_free(&tls->certs[i]);
    free(tls->certs);
    free(tls->ca_file);
    free(tls->ciphers);
    free(tls->ciphersuites);
    free(tls);
}

/* Frees <c> and everything it owns; NULL is fine, so is a half-built config. */
void config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; c->routes != NULL && i < c->n_routes; i++) {
        for (size_t j = 0; j < c->routes[i].n_subprotocols; j++)
            free(c->routes[i].subprotocols[j]);
        free(c->routes[i].subprotocols);
        free(c->routes[i].path);
        free(c->routes[i].tls_ca_file);
        origin_list_free(c->routes[i].origins);
        netlist_free(c->routes[i].nets);
        basicauth_users_free(c->routes[i].users);
        free(c->routes[i].auth_file);
        free(c->routes[i].auth_realm);
    }
    free(c->routes);
    for (size_t i = 0; c->listen_tls != NULL && i < c->n_listen; i++)
        config_tls_free(c->listen_tls[i]);
    free(c->listen_tls);
    free(c->listen);
    free(c->web_root);
    free(c->admin_listen);
    free(c->log.file);
    origin_hosts_free(c->hosts);
    free(c->file);
    free(c);
}
