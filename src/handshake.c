/*
 * handshake.c - RFC 6455 §4.2.1 checks on a parsed request and the §4.2.2 answer values:
 * Sec-WebSocket-Accept (SHA-1 and base64 through OpenSSL's EVP) and the subprotocol.
 * Parsing is http_req.c's, the answer bytes are http_reply.c's; nothing here does I/O.
 */
#include "handshake.h"

#include <assert.h>
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

static_assert(HANDSHAKE_SUBPROTOCOL_MAX == 128, "a message below names the limit");

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

/* True for an RFC 7230 §3.2.6 tchar. */
static bool handshake_is_tchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* True if the <n> bytes at <tok> are a token: one or more tchars. */
static bool handshake_is_token(const char *tok, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!handshake_is_tchar(tok[i]))
            return false;
    return n > 0;
}

/* Walks every offered subprotocol of <req> in order: the Sec-WebSocket-Protocol lines as
 * sent, each a comma-separated list. Calls <pick> on each non-empty element until it
 * returns true; returns 1 then, 0 if none was picked, -1 if an element is not a token
 * (every element is checked before any is picked). */
static int handshake_walk_offers(const struct http_req *req,
                                 bool (*pick)(const char *tok, size_t n, void *arg), void *arg)
{
    const char *p, *tok;
    size_t i, n;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < req->n_headers; i++) {
            if (strcasecmp(req->headers[i].name, "Sec-WebSocket-Protocol") != 0)
                continue;
            for (p = req->headers[i].value; *p != '\0';) {
                p = handshake_next_token(p, &tok, &n);
                if (n == 0) /* RFC 7230 §7: empty elements are ignored */
                    continue;
                if (pass == 0 && !handshake_is_token(tok, n))
                    return -1;
                if (pass == 1 && pick(tok, n, arg))
                    return 1;
            }
        }
    }
    return 0;
}

/* What the pickers below share: the policy, the result being filled, and whether an
 * offer was passed over for its length. */
struct handshake_choice {
    const struct handshake_policy *pol;
    struct handshake_result *res;
    bool too_long; /* HANDSHAKE_SUBPROTO_FIRST_OFFERED: a name over the limit was offered */
};

/* A policy list: the offer if the list has it, as the list's own string. */
static bool handshake_pick_listed(const char *tok, size_t n, void *arg)
{
    struct handshake_choice *ch = arg;
    size_t j;

    for (j = 0; j < ch->pol->n_subprotocols; j++) {
        if (strlen(ch->pol->subprotocols[j]) == n &&
            memcmp(ch->pol->subprotocols[j], tok, n) == 0) {
            ch->res->subprotocol = ch->pol->subprotocols[j];
            return true;
        }
    }
    return false;
}

/* HANDSHAKE_SUBPROTO_BINARY: "binary" only, as a static string. */
static bool handshake_pick_binary(const char *tok, size_t n, void *arg)
{
    struct handshake_choice *ch = arg;

    if (n != strlen("binary") || memcmp(tok, "binary", n) != 0)
        return false;
    ch->res->subprotocol = "binary";
    return true;
}

/* HANDSHAKE_SUBPROTO_FIRST_OFFERED: any name that fits, copied into the result, because
 * the request's memory is gone by the time the 101 is written. */
static bool handshake_pick_first(const char *tok, size_t n, void *arg)
{
    struct handshake_choice *ch = arg;

    if (n > HANDSHAKE_SUBPROTOCOL_MAX) {
        ch->too_long = true;
        return false;
    }
    memcpy(ch->res->offered, tok, n);
    ch->res->offered[n] = '\0';
    ch->res->subprotocol = ch->res->offered;
    return true;
}

/* Picks the subprotocol for <req> under <pol> (NULL: HANDSHAKE_SUBPROTO_BINARY) into
 * <res> (its subprotocol left NULL for none), by the rules handshake.h gives. Returns 0,
 * or -1 with *<error> set when the answer is 400. */
static int handshake_choose_subprotocol(const struct http_req *req,
                                        const struct handshake_policy *pol,
                                        struct handshake_result *res, const char **error)
{
    struct handshake_choice ch = {.pol = pol, .res = res};
    bool listed = pol != NULL && pol->subprotocols != NULL && pol->n_subprotocols > 0;
    bool (*pick)(const char *, size_t, void *) = handshake_pick_binary;
    int found;

    res->subprotocol = NULL;
    if (listed)
        pick = handshake_pick_listed;
    else if (pol != NULL && pol->mode == HANDSHAKE_SUBPROTO_FIRST_OFFERED)
        pick = handshake_pick_first;
    /* RFC 6455 §4.2.2 item 5.4: one value, the first offered that we accept; the offers
     * may span several header lines, in the order they were sent. A bridge of bytes
     * prefers "binary" wherever it is offered, as websockify does: clients that offer it
     * next to others ("binary, base64") mean the byte stream. */
    found = pick == handshake_pick_first ? handshake_walk_offers(req, handshake_pick_binary, &ch)
                                         : 0;
    if (found == 0)
        found = handshake_walk_offers(req, pick, &ch);
    if (found < 0) {
        *error = "Sec-WebSocket-Protocol is not a list of tokens";
        return -1;
    }
    if (found == 0 && listed) {
        *error = "no offered subprotocol is allowed";
        return -1;
    }
    if (found == 0 && ch.too_long) {
        *error = "every offered subprotocol is longer than 128 bytes";
        return -1;
    }
    return 0;
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
 * the chosen subprotocol points into <pol>, at a static string or at <res>->offered. */
void handshake_check(const struct http_req *req, const struct handshake_policy *pol,
                     struct handshake_result *res)
{
    const char *key = NULL;
    size_t key_len = 0;

    memset(res, 0, sizeof(*res));
    res->status = handshake_verdict(req, &key, &key_len, &res->error);
    if (res->status != 0)
        return;
    if (handshake_choose_subprotocol(req, pol, res, &res->error) != 0) {
        res->subprotocol = NULL;
        res->offered[0] = '\0';
        res->status = 400;
        return;
    }
    if (handshake_accept_key(key, key_len, pol != NULL ? pol->sha1 : NULL, res->accept) != 0) {
        res->subprotocol = NULL;
        res->offered[0] = '\0';
        res->status = handshake_refuse(&res->error, 500, "Sec-WebSocket-Accept: OpenSSL failed");
        return;
    }
    res->status = 101;
}

/* Writes base64(SHA-1(<key> + GUID)) for <key> (<key_len> bytes, at most 64) into <out>
 * (HANDSHAKE_ACCEPT_LEN + 1 bytes, NUL-terminated), hashing with <sha1> (NULL: EVP_sha1()).
 * Returns 0, or -1 if <key_len> is too long or OpenSSL failed; does not check that <key>
 * is a valid key. */
int handshake_accept_key(const char *key, size_t key_len, const EVP_MD *sha1, char *out)
{
    unsigned char in[HANDSHAKE_KEY_MAX + HANDSHAKE_GUID_LEN];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (key_len > HANDSHAKE_KEY_MAX)
        return -1;
    memcpy(in, key, key_len);
    memcpy(in + key_len, HANDSHAKE_GUID, HANDSHAKE_GUID_LEN); /* RFC 6455 §4.2.2 item 5.4 */
    if (EVP_Digest(in, key_len + HANDSHAKE_GUID_LEN, md, &md_len, sha1 != NULL ? sha1 : EVP_sha1(), NULL) != 1 ||
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
