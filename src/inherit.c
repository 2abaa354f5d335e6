/*
 * inherit.c - sockets handed in at start (LISTEN_FDS, sd_listen_fds(3)): the variables
 * parsed, the descriptors taken by name or by the address they are bound to, the rest
 * closed. The protocol is parsed here rather than by libsystemd's sd_listen_fds_with_names
 * because a wsbridge built without libsystemd takes its sockets from the one it replaces
 * (reexec.c) the same way.
 */
#include "inherit.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"

/* <s> as a decimal number of at most 9 digits, or -1. */
static long inherit_number(const char *s)
{
    long v = 0;
    size_t i;

    for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 9; i++)
        v = v * 10 + (s[i] - '0');
    return i > 0 && s[i] == '\0' ? v : -1;
}

int inherit_parse(const char *pid, const char *fds, const char *names, long self,
                  struct inherit *in, char *err, size_t err_len)
{
    const char *p = names;
    long n;

    in->fds = NULL;
    in->n = 0;
    if (pid == NULL || fds == NULL || inherit_number(pid) != self)
        return 0;
    n = inherit_number(fds);
    if (n < 0 || n > INHERIT_FDS_MAX) {
        snprintf(err, err_len, "LISTEN_FDS: \"%.32s\" is not a count from 0 to %d", fds,
                 INHERIT_FDS_MAX);
        return -1;
    }
    if (n == 0)
        return 0;
    if ((in->fds = calloc((size_t)n, sizeof(*in->fds))) == NULL) {
        snprintf(err, err_len, "LISTEN_FDS: out of memory");
        return -1;
    }
    in->n = (size_t)n;
    for (size_t i = 0; i < in->n; i++) {
        size_t len = 0;

        in->fds[i].fd = INHERIT_FD_START + (int)i;
        if (p != NULL && *p != '\0')
            len = strcspn(p, ":");
        if (len > INHERIT_NAME_MAX) {
            snprintf(err, err_len, "LISTEN_FDNAMES: name %zu is longer than %d characters", i + 1,
                     INHERIT_NAME_MAX);
            goto fail;
        }
        if (len == 0)
            snprintf(in->fds[i].name, sizeof(in->fds[i].name), "%s", INHERIT_UNNAMED);
        else
            memcpy(in->fds[i].name, p, len);
        if (p != NULL)
            p = p[len] == ':' ? p + len + 1 : NULL;
    }
    if (p != NULL && *p != '\0') {
        snprintf(err, err_len, "LISTEN_FDNAMES: more names than the %zu descriptors of LISTEN_FDS",
                 in->n);
        goto fail;
    }
    return 0;
fail:
    free(in->fds);
    in->fds = NULL;
    in->n = 0;
    return -1;
}

int inherit_init(struct inherit *in, char *err, size_t err_len)
{
    int r = inherit_parse(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), getenv("LISTEN_FDNAMES"),
                          (long)getpid(), in, err, err_len);

    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    for (size_t i = 0; i < in->n; i++)
        if (fcntl(in->fds[i].fd, F_SETFD, FD_CLOEXEC) != 0) {
            snprintf(err, err_len, "LISTEN_FDS: descriptor %d: %s", in->fds[i].fd, strerror(errno));
            in->fds[i].fd = -1; /* not ours to close */
            return -1;
        }
    return r;
}

int inherit_take_name(struct inherit *in, const char *name)
{
    for (size_t i = 0; i < in->n; i++) {
        int fd = in->fds[i].fd;

        if (fd >= 0 && strcmp(in->fds[i].name, name) == 0) {
            in->fds[i].fd = -1;
            return fd;
        }
    }
    return -1;
}

void inherit_reserve(struct inherit *in, const char *name)
{
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->fds[i].name, name) == 0)
            in->fds[i].reserved = true;
}

/* True if <fd> is a listening stream socket bound to <sa> of <len> bytes. */
static bool inherit_is_bound_to(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct sockaddr_storage own;
    socklen_t own_len = sizeof(own);
    int listening = 0;
    socklen_t opt_len = sizeof(listening);

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &opt_len) != 0 || !listening)
        return false;
    if (getsockname(fd, (struct sockaddr *)&own, &own_len) != 0 || own.ss_family != sa->sa_family)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa, *b = (const void *)&own;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa, *b = (const void *)&own;
        return a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
    }
    if (sa->sa_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) {
        const struct sockaddr_un *a = (const void *)sa, *b = (const void *)&own;
        return own_len > offsetof(struct sockaddr_un, sun_path) &&
               strncmp(a->sun_path, b->sun_path, sizeof(a->sun_path)) == 0;
    }
    return false;
}

int inherit_take_addr(struct inherit *in, const struct sockaddr *sa, socklen_t len,
                      const char **name)
{
    for (size_t i = 0; i < in->n; i++) {
        int fd = in->fds[i].fd;

        if (fd >= 0 && !in->fds[i].reserved && inherit_is_bound_to(fd, sa, len)) {
            in->fds[i].fd = -1;
            *name = in->fds[i].name;
            return fd;
        }
    }
    return -1;
}

void inherit_free(struct inherit *in)
{
    for (size_t i = 0; i < in->n; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char where[ADDR_SOCKADDR_STR_MAX] = "?";

        if (in->fds[i].fd < 0)
            continue;
        if (getsockname(in->fds[i].fd, (struct sockaddr *)&ss, &len) == 0)
            addr_format_sockaddr((struct sockaddr *)&ss, where);
        log_msg(LOG_LEVEL_WARN,
                "inherited socket %d named \"%s\" (%s) is not in the listen list; closing it",
                in->fds[i].fd, in->fds[i].name, where);
        close(in->fds[i].fd);
    }
    free(in->fds);
    in->fds = NULL;
    in->n = 0;
}
