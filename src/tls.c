/*
 * tls.c - OpenSSL contexts for TLS listeners (default certificate, SNI certificates,
 * client certificates, ALPN "http/1.1") and for tls:// targets (system or route CA,
 * host name check, SNI), built again with the whole configuration on SIGHUP. Every OpenSSL call made here leaves the
 * thread's error queue empty: libevent's SSL_get_error() calls read that queue, so a
 * stale entry would fail some other connection.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "log.h"
#include "logesc.h"
#include "tlsticket.h"

#define TLS_PASSWORD_MAX 1024 /* bytes of a key password file that are read */
#define TLS_REASON_MAX 384    /* "reason: reason: ..." of one failure */

/* TLS 1.2 suites when "ciphers" is not set: Mozilla's "intermediate" list (v5.7), so
 * forward secrecy (ECDHE, DHE) and AEAD (AES-GCM, ChaCha20-Poly1305) only. OpenSSL's own
 * default also offers RSA key exchange and CBC with SHA-1 (AES128-SHA). TLS 1.3 suites
 * are all AEAD and forward secret: OpenSSL's default stays. */
static const char tls_default_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

/* The one application protocol a listener speaks (RFC 7301), in wire format. */
static const unsigned char tls_alpn_http11[] = "\x08http/1.1";


struct tls_password {
    char text[TLS_PASSWORD_MAX];
    size_t len;
};

/* Appends <s> to the text in <out>, after <sep> unless <out> is empty or already holds
 * <s> (OpenSSL often repeats a reason at each layer). */
static void tls_append(char *out, size_t cap, const char *sep, const char *s)
{
    size_t used = strlen(out);

    if (strstr(out, s) != NULL || used + 1 >= cap)
        return;
    snprintf(out + used, cap - used, "%s%s", used > 0 ? sep : "", s);
}

/* Writes the reasons in OpenSSL's error queue, oldest (the cause) first, into <out> and
 * empties the queue. */
static const char *tls_err_drain(char *out, size_t cap)
{
    const char *data;
    unsigned long e;
    int flags;

    out[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *r = ERR_reason_error_string(e);
        size_t len = r != NULL ? strlen(r) : 0;
        char num[32], detail[128];
        if (r == NULL) {
            snprintf(num, sizeof(num), "error %#lx", e);
            r = num;
        }
        /* "PEM lib", "system lib": an outer layer repeating that the inner one failed */
        if (out[0] != '\0' && len > 4 && strcmp(r + len - 4, " lib") == 0)
            continue;
        tls_append(out, cap, ": ", r);
        /* e.g. "(Expecting: CERTIFICATE)" after "no start line" */
        if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0') {
            snprintf(detail, sizeof(detail), "(%s)", data);
            tls_append(out, cap, " ", detail);
        }
    }
    if (out[0] == '\0')
        snprintf(out, cap, "unknown OpenSSL error");
    return out;
}

/* Writes "CONFIG:LINE:COL: LABEL \"VALUE\": WHY" into <err>; returns -1. */
static int tls_fail(char *err, size_t err_len, const struct config *c, unsigned line,
                    unsigned column, const char *label, const char *value, const char *why)
{
    snprintf(err, err_len, "%s:%u:%u: %s \"%s\": %s", c->file, line, column, label, value, why);
    return -1;
}

/* As tls_fail, the reason being OpenSSL's error queue (which is emptied). */
static int tls_fail_ssl(char *err, size_t err_len, const struct config *c, unsigned line,
                        unsigned column, const char *label, const char *value)
{
    char why[TLS_REASON_MAX];

    return tls_fail(err, err_len, c, line, column, label, value, tls_err_drain(why, sizeof(why)));
}

/* Checks that <path> is a readable regular file, so that the message says "No such file
 * or directory" rather than OpenSSL's layers of "system lib". 0, or -1 with <why>. */
static int tls_file_check(const char *path, char *why, size_t why_len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, why_len, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "not a regular file");
        return -1;
    }
    return 0;
}

/* True if PEM file <path> holds an encrypted key ("BEGIN ENCRYPTED PRIVATE KEY", or the
 * older "Proc-Type: 4,ENCRYPTED" header), to say what is missing. */
static bool tls_file_is_encrypted_pem(const char *path)
{
    char buf[4096];
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got <= 0)
        return false;
    buf[got] = '\0';
    return strstr(buf, "ENCRYPTED") != NULL;
}

/* Reads the first line of <path> (without its line end) into <pw>. */
static int tls_password_read(const char *path, struct tls_password *pw, char *why, size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;

    if (fd < 0) {
        snprintf(why, why_len, "%s", strerror(errno));
        return -1;
    }
    do
        got = read(fd, pw->text, sizeof(pw->text) - 1);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        snprintf(why, why_len, "%s", strerror(errno));
    close(fd);
    if (got < 0)
        return -1;
    pw->text[got] = '\0';
    pw->len = strcspn(pw->text, "\r\n");
    pw->text[pw->len] = '\0';
    return 0;
}

/* OpenSSL asks for a key's password: the file's, or none at all. Never the terminal. */
static int tls_on_password(char *buf, int size, int rwflag, void *userdata)
{
    const struct tls_password *pw = userdata;

    (void)rwflag;
    if (pw == NULL || pw->len >= (size_t)size)
        return 0;
    memcpy(buf, pw->text, pw->len);
    return (int)pw->len;
}

/* Exact names win over wildcards, as in most servers; a wildcard stands for exactly one
 * label ("*.example.com" matches "a.example.com", not "example.com" nor "a.b.example.com"). */
static bool tls_name_matches(const char *pattern, const char *name, bool wildcards)
{
    const char *dot;

    if (strncmp(pattern, "*.", 2) != 0)
        return !wildcards && strcasecmp(pattern, name) == 0;
    if (!wildcards || (dot = strchr(name, '.')) == NULL || dot == name)
        return false;
    return strcasecmp(pattern + 1, dot) == 0;
}

/* Picks the certificate for the SNI name; no name, or none matching, keeps the default. */
static int tls_on_servername(SSL *ssl, int *alert, void *arg)
{
    const struct tls_listener *l = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    if (name == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    for (int wildcards = 0; wildcards <= 1; wildcards++) {
        for (size_t i = 0; i < l->n_sni; i++) {
            for (size_t j = 0; j < l->sni[i].n_names; j++) {
                if (!tls_name_matches(l->sni[i].names[j], name, wildcards))
                    continue;
                if (SSL_set_SSL_CTX(ssl, l->sni[i].ctx) == NULL) {
                    ERR_clear_error();
                    *alert = SSL_AD_INTERNAL_ERROR;
                    return SSL_TLSEXT_ERR_ALERT_FATAL;
                }
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* ALPN (RFC 7301): "http/1.1" if the client offers it; otherwise no ALPN at all rather
 * than a failed handshake, as a client that offers only h2 may still speak HTTP/1.1. */
static int tls_on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    unsigned char *chosen = NULL;

    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&chosen, outlen, tls_alpn_http11, sizeof(tls_alpn_http11) - 1, in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* <t> as "2020-01-02 00:00:00Z" into <out>. */
static void tls_time_format(const ASN1_TIME *t, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = 0;

    if (b != NULL && ASN1_TIME_print_ex(b, t, ASN1_DTFLGS_ISO8601) == 1)
        n = BIO_read(b, out, (int)cap - 1);
    out[n > 0 ? n : 0] = '\0';
    if (n <= 0)
        snprintf(out, cap, "an unreadable date");
    BIO_free(b);
    ERR_clear_error();
}

/* Returns 0 if the certificate of <ctx> is within its validity dates (RFC 5280
 * §4.1.2.5), else -1 with "certificate expired on DATE" or "certificate not valid before
 * DATE" in <why>. Checked at every load, a reload included, so that an expired file never
 * replaces a good one: every client that checks dates would fail its handshake. */
static int tls_check_dates(SSL_CTX *ctx, char *why, size_t why_len)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    char when[64];

    if (x == NULL)
        return 0;
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        tls_time_format(X509_get0_notBefore(x), when, sizeof(when));
        snprintf(why, why_len, "certificate not valid before %s", when);
        return -1;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
        tls_time_format(X509_get0_notAfter(x), when, sizeof(when));
        snprintf(why, why_len, "certificate expired on %s", when);
        return -1;
    }
    return 0;
}

/* Loads <cert>'s certificate chain and key into <ctx>; <label> is "tls." or
 * "tls.certificates." for messages. A certificate outside its dates is refused unless
 * <allow_expired>. */
static int tls_load_cert(SSL_CTX *ctx, const struct config *c, const struct config_tls_cert *cert,
                         const char *label, bool allow_expired, char *err, size_t err_len)
{
    struct tls_password pw = {.len = 0};
    char what[64], why[TLS_REASON_MAX];
    int ok;

    snprintf(what, sizeof(what), "%scert", label);
    if (tls_file_check(cert->cert_file, why, sizeof(why)) != 0)
        return tls_fail(err, err_len, c, cert->line, cert->column, what, cert->cert_file, why);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert->cert_file) != 1)
        return tls_fail_ssl(err, err_len, c, cert->line, cert->column, what, cert->cert_file);
    if (!allow_expired && tls_check_dates(ctx, why, sizeof(why)) != 0)
        return tls_fail(err, err_len, c, cert->line, cert->column, what, cert->cert_file, why);
    if (cert->key_password_file != NULL) {
        snprintf(what, sizeof(what), "%skey_password_file", label);
        if (tls_password_read(cert->key_password_file, &pw, why, sizeof(why)) != 0)
            return tls_fail(err, err_len, c, cert->line, cert->column, what,
                            cert->key_password_file, why);
    }
    snprintf(what, sizeof(what), "%skey", label);
    if (tls_file_check(cert->key_file, why, sizeof(why)) != 0)
        return tls_fail(err, err_len, c, cert->line, cert->column, what, cert->key_file, why);
    SSL_CTX_set_default_passwd_cb(ctx, tls_on_password);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &pw);
    ok = SSL_CTX_use_PrivateKey_file(ctx, cert->key_file, SSL_FILETYPE_PEM) == 1 &&
         SSL_CTX_check_private_key(ctx) == 1;
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL); /* &pw is about to go */
    OPENSSL_cleanse(&pw, sizeof(pw));
    if (!ok) {
        tls_err_drain(why, sizeof(why));
        if (strstr(why, "values mismatch") != NULL)
            tls_append(why, sizeof(why), " ", "(the key is not the certificate's)");
        else if (cert->key_password_file == NULL && tls_file_is_encrypted_pem(cert->key_file))
            tls_append(why, sizeof(why), " ", "(an encrypted key needs key_password_file)");
        return tls_fail(err, err_len, c, cert->line, cert->column, what, cert->key_file, why);
    }
    return 0;
}

/* A certificate file without its chain is completed by OpenSSL at every handshake, from
 * <ctx>'s store (the tls.ca file when set), at the cost of a certificate verification each
 * time (0.9 M instructions, a third of a TLS 1.3 handshake, with a CA file). The store does
 * not change once loaded: build the same chain once, errors ignored as OpenSSL does then,
 * and turn the per-handshake building off. */
static void tls_chain_once(SSL_CTX *ctx)
{
    struct stack_st_X509 *chain = NULL; /* STACK_OF(X509) */

    if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && sk_X509_num(chain) > 0)
        return; /* the file had its chain: OpenSSL sends it as it is */
    if (SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
                                          SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) > 0)
        SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    ERR_clear_error();
}

/* The session id context of listener <l> (RFC 5246 §7.4.1.2 leaves its meaning to the
 * server): a session, from the cache or a ticket, resumes only where it was made, on this
 * address with the same client certificate rules. The ticket keys are the process's, so
 * without it a session from a listener that asks no client certificate would resume on
 * one that requires it. */
static void tls_listener_sid_ctx(const struct tls_listener *l, unsigned char *out)
{
    const struct config_tls *cfg = l->cfg;
    char text[sizeof(l->name) + 4200];
    int n = snprintf(text, sizeof(text), "%s\n%s\n%d", l->name,
                     cfg->ca_file != NULL ? cfg->ca_file : "", cfg->verify_client);

    if (n < 0 || (size_t)n >= sizeof(text))
        n = (int)sizeof(text) - 1;
    if (EVP_Digest(text, (size_t)n, out, NULL, EVP_sha256(), NULL) != 1)
        memset(out, 0, SHA256_DIGEST_LENGTH);
}

/* A server context with <cfg>'s settings and <cert>, session id context <sid_ctx>
 * (SHA256_DIGEST_LENGTH bytes); NULL with the reason in <err>. */
static SSL_CTX *tls_server_ctx_new(const struct config *c, const struct config_tls *cfg,
                                   const struct config_tls_cert *cert, const char *label,
                                   const unsigned char *sid_ctx, char *err, size_t err_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    struct stack_st_X509_NAME *cas; /* STACK_OF(X509_NAME), which clang-format mangles */
    const char *ciphers = cfg->ciphers != NULL ? cfg->ciphers : tls_default_ciphers;

    if (ctx == NULL) {
        tls_fail_ssl(err, err_len, c, cert->line, cert->column, "tls", "context");
        return NULL;
    }
    /* TLS 1.2 at least (RFC 8996 retired 1.0 and 1.1); 1.3 is chosen whenever the client
     * has it, since OpenSSL picks the highest version both sides enable. */
    SSL_CTX_set_min_proto_version(ctx, cfg->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    /* Renegotiation is a DoS lever and useless here; the server's cipher order is ours. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* A client that closes its socket without close_notify (most do) ends the connection
     * as one that sent it, rather than as a fatal error that would also drop its session
     * from the cache (RFC 5246 §7.2.1 no longer asks that); the bufferevent took such an
     * end as EOF already. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* An idle WebSocket connection would otherwise keep about 34 KiB of record buffers. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_dh_auto(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, SHA256_DIGEST_LENGTH);
    if (cfg->session_tickets) {
        /* One ticket per handshake rather than OpenSSL's two (RFC 8446 §4.6.1 allows
         * any number): a client resumes with the last one it got. */
        SSL_CTX_set_num_tickets(ctx, 1);
        tlsticket_use(ctx, cfg->ticket_key_rotation_ms / 1000);
    } else {
        /* TLS 1.2 session ids, and TLS 1.3 tickets that only name a cache entry. */
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    SSL_CTX_set_alpn_select_cb(ctx, tls_on_alpn, NULL);
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
        tls_fail_ssl(err, err_len, c, cert->line, cert->column, "tls.ciphers", ciphers);
        goto fail;
    }
    if (cfg->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, cfg->ciphersuites) != 1) {
        tls_fail_ssl(err, err_len, c, cert->line, cert->column, "tls.ciphersuites",
                     cfg->ciphersuites);
        goto fail;
    }
    if (tls_load_cert(ctx, c, cert, label, cfg->allow_expired, err, err_len) != 0)
        goto fail;
    if (cfg->ca_file != NULL) {
        char why[TLS_REASON_MAX];
        if (tls_file_check(cfg->ca_file, why, sizeof(why)) != 0) {
            tls_fail(err, err_len, c, cert->line, cert->column, "tls.ca", cfg->ca_file, why);
            goto fail;
        }
        cas = SSL_load_client_CA_file(cfg->ca_file);
        if (cas == NULL || SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
            sk_X509_NAME_pop_free(cas, X509_NAME_free);
            if (ERR_peek_error() == 0)
                tls_fail(err, err_len, c, cert->line, cert->column, "tls.ca", cfg->ca_file,
                         "no certificate in the file");
            else
                tls_fail_ssl(err, err_len, c, cert->line, cert->column, "tls.ca", cfg->ca_file);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, cas);
        /* With a CA, a client certificate is asked for and checked when sent; with
         * verify_client it is also required. */
        SSL_CTX_set_verify(
            ctx, SSL_VERIFY_PEER | (cfg->verify_client ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
    }
    tls_chain_once(ctx);
    ERR_clear_error();
    return ctx;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

/* "CN=x, valid until DATE, sha256 0123456789abcdef" of <ctx>'s certificate, into <out>;
 * a warning is logged for one outside its dates (served under allow_expired). */
static void tls_cert_info(SSL_CTX *ctx, const char *where, char *out, size_t cap)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    char subject[256] = "?", until[64] = "?", fp[17] = "", why[128];
    BIO *b = BIO_new(BIO_s_mem());
    int n;

    if (x != NULL && b != NULL) {
        X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
        n = BIO_read(b, subject, sizeof(subject) - 1);
        subject[n > 0 ? n : 0] = '\0';
        ASN1_TIME_print(b, X509_get0_notAfter(x));
        n = BIO_read(b, until, sizeof(until) - 1);
        until[n > 0 ? n : 0] = '\0';
        if (X509_digest(x, EVP_sha256(), md, &md_len) == 1)
            for (unsigned i = 0; i < 8 && i < md_len; i++)
                snprintf(fp + 2 * i, 3, "%02x", md[i]);
        if (tls_check_dates(ctx, why, sizeof(why)) != 0)
            log_msg(LOG_LEVEL_WARN, "TLS %s: certificate \"%s\": %s (allow_expired)", where,
                    subject, why);
    }
    BIO_free(b);
    ERR_clear_error();
    snprintf(out, cap, "certificate \"%s\", valid until %s, sha256 %s...", subject, until, fp);
}

static void tls_sni_free(struct tls_sni *sni, size_t n)
{
    for (size_t i = 0; sni != NULL && i < n; i++)
        SSL_CTX_free(sni[i].ctx);
    free(sni);
}

/* Builds the default and SNI contexts of listener <l> into *<ctx> and *<sni>, leaving
 * <l> unchanged; all or nothing. */
static int tls_listener_load(const struct config *c, struct tls_listener *l, SSL_CTX **ctx,
                             struct tls_sni **sni, char *err, size_t err_len)
{
    const struct config_tls *cfg = l->cfg;
    unsigned char sid_ctx[SHA256_DIGEST_LENGTH];

    *sni = NULL;
    tls_listener_sid_ctx(l, sid_ctx);
    *ctx = tls_server_ctx_new(c, cfg, &cfg->cert, "tls.", sid_ctx, err, err_len);
    if (*ctx == NULL)
        return -1;
    SSL_CTX_set_tlsext_servername_callback(*ctx, tls_on_servername);
    SSL_CTX_set_tlsext_servername_arg(*ctx, l);
    if (cfg->n_certs == 0)
        return 0;
    *sni = calloc(cfg->n_certs, sizeof(**sni));
    if (*sni == NULL) {
        snprintf(err, err_len, "%s: TLS %s: out of memory", c->file, l->name);
        goto fail;
    }
    for (size_t i = 0; i < cfg->n_certs; i++) {
        (*sni)[i].names = cfg->certs[i].names;
        (*sni)[i].n_names = cfg->certs[i].n_names;
        (*sni)[i].ctx =
            tls_server_ctx_new(c, cfg, &cfg->certs[i], "tls.certificates.", sid_ctx, err, err_len);
        if ((*sni)[i].ctx == NULL)
            goto fail;
    }
    return 0;
fail:
    tls_sni_free(*sni, cfg->n_certs);
    SSL_CTX_free(*ctx);
    *ctx = NULL;
    *sni = NULL;
    return -1;
}

/* A client context for route <r>'s tls:// target. */
static SSL_CTX *tls_client_ctx_new(const struct config *c, const struct route *r, char *err,
                                   size_t err_len)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char label[300], why[TLS_REASON_MAX];

    snprintf(label, sizeof(label), "route %s: ca", r->path);
    if (ctx == NULL) {
        tls_fail_ssl(err, err_len, c, r->line, r->column, "route", r->path);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (!r->tls_verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else if (r->tls_ca_file != NULL) {
        if (tls_file_check(r->tls_ca_file, why, sizeof(why)) != 0) {
            tls_fail(err, err_len, c, r->line, r->column, label, r->tls_ca_file, why);
            goto fail;
        }
        if (SSL_CTX_load_verify_locations(ctx, r->tls_ca_file, NULL) != 1) {
            tls_fail_ssl(err, err_len, c, r->line, r->column, label, r->tls_ca_file);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            tls_fail_ssl(err, err_len, c, r->line, r->column, "route", r->path);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    ERR_clear_error();
    return ctx;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls *tls_new(const struct config *c, char *err, size_t err_len)
{
    struct tls *t = calloc(1, sizeof(*t));

    if (t == NULL)
        goto oom;
    t->config = c;
    if (c->listen_tls != NULL && tlsticket_init() != 0) {
        char why[TLS_REASON_MAX];
        snprintf(err, err_len, "%s: TLS session ticket keys: %s", c->file,
                 tls_err_drain(why, sizeof(why)));
        goto fail;
    }
    t->listeners = calloc(c->n_listen > 0 ? c->n_listen : 1, sizeof(*t->listeners));
    t->targets = calloc(c->n_routes > 0 ? c->n_routes : 1, sizeof(*t->targets));
    if (t->listeners == NULL || t->targets == NULL)
        goto oom;
    for (size_t i = 0; i < c->n_listen; i++) {
        struct tls_listener *l = &t->listeners[t->n_listeners++];
        addr_format(&c->listen[i], l->name, sizeof(l->name));
        l->cfg = c->listen_tls != NULL ? c->listen_tls[i] : NULL;
        if (l->cfg != NULL && tls_listener_load(c, l, &l->ctx, &l->sni, err, err_len) != 0)
            goto fail;
        l->n_sni = l->ctx != NULL ? l->cfg->n_certs : 0;
    }
    for (size_t i = 0; i < c->n_routes; i++) {
        struct tls_target *tt = &t->targets[t->n_targets++];
        if (!c->routes[i].target.tls)
            continue;
        tt->route = &c->routes[i];
        tt->ctx = tls_client_ctx_new(c, tt->route, err, err_len);
        if (tt->ctx == NULL)
            goto fail;
    }
    return t;
oom:
    snprintf(err, err_len, "%s: TLS setup: out of memory", c->file);
fail:
    ERR_clear_error();
    tls_free(t);
    return NULL;
}

void tls_free(struct tls *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; t->listeners != NULL && i < t->n_listeners; i++) {
        SSL_CTX_free(t->listeners[i].ctx);
        tls_sni_free(t->listeners[i].sni, t->listeners[i].n_sni);
    }
    for (size_t i = 0; t->targets != NULL && i < t->n_targets; i++)
        SSL_CTX_free(t->targets[i].ctx);
    free(t->listeners);
    free(t->targets);
    free(t);
}

void tls_listener_info(struct tls_listener *l, char *out, size_t cap)
{
    tls_cert_info(l->ctx, l->name, out, cap);
}

SSL *tls_accept_ssl_new(struct tls_listener *l)
{
    SSL *ssl = SSL_new(l->ctx);

    ERR_clear_error();
    return ssl;
}

SSL *tls_connect_ssl_new(const struct tls *t, size_t route, char *err, size_t err_len)
{
    const struct tls_target *tt = t != NULL && route < t->n_targets ? &t->targets[route] : NULL;
    const struct addr *target;
    unsigned char ip[16];
    SSL *ssl;

    if (tt == NULL || tt->ctx == NULL) {
        snprintf(err, err_len, "no TLS context for this target");
        return NULL;
    }
    target = &tt->route->target;
    ssl = SSL_new(tt->ctx);
    if (ssl == NULL)
        goto fail;
    /* RFC 6066 §3: SNI carries host names only, never an address literal. */
    if (inet_pton(AF_INET, target->host, ip) != 1 && inet_pton(AF_INET6, target->host, ip) != 1 &&
        SSL_set_tlsext_host_name(ssl, target->host) != 1)
        goto fail;
    if (tt->route->tls_verify) {
        /* OpenSSL 3 takes an address literal here as an IP check (RFC 6125 §6.2). */
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(ssl, target->host) != 1)
            goto fail;
    }
    return ssl;
fail:
    tls_err_drain(err, err_len);
    SSL_free(ssl);
    return NULL;
}

void tls_bev_error(struct bufferevent *bev, char *out, size_t cap)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    unsigned long e;
    long verify;

    out[0] = '\0';
    while ((e = bufferevent_get_openssl_error(bev)) != 0) {
        const char *r = ERR_reason_error_string(e);
        /* libevent also stores SSL_get_error() codes here: library 0, no text. */
        if (ERR_GET_LIB(e) != 0 && r != NULL)
            tls_append(out, cap, ": ", r);
    }
    ERR_clear_error();
    verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verify != X509_V_OK)
        tls_append(out, cap, ": ", X509_verify_cert_error_string(verify));
    if (out[0] == '\0')
        snprintf(out, cap, "connection closed during the TLS handshake");
}

void tls_describe(const SSL *ssl, char *out, size_t cap)
{
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    int n;

    char name[2 * TLSEXT_MAXLEN_host_name + 8];

    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    n = snprintf(out, cap, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
    if (sni != NULL && n >= 0 && (size_t)n < cap) {
        /* Any bytes but NUL may come in a server name: a quoted, escaped log value. */
        name[logesc_text_value(name, sizeof(name) - 1, sni, strlen(sni))] = '\0';
        n += snprintf(out + n, cap - (size_t)n, " sni=%s", name);
    }
    if (alpn_len > 0 && n >= 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, " alpn=%.*s", (int)alpn_len, (const char *)alpn);
}

bool tls_peer_certificate(const SSL *ssl, char *out, size_t cap)
{
    X509 *x = SSL_get0_peer_certificate(ssl);
    char subject[256] = "", issuer[256] = "";
    BIO *b;
    size_t len;
    int n;

    if (x == NULL)
        return false;
    if ((b = BIO_new(BIO_s_mem())) != NULL) {
        X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
        n = BIO_read(b, subject, sizeof(subject) - 1);
        subject[n > 0 ? n : 0] = '\0';
        X509_NAME_print_ex(b, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253);
        n = BIO_read(b, issuer, sizeof(issuer) - 1);
        issuer[n > 0 ? n : 0] = '\0';
        BIO_free(b);
    }
    ERR_clear_error();
    /* A peer's names, and a cut can end inside an RFC 2253 escape: log values. */
    if (cap < 32) {
        if (cap > 0)
            out[0] = '\0';
        return true;
    }
    memcpy(out, "subject=", 8);
    len = 8 + logesc_text_value(out + 8, cap / 2 - 8, subject, strlen(subject));
    memcpy(out + len, " issuer=", 8);
    len += 8;
    len += logesc_text_value(out + len, cap - len - 1, issuer, strlen(issuer));
    out[len] = '\0';
    return true;
}

void tls_close_notify(SSL *ssl)
{
    if (!SSL_is_init_finished(ssl))
        return;
    /* One call: it writes the alert straight to the socket, behind everything the
     * bufferevent already wrote; if the socket is full it is simply not sent. */
    (void)SSL_shutdown(ssl);
    ERR_clear_error();
}
