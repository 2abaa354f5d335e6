/*
 * logesc.c - peer-supplied text (URLs, user names, SNI, certificate names, close reasons)
 * made safe for a log line, no I/O. JSON strings follow RFC 8259 §7 and are always valid
 * UTF-8 (RFC 3629 §4); the text format keeps one event on one line and its quoting
 * unambiguous. Both cut at character boundaries only, so a full line stays well formed.
 */
#include "logesc.h"

#include <stdint.h>
#include <string.h>

static const char logesc_hex[] = "0123456789abcdef";

/* Length (1-4) of the valid UTF-8 sequence (RFC 3629 §4) that starts <len> bytes at <p>,
 * with its code point in *<cp>; 0 if <p>[0] starts none (stray or missing continuation,
 * overlong, surrogate, above U+10FFFF, or cut short by <len>). */
static size_t logesc_utf8(const unsigned char *p, size_t len, uint32_t *cp)
{
    unsigned char b = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    uint32_t c;

    if (b <= 0x7F) {
        *cp = b;
        return 1;
    }
    if (b < 0xC2 || b > 0xF4)
        return 0;
    if (b <= 0xDF) {
        n = 2;
        c = b & 0x1Fu;
    } else if (b <= 0xEF) {
        n = 3;
        c = b & 0x0Fu;
        if (b == 0xE0)
            lo = 0xA0; /* overlong */
        else if (b == 0xED)
            hi = 0x9F; /* surrogates */
    } else {
        n = 4;
        c = b & 0x07u;
        if (b == 0xF0)
            lo = 0x90; /* overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i] < lo || p[i] > hi)
            return 0;
        c = (c << 6) | (p[i] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return n;
}

/* A control character in either form: C0, DEL, C1, and the two Unicode line breaks that
 * some viewers and JavaScript treat as newlines. */
static bool logesc_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

/* Copies <n> bytes at <s> to <out> if they fit in <cap> - *<pos>; returns false if not. */
static bool logesc_put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (n > cap - *pos)
        return false;
    memcpy(out + *pos, s, n);
    *pos += n;
    return true;
}

size_t logesc_json(char *out, size_t cap, const char *in, size_t len, size_t *used)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, pos = 0;

    while (i < len) {
        char esc[6];
        const char *piece = esc;
        size_t k, n;
        uint32_t cp;

        k = logesc_utf8(p + i, len - i, &cp);
        if (k == 0) {
            piece = "\\ufffd";
            n = 6;
            k = 1;
        } else if (cp == '"' || cp == '\\') {
            esc[0] = '\\';
            esc[1] = (char)cp;
            n = 2;
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            esc[0] = '\\';
            esc[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
            n = 2;
        } else if (logesc_is_control(cp)) {
            /* RFC 8259 §7: \uXXXX, four hex digits. */
            esc[0] = '\\';
            esc[1] = 'u';
            for (int d = 0; d < 4; d++)
                esc[2 + d] = logesc_hex[(cp >> (12 - 4 * d)) & 0xF];
            n = 6;
        } else {
            piece = in + i;
            n = k;
        }
        if (!logesc_put(out, cap, &pos, piece, n))
            break;
        i += k;
    }
    if (used != NULL)
        *used = i;
    return pos;
}

/* Writes the \xHH escapes of <n> bytes at <p>, whole or not at all. */
static bool logesc_put_hex(char *out, size_t cap, size_t *pos, const unsigned char *p, size_t n)
{
    char esc[16];

    for (size_t j = 0; j < n; j++) {
        esc[4 * j] = '\\';
        esc[4 * j + 1] = 'x';
        esc[4 * j + 2] = logesc_hex[p[j] >> 4];
        esc[4 * j + 3] = logesc_hex[p[j] & 0xF];
    }
    return logesc_put(out, cap, pos, esc, 4 * n);
}

size_t logesc_text(char *out, size_t cap, const char *in, size_t len, unsigned flags, size_t *used)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, pos = 0;

    while (i < len) {
        char esc[2] = {'\\', 0};
        size_t k;
        uint32_t cp;
        bool ok;

        k = logesc_utf8(p + i, len - i, &cp);
        if (k == 0) {
            k = 1;
            ok = logesc_put_hex(out, cap, &pos, p + i, 1);
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            esc[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
            ok = logesc_put(out, cap, &pos, esc, 2);
        } else if (logesc_is_control(cp)) {
            ok = logesc_put_hex(out, cap, &pos, p + i, k);
        } else if ((flags & LOGESC_QUOTES) && (cp == '"' || cp == '\\')) {
            esc[1] = (char)cp;
            ok = logesc_put(out, cap, &pos, esc, 2);
        } else {
            ok = logesc_put(out, cap, &pos, in + i, k);
        }
        if (!ok)
            break;
        i += k;
    }
    if (used != NULL)
        *used = i;
    return pos;
}

bool logesc_text_is_bare(const char *in, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];

        /* Non-ASCII is quoted too: U+00A0 and its kin look like the space that splits. */
        if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\' || c == '=')
            return false;
    }
    return true;
}

size_t logesc_text_value(char *out, size_t cap, const char *in, size_t len)
{
    size_t n;

    if (cap < 2)
        return 0;
    if (len <= cap && logesc_text_is_bare(in, len)) {
        memcpy(out, in, len);
        return len;
    }
    out[0] = '"';
    n = 1 + logesc_text(out + 1, cap - 2, in, len, LOGESC_QUOTES, NULL);
    out[n++] = '"';
    return n;
}
