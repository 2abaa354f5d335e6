/*
 * addr.c - addresses as users write them: "host:port", "[v6]:port", "tls://host:port",
 * "unix:/path", "systemd:NAME" and the built-in "echo"; no I/O, no name resolution
 * (clientsock.c resolves names later).
 * Host names follow RFC 1123 §2.1, literals are checked with inet_pton(); formatting of
 * socket addresses for logs uses inet_ntop().
 */
#include "addr.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define ADDR_TLS_PREFIX "tls://"
#define ADDR_NAME_MAX 253 /* RFC 1123 §2.1 / RFC 1035 §2.3.4: whole name, dots included */
#define ADDR_LABEL_MAX 63 /* RFC 1035 §2.3.4: one label */

static_assert(ADDR_UNIX_PATH_MAX <= ADDR_HOST_MAX, "a Unix socket path fits in struct addr's host");

/* Writes <msg> into <err> when there is room for anything; returns -1 for the caller. */
static int addr_fail(char *err, size_t err_len, const char *msg)
{
    if (err != NULL && err_len > 0)
        snprintf(err, err_len, "%s", msg);
    return -1;
}

static bool addr_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool addr_is_alnum(char ch)
{
    return addr_is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Parses the decimal port in <s>[0..len). Only digits: a sign, a space or a "0x" is refused
 * here rather than left to strtoul, which would accept " +80". */
static int addr_parse_port(const char *s, size_t len, uint16_t *port, char *err, size_t err_len)
{
    unsigned long v = 0;

    if (len == 0)
        return addr_fail(err, err_len, "missing port after \":\"");
    for (size_t i = 0; i < len; i++) {
        if (!addr_is_digit(s[i]))
            return addr_fail(err, err_len, "port must be a number, 1..65535");
        /* Saturate instead of overflowing: any value past 65535 earns the same answer. */
        if (v <= 65535)
            v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return addr_fail(err, err_len, "port must be 1..65535");
    *port = (uint16_t)v;
    return 0;
}

/* Checks the host name <h>[0..len) against RFC 1123 §2.1: dot-separated labels of letters,
 * digits and hyphens, 1..63 bytes each, no hyphen at either end, 253 bytes in all. */
static int addr_check_name(const char *h, size_t len, char *err, size_t err_len)
{
    size_t label = 0;
    char msg[64];

    if (len > ADDR_NAME_MAX)
        return addr_fail(err, err_len, "host name longer than 253 characters");
    for (size_t i = 0; i <= len; i++) {
        if (i == len || h[i] == '.') {
            if (label == 0)
                return addr_fail(err, err_len, "empty label in host name");
            if (h[i - 1] == '-')
                return addr_fail(err, err_len, "host name label ends with \"-\"");
            label = 0;
            continue;
        }
        if (h[i] == '-' && label == 0)
            return addr_fail(err, err_len, "host name label starts with \"-\"");
        if (h[i] != '-' && !addr_is_alnum(h[i])) {
            unsigned char ch = (unsigned char)h[i];
            if (ch > 0x20 && ch < 0x7f)
                snprintf(msg, sizeof(msg), "bad character '%c' in host name", ch);
            else if (ch == ' ')
                snprintf(msg, sizeof(msg), "space in host name");
            else
                snprintf(msg, sizeof(msg), "bad character 0x%02x in host name", ch);
            return addr_fail(err, err_len, msg);
        }
        if (++label > ADDR_LABEL_MAX)
            return addr_fail(err, err_len, "host name label longer than 63 characters");
    }
    return 0;
}

/* True if <h>[0..len) is made of digits and dots only: meant as an IPv4 literal. Such a
 * host is never treated as a name, because getaddrinfo() would read "1.2.3" or "123" as
 * an inet_aton() number and connect somewhere the user did not mean. */
static bool addr_is_numeric(const char *h, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!addr_is_digit(h[i]) && h[i] != '.')
            return false;
    return true;
}

/* Unbracketed text with several colons was probably an IPv6 literal: say how to write it,
 * quoting the user's own address when it is one. */
static int addr_fail_v6(const char *s, size_t len, char *err, size_t err_len)
{
    const char *colon = memrchr(s, ':', len);
    size_t host_len = (size_t)(colon - s);
    size_t port_len = len - host_len - 1;
    char host[INET6_ADDRSTRLEN];
    struct in6_addr in6;
    char msg[128];

    if (host_len < sizeof(host) && port_len > 0 && port_len <= 5) {
        memcpy(host, s, host_len);
        host[host_len] = '\0';
        if (inet_pton(AF_INET6, host, &in6) == 1 && strspn(colon + 1, "0123456789") == port_len) {
            snprintf(msg, sizeof(msg), "IPv6 addresses need brackets: \"[%s]:%.*s\"", host,
                     (int)port_len, colon + 1);
            return addr_fail(err, err_len, msg);
        }
    }
    return addr_fail(err, err_len, "IPv6 addresses need brackets and a port, as in \"[::1]:80\"");
}

/* Parses "host:port" or "[v6]:port" (no scheme) in <s>[0..len) into <a>. */
static int addr_parse_hostport(const char *s, size_t len, struct addr *a, char *err, size_t err_len)
{
    const char *host = s, *port, *colon;
    size_t host_len;
    struct in6_addr in6;
    struct in_addr in4;
    bool numeric;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return addr_fail(err, err_len, "missing \"]\" after IPv6 address");
        host = s + 1;
        host_len = (size_t)(close - host);
        if (host_len == 0)
            return addr_fail(err, err_len, "empty IPv6 address in \"[]\"");
        if (close + 1 == s + len || close[1] != ':')
            return addr_fail(err, err_len, "missing \":port\" after \"]\"");
        port = close + 2;
        if (host_len >= INET6_ADDRSTRLEN)
            return addr_fail(err, err_len, "bad IPv6 address");
        memcpy(a->host, host, host_len);
        a->host[host_len] = '\0';
        if (inet_pton(AF_INET6, a->host, &in6) != 1)
            return addr_fail(err, err_len, "bad IPv6 address");
        if (addr_parse_port(port, len - (size_t)(port - s), &a->port, err, err_len) < 0)
            return -1;
        a->sa.in6 = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons(a->port),
                                          .sin6_addr = in6};
        a->sa_len = sizeof(a->sa.in6);
        return 0;
    }

    colon = memchr(s, ':', len);
    if (colon == NULL)
        return addr_fail(err, err_len, "missing \":port\"");
    if (memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) != NULL)
        return addr_fail_v6(s, len, err, err_len);
    host_len = (size_t)(colon - s);
    if (host_len == 0)
        return addr_fail(err, err_len, "missing host before \":\"");
    numeric = addr_is_numeric(host, host_len);
    if (numeric) {
        if (host_len > 15)
            return addr_fail(err, err_len, "bad IPv4 address");
        memcpy(a->host, host, host_len);
        a->host[host_len] = '\0';
        /* inet_pton() wants exactly four decimal parts, no leading zeros: no octal surprises */
        if (inet_pton(AF_INET, a->host, &in4) != 1)
            return addr_fail(err, err_len, "bad IPv4 address");
    } else {
        if (addr_check_name(host, host_len, err, err_len) < 0)
            return -1;
        memcpy(a->host, host, host_len);
        a->host[host_len] = '\0';
    }
    if (addr_parse_port(colon + 1, len - host_len - 1, &a->port, err, err_len) < 0)
        return -1;
    if (numeric) {
        a->sa.in4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(a->port),
                                         .sin_addr = in4};
        a->sa_len = sizeof(a->sa.in4);
    }
    return 0;
}

/* Checks Unix socket path <path> (what follows "unix:") into <a>. Only what bind() and
 * connect() would refuse, or what reads wrong in a log line, is refused here: whether the
 * path exists is the daemon's business, at bind or connect time. */
static int addr_parse_unix(const char *path, struct addr *a, char *err, size_t err_len)
{
    size_t len = strlen(path);
    char msg[64];

    if (len == 0)
        return addr_fail(err, err_len, "empty Unix socket path after \"unix:\"");
    /* "unix:///run/x.sock" is how some tools write it; here the path follows "unix:"
     * directly, and "//run/x.sock" would be taken as a relative name by nobody. */
    if (strncmp(path, "//", 2) == 0)
        return addr_fail(err, err_len, "a Unix socket is written unix:/path, not unix://");
    if (len > ADDR_UNIX_PATH_MAX) {
        snprintf(msg, sizeof(msg), "Unix socket path longer than %zu bytes",
                 (size_t)ADDR_UNIX_PATH_MAX);
        return addr_fail(err, err_len, msg);
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
            return addr_fail(err, err_len, "control character in Unix socket path");
    if (path[len - 1] == '/')
        return addr_fail(err, err_len, "Unix socket path ends with \"/\" (a folder)");
    a->kind = ADDR_UNIX;
    memcpy(a->host, path, len + 1);
    a->port = 0;
    return 0;
}

/* Checks inherited socket name <name> (what follows "systemd:") into <a>: what systemd
 * accepts in FileDescriptorName=, so that LISTEN_FDNAMES can carry it. */
static int addr_parse_systemd(const char *name, struct addr *a, char *err, size_t err_len)
{
    size_t len = strlen(name);

    if (len == 0)
        return addr_fail(err, err_len, "empty socket name after \"systemd:\"");
    if (len > ADDR_SYSTEMD_NAME_MAX)
        return addr_fail(err, err_len, "socket name longer than 255 characters");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f || name[i] == ':')
            return addr_fail(err, err_len,
                             "a socket name is printable ASCII without spaces or \":\"");
    a->kind = ADDR_SYSTEMD;
    memcpy(a->host, name, len + 1);
    a->port = 0;
    return 0;
}

/* Parses <s> into <a>. <allow_echo>: "echo" is accepted (targets) or refused
 * (listeners). IPv6 literals must be bracketed; ports are decimal 1..65535 with no sign
 * or spaces; host names follow RFC 1123 letters-digits-hyphens labels; "unix:PATH" is a
 * Unix socket. Returns 0, or -1 with "<what is wrong>" in <err> (at most <err_len> bytes,
 * NUL-terminated). <a> is written only on success. */
int addr_parse(const char *s, bool allow_echo, struct addr *a, char *err, size_t err_len)
{
    struct addr tmp = {.kind = ADDR_HOSTPORT};
    size_t len;

    if (s == NULL || a == NULL)
        return addr_fail(err, err_len, "no address");
    if (strncmp(s, ADDR_TLS_PREFIX, strlen(ADDR_TLS_PREFIX)) == 0) {
        tmp.tls = true;
        s += strlen(ADDR_TLS_PREFIX);
    }
    len = strlen(s);
    if (len == 0)
        return addr_fail(err, err_len, "empty address");
    if (strncmp(s, ADDR_UNIX_PREFIX, strlen(ADDR_UNIX_PREFIX)) == 0) {
        /* TLS over a local socket protects nothing the file's mode does not. */
        if (tmp.tls)
            return addr_fail(err, err_len, "a Unix socket takes no tls://");
        if (addr_parse_unix(s + strlen(ADDR_UNIX_PREFIX), &tmp, err, err_len) < 0)
            return -1;
        *a = tmp;
        return 0;
    }
    if (!allow_echo && strncmp(s, ADDR_SYSTEMD_PREFIX, strlen(ADDR_SYSTEMD_PREFIX)) == 0) {
        /* The socket is what it is: TLS is the listener mapping's "tls" key. */
        if (tmp.tls)
            return addr_fail(err, err_len, "a systemd: socket takes no tls://");
        if (addr_parse_systemd(s + strlen(ADDR_SYSTEMD_PREFIX), &tmp, err, err_len) < 0)
            return -1;
        *a = tmp;
        return 0;
    }
    if (strstr(s, "://") != NULL)
        return addr_fail(err, err_len, "unknown scheme (tls:// is the only one)");
    if (strcmp(s, "echo") == 0) {
        if (!allow_echo)
            return addr_fail(err, err_len, "\"echo\" is a target, not an address to listen on");
        if (tmp.tls)
            return addr_fail(err, err_len, "\"echo\" is built in and takes no tls://");
        tmp.kind = ADDR_ECHO;
        *a = tmp;
        return 0;
    }
    if (addr_parse_hostport(s, len, &tmp, err, err_len) < 0)
        return -1;
    *a = tmp;
    return 0;
}

/* Writes <a> as a user would ("127.0.0.1:80", "[::1]:80", "tls://h:443", "unix:/run/x.sock",
 * "systemd:web", "echo") into <out>; returns the length it needed (snprintf rules). */
int addr_format(const struct addr *a, char *out, size_t cap)
{
    const char *scheme = a->tls ? ADDR_TLS_PREFIX : "";

    if (a->kind == ADDR_ECHO)
        return snprintf(out, cap, "echo");
    if (a->kind == ADDR_UNIX)
        return snprintf(out, cap, ADDR_UNIX_PREFIX "%s", a->host);
    if (a->kind == ADDR_SYSTEMD)
        return snprintf(out, cap, ADDR_SYSTEMD_PREFIX "%s", a->host);
    /* A colon in the host can only come from an IPv6 literal: bracket it again. */
    if (strchr(a->host, ':') != NULL)
        return snprintf(out, cap, "%s[%s]:%u", scheme, a->host, (unsigned)a->port);
    return snprintf(out, cap, "%s%s:%u", scheme, a->host, (unsigned)a->port);
}

socklen_t addr_unix_sockaddr(const struct addr *a, struct sockaddr_un *sun)
{
    size_t len = strnlen(a->host, sizeof(a->host));

    if (a->kind != ADDR_UNIX || len == 0 || len > ADDR_UNIX_PATH_MAX)
        return 0;
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, a->host, len);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/* Writes <sa> (AF_INET or AF_INET6) as "1.2.3.4:5" or "[::1]:5" into <out>
 * (ADDR_SOCKADDR_STR_MAX bytes); AF_UNIX as "unix"; anything else as "?". A non-zero IPv6
 * scope is written as its number ("[fe80::1%2]:80"): if_indextoname() would be I/O. */
void addr_format_sockaddr(const struct sockaddr *sa, char *out)
{
    char host[INET6_ADDRSTRLEN];

    if (sa != NULL && sa->sa_family == AF_UNIX) {
        snprintf(out, ADDR_SOCKADDR_STR_MAX, "unix");
        return;
    }
    if (sa != NULL && sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin)); /* <sa> may not be aligned for sockaddr_in */
        if (inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host)) != NULL) {
            snprintf(out, ADDR_SOCKADDR_STR_MAX, "%s:%u", host, (unsigned)ntohs(sin.sin_port));
            return;
        }
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        if (inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof(host)) != NULL) {
            /* "%.39s": inet_ntop() writes at most 39 characters for IPv6 (its dotted forms
             * are only for ::ffff:0:0/96 and ::/96, and shorter); saying so lets the
             * compiler see the text fits ADDR_SOCKADDR_STR_MAX. */
            if (sin6.sin6_scope_id != 0)
                snprintf(out, ADDR_SOCKADDR_STR_MAX, "[%.39s%%%u]:%u", host,
                         (unsigned)sin6.sin6_scope_id, (unsigned)ntohs(sin6.sin6_port));
            else
                snprintf(out, ADDR_SOCKADDR_STR_MAX, "[%.39s]:%u", host,
                         (unsigned)ntohs(sin6.sin6_port));
            return;
        }
    }
    snprintf(out, ADDR_SOCKADDR_STR_MAX, "?");
}

socklen_t addr_sockaddr_len(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_UNIX)
        return sizeof(sa_family_t);
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}
