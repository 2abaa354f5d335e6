/*
 * test_metrics.c - unit tests for metrics.c. Every exposition written is read back by a
 * strict parser of the text format 0.0.4 line grammar written here from the spec (HELP
 * and TYPE lines, sample lines, escapes, one TYPE per family before its samples, families
 * not interleaved, histogram buckets increasing, cumulative and ending in +Inf equal to
 * _count); the parser is itself shown to refuse a table of broken texts.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "metrics.h"

/* The strict parser ------------------------------------------------------------------ */

#define P_NAME_MAX 160
#define P_VALUE_MAX 512
#define P_LABELS_MAX 8
#define P_SAMPLES_MAX 1024
#define P_FAMILIES_MAX 32

struct p_label {
    char name[P_NAME_MAX];
    char value[P_VALUE_MAX]; /* unescaped */
};

struct p_sample {
    char name[P_NAME_MAX];
    struct p_label labels[P_LABELS_MAX];
    size_t n_labels;
    double value;
    size_t family; /* index in parsed.families */
};

struct p_family {
    char name[P_NAME_MAX];
    char type[16];
    char help[P_VALUE_MAX]; /* unescaped */
    bool has_help, has_type, closed;
};

struct parsed {
    struct p_family families[P_FAMILIES_MAX];
    size_t n_families;
    struct p_sample samples[P_SAMPLES_MAX];
    size_t n_samples;
    char error[160];
};

static int p_fail(struct parsed *p, unsigned line, const char *why)
{
    snprintf(p->error, sizeof(p->error), "line %u: %s", line, why);
    return -1;
}

static bool p_is_name_char(char ch, bool first, bool colon)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (colon && ch == ':') || (!first && ch >= '0' && ch <= '9');
}

/* Reads a metric (<colon>) or label name at *<s> into <out>; returns its length or 0. */
static size_t p_name(const char **s, char *out, bool colon)
{
    size_t n = 0;

    while (p_is_name_char((*s)[n], n == 0, colon) && n + 1 < P_NAME_MAX) {
        out[n] = (*s)[n];
        n++;
    }
    out[n] = '\0';
    *s += n;
    return n;
}

/* Well-formed UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
static bool p_is_utf8(const char *s)
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
static int p_unescape(const char **s, char *out, bool quoted, struct parsed *p, unsigned line)
{
    size_t n = 0;
    const char *q = *s;

    for (;; q++) {
        char ch = *q;
        if (ch == '\n' || ch == '\0') {
            if (quoted)
                return p_fail(p, line, "unterminated label value");
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
                return p_fail(p, line, "bad escape");
        }
        if (n + 1 >= P_VALUE_MAX)
            return p_fail(p, line, "text too long for the test parser");
        out[n++] = ch;
    }
    out[n] = '\0';
    *s = q;
    if (!p_is_utf8(out))
        return p_fail(p, line, "text is not UTF-8");
    return 0;
}

/* Go's ParseFloat as the format uses it: decimal or exponent forms, NaN, +Inf, -Inf. */
static int p_number(const char *s, size_t len, double *v)
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

static struct p_family *p_family_find(struct parsed *p, const char *name)
{
    for (size_t i = 0; i < p->n_families; i++)
        if (strcmp(p->families[i].name, name) == 0)
            return &p->families[i];
    return NULL;
}

static struct p_family *p_family_add(struct parsed *p, const char *name)
{
    struct p_family *f = p_family_find(p, name);

    if (f != NULL || p->n_families == P_FAMILIES_MAX)
        return f;
    f = &p->families[p->n_families++];
    memset(f, 0, sizeof(*f));
    strcpy(f->name, name);
    return f;
}

/* Family of sample <name>: itself, or a histogram it is the _bucket, _sum or _count of. */
static struct p_family *p_family_of(struct parsed *p, const char *name)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    struct p_family *f = p_family_find(p, name);
    size_t len = strlen(name);

    if (f != NULL && f->has_type && strcmp(f->type, "histogram") != 0)
        return f;
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        char base[P_NAME_MAX];
        if (len <= sl || strcmp(name + len - sl, suffixes[i]) != 0)
            continue;
        memcpy(base, name, len - sl);
        base[len - sl] = '\0';
        f = p_family_find(p, base);
        if (f != NULL && strcmp(f->type, "histogram") == 0)
            return f;
    }
    return NULL;
}

static int p_comment(struct parsed *p, const char *s, unsigned line)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    char name[P_NAME_MAX];
    bool help = strncmp(s, "# HELP ", 7) == 0;
    struct p_family *f;
    const char *t;
    size_t i;

    if (!help && strncmp(s, "# TYPE ", 7) != 0)
        return p_fail(p, line, "comment other than HELP or TYPE");
    s += 7;
    if (p_name(&s, name, true) == 0 || *s != ' ')
        return p_fail(p, line, "bad name in HELP or TYPE");
    s++;
    f = p_family_add(p, name);
    if (f == NULL)
        return p_fail(p, line, "too many families for the test parser");
    if (help) {
        if (f->has_help)
            return p_fail(p, line, "second HELP");
        f->has_help = true;
        return p_unescape(&s, f->help, false, p, line);
    }
    if (f->has_type)
        return p_fail(p, line, "second TYPE");
    if (f->closed)
        return p_fail(p, line, "TYPE after the family's samples");
    for (t = s; *t != '\n'; t++)
        ;
    for (i = 0; i < 5; i++)
        if (strlen(types[i]) == (size_t)(t - s) && strncmp(s, types[i], (size_t)(t - s)) == 0)
            break;
    if (i == 5)
        return p_fail(p, line, "unknown type");
    strcpy(f->type, types[i]);
    f->has_type = true;
    return 0;
}

static int p_sample_line(struct parsed *p, const char *s, unsigned line, size_t *current)
{
    struct p_sample *smp;
    struct p_family *f;
    const char *v;

    if (p->n_samples == P_SAMPLES_MAX)
        return p_fail(p, line, "too many samples for the test parser");
    smp = &p->samples[p->n_samples];
    memset(smp, 0, sizeof(*smp));
    if (p_name(&s, smp->name, true) == 0)
        return p_fail(p, line, "bad metric name");
    if (*s == '{') {
        s++;
        while (*s != '}') {
            struct p_label *l = &smp->labels[smp->n_labels];
            if (smp->n_labels == P_LABELS_MAX)
                return p_fail(p, line, "too many labels for the test parser");
            if (p_name(&s, l->name, false) == 0 || strncmp(s, "=\"", 2) != 0)
                return p_fail(p, line, "bad label");
            if (strncmp(l->name, "__", 2) == 0)
                return p_fail(p, line, "reserved label name");
            for (size_t j = 0; j < smp->n_labels; j++)
                if (strcmp(smp->labels[j].name, l->name) == 0)
                    return p_fail(p, line, "label twice");
            s += 2;
            if (p_unescape(&s, l->value, true, p, line) < 0)
                return -1;
            s++; /* the closing quote */
            smp->n_labels++;
            if (*s == ',')
                s++;
            else if (*s != '}')
                return p_fail(p, line, "expected , or }");
        }
        s++;
    }
    if (*s != ' ')
        return p_fail(p, line, "expected one space before the value");
    v = ++s;
    while (*s != '\n' && *s != ' ')
        s++;
    if (*s == ' ' && s > v)
        return p_fail(p, line, "timestamp or trailing space (the writer writes none)");
    if (p_number(v, (size_t)(s - v), &smp->value) < 0)
        return p_fail(p, line, "bad value");
    f = p_family_of(p, smp->name);
    if (f == NULL || !f->has_type)
        return p_fail(p, line, "sample without a TYPE line before it");
    if (f->closed)
        return p_fail(p, line, "family's samples are not together");
    smp->family = (size_t)(f - p->families);
    if (*current != SIZE_MAX && *current != smp->family)
        p->families[*current].closed = true;
    *current = smp->family;
    if (strcmp(f->type, "counter") == 0 && !(smp->value >= 0))
        return p_fail(p, line, "counter below zero or NaN");
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct p_sample *o = &p->samples[i];
        bool same = strcmp(o->name, smp->name) == 0 && o->n_labels == smp->n_labels;
        for (size_t j = 0; same && j < smp->n_labels; j++) {
            bool found = false;
            for (size_t k = 0; k < o->n_labels; k++)
                found |= strcmp(o->labels[k].name, smp->labels[j].name) == 0 &&
                         strcmp(o->labels[k].value, smp->labels[j].value) == 0;
            same = found;
        }
        if (same)
            return p_fail(p, line, "same series twice");
    }
    p->n_samples++;
    return 0;
}

static const char *p_label(const struct p_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

/* True if <a> and <b> have the same labels apart from "le". */
static bool p_same_series(const struct p_sample *a, const struct p_sample *b)
{
    size_t na = 0, nb = 0;

    for (size_t i = 0; i < a->n_labels; i++) {
        const char *v;
        if (strcmp(a->labels[i].name, "le") == 0)
            continue;
        na++;
        v = p_label(b, a->labels[i].name);
        if (v == NULL || strcmp(v, a->labels[i].value) != 0)
            return false;
    }
    for (size_t i = 0; i < b->n_labels; i++)
        nb += strcmp(b->labels[i].name, "le") != 0;
    return na == nb;
}

/* Histogram rules: per series, le values increasing and ending at +Inf, counts
 * cumulative, +Inf equal to _count, _sum present. */
static int p_histograms(struct parsed *p)
{
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct p_sample *first = &p->samples[i];
        const struct p_family *f = &p->families[first->family];
        size_t nl = strlen(f->name);
        double last_le = -INFINITY, last_count = 0;
        bool seen_first = false, has_sum = false, has_count = false, has_inf = false;
        double count = -1;

        if (strcmp(f->type, "histogram") != 0 || strcmp(first->name + nl, "_bucket") != 0)
            continue;
        for (size_t j = 0; j < i; j++)
            if (p->samples[j].family == first->family && p_same_series(&p->samples[j], first))
                seen_first = true;
        if (seen_first)
            continue; /* this series was checked from its first sample */
        for (size_t j = i; j < p->n_samples; j++) {
            const struct p_sample *s = &p->samples[j];
            const char *suffix = s->name + nl;
            double le;
            if (s->family != first->family || !p_same_series(s, first))
                continue;
            if (strcmp(suffix, "_bucket") == 0) {
                const char *le_text = p_label(s, "le");
                if (le_text == NULL || p_number(le_text, strlen(le_text), &le) < 0)
                    return p_fail(p, 0, "bucket without a numeric le");
                if (has_inf || !(le > last_le))
                    return p_fail(p, 0, "le values not increasing");
                if (s->value < last_count || s->value != floor(s->value))
                    return p_fail(p, 0, "bucket counts not cumulative");
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
            return p_fail(p, 0, "histogram without le=\"+Inf\"");
        if (!has_sum || !has_count)
            return p_fail(p, 0, "histogram without _sum or _count");
        if (count != last_count)
            return p_fail(p, 0, "_count differs from le=\"+Inf\"");
    }
    return 0;
}

/* Parses the exposition <text> (<len> bytes) into <p>; returns 0, or -1 with p->error. */
static int p_parse(const char *text, size_t len, struct parsed *p)
{
    size_t current = SIZE_MAX;
    unsigned line = 0;
    const char *s = text, *end = text + len;

    memset(p, 0, sizeof(*p));
    if (memchr(text, '\0', len) != NULL)
        return p_fail(p, 0, "NUL byte");
    if (len > 0 && text[len - 1] != '\n')
        return p_fail(p, 0, "last line has no newline");
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        line++;
        if (nl == s)
            return p_fail(p, line, "empty line");
        if (s[0] == '#' ? p_comment(p, s, line) < 0 : p_sample_line(p, s, line, &current) < 0)
            return -1;
        s = nl + 1;
    }
    return p_histograms(p);
}

/* Parses the text of <b> and fails the test if it is not valid. */
static struct parsed *p_parse_ok(const struct metrics_buf *b)
{
    struct parsed *p = malloc(sizeof(*p));

    ck_assert_ptr_nonnull(p);
    ck_assert_msg(p_parse(b->data != NULL ? b->data : "", b->len, p) == 0, "%s in:\n%s", p->error,
                  b->data != NULL ? b->data : "");
    return p;
}

/* The parser refuses what the format forbids --------------------------------------- */

struct parser_bad_case {
    const char *text;
    const char *error;
};

#define T_C "# TYPE c counter\n"
#define T_H "# TYPE h histogram\n"

static const struct parser_bad_case parser_bad_cases[] = {
    {T_C "c 1", "line 0: last line has no newline"},
    {T_C "\nc 1\n", "line 2: empty line"},
    {"# a comment\n", "line 1: comment other than HELP or TYPE"},
    {"# TYPE c counter\n# TYPE c counter\n", "line 2: second TYPE"},
    {"# HELP c a\n# HELP c b\n", "line 2: second HELP"},
    {"# HELP c a\\tb\n", "line 1: bad escape"},
    {"# HELP c a\\\"b\n", "line 1: bad escape"},
    {"# TYPE c counters\n", "line 1: unknown type"},
    {"# TYPE 1c counter\n", "line 1: bad name in HELP or TYPE"},
    {"c 1\n", "line 1: sample without a TYPE line before it"},
    {T_C "c  1\n", "line 2: bad value"},
    {T_C "c 1 1700000000\n", "line 2: timestamp or trailing space (the writer writes none)"},
    {T_C "c 0x10\n", "line 2: bad value"},
    {T_C "c inf\n", "line 2: bad value"},
    {T_C "c one\n", "line 2: bad value"},
    {T_C "c -1\n", "line 2: counter below zero or NaN"},
    {T_C "c{a=\"x} 1\n", "line 2: unterminated label value"},
    {T_C "c{a=\"x\\q\"} 1\n", "line 2: bad escape"},
    {T_C "c{a=\"\xc3\"} 1\n", "line 2: text is not UTF-8"},
    {T_C "c{a=\"\xed\xa0\x80\"} 1\n", "line 2: text is not UTF-8"},
    {T_C "c{a=x} 1\n", "line 2: bad label"},
    {T_C "c{a=\"x\" b=\"y\"} 1\n", "line 2: expected , or }"},
    {T_C "c{a=\"x\",a=\"y\"} 1\n", "line 2: label twice"},
    {T_C "c{__a=\"x\"} 1\n", "line 2: reserved label name"},
    {T_C "c{a:b=\"x\"} 1\n", "line 2: bad label"},
    {T_C "c{a=\"1\"} 1\nc{a=\"1\"} 2\n", "line 3: same series twice"},
    {T_C "c 1\n# TYPE d gauge\nd 1\nc{x=\"y\"} 2\n", "line 5: family's samples are not together"},
    {T_C "c 1\n# TYPE d gauge\nd 1\n# TYPE c counter\n", "line 5: second TYPE"},
    {T_H "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "line 0: histogram without le=\"+Inf\""},
    {T_H "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
     "line 0: bucket counts not cumulative"},
    {T_H "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count "
         "1\n",
     "line 0: le values not increasing"},
    {T_H "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
     "line 0: _count differs from le=\"+Inf\""},
    {T_H "h_bucket{le=\"+Inf\"} 1\nh_count 1\n", "line 0: histogram without _sum or _count"},
    {T_H "h_bucket{le=\"x\"} 1\n", "line 0: bucket without a numeric le"},
    {T_H "h_bucket 1\n", "line 0: bucket without a numeric le"},
    {T_H "h_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\n",
     "line 0: bucket counts not cumulative"},
};

START_TEST(test_metrics_parser_refuses)
{
    const struct parser_bad_case *t = &parser_bad_cases[_i];
    struct parsed *p = malloc(sizeof(*p));

    ck_assert_ptr_nonnull(p);
    ck_assert_msg(p_parse(t->text, strlen(t->text), p) == -1, "accepted: %s", t->text);
    ck_assert_str_eq(p->error, t->error);
    free(p);
}
END_TEST

/* Writer ---------------------------------------------------------------------------- */

struct escape_case {
    const char *value; /* label value, also used as HELP text */
    const char *label_line;
    const char *help_line;
};

static const struct escape_case escape_cases[] = {
    {"plain", "c{v=\"plain\"} 7\n", "# HELP c plain\n"},
    {"", "c{v=\"\"} 7\n", "# HELP c \n"},
    {"a\"b", "c{v=\"a\\\"b\"} 7\n", "# HELP c a\"b\n"},
    {"back\\slash", "c{v=\"back\\\\slash\"} 7\n", "# HELP c back\\\\slash\n"},
    {"new\nline", "c{v=\"new\\nline\"} 7\n", "# HELP c new\\nline\n"},
    {"\\n", "c{v=\"\\\\n\"} 7\n", "# HELP c \\\\n\n"},
    {"\\\"", "c{v=\"\\\\\\\"\"} 7\n", "# HELP c \\\\\"\n"},
    {"\n\n\"\"\\\\", "c{v=\"\\n\\n\\\"\\\"\\\\\\\\\"} 7\n", "# HELP c \\n\\n\"\"\\\\\\\\\n"},
    {"/vnc/*", "c{v=\"/vnc/*\"} 7\n", "# HELP c /vnc/*\n"},
    {"tab\there", "c{v=\"tab\there\"} 7\n", "# HELP c tab\there\n"},
    {"caf\xc3\xa9 \xe2\x82\xac", "c{v=\"caf\xc3\xa9 \xe2\x82\xac\"} 7\n",
     "# HELP c caf\xc3\xa9 \xe2\x82\xac\n"},
    {"a=\"b\",c=\"d\"}", "c{v=\"a=\\\"b\\\",c=\\\"d\\\"}\"} 7\n", "# HELP c a=\"b\",c=\"d\"}\n"},
    {"# TYPE x gauge", "c{v=\"# TYPE x gauge\"} 7\n", "# HELP c # TYPE x gauge\n"},
};

/* Label values and HELP texts are escaped as the spec says, and read back the same. */
START_TEST(test_metrics_escape)
{
    const struct escape_case *t = &escape_cases[_i];
    struct metrics_buf b = {0};
    struct metrics_writer w;
    struct metrics_label l = {"v", t->value};
    struct parsed *p;
    char want[512];

    metrics_writer_init(&w, metrics_buf_append, &b);
    ck_assert_int_eq(metrics_write_family(&w, "c", METRICS_COUNTER, t->value), 0);
    ck_assert_int_eq(metrics_write_counter(&w, &l, 1, 7), 0);
    snprintf(want, sizeof(want), "%s# TYPE c counter\n%s", t->help_line, t->label_line);
    ck_assert_str_eq(b.data, want);
    p = p_parse_ok(&b);
    ck_assert_uint_eq(p->n_samples, 1);
    ck_assert_str_eq(p->samples[0].labels[0].value, t->value);
    ck_assert_str_eq(p->families[0].help, t->value);
    ck_assert(p->samples[0].value == 7);
    free(p);
    metrics_buf_reset(&b);
}
END_TEST

struct number_case {
    double v;
    const char *text;
};

static const struct number_case number_cases[] = {
    {0, "0"},
    {-0.0, "-0"},
    {1, "1"},
    {-2.5, "-2.5"},
    {0.1, "0.1"},
    {0.0005, "0.0005"},
    {0.0001, "0.0001"},
    {0.00001, "1e-05"},
    {2.5, "2.5"},
    {10, "10"},
    {999999, "999999"},
    {1e6, "1e+06"},
    {1234567.5, "1.2345675e+06"},
    {1.0 / 3, "0.3333333333333333"},
    {123456789012.0, "1.23456789012e+11"},
    {9007199254740993.0, "9.007199254740992e+15"},
    {1e-7, "1e-07"},
    {1e21, "1e+21"},
    {DBL_MAX, "1.7976931348623157e+308"},
    {DBL_MIN, "2.2250738585072014e-308"},
    {5e-324, "5e-324"},
    {NAN, "NaN"},
    {INFINITY, "+Inf"},
    {-INFINITY, "-Inf"},
};

/* Numbers are the fewest digits that read back as the same double, laid out as Go does. */
START_TEST(test_metrics_number)
{
    const struct number_case *t = &number_cases[_i];
    char out[METRICS_NUMBER_MAX];
    double back = 0;

    ck_assert_str_eq(metrics_format_number(t->v, out), t->text);
    ck_assert_int_eq(p_number(out, strlen(out), &back), 0);
    ck_assert(isnan(t->v) ? isnan(back) : back == t->v);
}
END_TEST

/* Gauges take doubles and counters exact 64-bit integers. */
START_TEST(test_metrics_values)
{
    struct metrics_buf b = {0};
    struct metrics_writer w;
    struct metrics_label l = {"k", "v"};
    struct parsed *p;

    metrics_writer_init(&w, metrics_buf_append, &b);
    ck_assert_int_eq(metrics_write_family(&w, "big_total", METRICS_COUNTER, NULL), 0);
    ck_assert_int_eq(metrics_write_counter(&w, NULL, 0, UINT64_MAX), 0);
    ck_assert_int_eq(metrics_write_family(&w, "ns:g", METRICS_GAUGE, "A gauge."), 0);
    ck_assert_int_eq(metrics_write_gauge(&w, &l, 1, -0.25), 0);
    ck_assert_int_eq(metrics_write_gauge(&w, NULL, 0, NAN), 0);
    ck_assert_str_eq(b.data, "# TYPE big_total counter\n"
                             "big_total 18446744073709551615\n"
                             "# HELP ns:g A gauge.\n"
                             "# TYPE ns:g gauge\n"
                             "ns:g{k=\"v\"} -0.25\n"
                             "ns:g NaN\n");
    p = p_parse_ok(&b);
    ck_assert_uint_eq(p->n_samples, 3);
    ck_assert(p->samples[0].value == 18446744073709551615.0);
    ck_assert(isnan(p->samples[2].value));
    free(p);
    metrics_buf_reset(&b);
}
END_TEST

enum misuse_call {
    CALL_FAMILY = 0, /* metrics_write_family(name, type) */
    CALL_COUNTER,    /* family "c" counter, then a counter sample */
    CALL_GAUGE,      /* family "c" counter, then a gauge sample */
    CALL_HISTOGRAM,  /* family "h" histogram, then a histogram sample */
    CALL_NO_FAMILY,  /* a counter sample with no family before */
};

struct misuse_case {
    enum misuse_call call;
    const char *name;               /* CALL_FAMILY: the family name */
    int type;                       /* CALL_FAMILY: the type */
    struct metrics_label labels[3]; /* up to the first NULL name... */
    size_t n_labels;
    const char *error;
};

static const struct misuse_case misuse_cases[] = {
    {CALL_FAMILY, "", METRICS_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "1abc", METRICS_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "a-b", METRICS_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "a b", METRICS_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "caf\xc3\xa9", METRICS_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, NULL, METRICS_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "ok", 3, {{0}}, 0, "bad metric type"},
    {CALL_FAMILY, "ok", -1, {{0}}, 0, "bad metric type"},
    {CALL_NO_FAMILY, NULL, 0, {{0}}, 0, "sample before any family"},
    {CALL_GAUGE, NULL, 0, {{0}}, 0, "sample of another type than its family"},
    {CALL_COUNTER, NULL, 0, {{"", "x"}}, 1, "bad label name"},
    {CALL_COUNTER, NULL, 0, {{"1a", "x"}}, 1, "bad label name"},
    {CALL_COUNTER, NULL, 0, {{"a-b", "x"}}, 1, "bad label name"},
    {CALL_COUNTER, NULL, 0, {{"a:b", "x"}}, 1, "bad label name"},
    {CALL_COUNTER, NULL, 0, {{"__name__", "x"}}, 1, "bad label name"},
    {CALL_COUNTER, NULL, 0, {{NULL, "x"}}, 1, "bad label name"},
    {CALL_COUNTER, NULL, 0, {{"a", NULL}}, 1, "label without a value"},
    {CALL_COUNTER, NULL, 0, {{"a", "1"}, {"b", "2"}, {"a", "3"}}, 3, "label given twice"},
    {CALL_HISTOGRAM,
     NULL,
     0,
     {{"route", "/"}, {"le", "1"}},
     2,
     "label \"le\" is the histogram's own"},
};

static const double test_bounds[] = {0.5, 1, 2.5};

/* Misuse is an answer, not a crash: -1, a reason, and nothing written after it. */
START_TEST(test_metrics_misuse)
{
    const struct misuse_case *t = &misuse_cases[_i];
    struct metrics_buf b = {0};
    struct metrics_writer w;
    struct metrics_histogram h;
    size_t len_before;
    int rc = 0;

    ck_assert_int_eq(metrics_histogram_init(&h, test_bounds, 3), 0);
    metrics_writer_init(&w, metrics_buf_append, &b);
    switch (t->call) {
    case CALL_FAMILY:
        rc = metrics_write_family(&w, t->name, (enum metrics_type)t->type, "help");
        break;
    case CALL_COUNTER:
        ck_assert_int_eq(metrics_write_family(&w, "c", METRICS_COUNTER, NULL), 0);
        rc = metrics_write_counter(&w, t->labels, t->n_labels, 1);
        break;
    case CALL_GAUGE:
        ck_assert_int_eq(metrics_write_family(&w, "c", METRICS_COUNTER, NULL), 0);
        rc = metrics_write_gauge(&w, t->labels, t->n_labels, 1);
        break;
    case CALL_HISTOGRAM:
        ck_assert_int_eq(metrics_write_family(&w, "h", METRICS_HISTOGRAM, NULL), 0);
        rc = metrics_write_histogram(&w, t->labels, t->n_labels, &h);
        break;
    case CALL_NO_FAMILY:
        rc = metrics_write_counter(&w, NULL, 0, 1);
        break;
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(w.error);
    ck_assert_str_eq(w.error, t->error);
    /* the text so far is whole lines (checks come before writing), and stays as it is */
    len_before = b.len;
    ck_assert_int_eq(metrics_write_family(&w, "later", METRICS_GAUGE, NULL), -1);
    ck_assert_int_eq(metrics_write_gauge(&w, NULL, 0, 1), -1);
    ck_assert_int_eq(metrics_write_histogram(&w, NULL, 0, &h), -1);
    ck_assert_uint_eq(b.len, len_before);
    ck_assert_str_eq(w.error, t->error);
    metrics_buf_reset(&b);
}
END_TEST

/* Histograms ------------------------------------------------------------------------ */

struct histogram_case {
    double values[8];
    size_t n;
    uint64_t cumulative[4]; /* le 0.5, 1, 2.5, +Inf */
    double sum;
};

static const struct histogram_case histogram_cases[] = {
    {{0}, 0, {0, 0, 0, 0}, 0},
    {{0.5}, 1, {1, 1, 1, 1}, 0.5},
    {{0.5000001}, 1, {0, 1, 1, 1}, 0.5000001},
    {{1, 1, 1}, 3, {0, 3, 3, 3}, 3},
    {{2.5, 3}, 2, {0, 0, 1, 2}, 5.5},
    {{-1, 0, 100}, 3, {2, 2, 2, 3}, 99},
    {{INFINITY}, 1, {0, 0, 0, 1}, INFINITY},
    {{NAN, 0.25}, 2, {1, 1, 1, 1}, 0.25},
    {{0.1, 0.6, 1.2, 2.4, 2.6, 0.2, 1, 9}, 8, {2, 4, 6, 8}, 17.1},
};

/* Bucket counts are cumulative, le is inclusive, +Inf equals _count. */
START_TEST(test_metrics_histogram)
{
    const struct histogram_case *t = &histogram_cases[_i];
    static const char *const les[] = {"0.5", "1", "2.5", "+Inf"};
    struct metrics_histogram h;
    struct metrics_buf b = {0};
    struct metrics_writer w;
    struct metrics_label l = {"route", "/x"};
    struct parsed *p;
    size_t k = 0;

    ck_assert_int_eq(metrics_histogram_init(&h, test_bounds, 3), 0);
    for (size_t i = 0; i < t->n; i++)
        metrics_histogram_observe(&h, t->values[i]);
    metrics_writer_init(&w, metrics_buf_append, &b);
    ck_assert_int_eq(metrics_write_family(&w, "lat_seconds", METRICS_HISTOGRAM, "Latency."), 0);
    ck_assert_int_eq(metrics_write_histogram(&w, &l, 1, &h), 0);
    ck_assert_int_eq(metrics_write_histogram(&w, NULL, 0, &h), 0);
    p = p_parse_ok(&b);
    ck_assert_uint_eq(p->n_samples, 2 * (4 + 2));
    for (int series = 0; series < 2; series++) {
        for (size_t i = 0; i < 4; i++, k++) {
            ck_assert_str_eq(p->samples[k].name, "lat_seconds_bucket");
            ck_assert_str_eq(p_label(&p->samples[k], "le"), les[i]);
            ck_assert_msg(p->samples[k].value == (double)t->cumulative[i], "le %s: %g", les[i],
                          p->samples[k].value);
        }
        ck_assert_str_eq(p->samples[k].name, "lat_seconds_sum");
        ck_assert_msg(fabs(p->samples[k].value - t->sum) < 1e-9 ||
                          (isinf(t->sum) && p->samples[k].value == t->sum),
                      "sum %g", p->samples[k].value);
        k++;
        ck_assert_str_eq(p->samples[k].name, "lat_seconds_count");
        ck_assert(p->samples[k].value == (double)t->cumulative[3]);
        k++;
    }
    ck_assert_str_eq(p_label(&p->samples[0], "route"), "/x");
    ck_assert_ptr_null(p_label(&p->samples[6], "route"));
    free(p);
    metrics_buf_reset(&b);
}
END_TEST

START_TEST(test_metrics_histogram_init)
{
    static const double flat[] = {1, 1}, down[] = {2, 1}, nan_b[] = {1, NAN},
                        inf_b[] = {1, INFINITY};
    double many[METRICS_BUCKETS_MAX + 1];
    struct metrics_histogram h;
    struct metrics_buf b = {0};
    struct metrics_writer w;

    for (size_t i = 0; i <= METRICS_BUCKETS_MAX; i++)
        many[i] = (double)i;
    ck_assert_int_eq(metrics_histogram_init(&h, flat, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, down, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, nan_b, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, inf_b, 2), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, many, 0), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, NULL, 1), -1);
    ck_assert_int_eq(metrics_histogram_init(&h, many, METRICS_BUCKETS_MAX + 1), -1);
    /* a histogram left unusable by a failed init is refused by the writer */
    metrics_writer_init(&w, metrics_buf_append, &b);
    ck_assert_int_eq(metrics_write_family(&w, "h", METRICS_HISTOGRAM, NULL), 0);
    ck_assert_int_eq(metrics_write_histogram(&w, NULL, 0, &h), -1);
    ck_assert_str_eq(w.error, "histogram not initialised");
    ck_assert_int_eq(metrics_histogram_init(&h, many, METRICS_BUCKETS_MAX), 0);
    metrics_histogram_observe(&h, 1e9);
    ck_assert_uint_eq(h.counts[METRICS_BUCKETS_MAX], 1);
    metrics_buf_reset(&b);
}
END_TEST

/* Output ---------------------------------------------------------------------------- */

/* A sink that takes <budget> bytes, then fails; notes calls made after it failed. */
struct failing_sink {
    size_t budget;      /* bytes it takes */
    size_t taken;       /* bytes taken */
    bool failed;        /* it has refused a write */
    size_t calls_after; /* writes asked of it after that */
};

static int failing_sink_write(void *arg, const char *data, size_t len)
{
    struct failing_sink *s = arg;

    (void)data;
    if (s->failed) {
        s->calls_after++;
        return -1;
    }
    if (len > s->budget - s->taken) {
        s->failed = true;
        return -1;
    }
    s->taken += len;
    return 0;
}

static struct metrics *registry_sample(void)
{
    struct metrics *m = metrics_new();
    struct metrics_route *echo, *vnc;

    ck_assert_ptr_nonnull(m);
    echo = metrics_route_get(m, "/echo");
    vnc = metrics_route_get(m, "/vnc/*");
    ck_assert_ptr_nonnull(echo);
    ck_assert_ptr_nonnull(vnc);
    ck_assert_ptr_nonnull(metrics_route_get(m, "/odd\"path\\"));
    echo->connections_total = 12;
    echo->connections_open = 2;
    echo->to_target_bytes = 1000;
    echo->to_client_bytes = 5000000000ull;
    echo->client_read_pauses = 3;
    vnc->target_read_pauses = 4;
    metrics_histogram_observe(&echo->connect_seconds, 0.0003);
    metrics_histogram_observe(&echo->connect_seconds, 0.0005);
    metrics_histogram_observe(&echo->connect_seconds, 0.2);
    metrics_histogram_observe(&echo->connect_seconds, 11);
    metrics_count_failure(m, 404, "no route");
    metrics_count_failure(m, 404, "no route");
    metrics_count_failure(m, 426, "Sec-WebSocket-Version must be 13");
    metrics_count_failure(m, 400, "bad \"key\"\nline");
    metrics_count_close(m, 1000);
    metrics_count_close(m, 1001);
    metrics_count_close(m, 1000);
    metrics_count_refused(m, "max_connections_per_ip");
    metrics_count_refused(m, "fd_reserve");
    metrics_count_refused(m, "max_connections_per_ip");
    return m;
}

/* Finds the sample <name> whose label <lname> is <lvalue> (NULL: the first <name>). */
static const struct p_sample *p_find(const struct parsed *p, const char *name, const char *lname,
                                     const char *lvalue)
{
    for (size_t i = 0; i < p->n_samples; i++) {
        const struct p_sample *s = &p->samples[i];
        const char *v = lname != NULL ? p_label(s, lname) : NULL;
        if (strcmp(s->name, name) == 0 && (lname == NULL || (v != NULL && strcmp(v, lvalue) == 0)))
            return s;
    }
    return NULL;
}

START_TEST(test_metrics_registry)
{
    static const char *const families[][2] = {
        {"wsbridge_connections_total", "counter"},
        {"wsbridge_bytes_to_target_total", "counter"},
        {"wsbridge_bytes_to_client_total", "counter"},
        {"wsbridge_connections_open", "gauge"},
        {"wsbridge_backpressure_pauses_total", "counter"},
        {"wsbridge_target_connect_seconds", "histogram"},
        {"wsbridge_handshakes_failed_total", "counter"},
        {"wsbridge_closes_total", "counter"},
        {"wsbridge_connections_refused_total", "counter"},
    };
    struct metrics *m = registry_sample();
    struct metrics_buf b = {0};
    const struct p_sample *s;
    struct parsed *p;

    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &b), 0);
    p = p_parse_ok(&b);
    ck_assert_uint_eq(p->n_families, sizeof(families) / sizeof(families[0]));
    for (size_t i = 0; i < p->n_families; i++) {
        ck_assert_str_eq(p->families[i].name, families[i][0]);
        ck_assert_str_eq(p->families[i].type, families[i][1]);
        ck_assert(p->families[i].has_help && p->families[i].help[0] != '\0');
    }
    s = p_find(p, "wsbridge_connections_total", "route", "/echo");
    ck_assert(s != NULL && s->value == 12);
    s = p_find(p, "wsbridge_connections_total", "route", "/odd\"path\\");
    ck_assert(s != NULL && s->value == 0);
    s = p_find(p, "wsbridge_connections_open", "route", "/echo");
    ck_assert(s != NULL && s->value == 2);
    s = p_find(p, "wsbridge_bytes_to_client_total", "route", "/echo");
    ck_assert(s != NULL && s->value == 5e9);
    s = p_find(p, "wsbridge_bytes_to_target_total", "route", "/echo");
    ck_assert(s != NULL && s->value == 1000);
    s = p_find(p, "wsbridge_backpressure_pauses_total", "paused", "client");
    ck_assert(s != NULL && s->value == 3 && strcmp(p_label(s, "route"), "/echo") == 0);
    ck_assert(strstr(b.data, "wsbridge_backpressure_pauses_total{route=\"/vnc/*\","
                             "paused=\"target\"} 4\n") != NULL);
    s = p_find(p, "wsbridge_handshakes_failed_total", "reason", "no route");
    ck_assert(s != NULL && s->value == 2 && strcmp(p_label(s, "status"), "404") == 0);
    s = p_find(p, "wsbridge_handshakes_failed_total", "reason", "bad \"key\"\nline");
    ck_assert(s != NULL && s->value == 1 && strcmp(p_label(s, "status"), "400") == 0);
    s = p_find(p, "wsbridge_closes_total", "code", "1000");
    ck_assert(s != NULL && s->value == 2);
    s = p_find(p, "wsbridge_closes_total", "code", "1001");
    ck_assert(s != NULL && s->value == 1);
    ck_assert_ptr_null(p_find(p, "wsbridge_closes_total", "code", "other"));
    ck_assert_ptr_null(p_find(p, "wsbridge_handshakes_failed_total", "reason", "other"));
    s = p_find(p, "wsbridge_connections_refused_total", "reason", "max_connections_per_ip");
    ck_assert(s != NULL && s->value == 2);
    s = p_find(p, "wsbridge_connections_refused_total", "reason", "fd_reserve");
    ck_assert(s != NULL && s->value == 1);
    ck_assert_ptr_null(p_find(p, "wsbridge_connections_refused_total", "reason", "other"));
    /* the connect histogram: 0.5 ms to 10 s, le inclusive, 11 s only in +Inf */
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"0.0005\"} 2\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"0.25\"} 3\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"10\"} 3\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_bucket{route=\"/echo\","
                             "le=\"+Inf\"} 4\n") != NULL);
    ck_assert(strstr(b.data, "wsbridge_target_connect_seconds_count{route=\"/echo\"} 4\n") != NULL);
    ck_assert_uint_eq(p->n_samples, 3 * 3 + 3 + 6 + 3 * (15 + 2) + 3 + 2 + 2);
    free(p);
    metrics_buf_reset(&b);
    metrics_free(m);
    metrics_free(NULL);
}
END_TEST

/* A registry with no routes and nothing counted is still a valid exposition. */
START_TEST(test_metrics_registry_empty)
{
    struct metrics *m = metrics_new();
    struct metrics_buf b = {0};
    struct parsed *p;

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &b), 0);
    p = p_parse_ok(&b);
    ck_assert_uint_eq(p->n_families, 9);
    ck_assert_uint_eq(p->n_samples, 0);
    free(p);
    metrics_buf_reset(&b);
    metrics_free(m);
}
END_TEST

/* Routes are found by path: the same path gives the same entry, which never moves while
 * thousands of others are added (the glue keeps the pointers across reloads), keeps its
 * counts, and is written in the order first asked for. */
/* metrics_merge: the sum of two registries, whatever each holds, is what one registry
 * would have counted; tables full in one stay bounded in the sum. */
START_TEST(test_metrics_merge)
{
    struct metrics *a = metrics_new(), *b = metrics_new(), *sum = metrics_new();
    struct metrics_route *ra, *rb, *rs;
    char reason[32];

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(sum);
    ra = metrics_route_get(a, "/both");
    rb = metrics_route_get(b, "/both");
    ra->connections_total = 3;
    ra->connections_open = 1;
    ra->to_target_bytes = 100;
    ra->to_client_bytes = 200;
    ra->client_read_pauses = 4;
    rb->connections_total = 5;
    rb->to_target_bytes = 1;
    rb->target_read_pauses = 2;
    metrics_histogram_observe(&ra->connect_seconds, 0.0001);
    metrics_histogram_observe(&rb->connect_seconds, 0.0001);
    metrics_histogram_observe(&rb->connect_seconds, 100.0);
    metrics_route_get(b, "/b-only")->connections_total = 7;
    metrics_count_failure(a, 404, "no route");
    metrics_count_failure(b, 404, "no route");
    metrics_count_failure(b, 403, "origin");
    metrics_count_close(a, 1000);
    metrics_count_close(b, 1000);
    metrics_count_close(b, 1001);
    /* b's failure table is full: its overflow adds to the sum's overflow */
    for (int i = 0; i < METRICS_FAILURES_MAX + 5; i++) {
        snprintf(reason, sizeof(reason), "r%d", i);
        metrics_count_failure(b, 500, reason);
    }
    metrics_count_refused(a, "max_pending_per_ip");
    metrics_count_refused(b, "max_pending_per_ip");
    metrics_count_refused(b, "fd_reserve");
    /* b's refusal table is full too */
    for (int i = 0; i < METRICS_REFUSED_MAX + 3; i++) {
        snprintf(reason, sizeof(reason), "x%d", i);
        metrics_count_refused(b, reason);
    }
    ck_assert_uint_eq(b->n_refused, METRICS_REFUSED_MAX);
    ck_assert_uint_eq(b->refused_other, 5);
    ck_assert_int_eq(metrics_merge(sum, a), 0);
    ck_assert_int_eq(metrics_merge(sum, b), 0);
    rs = metrics_route_get(sum, "/both");
    ck_assert_uint_eq(rs->connections_total, 8);
    ck_assert_uint_eq(rs->connections_open, 1);
    ck_assert_uint_eq(rs->to_target_bytes, 101);
    ck_assert_uint_eq(rs->to_client_bytes, 200);
    ck_assert_uint_eq(rs->client_read_pauses, 4);
    ck_assert_uint_eq(rs->target_read_pauses, 2);
    ck_assert_uint_eq(rs->connect_seconds.count, 3);
    ck_assert_uint_eq(rs->connect_seconds.counts[0], 2);
    ck_assert_uint_eq(rs->connect_seconds.counts[METRICS_CONNECT_BUCKETS], 1);
    ck_assert(rs->connect_seconds.sum > 100.0 && rs->connect_seconds.sum < 100.001);
    ck_assert_uint_eq(metrics_route_get(sum, "/b-only")->connections_total, 7);
    ck_assert_uint_eq(sum->n_routes, 2);
    ck_assert_int_eq(sum->failures[0].status, 404);
    ck_assert_uint_eq(sum->failures[0].count, 2);
    ck_assert_int_eq(sum->failures[1].status, 403);
    ck_assert_uint_eq(sum->failures[1].count, 1);
    ck_assert_uint_eq(sum->n_failures, METRICS_FAILURES_MAX);
    /* b kept 62 of the 500s and counted 7 as other; the sum has room for the same 62 */
    ck_assert_uint_eq(sum->failures_other, b->failures_other);
    ck_assert_uint_eq(sum->closes[0].code, 1000);
    ck_assert_uint_eq(sum->closes[0].count, 2);
    ck_assert_uint_eq(sum->closes[1].code, 1001);
    ck_assert_uint_eq(sum->closes[1].count, 1);
    ck_assert_str_eq(sum->refused[0].reason, "max_pending_per_ip");
    ck_assert_uint_eq(sum->refused[0].count, 2);
    ck_assert_str_eq(sum->refused[1].reason, "fd_reserve");
    ck_assert_uint_eq(sum->refused[1].count, 1);
    ck_assert_uint_eq(sum->n_refused, METRICS_REFUSED_MAX);
    ck_assert_uint_eq(sum->refused_other, b->refused_other);
    metrics_free(a);
    metrics_free(b);
    metrics_free(sum);
}
END_TEST

START_TEST(test_metrics_route_get)
{
    enum { N_ROUTES = 3000 };
    struct metrics *m = metrics_new();
    struct metrics_route **kept = calloc(N_ROUTES, sizeof(*kept));
    struct metrics_buf b = {0};
    char path[32];
    const struct p_sample *s;
    struct parsed *p;

    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(kept);
    for (int i = 0; i < N_ROUTES; i++) {
        snprintf(path, sizeof(path), "/r%d", i);
        kept[i] = metrics_route_get(m, path);
        ck_assert_ptr_nonnull(kept[i]);
        ck_assert_str_eq(kept[i]->path, path);
        ck_assert_uint_eq(kept[i]->connections_total, 0);
        ck_assert_uint_eq(kept[i]->connect_seconds.n_bounds, METRICS_CONNECT_BUCKETS);
        kept[i]->connections_total = (uint64_t)i + 1;
        /* an earlier entry is still where it was, and found again */
        ck_assert_ptr_eq(metrics_route_get(m, "/r0"), kept[0]);
        ck_assert_ptr_eq(metrics_route_get(m, path), kept[i]);
    }
    ck_assert_uint_eq(m->n_routes, N_ROUTES);
    for (int i = 0; i < N_ROUTES; i++) {
        snprintf(path, sizeof(path), "/r%d", i);
        ck_assert_ptr_eq(metrics_route_get(m, path), kept[i]);
        ck_assert_uint_eq(kept[i]->connections_total, (uint64_t)i + 1);
    }
    ck_assert_uint_eq(m->n_routes, N_ROUTES);
    /* paths differing only late, empty, or in a byte the hash mixes in last */
    ck_assert_ptr_ne(metrics_route_get(m, "/r1"), metrics_route_get(m, "/r10"));
    ck_assert_ptr_nonnull(metrics_route_get(m, ""));
    ck_assert_ptr_eq(metrics_route_get(m, ""), m->routes[N_ROUTES]);
    ck_assert_uint_eq(m->n_routes, N_ROUTES + 1);
    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &b), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "wsbridge_connections_total{route=\"/r0\"} 1\n"
                                         "wsbridge_connections_total{route=\"/r1\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "wsbridge_connections_total{route=\"/r2999\"} 3000\n"
                                         "wsbridge_connections_total{route=\"\"} 0\n"));
    metrics_buf_reset(&b);
    metrics_free(m);
    free(kept);

    /* a small registry read back by the strict parser: one sample per route and family */
    m = metrics_new();
    ck_assert_ptr_nonnull(metrics_route_get(m, "/b"));
    ck_assert_ptr_nonnull(metrics_route_get(m, "/a"));
    metrics_route_get(m, "/b")->connections_open = 5;
    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &b), 0);
    p = p_parse_ok(&b);
    s = p_find(p, "wsbridge_connections_open", "route", "/b");
    ck_assert(s != NULL && s->value == 5);
    ck_assert(s == p_find(p, "wsbridge_connections_open", NULL, NULL)); /* "/b" came first */
    ck_assert_uint_eq(p->n_samples, 2 * (3 + 1 + 2 + 15 + 2));
    free(p);
    metrics_buf_reset(&b);
    metrics_free(m);
}
END_TEST

/* The failure and close tables are bounded; what does not fit is counted as "other". */
START_TEST(test_metrics_registry_bounded)
{
    struct metrics *m = metrics_new();
    struct metrics_buf b = {0};
    char reason[160];
    const struct p_sample *s;
    struct parsed *p;

    for (int i = 0; i < METRICS_FAILURES_MAX + 10; i++) {
        snprintf(reason, sizeof(reason), "reason %d", i);
        metrics_count_failure(m, 400, reason);
    }
    metrics_count_failure(m, 400, "reason 3");
    metrics_count_failure(m, 400, NULL);
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    metrics_count_failure(m, 500, reason);
    for (unsigned code = 1000; code < 1000 + METRICS_CLOSE_CODES_MAX + 5; code++)
        metrics_count_close(m, code);
    ck_assert_uint_eq(m->n_failures, METRICS_FAILURES_MAX);
    ck_assert_uint_eq(m->failures_other, 12);
    ck_assert_uint_eq(m->n_closes, METRICS_CLOSE_CODES_MAX);
    ck_assert_uint_eq(m->closes_other, 5);
    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &b), 0);
    p = p_parse_ok(&b);
    s = p_find(p, "wsbridge_handshakes_failed_total", "reason", "reason 3");
    ck_assert(s != NULL && s->value == 2);
    s = p_find(p, "wsbridge_handshakes_failed_total", "reason", "other");
    ck_assert(s != NULL && s->value == 12 && strcmp(p_label(s, "status"), "other") == 0);
    s = p_find(p, "wsbridge_closes_total", "code", "other");
    ck_assert(s != NULL && s->value == 5);
    free(p);
    metrics_buf_reset(&b);
    metrics_free(m);

    /* reasons are cut to METRICS_REASON_MAX bytes */
    m = metrics_new();
    metrics_count_failure(m, 500, reason);
    ck_assert_uint_eq(strlen(m->failures[0].reason), METRICS_REASON_MAX);
    metrics_free(m);
}
END_TEST

/* An output that fails at any byte makes metrics_write fail, never crash or loop, and
 * nothing is written after the failure. */
START_TEST(test_metrics_output_fails)
{
    struct metrics *m = registry_sample();
    struct metrics_buf b = {0};

    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &b), 0);
    for (size_t budget = 0; budget < b.len; budget++) {
        struct failing_sink s = {.budget = budget};
        ck_assert_int_eq(metrics_write(m, failing_sink_write, &s), -1);
        ck_assert(s.failed);
        ck_assert_uint_le(s.taken, budget);
        ck_assert_uint_eq(s.calls_after, 0);
    }
    {
        struct failing_sink s = {.budget = b.len};
        ck_assert_int_eq(metrics_write(m, failing_sink_write, &s), 0);
        ck_assert(!s.failed);
        ck_assert_uint_eq(s.taken, b.len);
    }
    metrics_buf_reset(&b);
    metrics_free(m);
}
END_TEST

/* The buffer grows to its bound and no further; what it held stays. */
START_TEST(test_metrics_buf_bound)
{
    struct metrics *m = registry_sample();
    struct metrics_buf whole = {0}, small = {.max_bytes = 100};

    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &whole), 0);
    ck_assert_uint_gt(whole.len, 100);
    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &small), -1);
    ck_assert_uint_le(small.len, 100);
    ck_assert_uint_le(small.cap, 101);
    ck_assert(memcmp(small.data, whole.data, small.len) == 0);
    ck_assert_uint_eq(strlen(small.data), small.len);
    metrics_buf_reset(&small);
    ck_assert_ptr_null(small.data);
    ck_assert_uint_eq(small.max_bytes, 100);
    small.max_bytes = whole.len;
    ck_assert_int_eq(metrics_write(m, metrics_buf_append, &small), 0);
    ck_assert_str_eq(small.data, whole.data);
    ck_assert_int_eq(metrics_buf_append(&small, "x", 1), -1);
    ck_assert_int_eq(metrics_buf_append(&small, "", 0), 0);
    ck_assert_uint_eq(small.len, whole.len);
    ck_assert_int_eq(metrics_buf_append(&small, "x", SIZE_MAX), -1);
    metrics_buf_reset(&small);
    metrics_buf_reset(&whole);
    metrics_free(m);
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *parser = tcase_create("parser");
    TCase *writer = tcase_create("writer");
    TCase *registry = tcase_create("registry");

    tcase_add_loop_test(parser, test_metrics_parser_refuses, 0, N(parser_bad_cases));
    suite_add_tcase(s, parser);
    tcase_add_loop_test(writer, test_metrics_escape, 0, N(escape_cases));
    tcase_add_loop_test(writer, test_metrics_number, 0, N(number_cases));
    tcase_add_test(writer, test_metrics_values);
    tcase_add_loop_test(writer, test_metrics_misuse, 0, N(misuse_cases));
    tcase_add_loop_test(writer, test_metrics_histogram, 0, N(histogram_cases));
    tcase_add_test(writer, test_metrics_histogram_init);
    suite_add_tcase(s, writer);
    tcase_add_test(registry, test_metrics_registry);
    tcase_add_test(registry, test_metrics_registry_empty);
    tcase_add_test(registry, test_metrics_route_get);
    tcase_add_test(registry, test_metrics_merge);
    tcase_add_test(registry, test_metrics_registry_bounded);
    tcase_add_test(registry, test_metrics_output_fails);
    tcase_add_test(registry, test_metrics_buf_bound);
    suite_add_tcase(s, registry);
    return s;
}

CHECK_MAIN(test_suite)
