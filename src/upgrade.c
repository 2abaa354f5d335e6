/*
 * upgrade.c - the bridge's request handler. Cheapest checks first: the Host, the route,
 * the RFC 6455 handshake (handshake.c), the route's address and Origin rules, the
 * connection limits, and only then the password, hashed on the pool while the connection
 * waits; a request that passes becomes a WebSocket client. A plain request goes to the
 * web root when no route matches, or when it is a GET or HEAD of a file there.
 */
#include "upgrade.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "authpool.h"
#include "basicauth.h"
#include "config.h"
#include "handshake.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "netlist.h"
#include "origin.h"
#include "ratelimit.h"
#include "reqclient.h"
#include "route.h"
#include "runconf.h"
#include "static.h"
#include "tokenredis.h"
#include "tokens.h"
#include "wsclient.h"

/* <hc>'s request target for a log line: a token in it hidden (httpconn_log_url). */
#define UPGRADE_LOG_URL(hc) LOG_Q(httpconn_log_url((hc), (char[LOG_QUOTE_MAX]){0}, LOG_QUOTE_MAX))

/* What an upgrade waits for (the httpconn's wait starts with it). */
enum upgrade_wait_kind {
    UPGRADE_WAIT_AUTH = 0, /* a password check on the pool: struct upgrade_auth */
    UPGRADE_WAIT_TOKEN,    /* a token lookup in Redis: struct upgrade_token */
};

/* An upgrade waiting for its password check (the httpconn's wait). */
struct upgrade_auth {
    enum upgrade_wait_kind kind;  /* UPGRADE_WAIT_AUTH */
    struct authpool_job *job;     /* the check on the pool; cancelled if we go first */
    struct runconf *conf;         /* a reference, keeping route alive */
    const struct route *route;    /* in conf; counted (connlimits_upgrade) */
    struct handshake_result hs;   /* the handshake's verdict, for the 101 */
};

/* An upgrade waiting for its token's target from Redis (the httpconn's wait). */
struct upgrade_token {
    enum upgrade_wait_kind kind;           /* UPGRADE_WAIT_TOKEN */
    struct tokenredis_lookup *lookup;      /* under way; cancelled if we go first */
    struct runconf *conf;                  /* a reference, keeping route alive */
    const struct route *route;             /* in conf; counted (connlimits_upgrade) */
    struct handshake_result hs;            /* the handshake's verdict, for the 101 */
    char hash[TOKENFILE_LOG_HASH_LEN + 1]; /* the token's log hash */
};

/* The 503 warn line of a limit reached: a peer may repeat it at will. */
static struct ratelimit upgrade_limit_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);

static void upgrade_dispatch(struct httpconn *hc, void *arg);

/* Gives up <ua>, a password check under way for <hc>: the job is cancelled (its result is
 * never delivered), the client's route count given back and the configuration let go. */
static void upgrade_auth_abandon(struct httpconn *hc, struct upgrade_auth *ua)
{
    if (ua->job != NULL)
        authpool_cancel(ua->job);
    connlimits_leave_route(&hc->slot);
    runconf_unref(ua->conf);
    free(ua);
}

/* Refuses an upgrade: counts the failure by <status> and <detail> (a short static text:
 * it becomes a label value), then answers (<headers> NULL: none) and closes. */
static void upgrade_refuse(struct httpconn *hc, int status, const char *detail,
                           const char *headers)
{
    metrics_count_failure(hc->loop->metrics, status, detail);
    httpconn_reply_error(hc, status, detail, headers);
}

/* The route's cheap access rules and the connection limits, in that order, after the
 * handshake checks and before any password is hashed, so that a refused client costs
 * little and never causes a connection to the target. Returns true if <hc> may go on,
 * counted as a client of <route> (connlimits_upgrade: every later refusal gives the route
 * count back with connlimits_leave_route); otherwise it has been answered (403 or 503) and
 * closed. */
static bool upgrade_admit(struct httpconn *hc, const struct route *route)
{
    const struct config *cfg = loop_config(hc->loop);
    const struct sockaddr *sa = (const struct sockaddr *)&hc->sa;
    const char *limit_name;
    unsigned limit;

    if (route->nets != NULL && !netlist_is_allowed(route->nets, sa)) {
        upgrade_refuse(hc, 403, "client address not allowed", NULL);
        return false;
    }
    /* Cross-site WebSocket hijacking: without "origins:", only pages of this very host
     * and port (what the web root serves) may open the route from a browser. */
    if (!origin_list_is_allowed(route->origins, http_req_header(&hc->req, "Origin"),
                                http_req_header(&hc->req, "Host"), hc->https)) {
        upgrade_refuse(hc, 403, "origin not allowed", NULL);
        return false;
    }
    /* A client a trusted proxy named: its per-address counts move from the proxy's
     * address to its own, once, at the upgrade that ends this connection's requests. */
    limit_name = NULL;
    if (cfg->trusted_proxies != NULL) /* the peer's own address: no change */
        limit_name = connlimits_rekey(&hc->slot, sa, cfg->per_ip_prefix_v6, &limit);
    if (limit_name == NULL)
        limit_name = connlimits_upgrade(&hc->slot, route, &limit);
    if (limit_name != NULL) {
        log_msg_limited(&upgrade_limit_log, LOG_LEVEL_WARN, "client=%s %s: %s reached (%u)",
                        hc->peer, UPGRADE_LOG_URL(hc), limit_name, limit);
        upgrade_refuse(hc, 503, "too many connections", "Retry-After: 1\r\n");
        return false;
    }
    return true;
}

/* The target of token route <route> for <hc>'s request, into <out>: looked up last, once
 * every other rule let the client in, so that nobody learns which tokens exist without
 * passing them. Returns true, or false once <hc> (whose route count the caller has) has
 * been answered: 404 for a token missing, malformed or unknown, before any target is
 * contacted; 502 for a token whose target cannot be used here. */
static bool upgrade_token_target(struct httpconn *hc, const struct route *route,
                                 struct addr *out)
{
    char hash[TOKENFILE_LOG_HASH_LEN + 1];
    enum tokens_result r = tokens_lookup(hc->loop->conf->tokens, route, hc->req.url,
                                         http_req_header(&hc->req, "Host"), out, hash);
    static const char *const why[] = {
        [TOKENS_NONE] = "no token",
        [TOKENS_MALFORMED] = "malformed token",
        [TOKENS_UNKNOWN] = "unknown token",
        [TOKENS_UNUSABLE] = "token target unusable",
        [TOKENS_DENIED] = "signed token refused",
        [TOKENS_REDIS] = "",
    };

    if (r == TOKENS_FOUND)
        return true;
    /* The token itself is never written: its keyed hash tells lines apart. */
    log_msg(LOG_LEVEL_DEBUG, "client=%s route %s token=%s%s (from %s): %s", hc->peer, route->path,
            hash[0] != '\0' ? "#" : "-", hash, tokenreq_from_name(route->token_from), why[r]);
    connlimits_leave_route(&hc->slot);
    if (r == TOKENS_UNUSABLE)
        upgrade_refuse(hc, 502, why[r], NULL);
    else if (r == TOKENS_DENIED) /* RFC 6750 §3: the token is what failed */
        upgrade_refuse(hc, 401, why[r],
                       "WWW-Authenticate: Bearer realm=\"wsbridge\", error=\"invalid_token\"\r\n");
    else
        upgrade_refuse(hc, 404, why[r], NULL);
    return false;
}

static void upgrade_redis_start(struct httpconn *hc, const struct route *route,
                                const struct handshake_result *hs);

/* Hands the admitted, counted connection to <target> through a new wsclient on
 * <route>, which takes the count over. */
static void upgrade_connect(struct httpconn *hc, const struct route *route,
                            const struct handshake_result *hs, const struct addr *target)
{
    struct connlimits_slot slot;
    struct bufferevent *bev;
    char shown[ADDR_HOST_MAX + 16];

    if (log_enabled(LOG_LEVEL_DEBUG)) {
        addr_format(target, shown, sizeof(shown));
        log_msg(LOG_LEVEL_DEBUG, "client=%s upgrade %s -> route %s, target %s", hc->peer,
                UPGRADE_LOG_URL(hc), route->path, LOG_Q(shown));
    }
    bev = httpconn_take(hc, &slot);
    wsclient_new(hc->loop, bev, route, target, hs, &slot, (const struct sockaddr *)&hc->sa,
                 hc->peer);
}

/* Hands the admitted, counted connection to a new wsclient on <route>, which takes the
 * count over; a token route's target is looked up first (in Redis: while <hc> waits).
 * <route> is in the loop's current configuration. */
static void upgrade_hand_on(struct httpconn *hc, const struct route *route,
                            const struct handshake_result *hs)
{
    struct addr token_target;

    if (route->tokens_redis != NULL) {
        upgrade_redis_start(hc, route, hs);
        return;
    }
    if (route_is_token(route)) {
        if (!upgrade_token_target(hc, route, &token_target))
            return;
        upgrade_connect(hc, route, hs, &token_target);
        return;
    }
    upgrade_connect(hc, route, hs, &route->target);
}

/* Answers a Redis token lookup's outcome <r> (not FOUND) for <hc>, whose route count the
 * caller has given back. */
static void upgrade_redis_refuse(struct httpconn *hc, const struct route *route,
                                 enum tokenredis_result r, const char *hash)
{
    static const char *const why[] = {
        [TOKENREDIS_UNKNOWN] = "unknown token",
        [TOKENREDIS_UNUSABLE] = "token target unusable",
        [TOKENREDIS_UNAVAILABLE] = "token store unavailable",
    };

    log_msg(LOG_LEVEL_DEBUG, "client=%s route %s token=#%s (from %s, Redis): %s", hc->peer,
            route->path, hash, tokenreq_from_name(route->token_from), why[r]);
    if (r == TOKENREDIS_UNKNOWN)
        upgrade_refuse(hc, 404, why[r], NULL);
    else if (r == TOKENREDIS_UNUSABLE)
        upgrade_refuse(hc, 502, why[r], NULL);
    else
        upgrade_refuse(hc, 503, why[r], "Retry-After: 1\r\n");
}

/* Redis' answer for <hc>'s token (see upgrade_redis_start), on its loop. */
static void upgrade_on_token(enum tokenredis_result result, const struct addr *target, void *arg)
{
    struct httpconn *hc = arg;
    struct upgrade_token *ut = httpconn_wait_end(hc);

    if (result == TOKENREDIS_FOUND && ut->conf != hc->loop->conf) {
        /* A reload while Redis was asked: everything is checked again. */
        connlimits_leave_route(&hc->slot);
        runconf_unref(ut->conf);
        free(ut);
        upgrade_dispatch(hc, NULL);
        return;
    }
    if (result == TOKENREDIS_FOUND) {
        upgrade_connect(hc, ut->route, &ut->hs, target);
    } else {
        connlimits_leave_route(&hc->slot);
        upgrade_redis_refuse(hc, ut->route, result, ut->hash);
    }
    runconf_unref(ut->conf);
    free(ut);
}

/* A Redis token route: the request's token is looked up while <hc> waits (404 at once
 * when it has none). */
static void upgrade_redis_start(struct httpconn *hc, const struct route *route,
                                const struct handshake_result *hs)
{
    char token[TOKENREQ_TOKEN_MAX + 1], hash[TOKENFILE_LOG_HASH_LEN + 1];
    struct tokenredis_lookup *lookup;
    enum tokenredis_result r;
    struct upgrade_token *ut;
    struct addr target;
    enum tokens_result tr;
    size_t len;

    tr = tokens_request_token(route, hc->req.url, http_req_header(&hc->req, "Host"), token, &len,
                              hash);
    if (tr != TOKENS_FOUND) {
        log_msg(LOG_LEVEL_DEBUG, "client=%s route %s token=%s%s (from %s): %s", hc->peer,
                route->path, hash[0] != '\0' ? "#" : "-", hash,
                tokenreq_from_name(route->token_from),
                tr == TOKENS_NONE ? "no token" : "malformed token");
        connlimits_leave_route(&hc->slot);
        upgrade_refuse(hc, 404, tr == TOKENS_NONE ? "no token" : "malformed token", NULL);
        return;
    }
    if ((ut = calloc(1, sizeof(*ut))) == NULL) {
        OPENSSL_cleanse(token, sizeof(token));
        connlimits_leave_route(&hc->slot);
        upgrade_refuse(hc, 503, "out of memory", "Retry-After: 1\r\n");
        return;
    }
    r = tokenredis_lookup(&hc->loop->redis, hc->loop->base, route, token, len, hash,
                          upgrade_on_token, hc, &target, &lookup);
    OPENSSL_cleanse(token, sizeof(token));
    if (r != TOKENREDIS_PENDING) {
        free(ut);
        connlimits_leave_route(&hc->slot);
        upgrade_redis_refuse(hc, route, r, hash);
        return;
    }
    ut->kind = UPGRADE_WAIT_TOKEN;
    ut->lookup = lookup;
    ut->conf = runconf_ref(hc->loop->conf);
    ut->route = route;
    ut->hs = *hs;
    if (hs->subprotocol == hs->offered)
        ut->hs.subprotocol = ut->hs.offered;
    memcpy(ut->hash, hash, sizeof(ut->hash));
    httpconn_wait(hc, ut);
}

/* Answers 401 for credentials <auth> (MISSING, MALFORMED or DENIED) of <user> on
 * <route>, whose count the caller has given back, and closes. */
static void upgrade_auth_refuse(struct httpconn *hc, const struct route *route,
                                enum basicauth_result auth, const char *user)
{
    char headers[64 + CONFIG_REALM_MAX];

    log_msg(LOG_LEVEL_INFO, "client=%s user=%s %s: authentication %s", hc->peer, LOG_Q(user),
            UPGRADE_LOG_URL(hc), basicauth_result_name(auth));
    /* RFC 7617 §2: the realm is a quoted-string; config.c kept it free of quotes. */
    snprintf(headers, sizeof(headers), "WWW-Authenticate: Basic realm=\"%s\"\r\n",
             route->auth_realm);
    upgrade_refuse(hc, 401, "authentication required", headers);
}

/* The pool's answer for <hc>'s password (see upgrade_auth_start), on its loop. */
static void upgrade_on_auth(enum basicauth_result result, const char *user, void *arg)
{
    struct httpconn *hc = arg;
    struct upgrade_auth *ua = httpconn_wait_end(hc);
    const struct sockaddr *sa = (const struct sockaddr *)&hc->sa;

    /* The count now goes with the connection, which is handed on or refused below. */
    if (result == BASICAUTH_DENIED)
        authpool_record_failure(hc->loop->authpool, sa);
    if (result == BASICAUTH_OK && ua->conf != hc->loop->conf) {
        /* A reload while the password was hashed: the route may be gone, or its users
         * changed. Everything is checked again under the new configuration. */
        log_msg(LOG_LEVEL_DEBUG,
                "client=%s %s: configuration reloaded during the password "
                "check: checking again",
                hc->peer, UPGRADE_LOG_URL(hc));
        connlimits_leave_route(&hc->slot);
        runconf_unref(ua->conf);
        free(ua);
        upgrade_dispatch(hc, NULL);
        return;
    }
    if (result == BASICAUTH_OK) {
        upgrade_hand_on(hc, ua->route, &ua->hs);
    } else {
        connlimits_leave_route(&hc->slot);
        if (result == BASICAUTH_DENIED)
            upgrade_auth_refuse(hc, ua->route, result, user);
        else
            upgrade_refuse(hc, 500, "cannot check credentials", NULL);
    }
    runconf_unref(ua->conf);
    free(ua);
}

/* Basic authentication for an admitted (counted) upgrade on <route> with handshake verdict
 * <hs>: the credentials are decoded here, then hashed on the pool while <hc> waits,
 * unless they are missing or malformed (401), the address failed too often lately (429),
 * or the pool's queue is full (503). */
static void upgrade_auth_start(struct httpconn *hc, const struct route *route,
                               const struct handshake_result *hs)
{
    struct authpool *pool = hc->loop->authpool;
    const struct sockaddr *sa = (const struct sockaddr *)&hc->sa;
    struct upgrade_auth *ua;
    struct basicauth_cred cred;
    enum basicauth_result auth;
    uint64_t blocked_ms;
    char headers[64];

    auth = basicauth_decode(route->users, http_req_header(&hc->req, "Authorization"), &cred);
    if (auth == BASICAUTH_PENDING && pool == NULL) {
        /* Only a daemon built without the pool: never hash on the loop. */
        basicauth_cred_wipe(&cred);
        connlimits_leave_route(&hc->slot);
        upgrade_refuse(hc, 500, "cannot check credentials", NULL);
        return;
    }
    if (auth != BASICAUTH_PENDING) {
        connlimits_leave_route(&hc->slot);
        upgrade_auth_refuse(hc, route, auth, cred.user);
        basicauth_cred_wipe(&cred);
        return;
    }
    /* Before any hash: a guesser gets nothing more from us, not even CPU time. */
    blocked_ms = authpool_blocked_ms(pool, sa);
    if (blocked_ms > 0) {
        log_msg(LOG_LEVEL_INFO,
                "client=%s user=%s %s: too many failed logins, blocked for "
                "%llu ms more",
                hc->peer, LOG_Q(cred.user), UPGRADE_LOG_URL(hc), (unsigned long long)blocked_ms);
        basicauth_cred_wipe(&cred);
        connlimits_leave_route(&hc->slot);
        snprintf(headers, sizeof(headers), "Retry-After: %llu\r\n",
                 (unsigned long long)(blocked_ms + 999) / 1000);
        upgrade_refuse(hc, 429, "too many failed logins", headers);
        return;
    }
    ua = calloc(1, sizeof(*ua));
    if (ua != NULL)
        ua->job = authpool_submit(pool, hc->loop->base, &cred, upgrade_on_auth, hc);
    if (ua == NULL || ua->job == NULL) {
        log_msg_limited(&upgrade_limit_log, LOG_LEVEL_WARN,
                        "client=%s %s: password check %s", hc->peer, UPGRADE_LOG_URL(hc),
                        ua == NULL ? "out of memory" : "queue full");
        basicauth_cred_wipe(&cred);
        free(ua);
        connlimits_leave_route(&hc->slot);
        upgrade_refuse(hc, 503, "authentication busy", "Retry-After: 1\r\n");
        return;
    }
    ua->kind = UPGRADE_WAIT_AUTH;
    ua->conf = runconf_ref(hc->loop->conf);
    ua->route = route;
    ua->hs = *hs;
    /* A first offer lives in the result itself: point the copy at its own text. */
    if (hs->subprotocol == hs->offered)
        ua->hs.subprotocol = ua->hs.offered;
    httpconn_wait(hc, ua);
}

/* The WebSocket way: the route, the handshake, the route's address and Origin rules, the
 * connection limits, and only then the password; then the connection goes to a new
 * wsclient. */
static void upgrade_websocket(struct httpconn *hc, const struct route *route)
{
    struct handshake_policy policy = {0};
    struct handshake_result hs;

    if (route == NULL) {
        upgrade_refuse(hc, 404, "no route for this path", NULL);
        return;
    }
    policy.subprotocols = (const char *const *)route->subprotocols;
    policy.n_subprotocols = route->n_subprotocols;
    policy.sha1 = hc->loop->sha1;
    /* A byte bridge does not read the protocol it carries, and a browser refuses a 101
     * that answers none of its offers: answer the first, unless the route says none. */
    policy.mode = route->subprotocols_none ? HANDSHAKE_SUBPROTO_BINARY
                                           : HANDSHAKE_SUBPROTO_FIRST_OFFERED;
    handshake_check(&hc->req, &policy, &hs);
    if (hs.status != 101) {
        upgrade_refuse(hc, hs.status, hs.error, NULL);
        return;
    }
    if (!upgrade_admit(hc, route))
        return;
    if (route->auth_file != NULL) /* fails closed: users are never NULL then */
        upgrade_auth_start(hc, route, &hs);
    else
        upgrade_hand_on(hc, route, &hs);
}

/* The client of <hc>'s request, found again for every request of the connection (a
 * proxy may send requests of several clients over one): the connection's address, or the
 * one a trusted proxy's forwarded headers name, into hc->sa and hc->peer, which every
 * later check, count and log line uses; and the scheme it used, into hc->https. Returns
 * true, or false once a trusted proxy's unusable headers got the request a 400. */
static bool upgrade_find_client(struct httpconn *hc, const struct config *cfg)
{
    const struct sockaddr *conn_sa = (const struct sockaddr *)&hc->conn_sa;
    struct reqclient rc;
    enum reqclient_result r = reqclient_find(&hc->req, cfg->trusted_proxies, conn_sa, hc->tls, &rc);

    memcpy(&hc->sa, &rc.sa, sizeof(hc->sa));
    hc->https = rc.https;
    addr_format_sockaddr((const struct sockaddr *)&hc->sa, hc->peer);
    if (r == REQCLIENT_FORWARDED) {
        if (log_enabled(LOG_LEVEL_DEBUG)) {
            char proxy[ADDR_SOCKADDR_STR_MAX];
            addr_format_sockaddr(conn_sa, proxy);
            log_msg(LOG_LEVEL_DEBUG, "client=%s via proxy %s (%s)%s", hc->peer, proxy, rc.source,
                    rc.https ? " over https" : "");
        }
    } else if (r == REQCLIENT_BAD) {
        log_msg(LOG_LEVEL_INFO, "client=%s %s: trusted proxy's forwarded headers: %s", hc->peer,
                UPGRADE_LOG_URL(hc), rc.error);
        if (handshake_is_upgrade(&hc->req))
            upgrade_refuse(hc, 400, "bad forwarded header", NULL);
        else
            httpconn_reply_error(hc, 400, "bad forwarded header", NULL);
        return false;
    }
    return true;
}

/* Dispatch rule: an upgrade goes the WebSocket way (which answers the errors). With a
 * web root, a GET or HEAD that is no upgrade goes there whatever route matches its path
 * (websockify's layout: files and WebSocket on one port, any path; a missing file is a
 * 404 there, as websockify answers, not the route's 400), and so does any other request
 * when no route matches. The rest goes the WebSocket way, whose answer to a request that
 * is no upgrade is 400 (405 for another method). */
static void upgrade_dispatch(struct httpconn *hc, void *arg)
{
    const struct config *cfg = loop_config(hc->loop);
    struct static_root *web;
    const struct route *route;

    (void)arg;
    if (!upgrade_find_client(hc, cfg))
        return;
    /* DNS rebinding: a page of the attacker's site, its name pointed at us, would
     * otherwise be same-origin with everything served here. RFC 7230 §5.4: several Host
     * lines are a 400. */
    if (cfg->hosts != NULL) {
        int status = http_req_header_count(&hc->req, "Host") > 1 ? 400 : 421;
        if (status == 400 || !origin_hosts_is_allowed(cfg->hosts, http_req_header(&hc->req, "Host"),
                                                      hc->https)) {
            const char *why = status == 400 ? "more than one Host" : "host not served here";
            if (handshake_is_upgrade(&hc->req))
                upgrade_refuse(hc, status, why, NULL);
            else
                httpconn_reply_error(hc, status, why, NULL);
            return;
        }
    }
    route = route_match(cfg, hc->req.url);
    web = hc->loop->conf->web;
    if (web != NULL && !handshake_is_upgrade(&hc->req) &&
        (route == NULL || strcmp(hc->req.method, "GET") == 0 ||
         strcmp(hc->req.method, "HEAD") == 0))
        httpconn_serve_static(hc, web);
    else
        upgrade_websocket(hc, route);
}

/* A password check cut short: its deadline (the request's) passed, the loop stops, or the
 * connection is going. */
static void upgrade_on_cut(struct httpconn *hc, void *wait, enum httpconn_cut why)
{
    if (*(enum upgrade_wait_kind *)wait == UPGRADE_WAIT_TOKEN) {
        struct upgrade_token *ut = wait;
        tokenredis_cancel(ut->lookup);
        connlimits_leave_route(&hc->slot);
        runconf_unref(ut->conf);
        free(ut);
        if (why == HTTPCONN_CUT_GONE)
            return;
        httpconn_wait_end(hc);
        upgrade_refuse(hc, 503,
                       why == HTTPCONN_CUT_STOP ? "server stopping" : "token lookup took too long",
                       "Retry-After: 1\r\n");
        return;
    }
    upgrade_auth_abandon(hc, wait);
    if (why == HTTPCONN_CUT_GONE)
        return;
    httpconn_wait_end(hc);
    /* A queued password check could hold a stop for many hashes' time. */
    if (why == HTTPCONN_CUT_STOP)
        upgrade_refuse(hc, 503, "server stopping", "Retry-After: 1\r\n");
    else
        upgrade_refuse(hc, 503, "password check took too long", "Retry-After: 1\r\n");
}

const struct httpconn_handler upgrade_handler = {
    .conn = HTTPCONN_CONN_OPS("http"),
    .log_prefix = "",
    .log_level = LOG_LEVEL_INFO,
    .bare_head = false,
    .on_request = upgrade_dispatch,
    .on_cut = upgrade_on_cut,
};

void upgrade_log_access(const struct config *c)
{
    for (size_t i = 0; i < c->n_routes; i++)
        if (origin_list_is_any(c->routes[i].origins))
            log_msg(LOG_LEVEL_WARN,
                    "route %s accepts any Origin (origins: [\"*\"]): a page on "
                    "any web site may open it from the browser of whoever visits that page",
                    c->routes[i].path);
}
