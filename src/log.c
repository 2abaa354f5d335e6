/*
 * log.c - levelled, one-line-per-event logging: text or JSON, to stderr, a file or syslog.
 * A line is built in a stack buffer and written with one write(2) (or one syslog(3)
 * call), so it is never split; over-long lines are cut, never wrapped. Any thread may log:
 * nothing shared is written while lines are, but for the descriptor that log_reopen
 * replaces in place. log_set_level and log_configure are for before the workers start.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "logesc.h"
#include "ratelimit.h"

#define LOG_LINE_MAX 4096

/* Worker threads read these for every line while the main thread may change them (a
 * reload's log section): atomic, so each read sees an old or a new value, never a torn
 * one. A line written while they change may use the old target once. */
static _Atomic enum log_level log_level = LOG_LEVEL_INFO;
static _Atomic enum log_target log_target = LOG_TARGET_STDERR;
static _Atomic enum log_format log_format = LOG_FORMAT_TEXT;
static _Atomic int log_fd = STDERR_FILENO;
/* The descriptor of the log file, once there is one: never closed while the daemon runs,
 * only replaced in place (dup2), so a writer that read log_fd just before a change
 * never writes to a closed or reused number. Closed by log_close at exit. */
static int log_file_fd = -1;
static char *log_file; /* LOG_TARGET_FILE: its path, for log_reopen; main thread only */
static bool log_level_fixed; /* the command line set the level: the config's is ignored */

static const char *const log_level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

static const int log_syslog_priorities[] = {
    [LOG_LEVEL_ERROR] = LOG_ERR,
    [LOG_LEVEL_WARN] = LOG_WARNING,
    [LOG_LEVEL_INFO] = LOG_INFO,
    [LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

/* A line under construction. Pieces of structure go in whole or not at all, and strings
 * are cut at a character boundary with room left for their closing quote, so a line
 * that reaches LOG_LINE_MAX is shorter, never malformed (a JSON line still parses). */
struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
    size_t reserve; /* kept free at the end: the '\n' (or NUL), and "}" in JSON */
};

static size_t log_room(const struct log_line *l)
{
    return sizeof(l->buf) - l->reserve - l->len;
}

/* Appends <n> bytes at <s> if they all fit; returns whether they did. */
static bool log_append(struct log_line *l, const char *s, size_t n)
{
    if (n > log_room(l))
        return false;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

static bool log_appendf(struct log_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool log_appendf(struct log_line *l, const char *fmt, ...)
{
    char piece[128];
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vsnprintf(piece, sizeof(piece), fmt, ap);
    va_end(ap);
    return r >= 0 && (size_t)r < sizeof(piece) && log_append(l, piece, (size_t)r);
}

/* Appends <s> as a JSON string, quotes included (logesc_json: valid UTF-8 whatever <s>
 * holds), cut so that <after> more bytes still fit. Returns false if not even "" fit. */
static bool log_append_json(struct log_line *l, const char *s, size_t after)
{
    size_t room = log_room(l);

    if (room < 2 + after)
        return false;
    l->buf[l->len++] = '"';
    l->len += logesc_json(l->buf + l->len, room - 2 - after, s, strlen(s), NULL);
    l->buf[l->len++] = '"';
    return true;
}

static void log_begin(struct log_line *l, enum log_level level)
{
    struct timespec ts;
    struct tm tm;
    char when[32];

    l->len = 0;
    l->reserve = log_format == LOG_FORMAT_JSON ? 2 : 1;
    if (log_target == LOG_TARGET_SYSLOG && log_format == LOG_FORMAT_TEXT)
        return; /* syslog stamps time and priority itself */
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    if (log_format == LOG_FORMAT_JSON)
        log_appendf(l, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\"", when, ts.tv_nsec / 1000000L,
                    log_level_names[level]);
    else
        log_appendf(l, "%s.%03ldZ %s ", when, ts.tv_nsec / 1000000L, log_level_names[level]);
}

static void log_end(struct log_line *l, enum log_level level)
{
    if (log_format == LOG_FORMAT_JSON)
        l->buf[l->len++] = '}';
    if (log_target == LOG_TARGET_SYSLOG) {
        l->buf[l->len] = '\0';
        syslog(log_syslog_priorities[level], "%s", l->buf);
        return;
    }
    l->buf[l->len++] = '\n';
    if (write(log_fd, l->buf, l->len) < 0) {
        /* Nowhere left to report a failing log. */
    }
}

void log_set_level(enum log_level level)
{
    log_level = level;
}

bool log_enabled(enum log_level level)
{
    return level <= log_level;
}

static int log_open_file(const char *file, char *err, size_t err_len)
{
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

    if (fd < 0 && err != NULL)
        snprintf(err, err_len, "open %s: %s", file, strerror(errno));
    return fd;
}

int log_configure(enum log_target target, enum log_format format, const char *file, char *err,
                  size_t err_len)
{
    int fd = STDERR_FILENO;
    char *copy = NULL;

    if (target == LOG_TARGET_FILE) {
        copy = strdup(file);
        if (copy == NULL) {
            snprintf(err, err_len, "log file %s: out of memory", file);
            return -1;
        }
        fd = log_open_file(file, err, err_len);
        if (fd < 0) {
            free(copy);
            return -1;
        }
        if (log_file_fd < 0) {
            log_file_fd = fd;
        } else if (dup2(fd, log_file_fd) < 0) {
            snprintf(err, err_len, "dup2 for %s: %s", file, strerror(errno));
            close(fd);
            free(copy);
            return -1;
        } else {
            close(fd);
        }
        fd = log_file_fd;
    }
    if (log_target == LOG_TARGET_SYSLOG && target != LOG_TARGET_SYSLOG)
        closelog();
    if (target == LOG_TARGET_SYSLOG && log_target != LOG_TARGET_SYSLOG)
        openlog("wsbridge", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_fd = fd;
    log_format = format;
    log_target = target;
    free(log_file);
    log_file = copy;
    return 0;
}

void log_override_level(enum log_level level)
{
    log_level = level;
    log_level_fixed = true;
}

int log_apply(const struct config_log *cfg, char *err, size_t err_len)
{
    static const enum log_target targets[] = {
        [CONFIG_LOG_STDERR] = LOG_TARGET_STDERR,
        [CONFIG_LOG_SYSLOG] = LOG_TARGET_SYSLOG,
        [CONFIG_LOG_FILE] = LOG_TARGET_FILE,
    };
    static const enum log_level levels[] = {
        [CONFIG_LOG_ERROR] = LOG_LEVEL_ERROR,
        [CONFIG_LOG_WARN] = LOG_LEVEL_WARN,
        [CONFIG_LOG_INFO] = LOG_LEVEL_INFO,
        [CONFIG_LOG_DEBUG] = LOG_LEVEL_DEBUG,
    };
    enum log_format format = cfg->format == CONFIG_LOG_JSON ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT;

    if (log_configure(targets[cfg->target], format, cfg->file, err, err_len) < 0)
        return -1;
    if (!log_level_fixed)
        log_level = levels[cfg->level];
    return 0;
}

int log_reopen(void)
{
    char err[512];
    int fd;

    if (log_target != LOG_TARGET_FILE)
        return 0;
    fd = log_open_file(log_file, err, sizeof(err));
    if (fd < 0) {
        log_msg(LOG_LEVEL_ERROR, "reopening the log: %s; keeping the old file", err);
        return -1;
    }
    /* Worker threads write to log_fd meanwhile: the new file takes over the same number in
     * one step (dup2 is atomic), so a writer gets the old file or the new one, never a
     * closed or reused descriptor. */
    if (dup2(fd, log_fd) < 0) {
        snprintf(err, sizeof(err), "dup2: %s", strerror(errno));
        close(fd);
        log_msg(LOG_LEVEL_ERROR, "reopening the log: %s; keeping the old file", err);
        return -1;
    }
    close(fd);
    return 0;
}

void log_close(void)
{
    if (log_target == LOG_TARGET_SYSLOG)
        closelog();
    log_fd = STDERR_FILENO;
    log_target = LOG_TARGET_STDERR;
    if (log_file_fd >= 0)
        close(log_file_fd);
    log_file_fd = -1;
    free(log_file);
    log_file = NULL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    struct log_line l;
    char msg[LOG_LINE_MAX];
    va_list ap;
    int n;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    log_begin(&l, level);
    if (log_format == LOG_FORMAT_JSON) {
        size_t start = l.len;

        if (!log_append(&l, ",\"msg\":", 7) || !log_append_json(&l, msg, 0))
            l.len = start;
    } else {
        /* The daemon's own quotes stay; a control byte or broken UTF-8 from a peer
         * string a caller did not log_quote still cannot split or garble the line. */
        l.len += logesc_text(l.buf + l.len, log_room(&l), msg, strlen(msg), 0, NULL);
    }
    log_end(&l, level);
}

const char *log_quote(char *buf, size_t cap, const char *s)
{
    size_t n;

    if (cap == 0)
        return "";
    if (s == NULL)
        s = "-";
    n = logesc_text_value(buf, cap - 1, s, strlen(s));
    buf[n] = '\0';
    return buf;
}

/* Appends one field of an event, whole or not at all: a string value may be cut, the
 * structure around it never is. */
static void log_append_field(struct log_line *l, const struct log_field *f)
{
    size_t start = l->len;
    const char *str = f->str != NULL ? f->str : "";
    bool ok;

    if (log_format == LOG_FORMAT_JSON) {
        ok = log_append(l, ",", 1) && log_append_json(l, f->key, 1) && log_append(l, ":", 1);
        if (ok && f->type == LOG_FIELD_U64)
            ok = log_appendf(l, "%llu", (unsigned long long)f->u64);
        else if (ok)
            ok = log_append_json(l, str, 0);
    } else {
        ok = log_appendf(l, " %s=", f->key);
        if (ok && f->type == LOG_FIELD_U64) {
            ok = log_appendf(l, "%llu", (unsigned long long)f->u64);
        } else if (ok) {
            size_t n = logesc_text_value(l->buf + l->len, log_room(l), str, strlen(str));

            l->len += n;
            ok = n > 0;
        }
    }
    if (!ok)
        l->len = start;
}

void log_event(enum log_level level, const char *event, const struct log_field *fields, size_t n)
{
    struct log_line l;

    if (!log_enabled(level))
        return;
    log_begin(&l, level);
    if (log_format == LOG_FORMAT_JSON) {
        size_t start = l.len;

        if (!log_append(&l, ",\"event\":", 9) || !log_append_json(&l, event, 0))
            l.len = start;
    } else {
        l.len += logesc_text(l.buf + l.len, log_room(&l), event, strlen(event), 0, NULL);
    }
    for (size_t i = 0; i < n; i++)
        log_append_field(&l, &fields[i]);
    log_end(&l, level);
}

void log_msg_limited(struct ratelimit *rl, enum log_level level, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    struct timespec now;
    unsigned long suppressed;
    va_list ap;

    if (!log_enabled(level))
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!ratelimit_allow(rl, (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000,
                         &suppressed))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (suppressed > 0)
        log_msg(level, "%s (%lu similar line%s suppressed)", msg, suppressed,
                suppressed == 1 ? "" : "s");
    else
        log_msg(level, "%s", msg);
}
