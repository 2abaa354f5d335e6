/*
 * proxyproto.h - the PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1
 * and 2), no I/O: an incremental reader for the header a front proxy puts before the first
 * byte of a connection, and writers for the header the bridge puts before its own bytes
 * to a target. Deciding who may send one (proxy_from) and closing the connection are the
 * caller's.
 */
#ifndef WSB_PROXYPROTO_H
#define WSB_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXYPROTO_V1_MAX_BYTES 107  /* a v1 line, CRLF included (spec §2.1) */
#define PROXYPROTO_V2_FIXED_BYTES 16 /* v2 signature, version/command, family, length */
/* A v2 header we read, fixed part included. The spec keeps headers under 536 bytes; the
 * rest is room for TLVs such as an SSL one with a client certificate. Longer: FAIL. */
#define PROXYPROTO_V2_MAX_BYTES 4096
#define PROXYPROTO_V2_WRITE_MAX (PROXYPROTO_V2_FIXED_BYTES + 65535) /* the 16-bit length */
#define PROXYPROTO_AUTHORITY_MAX 255 /* bytes of an AUTHORITY TLV (a host name, as HAProxy) */
#define PROXYPROTO_UNIQUE_ID_MAX 128 /* bytes of a UNIQUE_ID TLV (spec §2.2.5) */

/* TLV types (spec §2.2) */
#define PROXYPROTO_TLV_ALPN 0x01
#define PROXYPROTO_TLV_AUTHORITY 0x02
#define PROXYPROTO_TLV_CRC32C 0x03
#define PROXYPROTO_TLV_NOOP 0x04
#define PROXYPROTO_TLV_UNIQUE_ID 0x05
#define PROXYPROTO_TLV_SSL 0x20
#define PROXYPROTO_SUBTLV_SSL_VERSION 0x21
#define PROXYPROTO_SUBTLV_SSL_CN 0x22
#define PROXYPROTO_SUBTLV_SSL_CIPHER 0x23
#define PROXYPROTO_TLV_NETNS 0x30

/* Bits of the SSL TLV's client field (spec §2.2.6) */
#define PROXYPROTO_SSL_CLIENT_SSL 0x01
#define PROXYPROTO_SSL_CLIENT_CERT_CONN 0x02
#define PROXYPROTO_SSL_CLIENT_CERT_SESS 0x04

enum proxyproto_mode {
    PROXYPROTO_MODE_V1 = 1, /* only the text line */
    PROXYPROTO_MODE_V2,     /* only the binary header */
    PROXYPROTO_MODE_ANY,    /* either, told apart by the first byte ("P" or CR) */
};

enum proxyproto_result {
    PROXYPROTO_MORE = 0, /* a valid beginning: feed more bytes */
    PROXYPROTO_DONE,     /* a whole, valid header: see hdr and header_bytes */
    PROXYPROTO_FAIL,     /* not a valid header: see error; close without answering */
};

/* One TLV: a value of <len> bytes at <value> (not NUL-terminated). When read, <value>
 * points into the reader and is NULL if the TLV was absent. */
struct proxyproto_tlv {
    uint8_t type;
    uint16_t len;
    const uint8_t *value;
};

struct proxyproto_header {
    unsigned version; /* 1 or 2 */
    /* true: keep the real peer and local address. v1 UNKNOWN, v2 LOCAL (health checks),
     * and v2 PROXY with an unspecified family or transport (spec: "use the real
     * endpoints"); src and dst are then all zero and no TLV is read. */
    bool local;
    struct sockaddr_storage src; /* the client: AF_INET, AF_INET6 or AF_UNIX, with port */
    struct sockaddr_storage dst; /* the address the client reached at the proxy */
    socklen_t src_len, dst_len;  /* lengths of src and dst for their family */
    /* v2 TLVs that matter here, each at most once (a repeat is a FAIL) */
    struct proxyproto_tlv alpn;      /* ALPN the client negotiated with the proxy */
    struct proxyproto_tlv authority; /* host name the client asked for (TLS SNI) */
    struct proxyproto_tlv unique_id; /* the proxy's connection id, <= 128 bytes */
    struct proxyproto_tlv netns;     /* network namespace name */
    bool ssl;                        /* an SSL TLV was present */
    uint8_t ssl_client;              /* PROXYPROTO_SSL_CLIENT_* bits */
    uint32_t ssl_verify;             /* 0: a client certificate was verified */
    struct proxyproto_tlv ssl_version, ssl_cn, ssl_cipher; /* SSL sub-TLVs */
    bool crc32c;                                           /* a CRC32c TLV was checked */
};

struct proxyproto {
    enum proxyproto_mode mode;
    enum proxyproto_result result;        /* MORE until DONE or FAIL; then it stays */
    size_t have;                          /* bytes kept in buf */
    size_t header_bytes;                  /* DONE: bytes of the header (v2: 16 + its length) */
    const char *error;                    /* FAIL: a short static reason, for a log line */
    struct proxyproto_header hdr;         /* DONE: what the header says */
    uint8_t buf[PROXYPROTO_V2_MAX_BYTES]; /* the header so far (TLV values point here) */
};

/* Sets <p> to read one header in <mode>. No allocation: nothing to free. */
void proxyproto_init(struct proxyproto *p, enum proxyproto_mode mode);

/* Feeds <len> bytes at <in> to <p>; sets *<used> to how many of them belong to the header.
 * MORE: every byte so far is the start of a valid header; *used == len.
 * DONE: p->hdr holds the header; *used is where the connection's own bytes begin in <in>
 *   (they are not the header's: hand them on).
 * FAIL: p->error says why; *used <= len.
 * The result and the bytes used in all depend only on the bytes, never on how they were
 * split. A FAIL comes as soon as a byte proves the header invalid; only a v2 header's
 * addresses and TLVs wait for its declared length. After DONE or FAIL, every call returns
 * the same result and uses nothing. Never keeps a pointer to <in>. */
enum proxyproto_result proxyproto_feed(struct proxyproto *p, const uint8_t *in, size_t len,
                                       size_t *used);

/* Writes the v1 line for a connection from <src> to <dst> into <out> (<cap> bytes; 108
 * always fit), NUL-terminated; returns its length without the NUL, or -1 if it does not
 * fit. Both AF_INET: "TCP4"; AF_INET6 on either side: "TCP6", an IPv4 one written as
 * ::ffff:a.b.c.d; anything else (NULL, AF_UNIX): "PROXY UNKNOWN\r\n". */
int proxyproto_write_v1(const struct sockaddr *src, const struct sockaddr *dst, char *out,
                        size_t cap);

#define PROXYPROTO_WRITE_CRC32C 0x01 /* add a CRC32c TLV over the header (spec §2.2.3) */
#define PROXYPROTO_WRITE_LOCAL                                                                     \
    0x02 /* command LOCAL, no addresses (a connection of the                                       \
          * bridge's own, such as a health check) */

/* Writes a v2 header for a connection from <src> to <dst> into <out> (<cap> bytes):
 * command PROXY with family AF_INET, AF_INET6 (mixed families: both as IPv6, IPv4 mapped)
 * or AF_UNIX (both sides), TCP; any other pair (or NULL) gets PROXY with UNSPEC family
 * and no addresses. Then the <n_tlvs> TLVs of <tlvs> in order, written as given, then a
 * CRC32c TLV if <flags> has PROXYPROTO_WRITE_CRC32C. Returns the header length, or -1 if
 * it does not fit in <cap> or in PROXYPROTO_V2_WRITE_MAX, or a TLV in <tlvs> is a CRC32c
 * one (use the flag) or has a NULL value with a non-zero length. */
int proxyproto_write_v2(const struct sockaddr *src, const struct sockaddr *dst,
                        const struct proxyproto_tlv *tlvs, size_t n_tlvs, unsigned flags,
                        uint8_t *out, size_t cap);

/* CRC32c (Castagnoli, RFC 3309) of <len> bytes at <p>, continuing from <crc> (0 to
 * start): the checksum of the CRC32c TLV. */
uint32_t proxyproto_crc32c(uint32_t crc, const uint8_t *p, size_t len);

#endif
