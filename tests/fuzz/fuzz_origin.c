/*
 * fuzz_origin.c - libFuzzer driver for origin.c: Origin and Host values and allowlists
 * from any bytes. Invariants: same-origin does not depend on letter case; a list without
 * patterns allows exactly the same origin (and a missing Origin unless required); "*"
 * allows every value; a name or an origin that parses is allowed by a list of itself; a
 * Host that is same-origin with some Origin parses as an allowlist name that admits it;
 * error texts are one terminated line that fits its buffer.
 *
 * Input: byte 0 bit 0 tls, bit 1 ORIGIN_REQUIRE, bits 2..7 the size of the error buffer
 * (0: 256 bytes); then NUL-separated fields: the Origin value, the Host value, and up to
 * 8 patterns (also tried as Host allowlist names).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "origin.h"

#define FUZZ_ORIGIN_FIELDS 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An uppercase copy of <s> (ASCII letters only); the caller frees it. */
static char *fuzz_origin_upper(const char *s)
{
    char *u = strdup(s);

    FUZZ_CHECK(u != NULL);
    for (char *p = u; *p != '\0'; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

/* <err> (of <cap> bytes) is one terminated line, empty only when no byte fits. */
static void fuzz_origin_check_err(const char *err, size_t cap)
{
    FUZZ_CHECK(memchr(err, '\0', cap) != NULL);
    FUZZ_CHECK(strchr(err, '\n') == NULL);
    FUZZ_CHECK(err[0] != '\0' || cap == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fields[FUZZ_ORIGIN_FIELDS] = {NULL};
    size_t n_fields = 0, err_len;
    bool tls, require;
    char *text, *p, *end, *err;

    if (size < 1)
        return 0;
    tls = data[0] & 1;
    require = data[0] & 2;
    err_len = data[0] >> 2 != 0 ? (size_t)(data[0] >> 2) : 256;
    text = malloc(size);
    err = malloc(err_len);
    FUZZ_CHECK(text != NULL && err != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    for (p = text, end = text + size - 1; n_fields < FUZZ_ORIGIN_FIELDS && p <= end;
         p += strlen(p) + 1)
        fields[n_fields++] = p;
    const char *origin = fields[0], *host = fields[1];
    const char *const *patterns = fields + 2;
    size_t n_patterns = n_fields > 2 ? n_fields - 2 : 0;

    /* Same-origin: case does not matter, and a list without patterns is exactly it. */
    {
        struct origin_list *same =
            origin_list_parse(NULL, 0, require ? ORIGIN_REQUIRE : 0, err, err_len);
        bool is_same = origin_is_same(origin, host, tls);
        FUZZ_CHECK(same != NULL);
        FUZZ_CHECK(origin_list_is_allowed(same, origin, host, tls) ==
                   (origin == NULL ? !require : is_same));
        if (origin != NULL && host != NULL) {
            char *uo = fuzz_origin_upper(origin), *uh = fuzz_origin_upper(host);
            FUZZ_CHECK(origin_is_same(uo, uh, tls) == is_same);
            free(uo);
            free(uh);
        }
        /* The Host of a same-origin request is a name a Host allowlist can hold. */
        if (is_same) {
            struct origin_hosts *h = origin_hosts_parse(&host, 1, err, err_len);
            FUZZ_CHECK(h != NULL);
            FUZZ_CHECK(origin_hosts_is_allowed(h, host, tls));
            origin_hosts_free(h);
        }
        origin_list_free(same);
    }
    /* Patterns: any list; "*" added lets everything through. */
    if (n_patterns > 0) {
        const char *with_star[FUZZ_ORIGIN_FIELDS + 1];
        struct origin_list *o = origin_list_parse(patterns, n_patterns, 0, err, err_len);
        if (o == NULL) {
            fuzz_origin_check_err(err, err_len);
        } else {
            FUZZ_CHECK(o->n <= n_patterns);
            origin_list_is_allowed(o, origin, host, tls);
            origin_list_free(o);
        }
        memcpy(with_star, patterns, n_patterns * sizeof(*patterns));
        with_star[n_patterns] = "*";
        o = origin_list_parse(with_star, n_patterns + 1, 0, err, err_len);
        if (o != NULL) {
            FUZZ_CHECK(origin_list_is_any(o));
            FUZZ_CHECK(origin_list_is_allowed(o, origin, host, tls));
            origin_list_free(o);
        }
        /* One pattern alone: an exact origin is allowed by its own list. */
        o = origin_list_parse(patterns, 1, 0, err, err_len);
        if (o != NULL) {
            if (o->n == 1 && !o->items[0].wildcard)
                FUZZ_CHECK(origin_list_is_allowed(o, patterns[0], host, tls));
            origin_list_free(o);
        }
        /* The same fields as Host names: an exact name allows itself. */
        struct origin_hosts *h = origin_hosts_parse(patterns, n_patterns, err, err_len);
        if (h == NULL) {
            fuzz_origin_check_err(err, err_len);
        } else {
            FUZZ_CHECK(h->n == n_patterns);
            for (size_t i = 0; i < n_patterns; i++)
                if (!h->items[i].wildcard)
                    FUZZ_CHECK(origin_hosts_is_allowed(h, patterns[i], tls));
            origin_hosts_is_allowed(h, host, tls);
            origin_hosts_free(h);
        }
    }
    free(text);
    free(err);
    return 0;
}
