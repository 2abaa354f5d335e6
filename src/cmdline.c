/*
 * cmdline.c - which of the two command lines wsbridge was given, and websockify's turned
 * into the YAML of a route file. The mapping itself is wsargs.c and wsargs_yaml.c (pure);
 * this file adds the working folder and the look for ./self.pem, and keeps the daemon's
 * own words (--check, -q, --version) out of websockify's way.
 */
#include "cmdline.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsargs.h"
#include "wsargs_yaml.h"

/* The daemon's long options, as main.c gives them to getopt_long. */
static const struct {
    const char *name;
    bool takes_value;
} cmdline_daemon_options[] = {
    {"config", true}, {"check", false},   {"verbose", false},
    {"quiet", false}, {"version", false}, {"help", false},
};

#define CMDLINE_N_DAEMON_OPTIONS                                                                   \
    (sizeof(cmdline_daemon_options) / sizeof(cmdline_daemon_options[0]))
#define CMDLINE_DAEMON_SHORT "vqVh" /* short flags without a value; 'c' takes one */

/* The daemon's long option that "--<a>" names, exactly or as getopt_long's unique
 * prefix; -1 for none or several. */
static int cmdline_daemon_long(const char *a, size_t len)
{
    int found = -1, n = 0;

    for (size_t i = 0; i < CMDLINE_N_DAEMON_OPTIONS; i++) {
        const char *name = cmdline_daemon_options[i].name;
        if (strlen(name) == len && memcmp(name, a, len) == 0)
            return (int)i;
        if (strncmp(name, a, len) == 0) {
            found = (int)i;
            n++;
        }
    }
    return n == 1 ? found : -1;
}

enum cmdline_form cmdline_form(int argc, char *const argv[])
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0)
            return CMDLINE_WEBSOCKIFY; /* a positional argument, or what follows one */
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);
            int o = cmdline_daemon_long(a + 2, len);
            if (o < 0 || (eq != NULL && !cmdline_daemon_options[o].takes_value))
                return CMDLINE_WEBSOCKIFY;
            if (cmdline_daemon_options[o].takes_value && eq == NULL)
                i++; /* its value, whatever it looks like */
            continue;
        }
        for (const char *p = a + 1; *p != '\0'; p++) {
            if (*p == 'c') {
                if (p[1] == '\0')
                    i++; /* -c FILE */
                break;   /* -cFILE */
            }
            if (strchr(CMDLINE_DAEMON_SHORT, *p) == NULL)
                return CMDLINE_WEBSOCKIFY;
        }
    }
    return CMDLINE_DAEMON;
}

/* Takes the daemon's own words out of <argv> into <c>, copying the rest to <rest>
 * (room for <argc>); returns how many are left, or -1 with the error for -c. */
static int cmdline_split(int argc, char *const argv[], struct cmdline_websockify *c, char **rest,
                         char *err, size_t err_len)
{
    bool dashdash = false;
    int n = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash) {
            if (strcmp(a, "--") == 0) {
                dashdash = true; /* websockify: what follows is a command to wrap */
            } else if (strcmp(a, "--check") == 0) {
                c->check = true;
                continue;
            } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
                c->quiet = true;
                continue;
            } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
                c->version = true;
                continue;
            } else if (strncmp(a, "-c", 2) == 0 || strcmp(a, "--config") == 0 ||
                       strncmp(a, "--config=", 9) == 0) {
                snprintf(err, err_len,
                         "%s: a route file and websockify's command line do not mix; give -c "
                         "FILE alone, or turn the command line into a file with --print-config",
                         a[1] == 'c' ? "-c" : "--config");
                return -1;
            }
        }
        rest[n++] = argv[i];
    }
    return n;
}

int cmdline_websockify_read(int argc, char *const argv[], struct cmdline_websockify *c, char *err,
                            size_t err_len)
{
    char cwd[PATH_MAX], cert[PATH_MAX + sizeof(WSARGS_DEFAULT_CERT) + 1];
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    struct wsargs_env env = {.cwd = cwd};
    struct wsargs w;
    struct stat st;
    int n, rc = -1;
    size_t len;

    memset(c, 0, sizeof(*c));
    if (rest == NULL) {
        snprintf(err, err_len, "command line: out of memory");
        return -1;
    }
    n = cmdline_split(argc, argv, c, rest, err, err_len);
    if (n < 0)
        goto done;
    if (c->version) {
        rc = 0;
        goto done;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        snprintf(err, err_len, "getcwd: %s", strerror(errno));
        goto done;
    }
    /* websockify serves TLS whenever its --cert (./self.pem by default) exists */
    snprintf(cert, sizeof(cert), "%s/%s", cwd, WSARGS_DEFAULT_CERT);
    env.default_cert_exists = stat(cert, &st) == 0;
    if (wsargs_parse(n, rest, &env, &w, err, err_len) != 0)
        goto done;
    if (w.help) {
        c->help = true;
        rc = 0;
        goto done;
    }
    c->print_config = w.print_config;
    len = wsargs_yaml_write(&w, NULL, 0);
    c->yaml = malloc(len + 1);
    if (c->yaml == NULL) {
        snprintf(err, err_len, "command line: out of memory");
        goto done;
    }
    c->yaml_len = wsargs_yaml_write(&w, c->yaml, len + 1);
    rc = 0;
done:
    free(rest);
    return rc;
}

void cmdline_websockify_free(struct cmdline_websockify *c)
{
    free(c->yaml);
    c->yaml = NULL;
}
