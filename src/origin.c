/*
 * origin.c - Origin and Host rules, no I/O: Origin allowlists (RFC 6454 §4 and §6.2, RFC
 * 6455 §10.2) whose default is same-origin, and the Host allowlist that keeps a DNS
 * rebinding page from reaching the daemon under a name of the attacker's. The caller
 * reads the headers and answers 403 or 421; this file only decides.
 */
#include "origin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"

#define ORIGIN_SCHEME_END "://" /* RFC 6454 §6.2: scheme "://" host [ ":" port ] */

static bool origin_is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool origin_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static char origin_lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Port a browser leaves out of the serialized origin (RFC 6454 §6.2 omits the default). */
static unsigned origin_default_port(const char *scheme)
{
    if (strcmp(scheme, "http") == 0 || strcmp(scheme, "ws") == 0)
        return 80;
    if (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0)
        return 443;
    return 0;
}

/* Host: an IPv6 literal in brackets, or dot-separated labels of letters, digits, '-' and
 * '_' with no empty label. Lowercases it into <out> (ORIGIN_HOST_MAX + 1 bytes). Returns
 * NULL or a static why. */
static const char *origin_host_copy(const char *s, size_t len, char *out)
{
    if (len == 0)
        return "no host";
    if (len > ORIGIN_HOST_MAX)
        return "host too long";
    if (s[0] == '[') {
        char v6[ORIGIN_HOST_MAX + 1];
        struct in6_addr a;
        if (len < 3 || s[len - 1] != ']')
            return "bad IPv6 literal";
        memcpy(v6, s + 1, len - 2);
        v6[len - 2] = '\0';
        if (inet_pton(AF_INET6, v6, &a) != 1)
            return "bad IPv6 literal";
    } else {
        for (size_t i = 0; i < len; i++) {
            char ch = s[i];
            if (ch == '.' && (i == 0 || i + 1 == len || s[i - 1] == '.'))
                return "empty label in host";
            if (ch == '*')
                return "\"*\" is only allowed as the first label, as in https://*.example.com";
            if (!origin_is_alpha(ch) && !origin_is_digit(ch) && ch != '-' && ch != '_' && ch != '.')
                return "bad character in host";
        }
    }
    for (size_t i = 0; i < len; i++)
        out[i] = origin_lower(s[i]);
    out[len] = '\0';
    return NULL;
}

/* Splits "host[:port]" at <host> (up to <end>) at its port colon, which is the last colon
 * unless that one is inside an IPv6 literal. Returns the colon or NULL; sets *<port> (0
 * without one). Returns <end> itself, as a failure, for a bad port. */
static const char *origin_split_port(const char *host, const char *end, unsigned *port)
{
    const char *colon = NULL;
    unsigned long p = 0;

    *port = 0;
    for (const char *c = host; c < end; c++)
        if (*c == ':')
            colon = c;
    if (colon != NULL && host[0] == '[' && memchr(colon, ']', (size_t)(end - colon)) != NULL)
        colon = NULL;
    if (colon == NULL)
        return NULL;
    if (colon + 1 == end || end - colon - 1 > 5)
        return end;
    for (const char *d = colon + 1; d < end; d++) {
        if (!origin_is_digit(*d))
            return end;
        p = p * 10 + (unsigned long)(*d - '0');
    }
    if (p == 0 || p > 65535)
        return end;
    *port = (unsigned)p;
    return colon;
}

/* Parses serialized origin <s> (pattern syntax when <pattern>: "*." may start the host)
 * into <o>. Returns NULL, or a static text saying what is wrong. */
static const char *origin_parse(const char *s, bool pattern, struct origin *o)
{
    const char *p = s, *host, *colon, *end, *why;
    size_t n = 0;

    memset(o, 0, sizeof(*o));
    /* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    if (!origin_is_alpha(*p))
        return "expected scheme://host[:port]";
    while (origin_is_alpha(*p) || origin_is_digit(*p) || *p == '+' || *p == '-' || *p == '.') {
        if (n == ORIGIN_SCHEME_MAX)
            return "scheme too long";
        o->scheme[n++] = origin_lower(*p++);
    }
    o->scheme[n] = '\0';
    if (strncmp(p, ORIGIN_SCHEME_END, strlen(ORIGIN_SCHEME_END)) != 0)
        return "expected scheme://host[:port]";
    host = p + strlen(ORIGIN_SCHEME_END);
    end = host + strcspn(host, "/?#@");
    if (*end == '@')
        return "an origin has no user name";
    if (*end != '\0')
        return "an origin has no path, query or fragment (nor a \"/\" at the end)";
    if (pattern && host[0] == '*' && host[1] == '.') {
        o->wildcard = true;
        host += 2;
    }
    colon = origin_split_port(host, end, &o->port);
    if (colon == end)
        return "bad port";
    if (o->wildcard && host[0] == '[')
        return "a wildcard needs a domain name after \"*.\"";
    why = origin_host_copy(host, (size_t)((colon != NULL ? colon : end) - host), o->host);
    if (why != NULL)
        return why;
    if (o->port == origin_default_port(o->scheme))
        o->port = 0;
    return NULL;
}

/* Parses a Host value or a Host allowlist name <s> ("*." allowed in front when
 * <pattern>) into <h>: uri-host [":" port], one final dot of the name dropped. Returns
 * NULL or a static why. */
static const char *origin_host_parse(const char *s, bool pattern, struct origin_host *h)
{
    const char *host = s, *end = s + strlen(s), *colon, *name_end;

    memset(h, 0, sizeof(*h));
    if (pattern && host[0] == '*' && host[1] == '.') {
        h->wildcard = true;
        host += 2;
    }
    colon = origin_split_port(host, end, &h->port);
    if (colon == end)
        return "bad port";
    if (h->wildcard && host[0] == '[')
        return "a wildcard needs a domain name after \"*.\"";
    name_end = colon != NULL ? colon : end;
    /* "example.com." is the same name, written fully qualified. */
    if (name_end > host + 1 && name_end[-1] == '.' && host[0] != '[')
        name_end--;
    return origin_host_copy(host, (size_t)(name_end - host), h->host);
}

/* True if <host> is a subdomain of <domain>, at any depth; both lowercase. */
static bool origin_is_subdomain(const char *host, const char *domain)
{
    size_t hl = strlen(host), dl = strlen(domain);

    return hl > dl + 1 && host[hl - dl - 1] == '.' && strcmp(host + hl - dl, domain) == 0;
}

/* Origins ------------------------------------------------------------------------- */

/* Parses <n> patterns at <patterns> into a new allowlist: see origin.h for the syntax.
 * Returns the list, or NULL with "origin pattern N \"...\": why" or "out of memory". */
struct origin_list *origin_list_parse(const char *const *patterns, size_t n, unsigned flags,
                                      char *err, size_t err_len)
{
    struct origin_list *o = calloc(1, sizeof(*o));
    char q[QUOTE_BUF];

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (o == NULL || (n > 0 && (o->items = calloc(n, sizeof(*o->items))) == NULL)) {
        snprintf(err, err_len, "origin patterns: out of memory");
        goto fail;
    }
    o->flags = flags;
    for (size_t i = 0; i < n; i++) {
        const char *why;
        if (patterns[i] == NULL) {
            snprintf(err, err_len, "origin pattern %zu: missing", i + 1);
            goto fail;
        }
        if (strcmp(patterns[i], "*") == 0) {
            o->any = true;
            continue;
        }
        /* RFC 6454 §6.2: an opaque origin serializes as "null", exactly. */
        if (strcmp(patterns[i], "null") == 0) {
            o->allow_null = true;
            continue;
        }
        why = origin_parse(patterns[i], true, &o->items[o->n]);
        if (why != NULL) {
            snprintf(err, err_len, "origin pattern %zu \"%s\": %s", i + 1,
                     quote_text(patterns[i], SIZE_MAX, q), why);
            goto fail;
        }
        o->n++;
    }
    return o;

fail:
    origin_list_free(o);
    return NULL;
}

/* Frees <o>; NULL is fine. */
void origin_list_free(struct origin_list *o)
{
    if (o == NULL)
        return;
    free(o->items);
    free(o);
}

/* True if <o> has a "*" pattern. */
bool origin_list_is_any(const struct origin_list *o)
{
    return o != NULL && o->any;
}

/* True if Origin <origin> names the host and port of Host <host>: see origin.h. */
bool origin_is_same(const char *origin, const char *host, bool tls)
{
    struct origin o;
    struct origin_host h;
    unsigned origin_port;

    if (origin == NULL || host == NULL || origin_parse(origin, false, &o) != NULL ||
        origin_host_parse(host, false, &h) != NULL)
        return false;
    origin_port = o.port != 0 ? o.port : origin_default_port(o.scheme);
    if (origin_port != (h.port != 0 ? h.port : tls ? 443 : 80))
        return false;
    return strcmp(o.host, h.host) == 0;
}

/* True if a request with Origin <origin> and Host <host> may proceed under <o>: see
 * origin.h. */
bool origin_list_is_allowed(const struct origin_list *o, const char *origin, const char *host,
                            bool tls)
{
    struct origin got;

    if (origin == NULL)
        return !(o->flags & ORIGIN_REQUIRE);
    if (o->any)
        return true;
    if (o->n == 0 && !o->allow_null)
        return origin_is_same(origin, host, tls);
    if (strcmp(origin, "null") == 0)
        return o->allow_null;
    if (origin_parse(origin, false, &got) != NULL)
        return false;
    for (size_t i = 0; i < o->n; i++) {
        const struct origin *want = &o->items[i];
        if (strcmp(want->scheme, got.scheme) != 0 || want->port != got.port)
            continue;
        if (want->wildcard ? origin_is_subdomain(got.host, want->host)
                           : strcmp(want->host, got.host) == 0)
            return true;
    }
    return false;
}

/* Host allowlist ---------------------------------------------------------------------- */

/* Parses <n> names at <names>: see origin.h. Returns the list, or NULL with
 * "host N \"...\": why" or "out of memory" in <err>. */
struct origin_hosts *origin_hosts_parse(const char *const *names, size_t n, char *err,
                                        size_t err_len)
{
    static const char star_only[] = "\"*\" is only"; /* origin_host_copy's, said better */
    struct origin_hosts *h = calloc(1, sizeof(*h));
    char q[QUOTE_BUF];

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (n > ORIGIN_HOSTS_MAX) {
        snprintf(err, err_len, "more than %d hosts", ORIGIN_HOSTS_MAX);
        goto fail;
    }
    if (h == NULL || (n > 0 && (h->items = calloc(n, sizeof(*h->items))) == NULL)) {
        snprintf(err, err_len, "hosts: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const char *why;
        if (names[i] == NULL) {
            snprintf(err, err_len, "host %zu: missing", i + 1);
            goto fail;
        }
        why = strstr(names[i], "://") != NULL ? "a host name is written alone, without a scheme"
                                              : origin_host_parse(names[i], true, &h->items[i]);
        if (why != NULL) {
            if (strncmp(why, star_only, strlen(star_only)) == 0)
                why = "\"*\" is only allowed as the first label, as in *.example.com";
            snprintf(err, err_len, "host %zu \"%s\": %s", i + 1, quote_text(names[i], SIZE_MAX, q),
                     why);
            goto fail;
        }
        h->n++;
    }
    return h;

fail:
    origin_hosts_free(h);
    return NULL;
}

/* Frees <h>; NULL is fine. */
void origin_hosts_free(struct origin_hosts *h)
{
    if (h == NULL)
        return;
    free(h->items);
    free(h);
}

/* True if Host value <host> is allowed by <h>: see origin.h. */
bool origin_hosts_is_allowed(const struct origin_hosts *h, const char *host, bool tls)
{
    struct origin_host got;
    unsigned port;

    if (h == NULL)
        return true;
    if (host == NULL || origin_host_parse(host, false, &got) != NULL)
        return false;
    port = got.port != 0 ? got.port : tls ? 443 : 80;
    for (size_t i = 0; i < h->n; i++) {
        const struct origin_host *want = &h->items[i];
        if (want->port != 0 && want->port != port)
            continue;
        if (want->wildcard ? origin_is_subdomain(got.host, want->host)
                           : strcmp(want->host, got.host) == 0)
            return true;
    }
    return false;
}
