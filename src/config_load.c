/*
 * config_load.c - the files a configuration is made of, read from disk: the route file
 * itself (then parsed by config.c, which does no I/O), and the files its keys name that
 * are read when the running configuration is built (each route's auth_file, parsed by
 * basicauth.c). Certificates and keys are tls.c's, the web root static.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basicauth.h"
#include "config-internal.h"

#define CONFIG_LOAD_FILE_MAX_BYTES (1u << 20)      /* a route file larger is a mistake */
#define CONFIG_LOAD_AUTH_FILE_MAX_BYTES (8u << 20) /* BASICAUTH_USERS_MAX lines of long hashes */
#define CONFIG_LOAD_FIRST_BYTES 16384              /* first buffer; doubled as needed */

/* Reads <file> whole, at most <max> bytes, into a new buffer at *<text> (*<len> bytes).
 * Returns 0, or -1 with "FILE: why" in <why> and *<text> NULL. */
static int config_load_read(const char *file, size_t max, char **text, size_t *len, char *why,
                            size_t why_len)
{
    size_t cap = CONFIG_LOAD_FIRST_BYTES;
    int fd = open(file, O_RDONLY | O_CLOEXEC);

    *text = NULL;
    *len = 0;
    if (fd < 0) {
        snprintf(why, why_len, "%s: %s", file, strerror(errno));
        return -1;
    }
    for (;;) {
        ssize_t got;
        if (*text == NULL || *len == cap) {
            char *grown;
            if (*text != NULL)
                cap *= 2;
            if ((grown = realloc(*text, cap)) == NULL) {
                snprintf(why, why_len, "%s: out of memory", file);
                goto fail;
            }
            *text = grown;
        }
        got = read(fd, *text + *len, cap - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(why, why_len, "%s: %s", file, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        *len += (size_t)got;
        if (*len > max) {
            snprintf(why, why_len, "%s: larger than %zu bytes", file, max);
            goto fail;
        }
    }
    close(fd);
    return 0;

fail:
    close(fd);
    free(*text);
    *text = NULL;
    return -1;
}

/* Reads and checks <file>: see config.h. Reads at most CONFIG_LOAD_FILE_MAX_BYTES. */
struct config *config_load(const char *file, char *err, size_t err_len)
{
    char *text;
    size_t len;
    struct config *c;

    if (file == NULL) {
        snprintf(err, err_len, "-: no configuration file");
        return NULL;
    }
    if (config_load_read(file, CONFIG_LOAD_FILE_MAX_BYTES, &text, &len, err, err_len) < 0)
        return NULL;
    c = config_parse_env(file, text, len, getenv(CONFIG_CREDENTIALS_VAR), err, err_len);
    free(text);
    return c;
}

/* Checks YAML that came from elsewhere: see config.h. */
struct config *config_load_text(const char *name, const char *text, size_t len, char *err,
                                size_t err_len)
{
    return config_parse_env(name, text, len, getenv(CONFIG_CREDENTIALS_VAR), err, err_len);
}

/* Reads every route's auth_file into its users: see config.h. */
int config_load_files(struct config *c, char *err, size_t err_len)
{
    char why[512];

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    for (size_t i = 0; i < c->n_routes; i++) {
        struct route *r = &c->routes[i];
        char *text;
        size_t len;

        if (r->auth_file == NULL)
            continue;
        if (config_load_read(r->auth_file, CONFIG_LOAD_AUTH_FILE_MAX_BYTES, &text, &len, why,
                             sizeof(why)) < 0) {
            snprintf(err, err_len, "%s:%u:%u: %s", c->file, r->line, r->column, why);
            return -1;
        }
        basicauth_users_free(r->users);
        /* Messages name the file as the config wrote it, not as joined to its folder. */
        r->users = basicauth_users_parse(text, len, r->auth_file_name, why, sizeof(why));
        free(text);
        if (r->users == NULL) {
            snprintf(err, err_len, "%s:%u:%u: %s", c->file, r->line, r->column, why);
            return -1;
        }
    }
    return 0;
}
