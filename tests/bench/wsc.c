/*
 * wsc.c - client side of RFC 6455 for the benchmark: §4.1 request, §4.2.2 answer check
 * (with its own SHA-1 from FIPS 180-4 and base64 from RFC 4648, so the load generator
 * links nothing), §5.3 masking and a §5.2 parser for server frames. Message content is
 * the caller's business: data frames are streamed out as they arrive.
 */
#include "wsc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WSC_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */

static uint32_t wsc_rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void wsc_sha1_block(uint32_t h[5], const uint8_t *blk)
{
    uint32_t w[80];

    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)blk[4 * t] << 24 | (uint32_t)blk[4 * t + 1] << 16 |
               (uint32_t)blk[4 * t + 2] << 8 | blk[4 * t + 3];
    for (int t = 16; t < 80; t++)
        w[t] = wsc_rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t tmp = wsc_rol(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = wsc_rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

/* FIPS 180-4 §6.1 for a message of at most 119 bytes (two blocks after padding), which
 * is all a 24-byte key plus the 36-byte GUID needs. */
static void wsc_sha1(const uint8_t *msg, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    uint8_t buf[128] = {0};
    size_t blocks = len + 9 > 64 ? 2 : 1;
    uint64_t bits = (uint64_t)len * 8;

    memcpy(buf, msg, len);
    buf[len] = 0x80;
    for (int i = 0; i < 8; i++)
        buf[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < blocks; i++)
        wsc_sha1_block(h, buf + 64 * i);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* RFC 4648 §4 with padding; <out> must hold 4 * ceil(len / 3) + 1 bytes. */
static void wsc_base64(char *out, const uint8_t *in, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

void wsc_key_write(char out[WSC_KEY_LEN + 1], const uint8_t raw[16])
{
    wsc_base64(out, raw, 16);
}

size_t wsc_request_write(char *buf, size_t cap, const char *host, const char *path, const char *key)
{
    int n = snprintf(buf, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: binary\r\n"
                     "\r\n",
                     path, host, key);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t wsc_head_len(const uint8_t *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

static bool wsc_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* True when the comma-separated list <v> of <vlen> bytes holds <token> (any case). */
static bool wsc_has_token(const char *v, size_t vlen, const char *token)
{
    size_t tlen = strlen(token);
    size_t i = 0;

    while (i < vlen) {
        size_t start, end;
        while (i < vlen && (wsc_is_space(v[i]) || v[i] == ','))
            i++;
        start = i;
        while (i < vlen && v[i] != ',')
            i++;
        end = i;
        while (end > start && wsc_is_space(v[end - 1]))
            end--;
        if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
            return true;
    }
    return false;
}

bool wsc_response_is_ok(const uint8_t *head, size_t len, const char *key, const char **why)
{
    static const char status[] = "HTTP/1.1 101";
    const char *h = (const char *)head;
    char seed[WSC_KEY_LEN + sizeof(WSC_GUID)];
    uint8_t digest[20];
    char accept[29];
    bool upgrade = false, connection = false, accepted = false;

    if (len < sizeof(status) || memcmp(h, status, sizeof(status) - 1) != 0 ||
        (h[sizeof(status) - 1] != ' ' && h[sizeof(status) - 1] != '\r')) {
        *why = "status is not 101";
        return false;
    }
    snprintf(seed, sizeof(seed), "%s%s", key, WSC_GUID);
    wsc_sha1((const uint8_t *)seed, strlen(seed), digest);
    wsc_base64(accept, digest, sizeof(digest));

    const char *line = memchr(h, '\n', len);
    while (line != NULL && (size_t)(line + 1 - h) < len) {
        const char *start = line + 1;
        const char *end = memchr(start, '\n', len - (size_t)(start - h));
        if (end == NULL)
            break;
        const char *colon = memchr(start, ':', (size_t)(end - start));
        line = end;
        if (colon == NULL)
            continue;
        const char *v = colon + 1;
        const char *vend = end;
        while (vend > v && (vend[-1] == '\r' || wsc_is_space(vend[-1])))
            vend--;
        while (v < vend && wsc_is_space(*v))
            v++;
        size_t nlen = (size_t)(colon - start), vlen = (size_t)(vend - v);
        if (nlen == 7 && strncasecmp(start, "upgrade", 7) == 0)
            upgrade = upgrade || wsc_has_token(v, vlen, "websocket");
        else if (nlen == 10 && strncasecmp(start, "connection", 10) == 0)
            connection = connection || wsc_has_token(v, vlen, "upgrade");
        else if (nlen == 20 && strncasecmp(start, "sec-websocket-accept", 20) == 0)
            accepted = vlen == strlen(accept) && memcmp(v, accept, vlen) == 0;
    }
    if (!upgrade)
        *why = "no Upgrade: websocket";
    else if (!connection)
        *why = "no Connection: upgrade";
    else if (!accepted)
        *why = "wrong or missing Sec-WebSocket-Accept";
    return upgrade && connection && accepted;
}

size_t wsc_header_write(uint8_t out[WSC_HEADER_MAX], uint8_t opcode, uint64_t len,
                        const uint8_t mask[4])
{
    size_t n = 2;

    out[0] = (uint8_t)(0x80 | opcode); /* FIN, no RSV bits */
    if (len < 126) {
        out[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) { /* §5.2: the shortest length encoding */
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    memcpy(out + n, mask, 4);
    return n + 4;
}

void wsc_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4])
{
    uint8_t m8[8];
    uint64_t w, word;
    size_t i = 0;

    memcpy(m8, mask, 4);
    memcpy(m8 + 4, mask, 4);
    memcpy(&word, m8, 8); /* byte order does not matter: loads and stores agree */
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, src + i, 8);
        w ^= word;
        memcpy(dst + i, &w, 8);
    }
    for (; i < len; i++)
        dst[i] = src[i] ^ mask[i & 3];
}

void wsc_parser_init(struct wsc_parser *p)
{
    memset(p, 0, sizeof(*p));
}

static size_t wsc_fail(struct wsc_parser *p, struct wsc_event *ev, const char *reason)
{
    p->failed = true;
    ev->type = WSC_FAIL;
    ev->reason = reason;
    return 0;
}

/* Bytes the header needs once its first two bytes are known. */
static size_t wsc_header_need(const struct wsc_parser *p)
{
    size_t len7 = p->hdr[1] & 0x7f;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((p->hdr[1] & 0x80) ? 4 : 0);
}

/* The header is complete: checks it against §5.2 and §5.5 and enters the payload.
 * Returns NULL, or the reason for a failure. */
static const char *wsc_header_done(struct wsc_parser *p)
{
    uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
    bool fin = b0 & 0x80;
    uint64_t len = b1 & 0x7f;

    if (b0 & 0x70)
        return "reserved bits set";
    if (b1 & 0x80)
        return "masked frame from the server"; /* §5.1 */
    if (len == 126) {
        len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
        if (len < 126)
            return "non-minimal 16-bit length";
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p->hdr[2 + i];
        if (len >> 63)
            return "64-bit length with its top bit set";
        if (len <= 0xffff)
            return "non-minimal 64-bit length";
    }
    p->opcode = b0 & 0x0f;
    switch (p->opcode) {
    case WSC_OP_CLOSE:
    case WSC_OP_PING:
    case WSC_OP_PONG:
        if (!fin || len > WSC_CONTROL_MAX) /* §5.5 */
            return "fragmented or long control frame";
        break;
    case WSC_OP_CONT:
        if (!p->in_message)
            return "continuation outside a message";
        p->in_message = !fin;
        break;
    case WSC_OP_TEXT:
    case WSC_OP_BINARY:
        if (p->in_message)
            return "new message inside a fragmented one";
        p->in_message = !fin;
        break;
    default:
        return "reserved opcode";
    }
    p->payload_left = len;
    p->in_payload = true;
    p->ctl_len = 0;
    p->hdr_len = 0;
    return NULL;
}

/* The current control frame is complete: fills <ev>. Returns NULL or a failure. */
static const char *wsc_control_done(struct wsc_parser *p, struct wsc_event *ev)
{
    ev->data = p->ctl;
    ev->len = p->ctl_len;
    if (p->opcode == WSC_OP_PING) {
        ev->type = WSC_PING;
    } else if (p->opcode == WSC_OP_PONG) {
        ev->type = WSC_PONG;
    } else {
        if (p->ctl_len == 1)
            return "close frame with a one-byte payload"; /* §5.5.1 */
        ev->type = WSC_CLOSE;
        ev->close_code = p->ctl_len == 0 ? 1005 : (uint16_t)(p->ctl[0] << 8 | p->ctl[1]);
    }
    return NULL;
}

size_t wsc_parser_feed(struct wsc_parser *p, const uint8_t *in, size_t len, struct wsc_event *ev)
{
    size_t used = 0;
    const char *why;

    ev->type = WSC_NONE;
    if (p->failed)
        return wsc_fail(p, ev, "parser already failed");
    while (used < len) {
        if (!p->in_payload) {
            size_t need = p->hdr_len < 2 ? 2 : wsc_header_need(p);
            size_t n = need - p->hdr_len;
            if (n > len - used)
                n = len - used;
            memcpy(p->hdr + p->hdr_len, in + used, n);
            p->hdr_len += n;
            used += n;
            if (p->hdr_len < 2 || p->hdr_len < wsc_header_need(p))
                continue;
            if ((why = wsc_header_done(p)) != NULL)
                return wsc_fail(p, ev, why);
        } else if (p->opcode < WSC_OP_CLOSE) {
            size_t n = p->payload_left < len - used ? (size_t)p->payload_left : len - used;
            ev->type = WSC_DATA;
            ev->data = in + used;
            ev->len = n;
            p->payload_left -= n;
            used += n;
        } else {
            size_t n = p->payload_left < len - used ? (size_t)p->payload_left : len - used;
            memcpy(p->ctl + p->ctl_len, in + used, n);
            p->ctl_len += n;
            p->payload_left -= n;
            used += n;
        }
        if (p->in_payload && p->payload_left == 0) {
            p->in_payload = false;
            if (p->opcode >= WSC_OP_CLOSE && (why = wsc_control_done(p, ev)) != NULL)
                return wsc_fail(p, ev, why);
        }
        if (ev->type != WSC_NONE)
            return used;
    }
    return used;
}
