/*
 * fuzz_proxyproto.c - libFuzzer driver for proxyproto.c: any bytes as the start of a
 * connection, in any mode and any chunking. The verdict, the bytes used and the header
 * must be the same fed whole and fed in the input's chunks; DONE never uses more than it
 * was given and uses exactly the declared length (v2) or the line up to its first CRLF
 * (v1); TLV values lie inside the header at their own bytes; every prefix shorter than a
 * header is MORE. Addresses and TLVs taken from the input, written with the writers and
 * read back, come back equal.
 *
 * Input: the chunking prefix of fuzz.h (flag bits 1..2: mode, 0 and 3 both ANY), then the
 * data. The first 48 data bytes also seed the writers' addresses and TLVs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "fuzz.h"
#include "proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds <data> to <p> in the chunks of <s> (each an exact-size heap copy); returns the
 * result and the bytes used in all. */
static enum proxyproto_result fuzz_pp_chunked(struct proxyproto *p, struct fuzz_split *s,
                                              const uint8_t *data, size_t len, size_t *used)
{
    enum proxyproto_result res = PROXYPROTO_MORE;
    size_t off = 0, u;

    *used = 0;
    while (off < len) {
        size_t n = fuzz_split_next(s, len - off);
        uint8_t *chunk = fuzz_copy(data + off, n);

        res = proxyproto_feed(p, chunk, n, &u);
        free(chunk);
        FUZZ_CHECK(u <= n);
        if (res == PROXYPROTO_MORE)
            FUZZ_CHECK(u == n);
        *used += u;
        off += n;
        if (res != PROXYPROTO_MORE)
            break;
    }
    return res;
}

static void fuzz_pp_same_tlv(const struct proxyproto *a, const struct proxyproto_tlv *ta,
                             const struct proxyproto *b, const struct proxyproto_tlv *tb)
{
    FUZZ_CHECK((ta->value == NULL) == (tb->value == NULL));
    if (ta->value == NULL)
        return;
    FUZZ_CHECK(ta->type == tb->type && ta->len == tb->len);
    FUZZ_CHECK(ta->value - a->buf == tb->value - b->buf);
}

/* The headers of two DONE readers of the same bytes are the same. */
static void fuzz_pp_same(const struct proxyproto *a, const struct proxyproto *b)
{
    const struct proxyproto_header *x = &a->hdr, *y = &b->hdr;

    FUZZ_CHECK(x->version == y->version && x->local == y->local);
    FUZZ_CHECK(x->src_len == y->src_len && x->dst_len == y->dst_len);
    FUZZ_CHECK(memcmp(&x->src, &y->src, sizeof(x->src)) == 0);
    FUZZ_CHECK(memcmp(&x->dst, &y->dst, sizeof(x->dst)) == 0);
    fuzz_pp_same_tlv(a, &x->alpn, b, &y->alpn);
    fuzz_pp_same_tlv(a, &x->authority, b, &y->authority);
    fuzz_pp_same_tlv(a, &x->unique_id, b, &y->unique_id);
    fuzz_pp_same_tlv(a, &x->netns, b, &y->netns);
    fuzz_pp_same_tlv(a, &x->ssl_version, b, &y->ssl_version);
    fuzz_pp_same_tlv(a, &x->ssl_cn, b, &y->ssl_cn);
    fuzz_pp_same_tlv(a, &x->ssl_cipher, b, &y->ssl_cipher);
    FUZZ_CHECK(x->ssl == y->ssl && x->ssl_client == y->ssl_client);
    FUZZ_CHECK(x->ssl_verify == y->ssl_verify && x->crc32c == y->crc32c);
}

/* A TLV of a DONE reader lies inside the header and holds the input's own bytes. */
static void fuzz_pp_tlv_inside(const struct proxyproto *p, const struct proxyproto_tlv *t,
                               const uint8_t *data, size_t max)
{
    size_t at;

    if (t->value == NULL)
        return;
    FUZZ_CHECK(p->hdr.version == 2 && !p->hdr.local);
    FUZZ_CHECK(t->value >= p->buf + PROXYPROTO_V2_FIXED_BYTES + 3);
    at = (size_t)(t->value - p->buf);
    FUZZ_CHECK(at + t->len <= p->header_bytes);
    FUZZ_CHECK(t->len <= max);
    FUZZ_CHECK(memcmp(t->value, data + at, t->len) == 0);
}

/* What DONE promises about the header of <p> read from <data>. */
static void fuzz_pp_check_done(const struct proxyproto *p, const uint8_t *data, size_t len)
{
    const struct proxyproto_header *h = &p->hdr;
    size_t n = p->header_bytes;

    FUZZ_CHECK(n > 0 && n <= len);
    if (h->version == 1) {
        FUZZ_CHECK(data[0] == 'P' && n <= PROXYPROTO_V1_MAX_BYTES);
        FUZZ_CHECK(data[n - 2] == '\r' && data[n - 1] == '\n');
        for (size_t i = 0; i + 2 < n; i++)
            FUZZ_CHECK(data[i] >= 0x20 && data[i] < 0x7f);
    } else {
        FUZZ_CHECK(h->version == 2 && data[0] == '\r');
        FUZZ_CHECK(n == PROXYPROTO_V2_FIXED_BYTES + ((size_t)data[14] << 8 | data[15]));
        FUZZ_CHECK(n <= PROXYPROTO_V2_MAX_BYTES);
        FUZZ_CHECK((data[12] & 0xf0) == 0x20);
    }
    if (h->local) {
        FUZZ_CHECK(h->src_len == 0 && h->dst_len == 0 && h->src.ss_family == 0);
        FUZZ_CHECK(!h->ssl && !h->crc32c && h->alpn.value == NULL);
    } else {
        int fam = h->src.ss_family;
        FUZZ_CHECK(fam == h->dst.ss_family);
        FUZZ_CHECK(fam == AF_INET || fam == AF_INET6 || (fam == AF_UNIX && h->version == 2));
        if (fam == AF_INET)
            FUZZ_CHECK(h->src_len == sizeof(struct sockaddr_in));
        if (fam == AF_INET6)
            FUZZ_CHECK(h->src_len == sizeof(struct sockaddr_in6));
        if (fam == AF_UNIX)
            FUZZ_CHECK(h->src_len <= sizeof(struct sockaddr_un));
    }
    fuzz_pp_tlv_inside(p, &h->alpn, data, 65535);
    fuzz_pp_tlv_inside(p, &h->authority, data, PROXYPROTO_AUTHORITY_MAX);
    fuzz_pp_tlv_inside(p, &h->unique_id, data, PROXYPROTO_UNIQUE_ID_MAX);
    fuzz_pp_tlv_inside(p, &h->netns, data, 65535);
    fuzz_pp_tlv_inside(p, &h->ssl_version, data, 65535);
    fuzz_pp_tlv_inside(p, &h->ssl_cn, data, 65535);
    fuzz_pp_tlv_inside(p, &h->ssl_cipher, data, 65535);
}

/* An address of family AF_INET, AF_INET6 or AF_UNIX (by <sel>) from the 18 bytes at <b>. */
static void fuzz_pp_addr(struct sockaddr_storage *ss, uint8_t sel, const uint8_t *b)
{
    memset(ss, 0, sizeof(*ss));
    switch (sel % 4) {
    case 0:
    case 1: {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        memcpy(&s->sin_addr, b, 4);
        memcpy(&s->sin_port, b + 16, 2);
        break;
    }
    case 2: {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, b, 16);
        memcpy(&s->sin6_port, b + 16, 2);
        break;
    }
    default: {
        struct sockaddr_un *s = (struct sockaddr_un *)ss;
        s->sun_family = AF_UNIX;
        memcpy(s->sun_path, b, 18);
        break;
    }
    }
}

/* <ss> as the v2 or v1 reader gives it back when the other side is <other>: an IPv4
 * address next to an IPv6 one comes back mapped. */
static void fuzz_pp_expected(struct sockaddr_storage *want, const struct sockaddr_storage *ss,
                             const struct sockaddr_storage *other)
{
    *want = *ss;
    if (ss->ss_family == AF_INET && other->ss_family == AF_INET6) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)want;

        memset(want, 0, sizeof(*want));
        s6->sin6_family = AF_INET6;
        s6->sin6_port = s4->sin_port;
        s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&s6->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
    }
}

static void fuzz_pp_parse_written(struct proxyproto *p, const uint8_t *out, size_t n)
{
    uint8_t *copy = fuzz_copy(out, n);
    size_t used;

    proxyproto_init(p, PROXYPROTO_MODE_ANY);
    if (proxyproto_feed(p, copy, n, &used) != PROXYPROTO_DONE) {
        fprintf(stderr, "written header refused: %s\n", p->error ? p->error : "MORE");
        abort();
    }
    FUZZ_CHECK(used == n && p->header_bytes == n);
    free(copy);
}

/* parse(write(addresses, TLVs)) == addresses, TLVs, for both versions. */
static void fuzz_pp_round_trip(const uint8_t *seed)
{
    static struct proxyproto p;
    struct sockaddr_storage src, dst, want_src, want_dst;
    struct proxyproto_tlv tlvs[3];
    uint8_t bin[512];
    char line[PROXYPROTO_V1_MAX_BYTES + 1];
    size_t n_tlvs = seed[40] % 4;
    bool inet, crc = (seed[41] & 1) != 0;
    int n;

    fuzz_pp_addr(&src, seed[36], seed);
    fuzz_pp_addr(&dst, seed[37], seed + 18);
    for (size_t i = 0; i < n_tlvs; i++)
        tlvs[i] = (struct proxyproto_tlv){
            .type = (uint8_t)(0xe0 + (seed[42 + i] & 0x1f)), /* custom and experimental */
            .len = seed[45 + i] % 24,
            .value = seed + i * 8};
    inet = src.ss_family != AF_UNIX && dst.ss_family != AF_UNIX;
    fuzz_pp_expected(&want_src, &src, &dst);
    fuzz_pp_expected(&want_dst, &dst, &src);

    n = proxyproto_write_v1((struct sockaddr *)&src, (struct sockaddr *)&dst, line, sizeof(line));
    FUZZ_CHECK(n > 0 && (size_t)n == strlen(line));
    FUZZ_CHECK(proxyproto_write_v1((struct sockaddr *)&src, (struct sockaddr *)&dst, line,
                                   (size_t)n) == -1);
    n = proxyproto_write_v1((struct sockaddr *)&src, (struct sockaddr *)&dst, line, sizeof(line));
    fuzz_pp_parse_written(&p, (const uint8_t *)line, (size_t)n);
    FUZZ_CHECK(p.hdr.version == 1 && p.hdr.local == !inet);
    if (inet) {
        FUZZ_CHECK(memcmp(&p.hdr.src, &want_src, sizeof(want_src)) == 0);
        FUZZ_CHECK(memcmp(&p.hdr.dst, &want_dst, sizeof(want_dst)) == 0);
    }

    n = proxyproto_write_v2((struct sockaddr *)&src, (struct sockaddr *)&dst, tlvs, n_tlvs,
                            crc ? PROXYPROTO_WRITE_CRC32C : 0, bin, sizeof(bin));
    FUZZ_CHECK(n >= PROXYPROTO_V2_FIXED_BYTES);
    FUZZ_CHECK(proxyproto_write_v2((struct sockaddr *)&src, (struct sockaddr *)&dst, tlvs, n_tlvs,
                                   crc ? PROXYPROTO_WRITE_CRC32C : 0, bin, (size_t)n - 1) == -1);
    fuzz_pp_parse_written(&p, bin, (size_t)n);
    FUZZ_CHECK(p.hdr.version == 2);
    FUZZ_CHECK(p.hdr.local == (src.ss_family != dst.ss_family &&
                               (src.ss_family == AF_UNIX || dst.ss_family == AF_UNIX)));
    if (!p.hdr.local) {
        FUZZ_CHECK(memcmp(&p.hdr.src, &want_src, sizeof(want_src)) == 0);
        FUZZ_CHECK(memcmp(&p.hdr.dst, &want_dst, sizeof(want_dst)) == 0);
        FUZZ_CHECK(p.hdr.crc32c == crc);
    }
    /* the custom TLVs sit in order right after the address block */
    if (!p.hdr.local) {
        size_t at = PROXYPROTO_V2_FIXED_BYTES + (size_t)(p.hdr.src.ss_family == AF_INET    ? 12
                                                         : p.hdr.src.ss_family == AF_INET6 ? 36
                                                                                           : 216);
        for (size_t i = 0; i < n_tlvs; i++) {
            FUZZ_CHECK(bin[at] == tlvs[i].type);
            FUZZ_CHECK(((size_t)bin[at + 1] << 8 | bin[at + 2]) == tlvs[i].len);
            FUZZ_CHECK(memcmp(bin + at + 3, tlvs[i].value, tlvs[i].len) == 0);
            at += 3 + tlvs[i].len;
        }
        FUZZ_CHECK(at + (crc ? 7 : 0) == (size_t)n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proxyproto whole, chunked, prefix;
    static const enum proxyproto_mode modes[4] = {PROXYPROTO_MODE_ANY, PROXYPROTO_MODE_V1,
                                                  PROXYPROTO_MODE_V2, PROXYPROTO_MODE_ANY};
    enum proxyproto_result rw, rc;
    enum proxyproto_mode mode;
    struct fuzz_split split;
    size_t skip, used_w, used_c, len;
    unsigned flags;
    uint8_t *copy;

    skip = fuzz_split_init(&split, data, size, &flags);
    if (skip == 0)
        return 0;
    mode = modes[(flags >> 5) & 3];
    data += skip;
    len = size - skip;

    proxyproto_init(&whole, mode);
    copy = fuzz_copy(data, len);
    rw = proxyproto_feed(&whole, copy, len, &used_w);
    free(copy);
    FUZZ_CHECK(used_w <= len);

    proxyproto_init(&chunked, mode);
    rc = fuzz_pp_chunked(&chunked, &split, data, len, &used_c);
    FUZZ_CHECK(rw == rc);
    switch (rw) {
    case PROXYPROTO_MORE:
        FUZZ_CHECK(used_w == len && used_c == len);
        FUZZ_CHECK(len < PROXYPROTO_V2_MAX_BYTES);
        break;
    case PROXYPROTO_FAIL:
        FUZZ_CHECK(whole.error != NULL && whole.error[0] != '\0');
        FUZZ_CHECK(whole.error == chunked.error);
        break;
    case PROXYPROTO_DONE:
        FUZZ_CHECK(used_w == used_c && used_w == whole.header_bytes);
        FUZZ_CHECK(chunked.header_bytes == whole.header_bytes);
        fuzz_pp_same(&whole, &chunked);
        fuzz_pp_check_done(&whole, data, len);
        /* the header alone is DONE, and one byte short of it is MORE */
        proxyproto_init(&prefix, mode);
        copy = fuzz_copy(data, whole.header_bytes);
        FUZZ_CHECK(proxyproto_feed(&prefix, copy, whole.header_bytes, &used_c) == PROXYPROTO_DONE);
        fuzz_pp_same(&whole, &prefix);
        proxyproto_init(&prefix, mode);
        FUZZ_CHECK(proxyproto_feed(&prefix, copy, whole.header_bytes - 1, &used_c) ==
                   PROXYPROTO_MORE);
        free(copy);
        break;
    }
    /* a finished reader takes nothing more */
    if (rw != PROXYPROTO_MORE) {
        FUZZ_CHECK(proxyproto_feed(&whole, data, len, &used_w) == rw && used_w == 0);
    }
    if (len >= 48)
        fuzz_pp_round_trip(data);
    return 0;
}
