/*
 * yamlnode.c - libyaml events to a tree of positioned nodes, no I/O. Reader errors
 * (bad UTF-8, control characters) come from libyaml with a byte offset rather than a
 * mark, so their line and column are counted here from the text. Anchors and aliases
 * are refused outright: nothing in the route file needs them.
 */
#include "yamlnode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* What one read needs besides the libyaml parser. */
struct yamlnode_ctx {
    const char *text;           /* the YAML, to place reader errors */
    size_t len;                 /* bytes at text */
    struct yamlnode_error *err; /* the caller's */
};

static int yamlnode_fail_at(struct yamlnode_ctx *x, unsigned line, unsigned column, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

/* Fills <x>'s error with <line>, <column> and the message; returns -1. */
static int yamlnode_fail_at(struct yamlnode_ctx *x, unsigned line, unsigned column, const char *fmt,
                            ...)
{
    va_list ap;

    x->err->line = line;
    x->err->column = column;
    va_start(ap, fmt);
    vsnprintf(x->err->message, sizeof(x->err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int yamlnode_oom(struct yamlnode_ctx *x)
{
    return yamlnode_fail_at(x, 0, 0, "out of memory");
}

/* Frees <n> and every node under it; NULL is fine. */
void yamlnode_free(struct yamlnode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; n->items != NULL && i < n->n; i++)
        yamlnode_free(n->items[i]);
    for (size_t i = 0; n->pairs != NULL && i < n->n; i++) {
        yamlnode_free(n->pairs[i].key);
        yamlnode_free(n->pairs[i].value);
    }
    free(n->items);
    free(n->pairs);
    free(n->text);
    free(n);
}

/* Reports the error libyaml left in <p>. Reader errors (bad UTF-8, control characters)
 * carry a byte offset instead of a mark, so the position is counted from the text. */
static int yamlnode_fail_yaml(struct yamlnode_ctx *x, const yaml_parser_t *p)
{
    const char *problem = p->problem != NULL ? p->problem : "YAML error";
    unsigned line = (unsigned)p->problem_mark.line + 1;
    unsigned column = (unsigned)p->problem_mark.column + 1;

    if (p->error == YAML_MEMORY_ERROR)
        return yamlnode_oom(x);
    /* libyaml's context names the construct left open, worth saying when it began on an
     * earlier line ("did not find expected ',' or ']'" points past the end of it). */
    if (p->error != YAML_READER_ERROR && p->context != NULL &&
        p->context_mark.line < p->problem_mark.line)
        return yamlnode_fail_at(x, line, column, "%s (%s started at line %u)", problem, p->context,
                                (unsigned)p->context_mark.line + 1);
    if (p->error != YAML_READER_ERROR)
        return yamlnode_fail_at(x, line, column, "%s", problem);
    line = column = 1;
    for (size_t i = 0; i < p->problem_offset && i < x->len; i++) {
        if (x->text[i] == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)x->text[i] & 0xc0) != 0x80) {
            column++;
        }
    }
    if (p->problem_value >= 0)
        return yamlnode_fail_at(x, line, column, "%s (0x%02x)", problem, p->problem_value);
    return yamlnode_fail_at(x, line, column, "%s", problem);
}

static int yamlnode_next(struct yamlnode_ctx *x, yaml_parser_t *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(p, ev))
        return yamlnode_fail_yaml(x, p);
    return 0;
}

/* Reads the node that <ev> starts, and the events up to its end, into *<out> (set even
 * on failure, so the caller frees what was built). Always deletes <ev>. */
static int yamlnode_read_node(struct yamlnode_ctx *x, yaml_parser_t *p, yaml_event_t *ev,
                              unsigned depth, struct yamlnode **out)
{
    struct yamlnode *n = calloc(1, sizeof(*n));
    yaml_event_type_t end =
        ev->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
    const yaml_char_t *anchor = NULL;
    size_t cap = 0;
    int rc = -1;

    *out = n;
    if (n == NULL) {
        yaml_event_delete(ev);
        return yamlnode_oom(x);
    }
    n->line = (unsigned)ev->start_mark.line + 1;
    n->column = (unsigned)ev->start_mark.column + 1;
    if (ev->type == YAML_SCALAR_EVENT)
        anchor = ev->data.scalar.anchor;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        anchor = ev->data.sequence_start.anchor;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        anchor = ev->data.mapping_start.anchor;

    if (ev->type == YAML_ALIAS_EVENT) {
        rc = yamlnode_fail_at(x, n->line, n->column, "YAML aliases are not supported");
    } else if (anchor != NULL) {
        rc = yamlnode_fail_at(x, n->line, n->column, "YAML anchors are not supported");
    } else if (ev->type == YAML_SCALAR_EVENT) {
        const char *v = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (memchr(v, '\0', len) != NULL) {
            rc = yamlnode_fail_at(x, n->line, n->column, "NUL characters are not allowed");
        } else if ((n->text = strdup(v)) == NULL) {
            rc = yamlnode_oom(x);
        } else {
            n->kind = YAMLNODE_SCALAR;
            n->is_null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                         (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
                          strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
            rc = 0;
        }
    } else if (depth >= YAMLNODE_DEPTH_MAX) {
        rc = yamlnode_fail_at(x, n->line, n->column, "YAML nested more than %d levels deep",
                              YAMLNODE_DEPTH_MAX);
    } else {
        n->kind = end == YAML_SEQUENCE_END_EVENT ? YAMLNODE_SEQUENCE : YAMLNODE_MAPPING;
        rc = 0;
    }
    yaml_event_delete(ev);
    if (rc < 0 || n->kind == YAMLNODE_SCALAR)
        return rc;

    for (;;) {
        struct yamlnode *child;
        if (yamlnode_next(x, p, ev) < 0)
            return -1;
        if (ev->type == end) {
            yaml_event_delete(ev);
            return 0;
        }
        if (n->n == cap) {
            cap = cap == 0 ? 8 : cap * 2;
            void *grown = n->kind == YAMLNODE_SEQUENCE ? realloc(n->items, cap * sizeof(*n->items))
                                                       : realloc(n->pairs, cap * sizeof(*n->pairs));
            if (grown == NULL) {
                yaml_event_delete(ev);
                return yamlnode_oom(x);
            }
            if (n->kind == YAMLNODE_SEQUENCE)
                n->items = grown;
            else
                n->pairs = grown;
        }
        rc = yamlnode_read_node(x, p, ev, depth + 1, &child);
        if (n->kind == YAMLNODE_SEQUENCE) {
            n->items[n->n++] = child;
        } else if (n->n > 0 && n->pairs[n->n - 1].value == NULL) {
            n->pairs[n->n - 1].value = child;
        } else {
            n->pairs[n->n++] = (struct yamlnode_pair){.key = child, .value = NULL};
        }
        if (rc < 0)
            return -1;
    }
}

/* Reads the one document of the stream into *<root>: NULL for an empty stream. On
 * failure *<root> holds what was built, for the caller to free. */
static int yamlnode_read_stream(struct yamlnode_ctx *x, yaml_parser_t *p, struct yamlnode **root)
{
    yaml_event_t ev;

    *root = NULL;
    if (yamlnode_next(x, p, &ev) < 0) /* STREAM-START */
        return -1;
    yaml_event_delete(&ev);
    if (yamlnode_next(x, p, &ev) < 0)
        return -1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if (yamlnode_next(x, p, &ev) < 0 || yamlnode_read_node(x, p, &ev, 0, root) < 0)
        return -1;
    if (yamlnode_next(x, p, &ev) < 0) /* DOCUMENT-END */
        return -1;
    yaml_event_delete(&ev);
    if (yamlnode_next(x, p, &ev) < 0)
        return -1;
    if (ev.type != YAML_STREAM_END_EVENT) {
        unsigned line = (unsigned)ev.start_mark.line + 1,
                 column = (unsigned)ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        return yamlnode_fail_at(x, line, column, "only one YAML document is allowed");
    }
    yaml_event_delete(&ev);
    return 0;
}

/* Reads the one document at <text> into *<root>: see yamlnode.h. */
int yamlnode_read(const char *text, size_t len, struct yamlnode **root, struct yamlnode_error *err)
{
    struct yamlnode_ctx x = {.text = text, .len = text != NULL ? len : 0, .err = err};
    yaml_parser_t parser;
    int rc;

    *root = NULL;
    err->line = err->column = 0;
    err->message[0] = '\0';
    if (!yaml_parser_initialize(&parser))
        return yamlnode_oom(&x);
    yaml_parser_set_input_string(&parser, (const unsigned char *)(x.len > 0 ? text : ""), x.len);
    rc = yamlnode_read_stream(&x, &parser, root);
    yaml_parser_delete(&parser);
    if (rc < 0) {
        yamlnode_free(*root);
        *root = NULL;
    }
    return rc;
}
