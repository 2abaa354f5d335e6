/*
 * path.h - the request target of a static request as a path relative to the web root,
 * no I/O. Percent-decodes once and refuses (never repairs) anything that could name a
 * file outside the root or a file the root does not mean to publish. Opening the path
 * without following symlinks is static.c's job.
 */
#ifndef WSB_PATH_H
#define WSB_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define PATH_MAX_BYTES 4096 /* decoded relative path, NUL included; over it: 414 */

struct path_result {
    int status;        /* 0: the path is good; else 400 (malformed), 403 (refused), 414 */
    const char *error; /* status != 0: short static text */
    size_t offset;     /* status != 0: offset in the target of the byte at fault */
    bool is_dir;       /* status == 0: the path ends in "/" (the root is "/") */
};

/* Turns request target <target> (NUL-terminated, origin-form: "/" path, then an optional
 * "?query" or "#fragment", both ignored) into a path relative to the web root in <out>
 * (<cap> bytes): its segments percent-decoded and joined by single slashes, with no
 * leading or trailing slash; "" for the root. Empty segments ("//") are dropped.
 * Refused with 403: a "." or ".." segment and any segment starting with a dot (hidden
 * files), a decoded NUL, "/" (%2f), backslash (raw or %5c) or control character, and a
 * decoded path that is not UTF-8 (overlong "%c0%ae"). Refused with 400: a target that is
 * not a path (absolute-form, "*"), bad percent-encoding, raw spaces or control bytes.
 * 414: the result does not fit in <cap>. Returns 0, or -1 with <res> saying why; <out>
 * is unspecified after -1. Fills <res> either way. */
int path_from_target(const char *target, char *out, size_t cap, struct path_result *res);

#endif
