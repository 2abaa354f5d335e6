/*
 * wsargs.c - websockify's command line (websockify_init in websockify/websocketproxy.py,
 * read with optparse) into struct wsargs, then into the YAML of a route file. The rules
 * of each option, its default and the checks websockify makes are followed; relative
 * paths are resolved the way websockify resolves them. The YAML keys are listed in
 * wsargs.h; the route file parser (config.c) checks the values.
 */
#include "wsargs.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "utf8.h"

/* Every option websockify's optparse knows, and wsbridge's --print-config. */
enum wsargs_opt {
    WSARGS_O_VERBOSE = 0,
    WSARGS_O_TRAFFIC,
    WSARGS_O_RECORD,
    WSARGS_O_DAEMON,
    WSARGS_O_RUN_ONCE,
    WSARGS_O_TIMEOUT,
    WSARGS_O_IDLE_TIMEOUT,
    WSARGS_O_CERT,
    WSARGS_O_KEY,
    WSARGS_O_KEY_PASSWORD,
    WSARGS_O_SSL_ONLY,
    WSARGS_O_SSL_TARGET,
    WSARGS_O_VERIFY_CLIENT,
    WSARGS_O_CAFILE,
    WSARGS_O_SSL_VERSION,
    WSARGS_O_SSL_CIPHERS,
    WSARGS_O_UNIX_LISTEN,
    WSARGS_O_UNIX_LISTEN_MODE,
    WSARGS_O_UNIX_TARGET,
    WSARGS_O_INETD,
    WSARGS_O_WEB,
    WSARGS_O_WEB_AUTH,
    WSARGS_O_WRAP_MODE,
    WSARGS_O_PREFER_IPV6,
    WSARGS_O_LIBSERVER,
    WSARGS_O_TARGET_CONFIG,
    WSARGS_O_TOKEN_PLUGIN,
    WSARGS_O_TOKEN_SOURCE,
    WSARGS_O_HOST_TOKEN,
    WSARGS_O_AUTH_PLUGIN,
    WSARGS_O_AUTH_SOURCE,
    WSARGS_O_HEARTBEAT,
    WSARGS_O_LOG_FILE,
    WSARGS_O_SYSLOG,
    WSARGS_O_LEGACY_SYSLOG,
    WSARGS_O_FILE_ONLY,
    WSARGS_O_HELP,
    WSARGS_O_PRINT_CONFIG,
    WSARGS_O_COUNT,
};

struct wsargs_option {
    const char *name; /* without "--" */
    char short_name;  /* or 0 */
    bool takes_value;
    bool exact_only;     /* wsbridge's own: no abbreviation, so websockify's stay unique */
    const char *refusal; /* refused whatever its value: what to use instead */
};

static const struct wsargs_option wsargs_options[WSARGS_O_COUNT] = {
    [WSARGS_O_VERBOSE] = {"verbose", 'v', false, false, NULL},
    [WSARGS_O_TRAFFIC] = {"traffic", 0, false, false, NULL},
    [WSARGS_O_RECORD] = {"record", 0, true, false,
                         "wsbridge does not record sessions; -v with --traffic logs a line per "
                         "frame"},
    [WSARGS_O_DAEMON] = {"daemon", 'D', false, false,
                         "wsbridge stays in the foreground; run it under systemd "
                         "(wsbridge.service) or another supervisor"},
    [WSARGS_O_RUN_ONCE] = {"run-once", 0, false, false,
                           "wsbridge serves until it is stopped; stop it with SIGTERM"},
    [WSARGS_O_TIMEOUT] = {"timeout", 0, true, false, NULL},
    [WSARGS_O_IDLE_TIMEOUT] = {"idle-timeout", 0, true, false, NULL},
    [WSARGS_O_CERT] = {"cert", 0, true, false, NULL},
    [WSARGS_O_KEY] = {"key", 0, true, false, NULL},
    [WSARGS_O_KEY_PASSWORD] = {"key-password", 0, true, false,
                               "a password on the command line is visible to every local user; "
                               "put it in a file and set tls.key_password_file in a route file "
                               "(--print-config writes one to start from)"},
    [WSARGS_O_SSL_ONLY] = {"ssl-only", 0, false, false, NULL},
    [WSARGS_O_SSL_TARGET] = {"ssl-target", 0, false, false, NULL},
    [WSARGS_O_VERIFY_CLIENT] = {"verify-client", 0, false, false, NULL},
    [WSARGS_O_CAFILE] = {"cafile", 0, true, false, NULL},
    [WSARGS_O_SSL_VERSION] = {"ssl-version", 0, true, false, NULL},
    [WSARGS_O_SSL_CIPHERS] = {"ssl-ciphers", 0, true, false, NULL},
    [WSARGS_O_UNIX_LISTEN] = {"unix-listen", 0, true, false, NULL},
    [WSARGS_O_UNIX_LISTEN_MODE] = {"unix-listen-mode", 0, true, false, NULL},
    [WSARGS_O_UNIX_TARGET] = {"unix-target", 0, true, false, NULL},
    [WSARGS_O_INETD] = {"inetd", 0, false, false,
                        "wsbridge opens its own listening socket; give "
                        "[source_addr:]source_port or --unix-listen FILE"},
    [WSARGS_O_WEB] = {"web", 0, true, false, NULL},
    [WSARGS_O_WEB_AUTH] = {"web-auth", 0, false, false,
                           "wsbridge does not put files behind an auth plugin; use auth_file "
                           "(Basic auth) on a route in a route file"},
    [WSARGS_O_WRAP_MODE] = {"wrap-mode", 0, true, false, NULL},
    [WSARGS_O_PREFER_IPV6] = {"prefer-ipv6", '6', false, false, NULL},
    [WSARGS_O_LIBSERVER] = {"libserver", 0, false, false,
                            "wsbridge has one server engine; leave the option out"},
    [WSARGS_O_TARGET_CONFIG] = {"target-config", 0, true, false, NULL},
    [WSARGS_O_TOKEN_PLUGIN] = {"token-plugin", 0, true, false, NULL},
    [WSARGS_O_TOKEN_SOURCE] = {"token-source", 0, true, false, NULL},
    [WSARGS_O_HOST_TOKEN] = {"host-token", 0, false, false, NULL},
    [WSARGS_O_AUTH_PLUGIN] = {"auth-plugin", 0, true, false, NULL},
    [WSARGS_O_AUTH_SOURCE] = {"auth-source", 0, true, false, NULL},
    [WSARGS_O_HEARTBEAT] = {"heartbeat", 0, true, false, NULL},
    [WSARGS_O_LOG_FILE] = {"log-file", 0, true, false, NULL},
    [WSARGS_O_SYSLOG] = {"syslog", 0, true, false, NULL},
    [WSARGS_O_LEGACY_SYSLOG] = {"legacy-syslog", 0, false, false, NULL},
    [WSARGS_O_FILE_ONLY] = {"file-only", 0, false, false, NULL},
    [WSARGS_O_HELP] = {"help", 'h', false, false, NULL},
    [WSARGS_O_PRINT_CONFIG] = {"print-config", 0, false, true, NULL},
};

/* The options as given: the last value of each wins, as with optparse's "store". */
struct wsargs_seen {
    bool set[WSARGS_O_COUNT];
    const char *val[WSARGS_O_COUNT];
    const char *positional[64]; /* arguments that are not options, in order */
    size_t n_positional;
    bool dashdash; /* "--" was given: what follows is a command to wrap */
};

static int wsargs_fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes one error line into <err> and returns -1. */
static int wsargs_fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Copies user text <s> into <out> (64 bytes) for an error line: printable ASCII kept,
 * anything else as '?', cut with "..." past 60 bytes. */
static const char *wsargs_show(const char *s, char out[64])
{
    size_t i;

    for (i = 0; s[i] != '\0' && i < 60; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (s[i] != '\0') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* True if the option <o> was given with a value Python would find true: websockify tests
 * most of its options with "if opts.x", so an empty value counts as not given. */
static bool wsargs_given(const struct wsargs_seen *s, enum wsargs_opt o)
{
    return s->set[o] && (!wsargs_options[o].takes_value || s->val[o][0] != '\0');
}

/* Finds the long option <name> (<len> bytes): exact, else the one option it is a prefix
 * of. Returns its index, or -1 with the error written. */
static int wsargs_find_long(const char *name, size_t len, char *err, size_t err_len)
{
    char given[WSARGS_ERROR_MAX], shown[64], list[256] = "";
    int found = -1, n = 0;
    size_t at = 0;

    for (int i = 0; i < WSARGS_O_COUNT; i++)
        if (strlen(wsargs_options[i].name) == len && memcmp(wsargs_options[i].name, name, len) == 0)
            return i;
    for (int i = 0; i < WSARGS_O_COUNT; i++) {
        if (wsargs_options[i].exact_only || strncmp(wsargs_options[i].name, name, len) != 0)
            continue;
        found = i;
        if (n++ > 0 && at < sizeof(list))
            at += (size_t)snprintf(list + at, sizeof(list) - at, ", ");
        if (at < sizeof(list))
            at += (size_t)snprintf(list + at, sizeof(list) - at, "--%s", wsargs_options[i].name);
    }
    if (n == 1)
        return found;
    snprintf(given, sizeof(given), "%.*s", (int)len, name);
    if (n > 1)
        return wsargs_fail(err, err_len, "--%s: ambiguous option (%s)", wsargs_show(given, shown),
                           list);
    return wsargs_fail(err, err_len, "--%s: unknown option (see --help)",
                       wsargs_show(given, shown));
}

/* Reads the options and positional arguments of argv into <s>. Returns 0, or -1 with
 * the error (an unknown or ambiguous option, a missing value, a value to a flag). */
static int wsargs_scan(int argc, char *const argv[], struct wsargs_seen *s, char *err,
                       size_t err_len)
{
    char shown[64];
    int i, o;

    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (s->dashdash || a[0] != '-' || a[1] == '\0') {
            if (s->n_positional == sizeof(s->positional) / sizeof(s->positional[0]))
                return wsargs_fail(err, err_len, "too many arguments");
            s->positional[s->n_positional++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            s->dashdash = true;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = wsargs_find_long(a + 2, len, err, err_len);
            if (o < 0)
                return -1;
            s->set[o] = true;
            if (!wsargs_options[o].takes_value) {
                if (eq != NULL)
                    return wsargs_fail(err, err_len, "--%s: takes no value",
                                       wsargs_options[o].name);
                continue;
            }
            if (eq != NULL) {
                s->val[o] = eq + 1;
            } else if (i + 1 < argc) {
                s->val[o] = argv[++i];
            } else {
                return wsargs_fail(err, err_len, "--%s: needs a value", wsargs_options[o].name);
            }
            continue;
        }
        /* short flags, alone or grouped; none of websockify's takes a value */
        for (const char *p = a + 1; *p != '\0'; p++) {
            for (o = 0; o < WSARGS_O_COUNT && wsargs_options[o].short_name != *p; o++)
                ;
            if (o == WSARGS_O_COUNT) {
                char one[2] = {*p, '\0'};
                return wsargs_fail(err, err_len, "-%s: unknown option (see --help)",
                                   wsargs_show(one, shown));
            }
            s->set[o] = true;
        }
    }
    return 0;
}

/* Reads <text> as optparse's "int" type does (0x hex, 0b binary, a leading 0 octal,
 * else decimal), refusing signs, spaces and underscores, which Python would take.
 * Returns 0 with *<v>, or -1. Values past <max> are -1 too. */
static int wsargs_int(const char *text, unsigned long max, unsigned long *v)
{
    const char *p = text;
    unsigned base = 10, d;
    unsigned long n = 0;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
        base = 2;
        p += 2;
        if (*p == '\0') /* optparse: val[2:] or "0" */
            p = "0";
    } else if (p[0] == '0') {
        base = 8;
        p += (p[1] == 'o' || p[1] == 'O') ? 2 : 0;
    }
    if (*p == '\0')
        return -1;
    for (; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return -1;
        if (d >= base)
            return -1;
        n = n * base + d;
        if (n > max)
            return -1;
    }
    *v = n;
    return 0;
}

/* Reads "[host]:port", "host:port" or "port" as websockify does (rsplit on the last
 * colon, brackets stripped from the host) into <a>; an empty host is <empty_host>, and
 * *<had_host> says whether there was another. Returns 0, or -1 with the error naming
 * <what>. */
static int wsargs_hostport(const char *what, const char *text, bool port_only_ok,
                           const char *empty_host, struct addr *a, bool *had_host, char *err,
                           size_t err_len)
{
    const char *colon = strrchr(text, ':'), *host = text, *port = text;
    char spec[ADDR_HOST_MAX + 32], why[128], shown[64];
    size_t host_len = 0;

    if ((colon == NULL && !port_only_ok) || strstr(text, "://") != NULL)
        return wsargs_fail(err, err_len, "%s \"%s\": not host:port", what,
                           wsargs_show(text, shown));
    if (colon != NULL) {
        host_len = (size_t)(colon - text);
        port = colon + 1;
        /* Python's str.strip('[]'): any brackets at either end */
        while (host_len > 0 && (host[0] == '[' || host[0] == ']')) {
            host++;
            host_len--;
        }
        while (host_len > 0 && (host[host_len - 1] == '[' || host[host_len - 1] == ']'))
            host_len--;
    }
    *had_host = host_len > 0;
    if (host_len == 0) {
        host = empty_host;
        host_len = strlen(empty_host);
    }
    if (host_len > ADDR_HOST_MAX || strlen(port) > 16)
        return wsargs_fail(err, err_len, "%s \"%s\": too long", what, wsargs_show(text, shown));
    snprintf(spec, sizeof(spec), memchr(host, ':', host_len) != NULL ? "[%.*s]:%s" : "%.*s:%s",
             (int)host_len, host, port);
    if (addr_parse(spec, 0, a, why, sizeof(why)) != 0)
        return wsargs_fail(err, err_len, "%s \"%s\": %s", what, wsargs_show(text, shown), why);
    /* websockify reads "unix:5900" as host "unix"; here "unix:" names a socket file. */
    if (a->kind != ADDR_HOSTPORT)
        return wsargs_fail(err, err_len,
                           "%s \"%s\": not host:port (a Unix socket is --unix-target FILE or "
                           "--unix-listen FILE)",
                           what, wsargs_show(text, shown));
    return 0;
}

/* Reads an octal file mode as int(<text>, 8) does ("0o" allowed; no sign, spaces or
 * underscores here), up to 0777. Returns 0 with *<mode>, or -1. */
static int wsargs_octal(const char *text, unsigned *mode)
{
    unsigned v = 0;

    if (text[0] == '0' && (text[1] == 'o' || text[1] == 'O'))
        text += 2;
    if (*text == '\0')
        return -1;
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '7')
            return -1;
        v = v * 8 + (unsigned)(*text - '0');
        if (v > 0777)
            return -1;
    }
    *mode = v;
    return 0;
}

/* True if <name> is <plugin> with or without the module websockify adds. */
static bool wsargs_is_plugin(const char *name, const char *module, const char *plugin)
{
    size_t m = strlen(module);

    if (strncmp(name, module, m) == 0 && name[m] == '.')
        name += m + 1;
    return strcmp(name, plugin) == 0;
}

/* websockify's own checks, in its order (websockify_init, "Validate options"). */
static int wsargs_check_websockify(const struct wsargs_seen *s, char *err, size_t err_len)
{
    if (wsargs_given(s, WSARGS_O_TOKEN_SOURCE) && !s->set[WSARGS_O_TOKEN_PLUGIN])
        return wsargs_fail(err, err_len, "--token-source: needs --token-plugin");
    if (s->set[WSARGS_O_HOST_TOKEN] && !s->set[WSARGS_O_TOKEN_PLUGIN])
        return wsargs_fail(err, err_len, "--host-token: needs --token-plugin");
    if (wsargs_given(s, WSARGS_O_AUTH_SOURCE) && !s->set[WSARGS_O_AUTH_PLUGIN])
        return wsargs_fail(err, err_len, "--auth-source: needs --auth-plugin");
    if (s->set[WSARGS_O_WEB_AUTH] && !s->set[WSARGS_O_AUTH_PLUGIN])
        return wsargs_fail(err, err_len, "--web-auth: needs --auth-plugin");
    if (s->set[WSARGS_O_WEB_AUTH] && !wsargs_given(s, WSARGS_O_WEB))
        return wsargs_fail(err, err_len, "--web-auth: needs --web");
    if (s->set[WSARGS_O_LEGACY_SYSLOG] && !wsargs_given(s, WSARGS_O_SYSLOG))
        return wsargs_fail(err, err_len, "--legacy-syslog: needs --syslog");
    if (s->set[WSARGS_O_SSL_VERSION] && strcmp(s->val[WSARGS_O_SSL_VERSION], "default") != 0 &&
        strcmp(s->val[WSARGS_O_SSL_VERSION], "tlsv1_1") != 0 &&
        strcmp(s->val[WSARGS_O_SSL_VERSION], "tlsv1_2") != 0 &&
        strcmp(s->val[WSARGS_O_SSL_VERSION], "tlsv1_3") != 0)
        return wsargs_fail(err, err_len,
                           "--ssl-version: one of default, tlsv1_1, tlsv1_2, tlsv1_3");
    if (s->set[WSARGS_O_WRAP_MODE] && strcmp(s->val[WSARGS_O_WRAP_MODE], "exit") != 0 &&
        strcmp(s->val[WSARGS_O_WRAP_MODE], "ignore") != 0 &&
        strcmp(s->val[WSARGS_O_WRAP_MODE], "respawn") != 0)
        return wsargs_fail(err, err_len, "--wrap-mode: one of exit, ignore, respawn");
    return 0;
}

/* The options refused whatever their value, then those refused for their value. */
static int wsargs_check_refused(const struct wsargs_seen *s, char *err, size_t err_len)
{
    const char *plugin = s->val[WSARGS_O_TOKEN_PLUGIN], *v;
    unsigned long n;
    char shown[64];

    for (int o = 0; o < WSARGS_O_COUNT; o++)
        if (s->set[o] && wsargs_options[o].refusal != NULL)
            return wsargs_fail(err, err_len, "--%s: %s", wsargs_options[o].name,
                               wsargs_options[o].refusal);
    for (int o = WSARGS_O_TIMEOUT; o <= WSARGS_O_IDLE_TIMEOUT; o++) {
        if (!s->set[o])
            continue;
        if (wsargs_int(s->val[o], UINT32_MAX, &n) != 0)
            return wsargs_fail(err, err_len, "--%s \"%s\": not a whole number of seconds",
                               wsargs_options[o].name, wsargs_show(s->val[o], shown));
        if (n > 0 && o == WSARGS_O_TIMEOUT)
            return wsargs_fail(err, err_len,
                               "--timeout: wsbridge does not exit on a timer; stop it with "
                               "SIGTERM");
        if (n > 0)
            return wsargs_fail(err, err_len,
                               "--idle-timeout: wsbridge does not exit when no client is "
                               "connected; to close idle connections instead, set "
                               "idle_timeout in a route file");
    }
    /* --target-config replaces whatever plugin was named */
    if (s->set[WSARGS_O_TOKEN_PLUGIN] && !wsargs_given(s, WSARGS_O_TARGET_CONFIG) &&
        !wsargs_is_plugin(plugin, "websockify.token_plugins", "TokenFile") &&
        !wsargs_is_plugin(plugin, "websockify.token_plugins", "ReadOnlyTokenFile")) {
        if (wsargs_is_plugin(plugin, "websockify.token_plugins", "TokenFileName"))
            v = "wsbridge reads no file per token; write \"TOKEN: host:port\" lines into "
                "token files and use TokenFile";
        else if (wsargs_is_plugin(plugin, "websockify.token_plugins", "UnixDomainSocketDirectory"))
            v = "wsbridge does not scan a folder of sockets; write \"TOKEN: "
                "unix_socket:/path\" lines into token files and use TokenFile";
        else
            v = "wsbridge reads token files only (TokenFile, ReadOnlyTokenFile)";
        return wsargs_fail(err, err_len, "--token-plugin %s: %s", wsargs_show(plugin, shown), v);
    }
    if (s->set[WSARGS_O_AUTH_PLUGIN] &&
        !wsargs_is_plugin(s->val[WSARGS_O_AUTH_PLUGIN], "websockify.auth_plugins", "ExpectOrigin"))
        return wsargs_fail(err, err_len,
                           "--auth-plugin %s: wsbridge takes no Python plugins; use auth_file "
                           "(Basic auth with crypt(3) hashes), origins, or allow and deny on a "
                           "route in a route file (ExpectOrigin is understood)",
                           wsargs_show(s->val[WSARGS_O_AUTH_PLUGIN], shown));
    if (wsargs_given(s, WSARGS_O_SYSLOG) && strcmp(s->val[WSARGS_O_SYSLOG], "/dev/log") != 0)
        return wsargs_fail(err, err_len,
                           "--syslog %s: wsbridge logs to the local syslog only; use --syslog "
                           "/dev/log and let the syslog daemon forward",
                           wsargs_show(s->val[WSARGS_O_SYSLOG], shown));
    if (s->set[WSARGS_O_SSL_VERSION] && strcmp(s->val[WSARGS_O_SSL_VERSION], "tlsv1_1") == 0)
        return wsargs_fail(err, err_len,
                           "--ssl-version tlsv1_1: wsbridge speaks TLS 1.2 and 1.3 only; use "
                           "tlsv1_2 or leave the option out");
    return 0;
}

/* The strings that end up in the YAML must be UTF-8 (a route file is UTF-8 text) and
 * paths no longer than WSARGS_PATH_MAX. */
static int wsargs_check_text(const struct wsargs_seen *s, char *err, size_t err_len)
{
    for (int o = 0; o < WSARGS_O_COUNT; o++) {
        const char *v = s->val[o];
        if (!s->set[o] || v == NULL)
            continue;
        if (!utf8_is_valid((const uint8_t *)v, strlen(v)))
            return wsargs_fail(err, err_len, "--%s: not UTF-8 (a route file is UTF-8 text)",
                               wsargs_options[o].name);
        if (strlen(v) > WSARGS_PATH_MAX)
            return wsargs_fail(err, err_len, "--%s: longer than %d bytes", wsargs_options[o].name,
                               WSARGS_PATH_MAX);
    }
    return 0;
}

/* The listener: TLS, its files and versions, the source address or Unix socket. */
static int wsargs_read_listener(const struct wsargs_seen *s, const struct wsargs_env *env,
                                struct wsargs *w, const char *source, char *err, size_t err_len)
{
    const char *version = s->set[WSARGS_O_SSL_VERSION] ? s->val[WSARGS_O_SSL_VERSION] : "default";
    bool had_host;
    char shown[64];

    w->ssl_only = s->set[WSARGS_O_SSL_ONLY];
    if (s->set[WSARGS_O_CERT]) {
        if (s->val[WSARGS_O_CERT][0] == '\0')
            return wsargs_fail(err, err_len, "--cert: empty file name");
        w->cert = s->val[WSARGS_O_CERT];
    } else if (w->ssl_only || env->default_cert_exists) {
        /* websockify offers TLS whenever its cert file exists, self.pem by default */
        w->cert = WSARGS_DEFAULT_CERT;
        if (!env->default_cert_exists)
            return wsargs_fail(err, err_len, "--ssl-only: %s/%s not found (give --cert FILE)",
                               env->cwd, WSARGS_DEFAULT_CERT);
    }
    if (wsargs_given(s, WSARGS_O_KEY))
        w->key = s->val[WSARGS_O_KEY];
    w->verify_client = s->set[WSARGS_O_VERIFY_CLIENT];
    if (w->verify_client && w->cert == NULL)
        return wsargs_fail(err, err_len, "--verify-client: no TLS listener; give --cert FILE");
    if (wsargs_given(s, WSARGS_O_CAFILE)) {
        if (w->verify_client)
            w->cafile = s->val[WSARGS_O_CAFILE];
        else
            w->notes |= WSARGS_NOTE_CAFILE;
    }
    if (s->set[WSARGS_O_SSL_CIPHERS] && s->val[WSARGS_O_SSL_CIPHERS][0] == '\0')
        return wsargs_fail(err, err_len, "--ssl-ciphers: empty cipher list");
    w->min_version = strcmp(version, "tlsv1_3") == 0   ? 13
                     : strcmp(version, "tlsv1_2") == 0 ? 12
                                                       : 0;
    if (w->cert != NULL)
        w->ciphers = s->val[WSARGS_O_SSL_CIPHERS];
    else if (s->set[WSARGS_O_SSL_CIPHERS] || w->min_version != 0)
        w->notes |= WSARGS_NOTE_NO_TLS;
    if (w->cert == NULL)
        w->min_version = 0;

    w->unix_listen_mode = 0600; /* websockify's default: owner read and write */
    if (wsargs_given(s, WSARGS_O_UNIX_LISTEN)) {
        w->unix_listen = s->val[WSARGS_O_UNIX_LISTEN];
        if (wsargs_given(s, WSARGS_O_UNIX_LISTEN_MODE) &&
            wsargs_octal(s->val[WSARGS_O_UNIX_LISTEN_MODE], &w->unix_listen_mode) != 0)
            return wsargs_fail(err, err_len,
                               "--unix-listen-mode \"%s\": not an octal mode up to 777",
                               wsargs_show(s->val[WSARGS_O_UNIX_LISTEN_MODE], shown));
        if (s->set[WSARGS_O_PREFER_IPV6])
            w->notes |= WSARGS_NOTE_PREFER_IPV6;
        return 0;
    }
    if (s->set[WSARGS_O_UNIX_LISTEN_MODE])
        w->notes |= WSARGS_NOTE_UNIX_MODE;
    /* getaddrinfo(NULL, port, AI_PASSIVE) sorted by family: 0.0.0.0 first, :: with -6 */
    if (wsargs_hostport("source", source, true, s->set[WSARGS_O_PREFER_IPV6] ? "::" : "0.0.0.0",
                        &w->listen, &had_host, err, err_len) != 0)
        return -1;
    if (s->set[WSARGS_O_PREFER_IPV6] && had_host)
        w->notes |= WSARGS_NOTE_PREFER_IPV6;
    return 0;
}

/* The route's target: a token plugin, a Unix socket or target_addr:target_port. Takes
 * the target argument from <pos> (*<n> left) when one is needed. */
static int wsargs_read_target(const struct wsargs_seen *s, struct wsargs *w, const char **pos,
                              size_t *n, char *err, size_t err_len)
{
    bool had_host;

    bool plugin = s->set[WSARGS_O_TOKEN_PLUGIN] || wsargs_given(s, WSARGS_O_TARGET_CONFIG);

    if (wsargs_given(s, WSARGS_O_TARGET_CONFIG)) {
        /* websockify: --target-config replaces --token-plugin and --token-source */
        w->tokens = s->val[WSARGS_O_TARGET_CONFIG];
        w->tokens_from_cwd = true;
    } else if (s->set[WSARGS_O_TOKEN_PLUGIN]) {
        if (!wsargs_given(s, WSARGS_O_TOKEN_SOURCE))
            return wsargs_fail(err, err_len, "--token-plugin: needs --token-source FILE_OR_FOLDER");
        w->tokens = s->val[WSARGS_O_TOKEN_SOURCE];
    }
    w->host_token = s->set[WSARGS_O_HOST_TOKEN];
    if (plugin && wsargs_given(s, WSARGS_O_UNIX_TARGET))
        return wsargs_fail(err, err_len,
                           "--unix-target: websockify would send every token to this socket; "
                           "give --unix-target or a token plugin, not both");
    if (plugin && s->set[WSARGS_O_SSL_TARGET])
        return wsargs_fail(err, err_len,
                           "--ssl-target: wsbridge does not reach token targets over TLS yet; "
                           "leave it out or use one target_addr:target_port");
    if (plugin) {
        w->target_kind = WSARGS_TARGET_TOKENS;
        return 0;
    }
    if (wsargs_given(s, WSARGS_O_UNIX_TARGET)) {
        w->target_kind = WSARGS_TARGET_UNIX;
        w->unix_target = s->val[WSARGS_O_UNIX_TARGET];
        if (s->set[WSARGS_O_SSL_TARGET])
            w->notes |= WSARGS_NOTE_SSL_TARGET_UNIX; /* websockify ignores it there */
        return 0;
    }
    if (*n == 0)
        return wsargs_fail(err, err_len,
                           "too few arguments: give target_addr:target_port, --unix-target "
                           "FILE or --token-plugin TokenFile --token-source PATH");
    w->target_kind = WSARGS_TARGET_ADDR;
    /* an empty host: getaddrinfo(NULL, port) without AI_PASSIVE, loopback, IPv4 first */
    if (wsargs_hostport("target", pos[0], false, "127.0.0.1", &w->target, &had_host, err,
                        err_len) != 0)
        return -1;
    w->target.tls = s->set[WSARGS_O_SSL_TARGET];
    (*n)--;
    return 0;
}

int wsargs_parse(int argc, char *const argv[], const struct wsargs_env *env, struct wsargs *w,
                 char *err, size_t err_len)
{
    struct wsargs_seen s = {0};
    const char **pos;
    unsigned long n;
    size_t left;
    char shown[64];

    memset(w, 0, sizeof(*w));
    if (env == NULL || env->cwd == NULL || env->cwd[0] != '/' ||
        strlen(env->cwd) > WSARGS_PATH_MAX ||
        !utf8_is_valid((const uint8_t *)env->cwd, strlen(env->cwd)))
        return wsargs_fail(err, err_len, "working folder: not an absolute UTF-8 path");
    w->cwd = env->cwd;
    if (wsargs_scan(argc, argv, &s, err, err_len) != 0)
        return -1;
    if (s.set[WSARGS_O_HELP]) {
        w->help = true;
        return 0;
    }
    w->print_config = s.set[WSARGS_O_PRINT_CONFIG];
    if (wsargs_check_websockify(&s, err, err_len) != 0 ||
        wsargs_check_refused(&s, err, err_len) != 0 || wsargs_check_text(&s, err, err_len) != 0)
        return -1;
    /* websockify: "if sys.argv.count('--')", the arguments after the source are a command */
    if (s.dashdash && s.n_positional > (wsargs_given(&s, WSARGS_O_UNIX_LISTEN) ? 0u : 1u))
        return wsargs_fail(err, err_len,
                           "-- COMMAND: wsbridge does not start programs; start it yourself "
                           "(a systemd unit, say) on its own port and give "
                           "target_addr:target_port");
    if (s.set[WSARGS_O_WRAP_MODE])
        w->notes |= WSARGS_NOTE_WRAP_MODE;

    pos = s.positional;
    left = s.n_positional;
    if (!wsargs_given(&s, WSARGS_O_UNIX_LISTEN) && left == 0)
        return wsargs_fail(err, err_len, "too few arguments: give [source_addr:]source_port");
    if (wsargs_read_listener(&s, env, w, left > 0 ? pos[0] : "", err, err_len) != 0)
        return -1;
    if (!wsargs_given(&s, WSARGS_O_UNIX_LISTEN)) {
        pos++;
        left--;
    }
    if (wsargs_read_target(&s, w, pos, &left, err, err_len) != 0)
        return -1;
    if (left > 0) /* websockify: "Too many arguments" */
        return wsargs_fail(err, err_len, "unexpected argument \"%s\"",
                           wsargs_show(s.positional[s.n_positional - left], shown));
    if (s.set[WSARGS_O_AUTH_PLUGIN]) {
        const char *src = s.val[WSARGS_O_AUTH_SOURCE];
        if (src == NULL || src[strspn(src, " \t\n\r\v\f")] == '\0')
            return wsargs_fail(err, err_len,
                               "--auth-plugin ExpectOrigin: needs --auth-source with the "
                               "allowed origins");
        if (strchr(src, '*') != NULL)
            return wsargs_fail(err, err_len,
                               "--auth-source: \"*\" is a literal origin to websockify but a "
                               "wildcard to wsbridge; list the origins");
        w->origins = src;
    }
    if (s.set[WSARGS_O_HEARTBEAT]) {
        if (wsargs_int(s.val[WSARGS_O_HEARTBEAT], WSARGS_HEARTBEAT_MAX, &n) != 0)
            return wsargs_fail(err, err_len,
                               "--heartbeat \"%s\": not a whole number of seconds up to %u",
                               wsargs_show(s.val[WSARGS_O_HEARTBEAT], shown), WSARGS_HEARTBEAT_MAX);
        w->heartbeat_s = (unsigned)n;
    }
    if (wsargs_given(&s, WSARGS_O_LOG_FILE) && wsargs_given(&s, WSARGS_O_SYSLOG))
        return wsargs_fail(err, err_len,
                           "--log-file and --syslog: wsbridge logs to one place; keep one");
    if (wsargs_given(&s, WSARGS_O_LOG_FILE))
        w->log_file = s.val[WSARGS_O_LOG_FILE];
    w->syslog = wsargs_given(&s, WSARGS_O_SYSLOG);
    if (s.set[WSARGS_O_LEGACY_SYSLOG])
        w->notes |= WSARGS_NOTE_LEGACY_SYSLOG;
    if (s.set[WSARGS_O_FILE_ONLY])
        w->notes |= WSARGS_NOTE_FILE_ONLY;
    if (wsargs_given(&s, WSARGS_O_WEB))
        w->web = s.val[WSARGS_O_WEB];
    w->verbose = s.set[WSARGS_O_VERBOSE];
    w->traffic = s.set[WSARGS_O_TRAFFIC];
    return 0;
}

const char *wsargs_usage(void)
{
    return "usage: wsbridge [options] [source_addr:]source_port target_addr:target_port\n"
           "       wsbridge [options] --token-plugin TokenFile --token-source PATH "
           "[source_addr:]source_port\n"
           "       wsbridge [options] --unix-target FILE [source_addr:]source_port\n"
           "websockify's command line, run as a route file with one route \"/*\";\n"
           "--print-config prints that file. Options: -v, --traffic, --web DIR, --cert FILE,\n"
           "--key FILE, --ssl-only, --ssl-target, --verify-client, --cafile FILE,\n"
           "--ssl-version tlsv1_2|tlsv1_3, --ssl-ciphers LIST, --unix-listen FILE,\n"
           "--unix-listen-mode MODE, --unix-target FILE, --target-config PATH,\n"
           "--token-plugin TokenFile, --token-source PATH, --host-token,\n"
           "--auth-plugin ExpectOrigin --auth-source ORIGINS, --heartbeat SECONDS,\n"
           "--log-file FILE, --syslog /dev/log, -6, --file-only, --print-config.\n";
}
