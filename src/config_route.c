/*
 * config_route.c - the "routes:" list of the route file, no I/O: each route's path and
 * target, subprotocols and frame type, per-route limits, and its access rules (Origins
 * by origin.c, allow and deny networks by netlist.c, the Basic realm). An auth_file is
 * only named here; config_load.c reads it when the running configuration is built.
 */
#include "config-internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basicauth.h"
#include "jwt.h"
#include "netlist.h"
#include "origin.h"
#include "quote.h"
#include "redisurl.h"

#define CONFIG_ROUTES_MAX 4096     /* routes; duplicate checks are quadratic */
#define CONFIG_SUBPROTOCOLS_MAX 64 /* subprotocols of one route */
#define CONFIG_ORIGINS_MAX 256     /* origin patterns of one route */
#define CONFIG_ALGORITHMS_MAX 3    /* names under tokens.jwt.algorithms */

/* Route paths are compared byte for byte with request targets, which are ASCII
 * (RFC 3986 §2: other bytes arrive percent-encoded), so a path that could never match
 * is refused here rather than left silently unused. */
int config_route_path(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      struct route *r)
{
    char q[QUOTE_BUF];
    const char *p;
    size_t len;

    if (!config_want_scalar(x, k, v, "a string, like /echo"))
        return -1;
    p = v->text;
    len = strlen(p);
    quote_text(p, SIZE_MAX, q);
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

/* "target": host:port, tls://host:port, unix:/path or echo (addr.c). */
int config_route_target(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        struct route *r)
{
    char q[QUOTE_BUF], why[128];

    if (!config_want_scalar(x, k, v, "a string, like 127.0.0.1:5901 or echo"))
        return -1;
    if (addr_parse(v->text, ADDR_ALLOW_ECHO, &r->target, why, sizeof(why)) < 0)
        return config_fail(x, v, "bad address \"%s\": %s", quote_text(v->text, SIZE_MAX, q), why);
    return config_value_unix_path(x, v, &r->target);
}

/* "frames": binary or text. */
int config_route_frames(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        struct route *r)
{
    char q[QUOTE_BUF];

    if (!config_want_scalar(x, k, v, "binary or text"))
        return -1;
    if (strcmp(v->text, "binary") == 0 || strcmp(v->text, "text") == 0) {
        r->frames = v->text[0] == 'b' ? ROUTE_FRAMES_BINARY : ROUTE_FRAMES_TEXT;
        return 0;
    }
    return config_fail(x, v, "\"frames\" must be binary or text, not \"%s\"",
                       quote_text(v->text, SIZE_MAX, q));
}

/* RFC 7230 §3.2.6 tchar: what a Sec-WebSocket-Protocol value may hold (RFC 6455 §4.1). */
static bool config_route_is_token(const char *s)
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

/* "subprotocols": tokens, none twice; or "none" alone, which turns the default ("binary",
 * else the client's first offer) off. */
int config_route_tokens(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                        struct route *r)
{
    struct yamlnode *one, **items;
    char q[QUOTE_BUF];
    size_t n;

    if (v->kind == YAMLNODE_SCALAR && strcmp(v->text, "none") == 0) {
        r->subprotocols_none = true;
        return 0;
    }
    if (config_value_list(x, k, v, &one, &items, &n, CONFIG_SUBPROTOCOLS_MAX,
                          "a token or a list of tokens") < 0)
        return -1;
    r->subprotocols = calloc(n, sizeof(*r->subprotocols));
    if (r->subprotocols == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++) {
        const char *t = items[i]->text;
        if (!config_route_is_token(t))
            return config_fail(x, items[i],
                               "subprotocol \"%s\" is not a token (RFC 7230: letters, digits "
                               "and !#$%%&'*+-.^_`|~)",
                               quote_text(t, SIZE_MAX, q));
        if (strcmp(t, "none") == 0)
            return config_fail(x, items[i],
                               "\"none\" is not a subprotocol: write \"subprotocols: none\" "
                               "alone to answer only \"binary\"");
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->subprotocols[j], t) == 0)
                return config_fail(x, items[i], "subprotocol \"%s\" is listed twice",
                                   quote_text(t, SIZE_MAX, q));
        if ((r->subprotocols[i] = strdup(t)) == NULL)
            return config_oom(x);
        r->n_subprotocols = i + 1;
    }
    return 0;
}

/* "origins": parsed by origin.c now, so a bad pattern is reported at its own line and
 * column. ORIGIN_REQUIRE is added once "allow_no_origin" is known. */
int config_route_origins(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                         struct route *r)
{
    struct yamlnode *one, **items;
    const char **patterns;
    char why[256];
    size_t n;

    if (config_value_list(x, k, v, &one, &items, &n, CONFIG_ORIGINS_MAX,
                          "an origin or a list of origins, like [ \"https://app.example.com\" ]") <
        0)
        return -1;
    if ((patterns = calloc(n, sizeof(*patterns))) == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++)
        patterns[i] = items[i]->text;
    r->origins = origin_list_parse(patterns, n, 0, why, sizeof(why));
    if (r->origins == NULL) {
        /* The message numbers the pattern (1-based): place the error at that item. */
        const struct yamlnode *at = v;
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

/* "allow" and "deny": CIDR networks into the route's lists, each checked by netlist.c. */
int config_route_nets(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                      struct route *r)
{
    enum netlist_which which = strcmp(k->name, "deny") == 0 ? NETLIST_DENY : NETLIST_ALLOW;
    struct yamlnode *one, **items;
    char why[256];
    size_t n;

    if (config_value_list(x, k, v, &one, &items, &n, NETLIST_MAX,
                          "a network or a list of networks, like [ 10.0.0.0/8, \"::1/128\" ]") < 0)
        return -1;
    if (r->nets == NULL && (r->nets = netlist_new()) == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++)
        if (netlist_add(r->nets, which, items[i]->text, why, sizeof(why)) < 0)
            return config_fail(x, items[i], "%s", why);
    return 0;
}

int config_route_sources(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                         struct route *r)
{
    struct yamlnode *one, **items;
    size_t n;

    if (config_value_list(x, k, v, &one, &items, &n, CONFIG_SOURCES_MAX,
                          "an IP address or a list of them, like [ 127.0.0.2, 127.0.0.3 ]") < 0)
        return -1;
    r->sources = calloc(n, sizeof(*r->sources));
    if (r->sources == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in *in = (struct sockaddr_in *)&r->sources[i];
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&r->sources[i];
        if (inet_pton(AF_INET, items[i]->text, &in->sin_addr) == 1)
            in->sin_family = AF_INET;
        else if (inet_pton(AF_INET6, items[i]->text, &in6->sin6_addr) == 1)
            in6->sin6_family = AF_INET6;
        else
            return config_fail(x, items[i],
                               "\"source\": \"%s\" is not a numeric IPv4 or IPv6 address "
                               "(no port, no name)",
                               items[i]->text);
        r->n_sources++;
    }
    return 0;
}

/* "source" of route <r> (read at <at>) once its target is known: a fixed target at a
 * numeric address of the same family as every source. */
static int config_route_source_rules(struct config_ctx *x, const struct route *r,
                                     const struct yamlnode_pair *at)
{
    struct in6_addr a6;
    struct in_addr a4;
    int family;

    if (at == NULL)
        return 0;
    if (r->target.kind != ADDR_HOSTPORT || r->target.host[0] == '\0')
        return config_fail(x, at->key,
                           "\"source\" needs a fixed target at a numeric address, like "
                           "127.0.0.1:5900; this route's target is not one");
    family = inet_pton(AF_INET, r->target.host, &a4) == 1    ? AF_INET
             : inet_pton(AF_INET6, r->target.host, &a6) == 1 ? AF_INET6
                                                             : AF_UNSPEC;
    if (family == AF_UNSPEC)
        return config_fail(x, at->key,
                           "\"source\" needs a target at a numeric address; \"%s\" is a name",
                           r->target.host);
    for (size_t i = 0; i < r->n_sources; i++)
        if (r->sources[i].ss_family != family)
            return config_fail(x, at->value,
                               "\"source\": every address must be %s, like the target %s",
                               family == AF_INET ? "IPv4" : "IPv6", r->target.host);
    return 0;
}

/* Access rules of route <r> once all its keys are read (<seen>: where each was): the
 * Origin rule for clients that send none, the realm's characters, and for an auth_file
 * its name as written (for the messages of config_load_files) and a list of no users,
 * which refuses everyone until config_load_files reads the file: a route that asks for
 * a password never lets a client in unchecked, whoever builds the config. */
static int config_route_access(struct config_ctx *x, struct route *r,
                               const struct yamlnode_pair *const *seen)
{
    const struct yamlnode_pair *realm = config_seen(seen, CONFIG_ROUTE, "auth_realm");
    const struct yamlnode_pair *file = config_seen(seen, CONFIG_ROUTE, "auth_file");
    char why[512];

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
    if ((r->auth_file_name = strdup(file->value->text)) == NULL ||
        (r->users = basicauth_users_parse("", 0, r->auth_file_name, why, sizeof(why))) == NULL)
        return config_oom(x);
    return 0;
}

/* The target rules of route <r> (mapping <item>, keys found at <seen>): a fixed "target"
 * or a token file ("tokens"), exactly one; "token_from" only with "tokens", and "path"
 * only on a prefix route, whose last segment the token is. */
static int config_route_tokens_rules(struct config_ctx *x, const struct route *r,
                                     const struct yamlnode *item,
                                     const struct yamlnode_pair *const *seen)
{
    const struct yamlnode_pair *target = config_seen(seen, CONFIG_ROUTE, "target");
    const struct yamlnode_pair *tokens = config_seen(seen, CONFIG_ROUTE, "tokens");
    const struct yamlnode_pair *from = config_seen(seen, CONFIG_ROUTE, "token_from");
    const struct yamlnode_pair *timeout = config_seen(seen, CONFIG_ROUTE, "token_timeout");

    if (target == NULL && tokens == NULL)
        return config_fail(x, item,
                           "route has no \"target\" (or \"tokens\", a websockify token file "
                           "or folder)");
    if (target != NULL && tokens != NULL)
        return config_fail(x, tokens->key,
                           "a route has \"target\" or \"tokens\", not both: its target is "
                           "fixed, or it comes from a token");
    if (timeout != NULL && r->tokens_redis == NULL)
        return config_fail(x, timeout->key,
                           "\"token_timeout\" applies to routes whose \"tokens\" are in "
                           "Redis");
    if (from != NULL && tokens == NULL)
        return config_fail(x, from->key, "\"token_from\" applies to routes with \"tokens\"");
    if (from != NULL && r->token_from == TOKENREQ_PATH && !r->prefix)
        return config_fail(x, from->value,
                           "\"token_from: path\" needs a prefix route, like \"/vnc/*\": the "
                           "token is the last segment after its prefix");
    return 0;
}

/* "tokens": a websockify token file or folder (a file name), a Redis URL (redisurl.h),
 * or a mapping { jwt: { key: FILE, algorithms: [...], ... } }. */
int config_route_token_source(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                              struct route *r)
{
    const struct yamlnode_pair *seen[CONFIG_KEYS_MAX] = {NULL};
    struct config_key file_key = *k;
    struct yamlnode *jv;
    char why[256];

    if (v->kind == YAMLNODE_SCALAR && !v->is_null && redisurl_is_redis(v->text)) {
        if ((r->tokens_redis = malloc(sizeof(*r->tokens_redis))) == NULL)
            return config_oom(x);
        if (redisurl_parse(v->text, r->tokens_redis, why, sizeof(why)) != 0)
            return config_fail(x, v, "\"tokens\": Redis URL: %s", why);
        return 0;
    }
    if (v->kind != YAMLNODE_MAPPING) {
        file_key.type = CONFIG_T_FILE;
        file_key.offset = offsetof(struct route, tokens);
        return config_value_file(x, &file_key, v, r);
    }
    if (v->n != 1 || strcmp(v->pairs[0].key->text, "jwt") != 0)
        return config_fail(x, v,
                           "\"tokens\" must be a token file, a Redis URL "
                           "(redis://HOST:PORT/DB) or { jwt: { key: FILE, algorithms: "
                           "[ES256] } }");
    jv = v->pairs[0].value;
    if (jv->kind != YAMLNODE_MAPPING)
        return config_fail(x, jv,
                           "\"tokens.jwt\" must be a mapping, like { key: FILE, "
                           "algorithms: [ES256] }");
    if ((r->tokens_jwt = calloc(1, sizeof(*r->tokens_jwt))) == NULL)
        return config_oom(x);
    if (config_map_read(x, CONFIG_JWT, jv, r->tokens_jwt, seen) < 0)
        return -1;
    if ((r->tokens_jwt->key_file_name =
             strdup(config_seen(seen, CONFIG_JWT, "key")->value->text)) == NULL)
        return config_oom(x);
    return 0;
}

/* "tokens.jwt.algorithms": ES256, RS256, HS256, one or a list, none twice. */
int config_route_algorithms(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                            struct route_jwt *j)
{
    struct yamlnode *one, **items;
    size_t n;

    if (config_value_list(x, k, v, &one, &items, &n, CONFIG_ALGORITHMS_MAX,
                          "an algorithm or a list of them, like [ ES256, RS256 ]") < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned bit = jwt_alg_from_name(items[i]->text);
        if (bit == 0)
            return config_fail(x, items[i],
                               "\"tokens.jwt.algorithms\": \"%s\" is not ES256, RS256 or "
                               "HS256 (\"none\" is never accepted)",
                               items[i]->text);
        if (j->algorithms & bit)
            return config_fail(x, items[i], "\"tokens.jwt.algorithms\": %s is listed twice",
                               items[i]->text);
        j->algorithms |= bit;
    }
    return 0;
}

/* Reads every route of <list>: see config-internal.h. */
int config_route_read_all(struct config_ctx *x, struct yamlnode *list)
{
    /* A CA or "verify: false" on a plain target would silently do nothing. */
    static const char *const tls_only[] = {"ca", "verify"};
    struct config *c = x->c;

    if (list->n > CONFIG_ROUTES_MAX)
        return config_fail(x, list, "more than %d routes", CONFIG_ROUTES_MAX);
    if (list->n == 0)
        return 0;
    c->routes = calloc(list->n, sizeof(*c->routes));
    if (c->routes == NULL)
        return config_oom(x);
    for (size_t i = 0; i < list->n; i++) {
        const struct yamlnode_pair *seen[CONFIG_KEYS_MAX] = {NULL};
        struct yamlnode *item = list->items[i];
        struct route *r = &c->routes[c->n_routes++];
        if (item->kind != YAMLNODE_MAPPING)
            return config_fail(x, item,
                               "each route must be a mapping, like "
                               "{ path: /echo, target: echo }");
        r->line = item->line;
        r->column = item->column;
        if (config_map_read(x, CONFIG_ROUTE, item, r, seen) < 0)
            return -1;
        if (config_route_tokens_rules(x, r, item, seen) < 0)
            return -1;
        for (size_t j = 0; j < sizeof(tls_only) / sizeof(tls_only[0]) && !r->target.tls; j++) {
            const struct yamlnode_pair *at = config_seen(seen, CONFIG_ROUTE, tls_only[j]);
            if (at != NULL)
                return config_fail(x, at->key,
                                   "\"%s\" applies to tls:// targets only; this target is plain "
                                   "TCP",
                                   tls_only[j]);
        }
        if (config_route_access(x, r, seen) < 0)
            return -1;
        if (config_route_source_rules(x, r, config_seen(seen, CONFIG_ROUTE, "source")) < 0)
            return -1;
        if (r->send_proxy != ROUTE_SEND_PROXY_OFF && r->target.kind == ADDR_ECHO)
            return config_fail(x, config_seen(seen, CONFIG_ROUTE, "send_proxy")->key,
                               "\"send_proxy\" needs a target that reads it; the built-in "
                               "echo would echo the header");
    }
    return 0;
}

/* Frees what <r> owns; a half-read route is fine. */
void config_route_free(struct route *r)
{
    for (size_t j = 0; j < r->n_subprotocols; j++)
        free(r->subprotocols[j]);
    free(r->subprotocols);
    free(r->path);
    free(r->tokens);
    free(r->tokens_redis);
    if (r->tokens_jwt != NULL) {
        free(r->tokens_jwt->key_file);
        free(r->tokens_jwt->key_file_name);
        free(r->tokens_jwt->audience);
        free(r->tokens_jwt);
    }
    free(r->tls_ca_file);
    origin_list_free(r->origins);
    netlist_free(r->nets);
    basicauth_users_free(r->users);
    free(r->auth_file);
    free(r->auth_file_name);
    free(r->auth_realm);
    free(r->sources);
}
