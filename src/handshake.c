/*
 * handshake.c - RFC 6455 §4.2.1 checks on a parsed request and the §4.2.2 answer values:
 * Sec-WebSocket-Accept (SHA-1 and base64 through OpenSSL's EVP) and the subprotocol.
 * Parsing is http_req.c's, the answer bytes are http_reply.c's; nothing here does I/O.
 */
#include "handshake.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "http_req.h"

#define HANDSHAKE_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */
#define HANDSHAKE_GUID_LEN (sizeof(HANDSHAKE_GUID) - 1)
#define HANDSHAKE_KEY_LEN 24 /* RFC 6455 §4.1: base64 of a 16-byte nonce, "==" included */
#define HANDSHAKE_KEY_MAX 64 /* longest key handshake_accept_key() takes */
#define HANDSHAKE_SHA1_LEN 20

/* Sets *<error> to <why> and returns <status>, so that a failed check is one line. */
static int handshake_refuse(const char **error, int status, const char *why)
{
    *error = why;
    return status;
}

static bool handshake_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* True for the 64 characters of the RFC 4648 §4 alphabet (not the '=' pad). */
static bool handshake_is_base64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* True if <key> (<len> bytes) is base64 of exactly 16 bytes: 22 alphabet characters then
 * "==", which is the only spelling of 16 bytes in padded base64. */
static bool handshake_key_is_valid(const char *key, size_t len)
{
    unsigned char raw[HANDSHAKE_KEY_LEN / 4 * 3];
    size_t i;

    if (len != HANDSHAKE_KEY_LEN || key[22] != '=' || key[23] != '=')
        return false;
    for (i = 0; i < 22; i++)
        if (!handshake_is_base64(key[i]))
            return false;
    /* EVP_DecodeBlock() counts the two pad characters as zero bytes: 18 means 16. */
    return EVP_DecodeBlock(raw, (const unsigned char *)key, HANDSHAKE_KEY_LEN) == 18;
}

/* Finds the next element of the comma-separated list at <p>: sets *<tok> and *<tok_len>
 * to it without its OWS (empty elements give 0) and returns where the next one starts. */
static const char *handshake_next_token(const char *p, const char **tok, size_t *tok_len)
{
    const char *end, *last;

    while (handshake_is_ows(*p))
        p++;
    end = strchrnul(p, ',');
    *tok = p;
    for (last = end; last > p && handshake_is_ows(last[-1]); last--)
        ;
    *tok_len = (size_t)(last - p);
    return *end == ',' ? end + 1 : end;
}

/* Picks the subprotocol for <req> under <pol> into *<chosen> (NULL for none). Returns 0,
 * or -1 if <pol> has a list and the client offered nothing from it. Names compare exactly:
 * RFC 6455 §4.1 has the client fail a reply naming anything but one of its own values. */
static int handshake_choose_subprotocol(const struct http_req *req,
                                        const struct handshake_policy *pol, const char **chosen)
{
    bool listed = pol != NULL && pol->subprotocols != NULL && pol->n_subprotocols > 0;
    const char *p, *tok;
    size_t i, j, n;

    *chosen = NULL;
    /* RFC 6455 §4.2.2 item 5.4: one value, the first offered that we accept; the offers
     * may span several header lines, in the order they were sent. */
    for (i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "Sec-WebSocket-Protocol") != 0)
            continue;
        for (p = req->headers[i].value; *p != '\0';) {
            p = handshake_next_token(p, &tok, &n);
            if (n == 0)
                continue;
            if (!listed) {
                if (n == strlen("binary") && memcmp(tok, "binary", n) == 0) {
                    *chosen = "binary";
                    return 0;
                }
                continue;
            }
            for (j = 0; j < pol->n_subprotocols; j++) {
                if (strlen(pol->subprotocols[j]) == n &&
                    memcmp(pol->subprotocols[j], tok, n) == 0) {
                    *chosen = pol->subprotocols[j];
                    return 0;
                }
            }
        }
    }
    return listed ? -1 : 0;
}

/* Runs the RFC 6455 §4.2.1 checks on <req> in the order handshake.h gives. Returns 0 when
 * all pass, with *<key> and *<key_len> the trimmed key; else the status, with *<error>. */
static int handshake_verdict(const struct http_req *req, const char **key, size_t *key_len,
                             const char **error)
{
    const char *version;
    size_t count;

    /* item 1: an HTTP/1.1 or higher GET request */
    if (strcmp(req->method, "GET") != 0)
        return handshake_refuse(error, 405, "method is not GET");
    if (req->http_major < 1 || (req->http_major == 1 && req->http_minor < 1))
        return handshake_refuse(error, 400, "HTTP version below 1.1");
    /* item 2; RFC 7230 §5.4: a request with more than one Host gets 400 */
    count = http_req_header_count(req, "Host");
    if (count != 1)
        return handshake_refuse(error, 400, count == 0 ? "no Host" : "more than one Host");
    /* RFC 6454 §7.3: one Origin at most; two would leave the access rules to guess. */
    if (http_req_header_count(req, "Origin") > 1)
        return handshake_refuse(error, 400, "more than one Origin");
    /* What follows the head is read as frames, so a body would be too. */
    if (req->has_body)
        return handshake_refuse(error, 400, "request has a body");
    /* items 3 and 4: tokens, case-insensitive, possibly among others */
    if (!http_req_has_token(req, "Upgrade", "websocket"))
        return handshake_refuse(error, 400, "no Upgrade: websocket");
    if (!http_req_has_token(req, "Connection", "upgrade"))
        return handshake_refuse(error, 400, "no Connection: upgrade");
    /* item 6, and §4.4: any other version is answered with 426 and the one we speak */
    version = http_req_header(req, "Sec-WebSocket-Version");
    if (http_req_header_count(req, "Sec-WebSocket-Version") != 1 || strcmp(version, "13") != 0)
        return handshake_refuse(error, 426, "Sec-WebSocket-Version is not 13");
    /* item 5 */
    count = http_req_header_count(req, "Sec-WebSocket-Key");
    if (count != 1)
        return handshake_refuse(
            error, 400, count == 0 ? "no Sec-WebSocket-Key" : "more than one Sec-WebSocket-Key");
    /* http_req.c has trimmed the value of its surrounding OWS already */
    *key = http_req_header(req, "Sec-WebSocket-Key");
    *key_len = strlen(*key);
    if (!handshake_key_is_valid(*key, *key_len))
        return handshake_refuse(error, 400, "Sec-WebSocket-Key is not base64 of 16 bytes");
    return 0;
}

/* True if <req> (a DONE head) carries an "Upgrade: websocket" token, in any case. */
bool handshake_is_upgrade(const struct http_req *req)
{
    return http_req_has_token(req, "Upgrade", "websocket");
}

/* Checks <req> (a DONE head) in the order handshake.h gives and fills <res>: 101 with the
 * accept value and subprotocol, or an error status and a static reason. <pol> may be NULL;
 * the chosen subprotocol points into <pol> or at a static string. */
void handshake_check(const struct http_req *req, const struct handshake_policy *pol,
                     struct handshake_result *res)
{
    const char *key = NULL;
    size_t key_len = 0;

    memset(res, 0, sizeof(*res));
    res->status = handshake_verdict(req, &key, &key_len, &res->error);
    if (res->status != 0)
        return;
    if (handshake_choose_subprotocol(req, pol, &res->subprotocol) != 0) {
        res->status = handshake_refuse(&res->error, 400, "no offered subprotocol is allowed");
        return;
    }
    if (handshake_accept_key(key, key_len, res->accept) != 0) {
        res->subprotocol = NULL;
        res->status = handshake_refuse(&res->error, 500, "Sec-WebSocket-Accept: OpenSSL failed");
        return;
    }
    res->status = 101;
}

/* Writes base64(SHA-1(<key> + GUID)) for <key> (<key_len> bytes, at most 64) into <out>
 * (HANDSHAKE_ACCEPT_LEN + 1 bytes, NUL-terminated). Returns 0, or -1 if <key_len> is too
 * long or OpenSSL failed; does not check that <key> is a valid key. */
int handshake_accept_key(const char *key, size_t key_len, char *out)
{
    unsigned char in[HANDSHAKE_KEY_MAX + HANDSHAKE_GUID_LEN];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (key_len > HANDSHAKE_KEY_MAX)
        return -1;
    memcpy(in, key, key_len);
    memcpy(in + key_len, HANDSHAKE_GUID, HANDSHAKE_GUID_LEN); /* RFC 6455 §4.2.2 item 5.4 */
    if (EVP_Digest(in, key_len + HANDSHAKE_GUID_LEN, md, &md_len, EVP_sha1(), NULL) != 1 ||
        md_len != HANDSHAKE_SHA1_LEN) {
        /* Leave no stale error behind: a later SSL_get_error() on this thread would read
         * it as its own. */
        ERR_clear_error();
        return -1;
    }
    /* 20 bytes make 28 characters and a NUL, which fits <out> exactly. */
    if (EVP_EncodeBlock((unsigned char *)out, md, (int)md_len) != HANDSHAKE_ACCEPT_LEN)
        return -1;
    return 0;
}
