/*
 * yamlnode.h - one YAML document (libyaml's event API) as a small tree of positioned
 * nodes, no I/O: scalars, sequences and mappings, each with its 1-based line and column,
 * so a reader of the tree can place every error at the key or value it is about. What
 * the keys mean is the reader's (config.c); this file knows only YAML.
 */
#ifndef WSB_YAMLNODE_H
#define WSB_YAMLNODE_H

#include <stdbool.h>
#include <stddef.h>

#define YAMLNODE_DEPTH_MAX 32    /* nesting; the route file needs 4 */
#define YAMLNODE_MESSAGE_MAX 512 /* bytes of an error message, NUL included */

enum yamlnode_kind {
    YAMLNODE_SCALAR = 0, /* text */
    YAMLNODE_SEQUENCE,   /* items */
    YAMLNODE_MAPPING,    /* pairs */
};

struct yamlnode_pair {
    struct yamlnode *key, *value;
};

struct yamlnode {
    enum yamlnode_kind kind;
    unsigned line, column;       /* 1-based start of the node */
    char *text;                  /* scalar: NUL-terminated, holds no other NUL */
    bool is_null;                /* scalar: plain "", "~" or "null", i.e. no value */
    struct yamlnode **items;     /* sequence */
    struct yamlnode_pair *pairs; /* mapping, in file order (duplicates kept) */
    size_t n;                    /* items or pairs */
};

/* Why a document was refused. */
struct yamlnode_error {
    unsigned line, column;              /* 1-based; 0 when there is no place (memory ran out) */
    char message[YAMLNODE_MESSAGE_MAX]; /* "did not find expected key", "YAML aliases ..." */
};

/* Reads the one YAML document in <len> bytes at <text> (any bytes; NULL with 0) into
 * *<root>: NULL for a stream with no document. Anchors and aliases are refused (a small
 * file could name one subtree many times over, "billion laughs"), as are NUL characters
 * in scalars, nesting past YAMLNODE_DEPTH_MAX and a second document. Returns 0, or -1 with
 * *<root> NULL and the place and reason in <err>. Keeps no pointer into <text>. */
int yamlnode_read(const char *text, size_t len, struct yamlnode **root, struct yamlnode_error *err);

/* Frees <n> and every node under it; NULL is fine. */
void yamlnode_free(struct yamlnode *n);

#endif
