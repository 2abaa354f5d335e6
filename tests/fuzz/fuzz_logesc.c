/*
 * fuzz_logesc.c - libFuzzer driver for logesc.c: any bytes, escaped for JSON, for text
 * (with and without quote escapes) and as a text value, whole and cut to a capacity the
 * input chooses. Invariants: the JSON body decodes as a JSON string (RFC 8259 §7) whose
 * content is valid UTF-8 and, for valid UTF-8 input, is the input; text output is valid
 * UTF-8 with no raw control byte (so no newline) and, with quote escapes, no unescaped
 * quote and decodes back to the input; a value is bare (and then exactly the input) or
 * quoted with its closing quote; a cut output is the escape of the bytes it says it used,
 * and the next character would not have fit.
 *
 * Input: one byte, the capacity for the cut runs (0..255), then the bytes to escape.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "logesc.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes a JSON string body into <out> (room for 3 bytes per input byte); returns its
 * length, or -1 on a raw '"' or control byte, a bad escape or a lone surrogate. */
static long fuzz_logesc_json_decode(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char ch = (unsigned char)in[i];
        unsigned cp = 0;
        const char *simple = "\"\"\\\\//b\bf\fn\nr\rt\t";
        const char *hit;

        if (ch == '"' || ch < 0x20)
            return -1;
        if (ch != '\\') {
            out[o++] = (char)ch;
            i++;
            continue;
        }
        if (i + 1 >= len)
            return -1;
        for (hit = simple; *hit != '\0' && *hit != in[i + 1]; hit += 2)
            ;
        if (*hit != '\0') {
            out[o++] = hit[1];
            i += 2;
            continue;
        }
        if (in[i + 1] != 'u' || i + 6 > len)
            return -1;
        for (int d = 2; d < 6; d++) {
            char h = in[i + d];
            if (h >= '0' && h <= '9')
                cp = cp * 16 + (unsigned)(h - '0');
            else if (h >= 'a' && h <= 'f')
                cp = cp * 16 + (unsigned)(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
                cp = cp * 16 + (unsigned)(h - 'A' + 10);
            else
                return -1;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return -1;
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xE0 | cp >> 12);
            out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
        i += 6;
    }
    return (long)o;
}

/* Decodes a quoted text value's body (\n \r \t \xHH \" \\); -1 on a raw control byte, a
 * raw '"' or another escape. */
static long fuzz_logesc_text_decode(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char ch = (unsigned char)in[i];

        if (ch < 0x20 || ch == 0x7f || ch == '"')
            return -1;
        if (ch != '\\') {
            out[o++] = (char)ch;
            i++;
            continue;
        }
        if (i + 1 >= len)
            return -1;
        switch (in[i + 1]) {
        case 'n': out[o++] = '\n'; i += 2; continue;
        case 'r': out[o++] = '\r'; i += 2; continue;
        case 't': out[o++] = '\t'; i += 2; continue;
        case '"': out[o++] = '"'; i += 2; continue;
        case '\\': out[o++] = '\\'; i += 2; continue;
        case 'x': break;
        default: return -1;
        }
        if (i + 4 > len)
            return -1;
        {
            char hex[3] = {in[i + 2], in[i + 3], 0};
            char *end;
            unsigned long v = strtoul(hex, &end, 16);
            if (*end != '\0')
                return -1;
            out[o++] = (char)v;
        }
        i += 4;
    }
    return (long)o;
}

/* No byte of <p> is a C0 control or DEL. */
static bool fuzz_logesc_no_control(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return false;
    return true;
}

enum { FUZZ_JSON = 0, FUZZ_TEXT, FUZZ_QUOTED };

static size_t fuzz_logesc_run(int mode, char *out, size_t cap, const char *in, size_t len,
                              size_t *used)
{
    if (mode == FUZZ_JSON)
        return logesc_json(out, cap, in, len, used);
    return logesc_text(out, cap, in, len, mode == FUZZ_QUOTED ? LOGESC_QUOTES : 0, used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = fuzz_take_u8(&data, &size);
    /* The worst case is 6 output bytes per input byte (\u0001, \ufffd). */
    size_t room = 6 * size + 2;
    char *in = (char *)fuzz_copy(data, size);
    char *out = malloc(room), *dec = malloc(3 * room), *again = malloc(room);
    bool valid = utf8_is_valid(data, size);
    size_t n, used;
    long d;

    FUZZ_CHECK(out != NULL && dec != NULL && again != NULL);

    n = logesc_json(out, room, in, size, &used);
    FUZZ_CHECK(used == size && n <= room);
    FUZZ_CHECK(utf8_is_valid((const uint8_t *)out, n));
    d = fuzz_logesc_json_decode(out, n, dec);
    FUZZ_CHECK(d >= 0);
    FUZZ_CHECK(utf8_is_valid((const uint8_t *)dec, (size_t)d));
    if (valid)
        FUZZ_CHECK((size_t)d == size && memcmp(dec, in, size) == 0);

    for (int mode = FUZZ_TEXT; mode <= FUZZ_QUOTED; mode++) {
        n = fuzz_logesc_run(mode, out, room, in, size, &used);
        FUZZ_CHECK(used == size && n <= room);
        FUZZ_CHECK(utf8_is_valid((const uint8_t *)out, n));
        FUZZ_CHECK(fuzz_logesc_no_control(out, n));
        if (mode == FUZZ_QUOTED) {
            d = fuzz_logesc_text_decode(out, n, dec);
            FUZZ_CHECK((size_t)d == size && memcmp(dec, in, size) == 0);
        }
    }

    n = logesc_text_value(out, room, in, size);
    FUZZ_CHECK(n >= 1 && utf8_is_valid((const uint8_t *)out, n));
    FUZZ_CHECK(fuzz_logesc_no_control(out, n));
    if (out[0] == '"') {
        FUZZ_CHECK(n >= 2 && out[n - 1] == '"');
        d = fuzz_logesc_text_decode(out + 1, n - 2, dec);
        FUZZ_CHECK((size_t)d == size && memcmp(dec, in, size) == 0);
    } else {
        FUZZ_CHECK(logesc_text_is_bare(in, size) && n == size && memcmp(out, in, size) == 0);
    }

    /* Cut to <cap>: into an exact-size block, so a write past it is an ASan report. */
    for (int mode = FUZZ_JSON; mode <= FUZZ_QUOTED; mode++) {
        char *small = malloc(cap > 0 ? cap : 1);
        size_t used2;

        FUZZ_CHECK(small != NULL);
        n = fuzz_logesc_run(mode, small, cap, in, size, &used);
        FUZZ_CHECK(n <= cap && used <= size);
        FUZZ_CHECK(fuzz_logesc_run(mode, again, room, in, used, NULL) == n);
        FUZZ_CHECK(memcmp(again, small, n) == 0);
        if (used < size)
            FUZZ_CHECK(fuzz_logesc_run(mode, again, cap - n, in + used, size - used, &used2) == 0 &&
                       used2 == 0);
        n = logesc_text_value(small, cap, in, size);
        FUZZ_CHECK(n <= cap && (cap < 2) == (n == 0));
        if (n > 0 && small[0] == '"')
            FUZZ_CHECK(n >= 2 && small[n - 1] == '"');
        free(small);
    }
    free(in);
    free(out);
    free(dec);
    free(again);
    return 0;
}
