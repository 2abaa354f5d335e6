/*
 * test_acl.c - unit tests for acl.c: CIDR rules and the verdict for IPv4, IPv6 and
 * IPv4-mapped clients; htpasswd text and Authorization values, with hashes made by
 * crypt_r at test time; files mixing hash costs refused with the lines named, and the
 * dummy setting unknown users are checked against having the file's method and cost.
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <check.h>
#include <openssl/evp.h>

#include "acl.h"
#include "check_main.h"

/* Networks ------------------------------------------------------------------------- */

struct net_good_case {
    const char *cidr;
    int family;
    unsigned prefix_bits;
    const char *addr; /* the stored network, as inet_ntop writes it */
};

static const struct net_good_case net_good_cases[] = {
    {"10.0.0.0/8", AF_INET, 8, "10.0.0.0"},
    {"192.168.1.5", AF_INET, 32, "192.168.1.5"},
    {"192.168.1.5/32", AF_INET, 32, "192.168.1.5"},
    {"0.0.0.0/0", AF_INET, 0, "0.0.0.0"},
    {"192.168.1.128/25", AF_INET, 25, "192.168.1.128"},
    {"::1/128", AF_INET6, 128, "::1"},
    {"::1", AF_INET6, 128, "::1"},
    {"2001:db8::/32", AF_INET6, 32, "2001:db8::"},
    {"2001:DB8::/32", AF_INET6, 32, "2001:db8::"},
    {"::/0", AF_INET6, 0, "::"},
    {"fe80::/10", AF_INET6, 10, "fe80::"},
    {"::ffff:10.0.0.0/104", AF_INET, 8, "10.0.0.0"},
    {"::ffff:1.2.3.4", AF_INET, 32, "1.2.3.4"},
    {"::ffff:0.0.0.0/96", AF_INET, 0, "0.0.0.0"},
};

struct net_bad_case {
    const char *cidr;
    const char *err; /* exact text */
};

static const struct net_bad_case net_bad_cases[] = {
    {"", "network \"\": not an IP address"},
    {"/8", "network \"/8\": not an IP address"},
    {"10.0.0.0/", "network \"10.0.0.0/\": bad prefix length"},
    {"10.0.0.0/33", "network \"10.0.0.0/33\": prefix length above 32"},
    {"10.0.0.0/08", "network \"10.0.0.0/08\": bad prefix length"},
    {"10.0.0.0/1000", "network \"10.0.0.0/1000\": bad prefix length"},
    {"10.0.0.0/-1", "network \"10.0.0.0/-1\": bad prefix length"},
    {"10.0.0.0/ 8", "network \"10.0.0.0/ 8\": bad prefix length"},
    {"10.0.0.0/8 ", "network \"10.0.0.0/8 \": bad prefix length"},
    {"10.0.0.0/8/8", "network \"10.0.0.0/8/8\": bad prefix length"},
    {"10.0.0.1/8", "network \"10.0.0.1/8\": host bits are set after the prefix length (did "
                   "you mean 10.0.0.0/8?)"},
    {"192.168.1.129/25", "network \"192.168.1.129/25\": host bits are set after the prefix "
                         "length (did you mean 192.168.1.128/25?)"},
    {"::1/129", "network \"::1/129\": prefix length above 128"},
    {"2001:db8::1/32", "network \"2001:db8::1/32\": host bits are set after the prefix length "
                       "(did you mean 2001:db8::/32?)"},
    {"::ffff:0:0/80", "network \"::ffff:0:0/80\": host bits are set after the prefix length "
                      "(did you mean ::/80?)"},
    {"10.1", "network \"10.1\": not an IPv4 address"},
    {"010.0.0.1", "network \"010.0.0.1\": not an IPv4 address"},
    {"256.0.0.0/8", "network \"256.0.0.0/8\": not an IPv4 address"},
    {" 10.0.0.0/8", "network \" 10.0.0.0/8\": not an IPv4 address"},
    {"host.example", "network \"host.example\": not an IPv4 address"},
    {"fe80::1%eth0", "network \"fe80::1%eth0\": not an IPv6 address"},
    {"[::1]/128", "network \"[::1]/128\": not an IPv6 address"},
    {"::g/128", "network \"::g/128\": not an IPv6 address"},
    {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128",
     "network \"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128\": not an IP address"},
};

START_TEST(test_acl_net_good)
{
    const struct net_good_case *t = &net_good_cases[_i];
    struct acl_nets *nets = acl_nets_new();
    char err[256] = "", text[INET6_ADDRSTRLEN];

    ck_assert_ptr_nonnull(nets);
    ck_assert_msg(acl_nets_add(nets, ACL_DENY, t->cidr, err, sizeof(err)) == 0, "%s: %s", t->cidr,
                  err);
    ck_assert_uint_eq(nets->n[ACL_DENY], 1);
    ck_assert_uint_eq(nets->n[ACL_ALLOW], 0);
    ck_assert_int_eq(nets->nets[ACL_DENY][0].family, t->family);
    ck_assert_uint_eq(nets->nets[ACL_DENY][0].prefix_bits, t->prefix_bits);
    ck_assert_ptr_nonnull(inet_ntop(t->family, nets->nets[ACL_DENY][0].addr, text, sizeof(text)));
    ck_assert_str_eq(text, t->addr);
    acl_nets_free(nets);
}
END_TEST

START_TEST(test_acl_net_bad)
{
    const struct net_bad_case *t = &net_bad_cases[_i];
    struct acl_nets *nets = acl_nets_new();
    char err[256] = "";

    ck_assert_int_eq(acl_nets_add(nets, ACL_ALLOW, t->cidr, err, sizeof(err)), -1);
    ck_assert_str_eq(err, t->err);
    ck_assert_uint_eq(nets->n[ACL_ALLOW], 0);
    acl_nets_free(nets);
}
END_TEST

#define NETS_MAX 4

struct net_decide_case {
    const char *allow[NETS_MAX]; /* up to the first NULL */
    const char *deny[NETS_MAX];
    const char *client; /* IPv4 or IPv6 text; "unix" for an AF_UNIX peer */
    bool allowed;
};

static const struct net_decide_case net_decide_cases[] = {
    {{NULL}, {NULL}, "203.0.113.9", true},
    {{NULL}, {NULL}, "2001:db8::9", true},
    {{NULL}, {NULL}, "unix", true},
    {{"10.0.0.0/8"}, {NULL}, "10.1.2.3", true},
    {{"10.0.0.0/8"}, {NULL}, "10.255.255.255", true},
    {{"10.0.0.0/8"}, {NULL}, "11.0.0.1", false},
    {{"10.0.0.0/8"}, {NULL}, "9.255.255.255", false},
    {{"10.0.0.0/8"}, {NULL}, "::ffff:10.1.2.3", true},
    {{"10.0.0.0/8"}, {NULL}, "::ffff:11.1.2.3", false},
    {{"10.0.0.0/8"}, {NULL}, "::a01:203", false}, /* IPv4-compatible is not mapped */
    {{"10.0.0.0/8"}, {NULL}, "::1", false},
    {{"10.0.0.0/8"}, {NULL}, "unix", false},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "10.0.0.5", false},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "::ffff:10.0.0.5", false},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "10.0.0.6", true},
    {{"10.0.0.0/8"}, {"10.0.0.5"}, "10.0.0.4", true},
    {{"10.0.0.5"}, {"10.0.0.0/8"}, "10.0.0.5", false},
    {{NULL}, {"::1/128"}, "::1", false},
    {{NULL}, {"::1/128"}, "::2", true},
    {{NULL}, {"::1/128"}, "127.0.0.1", true},
    {{NULL}, {"::1/128"}, "unix", true},
    {{"2001:db8::/32"}, {NULL}, "2001:db8:ffff::1", true},
    {{"2001:db8::/32"}, {NULL}, "2001:db9::", false},
    {{"2001:db8::/32"}, {NULL}, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {{"2001:db8::/33"}, {NULL}, "2001:db8:7fff::1", true},
    {{"2001:db8::/33"}, {NULL}, "2001:db8:8000::", false},
    {{"::ffff:192.168.0.0/112"}, {NULL}, "192.168.5.5", true},
    {{"::ffff:192.168.0.0/112"}, {NULL}, "::ffff:192.168.5.5", true},
    {{"::ffff:192.168.0.0/112"}, {NULL}, "192.169.0.1", false},
    {{NULL}, {"0.0.0.0/0"}, "1.2.3.4", false},
    {{NULL}, {"0.0.0.0/0"}, "::ffff:1.2.3.4", false},
    {{NULL}, {"0.0.0.0/0"}, "::2", true},
    {{"::/0"}, {NULL}, "1.2.3.4", false},
    {{"::/0"}, {NULL}, "::ffff:1.2.3.4", false},
    {{"::/0"}, {NULL}, "fe80::1", true},
    {{"192.168.1.128/25"}, {NULL}, "192.168.1.129", true},
    {{"192.168.1.128/25"}, {NULL}, "192.168.1.127", false},
    {{"192.168.1.128/25"}, {NULL}, "192.168.1.255", true},
    {{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, {"172.16.0.0/16"}, "172.31.0.1", true},
    {{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, {"172.16.0.0/16"}, "172.16.9.9", false},
    {{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, {"172.16.0.0/16"}, "172.32.0.1", false},
    {{"1.2.3.4/31"}, {NULL}, "1.2.3.5", true},
    {{"1.2.3.4/31"}, {NULL}, "1.2.3.6", false},
};

/* Fills <ss> with the client <text> names; see net_decide_case. */
static void net_client(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strcmp(text, "unix") == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, "/tmp/x");
    } else if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(40000);
        ck_assert_int_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(40000);
        ck_assert_int_eq(inet_pton(AF_INET, text, &in->sin_addr), 1);
    }
}

START_TEST(test_acl_net_decide)
{
    const struct net_decide_case *t = &net_decide_cases[_i];
    struct acl_nets *nets = acl_nets_new();
    struct sockaddr_storage ss;
    char err[256];

    for (size_t i = 0; i < NETS_MAX && t->allow[i] != NULL; i++)
        ck_assert_msg(acl_nets_add(nets, ACL_ALLOW, t->allow[i], err, sizeof(err)) == 0, "%s", err);
    for (size_t i = 0; i < NETS_MAX && t->deny[i] != NULL; i++)
        ck_assert_msg(acl_nets_add(nets, ACL_DENY, t->deny[i], err, sizeof(err)) == 0, "%s", err);
    net_client(t->client, &ss);
    ck_assert_msg(acl_nets_is_allowed(nets, (const struct sockaddr *)&ss) == t->allowed,
                  "case %d: %s -> %s", _i, t->client, t->allowed ? "allow" : "refuse");
    acl_nets_free(nets);
}
END_TEST

/* Each list is bounded; a rule past the bound is refused and the list stays usable. */
START_TEST(test_acl_net_limit)
{
    struct acl_nets *nets = acl_nets_new();
    struct sockaddr_storage ss;
    char cidr[32], err[256];

    for (unsigned i = 0; i < ACL_NETS_MAX; i++) {
        snprintf(cidr, sizeof(cidr), "10.%u.%u.0/24", i / 256, i % 256);
        ck_assert_int_eq(acl_nets_add(nets, ACL_ALLOW, cidr, err, sizeof(err)), 0);
    }
    ck_assert_int_eq(acl_nets_add(nets, ACL_ALLOW, "192.0.2.0/24", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "network \"192.0.2.0/24\": more than 4096 networks in one list");
    ck_assert_int_eq(acl_nets_add(nets, ACL_DENY, "192.0.2.0/24", err, sizeof(err)), 0);
    ck_assert_int_eq(acl_nets_add(nets, (enum acl_list)7, "192.0.2.0/24", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "network list 7: no such list");
    ck_assert_int_eq(acl_nets_add(nets, ACL_DENY, NULL, err, sizeof(err)), -1);
    net_client("10.15.255.1", &ss);
    ck_assert(acl_nets_is_allowed(nets, (const struct sockaddr *)&ss));
    net_client("10.16.0.1", &ss);
    ck_assert(!acl_nets_is_allowed(nets, (const struct sockaddr *)&ss));
    ck_assert(!acl_nets_is_allowed(nets, NULL));
    acl_nets_free(nets);
    acl_nets_free(NULL);
}
END_TEST

/* Basic authentication --------------------------------------------------------------- */

struct user_spec {
    const char *name;
    const char *setting; /* crypt_r salt string the hash is made with */
    const char *password;
};

/* One method and cost for the whole file (SHA-512, 5000 rounds), each user with a salt
 * of its own but two; the RFC 7617 §2 example user among them. Every accepted scheme is
 * tried in test_acl_basic_schemes. */
static const struct user_spec user_specs[] = {
    {"alice", "$6$saltsalt$", "secret"},
    {"bob", "$6$bobsalt$", "correct horse"},
    {"carol", "$6$carolsalt$", "p\xc3\xa4sswort"},
    {"dave", "$6$rounds=5000$davesalt$", "p:w"},
    {"erin", "$6$erinsalt$", "x"},
    {"Aladdin", "$6$aladdin$", "open sesame"},
    {"fay", "$6$saltsalt$", ""},
};

#define N_USERS (sizeof(user_specs) / sizeof(user_specs[0]))

static char *hashes[N_USERS];

/* crypt_r with a zeroed work area, as acl.c calls it; the result is the caller's. */
static char *test_crypt(const char *password, const char *setting)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    char *out, *h;

    ck_assert_ptr_nonnull(cd);
    h = crypt_r(password, setting, cd);
    ck_assert_msg(h != NULL && h[0] != '*', "crypt_r(%s) failed", setting);
    out = strdup(h);
    free(cd);
    return out;
}

/* The users file: comments, blank lines, indentation, CRLF and no final newline. */
static char *users_text(void)
{
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);

    ck_assert_ptr_nonnull(text);
    len += (size_t)snprintf(text + len, cap - len, "# wsbridge users\n\n");
    for (size_t i = 0; i < N_USERS; i++) {
        if (hashes[i] == NULL)
            hashes[i] = test_crypt(user_specs[i].password, user_specs[i].setting);
        len += (size_t)snprintf(text + len, cap - len, "%s%s:%s%s", i == 1 ? "  " : "",
                                user_specs[i].name, hashes[i],
                                i + 1 == N_USERS ? ""
                                : i == 2         ? " \t\r\n"
                                                 : "\n   # comment\n");
        ck_assert_uint_lt(len, cap);
    }
    return text;
}

static struct acl_users *users_load(void)
{
    char *text = users_text(), err[256] = "";
    struct acl_users *u = acl_users_parse(text, strlen(text), "users", err, sizeof(err));

    ck_assert_msg(u != NULL, "%s", err);
    free(text);
    return u;
}

static void hashes_free(void)
{
    for (size_t i = 0; i < N_USERS; i++) {
        free(hashes[i]);
        hashes[i] = NULL;
    }
}

START_TEST(test_acl_users_good)
{
    struct acl_users *u = users_load();

    ck_assert_uint_eq(u->n, N_USERS);
    for (size_t i = 0; i < N_USERS; i++) {
        ck_assert_str_eq(u->items[i].name, user_specs[i].name);
        ck_assert_str_eq(u->items[i].hash, hashes[i]);
        ck_assert_str_eq(u->items[i].hash, hashes[i]);
    }
    ck_assert_uint_eq(u->items[0].line, 3);
    ck_assert_uint_eq(u->items[1].line, 5);
    acl_users_free(u);
    acl_users_free(NULL);
    /* an empty file and a comment-only file are valid, with no users */
    u = acl_users_parse("", 0, "users", NULL, 0);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->n, 0);
    acl_users_free(u);
    u = acl_users_parse("#x\n\n \t\r\n", 8, "users", NULL, 0);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->n, 0);
    acl_users_free(u);
}
END_TEST

#define SHA512_OK                                                                                  \
    "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq."    \
    "H91p5hVO1"

struct users_bad_case {
    const char *text;
    size_t len; /* 0: strlen(text) */
    const char *err;
};

static const struct users_bad_case users_bad_cases[] = {
    {"alice\n", 0, "users:1: expected \"user:hash\""},
    {"# c\n\nalice:secret\n", 0,
     "users:3: user \"alice\": the password is not hashed (plain text or DES crypt); store a "
     "yescrypt, SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)"},
    {"alice:abNANd1rDfiNc\n", 0,
     "users:1: user \"alice\": the password is not hashed (plain text or DES crypt); store a "
     "yescrypt, SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)"},
    {"alice:\n", 0,
     "users:1: user \"alice\": the password is not hashed (plain text or DES crypt); store a "
     "yescrypt, SHA-512 or bcrypt hash (mkpasswd -m yescrypt, htpasswd -B)"},
    {"bob:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n", 0,
     "users:1: user \"bob\": MD5 hashes ($1$, $apr1$) are refused; rehash with yescrypt, "
     "SHA-512 or bcrypt (mkpasswd -m yescrypt, htpasswd -B)"},
    {"ok:" SHA512_OK "\nbob:$apr1$abc$0123456789012345678901\n", 0,
     "users:2: user \"bob\": MD5 hashes ($1$, $apr1$) are refused; rehash with yescrypt, "
     "SHA-512 or bcrypt (mkpasswd -m yescrypt, htpasswd -B)"},
    {"bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", 0,
     "users:1: user \"bob\": {SHA} (unsalted SHA-1) hashes are refused; rehash with yescrypt, "
     "SHA-512 or bcrypt (mkpasswd -m yescrypt, htpasswd -B)"},
    {"bob:$7$CU..../....abc$abc\n", 0,
     "users:1: user \"bob\": unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 "
     "($5$) or bcrypt ($2b$, $2y$)"},
    {"bob:$2a$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n", 0,
     "users:1: user \"bob\": unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 "
     "($5$) or bcrypt ($2b$, $2y$)"},
    {"bob:$6\n", 0,
     "users:1: user \"bob\": unsupported hash: use yescrypt ($y$), SHA-512 ($6$), SHA-256 "
     "($5$) or bcrypt ($2b$, $2y$)"},
    {"bob:$6$saltsalt$\n", 0, "users:1: user \"bob\": malformed hash"},
    {"bob:$6$saltsalt\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {"bob:$6$saltsalt$short\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {"bob:" SHA512_OK "x\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {"bob:$6$bad!salt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN"
     ".Pq.H91p5hVO1\n",
     0, "users:1: user \"bob\": malformed hash"},
    {"bob:$2b$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n", 0,
     "users:1: user \"bob\": bcrypt cost must be two digits, 04 to 31"},
    {"bob:$2b$5$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n", 0,
     "users:1: user \"bob\": bcrypt cost must be two digits, 04 to 31"},
    {"bob:$y$j9T$saltsaltsaltsalt\n", 0, "users:1: user \"bob\": malformed or incomplete hash"},
    {":" SHA512_OK "\n", 0, "users:1: user name must be 1 to 255 bytes"},
    {"a:" SHA512_OK "\n\n# x\na:" SHA512_OK "\n", 0,
     "users:4: user \"a\" is listed twice (first at line 1)"},
    {"a:" SHA512_OK "\nb\0:" SHA512_OK "\n", 2 * sizeof(SHA512_OK) + 5,
     "users:2: NUL byte in line"},
    {"a:" SHA512_OK "\nb\x01:" SHA512_OK "\n", 0, "users:2: control character in line"},
    {"a b\t:" SHA512_OK "\n", 0, "users:1: control character in line"},
};

START_TEST(test_acl_users_bad)
{
    const struct users_bad_case *t = &users_bad_cases[_i];
    char err[512] = "";
    size_t len = t->len != 0 ? t->len : strlen(t->text);

    ck_assert_ptr_null(acl_users_parse(t->text, len, "users", err, sizeof(err)));
    ck_assert_str_eq(err, t->err);
}
END_TEST

/* Names and hashes over their limits, and more users than a file may hold. */
START_TEST(test_acl_users_limits)
{
    size_t cap = (ACL_USERS_MAX + 1) * (sizeof(SHA512_OK) + 16) + 1024, len = 0;
    char *text = malloc(cap), err[512];
    struct acl_users *u;

    ck_assert_ptr_nonnull(text);
    memset(text, 'u', ACL_USER_MAX + 1);
    strcpy(text + ACL_USER_MAX + 1, ":" SHA512_OK "\n");
    ck_assert_ptr_null(acl_users_parse(text, strlen(text), "f", err, sizeof(err)));
    ck_assert_str_eq(err, "f:1: user name must be 1 to 255 bytes");
    strcpy(text + ACL_USER_MAX, ":" SHA512_OK "\n");
    u = acl_users_parse(text, strlen(text), "f", err, sizeof(err));
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(strlen(u->items[0].name), ACL_USER_MAX);
    acl_users_free(u);

    len = (size_t)snprintf(text, cap, "u:$6$saltsalt$");
    memset(text + len, 'a', ACL_HASH_MAX);
    text[len + ACL_HASH_MAX] = '\0';
    ck_assert_ptr_null(acl_users_parse(text, strlen(text), "f", err, sizeof(err)));
    ck_assert_str_eq(err, "f:1: user \"u\": hash longer than 383 bytes");

    len = 0;
    for (unsigned i = 0; i <= ACL_USERS_MAX; i++)
        len += (size_t)snprintf(text + len, cap - len, "u%u:%s\n", i, SHA512_OK);
    ck_assert_ptr_null(acl_users_parse(text, len, "f", err, sizeof(err)));
    ck_assert_str_eq(err, "f:10001: more than 10000 users");
    u = acl_users_parse(text, len - (sizeof(SHA512_OK) + 7), "f", err, sizeof(err));
    ck_assert_msg(u != NULL, "%s", err);
    ck_assert_uint_eq(u->n, ACL_USERS_MAX);
    acl_users_free(u);
    free(text);
}
END_TEST

/* Hashes made now by crypt_r, and by mkpasswd(1) when it is installed, are accepted. */
START_TEST(test_acl_users_fresh_hashes)
{
    static const char *const prefixes[] = {"$y$", "$6$", "$5$", "$2b$"};
    char salt[CRYPT_GENSALT_OUTPUT_SIZE], line[512], err[512];
    FILE *p;

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        char *h;
        struct acl_users *u;
        ck_assert_ptr_nonnull(crypt_gensalt_rn(prefixes[i], 0, "0123456789abcdef0123456789abcdef",
                                               32, salt, sizeof(salt)));
        h = test_crypt("pw", salt);
        snprintf(line, sizeof(line), "u:%s\n", h);
        u = acl_users_parse(line, strlen(line), "f", err, sizeof(err));
        ck_assert_msg(u != NULL, "%s: %s", h, err);
        acl_users_free(u);
        free(h);
    }
    p = popen("mkpasswd -m sha-512 pw 2>/dev/null", "r");
    if (p != NULL) {
        if (fgets(line + 2, (int)sizeof(line) - 2, p) != NULL) {
            struct acl_users *u;
            line[0] = 'u';
            line[1] = ':';
            u = acl_users_parse(line, strlen(line), "f", err, sizeof(err));
            ck_assert_msg(u != NULL, "mkpasswd: %s", err);
            acl_users_free(u);
        }
        pclose(p);
    }
}
END_TEST

struct basic_case {
    const char *header; /* used as is when <plain> is NULL */
    const char *plain;  /* else: "Basic " and the base64 of these bytes */
    size_t plain_len;   /* 0: strlen(plain) */
    enum acl_auth want;
    const char *user; /* expected user name out */
};

static const struct basic_case basic_cases[] = {
    {NULL, NULL, 0, ACL_AUTH_MISSING, ""},
    {"", NULL, 0, ACL_AUTH_MISSING, ""},
    {"Bearer abc", NULL, 0, ACL_AUTH_MISSING, ""},
    {"Basicx QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, ACL_AUTH_MISSING, ""},
    {"Digest username=\"a\"", NULL, 0, ACL_AUTH_MISSING, ""},
    /* RFC 7617 §2 example */
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, ACL_AUTH_OK, "Aladdin"},
    {"basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, ACL_AUTH_OK, "Aladdin"},
    {"BASIC    QWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, ACL_AUTH_OK, "Aladdin"},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\t ", NULL, 0, ACL_AUTH_OK, "Aladdin"},
    {"Basic", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic ", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic\tQWxhZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, ACL_AUTH_MISSING, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ===", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic =QWxhZGRpbjpvcGVuIHNlc2FtZQ=", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic QWxh ZGRpbjpvcGVuIHNlc2FtZQ==", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==,", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic YWxpY2U6c2VjcmV0\xff===", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic ####", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic YW-_", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic ====", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {"Basic YWI6Y===", NULL, 0, ACL_AUTH_MALFORMED, ""}, /* "ab:" and a third '=' */
    {"Basic YQ==YQ==", NULL, 0, ACL_AUTH_MALFORMED, ""},
    {NULL, "alicesecret", 0, ACL_AUTH_MALFORMED, ""},
    {NULL, "alice:sec\0ret", 13, ACL_AUTH_MALFORMED, ""},
    {NULL, "alice\0:secret", 13, ACL_AUTH_MALFORMED, ""},
    {NULL, "alice:secret\0", 13, ACL_AUTH_MALFORMED, ""},
    {NULL, "alice:sec\nret", 0, ACL_AUTH_MALFORMED, ""},
    {NULL, "alice:sec\x7fret", 0, ACL_AUTH_MALFORMED, ""},
    {NULL, "ali\tce:secret", 0, ACL_AUTH_MALFORMED, ""},
    {NULL, "alice:secret", 0, ACL_AUTH_OK, "alice"},
    {NULL, "alice:wrong", 0, ACL_AUTH_DENIED, "alice"},
    {NULL, "alice:secre", 0, ACL_AUTH_DENIED, "alice"},
    {NULL, "alice:secret ", 0, ACL_AUTH_DENIED, "alice"},
    {NULL, "alice:", 0, ACL_AUTH_DENIED, "alice"},
    {NULL, "ALICE:secret", 0, ACL_AUTH_DENIED, "ALICE"},
    {NULL, "alice :secret", 0, ACL_AUTH_DENIED, "alice "},
    {NULL, "mallory:secret", 0, ACL_AUTH_DENIED, "mallory"},
    {NULL, ":secret", 0, ACL_AUTH_DENIED, ""},
    {NULL, ":", 0, ACL_AUTH_DENIED, ""},
    {NULL, "bob:correct horse", 0, ACL_AUTH_OK, "bob"},
    {NULL, "bob:correct horsE", 0, ACL_AUTH_DENIED, "bob"},
    {NULL, "bob:secret", 0, ACL_AUTH_DENIED, "bob"},
    {NULL, "carol:p\xc3\xa4sswort", 0, ACL_AUTH_OK, "carol"},
    {NULL, "carol:passwort", 0, ACL_AUTH_DENIED, "carol"},
    {NULL, "dave:p:w", 0, ACL_AUTH_OK, "dave"},
    {NULL, "dave:p", 0, ACL_AUTH_DENIED, "dave"},
    {NULL, "erin:x", 0, ACL_AUTH_OK, "erin"},
    {NULL, "erin:X", 0, ACL_AUTH_DENIED, "erin"},
    {NULL, "fay:", 0, ACL_AUTH_OK, "fay"},
    {NULL, "fay:secret", 0, ACL_AUTH_DENIED, "fay"},
    {NULL, "Aladdin:open sesame", 0, ACL_AUTH_OK, "Aladdin"},
    /* the first line's hash is not a password anyone may use for another user */
    {NULL, "zed:secret", 0, ACL_AUTH_DENIED, "zed"},
};

/* "Basic " and the base64 of <len> bytes at <plain>, into <out>. */
static void basic_header(const char *plain, size_t len, char *out, size_t cap)
{
    ck_assert_uint_lt(6 + 4 * ((len + 2) / 3), cap);
    memcpy(out, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)plain, (int)len);
}

START_TEST(test_acl_basic)
{
    const struct basic_case *t = &basic_cases[_i];
    struct acl_users *u = users_load();
    char header[1024], user[64];
    const char *h = t->header;
    enum acl_auth got;

    if (t->plain != NULL) {
        basic_header(t->plain, t->plain_len != 0 ? t->plain_len : strlen(t->plain), header,
                     sizeof(header));
        h = header;
    }
    memset(user, 'x', sizeof(user));
    got = acl_basic_check(u, h, user, sizeof(user));
    ck_assert_msg(got == t->want, "case %d (%s): got %s, want %s", _i, h != NULL ? h : "NULL",
                  acl_auth_name(got), acl_auth_name(t->want));
    ck_assert_str_eq(user, t->user);
    /* no user buffer is fine and changes nothing */
    ck_assert_int_eq(acl_basic_check(u, h, NULL, 0), t->want);
    acl_users_free(u);
}
END_TEST

/* Lengths at and past the limits; a long user name is cut in the output buffer. */
START_TEST(test_acl_basic_limits)
{
    struct acl_users *u = users_load();
    char plain[1024], header[1536], user[8];

    /* password of ACL_PASSWORD_MAX bytes: a fair try; one more: malformed */
    memcpy(plain, "alice:", 6);
    memset(plain + 6, 'p', ACL_PASSWORD_MAX + 1);
    basic_header(plain, 6 + ACL_PASSWORD_MAX, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, user, sizeof(user)), ACL_AUTH_DENIED);
    ck_assert_str_eq(user, "alice");
    basic_header(plain, 6 + ACL_PASSWORD_MAX + 1, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, user, sizeof(user)), ACL_AUTH_MALFORMED);
    ck_assert_str_eq(user, "");
    /* longest user and password: still decoded; anything longer: malformed */
    memset(plain, 'n', ACL_USER_MAX);
    plain[ACL_USER_MAX] = ':';
    memset(plain + ACL_USER_MAX + 1, 'p', ACL_PASSWORD_MAX);
    basic_header(plain, ACL_USER_MAX + 1 + ACL_PASSWORD_MAX, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, user, sizeof(user)), ACL_AUTH_DENIED);
    ck_assert_str_eq(user, "nnnnnnn");
    plain[ACL_USER_MAX + 1 + ACL_PASSWORD_MAX] = 'p';
    basic_header(plain, ACL_USER_MAX + 2 + ACL_PASSWORD_MAX, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, user, sizeof(user)), ACL_AUTH_MALFORMED);
    /* a longer user name with a short password fits the decoded limit: unknown user */
    memset(plain, 'n', ACL_USER_MAX + 100);
    memcpy(plain + ACL_USER_MAX + 100, ":pw", 3);
    basic_header(plain, ACL_USER_MAX + 103, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, user, sizeof(user)), ACL_AUTH_DENIED);
    acl_users_free(u);
}
END_TEST

/* An empty user list, or none at all, refuses everyone, after the same crypt work. */
START_TEST(test_acl_basic_no_users)
{
    struct acl_users *u = acl_users_parse("# nobody\n", 9, "f", NULL, 0);
    char header[64];

    ck_assert_ptr_nonnull(u);
    basic_header("alice:secret", 12, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, NULL, 0), ACL_AUTH_DENIED);
    ck_assert_int_eq(acl_basic_check(NULL, header, NULL, 0), ACL_AUTH_DENIED);
    ck_assert_int_eq(acl_basic_check(u, NULL, NULL, 0), ACL_AUTH_MISSING);
    acl_users_free(u);
}
END_TEST

/* A hash crypt(3) cannot use (parse refuses it; here it is put in by hand) is a server
 * fault, not a wrong password. */
START_TEST(test_acl_basic_crypt_fails)
{
    struct acl_user bad = {.name = "alice", .line = 1};
    struct acl_users u = {.items = &bad, .n = 1};
    char header[64], user[16];

    strcpy(bad.hash, "$2b$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a");
    /* unknown users go through the dummy setting, made like the users' hashes */
    strcpy(u.dummy, "$2b$99$abcdefghijklmnopqrstuu");
    basic_header("alice:secret", 12, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(&u, header, user, sizeof(user)), ACL_AUTH_ERROR);
    ck_assert_str_eq(user, "alice");
    basic_header("nobody:secret", 13, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(&u, header, user, sizeof(user)), ACL_AUTH_ERROR);
}
END_TEST

/* The setting's method and cost part of <hash>: up to the '$' before the salt
 * ("$2b$05$", "$y$j9T$", "$6$rounds=1000$", "$6$"). */
static void hash_params(const char *hash, char *out, size_t cap)
{
    size_t n;

    if (hash[1] == '2') {
        n = 7;
    } else {
        const char *p = hash + 1 + strcspn(hash + 1, "$") + 1; /* after "$id$" */
        if (hash[1] == 'y' || strncmp(p, "rounds=", 7) == 0)
            p += strcspn(p, "$") + 1;
        n = (size_t)(p - hash);
    }
    ck_assert_uint_lt(n, cap);
    memcpy(out, hash, n);
    out[n] = '\0';
}

struct scheme_case {
    const char *setting; /* crypt_r salt string for both users */
    const char *params;  /* what every hash and the dummy start with */
};

static const struct scheme_case scheme_cases[] = {
    {"$y$j9T$saltsaltsaltsalt$", "$y$j9T$"},
    {"$y$jAT$saltsaltsaltsalt$", "$y$jAT$"},
    {"$6$saltsalt$", "$6$"},
    {"$6$rounds=1000$aladdin$", "$6$rounds=1000$"},
    {"$5$saltsalt$", "$5$"},
    {"$5$rounds=2000$saltsalt$", "$5$rounds=2000$"},
    {"$2b$05$abcdefghijklmnopqrstuu", "$2b$05$"},
    {"$2y$05$ABCDEFGHIJKLMNOPQRSTUu", "$2y$05$"},
};

/* Every accepted scheme: right and wrong passwords, unknown users, and the dummy setting
 * an unknown user is checked against: the file's method and cost, a random salt. */
START_TEST(test_acl_basic_schemes)
{
    const struct scheme_case *t = &scheme_cases[_i];
    char *h1 = test_crypt("one", t->setting), *h2 = test_crypt("two", t->setting);
    char text[1024], err[512], params[64], header[128], dummy[ACL_HASH_MAX + 1];
    struct acl_users *u;
    struct acl_basic_cred cred;

    snprintf(text, sizeof(text), "u1:%s\nu2:%s\n", h1, h2);
    u = acl_users_parse(text, strlen(text), "f", err, sizeof(err));
    ck_assert_msg(u != NULL, "%s: %s", t->setting, err);
    hash_params(u->dummy, params, sizeof(params));
    ck_assert_str_eq(params, t->params);
    ck_assert_str_ne(u->dummy, t->setting);
    strcpy(dummy, u->dummy);

    basic_header("u1:one", 6, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, NULL, 0), ACL_AUTH_OK);
    basic_header("u2:two", 6, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, NULL, 0), ACL_AUTH_OK);
    basic_header("u2:one", 6, header, sizeof(header));
    ck_assert_int_eq(acl_basic_check(u, header, NULL, 0), ACL_AUTH_DENIED);

    /* known: its own hash; unknown: the dummy, a crypt of the same setting */
    ck_assert_int_eq(acl_basic_decode(u, header, &cred), ACL_AUTH_PENDING);
    ck_assert(cred.known);
    ck_assert_str_eq(cred.hash, h2);
    ck_assert_str_eq(cred.password, "one");
    ck_assert_int_eq(acl_basic_verify(&cred), ACL_AUTH_DENIED);
    acl_basic_cred_wipe(&cred);
    ck_assert_str_eq(cred.password, "");
    ck_assert_str_eq(cred.hash, "");
    basic_header("mallory:one", 11, header, sizeof(header));
    ck_assert_int_eq(acl_basic_decode(u, header, &cred), ACL_AUTH_PENDING);
    ck_assert(!cred.known);
    ck_assert_str_eq(cred.user, "mallory");
    ck_assert_str_eq(cred.hash, u->dummy);
    /* a password that is right for someone is still wrong for a name not in the file */
    ck_assert_int_eq(acl_basic_verify(&cred), ACL_AUTH_DENIED);
    acl_basic_cred_wipe(&cred);
    acl_users_free(u);

    /* a fresh salt at every load */
    u = acl_users_parse(text, strlen(text), "f", err, sizeof(err));
    ck_assert_ptr_nonnull(u);
    ck_assert_str_ne(u->dummy, dummy);
    acl_users_free(u);
    free(h1);
    free(h2);
}
END_TEST

struct mixed_case {
    const char *first, *second; /* crypt_r settings of lines 1 and 3 */
    const char *err;            /* NULL: accepted; else the exact message */
};

#define MIXED_TAIL                                                                                 \
    ": every hash of a file must have the same method and cost, or the time a wrong password "     \
    "takes tells users apart"

static const struct mixed_case mixed_cases[] = {
    {"$6$saltsalt$", "$y$j9T$saltsaltsaltsalt$",
     "users:3: user \"b\": yescrypt, parameters j9T, but line 1 has SHA-512, 5000 "
     "rounds" MIXED_TAIL},
    {"$y$j9T$saltsaltsaltsalt$", "$6$saltsalt$",
     "users:3: user \"b\": SHA-512, 5000 rounds, but line 1 has yescrypt, parameters "
     "j9T" MIXED_TAIL},
    {"$y$j9T$saltsaltsaltsalt$", "$y$jAT$saltsaltsaltsalt$",
     "users:3: user \"b\": yescrypt, parameters jAT, but line 1 has yescrypt, parameters "
     "j9T" MIXED_TAIL},
    {"$6$saltsalt$", "$6$rounds=1000$saltsalt$",
     "users:3: user \"b\": SHA-512, 1000 rounds, but line 1 has SHA-512, 5000 rounds" MIXED_TAIL},
    {"$6$saltsalt$", "$5$saltsalt$",
     "users:3: user \"b\": SHA-256, 5000 rounds, but line 1 has SHA-512, 5000 rounds" MIXED_TAIL},
    {"$2b$05$abcdefghijklmnopqrstuu", "$2b$06$abcdefghijklmnopqrstuu",
     "users:3: user \"b\": bcrypt, cost 06, but line 1 has bcrypt, cost 05" MIXED_TAIL},
    {"$2b$05$abcdefghijklmnopqrstuu", "$6$saltsalt$",
     "users:3: user \"b\": SHA-512, 5000 rounds, but line 1 has bcrypt, cost 05" MIXED_TAIL},
    /* the same cost written two ways */
    {"$6$saltsalt$", "$6$rounds=5000$saltsalt$", NULL},
    {"$2b$05$abcdefghijklmnopqrstuu", "$2y$05$abcdefghijklmnopqrstuu", NULL},
};

/* A file whose hashes differ in method or cost is refused, naming both lines. */
START_TEST(test_acl_users_mixed)
{
    const struct mixed_case *t = &mixed_cases[_i];
    char *h1 = test_crypt("pw", t->first), *h2 = test_crypt("pw", t->second);
    char text[1024], err[512] = "";
    struct acl_users *u;

    snprintf(text, sizeof(text), "a:%s\n# b next\nb:%s\n", h1, h2);
    u = acl_users_parse(text, strlen(text), "users", err, sizeof(err));
    if (t->err == NULL) {
        ck_assert_msg(u != NULL, "%s", err);
        ck_assert_uint_eq(u->n, 2);
    } else {
        ck_assert_ptr_null(u);
        ck_assert_str_eq(err, t->err);
    }
    acl_users_free(u);
    free(h1);
    free(h2);
}
END_TEST

/* Decoding alone runs no hash and leaves nothing secret behind when it fails. */
START_TEST(test_acl_basic_decode)
{
    struct acl_users *u = users_load();
    struct acl_basic_cred cred;
    char header[128];

    memset(&cred, 'x', sizeof(cred));
    ck_assert_int_eq(acl_basic_decode(u, NULL, &cred), ACL_AUTH_MISSING);
    ck_assert_str_eq(cred.user, "");
    ck_assert_str_eq(cred.password, "");
    ck_assert_str_eq(cred.hash, "");
    ck_assert_int_eq(acl_basic_decode(u, "Basic !!!!", &cred), ACL_AUTH_MALFORMED);
    ck_assert_str_eq(cred.user, "");
    basic_header("alice:secret", 12, header, sizeof(header));
    ck_assert_int_eq(acl_basic_decode(u, header, &cred), ACL_AUTH_PENDING);
    ck_assert_str_eq(cred.user, "alice");
    ck_assert_str_eq(cred.password, "secret");
    ck_assert_str_eq(cred.hash, hashes[0]);
    ck_assert(cred.known);
    ck_assert_int_eq(acl_basic_verify(&cred), ACL_AUTH_OK);
    acl_basic_cred_wipe(&cred);
    /* no users at all: a fixed SHA-512 setting, never a match */
    ck_assert_int_eq(acl_basic_decode(NULL, header, &cred), ACL_AUTH_PENDING);
    ck_assert(!cred.known);
    ck_assert(strncmp(cred.hash, "$6$", 3) == 0);
    ck_assert_int_eq(acl_basic_verify(&cred), ACL_AUTH_DENIED);
    acl_basic_cred_wipe(&cred);
    acl_users_free(u);
}
END_TEST

START_TEST(test_acl_auth_names)
{
    ck_assert_str_eq(acl_auth_name(ACL_AUTH_OK), "ok");
    ck_assert_str_eq(acl_auth_name(ACL_AUTH_MISSING), "missing");
    ck_assert_str_eq(acl_auth_name(ACL_AUTH_MALFORMED), "malformed");
    ck_assert_str_eq(acl_auth_name(ACL_AUTH_DENIED), "denied");
    ck_assert_str_eq(acl_auth_name(ACL_AUTH_ERROR), "error");
    ck_assert_str_eq(acl_auth_name(ACL_AUTH_PENDING), "pending");
    ck_assert_str_eq(acl_auth_name((enum acl_auth)99), "?");
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *test_suite(void)
{
    Suite *s = suite_create("acl");
    TCase *nets = tcase_create("nets");
    TCase *basic = tcase_create("basic");

    tcase_add_loop_test(nets, test_acl_net_good, 0, N(net_good_cases));
    tcase_add_loop_test(nets, test_acl_net_bad, 0, N(net_bad_cases));
    tcase_add_loop_test(nets, test_acl_net_decide, 0, N(net_decide_cases));
    tcase_add_test(nets, test_acl_net_limit);
    suite_add_tcase(s, nets);
    /* bcrypt and yescrypt are slow on purpose, and ASan slows them further */
    tcase_set_timeout(basic, 120);
    tcase_add_checked_fixture(basic, NULL, hashes_free);
    tcase_add_test(basic, test_acl_users_good);
    tcase_add_loop_test(basic, test_acl_users_bad, 0, N(users_bad_cases));
    tcase_add_test(basic, test_acl_users_limits);
    tcase_add_test(basic, test_acl_users_fresh_hashes);
    tcase_add_loop_test(basic, test_acl_basic, 0, N(basic_cases));
    tcase_add_test(basic, test_acl_basic_limits);
    tcase_add_test(basic, test_acl_basic_no_users);
    tcase_add_test(basic, test_acl_basic_crypt_fails);
    tcase_add_loop_test(basic, test_acl_basic_schemes, 0, N(scheme_cases));
    tcase_add_loop_test(basic, test_acl_users_mixed, 0, N(mixed_cases));
    tcase_add_test(basic, test_acl_basic_decode);
    tcase_add_test(basic, test_acl_auth_names);
    suite_add_tcase(s, basic);
    return s;
}

CHECK_MAIN(test_suite)
