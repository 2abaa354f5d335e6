/*
 * acl.c - access rules, no I/O: CIDR allow and deny lists, HTTP Basic authentication
 * (RFC 7617) against crypt(3) hashes of one method and cost per file. The caller reads
 * the password file, finds the peer address, runs the costly half of a check where it
 * does no harm and answers 403 or 401; this file only decides. Origins are origin.c's.
 */
#include "acl.h"

#include <arpa/inet.h>
#include <assert.h>
#include <crypt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define ACL_QUOTE_MAX 64 /* bytes of user text quoted in one message */

/* user-pass = user-id ":" password, base64-encoded (RFC 7617 §2) */
#define ACL_BASIC_PLAIN_MAX (ACL_USER_MAX + 1 + ACL_PASSWORD_MAX)
#define ACL_BASIC_B64_MAX (4 * ((ACL_BASIC_PLAIN_MAX + 2) / 3))

static_assert(ACL_HASH_MAX < CRYPT_OUTPUT_SIZE, "a stored hash must fit crypt_r's output");

/* Copies user text <s> (at most <len> bytes) for quoting in a message into <out>: control
 * characters become '?' so a message stays one line, and long text is cut with "...". */
static const char *acl_quote(const char *s, size_t len, char out[ACL_QUOTE_MAX + 4])
{
    size_t i;

    for (i = 0; i < len && s[i] != '\0' && i < ACL_QUOTE_MAX; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (i < len && s[i] != '\0') {
        while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
            i--;
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static bool acl_is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool acl_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Networks ------------------------------------------------------------------------- */

static const char ACL_NETS_HOST_BITS[] = "host bits are set after the prefix length";
static const unsigned char acl_v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Returns a new, empty pair of lists (everything allowed), or NULL if memory ran out. */
struct acl_nets *acl_nets_new(void)
{
    return calloc(1, sizeof(struct acl_nets));
}

/* Frees <nets>; NULL is fine. */
void acl_nets_free(struct acl_nets *nets)
{
    if (nets == NULL)
        return;
    free(nets->nets[ACL_ALLOW]);
    free(nets->nets[ACL_DENY]);
    free(nets);
}

/* True if the first <bits> bits of <a> and <b> are equal. */
static bool acl_nets_prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[whole] ^ b[whole]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

/* Parses <cidr> into <net>; returns NULL or a static text saying what is wrong. */
static const char *acl_nets_parse(const char *cidr, struct acl_net *net)
{
    char text[INET6_ADDRSTRLEN];
    const char *slash = strchr(cidr, '/');
    size_t addr_len = slash != NULL ? (size_t)(slash - cidr) : strlen(cidr);
    unsigned max_bits;

    memset(net, 0, sizeof(*net));
    if (addr_len == 0 || addr_len >= sizeof(text))
        return "not an IP address";
    memcpy(text, cidr, addr_len);
    text[addr_len] = '\0';
    if (memchr(text, ':', addr_len) != NULL) {
        net->family = AF_INET6;
        max_bits = 128;
    } else {
        net->family = AF_INET;
        max_bits = 32;
    }
    /* inet_pton is strict where inet_aton is not: no "10.1", no octal "010.0.0.1". */
    if (inet_pton(net->family, text, net->addr) != 1)
        return net->family == AF_INET6 ? "not an IPv6 address" : "not an IPv4 address";
    net->prefix_bits = max_bits;
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
        net->prefix_bits = bits;
    }
    {
        unsigned char masked[16];
        memcpy(masked, net->addr, sizeof(masked));
        for (unsigned bit = net->prefix_bits; bit < max_bits; bit++)
            masked[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
        if (memcmp(masked, net->addr, max_bits / 8) != 0) {
            memcpy(net->addr, masked, sizeof(masked)); /* for a "did you mean" */
            return ACL_NETS_HOST_BITS;
        }
    }
    /* Clients on a dual-stack listener arrive as ::ffff:a.b.c.d and are judged as IPv4,
     * so a rule on that range is kept as the IPv4 rule it means. (A prefix under 96 on
     * that range has host bits set, refused above.) */
    if (net->family == AF_INET6 && net->prefix_bits >= 96 &&
        memcmp(net->addr, acl_v4_mapped, sizeof(acl_v4_mapped)) == 0) {
        memmove(net->addr, net->addr + 12, 4);
        memset(net->addr + 4, 0, 12);
        net->family = AF_INET;
        net->prefix_bits -= 96;
    }
    return NULL;
}

/* Adds <cidr> to list <which> of <nets>: see acl.h. Returns 0, or -1 with
 * "network \"...\": why" in <err>. */
int acl_nets_add(struct acl_nets *nets, enum acl_list which, const char *cidr, char *err,
                 size_t err_len)
{
    char q[ACL_QUOTE_MAX + 4], net_text[INET6_ADDRSTRLEN];
    struct acl_net net;
    const char *why;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (which != ACL_ALLOW && which != ACL_DENY) {
        snprintf(err, err_len, "network list %d: no such list", (int)which);
        return -1;
    }
    if (cidr == NULL) {
        snprintf(err, err_len, "network: missing");
        return -1;
    }
    why = acl_nets_parse(cidr, &net);
    if (why == ACL_NETS_HOST_BITS &&
        inet_ntop(net.family, net.addr, net_text, sizeof(net_text)) != NULL) {
        snprintf(err, err_len, "network \"%s\": %s (did you mean %s/%u?)",
                 acl_quote(cidr, SIZE_MAX, q), why, net_text, net.prefix_bits);
        return -1;
    }
    if (why != NULL) {
        snprintf(err, err_len, "network \"%s\": %s", acl_quote(cidr, SIZE_MAX, q), why);
        return -1;
    }
    if (nets->n[which] == ACL_NETS_MAX) {
        snprintf(err, err_len, "network \"%s\": more than %d networks in one list",
                 acl_quote(cidr, SIZE_MAX, q), ACL_NETS_MAX);
        return -1;
    }
    if (nets->n[which] == nets->cap[which]) {
        size_t cap = nets->cap[which] == 0 ? 8 : nets->cap[which] * 2;
        struct acl_net *grown = realloc(nets->nets[which], cap * sizeof(*grown));
        if (grown == NULL) {
            snprintf(err, err_len, "network \"%s\": out of memory", acl_quote(cidr, SIZE_MAX, q));
            return -1;
        }
        nets->nets[which] = grown;
        nets->cap[which] = cap;
    }
    nets->nets[which][nets->n[which]++] = net;
    return 0;
}

/* True if address <addr> of <family> (4 or 16 bytes) falls in a rule of list <which>. */
static bool acl_nets_match(const struct acl_nets *nets, enum acl_list which, int family,
                           const unsigned char *addr)
{
    for (size_t i = 0; i < nets->n[which]; i++) {
        const struct acl_net *net = &nets->nets[which][i];
        if (net->family == family && acl_nets_prefix_equal(net->addr, addr, net->prefix_bits))
            return true;
    }
    return false;
}

/* True if a client at <sa> may connect under <nets>: see acl.h. */
bool acl_nets_is_allowed(const struct acl_nets *nets, const struct sockaddr *sa)
{
    unsigned char addr[16];
    int family = AF_UNSPEC;

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        family = AF_INET;
        memcpy(addr, &in->sin_addr, 4);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        family = AF_INET6;
        memcpy(addr, &in6->sin6_addr, 16);
        if (memcmp(addr, acl_v4_mapped, sizeof(acl_v4_mapped)) == 0) {
            family = AF_INET;
            memmove(addr, addr + 12, 4);
        }
    }
    if (family != AF_UNSPEC && acl_nets_match(nets, ACL_DENY, family, addr))
        return false;
    if (nets->n[ACL_ALLOW] == 0)
        return true;
    return family != AF_UNSPEC && acl_nets_match(nets, ACL_ALLOW, family, addr);
}

/* Basic authentication --------------------------------------------------------------- */

struct acl_scheme {
    const char *id;    /* between the first two '$' */
    const char *name;  /* for messages */
    size_t hash_len;   /* characters after the last '$' */
    size_t min_fields; /* '$'-separated fields after the id, hash included */
    size_t max_fields;
};

/* What crypt(3) offers that is still worth accepting (libxcrypt's crypt(5) calls the
 * rest legacy or broken). Field counts: "$6$[rounds=N$]salt$hash", "$y$params$salt$hash",
 * "$2b$cost$salt-and-hash". */
/* clang-format off */
static const struct acl_scheme acl_schemes[] = {
    /* id, name, hash length, fields */
    {"y", "yescrypt", 43, 3, 3},
    {"6", "SHA-512", 86, 2, 3},
    {"5", "SHA-256", 43, 2, 3},
    {"2b", "bcrypt", 53, 2, 2},
    {"2y", "bcrypt", 53, 2, 2},
};
/* clang-format on */

static bool acl_is_crypt64(char ch)
{
    return acl_is_alpha(ch) || acl_is_digit(ch) || ch == '.' || ch == '/';
}

/* Checks <hash> (NUL-terminated) is a complete crypt string of an accepted scheme.
 * Returns NULL, or a static text saying what is wrong. */
static const char *acl_users_check_hash(const char *hash)
{
    const struct acl_scheme *sc = NULL;
    const char *f, *last;
    size_t id_len, fields = 0;

    if (strncmp(hash, "{SHA}", 5) == 0)
        return "{SHA} (unsalted SHA-1) hashes are refused; rehash with yescrypt, SHA-512 or "
               "bcrypt (mkpasswd -m yescrypt, htpasswd -B)";
    if (hash[0] != '$')
        return "the password is not hashed (plain text or DES crypt); store a yescrypt, "
               "SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)";
    if (strncmp(hash, "$1$", 3) == 0 || strncmp(hash, "$apr1$", 6) == 0)
        return "MD5 hashes ($1$, $apr1$) are refused; rehash with yescrypt, SHA-512 or "
               "bcrypt (mkpasswd -m yescrypt, htpasswd -B)";
    id_len = strcspn(hash + 1, "$");
    for (size_t i = 0; i < sizeof(acl_schemes) / sizeof(acl_schemes[0]); i++)
        if (strlen(acl_schemes[i].id) == id_len &&
            strncmp(hash + 1, acl_schemes[i].id, id_len) == 0)
            sc = &acl_schemes[i];
    if (sc == NULL || hash[1 + id_len] != '$')
        return "unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 ($5$) or bcrypt "
               "($2b$, $2y$)";
    /* Fields are non-empty runs of crypt's base64 alphabet; "rounds=N" may hold '='. */
    for (f = hash + 2 + id_len;; f++) {
        size_t n = 0;
        while (acl_is_crypt64(f[n]) || f[n] == '=')
            n++;
        if (n == 0 || (f[n] != '$' && f[n] != '\0'))
            return "malformed hash";
        fields++;
        last = f;
        f += n;
        if (*f == '\0')
            break;
    }
    if (fields < sc->min_fields || fields > sc->max_fields || strlen(last) != sc->hash_len ||
        strchr(last, '=') != NULL)
        return "malformed or incomplete hash";
    if (sc->id[0] == '2') {
        const char *cost = hash + 2 + id_len;
        int c = (cost[0] - '0') * 10 + (cost[1] - '0');
        if (!acl_is_digit(cost[0]) || !acl_is_digit(cost[1]) || cost[2] != '$' || c < 4 || c > 31)
            return "bcrypt cost must be two digits, 04 to 31";
    }
    switch (crypt_checksalt(hash)) {
    case CRYPT_SALT_OK:
    case CRYPT_SALT_METHOD_LEGACY: /* Debian's libxcrypt ranks $5$ as legacy, yet sound */
    case CRYPT_SALT_TOO_CHEAP:
        return NULL;
    default:
        return "hash not supported by this system's crypt(3)";
    }
}

/* The method and cost of <hash> (already checked by acl_users_check_hash) as text for
 * comparing and for messages, into <out>: "bcrypt, cost 12", "SHA-512, 5000 rounds",
 * "yescrypt, parameters j9T". Two hashes with the same text cost the same time. */
static void acl_users_cost(const char *hash, char *out, size_t out_len)
{
    const char *params = hash + 1 + strcspn(hash + 1, "$") + 1; /* after "$id$" */
    size_t params_len = strcspn(params, "$");

    if (hash[1] == '2') {
        snprintf(out, out_len, "bcrypt, cost %.2s", params);
    } else if (hash[1] == 'y') {
        snprintf(out, out_len, "yescrypt, parameters %.*s", (int)params_len, params);
    } else {
        /* crypt(5): "rounds=N" is optional, 5000 without it. */
        unsigned long rounds = 5000;
        if (strncmp(params, "rounds=", 7) == 0)
            rounds = strtoul(params + 7, NULL, 10);
        snprintf(out, out_len, "%s, %lu rounds", hash[1] == '6' ? "SHA-512" : "SHA-256", rounds);
    }
}

/* Reads the line <line> (<len> bytes, spaces trimmed, not a comment) number <lineno> into
 * <u>; returns 0, or -1 with "NAME:LINE: why" in <err>. */
static int acl_users_line(struct acl_users *u, const char *line, size_t len, unsigned lineno,
                          const char *name, char *err, size_t err_len)
{
    const char *colon = memchr(line, ':', len);
    size_t user_len = colon != NULL ? (size_t)(colon - line) : 0;
    size_t hash_len = colon != NULL ? len - user_len - 1 : 0;
    char q[ACL_QUOTE_MAX + 4], cost[64], first_cost[64];
    struct acl_user *au;
    const char *why;

    if (colon == NULL) {
        snprintf(err, err_len, "%s:%u: expected \"user:hash\"", name, lineno);
        return -1;
    }
    acl_quote(line, user_len, q);
    if (user_len == 0 || user_len > ACL_USER_MAX) {
        snprintf(err, err_len, "%s:%u: user name must be 1 to %d bytes", name, lineno,
                 ACL_USER_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
            snprintf(err, err_len, "%s:%u: control character in line", name, lineno);
            return -1;
        }
    }
    for (size_t i = 0; i < u->n; i++) {
        if (strlen(u->items[i].name) == user_len && memcmp(u->items[i].name, line, user_len) == 0) {
            snprintf(err, err_len, "%s:%u: user \"%s\" is listed twice (first at line %u)", name,
                     lineno, q, u->items[i].line);
            return -1;
        }
    }
    if (u->n == ACL_USERS_MAX) {
        snprintf(err, err_len, "%s:%u: more than %d users", name, lineno, ACL_USERS_MAX);
        return -1;
    }
    au = &u->items[u->n];
    memset(au, 0, sizeof(*au));
    if (hash_len > ACL_HASH_MAX) {
        snprintf(err, err_len, "%s:%u: user \"%s\": hash longer than %d bytes", name, lineno, q,
                 ACL_HASH_MAX);
        return -1;
    }
    memcpy(au->hash, colon + 1, hash_len);
    au->hash[hash_len] = '\0';
    if ((why = acl_users_check_hash(au->hash)) != NULL) {
        snprintf(err, err_len, "%s:%u: user \"%s\": %s", name, lineno, q, why);
        OPENSSL_cleanse(au->hash, sizeof(au->hash));
        return -1;
    }
    /* A cheaper hash would answer a wrong password sooner, telling its user exists. */
    if (u->n > 0) {
        acl_users_cost(au->hash, cost, sizeof(cost));
        acl_users_cost(u->items[0].hash, first_cost, sizeof(first_cost));
        if (strcmp(cost, first_cost) != 0) {
            snprintf(err, err_len,
                     "%s:%u: user \"%s\": %s, but line %u has %s: every hash of a file must "
                     "have the same method and cost, or the time a wrong password takes tells "
                     "users apart",
                     name, lineno, q, cost, u->items[0].line, first_cost);
            OPENSSL_cleanse(au->hash, sizeof(au->hash));
            return -1;
        }
    }
    memcpy(au->name, line, user_len);
    au->name[user_len] = '\0';
    au->line = lineno;
    u->n++;
    return 0;
}

/* Makes <u>->dummy: a setting with <hash>'s method and cost and a fresh random salt.
 * Returns NULL, or a static why. */
static const char *acl_users_make_dummy(struct acl_users *u, const char *hash)
{
    const char *params = hash + 1 + strcspn(hash + 1, "$") + 1;
    size_t params_len = strcspn(params, "$");
    char prefix[8], salt[CRYPT_GENSALT_OUTPUT_SIZE];
    unsigned long count = 0;
    int n;

    snprintf(prefix, sizeof(prefix), "%.*s", (int)(params - hash), hash); /* "$2b$", "$6$" */
    if (hash[1] == '2')
        count = strtoul(params, NULL, 10);
    else if (hash[1] != 'y' && strncmp(params, "rounds=", 7) == 0)
        count = strtoul(params + 7, NULL, 10);
    /* rbytes NULL: libcrypt takes the salt's randomness from the system. */
    if (crypt_gensalt_rn(prefix, count, NULL, 0, salt, sizeof(salt)) == NULL)
        return "crypt_gensalt failed";
    n = snprintf(u->dummy, sizeof(u->dummy), "%s", salt);
    if (hash[1] == 'y') {
        /* yescrypt's count does not spell every parameter set: keep the file's own. */
        const char *salt_part = strrchr(salt, '$');
        n = snprintf(u->dummy, sizeof(u->dummy), "$y$%.*s%s", (int)params_len, params,
                     salt_part != NULL ? salt_part : "$");
    }
    if (n < 0 || (size_t)n >= sizeof(u->dummy))
        return "dummy setting too long";
    switch (crypt_checksalt(u->dummy)) {
    case CRYPT_SALT_OK:
    case CRYPT_SALT_METHOD_LEGACY:
    case CRYPT_SALT_TOO_CHEAP:
        return NULL;
    default:
        return "crypt(3) refuses a setting like this hash's";
    }
}

/* Parses htpasswd-style <text> (<len> bytes): see acl.h. Returns the users, or NULL with
 * "NAME:LINE: why" in <err>. */
struct acl_users *acl_users_parse(const char *text, size_t len, const char *name, char *err,
                                  size_t err_len)
{
    struct acl_users *u = calloc(1, sizeof(*u));
    size_t cap = 0, pos = 0;
    unsigned lineno = 0;
    const char *why;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (name == NULL)
        name = "-";
    if (u == NULL) {
        snprintf(err, err_len, "%s: out of memory", name);
        return NULL;
    }
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
        pos += line_len + (nl != NULL);
        lineno++;
        if (memchr(line, '\0', line_len) != NULL) {
            snprintf(err, err_len, "%s:%u: NUL byte in line", name, lineno);
            goto fail;
        }
        /* Spaces, tabs and a CR of CRLF around the line are layout, not data. */
        while (line_len > 0 && strchr(" \t\r", line[line_len - 1]) != NULL)
            line_len--;
        while (line_len > 0 && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            line_len--;
        }
        if (line_len == 0 || line[0] == '#')
            continue;
        if (u->n == cap && cap < ACL_USERS_MAX) {
            size_t grown_cap = cap == 0 ? 16 : cap * 2;
            struct acl_user *grown;
            if (grown_cap > ACL_USERS_MAX)
                grown_cap = ACL_USERS_MAX;
            grown = realloc(u->items, grown_cap * sizeof(*grown));
            if (grown == NULL) {
                snprintf(err, err_len, "%s:%u: out of memory", name, lineno);
                goto fail;
            }
            u->items = grown;
            cap = grown_cap;
        }
        if (acl_users_line(u, line, line_len, lineno, name, err, err_len) < 0)
            goto fail;
    }
    if (u->n > 0 && (why = acl_users_make_dummy(u, u->items[0].hash)) != NULL) {
        snprintf(err, err_len, "%s:%u: %s", name, u->items[0].line, why);
        goto fail;
    }
    return u;

fail:
    acl_users_free(u);
    return NULL;
}

/* Frees <u>, wiping the hashes it holds; NULL is fine. */
void acl_users_free(struct acl_users *u)
{
    if (u == NULL)
        return;
    if (u->items != NULL)
        OPENSSL_cleanse(u->items, u->n * sizeof(*u->items));
    free(u->items);
    OPENSSL_cleanse(u->dummy, sizeof(u->dummy));
    free(u);
}

/* Decodes the base64 token68 at <b64> (<len> bytes, RFC 4648 §4 with padding) into
 * <out> (ACL_BASIC_PLAIN_MAX + 3 bytes). Returns the decoded length, or -1. */
static int acl_basic_base64(const char *b64, size_t len, unsigned char *out)
{
    size_t pad = 0;
    int n;

    if (len == 0 || len % 4 != 0 || len > ACL_BASIC_B64_MAX)
        return -1;
    while (pad < 2 && b64[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!acl_is_alpha(b64[i]) && !acl_is_digit(b64[i]) && b64[i] != '+' && b64[i] != '/')
            return -1;
    /* EVP_DecodeBlock decodes whole quanta and counts padding as zero bytes. */
    n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
    if (n < 0 || (size_t)n < pad)
        return -1;
    return n - (int)pad;
}

static const struct acl_user *acl_users_find(const struct acl_users *u, const char *name,
                                             size_t len)
{
    for (size_t i = 0; u != NULL && i < u->n; i++)
        if (strlen(u->items[i].name) == len && memcmp(u->items[i].name, name, len) == 0)
            return &u->items[i];
    return NULL;
}

/* Decodes <authorization> into <cred> and picks its hash under <u>: see acl.h. */
enum acl_auth acl_basic_decode(const struct acl_users *u, const char *authorization,
                               struct acl_basic_cred *cred)
{
    /* For a file with no user: never matches (crypt of any password under this salt is
     * another string), and there is no user whose existence a time could tell. */
    static const char no_users_setting[] = "$6$wsbridge.dummy$";
    unsigned char plain[ACL_BASIC_PLAIN_MAX + 3];
    const char *p = authorization, *colon;
    const struct acl_user *found;
    enum acl_auth result = ACL_AUTH_MALFORMED;
    size_t tok_len, name_len, password_len;
    int n;

    memset(cred, 0, sizeof(*cred));
    /* RFC 7235 §2.1: credentials = auth-scheme [ 1*SP token68 ]; the scheme is
     * case-insensitive. */
    if (p == NULL || strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\0'))
        return ACL_AUTH_MISSING;
    p += 5;
    while (*p == ' ')
        p++;
    tok_len = strlen(p);
    while (tok_len > 0 && (p[tok_len - 1] == ' ' || p[tok_len - 1] == '\t'))
        tok_len--;
    n = acl_basic_base64(p, tok_len, plain);
    if (n < 0)
        goto done;
    /* RFC 7617 §2: neither user-id nor password holds a control character (NUL too). */
    for (int i = 0; i < n; i++)
        if (plain[i] < 0x20 || plain[i] == 0x7f)
            goto done;
    colon = memchr(plain, ':', (size_t)n);
    if (colon == NULL)
        goto done;
    name_len = (size_t)(colon - (const char *)plain);
    password_len = (size_t)n - name_len - 1;
    if (password_len > ACL_PASSWORD_MAX)
        goto done;
    memcpy(cred->password, colon + 1, password_len);
    cred->password[password_len] = '\0';
    found = acl_users_find(u, (const char *)plain, name_len);
    /* A name longer than any in a file is simply unknown; it is cut for the log only. */
    snprintf(cred->user, sizeof(cred->user), "%.*s", (int)name_len, (const char *)plain);
    cred->known = found != NULL;
    snprintf(cred->hash, sizeof(cred->hash), "%s",
             found != NULL                      ? found->hash
             : u != NULL && u->dummy[0] != '\0' ? u->dummy
                                                : no_users_setting);
    result = ACL_AUTH_PENDING;

done:
    OPENSSL_cleanse(plain, sizeof(plain));
    return result;
}

/* crypt(3) of <cred>'s password under its hash, and the comparison: see acl.h. */
enum acl_auth acl_basic_verify(const struct acl_basic_cred *cred)
{
    /* crypt_r needs a zeroed struct crypt_data (about 32 KiB: too big for the stack). */
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    enum acl_auth result = ACL_AUTH_ERROR;
    size_t hash_len = strlen(cred->hash);
    const char *got;

    if (cd == NULL)
        return ACL_AUTH_ERROR;
    got = crypt_r(cred->password, cred->hash, cd);
    /* libxcrypt fails with NULL or a string starting '*', never a valid hash. */
    if (got != NULL && got[0] != '*')
        result =
            cred->known && strlen(got) == hash_len && CRYPTO_memcmp(got, cred->hash, hash_len) == 0
                ? ACL_AUTH_OK
                : ACL_AUTH_DENIED;
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
    return result;
}

/* Wipes <cred>'s secrets and clears it. */
void acl_basic_cred_wipe(struct acl_basic_cred *cred)
{
    OPENSSL_cleanse(cred, sizeof(*cred));
}

/* Decodes and verifies on the caller's thread: see acl.h. */
enum acl_auth acl_basic_check(const struct acl_users *u, const char *authorization, char *user,
                              size_t user_len)
{
    struct acl_basic_cred cred;
    enum acl_auth result = acl_basic_decode(u, authorization, &cred);

    if (user != NULL && user_len > 0)
        snprintf(user, user_len, "%s", cred.user);
    if (result == ACL_AUTH_PENDING)
        result = acl_basic_verify(&cred);
    acl_basic_cred_wipe(&cred);
    return result;
}

/* A short static name for <a>, for log lines. */
const char *acl_auth_name(enum acl_auth a)
{
    switch (a) {
    case ACL_AUTH_OK:
        return "ok";
    case ACL_AUTH_MISSING:
        return "missing";
    case ACL_AUTH_MALFORMED:
        return "malformed";
    case ACL_AUTH_DENIED:
        return "denied";
    case ACL_AUTH_ERROR:
        return "error";
    case ACL_AUTH_PENDING:
        return "pending";
    }
    return "?";
}
