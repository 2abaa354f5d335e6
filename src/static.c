/*
 * static.c - glue for one static request: path.c names the file, the kernel opens it
 * beneath the root (openat2 RESOLVE_BENEATH with no symlinks at all, else an O_NOFOLLOW
 * walk), mime.c names its type, and the caller sends it (filebody.c). RFC 7232 for the
 * validators (ETag, Last-Modified, 304), RFC 7231 §7.1.1 for dates, RFC 7230 §6.3 for
 * keep-alive. Every head is written whole into the caller's output buffer.
 */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>) && defined(SYS_openat2)
#include <linux/openat2.h>
#define STATIC_HAVE_OPENAT2 1
#endif
#endif

#include <event2/buffer.h>

#include "http_reply.h"
#include "log.h"
#include "mime.h"
#include "path.h"
#include "ratelimit.h"

#define STATIC_MIME_FILE_MAX (4 * 1024 * 1024) /* a mime.types larger than this is ignored */
#define STATIC_INDEX "index.html"
#define STATIC_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK)
#define STATIC_DATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL */
#define STATIC_ETAG_LEN 64

static const char *const static_days[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const static_months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ---- opening beneath the root ---------------------------------------------------- */

#ifdef STATIC_HAVE_OPENAT2
/* openat2(2) of <rel> beneath <dir_fd>: no "..", no absolute symlinks, no symlinks at
 * all, no /proc magic links. glibc 2.36 has no wrapper, hence syscall(). */
static int static_openat2(int dir_fd, const char *rel, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)flags,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
    };

    return (int)syscall(SYS_openat2, dir_fd, rel, &how, sizeof(how));
}
#endif

/* Closes <fd> without disturbing errno, which the caller still has to report. */
static void static_close_keep_errno(int fd)
{
    int e = errno;

    close(fd);
    errno = e;
}

/* The fallback for kernels before 5.6 (or seccomp filters that hide openat2): one
 * openat per segment, each with O_NOFOLLOW, so no symlink is ever followed; path.c has
 * already refused "." and "..", so the walk cannot climb out. Returns an fd or -1. */
static int static_open_walk(int root_fd, const char *rel, int flags)
{
    char seg[NAME_MAX + 1];
    int dir = root_fd, fd;
    struct stat st;

    if (rel[0] == '\0')
        return openat(root_fd, ".", flags);
    for (;;) {
        const char *slash = strchr(rel, '/');
        size_t len = slash != NULL ? (size_t)(slash - rel) : strlen(rel);

        if (len > NAME_MAX) {
            fd = -1;
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(seg, rel, len);
        seg[len] = '\0';
        if (slash == NULL) {
            fd = openat(dir, seg, flags);
            break;
        }
        fd = openat(dir, seg, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) != 0) {
            static_close_keep_errno(fd);
            fd = -1;
        } else if (fd >= 0 && !S_ISDIR(st.st_mode)) {
            /* O_PATH with O_NOFOLLOW opens a symlink itself: refuse it here. */
            close(fd);
            fd = -1;
            errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
        }
        if (fd < 0)
            break;
        if (dir != root_fd)
            close(dir);
        dir = fd;
        rel = slash + 1;
    }
    if (dir != root_fd)
        static_close_keep_errno(dir);
    return fd;
}

/* Opens <rel> (from path.c; "" is the root) beneath <root> for reading. Returns an fd,
 * or -1 with errno: ELOOP for a symlink anywhere on the way, ENOENT, EACCES... */
static int static_open(const struct static_root *root, const char *rel)
{
#ifdef STATIC_HAVE_OPENAT2
    if (!root->walk)
        return static_openat2(root->dir_fd, rel[0] != '\0' ? rel : ".", STATIC_OPEN_FLAGS);
#endif
    return static_open_walk(root->dir_fd, rel, STATIC_OPEN_FLAGS);
}

/* True if openat2 works on <dir_fd>: kernels before 5.6 say ENOSYS, and some container
 * seccomp profiles EPERM. */
static bool static_has_openat2(int dir_fd)
{
#ifdef STATIC_HAVE_OPENAT2
    int fd = static_openat2(dir_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
        return true;
    }
#else
    (void)dir_fd;
#endif
    return false;
}

/* ---- the root ---------------------------------------------------------------------- */

/* Reads the mime.types file <file> into a new table; NULL (and a log line) when it is
 * missing, unreadable or too large: the built-in types then serve alone. */
static struct mime_table *static_load_mime(const char *file)
{
    struct mime_table *t = NULL;
    struct stat st;
    char *text = NULL;
    size_t got = 0;
    int fd;

    if (file == NULL)
        return NULL;
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > STATIC_MIME_FILE_MAX) {
        log_msg(LOG_LEVEL_INFO, "%s: %s; using built-in MIME types", file,
                fd < 0 ? strerror(errno) : "not a regular file of a sensible size");
        goto done;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL)
        goto done;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    t = mime_table_new();
    if (t != NULL && mime_table_parse(t, text, got) != 0) {
        mime_table_free(t);
        t = NULL;
    }
    if (t != NULL)
        log_msg(LOG_LEVEL_DEBUG, "%s: %zu extensions", file, mime_table_count(t));
done:
    if (fd >= 0)
        close(fd);
    free(text);
    return t;
}

/* Opens web root <dir> and loads <mime_file>, as static.h describes. Returns the root,
 * or NULL with "what failed: why" in <err>. The environment variable
 * WSB_TEST_NO_OPENAT2=1 forces the O_NOFOLLOW walk, so tests can prove it too. */
struct static_root *static_root_new(const char *dir, const char *mime_file, char *err,
                                    size_t err_len)
{
    struct static_root *root = calloc(1, sizeof(*root));
    const char *force_walk = getenv("WSB_TEST_NO_OPENAT2");

    if (root == NULL) {
        snprintf(err, err_len, "web_root %s: out of memory", dir);
        return NULL;
    }
    root->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root->dir_fd < 0) {
        snprintf(err, err_len, "web_root %s: %s", dir, strerror(errno));
        free(root);
        return NULL;
    }
    root->walk =
        (force_walk != NULL && strcmp(force_walk, "1") == 0) || !static_has_openat2(root->dir_fd);
    root->mime = static_load_mime(mime_file);
    log_msg(LOG_LEVEL_INFO, "web root %s (files opened with %s)", dir,
            root->walk ? "an O_NOFOLLOW walk" : "openat2 RESOLVE_BENEATH");
    return root;
}

/* Frees <root>, closing its directory; NULL is fine. */
void static_root_free(struct static_root *root)
{
    if (root == NULL)
        return;
    close(root->dir_fd);
    mime_table_free(root->mime);
    free(root);
}

/* ---- validators and dates ---------------------------------------------------------- */

/* Writes <t> as an IMF-fixdate (RFC 7231 §7.1.1.1) into <out>, STATIC_DATE_LEN bytes.
 * Names come from tables, not strftime, so no locale can change them. */
static void static_http_date(time_t t, char *out)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        memset(&tm, 0, sizeof(tm)); /* outside what the format can say: 1900 */
    /* The remainders change nothing for a real date; they show the compiler each field's
     * width, so it can prove the line fits. */
    snprintf(out, STATIC_DATE_LEN, "%s, %02u %s %04u %02u:%02u:%02u GMT",
             static_days[(unsigned)tm.tm_wday % 7], (unsigned)tm.tm_mday % 100,
             static_months[(unsigned)tm.tm_mon % 12], (unsigned)(tm.tm_year + 1900) % 10000,
             (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100);
}

/* Parses an HTTP-date in any of the three forms RFC 7231 §7.1.1.1 obliges a recipient to
 * accept: IMF-fixdate, RFC 850 and asctime. Returns true and sets *<out>. */
static bool static_parse_http_date(const char *s, time_t *out)
{
    char wday[10], mon[4];
    int day, year, hour, min, sec, month, n = 0;
    struct tm tm = {0};

    if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &day, mon, &year, &hour,
               &min, &sec, &n) == 7 &&
        n > 0 && s[n] == '\0') {
        /* Sun, 06 Nov 1994 08:49:37 GMT */
    } else if (n = 0, sscanf(s, "%9[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wday, &day, mon,
                             &year, &hour, &min, &sec, &n) == 7 &&
                          n > 0 && s[n] == '\0') {
        /* Sunday, 06-Nov-94 08:49:37 GMT; RFC 7231: a two-digit year more than 50 years
         * ahead is in the past century. */
        year += year < 70 ? 2000 : 1900;
    } else if (n = 0, sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday, mon, &day,
                             &hour, &min, &sec, &year, &n) == 7 &&
                          n > 0 && s[n] == '\0') {
        /* Sun Nov  6 08:49:37 1994 */
    } else {
        return false;
    }
    for (month = 0; month < 12; month++)
        if (strcmp(mon, static_months[month]) == 0)
            break;
    if (month == 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 || year < 1970)
        return false;
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

/* Writes the entity tag of the file described by <st> into <out> (STATIC_ETAG_LEN
 * bytes), quotes included. Inode, size and nanosecond mtime: a file replaced, rewritten
 * or touched gets a new tag. */
static void static_etag(const struct stat *st, char *out)
{
    uint64_t mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;

    snprintf(out, STATIC_ETAG_LEN, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st->st_ino,
             (uint64_t)st->st_size, mtime_ns);
}

/* True if If-None-Match value <list> names <etag> or is "*". RFC 7232 §3.2 uses the weak
 * comparison: a "W/" prefix is ignored. A malformed list matches nothing from the fault
 * on, which at worst costs a 200 instead of a 304. */
static bool static_etag_listed(const char *list, const char *etag)
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

/* True if the client's copy is current (a 304 is due), by RFC 7232 §6: If-None-Match
 * when present (every line of it), else If-Modified-Since when it is a valid date. */
static bool static_is_not_modified(const struct http_req *req, const char *etag, time_t mtime)
{
    const char *ims;
    time_t since;

    if (http_req_header_count(req, "If-None-Match") > 0) {
        for (size_t i = 0; i < req->n_headers; i++)
            if (strcasecmp(req->headers[i].name, "If-None-Match") == 0 &&
                static_etag_listed(req->headers[i].value, etag))
                return true;
        return false;
    }
    ims = http_req_header(req, "If-Modified-Since");
    return ims != NULL && static_parse_http_date(ims, &since) && mtime <= since;
}

/* RFC 7230 §6.3: HTTP/1.1 stays open unless "Connection: close"; HTTP/1.0 closes unless
 * "Connection: keep-alive". */
static bool static_wants_keep_alive(const struct http_req *req)
{
    if (http_req_has_token(req, "Connection", "close"))
        return false;
    if (req->http_major == 1 && req->http_minor == 0)
        return http_req_has_token(req, "Connection", "keep-alive");
    return req->http_major >= 1;
}

/* ---- answers ----------------------------------------------------------------------- */

/* Writes the status line and Date; static_end_head() writes Connection and the blank
 * line after the caller's own headers. */
static void static_start_head(struct evbuffer *out, int status)
{
    char date[STATIC_DATE_LEN];

    static_http_date(time(NULL), date);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, http_reply_reason(status),
                        date);
}

/* Ends a head: the Connection header <req>'s version calls for, then the blank line. */
static void static_end_head(struct evbuffer *out, const struct http_req *req, bool keep)
{
    if (!keep)
        evbuffer_add_printf(out, "Connection: close\r\n\r\n");
    else if (req->http_major == 1 && req->http_minor == 0)
        evbuffer_add_printf(out, "Connection: keep-alive\r\n\r\n");
    else
        evbuffer_add_printf(out, "\r\n");
}

/* Answers <req> with a short plain-text <status> page (no body for HEAD), logs it with
 * <detail>, and returns <keep>. <extra> is one more header line ("Allow: ...\r\n") or
 * NULL. */
static bool static_reply_error(struct evbuffer *out, const struct http_req *req, int status,
                               const char *detail, const char *extra, bool keep, const char *peer)
{
    const char *reason = http_reply_reason(status);

    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: %d %s: %s", peer, req->method, LOG_Q(req->url),
            status, reason, detail);
    static_start_head(out, status);
    evbuffer_add_printf(out,
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "%s",
                        strlen(reason) + 5, extra != NULL ? extra : "");
    static_end_head(out, req, keep);
    if (strcmp(req->method, "HEAD") != 0)
        evbuffer_add_printf(out, "%d %s\n", status, reason);
    return keep;
}

/* The status and detail a failed open with <err> (an errno) earns. */
static int static_errno_status(int err, const char **detail)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        *detail = "no such file";
        return 404;
    case EACCES:
    case EPERM:
        *detail = "permission denied";
        return 403;
    case ELOOP:
        *detail = "symlinks are not followed";
        return 403;
    case EXDEV:
        *detail = "outside the web root";
        return 403;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        *detail = "out of file descriptors or memory";
        return 503;
    default:
        *detail = strerror(err);
        return 500;
    }
}

/* Appends <rel> to <out> percent-encoded for a Location path (RFC 3986 §3.3 pchar and
 * '/'), so bytes decoded from the target never reach a header raw. */
static void static_add_encoded(struct evbuffer *out, const char *rel)
{
    for (const unsigned char *p = (const unsigned char *)rel; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~!$&'()*+,;=:@", *p) != NULL)
            evbuffer_add(out, p, 1);
        else
            evbuffer_add_printf(out, "%%%02X", *p);
    }
}

/* A folder asked for without its slash: 301 to the same path with one, so the page's
 * relative links resolve inside the folder. The Location is rebuilt from the checked
 * path <rel>, never copied from the target ("//host" would make it another site). */
static bool static_reply_redirect(struct evbuffer *out, const struct http_req *req, const char *rel,
                                  bool keep, const char *peer)
{
    const char *query = req->url + strcspn(req->url, "?#");
    static const char body[] = "301 Moved Permanently\n";

    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: 301 to the folder's slash", peer, req->method,
            LOG_Q(req->url));
    static_start_head(out, 301);
    evbuffer_add_printf(out, "Location: /");
    static_add_encoded(out, rel);
    evbuffer_add_printf(out,
                        "/%.*s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n",
                        (int)strcspn(query, "#"), query, sizeof(body) - 1);
    static_end_head(out, req, keep);
    if (strcmp(req->method, "HEAD") != 0)
        evbuffer_add(out, body, sizeof(body) - 1);
    return keep;
}

/* Answers with the file <fd> (a regular file described by <st>, named <name> for its
 * type): 304 or 200; unless HEAD, <fd> becomes <body>, else it is closed. Returns <keep>. */
static bool static_reply_file(struct static_root *root, struct evbuffer *out,
                              const struct http_req *req, int fd, const struct stat *st,
                              const char *name, bool keep, const char *peer,
                              struct static_body *body)
{
    bool head = strcmp(req->method, "HEAD") == 0;
    bool not_modified;
    char etag[STATIC_ETAG_LEN], modified[STATIC_DATE_LEN];

    static_etag(st, etag);
    static_http_date(st->st_mtim.tv_sec, modified);
    not_modified = static_is_not_modified(req, etag, st->st_mtim.tv_sec);
    static_start_head(out, not_modified ? 304 : 200);
    /* no-cache: the browser may store the file but asks every time, so an edited page
     * shows at the next load while an unchanged one costs a 304. */
    evbuffer_add_printf(out, "ETag: %s\r\nLast-Modified: %s\r\nCache-Control: no-cache\r\n", etag,
                        modified);
    if (!not_modified)
        evbuffer_add_printf(out,
                            "Content-Type: %s\r\nContent-Length: %jd\r\n"
                            "X-Content-Type-Options: nosniff\r\n",
                            mime_lookup(root->mime, name), (intmax_t)st->st_size);
    static_end_head(out, req, keep);
    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: %d %s (%jd bytes)", peer, req->method,
            LOG_Q(req->url), not_modified ? 304 : 200, not_modified ? "Not Modified" : "OK",
            not_modified || head ? (intmax_t)0 : (intmax_t)st->st_size);
    if (not_modified || head || st->st_size == 0) {
        close(fd);
        return keep;
    }
    body->fd = fd;
    body->size = st->st_size;
    return keep;
}

/* Answers <req> from <root> into <out>, as static.h describes. Returns whether the
 * connection may carry another request. */
bool static_serve(struct static_root *root, const struct http_req *req, struct evbuffer *out,
                  bool may_keep, const char *peer, struct static_body *body)
{
    bool keep = may_keep && !req->has_body && static_wants_keep_alive(req);
    const char *name, *detail;
    char rel[PATH_MAX_BYTES];
    struct path_result pr;
    struct stat st;
    int fd, dir, status;

    body->fd = -1;
    body->size = 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        /* RFC 7231 §6.5.5 */
        return static_reply_error(out, req, 405, "only GET and HEAD are served",
                                  "Allow: GET, HEAD\r\n", keep, peer);
    /* The body is never read, so it would be taken for the next request: refuse it. */
    if (req->has_body)
        return static_reply_error(out, req, 400, "a GET or HEAD request has no body", NULL, false,
                                  peer);
    if (path_from_target(req->url, rel, sizeof(rel), &pr) != 0)
        return static_reply_error(out, req, pr.status, pr.error, NULL, keep, peer);
    fd = static_open(root, rel);
    name = rel;
    if (fd >= 0 && fstat(fd, &st) != 0) {
        static_close_keep_errno(fd);
        fd = -1;
    }
    if (fd >= 0 && S_ISDIR(st.st_mode)) {
        if (!pr.is_dir) {
            close(fd);
            return static_reply_redirect(out, req, rel, keep, peer);
        }
        /* Directory listings are off: a folder is its index.html or nothing. */
        dir = fd;
        fd = openat(dir, STATIC_INDEX, STATIC_OPEN_FLAGS);
        if (fd >= 0 && fstat(fd, &st) != 0) {
            static_close_keep_errno(fd);
            fd = -1;
        }
        static_close_keep_errno(dir);
        name = STATIC_INDEX;
    } else if (fd >= 0 && pr.is_dir) {
        close(fd);
        return static_reply_error(out, req, 404, "not a folder", NULL, keep, peer);
    }
    if (fd < 0) {
        /* EMFILE and the like: as often as a peer asks, so at most a line a second. */
        static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
        int err = errno;

        status = static_errno_status(err, &detail);
        if (status >= 500)
            log_msg_limited(&rl, LOG_LEVEL_WARN, "client=%s open %s beneath the web root: %s",
                            peer, LOG_Q(rel[0] != '\0' ? rel : "."), strerror(err));
        return static_reply_error(out, req, status, detail, NULL, keep, peer);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return static_reply_error(out, req, 403, "not a regular file", NULL, keep, peer);
    }
    return static_reply_file(root, out, req, fd, &st, name, keep, peer, body);
}
