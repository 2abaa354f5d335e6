/*
 * test_promtext.c - unit tests for promtext.c, the Prometheus text format writer. Every
 * text written is read back by the strict parser of promparse.h, which is first shown to
 * refuse a table of broken texts: label values and HELP texts escaped (backslash, double
 * quote, newline) and read back the same; numbers as the client libraries write them
 * (integers exact, floats shortest, NaN, +Inf, -Inf); misuse refused with a reason and
 * nothing written after it; histogram buckets cumulative up to +Inf equal to _count;
 * bad buckets refused; a failing output stops the writer at once; the buffer sink bounded.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "promparse.h"
#include "check_main.h"
#include "promtext.h"

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

START_TEST(test_promtext_parser_refuses)
{
    const struct parser_bad_case *t = &parser_bad_cases[_i];
    struct promparse *p = malloc(sizeof(*p));

    ck_assert_ptr_nonnull(p);
    ck_assert_msg(promparse_text(t->text, strlen(t->text), p) == -1, "accepted: %s", t->text);
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
START_TEST(test_promtext_escape)
{
    const struct escape_case *t = &escape_cases[_i];
    struct promtext_buf b = {0};
    struct promtext_writer w;
    struct promtext_label l = {"v", t->value};
    struct promparse *p;
    char want[512];

    promtext_writer_init(&w, promtext_buf_append, &b);
    ck_assert_int_eq(promtext_write_family(&w, "c", PROMTEXT_COUNTER, t->value), 0);
    ck_assert_int_eq(promtext_write_counter(&w, &l, 1, 7), 0);
    snprintf(want, sizeof(want), "%s# TYPE c counter\n%s", t->help_line, t->label_line);
    ck_assert_str_eq(b.data, want);
    p = promparse_ok(&b);
    ck_assert_uint_eq(p->n_samples, 1);
    ck_assert_str_eq(p->samples[0].labels[0].value, t->value);
    ck_assert_str_eq(p->families[0].help, t->value);
    ck_assert(p->samples[0].value == 7);
    free(p);
    promtext_buf_reset(&b);
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
START_TEST(test_promtext_number)
{
    const struct number_case *t = &number_cases[_i];
    char out[PROMTEXT_NUMBER_MAX];
    double back = 0;

    ck_assert_str_eq(promtext_format_number(t->v, out), t->text);
    ck_assert_int_eq(promparse_number(out, strlen(out), &back), 0);
    ck_assert(isnan(t->v) ? isnan(back) : back == t->v);
}
END_TEST

/* Gauges take doubles and counters exact 64-bit integers. */
START_TEST(test_promtext_values)
{
    struct promtext_buf b = {0};
    struct promtext_writer w;
    struct promtext_label l = {"k", "v"};
    struct promparse *p;

    promtext_writer_init(&w, promtext_buf_append, &b);
    ck_assert_int_eq(promtext_write_family(&w, "big_total", PROMTEXT_COUNTER, NULL), 0);
    ck_assert_int_eq(promtext_write_counter(&w, NULL, 0, UINT64_MAX), 0);
    ck_assert_int_eq(promtext_write_family(&w, "ns:g", PROMTEXT_GAUGE, "A gauge."), 0);
    ck_assert_int_eq(promtext_write_gauge(&w, &l, 1, -0.25), 0);
    ck_assert_int_eq(promtext_write_gauge(&w, NULL, 0, NAN), 0);
    ck_assert_str_eq(b.data, "# TYPE big_total counter\n"
                             "big_total 18446744073709551615\n"
                             "# HELP ns:g A gauge.\n"
                             "# TYPE ns:g gauge\n"
                             "ns:g{k=\"v\"} -0.25\n"
                             "ns:g NaN\n");
    p = promparse_ok(&b);
    ck_assert_uint_eq(p->n_samples, 3);
    ck_assert(p->samples[0].value == 18446744073709551615.0);
    ck_assert(isnan(p->samples[2].value));
    free(p);
    promtext_buf_reset(&b);
}
END_TEST

enum misuse_call {
    CALL_FAMILY = 0, /* promtext_write_family(name, type) */
    CALL_COUNTER,    /* family "c" counter, then a counter sample */
    CALL_GAUGE,      /* family "c" counter, then a gauge sample */
    CALL_HISTOGRAM,  /* family "h" histogram, then a histogram sample */
    CALL_NO_FAMILY,  /* a counter sample with no family before */
};

struct misuse_case {
    enum misuse_call call;
    const char *name;                /* CALL_FAMILY: the family name */
    int type;                        /* CALL_FAMILY: the type */
    struct promtext_label labels[3]; /* up to the first NULL name... */
    size_t n_labels;
    const char *error;
};

static const struct misuse_case misuse_cases[] = {
    {CALL_FAMILY, "", PROMTEXT_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "1abc", PROMTEXT_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "a-b", PROMTEXT_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "a b", PROMTEXT_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, "caf\xc3\xa9", PROMTEXT_COUNTER, {{0}}, 0, "bad metric name"},
    {CALL_FAMILY, NULL, PROMTEXT_COUNTER, {{0}}, 0, "bad metric name"},
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
static const uint64_t test_counts[4] = {0};

/* Misuse is an answer, not a crash: -1, a reason, and nothing written after it. */
START_TEST(test_promtext_misuse)
{
    const struct misuse_case *t = &misuse_cases[_i];
    struct promtext_buf b = {0};
    struct promtext_writer w;
    const struct promtext_buckets h = {test_bounds, 3, test_counts, 0};
    size_t len_before;
    int rc = 0;

    promtext_writer_init(&w, promtext_buf_append, &b);
    switch (t->call) {
    case CALL_FAMILY:
        rc = promtext_write_family(&w, t->name, (enum promtext_type)t->type, "help");
        break;
    case CALL_COUNTER:
        ck_assert_int_eq(promtext_write_family(&w, "c", PROMTEXT_COUNTER, NULL), 0);
        rc = promtext_write_counter(&w, t->labels, t->n_labels, 1);
        break;
    case CALL_GAUGE:
        ck_assert_int_eq(promtext_write_family(&w, "c", PROMTEXT_COUNTER, NULL), 0);
        rc = promtext_write_gauge(&w, t->labels, t->n_labels, 1);
        break;
    case CALL_HISTOGRAM:
        ck_assert_int_eq(promtext_write_family(&w, "h", PROMTEXT_HISTOGRAM, NULL), 0);
        rc = promtext_write_histogram(&w, t->labels, t->n_labels, &h);
        break;
    case CALL_NO_FAMILY:
        rc = promtext_write_counter(&w, NULL, 0, 1);
        break;
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(w.error);
    ck_assert_str_eq(w.error, t->error);
    /* the text so far is whole lines (checks come before writing), and stays as it is */
    len_before = b.len;
    ck_assert_int_eq(promtext_write_family(&w, "later", PROMTEXT_GAUGE, NULL), -1);
    ck_assert_int_eq(promtext_write_gauge(&w, NULL, 0, 1), -1);
    ck_assert_int_eq(promtext_write_histogram(&w, NULL, 0, &h), -1);
    ck_assert_uint_eq(b.len, len_before);
    ck_assert_str_eq(w.error, t->error);
    promtext_buf_reset(&b);
}
END_TEST

/* Histograms ------------------------------------------------------------------------ */

struct histogram_case {
    uint64_t counts[4]; /* per bucket: le 0.5, 1, 2.5, above */
    double sum;
    uint64_t cumulative[4]; /* expected: le 0.5, 1, 2.5, +Inf */
    const char *sum_text;   /* expected _sum value */
};

static const struct histogram_case histogram_cases[] = {
    {{0, 0, 0, 0}, 0, {0, 0, 0, 0}, "0"},
    {{1, 0, 0, 0}, 0.5, {1, 1, 1, 1}, "0.5"},
    {{0, 3, 0, 0}, 3, {0, 3, 3, 3}, "3"},
    {{0, 0, 1, 1}, 5.5, {0, 0, 1, 2}, "5.5"},
    {{2, 0, 0, 1}, 99, {2, 2, 2, 3}, "99"},
    {{0, 0, 0, 1}, INFINITY, {0, 0, 0, 1}, "+Inf"},
    {{2, 2, 2, 2}, 17.1, {2, 4, 6, 8}, "17.1"},
    {{UINT64_MAX / 4, UINT64_MAX / 4, UINT64_MAX / 4, UINT64_MAX / 4},
     -1e-7,
     {UINT64_MAX / 4, UINT64_MAX / 2 - 1, UINT64_MAX / 4 * 3, UINT64_MAX / 4 * 4},
     "-1e-07"},
};

/* Bucket counts are summed up to +Inf, which equals _count; le texts are the bounds as
 * the client libraries write them; the labels go on every sample. */
START_TEST(test_promtext_histogram)
{
    const struct histogram_case *t = &histogram_cases[_i];
    static const char *const les[] = {"0.5", "1", "2.5", "+Inf"};
    const struct promtext_buckets h = {test_bounds, 3, t->counts, t->sum};
    struct promtext_buf b = {0};
    struct promtext_writer w;
    struct promtext_label l = {"route", "/x"};
    struct promparse *p;
    char line[160];
    size_t k = 0;

    promtext_writer_init(&w, promtext_buf_append, &b);
    ck_assert_int_eq(promtext_write_family(&w, "lat_seconds", PROMTEXT_HISTOGRAM, "Latency."), 0);
    ck_assert_int_eq(promtext_write_histogram(&w, &l, 1, &h), 0);
    ck_assert_int_eq(promtext_write_histogram(&w, NULL, 0, &h), 0);
    p = promparse_ok(&b);
    ck_assert_uint_eq(p->n_samples, 2 * (4 + 2));
    for (int series = 0; series < 2; series++) {
        for (size_t i = 0; i < 4; i++, k++) {
            ck_assert_str_eq(p->samples[k].name, "lat_seconds_bucket");
            ck_assert_str_eq(promparse_label(&p->samples[k], "le"), les[i]);
            ck_assert_msg(p->samples[k].value == (double)t->cumulative[i], "le %s: %g", les[i],
                          p->samples[k].value);
        }
        ck_assert_str_eq(p->samples[k++].name, "lat_seconds_sum");
        ck_assert_str_eq(p->samples[k].name, "lat_seconds_count");
        ck_assert(p->samples[k++].value == (double)t->cumulative[3]);
    }
    ck_assert_str_eq(promparse_label(&p->samples[0], "route"), "/x");
    ck_assert_ptr_null(promparse_label(&p->samples[6], "route"));
    /* the exact integers and the sum as text, which the parser reads as doubles */
    snprintf(line, sizeof(line), "lat_seconds_count{route=\"/x\"} %llu\n",
             (unsigned long long)t->cumulative[3]);
    ck_assert_ptr_nonnull(strstr(b.data, line));
    snprintf(line, sizeof(line), "lat_seconds_sum %s\n", t->sum_text);
    ck_assert_ptr_nonnull(strstr(b.data, line));
    free(p);
    promtext_buf_reset(&b);
}
END_TEST

/* No bounds at all is a histogram of one bucket, +Inf. */
START_TEST(test_promtext_histogram_no_bounds)
{
    static const uint64_t counts[1] = {3};
    const struct promtext_buckets h = {NULL, 0, counts, 1.5};
    struct promtext_buf b = {0};
    struct promtext_writer w;
    struct promparse *p;

    promtext_writer_init(&w, promtext_buf_append, &b);
    ck_assert_int_eq(promtext_write_family(&w, "h", PROMTEXT_HISTOGRAM, NULL), 0);
    ck_assert_int_eq(promtext_write_histogram(&w, NULL, 0, &h), 0);
    ck_assert_str_eq(b.data, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 1.5\nh_count 3\n");
    p = promparse_ok(&b);
    free(p);
    promtext_buf_reset(&b);
}
END_TEST

/* Buckets that would write le values out of order, or read counts that are not there,
 * stop the writer before it writes a line of them. */
START_TEST(test_promtext_bad_buckets)
{
    static const double flat[] = {1, 1}, down[] = {2, 1}, nan_b[] = {1, NAN},
                        inf_b[] = {1, INFINITY}, ninf_b[] = {-INFINITY, 1};
    const struct promtext_buckets bad[] = {
        {flat, 2, test_counts, 0},  {down, 2, test_counts, 0},   {nan_b, 2, test_counts, 0},
        {inf_b, 2, test_counts, 0}, {ninf_b, 2, test_counts, 0}, {NULL, 1, test_counts, 0},
        {test_bounds, 3, NULL, 0},
    };

    for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
        struct promtext_buf b = {0};
        struct promtext_writer w;
        size_t len;

        promtext_writer_init(&w, promtext_buf_append, &b);
        ck_assert_int_eq(promtext_write_family(&w, "h", PROMTEXT_HISTOGRAM, NULL), 0);
        len = b.len;
        ck_assert_int_eq(promtext_write_histogram(
                             &w, NULL, 0, i < sizeof(bad) / sizeof(bad[0]) ? &bad[i] : NULL),
                         -1);
        ck_assert_str_eq(w.error, "bad histogram buckets");
        ck_assert_uint_eq(b.len, len);
        promtext_buf_reset(&b);
    }
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

/* Writes one family of each type with a few samples, through <w>. Returns <w>'s result. */
static int test_promtext_sample_text(struct promtext_writer *w)
{
    static const uint64_t counts[4] = {1, 2, 3, 4};
    const struct promtext_buckets h = {test_bounds, 3, counts, 12.5};
    struct promtext_label l[2] = {{"route", "/a\"b\\c\nd"}, {"side", "client"}};

    promtext_write_family(w, "x_total", PROMTEXT_COUNTER, "Things.\nMore \\ things.");
    for (uint64_t v = 0; v < 20; v++) {
        char value[8];
        snprintf(value, sizeof(value), "%u", (unsigned)v);
        l[1].value = value;
        promtext_write_counter(w, l, 2, v * 1000003);
    }
    promtext_write_family(w, "x_open", PROMTEXT_GAUGE, NULL);
    promtext_write_gauge(w, l, 1, 0.25);
    promtext_write_family(w, "x_seconds", PROMTEXT_HISTOGRAM, "Latency.");
    promtext_write_histogram(w, l, 1, &h);
    return w->error == NULL ? 0 : -1;
}

/* An output that fails at any byte stops the writer: -1, "output failed", no call to the
 * output after the failure, never a crash. */
START_TEST(test_promtext_output_fails)
{
    struct promtext_buf whole = {0};
    struct promtext_writer w;

    promtext_writer_init(&w, promtext_buf_append, &whole);
    ck_assert_int_eq(test_promtext_sample_text(&w), 0);
    free(promparse_ok(&whole));
    for (size_t budget = 0; budget < whole.len; budget++) {
        struct failing_sink s = {.budget = budget};
        promtext_writer_init(&w, failing_sink_write, &s);
        ck_assert_int_eq(test_promtext_sample_text(&w), -1);
        ck_assert_str_eq(w.error, "output failed");
        ck_assert(s.failed);
        ck_assert_uint_le(s.taken, budget);
        ck_assert_uint_eq(s.calls_after, 0);
    }
    {
        struct failing_sink s = {.budget = whole.len};
        promtext_writer_init(&w, failing_sink_write, &s);
        ck_assert_int_eq(test_promtext_sample_text(&w), 0);
        ck_assert(!s.failed);
        ck_assert_uint_eq(s.taken, whole.len);
    }
    promtext_buf_reset(&whole);
}
END_TEST

/* The buffer grows to its bound and no further; what it held stays. */
START_TEST(test_promtext_buf_bound)
{
    struct promtext_buf whole = {0}, small = {.max_bytes = 100};
    struct promtext_writer w;

    promtext_writer_init(&w, promtext_buf_append, &whole);
    ck_assert_int_eq(test_promtext_sample_text(&w), 0);
    ck_assert_uint_gt(whole.len, 100);
    promtext_writer_init(&w, promtext_buf_append, &small);
    ck_assert_int_eq(test_promtext_sample_text(&w), -1);
    ck_assert_uint_le(small.len, 100);
    ck_assert_uint_le(small.cap, 101);
    ck_assert(memcmp(small.data, whole.data, small.len) == 0);
    ck_assert_uint_eq(strlen(small.data), small.len);
    promtext_buf_reset(&small);
    ck_assert_ptr_null(small.data);
    ck_assert_uint_eq(small.max_bytes, 100);
    small.max_bytes = whole.len;
    promtext_writer_init(&w, promtext_buf_append, &small);
    ck_assert_int_eq(test_promtext_sample_text(&w), 0);
    ck_assert_str_eq(small.data, whole.data);
    ck_assert_int_eq(promtext_buf_append(&small, "x", 1), -1);
    ck_assert_int_eq(promtext_buf_append(&small, "", 0), 0);
    ck_assert_uint_eq(small.len, whole.len);
    ck_assert_int_eq(promtext_buf_append(&small, "x", SIZE_MAX), -1);
    promtext_buf_reset(&small);
    promtext_buf_reset(&whole);
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_promtext_suite(void)
{
    Suite *s = suite_create("promtext");
    TCase *parser = tcase_create("parser");
    TCase *writer = tcase_create("writer");
    TCase *output = tcase_create("output");

    tcase_add_loop_test(parser, test_promtext_parser_refuses, 0, N(parser_bad_cases));
    suite_add_tcase(s, parser);
    tcase_add_loop_test(writer, test_promtext_escape, 0, N(escape_cases));
    tcase_add_loop_test(writer, test_promtext_number, 0, N(number_cases));
    tcase_add_test(writer, test_promtext_values);
    tcase_add_loop_test(writer, test_promtext_misuse, 0, N(misuse_cases));
    tcase_add_loop_test(writer, test_promtext_histogram, 0, N(histogram_cases));
    tcase_add_test(writer, test_promtext_histogram_no_bounds);
    tcase_add_test(writer, test_promtext_bad_buckets);
    suite_add_tcase(s, writer);
    tcase_add_test(output, test_promtext_output_fails);
    tcase_add_test(output, test_promtext_buf_bound);
    suite_add_tcase(s, output);
    return s;
}

CHECK_MAIN(test_promtext_suite)
