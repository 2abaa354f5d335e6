/*
 * jwt.c - JWS compact tokens (RFC 7515 §7.1) with JWT claims (RFC 7519) for token
 * routes: strict base64url, strict JSON (jsonmini.c), ES256/RS256/HS256 (RFC 7518 §3)
 * through OpenSSL 3, times against the caller's clock, the target from the claims (host
 * names checked by addr.c). Follows RFC 8725's advice: the algorithm comes from the
 * policy, never from the token alone; "none" never passes; keys are never taken from the
 * token. No I/O, no clock, no globals.
 */
#include "jwt.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jsonmini.h"

#define JWT_PART_MAX (JWT_TOKEN_MAX / 4 * 3) /* decoded bytes of any part */
#define JWT_SIG_MAX 1024                     /* bytes of a signature: RSA up to 8192 bits */
#define JWT_ES256_SIG 64                     /* R || S, 32 bytes each (RFC 7518 §3.4) */
#define JWT_HS256_SIG 32

static enum jwt_result jwt_refuse(const char **why, enum jwt_result r, const char *text)
{
    *why = text;
    return r;
}

static int jwt_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes base64url without padding (RFC 7515 §2) from <s>[0..n) into <out> (<cap>
 * bytes). Canonical only: a length of 1 mod 4 or non-zero unused bits are refused, so
 * that one token has one spelling and a changed character always changes the bytes.
 * Returns the length, or -1. */
static long jwt_b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    size_t bits = 0, o = 0;

    if (n % 4 == 1 || n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1) > cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = jwt_b64_value(s[i]);

        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (long)o;
}

/* ES256: R || S (two 32-byte big-endian numbers) to the DER ECDSA-Sig-Value OpenSSL
 * verifies. Returns the DER length written into <der> (<cap> bytes), or -1. */
static int jwt_es256_der(const uint8_t *rs, uint8_t *der, int cap)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    unsigned char *p = der;
    int n = -1;

    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return -1;
    }
    if (i2d_ECDSA_SIG(sig, NULL) <= cap)
        n = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig); /* frees r and s */
    return n;
}

static bool jwt_is_p256(EVP_PKEY *pkey)
{
    char group[64];
    size_t n;

    return EVP_PKEY_is_a(pkey, "EC") &&
           EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          &n) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

static bool jwt_is_rsa(EVP_PKEY *pkey)
{
    return EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= JWT_RSA_BITS_MIN;
}

/* Verifies <sig> over <input> with <pkey> and SHA-256. 1 good, 0 bad, -1 OpenSSL failed. */
static int jwt_verify_pkey(EVP_PKEY *pkey, const uint8_t *input, size_t input_len,
                           const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc;

    if (ctx == NULL)
        return -1;
    if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    rc = EVP_DigestVerify(ctx, sig, sig_len, input, input_len);
    EVP_MD_CTX_free(ctx);
    return rc == 1 ? 1 : 0;
}

/* Checks the signature <sig> of the signing input <input> for algorithm <alg>. */
static enum jwt_result jwt_check_signature(unsigned alg, const struct jwt_key *key,
                                           const char *input, size_t input_len, const uint8_t *sig,
                                           size_t sig_len, const char **why)
{
    uint8_t mac[EVP_MAX_MD_SIZE], der[80];
    unsigned mac_len = 0;
    int rc, der_len;

    switch (alg) {
    case JWT_ALG_HS256:
        if (HMAC(EVP_sha256(), key->secret, (int)key->secret_len, (const uint8_t *)input, input_len,
                 mac, &mac_len) == NULL)
            return jwt_refuse(why, JWT_INTERNAL, "HMAC failed");
        if (sig_len != JWT_HS256_SIG || mac_len != JWT_HS256_SIG ||
            CRYPTO_memcmp(mac, sig, JWT_HS256_SIG) != 0)
            return jwt_refuse(why, JWT_BAD_SIGNATURE, "HS256 signature does not match");
        return JWT_OK;
    case JWT_ALG_ES256:
        if (sig_len != JWT_ES256_SIG)
            return jwt_refuse(why, JWT_BAD_SIGNATURE, "ES256 signature is not 64 bytes (R||S)");
        der_len = jwt_es256_der(sig, der, (int)sizeof(der));
        if (der_len < 0)
            return jwt_refuse(why, JWT_INTERNAL, "ECDSA signature conversion failed");
        rc = jwt_verify_pkey(key->pkey, (const uint8_t *)input, input_len, der, (size_t)der_len);
        break;
    default: /* JWT_ALG_RS256 */
        if ((int)sig_len != EVP_PKEY_get_size(key->pkey))
            return jwt_refuse(why, JWT_BAD_SIGNATURE, "RS256 signature is not the key's size");
        rc = jwt_verify_pkey(key->pkey, (const uint8_t *)input, input_len, sig, sig_len);
        break;
    }
    if (rc < 0)
        return jwt_refuse(why, JWT_INTERNAL, "signature check failed in OpenSSL");
    if (rc == 0)
        return jwt_refuse(why, JWT_BAD_SIGNATURE, "signature does not verify");
    return JWT_OK;
}

/* The header's algorithm, allowed by <pol> and with a key of its kind in <key>. */
static enum jwt_result jwt_check_header(const struct jsonmini *j, const struct jwt_key *key,
                                        const struct jwt_policy *pol, unsigned *alg,
                                        const char **why)
{
    char name[16];
    size_t i, n;

    if (j->toks[0].type != JSONMINI_OBJECT)
        return jwt_refuse(why, JWT_BAD_JSON, "header is not a JSON object");
    i = jsonmini_get(j, 0, "alg");
    if (i == JSONMINI_NONE || j->toks[i].type != JSONMINI_STRING)
        return jwt_refuse(why, JWT_BAD_HEADER, "header has no \"alg\" string");
    if (jsonmini_string(j, i, name, sizeof(name), &n) != 0 || strlen(name) != n)
        return jwt_refuse(why, JWT_ALG_NOT_ALLOWED, "unknown algorithm");
    if (strcasecmp(name, "none") == 0) /* RFC 8725 §2.1: unsecured tokens never */
        return jwt_refuse(why, JWT_ALG_NONE, "algorithm \"none\" is never accepted");
    /* RFC 7515 §4.1.11: a critical extension not understood makes the token invalid */
    if (jsonmini_get(j, 0, "crit") != JSONMINI_NONE)
        return jwt_refuse(why, JWT_BAD_HEADER, "header has \"crit\" extensions");
    *alg = jwt_alg_from_name(name);
    if (*alg == 0)
        return jwt_refuse(why, JWT_ALG_NOT_ALLOWED, "unknown algorithm");
    if ((pol->algorithms & *alg) == 0)
        return jwt_refuse(why, JWT_ALG_NOT_ALLOWED, "algorithm not allowed here");
    if ((*alg == JWT_ALG_HS256 && (key->secret == NULL || key->secret_len < JWT_HS256_SECRET_MIN ||
                                   key->secret_len > INT_MAX)) ||
        (*alg == JWT_ALG_ES256 && (key->pkey == NULL || !jwt_is_p256(key->pkey))) ||
        (*alg == JWT_ALG_RS256 && (key->pkey == NULL || !jwt_is_rsa(key->pkey))))
        return jwt_refuse(why, JWT_ALG_NOT_ALLOWED, "no key for this algorithm");
    return JWT_OK;
}

/* exp, nbf and aud against <pol>. */
static enum jwt_result jwt_check_times(const struct jsonmini *j, const struct jwt_policy *pol,
                                       struct jwt_claims *out, const char **why)
{
    size_t i = jsonmini_get(j, 0, "exp");
    int64_t leeway = pol->leeway_s < 0                ? 0
                     : pol->leeway_s > JWT_LEEWAY_MAX ? JWT_LEEWAY_MAX
                                                      : pol->leeway_s;

    if (i != JSONMINI_NONE) {
        if (jsonmini_int64(j, i, &out->exp) != 0)
            return jwt_refuse(why, JWT_BAD_CLAIM, "exp is not an integer");
        out->has_exp = true;
        /* RFC 7519 §4.1.4: valid only before exp; exp > INT64_MAX - leeway never ends */
        if (out->exp <= INT64_MAX - leeway && pol->now >= out->exp + leeway)
            return jwt_refuse(why, JWT_EXPIRED, "token expired");
    } else if (pol->require_exp) {
        return jwt_refuse(why, JWT_BAD_CLAIM, "token has no exp");
    }
    i = jsonmini_get(j, 0, "nbf");
    if (i != JSONMINI_NONE) {
        if (jsonmini_int64(j, i, &out->nbf) != 0)
            return jwt_refuse(why, JWT_BAD_CLAIM, "nbf is not an integer");
        out->has_nbf = true;
        if (pol->now <= INT64_MAX - leeway && pol->now + leeway < out->nbf)
            return jwt_refuse(why, JWT_NOT_YET_VALID, "token not valid yet");
    }
    return JWT_OK;
}

static enum jwt_result jwt_check_audience(const struct jsonmini *j, const struct jwt_policy *pol,
                                          const char **why)
{
    size_t i = jsonmini_get(j, 0, "aud"), n, k;
    bool match = false;

    if (i == JSONMINI_NONE) {
        if (pol->audience != NULL)
            return jwt_refuse(why, JWT_WRONG_AUDIENCE, "token has no aud");
        return JWT_OK;
    }
    if (j->toks[i].type == JSONMINI_STRING) {
        match =
            pol->audience != NULL && jsonmini_string_is(j, i, pol->audience, strlen(pol->audience));
    } else if (j->toks[i].type == JSONMINI_ARRAY && j->toks[i].count > 0) {
        n = j->toks[i].count;
        k = i + 1;
        for (size_t m = 0; m < n; m++, k = jsonmini_next(j, k)) {
            if (j->toks[k].type != JSONMINI_STRING)
                return jwt_refuse(why, JWT_BAD_CLAIM, "aud array holds a non-string");
            if (pol->audience != NULL &&
                jsonmini_string_is(j, k, pol->audience, strlen(pol->audience)))
                match = true;
        }
    } else {
        return jwt_refuse(why, JWT_BAD_CLAIM, "aud is not a string or an array of strings");
    }
    if (!match)
        return jwt_refuse(why, JWT_WRONG_AUDIENCE,
                          pol->audience == NULL ? "token has aud, none is configured"
                                                : "aud does not name this bridge");
    return JWT_OK;
}

/* A claim string <i> without NUL or control bytes into <out> (<cap> bytes); -1 if not. */
static int jwt_claim_text(const struct jsonmini *j, size_t i, char *out, size_t cap)
{
    size_t n;

    if (jsonmini_string(j, i, out, cap, &n) != 0 || n == 0)
        return -1;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)out[k] < 0x20 || out[k] == 0x7f)
            return -1;
    return 0;
}

static enum jwt_result jwt_read_target(const struct jsonmini *j, struct jwt_claims *out,
                                       const char **why)
{
    size_t host = jsonmini_get(j, 0, "host"), port = jsonmini_get(j, 0, "port");
    size_t unix_path = jsonmini_get(j, 0, "unix");
    char text[ADDR_HOST_MAX + 16], err[128];
    struct in6_addr v6;
    struct addr a;
    int64_t p;

    if (host == JSONMINI_NONE && port == JSONMINI_NONE && unix_path == JSONMINI_NONE)
        return jwt_refuse(why, JWT_NO_TARGET, "claims name no target (host and port, or unix)");
    if (unix_path != JSONMINI_NONE) {
        if (host != JSONMINI_NONE || port != JSONMINI_NONE)
            return jwt_refuse(why, JWT_BAD_TARGET, "claims name both unix and host/port");
        if (jwt_claim_text(j, unix_path, out->unix_path, sizeof(out->unix_path)) != 0 ||
            out->unix_path[0] != '/')
            return jwt_refuse(why, JWT_BAD_TARGET,
                              "unix is not an absolute path of at most 107 bytes");
        out->is_unix = true;
        return JWT_OK;
    }
    if (host == JSONMINI_NONE || port == JSONMINI_NONE)
        return jwt_refuse(why, JWT_BAD_TARGET, "host and port come together");
    if (jsonmini_int64(j, port, &p) != 0 || p < 1 || p > 65535)
        return jwt_refuse(why, JWT_BAD_TARGET, "port is not an integer 1..65535");
    if (jwt_claim_text(j, host, out->host, sizeof(out->host)) != 0)
        return jwt_refuse(why, JWT_BAD_TARGET, "host is not a name or an address");
    /* addr.c's rules for names and literals, as a route's target has them */
    if (strchr(out->host, ':') != NULL) {
        if (inet_pton(AF_INET6, out->host, &v6) != 1)
            return jwt_refuse(why, JWT_BAD_TARGET, "host is not a name or an address");
        snprintf(text, sizeof(text), "[%s]:%u", out->host, (unsigned)p);
    } else {
        snprintf(text, sizeof(text), "%s:%u", out->host, (unsigned)p);
    }
    if (addr_parse(text, 0, &a, err, sizeof(err)) != 0 || a.kind != ADDR_HOSTPORT || a.tls)
        return jwt_refuse(why, JWT_BAD_TARGET, "host is not a name or an address");
    out->port = (uint16_t)p;
    return JWT_OK;
}

enum jwt_result jwt_verify(const char *token, size_t len, const struct jwt_key *key,
                           const struct jwt_policy *pol, struct jwt_claims *out, const char **why)
{
    uint8_t part[JWT_PART_MAX], sig[JWT_SIG_MAX];
    struct jsonmini_tok toks[JWT_JSON_TOKENS];
    struct jsonmini j;
    const char *dot1, *dot2;
    size_t h_len, p_len, s_len;
    long n, sig_len;
    unsigned alg = 0;
    enum jwt_result r;

    memset(out, 0, sizeof(*out));
    if (len > JWT_TOKEN_MAX)
        return jwt_refuse(why, JWT_BAD_FORMAT, "token longer than JWT_TOKEN_MAX");
    dot1 = memchr(token, '.', len);
    dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        return jwt_refuse(why, JWT_BAD_FORMAT, "token is not three parts joined by dots");
    h_len = (size_t)(dot1 - token);
    p_len = (size_t)(dot2 - dot1) - 1;
    s_len = len - (size_t)(dot2 + 1 - token);
    if (h_len == 0 || p_len == 0)
        return jwt_refuse(why, JWT_BAD_FORMAT, "token has an empty header or payload");

    n = jwt_b64url_decode(token, h_len, part, sizeof(part));
    if (n < 0)
        return jwt_refuse(why, JWT_BAD_BASE64, "header is not base64url");
    if (jsonmini_parse(&j, (const char *)part, (size_t)n, toks, JWT_JSON_TOKENS) != 0)
        return jwt_refuse(why, JWT_BAD_JSON, "header is not strict JSON");
    r = jwt_check_header(&j, key, pol, &alg, why);
    ERR_clear_error(); /* asking a key its kind may leave entries behind */
    if (r != JWT_OK)
        return r;

    sig_len = jwt_b64url_decode(dot2 + 1, s_len, sig, sizeof(sig));
    if (sig_len < 0)
        return jwt_refuse(why, JWT_BAD_BASE64, "signature is not base64url");
    if (sig_len == 0)
        return jwt_refuse(why, JWT_BAD_SIGNATURE, "token has no signature");
    /* the payload must decode before it is trusted enough to be parsed */
    if (jwt_b64url_decode(dot1 + 1, p_len, part, sizeof(part)) < 0)
        return jwt_refuse(why, JWT_BAD_BASE64, "payload is not base64url");
    r = jwt_check_signature(alg, key, token, h_len + 1 + p_len, sig, (size_t)sig_len, why);
    ERR_clear_error(); /* a failed verification leaves entries behind */
    if (r != JWT_OK)
        return r;

    n = jwt_b64url_decode(dot1 + 1, p_len, part, sizeof(part));
    if (jsonmini_parse(&j, (const char *)part, (size_t)n, toks, JWT_JSON_TOKENS) != 0)
        return jwt_refuse(why, JWT_BAD_JSON, "claims are not strict JSON");
    if (j.toks[0].type != JSONMINI_OBJECT)
        return jwt_refuse(why, JWT_BAD_JSON, "claims are not a JSON object");
    r = jwt_check_times(&j, pol, out, why);
    if (r == JWT_OK)
        r = jwt_check_audience(&j, pol, why);
    if (r == JWT_OK)
        r = jwt_read_target(&j, out, why);
    if (r != JWT_OK) {
        memset(out, 0, sizeof(*out));
        return r;
    }
    *why = "ok";
    return JWT_OK;
}

const char *jwt_result_name(enum jwt_result r)
{
    static const char *const names[] = {
        [JWT_OK] = "ok",
        [JWT_BAD_FORMAT] = "bad format",
        [JWT_BAD_BASE64] = "bad base64url",
        [JWT_BAD_JSON] = "bad JSON",
        [JWT_BAD_HEADER] = "bad header",
        [JWT_ALG_NONE] = "alg none",
        [JWT_ALG_NOT_ALLOWED] = "alg not allowed",
        [JWT_BAD_SIGNATURE] = "bad signature",
        [JWT_BAD_CLAIM] = "bad claim",
        [JWT_EXPIRED] = "expired",
        [JWT_NOT_YET_VALID] = "not yet valid",
        [JWT_WRONG_AUDIENCE] = "wrong audience",
        [JWT_NO_TARGET] = "no target",
        [JWT_BAD_TARGET] = "bad target",
        [JWT_INTERNAL] = "internal error",
    };

    if ((unsigned)r >= sizeof(names) / sizeof(names[0]) || names[r] == NULL)
        return "?";
    return names[r];
}

unsigned jwt_alg_from_name(const char *name)
{
    if (strcmp(name, "HS256") == 0)
        return JWT_ALG_HS256;
    if (strcmp(name, "RS256") == 0)
        return JWT_ALG_RS256;
    if (strcmp(name, "ES256") == 0)
        return JWT_ALG_ES256;
    return 0;
}

/* Writes "<what>: <OpenSSL's reasons>" into <err> and empties the error queue. */
static void jwt_ssl_error(char *err, size_t err_len, const char *what)
{
    unsigned long e;
    size_t at;
    int k = snprintf(err, err_len, "%s", what);

    at = k < 0 ? 0 : (size_t)k;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];

        ERR_error_string_n(e, buf, sizeof(buf));
        if (at + 2 < err_len) {
            k = snprintf(err + at, err_len - at, ": %s", buf);
            at += k < 0 ? 0 : (size_t)k;
        }
    }
}

EVP_PKEY *jwt_key_from_pem(const char *pem, size_t len, char *err, size_t err_len)
{
    BIO *bio;
    EVP_PKEY *pkey;
    X509 *cert;

    if (len > INT_MAX) {
        snprintf(err, err_len, "JWT key: PEM text too long");
        return NULL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        jwt_ssl_error(err, err_len, "JWT key: out of memory");
        return NULL;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL) { /* perhaps a certificate */
        ERR_clear_error();
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, (int)len);
        cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        pkey = cert != NULL ? X509_get_pubkey(cert) : NULL;
        X509_free(cert);
    }
    BIO_free(bio);
    if (pkey == NULL) {
        jwt_ssl_error(err, err_len,
                      "JWT key: no PEM \"PUBLIC KEY\" or \"CERTIFICATE\" could be read");
        return NULL;
    }
    if (!jwt_is_p256(pkey) && !jwt_is_rsa(pkey)) {
        snprintf(err, err_len,
                 "JWT key: not an EC P-256 key (ES256) or an RSA key of %d "
                 "bits or more (RS256)",
                 JWT_RSA_BITS_MIN);
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return NULL;
    }
    return pkey;
}
