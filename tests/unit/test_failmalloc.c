/*
 * test_failmalloc.c - proves that the pure modules survive running out of memory: for
 * each operation that allocates, the n-th allocation the project's own code makes is
 * failed, for n = 1, 2, ... until the operation completes without meeting the failure;
 * then again with every allocation from the n-th on failing. Each run must end in its
 * normal result or in a clean error (NULL or -1 with "out of memory", HTTP 500,
 * BASICAUTH_ERROR), and give back every byte it took: checked by LeakSanitizer in a
 * sanitizer build, and by the heap's in-use bytes (mallinfo2, tcache off) otherwise.
 * The link wraps malloc, calloc, realloc, strdup and strndup (-Wl,--wrap=...), so calls
 * made inside libyaml, OpenSSL or libc are left alone: only our own error paths run.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authfail.h"
#include "basicauth.h"
#include "check_main.h"
#include "config.h"
#include "feed.h"
#include "handshake.h"
#include "http_req.h"
#include "metrics.h"
#include "mime.h"
#include "netlist.h"
#include "origin.h"
#include "tokenfile.h"

#if defined(__SANITIZE_ADDRESS__)
#define FM_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FM_LSAN 1
#endif
#endif
#ifndef FM_LSAN
#define FM_LSAN 0
#endif
#if FM_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define FM_ITERATIONS_MAX 5000 /* bound of every n loop: far above any operation's count */
#define FM_TUNABLE "glibc.malloc.tcache_count=0"
#define FM_HARNESS_ERROR 99    /* automake: the test itself could not run */

/* The failing allocator ------------------------------------------------------------ */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* volatile: the compiler knows what malloc and strdup do, and would otherwise move the
 * stores that arm and disarm across calls to them. */
static volatile struct {
    bool armed;      /* count (and maybe fail) calls; off outside the operation under test */
    long fail_at;    /* 0: fail nothing; n: fail the n-th counted call */
    bool persistent; /* fail every call from fail_at on, not only the fail_at-th */
    long calls;      /* counted calls since armed */
    long failed;     /* calls failed since armed */
} fm;

/* True if this allocation is to fail. The wrappers are also reached from code linked
 * statically into this program (Check's own library, gcov): only armed calls count. */
static bool test_failmalloc_should_fail(void)
{
    if (!fm.armed)
        return false;
    fm.calls++;
    if (fm.fail_at == 0 || fm.calls < fm.fail_at || (fm.calls > fm.fail_at && !fm.persistent))
        return false;
    fm.failed++;
    errno = ENOMEM;
    return true;
}

void *__wrap_malloc(size_t size)
{
    return test_failmalloc_should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return test_failmalloc_should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return test_failmalloc_should_fail() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
    return test_failmalloc_should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return test_failmalloc_should_fail() ? NULL : __real_strndup(s, n);
}

static void test_failmalloc_arm(long fail_at, bool persistent)
{
    fm.fail_at = fail_at;
    fm.persistent = persistent;
    fm.calls = 0;
    fm.failed = 0;
    fm.armed = true;
}

static void test_failmalloc_disarm(void)
{
    fm.armed = false;
}

/* Bytes the heap has handed out and not taken back. Meaningful only with the tcache off:
 * a freed chunk parked in the tcache still counts as in use. */
static size_t test_failmalloc_heap_in_use(void)
{
#if FM_LSAN
    return 0;
#else
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
#endif
}

/* Operations ----------------------------------------------------------------------- */

enum fm_result {
    FM_DONE = 0,  /* the operation's normal result */
    FM_CLEAN,     /* a clean out-of-memory error */
    FM_BAD,       /* anything else: detail says what */
};

struct fm_op {
    const char *name;
    enum fm_result (*run)(char *detail, size_t detail_len);
};

static char fm_srcdir[4096];      /* $WSB_SRCDIR, or "." */
static char fm_srcdir_yaml[4200]; /* etc/wsbridge.yaml's path */
static char *fm_default_text;     /* its contents */
static size_t fm_default_len;
static char fm_big_file[4200];    /* a config file over config_load's first buffer */

/* Every top-level key (11 pairs: the mapping grows past 8), ten routes (the list grows),
 * one with nine subprotocols (so does that list), a relative web_root (joined). */
static const char fm_rich_yaml[] =
    "listen: [ \"127.0.0.1:8080\", \"[::1]:8080\", \"0.0.0.0:8081\" ]\n"
    "web_root: ../web\n"
    "heartbeat: { interval: 20s, timeout: 5s }\n"
    "handshake_timeout: 5s\n"
    "connect_timeout: 3s\n"
    "idle_timeout: 10m\n"
    "close_timeout: 2s\n"
    "high_watermark: 1MiB\n"
    "low_watermark: 128KiB\n"
    "max_request_head: 8KiB\n"
    "routes:\n"
    "  - { path: /echo, target: echo }\n"
    "  - path: /vnc/*\n"
    "    target: \"127.0.0.1:5901\"\n"
    "    frames: binary\n"
    "    subprotocols: [ binary, base64, a, b, c, d, e, f, g ]\n"
    "    connect_timeout: 5s\n"
    "    idle_timeout: 0\n"
    "    max_frame: 64KiB\n"
    "    max_message: 1MiB\n"
    "  - { path: /chat/*, target: \"chat.example.net:6667\", frames: text, subprotocols: chat }\n"
    "  - { path: /v6, target: \"[::1]:7\", subprotocols: [ x, y ] }\n"
    "  - { path: /a, target: echo }\n"
    "  - { path: /b, target: echo }\n"
    "  - { path: /c, target: echo }\n"
    "  - { path: /d, target: echo }\n"
    "  - { path: /e, target: echo }\n"
    "  - { path: /*, target: \"localhost:9\" }\n";

/* Valid up to its last route, which repeats a path: every allocation of a full parse is
 * made, then the half-built config is torn down. */
static const char fm_dup_yaml[] = "listen: \"127.0.0.1:8080\"\n"
                                  "routes:\n"
                                  "  - { path: /one, target: echo, subprotocols: [ p, q ] }\n"
                                  "  - { path: /two, target: echo, subprotocols: [ r ] }\n"
                                  "  - { path: /one, target: echo }\n";

static enum fm_result test_failmalloc_config_result(struct config *c, const char *err,
                                                    size_t n_routes, char *detail,
                                                    size_t detail_len)
{
    if (c == NULL && strstr(err, "out of memory") != NULL)
        return FM_CLEAN;
    if (c == NULL) {
        snprintf(detail, detail_len, "failed with \"%s\"", err);
        return FM_BAD;
    }
    if (c->n_routes != n_routes) {
        snprintf(detail, detail_len, "%zu routes, want %zu", c->n_routes, n_routes);
        config_free(c);
        return FM_BAD;
    }
    config_free(c);
    return FM_DONE;
}

static enum fm_result test_failmalloc_op_config_default(char *detail, size_t detail_len)
{
    char err[512];
    struct config *c = config_parse(fm_srcdir_yaml, fm_default_text, fm_default_len, err,
                                    sizeof(err));

    return test_failmalloc_config_result(c, err, 1, detail, detail_len);
}

static enum fm_result test_failmalloc_op_config_rich(char *detail, size_t detail_len)
{
    char err[512];
    struct config *c =
        config_parse("/etc/wsbridge/rich.yaml", fm_rich_yaml, sizeof(fm_rich_yaml) - 1, err,
                     sizeof(err));

    return test_failmalloc_config_result(c, err, 10, detail, detail_len);
}

static enum fm_result test_failmalloc_op_config_load(char *detail, size_t detail_len)
{
    char err[512];
    struct config *c = config_load(fm_big_file, err, sizeof(err));

    return test_failmalloc_config_result(c, err, 10, detail, detail_len);
}

static enum fm_result test_failmalloc_op_config_error(char *detail, size_t detail_len)
{
    char err[512];
    struct config *c = config_parse("dup.yaml", fm_dup_yaml, sizeof(fm_dup_yaml) - 1, err,
                                    sizeof(err));

    if (c == NULL && strstr(err, "dup.yaml:5:") != NULL && strstr(err, "duplicate route") != NULL)
        return FM_DONE;
    return test_failmalloc_config_result(c, err, 0, detail, detail_len);
}

/* Two routes naming the same users file (fm_users_text, in fm_tmpdir): read and parsed
 * twice by config_load_files, after config_parse. */
static const char fm_auth_yaml[] = "routes:\n"
                                   "  - { path: /a, target: echo, auth_file: users }\n"
                                   "  - { path: /b, target: echo, auth_file: users }\n";
static char fm_auth_name[4200]; /* fm_tmpdir/auth.yaml: where the config says it is */
static char fm_users_file[4200];

static enum fm_result test_failmalloc_op_config_load_files(char *detail, size_t detail_len)
{
    char err[512];
    struct config *c =
        config_parse(fm_auth_name, fm_auth_yaml, sizeof(fm_auth_yaml) - 1, err, sizeof(err));

    if (c != NULL && config_load_files(c, err, sizeof(err)) != 0) {
        config_free(c);
        c = NULL;
    }
    if (c != NULL && (c->routes[1].users == NULL || c->routes[1].users->n != 41)) {
        snprintf(detail, detail_len, "the second route has no 41 users");
        config_free(c);
        return FM_BAD;
    }
    return test_failmalloc_config_result(c, err, 2, detail, detail_len);
}

/* RFC 6455 §1.3's request, with a cookie long enough to grow the head copy four times. */
static char fm_request[4096];
static size_t fm_request_len;

static void test_failmalloc_request_build(void)
{
    char cookie[2600];

    memset(cookie, 'c', sizeof(cookie) - 1);
    cookie[sizeof(cookie) - 1] = '\0';
    fm_request_len = (size_t)snprintf(fm_request, sizeof(fm_request),
                                      "GET /chat HTTP/1.1\r\n"
                                      "Host: server.example.com\r\n"
                                      "Upgrade: websocket\r\n"
                                      "Connection: Upgrade\r\n"
                                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      "Origin: http://example.com\r\n"
                                      "Cookie: k=%s\r\n"
                                      "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                      "Sec-WebSocket-Version: 13\r\n\r\n\x81\x80",
                                      cookie);
}

/* Feeds the request in the chunks of feed mode <mode>, then checks the handshake. */
static enum fm_result test_failmalloc_http(int mode, char *detail, size_t detail_len)
{
    static const char *const protocols[] = {"superchat"};
    const struct handshake_policy pol = {.subprotocols = protocols, .n_subprotocols = 1};
    struct handshake_result res;
    struct http_req req;
    enum http_req_result r = HTTP_REQ_MORE;
    enum fm_result out = FM_DONE;
    struct feed f;
    size_t off = 0, used = 0;

    if (http_req_init(&req, NULL) != 0)
        return FM_CLEAN;
    feed_init(&f, mode);
    while (r == HTTP_REQ_MORE && off < fm_request_len) {
        size_t n = feed_chunk(&f, fm_request_len - off);
        r = http_req_feed(&req, (const uint8_t *)fm_request + off, n, &used);
        off += used;
    }
    if (r == HTTP_REQ_FAIL && req.status == 500 && strcmp(req.error, "out of memory") == 0) {
        out = FM_CLEAN;
    } else if (r != HTTP_REQ_DONE) {
        snprintf(detail, detail_len, "result %d, status %d (%s)", (int)r, req.status,
                 req.error != NULL ? req.error : "-");
        out = FM_BAD;
    } else if (off != fm_request_len - 2) {
        snprintf(detail, detail_len, "head ends at %zu, want %zu", off, fm_request_len - 2);
        out = FM_BAD;
    } else {
        handshake_check(&req, &pol, &res);
        if (res.status != 101 || strcmp(res.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0 ||
            res.subprotocol == NULL || strcmp(res.subprotocol, "superchat") != 0) {
            snprintf(detail, detail_len, "handshake gave %d (%s)", res.status,
                     res.status == 101 ? res.accept : res.error);
            out = FM_BAD;
        }
    }
    http_req_free(&req);
    return out;
}

static enum fm_result test_failmalloc_op_http_whole(char *detail, size_t detail_len)
{
    return test_failmalloc_http(0, detail, detail_len);
}

static enum fm_result test_failmalloc_op_http_bytes(char *detail, size_t detail_len)
{
    return test_failmalloc_http(1, detail, detail_len);
}

static enum fm_result test_failmalloc_op_http_random(char *detail, size_t detail_len)
{
    return test_failmalloc_http(2, detail, detail_len);
}

static enum fm_result test_failmalloc_op_origin_list(char *detail, size_t detail_len)
{
    static const char *const patterns[] = {"https://example.com", "http://*.example.net:8080",
                                           "null", "https://[::1]:8443"};
    char err[256];
    struct origin_list *o = origin_list_parse(patterns, 4, ORIGIN_REQUIRE, err, sizeof(err));
    enum fm_result out = FM_DONE;

    if (o == NULL)
        return strstr(err, "out of memory") != NULL ? FM_CLEAN : FM_BAD;
    if (!origin_list_is_allowed(o, "http://a.b.example.net:8080", "h", false) ||
        origin_list_is_allowed(o, "https://example.org", "example.org", true)) {
        snprintf(detail, detail_len, "wrong verdicts");
        out = FM_BAD;
    }
    origin_list_free(o);
    return out;
}

static enum fm_result test_failmalloc_op_origin_hosts(char *detail, size_t detail_len)
{
    static const char *const names[] = {"example.com", "*.example.net:8080", "[::1]"};
    char err[256];
    struct origin_hosts *h = origin_hosts_parse(names, 3, err, sizeof(err));
    enum fm_result out = FM_DONE;

    if (h == NULL)
        return strstr(err, "out of memory") != NULL ? FM_CLEAN : FM_BAD;
    if (!origin_hosts_is_allowed(h, "a.example.net:8080", false) ||
        origin_hosts_is_allowed(h, "example.org", false)) {
        snprintf(detail, detail_len, "wrong verdicts");
        out = FM_BAD;
    }
    origin_hosts_free(h);
    return out;
}

/* Twenty rules in each list: both arrays grow from 8 to 16 to 32. */
static enum fm_result test_failmalloc_op_netlist(char *detail, size_t detail_len)
{
    struct netlist *nets = netlist_new();
    char cidr[64], err[256];

    if (nets == NULL)
        return FM_CLEAN;
    for (int i = 0; i < 20; i++) {
        snprintf(cidr, sizeof(cidr), "10.%d.0.0/16", i);
        if (netlist_add(nets, NETLIST_ALLOW, cidr, err, sizeof(err)) != 0)
            goto fail;
        snprintf(cidr, sizeof(cidr), "2001:db8:%x::/48", i);
        if (netlist_add(nets, NETLIST_DENY, cidr, err, sizeof(err)) != 0)
            goto fail;
    }
    netlist_free(nets);
    return FM_DONE;

fail:
    netlist_free(nets);
    if (strstr(err, "out of memory") != NULL)
        return FM_CLEAN;
    snprintf(detail, detail_len, "failed with \"%s\"", err);
    return FM_BAD;
}

#define FM_HASH_SECRET "$5$wsbtest.salt$chJHi4NfFaOQzEZZ6c96N0naS8bdRUnhGg4Tm04rCPB"
#define FM_HASH_OTHER "$5$wsbtest.other$9/ZjggVK5PsoyE7mBx/tsgnCJ9IY4i4GI3x0Lb4i4xD"

static char fm_users_text[8192]; /* 40 users: the list grows from 16 to 32 to 64 */
static size_t fm_users_len;

static enum fm_result test_failmalloc_op_basicauth(char *detail, size_t detail_len)
{
    char err[256], user[64];
    struct basicauth_users *u =
        basicauth_users_parse(fm_users_text, fm_users_len, "users", err, sizeof(err));
    enum basicauth_result a;

    if (u == NULL) {
        if (strstr(err, "out of memory") != NULL)
            return FM_CLEAN;
        snprintf(detail, detail_len, "failed with \"%s\"", err);
        return FM_BAD;
    }
    /* "alice:secret" */
    a = basicauth_check(u, "Basic YWxpY2U6c2VjcmV0", user, sizeof(user));
    basicauth_users_free(u);
    if (a == BASICAUTH_ERROR)
        return FM_CLEAN;
    if (a != BASICAUTH_OK || strcmp(user, "alice") != 0) {
        snprintf(detail, detail_len, "check gave %s for \"%s\"", basicauth_result_name(a), user);
        return FM_BAD;
    }
    return FM_DONE;
}

/* Eleven routes, counted and written out: the text passes the buffer's first 4 KiB, and
 * the route table and its index grow past their first sizes. */
static enum fm_result test_failmalloc_op_metrics(char *detail, size_t detail_len)
{
    static const char *const paths[] = {"/echo", "/vnc/*", "/chat/*", "/a", "/b", "/c", "/d",
                                        "/*",    "/e",     "/f",      "/g"};
    struct promtext_buf buf = {0};
    struct metrics *m = metrics_new();
    enum fm_result out = FM_DONE;
    int rc;

    if (m == NULL)
        return FM_CLEAN;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (metrics_route_get(m, paths[i]) == NULL) {
            metrics_free(m);
            return FM_CLEAN;
        }
    }
    metrics_count_failure(m, 502, "connect refused");
    metrics_count_close(m, 1000);
    metrics_histogram_observe(&m->routes[0]->connect_seconds, 0.002);
    rc = metrics_write(m, promtext_buf_append, &buf);
    metrics_free(m);
    if (rc != 0) {
        out = FM_CLEAN;
    } else if (buf.len <= 4096 || strstr(buf.data, "route=\"/chat/*\"") == NULL) {
        snprintf(detail, detail_len, "%zu bytes of text", buf.len);
        out = FM_BAD;
    }
    promtext_buf_reset(&buf);
    return out;
}

static char fm_mime_text[32768]; /* 300 types with two extensions each: the table grows */
static size_t fm_mime_len;

static enum fm_result test_failmalloc_op_mime(char *detail, size_t detail_len)
{
    struct mime_table *t = mime_table_new();
    enum fm_result out = FM_DONE;
    const char *type;

    if (t == NULL)
        return FM_CLEAN;
    if (mime_table_parse(t, fm_mime_text, fm_mime_len) != 0) {
        mime_table_free(t);
        return FM_CLEAN;
    }
    type = mime_lookup(t, "dir/file.EXT123");
    if (mime_table_count(t) != 600 || strcmp(type, "application/x-wsb123") != 0) {
        snprintf(detail, detail_len, "%zu extensions, .ext123 is %s", mime_table_count(t), type);
        out = FM_BAD;
    }
    mime_table_free(t);
    return out;
}

/* A small table, filled past its size. */
static enum fm_result test_failmalloc_op_authfail(char *detail, size_t detail_len)
{
    static const unsigned char key[AUTHFAIL_KEY_BYTES] = {1, 2, 3};
    struct authfail_limits l = {
        .max_failures = 2, .window_ms = 1000, .block_ms = 1000, .max_entries = 8};
    struct authfail *t = authfail_new(&l, key);
    struct sockaddr_in sin = {.sin_family = AF_INET};

    if (t == NULL)
        return FM_CLEAN;
    for (uint32_t i = 0; i < 20; i++) {
        sin.sin_addr.s_addr = htonl(0x0a000000u + i);
        authfail_record(t, (struct sockaddr *)&sin, 5);
        authfail_record(t, (struct sockaddr *)&sin, 6);
    }
    if (authfail_blocked_ms(t, (struct sockaddr *)&sin, 7) != 999) {
        snprintf(detail, detail_len, "the last address is not blocked");
        authfail_free(t);
        return FM_BAD;
    }
    authfail_free(t);
    return FM_DONE;
}

/* Two token files of 20 tokens each, a bad line and a duplicate: each table grows past
 * its first size, then the second is merged into the first. */
static enum fm_result test_failmalloc_op_tokenfile(char *detail, size_t detail_len)
{
    static const uint8_t key[SIPHASH_KEY_BYTES] = {1, 2, 3};
    struct tokenfile *a = tokenfile_new(key), *b = tokenfile_new(key);
    enum fm_result out = FM_CLEAN;
    const struct tokenfile_target *t;
    char text[2048];
    size_t len = 0;

    if (a == NULL || b == NULL)
        goto done;
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "a%d: h:%d\n", i, i + 1);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "bad\na3: unix_socket:/s\n");
    if (tokenfile_parse(a, "a", text, len, NULL, NULL) != 1)
        goto done;
    len = 0;
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "b%d: h:%d\n", i, i + 100);
    if (tokenfile_parse(b, "b", text, len, NULL, NULL) != 0 || tokenfile_merge(a, b) != 0)
        goto done;
    t = tokenfile_lookup(a, "a3", 2);
    out = FM_DONE;
    if (tokenfile_count(a) != 40 || t == NULL || t->kind != TOKENFILE_UNIX ||
        tokenfile_lookup(a, "b19", 3) == NULL) {
        snprintf(detail, detail_len, "%zu tokens", tokenfile_count(a));
        out = FM_BAD;
    }
done:
    tokenfile_free(a);
    tokenfile_free(b);
    return out;
}

static const struct fm_op fm_ops[] = {
    {"config_parse etc/wsbridge.yaml", test_failmalloc_op_config_default},
    {"config_parse rich config", test_failmalloc_op_config_rich},
    {"config_load 20 KiB file", test_failmalloc_op_config_load},
    {"config_parse error after the last allocation", test_failmalloc_op_config_error},
    {"config_load_files two auth files", test_failmalloc_op_config_load_files},
    {"http_req + handshake, whole", test_failmalloc_op_http_whole},
    {"http_req + handshake, byte by byte", test_failmalloc_op_http_bytes},
    {"http_req + handshake, random chunks", test_failmalloc_op_http_random},
    {"origin_list_parse", test_failmalloc_op_origin_list},
    {"origin_hosts_parse", test_failmalloc_op_origin_hosts},
    {"netlist_add", test_failmalloc_op_netlist},
    {"basicauth_users_parse + basicauth_check", test_failmalloc_op_basicauth},
    {"authfail_new + authfail_record", test_failmalloc_op_authfail},
    {"metrics_new + metrics_write", test_failmalloc_op_metrics},
    {"mime_table_parse", test_failmalloc_op_mime},
    {"tokenfile_parse + tokenfile_merge", test_failmalloc_op_tokenfile},
};

#define FM_N_OPS (sizeof(fm_ops) / sizeof(fm_ops[0]))

static char *test_failmalloc_read_file(const char *path, size_t *len);

/* The loop ------------------------------------------------------------------------- */

/* Runs operation <i> once with nothing failing to count its allocations, then once per
 * allocation with the n-th (<persistent>: the n-th and all after) failing. */
static void test_failmalloc_run(int i, bool persistent)
{
    const struct fm_op *op = &fm_ops[i];
    const char *how = persistent ? "from" : "only";
    char detail[512] = "";
    enum fm_result r;
    long total, n;

    test_failmalloc_arm(0, false);
    r = op->run(detail, sizeof(detail));
    test_failmalloc_disarm();
    total = fm.calls;
    ck_assert_msg(r == FM_DONE, "%s: without failures: %s", op->name, detail);
    ck_assert_msg(total > 0, "%s: made no allocation through the wrappers", op->name);

    for (n = 1; n <= FM_ITERATIONS_MAX; n++) {
        size_t before = test_failmalloc_heap_in_use(), after;
        long failed;

        detail[0] = '\0';
        test_failmalloc_arm(n, persistent);
        r = op->run(detail, sizeof(detail));
        test_failmalloc_disarm();
        failed = fm.failed;
        after = test_failmalloc_heap_in_use();
#if FM_LSAN
        ck_assert_msg(__lsan_do_recoverable_leak_check() == 0,
                      "%s: leak with allocation %ld failing (%s on)", op->name, n, how);
#endif
        ck_assert_msg(after == before,
                      "%s: allocation %ld failing (%s on): %zd bytes not given back", op->name, n,
                      how, (ssize_t)(after - before));
        if (failed == 0) {
            ck_assert_msg(r == FM_DONE, "%s: allocation %ld not reached, yet: %s", op->name, n,
                          detail);
            break;
        }
        ck_assert_msg(r == FM_CLEAN, "%s: allocation %ld failing (%s on): %s", op->name, n, how,
                      r == FM_DONE ? "succeeded anyway" : detail);
    }
    ck_assert_msg(n <= FM_ITERATIONS_MAX, "%s: still failing after %d iterations", op->name,
                  FM_ITERATIONS_MAX);
    ck_assert_msg(n == total + 1, "%s: %ld allocations counted, loop ended at %ld", op->name,
                  total, n);
    printf("# %-46s %3ld allocations, each failed (%s on)\n", op->name, total, how);
    fflush(stdout);
}

/* Every file of the config unit test's data, valid or not: with allocation n failing,
 * the parse gives its usual answer (a config, or the same message) or "out of memory". */
START_TEST(test_failmalloc_config_files)
{
    char dir[4200], path[4500], want[512], err[512];
    struct dirent *de;
    DIR *d;
    int files = 0;
    long most = 0;

    snprintf(dir, sizeof(dir), "%s/tests/unit/data/config", fm_srcdir);
    d = opendir(dir);
    ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        size_t nlen = strlen(de->d_name), len;
        struct config *c;
        bool want_ok;
        char *text;
        long total, n;

        if (nlen < 6 || strcmp(de->d_name + nlen - 5, ".yaml") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        text = test_failmalloc_read_file(path, &len);
        test_failmalloc_arm(0, false);
        c = config_parse(path, text, len, want, sizeof(want));
        test_failmalloc_disarm();
        total = fm.calls;
        want_ok = c != NULL;
        config_free(c);
        for (n = 1; n <= total + 1; n++) {
            size_t before = test_failmalloc_heap_in_use();

            test_failmalloc_arm(n, false);
            c = config_parse(path, text, len, err, sizeof(err));
            test_failmalloc_disarm();
            config_free(c);
            ck_assert_msg(test_failmalloc_heap_in_use() == before,
                          "%s: allocation %ld failing: leak", de->d_name, n);
#if FM_LSAN
            ck_assert_msg(__lsan_do_recoverable_leak_check() == 0,
                          "%s: allocation %ld failing: leak", de->d_name, n);
#endif
            if (fm.failed == 0) {
                ck_assert_msg((c != NULL) == want_ok && (want_ok || strcmp(err, want) == 0),
                              "%s: allocation %ld not reached, yet: %s", de->d_name, n, err);
                break;
            }
            ck_assert_msg(c == NULL && strstr(err, "out of memory") != NULL,
                          "%s: allocation %ld failing: %s", de->d_name, n,
                          c != NULL ? "succeeded anyway" : err);
        }
        ck_assert_msg(n == total + 1, "%s: %ld allocations, loop ended at %ld", de->d_name, total,
                      n);
        if (total > most)
            most = total;
        free(text);
        files++;
    }
    closedir(d);
    ck_assert_msg(files >= 50, "only %d files in %s", files, dir);
    printf("# config data files: %d files, up to %ld allocations each, each failed (only on)\n",
           files, most);
    fflush(stdout);
}
END_TEST

START_TEST(test_failmalloc_nth)
{
    test_failmalloc_run(_i, false);
}
END_TEST

START_TEST(test_failmalloc_from_nth)
{
    test_failmalloc_run(_i, true);
}
END_TEST

/* The measure itself: a freed chunk must leave the in-use count where it was. */
START_TEST(test_failmalloc_heap_measure)
{
    size_t before = test_failmalloc_heap_in_use();
    char *p = malloc(100);

    ck_assert_ptr_nonnull(p);
    if (!FM_LSAN)
        ck_assert_uint_gt(test_failmalloc_heap_in_use(), before);
    free(p);
    ck_assert_uint_eq(test_failmalloc_heap_in_use(), before);
}
END_TEST

/* The wrappers themselves: the n-th call fails, with errno ENOMEM, and only when armed. */
START_TEST(test_failmalloc_wrappers)
{
    /* Not literals, which the compiler may turn into malloc and memcpy. */
    const char *volatile x = "x", *volatile yy = "yy";
    char *a, *b, *c;

    test_failmalloc_arm(2, false);
    a = strdup(x);
    b = strndup(yy, 1);
    c = calloc(1, 1);
    test_failmalloc_disarm();
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(fm.calls, 3);
    free(a);
    free(c);
    a = realloc(NULL, 10);
    ck_assert_ptr_nonnull(a);
    free(a);
}
END_TEST

/* Setup ---------------------------------------------------------------------------- */

static char *test_failmalloc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(FM_HARNESS_ERROR);
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(FM_HARNESS_ERROR);
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static char fm_tmpdir[4096];

static void test_failmalloc_setup_files(void)
{
    const char *src = getenv("WSB_SRCDIR");
    const char *tmp = getenv("TMPDIR");
    FILE *f;
    int len;

    snprintf(fm_srcdir, sizeof(fm_srcdir), "%s", src != NULL && src[0] != '\0' ? src : ".");
    snprintf(fm_srcdir_yaml, sizeof(fm_srcdir_yaml), "%s/etc/wsbridge.yaml", fm_srcdir);
    fm_default_text = test_failmalloc_read_file(fm_srcdir_yaml, &fm_default_len);

    snprintf(fm_tmpdir, sizeof(fm_tmpdir), "%s/wsb-failmalloc-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(fm_tmpdir) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", fm_tmpdir, strerror(errno));
        exit(FM_HARNESS_ERROR);
    }
    /* Over 16 KiB, so config_load grows its buffer. */
    snprintf(fm_big_file, sizeof(fm_big_file), "%s/big.yaml", fm_tmpdir);
    f = fopen(fm_big_file, "w");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", fm_big_file, strerror(errno));
        exit(FM_HARNESS_ERROR);
    }
    for (int i = 0; i < 300; i++)
        fprintf(f, "# padding line %03d so that the file is larger than the first buffer\n", i);
    fputs(fm_rich_yaml, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: write failed\n", fm_big_file);
        exit(FM_HARNESS_ERROR);
    }

    test_failmalloc_request_build();
    len = snprintf(fm_users_text, sizeof(fm_users_text), "# users\nalice:%s\r\n\n",
                   FM_HASH_SECRET);
    for (int i = 0; i < 40 && len > 0 && (size_t)len < sizeof(fm_users_text); i++)
        len += snprintf(fm_users_text + len, sizeof(fm_users_text) - (size_t)len,
                        "  user%02d:%s\n", i, FM_HASH_OTHER);
    fm_users_len = (size_t)len;
    snprintf(fm_auth_name, sizeof(fm_auth_name), "%s/auth.yaml", fm_tmpdir);
    snprintf(fm_users_file, sizeof(fm_users_file), "%s/users", fm_tmpdir);
    f = fopen(fm_users_file, "w");
    if (f == NULL || fwrite(fm_users_text, 1, fm_users_len, f) != fm_users_len || fclose(f) != 0) {
        fprintf(stderr, "%s: write failed\n", fm_users_file);
        exit(FM_HARNESS_ERROR);
    }
    len = 0;
    for (int i = 0; i < 300 && len >= 0 && (size_t)len < sizeof(fm_mime_text); i++)
        len += snprintf(fm_mime_text + len, sizeof(fm_mime_text) - (size_t)len,
                        "application/x-wsb%03d\text%03d e%03d\n", i, i, i);
    fm_mime_len = (size_t)len;
}

static void test_failmalloc_cleanup_files(void)
{
    unlink(fm_big_file);
    unlink(fm_users_file);
    rmdir(fm_tmpdir);
    free(fm_default_text);
}

/* A chunk freed into glibc's tcache still counts as in use, which would hide leaks and
 * invent others: run again with the tcache off (a tunable read only at startup). */
static void test_failmalloc_tcache_off(char **argv)
{
    const char *t = getenv("GLIBC_TUNABLES");
    char buf[1024];

    if (FM_LSAN || (t != NULL && strstr(t, FM_TUNABLE) != NULL))
        return;
    snprintf(buf, sizeof(buf), "%s%s%s", t != NULL ? t : "", t != NULL ? ":" : "", FM_TUNABLE);
    setenv("GLIBC_TUNABLES", buf, 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "execv /proc/self/exe: %s\n", strerror(errno));
    exit(FM_HARNESS_ERROR);
}

static Suite *test_failmalloc_suite(void)
{
    Suite *s = suite_create("failmalloc");
    TCase *self = tcase_create("harness");
    TCase *ops = tcase_create("operations");

    tcase_add_test(self, test_failmalloc_heap_measure);
    tcase_add_test(self, test_failmalloc_wrappers);
    suite_add_tcase(s, self);
    tcase_add_loop_test(ops, test_failmalloc_nth, 0, (int)FM_N_OPS);
    tcase_add_loop_test(ops, test_failmalloc_from_nth, 0, (int)FM_N_OPS);
    tcase_add_test(ops, test_failmalloc_config_files);
    /* The data files alone are some 12,000 parses: 40 s under ASan on a quiet core, and
     * make check runs two tests at a time beside other builds' tests. A hang is still
     * caught; a slow machine is not taken for one. */
    tcase_set_timeout(ops, FM_LSAN ? 600 : 120);
    suite_add_tcase(s, ops);
    return s;
}

int main(int argc, char **argv)
{
    int rc;

    (void)argc;
    test_failmalloc_tcache_off(argv);
    test_failmalloc_setup_files();
    rc = check_main_run(test_failmalloc_suite());
    test_failmalloc_cleanup_files();
    return rc;
}
