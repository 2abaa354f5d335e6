/*
 * log.h - one line per event, to stderr, a file (reopened on request, for logrotate) or
 * syslog, as text ("<UTC time> <level> <message>") or JSON (one object per line).
 * Events with fields (the access line) keep their fields as keys in JSON. Whatever the
 * strings hold, a line is one line: text has no raw control byte and its quoted values
 * are escaped; JSON is valid UTF-8, bytes that are not being \ufffd (see logesc.h).
 */
#ifndef WSB_LOG_H
#define WSB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_log;
struct ratelimit;

enum log_level {
    LOG_LEVEL_ERROR = 0, /* something failed that an operator must see */
    LOG_LEVEL_WARN,      /* refused or odd input, resource trouble */
    LOG_LEVEL_INFO,      /* start, stop, access lines */
    LOG_LEVEL_DEBUG,     /* per-event detail, -v */
};

enum log_target {
    LOG_TARGET_STDERR = 0,
    LOG_TARGET_FILE,   /* appended to; log_reopen() opens it again */
    LOG_TARGET_SYSLOG, /* facility daemon, ident "wsbridge" */
};

enum log_format {
    LOG_FORMAT_TEXT = 0,
    LOG_FORMAT_JSON,
};

enum log_field_type {
    LOG_FIELD_STR = 0, /* any bytes: bare or quoted and escaped in text, escaped in JSON */
    LOG_FIELD_U64,
};

struct log_field {
    const char *key;
    enum log_field_type type;
    const char *str; /* LOG_FIELD_STR */
    uint64_t u64;    /* LOG_FIELD_U64 */
};

/* Lines above <level> are dropped. Default: LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);

/* True if a line at <level> would be written: lets callers skip building one. */
bool log_enabled(enum log_level level);

/* Sends lines to <target> in <format>; <file> names the file for LOG_TARGET_FILE. Returns
 * 0, or -1 with "open FILE: why" in <err> (the previous target stays then). */
int log_configure(enum log_target target, enum log_format format, const char *file, char *err,
                  size_t err_len);

/* The level given on the command line (-v: debug, -q: warn): set now, and kept by every
 * later log_apply whatever the configuration says. */
void log_override_level(enum log_level level);

/* Applies the "log:" settings <cfg> of a loaded configuration: target, file and format
 * (as log_configure), then the level unless log_override_level set one. Called at start
 * and again with a reloaded configuration's settings; the file is opened anew each time,
 * even under the same name. Returns 0, or -1 with "open FILE: why" in <err>: the previous
 * target, format and level then stay in use. */
int log_apply(const struct config_log *cfg, char *err, size_t err_len);

/* Opens the log file again (after logrotate moved it). Returns 0 or -1; on failure the old
 * descriptor stays in use and an error line is written to it. No-op for other targets. */
int log_reopen(void);

/* Closes the file or syslog connection (at exit, so leak checkers see nothing open). */
void log_close(void);

/* Writes one line at <level> with the printf-formatted message. One write(2) per line so
 * that concurrent writers do not interleave. The message's control bytes and invalid
 * UTF-8 are escaped, but its quotes are not (they are the caller's): every string a peer
 * chose goes in through log_quote (LOG_Q), so that it cannot fake a key or a quote. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Longest quoted value LOG_Q makes, NUL included; longer peer strings are cut. */
#define LOG_QUOTE_MAX 1024

/* Writes peer-supplied <s> (NULL: "-") as one text-format value into <buf> of <cap>
 * bytes, NUL-terminated, and returns <buf>: bare if it is one plain ASCII word, else in
 * double quotes with quotes, backslashes, control bytes and invalid UTF-8 escaped
 * (logesc_text_value). For log_msg arguments. */
const char *log_quote(char *buf, size_t cap, const char *s);

/* log_quote into a buffer that lives until the end of the enclosing block, so a call
 * site changes by one word: log_msg(..., "%s", LOG_Q(req->url)). */
#define LOG_Q(s) log_quote((char[LOG_QUOTE_MAX]){0}, LOG_QUOTE_MAX, (s))

/* Writes one event named <event> with <n> fields: text "... info access client=1.2.3.4:5
 * route=/echo ...", JSON {"time":..,"level":"info","event":"access","client":"..",..}. */
void log_event(enum log_level level, const char *event, const struct log_field *fields, size_t n);

/* As log_msg, for a line a peer could make the daemon repeat at will: at most one per
 * interval of <rl> (one per call site, shared by every thread, e.g. a static
 * RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS)); the others are counted, and the next line
 * written ends with "(N similar lines suppressed)". */
void log_msg_limited(struct ratelimit *rl, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_LIMITED_INTERVAL_MS 1000 /* one line per second per kind */

#endif
