/*
 * reexec.h - the upgrade without downtime (SIGUSR2), in the manner of nginx: the running
 * daemon forks and executes its binary again, by the path it was started with (after a
 * package upgrade that is the new binary; /proc/self/exe would still be the old one),
 * with its own command line. The new process finds the listening sockets at descriptor
 * 3 on, by the LISTEN_FDS protocol (inherit.h), plus a pipe named by
 * WSBRIDGE_UPGRADE_FD; it takes the sockets instead of binding, loads its configuration
 * and, once it listens, writes one byte on that pipe. Only then does the old process
 * hand over and drain; if the new one exits first, or stays silent for
 * REEXEC_READY_TIMEOUT_MS, the old one keeps serving and logs why.
 */
#ifndef WSB_REEXEC_H
#define WSB_REEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct reexec;

#define REEXEC_READY_TIMEOUT_MS 60000 /* a new process that takes longer is killed */
#define REEXEC_ENV_FD "WSBRIDGE_UPGRADE_FD"

/* One listening socket to hand over, under <name> (the name it was handed in under, or
 * INHERIT_NAME_OURS for one the daemon bound). */
struct reexec_socket {
    int fd;           /* not owned */
    const char *name; /* not owned */
};

/* The new process answered: <ready> true once it listens (the caller hands over), false
 * when it failed (logged already: the caller keeps serving). */
typedef void reexec_done_cb(pid_t pid, bool ready, void *arg);

/* At start, before anything else reads the environment: keeps <argv> (which must live as
 * long as the process) and the absolute path of argv[0] (a bare name is looked up in
 * PATH), and, when this process is itself the new one of an upgrade, takes the pipe of
 * WSBRIDGE_UPGRADE_FD out of the environment. */
void reexec_init(char **argv);

/* Starts the new process with <n> sockets <socks> and, on <base>, waits for its answer,
 * given to <done>(<arg>) once. Returns the attempt, or NULL with "upgrade: why" in <err>
 * (nothing was started). */
struct reexec *reexec_start(struct event_base *base, const struct reexec_socket *socks, size_t n,
                            reexec_done_cb *done, void *arg, char *err, size_t err_len);

/* Frees <r> (NULL is fine); a new process that has not answered yet is killed. */
void reexec_free(struct reexec *r);

/* True in the new process of an upgrade, until reexec_tell_ready. */
bool reexec_is_upgrade(void);

/* In the new process of an upgrade, once it listens: tells the old one (does nothing
 * otherwise). */
void reexec_tell_ready(void);

#endif
