/*
 * jsonmini.c - a strict JSON reader (RFC 8259) into a caller's token array: iterative,
 * so depth costs no stack; strings are checked as they are read (escapes, surrogate
 * pairs, UTF-8 through utf8.c) and decoded only when asked. No allocation, no I/O.
 */
#include "jsonmini.h"

#include <string.h>

#include "utf8.h"

enum jsonmini_expect {
    JSONMINI_EXPECT_VALUE = 0, /* a value */
    JSONMINI_EXPECT_KEY,       /* a member's key (after "{" or ",") */
    JSONMINI_EXPECT_AFTER,     /* "," or the end of the container, or of the text */
};

static int jsonmini_fail(struct jsonmini *j, const char *why, size_t at)
{
    j->error = why;
    j->error_offset = at;
    return -1;
}

/* RFC 8259 §2: space, tab, LF, CR */
static size_t jsonmini_ws(const char *t, size_t len, size_t pos)
{
    while (pos < len && (t[pos] == ' ' || t[pos] == '\t' || t[pos] == '\n' || t[pos] == '\r'))
        pos++;
    return pos;
}

static int jsonmini_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The four hex digits at <t>[pos..pos+4) as a code unit, or -1. */
static long jsonmini_u16(const char *t, size_t len, size_t pos)
{
    long v = 0;

    if (len - pos < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int h = jsonmini_hex(t[pos + (size_t)i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* Reads the escape after a backslash at <t>[*pos] (pointing past the backslash):
 * sets *<cp> to the code point and moves *pos past it. Returns NULL or a reason. */
static const char *jsonmini_escape(const char *t, size_t len, size_t *pos, uint32_t *cp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e;
    long hi, lo;

    if (*pos >= len)
        return "unfinished escape";
    e = t[*pos] != '\0' ? strchr(from, t[*pos]) : NULL;
    if (e != NULL) {
        *cp = (unsigned char)to[e - from];
        *pos += 1;
        return NULL;
    }
    if (t[*pos] != 'u')
        return "unknown escape";
    hi = jsonmini_u16(t, len, *pos + 1);
    if (hi < 0)
        return "\\u needs four hex digits";
    *pos += 5;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return "lone low surrogate";
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = (uint32_t)hi;
        return NULL;
    }
    /* RFC 8259 §7: a high surrogate must be followed by an escaped low one */
    if (len - *pos < 2 || t[*pos] != '\\' || t[*pos + 1] != 'u')
        return "lone high surrogate";
    lo = jsonmini_u16(t, len, *pos + 2);
    if (lo < 0xdc00 || lo > 0xdfff)
        return "lone high surrogate";
    *pos += 6;
    *cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    return NULL;
}

static size_t jsonmini_utf8_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static size_t jsonmini_put_utf8(uint32_t cp, char *out)
{
    size_t n = jsonmini_utf8_len(cp);

    switch (n) {
    case 1:
        out[0] = (char)cp;
        break;
    case 2:
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        break;
    case 3:
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        break;
    default:
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        break;
    }
    return n;
}

/* Checks the string whose opening quote is at <t>[pos]; returns the offset after its
 * closing quote, or 0 with a reason in j (the offset of the fault too). */
static size_t jsonmini_scan_string(struct jsonmini *j, const char *t, size_t len, size_t pos)
{
    size_t start = pos++, decoded = 0;

    for (;;) {
        unsigned char c;

        if (pos >= len) {
            jsonmini_fail(j, "unterminated string", start);
            return 0;
        }
        c = (unsigned char)t[pos];
        if (c == '"')
            break;
        if (c < 0x20) { /* RFC 8259 §7: control characters must be escaped */
            jsonmini_fail(j, "control character in a string", pos);
            return 0;
        }
        if (c == '\\') {
            uint32_t cp;
            size_t at = pos++;
            const char *why = jsonmini_escape(t, len, &pos, &cp);

            if (why != NULL) {
                jsonmini_fail(j, why, at);
                return 0;
            }
            decoded += jsonmini_utf8_len(cp);
        } else {
            pos++;
            decoded++;
        }
        if (decoded > JSONMINI_STRING_MAX) {
            jsonmini_fail(j, "string longer than JSONMINI_STRING_MAX", start);
            return 0;
        }
    }
    /* escapes are ASCII, so the raw bytes are valid UTF-8 exactly when the text is */
    if (!utf8_is_valid((const uint8_t *)t + start + 1, pos - start - 1)) {
        jsonmini_fail(j, "string is not valid UTF-8", start);
        return 0;
    }
    return pos + 1;
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?; returns the offset
 * after it, or 0 with a reason. */
static size_t jsonmini_scan_number(struct jsonmini *j, const char *t, size_t len, size_t pos)
{
    size_t start = pos, digits;

#define JSONMINI_DIGITS()                                                                          \
    for (digits = 0; pos < len && t[pos] >= '0' && t[pos] <= '9'; pos++)                           \
    digits++
    if (pos < len && t[pos] == '-')
        pos++;
    if (pos < len && t[pos] == '0') {
        pos++;
    } else {
        JSONMINI_DIGITS();
        if (digits == 0) {
            jsonmini_fail(j, "number without digits", start);
            return 0;
        }
    }
    if (pos < len && t[pos] == '.') {
        pos++;
        JSONMINI_DIGITS();
        if (digits == 0) {
            jsonmini_fail(j, "no digit after the decimal point", pos);
            return 0;
        }
    }
    if (pos < len && (t[pos] == 'e' || t[pos] == 'E')) {
        pos++;
        if (pos < len && (t[pos] == '+' || t[pos] == '-'))
            pos++;
        JSONMINI_DIGITS();
        if (digits == 0) {
            jsonmini_fail(j, "no digit in the exponent", pos);
            return 0;
        }
    }
#undef JSONMINI_DIGITS
    if (pos - start > JSONMINI_NUMBER_MAX) {
        jsonmini_fail(j, "number longer than JSONMINI_NUMBER_MAX", start);
        return 0;
    }
    return pos;
}

/* True if key token <a> and key token <b> decode to the same bytes. */
static bool jsonmini_same_key(const struct jsonmini *j, size_t a, size_t b)
{
    const struct jsonmini_tok *ta = &j->toks[a], *tb = &j->toks[b];
    char da[JSONMINI_STRING_MAX + 1];
    size_t la;

    if (memchr(j->text + ta->start, '\\', ta->len) == NULL &&
        memchr(j->text + tb->start, '\\', tb->len) == NULL)
        return ta->len == tb->len && memcmp(j->text + ta->start, j->text + tb->start, ta->len) == 0;
    if (jsonmini_string(j, a, da, sizeof(da), &la) != 0)
        return false;
    return jsonmini_string_is(j, b, da, la);
}

static struct jsonmini_tok *jsonmini_add(struct jsonmini *j, size_t cap, enum jsonmini_type type,
                                         size_t start)
{
    struct jsonmini_tok *tok;

    if (j->n == cap) {
        jsonmini_fail(j, "more values than the token array holds", start);
        return NULL;
    }
    tok = &j->toks[j->n++];
    *tok = (struct jsonmini_tok){.type = type, .start = (uint32_t)start};
    return tok;
}

int jsonmini_parse(struct jsonmini *j, const char *text, size_t len, struct jsonmini_tok *toks,
                   size_t cap)
{
    size_t stack[JSONMINI_DEPTH_MAX], depth = 0, pos = 0, end;
    enum jsonmini_expect expect = JSONMINI_EXPECT_VALUE;

    *j = (struct jsonmini){.text = text, .len = len, .toks = toks};
    if (len > JSONMINI_TEXT_MAX)
        return jsonmini_fail(j, "document longer than JSONMINI_TEXT_MAX", 0);
    for (;;) {
        struct jsonmini_tok *tok;
        size_t top = depth > 0 ? stack[depth - 1] : JSONMINI_NONE;

        pos = jsonmini_ws(text, len, pos);
        if (expect == JSONMINI_EXPECT_AFTER) {
            if (depth == 0) {
                if (pos != len)
                    return jsonmini_fail(j, "bytes after the JSON value", pos);
                return 0;
            }
            if (pos < len && text[pos] == ',') {
                pos++;
                expect =
                    toks[top].type == JSONMINI_OBJECT ? JSONMINI_EXPECT_KEY : JSONMINI_EXPECT_VALUE;
                continue;
            }
            if (pos < len && text[pos] == (toks[top].type == JSONMINI_OBJECT ? '}' : ']')) {
                toks[top].len = (uint32_t)(pos + 1 - toks[top].start);
                toks[top].end = (uint32_t)j->n;
                depth--;
                pos++;
                continue;
            }
            return jsonmini_fail(j,
                                 toks[top].type == JSONMINI_OBJECT ? "expected \",\" or \"}\""
                                                                   : "expected \",\" or \"]\"",
                                 pos);
        }
        if (pos >= len)
            return jsonmini_fail(j, "unexpected end of the text", pos);
        if (expect == JSONMINI_EXPECT_KEY) {
            size_t key = j->n;

            if (text[pos] != '"')
                return jsonmini_fail(j, "expected a string as the key", pos);
            end = jsonmini_scan_string(j, text, len, pos);
            if (end == 0 || (tok = jsonmini_add(j, cap, JSONMINI_STRING, pos)) == NULL)
                return -1;
            tok->len = (uint32_t)(end - pos);
            tok->end = (uint32_t)j->n;
            for (size_t k = top + 1; k < key; k = toks[k + 1].end)
                if (jsonmini_same_key(j, k, key))
                    return jsonmini_fail(j, "duplicate key", pos);
            pos = jsonmini_ws(text, len, end);
            if (pos >= len || text[pos] != ':')
                return jsonmini_fail(j, "expected \":\" after the key", pos);
            pos++;
            toks[top].count++;
            expect = JSONMINI_EXPECT_VALUE;
            continue;
        }
        /* a value */
        if (top != JSONMINI_NONE && toks[top].type == JSONMINI_ARRAY)
            toks[top].count++;
        switch (text[pos]) {
        case '{':
        case '[':
            if (depth == JSONMINI_DEPTH_MAX)
                return jsonmini_fail(j, "nested deeper than JSONMINI_DEPTH_MAX", pos);
            tok = jsonmini_add(j, cap, text[pos] == '{' ? JSONMINI_OBJECT : JSONMINI_ARRAY, pos);
            if (tok == NULL)
                return -1;
            stack[depth++] = j->n - 1;
            pos = jsonmini_ws(text, len, pos + 1);
            if (pos < len && text[pos] == (tok->type == JSONMINI_OBJECT ? '}' : ']')) {
                tok->len = (uint32_t)(pos + 1 - tok->start);
                tok->end = (uint32_t)j->n;
                depth--;
                pos++;
                expect = JSONMINI_EXPECT_AFTER;
            } else {
                expect = tok->type == JSONMINI_OBJECT ? JSONMINI_EXPECT_KEY : JSONMINI_EXPECT_VALUE;
            }
            continue;
        case '"':
            end = jsonmini_scan_string(j, text, len, pos);
            if (end == 0 || (tok = jsonmini_add(j, cap, JSONMINI_STRING, pos)) == NULL)
                return -1;
            break;
        case 't':
        case 'f':
        case 'n': {
            static const char *const words[] = {"true", "false", "null"};
            static const enum jsonmini_type types[] = {JSONMINI_TRUE, JSONMINI_FALSE,
                                                       JSONMINI_NULL};
            int w = text[pos] == 't' ? 0 : text[pos] == 'f' ? 1 : 2;
            size_t wl = strlen(words[w]);

            if (len - pos < wl || memcmp(text + pos, words[w], wl) != 0)
                return jsonmini_fail(j, "unknown literal", pos);
            if ((tok = jsonmini_add(j, cap, types[w], pos)) == NULL)
                return -1;
            end = pos + wl;
            break;
        }
        default:
            if (text[pos] != '-' && (text[pos] < '0' || text[pos] > '9'))
                return jsonmini_fail(j, "unexpected byte where a value belongs", pos);
            end = jsonmini_scan_number(j, text, len, pos);
            if (end == 0 || (tok = jsonmini_add(j, cap, JSONMINI_NUMBER, pos)) == NULL)
                return -1;
            break;
        }
        tok->len = (uint32_t)(end - pos);
        tok->end = (uint32_t)j->n;
        pos = end;
        expect = JSONMINI_EXPECT_AFTER;
    }
}

size_t jsonmini_next(const struct jsonmini *j, size_t i)
{
    return j->toks[i].end;
}

size_t jsonmini_get(const struct jsonmini *j, size_t obj, const char *key)
{
    size_t k, klen = strlen(key);

    if (obj >= j->n || j->toks[obj].type != JSONMINI_OBJECT)
        return JSONMINI_NONE;
    for (k = obj + 1; k < j->toks[obj].end; k = j->toks[k + 1].end)
        if (jsonmini_string_is(j, k, key, klen))
            return k + 1;
    return JSONMINI_NONE;
}

int jsonmini_string(const struct jsonmini *j, size_t i, char *out, size_t cap, size_t *len)
{
    const struct jsonmini_tok *tok;
    const char *t;
    size_t pos, end, n = 0;

    if (i >= j->n || j->toks[i].type != JSONMINI_STRING)
        return -1;
    tok = &j->toks[i];
    t = j->text;
    pos = tok->start + 1;
    end = tok->start + tok->len - 1;
    while (pos < end) {
        char buf[4];
        size_t k;

        if (t[pos] != '\\') {
            buf[0] = t[pos++];
            k = 1;
        } else {
            uint32_t cp = 0;

            pos++;
            jsonmini_escape(t, end, &pos, &cp); /* checked by the parse */
            k = jsonmini_put_utf8(cp, buf);
        }
        if (n + k >= cap)
            return -1;
        memcpy(out + n, buf, k);
        n += k;
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    *len = n;
    return 0;
}

bool jsonmini_string_is(const struct jsonmini *j, size_t i, const char *s, size_t n)
{
    char buf[JSONMINI_STRING_MAX + 1];
    size_t len;

    if (i >= j->n || j->toks[i].type != JSONMINI_STRING)
        return false;
    /* no backslash: the text between the quotes is the string */
    if (memchr(j->text + j->toks[i].start, '\\', j->toks[i].len) == NULL)
        return j->toks[i].len - 2 == n && memcmp(j->text + j->toks[i].start + 1, s, n) == 0;
    if (jsonmini_string(j, i, buf, sizeof(buf), &len) != 0)
        return false;
    return len == n && memcmp(buf, s, n) == 0;
}

int jsonmini_int64(const struct jsonmini *j, size_t i, int64_t *v)
{
    const struct jsonmini_tok *tok;
    const char *t;
    bool neg;
    uint64_t acc = 0, limit;
    size_t pos, end;

    if (i >= j->n || j->toks[i].type != JSONMINI_NUMBER)
        return -1;
    tok = &j->toks[i];
    t = j->text;
    pos = tok->start;
    end = tok->start + tok->len;
    neg = t[pos] == '-';
    if (neg)
        pos++;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; pos < end; pos++) {
        if (t[pos] < '0' || t[pos] > '9')
            return -1; /* a fraction or an exponent */
        if (acc > (limit - (uint64_t)(t[pos] - '0')) / 10)
            return -1;
        acc = acc * 10 + (uint64_t)(t[pos] - '0');
    }
    *v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return 0;
}
