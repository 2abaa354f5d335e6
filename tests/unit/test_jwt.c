/*
 * test_jwt.c - proves that jwt.c accepts exactly the tokens jwt.h describes, using real
 * tokens signed here with OpenSSL (an EC P-256 key, an RSA 2048 key, an HMAC secret) and
 * RFC 7515's own HS256 example: good tokens route to their host/port or unix target;
 * expired, not yet valid, wrong-audience, wrong-key, tampered (every byte), "none",
 * key-confused, DER-signed, non-canonical and malformed tokens are refused with their
 * reason; time checks hold at the second and with leeway; limits hold at their value.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "check_main.h"
#include "jwt.h"
#include "jwtsign.h"

#define NOW 1700000000
#define HDR_HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define HDR_RS "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
#define HDR_ES "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"
#define TARGET "\"host\":\"10.0.0.5\",\"port\":5900"

static EVP_PKEY *test_ec, *test_rsa, *test_ec_other, *test_rsa_other;
static EVP_PKEY *test_ec_pub, *test_rsa_pub; /* read back from public PEM */
static const uint8_t test_secret[] = "0123456789abcdef0123456789abcdef-secret";
#define SECRET_LEN (sizeof(test_secret) - 1)

static void test_setup(void)
{
    char pem[4096], err[512];
    size_t n;

    test_ec = jwtsign_keygen("P-256", 0);
    test_ec_other = jwtsign_keygen("P-256", 0);
    test_rsa = jwtsign_keygen(NULL, 2048);
    test_rsa_other = jwtsign_keygen(NULL, 2048);
    ck_assert(test_ec && test_ec_other && test_rsa && test_rsa_other);
    n = jwtsign_public_pem(test_ec, pem, sizeof(pem));
    test_ec_pub = jwt_key_from_pem(pem, n, err, sizeof(err));
    ck_assert_msg(test_ec_pub != NULL, "%s", err);
    n = jwtsign_public_pem(test_rsa, pem, sizeof(pem));
    test_rsa_pub = jwt_key_from_pem(pem, n, err, sizeof(err));
    ck_assert_msg(test_rsa_pub != NULL, "%s", err);
}

static void test_teardown(void)
{
    EVP_PKEY_free(test_ec);
    EVP_PKEY_free(test_ec_other);
    EVP_PKEY_free(test_rsa);
    EVP_PKEY_free(test_rsa_other);
    EVP_PKEY_free(test_ec_pub);
    EVP_PKEY_free(test_rsa_pub);
}

static const struct jwt_policy test_policy = {
    .algorithms = JWT_ALG_ES256 | JWT_ALG_RS256 | JWT_ALG_HS256,
    .now = NOW,
    .leeway_s = 0,
    .audience = NULL,
    .require_exp = true,
};

/* Verifies <token> with the usual keys (public EC for ES256, public RSA for RS256, the
 * secret for HS256 — all in one jwt_key would be simpler, but one key object holds one
 * pkey) under <pol>; checks that OpenSSL's queue is left empty. */
static enum jwt_result test_verify_with(const char *token, size_t len, const struct jwt_key *key,
                                        const struct jwt_policy *pol, struct jwt_claims *out,
                                        const char **why)
{
    enum jwt_result r = jwt_verify(token, len, key, pol, out, why);

    ck_assert_msg(ERR_peek_error() == 0, "OpenSSL error queue not empty after %s", *why);
    ck_assert_ptr_nonnull(*why);
    return r;
}

static enum jwt_result test_verify(const char *token, const struct jwt_policy *pol,
                                   struct jwt_claims *out, const char **why)
{
    struct jwt_key key = {.secret = test_secret, .secret_len = SECRET_LEN};

    char es[64];

    /* the public key of the token's own kind: EC for the ES256 header */
    jwtsign_b64url((const uint8_t *)HDR_ES, strlen(HDR_ES), es);
    if (strncmp(token, es, strlen(es)) == 0)
        key.pkey = test_ec_pub;
    else
        key.pkey = test_rsa_pub;
    return test_verify_with(token, strlen(token), &key, pol, out, why);
}

static char *test_make(enum jwtsign_alg alg, const char *header, const char *claims)
{
    static char tok[JWT_TOKEN_MAX * 2];
    EVP_PKEY *k = alg == JWTSIGN_HS256 ? NULL : alg == JWTSIGN_RS256 ? test_rsa : test_ec;

    ck_assert_uint_gt(
        jwtsign_token(alg, k, test_secret, SECRET_LEN, header, claims, tok, sizeof(tok)), 0);
    return tok;
}

START_TEST(test_jwt_good_tokens)
{
    static const struct {
        enum jwtsign_alg alg;
        const char *header;
    } algs[] = {{JWTSIGN_ES256, HDR_ES}, {JWTSIGN_RS256, HDR_RS}, {JWTSIGN_HS256, HDR_HS}};
    struct jwt_claims c;
    const char *why;

    for (size_t i = 0; i < 3; i++) {
        const char *t = test_make(algs[i].alg, algs[i].header,
                                  "{" TARGET ",\"exp\":1700000060,\"nbf\":1699999999}");
        ck_assert_msg(test_verify(t, &test_policy, &c, &why) == JWT_OK, "%zu: %s", i, why);
        ck_assert_str_eq(why, "ok");
        ck_assert(!c.is_unix);
        ck_assert_str_eq(c.host, "10.0.0.5");
        ck_assert_uint_eq(c.port, 5900);
        ck_assert(c.has_exp && c.exp == 1700000060);
        ck_assert(c.has_nbf && c.nbf == 1699999999);
        t = test_make(algs[i].alg, algs[i].header,
                      "{\"unix\":\"/run/vnc/alice.sock\",\"exp\":1700000001}");
        ck_assert_msg(test_verify(t, &test_policy, &c, &why) == JWT_OK, "%zu: %s", i, why);
        ck_assert(c.is_unix);
        ck_assert_str_eq(c.unix_path, "/run/vnc/alice.sock");
        ck_assert_str_eq(c.host, "");
    }
}
END_TEST

/* RFC 7515 Appendix A.1: a real HS256 JWS with its own key; it verifies, then names no
 * target. Its header has a CR LF inside, which strict JSON allows. */
START_TEST(test_jwt_rfc7515_a1)
{
    static const char token[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    static const uint8_t k[] = {3,   35,  53,  75,  43,  15,  165, 188, 131, 126, 6,   101, 119,
                                123, 166, 143, 90,  179, 40,  230, 240, 84,  201, 40,  169, 15,
                                132, 178, 210, 80,  46,  191, 211, 251, 90,  146, 210, 6,   71,
                                239, 150, 138, 180, 195, 119, 98,  61,  34,  61,  46,  33,  114,
                                5,   46,  79,  8,   192, 205, 154, 245, 103, 208, 128, 163};
    struct jwt_key key = {.secret = k, .secret_len = sizeof(k)};
    struct jwt_policy pol = test_policy;
    struct jwt_claims c;
    const char *why;

    pol.now = 1300819379;
    ck_assert_int_eq(test_verify_with(token, strlen(token), &key, &pol, &c, &why), JWT_NO_TARGET);
    pol.now = 1300819380;
    ck_assert_int_eq(test_verify_with(token, strlen(token), &key, &pol, &c, &why), JWT_EXPIRED);
    key.secret_len--;
    ck_assert_int_eq(test_verify_with(token, strlen(token), &key, &pol, &c, &why),
                     JWT_BAD_SIGNATURE);
}
END_TEST

struct claim_case {
    const char *claims;
    int64_t leeway;
    const char *audience;
    bool require_exp;
    enum jwt_result want;
};

static const struct claim_case test_claims[] = {
    /* times: valid before exp, from nbf on; leeway both ways */
    {"{" TARGET ",\"exp\":1700000001}", 0, NULL, true, JWT_OK},
    {"{" TARGET ",\"exp\":1700000000}", 0, NULL, true, JWT_EXPIRED},
    {"{" TARGET ",\"exp\":1600000000}", 0, NULL, true, JWT_EXPIRED},
    {"{" TARGET ",\"exp\":1699999941}", 60, NULL, true, JWT_OK},
    {"{" TARGET ",\"exp\":1699999940}", 60, NULL, true, JWT_EXPIRED},
    {"{" TARGET ",\"exp\":9223372036854775807}", 60, NULL, true, JWT_OK},
    {"{" TARGET ",\"exp\":-9223372036854775808}", 60, NULL, true, JWT_EXPIRED},
    {"{" TARGET ",\"exp\":1700000001,\"nbf\":1700000000}", 0, NULL, true, JWT_OK},
    {"{" TARGET ",\"exp\":1700000099,\"nbf\":1700000001}", 0, NULL, true, JWT_NOT_YET_VALID},
    {"{" TARGET ",\"exp\":1700000099,\"nbf\":1700000060}", 60, NULL, true, JWT_OK},
    {"{" TARGET ",\"exp\":1700000099,\"nbf\":1700000061}", 60, NULL, true, JWT_NOT_YET_VALID},
    {"{" TARGET ",\"exp\":1700000099,\"nbf\":9223372036854775807}", 60, NULL, true,
     JWT_NOT_YET_VALID},
    {"{" TARGET "}", 0, NULL, true, JWT_BAD_CLAIM},
    {"{" TARGET "}", 0, NULL, false, JWT_OK},
    {"{" TARGET ",\"exp\":1.7e9}", 0, NULL, true, JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":1700000001.5}", 0, NULL, true, JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":\"1700000001\"}", 0, NULL, true, JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":99999999999999999999}", 0, NULL, true, JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":1700000001,\"nbf\":null}", 0, NULL, true, JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":1700000001,\"iat\":\"whenever\"}", 0, NULL, true, JWT_OK},
    /* audience */
    {"{" TARGET ",\"exp\":1700000001,\"aud\":\"wsbridge\"}", 0, "wsbridge", true, JWT_OK},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":\"other\"}", 0, "wsbridge", true, JWT_WRONG_AUDIENCE},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":\"WSBRIDGE\"}", 0, "wsbridge", true,
     JWT_WRONG_AUDIENCE},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":[\"a\",\"wsbridge\"]}", 0, "wsbridge", true, JWT_OK},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":[\"a\",\"b\"]}", 0, "wsbridge", true,
     JWT_WRONG_AUDIENCE},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":[]}", 0, "wsbridge", true, JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":[\"wsbridge\",1]}", 0, "wsbridge", true,
     JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":7}", 0, "wsbridge", true, JWT_BAD_CLAIM},
    {"{" TARGET ",\"exp\":1700000001}", 0, "wsbridge", true, JWT_WRONG_AUDIENCE},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":\"wsbridge\"}", 0, NULL, true, JWT_WRONG_AUDIENCE},
    {"{" TARGET ",\"exp\":1700000001,\"aud\":\"ws\\u0062ridge\"}", 0, "wsbridge", true, JWT_OK},
    /* targets */
    {"{\"exp\":1700000001}", 0, NULL, true, JWT_NO_TARGET},
    {"{\"exp\":1700000001,\"host\":\"10.0.0.5\"}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"vnc.example\",\"port\":1}", 0, NULL, true, JWT_OK},
    {"{\"exp\":1700000001,\"host\":\"::1\",\"port\":65535}", 0, NULL, true, JWT_OK},
    {"{\"exp\":1700000001,\"host\":\"[::1]\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"10.0.0.5\",\"port\":0}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"10.0.0.5\",\"port\":65536}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"10.0.0.5\",\"port\":\"5900\"}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"10.0.0.5\",\"port\":5900.0}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"bad host\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"-bad\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"a\\u0000b\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"a\\nb\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":\"tls://a\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"host\":5,\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"unix\":\"relative.sock\"}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"unix\":\"\"}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"unix\":\"/a\\u0000b\"}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"unix\":\"/x\",\"host\":\"10.0.0.5\",\"port\":5900}", 0, NULL, true,
     JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"unix\":\"/x\",\"port\":5900}", 0, NULL, true, JWT_BAD_TARGET},
    {"{\"exp\":1700000001,\"unix\":[\"/x\"]}", 0, NULL, true, JWT_BAD_TARGET},
    /* claims that are not a strict JSON object */
    {"[]", 0, NULL, true, JWT_BAD_JSON},
    {"\"str\"", 0, NULL, true, JWT_BAD_JSON},
    {"{" TARGET ",\"exp\":1700000001,\"exp\":1800000000}", 0, NULL, true, JWT_BAD_JSON},
    {"{" TARGET ",\"exp\":1700000001,}", 0, NULL, true, JWT_BAD_JSON},
    {"{" TARGET ",\"exp\":1700000001} ", 0, NULL, true, JWT_OK},
    {"{" TARGET ",\"exp\":1700000001}\n{}", 0, NULL, true, JWT_BAD_JSON},
    {"{" TARGET ",\"exp\":1700000001,\"x\":\"\xff\"}", 0, NULL, true, JWT_BAD_JSON},
};

#define TEST_N_CLAIMS (sizeof(test_claims) / sizeof(test_claims[0]))

/* Each claim row, signed with each algorithm. */
START_TEST(test_jwt_claims)
{
    const struct claim_case *cc = &test_claims[_i];
    struct jwt_policy pol = test_policy;
    struct jwt_claims c;
    const char *why;

    pol.leeway_s = cc->leeway;
    pol.audience = cc->audience;
    pol.require_exp = cc->require_exp;
    for (int a = 0; a < 3; a++) {
        const char *hdr = a == 0 ? HDR_HS : a == 1 ? HDR_ES : HDR_RS;
        const char *t = test_make(a == 0   ? JWTSIGN_HS256
                                  : a == 1 ? JWTSIGN_ES256
                                           : JWTSIGN_RS256,
                                  hdr, cc->claims);
        enum jwt_result r = test_verify(t, &pol, &c, &why);

        ck_assert_msg(r == cc->want, "%s (alg %d): %s (%s), want %s", cc->claims, a,
                      jwt_result_name(r), why, jwt_result_name(cc->want));
        if (r != JWT_OK)
            ck_assert_str_eq(c.host, "");
    }
}
END_TEST

struct header_case {
    const char *header;
    const char *sig_b64; /* NULL: signed properly with HS256 */
    unsigned algorithms;
    enum jwt_result want;
};

static const struct header_case test_headers[] = {
    {"{\"alg\":\"none\"}", "", JWT_ALG_HS256, JWT_ALG_NONE},
    {"{\"alg\":\"none\"}", "c2ln", JWT_ALG_HS256, JWT_ALG_NONE},
    {"{\"alg\":\"None\",\"typ\":\"JWT\"}", "", JWT_ALG_HS256, JWT_ALG_NONE},
    {"{\"alg\":\"NONE\"}", NULL, JWT_ALG_HS256, JWT_ALG_NONE},
    {"{\"typ\":\"JWT\"}", NULL, JWT_ALG_HS256, JWT_BAD_HEADER},
    {"{\"alg\":256}", NULL, JWT_ALG_HS256, JWT_BAD_HEADER},
    {"{\"alg\":null}", NULL, JWT_ALG_HS256, JWT_BAD_HEADER},
    {"{\"alg\":\"HS512\"}", NULL, JWT_ALG_HS256, JWT_ALG_NOT_ALLOWED},
    {"{\"alg\":\"hs256\"}", NULL, JWT_ALG_HS256, JWT_ALG_NOT_ALLOWED},
    {"{\"alg\":\"HS256 \"}", NULL, JWT_ALG_HS256, JWT_ALG_NOT_ALLOWED},
    {"{\"alg\":\"HS256\\u0000\"}", NULL, JWT_ALG_HS256, JWT_ALG_NOT_ALLOWED},
    {"{\"alg\":\"a very long algorithm name\"}", NULL, JWT_ALG_HS256, JWT_ALG_NOT_ALLOWED},
    {HDR_HS, NULL, JWT_ALG_ES256 | JWT_ALG_RS256, JWT_ALG_NOT_ALLOWED},
    {HDR_HS, NULL, JWT_ALG_HS256, JWT_OK},
    {"{\"alg\":\"HS\\u0032\\u0035\\u0036\"}", NULL, JWT_ALG_HS256, JWT_OK},
    {"{\"alg\":\"HS256\",\"kid\":\"k1\",\"jku\":\"http://evil/\",\"x\":[1,{}]}", NULL,
     JWT_ALG_HS256, JWT_OK},
    {"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", NULL, JWT_ALG_HS256, JWT_BAD_HEADER},
    {"{\"alg\":\"HS256\",\"alg\":\"none\"}", NULL, JWT_ALG_HS256, JWT_BAD_JSON},
    {"{\"alg\":\"HS256\",}", NULL, JWT_ALG_HS256, JWT_BAD_JSON},
    {"[\"HS256\"]", NULL, JWT_ALG_HS256, JWT_BAD_JSON},
    {"{'alg':'HS256'}", NULL, JWT_ALG_HS256, JWT_BAD_JSON},
    {HDR_HS, "", JWT_ALG_HS256, JWT_BAD_SIGNATURE},
    {HDR_HS, "c2ln", JWT_ALG_HS256, JWT_BAD_SIGNATURE},
    {HDR_HS, "c2ln=", JWT_ALG_HS256, JWT_BAD_BASE64},
    {HDR_HS, "c2l", JWT_ALG_HS256, JWT_BAD_BASE64}, /* unused bits not zero */
    {HDR_HS, "c2lu", JWT_ALG_HS256, JWT_BAD_SIGNATURE},
    {HDR_HS, "c", JWT_ALG_HS256, JWT_BAD_BASE64},    /* length 1 mod 4 */
    {HDR_HS, "c2+u", JWT_ALG_HS256, JWT_BAD_BASE64}, /* base64, not base64url */
};

#define TEST_N_HEADERS (sizeof(test_headers) / sizeof(test_headers[0]))

START_TEST(test_jwt_headers)
{
    const struct header_case *hc = &test_headers[_i];
    struct jwt_key key = {.pkey = test_rsa_pub, .secret = test_secret, .secret_len = SECRET_LEN};
    struct jwt_policy pol = test_policy;
    char tok[2048], *dot;
    struct jwt_claims c;
    const char *why;
    size_t n;

    pol.algorithms = hc->algorithms;
    n = jwtsign_token(JWTSIGN_HS256, NULL, test_secret, SECRET_LEN, hc->header,
                      "{" TARGET ",\"exp\":1700000001}", tok, sizeof(tok));
    ck_assert_uint_gt(n, 0);
    if (hc->sig_b64 != NULL) {
        dot = strrchr(tok, '.');
        snprintf(dot + 1, sizeof(tok) - (size_t)(dot + 1 - tok), "%s", hc->sig_b64);
    }
    ck_assert_msg(test_verify_with(tok, strlen(tok), &key, &pol, &c, &why) == hc->want,
                  "%s: %s, want %s", hc->header, why, jwt_result_name(hc->want));
}
END_TEST

/* A key is used only by its own algorithm: a token "HS256"-signed with the RSA public
 * key's PEM text as the secret (the classic confusion attack) has no key to check it;
 * wrong keys of the right kind give a bad signature; short secrets and small RSA keys are
 * not keys at all. */
START_TEST(test_jwt_keys)
{
    char pem[4096], tok[4096], err[512];
    size_t pem_len = jwtsign_public_pem(test_rsa, pem, sizeof(pem));
    struct jwt_key rsa_only = {.pkey = test_rsa_pub};
    struct jwt_key ec_only = {.pkey = test_ec_pub};
    struct jwt_key wrong_ec = {.pkey = test_ec_other};
    struct jwt_key wrong_rsa = {.pkey = test_rsa_other};
    struct jwt_key short_secret = {.secret = test_secret, .secret_len = JWT_HS256_SECRET_MIN - 1};
    struct jwt_key other_secret = {.secret = (const uint8_t *)"another secret of thirty-two bytes",
                                   .secret_len = 34};
    struct jwt_claims c;
    const char *why, *t;
    EVP_PKEY *small;

    ck_assert_uint_gt(pem_len, 0);
    ck_assert_uint_gt(jwtsign_token(JWTSIGN_HS256, NULL, (const uint8_t *)pem, pem_len, HDR_HS,
                                    "{" TARGET ",\"exp\":1700000001}", tok, sizeof(tok)),
                      0);
    ck_assert_int_eq(test_verify_with(tok, strlen(tok), &rsa_only, &test_policy, &c, &why),
                     JWT_ALG_NOT_ALLOWED);
    /* an ES256 token against an RSA key and the other way round */
    t = test_make(JWTSIGN_ES256, HDR_ES, "{" TARGET ",\"exp\":1700000001}");
    ck_assert_int_eq(test_verify_with(t, strlen(t), &rsa_only, &test_policy, &c, &why),
                     JWT_ALG_NOT_ALLOWED);
    ck_assert_int_eq(test_verify_with(t, strlen(t), &wrong_ec, &test_policy, &c, &why),
                     JWT_BAD_SIGNATURE);
    ck_assert_int_eq(test_verify_with(t, strlen(t), &ec_only, &test_policy, &c, &why), JWT_OK);
    /* the private key works as well: its public half is used */
    ec_only.pkey = test_ec;
    ck_assert_int_eq(test_verify_with(t, strlen(t), &ec_only, &test_policy, &c, &why), JWT_OK);
    t = test_make(JWTSIGN_RS256, HDR_RS, "{" TARGET ",\"exp\":1700000001}");
    ck_assert_int_eq(test_verify_with(t, strlen(t), &ec_only, &test_policy, &c, &why),
                     JWT_ALG_NOT_ALLOWED);
    ck_assert_int_eq(test_verify_with(t, strlen(t), &wrong_rsa, &test_policy, &c, &why),
                     JWT_BAD_SIGNATURE);
    t = test_make(JWTSIGN_HS256, HDR_HS, "{" TARGET ",\"exp\":1700000001}");
    ck_assert_int_eq(test_verify_with(t, strlen(t), &short_secret, &test_policy, &c, &why),
                     JWT_ALG_NOT_ALLOWED);
    ck_assert_int_eq(test_verify_with(t, strlen(t), &other_secret, &test_policy, &c, &why),
                     JWT_BAD_SIGNATURE);
    /* ES256 signed with the DER signature OpenSSL gives, not R||S */
    t = test_make(JWTSIGN_ES256_DER, HDR_ES, "{" TARGET ",\"exp\":1700000001}");
    ck_assert_int_eq(test_verify(t, &test_policy, &c, &why), JWT_BAD_SIGNATURE);
    ck_assert_str_eq(why, "ES256 signature is not 64 bytes (R||S)");
    /* RSA 1024 and EC P-384 are no keys for RS256 / ES256 */
    small = jwtsign_keygen(NULL, 1024);
    pem_len = jwtsign_public_pem(small, pem, sizeof(pem));
    ck_assert_ptr_null(jwt_key_from_pem(pem, pem_len, err, sizeof(err)));
    ck_assert_msg(strstr(err, "2048") != NULL, "%s", err);
    rsa_only.pkey = small;
    ck_assert_uint_gt(jwtsign_token(JWTSIGN_RS256, small, NULL, 0, HDR_RS,
                                    "{" TARGET ",\"exp\":1700000001}", tok, sizeof(tok)),
                      0);
    ck_assert_int_eq(test_verify_with(tok, strlen(tok), &rsa_only, &test_policy, &c, &why),
                     JWT_ALG_NOT_ALLOWED);
    EVP_PKEY_free(small);
    small = jwtsign_keygen("P-384", 0);
    pem_len = jwtsign_public_pem(small, pem, sizeof(pem));
    ck_assert_ptr_null(jwt_key_from_pem(pem, pem_len, err, sizeof(err)));
    EVP_PKEY_free(small);
    ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(test_jwt_key_from_pem)
{
    char pem[4096], err[512];
    EVP_PKEY *k;
    X509 *cert = X509_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;

    /* a self-signed certificate for the EC key: its key is taken */
    ck_assert(cert != NULL && bio != NULL);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, test_ec);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)"jwt", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    ck_assert_int_gt(X509_sign(cert, test_ec, EVP_sha256()), 0);
    ck_assert_int_eq(PEM_write_bio_X509(bio, cert), 1);
    n = BIO_get_mem_data(bio, &data);
    k = jwt_key_from_pem(data, (size_t)n, err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    ck_assert_int_eq(EVP_PKEY_eq(k, test_ec_pub), 1);
    EVP_PKEY_free(k);
    BIO_free(bio);
    X509_free(cert);
    /* garbage, an empty text, a private key are refused with a message */
    ck_assert_ptr_null(jwt_key_from_pem("not a key", 9, err, sizeof(err)));
    ck_assert_msg(strncmp(err, "JWT key: no PEM", 15) == 0, "%s", err);
    ck_assert_ptr_null(jwt_key_from_pem("", 0, err, sizeof(err)));
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, test_ec, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(bio, &data);
    ck_assert_uint_lt((size_t)n, sizeof(pem));
    ck_assert_ptr_null(jwt_key_from_pem(data, (size_t)n, err, sizeof(err)));
    BIO_free(bio);
    ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

/* Every single byte of a good token, changed to any other base64url character or to a
 * byte outside the alphabet, is refused; so is the token with a byte cut off or added. */
START_TEST(test_jwt_tamper_every_byte)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x80";
    enum jwtsign_alg alg = _i == 0 ? JWTSIGN_HS256 : _i == 1 ? JWTSIGN_ES256 : JWTSIGN_RS256;
    const char *hdr = _i == 0 ? HDR_HS : _i == 1 ? HDR_ES : HDR_RS;
    char good[2048], bad[4096];
    struct jwt_claims c;
    const char *why;
    size_t n;

    snprintf(good, sizeof(good), "%s", test_make(alg, hdr, "{" TARGET ",\"exp\":1700000001}"));
    n = strlen(good);
    ck_assert_int_eq(test_verify(good, &test_policy, &c, &why), JWT_OK);
    for (size_t i = 0; i < n; i++) {
        /* RSA is slow: every position, a few replacement characters */
        size_t step = _i == 2 ? 17 : 1;
        for (size_t a = i % step; a < sizeof(alphabet) - 1; a += step) {
            if (alphabet[a] == good[i])
                continue;
            memcpy(bad, good, n + 1);
            bad[i] = alphabet[a];
            ck_assert_msg(test_verify(bad, &test_policy, &c, &why) != JWT_OK,
                          "byte %zu -> '%c' accepted", i, alphabet[a]);
        }
    }
    memcpy(bad, good, n + 1);
    bad[n - 1] = '\0';
    ck_assert_int_ne(test_verify(bad, &test_policy, &c, &why), JWT_OK);
    snprintf(bad, sizeof(bad), "%sA", good);
    ck_assert_int_ne(test_verify(bad, &test_policy, &c, &why), JWT_OK);
    snprintf(bad, sizeof(bad), "A%s", good);
    ck_assert_int_ne(test_verify(bad, &test_policy, &c, &why), JWT_OK);
}
END_TEST

/* The signature is checked before the claims are read: bad claims under a bad signature
 * are a bad signature. */
START_TEST(test_jwt_signature_first)
{
    char tok[2048], *dot;
    struct jwt_claims c;
    const char *why;

    snprintf(tok, sizeof(tok), "%s", test_make(JWTSIGN_HS256, HDR_HS, "[1,2,"));
    ck_assert_int_eq(test_verify(tok, &test_policy, &c, &why), JWT_BAD_JSON);
    dot = strrchr(tok, '.');
    dot[1] = dot[1] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(test_verify(tok, &test_policy, &c, &why), JWT_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_jwt_format)
{
    static const struct {
        const char *token;
        enum jwt_result want;
    } rows[] = {
        {"", JWT_BAD_FORMAT},
        {"abc", JWT_BAD_FORMAT},
        {"a.b", JWT_BAD_FORMAT},
        {"a.b.c.d", JWT_BAD_FORMAT},
        {".eyJ9.c2ln", JWT_BAD_FORMAT},
        {"eyJ9..c2ln", JWT_BAD_FORMAT},
        {"eyJ9 .eyJ9.c2ln", JWT_BAD_BASE64},
        {"e.eyJ9.c2ln", JWT_BAD_BASE64},
        {"eyJhbGciOiJIUzI1NiJ9=.eyJ9.c2ln", JWT_BAD_BASE64},
        {"eyJhbGciOiJIUzI1NiJ9.e.c2ln", JWT_BAD_BASE64},
        {"eyJhbGciOiJIUzI1NiJ9.eyJ9.c2ln", JWT_BAD_SIGNATURE},
        {"bm90IGpzb24.eyJ9.c2ln", JWT_BAD_JSON},
    };
    struct jwt_key key = {.secret = test_secret, .secret_len = SECRET_LEN};
    struct jwt_claims c;
    const char *why;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        ck_assert_msg(test_verify_with(rows[i].token, strlen(rows[i].token), &key, &test_policy, &c,
                                       &why) == rows[i].want,
                      "\"%s\": %s", rows[i].token, why);
    /* a NUL inside the given length is just a bad byte */
    ck_assert_int_eq(test_verify_with("eyJ9\0.eyJ9.c2ln", 15, &key, &test_policy, &c, &why),
                     JWT_BAD_BASE64);
}
END_TEST

/* A token of exactly JWT_TOKEN_MAX bytes verifies; one byte more is refused unread. */
START_TEST(test_jwt_length_limit)
{
    static char claims[JWT_TOKEN_MAX], tok[JWT_TOKEN_MAX * 2];
    struct jwt_key key = {.secret = test_secret, .secret_len = SECRET_LEN};
    struct jwt_claims c;
    const char *why;
    size_t pad = 5000, n = 0;
    int exact = 0;

    /* grow the padding until the token is exactly JWT_TOKEN_MAX long (or one more) */
    for (int extra = 0; extra <= 1; extra++) {
        for (pad = 5000; pad < 7000; pad++) {
            /* strings of up to 1000 bytes: JSONMINI_STRING_MAX holds one of them */
            size_t at = (size_t)snprintf(claims, sizeof(claims), "{" TARGET ",\"exp\":1700000001");
            for (size_t left = pad, k = 0; left > 0; k++) {
                size_t piece = left < 1000 ? left : 1000;
                at += (size_t)snprintf(claims + at, sizeof(claims) - at, ",\"p%zu\":\"", k);
                memset(claims + at, 'x', piece);
                at += piece;
                claims[at++] = '"';
                left -= piece;
            }
            snprintf(claims + at, sizeof(claims) - at, "}");
            n = jwtsign_token(JWTSIGN_HS256, NULL, test_secret, SECRET_LEN, HDR_HS, claims, tok,
                              sizeof(tok));
            if (n >= JWT_TOKEN_MAX + (size_t)extra)
                break;
        }
        if (n != JWT_TOKEN_MAX + (size_t)extra)
            continue; /* this padding skips the length: base64 grows by 4 per 3 bytes */
        ck_assert_int_eq(test_verify_with(tok, n, &key, &test_policy, &c, &why),
                         extra == 0 ? JWT_OK : JWT_BAD_FORMAT);
        exact++;
    }
    ck_assert_int_eq(exact, 2);
    /* whatever the padding gives, a longer token is refused as too long */
    ck_assert_int_eq(test_verify_with(tok, JWT_TOKEN_MAX + 1, &key, &test_policy, &c, &why),
                     JWT_BAD_FORMAT);
}
END_TEST

START_TEST(test_jwt_names)
{
    for (int r = JWT_OK; r <= JWT_INTERNAL; r++)
        ck_assert_str_ne(jwt_result_name((enum jwt_result)r), "?");
    ck_assert_str_eq(jwt_result_name(JWT_EXPIRED), "expired");
    ck_assert_str_eq(jwt_result_name((enum jwt_result)99), "?");
    ck_assert_uint_eq(jwt_alg_from_name("ES256"), JWT_ALG_ES256);
    ck_assert_uint_eq(jwt_alg_from_name("RS256"), JWT_ALG_RS256);
    ck_assert_uint_eq(jwt_alg_from_name("HS256"), JWT_ALG_HS256);
    ck_assert_uint_eq(jwt_alg_from_name("es256"), 0);
    ck_assert_uint_eq(jwt_alg_from_name("none"), 0);
}
END_TEST

static Suite *test_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("jwt");

    tcase_add_unchecked_fixture(tc, test_setup, test_teardown);
    tcase_add_test(tc, test_jwt_good_tokens);
    tcase_add_test(tc, test_jwt_rfc7515_a1);
    tcase_add_loop_test(tc, test_jwt_claims, 0, (int)TEST_N_CLAIMS);
    tcase_add_loop_test(tc, test_jwt_headers, 0, (int)TEST_N_HEADERS);
    tcase_add_test(tc, test_jwt_keys);
    tcase_add_test(tc, test_jwt_key_from_pem);
    tcase_add_loop_test(tc, test_jwt_tamper_every_byte, 0, 3);
    tcase_add_test(tc, test_jwt_signature_first);
    tcase_add_test(tc, test_jwt_format);
    tcase_add_test(tc, test_jwt_length_limit);
    tcase_add_test(tc, test_jwt_names);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_suite)
