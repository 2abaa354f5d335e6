/*
 * tokenreq.c - the token of a request for a token route: a query field read as
 * websockify reads it (Python's urllib.parse.parse_qs and unquote), a path segment, or
 * the Host header. Bytes in, a token or a verdict out; the lookup is tokenfile.c's.
 */
#include "tokenreq.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

#define TOKENREQ_NAME "token"

static int tokenreq_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the <n> bytes at <s> into <out> (<cap> bytes): "%XX" is a byte, "+" a space
 * when <plus>; a "%" without two hex digits stays as it is (Python's unquote) when
 * <lenient>, else fails. Returns the decoded length, or -1 if it fails or does not fit. */
static long tokenreq_decode(const char *s, size_t n, bool plus, bool lenient, char *out,
                            size_t cap)
{
    size_t i = 0, o = 0;

    while (i < n) {
        char c = s[i];
        int hi, lo;

        if (c == '%' && i + 2 < n && (hi = tokenreq_hex(s[i + 1])) >= 0 &&
            (lo = tokenreq_hex(s[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 3;
        } else if (c == '%' && !lenient) {
            return -1;
        } else {
            if (c == '+' && plus)
                c = ' ';
            i++;
        }
        if (o == cap)
            return -1;
        out[o++] = c;
    }
    return (long)o;
}

/* Checks the <len> decoded bytes at <out> and ends them with a NUL. */
static enum tokenreq_result tokenreq_finish(char *out, size_t len, size_t *out_len)
{
    if (len == 0)
        return TOKENREQ_NONE;
    if (memchr(out, '\0', len) != NULL || !utf8_is_valid((const uint8_t *)out, len))
        return TOKENREQ_BAD;
    out[len] = '\0';
    *out_len = len;
    return TOKENREQ_OK;
}

/* The query: websockify's parse_qs(urlparse(path).query)['token'][0].rstrip('\n'). */
static enum tokenreq_result tokenreq_query(const char *target, char *out, size_t *out_len)
{
    const char *q = target + strcspn(target, "?#"), *end;
    char name[sizeof(TOKENREQ_NAME)];

    if (*q != '?')
        return TOKENREQ_NONE;
    q++;
    end = q + strcspn(q, "#");
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *field_end = amp != NULL ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(field_end - q));
        long n;

        /* parse_qsl: no "=", or nothing after it, and the field is not there at all. */
        if (eq != NULL && eq + 1 < field_end) {
            n = tokenreq_decode(q, (size_t)(eq - q), true, true, name, sizeof(name));
            if (n == (long)strlen(TOKENREQ_NAME) && memcmp(name, TOKENREQ_NAME, (size_t)n) == 0) {
                /* The request line came as ISO-8859-1 text: a raw byte over 0x7f would
                 * be a different character than in the UTF-8 token file. */
                for (const char *p = eq + 1; p < field_end; p++)
                    if ((unsigned char)*p >= 0x80)
                        return TOKENREQ_BAD;
                n = tokenreq_decode(eq + 1, (size_t)(field_end - eq - 1), true, true, out,
                                    TOKENREQ_TOKEN_MAX);
                if (n < 0)
                    return TOKENREQ_BAD;
                while (n > 0 && out[n - 1] == '\n')
                    n--;
                return tokenreq_finish(out, (size_t)n, out_len);
            }
        }
        q = field_end + (amp != NULL);
    }
    return TOKENREQ_NONE;
}

/* The last segment of the path after <prefix_len> bytes. */
static enum tokenreq_result tokenreq_path(const char *target, size_t prefix_len, char *out,
                                          size_t *out_len)
{
    size_t path_len = strcspn(target, "?#");
    const char *seg, *end = target + path_len;
    long n;

    if (path_len <= prefix_len)
        return TOKENREQ_NONE;
    for (seg = end; seg > target + prefix_len && seg[-1] != '/'; seg--)
        ;
    if (seg == end)
        return TOKENREQ_NONE;
    n = tokenreq_decode(seg, (size_t)(end - seg), false, false, out, TOKENREQ_TOKEN_MAX);
    if (n < 0)
        return TOKENREQ_BAD;
    return tokenreq_finish(out, (size_t)n, out_len);
}

/* The Host value without its port, or its first label. */
static enum tokenreq_result tokenreq_host(const char *host, bool label, char *out,
                                          size_t *out_len)
{
    size_t n;

    if (host == NULL)
        return TOKENREQ_NONE;
    if (host[0] == '[') {
        if (label)
            return TOKENREQ_NONE; /* an IPv6 literal has no labels */
        n = strcspn(host, "]");
        n += host[n] == ']';
    } else {
        n = strcspn(host, label ? ":." : ":");
    }
    if (n > TOKENREQ_TOKEN_MAX)
        return TOKENREQ_BAD;
    memcpy(out, host, n);
    return tokenreq_finish(out, n, out_len);
}

enum tokenreq_result tokenreq_get(enum tokenreq_from from, const char *target, size_t prefix_len,
                                  const char *host, char out[TOKENREQ_TOKEN_MAX + 1],
                                  size_t *len)
{
    enum tokenreq_result r = TOKENREQ_NONE;

    *len = 0;
    switch (from) {
    case TOKENREQ_QUERY:
        r = tokenreq_query(target, out, len);
        break;
    case TOKENREQ_PATH:
        r = tokenreq_path(target, prefix_len, out, len);
        break;
    case TOKENREQ_HOST:
    case TOKENREQ_HOST_LABEL:
        r = tokenreq_host(host, from == TOKENREQ_HOST_LABEL, out, len);
        break;
    }
    if (r != TOKENREQ_OK) {
        *len = 0;
        out[0] = '\0';
    }
    return r;
}

size_t tokenreq_redact(const char *target, size_t path_prefix_len, char *out, size_t cap)
{
    size_t path_len = strcspn(target, "?#");
    bool query = target[path_len] != '\0';
    int n;

    if (path_prefix_len > 0 && path_len > path_prefix_len)
        n = snprintf(out, cap, "%.*s%s%s", (int)path_prefix_len, target, TOKENREQ_REDACTED,
                     query ? "?" TOKENREQ_REDACTED : "");
    else
        n = snprintf(out, cap, "%.*s%s", (int)path_len, target, query ? "?" TOKENREQ_REDACTED : "");
    return n < 0 ? 0 : (size_t)n;
}

const char *tokenreq_from_name(enum tokenreq_from from)
{
    static const char *const names[] = {
        [TOKENREQ_QUERY] = "query",
        [TOKENREQ_PATH] = "path",
        [TOKENREQ_HOST] = "host",
        [TOKENREQ_HOST_LABEL] = "host_label",
    };

    return (unsigned)from < sizeof(names) / sizeof(names[0]) ? names[from] : "?";
}
