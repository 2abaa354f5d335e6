/*
 * path.c - request target to a safe path relative to the web root, no I/O.
 * RFC 3986 §2.1 percent-decoding, done once, segment by segment; every refusal is made
 * on the decoded bytes, so "%2e%2e" is refused exactly like "..". Nothing is repaired:
 * a suspicious path is an answer (400/403), not something to clean up and serve.
 * Only empty segments are dropped: "a//b" names the same file as "a/b" on every
 * POSIX file system, so dropping them cannot widen what is reachable.
 */
#include "path.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

/* Fills <res> for a refusal and returns -1. */
static int path_fail(struct path_result *res, int status, const char *error, size_t offset)
{
    res->status = status;
    res->error = error;
    res->offset = offset;
    res->is_dir = false;
    return -1;
}

/* Value of hex digit <c>, or -1. */
static int path_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool path_is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Checks one decoded segment, <len> bytes at <seg>, which started at offset <at> of the
 * target. Returns 0, or -1 after filling <res>. */
static int path_check_segment(const char *seg, size_t len, size_t at, struct path_result *res)
{
    if (len == 1 && seg[0] == '.')
        return path_fail(res, 403, "dot segment in path", at);
    if (len == 2 && seg[0] == '.' && seg[1] == '.')
        return path_fail(res, 403, "dot-dot segment in path", at);
    /* Hidden files (.git, .htpasswd, editor swap files) are never published. */
    if (len > 0 && seg[0] == '.')
        return path_fail(res, 403, "hidden name in path", at);
    if (!utf8_is_valid((const uint8_t *)seg, len))
        return path_fail(res, 403, "path is not UTF-8", at);
    return 0;
}

/* Turns request target <target> into a path relative to the web root in <out> (<cap>
 * bytes), as path.h describes. Returns 0, or -1 with the reason in <res>. */
int path_from_target(const char *target, char *out, size_t cap, struct path_result *res)
{
    const unsigned char *t = (const unsigned char *)target;
    size_t i, n = 0, seg = 0, seg_at = 1;

    memset(res, 0, sizeof(*res));
    if (t == NULL || out == NULL || cap == 0)
        return path_fail(res, 400, "no target", 0);
    /* RFC 7230 §5.3.1: origin-form only; absolute-form and "*" are not files. */
    if (t[0] != '/')
        return path_fail(res, 400, "request target is not a path", 0);
    for (i = 1;;) {
        unsigned char c = t[i];
        size_t at = i;
        int hi, lo;

        if (c == '\0' || c == '?' || c == '#' || c == '/') {
            if (path_check_segment(out + seg, n - seg, seg_at, res) != 0)
                return -1;
            if (c != '/') {
                res->is_dir = n == seg; /* the last segment is empty: "/", "/a/" */
                break;
            }
            i++;
            seg = n;
            seg_at = i;
            continue;
        }
        if (c == '%') {
            hi = path_hex(t[i + 1]);
            lo = hi < 0 ? -1 : path_hex(t[i + 2]);
            if (hi < 0 || lo < 0)
                return path_fail(res, 400, "bad percent-encoding", at);
            c = (unsigned char)(hi << 4 | lo);
            i += 3;
            if (c == '\0')
                return path_fail(res, 403, "encoded NUL in path", at);
            if (c == '/')
                return path_fail(res, 403, "encoded slash in path", at);
            if (c == '\\')
                return path_fail(res, 403, "encoded backslash in path", at);
            if (path_is_ctl(c))
                return path_fail(res, 403, "encoded control character in path", at);
        } else {
            i++;
            if (path_is_ctl(c))
                return path_fail(res, 400, "control character in target", at);
            if (c == ' ')
                return path_fail(res, 400, "space in target", at);
            /* Windows reads it as a separator; on POSIX it is refused, not guessed at. */
            if (c == '\\')
                return path_fail(res, 403, "backslash in path", at);
        }
        /* The first byte of a segment after another: write the separator first. Room is
         * kept for the NUL, so n + 2 <= cap before a separator and a byte. */
        if (n == seg && n > 0) {
            if (n + 2 >= cap)
                return path_fail(res, 414, "path too long", at);
            out[n++] = '/';
            seg = n;
        }
        if (n + 1 >= cap)
            return path_fail(res, 414, "path too long", at);
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}
