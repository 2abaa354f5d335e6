/*
 * fuzz_tokenvalue.c - libFuzzer driver for tokenvalue.c: a Redis token value of any
 * bytes (exact size, so a read past it is seen). Invariants: the same input gives the
 * same answer; a refusal gives a reason; an accepted value is a host and port (1..65535,
 * no tls://) or an absolute Unix socket path, never "echo", and writing it with
 * addr_format and reading that back as a plain value (or, for a socket,
 * "unix_socket:PATH") gives the same target.
 *
 * Input: the value, all of it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tokenvalue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), shown[ADDR_HOST_MAX + 32];
    const char *why = NULL, *why2 = NULL;
    struct addr a, b, c;
    int rc, rc2;

    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    rc = tokenvalue_parse(copy, size, &a, &why);
    rc2 = tokenvalue_parse(copy, size, &b, &why2);
    FUZZ_CHECK(rc == rc2);
    if (rc != 0) {
        FUZZ_CHECK(why != NULL && why[0] != '\0');
        free(copy);
        return 0;
    }
    FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    FUZZ_CHECK(a.kind != ADDR_ECHO && !a.tls);
    if (a.kind == ADDR_UNIX) {
        FUZZ_CHECK(a.host[0] == '/' && a.port == 0);
        strcpy(shown, "unix_socket:");
        strcat(shown, a.host);
    } else {
        FUZZ_CHECK(a.port >= 1);
        addr_format(&a, shown, sizeof(shown));
    }
    FUZZ_CHECK(tokenvalue_parse(shown, strlen(shown), &c, &why) == 0);
    FUZZ_CHECK(c.kind == a.kind && c.port == a.port && strcmp(c.host, a.host) == 0);
    free(copy);
    return 0;
}
