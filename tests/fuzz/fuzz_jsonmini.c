/*
 * fuzz_jsonmini.c - libFuzzer driver for jsonmini.c. Any bytes as a document (in an
 * exact-size heap copy, so a read past the end is a report) with a token array of a size
 * the input picks. jsonmini must accept exactly what a plain recursive reading of RFC
 * 8259 written here accepts (its own UTF-8 check, its own escape decoder, duplicate keys
 * compared decoded, the same limits); an accepted document written again compactly
 * (tests/unit/jsonenc.h) reads again and writes the same text; the tokens are consistent
 * (containers' counts, spans inside the text, end indexes); a refusal has a reason at an
 * offset inside the text.
 *
 * Input: byte 0: the token array size (0: 1024, else 1..255); the rest is the document.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/jsonenc.h"
#include "fuzz.h"
#include "jsonmini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ref {
    const uint8_t *t;
    size_t len, pos, values;
};

static void ref_ws(struct ref *r)
{
    while (r->pos < r->len && (r->t[r->pos] == ' ' || r->t[r->pos] == '\t' ||
                               r->t[r->pos] == '\n' || r->t[r->pos] == '\r'))
        r->pos++;
}

/* Length of the valid UTF-8 sequence at t[0..n), or 0 (RFC 3629 table 3-7). */
static size_t ref_utf8(const uint8_t *t, size_t n)
{
    uint8_t c = t[0], lo = 0x80, hi = 0xbf;
    size_t need;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef)
        need = 2;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 3;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    if (c == 0xed)
        hi = 0x9f;
    if (c == 0xf0)
        lo = 0x90;
    if (c == 0xf4)
        hi = 0x8f;
    if (n < need + 1 || t[1] < lo || t[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if (t[i] < 0x80 || t[i] > 0xbf)
            return 0;
    return need + 1;
}

static int ref_hex4(const uint8_t *t, size_t n)
{
    int v = 0;

    if (n < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        uint8_t c = t[i];
        int h = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Reads a string at r->pos (the quote); its decoded bytes into out (cap 4 * len). */
static bool ref_string(struct ref *r, uint8_t *out, size_t *out_len)
{
    size_t n = 0;

    r->pos++;
    for (;;) {
        uint8_t c;

        if (r->pos >= r->len)
            return false;
        c = r->t[r->pos];
        if (c == '"') {
            r->pos++;
            break;
        }
        if (c < 0x20)
            return false;
        if (c != '\\') {
            size_t k = ref_utf8(r->t + r->pos, r->len - r->pos);
            if (k == 0)
                return false;
            memcpy(out + n, r->t + r->pos, k);
            n += k;
            r->pos += k;
        } else {
            uint32_t cp;
            const char *simple = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *e;

            if (r->pos + 1 >= r->len)
                return false;
            c = r->t[r->pos + 1];
            e = c != 0 ? strchr(simple, c) : NULL;
            if (e != NULL) {
                out[n++] = (uint8_t)to[e - simple];
                r->pos += 2;
                continue;
            }
            if (c != 'u')
                return false;
            int u = ref_hex4(r->t + r->pos + 2, r->len - r->pos - 2);
            if (u < 0)
                return false;
            r->pos += 6;
            cp = (uint32_t)u;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return false;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                int lo;
                if (r->len - r->pos < 6 || r->t[r->pos] != '\\' || r->t[r->pos + 1] != 'u')
                    return false;
                lo = ref_hex4(r->t + r->pos + 2, r->len - r->pos - 2);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return false;
                r->pos += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            }
            if (cp < 0x80) {
                out[n++] = (uint8_t)cp;
            } else if (cp < 0x800) {
                out[n++] = (uint8_t)(0xc0 | cp >> 6);
                out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                out[n++] = (uint8_t)(0xe0 | cp >> 12);
                out[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
                out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            } else {
                out[n++] = (uint8_t)(0xf0 | cp >> 18);
                out[n++] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
                out[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
                out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            }
        }
    }
    *out_len = n;
    return n <= JSONMINI_STRING_MAX;
}

static bool ref_digits(struct ref *r)
{
    size_t start = r->pos;

    while (r->pos < r->len && r->t[r->pos] >= '0' && r->t[r->pos] <= '9')
        r->pos++;
    return r->pos > start;
}

static bool ref_number(struct ref *r)
{
    size_t start = r->pos;

    if (r->t[r->pos] == '-')
        r->pos++;
    if (r->pos < r->len && r->t[r->pos] == '0')
        r->pos++;
    else if (r->pos >= r->len || r->t[r->pos] < '1' || r->t[r->pos] > '9' || !ref_digits(r))
        return false;
    if (r->pos < r->len && r->t[r->pos] == '.') {
        r->pos++;
        if (!ref_digits(r))
            return false;
    }
    if (r->pos < r->len && (r->t[r->pos] == 'e' || r->t[r->pos] == 'E')) {
        r->pos++;
        if (r->pos < r->len && (r->t[r->pos] == '+' || r->t[r->pos] == '-'))
            r->pos++;
        if (!ref_digits(r))
            return false;
    }
    return r->pos - start <= JSONMINI_NUMBER_MAX;
}

static bool ref_value(struct ref *r, int depth)
{
    uint8_t c;

    ref_ws(r);
    if (r->pos >= r->len)
        return false;
    r->values++;
    c = r->t[r->pos];
    if (c == '{' || c == '[') {
        bool object = c == '{';
        uint8_t **keys = NULL;
        size_t *key_lens = NULL, n_keys = 0;
        bool ok = false;

        if (depth == JSONMINI_DEPTH_MAX)
            return false;
        r->pos++;
        ref_ws(r);
        if (r->pos < r->len && r->t[r->pos] == (object ? '}' : ']')) {
            r->pos++;
            return true;
        }
        for (;;) {
            if (object) {
                uint8_t *key;
                size_t klen;

                ref_ws(r);
                if (r->pos >= r->len || r->t[r->pos] != '"')
                    break;
                key = malloc(4 * r->len + 1);
                FUZZ_CHECK(key != NULL);
                r->values++;
                if (!ref_string(r, key, &klen)) {
                    free(key);
                    break;
                }
                for (size_t k = 0; k < n_keys; k++)
                    if (key_lens[k] == klen && memcmp(keys[k], key, klen) == 0)
                        klen = SIZE_MAX;
                if (klen == SIZE_MAX) {
                    free(key);
                    break;
                }
                keys = realloc(keys, (n_keys + 1) * sizeof(*keys));
                key_lens = realloc(key_lens, (n_keys + 1) * sizeof(*key_lens));
                FUZZ_CHECK(keys != NULL && key_lens != NULL);
                keys[n_keys] = key;
                key_lens[n_keys++] = klen;
                ref_ws(r);
                if (r->pos >= r->len || r->t[r->pos] != ':')
                    break;
                r->pos++;
            }
            if (!ref_value(r, depth + 1))
                break;
            ref_ws(r);
            if (r->pos < r->len && r->t[r->pos] == ',') {
                r->pos++;
                continue;
            }
            if (r->pos < r->len && r->t[r->pos] == (object ? '}' : ']')) {
                r->pos++;
                ok = true;
            }
            break;
        }
        for (size_t k = 0; k < n_keys; k++)
            free(keys[k]);
        free(keys);
        free(key_lens);
        return ok;
    }
    if (c == '"') {
        uint8_t *buf = malloc(4 * r->len + 1);
        size_t n;
        bool ok;

        FUZZ_CHECK(buf != NULL);
        ok = ref_string(r, buf, &n);
        free(buf);
        return ok;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return ref_number(r);
    for (int w = 0; w < 3; w++) {
        static const char *const words[] = {"true", "false", "null"};
        size_t wl = strlen(words[w]);

        if (r->len - r->pos >= wl && memcmp(r->t + r->pos, words[w], wl) == 0) {
            r->pos += wl;
            return true;
        }
    }
    return false;
}

static bool ref_document(const uint8_t *t, size_t len, size_t cap)
{
    struct ref r = {.t = t, .len = len};

    if (len > JSONMINI_TEXT_MAX || !ref_value(&r, 0))
        return false;
    ref_ws(&r);
    return r.pos == len && r.values <= cap;
}

/* Walks value <i>: spans inside the text, counts equal to the children, ends right. */
static size_t fuzz_js_walk(const struct jsonmini *j, size_t i)
{
    const struct jsonmini_tok *t = &j->toks[i];
    size_t k = i + 1;

    FUZZ_CHECK(i < j->n);
    FUZZ_CHECK((size_t)t->start + t->len <= j->len && t->len > 0);
    if (t->type == JSONMINI_OBJECT || t->type == JSONMINI_ARRAY) {
        FUZZ_CHECK(j->text[t->start] == (t->type == JSONMINI_OBJECT ? '{' : '['));
        FUZZ_CHECK(j->text[t->start + t->len - 1] == (t->type == JSONMINI_OBJECT ? '}' : ']'));
        for (size_t m = 0; m < t->count; m++) {
            if (t->type == JSONMINI_OBJECT) {
                FUZZ_CHECK(j->toks[k].type == JSONMINI_STRING);
                k = fuzz_js_walk(j, k);
            }
            k = fuzz_js_walk(j, k);
        }
    } else {
        FUZZ_CHECK(t->count == 0);
        if (t->type == JSONMINI_STRING)
            FUZZ_CHECK(j->text[t->start] == '"' && j->text[t->start + t->len - 1] == '"');
    }
    FUZZ_CHECK(t->end == k);
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jsonmini_tok toks[1024], toks2[1024];
    static char out[1 << 18], out2[1 << 18];
    struct jsonmini j, again;
    size_t cap, n, n2;
    char *text;
    bool want;
    int rc;

    if (size < 1)
        return 0;
    cap = data[0] == 0 ? 1024 : data[0];
    text = (char *)fuzz_copy(data + 1, size - 1);
    rc = jsonmini_parse(&j, text, size - 1, toks, cap);
    want = ref_document(data + 1, size - 1, cap);
    if ((rc == 0) != want) {
        fprintf(stderr, "jsonmini %s, the reference %s (%s at %zu)\n",
                rc == 0 ? "accepts" : "refuses", want ? "accepts" : "refuses",
                rc == 0 ? "" : j.error, j.error_offset);
        abort();
    }
    if (rc != 0) {
        FUZZ_CHECK(j.error != NULL && j.error[0] != '\0' && j.error_offset <= size - 1);
        free(text);
        return 0;
    }
    FUZZ_CHECK(j.n >= 1 && j.n <= cap);
    FUZZ_CHECK(fuzz_js_walk(&j, 0) == j.n);
    n = jsonenc_write(&j, out, sizeof(out));
    FUZZ_CHECK(n < sizeof(out));
    if (n > JSONMINI_TEXT_MAX) { /* escapes written longer than they came */
        free(text);
        return 0;
    }
    FUZZ_CHECK(jsonmini_parse(&again, out, n, toks2, 1024) == 0);
    FUZZ_CHECK(again.n == j.n);
    n2 = jsonenc_write(&again, out2, sizeof(out2));
    FUZZ_CHECK(n2 == n && memcmp(out, out2, n) == 0);
    free(text);
    return 0;
}
