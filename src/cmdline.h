/*
 * cmdline.h - wsbridge's two command lines: its own (`-c FILE`, a route file) and
 * websockify's (`[options] [source_addr:]source_port [target_addr:target_port]`), which
 * is read by wsargs.c into the YAML of a route file, with what only the process knows
 * (its working folder, whether ./self.pem exists). main.c loads that YAML like a file.
 */
#ifndef WSB_CMDLINE_H
#define WSB_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* What a configuration read from websockify's command line is called in messages, where
 * a file's name would be: "<command line>:12:7: ...", "ready: 1 route from <command
 * line>". */
#define CMDLINE_NAME "<command line>"

enum cmdline_form {
    CMDLINE_DAEMON = 0, /* wsbridge [-c FILE] [--check] [-v] [-q] [--version] [--help] */
    CMDLINE_WEBSOCKIFY, /* wsbridge [options] [source_addr:]source_port [target...] */
};

/* The form of the <argc> arguments at <argv> (without the program name): the daemon's
 * when every argument is one of its own options as getopt_long reads them (-c FILE,
 * -cFILE, --config FILE, --config=FILE, --check, -v, -q, -V, -h, their long names or a
 * unique prefix of one, short flags grouped as in -vq or -vcFILE), which is also the
 * form with no argument at all; websockify's as soon as one argument is anything else: a
 * positional argument, "--", "-", or another option. */
enum cmdline_form cmdline_form(int argc, char *const argv[]);

/* Websockify's command line, read. */
struct cmdline_websockify {
    bool check;        /* --check: load everything, print "<command line>: ok" */
    bool quiet;        /* -q, --quiet: warnings and errors only, over -v */
    bool version;      /* -V, --version */
    bool help;         /* -h, --help */
    bool print_config; /* --print-config: print yaml, run nothing */
    char *yaml;        /* owned: the route file, NUL-terminated; NULL with help or version */
    size_t yaml_len;   /* bytes of yaml, NUL excluded */
};

/* Reads websockify's command line, the <argc> arguments at <argv> (without the program
 * name), into <c>: the daemon's own words that websockify lacks (--check, -q, --quiet, -V,
 * --version, exact spellings, before any "--") are taken out, the rest goes to
 * wsargs_parse() with the working folder, and the result is written as YAML. -c and
 * --config are refused: a route file and websockify's command line do not mix.
 * Returns 0, or -1 with one line "what: why" in <err> (an option and what to use
 * instead, as wsargs.h says); <c> needs cmdline_websockify_free() either way. */
int cmdline_websockify_read(int argc, char *const argv[], struct cmdline_websockify *c, char *err,
                            size_t err_len);

/* Frees what <c> owns; a zeroed <c> is fine. */
void cmdline_websockify_free(struct cmdline_websockify *c);

#endif
