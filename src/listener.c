/*
 * listener.c - listening sockets: bind, listen with a real backlog, accept, and pauses
 * that leave connections in the listen queue rather than spin on an accept that fails.
 * Unix sockets: a stale file replaced, the mode set before listen(), the file removed at
 * close, one socket shared by the workers.
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "log.h"
#include "ratelimit.h"
#include "timeval.h"

int listener_resolve(const struct addr *a, const char *what, struct addrinfo **res, char *err,
                     size_t err_len)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    char port[8], name[ADDR_HOST_MAX + 16];
    int r;

    *res = NULL;
    addr_format(a, name, sizeof(name));
    snprintf(port, sizeof(port), "%u", a->port);
    r = getaddrinfo(a->host, port, &hints, res);
    if (r != 0) {
        snprintf(err, err_len, "%slisten %s: %s", what, name, gai_strerror(r));
        *res = NULL;
        return -1;
    }
    return 0;
}

/* The listen queue: LISTENER_BACKLOG_MAX, or net.core.somaxconn if lower (the kernel would
 * cut it there anyway; reading it says what we get). */
static int listener_backlog(void)
{
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
    int max = 0;

    if (f != NULL) {
        if (fscanf(f, "%d", &max) != 1)
            max = 0;
        fclose(f);
    }
    return max > 0 && max < LISTENER_BACKLOG_MAX ? max : LISTENER_BACKLOG_MAX;
}

/* Creates, binds and listens on one socket for <ai>; -1 with "bind NAME: why" in <err>.
 * With <reuseport> each worker binds its own socket to the same address and the kernel
 * spreads new connections over them. */
static evutil_socket_t listener_bind(const struct addrinfo *ai, const char *name, bool reuseport,
                                     bool dual_stack, char *err, size_t err_len)
{
    evutil_socket_t fd;
    int one = 1, v6only = dual_stack ? 0 : 1;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, err_len, "socket for %s: %s", name, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        snprintf(err, err_len, "SO_REUSEPORT for %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    /* "[::]:8080" and "0.0.0.0:8080" are two listeners, not one that collides; set either
     * way, since the system default (net.ipv6.bindv6only) varies. */
    if (ai->ai_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0) {
        snprintf(err, err_len, "IPV6_V6ONLY for %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, err_len, "bind %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, listener_backlog()) != 0) {
        snprintf(err, err_len, "listen %s: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* bind() on Unix socket path <path> found something there (EADDRINUSE). Removes it if it
 * is a socket nobody listens on (connect refused: its daemon is gone; the kernel does not
 * remove the file when a socket closes). Returns 0 when the path is free again, or -1 with
 * "bind NAME: why" in <err>: a live socket, a file that is not a socket (never removed:
 * a wrong path in the config must not cost the user a file), or no way to tell. */
static int listener_unix_clear_stale(const struct addrinfo *ai, const char *path, const char *name,
                                     char *err, size_t err_len)
{
    struct stat st;
    evutil_socket_t probe;
    int r, e;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0; /* gone meanwhile */
        snprintf(err, err_len, "bind %s: lstat: %s", name, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, err_len, "bind %s: the path exists and is not a socket; not removing it",
                 name);
        return -1;
    }
    probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        snprintf(err, err_len, "socket for %s: %s", name, strerror(errno));
        return -1;
    }
    r = connect(probe, ai->ai_addr, ai->ai_addrlen);
    e = errno;
    close(probe);
    /* EAGAIN: a listener whose queue is full is alive all the same. */
    if (r == 0 || e == EAGAIN || e == EINPROGRESS) {
        snprintf(err, err_len, "bind %s: in use by another process", name);
        return -1;
    }
    if (e != ECONNREFUSED) {
        snprintf(err, err_len, "bind %s: cannot tell whether the socket is in use: connect: %s",
                 name, strerror(e));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, err_len, "bind %s: removing the stale socket: %s", name, strerror(errno));
        return -1;
    }
    log_msg(LOG_LEVEL_INFO, "%s: removed a stale socket file (nothing listened on it)", name);
    return 0;
}

/* Creates, binds and listens on Unix socket <ai> (a sockaddr_un with a path) with file
 * mode <mode>, and records in <l> the file it made; -1 with "bind NAME: why" in <err>. */
static evutil_socket_t listener_bind_unix(struct listener *l, const struct addrinfo *ai,
                                          unsigned mode, char *err, size_t err_len)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)ai->ai_addr;
    struct stat st;
    evutil_socket_t fd;
    int r;

    snprintf(l->unix_path, sizeof(l->unix_path), "%s", sun->sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "socket for %s: %s", l->name, strerror(errno));
        return -1;
    }
    /* Linux gives the file bind() makes the mode of the socket's inode, less the umask:
     * with this, the file is never more open than <mode>, not even for the moment
     * between bind() and the chmod() below. (Elsewhere this may do nothing; nobody can
     * connect before listen() anyway.) */
    (void)fchmod(fd, (mode_t)mode);
    r = bind(fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EADDRINUSE) {
        if (listener_unix_clear_stale(ai, l->unix_path, l->name, err, err_len) != 0) {
            close(fd);
            return -1;
        }
        r = bind(fd, ai->ai_addr, ai->ai_addrlen);
    }
    if (r != 0) {
        snprintf(err, err_len, "bind %s: %s", l->name, strerror(errno));
        close(fd);
        return -1;
    }
    l->unix_owner = true;
    if (lstat(l->unix_path, &st) == 0) {
        l->unix_dev = st.st_dev;
        l->unix_ino = st.st_ino;
    }
    /* The umask may have taken bits the user asked for ("0660" under umask 022). Before
     * listen(): until then a connect is refused whatever the mode says. chmod() follows
     * a symbolic link put there meanwhile: the folder of a socket must not be writable
     * by others, as for any file the daemon makes. */
    if (chmod(l->unix_path, (mode_t)mode) != 0) {
        snprintf(err, err_len, "chmod %s to %04o: %s", l->name, mode, strerror(errno));
        close(fd);
        return -1; /* listener_free removes the file */
    }
    if (listen(fd, listener_backlog()) != 0) {
        snprintf(err, err_len, "listen %s: %s", l->name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Removes the Unix socket file <l> made, if the file at its path is still that one. */
static void listener_unix_remove(struct listener *l)
{
    struct stat st;

    if (!l->unix_owner)
        return;
    l->unix_owner = false;
    if (lstat(l->unix_path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_dev != l->unix_dev ||
        st.st_ino != l->unix_ino)
        return; /* removed or replaced by someone else: theirs now */
    if (unlink(l->unix_path) != 0)
        log_msg(LOG_LEVEL_WARN, "%s: removing the socket file: %s", l->name, strerror(errno));
}

static void listener_on_accept(struct evconnlistener *lev, evutil_socket_t fd,
                               struct sockaddr *sa, int socklen, void *arg)
{
    struct listener *l = arg;

    (void)lev;
    l->opts.accept(l, fd, sa, socklen, l->opts.arg);
}

static void listener_on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    struct timeval tv = timeval_from_ms(LISTENER_RETRY_MS);

    (void)fd;
    (void)what;
    if (l->lev == NULL)
        return;
    if (l->opts.room != NULL && !l->opts.room(l->opts.arg)) {
        evtimer_add(l->retry, &tv);
        return;
    }
    evconnlistener_enable(l->lev);
}

static void listener_on_error(struct evconnlistener *lev, void *arg)
{
    static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
    struct listener *l = arg;
    int err = EVUTIL_SOCKET_ERROR();

    (void)lev;
    /* Out of fds or memory: the pending connection stays in the backlog, so accepting again
     * at once would spin. Pause this listener briefly; live connections keep being served. */
    log_msg_limited(&rl, LOG_LEVEL_WARN, "accept on %s%s: %s; pausing for %d ms", l->opts.what,
                    l->name, evutil_socket_error_to_string(err), LISTENER_RETRY_MS);
    listener_pause(l);
}

/* Makes <l>, bound to listening socket <fd> (taken), accept on <base>. */
static int listener_start(struct listener *l, struct event_base *base, evutil_socket_t fd,
                          char *err, size_t err_len)
{
    l->retry = evtimer_new(base, listener_on_retry, l);
    /* Backlog 0: the socket listens already, with its own backlog; a negative one would
     * make libevent call listen() again with its default of 128. */
    l->lev = evconnlistener_new(base, listener_on_accept, l, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (l->lev == NULL || l->retry == NULL) {
        snprintf(err, err_len, "%slisten %s: out of memory", l->opts.what, l->name);
        if (l->lev == NULL)
            close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(l->lev, listener_on_error);
    return 0;
}

/* Writes the address socket <fd> is bound to as <l>'s name. */
static void listener_name_from_fd(struct listener *l, evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;

    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        snprintf(l->name, sizeof(l->name), "fd %d", (int)fd);
    else if (ss.ss_family == AF_UNIX)
        snprintf(l->name, sizeof(l->name), "unix:%.*s", (int)sizeof(sun->sun_path),
                 sun->sun_path);
    else
        addr_format_sockaddr((struct sockaddr *)&ss, l->name);
}

/* An adopted Unix socket <fd> that a wsbridge bound (<fdname>): <l> removes its file at
 * close, if the file at its path is still the one there now. */
static void listener_unix_own(struct listener *l, evutil_socket_t fd, const char *fdname)
{
    struct sockaddr_un sun;
    socklen_t len = sizeof(sun);
    struct stat st;

    memset(&sun, 0, sizeof(sun));
    if (strcmp(fdname, INHERIT_NAME_OURS) != 0 ||
        getsockname(fd, (struct sockaddr *)&sun, &len) != 0 || sun.sun_family != AF_UNIX ||
        sun.sun_path[0] != '/' || lstat(sun.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    snprintf(l->unix_path, sizeof(l->unix_path), "%.*s", (int)sizeof(sun.sun_path) - 1,
             sun.sun_path);
    l->unix_dev = st.st_dev;
    l->unix_ino = st.st_ino;
    l->unix_owner = true;
}

struct listener *listener_adopt(struct event_base *base, evutil_socket_t fd, const char *fdname,
                                const struct listener_opts *opts, char *err, size_t err_len)
{
    struct listener *l = calloc(1, sizeof(*l));
    int listening = 0, type = 0, flags;
    socklen_t len = sizeof(listening), type_len = sizeof(type);

    if (l == NULL) {
        snprintf(err, err_len, "%slisten fd %d: out of memory", opts->what, (int)fd);
        close(fd);
        return NULL;
    }
    l->opts = *opts;
    snprintf(l->fdname, sizeof(l->fdname), "%s", fdname);
    listener_name_from_fd(l, fd);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
        snprintf(err, err_len, "%slisten %s: the socket named \"%s\" is not a listening stream "
                 "socket", opts->what, l->name, fdname);
        close(fd);
        goto fail;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        snprintf(err, err_len, "%slisten %s: fcntl: %s", opts->what, l->name, strerror(errno));
        close(fd);
        goto fail;
    }
    if (listener_start(l, base, fd, err, err_len) != 0)
        goto fail;
    listener_unix_own(l, fd, fdname);
    return l;
fail:
    listener_free(l);
    return NULL;
}

struct listener *listener_new(struct event_base *base, const struct addrinfo *ai,
                              const struct listener_opts *opts, char *err, size_t err_len)
{
    struct listener *l;
    char name[LISTENER_NAME_MAX];
    const char *fdname;
    evutil_socket_t fd;

    if (opts->inherit != NULL &&
        (fd = inherit_take_addr(opts->inherit, ai->ai_addr, ai->ai_addrlen, &fdname)) >= 0)
        return listener_adopt(base, fd, fdname, opts, err, err_len);
    l = calloc(1, sizeof(*l));

    if (ai->ai_family == AF_UNIX)
        snprintf(name, sizeof(name), "unix:%s",
                 ((const struct sockaddr_un *)ai->ai_addr)->sun_path);
    else
        addr_format_sockaddr(ai->ai_addr, name);
    if (l == NULL) {
        snprintf(err, err_len, "%slisten %s: out of memory", opts->what, name);
        return NULL;
    }
    l->opts = *opts;
    memcpy(l->name, name, sizeof(name));
    if (ai->ai_family == AF_UNIX) {
        fd = listener_bind_unix(l, ai, opts->unix_mode, err, err_len);
    } else {
        if (opts->probe) {
            fd = listener_bind(ai, l->name, false, opts->dual_stack, err, err_len);
            if (fd < 0)
                goto fail;
            close(fd);
        }
        fd = listener_bind(ai, l->name, opts->reuseport, opts->dual_stack, err, err_len);
    }
    if (fd < 0 || listener_start(l, base, fd, err, err_len) != 0)
        goto fail;
    return l;
fail:
    listener_free(l);
    return NULL;
}

struct listener *listener_share(struct event_base *base, const struct listener *owner,
                                const struct listener_opts *opts, char *err, size_t err_len)
{
    struct listener *l = calloc(1, sizeof(*l));
    evutil_socket_t fd;

    if (l == NULL) {
        snprintf(err, err_len, "%slisten %s: out of memory", opts->what, owner->name);
        return NULL;
    }
    l->opts = *opts;
    memcpy(l->name, owner->name, sizeof(l->name));
    memcpy(l->fdname, owner->fdname, sizeof(l->fdname));
    fd = owner->lev != NULL ? fcntl(evconnlistener_get_fd(owner->lev), F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0) {
        snprintf(err, err_len, "%slisten %s: dup: %s", opts->what, l->name,
                 owner->lev != NULL ? strerror(errno) : "not listening");
        goto fail;
    }
    if (listener_start(l, base, fd, err, err_len) != 0)
        goto fail;
    return l;
fail:
    listener_free(l);
    return NULL;
}

void listener_pause(struct listener *l)
{
    struct timeval tv = timeval_from_ms(LISTENER_RETRY_MS);

    if (l->lev == NULL)
        return;
    evconnlistener_disable(l->lev);
    evtimer_add(l->retry, &tv);
}

void listener_close(struct listener *l)
{
    if (l->lev != NULL)
        evconnlistener_free(l->lev);
    l->lev = NULL;
    listener_unix_remove(l);
    if (l->retry != NULL)
        evtimer_del(l->retry);
}

void listener_release(struct listener *l)
{
    l->unix_owner = false;
    listener_close(l);
}

evutil_socket_t listener_fd(const struct listener *l)
{
    return l->lev != NULL ? evconnlistener_get_fd(l->lev) : -1;
}

void listener_free(struct listener *l)
{
    if (l == NULL)
        return;
    listener_close(l);
    if (l->retry != NULL)
        event_free(l->retry);
    free(l);
}
