/*
 * test_http_date.c - proves that http_date.c writes IMF-fixdates exactly (epoch, leap
 * day, before the epoch, the last second of 9999 and the fallback past it), reads the
 * three HTTP-date forms of RFC 7231 §7.1.1.1 to the right second (two-digit years on both
 * sides of the 1970 pivot), refuses a table of malformed dates without touching the
 * result, and reads back whatever it writes, in all three forms.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "http_date.h"

struct test_write_case {
    int64_t t;        /* seconds since the epoch */
    const char *text; /* the IMF-fixdate expected */
};

static const struct test_write_case test_write_cases[] = {
    {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
    {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"}, /* RFC 7231's example */
    {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
    {2147483648, "Tue, 19 Jan 2038 03:14:08 GMT"}, /* past 32-bit time_t */
    {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
    {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
    /* a year the format cannot say: the fixed, recognisably wrong date */
    {253402300800, "Sun, 00 Jan 1900 00:00:00 GMT"},
    {-62167219201, "Sun, 00 Jan 1900 00:00:00 GMT"}, /* 31 Dec of year -1 */
};

START_TEST(test_http_date_write_cases)
{
    const struct test_write_case *c = &test_write_cases[_i];
    char out[HTTP_DATE_LEN + 8];

    memset(out, 'x', sizeof(out));
    ck_assert_ptr_eq(http_date_write((time_t)c->t, out), out);
    ck_assert_str_eq(out, c->text);
    ck_assert_uint_eq(strlen(out), HTTP_DATE_LEN - 1);
    ck_assert_int_eq(out[HTTP_DATE_LEN], 'x'); /* nothing written past HTTP_DATE_LEN */
}
END_TEST

struct test_parse_case {
    const char *name;
    const char *text;
    bool ok;   /* read as a date */
    int64_t t; /* then this second */
};

static const struct test_parse_case test_parse_cases[] = {
    /* the three forms, RFC 7231 §7.1.1.1's own examples */
    {"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", true, 784111777},
    {"RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", true, 784111777},
    {"asctime", "Sun Nov  6 08:49:37 1994", true, 784111777},
    {"asctime, two-digit day", "Wed Dec 31 23:59:59 2025", true, 1767225599},
    {"the epoch", "Thu, 01 Jan 1970 00:00:00 GMT", true, 0},
    {"leap day", "Tue, 29 Feb 2000 00:00:00 GMT", true, 951782400},
    {"year 9999", "Fri, 31 Dec 9999 23:59:59 GMT", true, 253402300799},
    {"leap second, as the next one", "Sat, 31 Dec 2016 23:59:60 GMT", true, 1483228800},
    {"weekday is not checked", "Mon, 06 Nov 1994 08:49:37 GMT", true, 784111777},
    /* RFC 850 two-digit years: below 70 is 20xx, from 70 up 19xx */
    {"two-digit 70", "Thursday, 01-Jan-70 00:00:00 GMT", true, 0},
    {"two-digit 99", "Friday, 31-Dec-99 23:59:59 GMT", true, 946684799},
    {"two-digit 00", "Saturday, 01-Jan-00 00:00:00 GMT", true, 946684800},
    {"two-digit 69", "Tuesday, 01-Jan-69 00:00:00 GMT", true, 3124224000},
    /* refused */
    {"empty", "", false, 0},
    {"not a date", "yesterday", false, 0},
    {"ISO 8601", "1994-11-06T08:49:37Z", false, 0},
    {"unknown month", "Sun, 06 Foo 1994 08:49:37 GMT", false, 0},
    {"month in lower case", "Sun, 06 nov 1994 08:49:37 GMT", false, 0},
    {"month spelled out", "Sun, 06 November 1994 08:49:37 GMT", false, 0},
    {"day 0", "Sun, 00 Nov 1994 08:49:37 GMT", false, 0},
    {"day 32", "Sun, 32 Nov 1994 08:49:37 GMT", false, 0},
    {"asctime day 32", "Sun Nov 32 08:49:37 1994", false, 0},
    {"RFC 850 day 32", "Sunday, 32-Nov-94 08:49:37 GMT", false, 0},
    {"hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", false, 0},
    {"minute 60", "Sun, 06 Nov 1994 08:60:00 GMT", false, 0},
    {"second 61", "Sun, 06 Nov 1994 08:49:61 GMT", false, 0},
    {"year 1969", "Wed, 31 Dec 1969 23:59:59 GMT", false, 0},
    {"year 1969, earlier", "Mon, 01 Dec 1969 00:00:00 GMT", false, 0},
    {"year 1900", "Mon, 01 Jan 1900 00:00:00 GMT", false, 0},
    {"year 0", "Sat, 01 Jan 0000 00:00:00 GMT", false, 0},
    {"asctime two-digit year", "Sun Nov  6 08:49:37 94", false, 0},
    {"RFC 850 four-digit year", "Sunday, 06-Nov-1994 08:49:37 GMT", false, 0},
    {"five-digit year", "Sun, 06 Nov 19940 08:49:37 GMT", false, 0},
    {"trailing space", "Sun, 06 Nov 1994 08:49:37 GMT ", false, 0},
    {"trailing junk", "Sun, 06 Nov 1994 08:49:37 GMTx", false, 0},
    {"trailing junk, RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT;", false, 0},
    {"trailing junk, asctime", "Sun Nov  6 08:49:37 1994 GMT", false, 0},
    {"leading space", " Sun, 06 Nov 1994 08:49:37 GMT", false, 0},
    {"another zone", "Sun, 06 Nov 1994 08:49:37 UTC", false, 0},
    {"no zone", "Sun, 06 Nov 1994 08:49:37", false, 0},
    {"cut short", "Sun, 06 Nov 1994", false, 0},
    {"no seconds", "Sun, 06 Nov 1994 08:49 GMT", false, 0},
};

START_TEST(test_http_date_parse_cases)
{
    const struct test_parse_case *c = &test_parse_cases[_i];
    time_t t = (time_t)-12345;
    bool ok = http_date_parse(c->text, &t);

    ck_assert_msg(ok == c->ok, "%s: \"%s\" %s", c->name, c->text, ok ? "read" : "refused");
    if (c->ok)
        ck_assert_msg(t == (time_t)c->t, "%s: got %lld", c->name, (long long)t);
    else
        ck_assert_msg(t == (time_t)-12345, "%s: result touched", c->name);
}
END_TEST

static const char *const test_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};
static const char *const test_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Every date written reads back as the same second, and the same moment written in the
 * RFC 850 and asctime forms (made here from gmtime) reads back too. */
START_TEST(test_http_date_round_trip)
{
    char imf[HTTP_DATE_LEN], other[64];
    struct tm tm;
    time_t back;
    int n = 0;

    /* about every 37 days and a bit, 1970 to 9999, all times of day */
    for (int64_t t = 0; t <= 253402300799; t += 86400 * 37 + 4001, n++) {
        http_date_write((time_t)t, imf);
        ck_assert_msg(http_date_parse(imf, &back) && back == (time_t)t, "%s", imf);
        ck_assert_ptr_nonnull(gmtime_r(&(time_t){(time_t)t}, &tm));
        snprintf(other, sizeof(other), "%.3s %s %2d %02d:%02d:%02d %d", test_days[tm.tm_wday],
                 test_months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 tm.tm_year + 1900);
        ck_assert_msg(http_date_parse(other, &back) && back == (time_t)t, "%s", other);
        if (tm.tm_year >= 70 && tm.tm_year < 170) { /* the years two digits can say */
            snprintf(other, sizeof(other), "%s, %02d-%s-%02d %02d:%02d:%02d GMT",
                     test_days[tm.tm_wday], tm.tm_mday, test_months[tm.tm_mon], tm.tm_year % 100,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
            ck_assert_msg(http_date_parse(other, &back) && back == (time_t)t, "%s", other);
        }
    }
    ck_assert_int_gt(n, 70000);
}
END_TEST

#define TEST_N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_http_date_suite(void)
{
    Suite *s = suite_create("http_date");
    TCase *tc = tcase_create("http_date");

    tcase_add_loop_test(tc, test_http_date_write_cases, 0, TEST_N(test_write_cases));
    tcase_add_loop_test(tc, test_http_date_parse_cases, 0, TEST_N(test_parse_cases));
    tcase_add_test(tc, test_http_date_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_http_date_suite)
