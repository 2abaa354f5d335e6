/*
 * config.c - the route file (YAML, read by yamlnode.c) as a struct config, no I/O. Every
 * key, its type, default and bounds is one row of config_keys[]; the walker here reads a
 * mapping against the table and hands each value to its type's setter (config_value.c,
 * config_tls.c, config_route.c). The top-level keys and the rules tying keys together
 * are here too. Errors are "FILE:LINE:COL: message", 1-based, at the offending key or
 * value; files named by the config are read by config_load.c.
 */
#include "config.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config-internal.h"
#include "netlist.h"
#include "origin.h"
#include "proxyproto.h"
#include "quote.h"
#include "units.h"
#include "yamlnode.h"

#define CONFIG_LISTEN_MAX 64       /* listen addresses */
#define CONFIG_KEY_NAME_MAX 32     /* longest key worth a "did you mean" */
#define CONFIG_SUGGEST_DISTANCE 2  /* edit distance of a "did you mean" */
#define CONFIG_AUTH_THREADS_MAX 16 /* auth_threads: authpool.c's AUTHPOOL_THREADS_MAX */

/* What a section is called in "... has no KEY" messages, and the prefix of its keys'
 * labels ("heartbeat.timeout"). */
static const char *const config_section_noun[] = {
    [CONFIG_TOP] = "the file",    [CONFIG_HEARTBEAT] = "\"heartbeat\"",
    [CONFIG_ROUTE] = "route",     [CONFIG_LISTEN] = "listener",
    [CONFIG_TLS] = "\"tls\"",     [CONFIG_TLS_CERT] = "certificate",
    [CONFIG_ADMIN] = "\"admin\"", [CONFIG_LOG] = "\"log\"",
    [CONFIG_JWT] = "\"tokens.jwt\"",
};
static const char *const config_section_prefix[] = {
    [CONFIG_TOP] = "",         [CONFIG_HEARTBEAT] = "heartbeat.",
    [CONFIG_ROUTE] = "",       [CONFIG_LISTEN] = "",
    [CONFIG_TLS] = "tls.",     [CONFIG_TLS_CERT] = "tls.certificates.",
    [CONFIG_ADMIN] = "admin.", [CONFIG_LOG] = "log.",
    [CONFIG_JWT] = "tokens.jwt.",
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
static_assert(sizeof(enum config_tls_plain) == sizeof(unsigned), "choices store unsigned");
static_assert(sizeof(enum tokenreq_from) == sizeof(unsigned), "choices store unsigned");
static_assert(sizeof(enum route_send_proxy) == sizeof(unsigned), "choices store unsigned");
static_assert(sizeof(enum config_proxy_mode) == sizeof(unsigned), "choices store unsigned");
static_assert(sizeof(enum config_splice) == sizeof(unsigned), "choices store unsigned");
static_assert((int)CONFIG_PROXY_V1 == (int)PROXYPROTO_MODE_V1 &&
                  (int)CONFIG_PROXY_V2 == (int)PROXYPROTO_MODE_V2 &&
                  (int)CONFIG_PROXY_ANY == (int)PROXYPROTO_MODE_ANY,
              "proxy_protocol values are proxyproto.h's modes");
#define CONFIG_KIB 1024u
#define CONFIG_MIB (1024u * 1024u)

/* Every key of the file and every default. etc/wsbridge.yaml repeats these values and
 * tests/unit/test_config.c checks that it does. */
const struct config_key config_keys[] = {
    {CONFIG_TOP, "listen", CONFIG_T_LISTEN, "127.0.0.1:8080", 0, 0, 0, 0},
    {CONFIG_TOP, "web_root", CONFIG_T_DIR, NULL, 0, 0, CONFIG_STR(config, web_root), 0},
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
    {CONFIG_TOP, "drain_timeout", CONFIG_T_DURATION, "5m", 0, UINT_MAX,
     CONFIG_MS(config, drain_timeout_ms), 0},
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
    {CONFIG_TOP, "share_port", CONFIG_T_BOOL, "false", 0, 0, CONFIG_BOOL(config, share_port), 0},
    {CONFIG_TOP, "auth_threads", CONFIG_T_COUNT, "2", 1, CONFIG_AUTH_THREADS_MAX,
     CONFIG_UINT(config, auth_threads), 0},
    {CONFIG_TOP, "splice", CONFIG_T_CHOICE, "auto", 0, 0,
     CONFIG_ENUM(config, splice, config_splice), 0},
    {CONFIG_TOP, "hosts", CONFIG_T_HOSTS, NULL, 0, 0, 0, 0},
    {CONFIG_TOP, "trusted_proxies", CONFIG_T_PROXIES, NULL, 0, 0, 0, 0},
    {CONFIG_TOP, "routes", CONFIG_T_ROUTES, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "path", CONFIG_T_PATH, NULL, 0, 0, 0, CONFIG_REQUIRED},
    /* "target" or "tokens": config_route_read_all requires exactly one */
    {CONFIG_ROUTE, "target", CONFIG_T_TARGET, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "tokens", CONFIG_T_TOKEN_SOURCE, NULL, 0, 0, 0, 0},
    {CONFIG_ROUTE, "token_timeout", CONFIG_T_DURATION, "2s", 1, 600000,
     CONFIG_MS(route, token_timeout_ms), 0},
    {CONFIG_JWT, "key", CONFIG_T_FILE, NULL, 0, 0, CONFIG_STR(route_jwt, key_file),
     CONFIG_REQUIRED},
    {CONFIG_JWT, "algorithms", CONFIG_T_ALGORITHMS, NULL, 0, 0, 0, CONFIG_REQUIRED},
    {CONFIG_JWT, "audience", CONFIG_T_STRING, NULL, 0, 0, CONFIG_STR(route_jwt, audience), 0},
    {CONFIG_JWT, "leeway", CONFIG_T_DURATION, "30s", 0, 86400000,
     CONFIG_MS(route_jwt, leeway_ms), 0},
    {CONFIG_JWT, "require_exp", CONFIG_T_BOOL, "true", 0, 0, CONFIG_BOOL(route_jwt, require_exp),
     0},
    {CONFIG_ROUTE, "token_from", CONFIG_T_CHOICE, "query", 0, 0,
     CONFIG_ENUM(route, token_from, tokenreq_from), 0},
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
    {CONFIG_ROUTE, "send_proxy", CONFIG_T_CHOICE, "off", 0, 0,
     CONFIG_ENUM(route, send_proxy, route_send_proxy), 0},
    {CONFIG_ROUTE, "source", CONFIG_T_SOURCES, NULL, 0, 0, 0, 0},
    {CONFIG_LISTEN, "address", CONFIG_T_ADDRESS, NULL, 0, 0, 0, CONFIG_REQUIRED},
    {CONFIG_LISTEN, "tls", CONFIG_T_TLS, NULL, 0, 0, 0, 0},
    {CONFIG_LISTEN, "mode", CONFIG_T_MODE, "0600", 0, 0, CONFIG_UINT(config_listener, mode), 0},
    {CONFIG_LISTEN, "proxy_protocol", CONFIG_T_CHOICE, "none", 0, 0,
     CONFIG_ENUM(config_listener, proxy.mode, config_proxy_mode), 0},
    {CONFIG_LISTEN, "proxy_from", CONFIG_T_PROXY_FROM, NULL, 0, 0, 0, 0},
    {CONFIG_LISTEN, "v6only", CONFIG_T_BOOL, "true", 0, 0, CONFIG_BOOL(config_listener, v6only), 0},
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
    {CONFIG_TLS, "plain", CONFIG_T_CHOICE, "refuse", 0, 0,
     CONFIG_ENUM(config_tls, plain, config_tls_plain), 0},
    {CONFIG_TLS, "session_tickets", CONFIG_T_BOOL, "true", 0, 0,
     CONFIG_BOOL(config_tls, session_tickets), 0},
    {CONFIG_TLS, "ticket_key_rotation", CONFIG_T_DURATION, "1h", 1000, UINT_MAX,
     CONFIG_MS(config_tls, ticket_key_rotation_ms), 0},
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
    {CONFIG_LOG, "traffic", CONFIG_T_BOOL, "false", 0, 0, CONFIG_BOOL(config, log.traffic), 0},
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
static const char *const config_tls_plains[] = {
    [CONFIG_TLS_PLAIN_REFUSE] = "refuse", [CONFIG_TLS_PLAIN_ALLOW] = "allow", NULL};

static const char *const config_proxy_modes[] = {[CONFIG_PROXY_NONE] = "none",
                                                 [CONFIG_PROXY_V1] = "v1",
                                                 [CONFIG_PROXY_V2] = "v2",
                                                 [CONFIG_PROXY_ANY] = "any",
                                                 NULL};

static const char *const config_token_froms[] = {[TOKENREQ_QUERY] = "query",
                                                 [TOKENREQ_PATH] = "path",
                                                 [TOKENREQ_HOST] = "host",
                                                 [TOKENREQ_HOST_LABEL] = "host_label",
                                                 NULL};

static const char *const config_send_proxies[] = {[ROUTE_SEND_PROXY_OFF] = "off",
                                                  [ROUTE_SEND_PROXY_V1] = "v1",
                                                  [ROUTE_SEND_PROXY_V2] = "v2",
                                                  NULL};

static const char *const config_splices[] = {
    [CONFIG_SPLICE_AUTO] = "auto", [CONFIG_SPLICE_OFF] = "off", NULL};

static const struct config_choice config_choices[] = {
    {CONFIG_TOP, "splice", config_splices},
    {CONFIG_ROUTE, "send_proxy", config_send_proxies},
    {CONFIG_ROUTE, "token_from", config_token_froms},
    {CONFIG_LOG, "target", config_log_targets},
    {CONFIG_LOG, "level", config_log_levels},
    {CONFIG_LOG, "format", config_log_formats},
    {CONFIG_TLS, "plain", config_tls_plains},
    {CONFIG_LISTEN, "proxy_protocol", config_proxy_modes},
};

const size_t config_n_keys = sizeof(config_keys) / sizeof(config_keys[0]);
static_assert(sizeof(config_keys) / sizeof(config_keys[0]) <= CONFIG_KEYS_MAX,
              "config_keys[] outgrew CONFIG_KEYS_MAX, the size of the \"seen\" tables");

/* Writes "FILE:LINE:COL: message" (or "FILE: message" when <line> is 0); returns -1. */
int config_fail_at(struct config_ctx *x, unsigned line, unsigned column, const char *fmt, ...)
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

int config_fail(struct config_ctx *x, const struct yamlnode *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return config_fail_at(x, n->line, n->column, "%s", msg);
}

int config_oom(struct config_ctx *x)
{
    return config_fail_at(x, 0, 0, "out of memory");
}

const struct config_key *config_key_find(enum config_section sec, const char *name)
{
    for (size_t i = 0; i < config_n_keys; i++)
        if (config_keys[i].section == sec && strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

const struct yamlnode_pair *config_seen(const struct yamlnode_pair *const *seen,
                                        enum config_section sec, const char *name)
{
    const struct config_key *k = config_key_find(sec, name);

    assert(k != NULL); /* a name of this file's own table */
    return seen[k - config_keys];
}

/* Name of <k> for messages: "heartbeat.timeout" or "tls.cert" rather than a bare key. */
const char *config_key_label(const struct config_key *k, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", config_section_prefix[k->section], k->name);
    return out;
}

bool config_want_scalar(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        const char *what)
{
    char label[64];

    if (v->kind == YAMLNODE_SCALAR)
        return true;
    config_fail(x, v, "\"%s\" must be %s", config_key_label(k, label, sizeof(label)), what);
    return false;
}

/* Parses listen address <v> into <a>: a host and port or a Unix socket (its path joined
 * to the file's folder), never echo, never tls:// (a TLS listener is a mapping with a
 * "tls" key). */
static int config_listen_addr(struct config_ctx *x, const struct yamlnode *v, struct addr *a)
{
    char q[QUOTE_BUF], why[128], plain[ADDR_HOST_MAX + 16];
    struct addr bare;

    if (addr_parse(v->text, ADDR_ALLOW_SYSTEMD, a, why, sizeof(why)) < 0)
        return config_fail(x, v, "bad address \"%s\": %s", quote_text(v->text, SIZE_MAX, q), why);
    if (!a->tls)
        return config_value_unix_path(x, v, a);
    bare = *a;
    bare.tls = false;
    addr_format(&bare, plain, sizeof(plain));
    return config_fail(x, v,
                       "a TLS listener is written { address: \"%s\", tls: { cert: FILE, key: "
                       "FILE } }, without tls://",
                       plain);
}

static int config_set(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                      void *obj);

/* A listener written as a plain address: the table's defaults of "mode" and "v6only", as
 * config_map_read would set them. */
static int config_listen_defaults(struct config_ctx *x, struct config_listener *l)
{
    static const char *const keys[] = {"mode", "v6only"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct config_key *k = config_key_find(CONFIG_LISTEN, keys[i]);
        struct yamlnode def = {
            .kind = YAMLNODE_SCALAR, .line = 1, .column = 1, .text = (char *)k->def};

        if (config_set(x, k, &def, l) < 0)
            return -1;
    }
    return 0;
}

/* "proxy_from": the networks of the front proxies allowed to send a PROXY header. */
static int config_set_proxy_from(struct config_ctx *x, const struct config_key *k,
                                 struct yamlnode *v, struct config_listener *l)
{
    struct yamlnode *one, **items;
    char why[256];
    size_t n;

    if (config_value_list(x, k, v, &one, &items, &n, NETLIST_MAX,
                          "a network or a list of networks, like [ 10.0.0.5, \"::1/128\" ]") < 0)
        return -1;
    if ((l->proxy.from = netlist_new()) == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++)
        if (netlist_add(l->proxy.from, NETLIST_ALLOW, items[i]->text, why, sizeof(why)) < 0)
            return config_fail(x, items[i], "%s", why);
    return 0;
}

/* Rules tying the keys of listener mapping <l> together, <seen> saying where each was
 * and <at> its address: proxy_protocol and proxy_from go together (a header trusted from
 * anyone would let any client choose its own address), neither on a Unix socket, whose
 * peers have no address to check; v6only on an IPv6 address only. */
static int config_listen_check(struct config_ctx *x, const struct config_listener *l,
                               const struct yamlnode_pair *const *seen, const struct yamlnode *at)
{
    const struct yamlnode_pair *mode = config_seen(seen, CONFIG_LISTEN, "mode");
    const struct yamlnode_pair *proxy = config_seen(seen, CONFIG_LISTEN, "proxy_protocol");
    const struct yamlnode_pair *from = config_seen(seen, CONFIG_LISTEN, "proxy_from");
    const struct yamlnode_pair *v6only = config_seen(seen, CONFIG_LISTEN, "v6only");
    char q[QUOTE_BUF];

    quote_text(at->text, SIZE_MAX, q);
    if (mode != NULL && l->addr.kind != ADDR_UNIX)
        return config_fail(x, mode->key, "\"mode\" applies to unix: listeners only, not to \"%s\"",
                           q);
    if (l->addr.kind == ADDR_UNIX && (proxy != NULL || from != NULL))
        return config_fail(x, proxy != NULL ? proxy->key : from->key,
                           "\"proxy_protocol\" applies to TCP listeners only, not to \"%s\"", q);
    if (l->proxy.mode != CONFIG_PROXY_NONE && l->proxy.from == NULL)
        return config_fail(x, proxy->key,
                           "\"proxy_protocol\" needs \"proxy_from\": the addresses of the proxies "
                           "allowed to send the header, like [ 10.0.0.5 ]");
    if (l->proxy.mode == CONFIG_PROXY_NONE && from != NULL)
        return config_fail(x, from->key,
                           "\"proxy_from\" applies with \"proxy_protocol: v1, v2 or any\" only");
    if (v6only != NULL && (l->addr.kind != ADDR_HOSTPORT || strchr(l->addr.host, ':') == NULL))
        return config_fail(x, v6only->key,
                           "\"v6only\" applies to IPv6 listeners only, like \"[::]:8080\", not "
                           "to \"%s\"",
                           q);
    return 0;
}

/* "listen": one address, or a list of addresses and listener mappings
 * ({ address: ..., tls: { ... } } or { address: "unix:/path", mode: "0660" }); a single
 * mapping stands for a list of one. */
static int config_set_listen(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                             struct config *c)
{
    struct yamlnode *one = v, **items = &one;
    char q[QUOTE_BUF];
    size_t n = 1;

    if (v->kind == YAMLNODE_SEQUENCE) {
        items = v->items;
        n = v->n;
    }
    if (n == 0)
        return config_fail(x, v, "\"%s\" must not be an empty list", k->name);
    if (n > CONFIG_LISTEN_MAX)
        return config_fail(x, v, "\"%s\" has more than %d entries", k->name, CONFIG_LISTEN_MAX);
    c->listen = calloc(n, sizeof(*c->listen));
    c->listen_tls = calloc(n, sizeof(*c->listen_tls));
    c->listen_mode = calloc(n, sizeof(*c->listen_mode));
    c->listen_proxy = calloc(n, sizeof(*c->listen_proxy));
    c->listen_v6only = calloc(n, sizeof(*c->listen_v6only));
    if (c->listen == NULL || c->listen_tls == NULL || c->listen_mode == NULL ||
        c->listen_proxy == NULL || c->listen_v6only == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++) {
        struct yamlnode *item = items[i];
        struct config_listener l = {.tls = NULL};
        const struct yamlnode *at = item;
        int rc;

        if (item->kind == YAMLNODE_MAPPING) {
            const struct yamlnode_pair *seen[CONFIG_KEYS_MAX] = {NULL};
            rc = config_map_read(x, CONFIG_LISTEN, item, &l, seen);
            if (rc == 0) {
                at = config_seen(seen, CONFIG_LISTEN, "address")->value;
                rc = config_listen_check(x, &l, seen, at);
            }
        } else if (item->kind == YAMLNODE_SCALAR && !item->is_null) {
            rc = config_listen_addr(x, item, &l.addr);
            if (rc == 0)
                rc = config_listen_defaults(x, &l);
        } else {
            return config_fail(x, item, "\"%s\" must be a string or a list of strings", k->name);
        }
        /* Stored before the result is looked at, so config_free finds what was built. */
        c->listen[i] = l.addr;
        c->listen_tls[i] = l.tls;
        c->listen_mode[i] = l.addr.kind == ADDR_UNIX ? l.mode : 0;
        c->listen_proxy[i] = l.proxy;
        c->listen_v6only[i] = l.v6only;
        c->n_listen = i + 1;
        if (rc < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (c->listen[j].kind == l.addr.kind && c->listen[j].port == l.addr.port &&
                strcmp(c->listen[j].host, l.addr.host) == 0)
                return config_fail(x, at, "listen address \"%s\" is listed twice",
                                   quote_text(at->text, SIZE_MAX, q));
    }
    return 0;
}

/* "hosts": the Host allowlist, each name checked by origin.c at its own position. */
static int config_set_hosts(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                            struct config *c)
{
    struct yamlnode *one, **items;
    const char **names;
    char why[256];
    size_t n, bad = 0;

    if (config_value_list(x, k, v, &one, &items, &n, ORIGIN_HOSTS_MAX,
                          "a host name or a list of them, like [ app.example.com, "
                          "\"*.example.com\" ]") < 0)
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

/* "trusted_proxies": CIDR networks, each checked by netlist.c at its own position, into
 * the allow list of their own netlist (an empty one would trust everybody: the key is
 * absent or has at least one network). */
static int config_set_trusted_proxies(struct config_ctx *x, const struct config_key *k,
                                      struct yamlnode *v, struct config *c)
{
    struct yamlnode *one, **items;
    char why[256];
    size_t n;

    if (config_value_list(x, k, v, &one, &items, &n, NETLIST_MAX,
                          "a network or a list of networks, like [ 10.0.0.5/32, \"::1/128\" ]") < 0)
        return -1;
    if ((c->trusted_proxies = netlist_new()) == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++)
        if (netlist_add(c->trusted_proxies, NETLIST_ALLOW, items[i]->text, why, sizeof(why)) < 0)
            return config_fail(x, items[i], "%s", why);
    return 0;
}

/* "workers": auto (0: the daemon counts the CPUs, since this file reads no system
 * state) or a thread count within the key's bounds. */
static int config_set_workers(struct config_ctx *x, const struct config_key *k,
                              const struct yamlnode *v, void *obj)
{
    char q[QUOTE_BUF];
    uint64_t n = 0;

    if (!config_want_scalar(x, k, v, "auto or a whole number, like 4"))
        return -1;
    if (strcmp(v->text, "auto") == 0) {
        *(unsigned *)((char *)obj + k->offset) = 0;
        return 0;
    }
    if (units_parse(UNITS_COUNT, v->text, UINT_MAX, &n) != UNITS_OK || n < k->min || n > k->max)
        return config_fail(x, v,
                           "\"workers\" must be auto or a whole number from %llu to %llu, "
                           "not \"%s\"",
                           (unsigned long long)k->min, (unsigned long long)k->max,
                           quote_text(v->text, SIZE_MAX, q));
    *(unsigned *)((char *)obj + k->offset) = (unsigned)n;
    return 0;
}

/* One word of <k>'s row in config_choices[], stored as its index. */
static int config_set_choice(struct config_ctx *x, const struct config_key *k,
                             const struct yamlnode *v, void *obj)
{
    char q[QUOTE_BUF], label[64], list[128] = "";
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
                       quote_text(v->text, SIZE_MAX, q));
}

/* "admin.listen": a host and port for plain HTTP; never echo, never tls://. */
static int config_set_admin_listen(struct config_ctx *x, const struct config_key *k,
                                   const struct yamlnode *v, struct config *c)
{
    char q[QUOTE_BUF], why[128];
    struct addr a;

    if (!config_want_scalar(x, k, v, "a string, like \"127.0.0.1:9090\""))
        return -1;
    if (addr_parse(v->text, ADDR_ALLOW_SYSTEMD, &a, why, sizeof(why)) < 0)
        return config_fail(x, v, "bad address \"%s\": %s", quote_text(v->text, SIZE_MAX, q), why);
    if (a.tls)
        return config_fail(x, v,
                           "\"admin.listen\" takes no tls://: the admin endpoint speaks "
                           "plain HTTP (keep it on a loopback or private address)");
    if (a.kind == ADDR_UNIX || a.kind == ADDR_SYSTEMD)
        return config_fail(x, v, "\"admin.listen\" takes a host and port, not a %s",
                           a.kind == ADDR_UNIX ? "Unix socket" : "systemd: socket");
    if ((c->admin_listen = malloc(sizeof(*c->admin_listen))) == NULL)
        return config_oom(x);
    *c->admin_listen = a;
    x->admin_listen = v;
    return 0;
}

/* "log": its keys, then the rule tying target and file together. */
static int config_set_log(struct config_ctx *x, struct yamlnode *v, struct config *c)
{
    const struct yamlnode_pair *seen[CONFIG_KEYS_MAX] = {NULL};

    if (v->kind != YAMLNODE_MAPPING)
        return config_fail(x, v,
                           "\"log\" must be a mapping, like { target: stderr, level: info, "
                           "format: text }");
    if (config_map_read(x, CONFIG_LOG, v, c, seen) < 0)
        return -1;
    c->log.level_set = config_seen(seen, CONFIG_LOG, "level") != NULL;
    if (c->log.target == CONFIG_LOG_FILE && c->log.file == NULL)
        return config_fail(x, config_seen(seen, CONFIG_LOG, "target")->value,
                           "\"log.target: file\" needs \"log.file\", the file to write to");
    if (c->log.target != CONFIG_LOG_FILE && c->log.file != NULL)
        return config_fail(x, config_seen(seen, CONFIG_LOG, "file")->key,
                           "\"log.file\" applies to \"target: file\" only; this log goes to %s",
                           config_log_targets[c->log.target]);
    return 0;
}

/* A mapping of section <sec> under key <k>, or "\"KEY\" must be a mapping, like <like>". */
static int config_set_mapping(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                              enum config_section sec, void *obj, const char *like)
{
    if (v->kind != YAMLNODE_MAPPING)
        return config_fail(x, v, "\"%s\" must be a mapping, like %s", k->name, like);
    return config_map_read(x, sec, v, obj, NULL);
}

/* Stores value <v> of key <k> into <obj> (struct config or struct route by section). */
static int config_set(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                      void *obj)
{
    switch (k->type) {
    case CONFIG_T_DURATION:
    case CONFIG_T_SIZE:
        return config_value_number(x, k, v, obj);
    case CONFIG_T_LISTEN:
        return config_set_listen(x, k, v, obj);
    case CONFIG_T_DIR:
        return config_value_dir(x, k, v, obj);
    case CONFIG_T_HEARTBEAT:
        return config_set_mapping(x, k, v, CONFIG_HEARTBEAT, obj,
                                  "{ interval: 30s, timeout: 10s }");
    case CONFIG_T_ROUTES:
        if (v->kind != YAMLNODE_SEQUENCE)
            return config_fail(x, v, "\"routes\" must be a list of routes");
        x->routes = v; /* read last, when the defaults routes inherit are known */
        return 0;
    case CONFIG_T_PATH:
        return config_route_path(x, k, v, obj);
    case CONFIG_T_TARGET:
        return config_route_target(x, k, v, obj);
    case CONFIG_T_FRAMES:
        return config_route_frames(x, k, v, obj);
    case CONFIG_T_TOKENS:
        return config_route_tokens(x, k, v, obj);
    case CONFIG_T_ADDRESS:
        if (!config_want_scalar(x, k, v, "a string, like 0.0.0.0:443"))
            return -1;
        return config_listen_addr(x, v, &((struct config_listener *)obj)->addr);
    case CONFIG_T_TLS:
        return config_tls_read(x, v, obj);
    case CONFIG_T_FILE:
        return config_value_file(x, k, v, obj);
    case CONFIG_T_BOOL:
        return config_value_bool(x, k, v, obj);
    case CONFIG_T_TLS_VERSION:
        return config_tls_version(x, k, v, obj);
    case CONFIG_T_STRING:
        return config_value_string(x, k, v, obj);
    case CONFIG_T_CERTS:
        return config_tls_certs(x, k, v, obj);
    case CONFIG_T_NAMES:
        return config_tls_names(x, k, v, obj);
    case CONFIG_T_COUNT:
        return config_value_count(x, k, v, obj);
    case CONFIG_T_WORKERS:
        return config_set_workers(x, k, v, obj);
    case CONFIG_T_ORIGINS:
        return config_route_origins(x, k, v, obj);
    case CONFIG_T_HOSTS:
        return config_set_hosts(x, k, v, obj);
    case CONFIG_T_NETS:
        return config_route_nets(x, k, v, obj);
    case CONFIG_T_SOURCES:
        return config_route_sources(x, k, v, obj);
    case CONFIG_T_PROXIES:
        return config_set_trusted_proxies(x, k, v, obj);
    case CONFIG_T_ADMIN:
        return config_set_mapping(x, k, v, CONFIG_ADMIN, obj, "{ listen: \"127.0.0.1:9090\" }");
    case CONFIG_T_ADMIN_LISTEN:
        return config_set_admin_listen(x, k, v, obj);
    case CONFIG_T_LOG:
        return config_set_log(x, v, obj);
    case CONFIG_T_CHOICE:
        return config_set_choice(x, k, v, obj);
    case CONFIG_T_MODE:
        return config_value_mode(x, k, v, obj);
    case CONFIG_T_TOKEN_SOURCE:
        return config_route_token_source(x, k, v, obj);
    case CONFIG_T_ALGORITHMS:
        return config_route_algorithms(x, k, v, obj);
    case CONFIG_T_PROXY_FROM:
        return config_set_proxy_from(x, k, v, obj);
    }
    return config_fail(x, v, "internal error: key type %d", (int)k->type);
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

/* "unknown key", with the nearest key of <sec> when one is close enough to be a typo. */
static int config_fail_unknown(struct config_ctx *x, enum config_section sec,
                               const struct yamlnode *key)
{
    const char *best = NULL;
    size_t best_d = CONFIG_SUGGEST_DISTANCE + 1;
    char q[QUOTE_BUF];

    for (size_t i = 0; i < config_n_keys && strlen(key->text) <= CONFIG_KEY_NAME_MAX; i++) {
        size_t d;
        if (config_keys[i].section != sec)
            continue;
        d = config_distance(key->text, config_keys[i].name);
        if (d < best_d) {
            best = config_keys[i].name;
            best_d = d;
        }
    }
    quote_text(key->text, SIZE_MAX, q);
    if (best != NULL)
        return config_fail(x, key, "unknown key \"%s\" (did you mean \"%s\"?)", q, best);
    return config_fail(x, key, "unknown key \"%s\"", q);
}

/* Reads mapping <map> of section <sec> into <obj>, in file order, then fills each key not
 * given from its default, or from the top level (CONFIG_INHERIT). <seen>, when not NULL,
 * receives where each key was found (CONFIG_KEYS_MAX entries). */
int config_map_read(struct config_ctx *x, enum config_section sec, struct yamlnode *map, void *obj,
                    const struct yamlnode_pair **seen)
{
    const struct yamlnode_pair *local[CONFIG_KEYS_MAX] = {NULL};
    char label[64];

    if (seen == NULL)
        seen = local;
    for (size_t i = 0; i < map->n; i++) {
        const struct yamlnode_pair *pair = &map->pairs[i];
        const struct config_key *k;
        size_t row;
        if (pair->key->kind != YAMLNODE_SCALAR || pair->key->is_null)
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
    for (size_t row = 0; row < config_n_keys; row++) {
        const struct config_key *k = &config_keys[row];
        struct yamlnode def = {.kind = YAMLNODE_SCALAR, .line = 1, .column = 1};
        if (k->section != sec || seen[row] != NULL)
            continue;
        if (k->flags & CONFIG_REQUIRED)
            return config_fail(x, map, "%s has no \"%s\"", config_section_noun[sec], k->name);
        if (k->flags & CONFIG_INHERIT) {
            const struct config_key *top = config_key_find(CONFIG_TOP, k->name);
            *(unsigned *)((char *)obj + k->offset) =
                *(const unsigned *)((const char *)x->c + top->offset);
        } else if (k->type == CONFIG_T_HEARTBEAT || k->type == CONFIG_T_LOG) {
            def.kind = YAMLNODE_MAPPING; /* empty: every key of the section takes its default */
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

/* Rules that tie two keys together, checked once everything is read. */
static int config_check(struct config_ctx *x)
{
    const struct yamlnode_pair *at = config_seen(x->top, CONFIG_TOP, "high_watermark");
    struct config *c = x->c;
    char a[32], b[32];

    if (at == NULL)
        at = config_seen(x->top, CONFIG_TOP, "low_watermark");
    if (c->high_watermark_bytes <= c->low_watermark_bytes)
        return config_fail_at(x, at != NULL ? at->value->line : 1,
                              at != NULL ? at->value->column : 1,
                              "\"high_watermark\" (%s) must be above \"low_watermark\" (%s)",
                              units_format(UNITS_SIZE_BYTES, c->high_watermark_bytes, a, sizeof(a)),
                              units_format(UNITS_SIZE_BYTES, c->low_watermark_bytes, b, sizeof(b)));
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
                           .err = err,
                           .err_len = err_len,
                           .credentials_dir = credentials_dir};
    struct yamlnode_error yerr;
    struct yamlnode *root = NULL;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    x.c = calloc(1, sizeof(*x.c));
    if (x.c == NULL || (x.c->file = strdup(x.name)) == NULL) {
        config_oom(&x);
        goto fail;
    }
    if (yamlnode_read(text, len, &root, &yerr) < 0) {
        config_fail_at(&x, yerr.line, yerr.column, "%s", yerr.message);
        goto fail;
    }
    if (root == NULL || (root->kind == YAMLNODE_SCALAR && root->is_null)) {
        config_fail_at(&x, 1, 1, "empty configuration");
        goto fail;
    }
    if (root->kind != YAMLNODE_MAPPING) {
        config_fail(&x, root, "the top level must be a mapping of keys, like \"listen: ...\"");
        goto fail;
    }
    if (config_map_read(&x, CONFIG_TOP, root, x.c, x.top) < 0)
        goto fail;
    if (x.routes != NULL && config_route_read_all(&x, x.routes) < 0)
        goto fail;
    if (config_check(&x) < 0)
        goto fail;
    yamlnode_free(root);
    return x.c;

fail:
    yamlnode_free(root);
    config_free(x.c);
    return NULL;
}

/* Frees <c> and everything it owns; NULL is fine, so is a half-built config. */
void config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; c->routes != NULL && i < c->n_routes; i++)
        config_route_free(&c->routes[i]);
    free(c->routes);
    for (size_t i = 0; c->listen_tls != NULL && i < c->n_listen; i++)
        config_tls_free(c->listen_tls[i]);
    free(c->listen_tls);
    for (size_t i = 0; c->listen_proxy != NULL && i < c->n_listen; i++)
        netlist_free(c->listen_proxy[i].from);
    free(c->listen_proxy);
    free(c->listen_v6only);
    free(c->listen_mode);
    free(c->listen);
    free(c->web_root);
    free(c->admin_listen);
    free(c->log.file);
    origin_hosts_free(c->hosts);
    netlist_free(c->trusted_proxies);
    free(c->file);
    free(c);
}
