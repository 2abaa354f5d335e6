/*
 * basicauth.c - HTTP Basic authentication (RFC 7617), no I/O: users parsed from
 * htpasswd-style text, crypt(3) hashes of one method and cost per file (so a wrong
 * password takes as long whoever the user is), and the check split in two: decoding the
 * header here on the caller's thread, the hash wherever the caller runs it.
 */
#include "basicauth.h"

#include <assert.h>
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "quote.h"

/* user-pass = user-id ":" password, base64-encoded (RFC 7617 §2) */
#define BASICAUTH_PLAIN_MAX (BASICAUTH_USER_MAX + 1 + BASICAUTH_PASSWORD_MAX)
#define BASICAUTH_B64_MAX (4 * ((BASICAUTH_PLAIN_MAX + 2) / 3))

#define BASICAUTH_ROUNDS "rounds=" /* the optional SHA-crypt parameter (crypt(5)) */
#define BASICAUTH_SCHEME "Basic"   /* RFC 7617 §2, compared without case */

static_assert(BASICAUTH_HASH_MAX < CRYPT_OUTPUT_SIZE, "a stored hash must fit crypt_r's output");

/* True if <s> starts with <prefix>. */
static bool basicauth_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool basicauth_is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool basicauth_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

struct basicauth_scheme {
    const char *id;    /* between the first two '$' */
    const char *name;  /* for messages */
    size_t hash_len;   /* characters after the last '$' */
    size_t min_fields; /* '$'-separated fields after the id, hash included */
    size_t max_fields;
};

/* What crypt(3) offers that is still worth accepting (libxcrypt's crypt(5) calls the
 * rest legacy or broken). Field counts: "$6$[rounds=N$]salt$hash", "$y$params$salt$hash",
 * "$2b$cost$salt-and-hash". */
/* clang-format off */
static const struct basicauth_scheme basicauth_schemes[] = {
    /* id, name, hash length, fields */
    {"y", "yescrypt", 43, 3, 3},
    {"6", "SHA-512", 86, 2, 3},
    {"5", "SHA-256", 43, 2, 3},
    {"2b", "bcrypt", 53, 2, 2},
    {"2y", "bcrypt", 53, 2, 2},
};
/* clang-format on */

static bool basicauth_is_crypt64(char ch)
{
    return basicauth_is_alpha(ch) || basicauth_is_digit(ch) || ch == '.' || ch == '/';
}

/* Checks <hash> (NUL-terminated) is a complete crypt string of an accepted scheme.
 * Returns NULL, or a static text saying what is wrong. */
static const char *basicauth_users_check_hash(const char *hash)
{
    const struct basicauth_scheme *sc = NULL;
    const char *f, *last;
    size_t id_len, fields = 0;

    if (basicauth_starts(hash, "{SHA}"))
        return "{SHA} (unsalted SHA-1) hashes are refused; rehash with yescrypt, SHA-512 or "
               "bcrypt (mkpasswd -m yescrypt, htpasswd -B)";
    if (hash[0] != '$')
        return "the password is not hashed (plain text or DES crypt); store a yescrypt, "
               "SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)";
    if (basicauth_starts(hash, "$1$") || basicauth_starts(hash, "$apr1$"))
        return "MD5 hashes ($1$, $apr1$) are refused; rehash with yescrypt, SHA-512 or "
               "bcrypt (mkpasswd -m yescrypt, htpasswd -B)";
    id_len = strcspn(hash + 1, "$");
    for (size_t i = 0; i < sizeof(basicauth_schemes) / sizeof(basicauth_schemes[0]); i++)
        if (strlen(basicauth_schemes[i].id) == id_len &&
            strncmp(hash + 1, basicauth_schemes[i].id, id_len) == 0)
            sc = &basicauth_schemes[i];
    if (sc == NULL || hash[1 + id_len] != '$')
        return "unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 ($5$) or bcrypt "
               "($2b$, $2y$)";
    /* Fields are non-empty runs of crypt's base64 alphabet; "rounds=N" may hold '='. */
    for (f = hash + 2 + id_len;; f++) {
        size_t n = 0;
        while (basicauth_is_crypt64(f[n]) || f[n] == '=')
            n++;
        if (n == 0 || (f[n] != '$' && f[n] != '\0'))
            return "malformed hash";
        fields++;
        last = f;
        f += n;
        if (*f == '\0')
            break;
    }
    if (fields < sc->min_fields || fields > sc->max_fields || strlen(last) != sc->hash_len ||
        strchr(last, '=') != NULL)
        return "malformed or incomplete hash";
    if (sc->id[0] == '2') {
        const char *cost = hash + 2 + id_len;
        int c = (cost[0] - '0') * 10 + (cost[1] - '0');
        if (!basicauth_is_digit(cost[0]) || !basicauth_is_digit(cost[1]) || cost[2] != '$' ||
            c < 4 || c > 31)
            return "bcrypt cost must be two digits, 04 to 31";
    }
    switch (crypt_checksalt(hash)) {
    case CRYPT_SALT_OK:
    case CRYPT_SALT_METHOD_LEGACY: /* Debian's libxcrypt ranks $5$ as legacy, yet sound */
    case CRYPT_SALT_TOO_CHEAP:
        return NULL;
    default:
        return "hash not supported by this system's crypt(3)";
    }
}

/* The method and cost of <hash> (already checked by basicauth_users_check_hash) as text for
 * comparing and for messages, into <out>: "bcrypt, cost 12", "SHA-512, 5000 rounds",
 * "yescrypt, parameters j9T". Two hashes with the same text cost the same time. */
static void basicauth_users_cost(const char *hash, char *out, size_t out_len)
{
    const char *params = hash + 1 + strcspn(hash + 1, "$") + 1; /* after "$id$" */
    size_t params_len = strcspn(params, "$");

    if (hash[1] == '2') {
        snprintf(out, out_len, "bcrypt, cost %.2s", params);
    } else if (hash[1] == 'y') {
        snprintf(out, out_len, "yescrypt, parameters %.*s", (int)params_len, params);
    } else {
        /* crypt(5): "rounds=N" is optional, 5000 without it. */
        unsigned long rounds = 5000;
        if (basicauth_starts(params, BASICAUTH_ROUNDS))
            rounds = strtoul(params + strlen(BASICAUTH_ROUNDS), NULL, 10);
        snprintf(out, out_len, "%s, %lu rounds", hash[1] == '6' ? "SHA-512" : "SHA-256", rounds);
    }
}

/* Reads the line <line> (<len> bytes, spaces trimmed, not a comment) number <lineno> into
 * <u>; returns 0, or -1 with "NAME:LINE: why" in <err>. */
static int basicauth_users_line(struct basicauth_users *u, const char *line, size_t len,
                                unsigned lineno, const char *name, char *err, size_t err_len)
{
    const char *colon = memchr(line, ':', len);
    size_t user_len = colon != NULL ? (size_t)(colon - line) : 0;
    size_t hash_len = colon != NULL ? len - user_len - 1 : 0;
    char q[QUOTE_BUF], cost[64], first_cost[64];
    struct basicauth_user *au;
    const char *why;

    if (colon == NULL) {
        snprintf(err, err_len, "%s:%u: expected \"user:hash\"", name, lineno);
        return -1;
    }
    quote_text(line, user_len, q);
    if (user_len == 0 || user_len > BASICAUTH_USER_MAX) {
        snprintf(err, err_len, "%s:%u: user name must be 1 to %d bytes", name, lineno,
                 BASICAUTH_USER_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
            snprintf(err, err_len, "%s:%u: control character in line", name, lineno);
            return -1;
        }
    }
    for (size_t i = 0; i < u->n; i++) {
        if (strlen(u->items[i].name) == user_len && memcmp(u->items[i].name, line, user_len) == 0) {
            snprintf(err, err_len, "%s:%u: user \"%s\" is listed twice (first at line %u)", name,
                     lineno, q, u->items[i].line);
            return -1;
        }
    }
    if (u->n == BASICAUTH_USERS_MAX) {
        snprintf(err, err_len, "%s:%u: more than %d users", name, lineno, BASICAUTH_USERS_MAX);
        return -1;
    }
    au = &u->items[u->n];
    memset(au, 0, sizeof(*au));
    if (hash_len > BASICAUTH_HASH_MAX) {
        snprintf(err, err_len, "%s:%u: user \"%s\": hash longer than %d bytes", name, lineno, q,
                 BASICAUTH_HASH_MAX);
        return -1;
    }
    memcpy(au->hash, colon + 1, hash_len);
    au->hash[hash_len] = '\0';
    if ((why = basicauth_users_check_hash(au->hash)) != NULL) {
        snprintf(err, err_len, "%s:%u: user \"%s\": %s", name, lineno, q, why);
        OPENSSL_cleanse(au->hash, sizeof(au->hash));
        return -1;
    }
    /* A cheaper hash would answer a wrong password sooner, telling its user exists. */
    if (u->n > 0) {
        basicauth_users_cost(au->hash, cost, sizeof(cost));
        basicauth_users_cost(u->items[0].hash, first_cost, sizeof(first_cost));
        if (strcmp(cost, first_cost) != 0) {
            snprintf(err, err_len,
                     "%s:%u: user \"%s\": %s, but line %u has %s: every hash of a file must "
                     "have the same method and cost, or the time a wrong password takes tells "
                     "users apart",
                     name, lineno, q, cost, u->items[0].line, first_cost);
            OPENSSL_cleanse(au->hash, sizeof(au->hash));
            return -1;
        }
    }
    memcpy(au->name, line, user_len);
    au->name[user_len] = '\0';
    au->line = lineno;
    u->n++;
    return 0;
}

/* Makes <u>->dummy: a setting with <hash>'s method and cost and a fresh random salt.
 * Returns NULL, or a static why. */
static const char *basicauth_users_make_dummy(struct basicauth_users *u, const char *hash)
{
    const char *params = hash + 1 + strcspn(hash + 1, "$") + 1;
    size_t params_len = strcspn(params, "$");
    char prefix[8], salt[CRYPT_GENSALT_OUTPUT_SIZE];
    unsigned long count = 0;
    int n;

    snprintf(prefix, sizeof(prefix), "%.*s", (int)(params - hash), hash); /* "$2b$", "$6$" */
    if (hash[1] == '2')
        count = strtoul(params, NULL, 10);
    else if (hash[1] != 'y' && basicauth_starts(params, BASICAUTH_ROUNDS))
        count = strtoul(params + strlen(BASICAUTH_ROUNDS), NULL, 10);
    /* rbytes NULL: libcrypt takes the salt's randomness from the system. */
    if (crypt_gensalt_rn(prefix, count, NULL, 0, salt, sizeof(salt)) == NULL)
        return "crypt_gensalt failed";
    n = snprintf(u->dummy, sizeof(u->dummy), "%s", salt);
    if (hash[1] == 'y') {
        /* yescrypt's count does not spell every parameter set: keep the file's own. */
        const char *salt_part = strrchr(salt, '$');
        n = snprintf(u->dummy, sizeof(u->dummy), "$y$%.*s%s", (int)params_len, params,
                     salt_part != NULL ? salt_part : "$");
    }
    if (n < 0 || (size_t)n >= sizeof(u->dummy))
        return "dummy setting too long";
    switch (crypt_checksalt(u->dummy)) {
    case CRYPT_SALT_OK:
    case CRYPT_SALT_METHOD_LEGACY:
    case CRYPT_SALT_TOO_CHEAP:
        return NULL;
    default:
        return "crypt(3) refuses a setting like this hash's";
    }
}

/* Parses htpasswd-style <text> (<len> bytes): see basicauth.h. Returns the users, or NULL with
 * "NAME:LINE: why" in <err>. */
struct basicauth_users *basicauth_users_parse(const char *text, size_t len, const char *name,
                                              char *err, size_t err_len)
{
    struct basicauth_users *u = calloc(1, sizeof(*u));
    size_t cap = 0, pos = 0;
    unsigned lineno = 0;
    const char *why;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (name == NULL)
        name = "-";
    if (u == NULL) {
        snprintf(err, err_len, "%s: out of memory", name);
        return NULL;
    }
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
        pos += line_len + (nl != NULL);
        lineno++;
        if (memchr(line, '\0', line_len) != NULL) {
            snprintf(err, err_len, "%s:%u: NUL byte in line", name, lineno);
            goto fail;
        }
        /* Spaces, tabs and a CR of CRLF around the line are layout, not data. */
        while (line_len > 0 && strchr(" \t\r", line[line_len - 1]) != NULL)
            line_len--;
        while (line_len > 0 && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            line_len--;
        }
        if (line_len == 0 || line[0] == '#')
            continue;
        if (u->n == cap && cap < BASICAUTH_USERS_MAX) {
            size_t grown_cap = cap == 0 ? 16 : cap * 2;
            struct basicauth_user *grown;
            if (grown_cap > BASICAUTH_USERS_MAX)
                grown_cap = BASICAUTH_USERS_MAX;
            grown = realloc(u->items, grown_cap * sizeof(*grown));
            if (grown == NULL) {
                snprintf(err, err_len, "%s:%u: out of memory", name, lineno);
                goto fail;
            }
            u->items = grown;
            cap = grown_cap;
        }
        if (basicauth_users_line(u, line, line_len, lineno, name, err, err_len) < 0)
            goto fail;
    }
    if (u->n > 0 && (why = basicauth_users_make_dummy(u, u->items[0].hash)) != NULL) {
        snprintf(err, err_len, "%s:%u: %s", name, u->items[0].line, why);
        goto fail;
    }
    return u;

fail:
    basicauth_users_free(u);
    return NULL;
}

/* Frees <u>, wiping the hashes it holds; NULL is fine. */
void basicauth_users_free(struct basicauth_users *u)
{
    if (u == NULL)
        return;
    if (u->items != NULL)
        OPENSSL_cleanse(u->items, u->n * sizeof(*u->items));
    free(u->items);
    OPENSSL_cleanse(u->dummy, sizeof(u->dummy));
    free(u);
}

/* Decodes the base64 token68 at <b64> (<len> bytes, RFC 4648 §4 with padding) into
 * <out> (BASICAUTH_PLAIN_MAX + 3 bytes). Returns the decoded length, or -1. */
static int basicauth_base64(const char *b64, size_t len, unsigned char *out)
{
    size_t pad = 0;
    int n;

    if (len == 0 || len % 4 != 0 || len > BASICAUTH_B64_MAX)
        return -1;
    while (pad < 2 && b64[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!basicauth_is_alpha(b64[i]) && !basicauth_is_digit(b64[i]) && b64[i] != '+' &&
            b64[i] != '/')
            return -1;
    /* EVP_DecodeBlock decodes whole quanta and counts padding as zero bytes. */
    n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
    if (n < 0 || (size_t)n < pad)
        return -1;
    return n - (int)pad;
}

static const struct basicauth_user *basicauth_users_find(const struct basicauth_users *u,
                                                         const char *name, size_t len)
{
    for (size_t i = 0; u != NULL && i < u->n; i++)
        if (strlen(u->items[i].name) == len && memcmp(u->items[i].name, name, len) == 0)
            return &u->items[i];
    return NULL;
}

/* Decodes <authorization> into <cred> and picks its hash under <u>: see basicauth.h. */
enum basicauth_result basicauth_decode(const struct basicauth_users *u, const char *authorization,
                                       struct basicauth_cred *cred)
{
    /* For a file with no user: never matches (crypt of any password under this salt is
     * another string), and there is no user whose existence a time could tell. */
    static const char no_users_setting[] = "$6$wsbridge.dummy$";
    unsigned char plain[BASICAUTH_PLAIN_MAX + 3];
    const size_t scheme_len = strlen(BASICAUTH_SCHEME);
    const char *p = authorization, *colon;
    const struct basicauth_user *found;
    enum basicauth_result result = BASICAUTH_MALFORMED;
    size_t tok_len, name_len, password_len;
    int n;

    memset(cred, 0, sizeof(*cred));
    /* RFC 7235 §2.1: credentials = auth-scheme [ 1*SP token68 ]; the scheme is
     * case-insensitive. */
    if (p == NULL || strncasecmp(p, BASICAUTH_SCHEME, scheme_len) != 0 ||
        (p[scheme_len] != ' ' && p[scheme_len] != '\0'))
        return BASICAUTH_MISSING;
    p += scheme_len;
    while (*p == ' ')
        p++;
    tok_len = strlen(p);
    while (tok_len > 0 && (p[tok_len - 1] == ' ' || p[tok_len - 1] == '\t'))
        tok_len--;
    n = basicauth_base64(p, tok_len, plain);
    if (n < 0)
        goto done;
    /* RFC 7617 §2: neither user-id nor password holds a control character (NUL too). */
    for (int i = 0; i < n; i++)
        if (plain[i] < 0x20 || plain[i] == 0x7f)
            goto done;
    colon = memchr(plain, ':', (size_t)n);
    if (colon == NULL)
        goto done;
    name_len = (size_t)(colon - (const char *)plain);
    password_len = (size_t)n - name_len - 1;
    if (password_len > BASICAUTH_PASSWORD_MAX)
        goto done;
    memcpy(cred->password, colon + 1, password_len);
    cred->password[password_len] = '\0';
    found = basicauth_users_find(u, (const char *)plain, name_len);
    /* A name longer than any in a file is simply unknown; it is cut for the log only. */
    snprintf(cred->user, sizeof(cred->user), "%.*s", (int)name_len, (const char *)plain);
    cred->known = found != NULL;
    snprintf(cred->hash, sizeof(cred->hash), "%s",
             found != NULL                      ? found->hash
             : u != NULL && u->dummy[0] != '\0' ? u->dummy
                                                : no_users_setting);
    result = BASICAUTH_PENDING;

done:
    OPENSSL_cleanse(plain, sizeof(plain));
    return result;
}

/* crypt(3) of <cred>'s password under its hash, and the comparison: see basicauth.h. */
enum basicauth_result basicauth_verify(const struct basicauth_cred *cred)
{
    /* crypt_r needs a zeroed struct crypt_data (about 32 KiB: too big for the stack). */
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    enum basicauth_result result = BASICAUTH_ERROR;
    size_t hash_len = strlen(cred->hash);
    const char *got;

    if (cd == NULL)
        return BASICAUTH_ERROR;
    got = crypt_r(cred->password, cred->hash, cd);
    /* libxcrypt fails with NULL or a string starting '*', never a valid hash. */
    if (got != NULL && got[0] != '*')
        result =
            cred->known && strlen(got) == hash_len && CRYPTO_memcmp(got, cred->hash, hash_len) == 0
                ? BASICAUTH_OK
                : BASICAUTH_DENIED;
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
    return result;
}

/* Wipes <cred>'s secrets and clears it. */
void basicauth_cred_wipe(struct basicauth_cred *cred)
{
    OPENSSL_cleanse(cred, sizeof(*cred));
}

/* Decodes and verifies on the caller's thread: see basicauth.h. */
enum basicauth_result basicauth_check(const struct basicauth_users *u, const char *authorization,
                                      char *user, size_t user_len)
{
    struct basicauth_cred cred;
    enum basicauth_result result = basicauth_decode(u, authorization, &cred);

    if (user != NULL && user_len > 0)
        snprintf(user, user_len, "%s", cred.user);
    if (result == BASICAUTH_PENDING)
        result = basicauth_verify(&cred);
    basicauth_cred_wipe(&cred);
    return result;
}

/* A short static name for <a>, for log lines. */
const char *basicauth_result_name(enum basicauth_result a)
{
    switch (a) {
    case BASICAUTH_OK:
        return "ok";
    case BASICAUTH_MISSING:
        return "missing";
    case BASICAUTH_MALFORMED:
        return "malformed";
    case BASICAUTH_DENIED:
        return "denied";
    case BASICAUTH_ERROR:
        return "error";
    case BASICAUTH_PENDING:
        return "pending";
    }
    return "?";
}
