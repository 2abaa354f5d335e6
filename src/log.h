/*
 * log.h - levelled log lines on stderr: "<UTC timestamp> <level> <message>".
 * One access line per WebSocket connection is written by wsclient.c through log_msg.
 */
#ifndef WSB_LOG_H
#define WSB_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_ERROR = 0, /* something failed that an operator must see */
    LOG_LEVEL_WARN,      /* refused or odd input, resource trouble */
    LOG_LEVEL_INFO,      /* start, stop, access lines */
    LOG_LEVEL_DEBUG,     /* per-event detail, -v */
};

/* Lines above <level> are dropped. Default: LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);

/* True if a line at <level> would be written: lets callers skip building one. */
bool log_enabled(enum log_level level);

/* Writes one line at <level>: timestamp, level word, then the printf-formatted text.
 * The line is written with a single write(2) so concurrent writers do not interleave. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
