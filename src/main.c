/*
 * main.c - options, exit codes and wiring: load the config (a route file, or websockify's
 * command line turned into one by cmdline.c), build the server socket, run it. Exit
 * status: 0 after a clean stop or a good --check, 1 when the daemon cannot start (a port
 * in use), 2 for a bad command line or configuration.
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "authpool.h"
#include "cmdline.h"
#include "config.h"
#include "inherit.h"
#include "log.h"
#include "reexec.h"
#include "runconf.h"
#include "sdnotify.h"
#include "upgrade.h"
#include "workers.h"
#include "wsargs.h"

#ifndef WSB_SYSCONFDIR
#define WSB_SYSCONFDIR "/etc"
#endif

#define MAIN_EXIT_RUNTIME 1
#define MAIN_EXIT_USAGE 2

static void main_usage(FILE *out)
{
    fprintf(out,
            "Usage: wsbridge [-c FILE] [--check] [-v] [-q]\n"
            "       wsbridge [options] [source_addr:]source_port target_addr:target_port\n"
            "Bridges WebSocket clients (RFC 6455) to the TCP services named in FILE, or on\n"
            "websockify's command line (below).\n"
            "\n"
            "  -c, --config FILE  route file (default: %s/wsbridge.yaml)\n"
            "      --check        validate FILE, print \"FILE: ok\" and exit\n"
            "  -v, --verbose      log debug lines too\n"
            "  -q, --quiet        log warnings and errors only\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n"
            "\n"
            "Exit status: 0 clean stop, 1 could not start, 2 bad options or configuration\n"
            "(certificates and keys included).\n"
            "Signals: SIGTERM/SIGINT close every client with 1001 and exit; a second one exits "
            "at once.\n"
            "SIGHUP reloads FILE (routes, limits, certificates) for new connections; live ones\n"
            "keep theirs, and a file with errors is refused. SIGUSR1 reopens the log file;\n"
            "SIGWINCH logs a status line. SIGUSR2 upgrades: a new process of the same binary\n"
            "path takes the listening sockets over, then this one lets its clients finish\n"
            "(drain_timeout) and exits; if the new one fails, this one keeps serving.\n"
            "\n"
            "Websockify's command line (chosen when an argument is not one of the options\n"
            "above; --check, -q and --version keep their meaning, -v means debug in both):\n"
            "%s"
            "SIGHUP reads the certificates, keys and token files it names again.\n",
            WSB_SYSCONFDIR, wsargs_usage());
}

static void main_version(void)
{
    printf("wsbridge %s (libevent %s, %s)\n", PACKAGE_VERSION, event_get_version(),
           "OpenSSL 3, libyaml");
}

/* Websockify's command line: the configuration it stands for, in *<conf>. Returns -1 to
 * go on and run it, or the exit status (--help, --version, --print-config, --check, an
 * error: "wsbridge: what: why", with "<command line>:LINE:COL" for a mistake found in
 * the route file it became, as --print-config would show it). */
static int main_websockify(int argc, char **argv, struct runconf **conf)
{
    struct cmdline_websockify c;
    struct config *parsed;
    char err[1024];
    int rc = MAIN_EXIT_USAGE;

    *conf = NULL;
    if (cmdline_websockify_read(argc - 1, argv + 1, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "wsbridge: %s\n", err);
        goto done;
    }
    rc = 0;
    if (c.version || c.help) {
        if (c.version)
            main_version();
        else
            main_usage(stdout);
        goto done;
    }
    if (c.quiet)
        log_override_level(LOG_LEVEL_WARN);
    if (c.print_config && !c.check) {
        /* The keys are checked (no file is read): what is printed loads with -c. */
        parsed = config_load_text(CMDLINE_NAME, c.yaml, c.yaml_len, err, sizeof(err));
        config_free(parsed);
        if (parsed == NULL) {
            fprintf(stderr, "wsbridge: %s\n", err);
            rc = MAIN_EXIT_USAGE;
        } else {
            fwrite(c.yaml, 1, c.yaml_len, stdout);
        }
        goto done;
    }
    *conf = runconf_load_text(CMDLINE_NAME, c.yaml, c.yaml_len, 1, err, sizeof(err));
    if (*conf == NULL) {
        fprintf(stderr, "wsbridge: %s\n", err);
        rc = MAIN_EXIT_USAGE;
    } else if (c.print_config) {
        fwrite(c.yaml, 1, c.yaml_len, stdout);
    } else if (c.check) {
        printf("%s: ok\n", CMDLINE_NAME);
    } else {
        rc = -1;
    }
    if (rc != -1) {
        runconf_unref(*conf);
        *conf = NULL;
    }
done:
    cmdline_websockify_free(&c);
    return rc;
}

/* The daemon's own command line: the route file it names, loaded, in *<conf>. Returns -1
 * to go on and run it, or the exit status. */
static int main_daemon(int argc, char **argv, struct runconf **conf)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = WSB_SYSCONFDIR "/wsbridge.yaml";
    bool check = false;
    char err[1024];
    int opt;

    *conf = NULL;
    while ((opt = getopt_long(argc, argv, "c:vqVh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 'C':
            check = true;
            break;
        case 'v':
            log_override_level(LOG_LEVEL_DEBUG);
            break;
        case 'q':
            log_override_level(LOG_LEVEL_WARN);
            break;
        case 'V':
            main_version();
            return 0;
        case 'h':
            main_usage(stdout);
            return 0;
        default:
            main_usage(stderr);
            return MAIN_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "wsbridge: unexpected argument \"%s\"\n", argv[optind]);
        main_usage(stderr);
        return MAIN_EXIT_USAGE;
    }
    /* The file, the certificates and keys it names, its web root: a bad one is found by
     * --check too, and stops the start with the same status. */
    *conf = runconf_load(file, 1, err, sizeof(err));
    if (*conf == NULL) {
        fprintf(stderr, "%s\n", err);
        return MAIN_EXIT_USAGE;
    }
    if (check) {
        printf("%s: ok\n", file);
        runconf_unref(*conf);
        *conf = NULL;
        return 0;
    }
    return -1;
}

/* libevent's own messages (rare: a failed epoll_ctl, a DNS server that went away) go
 * through log.c like every other line, so a JSON log or a log file gets them too. */
static void main_on_libevent_log(int severity, const char *msg)
{
    enum log_level level = severity >= EVENT_LOG_ERR    ? LOG_LEVEL_ERROR
                           : severity == EVENT_LOG_WARN ? LOG_LEVEL_WARN
                                                        : LOG_LEVEL_DEBUG;

    log_msg(level, "libevent: %s", msg);
}

int main(int argc, char **argv)
{
    struct runconf *conf;
    struct workers workers;
    struct authpool *authpool;
    struct inherit inherited;
    const char *file;
    char err[1024], state[64];
    int rc;

    /* First: the path to run again at an upgrade, before anything could change the
     * folder, and the pipe to the old process if this is the new one. */
    reexec_init(argv);
    rc = cmdline_form(argc - 1, argv + 1) == CMDLINE_WEBSOCKIFY ? main_websockify(argc, argv, &conf)
                                                                : main_daemon(argc, argv, &conf);
    if (rc >= 0)
        return rc;
    file = conf->config->file;
    /* evbuffer chains of 64-256 KiB are allocated and freed at a high rate on a busy
     * connection. With glibc's defaults they are mmapped, or the heap top is trimmed, and
     * every new chain then page-faults its memory in again: measured, half of the
     * throughput of one connection went to page faults. Keep up to 8 MiB of free heap
     * and serve chains under 1 MiB from the heap (1 conn x 64 KiB: 504 -> 959 MB/s). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    /* A peer that vanishes mid-write must give EPIPE, not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    /* After --check, which must not create the log file. A file that cannot be opened is a
     * configuration mistake, reported where the operator is looking: on stderr. */
    if (log_apply(&conf->config->log, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s%s: log.file: %s\n", conf->text != NULL ? "wsbridge: " : "", file, err);
        runconf_unref(conf);
        return MAIN_EXIT_USAGE;
    }
    event_set_log_callback(main_on_libevent_log);
    /* Before the workers' event bases: its threads wake them. */
    authpool = authpool_new(conf->config->auth_threads, err, sizeof(err));
    if (authpool == NULL) {
        log_msg(LOG_LEVEL_ERROR, "%s", err);
        runconf_unref(conf);
        return MAIN_EXIT_RUNTIME;
    }
    /* Sockets handed in (systemd, or the process this one replaces): not for --check,
     * which never gets them. */
    if (inherit_init(&inherited, err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "%s", err);
        inherit_free(&inherited);
        authpool_free(authpool);
        runconf_unref(conf);
        return MAIN_EXIT_RUNTIME;
    }
    rc = workers_init(&workers, conf, authpool, &inherited, err, sizeof(err));
    if (rc != 0)
        log_msg(LOG_LEVEL_ERROR, "%s", err);
    /* What no listener took is closed, with a warning for each. */
    inherit_free(&inherited);
    if (rc != 0 || workers_start(&workers, err, sizeof(err)) != 0) {
        if (rc == 0)
            log_msg(LOG_LEVEL_ERROR, "%s", err);
        workers_free(&workers);
        authpool_free(authpool);
        return MAIN_EXIT_RUNTIME;
    }
    log_msg(LOG_LEVEL_INFO, "wsbridge %s ready: %zu route%s from %s, %u worker%s", PACKAGE_VERSION,
            conf->config->n_routes, conf->config->n_routes == 1 ? "" : "s", file, conf->workers,
            conf->workers == 1 ? "" : "s");
    upgrade_log_access(conf->config);
    /* The new process of an upgrade: the old one hands over and tells systemd our pid
     * too; saying it here as well serves a unit with NotifyAccess=all. */
    snprintf(state, sizeof(state), "MAINPID=%ld\nREADY=1", (long)getpid());
    sdnotify_send(reexec_is_upgrade() ? state : "READY=1");
    reexec_tell_ready();
    workers_run(&workers);
    /* The workers first: freeing their connections cancels every password check. */
    workers_free(&workers);
    authpool_free(authpool);
    /* Already leaving: a stop signal now (a supervisor repeating itself) must not turn a
     * clean stop into death by signal. workers_free gave the handlers back to the system. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    log_msg(LOG_LEVEL_INFO, "stopped");
    log_close();
    return 0;
}
