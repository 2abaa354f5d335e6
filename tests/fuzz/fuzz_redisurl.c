/*
 * fuzz_redisurl.c - libFuzzer driver for redisurl.c: any string as a "tokens:" Redis URL.
 * Invariants: the same input gives the same answer; a refusal gives a reason that fits
 * its buffer and never holds the decoded password; an accepted URL has a host (or an
 * absolute socket path), a port 1..65535, a database within REDISURL_DB_MAX, and its log
 * form is the same whatever the password is.
 *
 * Input: a string up to its first NUL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "redisurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), err[128], err2[128], shown[1024];
    struct redisurl u, v;
    int rc, rc2;

    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    rc = redisurl_parse(s, &u, err, sizeof(err));
    rc2 = redisurl_parse(s, &v, err2, sizeof(err2));
    FUZZ_CHECK(rc == rc2);
    if (rc != 0) {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
        FUZZ_CHECK(strcmp(err, err2) == 0);
    } else {
        FUZZ_CHECK(memcmp(&u, &v, sizeof(u)) == 0);
        FUZZ_CHECK(redisurl_is_redis(s));
        FUZZ_CHECK(u.is_unix ? u.path[0] == '/' : u.host[0] != '\0');
        FUZZ_CHECK(u.port >= 1 && u.db <= REDISURL_DB_MAX);
        FUZZ_CHECK(redisurl_format(&u, shown, sizeof(shown)) < sizeof(shown));
        /* The log form depends on whether there is a password, never on what it is. */
        if (u.password[0] != '\0') {
            char other[1024];
            strcpy(v.password, "x");
            redisurl_format(&v, other, sizeof(other));
            FUZZ_CHECK(strcmp(shown, other) == 0);
        }
    }
    free(s);
    return 0;
}
