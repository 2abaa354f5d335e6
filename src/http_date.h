/*
 * http_date.h - HTTP-date (RFC 7231 §7.1.1.1): written as an IMF-fixdate, read in all
 * three forms a recipient must accept. No I/O and no clock: the caller gives the time.
 */
#ifndef WSB_HTTP_DATE_H
#define WSB_HTTP_DATE_H

#include <stdbool.h>
#include <time.h>

#define HTTP_DATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL */

/* Writes <t> (seconds since the epoch, UTC) as an IMF-fixdate into <out>, which must hold
 * HTTP_DATE_LEN bytes, and returns <out>. Day and month names come from tables, so no
 * locale changes them. A time whose year is outside 0..9999 (which the format cannot
 * say) is written as "Sun, 00 Jan 1900 00:00:00 GMT". */
const char *http_date_write(time_t t, char *out);

/* Reads the HTTP-date <s> (NUL-terminated, nothing before or after it) in any of the
 * three forms: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday,
 * 06-Nov-94 08:49:37 GMT" (a two-digit year below 70 is 20xx, else 19xx) and asctime
 * "Sun Nov  6 08:49:37 1994". Month names are case-sensitive; the weekday is not
 * checked. Returns true and sets *<out>, or false (and leaves *<out>) for anything else:
 * trailing bytes, an unknown month, day outside 1..31, hour over 23, minute over 59,
 * second over 60, or a year before 1970. */
bool http_date_parse(const char *s, time_t *out);

#endif
