/*
 * tlsticket.c - session ticket keys for OpenSSL's ticket callback: a current key that seals
 * new tickets and the previous one that still opens the tickets it sealed (the client is then
 * given a fresh ticket). AES-256-CBC with HMAC-SHA256, OpenSSL's own ticket format; only the
 * keys are ours, so that they outlive a reload's new SSL_CTX.
 */
#include "tlsticket.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define TLSTICKET_NAME_LEN 16 /* the key name OpenSSL puts at the front of a ticket */
#define TLSTICKET_KEY_LEN 32  /* AES-256 and HMAC-SHA256 keys */

struct tlsticket_key {
    unsigned char name[TLSTICKET_NAME_LEN];
    unsigned char aes[TLSTICKET_KEY_LEN];
    unsigned char hmac[TLSTICKET_KEY_LEN];
    time_t made; /* CLOCK_MONOTONIC seconds; 0: no key in this slot */
};

/* The process's keys: [0] seals and opens, [1] (the previous one) only opens. */
static struct {
    pthread_mutex_t lock;
    struct tlsticket_key keys[2];
    EVP_CIPHER *cipher; /* fetched once, not per ticket */
    int ready;
} tlsticket = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The rotation period of each listener's contexts, in seconds, kept in the SSL_CTX. */
static int tlsticket_ex_index = -1;

static time_t tlsticket_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1; /* never 0, which marks an empty slot */
}

/* A new random key into <k>, made now. 0, or -1 if the generator failed. */
static int tlsticket_key_make(struct tlsticket_key *k)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_priv_bytes(k->aes, sizeof(k->aes)) != 1 ||
        RAND_priv_bytes(k->hmac, sizeof(k->hmac)) != 1)
        return -1;
    k->made = tlsticket_now();
    return 0;
}

int tlsticket_init(void)
{
    int rc = 0;

    pthread_mutex_lock(&tlsticket.lock);
    if (!tlsticket.ready) {
        if (tlsticket_ex_index < 0)
            tlsticket_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        if (tlsticket.cipher == NULL)
            tlsticket.cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
        if (tlsticket_ex_index < 0 || tlsticket.cipher == NULL ||
            tlsticket_key_make(&tlsticket.keys[0]) != 0)
            rc = -1;
        else
            tlsticket.ready = 1;
    }
    pthread_mutex_unlock(&tlsticket.lock);
    return rc;
}

/* Sets up <hctx> for HMAC-SHA256 with <key>. 1, or 0 on failure. */
static int tlsticket_hmac_init(EVP_MAC_CTX *hctx, const unsigned char *key)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)key, TLSTICKET_KEY_LEN),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };

    return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

/* OpenSSL's ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb), after replacing the
 * current key if it is older than the rotation period: <enc> 1 seals a new ticket with the
 * current key; <enc> 0 opens one
 * whose key is named <name>: 1 with the current key, 2 (open, then issue a fresh ticket)
 * with the previous one, 0 (a full handshake) with a key this process no longer has or
 * never had; -1 on an internal failure. */
static int tlsticket_on_ticket(SSL *ssl, unsigned char name[16], unsigned char iv[16],
                               EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    unsigned rotation = (unsigned)(size_t)SSL_CTX_get_ex_data(ctx, tlsticket_ex_index);
    struct tlsticket_key k;
    int rc = 0;

    pthread_mutex_lock(&tlsticket.lock);
    /* Checked on opening too: a resumed TLS 1.3 handshake seals no new ticket unless its
     * key was the previous one, so sealing alone would let a busy key live on. */
    if (rotation > 0 && tlsticket_now() - tlsticket.keys[0].made >= (time_t)rotation) {
        struct tlsticket_key fresh;
        if (tlsticket_key_make(&fresh) == 0) {
            tlsticket.keys[1] = tlsticket.keys[0];
            tlsticket.keys[0] = fresh;
        }
        OPENSSL_cleanse(&fresh, sizeof(fresh));
    }
    if (enc) {
        k = tlsticket.keys[0];
        rc = 1;
    } else {
        for (int i = 0; i < 2 && rc == 0; i++)
            if (tlsticket.keys[i].made != 0 &&
                memcmp(name, tlsticket.keys[i].name, TLSTICKET_NAME_LEN) == 0) {
                k = tlsticket.keys[i];
                rc = i == 0 ? 1 : 2;
            }
    }
    pthread_mutex_unlock(&tlsticket.lock);
    if (rc == 0)
        return 0;
    if (enc) {
        memcpy(name, k.name, TLSTICKET_NAME_LEN);
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(tlsticket.cipher)) != 1 ||
            EVP_EncryptInit_ex(cctx, tlsticket.cipher, NULL, k.aes, iv) != 1)
            rc = -1;
    } else if (EVP_DecryptInit_ex(cctx, tlsticket.cipher, NULL, k.aes, iv) != 1) {
        rc = -1;
    }
    if (rc > 0 && !tlsticket_hmac_init(hctx, k.hmac))
        rc = -1;
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

void tlsticket_use(SSL_CTX *ctx, unsigned rotation_s)
{
    SSL_CTX_set_ex_data(ctx, tlsticket_ex_index, (void *)(size_t)rotation_s);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tlsticket_on_ticket);
}
