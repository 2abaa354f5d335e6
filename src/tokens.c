/*
 * tokens.c - token sources: reading a websockify token file or folder (tokenfile.c
 * parses), noticing that it changed, and looking a request's token up (tokenreq.c finds
 * it) from any worker thread.
 * Changes are found by a stat check on the lookup path, at most once a second per source,
 * rather than inotify: it needs no descriptor or thread per source, sees a file replaced
 * by rename (how deployment tools and Kubernetes' ConfigMaps update files), an edit in
 * place and a folder's files coming and going alike, and works on network file systems
 * where inotify is blind. Timestamps too fresh to tell two edits apart are not trusted:
 * the source is read again a second later, and only a different text is a new table.
 * The lookup that finds a check due does it on its own thread, outside the lock, while
 * the other threads go on with the table they have; so a changed source is read on one
 * worker's loop, which waits for that read (a token file is small; a stat is cheap).
 */
#include "tokens.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "jwt.h"
#include "log.h"
#include "ratelimit.h"
#include "route.h"
#include "siphash.h"
#include "tokenreq.h"

#define TOKENS_RACY_S 2 /* a file touched this recently may change again unseen */

/* One token file or folder, shared by the routes that name it. */
struct tokens_source {
    pthread_mutex_t lock;
    char *path;                /* the file or folder, as the config joined it */
    char *base;                /* the absolute folder relative unix_socket: paths start in */
    struct tokenfile *table;   /* the last good table, under lock */
    uint64_t next_check_ms;    /* CLOCK_MONOTONIC of the next check, under lock */
    bool checking;             /* a thread is checking it now, under lock */
    /* Only the checking thread uses these (the lock hands them from one to the next). */
    uint64_t stat_sig;         /* what stat said when the table was read */
    uint64_t text_sig;         /* a hash of the text the table was read from */
    bool racy;                 /* timestamps too fresh: read again at the next check */
    bool failing;              /* the last check could not read it (said once) */
};

/* A "tokens: { jwt: ... }" route's key, read at load. */
struct tokens_jwt {
    EVP_PKEY *pkey;  /* ES256, RS256; or NULL */
    uint8_t *secret; /* HS256; or NULL */
    size_t secret_len;
};

struct tokens {
    const struct config *config;     /* not owned */
    struct tokens_source **by_route; /* config->n_routes entries; NULL: a fixed target */
    struct tokens_jwt **jwt_by_route; /* config->n_routes entries; NULL: not a JWT route */
    bool any;                        /* some route has a source */
};

/* What one scan of a source found: its files, in the order they are read. */
struct tokens_scan {
    char **files; /* full paths, sorted by name */
    size_t n, cap;
    uint64_t sig; /* of every stat involved */
    bool racy;    /* one of them was touched in the last TOKENS_RACY_S seconds */
};

/* Malformed lines of one read, kept until the read is known to be a change. */
struct tokens_errors {
    char *lines[TOKENS_ERRORS_LOGGED];
    size_t n;     /* kept */
    size_t total; /* reported by the parser */
    bool oom;     /* one could not be kept */
};

/* The keys of this process: the tables' SipHash key, and the log hashes' (never shown
 * together, so a log hash says nothing about where a token sits in a table). */
static uint8_t tokens_table_key[SIPHASH_KEY_BYTES], tokens_log_key[SIPHASH_KEY_BYTES];
static pthread_once_t tokens_keys_once = PTHREAD_ONCE_INIT;
static bool tokens_keys_made;

/* A token whose Unix socket cannot be used: a peer may ask for it at will. */
static struct ratelimit tokens_unusable_log = RATELIMIT_INIT(LOG_LIMITED_INTERVAL_MS);

static void tokens_make_keys(void)
{
    tokens_keys_made =
        getrandom(tokens_table_key, sizeof(tokens_table_key), 0) ==
            (ssize_t)sizeof(tokens_table_key) &&
        getrandom(tokens_log_key, sizeof(tokens_log_key), 0) == (ssize_t)sizeof(tokens_log_key);
}

static uint64_t tokens_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a over <n> bytes at <p>, continuing <h>: change detection, not a secret. */
static uint64_t tokens_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Adds what stat says of one file or folder to <scan>: where it is, its size and times. */
static void tokens_scan_stat(struct tokens_scan *scan, const struct stat *st, time_t now)
{
    const int64_t f[] = {(int64_t)st->st_dev,        (int64_t)st->st_ino,
                         (int64_t)st->st_size,       (int64_t)st->st_mtim.tv_sec,
                         (int64_t)st->st_mtim.tv_nsec, (int64_t)st->st_ctim.tv_sec,
                         (int64_t)st->st_ctim.tv_nsec, (int64_t)st->st_mode};

    scan->sig = tokens_fnv(scan->sig, f, sizeof(f));
    if (st->st_mtim.tv_sec >= now - TOKENS_RACY_S || st->st_ctim.tv_sec >= now - TOKENS_RACY_S)
        scan->racy = true;
}

static void tokens_scan_free(struct tokens_scan *scan)
{
    for (size_t i = 0; i < scan->n; i++)
        free(scan->files[i]);
    free(scan->files);
    memset(scan, 0, sizeof(*scan));
}

static int tokens_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends <name> of folder <dir> to <scan>. Returns 0, or -1 with <why>. */
static int tokens_scan_add(struct tokens_scan *scan, const char *dir, const char *name, char *why,
                           size_t why_len)
{
    char **files;
    char *path;

    if (scan->n == TOKENS_FILES_MAX) {
        snprintf(why, why_len, "more than %d files", TOKENS_FILES_MAX);
        return -1;
    }
    if (scan->n == scan->cap) {
        size_t cap = scan->cap == 0 ? 16 : scan->cap * 2;
        if ((files = realloc(scan->files, cap * sizeof(*files))) == NULL)
            goto oom;
        scan->files = files;
        scan->cap = cap;
    }
    if (dir == NULL)
        path = strdup(name);
    else if (asprintf(&path, "%s/%s", dir, name) < 0)
        path = NULL;
    if (path == NULL)
        goto oom;
    scan->files[scan->n++] = path;
    return 0;
oom:
    snprintf(why, why_len, "out of memory");
    return -1;
}

/* Lists the files of folder <path> (open as <dir>) into <scan>, sorted. */
static int tokens_scan_dir(struct tokens_scan *scan, const char *path, DIR *dir, time_t now,
                           char *why, size_t why_len)
{
    struct dirent *de;
    struct stat st;

    errno = 0;
    while ((de = readdir(dir)) != NULL) {
        /* Hidden names: editors' swap files, Kubernetes' "..data" and the like. */
        if (de->d_name[0] == '.')
            continue;
        /* Symlinks are followed: a file may be a link to the real one. A link to nothing
         * is passed over, like a subfolder. */
        if (fstatat(dirfd(dir), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (tokens_scan_add(scan, path, de->d_name, why, why_len) != 0)
            return -1;
        tokens_scan_stat(scan, &st, now);
        scan->sig = tokens_fnv(scan->sig, de->d_name, strlen(de->d_name) + 1);
    }
    if (errno != 0) {
        snprintf(why, why_len, "readdir: %s", strerror(errno));
        return -1;
    }
    /* Later names win: the order is the bytes of the names, whatever readdir gave. */
    if (scan->n > 1)
        qsort(scan->files, scan->n, sizeof(scan->files[0]), tokens_name_cmp);
    return 0;
}

/* Finds what source <s> is made of now, and its signature. Returns 0, or -1 with why. */
static int tokens_scan(const struct tokens_source *s, struct tokens_scan *scan, char *why,
                       size_t why_len)
{
    time_t now = time(NULL);
    struct stat st;
    DIR *dir;
    int rc;

    memset(scan, 0, sizeof(*scan));
    scan->sig = 0xcbf29ce484222325ull;
    if (stat(s->path, &st) != 0) {
        snprintf(why, why_len, "%s", strerror(errno));
        return -1;
    }
    tokens_scan_stat(scan, &st, now);
    if (S_ISREG(st.st_mode))
        return tokens_scan_add(scan, NULL, s->path, why, why_len);
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "neither a file nor a folder");
        return -1;
    }
    if ((dir = opendir(s->path)) == NULL) {
        snprintf(why, why_len, "opendir: %s", strerror(errno));
        return -1;
    }
    rc = tokens_scan_dir(scan, s->path, dir, now, why, why_len);
    closedir(dir);
    if (rc != 0)
        tokens_scan_free(scan);
    return rc;
}

/* Reads regular file <path> whole into a new buffer at *<text> (*<len> bytes). A file
 * over TOKENFILE_TEXT_MAX is not read: *<text> is NULL and *<len> its size. Returns 0,
 * or -1 with why. */
static int tokens_read_file(const char *path, char **text, size_t *len, char *why,
                            size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    size_t got = 0;

    *text = NULL;
    *len = 0;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "%s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
        goto fail;
    }
    if ((uint64_t)st.st_size > TOKENFILE_TEXT_MAX) {
        *len = (size_t)st.st_size;
        close(fd);
        return 0;
    }
    /* One byte more than stat said, to see a file that grew. */
    if ((*text = malloc((size_t)st.st_size + 1)) == NULL) {
        snprintf(why, why_len, "%s: out of memory", path);
        goto fail;
    }
    while (got < (size_t)st.st_size + 1) {
        ssize_t n = read(fd, *text + got, (size_t)st.st_size + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, why_len, "%s: read: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > (size_t)st.st_size) {
        snprintf(why, why_len, "%s: changed while it was read", path);
        goto fail;
    }
    *len = got;
    close(fd);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    free(*text);
    *text = NULL;
    return -1;
}

/* tokenfile_parse's error callback: keeps the first TOKENS_ERRORS_LOGGED lines. */
static void tokens_on_error(void *arg, const char *message)
{
    struct tokens_errors *e = arg;

    e->total++;
    if (e->n == TOKENS_ERRORS_LOGGED)
        return;
    if ((e->lines[e->n] = strdup(message)) == NULL)
        e->oom = true;
    else
        e->n++;
}

static void tokens_errors_free(struct tokens_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->lines[i]);
    memset(e, 0, sizeof(*e));
}

/* Reads every file of <scan> into a new table at *<out>, its text's hash into *<sig> and
 * its malformed lines into <errs>. Returns 0, or -1 with why (*<out> NULL). */
static int tokens_read(const struct tokens_scan *scan, struct tokenfile **out, uint64_t *sig,
                       struct tokens_errors *errs, char *why, size_t why_len)
{
    struct tokenfile *t = tokenfile_new(tokens_table_key);
    char *text;
    size_t len;
    char msg[TOKENFILE_ERROR_MAX];

    *out = NULL;
    *sig = 0xcbf29ce484222325ull;
    if (t == NULL) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < scan->n; i++) {
        if (tokens_read_file(scan->files[i], &text, &len, why, why_len) != 0) {
            tokenfile_free(t);
            return -1;
        }
        *sig = tokens_fnv(*sig, scan->files[i], strlen(scan->files[i]) + 1);
        *sig = tokens_fnv(*sig, &len, sizeof(len));
        if (text == NULL) {
            snprintf(msg, sizeof(msg), "%s: larger than %u MiB: not read", scan->files[i],
                     TOKENFILE_TEXT_MAX >> 20);
            tokens_on_error(errs, msg);
            continue;
        }
        *sig = tokens_fnv(*sig, text, len);
        if (tokenfile_parse(t, scan->files[i], text, len, tokens_on_error, errs) < 0) {
            free(text);
            tokenfile_free(t);
            snprintf(why, why_len, "out of memory");
            return -1;
        }
        OPENSSL_cleanse(text, len); /* it held every token */
        free(text);
    }
    *out = t;
    return 0;
}

/* Logs the malformed lines of a read of <s> that made a new table. */
static void tokens_log_errors(const struct tokens_source *s, const struct tokens_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        log_msg(LOG_LEVEL_WARN, "token file %s (line skipped)", e->lines[i]);
    if (e->total > e->n)
        log_msg(LOG_LEVEL_WARN, "tokens %s: %zu more malformed lines not shown", s->path,
                e->total - e->n);
}

/*
 * Checks <s> (the caller holds the right to: <first> at load, or s->checking): scans it,
 * and when the scan differs from the last one (or the last one was racy), reads it; a
 * text that differs from the table's becomes the new table. Returns 0, or -1 with why
 * (the old table stays).
 */
static int tokens_check(struct tokens_source *s, bool first, char *why, size_t why_len)
{
    struct tokens_errors errs = {.n = 0};
    struct tokenfile *t, *old = NULL;
    struct tokens_scan scan;
    uint64_t text_sig;
    size_t n_files;

    if (tokens_scan(s, &scan, why, why_len) != 0)
        return -1;
    if (!first && scan.sig == s->stat_sig && !s->racy) {
        tokens_scan_free(&scan);
        return 0;
    }
    if (tokens_read(&scan, &t, &text_sig, &errs, why, why_len) != 0) {
        tokens_scan_free(&scan);
        tokens_errors_free(&errs);
        s->stat_sig = 0; /* read again next time, even if stat says the same */
        return -1;
    }
    n_files = scan.n;
    s->stat_sig = scan.sig;
    s->racy = scan.racy;
    tokens_scan_free(&scan);
    if (!first && text_sig == s->text_sig) {
        tokenfile_free(t); /* touched, not changed */
        tokens_errors_free(&errs);
        return 0;
    }
    s->text_sig = text_sig;
    tokens_log_errors(s, &errs);
    log_msg(LOG_LEVEL_INFO, "%s tokens %s: %zu tokens from %zu file%s%s",
            first ? "read" : "read again", s->path, tokenfile_count(t), n_files,
            n_files == 1 ? "" : "s", errs.total > 0 ? ", malformed lines skipped" : "");
    tokens_errors_free(&errs);
    pthread_mutex_lock(&s->lock);
    old = s->table;
    s->table = t;
    pthread_mutex_unlock(&s->lock);
    tokenfile_free(old);
    return 0;
}

/* Checks <s> if it is due and nobody else is at it. */
static void tokens_maybe_check(struct tokens_source *s)
{
    uint64_t now = tokens_now_ms();
    char why[512];
    bool due;

    pthread_mutex_lock(&s->lock);
    due = !s->checking && now >= s->next_check_ms;
    if (due) {
        s->checking = true;
        s->next_check_ms = now + TOKENS_CHECK_INTERVAL_MS;
    }
    pthread_mutex_unlock(&s->lock);
    if (!due)
        return;
    if (tokens_check(s, false, why, sizeof(why)) != 0) {
        if (!s->failing)
            log_msg(LOG_LEVEL_WARN, "tokens %s: %s; keeping the tokens read before", s->path,
                    why);
        s->failing = true;
    } else if (s->failing) {
        log_msg(LOG_LEVEL_INFO, "tokens %s: readable again", s->path);
        s->failing = false;
    }
    pthread_mutex_lock(&s->lock);
    s->checking = false;
    pthread_mutex_unlock(&s->lock);
}

static void tokens_source_free(struct tokens_source *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->lock);
    tokenfile_free(s->table);
    free(s->path);
    free(s->base);
    free(s);
}

/* The folder relative unix_socket: paths of source <path> start in: the folder itself,
 * or a file's folder; absolute. NULL if out of memory or it cannot be resolved. */
static char *tokens_base(const char *path)
{
    struct stat st;
    char *copy, *slash, *base;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return realpath(path, NULL);
    if ((copy = strdup(path)) == NULL)
        return NULL;
    slash = strrchr(copy, '/');
    if (slash == NULL)
        base = realpath(".", NULL);
    else if (slash == copy)
        base = strdup("/");
    else {
        *slash = '\0';
        base = realpath(copy, NULL);
    }
    free(copy);
    return base;
}

/* A source for token route <r>, read now. Returns it, or NULL with why. */
static struct tokens_source *tokens_source_new(const struct route *r, char *why, size_t why_len)
{
    struct tokens_source *s = calloc(1, sizeof(*s));

    if (s == NULL || pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    if ((s->path = strdup(r->tokens)) == NULL) {
        snprintf(why, why_len, "out of memory");
        goto fail;
    }
    if (tokens_check(s, true, why, why_len) != 0)
        goto fail;
    if ((s->base = tokens_base(s->path)) == NULL) {
        snprintf(why, why_len, "its folder: %s", strerror(errno));
        goto fail;
    }
    s->next_check_ms = tokens_now_ms() + TOKENS_CHECK_INTERVAL_MS;
    return s;
fail:
    tokens_source_free(s);
    return NULL;
}

static void tokens_jwt_free(struct tokens_jwt *j)
{
    if (j == NULL)
        return;
    EVP_PKEY_free(j->pkey);
    if (j->secret != NULL)
        OPENSSL_cleanse(j->secret, j->secret_len);
    free(j->secret);
    free(j);
}

/* Reads the key of JWT route <rj>: PEM text is a public key (ES256, RS256), anything else
 * the HS256 secret, its bytes as they are but for one final line end. The algorithms
 * must fit the key. Returns it, or NULL with why. */
static struct tokens_jwt *tokens_jwt_new(const struct route_jwt *rj, char *why, size_t why_len)
{
    struct tokens_jwt *j = calloc(1, sizeof(*j));
    char *text = NULL, err[256];
    size_t len = 0;
    bool pem;

    if (j == NULL) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    if (tokens_read_file(rj->key_file, &text, &len, err, sizeof(err)) != 0) {
        snprintf(why, why_len, "%s", err);
        goto fail;
    }
    if (text == NULL) {
        snprintf(why, why_len, "%s: too large for a key", rj->key_file);
        goto fail;
    }
    pem = len >= 11 && memmem(text, len, "-----BEGIN ", 11) != NULL;
    if (pem) {
        if ((rj->algorithms & JWT_ALG_HS256) != 0) {
            snprintf(why, why_len,
                     "%s: a PEM public key; HS256 takes a raw shared secret, in "
                     "a file of its own on another route",
                     rj->key_file);
            goto fail;
        }
        if ((j->pkey = jwt_key_from_pem(text, len, err, sizeof(err))) == NULL) {
            snprintf(why, why_len, "%s: %s", rj->key_file, err);
            goto fail;
        }
        if ((rj->algorithms & JWT_ALG_ES256) && EVP_PKEY_get_base_id(j->pkey) != EVP_PKEY_EC) {
            snprintf(why, why_len, "%s: ES256 needs an EC P-256 public key", rj->key_file);
            goto fail;
        }
        if ((rj->algorithms & JWT_ALG_RS256) && EVP_PKEY_get_base_id(j->pkey) != EVP_PKEY_RSA) {
            snprintf(why, why_len, "%s: RS256 needs an RSA public key", rj->key_file);
            goto fail;
        }
    } else {
        if (rj->algorithms != JWT_ALG_HS256) {
            snprintf(why, why_len,
                     "%s: not a PEM public key (ES256 and RS256 need one; a raw "
                     "secret is for HS256 alone)",
                     rj->key_file);
            goto fail;
        }
        if (len > 0 && text[len - 1] == '\n')
            len--;
        if (len > 0 && text[len - 1] == '\r')
            len--;
        if (len < JWT_HS256_SECRET_MIN) {
            snprintf(why, why_len, "%s: an HS256 secret needs %d bytes or more", rj->key_file,
                     JWT_HS256_SECRET_MIN);
            goto fail;
        }
        j->secret = (uint8_t *)text;
        j->secret_len = len;
        return j;
    }
    OPENSSL_cleanse(text, len);
    free(text);
    return j;
fail:
    if (text != NULL)
        OPENSSL_cleanse(text, len);
    free(text);
    tokens_jwt_free(j);
    return NULL;
}

struct tokens *tokens_new(const struct config *c, char *err, size_t err_len)
{
    struct tokens *t = calloc(1, sizeof(*t));
    char why[512];

    if (err_len > 0)
        err[0] = '\0';
    if (t == NULL ||
        (c->n_routes > 0 &&
         ((t->by_route = calloc(c->n_routes, sizeof(*t->by_route))) == NULL ||
          (t->jwt_by_route = calloc(c->n_routes, sizeof(*t->jwt_by_route))) == NULL))) {
        if (t != NULL)
            free(t->by_route);
        snprintf(err, err_len, "%s: out of memory", c->file);
        free(t);
        return NULL;
    }
    t->config = c;
    for (size_t i = 0; i < c->n_routes; i++) {
        const struct route *r = &c->routes[i];
        if (r->tokens == NULL && r->tokens_jwt == NULL && r->tokens_redis == NULL)
            continue;
        pthread_once(&tokens_keys_once, tokens_make_keys);
        if (!tokens_keys_made) {
            snprintf(err, err_len, "%s: getrandom: no key for the token tables", c->file);
            goto fail;
        }
        t->any = true;
        if (r->tokens_redis != NULL)
            continue;
        if (r->tokens_jwt != NULL) {
            if ((t->jwt_by_route[i] = tokens_jwt_new(r->tokens_jwt, why, sizeof(why))) == NULL) {
                snprintf(err, err_len, "%s:%u:%u: tokens.jwt.key \"%s\": %s", c->file, r->line,
                         r->column, r->tokens_jwt->key_file_name, why);
                goto fail;
            }
            continue;
        }
        /* Routes naming the same file share its table, read once. */
        for (size_t j = 0; j < i && t->by_route[i] == NULL; j++)
            if (t->by_route[j] != NULL && strcmp(t->by_route[j]->path, r->tokens) == 0)
                t->by_route[i] = t->by_route[j];
        if (t->by_route[i] == NULL)
            t->by_route[i] = tokens_source_new(r, why, sizeof(why));
        if (t->by_route[i] == NULL) {
            snprintf(err, err_len, "%s:%u:%u: tokens \"%s\": %s", c->file, r->line, r->column,
                     r->tokens, why);
            goto fail;
        }
        t->any = true;
    }
    return t;
fail:
    tokens_free(t);
    return NULL;
}

void tokens_free(struct tokens *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; t->by_route != NULL && i < t->config->n_routes; i++) {
        bool shared = false;
        /* A shared source is freed with its first route, and never looked at again. */
        for (size_t j = 0; j < i && !shared; j++)
            shared = t->by_route[j] == t->by_route[i];
        if (!shared)
            tokens_source_free(t->by_route[i]);
    }
    for (size_t i = 0; t->jwt_by_route != NULL && i < t->config->n_routes; i++)
        tokens_jwt_free(t->jwt_by_route[i]);
    free(t->jwt_by_route);
    free(t->by_route);
    free(t);
}

enum tokens_result tokens_request_token(const struct route *r, const char *url, const char *host,
                                        char out[TOKENREQ_TOKEN_MAX + 1], size_t *len,
                                        char hash[TOKENFILE_LOG_HASH_LEN + 1])
{
    hash[0] = '\0';
    switch (tokenreq_get(r->token_from, url, r->match_len, host, out, len)) {
    case TOKENREQ_OK:
        break;
    case TOKENREQ_NONE:
        return TOKENS_NONE;
    case TOKENREQ_BAD:
        return TOKENS_MALFORMED;
    }
    tokenfile_log_hash(tokens_log_key, out, *len, hash);
    return TOKENS_FOUND;
}

/* Verifies JWT <token> of route <r> with key <j> and makes its claims the target. */
static enum tokens_result tokens_lookup_jwt(const struct route *r, const struct tokens_jwt *j,
                                            const char *token, size_t len, struct addr *out,
                                            const char *hash)
{
    const struct route_jwt *rj = r->tokens_jwt;
    struct jwt_key key = {.pkey = j->pkey, .secret = j->secret, .secret_len = j->secret_len};
    struct jwt_policy pol = {.algorithms = rj->algorithms,
                             .now = (int64_t)time(NULL),
                             .leeway_s = rj->leeway_ms / 1000,
                             .audience = rj->audience,
                             .require_exp = rj->require_exp};
    struct jwt_claims claims;
    char spec[ADDR_HOST_MAX + JWT_UNIX_PATH_MAX + 16], why[128];
    const char *reason;
    enum jwt_result res = jwt_verify(token, len, &key, &pol, &claims, &reason);

    if (res != JWT_OK) {
        log_msg(LOG_LEVEL_DEBUG, "route %s: token=#%s: signed token refused: %s (%s)", r->path,
                hash, jwt_result_name(res), reason);
        return res == JWT_INTERNAL ? TOKENS_UNUSABLE : TOKENS_DENIED;
    }
    if (claims.is_unix)
        snprintf(spec, sizeof(spec), "unix:%s", claims.unix_path);
    else
        snprintf(spec, sizeof(spec), strchr(claims.host, ':') ? "[%s]:%u" : "%s:%u", claims.host,
                 (unsigned)claims.port);
    if (addr_parse(spec, 0, out, why, sizeof(why)) != 0 || out->tls) {
        log_msg_limited(&tokens_unusable_log, LOG_LEVEL_WARN, "route %s: token=#%s: target %s: %s",
                        r->path, hash, LOG_Q(spec), why);
        return TOKENS_UNUSABLE;
    }
    return TOKENS_FOUND;
}

enum tokens_result tokens_lookup(struct tokens *t, const struct route *r, const char *url,
                                 const char *host, struct addr *out,
                                 char hash[TOKENFILE_LOG_HASH_LEN + 1])
{
    size_t i = (size_t)(r - t->config->routes);
    struct tokens_source *s = t->by_route[i];
    char token[TOKENREQ_TOKEN_MAX + 1], spec[2 * PATH_MAX + 16], why[128];
    const struct tokenfile_target *tgt;
    enum tokens_result res;
    size_t len, n = 0;

    res = tokens_request_token(r, url, host, token, &len, hash);
    if (res != TOKENS_FOUND)
        return res;
    if (r->tokens_redis != NULL) {
        OPENSSL_cleanse(token, sizeof(token));
        return TOKENS_REDIS;
    }
    if (t->jwt_by_route[i] != NULL) {
        res = tokens_lookup_jwt(r, t->jwt_by_route[i], token, len, out, hash);
        OPENSSL_cleanse(token, sizeof(token));
        return res;
    }
    tokens_maybe_check(s);
    pthread_mutex_lock(&s->lock);
    tgt = tokenfile_lookup(s->table, token, len);
    /* The target's text lives in the table: copied while it cannot change. */
    if (tgt != NULL && tgt->kind == TOKENFILE_UNIX && tgt->path[0] != '/')
        n = (size_t)snprintf(spec, sizeof(spec), "unix:%s/%s", s->base, tgt->path);
    else if (tgt != NULL)
        n = tokenfile_target_format(tgt, spec, sizeof(spec));
    pthread_mutex_unlock(&s->lock);
    OPENSSL_cleanse(token, sizeof(token));
    if (tgt == NULL)
        return TOKENS_UNKNOWN;
    if (n >= sizeof(spec) || addr_parse(spec, 0, out, why, sizeof(why)) != 0 || out->tls) {
        log_msg_limited(&tokens_unusable_log, LOG_LEVEL_WARN,
                        "route %s: token=#%s: target %s: %s", r->path, hash, LOG_Q(spec),
                        n >= sizeof(spec) ? "path too long" : why);
        return TOKENS_UNUSABLE;
    }
    return TOKENS_FOUND;
}

const char *tokens_log_url(const struct tokens *t, const struct config *c, const char *url,
                           char *out, size_t cap)
{
    const struct route *r;

    if (t == NULL || !t->any || url == NULL)
        return url;
    r = route_match(c, url);
    tokenreq_redact(
        url, r != NULL && route_is_token(r) && r->token_from == TOKENREQ_PATH ? r->match_len : 0,
        out, cap);
    return out;
}
