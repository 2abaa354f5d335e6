/*
 * fuzz_config.c - libFuzzer driver for config.c and route.c: config_parse() on any bytes
 * gives a config or one error line, "NAME:LINE:COL: message" or "NAME: message", and
 * frees all it took (the leak checker runs). A config that parses keeps the promises of
 * config.h, and route_match() on paths taken from it and from the input agrees with a
 * plain reading of route.h.
 *
 * Input: the YAML text itself.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "route.h"

#define FUZZ_CONFIG_NAME "etc/fuzz.yaml" /* with a folder, so web_root gets joined */
#define FUZZ_CONFIG_PATHS 8              /* paths taken from the input per run */
#define FUZZ_CONFIG_PATH_MAX 64          /* longest of them */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Skips the digits at <p>; returns NULL if there are none. */
static const char *fuzz_config_digits(const char *p)
{
    if (*p < '0' || *p > '9')
        return NULL;
    while (*p >= '0' && *p <= '9')
        p++;
    return p;
}

/* True if <err> is "NAME:LINE:COL: message" or "NAME: message", one line, message not
 * empty, LINE and COL decimal and not 0. */
static bool fuzz_config_error_is_valid(const char *err)
{
    size_t name_len = strlen(FUZZ_CONFIG_NAME);
    const char *p = err, *q;

    if (strchr(err, '\n') != NULL || strchr(err, '\r') != NULL)
        return false;
    if (strncmp(p, FUZZ_CONFIG_NAME, name_len) != 0)
        return false;
    p += name_len;
    if (*p++ != ':')
        return false;
    if (*p != ' ') {
        for (int field = 0; field < 2; field++) {
            if ((q = fuzz_config_digits(p)) == NULL || *p == '0' || *q != ':')
                return false;
            p = q + 1;
        }
    }
    return p[0] == ' ' && p[1] != '\0';
}

/* route.h read plainly: the query is not matched; an exact route wins; else the longest
 * prefix route "/p/" + star that matches "/p" or a path starting "/p/"; else none. */
static const struct route *fuzz_config_route_ref(const struct config *c, const char *url)
{
    size_t len = strcspn(url, "?");
    const struct route *best = NULL;

    for (size_t i = 0; i < c->n_routes; i++) {
        const struct route *r = &c->routes[i];
        size_t plen = strlen(r->path);
        if (!r->prefix && plen == len && strncmp(url, r->path, len) == 0)
            return r;
    }
    for (size_t i = 0; i < c->n_routes; i++) {
        const struct route *r = &c->routes[i];
        size_t base = strlen(r->path) - 1; /* "/p/" of "/p/" + star */
        bool hit;
        if (!r->prefix)
            continue;
        hit = (len >= base && strncmp(url, r->path, base) == 0) ||
              (len + 1 == base && strncmp(url, r->path, len) == 0);
        if (hit && (best == NULL || base > strlen(best->path) - 1))
            best = r;
    }
    return best;
}

/* route_match() on <url>: a route of <c> or NULL, the one route.h describes, and the same
 * with a query string appended. */
static void fuzz_config_route_check(const struct config *c, const char *url)
{
    const struct route *got = route_match(c, url);
    char with_query[FUZZ_CONFIG_PATH_MAX * 2 + 8];

    FUZZ_CHECK(got == NULL || (got >= c->routes && got < c->routes + c->n_routes));
    FUZZ_CHECK(got == fuzz_config_route_ref(c, url));
    if (strchr(url, '?') == NULL && strlen(url) <= FUZZ_CONFIG_PATH_MAX * 2) {
        snprintf(with_query, sizeof(with_query), "%s?a=/b", url);
        FUZZ_CHECK(route_match(c, with_query) == got);
    }
}

/* A Unix socket address of a config: no tls://, no port, a path that fits sun_path and
 * is absolute or joined to the file's folder. */
static void fuzz_config_check_unix(const struct addr *a)
{
    size_t len = strlen(a->host);

    FUZZ_CHECK(!a->tls && a->port == 0);
    FUZZ_CHECK(len >= 1 && len <= ADDR_UNIX_PATH_MAX);
    FUZZ_CHECK(a->host[0] == '/' || strncmp(a->host, "etc/", 4) == 0);
}

/* Checks what config.h and etc/wsbridge.yaml promise of a config that parsed. */
static void fuzz_config_check(const struct config *c)
{
    FUZZ_CHECK(strcmp(c->file, FUZZ_CONFIG_NAME) == 0);
    FUZZ_CHECK(c->n_listen >= 1 && c->listen != NULL);
    for (size_t i = 0; i < c->n_listen; i++) {
        FUZZ_CHECK(!c->listen[i].tls);
        if (c->listen[i].kind == ADDR_UNIX) {
            fuzz_config_check_unix(&c->listen[i]);
            FUZZ_CHECK(c->listen_mode[i] <= 0777);
        } else if (c->listen[i].kind == ADDR_SYSTEMD) {
            /* an inherited socket: its name only, the rest is systemd's */
            FUZZ_CHECK(c->listen[i].host[0] != '\0' && c->listen[i].port == 0);
            FUZZ_CHECK(c->listen_mode[i] == 0);
        } else {
            FUZZ_CHECK(c->listen[i].kind == ADDR_HOSTPORT);
            FUZZ_CHECK(c->listen[i].port >= 1);
            FUZZ_CHECK(c->listen_mode[i] == 0);
        }
        FUZZ_CHECK(c->listen_tls[i] == NULL || c->listen_tls[i]->plain <= CONFIG_TLS_PLAIN_ALLOW);
    }
    FUZZ_CHECK(c->n_routes > 0 || c->web_root != NULL);
    FUZZ_CHECK(c->high_watermark_bytes > c->low_watermark_bytes);
    FUZZ_CHECK(c->high_watermark_bytes >= 4096);
    FUZZ_CHECK(c->max_request_head_bytes >= 1024 && c->max_request_head_bytes <= 1024 * 1024);
    FUZZ_CHECK(c->heartbeat_timeout_ms > 0 && c->handshake_timeout_ms > 0);
    FUZZ_CHECK(c->connect_timeout_ms > 0 && c->close_timeout_ms > 0);
    if (c->admin_listen != NULL) {
        FUZZ_CHECK(c->admin_listen->kind == ADDR_HOSTPORT && !c->admin_listen->tls);
        FUZZ_CHECK(c->admin_listen->port >= 1);
        for (size_t i = 0; i < c->n_listen; i++)
            FUZZ_CHECK(c->listen[i].port != c->admin_listen->port ||
                       strcmp(c->listen[i].host, c->admin_listen->host) != 0);
    }
    /* a file exactly when the target is one */
    FUZZ_CHECK((c->log.target == CONFIG_LOG_FILE) == (c->log.file != NULL));
    FUZZ_CHECK(c->log.target <= CONFIG_LOG_FILE && c->log.level <= CONFIG_LOG_DEBUG);
    FUZZ_CHECK(c->log.format <= CONFIG_LOG_JSON);
    FUZZ_CHECK(c->log.level_set || c->log.level == CONFIG_LOG_INFO);
    for (size_t i = 0; i < c->n_routes; i++) {
        const struct route *r = &c->routes[i];
        size_t len = strlen(r->path);
        FUZZ_CHECK(r->path[0] == '/');
        FUZZ_CHECK(r->prefix == (r->path[len - 1] == '*'));
        FUZZ_CHECK(r->match_len == (r->prefix ? len - 1 : len));
        FUZZ_CHECK(!r->prefix || r->path[len - 2] == '/');
        /* a fixed target or one token source (file, Redis, JWT), never two */
        FUZZ_CHECK((r->tokens != NULL) + (r->tokens_redis != NULL) + (r->tokens_jwt != NULL) <= 1);
        if (r->tokens_jwt != NULL)
            FUZZ_CHECK(r->tokens_jwt->key_file != NULL && r->tokens_jwt->algorithms != 0 &&
                       (r->tokens_jwt->algorithms & ~7u) == 0);
        if (route_is_token(r))
            FUZZ_CHECK((r->tokens == NULL || r->tokens[0] != '\0') &&
                       r->target.kind == ADDR_HOSTPORT && r->target.port == 0 &&
                       r->target.host[0] == '\0');
        else if (r->target.kind == ADDR_UNIX)
            fuzz_config_check_unix(&r->target);
        else
            FUZZ_CHECK(r->target.kind == ADDR_ECHO || r->target.port >= 1);
        FUZZ_CHECK(r->token_from <= TOKENREQ_HOST_LABEL);
        FUZZ_CHECK(r->token_from != TOKENREQ_PATH || r->prefix || !route_is_token(r));
        FUZZ_CHECK(!r->subprotocols_none || r->subprotocols == NULL);
        FUZZ_CHECK(r->frames == ROUTE_FRAMES_BINARY || r->frames == ROUTE_FRAMES_TEXT);
        FUZZ_CHECK((r->n_subprotocols == 0) == (r->subprotocols == NULL));
        for (size_t j = 0; j < r->n_subprotocols; j++)
            FUZZ_CHECK(r->subprotocols[j] != NULL && r->subprotocols[j][0] != '\0');
        FUZZ_CHECK(r->connect_timeout_ms > 0);
        /* config.c refuses duplicate paths, which route_match() relies on */
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(c->routes[j].path, r->path) != 0);
    }
}

/* Runs route_match() on each route's own path and its neighbours, then on words of the
 * input that start with "/". */
static void fuzz_config_routes(const struct config *c, const uint8_t *data, size_t size)
{
    char url[FUZZ_CONFIG_PATH_MAX * 2 + 2];
    size_t found = 0;

    for (size_t i = 0; i < c->n_routes && i < 16; i++) {
        const struct route *r = &c->routes[i];
        size_t len = strlen(r->path);
        if (len > FUZZ_CONFIG_PATH_MAX)
            continue;
        fuzz_config_route_check(c, r->path);
        if (!r->prefix)
            FUZZ_CHECK(route_match(c, r->path) == r); /* an exact route is its own match */
        snprintf(url, sizeof(url), "%.*s", (int)(len - 1), r->path); /* last byte off */
        fuzz_config_route_check(c, url);
        snprintf(url, sizeof(url), "%.*s", (int)r->match_len, r->path);
        fuzz_config_route_check(c, url);
        snprintf(url, sizeof(url), "%.*sx/y", (int)r->match_len, r->path);
        fuzz_config_route_check(c, url);
        snprintf(url, sizeof(url), "%s/", r->path);
        fuzz_config_route_check(c, url);
    }
    for (size_t i = 0; i < size && found < FUZZ_CONFIG_PATHS; i++) {
        size_t n = 0;
        if (data[i] != '/')
            continue;
        while (i + n < size && n < FUZZ_CONFIG_PATH_MAX && data[i + n] > ' ' &&
               data[i + n] != ',' && data[i + n] != '}' && data[i + n] != ']')
            n++;
        memcpy(url, data + i, n);
        url[n] = '\0';
        fuzz_config_route_check(c, url);
        found++;
        i += n;
    }
    fuzz_config_route_check(c, "");
    fuzz_config_route_check(c, "/");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = (char *)fuzz_copy(data, size); /* exact: a read past the end is a report */
    char err[1024];
    struct config *c;

    memset(err, 'X', sizeof(err));
    c = config_parse(FUZZ_CONFIG_NAME, text, size, err, sizeof(err));
    if (c == NULL) {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        if (!fuzz_config_error_is_valid(err)) {
            fprintf(stderr, "bad error text: \"%s\"\n", err);
            abort();
        }
    } else {
        fuzz_config_check(c);
        fuzz_config_routes(c, data, size);
        config_free(c);
    }
    free(text);
    return 0;
}
