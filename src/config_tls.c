/*
 * config_tls.c - a listener's "tls:" mapping of the route file, no I/O: the default
 * certificate and key, "certificates" chosen by SNI name (RFC 6066 §3), client
 * certificates, the lowest version, cipher lists and allow_expired. File names are only
 * recorded here; tls.c reads them when the running configuration is built.
 */
#include "config-internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quote.h"

#define CONFIG_TLS_CERTS_MAX 64 /* entries of one listener's tls.certificates */
#define CONFIG_TLS_NAMES_MAX 64 /* SNI names of one of those entries */

/* "1.2" or "1.3", stored as 12 or 13 at <k>'s offset. */
int config_tls_version(struct config_ctx *x, const struct config_key *k, const struct yamlnode *v,
                       void *obj)
{
    char q[QUOTE_BUF], label[64];
    unsigned *field = (unsigned *)((char *)obj + k->offset);

    config_key_label(k, label, sizeof(label));
    if (!config_want_scalar(x, k, v, "\"1.2\" or \"1.3\""))
        return -1;
    if (strcmp(v->text, "1.2") == 0 || strcmp(v->text, "1.3") == 0) {
        *field = v->text[2] == '2' ? 12 : 13;
        return 0;
    }
    return config_fail(x, v, "\"%s\" must be \"1.2\" or \"1.3\", not \"%s\"", label,
                       quote_text(v->text, SIZE_MAX, q));
}

/* An SNI name as a client sends it (RFC 6066 §3: a DNS host name, no trailing dot), or
 * "*." and such a name: letters, digits and hyphens in dot-separated labels. */
static bool config_tls_is_sni_name(const char *s)
{
    static const char wildcard[] = "*.";
    size_t label = 0;

    if (strncmp(s, wildcard, strlen(wildcard)) == 0)
        s += strlen(wildcard);
    if (*s == '\0' || strlen(s) > ADDR_HOST_MAX)
        return false;
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '.') {
            if (label == 0 || s[1] == '\0' || s[-1] == '-')
                return false;
            label = 0;
        } else if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z') || (ch == '-' && label > 0)) {
            if (++label > 63) /* RFC 1035 §2.3.4 */
                return false;
        } else {
            return false;
        }
    }
    return s[-1] != '-';
}

/* "names" of one certificate: SNI names, each checked, into <cert>. */
int config_tls_names(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                     struct config_tls_cert *cert)
{
    struct yamlnode *one, **items;
    char q[QUOTE_BUF];
    size_t n;

    if (config_value_list(x, k, v, &one, &items, &n, CONFIG_TLS_NAMES_MAX,
                          "a host name or a list of host names") < 0)
        return -1;
    cert->names = calloc(n, sizeof(*cert->names));
    if (cert->names == NULL)
        return config_oom(x);
    for (size_t i = 0; i < n; i++) {
        const char *t = items[i]->text;
        if (!config_tls_is_sni_name(t))
            return config_fail(x, items[i],
                               "SNI name \"%s\" is not a host name (\"*.\" may start it)",
                               quote_text(t, SIZE_MAX, q));
        if ((cert->names[i] = strdup(t)) == NULL)
            return config_oom(x);
        cert->n_names = i + 1;
    }
    return 0;
}

/* "certificates": a list of mappings, each a certificate, its key and its SNI names. */
int config_tls_certs(struct config_ctx *x, const struct config_key *k, struct yamlnode *v,
                     struct config_tls *tls)
{
    if (v->kind != YAMLNODE_SEQUENCE || v->n == 0)
        return config_fail(x, v,
                           "\"tls.%s\" must be a list of mappings, like "
                           "[ { cert: a.pem, key: a.key, names: [ a.example ] } ]",
                           k->name);
    if (v->n > CONFIG_TLS_CERTS_MAX)
        return config_fail(x, v, "\"tls.%s\" has more than %d entries", k->name,
                           CONFIG_TLS_CERTS_MAX);
    tls->certs = calloc(v->n, sizeof(*tls->certs));
    if (tls->certs == NULL)
        return config_oom(x);
    for (size_t i = 0; i < v->n; i++) {
        struct yamlnode *item = v->items[i];
        struct config_tls_cert *cert = &tls->certs[i];
        if (item->kind != YAMLNODE_MAPPING)
            return config_fail(x, item,
                               "each of \"tls.%s\" must be a mapping, like "
                               "{ cert: a.pem, key: a.key, names: [ a.example ] }",
                               k->name);
        tls->n_certs = i + 1;
        cert->line = item->line;
        cert->column = item->column;
        if (config_map_read(x, CONFIG_TLS_CERT, item, cert, NULL) < 0)
            return -1;
    }
    return 0;
}

/* True if name <n> of certificate <i> appeared earlier in <tls>'s list (names are
 * compared as DNS does, ignoring case). */
static bool config_tls_sni_listed_before(const struct config_tls *tls, size_t i, size_t n)
{
    const char *name = tls->certs[i].names[n];

    for (size_t j = 0; j <= i; j++)
        for (size_t m = 0; m < (j < i ? tls->certs[j].n_names : n); m++)
            if (strcasecmp(name, tls->certs[j].names[m]) == 0)
                return true;
    return false;
}

/* The "tls" mapping of a listener into a new struct config_tls at <l>->tls. */
int config_tls_read(struct config_ctx *x, struct yamlnode *v, struct config_listener *l)
{
    const struct yamlnode_pair *seen[CONFIG_KEYS_MAX] = {NULL};
    char q[QUOTE_BUF];
    struct config_tls *tls;

    if (v->kind != YAMLNODE_MAPPING)
        return config_fail(x, v,
                           "\"tls\" must be a mapping, like { cert: server.pem, key: "
                           "server.key }");
    if ((tls = l->tls = calloc(1, sizeof(*tls))) == NULL)
        return config_oom(x);
    tls->cert.line = v->line;
    tls->cert.column = v->column;
    if (config_map_read(x, CONFIG_TLS, v, tls, seen) < 0)
        return -1;
    if (tls->verify_client && tls->ca_file == NULL)
        return config_fail(x, config_seen(seen, CONFIG_TLS, "verify_client")->value,
                           "\"tls.verify_client\" needs \"tls.ca\", the CA file that signs "
                           "client certificates");
    /* One name, one certificate: a second entry for a name could never be chosen. */
    for (size_t i = 0; i < tls->n_certs; i++)
        for (size_t n = 0; n < tls->certs[i].n_names; n++)
            if (config_tls_sni_listed_before(tls, i, n))
                return config_fail_at(x, tls->certs[i].line, tls->certs[i].column,
                                      "SNI name \"%s\" is listed twice",
                                      quote_text(tls->certs[i].names[n], SIZE_MAX, q));
    return 0;
}

static void config_tls_cert_free(struct config_tls_cert *cert)
{
    for (size_t i = 0; i < cert->n_names; i++)
        free(cert->names[i]);
    free(cert->names);
    free(cert->cert_file);
    free(cert->key_file);
    free(cert->key_password_file);
}

/* Frees <tls> and what it owns; NULL is fine. */
void config_tls_free(struct config_tls *tls)
{
    if (tls == NULL)
        return;
    config_tls_cert_free(&tls->cert);
    for (size_t i = 0; i < tls->n_certs; i++)
        config_tls_cert_free(&tls->certs[i]);
    free(tls->certs);
    free(tls->ca_file);
    free(tls->ciphers);
    free(tls->ciphersuites);
    free(tls);
}
