/*
 * promtext.h - Prometheus text exposition format 0.0.4, no I/O: a writer of families
 * (# HELP, # TYPE), counter, gauge and histogram samples with escaped labels, through a
 * caller's callback or into a bounded growable buffer. It knows the format, not what
 * wsbridge counts (metrics.c).
 */
#ifndef WSB_PROMTEXT_H
#define WSB_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Takes <len> bytes at <data> (not NUL-terminated, never kept). Returns 0, or -1 to stop
 * the writer. */
typedef int (*promtext_write_fn)(void *arg, const char *data, size_t len);

enum promtext_type {
    PROMTEXT_COUNTER = 0, /* only goes up; name ends in _total by convention */
    PROMTEXT_GAUGE,       /* goes up and down */
    PROMTEXT_HISTOGRAM,   /* _bucket{le=...}, _sum and _count samples */
};

#define PROMTEXT_NAME_MAX 128 /* bytes of a family name */

struct promtext_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not starting "__" */
    const char *value; /* any UTF-8 text; escaped on output */
};

struct promtext_writer {
    promtext_write_fn write;            /* where the text goes */
    void *arg;                          /* its first argument */
    char family[PROMTEXT_NAME_MAX + 1]; /* family being written; "" before the first */
    enum promtext_type type;            /* its type */
    const char *error;                  /* NULL, or why the writer stopped (static text) */
};

/* Prepares <w> to send text to <write>(<arg>, ...). */
void promtext_writer_init(struct promtext_writer *w, promtext_write_fn write, void *arg);

/* Starts family <name> of <type>: writes "# HELP <name> <help>" (backslash and newline
 * escaped; no line when <help> is NULL) and "# TYPE <name> <type>". The samples written
 * next belong to it. The format wants each family once per exposition: the caller keeps
 * that rule. Returns 0, or -1 with the reason in <w>->error; after a failure every call
 * returns -1 and writes nothing, so the caller checks once at the end. */
int promtext_write_family(struct promtext_writer *w, const char *name, enum promtext_type type,
                          const char *help);

/* Writes one sample of the current family, which must be a counter: name, the <n> labels
 * at <labels> (values escaped: backslash, double quote, newline), <value> exactly.
 * Returns 0 or -1 as promtext_write_family. */
int promtext_write_counter(struct promtext_writer *w, const struct promtext_label *labels, size_t n,
                           uint64_t value);

/* As promtext_write_counter, for a gauge family; <value> may be any double (NaN, +Inf and
 * -Inf as the format spells them). */
int promtext_write_gauge(struct promtext_writer *w, const struct promtext_label *labels, size_t n,
                         double value);

/* The state of one histogram series, as the caller keeps it. */
struct promtext_buckets {
    const double *bounds;   /* n_bounds finite, increasing upper bounds ("le") */
    size_t n_bounds;        /* may be 0: only the +Inf bucket */
    const uint64_t *counts; /* n_bounds + 1 counts per bucket, not summed; last: above all */
    double sum;             /* of the observed values */
};

/* Writes <b> as samples of the current family, which must be a histogram: one
 * <name>_bucket per bound with cumulative counts and le="<bound>", le="+Inf" equal to
 * <name>_count, <name>_sum and <name>_count, each with the <n> labels at <labels> (which
 * must not include "le"). Bounds that are not finite and increasing, or missing counts,
 * stop the writer ("bad histogram buckets"). Returns 0 or -1 as promtext_write_family. */
int promtext_write_histogram(struct promtext_writer *w, const struct promtext_label *labels,
                             size_t n, const struct promtext_buckets *b);

/* Writes <v> into <out> (PROMTEXT_NUMBER_MAX bytes) as the Prometheus client libraries
 * do (Go's FormatFloat 'g', -1): the fewest digits that read back as the same double,
 * with an exponent below 1e-4 and from 1e6 up ("0.0005", "10", "1e+06"); "NaN", "+Inf",
 * "-Inf". Returns <out>. Assumes the "C" locale (the daemon never calls setlocale). */
#define PROMTEXT_NUMBER_MAX 32
const char *promtext_format_number(double v, char *out);

/* Buffer sink --------------------------------------------------------------------------- */

#define PROMTEXT_BUF_MAX_BYTES (16u * 1024 * 1024) /* default bound of one exposition */

struct promtext_buf {
    char *data;       /* NUL-terminated text, or NULL while empty */
    size_t len, cap;  /* bytes of text / allocated */
    size_t max_bytes; /* no more text than this; 0: PROMTEXT_BUF_MAX_BYTES */
};

/* A promtext_write_fn: appends to the struct promtext_buf at <buf> (zeroed or reset
 * before first use). Returns -1 if memory runs out or the text would pass max_bytes; what
 * was there stays. */
int promtext_buf_append(void *buf, const char *data, size_t len);

/* Frees the text of <b> and empties it; max_bytes is kept. */
void promtext_buf_reset(struct promtext_buf *b);

#endif
