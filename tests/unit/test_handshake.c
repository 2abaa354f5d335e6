/*
 * test_handshake.c - proves that handshake.c accepts RFC 6455 upgrades in every spelling
 * clients use, fails each required check in turn with its own status and in the order
 * handshake.h gives, computes the RFC 6455 §1.3 accept value, and chooses exactly one
 * subprotocol. Every request is parsed by http_req.c under every chunking first.
 */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "feed.h"
#include "handshake.h"
#include "http_req.h"

/* Pieces of the RFC 6455 §1.2 sample request, to build rows from. */
#define RL "GET /chat HTTP/1.1\r\n"
#define HOST "Host: server.example.com\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"
#define END "\r\n"
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455 §1.3 */
#define KEYED(k) RL HOST UPG CONN "Sec-WebSocket-Key: " k "\r\n" VER END
#define OFFER(p) RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: " p "\r\n" END

enum test_policy {
    POL_NONE = 0,    /* NULL policy */
    POL_CHAT,        /* "superchat", "chat" */
    POL_VNC,         /* "base64", "binary" */
    POL_EMPTY,       /* a policy with an empty list */
    POL_ZERO,        /* a zeroed policy: no list, HANDSHAKE_SUBPROTO_BINARY */
    POL_FIRST,       /* no list, HANDSHAKE_SUBPROTO_FIRST_OFFERED */
    POL_FIRST_EMPTY, /* an empty list, HANDSHAKE_SUBPROTO_FIRST_OFFERED */
    POL_FIRST_VNC,   /* "base64", "binary" and HANDSHAKE_SUBPROTO_FIRST_OFFERED: the list rules */
};

static const char *const test_chat[] = {"superchat", "chat"};
static const char *const test_vnc[] = {"base64", "binary"};
static const struct handshake_policy test_policies[] = {
    [POL_NONE] = {NULL, 0, HANDSHAKE_SUBPROTO_BINARY},
    [POL_CHAT] = {test_chat, 2, HANDSHAKE_SUBPROTO_BINARY},
    [POL_VNC] = {test_vnc, 2, HANDSHAKE_SUBPROTO_BINARY},
    [POL_EMPTY] = {test_vnc, 0, HANDSHAKE_SUBPROTO_BINARY},
    [POL_ZERO] = {0},
    [POL_FIRST] = {.mode = HANDSHAKE_SUBPROTO_FIRST_OFFERED},
    [POL_FIRST_EMPTY] = {test_vnc, 0, HANDSHAKE_SUBPROTO_FIRST_OFFERED},
    [POL_FIRST_VNC] = {test_vnc, 2, HANDSHAKE_SUBPROTO_FIRST_OFFERED},
};

/* Names of HANDSHAKE_SUBPROTOCOL_MAX bytes and one more. */
#define NAME_8 "abcdefgh"
#define NAME_64 NAME_8 NAME_8 NAME_8 NAME_8 NAME_8 NAME_8 NAME_8 NAME_8
#define NAME_MAX_BYTES NAME_64 NAME_64
#define NAME_TOO_LONG NAME_MAX_BYTES "x"

struct hs_case {
    const char *name;
    const char *request; /* a complete head */
    enum test_policy policy;
    int status;              /* expected status */
    const char *error;       /* status != 101: a word the reason must contain */
    const char *subprotocol; /* status == 101: expected choice, or NULL */
    const char *accept;      /* status == 101: expected Sec-WebSocket-Accept */
};

static const struct hs_case test_cases[] = {
    /* valid upgrades */
    {"RFC 6455 sample",
     RL HOST UPG CONN KEY
     "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n" VER END,
     POL_NONE, 101, NULL, NULL, ACCEPT},
    {"RFC 6455 sample with a chat policy",
     RL HOST UPG CONN KEY
     "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n" VER END,
     POL_CHAT, 101, NULL, "chat", ACCEPT},
    {"lower-case names",
     RL "host: a\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n" END,
     POL_NONE, 101, NULL, NULL, ACCEPT},
    {"upper-case names and tokens",
     RL "HOST: a\r\nUPGRADE: WEBSOCKET\r\nCONNECTION: UPGRADE\r\n"
        "SEC-WEBSOCKET-KEY: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n" END,
     POL_NONE, 101, NULL, NULL, ACCEPT},
    {"Upgrade: WebSocket", RL HOST "Upgrade: WebSocket\r\n" CONN KEY VER END, POL_NONE, 101, NULL,
     NULL, ACCEPT},
    {"Connection token list", RL HOST UPG "Connection: keep-alive, Upgrade\r\n" KEY VER END,
     POL_NONE, 101, NULL, NULL, ACCEPT},
    {"Connection over two lines",
     RL HOST UPG "Connection: keep-alive\r\nConnection: Upgrade\r\n" KEY VER END, POL_NONE, 101,
     NULL, NULL, ACCEPT},
    {"Upgrade token list", RL HOST "Upgrade: h2c, WebSocket\r\n" CONN KEY VER END, POL_NONE, 101,
     NULL, NULL, ACCEPT},
    {"key with surrounding spaces and tabs",
     RL HOST UPG CONN "Sec-WebSocket-Key:  \t dGhlIHNhbXBsZSBub25jZQ== \t \r\n" VER END, POL_NONE,
     101, NULL, NULL, ACCEPT},
    {"version with spaces", RL HOST UPG CONN KEY "Sec-WebSocket-Version:  13 \r\n" END, POL_NONE,
     101, NULL, NULL, ACCEPT},
    {"another key", KEYED("x3JJHMbDL1EzLkh9GBhXDw=="), POL_NONE, 101, NULL, NULL,
     "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
    {"HTTP/1.2", "GET / HTTP/1.2\r\n" HOST UPG CONN KEY VER END, POL_NONE, 101, NULL, NULL, ACCEPT},
    {"Content-Length: 0", RL HOST UPG CONN KEY VER "Content-Length: 0\r\n" END, POL_NONE, 101, NULL,
     NULL, ACCEPT},
    {"absolute-form target", "GET ws://a/chat?x=1 HTTP/1.1\r\n" HOST UPG CONN KEY VER END, POL_NONE,
     101, NULL, NULL, ACCEPT},

    /* each check failing in turn */
    {"POST", "POST /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, POL_NONE, 405, "GET", NULL, NULL},
    {"HEAD", "HEAD /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END, POL_NONE, 405, "GET", NULL, NULL},
    {"OPTIONS", "OPTIONS * HTTP/1.1\r\n" HOST UPG CONN KEY VER END, POL_NONE, 405, "GET", NULL,
     NULL},
    {"HTTP/1.0", "GET /chat HTTP/1.0\r\n" HOST UPG CONN KEY VER END, POL_NONE, 400, "version", NULL,
     NULL},
    {"no Host", RL UPG CONN KEY VER END, POL_NONE, 400, "Host", NULL, NULL},
    {"two Hosts", RL HOST "Host: evil.example.com\r\n" UPG CONN KEY VER END, POL_NONE, 400, "Host",
     NULL, NULL},
    {"two equal Hosts", RL HOST HOST UPG CONN KEY VER END, POL_NONE, 400, "Host", NULL, NULL},
    {"Content-Length body", RL HOST UPG CONN KEY VER "Content-Length: 5\r\n" END, POL_NONE, 400,
     "body", NULL, NULL},
    {"chunked body", RL HOST UPG CONN KEY VER "Transfer-Encoding: chunked\r\n" END, POL_NONE, 400,
     "body", NULL, NULL},
    {"no Upgrade", RL HOST CONN KEY VER END, POL_NONE, 400, "Upgrade", NULL, NULL},
    {"Upgrade: h2c", RL HOST "Upgrade: h2c\r\n" CONN KEY VER END, POL_NONE, 400, "Upgrade", NULL,
     NULL},
    {"Upgrade: websocket2", RL HOST "Upgrade: websocket2\r\n" CONN KEY VER END, POL_NONE, 400,
     "Upgrade", NULL, NULL},
    {"Upgrade: web socket", RL HOST "Upgrade: web socket\r\n" CONN KEY VER END, POL_NONE, 400,
     "Upgrade", NULL, NULL},
    {"empty Upgrade", RL HOST "Upgrade:\r\n" CONN KEY VER END, POL_NONE, 400, "Upgrade", NULL,
     NULL},
    {"no Connection", RL HOST UPG KEY VER END, POL_NONE, 400, "Connection", NULL, NULL},
    {"Connection: keep-alive", RL HOST UPG "Connection: keep-alive\r\n" KEY VER END, POL_NONE, 400,
     "Connection", NULL, NULL},
    {"Connection: upgraded", RL HOST UPG "Connection: upgraded\r\n" KEY VER END, POL_NONE, 400,
     "Connection", NULL, NULL},
    {"Connection: close", RL HOST UPG "Connection: close\r\n" KEY VER END, POL_NONE, 400,
     "Connection", NULL, NULL},
    {"no version", RL HOST UPG CONN KEY END, POL_NONE, 426, "Version", NULL, NULL},
    {"version 8", RL HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n" END, POL_NONE, 426, "Version",
     NULL, NULL},
    {"version list", RL HOST UPG CONN KEY "Sec-WebSocket-Version: 13, 8\r\n" END, POL_NONE, 426,
     "Version", NULL, NULL},
    {"version 013", RL HOST UPG CONN KEY "Sec-WebSocket-Version: 013\r\n" END, POL_NONE, 426,
     "Version", NULL, NULL},
    {"empty version", RL HOST UPG CONN KEY "Sec-WebSocket-Version:\r\n" END, POL_NONE, 426,
     "Version", NULL, NULL},
    {"version twice", RL HOST UPG CONN KEY VER VER END, POL_NONE, 426, "Version", NULL, NULL},
    {"no key", RL HOST UPG CONN VER END, POL_NONE, 400, "Key", NULL, NULL},
    {"two keys", RL HOST UPG CONN KEY KEY VER END, POL_NONE, 400, "Key", NULL, NULL},
    {"empty key", KEYED(""), POL_NONE, 400, "Key", NULL, NULL},
    {"15-byte key", KEYED("AAAAAAAAAAAAAAAAAAAA"), POL_NONE, 400, "Key", NULL, NULL},
    {"17-byte key", KEYED("AAAAAAAAAAAAAAAAAAAAAAA="), POL_NONE, 400, "Key", NULL, NULL},
    {"18-byte key", KEYED("AAAAAAAAAAAAAAAAAAAAAAAA"), POL_NONE, 400, "Key", NULL, NULL},
    {"20-byte key", KEYED("AAAAAAAAAAAAAAAAAAAAAAAAAAA="), POL_NONE, 400, "Key", NULL, NULL},
    {"not base64", KEYED("not base64 at all!!"), POL_NONE, 400, "Key", NULL, NULL},
    {"bad character", KEYED("dGhlIHNhbXBsZSBub25jZ!=="), POL_NONE, 400, "Key", NULL, NULL},
    {"URL-safe alphabet", KEYED("dGhlIHNhbXBsZSBub25jZ-=="), POL_NONE, 400, "Key", NULL, NULL},
    {"space inside the key", KEYED("dGhlIHNhbXBs ZSBub25jZQ=="), POL_NONE, 400, "Key", NULL, NULL},
    {"one pad short", KEYED("dGhlIHNhbXBsZSBub25jZQ="), POL_NONE, 400, "Key", NULL, NULL},
    {"pads only", KEYED("========================"), POL_NONE, 400, "Key", NULL, NULL},

    /* the order of the checks: the first failing one answers */
    {"POST over HTTP/1.0 without headers", "POST / HTTP/1.0\r\n\r\n", POL_NONE, 405, "GET", NULL,
     NULL},
    {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n" UPG CONN KEY VER END, POL_NONE, 400, "version",
     NULL, NULL},
    {"two Hosts and a body", RL HOST HOST "Content-Length: 1\r\n" END, POL_NONE, 400, "Host", NULL,
     NULL},
    {"body and no Upgrade", RL HOST "Content-Length: 1\r\n" END, POL_NONE, 400, "body", NULL, NULL},
    {"no Upgrade, no Connection", RL HOST KEY VER END, POL_NONE, 400, "Upgrade", NULL, NULL},
    {"no Connection, no version", RL HOST UPG KEY END, POL_NONE, 400, "Connection", NULL, NULL},
    {"bad version and bad key",
     RL HOST UPG CONN "Sec-WebSocket-Key: x\r\nSec-WebSocket-Version: 8\r\n" END, POL_NONE, 426,
     "Version", NULL, NULL},
    {"bad key and no allowed subprotocol", KEYED("x"), POL_CHAT, 400, "Key", NULL, NULL},

    /* subprotocols */
    {"no policy, binary offered", OFFER("binary"), POL_NONE, 101, NULL, "binary", ACCEPT},
    {"no policy, binary second", OFFER("base64, binary"), POL_NONE, 101, NULL, "binary", ACCEPT},
    {"no policy, binary on a second line",
     RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: chat\r\n"
                              "Sec-WebSocket-Protocol: binary\r\n" END,
     POL_NONE, 101, NULL, "binary", ACCEPT},
    {"no policy, chat offered", OFFER("chat"), POL_NONE, 101, NULL, NULL, ACCEPT},
    {"no policy, Binary is another name", OFFER("Binary"), POL_NONE, 101, NULL, NULL, ACCEPT},
    {"no policy, nothing offered", RL HOST UPG CONN KEY VER END, POL_NONE, 101, NULL, NULL, ACCEPT},
    {"empty policy list, binary offered", OFFER("binary"), POL_EMPTY, 101, NULL, "binary", ACCEPT},
    {"policy, client order wins", OFFER("binary, base64"), POL_VNC, 101, NULL, "binary", ACCEPT},
    {"policy, client order wins again", OFFER("base64, binary"), POL_VNC, 101, NULL, "base64",
     ACCEPT},
    {"policy, unknown first", OFFER("chat, binary"), POL_VNC, 101, NULL, "binary", ACCEPT},
    {"policy, empty elements", OFFER(" , ,binary ,"), POL_VNC, 101, NULL, "binary", ACCEPT},
    {"policy, offers over two lines",
     RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: chat\r\n"
                              "Sec-WebSocket-Protocol: soap, base64\r\n" END,
     POL_VNC, 101, NULL, "base64", ACCEPT},
    {"policy, nothing offered from it", OFFER("chat, soap"), POL_VNC, 400, "subprotocol", NULL,
     NULL},
    {"policy, names compare exactly", OFFER("BINARY"), POL_VNC, 400, "subprotocol", NULL, NULL},
    {"policy, a prefix is not a name", OFFER("bin"), POL_VNC, 400, "subprotocol", NULL, NULL},
    {"policy, nothing offered", RL HOST UPG CONN KEY VER END, POL_VNC, 400, "subprotocol", NULL,
     NULL},
    {"policy, empty offer", OFFER(""), POL_VNC, 400, "subprotocol", NULL, NULL},

    /* RFC 6455 §11.3.4: the offer is 1#token; RFC 7230 §7: empty elements are ignored,
     * anything else that is not a token makes the header malformed, whatever the policy */
    {"no policy, a space inside a name", OFFER("bin ary, binary"), POL_NONE, 400,
     "Sec-WebSocket-Protocol", NULL, NULL},
    {"no policy, a parameter", OFFER("chat;v=1, binary"), POL_NONE, 400, "Sec-WebSocket-Protocol",
     NULL, NULL},
    {"no policy, a quoted name", OFFER("\"binary\""), POL_NONE, 400, "Sec-WebSocket-Protocol",
     NULL, NULL},
    {"no policy, a slash", OFFER("binary, a/b"), POL_NONE, 400, "Sec-WebSocket-Protocol", NULL,
     NULL},
    {"no policy, a byte over 0x7f", OFFER("bin\xc3\xa4ry, binary"), POL_NONE, 400,
     "Sec-WebSocket-Protocol", NULL, NULL},
    {"policy, a bad name on a second line",
     RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: binary\r\n"
                              "Sec-WebSocket-Protocol: a=b\r\n" END,
     POL_VNC, 400, "Sec-WebSocket-Protocol", NULL, NULL},
    {"policy, every tchar", OFFER("!#$%&'*+-.^_`|~09azAZ, binary"), POL_VNC, 101, NULL, "binary",
     ACCEPT},
    {"no policy, tabs around names", OFFER("chat\t,\tbinary\t"), POL_NONE, 101, NULL, "binary",
     ACCEPT},
    {"no policy, only empty elements", OFFER(" ,, ,"), POL_NONE, 101, NULL, NULL, ACCEPT},

    /* a zeroed policy keeps the behaviour before issue 14: "binary" when offered */
    {"zeroed policy, binary offered", OFFER("base64, binary"), POL_ZERO, 101, NULL, "binary",
     ACCEPT},
    {"zeroed policy, mqtt offered", OFFER("mqtt"), POL_ZERO, 101, NULL, NULL, ACCEPT},

    /* issue 14: without a list, "binary" wherever it is offered (websockify's choice), else
     * the first offered name (MQTT.js, STOMP) */
    {"first offered, mqtt", OFFER("mqtt"), POL_FIRST, 101, NULL, "mqtt", ACCEPT},
    {"first offered, of two", OFFER("v12.stomp, v11.stomp"), POL_FIRST, 101, NULL, "v12.stomp",
     ACCEPT},
    {"first offered, binary preferred wherever offered", OFFER("base64, binary"), POL_FIRST, 101,
     NULL, "binary", ACCEPT},
    {"first offered, binary preferred (foo, binary)", OFFER("foo, binary"), POL_FIRST, 101, NULL,
     "binary", ACCEPT},
    {"first offered, letter case kept", OFFER("MQTT"), POL_FIRST, 101, NULL, "MQTT", ACCEPT},
    {"first offered, nothing offered", RL HOST UPG CONN KEY VER END, POL_FIRST, 101, NULL, NULL,
     ACCEPT},
    {"first offered, an empty header", OFFER(""), POL_FIRST, 101, NULL, NULL, ACCEPT},
    {"first offered, empty elements first", OFFER(" , ,\tmqtt ,"), POL_FIRST, 101, NULL, "mqtt",
     ACCEPT},
    {"first offered, no spaces", OFFER("a,b"), POL_FIRST, 101, NULL, "a", ACCEPT},
    {"first offered, tabs", OFFER("\tchat\t,\tsuperchat"), POL_FIRST, 101, NULL, "chat", ACCEPT},
    {"first offered, from the first line",
     RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: chat\r\n"
                              "Sec-WebSocket-Protocol: superchat\r\n" END,
     POL_FIRST, 101, NULL, "chat", ACCEPT},
    {"first offered, binary on a later line still preferred",
     RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: chat\r\n"
                              "Sec-WebSocket-Protocol: binary\r\n" END,
     POL_FIRST, 101, NULL, "binary", ACCEPT},
    {"first offered, an empty first line",
     RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol:\r\n"
                              "Sec-WebSocket-Protocol: binary\r\n" END,
     POL_FIRST, 101, NULL, "binary", ACCEPT},
    {"first offered, a name of the longest length", OFFER(NAME_MAX_BYTES ", b"), POL_FIRST, 101,
     NULL, NAME_MAX_BYTES, ACCEPT},
    {"first offered, a name too long is passed over", OFFER(NAME_TOO_LONG ", mqtt"), POL_FIRST, 101,
     NULL, "mqtt", ACCEPT},
    {"first offered, only names too long", OFFER(NAME_TOO_LONG ", " NAME_TOO_LONG), POL_FIRST, 400,
     "subprotocol", NULL, NULL},
    {"first offered, a bad name", OFFER("mqtt, a b"), POL_FIRST, 400, "Sec-WebSocket-Protocol",
     NULL, NULL},
    {"first offered, a bad name first", OFFER("\"mqtt\", mqtt"), POL_FIRST, 400,
     "Sec-WebSocket-Protocol", NULL, NULL},
    {"first offered, an empty list too", OFFER("mqtt"), POL_FIRST_EMPTY, 101, NULL, "mqtt", ACCEPT},
    {"first offered, a list still rules", OFFER("chat, binary"), POL_FIRST_VNC, 101, NULL,
     "binary", ACCEPT},
    {"first offered, a list still refuses", OFFER("chat"), POL_FIRST_VNC, 400, "subprotocol", NULL,
     NULL},
    {"first offered, a bad key first", KEYED("x"), POL_FIRST, 400, "Key", NULL, NULL},
};

#define TEST_N_CASES (sizeof(test_cases) / sizeof(test_cases[0]))

/* Parses <text> into <r> in the chunks of FEED_MODES entry <mode>; it must be complete. */
static void test_handshake_parse(struct http_req *r, const char *text, int mode)
{
    const uint8_t *in = (const uint8_t *)text;
    enum http_req_result res = HTTP_REQ_MORE;
    size_t len = strlen(text), off = 0, n, used;
    struct feed f;

    feed_init(&f, mode);
    ck_assert_int_eq(http_req_init(r, NULL), 0);
    while (off < len && res == HTTP_REQ_MORE) {
        n = feed_chunk(&f, len - off);
        res = http_req_feed(r, in + off, n, &used);
        off += n;
    }
    ck_assert_msg(res == HTTP_REQ_DONE, "request not parsed: %d %s", r->status,
                  r->error ? r->error : "");
}

START_TEST(test_handshake_check_cases)
{
    const struct hs_case *c = &test_cases[_i];
    const struct handshake_policy *pol = &test_policies[c->policy];
    struct handshake_result res;
    struct http_req r;
    size_t j;
    int mode;

    for (mode = 0; mode < FEED_MODES; mode++) {
        test_handshake_parse(&r, c->request, mode);
        memset(&res, 0xa5, sizeof(res));
        handshake_check(&r, c->policy == POL_NONE ? NULL : pol, &res);
        http_req_free(&r); /* the choice must not point into the request */
        ck_assert_msg(res.status == c->status, "%s: status %d, want %d (%s)", c->name, res.status,
                      c->status, res.status == 101 ? "" : res.error);
        if (c->status == 101) {
            ck_assert_str_eq(res.accept, c->accept);
            if (c->subprotocol == NULL) {
                ck_assert_msg(res.subprotocol == NULL, "%s: chose %s", c->name, res.subprotocol);
            } else {
                ck_assert_msg(res.subprotocol != NULL &&
                                  strcmp(res.subprotocol, c->subprotocol) == 0,
                              "%s: chose %s, want %s", c->name,
                              res.subprotocol ? res.subprotocol : "none", c->subprotocol);
                /* the choice is the policy's own string, or a copy in <res>: either way
                 * it outlives the request */
                for (j = 0; j < pol->n_subprotocols; j++)
                    if (strcmp(pol->subprotocols[j], c->subprotocol) == 0)
                        ck_assert_ptr_eq(res.subprotocol, pol->subprotocols[j]);
                if (pol->n_subprotocols == 0 && pol->mode == HANDSHAKE_SUBPROTO_FIRST_OFFERED &&
                    strcmp(c->subprotocol, "binary") != 0)
                    ck_assert_ptr_eq(res.subprotocol, res.offered);
                else if (pol->n_subprotocols == 0)
                    ck_assert_str_eq(res.subprotocol, "binary");
            }
        } else {
            ck_assert_ptr_nonnull(res.error);
            ck_assert_msg(strstr(res.error, c->error) != NULL, "%s: reason \"%s\" lacks \"%s\"",
                          c->name, res.error, c->error);
            ck_assert_ptr_null(res.subprotocol);
            ck_assert_str_eq(res.accept, "");
        }
    }
}
END_TEST

static const struct {
    const char *request;
    bool upgrade;
} test_upgrades[] = {
    {RL HOST UPG CONN KEY VER END, true},
    {RL HOST "Upgrade: WebSocket\r\n" END, true},
    {RL HOST "upgrade: h2c, websocket\r\n" END, true},
    {RL HOST "Upgrade: h2c\r\nUpgrade: websocket\r\n" END, true},
    {"POST / HTTP/1.1\r\nUpgrade: websocket\r\n" END, true},
    {RL HOST "Upgrade: h2c\r\n" END, false},
    {RL HOST "Upgrade: websockets\r\n" END, false},
    {RL HOST "Upgrade:\r\n" END, false},
    {RL HOST "X-Upgrade: websocket\r\n" END, false},
    {RL HOST CONN END, false},
    {RL HOST END, false},
};

START_TEST(test_handshake_is_upgrade)
{
    struct http_req r;

    test_handshake_parse(&r, test_upgrades[_i].request, 0);
    ck_assert_msg(handshake_is_upgrade(&r) == test_upgrades[_i].upgrade, "row %d", _i);
    http_req_free(&r);
}
END_TEST

static const struct {
    const char *key;
    size_t len;
    int ret;
    const char *accept;
} test_keys[] = {
    {"dGhlIHNhbXBsZSBub25jZQ==", 24, 0, ACCEPT},
    {"x3JJHMbDL1EzLkh9GBhXDw==", 24, 0, "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
    {"", 0, 0, "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w="},
    {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 64, 0,
     "CNVCgqrOv9cq/hZteEmJXitx+cU="},
    {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 65, -1, NULL},
    /* only <key_len> bytes count */
    {"dGhlIHNhbXBsZSBub25jZQ==trailing", 24, 0, ACCEPT},
};

START_TEST(test_handshake_accept_key)
{
    char out[HANDSHAKE_ACCEPT_LEN + 1];
    EVP_MD *sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);

    ck_assert_ptr_nonnull(sha1);
    /* The same answer with the digest looked up on each call and with one fetched once. */
    for (int pass = 0; pass < 2; pass++) {
        memset(out, 'x', sizeof(out));
        ck_assert_int_eq(handshake_accept_key(test_keys[_i].key, test_keys[_i].len,
                                              pass == 0 ? NULL : sha1, out),
                         test_keys[_i].ret);
        if (test_keys[_i].ret == 0) {
            ck_assert_uint_eq(strlen(out), HANDSHAKE_ACCEPT_LEN);
            ck_assert_str_eq(out, test_keys[_i].accept);
        }
    }
    EVP_MD_free(sha1);
}
END_TEST

static Suite *test_handshake_suite(void)
{
    Suite *s = suite_create("handshake");
    TCase *tc = tcase_create("handshake");

    tcase_add_loop_test(tc, test_handshake_check_cases, 0, (int)TEST_N_CASES);
    tcase_add_loop_test(tc, test_handshake_is_upgrade, 0,
                        (int)(sizeof(test_upgrades) / sizeof(test_upgrades[0])));
    tcase_add_loop_test(tc, test_handshake_accept_key, 0,
                        (int)(sizeof(test_keys) / sizeof(test_keys[0])));
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_handshake_suite)
