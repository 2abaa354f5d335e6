/*
 * http_cond.h - conditional GET and HEAD (RFC 7232): the entity tag of a file and whether
 * a request's If-None-Match or If-Modified-Since makes its answer a 304. No I/O; dates
 * are http_date.c's, writing the answer is http_reply.c's.
 */
#ifndef WSB_HTTP_COND_H
#define WSB_HTTP_COND_H

#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include "http_req.h"

#define HTTP_COND_ETAG_LEN 64 /* an entity tag, quotes and NUL included */

/* Writes the strong entity tag of the file <st> describes into <out> (HTTP_COND_ETAG_LEN
 * bytes), quotes included: "INODE-SIZE-MTIME_NS" in lower-case hex. A file replaced,
 * rewritten or touched gets a new tag. Returns <out>. */
const char *http_cond_etag_write(const struct stat *st, char *out);

/* True if the If-None-Match field value <list> names <etag> (a quoted strong entity tag,
 * as http_cond_etag_write gives) or is "*". Weak comparison (RFC 7232 §2.3.2, §3.2): a
 * "W/" before a listed tag is ignored. Members are separated by commas, spaces and tabs;
 * a member starting with '*' matches any tag. A malformed member (no opening or closing
 * quote) ends the list: members before it count, none after it, which at worst costs a
 * 200 instead of a 304. */
bool http_cond_etag_listed(const char *list, const char *etag);

/* True if the answer to <req> (a complete head) may be a 304 for a file whose entity tag
 * is <etag> and whose modification time is <mtime> (RFC 7232 §6): when any
 * If-None-Match line is present, only the lines named If-None-Match decide (true if one
 * of them lists <etag>), and If-Modified-Since is ignored; otherwise true if
 * If-Modified-Since (its first line) is a valid HTTP-date not before <mtime>. Does not
 * look at the method: the caller asks only for GET and HEAD. */
bool http_cond_is_not_modified(const struct http_req *req, const char *etag, time_t mtime);

#endif
