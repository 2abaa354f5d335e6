/*
 * netlist.c - CIDR allow and deny lists, no I/O: rules parsed strictly (inet_pton, no
 * host bits after the prefix), IPv4-mapped IPv6 rules and peers judged as IPv4, and the
 * allow-unless-denied decision for one peer. The caller finds the peer and answers 403.
 */
#include "netlist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"

static const char NETLIST_HOST_BITS[] = "host bits are set after the prefix length";
static const unsigned char netlist_v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Returns a new, empty pair of lists (everything allowed), or NULL if memory ran out. */
struct netlist *netlist_new(void)
{
    return calloc(1, sizeof(struct netlist));
}

/* Frees <nl>; NULL is fine. */
void netlist_free(struct netlist *nl)
{
    if (nl == NULL)
        return;
    free(nl->rules[NETLIST_ALLOW]);
    free(nl->rules[NETLIST_DENY]);
    free(nl);
}

/* True if the first <bits> bits of <a> and <b> are equal. */
static bool netlist_prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[whole] ^ b[whole]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

/* Parses <cidr> into <rule>; returns NULL or a static text saying what is wrong. */
static const char *netlist_parse(const char *cidr, struct netlist_rule *rule)
{
    char text[INET6_ADDRSTRLEN];
    const char *slash = strchr(cidr, '/');
    size_t addr_len = slash != NULL ? (size_t)(slash - cidr) : strlen(cidr);
    unsigned max_bits;

    memset(rule, 0, sizeof(*rule));
    if (addr_len == 0 || addr_len >= sizeof(text))
        return "not an IP address";
    memcpy(text, cidr, addr_len);
    text[addr_len] = '\0';
    if (memchr(text, ':', addr_len) != NULL) {
        rule->family = AF_INET6;
        max_bits = 128;
    } else {
        rule->family = AF_INET;
        max_bits = 32;
    }
    /* inet_pton is strict where inet_aton is not: no "10.1", no octal "010.0.0.1". */
    if (inet_pton(rule->family, text, rule->addr) != 1)
        return rule->family == AF_INET6 ? "not an IPv6 address" : "not an IPv4 address";
    rule->prefix_bits = max_bits;
    if (slash != NULL) {
        const char *d = slash + 1;
        size_t digits = strspn(d, "0123456789");
        unsigned bits = 0;
        if (digits == 0 || d[digits] != '\0' || digits > 3 || (digits > 1 && d[0] == '0'))
            return "bad prefix length";
        for (size_t i = 0; i < digits; i++)
            bits = bits * 10 + (unsigned)(d[i] - '0');
        if (bits > max_bits)
            return max_bits == 32 ? "prefix length above 32" : "prefix length above 128";
        rule->prefix_bits = bits;
    }
    {
        unsigned char masked[16];
        memcpy(masked, rule->addr, sizeof(masked));
        for (unsigned bit = rule->prefix_bits; bit < max_bits; bit++)
            masked[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
        if (memcmp(masked, rule->addr, max_bits / 8) != 0) {
            memcpy(rule->addr, masked, sizeof(masked)); /* for a "did you mean" */
            return NETLIST_HOST_BITS;
        }
    }
    /* Clients on a dual-stack listener arrive as ::ffff:a.b.c.d and are judged as IPv4,
     * so a rule on that range is kept as the IPv4 rule it means. (A prefix under 96 on
     * that range has host bits set, refused above.) */
    if (rule->family == AF_INET6 && rule->prefix_bits >= 96 &&
        memcmp(rule->addr, netlist_v4_mapped, sizeof(netlist_v4_mapped)) == 0) {
        memmove(rule->addr, rule->addr + 12, 4);
        memset(rule->addr + 4, 0, 12);
        rule->family = AF_INET;
        rule->prefix_bits -= 96;
    }
    return NULL;
}

/* Writes <rule> as "ADDRESS/BITS": see netlist.h. */
int netlist_rule_write(const struct netlist_rule *rule, char *out, size_t cap)
{
    char addr[INET6_ADDRSTRLEN];
    int n;

    if (cap > 0)
        out[0] = '\0';
    if ((rule->family != AF_INET && rule->family != AF_INET6) ||
        inet_ntop(rule->family, rule->addr, addr, sizeof(addr)) == NULL)
        return -1;
    n = snprintf(out, cap, "%s/%u", addr, rule->prefix_bits);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return -1;
    }
    return n;
}

/* Adds <cidr> to list <which> of <nl>: see netlist.h. Returns 0, or -1 with
 * "network \"...\": why" in <err>. */
int netlist_add(struct netlist *nl, enum netlist_which which, const char *cidr, char *err,
                size_t err_len)
{
    char q[QUOTE_BUF], rule_text[NETLIST_RULE_TEXT_MAX];
    struct netlist_rule rule;
    const char *why;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (which != NETLIST_ALLOW && which != NETLIST_DENY) {
        snprintf(err, err_len, "network list %d: no such list", (int)which);
        return -1;
    }
    if (cidr == NULL) {
        snprintf(err, err_len, "network: missing");
        return -1;
    }
    why = netlist_parse(cidr, &rule);
    if (why == NETLIST_HOST_BITS && netlist_rule_write(&rule, rule_text, sizeof(rule_text)) > 0) {
        snprintf(err, err_len, "network \"%s\": %s (did you mean %s?)",
                 quote_text(cidr, SIZE_MAX, q), why, rule_text);
        return -1;
    }
    if (why != NULL) {
        snprintf(err, err_len, "network \"%s\": %s", quote_text(cidr, SIZE_MAX, q), why);
        return -1;
    }
    if (nl->n[which] == NETLIST_MAX) {
        snprintf(err, err_len, "network \"%s\": more than %d networks in one list",
                 quote_text(cidr, SIZE_MAX, q), NETLIST_MAX);
        return -1;
    }
    if (nl->n[which] == nl->cap[which]) {
        size_t cap = nl->cap[which] == 0 ? 8 : nl->cap[which] * 2;
        struct netlist_rule *grown = realloc(nl->rules[which], cap * sizeof(*grown));
        if (grown == NULL) {
            snprintf(err, err_len, "network \"%s\": out of memory", quote_text(cidr, SIZE_MAX, q));
            return -1;
        }
        nl->rules[which] = grown;
        nl->cap[which] = cap;
    }
    nl->rules[which][nl->n[which]++] = rule;
    return 0;
}

/* True if address <addr> of <family> (4 or 16 bytes) falls in a rule of list <which>. */
static bool netlist_match(const struct netlist *nl, enum netlist_which which, int family,
                          const unsigned char *addr)
{
    for (size_t i = 0; i < nl->n[which]; i++) {
        const struct netlist_rule *rule = &nl->rules[which][i];
        if (rule->family == family && netlist_prefix_equal(rule->addr, addr, rule->prefix_bits))
            return true;
    }
    return false;
}

/* True if a client at <sa> may connect under <nl>: see netlist.h. */
bool netlist_is_allowed(const struct netlist *nl, const struct sockaddr *sa)
{
    unsigned char addr[16];
    int family = AF_UNSPEC;

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        family = AF_INET;
        memcpy(addr, &in->sin_addr, sizeof(in->sin_addr));
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        family = AF_INET6;
        memcpy(addr, &in6->sin6_addr, sizeof(in6->sin6_addr));
        if (memcmp(addr, netlist_v4_mapped, sizeof(netlist_v4_mapped)) == 0) {
            family = AF_INET;
            memmove(addr, addr + 12, 4);
        }
    }
    if (family != AF_UNSPEC && netlist_match(nl, NETLIST_DENY, family, addr))
        return false;
    if (nl->n[NETLIST_ALLOW] == 0)
        return true;
    return family != AF_UNSPEC && netlist_match(nl, NETLIST_ALLOW, family, addr);
}
