/*
 * runconf.c - loading a whole configuration (file, TLS files, web root) or nothing,
 * sharing it by reference between the event loops and the connections made under it, and
 * the slot where the current one is published.
 */
#include "runconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "static.h"
#include "tls.h"
#include "tokens.h"

/* What "workers: auto" means here: one per online CPU, within 1..CONFIG_WORKERS_MAX. */
static unsigned runconf_workers(const struct config *c)
{
    long cpus;

    if (c->workers != 0)
        return c->workers;
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        return 1;
    return cpus > CONFIG_WORKERS_MAX ? CONFIG_WORKERS_MAX : (unsigned)cpus;
}

/* What config.c (pure) leaves to the daemon: the web root must be a folder. */
static int runconf_check_web_root(const struct config *c, char *err, size_t err_len)
{
    struct stat st;

    if (stat(c->web_root, &st) != 0) {
        snprintf(err, err_len, "%s: web_root \"%s\": %s", c->file, c->web_root, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "%s: web_root \"%s\": not a directory", c->file, c->web_root);
        return -1;
    }
    return 0;
}

/* Builds <rc> around its parsed <rc->config> (NULL: the parse failed, <err> says why):
 * the files the config names, the TLS contexts, the web root. Returns <rc>, or NULL with
 * the first error in <err> and <rc> freed. */
static struct runconf *runconf_build(struct runconf *rc, char *err, size_t err_len)
{
    if (rc->config == NULL || config_load_files(rc->config, err, err_len) != 0)
        goto fail;
    rc->workers = runconf_workers(rc->config);
    /* Certificates and keys are part of the configuration: a bad one fails the load. */
    rc->tls = tls_new(rc->config, err, err_len);
    if (rc->tls == NULL)
        goto fail;
    /* Token files too: a new configuration reads them afresh. */
    rc->tokens = tokens_new(rc->config, err, err_len);
    if (rc->tokens == NULL)
        goto fail;
    if (rc->config->web_root != NULL) {
        if (runconf_check_web_root(rc->config, err, err_len) != 0)
            goto fail;
        rc->web = static_root_new(rc->config->web_root, STATIC_MIME_TYPES_FILE, err, err_len);
        if (rc->web == NULL)
            goto fail;
    }
    return rc;
fail:
    runconf_unref(rc);
    return NULL;
}

/* A new runconf holding one reference, with nothing loaded yet. */
static struct runconf *runconf_new(const char *name, unsigned long generation, char *err,
                                   size_t err_len)
{
    struct runconf *rc = calloc(1, sizeof(*rc));

    if (rc == NULL) {
        snprintf(err, err_len, "%s: out of memory", name);
        return NULL;
    }
    atomic_init(&rc->refs, 1);
    rc->generation = generation;
    return rc;
}

struct runconf *runconf_load(const char *file, unsigned long generation, char *err, size_t err_len)
{
    struct runconf *rc = runconf_new(file, generation, err, err_len);

    if (rc == NULL)
        return NULL;
    rc->config = config_load(file, err, err_len);
    return runconf_build(rc, err, err_len);
}

struct runconf *runconf_load_text(const char *name, const char *text, size_t len,
                                  unsigned long generation, char *err, size_t err_len)
{
    struct runconf *rc = runconf_new(name, generation, err, err_len);

    if (rc == NULL)
        return NULL;
    rc->text = malloc(len + 1);
    if (rc->text == NULL) {
        snprintf(err, err_len, "%s: out of memory", name);
        runconf_unref(rc);
        return NULL;
    }
    memcpy(rc->text, text, len);
    rc->text[len] = '\0';
    rc->text_len = len;
    rc->config = config_load_text(name, text, len, err, err_len);
    return runconf_build(rc, err, err_len);
}

struct runconf *runconf_reload(const struct runconf *cur, char *err, size_t err_len)
{
    if (cur->text != NULL)
        return runconf_load_text(cur->config->file, cur->text, cur->text_len, cur->generation + 1,
                                 err, err_len);
    return runconf_load(cur->config->file, cur->generation + 1, err, err_len);
}

/* True if listener <i> of <c> speaks TLS. */
static bool runconf_listen_is_tls(const struct config *c, size_t i)
{
    return c->listen_tls != NULL && c->listen_tls[i] != NULL;
}

/* True if <a> and <b> name the same listening address. */
static bool runconf_same_addr(const struct addr *a, const struct addr *b)
{
    return a->kind == b->kind && a->tls == b->tls && a->port == b->port &&
           strcmp(a->host, b->host) == 0;
}

int runconf_check_replace(const struct runconf *cur, const struct runconf *next, char *err,
                          size_t err_len)
{
    const struct config *a = cur->config, *b = next->config;
    bool same = a->n_listen == b->n_listen;

    for (size_t i = 0; same && i < a->n_listen; i++)
        same = runconf_same_addr(&a->listen[i], &b->listen[i]) &&
               runconf_listen_is_tls(a, i) == runconf_listen_is_tls(b, i) &&
               a->listen_mode[i] == b->listen_mode[i] &&   /* chmod'ed at bind */
               a->listen_v6only[i] == b->listen_v6only[i]; /* set at bind */
    if (!same) {
        snprintf(err, err_len,
                 "%s: the listen addresses (or which of them use TLS, an IPv6 one's "
                 "v6only, or a Unix socket's mode) changed; they are bound at start: "
                 "restart wsbridge to change them",
                 b->file);
        return -1;
    }
    if (cur->workers != next->workers) {
        snprintf(err, err_len,
                 "%s: workers changed from %u to %u; the worker threads are made at start: "
                 "restart wsbridge to change them",
                 b->file, cur->workers, next->workers);
        return -1;
    }
    if ((a->admin_listen == NULL) != (b->admin_listen == NULL) ||
        (a->admin_listen != NULL && !runconf_same_addr(a->admin_listen, b->admin_listen))) {
        snprintf(err, err_len,
                 "%s: admin.listen changed; it is bound at start: restart wsbridge to change it",
                 b->file);
        return -1;
    }
    return 0;
}

struct runconf *runconf_ref(struct runconf *rc)
{
    atomic_fetch_add_explicit(&rc->refs, 1, memory_order_relaxed);
    return rc;
}

void runconf_unref(struct runconf *rc)
{
    /* The thread that drops the last reference must see every other thread's use of
     * <rc> done: release on each drop, acquire before the free. */
    if (rc == NULL || atomic_fetch_sub_explicit(&rc->refs, 1, memory_order_acq_rel) > 1)
        return;
    static_root_free(rc->web);
    tokens_free(rc->tokens);
    tls_free(rc->tls);
    config_free(rc->config);
    free(rc->text);
    free(rc);
}

int runconf_slot_init(struct runconf_slot *s, struct runconf *rc, char *err, size_t err_len)
{
    memset(s, 0, sizeof(*s));
    s->cur = rc;
    atomic_init(&s->generation, rc->generation);
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        snprintf(err, err_len, "pthread_mutex_init: failed");
        return -1;
    }
    s->lock_made = true;
    return 0;
}

void runconf_slot_publish(struct runconf_slot *s, struct runconf *next)
{
    struct runconf *old;

    pthread_mutex_lock(&s->lock);
    old = s->cur;
    s->cur = next;
    atomic_store_explicit(&s->generation, next->generation, memory_order_release);
    pthread_mutex_unlock(&s->lock);
    runconf_unref(old);
}

struct runconf *runconf_slot_ref(struct runconf_slot *s)
{
    struct runconf *rc;

    pthread_mutex_lock(&s->lock);
    rc = runconf_ref(s->cur);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

unsigned long runconf_slot_generation(struct runconf_slot *s)
{
    return atomic_load_explicit(&s->generation, memory_order_acquire);
}

void runconf_slot_free(struct runconf_slot *s)
{
    runconf_unref(s->cur);
    if (s->lock_made)
        pthread_mutex_destroy(&s->lock);
    memset(s, 0, sizeof(*s));
}
