/*
 * fuzz_forwarded.c - libFuzzer driver for forwarded.c, two ways.
 *
 * Built chains (byte 0 even): the input describes hops (address, port, scheme, trusted or
 * not by the address's last bit, or an "unknown"/obfuscated/empty hop) and how to spell
 * them (quotes, case, extra parameters, empty elements, whitespace, line breaks); the
 * driver writes Forwarded and/or X-Forwarded-For (+ -Proto) lines itself and expects
 * exactly the answer of its own plain walk: the rightmost untrusted address, the leftmost
 * when all are trusted, no client at an unknown hop, the scheme of the client's hop.
 *
 * Raw lines (byte 0 odd): any bytes as header lines (split at "\n"; each line's first byte
 * picks its kind). Invariants: a known result; a reason for NO_CLIENT; a CLIENT address
 * that is AF_INET/AF_INET6 with its length; nothing read from an untrusted peer; a list
 * whose lines all parse gives the same answer joined into one line with commas.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forwarded.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FW_LINES (FORWARDED_MAX_HOPS + 2)
#define FUZZ_FW_LINE_MAX 16384

static int fuzz_fw_calls;

/* Trusted: an address whose last byte is odd (the peer 10.0.0.1 is). */
static bool fuzz_fw_trusted(void *arg, const struct sockaddr *sa)
{
    (void)arg;
    fuzz_fw_calls++;
    FUZZ_CHECK(sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
    if (sa->sa_family == AF_INET)
        return (((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr)[3] & 1) != 0;
    return (((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr[15] & 1) != 0;
}

static void fuzz_fw_check_answer(enum forwarded_result r, const struct forwarded_answer *a)
{
    FUZZ_CHECK(r == FORWARDED_NONE || r == FORWARDED_CLIENT || r == FORWARDED_NO_CLIENT);
    if (r == FORWARDED_NO_CLIENT)
        FUZZ_CHECK(a->error != NULL && a->error[0] != '\0');
    else
        FUZZ_CHECK(a->error == NULL);
    if (r == FORWARDED_CLIENT) {
        FUZZ_CHECK(a->source != NULL);
        FUZZ_CHECK(strcmp(a->source, "Forwarded") == 0 ||
                   strcmp(a->source, "X-Forwarded-For") == 0);
        if (a->client.ss_family == AF_INET)
            FUZZ_CHECK(a->client_len == sizeof(struct sockaddr_in));
        else
            FUZZ_CHECK(a->client.ss_family == AF_INET6 &&
                       a->client_len == sizeof(struct sockaddr_in6));
    } else {
        FUZZ_CHECK(a->client.ss_family == 0 && a->source == NULL);
    }
}

/* ---- built chains ---- */

struct fuzz_fw_hop {
    int kind;         /* 0 IPv4, 1 IPv6, 2 unknown, 3 obfuscated, 4 no for= */
    uint8_t addr[16]; /* IPv4: 4 bytes; IPv6: 2001:db8::/32 plus 4 bytes */
    bool has_port;
    uint16_t port;
    int proto; /* 0 none, 1 http, 2 https, 3 wss */
    uint8_t style;
};

struct fuzz_fw_text {
    char lines[FUZZ_FW_LINES][FUZZ_FW_LINE_MAX];
    const char *ptr[FUZZ_FW_LINES];
    size_t n;
};

static void fuzz_fw_put(struct fuzz_fw_text *t, const char *fmt, const char *s)
{
    char *line = t->lines[t->n - 1];
    size_t len = strlen(line);

    snprintf(line + len, FUZZ_FW_LINE_MAX - len, fmt, s);
}

static void fuzz_fw_new_line(struct fuzz_fw_text *t)
{
    FUZZ_CHECK(t->n < FUZZ_FW_LINES);
    t->lines[t->n][0] = '\0';
    t->ptr[t->n] = t->lines[t->n];
    t->n++;
}

static const char *fuzz_fw_scheme(int proto)
{
    static const char *const names[] = {"ftp", "http", "HTTPS", "wss"};
    return names[proto];
}

/* The address of <h> as text, "[v6]" bracketed when <brackets>, ":port" when it has one. */
static void fuzz_fw_node(const struct fuzz_fw_hop *h, bool brackets, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    bool br = h->kind == 1 && (brackets || h->has_port);

    inet_ntop(h->kind == 0 ? AF_INET : AF_INET6, h->addr, ip, sizeof(ip));
    if (h->has_port)
        snprintf(out, cap, "%s%s%s:%u", br ? "[" : "", ip, br ? "]" : "", h->port);
    else
        snprintf(out, cap, "%s%s%s", br ? "[" : "", ip, br ? "]" : "");
}

static void fuzz_fw_write_forwarded(struct fuzz_fw_text *t, const struct fuzz_fw_hop *hops,
                                    size_t n)
{
    static const char *const fornames[] = {"for", "FOR", "For", "fOr"};
    char node[80];

    fuzz_fw_new_line(t);
    for (size_t i = 0; i < n; i++) {
        const struct fuzz_fw_hop *h = &hops[i];
        uint8_t st = h->style;

        if (i > 0 && (st & 0x80) != 0)
            fuzz_fw_new_line(t);
        else if (i > 0)
            fuzz_fw_put(t, "%s", (st & 0x01) ? " ,\t" : ",");
        if ((st & 0x02) != 0)
            fuzz_fw_put(t, "%s", ", ,"); /* empty list elements */
        if ((st & 0x04) != 0)
            fuzz_fw_put(t, "%s", "by=\"[2001:db8::9]:80\";");
        if ((st & 0x08) != 0)
            fuzz_fw_put(t, "%s", ";");
        switch (h->kind) {
        case 0:
        case 1:
            fuzz_fw_node(h, true, node, sizeof(node));
            fuzz_fw_put(t, "%s=", fornames[(st >> 4) & 3]);
            if (h->kind == 0 && !h->has_port && (st & 0x40) == 0)
                fuzz_fw_put(t, "%s", node); /* a bare IPv4 address is a token */
            else
                fuzz_fw_put(t, "\"%s\"", node);
            break;
        case 2:
            fuzz_fw_put(t, "%s", (st & 0x40) ? "for=UNKNOWN" : "for=\"unknown:_p\"");
            break;
        case 3:
            fuzz_fw_put(t, "%s", (st & 0x40) ? "for=_hidden" : "for=\"_x.y-z:8080\"");
            break;
        default:
            fuzz_fw_put(t, "%s", "host=example.com");
            break;
        }
        if (h->proto != 0 || (st & 0x40) != 0) {
            fuzz_fw_put(t, ";proto=%s", fuzz_fw_scheme(h->proto));
        }
        if ((st & 0x10) != 0)
            fuzz_fw_put(t, "%s", ";ext=\"a\\\"b\"");
    }
}

static void fuzz_fw_write_xff(struct fuzz_fw_text *x, struct fuzz_fw_text *p,
                              const struct fuzz_fw_hop *hops, size_t n, bool with_proto)
{
    char node[80];

    fuzz_fw_new_line(x);
    if (with_proto)
        fuzz_fw_new_line(p);
    for (size_t i = 0; i < n; i++) {
        const struct fuzz_fw_hop *h = &hops[i];
        uint8_t st = h->style;

        if (i > 0 && (st & 0x80) != 0) {
            fuzz_fw_new_line(x);
        } else if (i > 0) {
            fuzz_fw_put(x, "%s", (st & 0x01) ? " , " : ",");
        }
        if ((st & 0x02) != 0)
            fuzz_fw_put(x, "%s", ",,");
        if (h->kind <= 1) {
            fuzz_fw_node(h, (st & 0x20) != 0, node, sizeof(node));
            fuzz_fw_put(x, "%s", node);
        } else {
            fuzz_fw_put(x, "%s", "unknown");
        }
        if (with_proto) {
            if (i > 0 && (st & 0x40) != 0)
                fuzz_fw_new_line(p);
            else if (i > 0)
                fuzz_fw_put(p, "%s", ", ");
            fuzz_fw_put(p, "%s", fuzz_fw_scheme(h->proto));
        }
    }
}

/* The plain walk: index of the client, or -1 with *no_client set for an unknown hop. */
static long fuzz_fw_reference(const struct fuzz_fw_hop *hops, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        const struct fuzz_fw_hop *h = &hops[i];

        if (h->kind > 1)
            return -1;
        if (i == 0 || (h->addr[h->kind == 0 ? 3 : 15] & 1) == 0)
            return (long)i;
    }
    return -1;
}

static void fuzz_fw_built(const uint8_t *data, size_t size)
{
    static struct fuzz_fw_text fw, xf, xp;
    struct fuzz_fw_hop hops[FORWARDED_MAX_HOPS];
    struct sockaddr_in peer = {.sin_family = AF_INET};
    struct forwarded_headers h;
    struct forwarded_answer a;
    enum forwarded_result r;
    enum forwarded_use use;
    size_t n = 0;
    int which;
    bool with_proto, expect_fw;
    long want;

    if (size < 2)
        return;
    which = data[0] >> 1 & 3; /* 0 Forwarded, 1 X-Forwarded-For, 2 both, 3 both + XFP */
    use = (enum forwarded_use)(data[1] % 3);
    with_proto = (data[1] & 0x10) != 0 || which == 3;
    data += 2;
    size -= 2;
    for (; size >= 8 && n < FORWARDED_MAX_HOPS; data += 8, size -= 8) {
        struct fuzz_fw_hop *hp = &hops[n++];

        memset(hp, 0, sizeof(*hp));
        hp->kind = data[0] % 8 < 3 ? 0 : data[0] % 8 < 6 ? 1 : 2 + data[0] % 8 - 6;
        if (hp->kind == 3 && (data[1] & 1))
            hp->kind = 4;
        if (hp->kind == 0) {
            memcpy(hp->addr, data + 1, 4);
        } else if (hp->kind == 1) {
            hp->addr[0] = 0x20;
            hp->addr[1] = 0x01;
            hp->addr[2] = 0x0d;
            hp->addr[3] = 0xb8;
            memcpy(hp->addr + 12, data + 1, 4);
        }
        hp->has_port = (data[0] & 0x08) != 0;
        hp->port = (uint16_t)(data[5] << 8 | data[6]);
        hp->proto = data[0] >> 4 & 3;
        hp->style = data[7];
    }
    /* X-Forwarded-For cannot say "obfuscated" or "no for=": only "unknown" */
    fw.n = xf.n = xp.n = 0;
    if (which != 1)
        fuzz_fw_write_forwarded(&fw, hops, n);
    if (which != 0)
        fuzz_fw_write_xff(&xf, &xp, hops, n, with_proto);
    h = (struct forwarded_headers){.forwarded = fw.ptr,
                                   .n_forwarded = fw.n,
                                   .xff = xf.ptr,
                                   .n_xff = xf.n,
                                   .xfp = xp.ptr,
                                   .n_xfp = xp.n};
    inet_pton(AF_INET, "10.0.0.1", &peer.sin_addr);
    fuzz_fw_calls = 0;
    r = forwarded_find(&h, use, (struct sockaddr *)&peer, fuzz_fw_trusted, NULL, &a);
    fuzz_fw_check_answer(r, &a);

    expect_fw = which != 1 && use != FORWARDED_USE_XFF;
    if ((which == 0 && use == FORWARDED_USE_XFF) || (which == 1 && use == FORWARDED_USE_RFC7239)) {
        FUZZ_CHECK(r == FORWARDED_NONE);
        return;
    }
    want = fuzz_fw_reference(hops, n);
    if (want < 0) {
        FUZZ_CHECK(r == FORWARDED_NO_CLIENT);
        return;
    }
    if (r != FORWARDED_CLIENT) {
        fprintf(stderr, "want hop %ld, got %d (%s)\n", want, r, a.error ? a.error : "");
        for (size_t i = 0; i < fw.n; i++)
            fprintf(stderr, "Forwarded: %s\n", fw.lines[i]);
        for (size_t i = 0; i < xf.n; i++)
            fprintf(stderr, "X-Forwarded-For: %s\n", xf.lines[i]);
        for (size_t i = 0; i < xp.n; i++)
            fprintf(stderr, "X-Forwarded-Proto: %s\n", xp.lines[i]);
        abort();
    }
    {
        const struct fuzz_fw_hop *w = &hops[want];
        int fam = w->kind == 0 ? AF_INET : AF_INET6;
        const void *got = fam == AF_INET
                              ? (const void *)&((struct sockaddr_in *)&a.client)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)&a.client)->sin6_addr;
        uint16_t port = fam == AF_INET ? ((struct sockaddr_in *)&a.client)->sin_port
                                       : ((struct sockaddr_in6 *)&a.client)->sin6_port;
        enum forwarded_proto proto = w->proto == 1   ? FORWARDED_PROTO_HTTP
                                     : w->proto >= 2 ? FORWARDED_PROTO_HTTPS
                                                     : FORWARDED_PROTO_UNKNOWN;
        bool proto_told = expect_fw || with_proto;

        FUZZ_CHECK(a.client.ss_family == fam);
        FUZZ_CHECK(memcmp(got, w->addr, fam == AF_INET ? 4 : 16) == 0);
        FUZZ_CHECK(a.has_port == w->has_port);
        FUZZ_CHECK(!a.has_port || ntohs(port) == w->port);
        FUZZ_CHECK(a.proto == (proto_told ? proto : FORWARDED_PROTO_UNKNOWN));
        FUZZ_CHECK(strcmp(a.source, expect_fw ? "Forwarded" : "X-Forwarded-For") == 0);
        /* never a trusted address, unless every one is and this is the leftmost */
        FUZZ_CHECK((w->addr[fam == AF_INET ? 3 : 15] & 1) == 0 || want == 0);
    }
}

/* ---- raw lines ---- */

static void fuzz_fw_raw(const uint8_t *data, size_t size)
{
    static char text[FUZZ_FW_LINES][FUZZ_FW_LINE_MAX], joined[3][FUZZ_FW_LINE_MAX * 2];
    const char *lines[3][FUZZ_FW_LINES], *one[3][1];
    size_t n[3] = {0, 0, 0}, k = 0;
    struct sockaddr_in peer = {.sin_family = AF_INET};
    struct forwarded_headers h, hj;
    struct forwarded_answer a, b;
    enum forwarded_result r, rj;
    enum forwarded_use use;
    size_t start = 1;

    if (size < 1)
        return;
    use = (enum forwarded_use)((data[0] >> 1) % 3);
    for (size_t i = 1; i <= size && k < FUZZ_FW_LINES; i++) {
        size_t len;
        int kind;

        if (i < size && data[i] != '\n')
            continue;
        len = i - start;
        if (len >= 1 && len < FUZZ_FW_LINE_MAX) {
            kind = data[start] % 3;
            memcpy(text[k], data + start + 1, len - 1);
            text[k][len - 1] = '\0'; /* a NUL inside cuts the value, as a C string does */
            lines[kind][n[kind]++] = text[k++];
        }
        start = i + 1;
    }
    h = (struct forwarded_headers){.forwarded = lines[0],
                                   .n_forwarded = n[0],
                                   .xff = lines[1],
                                   .n_xff = n[1],
                                   .xfp = lines[2],
                                   .n_xfp = n[2]};

    /* an untrusted peer: nothing read, one question asked */
    inet_pton(AF_INET, "10.0.0.2", &peer.sin_addr);
    fuzz_fw_calls = 0;
    r = forwarded_find(&h, use, (struct sockaddr *)&peer, fuzz_fw_trusted, NULL, &a);
    FUZZ_CHECK(r == FORWARDED_NONE && fuzz_fw_calls == 1 && a.proto == FORWARDED_PROTO_UNKNOWN);
    fuzz_fw_check_answer(r, &a);

    inet_pton(AF_INET, "10.0.0.1", &peer.sin_addr);
    r = forwarded_find(&h, use, (struct sockaddr *)&peer, fuzz_fw_trusted, NULL, &a);
    fuzz_fw_check_answer(r, &a);
    /* the lines of each kind joined with commas: the same answer when every line parsed
     * (a reason that names a header is a parse error, where quotes may span the join) */
    for (int kind = 0; kind < 3; kind++) {
        size_t at = 0;

        joined[kind][0] = '\0';
        for (size_t i = 0; i < n[kind]; i++) {
            size_t len = strlen(lines[kind][i]);

            if (at + len + 2 > sizeof(joined[kind]))
                return; /* too long to join here */
            at += (size_t)snprintf(joined[kind] + at, sizeof(joined[kind]) - at, "%s%s",
                                   i > 0 ? "," : "", lines[kind][i]);
        }
        one[kind][0] = joined[kind];
    }
    hj = (struct forwarded_headers){.forwarded = one[0],
                                    .n_forwarded = n[0] > 0,
                                    .xff = one[1],
                                    .n_xff = n[1] > 0,
                                    .xfp = one[2],
                                    .n_xfp = n[2] > 0};
    rj = forwarded_find(&hj, use, (struct sockaddr *)&peer, fuzz_fw_trusted, NULL, &b);
    fuzz_fw_check_answer(rj, &b);
    if (r == FORWARDED_NO_CLIENT && strchr(a.error, ':') != NULL)
        return;
    FUZZ_CHECK(rj == r);
    FUZZ_CHECK(a.proto == b.proto);
    if (r == FORWARDED_CLIENT) {
        FUZZ_CHECK(memcmp(&a.client, &b.client, sizeof(a.client)) == 0);
        FUZZ_CHECK(a.has_port == b.has_port && strcmp(a.source, b.source) == 0);
    }
    if (r == FORWARDED_NO_CLIENT)
        FUZZ_CHECK(strcmp(a.error, b.error) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if ((data[0] & 1) == 0)
        fuzz_fw_built(data, size);
    else
        fuzz_fw_raw(data, size);
    return 0;
}
