/*
 * http_cond.c - RFC 7232 for static files: the entity tag (§2.3), If-None-Match with the
 * weak comparison (§3.2), If-Modified-Since (§3.3) and their precedence (§6). No I/O.
 * Opening files and writing the 304 are static.c's and http_reply.c's.
 */
#include "http_cond.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_date.h"

/* Writes the entity tag of the file <st> describes: see http_cond.h. Inode, size and
 * nanosecond mtime: a file replaced, rewritten or touched gets a new tag. */
const char *http_cond_etag_write(const struct stat *st, char *out)
{
    uint64_t mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;

    snprintf(out, HTTP_COND_ETAG_LEN, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
             (uint64_t)st->st_ino, (uint64_t)st->st_size, mtime_ns);
    return out;
}

/* True if If-None-Match value <list> names <etag> or is "*": see http_cond.h. */
bool http_cond_etag_listed(const char *list, const char *etag)
{
    size_t etag_len = strlen(etag);
    const char *p = list;

    for (;;) {
        const char *end;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return false;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return false;
        end = strchr(p + 1, '"');
        if (end == NULL)
            return false;
        if ((size_t)(end + 1 - p) == etag_len && memcmp(p, etag, etag_len) == 0)
            return true;
        p = end + 1;
    }
}

/* True if a 304 is due for <req>: see http_cond.h. */
bool http_cond_is_not_modified(const struct http_req *req, const char *etag, time_t mtime)
{
    const char *ims;
    time_t since;

    /* RFC 7232 §6 step 3: If-None-Match, when present, decides alone. */
    if (http_req_header_count(req, "If-None-Match") > 0) {
        for (size_t i = 0; i < req->n_headers; i++)
            if (strcasecmp(req->headers[i].name, "If-None-Match") == 0 &&
                http_cond_etag_listed(req->headers[i].value, etag))
                return true;
        return false;
    }
    ims = http_req_header(req, "If-Modified-Since");
    return ims != NULL && http_date_parse(ims, &since) && mtime <= since;
}
