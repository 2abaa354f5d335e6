/*
 * listener.c - listening sockets: bind, listen with a real backlog, accept, and pauses
 * that leave connections in the listen queue rather than spin on an accept that fails.
 */
#include "listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
                                     char *err, size_t err_len)
{
    evutil_socket_t fd;
    int one = 1;

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
    /* "[::]:8080" and "0.0.0.0:8080" are two listeners, not one that collides. */
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
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

struct listener *listener_new(struct event_base *base, const struct addrinfo *ai,
                              const struct listener_opts *opts, char *err, size_t err_len)
{
    struct listener *l = calloc(1, sizeof(*l));
    char name[LISTENER_NAME_MAX];
    evutil_socket_t fd;

    addr_format_sockaddr(ai->ai_addr, name);
    if (l == NULL) {
        snprintf(err, err_len, "%slisten %s: out of memory", opts->what, name);
        return NULL;
    }
    l->opts = *opts;
    memcpy(l->name, name, sizeof(name));
    if (opts->probe) {
        fd = listener_bind(ai, l->name, false, err, err_len);
        if (fd < 0)
            goto fail;
        close(fd);
    }
    fd = listener_bind(ai, l->name, opts->reuseport, err, err_len);
    if (fd < 0)
        goto fail;
    l->retry = evtimer_new(base, listener_on_retry, l);
    /* Backlog 0: the socket listens already, with its own backlog; a negative one would
     * make libevent call listen() again with its default of 128. */
    l->lev = evconnlistener_new(base, listener_on_accept, l, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (l->lev == NULL || l->retry == NULL) {
        snprintf(err, err_len, "%slisten %s: out of memory", opts->what, l->name);
        if (l->lev == NULL)
            close(fd);
        goto fail;
    }
    evconnlistener_set_error_cb(l->lev, listener_on_error);
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
    if (l->retry != NULL)
        evtimer_del(l->retry);
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
