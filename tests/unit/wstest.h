/*
 * wstest.h - helpers shared by the codec's unit tests (test_ws_frame.c, test_ws_msg.c):
 * EXPECT for hot loops, a growing string for event logs, and hex fixtures.
 */
#ifndef WSB_TEST_WSTEST_H
#define WSB_TEST_WSTEST_H

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ck_assert for hot loops: ck_assert reports every check that passes to the runner (one
 * write each, millions here); these cost nothing until they fail. */
#define EXPECT(cond) EXPECT_MSG(cond, "%s", #cond)
#define EXPECT_MSG(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

/* A growing string for event logs. */
struct sbuf {
    char *s;
    size_t len;
    size_t cap;
};

__attribute__((format(printf, 2, 3))) static inline void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    EXPECT(n >= 0);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        EXPECT(b->s != NULL);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Logs <len> bytes as a quoted string with \xNN escapes, or as #len when long. */
static inline void sb_bytes(struct sbuf *b, const uint8_t *p, size_t len)
{
    if (len > 40) {
        sb_printf(b, "#%zu", len);
        return;
    }
    sb_printf(b, "\"");
    for (size_t i = 0; i < len; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '"' && p[i] != '\\')
            sb_printf(b, "%c", p[i]);
        else
            sb_printf(b, "\\x%02x", p[i]);
    }
    sb_printf(b, "\"");
}

/* Value of hex digit <c>; fails the test on anything else. */
static inline int hex_digit(char c)
{
    const char *digits = "0123456789abcdef";
    const char *at = strchr(digits, c | 0x20);

    EXPECT_MSG(c != '\0' && at != NULL, "bad hex digit '%c'", c);
    return (int)(at - digits);
}

/* Parses hex digit pairs in <hex> (NULL: none; spaces ignored) into <out>; returns the
 * byte count. */
static inline size_t hex_decode(const char *hex, uint8_t *out)
{
    size_t n = 0;

    while (hex != NULL && *hex != '\0') {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        out[n++] = (uint8_t)(hex_digit(hex[0]) << 4 | hex_digit(hex[1]));
        hex += 2;
    }
    return n;
}

#endif
