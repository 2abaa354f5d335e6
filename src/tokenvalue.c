/*
 * tokenvalue.c - a shared store's token value as a target (see tokenvalue.h). Pure.
 */
#include "tokenvalue.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jsonmini.h"

#define TOKENVALUE_JSON_TOKENS 64 /* JSON values in one value */

static int tokenvalue_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* <spec> through addr.c, refusing what a token may not name. */
static int tokenvalue_addr(const char *spec, struct addr *out, const char **why)
{
    char err[128];

    if (addr_parse(spec, 0, out, err, sizeof(err)) != 0) {
        *why = "not host:port, [v6]:port or unix_socket:/path";
        return -1;
    }
    if (out->tls) {
        *why = "tls:// targets are not taken from tokens";
        return -1;
    }
    if (out->kind == ADDR_UNIX && out->host[0] != '/') {
        *why = "a Unix socket path must be absolute";
        return -1;
    }
    /* The plain form loses white space at its ends: a JSON path ending in it would name
     * another file than the same value written plainly, and is a slip anyway. */
    if (out->kind == ADDR_UNIX && tokenvalue_is_space(out->host[strlen(out->host) - 1])) {
        *why = "a Unix socket path must not end in white space";
        return -1;
    }
    return 0;
}

static int tokenvalue_json(const char *text, size_t len, struct addr *out, const char **why)
{
    struct jsonmini_tok toks[TOKENVALUE_JSON_TOKENS];
    char host[ADDR_HOST_MAX + 1], path[ADDR_UNIX_PATH_MAX + 1], spec[ADDR_HOST_MAX + 32];
    size_t i_host, i_port, i_unix, n;
    struct jsonmini j;
    int64_t port;

    if (jsonmini_parse(&j, text, len, toks, TOKENVALUE_JSON_TOKENS) != 0 ||
        toks[0].type != JSONMINI_OBJECT) {
        *why = "not a strict JSON object";
        return -1;
    }
    i_host = jsonmini_get(&j, 0, "host");
    i_port = jsonmini_get(&j, 0, "port");
    i_unix = jsonmini_get(&j, 0, "unix");
    if ((i_host == JSONMINI_NONE) == (i_unix == JSONMINI_NONE)) {
        *why = "a JSON value names \"host\" or \"unix\", one of them";
        return -1;
    }
    if (i_unix != JSONMINI_NONE) {
        if (i_port != JSONMINI_NONE || jsonmini_string(&j, i_unix, path, sizeof(path), &n) != 0 ||
            n != strlen(path)) {
            *why = "\"unix\" must be a path string, without \"port\"";
            return -1;
        }
        snprintf(spec, sizeof(spec), "unix:%s", path);
        return tokenvalue_addr(spec, out, why);
    }
    if (jsonmini_string(&j, i_host, host, sizeof(host), &n) != 0 || n != strlen(host) || n == 0) {
        *why = "\"host\" must be a non-empty string";
        return -1;
    }
    if (i_port == JSONMINI_NONE) {
        if (strncmp(host, "unix", 4) == 0) { /* "unix:/x" would pass addr.c */
            *why = "\"host\" must be host:port";
            return -1;
        }
        return tokenvalue_addr(host, out, why);
    }
    if (jsonmini_int64(&j, i_port, &port) != 0) {
        char digits[8];
        if (jsonmini_string(&j, i_port, digits, sizeof(digits), &n) != 0 || n == 0 ||
            strspn(digits, "0123456789") != n) {
            *why = "\"port\" must be a number 1..65535";
            return -1;
        }
        sscanf(digits, "%" SCNd64, &port);
    }
    if (port < 1 || port > 65535 || strchr(host, '[') != NULL) {
        *why = "\"port\" must be a number 1..65535, \"host\" a bare name or address";
        return -1;
    }
    snprintf(spec, sizeof(spec), strchr(host, ':') != NULL ? "[%s]:%" PRId64 : "%s:%" PRId64, host,
             port);
    return tokenvalue_addr(spec, out, why);
}

int tokenvalue_parse(const char *value, size_t len, struct addr *out, const char **why)
{
    char spec[ADDR_HOST_MAX + 32];

    memset(out, 0, sizeof(*out));
    while (len > 0 && tokenvalue_is_space(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && tokenvalue_is_space(value[len - 1]))
        len--;
    if (len == 0) {
        *why = "empty value";
        return -1;
    }
    if (len > TOKENVALUE_MAX) {
        *why = "value too long";
        return -1;
    }
    if (memchr(value, '\0', len) != NULL) {
        *why = "a NUL byte in the value";
        return -1;
    }
    if (value[0] == '{')
        return tokenvalue_json(value, len, out, why);
    if (len >= 12 && memcmp(value, "unix_socket:", 12) == 0) {
        if (len - 12 > ADDR_UNIX_PATH_MAX) {
            *why = "socket path too long";
            return -1;
        }
        snprintf(spec, sizeof(spec), "unix:%.*s", (int)(len - 12), value + 12);
        return tokenvalue_addr(spec, out, why);
    }
    if (len >= sizeof(spec) || (len >= 5 && memcmp(value, "unix:", 5) == 0) ||
        memchr(value, '/', len) != NULL) {
        *why = "not host:port, [v6]:port or unix_socket:/path";
        return -1;
    }
    memcpy(spec, value, len);
    spec[len] = '\0';
    return tokenvalue_addr(spec, out, why);
}
