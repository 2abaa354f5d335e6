/*
 * listener.h - a listening socket on an event loop: bind (SO_REUSEADDR; SO_REUSEPORT when
 * several workers share the address; IPv6 only for an IPv6 address unless dual_stack),
 * the "already in use" probe, accept into a callback, and pausing: after EMFILE, ENFILE or
 * ENOMEM, or while the caller says there is no room, accepting stops and a timer tries
 * again, so a connection waits in the listen queue instead of making the loop spin. Unix
 * sockets: a stale socket file is replaced, the file gets its mode before anyone can
 * connect, and it is removed at close; one bound socket is shared by every worker. A
 * socket handed in at start (inherit.h) is taken instead of binding one. Used by the main
 * listeners and the admin endpoint.
 */
#ifndef WSB_LISTENER_H
#define WSB_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <event2/util.h>

#include "inherit.h"

struct addr;
struct addrinfo;
struct event;
struct event_base;
struct evconnlistener;

#define LISTENER_RETRY_MS 100     /* pause after accept fails for lack of fds or memory */
#define LISTENER_BACKLOG_MAX 4096 /* listen queue, at most net.core.somaxconn */
#define LISTENER_NAME_MAX 128     /* "[v6]:port", "1.2.3.4:5", "unix:" and a 107-byte path */

struct listener;

/* Takes accepted socket <fd> (non-blocking, close-on-exec) from peer <sa> of <socklen>
 * bytes on <l>: the callee owns it. */
typedef void listener_accept_cb(struct listener *l, evutil_socket_t fd, const struct sockaddr *sa,
                                int socklen, void *arg);

/* True if the caller can take one more connection now (a paused listener resumes). */
typedef bool listener_room_fn(void *arg);

struct listener_opts {
    const char *what;          /* "" or "admin ": starts the messages ("admin listen ...") */
    bool reuseport;            /* SO_REUSEPORT: each worker binds its own socket */
    bool probe;                /* first check that nothing listens there already */
    listener_accept_cb *accept;
    void *arg;                 /* for accept and room */
    listener_room_fn *room;    /* NULL: always room */
    unsigned unix_mode;        /* AF_UNIX: the socket file's mode, as chmod takes it */
    bool dual_stack;           /* AF_INET6: IPv4 clients too, as ::ffff:a.b.c.d (IPV6_V6ONLY
                                * off); false (the default): IPv6 only */
    struct inherit *inherit;   /* not owned; NULL: none. A socket handed in and bound to
                                * the address is taken rather than a new one bound */
};

struct listener {
    struct evconnlistener *lev; /* owns the listening socket; NULL once closed */
    struct event *retry;        /* accepting again after a pause */
    struct listener_opts opts;
    char name[LISTENER_NAME_MAX]; /* "127.0.0.1:8080" or "unix:/run/x.sock" for logs */
    bool unix_owner;            /* AF_UNIX: this one bound the file and removes it at close */
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* AF_UNIX: the file */
    dev_t unix_dev;             /* ... and what it was once bound: another daemon's file */
    ino_t unix_ino;             /*     at that path later is not removed */
    char fdname[INHERIT_NAME_MAX + 1]; /* handed in under this name; "": bound here */
};

/* Resolves <a> for listening into <res> (the caller frees it with freeaddrinfo). Returns
 * 0, or -1 with "<what>listen NAME: why" in <err>. */
int listener_resolve(const struct addr *a, const char *what, struct addrinfo **res, char *err,
                     size_t err_len);

/* Opens a listener on <base> for <ai> as <opts> say: a socket bound and listening with a
 * backlog of LISTENER_BACKLOG_MAX (or net.core.somaxconn, if lower), accepting into
 * opts->accept. Returns it, or NULL with "bind NAME: why" (socket, listen, SO_REUSEPORT;
 * "<what>listen NAME: out of memory") in <err>. With opts->probe, a plain socket is bound
 * first and closed: SO_REUSEPORT would otherwise let a second daemon of the same user share
 * the port silently, where a lone worker gets "Address already in use".
 * An AF_UNIX <ai> (a sockaddr_un with a path; probe and reuseport do not apply) binds the
 * path with mode opts->unix_mode, applied before listen() so that nobody connects under
 * a wider one. A socket file already there is removed first if connecting to it is refused
 * (a daemon that crashed left it); a live socket fails with "bind unix:PATH: in use by
 * another process", and a file of any other type is never removed. The new listener owns
 * the file and removes it when it is closed. */
struct listener *listener_new(struct event_base *base, const struct addrinfo *ai,
                              const struct listener_opts *opts, char *err, size_t err_len);

/* Opens a listener on <base> for socket <fd> (taken, closed on failure too), handed in at
 * start under <fdname>: it must be a listening stream socket; it is made non-blocking and
 * keeps its own backlog. A Unix socket's file is its own to remove at close only when a
 * wsbridge bound it (<fdname> INHERIT_NAME_OURS: handed on at an upgrade); systemd's stay.
 * Returns it, or NULL with "<what>listen NAME: why" in <err>. opts->reuseport, probe and
 * unix_mode do not apply. */
struct listener *listener_adopt(struct event_base *base, evutil_socket_t fd, const char *fdname,
                                const struct listener_opts *opts, char *err, size_t err_len);

/* Opens a listener on <base> that accepts from <owner>'s socket (a duplicate descriptor)
 * as <opts> say: for AF_UNIX, where SO_REUSEPORT does not spread connections over several
 * sockets, every worker accepts from the one bound socket. It does not own the file.
 * Returns it, or NULL with "<what>listen NAME: why" in <err>. */
struct listener *listener_share(struct event_base *base, const struct listener *owner,
                                const struct listener_opts *opts, char *err, size_t err_len);

/* Stops accepting for LISTENER_RETRY_MS, then again while opts->room says no room: the
 * connections wait in the listen queue. */
void listener_pause(struct listener *l);

/* Closes the listening socket (a stop): nothing more is accepted; connections already in
 * the queue are refused by the kernel. The owner of a Unix socket removes its file, if it
 * is still the file it bound. Idempotent. */
void listener_close(struct listener *l);

/* As listener_close, for a socket another process now accepts from (an upgrade): the
 * socket file of a Unix listener stays, and the connections in the queue stay with the
 * other process's descriptor. */
void listener_release(struct listener *l);

/* The listening socket of <l>, or -1 once closed. */
evutil_socket_t listener_fd(const struct listener *l);

/* Closes and frees <l>; NULL is fine. */
void listener_free(struct listener *l);

#endif
