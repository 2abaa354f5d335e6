/*
 * target.c - the TCP targets the relays forward to, one epoll loop, one thread:
 *   echo   writes back every byte it reads; stops reading a connection while its echo
 *          waits for the socket (never buffers more than one read per connection);
 *   flood  sends <-n> bytes of the pattern stream on each connection, reads and drops;
 *   sink   accepts and never reads (a stalled target), closes when the peer hangs up.
 * Usage: target echo|flood|sink [-p PORT] [-n BYTES]. Listens on 127.0.0.1:PORT (0: any
 * free port), prints "port=N" once listening, and one line per closed flood or sink
 * connection. Runs until SIGTERM or SIGINT.
 */
#define _GNU_SOURCE /* accept4 */
#include "pattern.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define TARGET_READ_BYTES (256 * 1024)
#define TARGET_BACKLOG 4096

enum target_mode {
    TARGET_ECHO = 0, /* write back what is read */
    TARGET_FLOOD,    /* send flood_bytes of the pattern, drop what is read */
    TARGET_SINK,     /* never read */
};

struct target_conn {
    bool open;          /* the fd is ours */
    bool eof;           /* the peer closed: close once pending is written */
    uint8_t *pending;   /* echo bytes the socket did not take yet */
    size_t pending_len; /* bytes at pending */
    size_t pending_pos; /* of them already written */
    uint64_t sent;      /* bytes written */
    uint64_t received;  /* bytes read */
};

static volatile sig_atomic_t target_stopping;
static enum target_mode target_mode;
static uint64_t target_flood_bytes = 1ull << 30;
static struct target_conn *target_conns; /* indexed by fd */
static size_t target_conns_cap;
static uint8_t target_buf[TARGET_READ_BYTES];

static void target_on_signal(int sig)
{
    (void)sig;
    target_stopping = 1;
}

static void target_watch(int ep, int op, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};

    if (epoll_ctl(ep, op, fd, &ev) != 0 && op != EPOLL_CTL_DEL)
        fprintf(stderr, "target: epoll_ctl fd %d: %s\n", fd, strerror(errno));
}

static void target_close(int ep, int fd)
{
    struct target_conn *c = &target_conns[fd];

    if (target_mode != TARGET_ECHO)
        printf("closed mode=%s sent=%llu received=%llu\n",
               target_mode == TARGET_FLOOD ? "flood" : "sink", (unsigned long long)c->sent,
               (unsigned long long)c->received);
    fflush(stdout);
    target_watch(ep, EPOLL_CTL_DEL, fd, 0);
    close(fd);
    free(c->pending);
    memset(c, 0, sizeof(*c));
}

static void target_on_accept(int ep, int lfd)
{
    for (int i = 0; i < 1024; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "target: accept4: %s\n", strerror(errno));
            return;
        }
        if ((size_t)fd >= target_conns_cap) {
            fprintf(stderr, "target: fd %d over the table\n", fd);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        target_conns[fd].open = true;
        uint32_t events = target_mode == TARGET_ECHO    ? EPOLLIN
                          : target_mode == TARGET_FLOOD ? EPOLLIN | EPOLLOUT
                                                        : EPOLLRDHUP;
        target_watch(ep, EPOLL_CTL_ADD, fd, events);
    }
}

/* Writes what is pending on echo connection <fd>; reading resumes once it is all out. */
static void target_echo_flush(int ep, int fd)
{
    struct target_conn *c = &target_conns[fd];

    while (c->pending_pos < c->pending_len) {
        ssize_t n =
            send(fd, c->pending + c->pending_pos, c->pending_len - c->pending_pos, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            target_close(ep, fd);
            return;
        }
        c->pending_pos += (size_t)n;
        c->sent += (uint64_t)n;
    }
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_pos = 0;
    if (c->eof)
        target_close(ep, fd);
    else
        target_watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
}

static void target_echo_on_read(int ep, int fd)
{
    struct target_conn *c = &target_conns[fd];
    ssize_t n = recv(fd, target_buf, sizeof(target_buf), 0);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        target_close(ep, fd);
        return;
    }
    if (n < 0)
        return;
    c->received += (uint64_t)n;
    ssize_t w = send(fd, target_buf, (size_t)n, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        target_close(ep, fd);
        return;
    }
    if (w < 0)
        w = 0;
    c->sent += (uint64_t)w;
    if (w == n)
        return;
    /* The socket is full: keep the rest and stop reading until it is written. */
    c->pending = malloc((size_t)(n - w));
    if (c->pending == NULL) {
        target_close(ep, fd);
        return;
    }
    memcpy(c->pending, target_buf + w, (size_t)(n - w));
    c->pending_len = (size_t)(n - w);
    c->pending_pos = 0;
    target_watch(ep, EPOLL_CTL_MOD, fd, EPOLLOUT);
}

static void target_flood_on_write(int ep, int fd)
{
    struct target_conn *c = &target_conns[fd];

    while (c->sent < target_flood_bytes) {
        uint64_t left = target_flood_bytes - c->sent;
        size_t len = left < TARGET_READ_BYTES ? (size_t)left : TARGET_READ_BYTES;
        ssize_t n = send(fd, pattern_at(c->sent), len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            target_close(ep, fd);
            return;
        }
        c->sent += (uint64_t)n;
    }
    target_watch(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
}

static void target_on_event(int ep, int fd, uint32_t events)
{
    struct target_conn *c = &target_conns[fd];

    if (!c->open)
        return;
    if (target_mode == TARGET_SINK) {
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            target_close(ep, fd);
        return;
    }
    if (target_mode == TARGET_ECHO) {
        if (c->pending != NULL && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            target_echo_flush(ep, fd);
        else if (c->pending == NULL && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            target_echo_on_read(ep, fd);
        return;
    }
    if (events & EPOLLOUT)
        target_flood_on_write(ep, fd);
    if (c->open && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        ssize_t n = recv(fd, target_buf, sizeof(target_buf), 0);
        if (n > 0)
            c->received += (uint64_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            target_close(ep, fd);
    }
}

static int target_listen(int port, bool reuseport)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        fprintf(stderr, "target: socket: %s\n", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* -R: several targets on one port, past one process's descriptor limit */
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, TARGET_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        fprintf(stderr, "target: bind 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    printf("port=%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    struct sigaction sa = {.sa_handler = target_on_signal};
    struct epoll_event evs[256];
    int port = 0, opt;
    bool reuseport = false;

    if (argc < 2 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "flood") != 0 &&
                     strcmp(argv[1], "sink") != 0)) {
        fprintf(stderr, "usage: target echo|flood|sink [-p PORT] [-n BYTES] [-R]\n");
        return 2;
    }
    target_mode = argv[1][0] == 'e' ? TARGET_ECHO : argv[1][0] == 'f' ? TARGET_FLOOD : TARGET_SINK;
    optind = 2;
    while ((opt = getopt(argc, argv, "p:n:R")) != -1) {
        if (opt == 'R')
            reuseport = true;
        else if (opt == 'p')
            port = atoi(optarg);
        else if (opt == 'n')
            target_flood_bytes = strtoull(optarg, NULL, 10);
        else
            return 2;
    }
    /* Every connection is one fd: take all the descriptors the hard limit allows. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    target_conns_cap = rl.rlim_cur > 1048576 ? 1048576 : (size_t)rl.rlim_cur;
    target_conns = calloc(target_conns_cap, sizeof(*target_conns));
    if (target_conns == NULL || pattern_init() != 0) {
        fprintf(stderr, "target: out of memory\n");
        return 1;
    }
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = target_listen(port, reuseport);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (lfd < 0 || ep < 0)
        return 1;
    target_watch(ep, EPOLL_CTL_ADD, lfd, EPOLLIN);
    while (!target_stopping) {
        int n = epoll_wait(ep, evs, 256, 500);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "target: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == lfd)
                target_on_accept(ep, lfd);
            else
                target_on_event(ep, evs[i].data.fd, evs[i].events);
        }
    }
    return 0;
}
