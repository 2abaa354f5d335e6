/*
 * netlist.h - client address allow and deny lists (CIDR networks), no I/O: parsing the
 * rules a route names, and the decision for one peer address. Finding the peer and
 * answering 403 are the caller's; Origins are origin.h's, passwords basicauth.h's.
 */
#ifndef WSB_NETLIST_H
#define WSB_NETLIST_H

#include <stdbool.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

enum netlist_which {
    NETLIST_ALLOW = 0, /* addresses that may connect (none listed: all may) */
    NETLIST_DENY,      /* addresses that may not, whatever the allow list says */
};

#define NETLIST_MAX 4096 /* rules in one list */

/* Bytes of a rule as text: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" and its NUL */
#define NETLIST_RULE_TEXT_MAX (INET6_ADDRSTRLEN + sizeof("/128") - 1)

struct netlist_rule {
    int family;             /* AF_INET or AF_INET6 (IPv4-mapped rules are AF_INET) */
    unsigned prefix_bits;   /* 0..32 or 0..128 */
    unsigned char addr[16]; /* network address, 4 or 16 bytes used, host bits zero */
};

struct netlist {
    struct netlist_rule *rules[2]; /* indexed by enum netlist_which */
    size_t n[2], cap[2];
};

/* Returns a new, empty pair of lists (everything allowed), or NULL if memory ran out. */
struct netlist *netlist_new(void);

/* Frees <nl>; NULL is fine. */
void netlist_free(struct netlist *nl);

/* Adds <cidr> to list <which> of <nl>: "10.0.0.0/8", "192.168.1.5" (a /32),
 * "::1/128", "2001:db8::/32", "::ffff:10.0.0.0/104" (stored as the IPv4 rule 10.0.0.0/8).
 * Host bits after the prefix must be zero ("10.0.0.1/8" is refused as a likely slip).
 * Returns 0, or -1 with "network \"...\": why" in <err> (one line, cut to <err_len>). */
int netlist_add(struct netlist *nl, enum netlist_which which, const char *cidr, char *err,
                size_t err_len);

/* True if a client at <sa> may connect under <nl>: it matches no NETLIST_DENY rule, and
 * the NETLIST_ALLOW list is empty or it matches a rule there. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, from a dual-stack listener) is judged as the IPv4 address. A family
 * other than AF_INET and AF_INET6 matches no rule. */
bool netlist_is_allowed(const struct netlist *nl, const struct sockaddr *sa);

/* Writes <rule> as "ADDRESS/BITS" in its canonical form (inet_ntop's text: lower case,
 * "::" for the longest run of zero groups) into <out>, which holds <cap> bytes
 * (NETLIST_RULE_TEXT_MAX is always enough). netlist_add takes the text back as the same
 * rule. Returns the length written, or -1 (<out> set to "" when <cap> allows) if the
 * rule is not AF_INET or AF_INET6 or <cap> is too small. */
int netlist_rule_write(const struct netlist_rule *rule, char *out, size_t cap);

#endif
