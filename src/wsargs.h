/*
 * wsargs.h - websockify's command line (websockify/websocketproxy.py, websockify_init)
 * read as websockify's optparse reads it; wsargs_yaml.h writes it out as the YAML of a
 * route file, so that the daemon loads it through the same parser as a file and
 * --print-config can show it. Options without a meaning here are refused with one line
 * saying what to use instead. Pure: the caller supplies the working folder.
 */
#ifndef WSB_WSARGS_H
#define WSB_WSARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define WSARGS_ERROR_MAX 512           /* bytes of an error line, NUL included */
#define WSARGS_PATH_MAX 4095           /* bytes of a path argument or of the working folder */
#define WSARGS_DEFAULT_CERT "self.pem" /* websockify's --cert default, in the working folder */
#define WSARGS_HEARTBEAT_MAX 4294967u  /* seconds: the route file's durations are 32-bit ms */

enum wsargs_target {
    WSARGS_TARGET_ADDR = 0, /* target_addr:target_port (tls:// with --ssl-target) */
    WSARGS_TARGET_UNIX,     /* --unix-target FILE */
    WSARGS_TARGET_TOKENS,   /* --token-plugin TokenFile --token-source PATH, --target-config */
};

/* Options accepted without an effect, written as YAML comments. */
#define WSARGS_NOTE_FILE_ONLY 0x01       /* --file-only: listings are off anyway */
#define WSARGS_NOTE_LEGACY_SYSLOG 0x02   /* --legacy-syslog: syslog(3) picks the format */
#define WSARGS_NOTE_CAFILE 0x04          /* --cafile without --verify-client: unused */
#define WSARGS_NOTE_SSL_TARGET_UNIX 0x08 /* --ssl-target with --unix-target: unused */
#define WSARGS_NOTE_PREFER_IPV6 0x10     /* -6 with a source address: unused */
#define WSARGS_NOTE_NO_TLS 0x20          /* --ssl-ciphers or --ssl-version without TLS: unused */
#define WSARGS_NOTE_WRAP_MODE 0x40       /* --wrap-mode without a wrapped command: unused */
#define WSARGS_NOTE_UNIX_MODE 0x80       /* --unix-listen-mode without --unix-listen: unused */

/* What the caller knows of the process, for what websockify reads from it. */
struct wsargs_env {
    const char *cwd;          /* the absolute working folder: relative paths join it */
    bool default_cert_exists; /* WSARGS_DEFAULT_CERT exists in <cwd>: without --cert,
                               * websockify then serves TLS with it on the same port */
};

/* The command line, read. Strings point into the caller's argv and <env>, or at static
 * text: both must outlive the struct. Relative paths are joined to their base only when
 * written. */
struct wsargs {
    bool help;         /* -h, --help: print wsargs_usage(), nothing else */
    bool print_config; /* --print-config: print the YAML, do not run */
    const char *cwd;   /* from <env> */
    /* the listener */
    struct addr listen;        /* [source_addr:]source_port; unused with unix_listen */
    const char *unix_listen;   /* --unix-listen FILE, or NULL */
    unsigned unix_listen_mode; /* --unix-listen-mode (octal), default 0600 */
    const char *cert;          /* NULL: plain only */
    const char *key;           /* NULL: the key is in the cert file */
    bool ssl_only;             /* no plain clients on the TLS listener */
    bool verify_client;
    const char *cafile;   /* with verify_client only */
    const char *ciphers;  /* --ssl-ciphers, or NULL */
    unsigned min_version; /* 0: the default, 12: TLS 1.2, 13: TLS 1.3 */
    const char *web;      /* --web DIR, or NULL */
    /* the route */
    enum wsargs_target target_kind;
    struct addr target;      /* WSARGS_TARGET_ADDR; target.tls from --ssl-target */
    const char *unix_target; /* WSARGS_TARGET_UNIX */
    const char *tokens;      /* WSARGS_TARGET_TOKENS: the file or folder */
    bool tokens_from_cwd;    /* --target-config: made absolute before websockify
                              * changes into --web; --token-source is not */
    bool host_token;         /* --host-token: the token is the Host header's name */
    const char *origins;     /* --auth-plugin ExpectOrigin: the --auth-source list */
    /* the rest */
    unsigned heartbeat_s; /* --heartbeat N; 0: off (wsbridge's default then) */
    const char *log_file; /* --log-file FILE, or NULL */
    bool syslog;          /* --syslog /dev/log */
    bool verbose;         /* -v */
    bool traffic;         /* --traffic */
    unsigned notes;       /* WSARGS_NOTE_* */
};

/* Reads <argc> arguments at <argv> (without the program name) into <w>, as websockify's
 * optparse would: long options by their name or a unique prefix, "--opt=value" or
 * "--opt value" (the next argument is the value even if it starts with "-"), short
 * flags -v, -D, -6 and -h alone or grouped, options and arguments in any order, "--"
 * ending the options; --print-config (wsbridge's own, never abbreviated) as well. Then
 * websockify's own checks and the positional arguments [source_addr:]source_port and,
 * unless --unix-target, a token plugin, --unix-listen (no source) or wrap mode,
 * target_addr:target_port. Every string that ends up in the YAML must be UTF-8.
 * Returns 0, or -1 with one line "what: why" in <err> (<err_len> bytes,
 * WSARGS_ERROR_MAX is enough) naming the option and, for a refused one, what to use
 * instead. With -h, returns 0 at once with <w>->help set. */
int wsargs_parse(int argc, char *const argv[], const struct wsargs_env *env, struct wsargs *w,
                 char *err, size_t err_len);

/* The usage text for -h: websockify's forms and what wsbridge adds. */
const char *wsargs_usage(void);

#endif
