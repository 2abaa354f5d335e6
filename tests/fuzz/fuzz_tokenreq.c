/*
 * fuzz_tokenreq.c - libFuzzer driver for tokenreq.c: a request's token from any target
 * and Host bytes, for every source, and the redacted target of log lines. Invariants:
 * a token is 1..TOKENREQ_TOKEN_MAX bytes of UTF-8 without NUL, terminated, and nothing
 * else is written ("" and length 0 otherwise); the same input gives the same answer; a
 * Host token is a prefix of the Host value (the first label: without "." or ":"); a
 * token from a target without "%" or "+" is there verbatim; a redacted target keeps the
 * path up to the query (or up to the prefix) and shows nothing of what follows but the
 * placeholder, and fits its buffer as snprintf() does.
 *
 * Input: byte 0 bits 0-1 the source, bits 2-7 the redaction buffer's size (0: 4096);
 * byte 1 the prefix length; then the target, a NUL, and the Host value (none if no NUL).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tokenreq.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True if the <n> bytes at <needle> occur in <hay>. */
static bool fuzz_tokenreq_contains(const char *hay, const char *needle, size_t n)
{
    return memmem(hay, strlen(hay), needle, n) != NULL;
}

static void fuzz_tokenreq_redact(const char *target, size_t prefix_len, size_t cap)
{
    char *out = malloc(cap), full[3 * 4096];
    size_t path_len = strcspn(target, "?#"), n, full_n;

    FUZZ_CHECK(out != NULL);
    full_n = tokenreq_redact(target, prefix_len, full, sizeof(full));
    n = tokenreq_redact(target, prefix_len, out, cap);
    FUZZ_CHECK(n == full_n);
    if (full_n < sizeof(full)) {
        size_t keep = prefix_len > 0 && path_len > prefix_len ? prefix_len : path_len;
        const char *rest = full + keep;

        FUZZ_CHECK(strlen(full) == full_n);
        FUZZ_CHECK(memcmp(full, target, keep) == 0);
        /* What follows the kept part is placeholders only. */
        if (keep < path_len) {
            FUZZ_CHECK(strncmp(rest, TOKENREQ_REDACTED, strlen(TOKENREQ_REDACTED)) == 0);
            rest += strlen(TOKENREQ_REDACTED);
        }
        if (target[path_len] != '\0')
            FUZZ_CHECK(strcmp(rest, "?" TOKENREQ_REDACTED) == 0);
        else
            FUZZ_CHECK(rest[0] == '\0');
    }
    FUZZ_CHECK(memchr(out, '\0', cap) != NULL);
    FUZZ_CHECK(strlen(out) == (n < cap ? n : cap - 1));
    FUZZ_CHECK(strncmp(out, full, strlen(out)) == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[TOKENREQ_TOKEN_MAX + 1], again[TOKENREQ_TOKEN_MAX + 1];
    enum tokenreq_from from;
    enum tokenreq_result r;
    size_t prefix_len, cap, len, len2, n;
    char *target;
    const char *host = NULL, *nul;

    if (size < 2)
        return 0;
    from = (enum tokenreq_from)(data[0] & 3);
    cap = (data[0] >> 2) != 0 ? (size_t)(data[0] >> 2) : 4096;
    prefix_len = data[1];
    n = size - 2;
    target = malloc(n + 1);
    FUZZ_CHECK(target != NULL);
    memcpy(target, data + 2, n);
    target[n] = '\0';
    nul = memchr(data + 2, '\0', n);
    if (nul != NULL)
        host = target + (nul - (const char *)(data + 2)) + 1;

    memset(out, 'x', sizeof(out));
    r = tokenreq_get(from, target, prefix_len, host, out, &len);
    memset(again, 'y', sizeof(again));
    FUZZ_CHECK(tokenreq_get(from, target, prefix_len, host, again, &len2) == r);
    FUZZ_CHECK(len2 == len && memcmp(out, again, len + 1) == 0);
    if (r == TOKENREQ_OK) {
        FUZZ_CHECK(len >= 1 && len <= TOKENREQ_TOKEN_MAX);
        FUZZ_CHECK(out[len] == '\0' && memchr(out, '\0', len) == NULL);
        FUZZ_CHECK(utf8_is_valid((const uint8_t *)out, len));
        if (from == TOKENREQ_HOST || from == TOKENREQ_HOST_LABEL)
            FUZZ_CHECK(host != NULL && strncmp(out, host, len) == 0);
        if (from == TOKENREQ_HOST_LABEL)
            FUZZ_CHECK(memchr(out, '.', len) == NULL && memchr(out, ':', len) == NULL);
        if ((from == TOKENREQ_QUERY || from == TOKENREQ_PATH) && strpbrk(target, "%+") == NULL)
            FUZZ_CHECK(fuzz_tokenreq_contains(target, out, len));
    } else {
        FUZZ_CHECK(r == TOKENREQ_NONE || r == TOKENREQ_BAD);
        FUZZ_CHECK(len == 0 && out[0] == '\0');
    }
    fuzz_tokenreq_redact(target, prefix_len, cap);
    free(target);
    return 0;
}
