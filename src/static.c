/*
 * static.c - glue for one static request: path.c names the file, the kernel opens it
 * beneath the root (openat2 RESOLVE_BENEATH, following symlinks that stay inside it, else
 * a walk that resolves them by hand under the same rule), mime.c names its type,
 * http_cond.c decides 200 or 304, http_reply.c writes the head, and the caller sends the
 * file (filebody.c). Every head is queued whole on the caller's output buffer.
 */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#include "http_cond.h"
#include "http_date.h"
#include "http_reply.h"
#include "log.h"
#include "mime.h"
#include "path.h"
#include "ratelimit.h"

#define STATIC_MIME_FILE_MAX (4 * 1024 * 1024) /* a mime.types larger than this is ignored */
#define STATIC_INDEX "index.html"
/* No O_NOFOLLOW: openat2's RESOLVE_BENEATH decides which symlinks may be followed, and
 * the walk adds O_NOFOLLOW itself, resolving links by hand. */
#define STATIC_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
#define STATIC_LINKS_MAX 40 /* symlinks followed in one path, as the kernel's MAXSYMLINKS */
/* Room for any head here but a redirect's (which adds its Location): the longest line
 * is a media type, under 160 bytes (mime.c), and the whole head stays under 600. */
#define STATIC_HEAD_BYTES 1024

/* ---- opening beneath the root ---------------------------------------------------- */

#ifdef STATIC_HAVE_OPENAT2
/* openat2(2) of <rel> beneath <dir_fd>: symlinks are followed only while every step
 * stays beneath it (a ".." above it, or an absolute link, is EXDEV), never through /proc
 * magic links. glibc 2.36 has no wrapper, hence syscall(). */
static int static_openat2(int dir_fd, const char *rel, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)flags,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
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

/* The walk's position: the folder reached, as an fd and as a path from the root. */
struct static_walk {
    int root_fd;
    int dir;                   /* the folder reached: root_fd or an O_PATH fd of ours */
    char at[PATH_MAX];         /* its path from the root, no leading or trailing slash */
    char todo[PATH_MAX];       /* what is left to resolve, symlink text spliced in */
};

/* Moves <w> to its folder's parent (a ".." in a symlink's text): refused with EXDEV at
 * the root. The parent is opened again from the root along <w>->at, each step a real
 * folder (O_NOFOLLOW | O_DIRECTORY), so nothing is followed on the way. Returns 0 or -1. */
static int static_walk_up(struct static_walk *w)
{
    char *slash = strrchr(w->at, '/'), seg[NAME_MAX + 1];
    const char *p;
    int dir = w->root_fd, fd;

    if (w->at[0] == '\0') {
        errno = EXDEV;
        return -1;
    }
    if (slash != NULL)
        *slash = '\0';
    else
        w->at[0] = '\0';
    for (p = w->at; *p != '\0';) {
        size_t len = strcspn(p, "/");

        memcpy(seg, p, len); /* each was a name of at most NAME_MAX bytes */
        seg[len] = '\0';
        fd = openat(dir, seg, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        if (dir != w->root_fd)
            static_close_keep_errno(dir);
        if (fd < 0)
            return -1;
        dir = fd;
        p += len + (p[len] == '/');
    }
    if (w->dir != w->root_fd)
        close(w->dir);
    w->dir = dir;
    return 0;
}

/* Replaces what is left of <w>'s path by the text of symlink <name> in <w>'s folder
 * followed by <rest>. An absolute link is refused with EXDEV, as RESOLVE_BENEATH does.
 * Returns 0 or -1. */
static int static_walk_link(struct static_walk *w, const char *name, const char *rest)
{
    char link[PATH_MAX];
    ssize_t n = readlinkat(w->dir, name, link, sizeof(link) - 1);
    int len;

    if (n < 0)
        return -1;
    link[n] = '\0';
    if (link[0] == '/' || n == 0) {
        errno = link[0] == '/' ? EXDEV : ENOENT;
        return -1;
    }
    len = snprintf(w->todo, sizeof(w->todo), "%s/%s", link, rest);
    if (len < 0 || (size_t)len >= sizeof(w->todo)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Steps <w> into its subfolder <name> (an O_PATH fd of it, <fd>), taking it over. */
static int static_walk_down(struct static_walk *w, const char *name, int fd)
{
    size_t at_len = strlen(w->at);

    if (at_len + 1 + strlen(name) + 1 > sizeof(w->at)) {
        close(fd);
        errno = ENAMETOOLONG;
        return -1;
    }
    if (at_len > 0)
        w->at[at_len++] = '/';
    strcpy(w->at + at_len, name);
    if (w->dir != w->root_fd)
        close(w->dir);
    w->dir = fd;
    return 0;
}

/* The fallback for kernels before 5.6 (or seccomp filters that hide openat2), keeping
 * openat2's rule by hand: one openat per segment with O_NOFOLLOW; a symlink met on the
 * way is read and its text resolved from its own folder, ".." in it climbing back
 * towards the root and never above (EXDEV), an absolute one refused (EXDEV), at most
 * STATIC_LINKS_MAX of them (ELOOP). path.c has already refused "." and ".." in <rel>.
 * Returns an fd or -1 with errno. */
static int static_open_walk(int root_fd, const char *rel, int flags)
{
    struct static_walk *w = malloc(sizeof(*w));
    char seg[NAME_MAX + 1], rest[PATH_MAX];
    int fd = -1, links = 0;
    struct stat st;

    if (w == NULL) {
        errno = ENOMEM;
        return -1;
    }
    w->root_fd = root_fd;
    w->dir = root_fd;
    w->at[0] = '\0';
    if (snprintf(w->todo, sizeof(w->todo), "%s", rel) >= (int)sizeof(w->todo)) {
        errno = ENAMETOOLONG;
        goto done;
    }
    for (;;) {
        const char *p = w->todo + strspn(w->todo, "/");
        size_t len = strcspn(p, "/");
        const char *after = p + len + strspn(p + len, "/");
        bool last = *after == '\0';

        if (len == 0) { /* the path ends at the folder reached */
            fd = openat(w->dir, ".", flags);
            break;
        }
        if (len > NAME_MAX) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(seg, p, len);
        seg[len] = '\0';
        memmove(rest, after, strlen(after) + 1);
        memmove(w->todo, rest, strlen(rest) + 1); /* what follows <seg> */
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            if (static_walk_up(w) != 0)
                break;
            continue;
        }
        if (last) {
            fd = openat(w->dir, seg, flags | O_NOFOLLOW);
            if (fd >= 0 || errno != ELOOP)
                break;
            /* ELOOP with O_NOFOLLOW: <seg> is a symlink; read it below. */
        } else {
            fd = openat(w->dir, seg, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0 && fstat(fd, &st) != 0) {
                static_close_keep_errno(fd);
                fd = -1;
            }
            if (fd < 0)
                break;
            if (S_ISDIR(st.st_mode)) {
                if (static_walk_down(w, seg, fd) != 0) {
                    fd = -1;
                    break;
                }
                fd = -1;
                continue;
            }
            close(fd);
            fd = -1;
            if (!S_ISLNK(st.st_mode)) {
                errno = ENOTDIR;
                break;
            }
        }
        if (++links > STATIC_LINKS_MAX) {
            errno = ELOOP;
            break;
        }
        if (static_walk_link(w, seg, rest) != 0)
            break;
    }
done:
    if (w->dir != root_fd)
        static_close_keep_errno(w->dir);
    free(w);
    return fd;
}

/* Opens <rel> (from path.c; "" is the root) beneath <root> for reading. Returns an fd,
 * or -1 with errno: EXDEV for a way out of the root, ELOOP for too many symlinks (or a
 * /proc magic link), ENOENT, EACCES... */
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

/* ---- answers ----------------------------------------------------------------------- */

/* Starts head <h> for <status> in <buf> (<cap> bytes) with the status line and Date. */
static void static_head_start(struct http_reply_head *h, char *buf, size_t cap, int status)
{
    http_reply_head_init(h, buf, cap, status);
    http_reply_head_date(h, time(NULL));
}

/* Ends head <h> with the Connection line <req>'s version calls for and queues it on
 * <out>. Returns false if it could not: a head refused or too long for its buffer (no
 * answer here can be; the buffers are sized for the longest) or memory gone. The caller
 * then closes the connection rather than send a wrong answer. */
static bool static_add_head(struct evbuffer *out, struct http_reply_head *h,
                            const struct http_req *req, bool keep, const char *peer,
                            const char *log_url)
{
    size_t n;

    http_reply_head_connection(h, req->http_major, req->http_minor, keep);
    n = http_reply_head_end(h);
    if (n > 0 && evbuffer_add(out, h->buf, n) == 0)
        return true;
    log_msg(LOG_LEVEL_WARN, "client=%s %s %s: no answer: its head could not be built", peer,
            req->method, LOG_Q(log_url));
    return false;
}

/* Answers <req> with a short plain-text <status> page (no body for HEAD), logs it with
 * <detail>, and returns <keep>. <extra> is one more header line ("Allow: ...\r\n") or
 * NULL. */
static bool static_reply_error(struct evbuffer *out, const struct http_req *req, int status,
                               const char *detail, const char *extra, bool keep, const char *peer,
                               const char *log_url)
{
    const char *reason = http_reply_reason(status);
    char buf[STATIC_HEAD_BYTES];
    struct http_reply_head h;

    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: %d %s: %s", peer, req->method, LOG_Q(log_url),
            status, reason, detail);
    static_head_start(&h, buf, sizeof(buf), status);
    http_reply_head_add(&h, "Content-Type", "text/plain; charset=utf-8");
    http_reply_head_add_uint(&h, "Content-Length", strlen(reason) + 5); /* the body below */
    http_reply_head_add(&h, "X-Content-Type-Options", "nosniff");
    http_reply_head_add_lines(&h, extra);
    if (!static_add_head(out, &h, req, keep, peer, log_url))
        return false;
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
        *detail = "too many symlinks, or a /proc magic link";
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

/* A folder asked for without its slash: 301 to the same path with one, so the page's
 * relative links resolve inside the folder. The Location is rebuilt from the checked
 * path <rel>, never copied from the target ("//host" would make it another site). */
static bool static_reply_redirect(struct evbuffer *out, const struct http_req *req, const char *rel,
                                  bool keep, const char *peer, const char *log_url)
{
    const char *query = req->url + strcspn(req->url, "?#");
    size_t query_len = strcspn(query, "#");
    static const char body[] = "301 Moved Permanently\n";
    char path[PATH_MAX_BYTES + 2];
    struct http_reply_head h;
    /* Each path byte may take three ("%XX"); the query comes as sent. */
    size_t cap = STATIC_HEAD_BYTES + 3 * sizeof(path) + query_len;
    char *buf = malloc(cap);
    bool queued;

    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: 301 to the folder's slash", peer, req->method,
            LOG_Q(log_url));
    snprintf(path, sizeof(path), "/%s/", rel);
    static_head_start(&h, buf, buf != NULL ? cap : 0, 301);
    http_reply_head_location(&h, path, query, query_len);
    http_reply_head_add(&h, "Content-Type", "text/plain; charset=utf-8");
    http_reply_head_add_uint(&h, "Content-Length", sizeof(body) - 1);
    queued = static_add_head(out, &h, req, keep, peer, log_url);
    free(buf);
    if (!queued)
        return false;
    if (strcmp(req->method, "HEAD") != 0)
        evbuffer_add(out, body, sizeof(body) - 1);
    return keep;
}

/* Answers with the file <fd> (a regular file described by <st>, named <name> for its
 * type): 304 or 200; unless HEAD, <fd> becomes <body>, else it is closed. Returns <keep>. */
static bool static_reply_file(struct static_root *root, struct evbuffer *out,
                              const struct http_req *req, int fd, const struct stat *st,
                              const char *name, bool keep, const char *peer,
                              const char *log_url, struct static_body *body)
{
    bool head = strcmp(req->method, "HEAD") == 0;
    bool not_modified;
    char buf[STATIC_HEAD_BYTES], etag[HTTP_COND_ETAG_LEN], modified[HTTP_DATE_LEN];
    struct http_reply_head h;

    http_cond_etag_write(st, etag);
    not_modified = http_cond_is_not_modified(req, etag, st->st_mtim.tv_sec);
    static_head_start(&h, buf, sizeof(buf), not_modified ? 304 : 200);
    http_reply_head_add(&h, "ETag", etag);
    http_reply_head_add(&h, "Last-Modified", http_date_write(st->st_mtim.tv_sec, modified));
    /* no-cache: the browser may store the file but asks every time, so an edited page
     * shows at the next load while an unchanged one costs a 304. */
    http_reply_head_add(&h, "Cache-Control", "no-cache");
    if (!not_modified) {
        http_reply_head_add(&h, "Content-Type", mime_lookup(root->mime, name));
        http_reply_head_add_uint(&h, "Content-Length", (uintmax_t)st->st_size);
        http_reply_head_add(&h, "X-Content-Type-Options", "nosniff");
    }
    if (!static_add_head(out, &h, req, keep, peer, log_url)) {
        close(fd);
        return false;
    }
    log_msg(LOG_LEVEL_INFO, "client=%s %s %s: %d %s (%jd bytes)", peer, req->method,
            LOG_Q(log_url), not_modified ? 304 : 200, not_modified ? "Not Modified" : "OK",
            not_modified || head ? (intmax_t)0 : (intmax_t)st->st_size);
    if (not_modified || head || st->st_size == 0) {
        close(fd);
        return keep;
    }
    body->fd = fd;
    body->size = st->st_size;
    return keep;
}

/* Opens the index.html of folder <rel> (from path.c) beneath <root> and fstats it into
 * <st>. Returns an fd, or -1 with errno. */
static int static_open_index(const struct static_root *root, const char *rel, struct stat *st)
{
    char index[PATH_MAX_BYTES + sizeof(STATIC_INDEX) + 1];
    int fd;

    snprintf(index, sizeof(index), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", STATIC_INDEX);
    fd = static_open(root, index);
    if (fd >= 0 && fstat(fd, st) != 0) {
        static_close_keep_errno(fd);
        fd = -1;
    }
    return fd;
}

/* Answers <req> from <root> into <out>, as static.h describes. Returns whether the
 * connection may carry another request. */
bool static_serve(struct static_root *root, const struct http_req *req, struct evbuffer *out,
                  bool may_keep, const char *peer, const char *log_url, struct static_body *body)
{
    bool keep = may_keep && !req->has_body && http_req_wants_keep_alive(req);
    const char *name, *detail;
    char rel[PATH_MAX_BYTES];
    struct path_result pr;
    struct stat st;
    int fd, status;

    body->fd = -1;
    body->size = 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        /* RFC 7231 §6.5.5 */
        return static_reply_error(out, req, 405, "only GET and HEAD are served",
                                  "Allow: GET, HEAD\r\n", keep, peer, log_url);
    /* The body is never read, so it would be taken for the next request: refuse it. */
    if (req->has_body)
        return static_reply_error(out, req, 400, "a GET or HEAD request has no body", NULL, false,
                                  peer, log_url);
    if (path_from_target(req->url, rel, sizeof(rel), &pr) != 0)
        return static_reply_error(out, req, pr.status, pr.error, NULL, keep, peer, log_url);
    fd = static_open(root, rel);
    name = rel;
    if (fd >= 0 && fstat(fd, &st) != 0) {
        static_close_keep_errno(fd);
        fd = -1;
    }
    if (fd >= 0 && S_ISDIR(st.st_mode)) {
        if (!pr.is_dir) {
            close(fd);
            return static_reply_redirect(out, req, rel, keep, peer, log_url);
        }
        /* Directory listings are off: a folder is its index.html or nothing. The
         * index is opened from the root, under the same symlink rule. */
        close(fd);
        fd = static_open_index(root, rel, &st);
        name = STATIC_INDEX;
    } else if (fd >= 0 && pr.is_dir) {
        close(fd);
        return static_reply_error(out, req, 404, "not a folder", NULL, keep, peer, log_url);
    }
    if (fd < 0) {
        /* EMFILE and the like: as often as a peer asks, so at most a line a second. */
        static struct ratelimit rl = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);
        int err = errno;

        status = static_errno_status(err, &detail);
        if (status >= 500)
            log_msg_limited(&rl, LOG_LEVEL_WARN, "client=%s open %s beneath the web root: %s",
                            peer, LOG_Q(rel[0] != '\0' ? rel : "."), strerror(err));
        return static_reply_error(out, req, status, detail, NULL, keep, peer, log_url);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return static_reply_error(out, req, 403, "not a regular file", NULL, keep, peer, log_url);
    }
    return static_reply_file(root, out, req, fd, &st, name, keep, peer, log_url, body);
}
