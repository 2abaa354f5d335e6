/*
 * test_basicauth.c - unit tests for basicauth.c: htpasswd text and Authorization values,
 * with hashes made by crypt_r at test time; files mixing hash costs refused with the lines
 * named, and the dummy setting unknown users are checked against having the file's
 * method and cost.
 */
#include <crypt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/evp.h>

#include "basicauth.h"
#include "check_main.h"

struct user_spec {
    const char *name;
    const char *setting; /* crypt_r salt string the hash is made with */
    const char *password;
};

/* One method and cost for the whole file (SHA-512, 5000 rounds), each user with a salt
 * of its own but two; the RFC 7617 §2 example user among them. Every accepted scheme is
 * tried in test_basicauth_schemes. */
static const struct user_spec user_specs[] = {
    {"alice", "$6$saltsalt$", "secret"},
    {"bob", "$6$bobsalt$", "correct horse"},
    {"carol", "$6$carolsalt$", "p\xc3\xa4sswort"},
    {"dave", "$6$rounds=5000$davesalt$", "p:w"},
    {"erin", "$6$erinsalt$", "x"},
    {"Aladdin", "$6$aladdin$", "open sesame"},
    {"fay", "$6$saltsalt$", ""},
};

#define N_USERS (sizeof(user_specs) / sizeof(user_specs[0]))

static char *hashes[N_USERS];

/* crypt_r with a zeroed work area, as basicauth.c calls it; the result is the caller's. */
static char *test_basicauth_crypt(const char *password, const char *setting)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    char *out, *h;

    ck_assert_ptr_nonnull(cd);
    h = crypt_r(password, setting, cd);
    ck_assert_msg(h != NULL && h[0] != '*', "crypt_r(%s) failed", setting);
    out = strdup(h);
    free(cd);
    return out;
}

/* The users file: comments, blank lines, indentation, CRLF and no final newline. */
static char *test_basicauth_users_text(void)
{
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);

    ck_assert_ptr_nonnull(text);
    len += (size_t)snprintf(text + len, cap - len, "# wsbridge users\n\n");
    for (size_t i = 0; i < N_USERS; i++) {
        if (hashes[i] == NULL)
            hashes[i] = test_basicauth_crypt(user_specs[i].password, user_specs[i].setting);
        len += (size_t)snprintf(text + len, cap - len, "%s%s:%s%s", i == 1 ? "  " : "",
                                user_specs[i].name, hashes[i],
                                i + 1 == N_USERS ? ""
                                : i == 2         ? " \t\r\n"
                                                 : "\n   # comment\n");
        ck_assert_uint_lt(len, cap);
    }
    return text;
}

static struct basicauth_users *test_basicauth_users_load(void)
{
    char *text = test_basicauth_users_text(), err[256] = "";
    struct basicauth_users *u =
        basicauth_users_parse(text, strlen(text), "users", err, sizeof(err));

    ck_assert_msg(u != NULL, "%s", err);
    free(text);
    return u;
}

static void test_basicauth_hashes_free(void)
{
    for (size_t i = 0; i < N_USERS; i++) {
        free(hashes[i]);
        hashes[i] = NULL;
    }
}

START_TEST(test_basicauth_users_good)
{
    struct basicauth_users *u = test_basicauth_users_load();

    ck_assert_uint_eq(u->n, N_USERS);
    for (size_t i = 0; i < N_USERS; i++) {
        ck_assert_str_eq(u->items[i].name, user_specs[i].name);
        ck_assert_str_eq(u->items[i].hash, hashes[i]);
        ck_assert_str_eq(u->items[i].hash, hashes[i]);
    }
    ck_assert_uint_eq(u->items[0].line, 3);
    ck_assert_uint_eq(u->items[1].line, 5);
    basicauth_users_free(u);
    basicauth_users_free(NULL);
    /* an empty file and a comment-only file are valid, with no users */
    u = basicauth_users_parse("", 0, "users", NULL, 0);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->n, 0);
    basicauth_users_free(u);
    u = basicauth_users_parse("#x\n\n \t\r\n", 8, "users", NULL, 0);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->n, 0);
    basicauth_users_free(u);
}
END_TEST

#define SHA512_OK                                                                                  \
    "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq."    \
    "H91p5hVO1"

struct users_bad_case {
    const char *text;
    size_t len; /* 0: strlen(text) */
    const char *err;
};

static const struct users_bad_case users_bad_cases[] = {
    {"alice\n", 0, "users:1: expected \"user:hash\""},
    {"# c\n\nalice:secret\n", 0,
     "users:3: user \"alice\": the password is not hashed (plain text or DES crypt); store a "
     "yescrypt, SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)"},
    {"alice:abNANd1rDfiNc\n", 0,
     "users:1: user \"alice\": the password is not hashed (plain text or DES crypt); store a "
     "yescrypt, SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)"},
    {"alice:\n", 0,
     "users:1: user \"alice\": the password is not hashed (plain text or DES crypt); store a "
     "yescrypt, SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)"},
    {"bob:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n", 0,
     "users:1: user \"bob\": MD5 hashes ($1$, $apr1$) are refused; rehash with yescrypt, "
     "SHA-512 or bcrypt (mkpasswd -m yescrypt, htpasswd -B)"},
    {"ok:" SHA512_OK "\nbob:$apr1$abc$0123456789012345678901\n", 0,
     "users:2: user \"bob\": MD5 hashes ($1$, $apr1$) are refused; rehash with yescrypt, "
     "SHA-512 or bcrypt (mkpasswd -m yescrypt, htpasswd -B)"},
    {"bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", 0,
     "users:1: user \"bob\": {SHA} (unsalted SHA-1) hashes are refused; rehash with yescrypt, "
     "SHA-512 or bcrypt (mkpasswd -m yescrypt, htpasswd -B)"},
    {"bob:$7$CU..../....abc$abc\n", 0,
     "users:1: user \"bob\": unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 "
     "($5$) or bcrypt ($2b$, $2y$)"},
    {"bob:$2a$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n", 0,
     "users:1: user \"bob\": unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 "
     "($5$) or bcrypt ($2b$, $2y$)"},
    {"bob:$6\n", 0,
     "users:1: user \"bob\": unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 "
     "($5$) or bcrypt ($2b$, $2y$)"},
    {"bob:$6$saltsalt$\n", 0, "users:1: user \"bob\": malformed hash"},
    {"bob:$6$saltsalt\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {"bob:$6$saltsalt$short\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {"bob:" SHA512_OK "x\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {"bob:$6$bad!salt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN"
     ".Pq.H91p5hVO1\n",
     0, "users:1: user \"bob\": malformed hash"},
    {"bob:$2b$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n", 0,
     "users:1: user \"bob\": bcrypt cost must be two digits, 04 to 31"},
    {"bob:$2b$5$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n", 0,
     "users:1: user \"bob\": bcrypt cost must be two digits, 04 to 31"},
    {"bob:$y$j9T$saltsaltsaltsalt\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {":" SHA512_OK "\n", 0, "users:1: user name must be 1 to 255 bytes"},
    {"a:" SHA512_OK "\n\n# x\na:" SHA512_OK "\n", 0,
     "users:4: user \"a\" is listed twice (first at line 1)"},
    {"a:" SHA512_OK "\nb\0:" SHA512_OK "\n", 2 * sizeof(SHA512_OK) + 5,
     "users:2: NUL byte in line"},
    {"a:" SHA512_OK "\nb\x01:" SHA512_OK "\n", 0, "users:2: control character in line"},
    {"a b\t:" SHA512_OK "\n", 0, "users:1: control character in line"},
};

START_TEST(test_basicauth_users_bad)
{
    const struct users_bad_case *t = &users_bad_cases[_i];
    char err[512] = "";
    size_t len = t->len != 0 ? t->len : strlen(t->text);

    ck_assert_ptr_null(basicauth_users_parse(t->text, len, "users", err, sizeof(err)));
    ck_assert_str_eq(err, t->err);
}
END_TEST

/* Names and hashes over their limits, and more users than a file may hold. */
START_TEST(test_basicauth_users_limits)
{
    size_t cap = (BASICAUTH_USERS_MAX + 1) * (sizeof(SHA512_OK) + 16) + 1024, len = 0;
    char *text = malloc(cap), err[512];
    struct basicauth_users *u;

    ck_assert_ptr_nonnull(text);
    memset(text, 'u', BASICAUTH_USER_MAX + 1);
    strcpy(text + BASICAUTH_USER_MAX + 1, ":" SHA512_OK "\n");
    ck_assert_ptr_null(basicauth_users_parse(text, strlen(text), "f", err, sizeof(err)));
    ck_assert_str_eq(err, "f:1: user name must be 1 to 255 bytes");
    strcpy(text + BASICAUTH_USER_MAX, ":" SHA512_OK "\n");
    u = basicauth_users_parse(text, strlen(text), "f", err, sizeof(err));
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(strlen(u->items[0].name), BASICAUTH_USER_MAX);
    basicauth_users_free(u);

    len = (size_t)snprintf(text, cap, "u:$6$saltsalt$");
    memset(text + len, 'a', BASICAUTH_HASH_MAX);
    text[len + BASICAUTH_HASH_MAX] = '\0';
    ck_assert_ptr_null(basicauth_users_parse(text, strlen(text), "f", err, sizeof(err)));
    ck_assert_str_eq(err, "f:1: user \"u\": hash longer than 383 bytes");

    len = 0;
    for (unsigned i = 0; i <= BASICAUTH_USERS_MAX; i++)
        len += (size_t)snprintf(text + len, cap - len, "u%u:%s\n", i, SHA512_OK);
    ck_assert_ptr_null(basicauth_users_parse(text, len, "f", err, sizeof(err)));
    ck_assert_str_eq(err, "f:10001: more than 10000 users");
    u = basicauth_users_parse(text, len - (sizeof(SHA512_OK) + 7), "f", err, sizeof(err));
    ck_assert_msg(u != NULL, "%s", err);
    ck_assert_uint_eq(u->n, BASICAUTH_USERS_MAX);
    basicauth_users_free(u);
    free(text);
}
END_TEST

/* Hashes made now by crypt_r, and by mkpasswd(1) when it is installed, are accepted. */
START_TEST(test_basicauth_users_fresh_hashes)
{
    static const char *const prefixes[] = {"$y$", "$6$", "$5$", "$2b$"};
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], line[512], err[512];
    FILE *p;

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        char *h;
        struct basicauth_users *u;
        ck_assert_ptr_nonnull(crypt_gensalt_rn(prefixes[i], 0, "0123456789abcdef0123456789abcdef",
                                               32, salt, sizeof(salt)));
        h = test_basicauth_crypt("pw", salt);
        snprintf(line, sizeof(line), "u:%s\n", h);
        u = basicauth_users_parse(line, strlen(line), "f", err, sizeof(err));
        ck_assert_msg(u != NULL, "%s: %s", h, err);
        basicauth_users_free(u);
        free(h);
    }
    p = popen("mkpasswd -m sha-512 pw 2>/dev/null", "r");
    if (p != NULL) {
        if (fgets(line + 2, (int)sizeof(line) - 2, p) != NULL) {
            struct basicauth_users *u;
            line[0] = 'u';
            line[1] = ':';
            u = basicauth_users_parse(line, strlen(line), "f", err, sizeof(err));
            ck_assert_msg(u != NULL, "mkpasswd: %s", err);
            basicauth_users_free(u);
        }
        pclose(p);
    }
}
END_TEST

struct basic_case {
    const char *header; /* used as is when <plain> is NULL */
    const char *plain;  /* else: "Basic " and the base64 of these bytes */
    size_t plain_len;   /* 0: strlen(plain) */
    enum basicauth_result want;
    const char *user; /* expected user name out */
};

static const struct basic_case basic_cases[] = {
    {NULL, NULL, 0, BASICAUTH_MISSING, ""},
    {"", NULL, 0, BASICAUTH_MISSING, ""},
    {"Bearer abc", NULL, 0, BASICAUTH_MISSING, ""},
    {"Basicx QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, BASICAUTH_MISSING, ""},
    {"Digest username=\"a\"", NULL, 0, BASICAUTH_MISSING, ""},
    /* RFC 7617 §2 example */
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, BASICAUTH_OK, "Aladdin"},
    {"basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, BASICAUTH_OK, "Aladdin"},
    {"BASIC    QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, BASICAUTH_OK, "Aladdin"},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\t ", NULL, 0, BASICAUTH_OK, "Aladdin"},
    {"Basic", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic ", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic\tQWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, BASICAUTH_MISSING, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ===", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic =QWxhZGRpbjpvcGVuIHNlc2FtZQ=", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic QWxh ZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==,", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic YWxpY2U6c2VjcmV0\xff===", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic ####", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic YW-_", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic ====", NULL, 0, BASICAUTH_MALFORMED, ""},
    {"Basic YWI6Y===", NULL, 0, BASICAUTH_MALFORMED, ""}, /* "ab:" and a third '=' */
    {"Basic YQ==YQ==", NULL, 0, BASICAUTH_MALFORMED, ""},
    {NULL, "alicesecret", 0, BASICAUTH_MALFORMED, ""},
    {NULL, "alice:sec\0ret", 13, BASICAUTH_MALFORMED, ""},
    {NULL, "alice\0:secret", 13, BASICAUTH_MALFORMED, ""},
    {NULL, "alice:secret\0", 13, BASICAUTH_MALFORMED, ""},
    {NULL, "alice:sec\nret", 0, BASICAUTH_MALFORMED, ""},
    {NULL, "alice:sec\x7fret", 0, BASICAUTH_MALFORMED, ""},
    {NULL, "ali\tce:secret", 0, BASICAUTH_MALFORMED, ""},
    {NULL, "alice:secret", 0, BASICAUTH_OK, "alice"},
    {NULL, "alice:wrong", 0, BASICAUTH_DENIED, "alice"},
    {NULL, "alice:secre", 0, BASICAUTH_DENIED, "alice"},
    {NULL, "alice:secret ", 0, BASICAUTH_DENIED, "alice"},
    {NULL, "alice:", 0, BASICAUTH_DENIED, "alice"},
    {NULL, "ALICE:secret", 0, BASICAUTH_DENIED, "ALICE"},
    {NULL, "alice :secret", 0, BASICAUTH_DENIED, "alice "},
    {NULL, "mallory:secret", 0, BASICAUTH_DENIED, "mallory"},
    {NULL, ":secret", 0, BASICAUTH_DENIED, ""},
    {NULL, ":", 0, BASICAUTH_DENIED, ""},
    {NULL, "bob:correct horse", 0, BASICAUTH_OK, "bob"},
    {NULL, "bob:correct horsE", 0, BASICAUTH_DENIED, "bob"},
    {NULL, "bob:secret", 0, BASICAUTH_DENIED, "bob"},
    {NULL, "carol:p\xc3\xa4sswort", 0, BASICAUTH_OK, "carol"},
    {NULL, "carol:passwort", 0, BASICAUTH_DENIED, "carol"},
    {NULL, "dave:p:w", 0, BASICAUTH_OK, "dave"},
    {NULL, "dave:p", 0, BASICAUTH_DENIED, "dave"},
    {NULL, "erin:x", 0, BASICAUTH_OK, "erin"},
    {NULL, "erin:X", 0, BASICAUTH_DENIED, "erin"},
    {NULL, "fay:", 0, BASICAUTH_OK, "fay"},
    {NULL, "fay:secret", 0, BASICAUTH_DENIED, "fay"},
    {NULL, "Aladdin:open sesame", 0, BASICAUTH_OK, "Aladdin"},
    /* the first line's hash is not a password anyone may use for another user */
    {NULL, "zed:secret", 0, BASICAUTH_DENIED, "zed"},
};

/* "Basic " and the base64 of <len> bytes at <plain>, into <out>. */
static void test_basicauth_header(const char *plain, size_t len, char *out, size_t cap)
{
    static const char scheme[] = "Basic ";
    const size_t scheme_len = sizeof(scheme) - 1;

    ck_assert_uint_lt(scheme_len + 4 * ((len + 2) / 3), cap);
    memcpy(out, scheme, scheme_len);
    EVP_EncodeBlock((unsigned char *)out + scheme_len, (const unsigned char *)plain, (int)len);
}

/* The same for the C string <plain>. */
static void test_basicauth_header_str(const char *plain, char *out, size_t cap)
{
    test_basicauth_header(plain, strlen(plain), out, cap);
}

START_TEST(test_basicauth_check)
{
    const struct basic_case *t = &basic_cases[_i];
    struct basicauth_users *u = test_basicauth_users_load();
    char header[1024], user[64];
    const char *h = t->header;
    enum basicauth_result got;

    if (t->plain != NULL) {
        test_basicauth_header(t->plain, t->plain_len != 0 ? t->plain_len : strlen(t->plain), header,
                              sizeof(header));
        h = header;
    }
    memset(user, 'x', sizeof(user));
    got = basicauth_check(u, h, user, sizeof(user));
    ck_assert_msg(got == t->want, "case %d (%s): got %s, want %s", _i, h != NULL ? h : "NULL",
                  basicauth_result_name(got), basicauth_result_name(t->want));
    ck_assert_str_eq(user, t->user);
    /* no user buffer is fine and changes nothing */
    ck_assert_int_eq(basicauth_check(u, h, NULL, 0), t->want);
    basicauth_users_free(u);
}
END_TEST

/* Lengths at and past the limits; a long user name is cut in the output buffer. */
START_TEST(test_basicauth_limits)
{
    struct basicauth_users *u = test_basicauth_users_load();
    char plain[1024], header[1536], user[8];

    /* password of BASICAUTH_PASSWORD_MAX bytes: a fair try; one more: malformed */
    memcpy(plain, "alice:", 6);
    memset(plain + 6, 'p', BASICAUTH_PASSWORD_MAX + 1);
    test_basicauth_header(plain, 6 + BASICAUTH_PASSWORD_MAX, header, sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, user, sizeof(user)), BASICAUTH_DENIED);
    ck_assert_str_eq(user, "alice");
    test_basicauth_header(plain, 6 + BASICAUTH_PASSWORD_MAX + 1, header, sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, user, sizeof(user)), BASICAUTH_MALFORMED);
    ck_assert_str_eq(user, "");
    /* longest user and password: still decoded; anything longer: malformed */
    memset(plain, 'n', BASICAUTH_USER_MAX);
    plain[BASICAUTH_USER_MAX] = ':';
    memset(plain + BASICAUTH_USER_MAX + 1, 'p', BASICAUTH_PASSWORD_MAX);
    test_basicauth_header(plain, BASICAUTH_USER_MAX + 1 + BASICAUTH_PASSWORD_MAX, header,
                          sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, user, sizeof(user)), BASICAUTH_DENIED);
    ck_assert_str_eq(user, "nnnnnnn");
    plain[BASICAUTH_USER_MAX + 1 + BASICAUTH_PASSWORD_MAX] = 'p';
    test_basicauth_header(plain, BASICAUTH_USER_MAX + 2 + BASICAUTH_PASSWORD_MAX, header,
                          sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, user, sizeof(user)), BASICAUTH_MALFORMED);
    /* a longer user name with a short password fits the decoded limit: unknown user */
    memset(plain, 'n', BASICAUTH_USER_MAX + 100);
    memcpy(plain + BASICAUTH_USER_MAX + 100, ":pw", 3);
    test_basicauth_header(plain, BASICAUTH_USER_MAX + 103, header, sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, user, sizeof(user)), BASICAUTH_DENIED);
    basicauth_users_free(u);
}
END_TEST

/* An empty user list, or none at all, refuses everyone, after the same crypt work. */
START_TEST(test_basicauth_no_users)
{
    struct basicauth_users *u = basicauth_users_parse("# nobody\n", 9, "f", NULL, 0);
    char header[64];

    ck_assert_ptr_nonnull(u);
    test_basicauth_header_str("alice:secret", header, sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, NULL, 0), BASICAUTH_DENIED);
    ck_assert_int_eq(basicauth_check(NULL, header, NULL, 0), BASICAUTH_DENIED);
    ck_assert_int_eq(basicauth_check(u, NULL, NULL, 0), BASICAUTH_MISSING);
    basicauth_users_free(u);
}
END_TEST

/* A hash crypt(3) cannot use (parse refuses it; here it is put in by hand) is a server
 * fault, not a wrong password. */
START_TEST(test_basicauth_crypt_fails)
{
    struct basicauth_user bad = {.name = "alice", .line = 1};
    struct basicauth_users u = {.items = &bad, .n = 1};
    char header[64], user[16];

    strcpy(bad.hash, "$2b$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a");
    /* unknown users go through the dummy setting, made like the users' hashes */
    strcpy(u.dummy, "$2b$99$abcdefghijklmnopqrstuu");
    test_basicauth_header_str("alice:secret", header, sizeof(header));
    ck_assert_int_eq(basicauth_check(&u, header, user, sizeof(user)), BASICAUTH_ERROR);
    ck_assert_str_eq(user, "alice");
    test_basicauth_header_str("nobody:secret", header, sizeof(header));
    ck_assert_int_eq(basicauth_check(&u, header, user, sizeof(user)), BASICAUTH_ERROR);
}
END_TEST

/* The setting's method and cost part of <hash>: up to the '$' before the salt
 * ("$2b$05$", "$y$j9T$", "$6$rounds=1000$", "$6$"). */
static void test_basicauth_hash_params(const char *hash, char *out, size_t cap)
{
    size_t n;

    if (hash[1] == '2') {
        n = 7;
    } else {
        const char *p = hash + 1 + strcspn(hash + 1, "$") + 1; /* after "$id$" */
        if (hash[1] == 'y' || strncmp(p, "rounds=", 7) == 0)
            p += strcspn(p, "$") + 1;
        n = (size_t)(p - hash);
    }
    ck_assert_uint_lt(n, cap);
    memcpy(out, hash, n);
    out[n] = '\0';
}

struct scheme_case {
    const char *setting; /* crypt_r salt string for both users */
    const char *params;  /* what every hash and the dummy start with */
};

static const struct scheme_case scheme_cases[] = {
    {"$y$j9T$saltsaltsaltsalt$", "$y$j9T$"},
    {"$y$jAT$saltsaltsaltsalt$", "$y$jAT$"},
    {"$6$saltsalt$", "$6$"},
    {"$6$rounds=1000$aladdin$", "$6$rounds=1000$"},
    {"$5$saltsalt$", "$5$"},
    {"$5$rounds=2000$saltsalt$", "$5$rounds=2000$"},
    {"$2b$05$abcdefghijklmnopqrstuu", "$2b$05$"},
    {"$2y$05$ABCDEFGHIJKLMNOPQRSTUu", "$2y$05$"},
};

/* Every accepted scheme: right and wrong passwords, unknown users, and the dummy setting
 * an unknown user is checked against: the file's method and cost, a random salt. */
START_TEST(test_basicauth_schemes)
{
    const struct scheme_case *t = &scheme_cases[_i];
    char *h1 = test_basicauth_crypt("one", t->setting),
         *h2 = test_basicauth_crypt("two", t->setting);
    char text[1024], err[512], params[64], header[128], dummy[BASICAUTH_HASH_MAX + 1];
    struct basicauth_users *u;
    struct basicauth_cred cred;

    snprintf(text, sizeof(text), "u1:%s\nu2:%s\n", h1, h2);
    u = basicauth_users_parse(text, strlen(text), "f", err, sizeof(err));
    ck_assert_msg(u != NULL, "%s: %s", t->setting, err);
    test_basicauth_hash_params(u->dummy, params, sizeof(params));
    ck_assert_str_eq(params, t->params);
    ck_assert_str_ne(u->dummy, t->setting);
    strcpy(dummy, u->dummy);

    test_basicauth_header_str("u1:one", header, sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, NULL, 0), BASICAUTH_OK);
    test_basicauth_header_str("u2:two", header, sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, NULL, 0), BASICAUTH_OK);
    test_basicauth_header_str("u2:one", header, sizeof(header));
    ck_assert_int_eq(basicauth_check(u, header, NULL, 0), BASICAUTH_DENIED);

    /* known: its own hash; unknown: the dummy, a crypt of the same setting */
    ck_assert_int_eq(basicauth_decode(u, header, &cred), BASICAUTH_PENDING);
    ck_assert(cred.known);
    ck_assert_str_eq(cred.hash, h2);
    ck_assert_str_eq(cred.password, "one");
    ck_assert_int_eq(basicauth_verify(&cred), BASICAUTH_DENIED);
    basicauth_cred_wipe(&cred);
    ck_assert_str_eq(cred.password, "");
    ck_assert_str_eq(cred.hash, "");
    test_basicauth_header_str("mallory:one", header, sizeof(header));
    ck_assert_int_eq(basicauth_decode(u, header, &cred), BASICAUTH_PENDING);
    ck_assert(!cred.known);
    ck_assert_str_eq(cred.user, "mallory");
    ck_assert_str_eq(cred.hash, u->dummy);
    /* a password that is right for someone is still wrong for a name not in the file */
    ck_assert_int_eq(basicauth_verify(&cred), BASICAUTH_DENIED);
    basicauth_cred_wipe(&cred);
    basicauth_users_free(u);

    /* a fresh salt at every load */
    u = basicauth_users_parse(text, strlen(text), "f", err, sizeof(err));
    ck_assert_ptr_nonnull(u);
    ck_assert_str_ne(u->dummy, dummy);
    basicauth_users_free(u);
    free(h1);
    free(h2);
}
END_TEST

struct mixed_case {
    const char *first, *second; /* crypt_r settings of lines 1 and 3 */
    const char *err;            /* NULL: accepted; else the exact message */
};

#define MIXED_TAIL                                                                                 \
    ": every hash of a file must have the same method and cost, or the time a wrong password "     \
    "takes tells users apart"

static const struct mixed_case mixed_cases[] = {
    {"$6$saltsalt$", "$y$j9T$saltsaltsaltsalt$",
     "users:3: user \"b\": yescrypt, parameters j9T, but line 1 has SHA-512, 5000 "
     "rounds" MIXED_TAIL},
    {"$y$j9T$saltsaltsaltsalt$", "$6$saltsalt$",
     "users:3: user \"b\": SHA-512, 5000 rounds, but line 1 has yescrypt, parameters "
     "j9T" MIXED_TAIL},
    {"$y$j9T$saltsaltsaltsalt$", "$y$jAT$saltsaltsaltsalt$",
     "users:3: user \"b\": yescrypt, parameters jAT, but line 1 has yescrypt, parameters "
     "j9T" MIXED_TAIL},
    {"$6$saltsalt$", "$6$rounds=1000$saltsalt$",
     "users:3: user \"b\": SHA-512, 1000 rounds, but line 1 has SHA-512, 5000 rounds" MIXED_TAIL},
    {"$6$saltsalt$", "$5$saltsalt$",
     "users:3: user \"b\": SHA-256, 5000 rounds, but line 1 has SHA-512, 5000 rounds" MIXED_TAIL},
    {"$2b$05$abcdefghijklmnopqrstuu", "$2b$06$abcdefghijklmnopqrstuu",
     "users:3: user \"b\": bcrypt, cost 06, but line 1 has bcrypt, cost 05" MIXED_TAIL},
    {"$2b$05$abcdefghijklmnopqrstuu", "$6$saltsalt$",
     "users:3: user \"b\": SHA-512, 5000 rounds, but line 1 has bcrypt, cost 05" MIXED_TAIL},
    /* the same cost written two ways */
    {"$6$saltsalt$", "$6$rounds=5000$saltsalt$", NULL},
    {"$2b$05$abcdefghijklmnopqrstuu", "$2y$05$abcdefghijklmnopqrstuu", NULL},
};

/* A file whose hashes differ in method or cost is refused, naming both lines. */
START_TEST(test_basicauth_users_mixed)
{
    const struct mixed_case *t = &mixed_cases[_i];
    char *h1 = test_basicauth_crypt("pw", t->first), *h2 = test_basicauth_crypt("pw", t->second);
    char text[1024], err[512] = "";
    struct basicauth_users *u;

    snprintf(text, sizeof(text), "a:%s\n# b next\nb:%s\n", h1, h2);
    u = basicauth_users_parse(text, strlen(text), "users", err, sizeof(err));
    if (t->err == NULL) {
        ck_assert_msg(u != NULL, "%s", err);
        ck_assert_uint_eq(u->n, 2);
    } else {
        ck_assert_ptr_null(u);
        ck_assert_str_eq(err, t->err);
    }
    basicauth_users_free(u);
    free(h1);
    free(h2);
}
END_TEST

/* Decoding alone runs no hash and leaves nothing secret behind when it fails. */
START_TEST(test_basicauth_decode)
{
    struct basicauth_users *u = test_basicauth_users_load();
    struct basicauth_cred cred;
    char header[128];

    memset(&cred, 'x', sizeof(cred));
    ck_assert_int_eq(basicauth_decode(u, NULL, &cred), BASICAUTH_MISSING);
    ck_assert_str_eq(cred.user, "");
    ck_assert_str_eq(cred.password, "");
    ck_assert_str_eq(cred.hash, "");
    ck_assert_int_eq(basicauth_decode(u, "Basic !!!!", &cred), BASICAUTH_MALFORMED);
    ck_assert_str_eq(cred.user, "");
    test_basicauth_header_str("alice:secret", header, sizeof(header));
    ck_assert_int_eq(basicauth_decode(u, header, &cred), BASICAUTH_PENDING);
    ck_assert_str_eq(cred.user, "alice");
    ck_assert_str_eq(cred.password, "secret");
    ck_assert_str_eq(cred.hash, hashes[0]);
    ck_assert(cred.known);
    ck_assert_int_eq(basicauth_verify(&cred), BASICAUTH_OK);
    basicauth_cred_wipe(&cred);
    /* no users at all: a fixed SHA-512 setting, never a match */
    ck_assert_int_eq(basicauth_decode(NULL, header, &cred), BASICAUTH_PENDING);
    ck_assert(!cred.known);
    ck_assert(strncmp(cred.hash, "$6$", 3) == 0);
    ck_assert_int_eq(basicauth_verify(&cred), BASICAUTH_DENIED);
    basicauth_cred_wipe(&cred);
    basicauth_users_free(u);
}
END_TEST

START_TEST(test_basicauth_result_names)
{
    ck_assert_str_eq(basicauth_result_name(BASICAUTH_OK), "ok");
    ck_assert_str_eq(basicauth_result_name(BASICAUTH_MISSING), "missing");
    ck_assert_str_eq(basicauth_result_name(BASICAUTH_MALFORMED), "malformed");
    ck_assert_str_eq(basicauth_result_name(BASICAUTH_DENIED), "denied");
    ck_assert_str_eq(basicauth_result_name(BASICAUTH_ERROR), "error");
    ck_assert_str_eq(basicauth_result_name(BASICAUTH_PENDING), "pending");
    ck_assert_str_eq(basicauth_result_name((enum basicauth_result)99), "?");
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_basicauth_suite(void)
{
    Suite *s = suite_create("basicauth");
    TCase *basic = tcase_create("basic");

    /* bcrypt and yescrypt are slow on purpose, and ASan slows them further */
    tcase_set_timeout(basic, 120);
    tcase_add_checked_fixture(basic, NULL, test_basicauth_hashes_free);
    tcase_add_test(basic, test_basicauth_users_good);
    tcase_add_loop_test(basic, test_basicauth_users_bad, 0, N(users_bad_cases));
    tcase_add_test(basic, test_basicauth_users_limits);
    tcase_add_test(basic, test_basicauth_users_fresh_hashes);
    tcase_add_loop_test(basic, test_basicauth_check, 0, N(basic_cases));
    tcase_add_test(basic, test_basicauth_limits);
    tcase_add_test(basic, test_basicauth_no_users);
    tcase_add_test(basic, test_basicauth_crypt_fails);
    tcase_add_loop_test(basic, test_basicauth_schemes, 0, N(scheme_cases));
    tcase_add_loop_test(basic, test_basicauth_users_mixed, 0, N(mixed_cases));
    tcase_add_test(basic, test_basicauth_decode);
    tcase_add_test(basic, test_basicauth_result_names);
    suite_add_tcase(s, basic);
    return s;
}

CHECK_MAIN(test_basicauth_suite)
