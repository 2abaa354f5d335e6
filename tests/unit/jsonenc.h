/*
 * jsonenc.h - writes what jsonmini.c read back as compact JSON, through its accessors
 * only: objects and arrays from the tokens, strings decoded and escaped again (quote,
 * backslash and control characters; everything else as raw UTF-8), numbers and literals
 * as written. Shared by test_jsonmini.c and fuzz_jsonmini.c: a document read, written and
 * read again must write the same text.
 */
#ifndef WSB_TEST_JSONENC_H
#define WSB_TEST_JSONENC_H

#include <stdio.h>
#include <string.h>

#include "jsonmini.h"

struct jsonenc {
    char *out;
    size_t cap, len; /* len may pass cap: the text needed */
};

static inline void jsonenc_put(struct jsonenc *e, const char *s, size_t n)
{
    if (e->len < e->cap)
        memcpy(e->out + e->len, s, e->len + n <= e->cap ? n : e->cap - e->len);
    e->len += n;
}

static inline void jsonenc_string(struct jsonenc *e, const char *s, size_t n)
{
    jsonenc_put(e, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            jsonenc_put(e, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            jsonenc_put(e, esc, 6);
        } else {
            jsonenc_put(e, (const char *)&c, 1);
        }
    }
    jsonenc_put(e, "\"", 1);
}

/* Writes value <i> of <j>; returns the index after it. */
static inline size_t jsonenc_value(struct jsonenc *e, const struct jsonmini *j, size_t i)
{
    static char buf[JSONMINI_STRING_MAX + 1];
    const struct jsonmini_tok *t = &j->toks[i];
    size_t k, n;

    switch (t->type) {
    case JSONMINI_OBJECT:
    case JSONMINI_ARRAY:
        jsonenc_put(e, t->type == JSONMINI_OBJECT ? "{" : "[", 1);
        k = i + 1;
        for (size_t m = 0; m < t->count; m++) {
            if (m > 0)
                jsonenc_put(e, ",", 1);
            if (t->type == JSONMINI_OBJECT) {
                k = jsonenc_value(e, j, k);
                jsonenc_put(e, ":", 1);
            }
            k = jsonenc_value(e, j, k);
        }
        jsonenc_put(e, t->type == JSONMINI_OBJECT ? "}" : "]", 1);
        return k;
    case JSONMINI_STRING:
        if (jsonmini_string(j, i, buf, sizeof(buf), &n) != 0)
            return i + 1;
        jsonenc_string(e, buf, n);
        return i + 1;
    default:
        jsonenc_put(e, j->text + t->start, t->len);
        return i + 1;
    }
}

/* Writes the whole document of <j> into <out> (<cap> bytes, NUL-terminated when it fits);
 * returns the length needed. */
static inline size_t jsonenc_write(const struct jsonmini *j, char *out, size_t cap)
{
    struct jsonenc e = {.out = out, .cap = cap, .len = 0};

    jsonenc_value(&e, j, 0);
    if (e.len < cap)
        out[e.len] = '\0';
    return e.len;
}

#endif
