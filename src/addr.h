/*
 * addr.h - addresses as users write them, no I/O: "host:port", "[v6]:port",
 * "tls://host:port", "unix:/path" and the built-in "echo" target; formatting of socket
 * addresses for logs.
 */
#ifndef WSB_ADDR_H
#define WSB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#define ADDR_HOST_MAX 255 /* a DNS name's longest text form */
#define ADDR_UNIX_PREFIX "unix:"
#define ADDR_SYSTEMD_PREFIX "systemd:"
#define ADDR_SYSTEMD_NAME_MAX 255 /* a LISTEN_FDNAMES name (sd_listen_fds(3)) */
/* The longest Unix socket path: sun_path less its NUL (107 bytes on Linux). */
#define ADDR_UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

enum addr_kind {
    ADDR_HOSTPORT = 0, /* host (name, IPv4 or IPv6 literal) and port */
    ADDR_ECHO,         /* the built-in echo target */
    ADDR_UNIX,         /* a Unix stream socket, by its path in host */
    ADDR_SYSTEMD,      /* listening only: the sockets handed in under the name in host */
};

struct addr {
    enum addr_kind kind;
    bool tls;                     /* written as tls://host:port (never for ADDR_UNIX) */
    char host[ADDR_HOST_MAX + 1]; /* without brackets; "" for ADDR_ECHO; ADDR_UNIX: the
                                   * socket's path, 1..ADDR_UNIX_PATH_MAX bytes */
    uint16_t port;                /* 1..65535; 0 for ADDR_ECHO and ADDR_UNIX */
    /* ADDR_HOSTPORT with an IPv4 or IPv6 literal: the socket address, made once when
     * parsed, so that connecting needs no resolver call; sa_len 0 for a name (and the
     * other kinds). */
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } sa;
    socklen_t sa_len; /* bytes of <sa> in use; 0: none */
};

/* Parses <s> into <a>. <allow_echo>: "echo" is accepted (targets) or refused
 * (listeners). IPv6 literals must be bracketed; ports are decimal 1..65535 with no sign
 * or spaces; host names follow RFC 1123 letters-digits-hyphens labels. "unix:PATH" is a
 * Unix socket (targets and listeners alike): PATH not empty, at most ADDR_UNIX_PATH_MAX
 * bytes, no control character, not ending in "/", and no tls://; a relative PATH is kept
 * as written (the caller joins it to its folder). "systemd:NAME" (listeners only, that is
 * without <allow_echo>) names inherited sockets: NAME is 1..ADDR_SYSTEMD_NAME_MAX printable
 * ASCII characters without ":" (what LISTEN_FDNAMES can carry), and takes no tls://. An IP
 * literal also gets its socket address in <a>->sa. Returns 0, or -1 with "<what is wrong>"
 * in <err> (at most <err_len> bytes, NUL-terminated). */
int addr_parse(const char *s, bool allow_echo, struct addr *a, char *err, size_t err_len);

/* Writes <a> as a user would ("127.0.0.1:80", "[::1]:80", "tls://h:443", "unix:/run/x.sock",
 * "systemd:web", "echo") into <out>; returns the length it needed (snprintf rules). */
int addr_format(const struct addr *a, char *out, size_t cap);

/* Fills <sun> for ADDR_UNIX address <a> and returns its length for connect() or bind();
 * 0 (and <sun> untouched) for any other kind. */
socklen_t addr_unix_sockaddr(const struct addr *a, struct sockaddr_un *sun);

#define ADDR_SOCKADDR_STR_MAX 64 /* "[ffff:...:ffff%scope]:65535" fits */

/* Writes <sa> (AF_INET or AF_INET6) as "1.2.3.4:5" or "[::1]:5" into <out>
 * (ADDR_SOCKADDR_STR_MAX bytes); AF_UNIX as "unix" (a peer on a Unix socket has no
 * address worth logging: its path, if any, is its own choice); anything else as "?". */
void addr_format_sockaddr(const struct sockaddr *sa, char *out);

/* The length of <sa> as its family says: sizeof(struct sockaddr_in6) for AF_INET6, the
 * family alone for AF_UNIX (a peer's path is never used), sizeof(struct sockaddr_in) for
 * anything else (what an accepted socket's peer is). */
socklen_t addr_sockaddr_len(const struct sockaddr *sa);

#endif
