/*
 * wsargs_yaml.c - a read command line (struct wsargs, from wsargs.c) written as the YAML
 * of a route file: relative paths made absolute the way websockify resolves them, every
 * scalar from the command line double-quoted and escaped (YAML 1.1 as libyaml reads it).
 */
#include "wsargs_yaml.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "wsargs.h"

/* Output that counts on past its room, so that the caller learns the length needed. */
struct wsargs_yaml_out {
    char *p;
    size_t cap;
    size_t at;
};

static void wsargs_yaml_put(struct wsargs_yaml_out *o, const char *s, size_t len)
{
    if (o->at < o->cap)
        memcpy(o->p + o->at, s, o->at + len < o->cap ? len : o->cap - o->at);
    o->at += len;
}

static void wsargs_yaml_puts(struct wsargs_yaml_out *o, const char *s)
{
    wsargs_yaml_put(o, s, strlen(s));
}

static void wsargs_yaml_printf(struct wsargs_yaml_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For short fixed texts with numbers; longer ones go through wsargs_yaml_put(). */
static void wsargs_yaml_printf(struct wsargs_yaml_out *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        wsargs_yaml_put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Ends <o>: a NUL at the end, or at the last byte of a cut text. */
static size_t wsargs_yaml_end(struct wsargs_yaml_out *o)
{
    if (o->cap > 0)
        o->p[o->at < o->cap ? o->at : o->cap - 1] = '\0';
    return o->at;
}

/* Writes <len> bytes of valid UTF-8 at <s> as a double-quoted YAML scalar. */
static void wsargs_yaml_put_quoted(struct wsargs_yaml_out *o, const char *s, size_t len)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, k;
    uint32_t cp;

    wsargs_yaml_put(o, "\"", 1);
    while (i < len) {
        cp = u[i];
        k = cp < 0x80 ? 1 : cp < 0xe0 ? 2 : cp < 0xf0 ? 3 : 4;
        if (k > 1)
            cp &= 0xffu >> (k + 1);
        for (size_t j = 1; j < k && i + j < len; j++)
            cp = (cp << 6) | (u[i + j] & 0x3f);
        if (cp == '"' || cp == '\\')
            wsargs_yaml_printf(o, "\\%c", (char)cp);
        else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) /* controls; U+0085 is a break */
            wsargs_yaml_printf(o, "\\x%02x", (unsigned)cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
            wsargs_yaml_printf(o, "\\u%04x", (unsigned)cp); /* breaks, or refused by libyaml */
        else
            wsargs_yaml_put(o, s + i, k);
        i += k;
    }
    wsargs_yaml_put(o, "\"", 1);
}

size_t wsargs_yaml_quote(const char *s, size_t len, char *out, size_t cap)
{
    struct wsargs_yaml_out o = {out, cap, 0};

    wsargs_yaml_put_quoted(&o, s, len);
    return wsargs_yaml_end(&o);
}

/* Python's posixpath.normpath() of the absolute path <in> into <out> (room for <in>):
 * "." and empty parts dropped, ".." taking the part before it (never past the root);
 * two leading slashes are kept, as POSIX allows them a meaning. */
static void wsargs_yaml_normpath(const char *in, char *out)
{
    size_t lead = (in[1] == '/' && in[2] != '/') ? 2 : 1, at = lead, len;
    const char *p = in, *end;

    memset(out, '/', lead);
    while (*p != '\0') {
        while (*p == '/')
            p++;
        end = strchrnul(p, '/');
        len = (size_t)(end - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (at > lead && out[at - 1] != '/')
                at--;
            if (at > lead)
                at--; /* the slash before the part taken */
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (at > lead)
                out[at++] = '/';
            memcpy(out + at, p, len);
            at += len;
        }
        p = end;
    }
    out[at] = '\0';
}

#define WSARGS_YAML_JOINED_MAX (2 * WSARGS_PATH_MAX + 2) /* base, slash, path, NUL */

/* <path> made absolute against <base> (absolute) into <out> (WSARGS_YAML_JOINED_MAX bytes):
 * with <normalize>, as os.path.abspath() does; without, as the kernel would see it
 * relative to a working folder <base>. */
static const char *wsargs_yaml_path(const char *base, const char *path, bool normalize, char *out)
{
    char joined[WSARGS_YAML_JOINED_MAX];
    size_t n = strlen(base);

    if (path[0] == '/')
        snprintf(joined, sizeof(joined), "%s", path);
    else
        snprintf(joined, sizeof(joined), "%s%s%s", base, n > 0 && base[n - 1] == '/' ? "" : "/",
                 path);
    if (normalize)
        wsargs_yaml_normpath(joined, out);
    else
        memcpy(out, joined, strlen(joined) + 1);
    return out;
}

/* Where websockify looks for a relative --unix-target, --unix-listen or --token-source:
 * its working folder, which it changes to the --web folder at start. */
static const char *wsargs_yaml_run_dir(const struct wsargs *w, char *out)
{
    if (w->web == NULL)
        return w->cwd;
    return wsargs_yaml_path(w->cwd, w->web, true, out);
}

/* "KEY: "<quoted absolute path>"\n" with the indent <ind>. */
static void wsargs_yaml_put_path(struct wsargs_yaml_out *o, const char *ind, const char *key,
                                 const char *base, const char *path, bool normalize,
                                 const char *prefix)
{
    char buf[WSARGS_YAML_JOINED_MAX + 8];
    size_t n = strlen(prefix);

    memcpy(buf, prefix, n);
    wsargs_yaml_path(base, path, normalize, buf + n);
    wsargs_yaml_printf(o, "%s%s: ", ind, key);
    wsargs_yaml_put_quoted(o, buf, strlen(buf));
    wsargs_yaml_puts(o, "\n");
}

static void wsargs_yaml_put_notes(struct wsargs_yaml_out *o, unsigned notes)
{
    static const struct {
        unsigned bit;
        const char *text;
    } rows[] = {
        {WSARGS_NOTE_FILE_ONLY, "# --file-only: no effect: wsbridge never lists folders\n"},
        {WSARGS_NOTE_LEGACY_SYSLOG,
         "# --legacy-syslog: no effect: the local syslog daemon writes the format\n"},
        {WSARGS_NOTE_CAFILE, "# --cafile: unused without --verify-client, as in websockify\n"},
        {WSARGS_NOTE_SSL_TARGET_UNIX,
         "# --ssl-target: unused with --unix-target, as in websockify\n"},
        {WSARGS_NOTE_PREFER_IPV6, "# -6: no effect with a source address or Unix socket given\n"},
        {WSARGS_NOTE_NO_TLS,
         "# --ssl-ciphers, --ssl-version: unused without a certificate, as in websockify\n"},
        {WSARGS_NOTE_WRAP_MODE, "# --wrap-mode: unused without a command to wrap\n"},
        {WSARGS_NOTE_UNIX_MODE,
         "# --unix-listen-mode: unused without --unix-listen, as in websockify\n"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (notes & rows[i].bit)
            wsargs_yaml_puts(o, rows[i].text);
}

static void wsargs_yaml_put_listen(struct wsargs_yaml_out *o, const struct wsargs *w, char *dir)
{
    char addr[ADDR_HOST_MAX + 32];

    wsargs_yaml_puts(o, "listen:\n");
    if (w->unix_listen == NULL)
        addr_format(&w->listen, addr, sizeof(addr));
    if (w->unix_listen == NULL && w->cert == NULL) {
        wsargs_yaml_puts(o, "  - ");
        wsargs_yaml_put_quoted(o, addr, strlen(addr));
        wsargs_yaml_puts(o, "\n");
        return;
    }
    if (w->unix_listen != NULL) {
        wsargs_yaml_put_path(o, "  - ", "address", wsargs_yaml_run_dir(w, dir), w->unix_listen,
                             false, "unix:");
        wsargs_yaml_printf(o, "    mode: \"0%03o\"\n", w->unix_listen_mode);
    } else {
        wsargs_yaml_puts(o, "  - address: ");
        wsargs_yaml_put_quoted(o, addr, strlen(addr));
        wsargs_yaml_puts(o, "\n");
    }
    if (w->cert == NULL)
        return;
    wsargs_yaml_puts(o, "    tls:\n");
    wsargs_yaml_put_path(o, "      ", "cert", w->cwd, w->cert, true, "");
    /* websockify: load_cert_chain(keyfile=None) reads the key from the cert file */
    wsargs_yaml_put_path(o, "      ", "key", w->cwd, w->key != NULL ? w->key : w->cert, true, "");
    if (!w->ssl_only)
        wsargs_yaml_puts(o, "      plain: allow\n");
    if (w->verify_client)
        wsargs_yaml_puts(o, "      verify_client: true\n");
    if (w->cafile != NULL)
        wsargs_yaml_put_path(o, "      ", "ca", w->cwd, w->cafile, true, "");
    if (w->min_version != 0)
        wsargs_yaml_printf(o, "      min_version: \"1.%u\"\n", w->min_version - 10);
    if (w->ciphers != NULL) {
        wsargs_yaml_puts(o, "      ciphers: ");
        wsargs_yaml_put_quoted(o, w->ciphers, strlen(w->ciphers));
        wsargs_yaml_puts(o, "\n");
    }
}

static void wsargs_yaml_put_log(struct wsargs_yaml_out *o, const struct wsargs *w)
{
    if (w->log_file == NULL && !w->syslog && !w->verbose && !w->traffic)
        return;
    wsargs_yaml_puts(o, "log:\n");
    if (w->log_file != NULL) {
        wsargs_yaml_puts(o, "  target: file\n");
        wsargs_yaml_put_path(o, "  ", "file", w->cwd, w->log_file, true, "");
    } else if (w->syslog) {
        wsargs_yaml_puts(o, "  target: syslog\n");
    }
    if (w->verbose || w->traffic)
        wsargs_yaml_puts(o, "  level: debug\n");
    if (w->traffic)
        wsargs_yaml_puts(o, "  traffic: true\n");
}

static void wsargs_yaml_put_route(struct wsargs_yaml_out *o, const struct wsargs *w, char *dir)
{
    char addr[ADDR_HOST_MAX + 32];
    const char *p, *end;

    /* websockify answers an upgrade on any path */
    wsargs_yaml_puts(o, "routes:\n  - path: \"/*\"\n");
    switch (w->target_kind) {
    case WSARGS_TARGET_ADDR:
        addr_format(&w->target, addr, sizeof(addr));
        wsargs_yaml_puts(o, "    target: ");
        wsargs_yaml_put_quoted(o, addr, strlen(addr));
        wsargs_yaml_puts(o, "\n");
        break;
    case WSARGS_TARGET_UNIX:
        wsargs_yaml_put_path(o, "    ", "target", wsargs_yaml_run_dir(w, dir), w->unix_target,
                             false, "unix:");
        break;
    case WSARGS_TARGET_TOKENS:
        if (w->tokens_from_cwd)
            wsargs_yaml_put_path(o, "    ", "tokens", w->cwd, w->tokens, true, "");
        else
            wsargs_yaml_put_path(o, "    ", "tokens", wsargs_yaml_run_dir(w, dir), w->tokens, false,
                                 "");
        if (w->host_token)
            wsargs_yaml_puts(o, "    token_from: host\n");
        break;
    }
    if (w->origins == NULL)
        return;
    /* ExpectOrigin: source.split(), and a request without Origin is refused */
    wsargs_yaml_puts(o, "    origins:\n");
    for (p = w->origins; *p != '\0'; p = end) {
        p += strspn(p, " \t\n\r\v\f");
        end = p + strcspn(p, " \t\n\r\v\f");
        if (end == p)
            break;
        wsargs_yaml_puts(o, "      - ");
        wsargs_yaml_put_quoted(o, p, (size_t)(end - p));
        wsargs_yaml_puts(o, "\n");
    }
    wsargs_yaml_puts(o, "    allow_no_origin: false\n");
}

size_t wsargs_yaml_write(const struct wsargs *w, char *out, size_t cap)
{
    struct wsargs_yaml_out o = {out, cap, 0};
    char dir[WSARGS_YAML_JOINED_MAX];

    wsargs_yaml_puts(&o, "# wsbridge route file, from websockify's command line\n");
    wsargs_yaml_put_notes(&o, w->notes);
    wsargs_yaml_put_listen(&o, w, dir);
    if (w->web != NULL)
        wsargs_yaml_put_path(&o, "", "web_root", w->cwd, w->web, true, "");
    if (w->heartbeat_s > 0) {
        /* A ping every N seconds, as websockify. The next ping waits for the pong deadline
         * (heartbeat.c), so a deadline longer than N would space the pings out to it:
         * the deadline is a whole interval, the most that keeps N. (websockify never
         * closes a client for a missing pong; wsbridge closes one that answers nothing,
         * not even data, for N seconds after a ping.) */
        wsargs_yaml_printf(&o, "heartbeat:\n  interval: %us\n  timeout: %us\n", w->heartbeat_s,
                           w->heartbeat_s);
    }
    wsargs_yaml_put_log(&o, w);
    wsargs_yaml_put_route(&o, w, dir);
    return wsargs_yaml_end(&o);
}
