/*
 * config_value.c - the plain value types of the route file, no I/O: durations and sizes
 * (units.c) within a key's bounds, counts, booleans, strings, file and folder names
 * (joined to the file's folder, $CREDENTIALS_DIRECTORY expanded), Unix socket paths (joined
 * the same way), file modes, and lists of strings.
 * Each setter stores at its key's offset; which key is which is config.c's table.
 */
#include "config-internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "units.h"

/* Durations and sizes: parses, checks the bounds of <k>, stores into <obj>. */
int config_value_number(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        void *obj)
{
    bool is_ms = k->type == CONFIG_T_DURATION;
    enum units_kind kind = is_ms ? UNITS_DURATION_MS : UNITS_SIZE_BYTES;
    const char *noun = is_ms ? "duration" : "size";
    uint64_t type_max = is_ms ? UINT_MAX : UINT64_MAX;
    char q[QUOTE_BUF], label[64], lo[32], hi[32];
    uint64_t n = 0;

    if (!config_want_scalar(x, k, v, is_ms ? "a duration, like 30s" : "a size, like 64KiB"))
        return -1;
    quote_text(v->text, SIZE_MAX, q);
    switch (units_parse(kind, v->text, type_max, &n)) {
    case UNITS_OK:
        break;
    case UNITS_SYNTAX:
        return config_fail(x, v, "bad %s \"%s\": expected a number and %s", noun, q,
                           is_ms ? "a unit, like 30s" : "an optional unit, like 64KiB");
    case UNITS_UNIT:
        return config_fail(x, v, "bad %s \"%s\": unknown unit \"%s\" (use %s)", noun, q,
                           q + strspn(q, "0123456789"),
                           is_ms ? "ms, s, m or h" : "B, KiB, MiB, GiB, KB, MB or GB");
    case UNITS_NO_UNIT:
        return config_fail(x, v, "duration \"%s\" needs a unit: ms, s, m or h", q);
    case UNITS_RANGE:
        if (!is_ms)
            return config_fail(x, v, "bad size \"%s\": too large", q);
        return config_fail(x, v, "bad duration \"%s\": too large (at most %ums, about 49 days)", q,
                           UINT_MAX);
    }
    config_key_label(k, label, sizeof(label));
    units_format(kind, k->min, lo, sizeof(lo));
    units_format(kind, k->max, hi, sizeof(hi));
    if ((n < k->min || n > k->max) && k->max != type_max)
        return config_fail(x, v, "\"%s\" must be between %s and %s", label, lo, hi);
    if (n < k->min && k->min == 1)
        return config_fail(x, v, "\"%s\" must be more than 0", label);
    if (n < k->min)
        return config_fail(x, v, "\"%s\" must be at least %s", label, lo);
    if (is_ms)
        *(unsigned *)((char *)obj + k->offset) = (unsigned)n;
    else
        *(uint64_t *)((char *)obj + k->offset) = n;
    return 0;
}

/* A whole number without a unit (connection counts), within <k>'s bounds. */
int config_value_count(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                       void *obj)
{
    char q[QUOTE_BUF], label[64];
    uint64_t n = 0;

    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, "a whole number, like 100"))
        return -1;
    switch (units_parse(UNITS_COUNT, v->text, UINT_MAX, &n)) {
    case UNITS_OK:
        break;
    case UNITS_RANGE:
        return config_fail(x, v, "\"%s\" is too large: at most %u", label, UINT_MAX);
    default:
        /* A count whose bounds exclude 0 is not a limit (per_ip_prefix_v6). */
        return config_fail(x, v, "\"%s\" must be a whole number%s, not \"%s\"", label,
                           k->min == 0 ? " (0: no limit)" : "", quote_text(v->text, SIZE_MAX, q));
    }
    if (n < k->min || n > k->max)
        return config_fail(x, v, "\"%s\" must be between %llu and %llu", label,
                           (unsigned long long)k->min, (unsigned long long)k->max);
    *(unsigned *)((char *)obj + k->offset) = (unsigned)n;
    return 0;
}

/* YAML 1.2 core schema booleans only: "yes" and "on" are too easy to mean something else. */
int config_value_bool(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      void *obj)
{
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};
    char q[QUOTE_BUF], label[64];
    bool *field = (bool *)((char *)obj + k->offset);

    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, "true or false"))
        return -1;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(v->text, yes[i]) == 0 || strcmp(v->text, no[i]) == 0) {
            *field = strcmp(v->text, yes[i]) == 0;
            return 0;
        }
    }
    return config_fail(x, v, "\"%s\" must be true or false, not \"%s\"", label,
                       quote_text(v->text, SIZE_MAX, q));
}

/* Any non-empty text, copied. */
int config_value_string(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                        void *obj)
{
    char label[64];
    char **field = (char **)((char *)obj + k->offset);

    if (!config_want_scalar(x, k, v, "a string"))
        return -1;
    if (v->text[0] == '\0')
        return config_fail(x, v, "\"%s\" must not be empty",
                           config_key_label(k, label, sizeof(label)));
    *field = strdup(v->text);
    return *field == NULL ? config_oom(x) : 0;
}

/* Joins relative <path> to the config file's folder, so the daemon finds its files
 * whatever its working directory; nothing is checked on disk here (no I/O). Returns a
 * new string, or NULL when memory ran out. */
static char *config_value_path_join(const struct config_ctx *x, const char *path)
{
    const char *slash = strrchr(x->name, '/');
    size_t dir_len = slash == NULL ? 0 : (size_t)(slash - x->name);
    size_t len = dir_len + 1 + strlen(path) + 1;
    char *out;

    if (path[0] == '/' || slash == NULL)
        return strdup(path);
    if ((out = malloc(len)) != NULL)
        snprintf(out, len, "%.*s/%s", (int)dir_len, x->name, path);
    return out;
}

/* A relative Unix socket path joined like a file name: see config-internal.h. */
int config_value_unix_path(struct config_ctx *x, const struct yamlnode *v, struct addr *a)
{
    char q[QUOTE_BUF];
    char *joined;
    size_t len;

    if (a->kind != ADDR_UNIX || a->host[0] == '/')
        return 0;
    if ((joined = config_value_path_join(x, a->host)) == NULL)
        return config_oom(x);
    len = strlen(joined);
    if (len > ADDR_UNIX_PATH_MAX) {
        config_fail(x, v,
                    "bad address \"%s\": Unix socket path longer than %zu bytes once joined "
                    "to the folder of %s",
                    quote_text(v->text, SIZE_MAX, q), (size_t)ADDR_UNIX_PATH_MAX, x->name);
        free(joined);
        return -1;
    }
    memcpy(a->host, joined, len + 1);
    free(joined);
    return 0;
}

/* A file mode as "chmod" takes it: 3 or 4 octal digits ("0660", "660"). A fourth digit
 * must be 0: setuid, setgid and sticky mean nothing on a socket, and a typo there would
 * go unnoticed. */
int config_value_mode(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      void *obj)
{
    const char *t = v->text;
    unsigned mode = 0;
    char q[QUOTE_BUF], label[64];
    size_t len;

    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, "an octal file mode, like \"0660\""))
        return -1;
    len = strlen(t);
    if ((len != 3 && len != 4) || strspn(t, "01234567") != len)
        return config_fail(x, v, "\"%s\" must be 3 or 4 octal digits, like \"0660\", not \"%s\"",
                           label, quote_text(t, SIZE_MAX, q));
    if (len == 4 && t[0] != '0')
        return config_fail(x, v,
                           "\"%s\" \"%s\": only the permission bits apply to a socket "
                           "(0000 to 0777)",
                           label, quote_text(t, SIZE_MAX, q));
    for (size_t i = 0; i < len; i++)
        mode = mode * 8 + (unsigned)(t[i] - '0');
    *(unsigned *)((char *)obj + k->offset) = mode;
    return 0;
}

/* A folder (web_root): joined like a file name, never expanded. */
int config_value_dir(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                     void *obj)
{
    char **field = (char **)((char *)obj + k->offset);

    if (!config_want_scalar(x, k, v, "a string (a folder)"))
        return -1;
    if (v->text[0] == '\0')
        return config_fail(x, v, "\"%s\" must not be empty", k->name);
    *field = config_value_path_join(x, v->text);
    return *field == NULL ? config_oom(x) : 0;
}

/* Length of the "$CREDENTIALS_DIRECTORY" or "${CREDENTIALS_DIRECTORY}" that <s> starts
 * with, if a '/' or the end follows it; else 0. */
static size_t config_value_credentials_prefix(const char *s)
{
    static const char bare[] = "$" CONFIG_CREDENTIALS_VAR,
                      braced[] = "${" CONFIG_CREDENTIALS_VAR "}";
    const size_t bare_len = sizeof(bare) - 1, braced_len = sizeof(braced) - 1;

    if (strncmp(s, bare, bare_len) == 0 && (s[bare_len] == '/' || s[bare_len] == '\0'))
        return bare_len;
    if (strncmp(s, braced, braced_len) == 0 && (s[braced_len] == '/' || s[braced_len] == '\0'))
        return braced_len;
    return 0;
}

/* File names (certificates, keys, CAs, auth files): a leading $CREDENTIALS_DIRECTORY
 * replaced by its value, then joined like web_root; stored at <k>'s offset. */
int config_value_file(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                      void *obj)
{
    char label[64], q[QUOTE_BUF];
    char **field = (char **)((char *)obj + k->offset);
    const char *name = v->text;
    char *expanded = NULL;
    size_t skip;

    if (!config_want_scalar(x, k, v, "a file name"))
        return -1;
    config_key_label(k, label, sizeof(label));
    if (name[0] == '\0')
        return config_fail(x, v, "\"%s\" must not be empty", label);
    if (name[0] == '$') {
        skip = config_value_credentials_prefix(name);
        if (skip == 0)
            return config_fail(x, v,
                               "\"%s\": only $" CONFIG_CREDENTIALS_VAR " is expanded in a file "
                               "name, not \"%s\"",
                               label, quote_text(name, SIZE_MAX, q));
        if (x->credentials_dir == NULL || x->credentials_dir[0] == '\0')
            return config_fail(x, v,
                               "\"%s\" names $" CONFIG_CREDENTIALS_VAR ", which is not set "
                               "(systemd sets it for a unit with LoadCredential=)",
                               label);
        if (asprintf(&expanded, "%s%s", x->credentials_dir, name + skip) < 0)
            return config_oom(x);
        name = expanded;
    }
    *field = config_value_path_join(x, name);
    free(expanded);
    return *field == NULL ? config_oom(x) : 0;
}

/* A string or a list of strings, as one array of nodes: see config-internal.h. */
int config_value_list(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                      struct yamlnode **one, struct yamlnode ***items, size_t *n, size_t max,
                      const char *what)
{
    *one = v;
    *items = one;
    *n = 1;
    if (v->kind == YAMLNODE_SEQUENCE) {
        *items = v->items;
        *n = v->n;
    } else if (v->kind != YAMLNODE_SCALAR) {
        return config_fail(x, v, "\"%s\" must be %s", k->name, what);
    }
    if (*n == 0)
        return config_fail(x, v, "\"%s\" must not be an empty list", k->name);
    if (*n > max)
        return config_fail(x, v, "\"%s\" has more than %zu entries", k->name, max);
    for (size_t i = 0; i < *n; i++) {
        if ((*items)[i]->kind != YAMLNODE_SCALAR || (*items)[i]->is_null)
            return config_fail(x, (*items)[i], "\"%s\" must be %s", k->name, what);
    }
    return 0;
}
