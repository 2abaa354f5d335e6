/*
 * promtext.c - the Prometheus text exposition format 0.0.4 (prometheus/docs,
 * "Exposition formats"), no I/O: families with HELP and TYPE lines, metric and label
 * names checked, label values escaped, numbers written as the client libraries write
 * them, cumulative histogram buckets, and a bounded buffer to write into. What is counted
 * is metrics.c's; serving the text over HTTP is admin.c's.
 */
#include "promtext.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const promtext_type_names[] = {
    [PROMTEXT_COUNTER] = "counter",
    [PROMTEXT_GAUGE] = "gauge",
    [PROMTEXT_HISTOGRAM] = "histogram",
};

/* Writer ---------------------------------------------------------------------------- */

/* Prepares <w> to send text to <write>(<arg>, ...). */
void promtext_writer_init(struct promtext_writer *w, promtext_write_fn write, void *arg)
{
    memset(w, 0, sizeof(*w));
    w->write = write;
    w->arg = arg;
}

/* Stops <w> with static text <why>; returns -1. */
static int promtext_fail(struct promtext_writer *w, const char *why)
{
    if (w->error == NULL)
        w->error = why;
    return -1;
}

static int promtext_put(struct promtext_writer *w, const char *data, size_t len)
{
    if (w->error != NULL)
        return -1;
    if (len > 0 && w->write(w->arg, data, len) != 0)
        return promtext_fail(w, "output failed");
    return 0;
}

static int promtext_puts(struct promtext_writer *w, const char *s)
{
    return promtext_put(w, s, strlen(s));
}

/* Writes <s> with the escapes of a HELP text (<quoted> false: backslash, newline) or of a
 * label value (<quoted> true: also the double quote). Unescaped runs go out in one call. */
static int promtext_put_escaped(struct promtext_writer *w, const char *s, bool quoted)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\'            ? "\\\\"
                          : *s == '\n'          ? "\\n"
                          : *s == '"' && quoted ? "\\\""
                                                : NULL;
        if (esc == NULL)
            continue;
        if (promtext_put(w, run, (size_t)(s - run)) < 0 || promtext_puts(w, esc) < 0)
            return -1;
        run = s + 1;
    }
    return promtext_put(w, run, (size_t)(s - run));
}

/* metric_name = [a-zA-Z_:][a-zA-Z0-9_:]*; label names allow no colon. */
static bool promtext_is_name(const char *s, bool label)
{
    if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (; *s != '\0'; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || (ch == ':' && !label)))
            return false;
    }
    return true;
}

/* Writes <v> as the format spells numbers: see promtext.h. */
const char *promtext_format_number(double v, char *out)
{
    char e[PROMTEXT_NUMBER_MAX];
    int digits, exp;

    if (isnan(v))
        return strcpy(out, "NaN");
    if (isinf(v))
        return strcpy(out, v > 0 ? "+Inf" : "-Inf");
    /* The fewest significant digits that read back as the same double: %.17g always
     * round-trips but prints 0.1 as 0.10000000000000001. */
    for (digits = 1; digits < 17; digits++) {
        snprintf(e, sizeof(e), "%.*e", digits - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", digits - 1, v);
    exp = atoi(strchr(e, 'e') + 1);
    /* Then the layout of Go's strconv.FormatFloat(v, 'g', -1, 64), which the Prometheus
     * client libraries write: an exponent below 1e-4 and from 1e6 up, else plain digits.
     * "le" values must be the same text in every exporter to be summed across them. */
    if (exp < -4 || exp >= 6)
        return strcpy(out, e);
    snprintf(out, PROMTEXT_NUMBER_MAX, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
    return out;
}

/* Starts family <name> of <type>: see promtext.h. */
int promtext_write_family(struct promtext_writer *w, const char *name, enum promtext_type type,
                          const char *help)
{
    if (w->error != NULL)
        return -1;
    if (!promtext_is_name(name, false) || strlen(name) > PROMTEXT_NAME_MAX)
        return promtext_fail(w, "bad metric name");
    if (type != PROMTEXT_COUNTER && type != PROMTEXT_GAUGE && type != PROMTEXT_HISTOGRAM)
        return promtext_fail(w, "bad metric type");
    strcpy(w->family, name);
    w->type = type;
    if (help != NULL && (promtext_puts(w, "# HELP ") < 0 || promtext_puts(w, name) < 0 ||
                         promtext_puts(w, " ") < 0 || promtext_put_escaped(w, help, false) < 0 ||
                         promtext_puts(w, "\n") < 0))
        return -1;
    if (promtext_puts(w, "# TYPE ") < 0 || promtext_puts(w, name) < 0 ||
        promtext_puts(w, " ") < 0 || promtext_puts(w, promtext_type_names[type]) < 0 ||
        promtext_puts(w, "\n") < 0)
        return -1;
    return 0;
}

/* Checks the <n> labels at <labels> for a sample of <w>'s current family of <type>. */
static int promtext_check_sample(struct promtext_writer *w, enum promtext_type type,
                                 const struct promtext_label *labels, size_t n)
{
    if (w->error != NULL)
        return -1;
    if (w->family[0] == '\0')
        return promtext_fail(w, "sample before any family");
    if (w->type != type)
        return promtext_fail(w, "sample of another type than its family");
    for (size_t i = 0; i < n; i++) {
        if (!promtext_is_name(labels[i].name, true) || strncmp(labels[i].name, "__", 2) == 0)
            return promtext_fail(w, "bad label name");
        if (labels[i].value == NULL)
            return promtext_fail(w, "label without a value");
        if (type == PROMTEXT_HISTOGRAM && strcmp(labels[i].name, "le") == 0)
            return promtext_fail(w, "label \"le\" is the histogram's own");
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i].name, labels[j].name) == 0)
                return promtext_fail(w, "label given twice");
    }
    return 0;
}

/* Writes one sample line: family name and <suffix>, the <n> labels at <labels> plus
 * le=<le> when not NULL, then <value> (already formatted). Labels are checked. */
static int promtext_put_sample(struct promtext_writer *w, const char *suffix,
                               const struct promtext_label *labels, size_t n, const char *le,
                               const char *value)
{
    if (promtext_puts(w, w->family) < 0 || promtext_puts(w, suffix) < 0)
        return -1;
    if (n > 0 || le != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (promtext_puts(w, i == 0 ? "{" : ",") < 0 || promtext_puts(w, labels[i].name) < 0 ||
                promtext_puts(w, "=\"") < 0 || promtext_put_escaped(w, labels[i].value, true) < 0 ||
                promtext_puts(w, "\"") < 0)
                return -1;
        }
        if (le != NULL && (promtext_puts(w, n == 0 ? "{le=\"" : ",le=\"") < 0 ||
                           promtext_puts(w, le) < 0 || promtext_puts(w, "\"") < 0))
            return -1;
        if (promtext_puts(w, "}") < 0)
            return -1;
    }
    if (promtext_puts(w, " ") < 0 || promtext_puts(w, value) < 0 || promtext_puts(w, "\n") < 0)
        return -1;
    return 0;
}

/* Writes one sample of the current counter family: see promtext.h. */
int promtext_write_counter(struct promtext_writer *w, const struct promtext_label *labels, size_t n,
                           uint64_t value)
{
    char text[PROMTEXT_NUMBER_MAX];

    if (promtext_check_sample(w, PROMTEXT_COUNTER, labels, n) < 0)
        return -1;
    snprintf(text, sizeof(text), "%" PRIu64, value);
    return promtext_put_sample(w, "", labels, n, NULL, text);
}

/* As promtext_write_counter, for a gauge family. */
int promtext_write_gauge(struct promtext_writer *w, const struct promtext_label *labels, size_t n,
                         double value)
{
    char text[PROMTEXT_NUMBER_MAX];

    if (promtext_check_sample(w, PROMTEXT_GAUGE, labels, n) < 0)
        return -1;
    return promtext_put_sample(w, "", labels, n, NULL, promtext_format_number(value, text));
}

/* True if <b> can be written: finite, increasing bounds, and counts for each bucket. */
static bool promtext_buckets_are_good(const struct promtext_buckets *b)
{
    if (b == NULL || b->counts == NULL || (b->n_bounds > 0 && b->bounds == NULL))
        return false;
    for (size_t i = 0; i < b->n_bounds; i++)
        if (!isfinite(b->bounds[i]) || (i > 0 && !(b->bounds[i] > b->bounds[i - 1])))
            return false;
    return true;
}

/* Writes the histogram <b> as samples of the current family: see promtext.h. */
int promtext_write_histogram(struct promtext_writer *w, const struct promtext_label *labels,
                             size_t n, const struct promtext_buckets *b)
{
    char le[PROMTEXT_NUMBER_MAX], text[PROMTEXT_NUMBER_MAX];
    uint64_t cumulative = 0;

    if (promtext_check_sample(w, PROMTEXT_HISTOGRAM, labels, n) < 0)
        return -1;
    if (!promtext_buckets_are_good(b))
        return promtext_fail(w, "bad histogram buckets");
    for (size_t i = 0; i <= b->n_bounds; i++) {
        cumulative += b->counts[i];
        snprintf(text, sizeof(text), "%" PRIu64, cumulative);
        if (promtext_put_sample(w, "_bucket", labels, n,
                                i < b->n_bounds ? promtext_format_number(b->bounds[i], le) : "+Inf",
                                text) < 0)
            return -1;
    }
    if (promtext_put_sample(w, "_sum", labels, n, NULL, promtext_format_number(b->sum, text)) < 0)
        return -1;
    /* _count is written from the buckets so that it equals le="+Inf" by construction. */
    snprintf(text, sizeof(text), "%" PRIu64, cumulative);
    return promtext_put_sample(w, "_count", labels, n, NULL, text);
}

/* Buffer sink --------------------------------------------------------------------------- */

/* A promtext_write_fn appending to the struct promtext_buf at <buf>: see promtext.h. */
int promtext_buf_append(void *buf, const char *data, size_t len)
{
    struct promtext_buf *b = buf;
    size_t max = b->max_bytes != 0 ? b->max_bytes : PROMTEXT_BUF_MAX_BYTES;

    if (len > max || b->len > max - len)
        return -1;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        char *grown;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        grown = realloc(b->data, cap);
        if (grown == NULL)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

/* Frees the text of <b> and empties it; max_bytes is kept. */
void promtext_buf_reset(struct promtext_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
