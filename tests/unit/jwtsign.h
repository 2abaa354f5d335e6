/*
 * jwtsign.h - makes real JWS compact tokens with OpenSSL for the tests of jwt.c: keys
 * generated on the spot (EC P-256, RSA, an HMAC secret), headers and claims given as
 * JSON text, signatures as RFC 7518 §3 says (ES256 as raw R||S). Shared by test_jwt.c
 * and fuzz_jwt.c; nothing here is used by the daemon.
 */
#ifndef WSB_TEST_JWTSIGN_H
#define WSB_TEST_JWTSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* Writes <n> bytes at <in> as unpadded base64url into <out> (4 * n / 3 + 4 bytes fit),
 * NUL-terminated; returns the length. */
static inline size_t jwtsign_b64url(const uint8_t *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63];
        out[o++] = abc[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = abc[v >> 18];
        out[o++] = abc[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = abc[v >> 18];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

enum jwtsign_alg {
    JWTSIGN_HS256 = 0,
    JWTSIGN_RS256,
    JWTSIGN_ES256,
    JWTSIGN_ES256_DER, /* ES256 with OpenSSL's DER signature left as it is: wrong */
};

/* The signature of <input> by <alg> with private key <pkey> or <secret>, raw, into <sig>
 * (1024 bytes fit); returns its length or 0. */
static inline size_t jwtsign_signature(enum jwtsign_alg alg, EVP_PKEY *pkey, const uint8_t *secret,
                                       size_t secret_len, const char *input, size_t input_len,
                                       uint8_t *sig)
{
    unsigned char der[1024];
    size_t der_len = sizeof(der);
    unsigned mac_len = 0;
    EVP_MD_CTX *ctx;
    int ok;

    if (alg == JWTSIGN_HS256) {
        if (HMAC(EVP_sha256(), secret, (int)secret_len, (const uint8_t *)input, input_len, sig,
                 &mac_len) == NULL)
            return 0;
        return mac_len;
    }
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
         EVP_DigestSign(ctx, der, &der_len, (const uint8_t *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return 0;
    if (alg == JWTSIGN_RS256 || alg == JWTSIGN_ES256_DER) {
        memcpy(sig, der, der_len);
        return der_len;
    }
    {
        const unsigned char *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        const BIGNUM *r, *s;

        if (es == NULL)
            return 0;
        ECDSA_SIG_get0(es, &r, &s);
        ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
        ECDSA_SIG_free(es);
        return ok ? 64 : 0;
    }
}

/* Writes the token base64url(<header>).base64url(<claims>).base64url(signature) into
 * <out> (<cap> bytes); returns its length, or 0 if it does not fit or signing failed. */
static inline size_t jwtsign_token(enum jwtsign_alg alg, EVP_PKEY *pkey, const uint8_t *secret,
                                   size_t secret_len, const char *header, const char *claims,
                                   char *out, size_t cap)
{
    size_t hl = strlen(header), cl = strlen(claims), n, sl;
    uint8_t sig[1024];

    if ((hl + cl) * 4 / 3 + 1500 > cap)
        return 0;
    n = jwtsign_b64url((const uint8_t *)header, hl, out);
    out[n++] = '.';
    n += jwtsign_b64url((const uint8_t *)claims, cl, out + n);
    sl = jwtsign_signature(alg, pkey, secret, secret_len, out, n, sig);
    if (sl == 0)
        return 0;
    out[n++] = '.';
    n += jwtsign_b64url(sig, sl, out + n);
    return n;
}

/* A new key: "P-256" or "P-384" (EC), or RSA of <bits> when <curve> is NULL. */
static inline EVP_PKEY *jwtsign_keygen(const char *curve, unsigned bits)
{
    return curve != NULL ? EVP_EC_gen(curve) : EVP_RSA_gen(bits);
}

/* The public key of <pkey> as PEM ("PUBLIC KEY") into <out> (<cap> bytes), NUL-terminated;
 * returns its length or 0. */
static inline size_t jwtsign_public_pem(EVP_PKEY *pkey, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;

    if (bio == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1) {
        BIO_free(bio);
        return 0;
    }
    n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || (size_t)n >= cap) {
        BIO_free(bio);
        return 0;
    }
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(bio);
    return (size_t)n;
}

#endif
