/*
 * fuzz_path.c - libFuzzer driver for path.c: path_from_target() on any target string
 * and output size. An accepted target gives a path that cannot leave the web root: no
 * leading '/', no "." or ".." segment (nor any hidden name), no empty segment, no NUL,
 * backslash or control byte, valid UTF-8, inside the output size; it equals a plain
 * reading of path.h (split on '/', percent-decode once, drop empty segments) of a target
 * with no raw space or control byte and no encoded '/'; it is the same with exactly the
 * room it needs and 414 with one byte less; written again as a target it reads back the
 * same. A refused target has 400, 403 or 414 with a reason and
 * an offset inside the target, and 414 only if the path really needs more room.
 *
 * Input: byte 0 chooses the output size (0: PATH_MAX_BYTES; 1..127: that many bytes;
 * 128..255: PATH_MAX_BYTES minus 0..127); the rest is the target, up to its first NUL
 * (as a C caller would pass it).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "path.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_path_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Runs path_from_target on <target> into an exact-size heap buffer of <cap> bytes (so a
 * write past it is an AddressSanitizer report); returns the buffer, to be freed. */
static char *fuzz_path_run(const char *target, size_t cap, int *rc, struct path_result *res)
{
    /* no room at all: an empty block, so any write is a report */
    char *out = cap > 0 ? malloc(cap) : (char *)fuzz_copy(NULL, 0);

    FUZZ_CHECK(out != NULL);
    memset(res, 0x5a, sizeof(*res));
    *rc = path_from_target(target, out, cap, res);
    FUZZ_CHECK(*rc == 0 || *rc == -1);
    return out;
}

/* The path a plain reading of path.h gives for an accepted <target>: the part before
 * '?' or '#', split on '/', each segment percent-decoded once, empty ones dropped,
 * joined by '/'. Written into <ref> (as many bytes as <target>); returns its length. */
static size_t fuzz_path_reference(const char *target, char *ref)
{
    size_t n = 0, end = strcspn(target, "?#");

    for (size_t i = 1; i <= end;) {
        size_t seg_end = i + strcspn(target + i, "/?#");

        if (seg_end > end)
            seg_end = end;
        if (seg_end > i && n > 0)
            ref[n++] = '/';
        for (size_t j = i; j < seg_end;) {
            if (target[j] == '%') {
                int hi = fuzz_path_hex((unsigned char)target[j + 1]);
                int lo = hi < 0 ? -1 : fuzz_path_hex((unsigned char)target[j + 2]);
                FUZZ_CHECK(hi >= 0 && lo >= 0); /* accepted, so well encoded */
                /* and no encoded separator: "%2f" would be a '/' the segments never saw */
                FUZZ_CHECK((hi << 4 | lo) != '/');
                ref[n++] = (char)(hi << 4 | lo);
                j += 3;
            } else {
                /* raw spaces and control bytes are refused before decoding */
                FUZZ_CHECK((unsigned char)target[j] > 0x20 && target[j] != 0x7f);
                ref[n++] = target[j++];
            }
        }
        i = seg_end + 1;
    }
    ref[n] = '\0';
    return n;
}

/* Checks the promises path.h makes for an accepted <target> with result <out> (<cap>
 * bytes) and <res>. */
static void fuzz_path_check_accepted(const char *target, const char *out, size_t cap,
                                     const struct path_result *res)
{
    const char *nul = memchr(out, '\0', cap);
    size_t len, path_end = strcspn(target, "?#");
    char *ref;

    FUZZ_CHECK(res->status == 0);
    FUZZ_CHECK(nul != NULL); /* terminated inside the output */
    len = (size_t)(nul - out);
    FUZZ_CHECK(len + 1 <= cap);
    FUZZ_CHECK(len == 0 || (out[0] != '/' && out[len - 1] != '/'));
    /* is_dir: the path part ends in '/' ("/" itself included) */
    FUZZ_CHECK(res->is_dir == (path_end > 0 && target[path_end - 1] == '/'));
    FUZZ_CHECK(len > 0 || res->is_dir);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '\\');
    }
    for (size_t seg = 0; seg < len;) {
        size_t seg_len = strcspn(out + seg, "/");
        FUZZ_CHECK(seg_len > 0);     /* no empty segment */
        FUZZ_CHECK(out[seg] != '.'); /* no ".", "..", nor hidden name */
        FUZZ_CHECK(utf8_is_valid((const uint8_t *)out + seg, seg_len));
        seg += seg_len + 1;
    }
    /* the same path as a plain reading of the contract (the result is never longer than
     * the target) */
    ref = malloc(strlen(target) + 1);
    FUZZ_CHECK(ref != NULL);
    FUZZ_CHECK(fuzz_path_reference(target, ref) == len);
    FUZZ_CHECK(memcmp(ref, out, len) == 0);
    free(ref);
}

/* Exactly the room needed is enough, one byte less is 414 (0 bytes: 400, no room). */
static void fuzz_path_check_room(const char *target, const char *out)
{
    size_t len = strlen(out);
    struct path_result res;
    char *again;
    int rc;

    again = fuzz_path_run(target, len + 1, &rc, &res);
    FUZZ_CHECK(rc == 0 && strcmp(again, out) == 0);
    free(again);
    again = fuzz_path_run(target, len, &rc, &res);
    FUZZ_CHECK(rc == -1 && res.status == (len > 0 ? 414 : 400));
    free(again);
}

/* Written again as a target (every byte but '/' and unreserved ones percent-encoded),
 * <out> reads back the same, with the same is_dir. */
static void fuzz_path_check_round_trip(const char *out, bool is_dir)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(out), n = 0;
    char *target = malloc(3 * len + 3);
    struct path_result res;
    char *again;
    int rc;

    FUZZ_CHECK(target != NULL);
    target[n++] = '/';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '/' || c == '-' || c == '_' || c == '~' || c == '.') {
            target[n++] = (char)c;
        } else {
            target[n++] = '%';
            target[n++] = hex[c >> 4];
            target[n++] = hex[c & 15];
        }
    }
    if (is_dir && len > 0)
        target[n++] = '/';
    target[n] = '\0';
    again = fuzz_path_run(target, PATH_MAX_BYTES, &rc, &res);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(strcmp(again, out) == 0);
    FUZZ_CHECK(res.is_dir == is_dir);
    free(again);
    free(target);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct path_result res;
    size_t cap, len;
    char *target, *out;
    int rc;

    if (size < 1)
        return 0;
    cap = data[0] == 0    ? PATH_MAX_BYTES
          : data[0] < 128 ? data[0]
                          : PATH_MAX_BYTES - (size_t)(data[0] - 128);
    data++;
    size--;
    len = strnlen((const char *)data, size);
    target = malloc(len + 1); /* exact: a read past the NUL is a report */
    FUZZ_CHECK(target != NULL);
    memcpy(target, data, len);
    target[len] = '\0';

    out = fuzz_path_run(target, cap, &rc, &res);
    if (rc == 0) {
        fuzz_path_check_accepted(target, out, cap, &res);
        fuzz_path_check_room(target, out);
        fuzz_path_check_round_trip(out, res.is_dir);
    } else {
        FUZZ_CHECK(res.status == 400 || res.status == 403 || res.status == 414);
        FUZZ_CHECK(res.error != NULL && res.error[0] != '\0');
        FUZZ_CHECK(res.offset <= len);
        if (res.status == 414) {
            /* with all the room it could want, the path is longer than <cap> allowed, or
             * refused for another reason further on */
            struct path_result big;
            char *more = fuzz_path_run(target, len + 1, &rc, &big);
            FUZZ_CHECK(cap < len + 1);
            FUZZ_CHECK(rc == -1 ? big.status != 414 : strlen(more) + 1 > cap);
            free(more);
        }
    }
    free(out);
    free(target);
    return 0;
}
