/*
 * fuzz_basicauth.c - libFuzzer driver for basicauth.c's users file parser, on any bytes.
 * Invariants: a file that parses holds exactly the users a plain reading of basicauth.h
 * finds (one "user:hash" per line, spaces, tabs and a CR around it dropped, blank and '#'
 * lines skipped), in file order with their line numbers, no two with the same name, each
 * name 1..BASICAUTH_USER_MAX bytes with no colon or control character; every user is
 * found by basicauth_decode with its own hash, an unknown user gets the dummy setting,
 * which has the method of the first hash (or is empty for a file with no user); a file
 * that does not parse gives one line "fuzz.users:LINE: why" with LINE a line of the
 * input, and the same text cut to any smaller buffer. No hash is run (crypt's cost is
 * the file's, up to bcrypt 31).
 *
 * Input: byte 0: the size of a second error buffer (0: 1 byte); then the file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "basicauth.h"
#include "fuzz.h"

#define FUZZ_BASICAUTH_NAME "fuzz.users"
#define FUZZ_BASICAUTH_ERR_MAX 1024 /* room for any message of the parser */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One user line as basicauth.h describes the file, read plainly. */
struct fuzz_basicauth_line {
    const char *name, *hash; /* inside the input, not terminated */
    size_t name_len, hash_len;
    unsigned line;
};

/* Splits <text> (<len> bytes) into its user lines, at most <cap>; returns how many. */
static size_t fuzz_basicauth_read(const char *text, size_t len, struct fuzz_basicauth_line *out,
                                  size_t cap)
{
    size_t pos = 0, n = 0;
    unsigned lineno = 0;

    while (pos < len && n < cap) {
        const char *line = text + pos, *colon;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;

        pos += line_len + (nl != NULL);
        lineno++;
        while (line_len > 0 && (line[line_len - 1] == ' ' || line[line_len - 1] == '\t' ||
                                line[line_len - 1] == '\r'))
            line_len--;
        while (line_len > 0 && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            line_len--;
        }
        if (line_len == 0 || line[0] == '#')
            continue;
        colon = memchr(line, ':', line_len);
        FUZZ_CHECK(colon != NULL); /* the parse succeeded: every user line has one */
        out[n].name = line;
        out[n].name_len = (size_t)(colon - line);
        out[n].hash = colon + 1;
        out[n].hash_len = line_len - out[n].name_len - 1;
        out[n].line = lineno;
        n++;
    }
    return n;
}

/* "Basic " and the base64 of "<name>:pw" into <out>. */
static void fuzz_basicauth_header(const char *name, char *out, size_t cap)
{
    static const char scheme[] = "Basic ";
    char plain[BASICAUTH_USER_MAX + 8];
    int n = snprintf(plain, sizeof(plain), "%s:pw", name);

    FUZZ_CHECK(n > 0 && (size_t)n < sizeof(plain));
    FUZZ_CHECK(sizeof(scheme) - 1 + 4 * (((size_t)n + 2) / 3) < cap);
    memcpy(out, scheme, sizeof(scheme) - 1);
    EVP_EncodeBlock((unsigned char *)out + sizeof(scheme) - 1, (const unsigned char *)plain, n);
}

/* The method of a crypt string: "$id$" up to its second '$'. */
static size_t fuzz_basicauth_method_len(const char *hash)
{
    const char *end = hash[0] == '$' ? strchr(hash + 1, '$') : NULL;

    return end != NULL ? (size_t)(end - hash) + 1 : 0;
}

static void fuzz_basicauth_check_users(const struct basicauth_users *u, const char *text,
                                       size_t len)
{
    struct fuzz_basicauth_line *lines = calloc(BASICAUTH_USERS_MAX, sizeof(*lines));
    char header[2 * BASICAUTH_USER_MAX], unknown[BASICAUTH_USER_MAX + 1] = "fuzz-unknown";
    struct basicauth_cred cred;
    size_t n, method;

    FUZZ_CHECK(lines != NULL);
    n = fuzz_basicauth_read(text, len, lines, BASICAUTH_USERS_MAX);
    FUZZ_CHECK(u->n == n && n <= BASICAUTH_USERS_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct basicauth_user *it = &u->items[i];
        size_t name_len = strlen(it->name);
        FUZZ_CHECK(name_len == lines[i].name_len && memcmp(it->name, lines[i].name, name_len) == 0);
        FUZZ_CHECK(strlen(it->hash) == lines[i].hash_len &&
                   memcmp(it->hash, lines[i].hash, lines[i].hash_len) == 0);
        FUZZ_CHECK(it->line == lines[i].line);
        FUZZ_CHECK(name_len >= 1 && name_len <= BASICAUTH_USER_MAX);
        for (size_t k = 0; k < name_len; k++)
            FUZZ_CHECK((unsigned char)it->name[k] >= 0x20 && it->name[k] != 0x7f &&
                       it->name[k] != ':');
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(u->items[j].name, it->name) != 0);
        /* found, with its own hash */
        fuzz_basicauth_header(it->name, header, sizeof(header));
        FUZZ_CHECK(basicauth_decode(u, header, &cred) == BASICAUTH_PENDING);
        FUZZ_CHECK(cred.known && strcmp(cred.user, it->name) == 0);
        FUZZ_CHECK(strcmp(cred.hash, it->hash) == 0 && strcmp(cred.password, "pw") == 0);
        basicauth_cred_wipe(&cred);
        if (strcmp(it->name, unknown) == 0)
            snprintf(unknown, sizeof(unknown), "%s", "fuzz-unknown-2");
    }
    /* someone not in the file: the dummy, of the first hash's method */
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(strcmp(u->items[i].name, unknown) != 0);
    fuzz_basicauth_header(unknown, header, sizeof(header));
    FUZZ_CHECK(basicauth_decode(u, header, &cred) == BASICAUTH_PENDING);
    FUZZ_CHECK(!cred.known);
    if (n == 0) {
        FUZZ_CHECK(u->dummy[0] == '\0');
    } else {
        method = fuzz_basicauth_method_len(u->items[0].hash);
        FUZZ_CHECK(method > 0 && strcmp(cred.hash, u->dummy) == 0);
        FUZZ_CHECK(strncmp(u->dummy, u->items[0].hash, method) == 0);
    }
    basicauth_cred_wipe(&cred);
    free(lines);
}

/* <err> is "fuzz.users:LINE: why" on one line, LINE a line of the <len>-byte input. */
static void fuzz_basicauth_check_err(const char *err, const char *text, size_t len)
{
    static const char prefix[] = FUZZ_BASICAUTH_NAME ":";
    unsigned long line;
    size_t lines = 1;
    char *end;

    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    FUZZ_CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
    FUZZ_CHECK(strncmp(err, prefix, sizeof(prefix) - 1) == 0);
    line = strtoul(err + sizeof(prefix) - 1, &end, 10);
    FUZZ_CHECK(end != err + sizeof(prefix) - 1 && line >= 1 && line <= lines);
    FUZZ_CHECK(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FUZZ_BASICAUTH_ERR_MAX], *small, *text;
    struct basicauth_users *u, *again;
    size_t small_len, len;

    if (size < 1)
        return 0;
    small_len = data[0] != 0 ? data[0] : 1;
    len = size - 1;
    text = (char *)fuzz_copy(data + 1, len); /* exact size: a read past it is reported */
    small = malloc(small_len);
    FUZZ_CHECK(small != NULL);

    u = basicauth_users_parse(text, len, FUZZ_BASICAUTH_NAME, err, sizeof(err));
    again = basicauth_users_parse(text, len, FUZZ_BASICAUTH_NAME, small, small_len);
    FUZZ_CHECK((u == NULL) == (again == NULL));
    if (u != NULL) {
        fuzz_basicauth_check_users(u, text, len);
        FUZZ_CHECK(err[0] == '\0' && small[0] == '\0');
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && strlen(err) < sizeof(err) - 1);
        fuzz_basicauth_check_err(err, text, len);
        /* cut to the smaller buffer: the start of the same text */
        FUZZ_CHECK(memchr(small, '\0', small_len) != NULL);
        FUZZ_CHECK(strncmp(small, err, strlen(small)) == 0);
        FUZZ_CHECK(strlen(small) == (strlen(err) < small_len ? strlen(err) : small_len - 1));
    }
    basicauth_users_free(u);
    basicauth_users_free(again);
    free(small);
    free(text);
    return 0;
}
