/*
 * mime.c - extension to Content-Type, no I/O: a mime.types(5) parser into a sorted
 * table, a built-in fallback for the types a web page needs, and the charset rule.
 * Reading /etc/mime.types is static.c's job; this file only sees its bytes.
 */
#include "mime.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_EXT_MAX 31   /* longest extension kept ("sarif-external-properties.json") */
#define MIME_TYPE_MAX 127 /* longest media type kept, before the charset parameter */
#define MIME_CHARSET "; charset=utf-8"

struct mime_entry {
    char *ext;        /* lower case, NUL-terminated; the type follows it in the same block */
    const char *type; /* Content-Type value, charset included where due */
    size_t seq;       /* order of appearance: the first line naming an extension wins */
};

struct mime_table {
    struct mime_entry *entries; /* sorted by ext, one per extension after mime_table_parse */
    size_t n, cap;              /* entries used / allocated */
    size_t next_seq;            /* seq of the next entry added */
};

/* Sorted by extension (bsearch); a unit test checks the order. */
static const struct mime_builtin {
    const char *ext;
    const char *type;
} mime_builtins[] = {
    {"css", "text/css" MIME_CHARSET},
    {"gif", "image/gif"},
    {"htm", "text/html" MIME_CHARSET},
    {"html", "text/html" MIME_CHARSET},
    {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript" MIME_CHARSET},
    {"json", "application/json" MIME_CHARSET},
    {"map", "application/json" MIME_CHARSET},
    {"mjs", "text/javascript" MIME_CHARSET},
    {"mp4", "video/mp4"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"txt", "text/plain" MIME_CHARSET},
    {"wasm", "application/wasm"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json" MIME_CHARSET},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xml", "application/xml"},
};

#define MIME_N_BUILTINS (sizeof(mime_builtins) / sizeof(mime_builtins[0]))

/* Returns a new empty table, or NULL if memory ran out. */
struct mime_table *mime_table_new(void)
{
    return calloc(1, sizeof(struct mime_table));
}

/* Frees <t> and every entry; NULL is fine. */
void mime_table_free(struct mime_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->entries[i].ext);
    free(t->entries);
    free(t);
}

/* Number of extensions in <t> (0 for NULL). */
size_t mime_table_count(const struct mime_table *t)
{
    return t != NULL ? t->n : 0;
}

/* True if media type <type> (<len> bytes) is text a browser should decode as UTF-8:
 * text/ *, JavaScript and JSON, including +json types. XML types are left alone: an XML
 * document declares its own encoding, and a charset parameter would override it. */
static bool mime_wants_charset(const char *type, size_t len)
{
    static const char *const exact[] = {"application/javascript", "application/json",
                                        "application/ecmascript"};
    static const char text[] = "text/", json[] = "+json";

    if (len >= strlen(text) && strncasecmp(type, text, strlen(text)) == 0)
        return true;
    if (len >= strlen(json) && strncasecmp(type + len - strlen(json), json, strlen(json)) == 0)
        return true;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strlen(exact[i]) == len && strncasecmp(type, exact[i], len) == 0)
            return true;
    return false;
}

static bool mime_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* True if the <len> bytes at <s> are a media type: restricted names (RFC 6838 §4.2)
 * around exactly one '/'. */
static bool mime_is_type(const char *s, size_t len)
{
    size_t slash = 0, n_slash = 0;

    if (len == 0 || len > MIME_TYPE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '/') {
            slash = i;
            n_slash++;
        } else if (!mime_is_alnum(s[i]) && strchr("!#$&-^_.+", s[i]) == NULL) {
            return false;
        }
    }
    return n_slash == 1 && slash > 0 && slash + 1 < len;
}

/* True if the <len> bytes at <s> can be an extension. */
static bool mime_is_ext(const char *s, size_t len)
{
    if (len == 0 || len > MIME_EXT_MAX || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!mime_is_alnum(s[i]) && strchr("-_.+~!", s[i]) == NULL)
            return false;
    return true;
}

/* Appends extension <ext> (<ext_len> bytes) with <type> (<type_len> bytes) to <t>,
 * unsorted. Returns 0, or -1 if memory ran out. */
static int mime_add(struct mime_table *t, const char *ext, size_t ext_len, const char *type,
                    size_t type_len)
{
    bool charset = mime_wants_charset(type, type_len);
    size_t size = ext_len + 1 + type_len + (charset ? strlen(MIME_CHARSET) : 0) + 1;
    struct mime_entry *e;
    char *block, *p;

    if (t->n == t->cap) {
        size_t cap = t->cap > 0 ? t->cap * 2 : 256;
        struct mime_entry *grown = realloc(t->entries, cap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        t->entries = grown;
        t->cap = cap;
    }
    block = malloc(size);
    if (block == NULL)
        return -1;
    for (size_t i = 0; i < ext_len; i++)
        block[i] = (ext[i] >= 'A' && ext[i] <= 'Z') ? (char)(ext[i] - 'A' + 'a') : ext[i];
    block[ext_len] = '\0';
    p = block + ext_len + 1;
    memcpy(p, type, type_len);
    p[type_len] = '\0';
    if (charset)
        strcat(p, MIME_CHARSET);
    e = &t->entries[t->n++];
    e->ext = block;
    e->type = p;
    e->seq = t->next_seq++;
    return 0;
}

static int mime_entry_cmp(const void *a, const void *b)
{
    const struct mime_entry *x = a, *y = b;
    int c = strcmp(x->ext, y->ext);

    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts <t> by extension and keeps the first entry of each. */
static void mime_sort(struct mime_table *t)
{
    size_t kept = 0;

    if (t->n == 0)
        return; /* entries may be NULL, which qsort must not be given */
    qsort(t->entries, t->n, sizeof(*t->entries), mime_entry_cmp);
    for (size_t i = 0; i < t->n; i++) {
        if (kept > 0 && strcmp(t->entries[kept - 1].ext, t->entries[i].ext) == 0) {
            free(t->entries[i].ext);
            continue;
        }
        t->entries[kept++] = t->entries[i];
    }
    t->n = kept;
}

static bool mime_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Adds the types of one line (<len> bytes at <line>, no LF) to <t>. Returns 0 or -1. */
static int mime_parse_line(struct mime_table *t, const char *line, size_t len)
{
    const char *type = NULL;
    size_t type_len = 0, i = 0;

    while (i < len) {
        size_t start, tok_len;

        while (i < len && mime_is_space(line[i]))
            i++;
        if (i == len || line[i] == '#')
            break;
        start = i;
        while (i < len && !mime_is_space(line[i]) && line[i] != '#')
            i++;
        tok_len = i - start;
        if (type == NULL) {
            if (!mime_is_type(line + start, tok_len))
                return 0; /* not a type line: skip it whole */
            type = line + start;
            type_len = tok_len;
        } else if (mime_is_ext(line + start, tok_len) &&
                   mime_add(t, line + start, tok_len, type, type_len) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Adds the types of <len> bytes of mime.types text at <text> to <t>, as mime.h
 * describes. Returns 0, or -1 if memory ran out (what was added stays, sorted). */
int mime_table_parse(struct mime_table *t, const char *text, size_t len)
{
    size_t i = 0;
    int r = 0;

    while (i < len && r == 0) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;

        r = mime_parse_line(t, text + i, end - i);
        i = end + 1;
    }
    /* Sorted even after a failure, so the table stays usable. */
    mime_sort(t);
    return r;
}

static int mime_key_cmp_entry(const void *key, const void *elem)
{
    return strcasecmp(key, ((const struct mime_entry *)elem)->ext);
}

static int mime_key_cmp_builtin(const void *key, const void *elem)
{
    return strcasecmp(key, ((const struct mime_builtin *)elem)->ext);
}

/* Type for extension <ext> (no dot) in <t>, then in the built-in table, or NULL. */
static const char *mime_find(const struct mime_table *t, const char *ext)
{
    const struct mime_entry *e = NULL;
    const struct mime_builtin *b;

    if (t != NULL && t->n > 0)
        e = bsearch(ext, t->entries, t->n, sizeof(*t->entries), mime_key_cmp_entry);
    if (e != NULL)
        return e->type;
    b = bsearch(ext, mime_builtins, MIME_N_BUILTINS, sizeof(mime_builtins[0]),
                mime_key_cmp_builtin);
    return b != NULL ? b->type : NULL;
}

/* Content-Type for file <name> from <t> (may be NULL) or the built-in table, as mime.h
 * describes; MIME_DEFAULT_TYPE when nothing matches, never NULL. */
const char *mime_lookup(const struct mime_table *t, const char *name)
{
    const char *base, *slash, *type;

    if (name == NULL)
        return MIME_DEFAULT_TYPE;
    slash = strrchr(name, '/');
    base = slash != NULL ? slash + 1 : name;
    /* Every dot after the first byte starts a candidate, longest first; a leading dot
     * makes a hidden name, not an extension. */
    for (const char *dot = strchr(base + (base[0] != '\0'), '.'); dot != NULL;
         dot = strchr(dot + 1, '.')) {
        if (dot[1] == '\0' || strlen(dot + 1) > MIME_EXT_MAX)
            continue;
        type = mime_find(t, dot + 1);
        if (type != NULL)
            return type;
    }
    return MIME_DEFAULT_TYPE;
}
