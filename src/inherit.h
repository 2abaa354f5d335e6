/*
 * inherit.h - listening sockets handed to the daemon when it starts, by the protocol of
 * sd_listen_fds(3): LISTEN_PID (this process), LISTEN_FDS (how many, from descriptor 3
 * on) and LISTEN_FDNAMES (their names, ":"-separated). systemd's socket activation uses
 * it, and so does the wsbridge this one replaces at an upgrade (reexec.h). A listen entry
 * "systemd:NAME" takes every socket of that name; any other listen address takes a socket
 * already bound to it instead of binding again; what nobody takes is closed with a
 * warning. The parsing is pure (inherit_parse); the rest reads the environment and the
 * sockets' addresses.
 */
#ifndef WSB_INHERIT_H
#define WSB_INHERIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define INHERIT_FD_START 3        /* SD_LISTEN_FDS_START */
#define INHERIT_FDS_MAX 256       /* more is a mistake, not a configuration */
#define INHERIT_NAME_MAX 255      /* one name of LISTEN_FDNAMES */
#define INHERIT_UNNAMED "unknown" /* what systemd calls a socket without a name */
/* The name of a socket a wsbridge bound itself, handed on at an upgrade: its Unix socket
 * file is the daemon's to remove. */
#define INHERIT_NAME_OURS "wsbridge"

/* One inherited socket. */
struct inherit_fd {
    int fd;                          /* INHERIT_FD_START + its index; -1 once taken */
    char name[INHERIT_NAME_MAX + 1]; /* its LISTEN_FDNAMES entry, or INHERIT_UNNAMED */
    bool reserved;                   /* a "systemd:" entry names it: not taken by address */
};

struct inherit {
    struct inherit_fd *fds; /* owned */
    size_t n;
};

/* Pure: reads the three variables' values (NULL: unset) for process <self> into <in>:
 * none when <pid> is unset or another process's (the variables were meant for a parent),
 * else <fds> descriptors named by <names> (missing names are INHERIT_UNNAMED). Returns
 * 0, or -1 with "LISTEN_FDS: why" in <err> (a count that is not a number, or more than
 * INHERIT_FDS_MAX; more names than descriptors). */
int inherit_parse(const char *pid, const char *fds, const char *names, long self,
                  struct inherit *in, char *err, size_t err_len);

/* Reads this process's LISTEN_* variables into <in>, removes them from the environment
 * (a program the daemon starts must not take them for its own), and marks the sockets
 * close-on-exec. Returns 0 (with no socket when none was handed in), or -1 as
 * inherit_parse. */
int inherit_init(struct inherit *in, char *err, size_t err_len);

/* Takes the next socket named <name>: returns its descriptor, now the caller's, or -1
 * when none is left. */
int inherit_take_name(struct inherit *in, const char *name);

/* Keeps the sockets named <name> for inherit_take_name: inherit_take_addr passes them by. */
void inherit_reserve(struct inherit *in, const char *name);

/* Takes the next listening socket bound to <sa> (<len> bytes; AF_INET, AF_INET6 or a
 * Unix socket path) and not reserved: returns its descriptor, now the caller's, and its
 * name in *<name> (valid until inherit_free), or -1. */
int inherit_take_addr(struct inherit *in, const struct sockaddr *sa, socklen_t len,
                      const char **name);

/* Closes every socket nobody took, each with a warning naming it, and frees <in>. */
void inherit_free(struct inherit *in);

#endif
