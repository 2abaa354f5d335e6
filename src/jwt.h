/*
 * jwt.h - signed tokens that name a target: a JWS compact token (RFC 7515) with JWT
 * claims (RFC 7519), verified with OpenSSL for ES256, RS256 or HS256 (RFC 7518 §3), its
 * times and audience checked against the caller's clock and policy, and its target read
 * from the claims "host" + "port" or "unix". No I/O, no clock: reading the key file,
 * the time and the HTTP answer are the caller's.
 */
#ifndef WSB_JWT_H
#define WSB_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "addr.h"

#define JWT_TOKEN_MAX 8192      /* bytes of a token */
#define JWT_JSON_TOKENS 256     /* JSON values in its header or its claims */
#define JWT_LEEWAY_MAX 86400    /* seconds of clock skew a policy may allow */
#define JWT_HS256_SECRET_MIN 32 /* bytes of an HS256 secret (RFC 7518 §3.2) */
#define JWT_RSA_BITS_MIN 2048   /* an RS256 key's modulus */
#define JWT_UNIX_PATH_MAX 107   /* bytes of a "unix" claim: sun_path less its NUL */

/* Algorithms, as bits of a set */
#define JWT_ALG_HS256 0x1u
#define JWT_ALG_RS256 0x2u
#define JWT_ALG_ES256 0x4u

/* What a token is checked with. Each algorithm uses only its own member, so a public
 * key can never be taken for an HMAC secret. Not owned: the caller frees. */
struct jwt_key {
    EVP_PKEY *pkey;        /* ES256: an EC P-256 key; RS256: an RSA key of 2048 bits or
                            * more; the public part is what is used; or NULL */
    const uint8_t *secret; /* HS256: the shared secret, or NULL */
    size_t secret_len;     /* at least JWT_HS256_SECRET_MIN, else HS256 is refused */
};

struct jwt_policy {
    unsigned algorithms;  /* JWT_ALG_* that may be used ("none" never may) */
    int64_t now;          /* seconds since the epoch, from the caller's clock */
    int64_t leeway_s;     /* skew allowed on exp and nbf, 0..JWT_LEEWAY_MAX */
    const char *audience; /* the aud this bridge answers to; NULL: a token with aud is
                           * refused (RFC 7519 §4.1.3) */
    bool require_exp;     /* a token without exp is refused */
};

enum jwt_result {
    JWT_OK = 0,
    JWT_BAD_FORMAT,      /* not three dot-separated parts, too long */
    JWT_BAD_BASE64,      /* a part is not canonical unpadded base64url */
    JWT_BAD_JSON,        /* header or claims are not strict JSON objects */
    JWT_BAD_HEADER,      /* no alg, or a "crit" header (no extension is understood) */
    JWT_ALG_NONE,        /* alg "none", in any letter case: always refused */
    JWT_ALG_NOT_ALLOWED, /* unknown alg, not in the policy, or no key of its kind */
    JWT_BAD_SIGNATURE,   /* the signature does not verify */
    JWT_BAD_CLAIM,       /* exp, nbf or aud of the wrong type; no exp when required */
    JWT_EXPIRED,         /* now >= exp + leeway */
    JWT_NOT_YET_VALID,   /* now + leeway < nbf */
    JWT_WRONG_AUDIENCE,  /* aud does not name the policy's audience (or there is none) */
    JWT_NO_TARGET,       /* neither host nor unix */
    JWT_BAD_TARGET,      /* host without port, both host and unix, a bad value */
    JWT_INTERNAL,        /* OpenSSL failed (out of memory) */
};

/* The target the claims name. */
struct jwt_claims {
    bool is_unix;                          /* unix_path is the target, else host and port */
    char host[ADDR_HOST_MAX + 1];          /* a name or an IP literal, IPv6 without brackets */
    uint16_t port;                         /* 1..65535 */
    char unix_path[JWT_UNIX_PATH_MAX + 1]; /* an absolute path */
    bool has_exp, has_nbf;
    int64_t exp, nbf; /* seconds since the epoch, when present */
};

/*
 * Verifies the <len> bytes at <token> (any bytes) with <key> under <pol>. In order:
 * format and size; the header (strict JSON, "alg" a string, no "crit"; "typ", "kid" and
 * key-carrying headers such as "jwk" or "jku" are not used: the key is only <key>);
 * alg "none" is always refused; alg must be in pol->algorithms with a key of its kind;
 * the signature (ES256: raw R||S of 64 bytes as RFC 7518 §3.4 says, not DER; HS256:
 * compared in constant time); then the claims: "exp" and "nbf" integers (a fraction is
 * refused), "aud" a string or an array of strings, the target claims ("host" string +
 * "port" integer 1..65535, or "unix" absolute path). The claims are read only after the
 * signature verified. Returns JWT_OK with <out> filled, or another result with a short
 * static reason in *<why> (also set for JWT_OK, to "ok"). Never logs the token; leaves
 * OpenSSL's error queue empty.
 */
enum jwt_result jwt_verify(const char *token, size_t len, const struct jwt_key *key,
                           const struct jwt_policy *pol, struct jwt_claims *out, const char **why);

/* A short name for <r> ("expired", "bad signature", ...), for logs and metrics. */
const char *jwt_result_name(enum jwt_result r);

/* The JWT_ALG_* bit of algorithm name <name> ("ES256", exact case), or 0. */
unsigned jwt_alg_from_name(const char *name);

/* Builds a public key from the <len> bytes of PEM text at <pem>: a "PUBLIC KEY" or a
 * "CERTIFICATE" (its key), EC P-256 or RSA of JWT_RSA_BITS_MIN bits or more. Returns the
 * key (the caller frees it with EVP_PKEY_free), or NULL with "what: why" in <err>
 * (<err_len> bytes) and OpenSSL's error queue drained into it. */
EVP_PKEY *jwt_key_from_pem(const char *pem, size_t len, char *err, size_t err_len);

#endif
