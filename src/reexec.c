/*
 * reexec.c - SIGUSR2: fork and execute the daemon's binary again, handing it the
 * listening sockets (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID) and a pipe on which it says
 * it is ready. Between fork and exec only async-signal-safe calls run: the environment
 * and every buffer are made before the fork.
 */
#include "reexec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "inherit.h"
#include "log.h"
#include "timeval.h"

#define REEXEC_READY_BYTE 'R'

extern char **environ;

/* What the process keeps from its start: how to run itself again. */
static struct {
    char **argv;         /* the command line it was started with */
    char path[PATH_MAX]; /* argv[0] made absolute; "" if that failed */
    char why[160];       /* why path is "" */
    int ready_fd;        /* the new process of an upgrade: its pipe to the old; else -1 */
} reexec_self = {.ready_fd = -1};

struct reexec {
    pid_t pid;            /* the new process; 0: none, or reaped */
    bool answered;        /* done was called */
    int fd;               /* the read end of the pipe */
    struct event *answer; /* the pipe readable, or the timeout */
    reexec_done_cb *done;
    void *arg;
};

/* <name> in the directories of PATH, as execvp would find it, into reexec_self.path. */
static void reexec_find_in_path(const char *name)
{
    const char *dirs = getenv("PATH");

    for (const char *p = dirs != NULL ? dirs : "/usr/local/bin:/usr/bin:/bin"; *p != '\0';) {
        size_t len = strcspn(p, ":");

        if (len > 0 && p[0] == '/' &&
            (size_t)snprintf(reexec_self.path, sizeof(reexec_self.path), "%.*s/%s", (int)len, p,
                             name) < sizeof(reexec_self.path) &&
            access(reexec_self.path, X_OK) == 0)
            return;
        p += len + (p[len] == ':');
    }
    reexec_self.path[0] = '\0';
    snprintf(reexec_self.why, sizeof(reexec_self.why), "\"%.60s\" is not in PATH", name);
}

void reexec_init(char **argv)
{
    const char *fd_text = getenv(REEXEC_ENV_FD);
    char cwd[PATH_MAX];

    reexec_self.argv = argv;
    if (argv[0] == NULL || argv[0][0] == '\0') {
        snprintf(reexec_self.why, sizeof(reexec_self.why), "no argv[0]");
    } else if (argv[0][0] == '/') {
        snprintf(reexec_self.path, sizeof(reexec_self.path), "%s", argv[0]);
    } else if (strchr(argv[0], '/') != NULL) {
        /* Relative to the folder it was started in, whatever happens to it later. */
        if (getcwd(cwd, sizeof(cwd)) == NULL ||
            (size_t)snprintf(reexec_self.path, sizeof(reexec_self.path), "%s/%s", cwd, argv[0]) >=
                sizeof(reexec_self.path)) {
            reexec_self.path[0] = '\0';
            snprintf(reexec_self.why, sizeof(reexec_self.why), "cannot make \"%.60s\" absolute",
                     argv[0]);
        }
    } else {
        reexec_find_in_path(argv[0]);
    }
    if (fd_text != NULL) {
        char *end;
        long fd = strtol(fd_text, &end, 10);

        if (*end == '\0' && fd >= INHERIT_FD_START && fd < INT_MAX &&
            fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
            reexec_self.ready_fd = (int)fd;
        unsetenv(REEXEC_ENV_FD);
    }
}

bool reexec_is_upgrade(void)
{
    return reexec_self.ready_fd >= 0;
}

void reexec_tell_ready(void)
{
    char byte = REEXEC_READY_BYTE;

    if (reexec_self.ready_fd < 0)
        return;
    if (write(reexec_self.ready_fd, &byte, 1) != 1)
        log_msg(LOG_LEVEL_WARN, "upgrade: telling the old process: %s", strerror(errno));
    close(reexec_self.ready_fd);
    reexec_self.ready_fd = -1;
}

/* Writes <v> in decimal at <out> (room for 20 digits and a NUL); async-signal-safe. */
static void reexec_write_decimal(char *out, unsigned long v)
{
    char digits[24];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        *out++ = digits[--n];
    *out = '\0';
}

/* The child, between fork and exec: sockets to 3.., the pipe after them, nothing else
 * open above, then the binary. Async-signal-safe calls only. */
static void reexec_child(const struct reexec_socket *socks, size_t n, int pipe_fd, int *tmp,
                         char *pid_var, char **envp, int fd_max)
{
    int high = INHERIT_FD_START + (int)n + 1;
    struct sigaction dfl = {.sa_flags = 0};
    sigset_t none;

    /* First out of the way of 3..3+n (a socket may sit where another must go), then into
     * place: dup2 leaves the copy without close-on-exec. */
    for (size_t i = 0; i < n; i++)
        if ((tmp[i] = fcntl(socks[i].fd, F_DUPFD_CLOEXEC, high)) < 0)
            _exit(126);
    if ((tmp[n] = fcntl(pipe_fd, F_DUPFD_CLOEXEC, high)) < 0)
        _exit(126);
    for (size_t i = 0; i <= n; i++)
        if (dup2(tmp[i], INHERIT_FD_START + (int)i) < 0)
            _exit(126);
    /* Client sockets, targets, the log file, the event loop's descriptors: not the new
     * process's business (most are close-on-exec already; this makes sure). */
    if (close_range((unsigned)high, ~0u, 0) != 0)
        for (int fd = high; fd < fd_max; fd++)
            close(fd);
    reexec_write_decimal(pid_var + strlen("LISTEN_PID="), (unsigned long)getpid());
    /* The parent's handlers write to descriptors that are gone or something else now: a
     * signal until exec gets the default action, and none is blocked after it. */
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(reexec_self.path, reexec_self.argv, envp);
    _exit(127);
}

/* The environment for the new process: this one's, without any LISTEN_* or
 * WSBRIDGE_UPGRADE_FD, and then ours. NULL if out of memory. */
static char **reexec_environment(const struct reexec_socket *socks, size_t n, char *pid_var,
                                 char *fds_var, char **names_var, char *fd_var)
{
    static const char *const drop[] = {
        "LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=", REEXEC_ENV_FD "="};
    size_t count = 0, names_len = sizeof("LISTEN_FDNAMES=");
    char **envp;

    for (size_t i = 0; i < n; i++)
        names_len += strlen(socks[i].name) + 1;
    if ((*names_var = malloc(names_len)) == NULL)
        return NULL;
    strcpy(*names_var, "LISTEN_FDNAMES=");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strcat(*names_var, ":");
        strcat(*names_var, socks[i].name);
    }
    for (char **e = environ; *e != NULL; e++)
        count++;
    if ((envp = calloc(count + 5, sizeof(*envp))) == NULL)
        return NULL;
    count = 0;
    for (char **e = environ; *e != NULL; e++) {
        bool keep = true;

        for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
            keep = keep && strncmp(*e, drop[i], strlen(drop[i])) != 0;
        if (keep)
            envp[count++] = *e;
    }
    snprintf(fds_var, 32, "LISTEN_FDS=%zu", n);
    snprintf(fd_var, 48, REEXEC_ENV_FD "=%zu", INHERIT_FD_START + n);
    snprintf(pid_var, 32, "LISTEN_PID=");
    envp[count++] = fds_var;
    envp[count++] = *names_var;
    envp[count++] = pid_var;
    envp[count++] = fd_var;
    envp[count] = NULL;
    return envp;
}

/* The answer is in (or the pipe closed, or the time ran out): tells the caller, once. */
static void reexec_on_answer(evutil_socket_t fd, short what, void *arg)
{
    struct reexec *r = arg;
    char byte = 0, how[96];
    ssize_t got = 0;
    int status = 0;

    r->answered = true;
    if (what & EV_READ) {
        do
            got = read(fd, &byte, 1);
        while (got < 0 && errno == EINTR);
    }
    if (got == 1 && byte == REEXEC_READY_BYTE) {
        log_msg(LOG_LEVEL_INFO, "upgrade: new process %ld is ready; handing over", (long)r->pid);
        r->done(r->pid, true, r->arg);
        return;
    }
    if (what & EV_TIMEOUT) {
        kill(r->pid, SIGKILL);
        snprintf(how, sizeof(how), "did not get ready within %d s; killed",
                 REEXEC_READY_TIMEOUT_MS / 1000);
    }
    /* It closed the pipe without a word: it is exiting, or has. */
    if (waitpid(r->pid, &status, 0) == r->pid && !(what & EV_TIMEOUT)) {
        if (WIFEXITED(status))
            snprintf(how, sizeof(how), "exited with status %d%s", WEXITSTATUS(status),
                     WEXITSTATUS(status) == 127 ? " (could not execute the binary)" : "");
        else if (WIFSIGNALED(status))
            snprintf(how, sizeof(how), "was killed by signal %s", strsignal(WTERMSIG(status)));
        else
            snprintf(how, sizeof(how), "ended");
    } else if (!(what & EV_TIMEOUT)) {
        snprintf(how, sizeof(how), "closed its pipe");
    }
    log_msg(LOG_LEVEL_ERROR,
            "upgrade failed: new process %ld %s (its own messages are above); "
            "this process keeps serving",
            (long)r->pid, how);
    r->done(0, false, r->arg);
}

struct reexec *reexec_start(struct event_base *base, const struct reexec_socket *socks, size_t n,
                            reexec_done_cb *done, void *arg, char *err, size_t err_len)
{
    struct timeval tv = timeval_from_ms(REEXEC_READY_TIMEOUT_MS);
    char pid_var[32], fds_var[32], fd_var[48], *names_var = NULL, **envp = NULL;
    int pipe_fds[2] = {-1, -1}, *tmp = NULL, fd_max = 65536;
    struct reexec *r = NULL;
    struct rlimit rl;
    sigset_t all, old;

    if (reexec_self.path[0] == '\0') {
        snprintf(err, err_len, "upgrade: cannot run the binary again: %s", reexec_self.why);
        return NULL;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
        fd_max = (int)rl.rlim_cur;
    r = calloc(1, sizeof(*r));
    tmp = calloc(n + 1, sizeof(*tmp));
    envp = reexec_environment(socks, n, pid_var, fds_var, &names_var, fd_var);
    if (r == NULL || tmp == NULL || envp == NULL) {
        snprintf(err, err_len, "upgrade: out of memory");
        goto fail;
    }
    r->fd = -1;
    r->done = done;
    r->arg = arg;
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        snprintf(err, err_len, "upgrade: pipe: %s", strerror(errno));
        goto fail;
    }
    r->fd = pipe_fds[0];
    r->answer = event_new(base, r->fd, EV_READ, reexec_on_answer, r);
    if (r->answer == NULL) {
        snprintf(err, err_len, "upgrade: out of memory");
        goto fail;
    }
    /* No signal handler of this process may run in the child: blocked across the fork,
     * the child resets them before it unblocks. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r->pid = fork();
    if (r->pid != 0)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r->pid < 0) {
        snprintf(err, err_len, "upgrade: fork: %s", strerror(errno));
        r->pid = 0;
        goto fail;
    }
    if (r->pid == 0)
        reexec_child(socks, n, pipe_fds[1], tmp, pid_var, envp, fd_max);
    close(pipe_fds[1]);
    event_add(r->answer, &tv);
    log_msg(LOG_LEVEL_INFO, "upgrade: started %s as process %ld with %zu listening socket%s",
            reexec_self.path, (long)r->pid, n, n == 1 ? "" : "s");
    free(tmp);
    free(envp);
    free(names_var);
    return r;
fail:
    if (pipe_fds[1] >= 0)
        close(pipe_fds[1]);
    free(tmp);
    free(envp);
    free(names_var);
    reexec_free(r);
    return NULL;
}

void reexec_free(struct reexec *r)
{
    int status;

    if (r == NULL)
        return;
    if (!r->answered && r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, &status, 0);
    }
    if (r->answer != NULL)
        event_free(r->answer);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}
