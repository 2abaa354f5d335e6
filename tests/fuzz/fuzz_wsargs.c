/*
 * fuzz_wsargs.c - libFuzzer driver for wsargs.c and wsargs_yaml.c: any bytes as a
 * command line, split into arguments at NUL bytes.
 *
 * Checked: wsargs_parse() gives 0 or -1; a refusal is one non-empty line that fits its
 * buffer; an accepted command line (unless -h) writes YAML that libyaml reads as one
 * mapping with only the keys wsargs_yaml.h names, a route on "/*", a listen address that
 * addr.c reads back (or an absolute unix: path), a target that addr.c reads back (or an
 * absolute unix: path, or tokens), every path absolute, web_root, cert, key, ca and the
 * log file normalized (no ".", ".." or empty part); the same text cut to any smaller room
 * is a prefix of it. Then the whole input, when it is UTF-8, quoted as a YAML scalar,
 * reads back through libyaml as itself.
 *
 * Input: byte 0 (bit 0: ./self.pem exists; bits 1-2: the working folder, one of four);
 * then the arguments, separated by NUL bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "addr.h"
#include "fuzz.h"
#include "utf8.h"
#include "wsargs.h"
#include "wsargs_yaml.h"

#define FUZZ_WA_ARGS_MAX 32

/* A scalar of the document with the path of keys leading to it ("/listen[]/tls/cert"). */
struct fuzz_wa_pair {
    char path[128];
    char *value;
};

struct fuzz_wa_doc {
    struct fuzz_wa_pair *pairs;
    size_t n;
};

static const char *const fuzz_wa_keys[] = {
    "/listen",
    "/web_root",
    "/heartbeat",
    "/log",
    "/routes",
    "/listen[]/address",
    "/listen[]/mode",
    "/listen[]/tls",
    "/listen[]/tls/cert",
    "/listen[]/tls/key",
    "/listen[]/tls/plain",
    "/listen[]/tls/verify_client",
    "/listen[]/tls/ca",
    "/listen[]/tls/min_version",
    "/listen[]/tls/ciphers",
    "/heartbeat/interval",
    "/heartbeat/timeout",
    "/log/target",
    "/log/file",
    "/log/level",
    "/log/traffic",
    "/routes[]/path",
    "/routes[]/target",
    "/routes[]/tokens",
    "/routes[]/token_from",
    "/routes[]/origins",
    "/routes[]/allow_no_origin",
};

static bool fuzz_wa_known(const char *path)
{
    for (size_t i = 0; i < sizeof(fuzz_wa_keys) / sizeof(fuzz_wa_keys[0]); i++)
        if (strcmp(fuzz_wa_keys[i], path) == 0)
            return true;
    return false;
}

/* Reads the node starting with <first> (taken over) into <d>, under <path>. */
static void fuzz_wa_walk(yaml_parser_t *p, yaml_event_t *first, char *path, struct fuzz_wa_doc *d)
{
    yaml_event_type_t type = first->type;
    size_t len = strlen(path);
    yaml_event_t ev;

    if (type == YAML_SCALAR_EVENT) {
        d->pairs = realloc(d->pairs, (d->n + 1) * sizeof(*d->pairs));
        FUZZ_CHECK(d->pairs != NULL);
        snprintf(d->pairs[d->n].path, sizeof(d->pairs[d->n].path), "%s", path);
        d->pairs[d->n].value =
            strndup((const char *)first->data.scalar.value, first->data.scalar.length);
        FUZZ_CHECK(d->pairs[d->n].value != NULL);
        FUZZ_CHECK(strlen(d->pairs[d->n].value) == first->data.scalar.length);
        d->n++;
        yaml_event_delete(first);
        return;
    }
    FUZZ_CHECK(type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT);
    yaml_event_delete(first);
    if (type == YAML_SEQUENCE_START_EVENT)
        snprintf(path + len, 128 - len, "[]");
    for (;;) {
        FUZZ_CHECK(yaml_parser_parse(p, &ev) == 1);
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (type == YAML_MAPPING_START_EVENT) {
            FUZZ_CHECK(ev.type == YAML_SCALAR_EVENT);
            snprintf(path + len, 128 - len, "/%s", (const char *)ev.data.scalar.value);
            FUZZ_CHECK(fuzz_wa_known(path));
            yaml_event_delete(&ev);
            FUZZ_CHECK(yaml_parser_parse(p, &ev) == 1);
        }
        fuzz_wa_walk(p, &ev, path, d);
        if (type == YAML_MAPPING_START_EVENT)
            path[len] = '\0';
    }
    yaml_event_delete(&ev);
    path[len] = '\0';
}

/* Parses <yaml> into <d>: one document, a mapping. */
static void fuzz_wa_parse(const char *yaml, size_t len, struct fuzz_wa_doc *d)
{
    yaml_parser_t p;
    yaml_event_t ev;
    char path[128] = "";

    FUZZ_CHECK(yaml_parser_initialize(&p) == 1);
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    for (int i = 0; i < 2; i++) {
        if (yaml_parser_parse(&p, &ev) != 1) {
            fprintf(stderr, "libyaml: %s\n%s", p.problem, yaml);
            abort();
        }
        yaml_event_delete(&ev);
    }
    FUZZ_CHECK(yaml_parser_parse(&p, &ev) == 1 && ev.type == YAML_MAPPING_START_EVENT);
    fuzz_wa_walk(&p, &ev, path, d);
    FUZZ_CHECK(yaml_parser_parse(&p, &ev) == 1 && ev.type == YAML_DOCUMENT_END_EVENT);
    yaml_event_delete(&ev);
    yaml_parser_delete(&p);
}

static const char *fuzz_wa_get(const struct fuzz_wa_doc *d, const char *path)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->pairs[i].path, path) == 0)
            return d->pairs[i].value;
    return NULL;
}

/* An absolute path with no ".", ".." or empty part (two leading slashes allowed). */
static void fuzz_wa_check_normal(const char *v)
{
    const char *p = v;

    FUZZ_CHECK(v[0] == '/');
    if (p[1] == '/' && p[2] != '/')
        p++;
    for (p++; *p != '\0';) {
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        FUZZ_CHECK(n > 0 && !(n == 1 && p[0] == '.') && !(n == 2 && p[0] == '.' && p[1] == '.'));
        p = *end == '/' ? end + 1 : end;
        FUZZ_CHECK(!(*end == '/' && *p == '\0')); /* no trailing slash */
    }
}

static void fuzz_wa_check_doc(const struct fuzz_wa_doc *d, const struct wsargs *w)
{
    static const char *const normal[] = {"/web_root", "/listen[]/tls/cert", "/listen[]/tls/key",
                                         "/listen[]/tls/ca", "/log/file"};
    const char *v;
    struct addr a;
    char err[128];

    v = fuzz_wa_get(d, "/routes[]/path");
    FUZZ_CHECK(v != NULL && strcmp(v, "/*") == 0);
    v = fuzz_wa_get(d, "/listen[]");
    if (v == NULL)
        v = fuzz_wa_get(d, "/listen[]/address");
    FUZZ_CHECK(v != NULL);
    if (strncmp(v, "unix:", 5) == 0)
        FUZZ_CHECK(v[5] == '/' && w->unix_listen != NULL);
    else
        FUZZ_CHECK(addr_parse(v, 0, &a, err, sizeof(err)) == 0 && !a.tls);
    v = fuzz_wa_get(d, "/routes[]/target");
    if (v != NULL && strncmp(v, "unix:", 5) == 0)
        FUZZ_CHECK(v[5] == '/' && w->target_kind == WSARGS_TARGET_UNIX);
    else if (v != NULL)
        FUZZ_CHECK(addr_parse(v, 0, &a, err, sizeof(err)) == 0 && a.tls == w->target.tls);
    else
        FUZZ_CHECK(w->target_kind == WSARGS_TARGET_TOKENS &&
                   (v = fuzz_wa_get(d, "/routes[]/tokens")) != NULL && v[0] == '/');
    for (size_t i = 0; i < sizeof(normal) / sizeof(normal[0]); i++)
        if ((v = fuzz_wa_get(d, normal[i])) != NULL)
            fuzz_wa_check_normal(v);
    if (w->web != NULL)
        FUZZ_CHECK(fuzz_wa_get(d, "/web_root") != NULL);
    if (w->origins != NULL)
        for (size_t i = 0; i < d->n; i++)
            if (strcmp(d->pairs[i].path, "/routes[]/origins[]") == 0)
                FUZZ_CHECK(d->pairs[i].value[0] != '\0' &&
                           strpbrk(d->pairs[i].value, " \t\n\r\v\f") == NULL);
}

/* <s> (valid UTF-8), quoted, reads back as itself. */
static void fuzz_wa_quote(const char *s, size_t len)
{
    size_t n = wsargs_yaml_quote(s, len, NULL, 0);
    char *doc = malloc(n + 8);
    yaml_parser_t p;
    yaml_event_t ev;

    FUZZ_CHECK(doc != NULL);
    memcpy(doc, "k: ", 3);
    FUZZ_CHECK(wsargs_yaml_quote(s, len, doc + 3, n + 1) == n);
    memcpy(doc + 3 + n, "\n", 2);
    FUZZ_CHECK(yaml_parser_initialize(&p) == 1);
    yaml_parser_set_input_string(&p, (const unsigned char *)doc, n + 4);
    for (int i = 0; i < 4; i++) {
        if (yaml_parser_parse(&p, &ev) != 1) {
            fprintf(stderr, "libyaml: %s\n%s", p.problem, doc);
            abort();
        }
        yaml_event_delete(&ev);
    }
    FUZZ_CHECK(yaml_parser_parse(&p, &ev) == 1 && ev.type == YAML_SCALAR_EVENT);
    FUZZ_CHECK(ev.data.scalar.length == len && memcmp(ev.data.scalar.value, s, len) == 0);
    yaml_event_delete(&ev);
    yaml_parser_delete(&p);
    free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const cwds[] = {"/home/u", "/", "/a b/\"c\"", "/x/./y/../z"};
    char *argv[FUZZ_WA_ARGS_MAX], *copy, err[WSARGS_ERROR_MAX], *yaml;
    struct wsargs_env env;
    struct fuzz_wa_doc doc = {0};
    struct wsargs w;
    size_t need;
    int argc = 0;

    if (size < 1 || size > 8192)
        return 0;
    env.default_cert_exists = data[0] & 1;
    env.cwd = cwds[(data[0] >> 1) & 3];
    copy = malloc(size); /* the arguments, NUL-terminated in place */
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    for (char *p = copy; p < copy + size - 1 && argc < FUZZ_WA_ARGS_MAX;) {
        argv[argc++] = p;
        p += strlen(p) + 1;
    }

    memset(err, 0, sizeof(err));
    if (wsargs_parse(argc, argv, &env, &w, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err) - 1 + 1);
        FUZZ_CHECK(strchr(err, '\n') == NULL);
    } else if (!w.help) {
        need = wsargs_yaml_write(&w, NULL, 0);
        yaml = malloc(need + 1);
        FUZZ_CHECK(yaml != NULL);
        FUZZ_CHECK(wsargs_yaml_write(&w, yaml, need + 1) == need && strlen(yaml) == need);
        FUZZ_CHECK(utf8_is_valid((const uint8_t *)yaml, need));
        fuzz_wa_parse(yaml, need, &doc);
        fuzz_wa_check_doc(&doc, &w);
        for (size_t cap = 1; cap < need; cap += 1 + cap / 3) {
            char *part = malloc(cap);
            FUZZ_CHECK(part != NULL);
            FUZZ_CHECK(wsargs_yaml_write(&w, part, cap) == need);
            FUZZ_CHECK(strlen(part) == cap - 1 && memcmp(part, yaml, cap - 1) == 0);
            free(part);
        }
        for (size_t i = 0; i < doc.n; i++)
            free(doc.pairs[i].value);
        free(doc.pairs);
        free(yaml);
    }
    free(copy);

    if (utf8_is_valid(data + 1, size - 1))
        fuzz_wa_quote((const char *)data + 1, size - 1);
    return 0;
}
