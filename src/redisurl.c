/*
 * redisurl.c - a token route's Redis URL parsed (see redisurl.h). Pure.
 */
#include "redisurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDISURL_TCP "redis://"
#define REDISURL_UNIX "redis+unix://"

bool redisurl_is_redis(const char *s)
{
    return strncmp(s, REDISURL_TCP, strlen(REDISURL_TCP)) == 0 ||
           strncmp(s, REDISURL_UNIX, strlen(REDISURL_UNIX)) == 0;
}

static int redisurl_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes the <n> bytes at <s> into <out> (<cap> bytes with its NUL). Returns 0,
 * or -1 with <err> naming <what>. */
static int redisurl_decode(const char *s, size_t n, char *out, size_t cap, const char *what,
                           char *err, size_t err_len)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? redisurl_hex(s[i + 1]) : -1;
            int lo = hi >= 0 ? redisurl_hex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                snprintf(err, err_len, "%s: \"%%\" must be followed by two hex digits, not 00",
                         what);
                return -1;
            }
            c = hi * 16 + lo;
            i += 2;
        } else if (c < 0x21 || c == 0x7f) {
            snprintf(err, err_len, "%s: spaces and control characters must be %%-encoded", what);
            return -1;
        }
        if (o + 1 >= cap) {
            snprintf(err, err_len, "%s: longer than %zu bytes", what, cap - 1);
            return -1;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* A decimal number of 1..7 digits at most <max>, the <n> bytes at <s>. */
static int redisurl_number(const char *s, size_t n, unsigned long max, unsigned long *v)
{
    *v = 0;
    if (n == 0 || n > 7)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (unsigned long)(s[i] - '0');
    }
    return *v <= max ? 0 : -1;
}

/* The query <q> (without its "?"): prefix= and, when <db_ok>, db=. */
static int redisurl_query(const char *q, struct redisurl *out, bool db_ok, char *err,
                          size_t err_len)
{
    bool seen_prefix = false, seen_db = false;

    while (*q != '\0') {
        const char *end = strchr(q, '&'), *eq;
        size_t n = end != NULL ? (size_t)(end - q) : strlen(q);
        unsigned long v;

        eq = memchr(q, '=', n);
        if (eq == NULL) {
            snprintf(err, err_len, "query field without \"=\"");
            return -1;
        }
        if ((size_t)(eq - q) == 6 && memcmp(q, "prefix", 6) == 0 && !seen_prefix) {
            if (redisurl_decode(eq + 1, n - 7, out->prefix, sizeof(out->prefix), "prefix", err,
                                err_len) != 0)
                return -1;
            seen_prefix = true;
        } else if ((size_t)(eq - q) == 2 && memcmp(q, "db", 2) == 0 && db_ok && !seen_db) {
            if (redisurl_number(eq + 1, n - 3, REDISURL_DB_MAX, &v) != 0) {
                snprintf(err, err_len, "db: a number 0..%d", REDISURL_DB_MAX);
                return -1;
            }
            out->db = (unsigned)v;
            seen_db = true;
        } else {
            snprintf(err, err_len, "unknown or repeated query field (known: prefix%s)",
                     db_ok ? ", db" : "; the database is the path, \"/DB\"");
            return -1;
        }
        q += n + (end != NULL);
        if (end != NULL && *q == '\0') {
            snprintf(err, err_len, "query ends with \"&\"");
            return -1;
        }
    }
    return 0;
}

/* ":PASSWORD@" at <*p> (which is moved past it), if any. */
static int redisurl_userinfo(const char **p, struct redisurl *out, char *err, size_t err_len)
{
    const char *at = strchr(*p, '@');
    const char *slash = strchr(*p, '/');

    if (at == NULL || (slash != NULL && slash < at))
        return 0;
    if (**p != ':') {
        snprintf(err, err_len, "only a password may come before \"@\", as \":PASSWORD@\"");
        return -1;
    }
    if (redisurl_decode(*p + 1, (size_t)(at - *p - 1), out->password, sizeof(out->password),
                        "password", err, err_len) != 0)
        return -1;
    *p = at + 1;
    return 0;
}

static int redisurl_parse_tcp(const char *p, struct redisurl *out, char *err, size_t err_len)
{
    const char *host_end, *q = strchr(p, '?');
    size_t auth_len = q != NULL ? (size_t)(q - p) : strlen(p);
    char hostport[ADDR_HOST_MAX + 16], why[128];
    const char *path;
    struct addr a;
    unsigned long v;

    path = memchr(p, '/', auth_len);
    host_end = path != NULL ? path : p + auth_len;
    if (host_end == p) {
        snprintf(err, err_len, "no host");
        return -1;
    }
    if ((size_t)(host_end - p) >= sizeof(hostport) - 8) {
        snprintf(err, err_len, "host too long");
        return -1;
    }
    /* HOST, [V6], HOST:PORT or [V6]:PORT: addr.c reads the last two. */
    {
        size_t n = (size_t)(host_end - p);
        const char *colon = memrchr(p, ':', n);
        bool has_port = colon != NULL && (p[0] != '[' || colon > (const char *)memchr(p, ']', n));
        snprintf(hostport, sizeof(hostport), "%.*s%s", (int)n, p,
                 has_port ? ""
                          : ":"
                            "6379");
    }
    if (addr_parse(hostport, 0, &a, why, sizeof(why)) != 0 || a.kind == ADDR_UNIX || a.tls) {
        snprintf(err, err_len, "%s",
                 a.kind == ADDR_UNIX ? "a Unix socket is redis+unix:///PATH" : why);
        return -1;
    }
    snprintf(out->host, sizeof(out->host), "%s", a.host);
    out->port = a.port;
    if (path != NULL && path + 1 < p + auth_len) {
        if (redisurl_number(path + 1, (size_t)(p + auth_len - path - 1), REDISURL_DB_MAX, &v) !=
            0) {
            snprintf(err, err_len, "the path is the database: a number 0..%d", REDISURL_DB_MAX);
            return -1;
        }
        out->db = (unsigned)v;
    }
    return q != NULL ? redisurl_query(q + 1, out, false, err, err_len) : 0;
}

static int redisurl_parse_unix(const char *p, struct redisurl *out, char *err, size_t err_len)
{
    const char *q = strchr(p, '?');
    size_t n = q != NULL ? (size_t)(q - p) : strlen(p);

    out->is_unix = true;
    if (n == 0 || p[0] != '/') {
        snprintf(err, err_len,
                 "redis+unix:// takes an absolute socket path, "
                 "redis+unix:///run/redis.sock");
        return -1;
    }
    if (n > ADDR_UNIX_PATH_MAX) {
        snprintf(err, err_len, "socket path longer than %zu bytes", (size_t)ADDR_UNIX_PATH_MAX);
        return -1;
    }
    if (redisurl_decode(p, n, out->path, sizeof(out->path), "socket path", err, err_len) != 0)
        return -1;
    return q != NULL ? redisurl_query(q + 1, out, true, err, err_len) : 0;
}

int redisurl_parse(const char *s, struct redisurl *out, char *err, size_t err_len)
{
    const char *p;

    memset(out, 0, sizeof(*out));
    out->port = REDISURL_PORT_DEFAULT;
    if (strchr(s, '#') != NULL) {
        snprintf(err, err_len, "a Redis URL has no \"#\" fragment");
        return -1;
    }
    if (strncmp(s, REDISURL_UNIX, strlen(REDISURL_UNIX)) == 0) {
        p = s + strlen(REDISURL_UNIX);
        if (redisurl_userinfo(&p, out, err, err_len) != 0)
            return -1;
        return redisurl_parse_unix(p, out, err, err_len);
    }
    if (strncmp(s, REDISURL_TCP, strlen(REDISURL_TCP)) != 0) {
        snprintf(err, err_len, "not redis://HOST:PORT/DB or redis+unix:///PATH");
        return -1;
    }
    p = s + strlen(REDISURL_TCP);
    if (redisurl_userinfo(&p, out, err, err_len) != 0)
        return -1;
    return redisurl_parse_tcp(p, out, err, err_len);
}

size_t redisurl_format(const struct redisurl *u, char *out, size_t cap)
{
    const char *q = u->prefix[0] != '\0' ? "prefix=" : "";
    int n;

    if (u->is_unix)
        n = snprintf(out, cap, "redis+unix://%s%s?db=%u%s%s%s", u->password[0] ? ":***@" : "",
                     u->path, u->db, u->prefix[0] ? "&" : "", q, u->prefix);
    else
        n = snprintf(out, cap, "redis://%s%s%s%s:%u/%u%s%s%s", u->password[0] ? ":***@" : "",
                     strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "",
                     u->port, u->db, u->prefix[0] ? "?" : "", q, u->prefix);
    return n < 0 ? 0 : (size_t)n;
}
