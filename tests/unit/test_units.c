/*
 * test_units.c - unit tests for units.c: every duration and size form, accepted and
 * refused, at and past the 32- and 64-bit limits; why a value is refused; counts without
 * units; and values written back in their largest exact unit.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "units.h"

struct duration_case {
    const char *in;
    int rc;
    unsigned ms;
};

static const struct duration_case duration_cases[] = {
    {"0", 0, 0},
    {"00", 0, 0},
    {"0ms", 0, 0},
    {"0s", 0, 0},
    {"1ms", 0, 1},
    {"500ms", 0, 500},
    {"30s", 0, 30000},
    {"5m", 0, 300000},
    {"1h", 0, 3600000},
    {"1193h", 0, 4294800000u},
    {"4294967295ms", 0, UINT_MAX},
    {"4294967s", 0, 4294967000u},
    {"4294968s", -1, 0},
    {"4294967296ms", -1, 0},
    {"1194h", -1, 0},
    {"99999999999999999999999h", -1, 0},
    {"30", -1, 0},
    {"1", -1, 0},
    {"", -1, 0},
    {"s", -1, 0},
    {"ms", -1, 0},
    {"-1s", -1, 0},
    {"+1s", -1, 0},
    {" 1s", -1, 0},
    {"1s ", -1, 0},
    {"1 s", -1, 0},
    {"1.5s", -1, 0},
    {"1S", -1, 0},
    {"1sec", -1, 0},
    {"1d", -1, 0},
    {"1h30m", -1, 0},
    {"0x10s", -1, 0},
    {"3x", -1, 0},
};

START_TEST(test_units_duration)
{
    const struct duration_case *t = &duration_cases[_i];
    unsigned ms = 12345;

    ck_assert_msg(units_parse_duration_ms(t->in, &ms) == t->rc, "\"%s\"", t->in);
    ck_assert_uint_eq(ms, t->rc == 0 ? t->ms : 12345); /* untouched on failure */
}
END_TEST

struct size_case {
    const char *in;
    int rc;
    uint64_t bytes;
};

static const struct size_case size_cases[] = {
    {"0", 0, 0},
    {"512", 0, 512},
    {"512B", 0, 512},
    {"0B", 0, 0},
    {"64KiB", 0, 65536},
    {"16MiB", 0, 16777216},
    {"1GiB", 0, 1073741824},
    {"64KB", 0, 64000},
    {"1MB", 0, 1000000},
    {"2GB", 0, 2000000000},
    {"18446744073709551615", 0, UINT64_MAX},
    {"18446744073709551615B", 0, UINT64_MAX},
    {"17179869183GiB", 0, 17179869183ull << 30},
    {"18446744073709551616", -1, 0},
    {"17179869184GiB", -1, 0},
    {"99999999999999999999999", -1, 0},
    {"", -1, 0},
    {"KiB", -1, 0},
    {"-1", -1, 0},
    {"+1", -1, 0},
    {" 1", -1, 0},
    {"1 KiB", -1, 0},
    {"1.5MiB", -1, 0},
    {"1kib", -1, 0},
    {"1kb", -1, 0},
    {"1K", -1, 0},
    {"1TiB", -1, 0},
    {"1b", -1, 0},
    {"1MB5", -1, 0},
};

START_TEST(test_units_size)
{
    const struct size_case *t = &size_cases[_i];
    uint64_t bytes = 12345;

    ck_assert_msg(units_parse_size(t->in, &bytes) == t->rc, "\"%s\"", t->in);
    ck_assert_uint_eq(bytes, t->rc == 0 ? t->bytes : 12345);
}
END_TEST

START_TEST(test_units_null)
{
    unsigned ms;
    uint64_t bytes;

    ck_assert_int_eq(units_parse_duration_ms(NULL, &ms), -1);
    ck_assert_int_eq(units_parse_size(NULL, &bytes), -1);
}
END_TEST

struct result_case {
    enum units_kind kind;
    const char *in;
    uint64_t max;
    enum units_result want;
    uint64_t value; /* UNITS_OK: what is stored */
};

/* Why a value is refused, which the config messages tell apart; counts take no unit. */
static const struct result_case result_cases[] = {
    {UNITS_DURATION_MS, "30s", UINT_MAX, UNITS_OK, 30000},
    {UNITS_DURATION_MS, "0", UINT_MAX, UNITS_OK, 0},
    {UNITS_DURATION_MS, "30", UINT_MAX, UNITS_NO_UNIT, 0},
    {UNITS_DURATION_MS, "30d", UINT_MAX, UNITS_UNIT, 0},
    {UNITS_DURATION_MS, "30KiB", UINT_MAX, UNITS_UNIT, 0},
    {UNITS_DURATION_MS, "s30", UINT_MAX, UNITS_SYNTAX, 0},
    {UNITS_DURATION_MS, "", UINT_MAX, UNITS_SYNTAX, 0},
    {UNITS_DURATION_MS, "2s", 1999, UNITS_RANGE, 0},
    {UNITS_DURATION_MS, "2s", 2000, UNITS_OK, 2000},
    {UNITS_SIZE_BYTES, "64KiB", UINT64_MAX, UNITS_OK, 65536},
    {UNITS_SIZE_BYTES, "64", UINT64_MAX, UNITS_OK, 64},
    {UNITS_SIZE_BYTES, "64s", UINT64_MAX, UNITS_UNIT, 0},
    {UNITS_SIZE_BYTES, "1KiB", 1023, UNITS_RANGE, 0},
    {UNITS_SIZE_BYTES, "1024", 1023, UNITS_RANGE, 0},
    {UNITS_SIZE_BYTES, "99999999999999999999", UINT64_MAX, UNITS_RANGE, 0},
    {UNITS_COUNT, "100", UINT_MAX, UNITS_OK, 100},
    {UNITS_COUNT, "0", UINT_MAX, UNITS_OK, 0},
    {UNITS_COUNT, "100B", UINT_MAX, UNITS_UNIT, 0},
    {UNITS_COUNT, "1s", UINT_MAX, UNITS_UNIT, 0},
    {UNITS_COUNT, "-1", UINT_MAX, UNITS_SYNTAX, 0},
    {UNITS_COUNT, "4294967296", UINT_MAX, UNITS_RANGE, 0},
    {UNITS_COUNT, "4294967295", UINT_MAX, UNITS_OK, UINT_MAX},
};

START_TEST(test_units_result)
{
    const struct result_case *t = &result_cases[_i];
    uint64_t v = 12345;

    ck_assert_msg(units_parse(t->kind, t->in, t->max, &v) == t->want, "case %d \"%s\"", _i, t->in);
    ck_assert_uint_eq(v, t->want == UNITS_OK ? t->value : 12345);
}
END_TEST

struct format_case {
    enum units_kind kind;
    uint64_t v;
    const char *want;
};

/* The largest unit that divides exactly; sizes never in decimal units. */
static const struct format_case format_cases[] = {
    {UNITS_DURATION_MS, 0, "0"},
    {UNITS_DURATION_MS, 1, "1ms"},
    {UNITS_DURATION_MS, 1500, "1500ms"},
    {UNITS_DURATION_MS, 90000, "90s"},
    {UNITS_DURATION_MS, 120000, "2m"},
    {UNITS_DURATION_MS, 3600000, "1h"},
    {UNITS_DURATION_MS, UINT_MAX, "4294967295ms"},
    {UNITS_SIZE_BYTES, 0, "0"},
    {UNITS_SIZE_BYTES, 1000, "1000B"},
    {UNITS_SIZE_BYTES, 4096, "4KiB"},
    {UNITS_SIZE_BYTES, 1536, "1536B"},
    {UNITS_SIZE_BYTES, 1048576, "1MiB"},
    {UNITS_SIZE_BYTES, 3ull << 30, "3GiB"},
    {UNITS_SIZE_BYTES, UINT64_MAX, "18446744073709551615B"},
    {UNITS_COUNT, 0, "0"},
    {UNITS_COUNT, 4096, "4096"},
};

START_TEST(test_units_format)
{
    const struct format_case *t = &format_cases[_i];
    char out[32], small[4];
    uint64_t back = 0;

    ck_assert_str_eq(units_format(t->kind, t->v, out, sizeof(out)), t->want);
    /* what is written reads back as the same value */
    ck_assert_int_eq(units_parse(t->kind, out, UINT64_MAX, &back), UNITS_OK);
    ck_assert_uint_eq(back, t->v);
    /* a short buffer is cut, never overrun */
    ck_assert_uint_lt(strlen(units_format(t->kind, t->v, small, sizeof(small))), sizeof(small));
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("units");

    tcase_add_loop_test(tc, test_units_duration, 0, N(duration_cases));
    tcase_add_loop_test(tc, test_units_size, 0, N(size_cases));
    tcase_add_test(tc, test_units_null);
    tcase_add_loop_test(tc, test_units_result, 0, N(result_cases));
    tcase_add_loop_test(tc, test_units_format, 0, N(format_cases));
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_units_suite)
