/*
 * fuzz_jwt.c - libFuzzer driver for jwt.c, three ways (byte 0 mod 3):
 *  0  any bytes as a token, verified with an EC P-256, an RSA 2048 and an HMAC key under
 *     every algorithm: never JWT_OK (no forgery), a named result with a reason, claims
 *     left empty, OpenSSL's error queue left empty;
 *  1  one of three good tokens made at start-up (ES256, RS256, HS256) with one byte
 *     replaced, inserted or removed where the input says: never JWT_OK;
 *  2  the input as the claims of a token the driver signs (HS256): never a format,
 *     base64 or signature refusal; JWT_BAD_JSON exactly when jsonmini refuses the text
 *     or it is not an object; JWT_OK only with a target the claims hold and a time
 *     window that contains now; EXPIRED and NOT_YET_VALID only when exp/nbf say so.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "../unit/jwtsign.h"
#include "fuzz.h"
#include "jsonmini.h"
#include "jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_JWT_NOW 1700000000
#define FUZZ_JWT_CLAIMS "{\"host\":\"10.0.0.5\",\"port\":5900,\"exp\":1700000060,\"aud\":\"wsb\"}"

static EVP_PKEY *fuzz_jwt_ec, *fuzz_jwt_rsa;
static const uint8_t fuzz_jwt_secret[] = "fuzzing secret of at least thirty-two bytes";
static char fuzz_jwt_good[3][2048];
static size_t fuzz_jwt_good_len[3];

static const struct jwt_policy fuzz_jwt_policy = {
    .algorithms = JWT_ALG_ES256 | JWT_ALG_RS256 | JWT_ALG_HS256,
    .now = FUZZ_JWT_NOW,
    .leeway_s = 30,
    .audience = "wsb",
    .require_exp = false,
};

static void fuzz_jwt_init(void)
{
    static const char *const headers[3] = {"{\"alg\":\"ES256\"}", "{\"alg\":\"RS256\"}",
                                           "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"};
    static const enum jwtsign_alg algs[3] = {JWTSIGN_ES256, JWTSIGN_RS256, JWTSIGN_HS256};

    if (fuzz_jwt_ec != NULL)
        return;
    fuzz_jwt_ec = jwtsign_keygen("P-256", 0);
    fuzz_jwt_rsa = jwtsign_keygen(NULL, 2048);
    FUZZ_CHECK(fuzz_jwt_ec != NULL && fuzz_jwt_rsa != NULL);
    for (int i = 0; i < 3; i++) {
        fuzz_jwt_good_len[i] =
            jwtsign_token(algs[i], i == 0 ? fuzz_jwt_ec : fuzz_jwt_rsa, fuzz_jwt_secret,
                          sizeof(fuzz_jwt_secret) - 1, headers[i], FUZZ_JWT_CLAIMS,
                          fuzz_jwt_good[i], sizeof(fuzz_jwt_good[i]));
        FUZZ_CHECK(fuzz_jwt_good_len[i] > 0);
    }
}

/* Verifies <len> bytes at <t> (an exact-size copy) with the key of <which> (0 EC,
 * 1 RSA, 2 HMAC); checks what every answer promises. */
static enum jwt_result fuzz_jwt_verify(const char *t, size_t len, int which,
                                       const struct jwt_policy *pol, struct jwt_claims *c)
{
    struct jwt_key key = {.pkey = which == 0   ? fuzz_jwt_ec
                                  : which == 1 ? fuzz_jwt_rsa
                                               : NULL,
                          .secret = which == 2 ? fuzz_jwt_secret : NULL,
                          .secret_len = which == 2 ? sizeof(fuzz_jwt_secret) - 1 : 0};
    char *copy = (char *)fuzz_copy((const uint8_t *)t, len);
    const char *why = NULL;
    enum jwt_result r = jwt_verify(copy, len, &key, pol, c, &why);

    free(copy);
    FUZZ_CHECK(r >= JWT_OK && r <= JWT_INTERNAL && r != JWT_INTERNAL);
    FUZZ_CHECK(why != NULL && why[0] != '\0');
    FUZZ_CHECK(ERR_peek_error() == 0);
    if (r != JWT_OK) {
        FUZZ_CHECK(c->host[0] == '\0' && c->unix_path[0] == '\0' && c->port == 0);
    } else {
        FUZZ_CHECK(c->is_unix ? c->unix_path[0] == '/' : c->host[0] != '\0' && c->port > 0);
    }
    return r;
}

static void fuzz_jwt_any(const uint8_t *data, size_t size)
{
    struct jwt_claims c;

    for (int i = 0; i < 3; i++)
        if (size == fuzz_jwt_good_len[i] && memcmp(data, fuzz_jwt_good[i], size) == 0)
            return; /* the fuzzer found a good token in its corpus: nothing to prove */
    for (int which = 0; which < 3; which++)
        FUZZ_CHECK(fuzz_jwt_verify((const char *)data, size, which, &fuzz_jwt_policy, &c) !=
                   JWT_OK);
}

static void fuzz_jwt_one_change(const uint8_t *data, size_t size)
{
    static char bad[4096];
    struct jwt_claims c;
    int which;
    size_t at, n;
    uint8_t op, byte;

    if (size < 5)
        return;
    which = data[0] % 3;
    at = ((size_t)data[1] << 8 | data[2]) % fuzz_jwt_good_len[which];
    op = data[3] % 3;
    byte = data[4];
    n = fuzz_jwt_good_len[which];
    memcpy(bad, fuzz_jwt_good[which], n);
    if (op == 0) { /* replace */
        if ((uint8_t)bad[at] == byte)
            return;
        bad[at] = (char)byte;
    } else if (op == 1) { /* insert */
        memmove(bad + at + 1, bad + at, n - at);
        bad[at] = (char)byte;
        n++;
    } else { /* remove */
        memmove(bad + at, bad + at + 1, n - at - 1);
        n--;
    }
    FUZZ_CHECK(fuzz_jwt_verify(fuzz_jwt_good[which], fuzz_jwt_good_len[which], which,
                               &fuzz_jwt_policy, &c) == JWT_OK);
    if (fuzz_jwt_verify(bad, n, which, &fuzz_jwt_policy, &c) == JWT_OK) {
        fprintf(stderr, "changed token accepted: %.*s\n", (int)n, bad);
        abort();
    }
}

/* <claims> signed properly: only the claims decide. */
static void fuzz_jwt_claims(const uint8_t *data, size_t size)
{
    static char tok[JWT_TOKEN_MAX * 2], text[JWT_TOKEN_MAX];
    struct jsonmini_tok toks[JWT_JSON_TOKENS];
    struct jwt_policy pol = fuzz_jwt_policy;
    struct jwt_claims c;
    struct jsonmini j;
    enum jwt_result r;
    size_t n, i;
    int64_t exp, nbf;
    bool object;

    if (size < 1 || size >= sizeof(text))
        return;
    pol.require_exp = (data[0] & 1) != 0;
    pol.audience = (data[0] & 2) != 0 ? "wsb" : NULL;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (strlen(text) != size - 1)
        return; /* the signing helper takes a C string */
    n = jwtsign_token(JWTSIGN_HS256, NULL, fuzz_jwt_secret, sizeof(fuzz_jwt_secret) - 1,
                      "{\"alg\":\"HS256\"}", text, tok, sizeof(tok));
    FUZZ_CHECK(n > 0);
    r = fuzz_jwt_verify(tok, n, 2, &pol, &c);
    if (n > JWT_TOKEN_MAX || size == 1) { /* too long, or an empty payload */
        FUZZ_CHECK(r == JWT_BAD_FORMAT);
        return;
    }
    FUZZ_CHECK(r != JWT_BAD_FORMAT && r != JWT_BAD_BASE64 && r != JWT_BAD_SIGNATURE &&
               r != JWT_BAD_HEADER && r != JWT_ALG_NONE && r != JWT_ALG_NOT_ALLOWED);
    object = jsonmini_parse(&j, text, size - 1, toks, JWT_JSON_TOKENS) == 0 &&
             toks[0].type == JSONMINI_OBJECT;
    FUZZ_CHECK((r == JWT_BAD_JSON) == !object);
    if (!object)
        return;
    i = jsonmini_get(&j, 0, "exp");
    if (r == JWT_EXPIRED)
        FUZZ_CHECK(jsonmini_int64(&j, i, &exp) == 0 && exp <= FUZZ_JWT_NOW - pol.leeway_s);
    i = jsonmini_get(&j, 0, "nbf");
    if (r == JWT_NOT_YET_VALID)
        FUZZ_CHECK(jsonmini_int64(&j, i, &nbf) == 0 && nbf > FUZZ_JWT_NOW + pol.leeway_s);
    if (r != JWT_OK)
        return;
    /* accepted: the time window holds now, and the target is what the claims say */
    if (jsonmini_int64(&j, jsonmini_get(&j, 0, "exp"), &exp) == 0)
        FUZZ_CHECK(exp > FUZZ_JWT_NOW - pol.leeway_s && c.has_exp && c.exp == exp);
    else
        FUZZ_CHECK(!pol.require_exp && jsonmini_get(&j, 0, "exp") == JSONMINI_NONE);
    if (jsonmini_int64(&j, jsonmini_get(&j, 0, "nbf"), &nbf) == 0)
        FUZZ_CHECK(nbf <= FUZZ_JWT_NOW + pol.leeway_s && c.has_nbf && c.nbf == nbf);
    FUZZ_CHECK((pol.audience == NULL) == (jsonmini_get(&j, 0, "aud") == JSONMINI_NONE));
    if (c.is_unix) {
        FUZZ_CHECK(
            jsonmini_string_is(&j, jsonmini_get(&j, 0, "unix"), c.unix_path, strlen(c.unix_path)));
        FUZZ_CHECK(jsonmini_get(&j, 0, "host") == JSONMINI_NONE);
    } else {
        int64_t port;
        FUZZ_CHECK(jsonmini_string_is(&j, jsonmini_get(&j, 0, "host"), c.host, strlen(c.host)));
        FUZZ_CHECK(jsonmini_int64(&j, jsonmini_get(&j, 0, "port"), &port) == 0 && port == c.port);
        FUZZ_CHECK(jsonmini_get(&j, 0, "unix") == JSONMINI_NONE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_jwt_init();
    switch (data[0] % 3) {
    case 0:
        fuzz_jwt_any(data + 1, size - 1);
        break;
    case 1:
        fuzz_jwt_one_change(data + 1, size - 1);
        break;
    default:
        fuzz_jwt_claims(data + 1, size - 1);
        break;
    }
    return 0;
}
