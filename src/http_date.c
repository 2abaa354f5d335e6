/*
 * http_date.c - HTTP-date, RFC 7231 §7.1.1.1: the IMF-fixdate writer for Date and
 * Last-Modified, and the reader of the three forms for If-Modified-Since. No I/O, no
 * clock. What a date decides (a 304) is http_cond.c's.
 */
#include "http_date.h"

#include <stdio.h>
#include <string.h>

static const char *const http_date_days[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const http_date_months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Writes <t> as an IMF-fixdate into <out> (HTTP_DATE_LEN bytes): see http_date.h. */
const char *http_date_write(time_t t, char *out)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        memset(&tm, 0, sizeof(tm)); /* outside what the format can say: 1900 */
    /* The remainders change nothing for a real date; they show the compiler each field's
     * width, so it can prove the line fits. */
    snprintf(out, HTTP_DATE_LEN, "%s, %02u %s %04u %02u:%02u:%02u GMT",
             http_date_days[(unsigned)tm.tm_wday % 7], (unsigned)tm.tm_mday % 100,
             http_date_months[(unsigned)tm.tm_mon % 12], (unsigned)(tm.tm_year + 1900) % 10000,
             (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100);
    return out;
}

/* Reads an HTTP-date in any of its three forms: see http_date.h. */
bool http_date_parse(const char *s, time_t *out)
{
    char wday[10], mon[4];
    int day, year, hour, min, sec, month, n = 0;
    struct tm tm = {0};
    time_t t;

    if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &day, mon, &year, &hour,
               &min, &sec, &n) == 7 &&
        n > 0 && s[n] == '\0') {
        /* Sun, 06 Nov 1994 08:49:37 GMT */
    } else if (n = 0, sscanf(s, "%9[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wday, &day, mon,
                             &year, &hour, &min, &sec, &n) == 7 &&
                          n > 0 && s[n] == '\0') {
        /* Sunday, 06-Nov-94 08:49:37 GMT. RFC 7231 puts a two-digit year that looks more
         * than 50 years ahead in the past century; a fixed pivot at 1970 does that for
         * every date a file can have (none is before the epoch). */
        year += year < 70 ? 2000 : 1900;
    } else if (n = 0, sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday, mon, &day,
                             &hour, &min, &sec, &year, &n) == 7 &&
                          n > 0 && s[n] == '\0') {
        /* Sun Nov  6 08:49:37 1994 */
    } else {
        return false;
    }
    for (month = 0; month < 12; month++)
        if (strcmp(mon, http_date_months[month]) == 0)
            break;
    if (month == 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 || year < 1970)
        return false;
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = t;
    return true;
}
