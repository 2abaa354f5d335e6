/*
 * fuzz_addr.c - libFuzzer driver for addr.c: addr_parse() on any string, as a target and
 * as a listener. A parsed address must be well formed, and writing it with addr_format()
 * and parsing that again must give the same address; a Unix one ("unix:PATH") must also
 * make a socket address holding its path. Error texts must fit their buffer.
 *
 * Input: byte 0 bits 0..1 what is allowed (ADDR_ALLOW_ECHO, ADDR_ALLOW_SYSTEMD), bits 2..7
 * the size of the error buffer (0: 128 bytes);
 * the rest is the string (up to its first NUL, as a C caller would pass it).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks the fields addr.h promises for a parsed address. */
static void fuzz_addr_check_valid(const struct addr *a, unsigned allow)
{
    FUZZ_CHECK(memchr(a->host, '\0', sizeof(a->host)) != NULL);
    if (a->kind == ADDR_ECHO) {
        FUZZ_CHECK((allow & ADDR_ALLOW_ECHO) != 0);
        FUZZ_CHECK(!a->tls);
        FUZZ_CHECK(a->host[0] == '\0');
        return;
    }
    if (a->kind == ADDR_SYSTEMD) {
        size_t len = strlen(a->host);

        /* Only a listener names an inherited socket: a token's target never does. */
        FUZZ_CHECK((allow & ADDR_ALLOW_SYSTEMD) != 0);
        FUZZ_CHECK(!a->tls && a->port == 0);
        FUZZ_CHECK(len >= 1 && len <= ADDR_SYSTEMD_NAME_MAX);
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK((unsigned char)a->host[i] > 0x20 && (unsigned char)a->host[i] < 0x7f &&
                       a->host[i] != ':');
        FUZZ_CHECK(addr_unix_sockaddr(a, &(struct sockaddr_un){0}) == 0);
        return;
    }
    if (a->kind == ADDR_UNIX) {
        struct sockaddr_un sun;
        size_t len = strlen(a->host);
        socklen_t sl = addr_unix_sockaddr(a, &sun);

        FUZZ_CHECK(!a->tls);
        FUZZ_CHECK(a->port == 0);
        FUZZ_CHECK(len >= 1 && len <= ADDR_UNIX_PATH_MAX);
        FUZZ_CHECK(a->host[len - 1] != '/');
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK((unsigned char)a->host[i] >= 0x20 && a->host[i] != 0x7f);
        FUZZ_CHECK(sl == offsetof(struct sockaddr_un, sun_path) + len + 1);
        FUZZ_CHECK(sun.sun_family == AF_UNIX && strcmp(sun.sun_path, a->host) == 0);
        return;
    }
    FUZZ_CHECK(addr_unix_sockaddr(a, &(struct sockaddr_un){0}) == 0);
    FUZZ_CHECK(a->kind == ADDR_HOSTPORT);
    FUZZ_CHECK(a->host[0] != '\0');
    FUZZ_CHECK(a->port >= 1);
}

/* Formats <a> into an exact-size buffer, parses the text again and expects <a> back. */
static void fuzz_addr_round_trip(const struct addr *a, unsigned allow)
{
    struct addr again;
    char err[128], *text;
    int need, got;

    need = addr_format(a, NULL, 0);
    FUZZ_CHECK(need > 0);
    text = malloc((size_t)need + 1);
    FUZZ_CHECK(text != NULL);
    got = addr_format(a, text, (size_t)need + 1);
    FUZZ_CHECK(got == need);
    FUZZ_CHECK(strlen(text) == (size_t)need);

    memset(&again, 0x5a, sizeof(again));
    if (addr_parse(text, allow, &again, err, sizeof(err)) != 0) {
        fprintf(stderr, "formatted \"%s\" does not parse: %s\n", text, err);
        abort();
    }
    FUZZ_CHECK(again.kind == a->kind);
    FUZZ_CHECK(again.tls == a->tls);
    FUZZ_CHECK(strcmp(again.host, a->host) == 0);
    FUZZ_CHECK(again.port == a->port);

    /* A short buffer gets a truncated, terminated text and the same length. */
    if (need > 1) {
        char *small = malloc((size_t)need);
        FUZZ_CHECK(small != NULL);
        FUZZ_CHECK(addr_format(a, small, (size_t)need) == need);
        FUZZ_CHECK(strlen(small) == (size_t)need - 1 && memcmp(small, text, (size_t)need - 1) == 0);
        free(small);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct addr a;
    unsigned allow;
    size_t err_len, len;
    char *s, *err, *none;
    int rc;

    if (size < 1)
        return 0;
    allow = data[0] & (ADDR_ALLOW_ECHO | ADDR_ALLOW_SYSTEMD);
    err_len = data[0] >> 2;
    if (err_len == 0)
        err_len = 128;
    data++;
    size--;
    len = strnlen((const char *)data, size);
    s = malloc(len + 1); /* exact: a read past the NUL is a report */
    err = malloc(err_len);
    FUZZ_CHECK(s != NULL && err != NULL);
    memcpy(s, data, len);
    s[len] = '\0';

    memset(&a, 0, sizeof(a));
    memset(err, 'X', err_len);
    rc = addr_parse(s, allow, &a, err, err_len);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        fuzz_addr_check_valid(&a, allow);
        fuzz_addr_round_trip(&a, allow);
        /* Allowing echo as well takes nothing away (an inherited socket aside, any
         * listener address is also a target address), and "systemd:" is never read as a
         * socket name unless asked for. */
        if (a.kind != ADDR_SYSTEMD) {
            struct addr t;
            FUZZ_CHECK(addr_parse(s, allow | ADDR_ALLOW_ECHO, &t, err, err_len) == 0);
            FUZZ_CHECK(t.kind == a.kind && t.port == a.port && strcmp(t.host, a.host) == 0);
        }
    } else {
        /* "<what is wrong>" in err, NUL-terminated within err_len, not empty */
        FUZZ_CHECK(memchr(err, '\0', err_len) != NULL);
        FUZZ_CHECK(err_len == 1 || err[0] != '\0');
        /* with no room, nothing is written (an empty block: a write is a report) */
        none = (char *)fuzz_copy(NULL, 0);
        FUZZ_CHECK(addr_parse(s, allow, &a, none, 0) == -1);
        free(none);
    }
    free(err);
    free(s);
    return 0;
}
