/*
 * fuzz_tokenfile.c - libFuzzer driver for tokenfile.c: any bytes as a token file.
 *
 * Checked against a plain re-reading written apart from the module (lines split on
 * "\n", "\r\n" and "\r", text decoded to code points, whitespace from a list of code
 * points, the separator found by index): the lines reported as errors are exactly the
 * malformed ones, in order, each message "f:LINE: ..." naming a real line; every other
 * line's token is in the table and, for its last line, with the target that line gives;
 * the table has no other token, and its entries come in first-seen order. Then: the
 * table written back reads back to the same table without errors; the input cut in two
 * and read as two files, into one table or merged from two, gives the same table; a
 * token with a byte added or removed finds nothing unless it is itself a token; the log
 * hash is 8 hex digits.
 *
 * Input: byte 0 chooses where the text is cut for the two-file checks; the text follows.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"
#include "tokenfile.h"
#include "utf8.h"

static const uint8_t fuzz_tf_key[SIPHASH_KEY_BYTES] = {7, 6, 5, 4, 3, 2, 1};
static const uint8_t fuzz_tf_key2[SIPHASH_KEY_BYTES] = {1, 2, 3};

/* One expected entry of the plain re-reading. */
struct fuzz_tf_ref {
    char *token;
    size_t token_len;
    enum tokenfile_kind kind;
    char host[ADDR_HOST_MAX + 1];
    uint16_t port;
    char *path;
};

struct fuzz_tf_expect {
    struct fuzz_tf_ref *refs;
    size_t n;
    size_t *bad_lines; /* line numbers of malformed lines, in order */
    size_t n_bad;
    size_t n_lines; /* lines in the text */
};

/* Python's str.isspace(), as a list of code points. */
static bool fuzz_tf_is_space(uint32_t cp)
{
    static const uint32_t spaces[] = {
        0x09,   0x0a,   0x0b,   0x0c,   0x0d,   0x1c,   0x1d,   0x1e,   0x1f,   0x20,
        0x85,   0xa0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
        0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000};
    for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++)
        if (spaces[i] == cp)
            return true;
    return false;
}

/* Decodes valid UTF-8 <p> (<len> bytes) into code points <cp> with byte offsets <off>
 * (len + 1 entries each, off[n] = len). Returns n. */
static size_t fuzz_tf_decode(const uint8_t *p, size_t len, uint32_t *cp, size_t *off)
{
    size_t n = 0, i = 0;

    while (i < len) {
        uint32_t c = p[i];
        size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (k > 1)
            c &= 0xff >> (k + 1);
        for (size_t j = 1; j < k; j++)
            c = (c << 6) | (p[i + j] & 0x3f);
        off[n] = i;
        cp[n++] = c;
        i += k;
    }
    off[n] = len;
    return n;
}

/* Reads one line (<p>, <len> bytes) as tokenfile.h describes. Returns 1 and fills <r>
 * (token and path allocated) for a token line, 0 for a comment or blank line, -1 for a
 * malformed one. */
static int fuzz_tf_read_line(const uint8_t *p, size_t len, struct fuzz_tf_ref *r)
{
    uint32_t *cp;
    size_t *off, n, i, sep = 0, n_sep = 0, a, b, tlen;
    const char *t;
    int out = -1;

    if (len > 0 && p[0] == '#')
        return 0;
    if (utf8_is_valid(p, len) && memchr(p, 0, len) == NULL) {
        cp = malloc((len + 1) * sizeof(*cp));
        off = malloc((len + 1) * sizeof(*off));
        FUZZ_CHECK(cp != NULL && off != NULL);
        n = fuzz_tf_decode(p, len, cp, off);
        for (i = 0; i < n && fuzz_tf_is_space(cp[i]); i++)
            ;
        if (i == n) {
            free(cp);
            free(off);
            return 0;
        }
        if (len > TOKENFILE_LINE_MAX)
            goto done;
        for (i = 0; i < n; i++) {
            if (cp[i] == ':' && (i + 1 == n || fuzz_tf_is_space(cp[i + 1]))) {
                if (n_sep++ == 0)
                    sep = i;
            }
        }
        if (n_sep != 1 || off[sep] == 0 || off[sep] > TOKENFILE_TOKEN_MAX)
            goto done;
        /* the target: after the colon and one whitespace character, stripped */
        a = sep + 1 < n ? sep + 2 : sep + 1;
        b = n;
        while (a < b && fuzz_tf_is_space(cp[a]))
            a++;
        while (b > a && fuzz_tf_is_space(cp[b - 1]))
            b--;
        t = (const char *)p + off[a];
        tlen = off[b] - off[a];
        if (tlen == 0)
            goto done;
        r->token = strndup((const char *)p, off[sep]);
        FUZZ_CHECK(r->token != NULL);
        r->token_len = off[sep];
        r->path = NULL;
        if (tlen >= 12 && memcmp(t, "unix_socket:", 12) == 0) {
            r->kind = TOKENFILE_UNIX;
            if (tlen - 12 >= 1 && tlen - 12 <= TOKENFILE_UNIX_PATH_MAX) {
                r->path = strndup(t + 12, tlen - 12);
                FUZZ_CHECK(r->path != NULL);
                out = 1;
            }
        } else {
            const char *colon = memrchr(t, ':', tlen);
            r->kind = TOKENFILE_TCP;
            if (colon != NULL && memmem(t, tlen, "://", 3) == NULL) {
                const char *host = t;
                size_t host_len = (size_t)(colon - t);
                char *spec = malloc(tlen + 16), err[128];
                struct addr ad;
                FUZZ_CHECK(spec != NULL);
                if (host_len == 0) {
                    host = "127.0.0.1";
                    host_len = 9;
                }
                if (host[0] != '[' && memchr(host, ':', host_len) != NULL)
                    sprintf(spec, "[%.*s]:%.*s", (int)host_len, host,
                            (int)(tlen - (size_t)(colon + 1 - t)), colon + 1);
                else
                    sprintf(spec, "%.*s:%.*s", (int)host_len, host,
                            (int)(tlen - (size_t)(colon + 1 - t)), colon + 1);
                if (addr_parse(spec, 0, &ad, err, sizeof(err)) == 0 && !ad.tls &&
                    ad.kind == ADDR_HOSTPORT) {
                    memcpy(r->host, ad.host, sizeof(r->host));
                    r->port = ad.port;
                    out = 1;
                }
                free(spec);
            }
        }
        if (out != 1) {
            free(r->token);
            free(r->path);
        }
    done:
        free(cp);
        free(off);
        return out;
    }
    /* not UTF-8 or a NUL: malformed, unless blank by bytes (it cannot be) */
    return -1;
}

/* Adds <r> to <e>, the last line of a token winning in the first one's place. */
static void fuzz_tf_put(struct fuzz_tf_expect *e, struct fuzz_tf_ref *r)
{
    for (size_t i = 0; i < e->n; i++) {
        if (e->refs[i].token_len == r->token_len &&
            memcmp(e->refs[i].token, r->token, r->token_len) == 0) {
            free(e->refs[i].token);
            free(e->refs[i].path);
            e->refs[i] = *r;
            return;
        }
    }
    e->refs = realloc(e->refs, (e->n + 1) * sizeof(*e->refs));
    FUZZ_CHECK(e->refs != NULL);
    e->refs[e->n++] = *r;
}

/* The plain re-reading of <len> bytes at <p> into <e> (zeroed). */
static void fuzz_tf_expect(const uint8_t *p, size_t len, struct fuzz_tf_expect *e)
{
    size_t start = 0, line = 0;

    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        start = 3;
    e->bad_lines = malloc((len + 1) * sizeof(*e->bad_lines));
    FUZZ_CHECK(e->bad_lines != NULL);
    while (start < len) {
        size_t end = start, next;
        struct fuzz_tf_ref r;
        int rc;
        while (end < len && p[end] != '\n' && p[end] != '\r')
            end++;
        next = end;
        if (end < len)
            next = end + 1 + (p[end] == '\r' && end + 1 < len && p[end + 1] == '\n');
        line++;
        memset(&r, 0, sizeof(r));
        rc = fuzz_tf_read_line(p + start, end - start, &r);
        if (rc < 0)
            e->bad_lines[e->n_bad++] = line;
        else if (rc > 0)
            fuzz_tf_put(e, &r);
        start = next;
    }
    e->n_lines = line;
}

static void fuzz_tf_expect_free(struct fuzz_tf_expect *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->refs[i].token);
        free(e->refs[i].path);
    }
    free(e->refs);
    free(e->bad_lines);
}

/* Collects the line numbers of "f:LINE: ..." messages. */
struct fuzz_tf_errors {
    size_t *lines; /* n_lines + 1 entries */
    size_t n;
    size_t n_lines; /* lines of the text, to check the numbers against */
};

static void fuzz_tf_on_error(void *arg, const char *message)
{
    struct fuzz_tf_errors *e = arg;
    char *end;
    unsigned long line;

    FUZZ_CHECK(strlen(message) < TOKENFILE_ERROR_MAX);
    FUZZ_CHECK(strncmp(message, "f:", 2) == 0);
    line = strtoul(message + 2, &end, 10);
    FUZZ_CHECK(end != message + 2 && strncmp(end, ": ", 2) == 0 && end[2] != '\0');
    FUZZ_CHECK(line >= 1 && line <= e->n_lines);
    FUZZ_CHECK(e->n < e->n_lines);
    e->lines[e->n++] = line;
}

/* <t> holds exactly what <e> expects, in the same order. */
static void fuzz_tf_same_as_expected(const struct tokenfile *t, const struct fuzz_tf_expect *e)
{
    FUZZ_CHECK(tokenfile_count(t) == e->n);
    for (size_t i = 0; i < e->n; i++) {
        const struct fuzz_tf_ref *r = &e->refs[i];
        const char *token;
        size_t len;
        const struct tokenfile_target *tgt = tokenfile_entry(t, i, &token, &len);
        FUZZ_CHECK(len == r->token_len && memcmp(token, r->token, len) == 0);
        FUZZ_CHECK(tokenfile_lookup(t, r->token, r->token_len) == tgt);
        FUZZ_CHECK(tgt->kind == r->kind);
        if (r->kind == TOKENFILE_TCP)
            FUZZ_CHECK(strcmp(tgt->host, r->host) == 0 && tgt->port == r->port &&
                       tgt->path == NULL);
        else
            FUZZ_CHECK(strcmp(tgt->path, r->path) == 0 && tgt->host == NULL && tgt->port == 0);
    }
}

/* <a> and <b> hold the same tokens with the same targets, in the same order. */
static void fuzz_tf_same(const struct tokenfile *a, const struct tokenfile *b)
{
    char fa[512], fb[512];

    FUZZ_CHECK(tokenfile_count(a) == tokenfile_count(b));
    for (size_t i = 0; i < tokenfile_count(a); i++) {
        const char *ta, *tb;
        size_t la, lb;
        const struct tokenfile_target *x = tokenfile_entry(a, i, &ta, &la);
        const struct tokenfile_target *y = tokenfile_entry(b, i, &tb, &lb);
        FUZZ_CHECK(la == lb && memcmp(ta, tb, la) == 0);
        FUZZ_CHECK(tokenfile_target_format(x, fa, sizeof(fa)) < sizeof(fa));
        FUZZ_CHECK(tokenfile_target_format(y, fb, sizeof(fb)) < sizeof(fb));
        FUZZ_CHECK(strcmp(fa, fb) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_tf_expect e = {0};
    struct fuzz_tf_errors *errs;
    struct tokenfile *t, *back, *one, *first, *second;
    const char *text;
    char *written, hash[TOKENFILE_LOG_HASH_LEN + 1];
    size_t len, cut, need;
    int rc;

    if (size < 1 || size > 65536)
        return 0;
    text = (const char *)data + 1;
    len = size - 1;
    cut = len * data[0] / 255;

    fuzz_tf_expect((const uint8_t *)text, len, &e);
    errs = calloc(1, sizeof(*errs));
    FUZZ_CHECK(errs != NULL);
    errs->n_lines = e.n_lines;
    errs->lines = malloc((e.n_lines + 1) * sizeof(*errs->lines));
    FUZZ_CHECK(errs->lines != NULL);
    t = tokenfile_new(fuzz_tf_key);
    FUZZ_CHECK(t != NULL);
    rc = tokenfile_parse(t, "f", text, len, fuzz_tf_on_error, errs);
    FUZZ_CHECK(rc >= 0 && (size_t)rc == errs->n);
    if (errs->n != e.n_bad || memcmp(errs->lines, e.bad_lines, e.n_bad * sizeof(size_t)) != 0) {
        fprintf(stderr, "error lines: module %zu, re-reading %zu\n", errs->n, e.n_bad);
        for (size_t i = 0; i < errs->n || i < e.n_bad; i++)
            fprintf(stderr, "  %zu %zu\n", i < errs->n ? errs->lines[i] : 0,
                    i < e.n_bad ? e.bad_lines[i] : 0);
        abort();
    }
    fuzz_tf_same_as_expected(t, &e);

    /* written back and read again: the same table, no errors */
    need = tokenfile_write(t, NULL, 0);
    written = malloc(need + 1);
    FUZZ_CHECK(written != NULL);
    FUZZ_CHECK(tokenfile_write(t, written, need + 1) == need && strlen(written) == need);
    back = tokenfile_new(fuzz_tf_key2);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(tokenfile_parse(back, "w", written, need, NULL, NULL) == 0);
    fuzz_tf_same(t, back);
    free(written);
    tokenfile_free(back);

    /* two files: one table fed both, or two tables merged, as the whole text would give
     * when the cut falls at a line start */
    one = tokenfile_new(fuzz_tf_key);
    first = tokenfile_new(fuzz_tf_key);
    second = tokenfile_new(fuzz_tf_key2);
    FUZZ_CHECK(one != NULL && first != NULL && second != NULL);
    FUZZ_CHECK(tokenfile_parse(one, "a", text, cut, NULL, NULL) >= 0);
    FUZZ_CHECK(tokenfile_parse(one, "b", text + cut, len - cut, NULL, NULL) >= 0);
    FUZZ_CHECK(tokenfile_parse(first, "a", text, cut, NULL, NULL) >= 0);
    FUZZ_CHECK(tokenfile_parse(second, "b", text + cut, len - cut, NULL, NULL) >= 0);
    FUZZ_CHECK(tokenfile_merge(first, second) == 0);
    fuzz_tf_same(one, first);
    if (cut == 0 ||
        (text[cut - 1] == '\n' && (len - cut < 3 || memcmp(text + cut, "\xef\xbb\xbf", 3) != 0)))
        fuzz_tf_same(one, t);
    tokenfile_free(one);
    tokenfile_free(first);
    tokenfile_free(second);

    /* near misses find nothing unless they are tokens themselves */
    for (size_t i = 0; i < tokenfile_count(t); i++) {
        const char *token;
        size_t tl;
        char *longer;
        tokenfile_entry(t, i, &token, &tl);
        longer = malloc(tl + 1);
        FUZZ_CHECK(longer != NULL);
        memcpy(longer, token, tl);
        longer[tl] = 'x';
        for (size_t k = 0; k < 2; k++) {
            const char *q = k == 0 ? longer : token;
            size_t ql = k == 0 ? tl + 1 : tl - 1;
            const struct tokenfile_target *hit = tokenfile_lookup(t, q, ql);
            bool is_token = false;
            for (size_t j = 0; j < e.n; j++)
                is_token |= e.refs[j].token_len == ql && memcmp(e.refs[j].token, q, ql) == 0;
            FUZZ_CHECK((hit != NULL) == is_token);
        }
        free(longer);
        tokenfile_log_hash(fuzz_tf_key, token, tl, hash);
        FUZZ_CHECK(strlen(hash) == TOKENFILE_LOG_HASH_LEN &&
                   strspn(hash, "0123456789abcdef") == TOKENFILE_LOG_HASH_LEN);
    }

    tokenfile_free(t);
    free(errs->lines);
    free(errs);
    fuzz_tf_expect_free(&e);
    return 0;
}
