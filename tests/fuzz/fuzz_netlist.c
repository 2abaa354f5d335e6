/*
 * fuzz_netlist.c - libFuzzer driver for netlist.c: CIDR rules and the verdict for peer
 * addresses, from any bytes. Invariants: a rule that parses has a known family, a prefix
 * within it and no host bits, is written back by netlist_rule_write in a form that parses
 * to the very same rule and writes the same text again (canonical), matches its own
 * address (IPv4 rules also as ::ffff:a.b.c.d) and not that address with the last bit of
 * its prefix flipped; a refused rule leaves its list as it was, and every error
 * text is one terminated line starting "network" that fits its buffer; the verdict for
 * the whole list equals a plain reading of netlist.h for each rule's address, its
 * neighbours, and addresses taken from the input.
 *
 * Input: byte 0 bits 0..6 the size of the error buffer (0: 256 bytes), bit 7 unused; then
 * lines ('\n'), each a rule: a first character '!' puts it on the deny list, else the
 * allow list. At most FUZZ_NETLIST_RULES rules; 16-byte runs of the input are also tried
 * as peer addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "netlist.h"

#define FUZZ_NETLIST_RULES 32 /* rules read from one input */
#define FUZZ_NETLIST_PEERS 8  /* 16-byte runs of the input tried as addresses */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* <err> (of <cap> bytes) is one terminated line starting "network", or as much of it as
 * fits; empty only when no byte fits. */
static void fuzz_netlist_check_err(const char *err, size_t cap)
{
    static const char start[] = "network";
    size_t len;

    FUZZ_CHECK(memchr(err, '\0', cap) != NULL);
    len = strlen(err);
    FUZZ_CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
    FUZZ_CHECK(len > 0 || cap == 1);
    FUZZ_CHECK(strncmp(err, start, len < sizeof(start) - 1 ? len : sizeof(start) - 1) == 0);
}

/* <addr> of <family> as a peer address in <ss>; for AF_INET with <mapped>, as the
 * IPv4-mapped IPv6 address a dual-stack listener reports. */
static const struct sockaddr *fuzz_netlist_peer(int family, const unsigned char *addr, bool mapped,
                                                struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET && !mapped) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, addr, sizeof(in->sin_addr));
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        if (family == AF_INET) {
            in6->sin6_addr.s6_addr[10] = 0xff;
            in6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(&in6->sin6_addr.s6_addr[12], addr, 4);
        } else {
            memcpy(&in6->sin6_addr, addr, sizeof(in6->sin6_addr));
        }
    }
    return (const struct sockaddr *)ss;
}

/* netlist.h read plainly: the bit-by-bit prefix comparison. */
static bool fuzz_netlist_ref_match(const struct netlist_rule *r, int family,
                                   const unsigned char *addr)
{
    if (r->family != family)
        return false;
    for (unsigned bit = 0; bit < r->prefix_bits; bit++) {
        unsigned mask = 0x80u >> (bit % 8);
        if ((r->addr[bit / 8] & mask) != (addr[bit / 8] & mask))
            return false;
    }
    return true;
}

/* The verdict of netlist.h for <addr> of <family> (IPv4-mapped already unwrapped). */
static bool fuzz_netlist_ref_allowed(const struct netlist *nl, int family,
                                     const unsigned char *addr)
{
    bool allowed = nl->n[NETLIST_ALLOW] == 0;

    for (size_t i = 0; i < nl->n[NETLIST_DENY]; i++)
        if (fuzz_netlist_ref_match(&nl->rules[NETLIST_DENY][i], family, addr))
            return false;
    for (size_t i = 0; i < nl->n[NETLIST_ALLOW] && !allowed; i++)
        allowed = fuzz_netlist_ref_match(&nl->rules[NETLIST_ALLOW][i], family, addr);
    return allowed;
}

/* Checks netlist_is_allowed against the plain reading for <addr> of <family>, and for
 * an IPv4 address also its IPv4-mapped form. */
static void fuzz_netlist_check_peer(const struct netlist *nl, int family, const unsigned char *addr)
{
    struct sockaddr_storage ss;
    bool want = fuzz_netlist_ref_allowed(nl, family, addr);

    FUZZ_CHECK(netlist_is_allowed(nl, fuzz_netlist_peer(family, addr, false, &ss)) == want);
    if (family == AF_INET)
        FUZZ_CHECK(netlist_is_allowed(nl, fuzz_netlist_peer(family, addr, true, &ss)) == want);
}

/* The rule <r> just parsed: its shape, its canonical text, and its own address. */
static void fuzz_netlist_check_rule(const struct netlist_rule *r)
{
    unsigned max_bits = r->family == AF_INET ? 32 : 128;
    char text[NETLIST_RULE_TEXT_MAX], again[NETLIST_RULE_TEXT_MAX], err[256];
    struct netlist *one = netlist_new(), *deny = netlist_new();
    struct sockaddr_storage ss;
    unsigned char outside[16];
    int n;

    FUZZ_CHECK(one != NULL && deny != NULL);
    FUZZ_CHECK(r->family == AF_INET || r->family == AF_INET6);
    FUZZ_CHECK(r->prefix_bits <= max_bits);
    for (unsigned bit = r->prefix_bits; bit < 128; bit++)
        FUZZ_CHECK((r->addr[bit / 8] & (0x80u >> (bit % 8))) == 0); /* and nothing past 4 */
    /* IPv4-mapped rules are stored as IPv4 */
    if (r->family == AF_INET6 && r->prefix_bits >= 96)
        FUZZ_CHECK(!(memcmp(r->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0));

    n = netlist_rule_write(r, text, sizeof(text));
    FUZZ_CHECK(n > 0 && (size_t)n == strlen(text));
    FUZZ_CHECK(netlist_add(one, NETLIST_ALLOW, text, err, sizeof(err)) == 0);
    FUZZ_CHECK(one->n[NETLIST_ALLOW] == 1);
    FUZZ_CHECK(memcmp(&one->rules[NETLIST_ALLOW][0], r, sizeof(*r)) == 0);
    FUZZ_CHECK(netlist_rule_write(&one->rules[NETLIST_ALLOW][0], again, sizeof(again)) == n);
    FUZZ_CHECK(strcmp(text, again) == 0);
    FUZZ_CHECK(netlist_rule_write(r, again, (size_t)n) == -1 && again[0] == '\0');

    /* its own address is in it; the first address past the prefix is not */
    FUZZ_CHECK(netlist_is_allowed(one, fuzz_netlist_peer(r->family, r->addr, false, &ss)));
    if (r->family == AF_INET)
        FUZZ_CHECK(netlist_is_allowed(one, fuzz_netlist_peer(r->family, r->addr, true, &ss)));
    FUZZ_CHECK(netlist_add(deny, NETLIST_DENY, text, err, sizeof(err)) == 0);
    FUZZ_CHECK(!netlist_is_allowed(deny, fuzz_netlist_peer(r->family, r->addr, false, &ss)));
    if (r->prefix_bits > 0) {
        memcpy(outside, r->addr, sizeof(outside));
        outside[(r->prefix_bits - 1) / 8] ^= (unsigned char)(0x80u >> ((r->prefix_bits - 1) % 8));
        FUZZ_CHECK(!netlist_is_allowed(one, fuzz_netlist_peer(r->family, outside, false, &ss)));
        FUZZ_CHECK(netlist_is_allowed(deny, fuzz_netlist_peer(r->family, outside, false, &ss)));
    }
    netlist_free(one);
    netlist_free(deny);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct netlist *nl;
    size_t err_len, pos = 1, rules = 0;
    char *err;

    if (size < 1)
        return 0;
    err_len = (data[0] & 0x7f) != 0 ? (size_t)(data[0] & 0x7f) : 256;
    err = malloc(err_len);
    nl = netlist_new();
    FUZZ_CHECK(err != NULL && nl != NULL);

    while (pos < size && rules < FUZZ_NETLIST_RULES) {
        const uint8_t *nl_at = memchr(data + pos, '\n', size - pos);
        size_t len = nl_at != NULL ? (size_t)(nl_at - (data + pos)) : size - pos;
        enum netlist_which which = NETLIST_ALLOW;
        const uint8_t *line = data + pos;
        size_t before[2] = {nl->n[NETLIST_ALLOW], nl->n[NETLIST_DENY]};
        char *cidr;

        pos += len + 1;
        rules++;
        if (len > 0 && line[0] == '!') {
            which = NETLIST_DENY;
            line++;
            len--;
        }
        cidr = malloc(len + 1); /* exact size, so a read past is reported */
        FUZZ_CHECK(cidr != NULL);
        memcpy(cidr, line, len);
        cidr[len] = '\0';
        memset(err, 'x', err_len);
        if (netlist_add(nl, which, cidr, err, err_len) == 0) {
            FUZZ_CHECK(nl->n[which] == before[which] + 1);
            FUZZ_CHECK(err_len == 0 || err[0] == '\0');
            fuzz_netlist_check_rule(&nl->rules[which][nl->n[which] - 1]);
        } else {
            FUZZ_CHECK(nl->n[NETLIST_ALLOW] == before[NETLIST_ALLOW]);
            FUZZ_CHECK(nl->n[NETLIST_DENY] == before[NETLIST_DENY]);
            fuzz_netlist_check_err(err, err_len);
        }
        free(cidr);
    }

    /* the verdict of the whole list, at each rule's address and its neighbours */
    for (int which = NETLIST_ALLOW; which <= NETLIST_DENY; which++) {
        for (size_t i = 0; i < nl->n[which]; i++) {
            const struct netlist_rule *r = &nl->rules[which][i];
            size_t last = r->family == AF_INET ? 3 : 15;
            unsigned char a[16];
            fuzz_netlist_check_peer(nl, r->family, r->addr);
            memcpy(a, r->addr, sizeof(a));
            a[last]++;
            fuzz_netlist_check_peer(nl, r->family, a);
            memcpy(a, r->addr, sizeof(a));
            a[last]--;
            fuzz_netlist_check_peer(nl, r->family, a);
        }
    }
    /* and at addresses from the input */
    for (size_t i = 0; i < FUZZ_NETLIST_PEERS && 1 + 16 * (i + 1) <= size; i++) {
        const uint8_t *a = data + 1 + 16 * i;
        struct sockaddr_storage ss;
        fuzz_netlist_check_peer(nl, AF_INET, a);
        if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0)
            fuzz_netlist_check_peer(nl, AF_INET6, a);
        else /* a mapped address is the IPv4 one */
            FUZZ_CHECK(netlist_is_allowed(nl, fuzz_netlist_peer(AF_INET6, a, false, &ss)) ==
                       fuzz_netlist_ref_allowed(nl, AF_INET, a + 12));
    }
    /* no address of another family matches a rule; an allow list then refuses it */
    {
        struct sockaddr_storage ss = {.ss_family = AF_UNIX};
        FUZZ_CHECK(netlist_is_allowed(nl, (const struct sockaddr *)&ss) ==
                   (nl->n[NETLIST_ALLOW] == 0));
    }
    netlist_free(nl);
    free(err);
    return 0;
}
