/*
 * jsonmini.h - a small, strict JSON reader (RFC 8259) for short documents such as the
 * header and claims of a JWT: no allocation, values as tokens in a caller array, strings
 * decoded on demand. Anything RFC 8259 does not allow is refused (trailing commas,
 * comments, single quotes, bad escapes, lone surrogates, invalid UTF-8, leading zeros,
 * a byte order mark), and so are duplicate object keys and what passes the limits below.
 */
#ifndef WSB_JSONMINI_H
#define WSB_JSONMINI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONMINI_TEXT_MAX 65536  /* bytes of a document */
#define JSONMINI_DEPTH_MAX 32    /* arrays and objects inside one another */
#define JSONMINI_STRING_MAX 4096 /* bytes of a string once decoded (UTF-8) */
#define JSONMINI_NUMBER_MAX 64   /* characters of a number */
#define JSONMINI_NONE SIZE_MAX   /* "no such token" */

enum jsonmini_type {
    JSONMINI_OBJECT = 1, /* members follow as key (STRING) then value, count pairs */
    JSONMINI_ARRAY,      /* elements follow, count of them */
    JSONMINI_STRING,
    JSONMINI_NUMBER,
    JSONMINI_TRUE,
    JSONMINI_FALSE,
    JSONMINI_NULL,
};

/* One value, in document order; a container's contents follow it. */
struct jsonmini_tok {
    enum jsonmini_type type;
    uint32_t start; /* offset of its first byte in the text */
    uint32_t len;   /* bytes of its text (a string with its quotes) */
    uint32_t count; /* OBJECT: members; ARRAY: elements; else 0 */
    uint32_t end;   /* index of the first token after this value and all inside it */
};

struct jsonmini {
    const char *text;          /* the document (not copied: keep it alive) */
    size_t len;                /* its length */
    struct jsonmini_tok *toks; /* the caller's array */
    size_t n;                  /* tokens used; toks[0] is the whole document */
    const char *error;         /* after a refusal: a short static reason */
    size_t error_offset;       /* and the offset of the byte where it was found */
};

/* Reads the <len> bytes at <text> (any bytes, not NUL-terminated) as one JSON value into
 * <j>, using up to <cap> tokens of <toks>. Returns 0, or -1 with j->error and
 * j->error_offset set (more than <cap> values is a refusal too). Never reads outside
 * <text>[0..len), keeps <text> and <toks> by pointer. */
int jsonmini_parse(struct jsonmini *j, const char *text, size_t len, struct jsonmini_tok *toks,
                   size_t cap);

/* The value of member <key> (NUL-terminated, compared with the decoded key byte for byte)
 * of object token <obj>, or JSONMINI_NONE if <obj> is not an object or has no such key. */
size_t jsonmini_get(const struct jsonmini *j, size_t obj, const char *key);

/* Index of the token after value <i> and its contents: the next element or key. */
size_t jsonmini_next(const struct jsonmini *j, size_t i);

/* Decodes string token <i> into <out> (<cap> bytes) as UTF-8, NUL-terminated, and sets
 * *<len> to its length (it may hold NUL bytes from "\u0000": check if that matters).
 * Returns 0, or -1 if <i> is not a string or its text and NUL do not fit in <cap>
 * (JSONMINI_STRING_MAX + 1 always fits). */
int jsonmini_string(const struct jsonmini *j, size_t i, char *out, size_t cap, size_t *len);

/* True if token <i> is a string whose decoded bytes are the <n> bytes at <s>. */
bool jsonmini_string_is(const struct jsonmini *j, size_t i, const char *s, size_t n);

/* Sets *<v> to number token <i> if it is written as an integer (no fraction, no exponent)
 * that fits an int64_t; returns 0, or -1 otherwise (1.0 and 1e3 are not integers here). */
int jsonmini_int64(const struct jsonmini *j, size_t i, int64_t *v);

#endif
