/*
 * tokenfile.c - websockify's TokenFile syntax (websockify/token_plugins.py,
 * ReadOnlyTokenFile) read line by line into a hash table keyed with SipHash-2-4.
 * Each entry is one allocation holding its token and its target's text. Host and port
 * are checked with addr.c; reading files, watching them and logging are the caller's.
 */
#include "tokenfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "siphash.h"
#include "utf8.h"

#define TOKENFILE_UNIX_PREFIX "unix_socket:"
#define TOKENFILE_BOM "\xef\xbb\xbf"
#define TOKENFILE_EMPTY_HOST "127.0.0.1" /* getaddrinfo(NULL, port) without AI_PASSIVE */
#define TOKENFILE_SLOTS_MIN 16

struct tokenfile_entry {
    uint64_t hash;                  /* SipHash of the token under the table's key */
    size_t token_len;               /* bytes of data[] before the token's NUL */
    struct tokenfile_target target; /* host or path point into data[] */
    char data[];                    /* token, NUL, host or path, NUL */
};

struct tokenfile {
    uint8_t key[SIPHASH_KEY_BYTES];
    struct tokenfile_entry **entries; /* in the order tokens were first added */
    size_t n, cap;                    /* entries used and allocated */
    uint32_t *slots;                  /* open addressing: entry index + 1, 0 empty */
    size_t n_slots;                   /* a power of two, at least twice n */
};

/* What one line holds once read: the token and the target's parts, pointing into the
 * line. */
struct tokenfile_line {
    const char *token;
    size_t token_len;
    enum tokenfile_kind kind;
    char host[ADDR_HOST_MAX + 1]; /* TCP */
    uint16_t port;                /* TCP */
    const char *path;             /* UNIX */
    size_t path_len;
};

/* The reporting state of one tokenfile_parse() call. */
struct tokenfile_report {
    const char *name;
    tokenfile_error_cb *cb;
    void *arg;
    int count;
};

static void tokenfile_report(struct tokenfile_report *r, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats one error as "NAME:LINE: ..." (LINE 0: "NAME: ...") and hands it over. The
 * name is cut, never the reason, when the two do not fit. */
static void tokenfile_report(struct tokenfile_report *r, size_t line, const char *fmt, ...)
{
    char why[TOKENFILE_ERROR_MAX / 2], msg[TOKENFILE_ERROR_MAX];
    va_list ap;

    r->count++;
    if (r->cb == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(msg, sizeof(msg), "%.*s:%zu: %s", (int)(sizeof(msg) - sizeof(why) - 24), r->name,
                 line, why);
    else
        snprintf(msg, sizeof(msg), "%.*s: %s", (int)(sizeof(msg) - sizeof(why) - 24), r->name, why);
    r->cb(r->arg, msg);
}

/* Length of the whitespace character at <p> (<left> bytes there), as Python's
 * str.isspace() and the \s of its re module see it; 0 if there is none. */
static size_t tokenfile_space_len(const uint8_t *p, size_t left)
{
    if (left >= 1 && ((p[0] >= 0x09 && p[0] <= 0x0d) || (p[0] >= 0x1c && p[0] <= 0x20)))
        return 1;
    if (left >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
        return 2; /* U+0085, U+00A0 */
    if (left < 3)
        return 0;
    if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
        return 3; /* U+1680 */
    /* The bytes may not be UTF-8 yet (blank lines are found before the check): match
     * whole sequences only. */
    if (p[0] == 0xe2 && p[1] == 0x80 &&
        ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return 3; /* U+2000..U+200A, U+2028, U+2029, U+202F */
    if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
        return 3; /* U+205F */
    if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
        return 3; /* U+3000 */
    return 0;
}

/* Strips whitespace from both ends of *<s> (*<len> bytes of valid UTF-8). */
static void tokenfile_strip(const char **s, size_t *len)
{
    const uint8_t *p = (const uint8_t *)*s;
    size_t n = *len, k, w;

    while (n > 0 && (w = tokenfile_space_len(p, n)) > 0) {
        p += w;
        n -= w;
    }
    /* Backwards: in valid UTF-8, a suffix of 1..3 bytes that is one whitespace
     * character starts at a character boundary. */
    for (k = 1; k <= 3 && k <= n;) {
        if (tokenfile_space_len(p + n - k, k) == k) {
            n -= k;
            k = 1;
        } else {
            k++;
        }
    }
    *s = (const char *)p;
    *len = n;
}

/* True if the <len> bytes at <p> are whitespace only. */
static bool tokenfile_is_blank(const uint8_t *p, size_t len)
{
    size_t w;

    while (len > 0) {
        w = tokenfile_space_len(p, len);
        if (w == 0)
            return false;
        p += w;
        len -= w;
    }
    return true;
}

/* Reads the target <s> (<len> bytes, stripped) into <ln>. Returns 0, or -1 with the
 * reason in <why>. */
static int tokenfile_read_target(const char *s, size_t len, struct tokenfile_line *ln, char *why,
                                 size_t why_len)
{
    size_t prefix = strlen(TOKENFILE_UNIX_PREFIX), host_len, port_len;
    char spec[TOKENFILE_LINE_MAX + 16], err[128]; /* a target is shorter than its line */
    const char *colon, *host;
    struct addr a;

    if (len == 0) {
        snprintf(why, why_len, "no target after \": \"");
        return -1;
    }
    if (len >= prefix && memcmp(s, TOKENFILE_UNIX_PREFIX, prefix) == 0) {
        ln->kind = TOKENFILE_UNIX;
        ln->path = s + prefix;
        /* Never empty: a colon ending the line is a separator, so "unix_socket:" with
         * nothing after it is a second one. */
        ln->path_len = len - prefix;
        if (ln->path_len > TOKENFILE_UNIX_PATH_MAX) {
            snprintf(why, why_len, "unix_socket: path longer than %d bytes",
                     TOKENFILE_UNIX_PATH_MAX);
            return -1;
        }
        return 0;
    }
    ln->kind = TOKENFILE_TCP;
    if (memmem(s, len, "://", 3) != NULL) {
        snprintf(why, why_len, "target: a scheme is not a host name");
        return -1;
    }
    colon = memrchr(s, ':', len); /* websockify: target.rsplit(':', 1) */
    if (colon == NULL) {
        snprintf(why, why_len, "target has no \":port\"");
        return -1;
    }
    host = s;
    host_len = (size_t)(colon - s);
    port_len = len - host_len - 1;
    if (host_len == 0) {
        host = TOKENFILE_EMPTY_HOST;
        host_len = strlen(host);
    }
    /* addr.c reads the bracketed form only; websockify writes IPv6 bare. */
    if (host[0] != '[' && memchr(host, ':', host_len) != NULL)
        snprintf(spec, sizeof(spec), "[%.*s]:%.*s", (int)host_len, host, (int)port_len, colon + 1);
    else
        snprintf(spec, sizeof(spec), "%.*s:%.*s", (int)host_len, host, (int)port_len, colon + 1);
    if (addr_parse(spec, 0, &a, err, sizeof(err)) != 0) {
        snprintf(why, why_len, "target: %s", err);
        return -1;
    }
    if (a.kind == ADDR_UNIX) {
        snprintf(why, why_len, "target: a Unix socket is written unix_socket:PATH here");
        return -1;
    }
    if (a.tls || a.kind != ADDR_HOSTPORT) {
        snprintf(why, why_len, "target: a scheme is not a host name");
        return -1;
    }
    memcpy(ln->host, a.host, sizeof(ln->host));
    ln->port = a.port;
    return 0;
}

/* Splits the line <p> (<len> bytes, no line end) into <ln>. Returns 0, or -1 with the
 * reason in <why>. */
static int tokenfile_read_line(const char *p, size_t len, struct tokenfile_line *ln, char *why,
                               size_t why_len)
{
    const uint8_t *u = (const uint8_t *)p;
    size_t i, sep = 0, n_sep = 0, w, target_len;
    const char *target;

    if (len > TOKENFILE_LINE_MAX) {
        snprintf(why, why_len, "line longer than %d bytes", TOKENFILE_LINE_MAX);
        return -1;
    }
    if (memchr(p, '\0', len) != NULL) {
        snprintf(why, why_len, "NUL byte in the line");
        return -1;
    }
    if (!utf8_is_valid(u, len)) {
        snprintf(why, why_len, "not UTF-8");
        return -1;
    }
    /* websockify: re.split(r':\s', line), which must give exactly two parts; the line
     * it splits still has its "\n", so a colon ending the line separates too. */
    for (i = 0; i < len; i++) {
        if (p[i] != ':')
            continue;
        if (i + 1 == len || tokenfile_space_len(u + i + 1, len - i - 1) > 0) {
            if (n_sep++ == 0)
                sep = i;
        }
    }
    if (n_sep == 0) {
        snprintf(why, why_len, "no \": \" between token and target");
        return -1;
    }
    if (n_sep > 1) {
        snprintf(why, why_len, "more than one \": \" (a colon then a space)");
        return -1;
    }
    ln->token = p;
    ln->token_len = sep;
    if (sep == 0) {
        snprintf(why, why_len, "empty token");
        return -1;
    }
    if (sep > TOKENFILE_TOKEN_MAX) {
        snprintf(why, why_len, "token longer than %d bytes", TOKENFILE_TOKEN_MAX);
        return -1;
    }
    w = sep + 1 < len ? tokenfile_space_len(u + sep + 1, len - sep - 1) : 0;
    target = p + sep + 1 + w;
    target_len = len - sep - 1 - w;
    tokenfile_strip(&target, &target_len);
    return tokenfile_read_target(target, target_len, ln, why, why_len);
}

static uint64_t tokenfile_hash(const struct tokenfile *t, const char *token, size_t len)
{
    return siphash24(t->key, token, len);
}

/* The slot of <token> in <t>: where it is, or the empty slot where it would go. */
static size_t tokenfile_find_slot(const struct tokenfile *t, uint64_t hash, const char *token,
                                  size_t len)
{
    size_t mask = t->n_slots - 1, i = (size_t)hash & mask;
    const struct tokenfile_entry *e;

    for (;; i = (i + 1) & mask) {
        if (t->slots[i] == 0)
            return i;
        e = t->entries[t->slots[i] - 1];
        /* The keyed hash decides which entries are compared at all; the comparison then
         * does not stop at the first differing byte. */
        if (e->hash == hash && e->token_len == len && CRYPTO_memcmp(e->data, token, len) == 0)
            return i;
    }
}

/* Rebuilds the slots of <t> with <n_slots> of them (a power of two above t->n).
 * Returns 0, or -1 if out of memory (the old slots are kept). */
static int tokenfile_rehash(struct tokenfile *t, size_t n_slots)
{
    uint32_t *slots = calloc(n_slots, sizeof(*slots));
    size_t i, j;

    if (slots == NULL)
        return -1;
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    for (i = 0; i < t->n; i++) {
        for (j = (size_t)t->entries[i]->hash & (n_slots - 1); slots[j] != 0;
             j = (j + 1) & (n_slots - 1))
            ;
        slots[j] = (uint32_t)(i + 1);
    }
    return 0;
}

/* Makes an entry for <token> with a TCP <host> and <port> or a UNIX <path> (<path_len>
 * bytes). */
static struct tokenfile_entry *tokenfile_entry_new(uint64_t hash, const char *token, size_t len,
                                                   enum tokenfile_kind kind, const char *host,
                                                   uint16_t port, const char *path, size_t path_len)
{
    size_t text_len = kind == TOKENFILE_TCP ? strlen(host) : path_len;
    struct tokenfile_entry *e = malloc(sizeof(*e) + len + 1 + text_len + 1);
    char *text;

    if (e == NULL)
        return NULL;
    e->hash = hash;
    e->token_len = len;
    memcpy(e->data, token, len);
    e->data[len] = '\0';
    text = e->data + len + 1;
    memcpy(text, kind == TOKENFILE_TCP ? host : path, text_len);
    text[text_len] = '\0';
    e->target = (struct tokenfile_target){
        .kind = kind,
        .host = kind == TOKENFILE_TCP ? text : NULL,
        .port = kind == TOKENFILE_TCP ? port : 0,
        .path = kind == TOKENFILE_UNIX ? text : NULL,
    };
    return e;
}

/* Puts <e> (owned from now on) into <t>, replacing the entry of the same token. Returns
 * 0, 1 if <t> is full (<e> freed), or -1 if out of memory (<e> freed, <t> unchanged). */
static int tokenfile_put(struct tokenfile *t, struct tokenfile_entry *e)
{
    size_t slot = tokenfile_find_slot(t, e->hash, e->data, e->token_len);
    struct tokenfile_entry **entries;
    size_t cap;

    if (t->slots[slot] != 0) {
        free(t->entries[t->slots[slot] - 1]);
        t->entries[t->slots[slot] - 1] = e;
        return 0;
    }
    if (t->n >= TOKENFILE_ENTRIES_MAX) {
        free(e);
        return 1;
    }
    if (t->n == t->cap) {
        cap = t->cap == 0 ? TOKENFILE_SLOTS_MIN / 2 : t->cap * 2;
        entries = realloc(t->entries, cap * sizeof(*entries));
        if (entries == NULL) {
            free(e);
            return -1;
        }
        t->entries = entries;
        t->cap = cap;
    }
    /* At most half the slots used, so that probes stay short and one is always free. */
    if ((t->n + 1) * 2 > t->n_slots) {
        if (tokenfile_rehash(t, t->n_slots * 2) != 0) {
            free(e);
            return -1;
        }
        slot = tokenfile_find_slot(t, e->hash, e->data, e->token_len);
    }
    t->entries[t->n] = e;
    t->slots[slot] = (uint32_t)(t->n + 1);
    t->n++;
    return 0;
}

struct tokenfile *tokenfile_new(const uint8_t key[SIPHASH_KEY_BYTES])
{
    struct tokenfile *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    memcpy(t->key, key, SIPHASH_KEY_BYTES);
    t->slots = calloc(TOKENFILE_SLOTS_MIN, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    t->n_slots = TOKENFILE_SLOTS_MIN;
    return t;
}

void tokenfile_free(struct tokenfile *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->entries[i]);
    free(t->entries);
    free(t->slots);
    OPENSSL_cleanse(t->key, sizeof(t->key));
    free(t);
}

/* Length of the line starting at <p> (<left> bytes) without its end; sets *<next> to
 * where the next line starts. */
static size_t tokenfile_next_line(const char *p, size_t left, const char **next)
{
    size_t i;

    for (i = 0; i < left; i++) {
        if (p[i] == '\n') {
            *next = p + i + 1;
            return i;
        }
        if (p[i] == '\r') {
            *next = p + i + (i + 1 < left && p[i + 1] == '\n' ? 2 : 1);
            return i;
        }
    }
    *next = p + left;
    return left;
}

int tokenfile_parse(struct tokenfile *t, const char *name, const char *text, size_t len,
                    tokenfile_error_cb *on_error, void *arg)
{
    struct tokenfile_report rep = {.name = name, .cb = on_error, .arg = arg};
    const char *p = text, *end = text + len, *next;
    struct tokenfile_entry *e;
    struct tokenfile_line ln;
    char why[TOKENFILE_ERROR_MAX / 2];
    size_t line_no = 0, n;
    int put;

    if (len > TOKENFILE_TEXT_MAX) {
        tokenfile_report(&rep, 0, "larger than %u MiB: not read", TOKENFILE_TEXT_MAX >> 20);
        return rep.count;
    }
    if (len >= 3 && memcmp(p, TOKENFILE_BOM, 3) == 0)
        p += 3;
    while (p < end) {
        n = tokenfile_next_line(p, (size_t)(end - p), &next);
        line_no++;
        if ((n > 0 && p[0] == '#') || tokenfile_is_blank((const uint8_t *)p, n)) {
            p = next;
            continue;
        }
        if (tokenfile_read_line(p, n, &ln, why, sizeof(why)) != 0) {
            tokenfile_report(&rep, line_no, "%s", why);
            p = next;
            continue;
        }
        e = tokenfile_entry_new(tokenfile_hash(t, ln.token, ln.token_len), ln.token, ln.token_len,
                                ln.kind, ln.host, ln.port, ln.path, ln.path_len);
        if (e == NULL)
            return -1;
        put = tokenfile_put(t, e);
        if (put < 0)
            return -1;
        if (put > 0) {
            tokenfile_report(&rep, line_no, "more than %d tokens: the rest is not read",
                             TOKENFILE_ENTRIES_MAX);
            return rep.count;
        }
        p = next;
    }
    return rep.count;
}

int tokenfile_merge(struct tokenfile *dst, const struct tokenfile *src)
{
    const struct tokenfile_entry *s;
    struct tokenfile_entry *e;
    size_t i;

    for (i = 0; i < src->n; i++) {
        s = src->entries[i];
        e = tokenfile_entry_new(tokenfile_hash(dst, s->data, s->token_len), s->data, s->token_len,
                                s->target.kind, s->target.host, s->target.port, s->target.path,
                                s->target.path != NULL ? strlen(s->target.path) : 0);
        if (e == NULL || tokenfile_put(dst, e) != 0)
            return -1;
    }
    return 0;
}

const struct tokenfile_target *tokenfile_lookup(const struct tokenfile *t, const char *token,
                                                size_t len)
{
    size_t slot;

    if (len == 0 || len > TOKENFILE_TOKEN_MAX)
        return NULL;
    slot = tokenfile_find_slot(t, tokenfile_hash(t, token, len), token, len);
    return t->slots[slot] != 0 ? &t->entries[t->slots[slot] - 1]->target : NULL;
}

size_t tokenfile_count(const struct tokenfile *t)
{
    return t->n;
}

const struct tokenfile_target *tokenfile_entry(const struct tokenfile *t, size_t i,
                                               const char **token, size_t *token_len)
{
    *token = t->entries[i]->data;
    *token_len = t->entries[i]->token_len;
    return &t->entries[i]->target;
}

/* Appends <len> bytes at <s> to <out> (<cap> bytes) at *<at>, which counts on past
 * <cap> so that the caller learns the length it needed. */
static void tokenfile_append(char *out, size_t cap, size_t *at, const char *s, size_t len)
{
    if (*at < cap)
        memcpy(out + *at, s, *at + len < cap ? len : cap - *at);
    *at += len;
}

/* Writes <tgt> in websockify's spelling into <out> (at most <cap> bytes); returns the
 * length it needed. */
static size_t tokenfile_target_websockify(const struct tokenfile_target *tgt, char *out, size_t cap)
{
    int n;

    if (tgt->kind == TOKENFILE_UNIX)
        n = snprintf(out, cap, "%s%s", TOKENFILE_UNIX_PREFIX, tgt->path);
    else
        n = snprintf(out, cap, "%s:%u", tgt->host, (unsigned)tgt->port);
    return n < 0 ? 0 : (size_t)n;
}

size_t tokenfile_write(const struct tokenfile *t, char *out, size_t cap)
{
    static const char head[] = "# written by wsbridge: token: target\n";
    char target[ADDR_HOST_MAX + TOKENFILE_UNIX_PATH_MAX + 32];
    size_t at = 0, i, n;

    /* The comment keeps a token off the first line, where a leading byte order mark
     * would be dropped on reading. */
    tokenfile_append(out, cap, &at, head, sizeof(head) - 1);
    for (i = 0; i < t->n; i++) {
        const struct tokenfile_entry *e = t->entries[i];
        n = tokenfile_target_websockify(&e->target, target, sizeof(target));
        tokenfile_append(out, cap, &at, e->data, e->token_len);
        tokenfile_append(out, cap, &at, ": ", 2);
        tokenfile_append(out, cap, &at, target, n);
        tokenfile_append(out, cap, &at, "\n", 1);
    }
    if (cap > 0)
        out[at < cap ? at : cap - 1] = '\0';
    return at;
}

size_t tokenfile_target_format(const struct tokenfile_target *tgt, char *out, size_t cap)
{
    int n;

    if (tgt->kind == TOKENFILE_UNIX)
        n = snprintf(out, cap, "unix:%s", tgt->path);
    else if (strchr(tgt->host, ':') != NULL)
        n = snprintf(out, cap, "[%s]:%u", tgt->host, (unsigned)tgt->port);
    else
        n = snprintf(out, cap, "%s:%u", tgt->host, (unsigned)tgt->port);
    return n < 0 ? 0 : (size_t)n;
}

void tokenfile_log_hash(const uint8_t key[SIPHASH_KEY_BYTES], const char *token, size_t len,
                        char out[TOKENFILE_LOG_HASH_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h = siphash24(key, token, len);

    for (int i = 0; i < TOKENFILE_LOG_HASH_LEN; i++)
        out[i] = hex[(h >> (60 - 4 * i)) & 0xf];
    out[TOKENFILE_LOG_HASH_LEN] = '\0';
}
