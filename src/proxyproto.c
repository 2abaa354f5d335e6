/*
 * proxyproto.c - the PROXY protocol header, versions 1 and 2 (HAProxy's
 * doc/proxy-protocol.txt), read incrementally and written into caller memory. No I/O:
 * whether a peer may send a header, the deadline and the close are the caller's.
 * The reader keeps the header in its own buffer, so its verdict never depends on how
 * TCP split the bytes; it scans what it has again on every feed (at most 107 bytes for
 * v1, the 16 fixed bytes for v2 until its length is known).
 */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#define PROXYPROTO_V1_SIG "PROXY "
#define PROXYPROTO_V1_SIG_LEN 6
#define PROXYPROTO_V2_SIG_LEN 12
#define PROXYPROTO_V2_ADDR_INET 12  /* 2 * 4 + 2 * 2 */
#define PROXYPROTO_V2_ADDR_INET6 36 /* 2 * 16 + 2 * 2 */
#define PROXYPROTO_V2_UNIX_PATH 108 /* spec §2.2: each AF_UNIX address */
#define PROXYPROTO_V2_ADDR_UNIX 216 /* 2 * 108 */
#define PROXYPROTO_CMD_LOCAL 0x0
#define PROXYPROTO_CMD_PROXY 0x1
#define PROXYPROTO_FAM_UNSPEC 0x0
#define PROXYPROTO_FAM_INET 0x1
#define PROXYPROTO_FAM_INET6 0x2
#define PROXYPROTO_FAM_UNIX 0x3
#define PROXYPROTO_PROTO_UNSPEC 0x0
#define PROXYPROTO_PROTO_STREAM 0x1
#define PROXYPROTO_PROTO_DGRAM 0x2
#define PROXYPROTO_TLV_HEAD 3     /* type, 16-bit length */
#define PROXYPROTO_SSL_FIXED 5    /* client, 32-bit verify */
#define PROXYPROTO_V6_TEXT_MAX 45 /* "ffff:...:255.255.255.255" */

static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == PROXYPROTO_V2_UNIX_PATH,
              "AF_UNIX addresses of the header map onto sun_path");
static_assert(PROXYPROTO_V2_MAX_BYTES >= PROXYPROTO_V2_FIXED_BYTES + PROXYPROTO_V2_ADDR_UNIX,
              "the largest address block fits");

static const uint8_t proxyproto_v2_sig[PROXYPROTO_V2_SIG_LEN] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

void proxyproto_init(struct proxyproto *p, enum proxyproto_mode mode)
{
    memset(p, 0, offsetof(struct proxyproto, buf));
    p->mode = mode;
    p->result = PROXYPROTO_MORE;
}

static enum proxyproto_result proxyproto_fail(struct proxyproto *p, const char *why)
{
    p->result = PROXYPROTO_FAIL;
    p->error = why;
    return PROXYPROTO_FAIL;
}

static enum proxyproto_result proxyproto_done(struct proxyproto *p, size_t header_bytes)
{
    p->result = PROXYPROTO_DONE;
    p->header_bytes = header_bytes;
    return PROXYPROTO_DONE;
}

static uint16_t proxyproto_be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t proxyproto_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint32_t proxyproto_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u))); /* reflected Castagnoli */
    }
    return ~crc;
}

/* ---- version 1 ---- */

static bool proxyproto_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A decimal number of 1..<max_digits> digits at <s>[0..n), no leading zero (spec §2.1:
 * "0" alone is fine), at most <max>. */
static bool proxyproto_v1_number(const char *s, size_t n, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!proxyproto_is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* Exactly four decimal parts 0..255 separated by single dots, no leading zeros. */
static bool proxyproto_v1_ipv4(const char *s, size_t n, struct in_addr *out)
{
    uint8_t bytes[4];
    size_t part = 0, start = 0;
    unsigned v;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        if (part == 4 || i - start > 3 || !proxyproto_v1_number(s + start, i - start, 255, &v))
            return false;
        bytes[part++] = (uint8_t)v;
        start = i + 1;
    }
    if (part != 4)
        return false;
    memcpy(out, bytes, 4);
    return true;
}

/* An IPv6 address as inet_pton reads it (hex groups, one "::", an IPv4 tail as HAProxy's
 * inet_ntop writes for mapped addresses); no zone, no brackets. */
static bool proxyproto_v1_ipv6(const char *s, size_t n, struct in6_addr *out)
{
    char text[PROXYPROTO_V6_TEXT_MAX + 1];

    if (n < 2 || n > PROXYPROTO_V6_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!proxyproto_is_digit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') &&
            c != ':' && c != '.')
            return false;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, out) == 1;
}

/* Parses the whole line of <line_len> bytes (CRLF included) in p->buf: "PROXY " is
 * known to open it and every byte before the CRLF to be printable ASCII. */
static enum proxyproto_result proxyproto_v1_line(struct proxyproto *p, size_t line_len)
{
    const char *s = (const char *)p->buf + PROXYPROTO_V1_SIG_LEN;
    size_t n = line_len - 2 - PROXYPROTO_V1_SIG_LEN, start = 0, nf = 0;
    const char *f[5];
    size_t fl[5];
    unsigned sport, dport;
    struct proxyproto_header *h = &p->hdr;
    bool v6;

    h->version = 1;
    /* spec §2.1: after UNKNOWN the receiver ignores anything before the CRLF */
    if (n >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (n == 7 || s[7] == ' ')) {
        h->local = true;
        return proxyproto_done(p, line_len);
    }
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ' ')
            continue;
        if (i == start)
            return proxyproto_fail(p, "v1: empty field (two spaces, or a space at the end)");
        if (nf == 5)
            return proxyproto_fail(p, "v1: more than four fields after the protocol");
        f[nf] = s + start;
        fl[nf++] = i - start;
        start = i + 1;
    }
    if (fl[0] == 4 && memcmp(f[0], "TCP4", 4) == 0)
        v6 = false;
    else if (fl[0] == 4 && memcmp(f[0], "TCP6", 4) == 0)
        v6 = true;
    else
        return proxyproto_fail(p, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
    if (nf != 5)
        return proxyproto_fail(p, "v1: fewer than four fields after the protocol");
    if (!proxyproto_v1_number(f[3], fl[3], 65535, &sport) ||
        !proxyproto_v1_number(f[4], fl[4], 65535, &dport))
        return proxyproto_fail(p, "v1: port is not a number 0..65535 without leading zero");
    if (!v6) {
        struct sockaddr_in *src = (struct sockaddr_in *)&h->src;
        struct sockaddr_in *dst = (struct sockaddr_in *)&h->dst;

        if (!proxyproto_v1_ipv4(f[1], fl[1], &src->sin_addr) ||
            !proxyproto_v1_ipv4(f[2], fl[2], &dst->sin_addr))
            return proxyproto_fail(p, "v1: TCP4 address is not a dotted quad");
        src->sin_family = dst->sin_family = AF_INET;
        src->sin_port = htons((uint16_t)sport);
        dst->sin_port = htons((uint16_t)dport);
        h->src_len = h->dst_len = sizeof(struct sockaddr_in);
    } else {
        struct sockaddr_in6 *src = (struct sockaddr_in6 *)&h->src;
        struct sockaddr_in6 *dst = (struct sockaddr_in6 *)&h->dst;

        if (!proxyproto_v1_ipv6(f[1], fl[1], &src->sin6_addr) ||
            !proxyproto_v1_ipv6(f[2], fl[2], &dst->sin6_addr))
            return proxyproto_fail(p, "v1: TCP6 address is not an IPv6 address");
        src->sin6_family = dst->sin6_family = AF_INET6;
        src->sin6_port = htons((uint16_t)sport);
        dst->sin6_port = htons((uint16_t)dport);
        h->src_len = h->dst_len = sizeof(struct sockaddr_in6);
    }
    return proxyproto_done(p, line_len);
}

/* Decides what the bytes so far of a v1 line are. Every decision at byte i depends on
 * bytes 0..i+1 only, and the scan stops at the first one, so that any split of the same
 * bytes gets the same verdict. */
static enum proxyproto_result proxyproto_v1_scan(struct proxyproto *p)
{
    const uint8_t *b = p->buf;

    for (size_t i = 0; i < p->have; i++) {
        if (i < PROXYPROTO_V1_SIG_LEN) {
            if (b[i] != (uint8_t)PROXYPROTO_V1_SIG[i])
                return proxyproto_fail(p, "v1: line does not start with \"PROXY \"");
            continue;
        }
        if (b[i] == '\r') {
            if (i + 2 > PROXYPROTO_V1_MAX_BYTES)
                return proxyproto_fail(p, "v1: line longer than 107 bytes");
            if (i + 1 == p->have)
                return PROXYPROTO_MORE;
            if (b[i + 1] != '\n')
                return proxyproto_fail(p, "v1: CR not followed by LF");
            return proxyproto_v1_line(p, i + 2);
        }
        if (b[i] == '\n')
            return proxyproto_fail(p, "v1: LF without CR");
        if (b[i] < 0x20 || b[i] > 0x7e)
            return proxyproto_fail(p, "v1: byte that is not printable ASCII");
        /* this byte is not the CR of the line end, so the CRLF comes after it */
        if (i + 3 > PROXYPROTO_V1_MAX_BYTES)
            return proxyproto_fail(p, "v1: line longer than 107 bytes");
    }
    return PROXYPROTO_MORE;
}

/* ---- version 2 ---- */

/* Records TLV value <v> of <len> bytes in <slot>; a second one of the same type fails. */
static bool proxyproto_v2_keep(struct proxyproto_tlv *slot, uint8_t type, const uint8_t *v,
                               uint16_t len)
{
    if (slot->value != NULL)
        return false;
    *slot = (struct proxyproto_tlv){.type = type, .len = len, .value = v};
    return true;
}

/* The SSL TLV's value <v> of <len> bytes (spec §2.2.6): client bits, verify result, then
 * sub-TLVs that fill it exactly. */
static enum proxyproto_result proxyproto_v2_ssl(struct proxyproto *p, const uint8_t *v, size_t len)
{
    struct proxyproto_header *h = &p->hdr;
    size_t off = PROXYPROTO_SSL_FIXED;

    if (h->ssl)
        return proxyproto_fail(p, "v2: a TLV appears twice");
    if (len < PROXYPROTO_SSL_FIXED)
        return proxyproto_fail(p, "v2: SSL TLV shorter than 5 bytes");
    h->ssl = true;
    h->ssl_client = v[0];
    h->ssl_verify = proxyproto_be32(v + 1);
    while (off < len) {
        struct proxyproto_tlv *slot = NULL;
        uint8_t type;
        uint16_t sub_len;

        if (len - off < PROXYPROTO_TLV_HEAD)
            return proxyproto_fail(p, "v2: truncated SSL sub-TLV");
        type = v[off];
        sub_len = proxyproto_be16(v + off + 1);
        if (sub_len > len - off - PROXYPROTO_TLV_HEAD)
            return proxyproto_fail(p, "v2: SSL sub-TLV runs past the SSL TLV");
        if (type == PROXYPROTO_SUBTLV_SSL_VERSION)
            slot = &h->ssl_version;
        else if (type == PROXYPROTO_SUBTLV_SSL_CN)
            slot = &h->ssl_cn;
        else if (type == PROXYPROTO_SUBTLV_SSL_CIPHER)
            slot = &h->ssl_cipher;
        if (slot != NULL && !proxyproto_v2_keep(slot, type, v + off + 3, sub_len))
            return proxyproto_fail(p, "v2: an SSL sub-TLV appears twice");
        off += PROXYPROTO_TLV_HEAD + sub_len;
    }
    return PROXYPROTO_MORE;
}

/* The TLVs in p->buf[off..end): each must lie inside the header and the list must end
 * exactly at <end>. A CRC32c TLV is checked over the whole header with its value zeroed
 * (spec §2.2.3). Returns MORE when they are fine (the caller then says DONE). */
static enum proxyproto_result proxyproto_v2_tlvs(struct proxyproto *p, size_t off, size_t end)
{
    static const uint8_t zeros[4] = {0, 0, 0, 0};
    struct proxyproto_header *h = &p->hdr;
    const uint8_t *b = p->buf;

    while (off < end) {
        struct proxyproto_tlv *slot = NULL;
        const uint8_t *v = b + off + PROXYPROTO_TLV_HEAD;
        uint8_t type;
        uint16_t len;
        uint32_t crc;

        if (end - off < PROXYPROTO_TLV_HEAD)
            return proxyproto_fail(p, "v2: truncated TLV");
        type = b[off];
        len = proxyproto_be16(b + off + 1);
        if (len > end - off - PROXYPROTO_TLV_HEAD)
            return proxyproto_fail(p, "v2: TLV runs past the header length");
        switch (type) {
        case PROXYPROTO_TLV_ALPN:
            slot = &h->alpn;
            break;
        case PROXYPROTO_TLV_AUTHORITY:
            if (len > PROXYPROTO_AUTHORITY_MAX)
                return proxyproto_fail(p, "v2: AUTHORITY TLV longer than 255 bytes");
            slot = &h->authority;
            break;
        case PROXYPROTO_TLV_UNIQUE_ID:
            if (len > PROXYPROTO_UNIQUE_ID_MAX)
                return proxyproto_fail(p, "v2: UNIQUE_ID TLV longer than 128 bytes");
            slot = &h->unique_id;
            break;
        case PROXYPROTO_TLV_NETNS:
            slot = &h->netns;
            break;
        case PROXYPROTO_TLV_CRC32C:
            if (len != 4)
                return proxyproto_fail(p, "v2: CRC32C TLV is not 4 bytes");
            if (h->crc32c)
                return proxyproto_fail(p, "v2: a TLV appears twice");
            crc = proxyproto_crc32c(0, b, (size_t)(v - b));
            crc = proxyproto_crc32c(crc, zeros, 4);
            crc = proxyproto_crc32c(crc, v + 4, p->header_bytes - (size_t)(v + 4 - b));
            if (crc != proxyproto_be32(v))
                return proxyproto_fail(p, "v2: CRC32C does not match");
            h->crc32c = true;
            break;
        case PROXYPROTO_TLV_SSL:
            if (proxyproto_v2_ssl(p, v, len) == PROXYPROTO_FAIL)
                return PROXYPROTO_FAIL;
            break;
        default: /* NOOP, custom, experimental and unknown types are skipped (§2.2) */
            break;
        }
        if (slot != NULL && !proxyproto_v2_keep(slot, type, v, len))
            return proxyproto_fail(p, "v2: a TLV appears twice");
        off += PROXYPROTO_TLV_HEAD + len;
    }
    return PROXYPROTO_MORE;
}

/* Bytes of the address block that a PROXY command with family byte <fam> needs, or 0. */
static size_t proxyproto_v2_addr_len(uint8_t fam)
{
    switch (fam >> 4) {
    case PROXYPROTO_FAM_INET:
        return PROXYPROTO_V2_ADDR_INET;
    case PROXYPROTO_FAM_INET6:
        return PROXYPROTO_V2_ADDR_INET6;
    case PROXYPROTO_FAM_UNIX:
        return PROXYPROTO_V2_ADDR_UNIX;
    default:
        return 0;
    }
}

/* Fills <sun> from the 108 path bytes at <b> and returns its length as getsockname()
 * would: the family alone for an unnamed socket, the path and its NUL for a named one,
 * all 108 bytes for an abstract one (its real length is not in the header). */
static socklen_t proxyproto_v2_unix(struct sockaddr_un *sun, const uint8_t *b)
{
    size_t n;

    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, b, PROXYPROTO_V2_UNIX_PATH);
    n = strnlen(sun->sun_path, PROXYPROTO_V2_UNIX_PATH);
    if (n == 0) {
        for (size_t i = 0; i < PROXYPROTO_V2_UNIX_PATH; i++)
            if (b[i] != 0)
                return (socklen_t)sizeof(struct sockaddr_un);
        return (socklen_t)offsetof(struct sockaddr_un, sun_path);
    }
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                       (n < PROXYPROTO_V2_UNIX_PATH ? 1 : 0));
}

/* The whole v2 header of <total> bytes is in p->buf and its fixed part is known good. */
static enum proxyproto_result proxyproto_v2_header(struct proxyproto *p, size_t total)
{
    struct proxyproto_header *h = &p->hdr;
    const uint8_t *b = p->buf, *a = p->buf + PROXYPROTO_V2_FIXED_BYTES;
    uint8_t fam = b[13];

    h->version = 2;
    p->header_bytes = total; /* the CRC32c check reads it */
    /* LOCAL: the spec says to discard the block, family included. UNSPEC family or
     * transport: the receiver "should ignore address information", and where it ends
     * inside the block is unknown, so the TLVs are not read either. */
    if ((b[12] & 0x0f) == PROXYPROTO_CMD_LOCAL || (fam >> 4) == PROXYPROTO_FAM_UNSPEC ||
        (fam & 0x0f) == PROXYPROTO_PROTO_UNSPEC) {
        h->local = true;
        return proxyproto_done(p, total);
    }
    switch (fam >> 4) {
    case PROXYPROTO_FAM_INET: {
        struct sockaddr_in *src = (struct sockaddr_in *)&h->src;
        struct sockaddr_in *dst = (struct sockaddr_in *)&h->dst;

        src->sin_family = dst->sin_family = AF_INET;
        memcpy(&src->sin_addr, a, 4);
        memcpy(&dst->sin_addr, a + 4, 4);
        memcpy(&src->sin_port, a + 8, 2);
        memcpy(&dst->sin_port, a + 10, 2);
        h->src_len = h->dst_len = sizeof(struct sockaddr_in);
        break;
    }
    case PROXYPROTO_FAM_INET6: {
        struct sockaddr_in6 *src = (struct sockaddr_in6 *)&h->src;
        struct sockaddr_in6 *dst = (struct sockaddr_in6 *)&h->dst;

        src->sin6_family = dst->sin6_family = AF_INET6;
        memcpy(&src->sin6_addr, a, 16);
        memcpy(&dst->sin6_addr, a + 16, 16);
        memcpy(&src->sin6_port, a + 32, 2);
        memcpy(&dst->sin6_port, a + 34, 2);
        h->src_len = h->dst_len = sizeof(struct sockaddr_in6);
        break;
    }
    default: /* PROXYPROTO_FAM_UNIX, the scan refused the others */
        h->src_len = proxyproto_v2_unix((struct sockaddr_un *)&h->src, a);
        h->dst_len = proxyproto_v2_unix((struct sockaddr_un *)&h->dst, a + 108);
        break;
    }
    if (proxyproto_v2_tlvs(p, PROXYPROTO_V2_FIXED_BYTES + proxyproto_v2_addr_len(fam), total) ==
        PROXYPROTO_FAIL) {
        memset(h, 0, sizeof(*h));
        return PROXYPROTO_FAIL;
    }
    return proxyproto_done(p, total);
}

/* Decides what the bytes so far of a v2 header are: the fixed part byte by byte as it
 * comes, then the rest once the declared length is there. */
static enum proxyproto_result proxyproto_v2_scan(struct proxyproto *p)
{
    const uint8_t *b = p->buf;
    size_t n = p->have < PROXYPROTO_V2_SIG_LEN ? p->have : PROXYPROTO_V2_SIG_LEN;
    size_t total;
    uint8_t cmd;

    if (memcmp(b, proxyproto_v2_sig, n) != 0)
        return proxyproto_fail(p, "v2: not the PROXY v2 signature");
    if (p->have < 13)
        return PROXYPROTO_MORE;
    if ((b[12] >> 4) != 2)
        return proxyproto_fail(p, "v2: version is not 2");
    cmd = b[12] & 0x0f;
    if (cmd != PROXYPROTO_CMD_LOCAL && cmd != PROXYPROTO_CMD_PROXY)
        return proxyproto_fail(p, "v2: command is neither LOCAL nor PROXY");
    if (p->have < 14)
        return PROXYPROTO_MORE;
    if (cmd == PROXYPROTO_CMD_PROXY) {
        if ((b[13] >> 4) > PROXYPROTO_FAM_UNIX)
            return proxyproto_fail(p, "v2: unknown address family");
        if ((b[13] & 0x0f) > PROXYPROTO_PROTO_DGRAM)
            return proxyproto_fail(p, "v2: unknown transport protocol");
        /* a datagram header on a stream is a sender's mistake, not a fallback case */
        if ((b[13] & 0x0f) == PROXYPROTO_PROTO_DGRAM)
            return proxyproto_fail(p, "v2: datagram (UDP) header on a stream connection");
    }
    if (p->have < PROXYPROTO_V2_FIXED_BYTES)
        return PROXYPROTO_MORE;
    total = PROXYPROTO_V2_FIXED_BYTES + proxyproto_be16(b + 14);
    if (total > PROXYPROTO_V2_MAX_BYTES)
        return proxyproto_fail(p, "v2: header longer than PROXYPROTO_V2_MAX_BYTES");
    if (cmd == PROXYPROTO_CMD_PROXY && (b[13] & 0x0f) != PROXYPROTO_PROTO_UNSPEC &&
        total < PROXYPROTO_V2_FIXED_BYTES + proxyproto_v2_addr_len(b[13]))
        return proxyproto_fail(p, "v2: length shorter than the address block");
    if (p->have < total)
        return PROXYPROTO_MORE;
    return proxyproto_v2_header(p, total);
}

/* ---- feeding ---- */

static bool proxyproto_is_v2(const struct proxyproto *p)
{
    return p->mode == PROXYPROTO_MODE_V2 || (p->mode == PROXYPROTO_MODE_ANY && p->buf[0] != 'P');
}

/* How many more bytes the header can take now: never past its end once that is known,
 * so that the bytes after it stay the caller's. */
static size_t proxyproto_room(const struct proxyproto *p)
{
    if (p->have == 0)
        return p->mode == PROXYPROTO_MODE_V1   ? PROXYPROTO_V1_MAX_BYTES
               : p->mode == PROXYPROTO_MODE_V2 ? PROXYPROTO_V2_FIXED_BYTES
                                               : 1; /* the first byte tells the version */
    if (!proxyproto_is_v2(p))
        return PROXYPROTO_V1_MAX_BYTES - p->have;
    if (p->have < PROXYPROTO_V2_FIXED_BYTES)
        return PROXYPROTO_V2_FIXED_BYTES - p->have;
    return PROXYPROTO_V2_FIXED_BYTES + proxyproto_be16(p->buf + 14) - p->have;
}

static enum proxyproto_result proxyproto_scan(struct proxyproto *p)
{
    if (p->mode == PROXYPROTO_MODE_ANY && p->buf[0] != 'P' && p->buf[0] != 0x0d)
        return proxyproto_fail(p, "neither a PROXY v1 line nor a v2 header");
    return proxyproto_is_v2(p) ? proxyproto_v2_scan(p) : proxyproto_v1_scan(p);
}

enum proxyproto_result proxyproto_feed(struct proxyproto *p, const uint8_t *in, size_t len,
                                       size_t *used)
{
    size_t off = 0;

    *used = 0;
    if (p->result != PROXYPROTO_MORE)
        return p->result;
    while (off < len) {
        size_t room = proxyproto_room(p), n = len - off < room ? len - off : room;
        enum proxyproto_result res;

        memcpy(p->buf + p->have, in + off, n);
        p->have += n;
        off += n;
        res = proxyproto_scan(p);
        if (res == PROXYPROTO_DONE) {
            /* a v1 scan may have copied bytes past the CRLF: they are not the header's */
            *used = off - (p->have - p->header_bytes);
            return res;
        }
        if (res == PROXYPROTO_FAIL) {
            *used = off;
            return res;
        }
    }
    *used = len;
    return PROXYPROTO_MORE;
}

/* ---- writing ---- */

/* <sa> as an IPv6 address and port (IPv4 mapped into ::ffff:0:0/96); false if it is
 * neither AF_INET nor AF_INET6. */
static bool proxyproto_as_v6(const struct sockaddr *sa, struct in6_addr *addr, uint16_t *port)
{
    if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

        *addr = s6->sin6_addr;
        *port = s6->sin6_port;
        return true;
    }
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

        memset(addr, 0, sizeof(*addr));
        addr->s6_addr[10] = addr->s6_addr[11] = 0xff;
        memcpy(&addr->s6_addr[12], &s4->sin_addr, 4);
        *port = s4->sin_port;
        return true;
    }
    return false;
}

static bool proxyproto_both(const struct sockaddr *src, const struct sockaddr *dst, int family)
{
    return src != NULL && dst != NULL && src->sa_family == family && dst->sa_family == family;
}

int proxyproto_write_v1(const struct sockaddr *src, const struct sockaddr *dst, char *out,
                        size_t cap)
{
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    struct in6_addr s6, d6;
    uint16_t sp, dp;
    int n;

    if (proxyproto_both(src, dst, AF_INET)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
        const struct sockaddr_in *d4 = (const struct sockaddr_in *)dst;

        inet_ntop(AF_INET, &s4->sin_addr, s, sizeof(s));
        inet_ntop(AF_INET, &d4->sin_addr, d, sizeof(d));
        n = snprintf(out, cap, "PROXY TCP4 %s %s %u %u\r\n", s, d, ntohs(s4->sin_port),
                     ntohs(d4->sin_port));
    } else if (proxyproto_as_v6(src, &s6, &sp) && proxyproto_as_v6(dst, &d6, &dp)) {
        inet_ntop(AF_INET6, &s6, s, sizeof(s));
        inet_ntop(AF_INET6, &d6, d, sizeof(d));
        n = snprintf(out, cap, "PROXY TCP6 %s %s %u %u\r\n", s, d, ntohs(sp), ntohs(dp));
    } else {
        n = snprintf(out, cap, "PROXY UNKNOWN\r\n");
    }
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return -1;
    }
    return n;
}

int proxyproto_write_v2(const struct sockaddr *src, const struct sockaddr *dst,
                        const struct proxyproto_tlv *tlvs, size_t n_tlvs, unsigned flags,
                        uint8_t *out, size_t cap)
{
    uint8_t fam = PROXYPROTO_FAM_UNSPEC << 4 | PROXYPROTO_PROTO_UNSPEC;
    uint8_t cmd = PROXYPROTO_CMD_PROXY;
    size_t total, off = PROXYPROTO_V2_FIXED_BYTES, addr_len = 0;
    struct in6_addr s6 = IN6ADDR_ANY_INIT, d6 = IN6ADDR_ANY_INIT;
    uint16_t sp = 0, dp = 0;

    if ((flags & PROXYPROTO_WRITE_LOCAL) != 0)
        cmd = PROXYPROTO_CMD_LOCAL;
    else if (proxyproto_both(src, dst, AF_INET))
        fam = PROXYPROTO_FAM_INET << 4 | PROXYPROTO_PROTO_STREAM;
    else if (proxyproto_as_v6(src, &s6, &sp) && proxyproto_as_v6(dst, &d6, &dp))
        fam = PROXYPROTO_FAM_INET6 << 4 | PROXYPROTO_PROTO_STREAM;
    else if (proxyproto_both(src, dst, AF_UNIX))
        fam = PROXYPROTO_FAM_UNIX << 4 | PROXYPROTO_PROTO_STREAM;
    if (fam != 0)
        addr_len = proxyproto_v2_addr_len(fam);
    total = PROXYPROTO_V2_FIXED_BYTES + addr_len;
    for (size_t i = 0; i < n_tlvs; i++) {
        if (tlvs[i].type == PROXYPROTO_TLV_CRC32C || (tlvs[i].value == NULL && tlvs[i].len > 0))
            return -1;
        total += PROXYPROTO_TLV_HEAD + tlvs[i].len;
        if (total > PROXYPROTO_V2_WRITE_MAX)
            return -1;
    }
    if ((flags & PROXYPROTO_WRITE_CRC32C) != 0)
        total += PROXYPROTO_TLV_HEAD + 4;
    if (total > PROXYPROTO_V2_WRITE_MAX || total > cap)
        return -1;

    memcpy(out, proxyproto_v2_sig, PROXYPROTO_V2_SIG_LEN);
    out[12] = (uint8_t)(0x20 | cmd);
    out[13] = fam;
    out[14] = (uint8_t)((total - PROXYPROTO_V2_FIXED_BYTES) >> 8);
    out[15] = (uint8_t)(total - PROXYPROTO_V2_FIXED_BYTES);
    switch (fam >> 4) {
    case PROXYPROTO_FAM_INET:
        memcpy(out + off, &((const struct sockaddr_in *)src)->sin_addr, 4);
        memcpy(out + off + 4, &((const struct sockaddr_in *)dst)->sin_addr, 4);
        memcpy(out + off + 8, &((const struct sockaddr_in *)src)->sin_port, 2);
        memcpy(out + off + 10, &((const struct sockaddr_in *)dst)->sin_port, 2);
        break;
    case PROXYPROTO_FAM_INET6:
        memcpy(out + off, &s6, 16);
        memcpy(out + off + 16, &d6, 16);
        memcpy(out + off + 32, &sp, 2);
        memcpy(out + off + 34, &dp, 2);
        break;
    case PROXYPROTO_FAM_UNIX:
        memcpy(out + off, ((const struct sockaddr_un *)src)->sun_path, 108);
        memcpy(out + off + 108, ((const struct sockaddr_un *)dst)->sun_path, 108);
        break;
    default:
        break;
    }
    off += addr_len;
    for (size_t i = 0; i < n_tlvs; i++) {
        out[off] = tlvs[i].type;
        out[off + 1] = (uint8_t)(tlvs[i].len >> 8);
        out[off + 2] = (uint8_t)tlvs[i].len;
        if (tlvs[i].len > 0)
            memcpy(out + off + 3, tlvs[i].value, tlvs[i].len);
        off += PROXYPROTO_TLV_HEAD + tlvs[i].len;
    }
    if ((flags & PROXYPROTO_WRITE_CRC32C) != 0) {
        uint32_t crc;

        out[off] = PROXYPROTO_TLV_CRC32C;
        out[off + 1] = 0;
        out[off + 2] = 4;
        memset(out + off + 3, 0, 4);
        crc = proxyproto_crc32c(0, out, total);
        out[off + 3] = (uint8_t)(crc >> 24);
        out[off + 4] = (uint8_t)(crc >> 16);
        out[off + 5] = (uint8_t)(crc >> 8);
        out[off + 6] = (uint8_t)crc;
    }
    return (int)total;
}
