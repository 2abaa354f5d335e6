/*
 * addr.h - addresses as users write them, no I/O: "host:port", "[v6]:port",
 * "tls://host:port" and the built-in "echo" target; formatting of socket addresses for logs.
 */
#ifndef WSB_ADDR_H
#define WSB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDR_HOST_MAX 255 /* a DNS name's longest text form */

enum addr_kind {
    ADDR_HOSTPORT = 0, /* host (name, IPv4 or IPv6 literal) and port */
    ADDR_ECHO,         /* the built-in echo target */
};

struct addr {
    enum addr_kind kind;
    bool tls;                      /* written as tls://host:port */
    char host[ADDR_HOST_MAX + 1];  /* without brackets; "" for ADDR_ECHO */
    uint16_t port;                 /* 1..65535 */
};

/* Parses <s> into <a>. <allow_echo>: "echo" is accepted (targets) or refused
 * (listeners). IPv6 literals must be bracketed; ports are decimal 1..65535 with no sign
 * or spaces; host names follow RFC 1123 letters-digits-hyphens labels. Returns 0, or -1
 * with "<what is wrong>" in <err> (at most <err_len> bytes, NUL-terminated). */
int addr_parse(const char *s, bool allow_echo, struct addr *a, char *err, size_t err_len);

/* Writes <a> as a user would ("127.0.0.1:80", "[::1]:80", "tls://h:443", "echo") into
 * <out>; returns the length it needed (snprintf rules). */
int addr_format(const struct addr *a, char *out, size_t cap);

#define ADDR_SOCKADDR_STR_MAX 64 /* "[ffff:...:ffff%scope]:65535" fits */

/* Writes <sa> (AF_INET or AF_INET6) as "1.2.3.4:5" or "[::1]:5" into <out>
 * (ADDR_SOCKADDR_STR_MAX bytes); anything else as "?". */
void addr_format_sockaddr(const struct sockaddr *sa, char *out);

/* The length of <sa> as its family says: sizeof(struct sockaddr_in6) for AF_INET6,
 * sizeof(struct sockaddr_in) for anything else (what an accepted socket's peer is). */
socklen_t addr_sockaddr_len(const struct sockaddr *sa);

#endif
