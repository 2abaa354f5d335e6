/*
 * forwarded.c - the client's address and scheme from Forwarded (RFC 7239) and
 * X-Forwarded-For / X-Forwarded-Proto values, read strictly and walked from the right
 * past trusted proxies. No I/O; which peers are trusted is the caller's callback.
 * Parsing follows RFC 7239 §4 (elements, pairs, token or quoted-string values) and §6
 * (node names and ports); X-Forwarded-For has no specification: addresses, optionally
 * with a port, in the forms proxies write.
 */
#include "forwarded.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#define FORWARDED_V6_TEXT_MAX 45 /* "ffff:...:255.255.255.255" */

enum forwarded_kind {
    FORWARDED_KIND_ADDR = 0,   /* an IPv4 or IPv6 address */
    FORWARDED_KIND_UNKNOWN,    /* "unknown" (RFC 7239 §6.2) */
    FORWARDED_KIND_OBFUSCATED, /* "_name" (RFC 7239 §6.3) */
    FORWARDED_KIND_MISSING,    /* an element without for= */
};

struct forwarded_hop {
    enum forwarded_kind kind;
    int family;                 /* AF_INET or AF_INET6 (mapped IPv4 is AF_INET) */
    uint8_t addr[16];           /* 4 or 16 bytes used */
    uint16_t port;              /* host order, when has_port */
    bool has_port;              /* a numeric port was given */
    enum forwarded_proto proto; /* Forwarded: this element's proto= */
};

struct forwarded_list {
    struct forwarded_hop hops[FORWARDED_MAX_HOPS];
    size_t n;
    enum forwarded_proto xfp[FORWARDED_MAX_HOPS]; /* X-Forwarded-Proto values */
    size_t n_xfp;
    const char *error; /* the first malformed thing seen */
};

static bool forwarded_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool forwarded_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool forwarded_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 7230 §3.2.6 tchar */
static bool forwarded_is_tchar(char c)
{
    return forwarded_is_alpha(c) || forwarded_is_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool forwarded_bad(struct forwarded_list *l, const char *why)
{
    if (l->error == NULL)
        l->error = why;
    return false;
}

/* RFC 3986 dec-octet x4: no leading zeros, so "010" cannot be read as octal elsewhere. */
static bool forwarded_ipv4(const char *s, size_t n, uint8_t out[4])
{
    size_t part = 0, start = 0;

    for (size_t i = 0; i <= n; i++) {
        unsigned v = 0;

        if (i < n && s[i] != '.')
            continue;
        if (part == 4 || i == start || i - start > 3 || (s[start] == '0' && i - start > 1))
            return false;
        for (size_t k = start; k < i; k++) {
            if (!forwarded_is_digit(s[k]))
                return false;
            v = v * 10 + (unsigned)(s[k] - '0');
        }
        if (v > 255)
            return false;
        out[part++] = (uint8_t)v;
        start = i + 1;
    }
    return part == 4;
}

/* An IPv6 address without brackets or zone, as inet_pton reads it; a mapped IPv4 one
 * becomes AF_INET. */
static bool forwarded_ipv6(const char *s, size_t n, struct forwarded_hop *hop)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char text[FORWARDED_V6_TEXT_MAX + 1];
    struct in6_addr a;

    if (n < 2 || n > FORWARDED_V6_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!forwarded_is_digit(s[i]) && strchr("abcdefABCDEF:.", s[i]) == NULL)
            return false;
    memcpy(text, s, n);
    text[n] = '\0';
    if (inet_pton(AF_INET6, text, &a) != 1)
        return false;
    if (memcmp(a.s6_addr, mapped, 12) == 0) {
        hop->family = AF_INET;
        memcpy(hop->addr, a.s6_addr + 12, 4);
    } else {
        hop->family = AF_INET6;
        memcpy(hop->addr, a.s6_addr, 16);
    }
    return true;
}

/* 1*5DIGIT, at most 65535 (RFC 7239 §6: port) */
static bool forwarded_port(const char *s, size_t n, uint16_t *port)
{
    unsigned v = 0;

    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!forwarded_is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* "_" 1*( ALPHA / DIGIT / "." / "_" / "-" ) (RFC 7239 §6.3: obfnode, obfport) */
static bool forwarded_obfuscated(const char *s, size_t n)
{
    if (n < 2 || s[0] != '_')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!forwarded_is_alpha(s[i]) && !forwarded_is_digit(s[i]) && strchr("._-", s[i]) == NULL)
            return false;
    return true;
}

/* node = nodename [ ":" node-port ] (RFC 7239 §6), in the unquoted value <s>[0..n). */
static bool forwarded_node(struct forwarded_list *l, const char *s, size_t n,
                           struct forwarded_hop *hop)
{
    size_t name_len, rest;

    if (n > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', n);

        if (end == NULL || !forwarded_ipv6(s + 1, (size_t)(end - s) - 1, hop))
            return forwarded_bad(l, "Forwarded: for= is not a valid node (an IPv6 address "
                                    "goes in brackets, in quotes)");
        name_len = (size_t)(end - s) + 1;
        hop->kind = FORWARDED_KIND_ADDR;
    } else {
        const char *colon = memchr(s, ':', n);

        name_len = colon != NULL ? (size_t)(colon - s) : n;
        if (forwarded_ipv4(s, name_len, hop->addr)) {
            hop->kind = FORWARDED_KIND_ADDR;
            hop->family = AF_INET;
        } else if (name_len == 7 && strncasecmp(s, "unknown", 7) == 0) {
            hop->kind = FORWARDED_KIND_UNKNOWN;
        } else if (forwarded_obfuscated(s, name_len)) {
            hop->kind = FORWARDED_KIND_OBFUSCATED;
        } else {
            return forwarded_bad(l, "Forwarded: for= is not an address, \"unknown\" or "
                                    "an obfuscated name");
        }
    }
    if (name_len == n)
        return true;
    rest = n - name_len - 1;
    if (s[name_len] != ':')
        return forwarded_bad(l, "Forwarded: bytes after the node name");
    if (forwarded_port(s + name_len + 1, rest, &hop->port))
        hop->has_port = true;
    else if (!forwarded_obfuscated(s + name_len + 1, rest))
        return forwarded_bad(l, "Forwarded: port is not 0..65535 or an obfuscated port");
    return true;
}

/* A URI scheme (RFC 3986 §3.1) as the proto it tells; false if it is not one. */
static bool forwarded_scheme(const char *s, size_t n, enum forwarded_proto *proto)
{
    if (n == 0 || !forwarded_is_alpha(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!forwarded_is_alpha(s[i]) && !forwarded_is_digit(s[i]) && strchr("+-.", s[i]) == NULL)
            return false;
    if ((n == 5 && strncasecmp(s, "https", 5) == 0) || (n == 3 && strncasecmp(s, "wss", 3) == 0))
        *proto = FORWARDED_PROTO_HTTPS;
    else if ((n == 4 && strncasecmp(s, "http", 4) == 0) || (n == 2 && strncasecmp(s, "ws", 2) == 0))
        *proto = FORWARDED_PROTO_HTTP;
    else
        *proto = FORWARDED_PROTO_UNKNOWN;
    return true;
}

/* value = token / quoted-string (RFC 7239 §4), at <s>; unquotes into <out> and sets
 * *<out_len>; returns the bytes of <s> it took, or 0 if there is no valid value. */
static size_t forwarded_value(const char *s, char out[FORWARDED_VALUE_MAX], size_t *out_len)
{
    size_t i = 0, n = 0;

    if (s[0] != '"') {
        while (forwarded_is_tchar(s[i]) && i < FORWARDED_VALUE_MAX)
            out[n++] = s[i++];
        if (forwarded_is_tchar(s[i]))
            return 0; /* longer than FORWARDED_VALUE_MAX */
        *out_len = n;
        return i;
    }
    for (i = 1; i < FORWARDED_VALUE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"') {
            *out_len = n;
            return i + 1;
        }
        if (c == '\\') {
            c = (unsigned char)s[++i]; /* quoted-pair: HTAB / SP / VCHAR / obs-text */
            if (c != '\t' && c < 0x20)
                return 0;
        } else if (c != '\t' && c < 0x20) {
            return 0; /* the end of the line, or a control byte */
        }
        if (c == 0x7f)
            return 0;
        out[n++] = (char)c;
    }
    return 0;
}

/* Reads one Forwarded line into <l> (RFC 7239 §4):
 *   Forwarded = 1#forwarded-element
 *   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 *   forwarded-pair = token "=" value
 * Empty list elements are skipped (RFC 7230 §7); no whitespace around ";" or "=". */
static bool forwarded_parse_line(struct forwarded_list *l, const char *s)
{
    char value[FORWARDED_VALUE_MAX];
    size_t i = 0;

    for (;;) {
        struct forwarded_hop hop = {.kind = FORWARDED_KIND_MISSING};
        bool seen_for = false, seen_by = false, seen_host = false, seen_proto = false;

        while (forwarded_is_ows(s[i]))
            i++;
        if (s[i] == '\0')
            return true;
        if (s[i] == ',') {
            i++;
            continue;
        }
        for (;;) { /* the pairs of one element */
            size_t name = i, name_len, vlen = 0, took;
            bool *seen = NULL;

            while (forwarded_is_tchar(s[i]))
                i++;
            name_len = i - name;
            if (name_len > 0) {
                if (s[i] != '=')
                    return forwarded_bad(l, "Forwarded: a parameter without \"=\"");
                took = forwarded_value(s + i + 1, value, &vlen);
                if (took == 0)
                    return forwarded_bad(l, "Forwarded: a value is not a token or a "
                                            "quoted string");
                i += 1 + took;
                if (name_len == 3 && strncasecmp(s + name, "for", 3) == 0) {
                    seen = &seen_for;
                    if (!seen_for && !forwarded_node(l, value, vlen, &hop))
                        return false;
                } else if (name_len == 2 && strncasecmp(s + name, "by", 2) == 0) {
                    seen = &seen_by;
                } else if (name_len == 4 && strncasecmp(s + name, "host", 4) == 0) {
                    seen = &seen_host;
                } else if (name_len == 5 && strncasecmp(s + name, "proto", 5) == 0) {
                    seen = &seen_proto;
                    if (!forwarded_scheme(value, vlen, &hop.proto))
                        return forwarded_bad(l, "Forwarded: proto= is not a URI scheme");
                } /* other names are extensions (RFC 7239 §5.5): skipped */
                if (seen != NULL && *seen) /* RFC 7239 §4: once per element */
                    return forwarded_bad(l, "Forwarded: a parameter twice in one element");
                if (seen != NULL)
                    *seen = true;
            }
            if (s[i] != ';')
                break;
            i++;
        }
        while (forwarded_is_ows(s[i]))
            i++;
        if (s[i] != ',' && s[i] != '\0')
            return forwarded_bad(l, "Forwarded: unexpected byte in an element");
        /* an element of semicolons only is still a hop, one without for= */
        if (l->n == FORWARDED_MAX_HOPS)
            return forwarded_bad(l, "Forwarded: more than FORWARDED_MAX_HOPS elements");
        l->hops[l->n++] = hop;
    }
}

/* Reads one X-Forwarded-For line into <l>: a comma list of IPv4, IPv4:port, IPv6,
 * [IPv6] or [IPv6]:port, or "unknown" (Squid's word for a client it did not know). */
static bool forwarded_parse_xff_line(struct forwarded_list *l, const char *s)
{
    size_t i = 0;

    for (;;) {
        struct forwarded_hop hop = {.kind = FORWARDED_KIND_ADDR};
        size_t start, end, colons = 0;
        const char *e, *colon;

        while (forwarded_is_ows(s[i]) || s[i] == ',')
            i++;
        if (s[i] == '\0')
            return true;
        start = i;
        while (s[i] != '\0' && s[i] != ',')
            i++;
        end = i;
        while (end > start && forwarded_is_ows(s[end - 1]))
            end--;
        e = s + start;
        for (size_t k = start; k < end; k++)
            colons += s[k] == ':';
        if (end - start == 7 && strncasecmp(e, "unknown", 7) == 0) {
            hop.kind = FORWARDED_KIND_UNKNOWN;
        } else if (e[0] == '[') {
            const char *close = memchr(e, ']', end - start);
            size_t after;

            if (close == NULL || !forwarded_ipv6(e + 1, (size_t)(close - e) - 1, &hop))
                return forwarded_bad(l, "X-Forwarded-For: not an address");
            after = (size_t)(s + end - close) - 1;
            if (after > 0 && (close[1] != ':' || !forwarded_port(close + 2, after - 1, &hop.port)))
                return forwarded_bad(l, "X-Forwarded-For: bad port after an IPv6 address");
            hop.has_port = after > 0;
        } else if (colons >= 2) {
            if (!forwarded_ipv6(e, end - start, &hop))
                return forwarded_bad(l, "X-Forwarded-For: not an address");
        } else {
            colon = memchr(e, ':', end - start);
            hop.family = AF_INET;
            if (!forwarded_ipv4(e, colon != NULL ? (size_t)(colon - e) : end - start, hop.addr))
                return forwarded_bad(l, "X-Forwarded-For: not an address");
            if (colon != NULL &&
                !forwarded_port(colon + 1, (size_t)(s + end - colon) - 1, &hop.port))
                return forwarded_bad(l, "X-Forwarded-For: bad port after an IPv4 address");
            hop.has_port = colon != NULL;
        }
        if (l->n == FORWARDED_MAX_HOPS)
            return forwarded_bad(l, "X-Forwarded-For: more than FORWARDED_MAX_HOPS addresses");
        l->hops[l->n++] = hop;
    }
}

/* Reads one X-Forwarded-Proto line into <l>: a comma list of URI schemes. */
static bool forwarded_parse_xfp_line(struct forwarded_list *l, const char *s)
{
    size_t i = 0;

    for (;;) {
        size_t start, end;

        while (forwarded_is_ows(s[i]) || s[i] == ',')
            i++;
        if (s[i] == '\0')
            return true;
        start = i;
        while (s[i] != '\0' && s[i] != ',')
            i++;
        end = i;
        while (end > start && forwarded_is_ows(s[end - 1]))
            end--;
        if (l->n_xfp == FORWARDED_MAX_HOPS)
            return forwarded_bad(l, "X-Forwarded-Proto: more than FORWARDED_MAX_HOPS values");
        if (!forwarded_scheme(s + start, end - start, &l->xfp[l->n_xfp++]))
            return forwarded_bad(l, "X-Forwarded-Proto: not a URI scheme");
    }
}

/* <hop>'s address as a socket address in <ss>; returns its length. */
static socklen_t forwarded_sockaddr(const struct forwarded_hop *hop, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (hop->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons(hop->port);
        memcpy(&s4->sin_addr, hop->addr, 4);
        return sizeof(*s4);
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(hop->port);
    memcpy(&s6->sin6_addr, hop->addr, 16);
    return sizeof(*s6);
}

/* Walks <l> from the right past trusted addresses; sets *<chosen> to the client's index. */
static enum forwarded_result forwarded_walk(const struct forwarded_list *l,
                                            forwarded_trusted_fn *trusted, void *arg,
                                            size_t *chosen, const char **error)
{
    struct sockaddr_storage ss;

    if (l->n == 0) {
        *error = "a forwarding header names no node";
        return FORWARDED_NO_CLIENT;
    }
    for (size_t i = l->n; i-- > 0;) {
        const struct forwarded_hop *hop = &l->hops[i];

        switch (hop->kind) {
        case FORWARDED_KIND_UNKNOWN:
            *error = "the client hop is \"unknown\"";
            return FORWARDED_NO_CLIENT;
        case FORWARDED_KIND_OBFUSCATED:
            *error = "the client hop is an obfuscated name";
            return FORWARDED_NO_CLIENT;
        case FORWARDED_KIND_MISSING:
            *error = "the client hop has no for=";
            return FORWARDED_NO_CLIENT;
        case FORWARDED_KIND_ADDR:
            break;
        }
        forwarded_sockaddr(hop, &ss);
        if (i == 0 || !trusted(arg, (const struct sockaddr *)&ss)) {
            *chosen = i;
            return FORWARDED_CLIENT;
        }
    }
    return FORWARDED_NO_CLIENT; /* not reached: i == 0 always chooses */
}

/* The X-Forwarded-Proto answer for X-Forwarded-For index <chosen> of <n> addresses. */
static enum forwarded_proto forwarded_xfp_for(const struct forwarded_list *l, size_t chosen,
                                              size_t n)
{
    if (l->n_xfp == 1)
        return l->xfp[0];
    if (l->n_xfp == n && chosen < n)
        return l->xfp[chosen];
    return FORWARDED_PROTO_UNKNOWN;
}

static bool forwarded_same_addr(const struct forwarded_hop *a, const struct forwarded_hop *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static enum forwarded_result forwarded_no(struct forwarded_answer *out, const char *why)
{
    out->error = why;
    return FORWARDED_NO_CLIENT;
}

enum forwarded_result forwarded_find(const struct forwarded_headers *h, enum forwarded_use use,
                                     const struct sockaddr *peer, forwarded_trusted_fn *trusted,
                                     void *arg, struct forwarded_answer *out)
{
    /* two lists of FORWARDED_MAX_HOPS hops: about 3 KiB of stack, no allocation */
    struct forwarded_list fw = {.n = 0}, xf = {.n = 0};
    bool use_fw = use != FORWARDED_USE_XFF && h->n_forwarded > 0;
    bool use_xf = use != FORWARDED_USE_RFC7239 && h->n_xff > 0;
    bool use_xp = use != FORWARDED_USE_RFC7239 && h->n_xfp > 0;
    enum forwarded_result rf = FORWARDED_NONE, rx = FORWARDED_NONE;
    enum forwarded_proto px;
    size_t cf = 0, cx = 0;
    const struct forwarded_hop *pick;

    memset(out, 0, sizeof(*out));
    if (peer == NULL || !trusted(arg, peer))
        return FORWARDED_NONE;
    for (size_t i = 0; use_fw && i < h->n_forwarded; i++)
        if (!forwarded_parse_line(&fw, h->forwarded[i]))
            return forwarded_no(out, fw.error);
    for (size_t i = 0; use_xf && i < h->n_xff; i++)
        if (!forwarded_parse_xff_line(&xf, h->xff[i]))
            return forwarded_no(out, xf.error);
    for (size_t i = 0; use_xp && i < h->n_xfp; i++)
        if (!forwarded_parse_xfp_line(&xf, h->xfp[i]))
            return forwarded_no(out, xf.error);
    if (use_fw)
        rf = forwarded_walk(&fw, trusted, arg, &cf, &out->error);
    if (rf == FORWARDED_NO_CLIENT)
        return rf;
    if (use_xf)
        rx = forwarded_walk(&xf, trusted, arg, &cx, &out->error);
    if (rx == FORWARDED_NO_CLIENT)
        return rx;
    /* X-Forwarded-Proto pairs with the X-Forwarded-For addresses, or a single value
     * speaks for the whole chain */
    px = rx == FORWARDED_CLIENT ? forwarded_xfp_for(&xf, cx, xf.n)
         : xf.n_xfp == 1        ? xf.xfp[0]
                                : FORWARDED_PROTO_UNKNOWN;
    if (rf == FORWARDED_NONE && rx == FORWARDED_NONE) {
        out->proto = px; /* no address, perhaps the scheme */
        return FORWARDED_NONE;
    }
    if (rf == FORWARDED_CLIENT) {
        enum forwarded_proto pf = fw.hops[cf].proto;

        pick = &fw.hops[cf];
        if (rx == FORWARDED_CLIENT && !forwarded_same_addr(pick, &xf.hops[cx]))
            return forwarded_no(out, "Forwarded and X-Forwarded-For name different clients");
        if (pf != FORWARDED_PROTO_UNKNOWN && px != FORWARDED_PROTO_UNKNOWN && pf != px)
            return forwarded_no(out, "Forwarded and X-Forwarded-Proto name different schemes");
        out->proto = pf != FORWARDED_PROTO_UNKNOWN ? pf : px;
        out->source = "Forwarded";
        if (rx == FORWARDED_CLIENT && !pick->has_port && xf.hops[cx].has_port)
            pick = &xf.hops[cx];
    } else {
        pick = &xf.hops[cx];
        out->proto = px;
        out->source = "X-Forwarded-For";
    }
    out->client_len = forwarded_sockaddr(pick, &out->client);
    out->has_port = pick->has_port;
    return FORWARDED_CLIENT;
}
