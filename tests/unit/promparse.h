/*
 * promparse.h - a strict parser of the Prometheus text format 0.0.4 line grammar, written
 * from the spec for the unit tests of promtext.c and metrics.c: HELP and TYPE lines,
 * sample lines, escapes, one TYPE per family before its samples, families not
 * interleaved, each series once, histogram buckets increasing, cumulative and ending in
 * +Inf equal to _count. test_promtext.c shows it refusing a table of broken texts.
 */
#ifndef WSB_TEST_PROMPARSE_H
#define WSB_TEST_PROMPARSE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "promtext.h"

#define PROMPARSE_NAME_MAX 160
#define PROMPARSE_VALUE_MAX 512
#define PROMPARSE_LABELS_MAX 8
#define PROMPARSE_SAMPLES_MAX 1024
#define PROMPARSE_FAMILIES_MAX 32

struct promparse_label {
    char name[PROMPARSE_NAME_MAX];
    char value[PROMPARSE_VALUE_MAX]; /* unescaped */
};

struct promparse_sample {
    char name[PROMPARSE_NAME_MAX];
    struct promparse_label labels[PROMPARSE_LABELS_MAX];
    size_t n_labels;
    double value;
    size_t family; /* index in promparse.families */
};

struct promparse_family {
    char name[PROMPARSE_NAME_MAX];
    char type[16];
    char help[PROMPARSE_VALUE_MAX]; /* unescaped */
    bool has_help, has_type, closed;
};

struct promparse {
    struct promparse_family families[PROMPARSE_FAMILIES_MAX];
    size_t n_families;
    struct promparse_sample samples[PROMPARSE_SAMPLES_MAX];
    size_t n_samples;
    char error[160];
};

static inline int promparse_fail(struct promparse *p, unsigned line, const char *why)
{
    snprintf(p->error, sizeof(p->error), "line %u: %s", line, why);
    return -1;
}

static inline bool promparse_is_name_char(char ch, bool first, bool colon)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (colon && ch == ':') || (!first && ch >= '0' && ch <= '9');
}

/* Reads a metric (<colon>) or label name at *<s> into <out>; returns its length or 0. */
static inline size_t promparse_name(const char **s, char *out, bool colon)
{
    size_t n = 0;

    while (promparse_is_name_char((*s)[n], n == 0, colon) && n + 1 < PROMPARSE_NAME_MAX) {
        out[n] = (*s)[n];
        n++;
    }
    out[n] = '\0';
    *s += n;
    return n;
}

/* Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
static inline bool promparse_is_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    while (*u != 0) {
        unsigned c = *u, need, min;
        unsigned long cp;
        if (c < 0x80) {
            u++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, min = 0x10000, cp = c & 0x07;
        else
            return false;
        for (unsigned i = 1; i <= need; i++) {
            if ((u[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        u += need + 1;
    }
    return true;
}

/* Unescapes text up to <end> (or the end of the line) from *<s> into <out>; <quoted>:
 * a label value, where \" is an escape and a bare " ends it. */
static inline int promparse_unescape(const char **s, char *out, bool quoted, struct promparse *p,
                                     unsigned line)
{
    size_t n = 0;
    const char *q = *s;

    for (;; q++) {
        char ch = *q;
        if (ch == '\n' || ch == '\0') {
            if (quoted)
                return promparse_fail(p, line, "unterminated label value");
            break;
        }
        if (quoted && ch == '"')
            break;
        if (ch == '\\') {
            q++;
            if (*q == '\\')
                ch = '\\';
            else if (*q == 'n')
                ch = '\n';
            else if (*q == '"' && quoted)
                ch = '"';
            else
                return promparse_fail(p, line, "bad escape");
        }
        if (n + 1 >= PROMPARSE_VALUE_MAX)
            return promparse_fail(p, line, "text too long for the test parser");
        out[n++] = ch;
    }
    out[n] = '\0';
    *s = q;
    if (!promparse_is_utf8(out))
        return promparse_fail(p, line, "text is not UTF-8");
    return 0;
}

/* Go's ParseFloat as the format uses it: decimal or exponent forms, NaN, +Inf, -Inf. */
static inline int promparse_number(const char *s, size_t len, double *v)
{
    char buf[64], *end;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strcmp(buf, "NaN") == 0) {
        *v = NAN;
        return 0;
    }
    if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "-Inf") == 0) {
        *v = buf[0] == '+' ? INFINITY : -INFINITY;
        return 0;
    }
    /* strtod also takes hex, "inf", "nan(...)" and leading spaces: the format does not */
    if (strspn(buf, "0123456789+-.eE") != len)
        return -1;
    *v = strtod(buf, &end);
    return *end == '\0' ? 0 : -1;
}

static inline struct promparse_family *promparse_family_find(struct promparse *p, const char *name)
{
    for (size_t i = 0; i < p->n_families; i++)
        if (strcmp(p->families[i].name, name) == 0)
            return &p->families[i];
    return NULL;
}

static inline struct promparse_family *promparse_family_add(struct promparse *p, const char *name)
{
    struct promparse_family *f = promparse_family_find(p, name);

    if (f != NULL || p->n_families == PROMPARSE_FAMILIES_MAX)
        return f;
    f = &p->families[p->n_families++];
    memset(f, 0, sizeof(*f));
    strcpy(f->name, name);
    return f;
}

/* Family of sample <name>: itself, or a histogram it is the _bucket, _sum or _count of. */
static inline struct promparse_family *promparse_family_of(struct promparse *p, const char *name)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    struct promparse_family *f = promparse_family_find(p, name);
    size_t len = strlen(name);

    if (f != NULL && f->has_type && strcmp(f->type, "histogram") != 0)
        return f;
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        char base[PROMPARSE_NAME_MAX];
        if (len <= sl || strcmp(name + len - sl, suffixes[i]) != 0)
            continue;
        memcpy(base, name, len - sl);
        base[len - sl] = '\0';
        f = promparse_family_find(p, base);
        if (f != NULL && strcmp(f->type, "histogram") == 0)
            return f;
    }
    return NULL;
}

static inline int promparse_comment(struct promparse *p, const char *s, unsigned line)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    char name[PROMPARSE_NAME_MAX];
    bool help = strncmp(s, "# HELP ", 7) == 0;
    struct promparse_family *f;
    const char *t;
    size_t i;

    if (!help && strncmp(s, "# TYPE ", 7) != 0)
        return promparse_fail(p, line, "comment other than HELP or TYPE");
    s += 7;
    if (promparse_name(&s, name, true) == 0 || *s != ' ')
        return promparse_fail(p, line, "bad name in HELP or TYPE");
    s++;
    f = promparse_family_add(p, name);
    if (f == NULL)
        return promparse_fail(p, line, "too many families for the test parser");
    if (help) {
        if (f->has_help)
            return promparse_fail(p, line, "second HELP");
        f->has_help = true;
        return promparse_unescape(&s, f->help, false, p, line);
    }
    if (f->has_type)
        return promparse_fail(p, line, "second TYPE");
    if (f->closed)
        return promparse_fail(p, line, "TYPE after the family's samples");
    for (t = s; *t != '\n'; t++)
        ;
    for (i = 0; i < 5; i++)
        if (strlen(types[i]) == (size_t)(t - s) && strncmp(s, types[i], (size_t)(t - s)) == 0)
            break;
    if (i == 5)
        return promparse_fail(p, line, "unknown type");
    strcpy(f->type, types[i]);
    f->has_type = true;
    return 0;
}

static inline int promparse_sample_line(struct promparse *p, const char *s, unsigned line,
                                        size_t *current)
{
    struct promparse_sample *smp;
    struct promparse_family *f;
    const char *v;

    if (p->n_samples == PROMPARSE_SAMPLES_MAX)
        return promparse_fail(p, line, "too many samples for the test parser");
    smp = &p->samples[p->n_samples];
    memset(smp, 0, sizeof(*smp));
    if (promparse_name(&s, smp->name, true) == 0)
        return promparse_fail(p, line, "bad metric name");
    if (*s == '{') {
        s++;
        while (*s != '}') {
            struct promparse_label *l = &smp->labels[smp->n_labels];
            if (smp->n_labels == PROMPARSE_LABELS_MAX)
                return promparse_fail(p, line, "too many labels for the test parser");
            if (promparse_name(&s, l->name, false) == 0 || strncmp(s, "=\"", 2) != 0)
                return promparse_fail(p, line, "bad label");
            if (strncmp(l->name, "__", 2) == 0)
                return promparse_fail(p, line, "reserved label name");
            for (size_t j = 0; j < smp->n_labels; j++)
                if (strcmp(smp->labels[j].name, l->name) == 0)
                    return promparse_fail(p, line, "label twice");
            s += 2;
            if (promparse_unescape(&s, l->value, true, p, line) < 0)
                return -1;
            s++; /* the closing quote */
            smp->n_labels++;
            if (*s == ',')
                s++;
            else if (*s != '}')
                return promparse_fail(p, line, "expected , or }");
        }
        s++;
    }
    if (*s != ' ')
        return promparse_fail(p, line, "expected one space before the value");
    v = ++s;
    while (*s != '\n' && *s != ' ')
        s++;
    if (*s == ' ' && s > v)
        return promparse_fail(p, line, "timestamp or trailing space (the writer writes none)");
    if (promparse_number(v, (size_t)(s - v), &smp->value) < 0)
        return promparse_fail(p, line, "bad value");
    f = promparse_family_of(p, smp->name);
    if (f == NULL || !f->has_type)
        return promparse_fail(p, line, "sample without a TYPE line before it");
    if (f->closed)
        return promparse_fail(p, line, "family's samples are not together");
    smp->family = (size_t)(f - p->families);
    if (*current != SIZE_MAX && *current != smp->family)
        p->families[*current].closed = true;
    *current = smp->family;
    if (strcmp(f->type, "counter") == 0 && !(smp->value >= 0))
        return promparse_fail(p, line, "counter below zero or NaN");
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct promparse_sample *o = &p->samples[i];
        bool same = strcmp(o->name, smp->name) == 0 && o->n_labels == smp->n_labels;
        for (size_t j = 0; same && j < smp->n_labels; j++) {
            bool found = false;
            for (size_t k = 0; k < o->n_labels; k++)
                found |= strcmp(o->labels[k].name, smp->labels[j].name) == 0 &&
                         strcmp(o->labels[k].value, smp->labels[j].value) == 0;
            same = found;
        }
        if (same)
            return promparse_fail(p, line, "same series twice");
    }
    p->n_samples++;
    return 0;
}

static inline const char *promparse_label(const struct promparse_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

/* True if <a> and <b> have the same labels apart from "le". */
static inline bool promparse_same_series(const struct promparse_sample *a,
                                         const struct promparse_sample *b)
{
    size_t na = 0, nb = 0;

    for (size_t i = 0; i < a->n_labels; i++) {
        const char *v;
        if (strcmp(a->labels[i].name, "le") == 0)
            continue;
        na++;
        v = promparse_label(b, a->labels[i].name);
        if (v == NULL || strcmp(v, a->labels[i].value) != 0)
            return false;
    }
    for (size_t i = 0; i < b->n_labels; i++)
        nb += strcmp(b->labels[i].name, "le") != 0;
    return na == nb;
}

/* Histogram rules: per series, le values increasing and ending at +Inf, counts
 * cumulative, +Inf equal to _count, _sum present. */
static inline int promparse_histograms(struct promparse *p)
{
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct promparse_sample *first = &p->samples[i];
        const struct promparse_family *f = &p->families[first->family];
        size_t nl = strlen(f->name);
        double last_le = -INFINITY, last_count = 0;
        bool seen_first = false, has_sum = false, has_count = false, has_inf = false;
        double count = -1;

        if (strcmp(f->type, "histogram") != 0 || strcmp(first->name + nl, "_bucket") != 0)
            continue;
        for (size_t j = 0; j < i; j++)
            if (p->samples[j].family == first->family &&
                promparse_same_series(&p->samples[j], first))
                seen_first = true;
        if (seen_first)
            continue; /* this series was checked from its first sample */
        for (size_t j = i; j < p->n_samples; j++) {
            const struct promparse_sample *s = &p->samples[j];
            const char *suffix = s->name + nl;
            double le;
            if (s->family != first->family || !promparse_same_series(s, first))
                continue;
            if (strcmp(suffix, "_bucket") == 0) {
                const char *le_text = promparse_label(s, "le");
                if (le_text == NULL || promparse_number(le_text, strlen(le_text), &le) < 0)
                    return promparse_fail(p, 0, "bucket without a numeric le");
                if (has_inf || !(le > last_le))
                    return promparse_fail(p, 0, "le values not increasing");
                if (s->value < last_count || s->value != floor(s->value))
                    return promparse_fail(p, 0, "bucket counts not cumulative");
                has_inf = isinf(le) && le > 0;
                last_le = le;
                last_count = s->value;
            } else if (strcmp(suffix, "_sum") == 0) {
                has_sum = true;
            } else if (strcmp(suffix, "_count") == 0) {
                has_count = true;
                count = s->value;
            }
        }
        if (!has_inf)
            return promparse_fail(p, 0, "histogram without le=\"+Inf\"");
        if (!has_sum || !has_count)
            return promparse_fail(p, 0, "histogram without _sum or _count");
        if (count != last_count)
            return promparse_fail(p, 0, "_count differs from le=\"+Inf\"");
    }
    return 0;
}

/* Parses the exposition <text> (<len> bytes) into <p>; returns 0, or -1 with p->error. */
static inline int promparse_text(const char *text, size_t len, struct promparse *p)
{
    size_t current = SIZE_MAX;
    unsigned line = 0;
    const char *s = text, *end = text + len;

    memset(p, 0, sizeof(*p));
    if (memchr(text, '\0', len) != NULL)
        return promparse_fail(p, 0, "NUL byte");
    if (len > 0 && text[len - 1] != '\n')
        return promparse_fail(p, 0, "last line has no newline");
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        line++;
        if (nl == s)
            return promparse_fail(p, line, "empty line");
        if (s[0] == '#' ? promparse_comment(p, s, line) < 0
                        : promparse_sample_line(p, s, line, &current) < 0)
            return -1;
        s = nl + 1;
    }
    return promparse_histograms(p);
}

/* Parses the text of <b> and fails the test if it is not valid. */
static inline struct promparse *promparse_ok(const struct promtext_buf *b)
{
    struct promparse *p = malloc(sizeof(*p));

    ck_assert_ptr_nonnull(p);
    ck_assert_msg(promparse_text(b->data != NULL ? b->data : "", b->len, p) == 0, "%s in:\n%s",
                  p->error, b->data != NULL ? b->data : "");
    return p;
}

/* Finds the sample <name> whose label <lname> is <lvalue> (NULL: the first <name>). */
static inline const struct promparse_sample *
promparse_find(const struct promparse *p, const char *name, const char *lname, const char *lvalue)
{
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct promparse_sample *s = &p->samples[i];
        const char *v = lname != NULL ? promparse_label(s, lname) : NULL;
        if (strcmp(s->name, name) == 0 && (lname == NULL || (v != NULL && strcmp(v, lvalue) == 0)))
            return s;
    }
    return NULL;
}

#endif
