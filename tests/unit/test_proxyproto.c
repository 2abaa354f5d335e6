/*
 * test_proxyproto.c - proves that proxyproto.c reads PROXY protocol headers the same way
 * under every chunking (whole, byte by byte, random splits, every split point in two):
 * the spec's examples and real HAProxy 2.6 output give the addresses and TLVs they hold
 * and leave exactly the bytes after the header to the caller; every malformed shape
 * fails, early, with a reason; the limits pass at their value and fail one over it; what
 * the writers produce reads back as the addresses they were given.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "check_main.h"
#include "feed.h"
#include "proxyproto.h"

#define V2SIG "\r\n\r\n\0\r\nQUIT\n"
#define ANY PROXYPROTO_MODE_ANY
#define V1 PROXYPROTO_MODE_V1
#define V2 PROXYPROTO_MODE_V2
#define MORE PROXYPROTO_MORE
#define DONE PROXYPROTO_DONE
#define FAIL PROXYPROTO_FAIL

struct pp_case {
    const char *name;
    enum proxyproto_mode mode;
    const char *in;  /* bytes fed: the header, then the connection's own bytes */
    size_t len;      /* bytes at in */
    size_t head_len; /* DONE: bytes of the header */
    enum proxyproto_result result;
    const char *want; /* DONE: test_dump() of the header; FAIL: a part of the reason */
};

/* A header <h> followed by bytes <t> that must be left to the caller. */
#define HEAD(h, t) .in = h t, .len = sizeof(h t) - 1, .head_len = sizeof(h) - 1
#define BYTES(s) .in = s, .len = sizeof(s) - 1, .head_len = 0

#define MAXV6 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

static const struct pp_case test_cases[] = {
    /* version 1: the spec's examples (§2.1) and HAProxy's own line */
    {"spec v1 example before a request", ANY,
     HEAD("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
          "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n"),
     DONE, "v1 192.168.0.1:56324 -> 192.168.0.11:443"},
    {"spec v1 longest TCP4", V1,
     HEAD("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", ""), DONE,
     "v1 255.255.255.255:65535 -> 255.255.255.255:65535"},
    {"spec v1 longest TCP6 (104 bytes)", V1,
     HEAD("PROXY TCP6 " MAXV6 " " MAXV6 " 65535 65535\r\n", "\x16\x03\x01"), DONE,
     "v1 [" MAXV6 "]:65535 -> [" MAXV6 "]:65535"},
    {"spec v1 short UNKNOWN", ANY, HEAD("PROXY UNKNOWN\r\n", "\r\n"), DONE, "v1 local"},
    {"spec v1 worst case UNKNOWN (107 bytes)", V1,
     HEAD("PROXY UNKNOWN " MAXV6 " " MAXV6 " 65535 65535\r\n", "x"), DONE, "v1 local"},
    {"UNKNOWN with anything printable after it", V1,
     HEAD("PROXY UNKNOWN  anything ~ at all !\r\n", ""), DONE, "v1 local"},
    {"HAProxy 2.6 send-proxy", ANY, HEAD("PROXY TCP4 127.0.0.1 127.0.0.1 37024 47213\r\n", "data1"),
     DONE, "v1 127.0.0.1:37024 -> 127.0.0.1:47213"},
    {"v1 zeros", V1, HEAD("PROXY TCP4 0.0.0.0 10.0.0.0 0 0\r\n", ""), DONE,
     "v1 0.0.0.0:0 -> 10.0.0.0:0"},
    {"v1 compressed and mapped IPv6", V1,
     HEAD("PROXY TCP6 2001:DB8::1 ::ffff:192.0.2.1 1 80\r\n", "\r\n"), DONE,
     "v1 [2001:db8::1]:1 -> [::ffff:192.0.2.1]:80"},
    {"v1 incomplete", ANY, BYTES("PROXY TCP4 1.2.3.4 5.6"), MORE, NULL},
    {"v1 incomplete, ending on CR", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), MORE, NULL},
    {"v1 the first byte only", ANY, BYTES("P"), MORE, NULL},

    /* version 1 malformed */
    {"v1 LF alone", V1, BYTES("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n"), FAIL,
     "LF without CR"},
    {"v1 CR alone", V1, BYTES("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rGET"), FAIL,
     "CR not followed by LF"},
    {"v1 CR CR LF", V1, BYTES("PROXY UNKNOWN\r\r\n"), FAIL, "CR not followed by LF"},
    {"v1 no space after PROXY", V1, BYTES("PROXY\r\n"), FAIL, "start with"},
    {"v1 lower case", ANY, BYTES("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), FAIL, "neither"},
    {"v1 nothing after PROXY", V1, BYTES("PROXY \r\n"), FAIL, "empty field"},
    {"v1 two spaces", V1, BYTES("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), FAIL, "empty field"},
    {"v1 two spaces between addresses", V1, BYTES("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"), FAIL,
     "empty field"},
    {"v1 space before CRLF", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), FAIL, "empty field"},
    {"v1 tab for a space", V1, BYTES("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"), FAIL, "not printable"},
    {"v1 NUL in the line", V1, BYTES("PROXY UNKNOWN \0\r\n"), FAIL, "not printable"},
    {"v1 high byte in the line", V1, BYTES("PROXY UNKNOWN \xc3\xa9\r\n"), FAIL, "not printable"},
    {"v1 protocol TCP5", V1, BYTES("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), FAIL, "protocol"},
    {"v1 protocol in lower case", V1, BYTES("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), FAIL,
     "protocol"},
    {"v1 UDP4", V1, BYTES("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), FAIL, "protocol"},
    {"v1 UNKNOWN glued to more", V1, BYTES("PROXY UNKNOWNX\r\n"), FAIL, "protocol"},
    {"v1 TCP4 alone", V1, BYTES("PROXY TCP4\r\n"), FAIL, "fewer than four"},
    {"v1 three fields", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), FAIL, "fewer than four"},
    {"v1 five fields", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), FAIL, "more than four"},
    {"v1 leading zero in an address", V1, BYTES("PROXY TCP4 192.168.01.1 5.6.7.8 1 2\r\n"), FAIL,
     "dotted quad"},
    {"v1 octet over 255", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"), FAIL, "dotted quad"},
    {"v1 three octets", V1, BYTES("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), FAIL, "dotted quad"},
    {"v1 five octets", V1, BYTES("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), FAIL, "dotted quad"},
    {"v1 empty octet", V1, BYTES("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n"), FAIL, "dotted quad"},
    {"v1 octet of four digits", V1, BYTES("PROXY TCP4 1.2.3.0004 5.6.7.8 1 2\r\n"), FAIL,
     "dotted quad"},
    {"v1 host name", V1, BYTES("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), FAIL, "dotted quad"},
    {"v1 TCP4 with IPv6", V1, BYTES("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), FAIL, "dotted quad"},
    {"v1 TCP6 with IPv4", V1, BYTES("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), FAIL, "IPv6"},
    {"v1 TCP6 in brackets", V1, BYTES("PROXY TCP6 [::1] ::1 1 2\r\n"), FAIL, "IPv6"},
    {"v1 TCP6 with a zone", V1, BYTES("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), FAIL, "IPv6"},
    {"v1 TCP6 two double colons", V1, BYTES("PROXY TCP6 1::2::3 ::1 1 2\r\n"), FAIL, "IPv6"},
    {"v1 TCP6 group of five digits", V1, BYTES("PROXY TCP6 12345::1 ::1 1 2\r\n"), FAIL, "IPv6"},
    {"v1 port with a leading zero", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n"), FAIL,
     "port"},
    {"v1 port 00", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n"), FAIL, "port"},
    {"v1 port 65536", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), FAIL, "port"},
    {"v1 port 99999", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"), FAIL, "port"},
    {"v1 port of six digits", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n"), FAIL, "port"},
    {"v1 signed port", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), FAIL, "port"},
    {"v1 negative port", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), FAIL, "port"},
    {"v1 hex port", V1, BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n"), FAIL, "port"},
    {"v1 108-byte UNKNOWN line", V1, BYTES("PROXY UNKNOWN " MAXV6 " " MAXV6 " 65535 655350\r\n"),
     FAIL, "longer than 107"},
    {"v1 no CRLF in 107 bytes", V1,
     BYTES(
         "PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
     FAIL, "longer than 107"},
    {"v1 an HTTP request instead", V1, BYTES("GET / HTTP/1.1\r\n\r\n"), FAIL, "start with"},
    {"v1 a v2 header in v1 mode", V1, BYTES(V2SIG "\x21\x00\x00\x00"), FAIL, "start with"},

    /* version 2: real HAProxy 2.6 output (send-proxy-v2 with crc32c, unique-id, authority,
     * ssl, cert-cn and ssl-cipher behind an ssl bind with ALPN; and over IPv6) */
    {"HAProxy 2.6 v2 with TLVs and CRC32c", ANY,
     HEAD(V2SIG "\x21\x11\x00\x67"
                "\x7f\x00\x00\x01\x7f\x00\x00\x01\x8d\xac\xb8\x6c"
                "\x03\x00\x04\x6c\x20\x39\x97"
                "\x01\x00\x08http/1.1"
                "\x02\x00\x0b"
                "example.com"
                "\x05\x00\x0d"
                "abc-127.0.0.1"
                "\x20\x00\x28\x01\x00\x00\x00\x00"
                "\x21\x00\x07TLSv1.3"
                "\x23\x00\x16TLS_AES_256_GCM_SHA384",
          "hello\n"),
     DONE,
     "v2 127.0.0.1:36268 -> 127.0.0.1:47212 alpn=http/1.1 authority=example.com "
     "uid=abc-127.0.0.1 ssl=01/0 ssl_version=TLSv1.3 ssl_cipher=TLS_AES_256_GCM_SHA384 crc32c"},
    {"HAProxy 2.6 v2 over IPv6", ANY,
     HEAD(V2SIG "\x21\x21\x00\x24"
                "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
                "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
                "\xb5\xba\xb8\x6e",
          "data2"),
     DONE, "v2 [::1]:46522 -> [::1]:47214"},
    {"v2 TCP4 without TLVs", V2,
     HEAD(V2SIG "\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x04\xd2\x01\xbb", "\x16\x03"),
     DONE, "v2 192.0.2.1:1234 -> 198.51.100.2:443"},
    {"v2 LOCAL, no block", V2, HEAD(V2SIG "\x20\x00\x00\x00", "GET /"), DONE, "v2 local"},
    {"v2 LOCAL with an address block, ignored", ANY,
     HEAD(V2SIG "\x20\x11\x00\x0c"
                "abcdefghijkl",
          "x"),
     DONE, "v2 local"},
    {"v2 LOCAL ignores even a datagram family", V2,
     HEAD(V2SIG "\x20\x12\x00\x01"
                "z",
          ""),
     DONE, "v2 local"},
    {"v2 PROXY UNSPEC", V2, HEAD(V2SIG "\x21\x00\x00\x00", "rest"), DONE, "v2 local"},
    {"v2 PROXY UNSPEC with bytes to skip", V2,
     HEAD(V2SIG "\x21\x00\x00\x03"
                "abc",
          "rest"),
     DONE, "v2 local"},
    {"v2 PROXY AF_INET with UNSPEC transport", V2, HEAD(V2SIG "\x21\x10\x00\x00", ""), DONE,
     "v2 local"},
    {"v2 PROXY UNSPEC family, stream", V2,
     HEAD(V2SIG "\x21\x01\x00\x02"
                "ab",
          ""),
     DONE, "v2 local"},
    {"v2 NOOP, custom, unknown TLVs, empty ALPN, NETNS", V2,
     HEAD(V2SIG "\x21\x11\x00\x23\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                "\x04\x00\x00"
                "\xe0\x00\x03xyz"
                "\x99\x00\x01\x00"
                "\x01\x00\x00"
                "\x30\x00\x04"
                "blue",
          ""),
     DONE, "v2 10.0.0.1:1 -> 10.0.0.2:2 alpn= netns=blue"},
    {"v2 SSL with CN, client cert verified", V2,
     HEAD(V2SIG "\x21\x11\x00\x29\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                "\x20\x00\x1a\x07\x00\x00\x00\x00"
                "\x21\x00\x07TLSv1.2"
                "\x22\x00\x05"
                "alice"
                "\x28\x00\x00",
          ""),
     DONE, "v2 10.0.0.1:1 -> 10.0.0.2:2 ssl=07/0 ssl_version=TLSv1.2 ssl_cn=alice"},
    {"v2 incomplete fixed part", ANY, BYTES(V2SIG "\x21\x11\x00"), MORE, NULL},
    {"v2 incomplete addresses", V2, BYTES(V2SIG "\x21\x11\x00\x0c\x01\x02\x03"), MORE, NULL},
    {"v2 only the first byte", ANY, BYTES("\r"), MORE, NULL},

    /* version 2 malformed */
    {"v2 signature with QUIT in lower case", V2, BYTES("\r\n\r\n\0\r\nquit\n\x21\x00\x00\x00"),
     FAIL, "signature"},
    {"v2 signature cut short by a request", ANY, BYTES("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), FAIL,
     "signature"},
    {"v2 version 1", V2, BYTES(V2SIG "\x11\x11\x00\x0c"), FAIL, "version"},
    {"v2 version 3", V2, BYTES(V2SIG "\x31\x11\x00\x0c"), FAIL, "version"},
    {"v2 version 0", ANY, BYTES(V2SIG "\x01"), FAIL, "version"},
    {"v2 command 2", V2, BYTES(V2SIG "\x22\x11\x00\x0c"), FAIL, "command"},
    {"v2 command 15", V2, BYTES(V2SIG "\x2f"), FAIL, "command"},
    {"v2 family 4", V2, BYTES(V2SIG "\x21\x41\x00\x0c"), FAIL, "family"},
    {"v2 family 15", V2, BYTES(V2SIG "\x21\xf1"), FAIL, "family"},
    {"v2 transport 3", V2, BYTES(V2SIG "\x21\x13\x00\x0c"), FAIL, "transport"},
    {"v2 UDP over IPv4", V2, BYTES(V2SIG "\x21\x12\x00\x0c"), FAIL, "datagram"},
    {"v2 UDP over IPv6", V2, BYTES(V2SIG "\x21\x22\x00\x24"), FAIL, "datagram"},
    {"v2 UNIX datagram", V2, BYTES(V2SIG "\x21\x32\x00\xd8"), FAIL, "datagram"},
    {"v2 UNSPEC datagram", V2, BYTES(V2SIG "\x21\x02\x00\x00"), FAIL, "datagram"},
    {"v2 length under the IPv4 block", V2, BYTES(V2SIG "\x21\x11\x00\x0b"), FAIL, "shorter"},
    {"v2 length under the IPv6 block", V2, BYTES(V2SIG "\x21\x21\x00\x0c"), FAIL, "shorter"},
    {"v2 length under the UNIX block", V2, BYTES(V2SIG "\x21\x31\x00\xd7"), FAIL, "shorter"},
    {"v2 length 65535", ANY, BYTES(V2SIG "\x21\x11\xff\xff"), FAIL, "longer"},
    {"v2 length one over the limit", V2, BYTES(V2SIG "\x21\x11\x0f\xf1"), FAIL, "longer"},
    {"v2 one byte of a TLV", V2,
     BYTES(V2SIG "\x21\x11\x00\x0d\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02\x04"), FAIL,
     "truncated TLV"},
    {"v2 two bytes of a TLV", V2,
     BYTES(V2SIG "\x21\x11\x00\x0e\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02\x04\x00"), FAIL,
     "truncated TLV"},
    {"v2 TLV past the header", V2,
     BYTES(V2SIG "\x21\x11\x00\x11\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\x01\x00\x03"
                 "ab"
                 "c"),
     FAIL, "runs past"},
    {"v2 TLV length 65535", V2,
     BYTES(V2SIG "\x21\x11\x00\x10\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\xe0\xff\xff"
                 "x"),
     FAIL, "runs past"},
    {"v2 CRC32c off by one bit", V2,
     BYTES(V2SIG "\x21\x11\x00\x67"
                 "\x7f\x00\x00\x01\x7f\x00\x00\x01\x8d\xac\xb8\x6c"
                 "\x03\x00\x04\x6c\x20\x39\x96"
                 "\x01\x00\x08http/1.1"
                 "\x02\x00\x0b"
                 "example.com"
                 "\x05\x00\x0d"
                 "abc-127.0.0.1"
                 "\x20\x00\x28\x01\x00\x00\x00\x00"
                 "\x21\x00\x07TLSv1.3"
                 "\x23\x00\x16TLS_AES_256_GCM_SHA384"),
     FAIL, "CRC32C does not match"},
    {"v2 CRC32c over changed data", V2,
     BYTES(V2SIG "\x21\x11\x00\x67"
                 "\x7f\x00\x00\x02\x7f\x00\x00\x01\x8d\xac\xb8\x6c"
                 "\x03\x00\x04\x6c\x20\x39\x97"
                 "\x01\x00\x08http/1.1"
                 "\x02\x00\x0b"
                 "example.com"
                 "\x05\x00\x0d"
                 "abc-127.0.0.1"
                 "\x20\x00\x28\x01\x00\x00\x00\x00"
                 "\x21\x00\x07TLSv1.3"
                 "\x23\x00\x16TLS_AES_256_GCM_SHA384"),
     FAIL, "CRC32C does not match"},
    {"v2 CRC32c TLV of 3 bytes", V2,
     BYTES(V2SIG "\x21\x11\x00\x12\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\x03\x00\x03"
                 "abc"),
     FAIL, "not 4 bytes"},
    {"v2 ALPN twice", V2,
     BYTES(V2SIG "\x21\x11\x00\x14\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\x01\x00\x02h2"
                 "\x01\x00\x00"),
     FAIL, "twice"},
    {"v2 SSL TLV of 4 bytes", V2,
     BYTES(V2SIG "\x21\x11\x00\x13\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\x20\x00\x04\x01\x00\x00\x00"),
     FAIL, "shorter than 5"},
    {"v2 SSL sub-TLV past the SSL TLV", V2,
     BYTES(V2SIG "\x21\x11\x00\x19\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\x20\x00\x0a\x01\x00\x00\x00\x00"
                 "\x22\x00\x03"
                 "ab"),
     FAIL, "past the SSL TLV"},
    {"v2 SSL sub-TLV cut", V2,
     BYTES(V2SIG "\x21\x11\x00\x16\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\x20\x00\x07\x01\x00\x00\x00\x00"
                 "\x22\x00"),
     FAIL, "truncated SSL"},
    {"v2 SSL CN twice", V2,
     BYTES(V2SIG "\x21\x11\x00\x1d\x0a\x00\x00\x01\x0a\x00\x00\x02\x00\x01\x00\x02"
                 "\x20\x00\x0e\x01\x00\x00\x00\x00"
                 "\x22\x00\x01"
                 "a"
                 "\x22\x00\x02"
                 "bc"),
     FAIL, "twice"},
    {"v2 a v1 line in v2 mode", V2, BYTES("PROXY UNKNOWN\r\n"), FAIL, "signature"},

    /* neither */
    {"an HTTP request", ANY, BYTES("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), FAIL, "neither"},
    {"a TLS ClientHello", ANY, BYTES("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), FAIL,
     "neither"},
    {"a NUL byte", ANY, BYTES("\0"), FAIL, "neither"},
};

#define TEST_N_CASES (sizeof(test_cases) / sizeof(test_cases[0]))

/* Appends <n> bytes at <v> to <out>, printable ASCII as is and the rest as \xHH. */
static size_t test_put_bytes(char *out, size_t cap, size_t at, const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n && at + 5 < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, v[i] >= 0x20 && v[i] < 0x7f ? "%c" : "\\x%02x",
                               v[i]);
    return at;
}

/* Appends address <ss> as "1.2.3.4:5", "[::1]:5" or "unix:PATH". */
static size_t test_put_addr(char *out, size_t cap, size_t at, const struct sockaddr_storage *ss)
{
    char text[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, text, sizeof(text));
        return at + (size_t)snprintf(out + at, cap - at, "%s:%u", text, ntohs(s->sin_port));
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, text, sizeof(text));
        return at + (size_t)snprintf(out + at, cap - at, "[%s]:%u", text, ntohs(s->sin6_port));
    }
    if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *s = (const struct sockaddr_un *)ss;
        at += (size_t)snprintf(out + at, cap - at, "unix:");
        return test_put_bytes(out, cap, at, (const uint8_t *)s->sun_path,
                              strnlen(s->sun_path, sizeof(s->sun_path)));
    }
    return at + (size_t)snprintf(out + at, cap - at, "family%d", ss->ss_family);
}

static size_t test_put_tlv(char *out, size_t cap, size_t at, const char *name,
                           const struct proxyproto_tlv *t)
{
    if (t->value == NULL)
        return at;
    at += (size_t)snprintf(out + at, cap - at, " %s=", name);
    return test_put_bytes(out, cap, at, t->value, t->len);
}

/* Writes the header of a DONE <p> in the form the table uses. */
static void test_dump(const struct proxyproto *p, char *out, size_t cap)
{
    const struct proxyproto_header *h = &p->hdr;
    size_t at = (size_t)snprintf(out, cap, "v%u ", h->version);

    if (h->local) {
        snprintf(out + at, cap - at, "local");
        ck_assert_uint_eq(h->src_len, 0);
        ck_assert_int_eq(h->src.ss_family, 0);
        return;
    }
    at = test_put_addr(out, cap, at, &h->src);
    at += (size_t)snprintf(out + at, cap - at, " -> ");
    at = test_put_addr(out, cap, at, &h->dst);
    at = test_put_tlv(out, cap, at, "alpn", &h->alpn);
    at = test_put_tlv(out, cap, at, "authority", &h->authority);
    at = test_put_tlv(out, cap, at, "uid", &h->unique_id);
    at = test_put_tlv(out, cap, at, "netns", &h->netns);
    if (h->ssl)
        at += (size_t)snprintf(out + at, cap - at, " ssl=%02x/%u", h->ssl_client, h->ssl_verify);
    at = test_put_tlv(out, cap, at, "ssl_version", &h->ssl_version);
    at = test_put_tlv(out, cap, at, "ssl_cn", &h->ssl_cn);
    at = test_put_tlv(out, cap, at, "ssl_cipher", &h->ssl_cipher);
    if (h->crc32c)
        snprintf(out + at, cap - at, " crc32c");
}

/* Feeds <len> bytes at <in> to <p> in the chunks of FEED_MODES entry <mode> until DONE,
 * FAIL or the end; sets *<used> to the bytes taken in all. Checks on the way that MORE
 * takes a whole chunk and that a call after DONE or FAIL takes nothing and repeats. */
static enum proxyproto_result test_feed(struct proxyproto *p, const void *in, size_t len, int mode,
                                        size_t *used)
{
    const uint8_t *bytes = in;
    enum proxyproto_result res = MORE;
    struct feed f;
    size_t off = 0, n, u;

    feed_init(&f, mode);
    *used = 0;
    while (off < len) {
        n = feed_chunk(&f, len - off);
        res = proxyproto_feed(p, bytes + off, n, &u);
        if (res == MORE)
            ck_assert_uint_eq(u, n);
        else
            ck_assert_uint_le(u, n);
        *used += u;
        off += n;
        if (res != MORE)
            break;
    }
    if (res != MORE) {
        ck_assert_int_eq(proxyproto_feed(p, bytes, len, &u), res);
        ck_assert_uint_eq(u, 0);
    }
    return res;
}

/* Checks one finished parse of case <c> against the table. */
static void test_check_case(const struct pp_case *c, const struct proxyproto *p,
                            enum proxyproto_result res, size_t used, const char *how)
{
    char dump[1024];

    ck_assert_msg(res == c->result, "%s (%s): result %d, want %d (%s)", c->name, how, res,
                  c->result, p->error ? p->error : "");
    if (res == FAIL) {
        ck_assert_msg(p->error != NULL && strstr(p->error, c->want) != NULL,
                      "%s (%s): reason \"%s\", want \"%s\"", c->name, how, p->error, c->want);
    } else if (res == DONE) {
        ck_assert_msg(used == c->head_len, "%s (%s): used %zu, want %zu", c->name, how, used,
                      c->head_len);
        ck_assert_uint_eq(p->header_bytes, c->head_len);
        test_dump(p, dump, sizeof(dump));
        ck_assert_msg(strcmp(dump, c->want) == 0, "%s (%s): header\n%s\nwant\n%s", c->name, how,
                      dump, c->want);
    } else {
        ck_assert_uint_eq(used, c->len);
    }
}

START_TEST(test_proxyproto_cases_every_chunking)
{
    const struct pp_case *c = &test_cases[_i];
    struct proxyproto p;
    enum proxyproto_result res;
    char how[32];
    size_t used;

    for (int mode = 0; mode < FEED_MODES; mode++) {
        proxyproto_init(&p, c->mode);
        res = test_feed(&p, c->in, c->len, mode, &used);
        snprintf(how, sizeof(how), "mode %d", mode);
        test_check_case(c, &p, res, used, how);
    }
}
END_TEST

/* Two feeds, split at every position: the verdict and the leftover must not depend on
 * where. */
START_TEST(test_proxyproto_cases_every_split)
{
    const struct pp_case *c = &test_cases[_i];
    struct proxyproto p;
    enum proxyproto_result res;
    size_t u1, u2;
    char how[32];

    for (size_t split = 0; split <= c->len; split++) {
        proxyproto_init(&p, c->mode);
        u2 = 0;
        res = proxyproto_feed(&p, (const uint8_t *)c->in, split, &u1);
        if (res == MORE)
            res = proxyproto_feed(&p, (const uint8_t *)c->in + split, c->len - split, &u2);
        snprintf(how, sizeof(how), "split at %zu", split);
        test_check_case(c, &p, res, u1 + u2, how);
    }
}
END_TEST

/* A valid v1 or v2 case reads the same in the mode of its version and in ANY; the other
 * version's mode refuses it. */
START_TEST(test_proxyproto_modes)
{
    const struct pp_case *c = &test_cases[_i];
    enum proxyproto_mode own, other;
    enum proxyproto_result res;
    struct proxyproto p;
    size_t used;

    if (c->result != DONE)
        return;
    own = c->in[0] == 'P' ? V1 : V2;
    other = own == V1 ? V2 : V1;
    proxyproto_init(&p, ANY);
    res = test_feed(&p, c->in, c->len, 0, &used);
    test_check_case(c, &p, res, used, "ANY");
    proxyproto_init(&p, own);
    res = test_feed(&p, c->in, c->len, 0, &used);
    test_check_case(c, &p, res, used, "own version");
    proxyproto_init(&p, other);
    ck_assert_int_eq(test_feed(&p, c->in, c->len, 0, &used), FAIL);
    ck_assert_uint_le(used, c->len);
}
END_TEST

/* Every byte of the v2 signature, changed, fails at that byte at the latest. */
START_TEST(test_proxyproto_signature_bytes)
{
    static const uint8_t good[] = V2SIG "\x20\x00\x00\x00";
    uint8_t bad[sizeof(good) - 1];
    struct proxyproto p;
    size_t used;

    for (size_t i = 0; i < 12; i++) {
        for (int delta = 1; delta < 256; delta += 85) {
            memcpy(bad, good, sizeof(bad));
            bad[i] = (uint8_t)(bad[i] + delta);
            for (int m = V1; m <= ANY; m++) {
                proxyproto_init(&p, (enum proxyproto_mode)m);
                ck_assert_int_eq(proxyproto_feed(&p, bad, sizeof(bad), &used), FAIL);
                proxyproto_init(&p, (enum proxyproto_mode)m);
                ck_assert_int_eq(test_feed(&p, bad, i + 1, 1, &used), FAIL);
            }
        }
    }
}
END_TEST

/* A v1 line of exactly 107 bytes passes, one of 108 fails before its 108th byte. */
START_TEST(test_proxyproto_v1_length_limit)
{
    char line[200];
    struct proxyproto p;
    size_t used;

    for (size_t len = 15; len <= 110; len++) {
        size_t pad = len - 15;
        memcpy(line, "PROXY UNKNOWN", 13);
        if (pad > 0) {
            line[13] = ' ';
            memset(line + 14, 'x', pad - 1);
        }
        memcpy(line + 13 + pad, "\r\nDATA", 6);
        for (int mode = 0; mode < 3; mode++) {
            proxyproto_init(&p, mode == 2 ? ANY : V1);
            enum proxyproto_result res = test_feed(&p, line, len + 4, mode, &used);
            if (len <= PROXYPROTO_V1_MAX_BYTES) {
                ck_assert_msg(res == DONE, "len %zu: %s", len, p.error ? p.error : "");
                ck_assert_uint_eq(used, len);
            } else {
                ck_assert_int_eq(res, FAIL);
                ck_assert_str_eq(p.error, "v1: line longer than 107 bytes");
                ck_assert_uint_le(used, PROXYPROTO_V1_MAX_BYTES);
            }
        }
    }
}
END_TEST

/* A v2 header of the largest allowed size (NOOP padding) passes with the bytes after it
 * left alone; one byte more fails as soon as the length is read. */
START_TEST(test_proxyproto_v2_length_limit)
{
    static uint8_t buf[PROXYPROTO_V2_MAX_BYTES + 64], filler[PROXYPROTO_V2_MAX_BYTES];
    struct proxyproto_tlv pad = {.type = PROXYPROTO_TLV_NOOP, .value = filler};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7)};
    struct proxyproto p;
    size_t used;
    int n;

    pad.len = PROXYPROTO_V2_MAX_BYTES - 16 - 12 - 3;
    n = proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&a, &pad, 1, 0, buf,
                            sizeof(buf));
    ck_assert_int_eq(n, PROXYPROTO_V2_MAX_BYTES);
    memcpy(buf + n, "after", 5);
    for (int mode = 0; mode < FEED_MODES; mode++) {
        proxyproto_init(&p, ANY);
        ck_assert_int_eq(test_feed(&p, buf, (size_t)n + 5, mode, &used), DONE);
        ck_assert_uint_eq(used, PROXYPROTO_V2_MAX_BYTES);
    }
    pad.len++;
    n = proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&a, &pad, 1, 0, buf,
                            sizeof(buf));
    ck_assert_int_eq(n, PROXYPROTO_V2_MAX_BYTES + 1);
    proxyproto_init(&p, V2);
    ck_assert_int_eq(test_feed(&p, buf, 16, 1, &used), FAIL);
    ck_assert_str_eq(p.error, "v2: header longer than PROXYPROTO_V2_MAX_BYTES");
}
END_TEST

/* TLV size limits: AUTHORITY 255 and UNIQUE_ID 128 bytes pass, one more fails. */
START_TEST(test_proxyproto_tlv_limits)
{
    static const uint8_t filler[300];
    struct sockaddr_in a = {.sin_family = AF_INET};
    static const struct {
        uint8_t type;
        uint16_t max;
    } rows[] = {{PROXYPROTO_TLV_AUTHORITY, PROXYPROTO_AUTHORITY_MAX},
                {PROXYPROTO_TLV_UNIQUE_ID, PROXYPROTO_UNIQUE_ID_MAX}};
    uint8_t buf[512];
    struct proxyproto p;
    size_t used;

    for (size_t i = 0; i < 2; i++) {
        for (uint16_t len = rows[i].max; len <= rows[i].max + 1; len++) {
            struct proxyproto_tlv t = {.type = rows[i].type, .len = len, .value = filler};
            int n = proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&a, &t, 1, 0, buf,
                                        sizeof(buf));
            ck_assert_int_gt(n, 0);
            proxyproto_init(&p, V2);
            ck_assert_int_eq(test_feed(&p, buf, (size_t)n, 0, &used),
                             len == rows[i].max ? DONE : FAIL);
        }
    }
}
END_TEST

/* RFC 3720 §B.4 / the usual check value of CRC-32C. */
START_TEST(test_proxyproto_crc32c_vector)
{
    static const uint8_t zeros[32];
    uint32_t crc;

    ck_assert_uint_eq(proxyproto_crc32c(0, (const uint8_t *)"123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(proxyproto_crc32c(0, zeros, 32), 0x8a9136aau); /* RFC 3720 §B.4 */
    crc = proxyproto_crc32c(0, (const uint8_t *)"1234", 4);
    ck_assert_uint_eq(proxyproto_crc32c(crc, (const uint8_t *)"56789", 5), 0xe3069283u);
}
END_TEST

/* Parses the <len> bytes at <in> whole and byte by byte; expects DONE using all of them. */
static void test_parse_all(struct proxyproto *p, const void *in, size_t len)
{
    size_t used;

    for (int mode = 1; mode >= 0; mode--) {
        proxyproto_init(p, ANY);
        ck_assert_msg(test_feed(p, in, len, mode, &used) == DONE, "%s",
                      p->error ? p->error : "MORE");
        ck_assert_uint_eq(used, len);
    }
}

static struct sockaddr_in test_v4(const char *ip, uint16_t port)
{
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};

    ck_assert_int_eq(inet_pton(AF_INET, ip, &s.sin_addr), 1);
    return s;
}

static struct sockaddr_in6 test_v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

    ck_assert_int_eq(inet_pton(AF_INET6, ip, &s.sin6_addr), 1);
    return s;
}

/* Writes <src> -> <dst> as v1 and as v2 and reads both back to <want> ("" = local). */
static void test_round_trip(const struct sockaddr *src, const struct sockaddr *dst,
                            const char *want_v1, const char *want_v2)
{
    char line[PROXYPROTO_V1_MAX_BYTES + 1], dump[512];
    uint8_t bin[PROXYPROTO_V2_FIXED_BYTES + 216 + 16];
    struct proxyproto p;
    int n;

    n = proxyproto_write_v1(src, dst, line, sizeof(line));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(strlen(line), (size_t)n);
    test_parse_all(&p, line, (size_t)n);
    test_dump(&p, dump, sizeof(dump));
    ck_assert_str_eq(dump, want_v1);
    /* one byte less room than the line and its NUL: refused, empty */
    ck_assert_int_eq(proxyproto_write_v1(src, dst, line, (size_t)n), -1);
    ck_assert_str_eq(line, "");

    n = proxyproto_write_v2(src, dst, NULL, 0, 0, bin, sizeof(bin));
    ck_assert_int_gt(n, 0);
    test_parse_all(&p, bin, (size_t)n);
    test_dump(&p, dump, sizeof(dump));
    ck_assert_str_eq(dump, want_v2);
    ck_assert_int_eq(proxyproto_write_v2(src, dst, NULL, 0, 0, bin, (size_t)n - 1), -1);
}

START_TEST(test_proxyproto_write_round_trip)
{
    struct sockaddr_in a4 = test_v4("192.0.2.1", 50000), b4 = test_v4("198.51.100.7", 443);
    struct sockaddr_in6 a6 = test_v6("2001:db8::1", 0), b6 = test_v6("::1", 65535);
    struct sockaddr_un u1 = {.sun_family = AF_UNIX}, u2 = {.sun_family = AF_UNIX};
    struct sockaddr_un abstract = {.sun_family = AF_UNIX};
    struct proxyproto p;
    uint8_t bin[300];
    char line[200];
    int n;

    test_round_trip((struct sockaddr *)&a4, (struct sockaddr *)&b4,
                    "v1 192.0.2.1:50000 -> 198.51.100.7:443",
                    "v2 192.0.2.1:50000 -> 198.51.100.7:443");
    test_round_trip((struct sockaddr *)&a6, (struct sockaddr *)&b6,
                    "v1 [2001:db8::1]:0 -> [::1]:65535", "v2 [2001:db8::1]:0 -> [::1]:65535");
    test_round_trip((struct sockaddr *)&a4, (struct sockaddr *)&b6,
                    "v1 [::ffff:192.0.2.1]:50000 -> [::1]:65535",
                    "v2 [::ffff:192.0.2.1]:50000 -> [::1]:65535");
    test_round_trip((struct sockaddr *)&b6, (struct sockaddr *)&b4,
                    "v1 [::1]:65535 -> [::ffff:198.51.100.7]:443",
                    "v2 [::1]:65535 -> [::ffff:198.51.100.7]:443");
    test_round_trip(NULL, (struct sockaddr *)&b4, "v1 local", "v2 local");
    test_round_trip((struct sockaddr *)&a4, NULL, "v1 local", "v2 local");

    /* Unix sockets: v1 has no form for them; v2 carries both paths */
    strcpy(u1.sun_path, "/run/client.sock");
    strcpy(u2.sun_path, "/run/wsbridge.sock");
    test_round_trip((struct sockaddr *)&u1, (struct sockaddr *)&u2, "v1 local",
                    "v2 unix:/run/client.sock -> unix:/run/wsbridge.sock");
    n = proxyproto_write_v2((struct sockaddr *)&u1, (struct sockaddr *)&u2, NULL, 0, 0, bin,
                            sizeof(bin));
    test_parse_all(&p, bin, (size_t)n);
    ck_assert_uint_eq(p.hdr.src_len, offsetof(struct sockaddr_un, sun_path) + 17);
    ck_assert_int_eq(memcmp(&p.hdr.src, &u1, sizeof(u1)), 0);
    ck_assert_int_eq(memcmp(&p.hdr.dst, &u2, sizeof(u2)), 0);
    /* an unnamed peer (the usual client of a Unix listener) and an abstract name */
    abstract.sun_path[1] = 'k';
    n = proxyproto_write_v2((struct sockaddr *)&u2, (struct sockaddr *)&abstract, NULL, 0, 0, bin,
                            sizeof(bin));
    test_parse_all(&p, bin, (size_t)n);
    ck_assert_uint_eq(p.hdr.dst_len, sizeof(struct sockaddr_un));
    ck_assert_int_eq(memcmp(&p.hdr.dst, &abstract, sizeof(abstract)), 0);
    memset(u1.sun_path, 0, sizeof(u1.sun_path));
    n = proxyproto_write_v2((struct sockaddr *)&u1, (struct sockaddr *)&u2, NULL, 0, 0, bin,
                            sizeof(bin));
    test_parse_all(&p, bin, (size_t)n);
    ck_assert_uint_eq(p.hdr.src_len, offsetof(struct sockaddr_un, sun_path));
    /* Unix on one side only: PROXY with UNSPEC */
    test_round_trip((struct sockaddr *)&u2, (struct sockaddr *)&b4, "v1 local", "v2 local");
    n = proxyproto_write_v2((struct sockaddr *)&u2, (struct sockaddr *)&b4, NULL, 0, 0, bin,
                            sizeof(bin));
    ck_assert_int_eq(n, 16);
    ck_assert_int_eq(bin[12], 0x21);
    ck_assert_int_eq(bin[13], 0x00);

    /* the v1 text exactly */
    n = proxyproto_write_v1((struct sockaddr *)&a4, (struct sockaddr *)&b4, line, sizeof(line));
    ck_assert_str_eq(line, "PROXY TCP4 192.0.2.1 198.51.100.7 50000 443\r\n");
    n = proxyproto_write_v1(NULL, NULL, line, sizeof(line));
    ck_assert_str_eq(line, "PROXY UNKNOWN\r\n");
}
END_TEST

/* TLVs and the CRC32c flag: written in order, read back, CRC checked; LOCAL has no
 * addresses; a CRC32c TLV in the list or a NULL value is refused. */
START_TEST(test_proxyproto_write_tlvs)
{
    struct sockaddr_in a = test_v4("10.1.2.3", 4000), b = test_v4("10.9.8.7", 80);
    const struct proxyproto_tlv tlvs[] = {
        {.type = PROXYPROTO_TLV_ALPN, .len = 2, .value = (const uint8_t *)"h2"},
        {.type = PROXYPROTO_TLV_AUTHORITY, .len = 9, .value = (const uint8_t *)"ws.a.test"},
        {.type = 0xe5, .len = 0, .value = NULL},
        {.type = PROXYPROTO_TLV_UNIQUE_ID, .len = 3, .value = (const uint8_t *)"u-1"},
    };
    struct proxyproto_tlv bad = {
        .type = PROXYPROTO_TLV_CRC32C, .len = 4, .value = (const uint8_t *)"abcd"};
    uint8_t bin[256];
    char dump[512];
    struct proxyproto p;
    int n;

    n = proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&b, tlvs, 4,
                            PROXYPROTO_WRITE_CRC32C, bin, sizeof(bin));
    ck_assert_int_eq(n, 16 + 12 + 5 + 12 + 3 + 6 + 7);
    test_parse_all(&p, bin, (size_t)n);
    test_dump(&p, dump, sizeof(dump));
    ck_assert_str_eq(dump,
                     "v2 10.1.2.3:4000 -> 10.9.8.7:80 alpn=h2 authority=ws.a.test uid=u-1 crc32c");
    /* any bit flipped in the addresses, a TLV value or the checksum breaks the CRC (type and
     * length bytes are left alone: a changed one may hide the CRC32c TLV itself) */
    for (int i = 16; i < n; i++) {
        if (!(i < 28 || (i >= 31 && i < 33) || (i >= 36 && i < 45) || (i >= 51 && i < 54) ||
              i >= 57))
            continue;
        for (int bit = 0; bit < 8; bit++) {
            size_t used;
            bin[i] ^= (uint8_t)(1 << bit);
            proxyproto_init(&p, V2);
            ck_assert_msg(proxyproto_feed(&p, bin, (size_t)n, &used) == FAIL, "byte %d bit %d", i,
                          bit);
            bin[i] ^= (uint8_t)(1 << bit);
        }
    }
    n = proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&b, NULL, 0,
                            PROXYPROTO_WRITE_LOCAL, bin, sizeof(bin));
    ck_assert_int_eq(n, 16);
    ck_assert_int_eq(bin[12], 0x20);
    test_parse_all(&p, bin, (size_t)n);
    ck_assert(p.hdr.local);
    ck_assert_int_eq(proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&b, &bad, 1, 0,
                                         bin, sizeof(bin)),
                     -1);
    bad = (struct proxyproto_tlv){.type = PROXYPROTO_TLV_ALPN, .len = 1, .value = NULL};
    ck_assert_int_eq(proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&b, &bad, 1, 0,
                                         bin, sizeof(bin)),
                     -1);
}
END_TEST

/* A TLV list whose length passes the 16-bit field is refused, not wrapped around. */
START_TEST(test_proxyproto_write_too_long)
{
    static uint8_t big[65535], out[PROXYPROTO_V2_WRITE_MAX + 8];
    struct sockaddr_in a = test_v4("10.1.2.3", 1);
    struct proxyproto_tlv t[2] = {{.type = 0xe0, .len = 65535 - 12 - 3, .value = big},
                                  {.type = 0xe1, .len = 0, .value = NULL}};

    ck_assert_int_eq(proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&a, t, 1, 0, out,
                                         sizeof(out)),
                     PROXYPROTO_V2_WRITE_MAX);
    ck_assert_int_eq(proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&a, t, 2, 0, out,
                                         sizeof(out)),
                     -1);
    ck_assert_int_eq(proxyproto_write_v2((struct sockaddr *)&a, (struct sockaddr *)&a, t, 1,
                                         PROXYPROTO_WRITE_CRC32C, out, sizeof(out)),
                     -1);
}
END_TEST

/* An empty feed changes nothing; init resets a finished reader. */
START_TEST(test_proxyproto_empty_feed_and_reuse)
{
    struct proxyproto p;
    size_t used;

    proxyproto_init(&p, ANY);
    ck_assert_int_eq(proxyproto_feed(&p, (const uint8_t *)"", 0, &used), MORE);
    ck_assert_uint_eq(used, 0);
    ck_assert_int_eq(proxyproto_feed(&p, (const uint8_t *)"X", 1, &used), FAIL);
    proxyproto_init(&p, ANY);
    ck_assert_ptr_null(p.error);
    ck_assert_int_eq(proxyproto_feed(&p, (const uint8_t *)"PROXY UNKNOWN\r\nab", 17, &used), DONE);
    ck_assert_uint_eq(used, 15);
    ck_assert(p.hdr.local);
}
END_TEST

static Suite *test_suite(void)
{
    Suite *s = suite_create("proxyproto");
    TCase *tc = tcase_create("proxyproto");

    tcase_add_loop_test(tc, test_proxyproto_cases_every_chunking, 0, (int)TEST_N_CASES);
    tcase_add_loop_test(tc, test_proxyproto_cases_every_split, 0, (int)TEST_N_CASES);
    tcase_add_loop_test(tc, test_proxyproto_modes, 0, (int)TEST_N_CASES);
    tcase_add_test(tc, test_proxyproto_signature_bytes);
    tcase_add_test(tc, test_proxyproto_v1_length_limit);
    tcase_add_test(tc, test_proxyproto_v2_length_limit);
    tcase_add_test(tc, test_proxyproto_tlv_limits);
    tcase_add_test(tc, test_proxyproto_crc32c_vector);
    tcase_add_test(tc, test_proxyproto_write_round_trip);
    tcase_add_test(tc, test_proxyproto_write_tlvs);
    tcase_add_test(tc, test_proxyproto_write_too_long);
    tcase_add_test(tc, test_proxyproto_empty_feed_and_reuse);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_suite)
