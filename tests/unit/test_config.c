/*
 * test_config.c - unit tests for the config reader (config.c and its pieces): every error
 * class with its exact "FILE:LINE:COL: message" (one file per case in
 * tests/unit/data/config, whose first line "# expect: ..." holds the line, plus inline
 * cases), defaults, per-route overrides, auth files read by config_load_files and never by
 * config_parse, the shipped etc/wsbridge.yaml, and truncated or mutated input that must
 * fail cleanly. Files are found under $WSB_SRCDIR (default ".").
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "basicauth.h"
#include "check_main.h"
#include "config.h"
#include "netlist.h"
#include "redisurl.h"

#define DATA_DIR "tests/unit/data/config"
#define DATA_FILES_MAX 256
#define DATA_FILES_MIN 60 /* fewer means the folder was not found or lost files */

static char *data_files[DATA_FILES_MAX];
static size_t n_data_files;

static const char *test_config_srcdir(void)
{
    const char *d = getenv("WSB_SRCDIR");
    return d != NULL && d[0] != '\0' ? d : ".";
}

/* ---- data files: "# expect: NAME:LINE:COL: message" or "# expect: ok" ---- */

static int test_config_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_config_data_scan(void)
{
    char dir[PATH_MAX];
    struct dirent *de;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/%s", test_config_srcdir(), DATA_DIR);
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL && n_data_files < DATA_FILES_MAX) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0)
            data_files[n_data_files++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(data_files, n_data_files, sizeof(data_files[0]), test_config_name_cmp);
}

START_TEST(test_config_data_found)
{
    ck_assert_msg(n_data_files >= DATA_FILES_MIN, "%zu files in %s/%s", n_data_files,
                  test_config_srcdir(), DATA_DIR);
}
END_TEST

/* Loads <path> as the daemon does (runconf_load, before the TLS files and the web root):
 * the route file, then the files its keys name. */
static struct config *test_config_load_all(const char *path, char *err, size_t err_len)
{
    struct config *c = config_load(path, err, err_len);

    if (c != NULL && config_load_files(c, err, err_len) != 0) {
        config_free(c);
        return NULL;
    }
    return c;
}

START_TEST(test_config_data_file)
{
    static const char expect[] = "# expect: ";
    const size_t expect_len = sizeof(expect) - 1;
    const char *name = data_files[_i];
    char path[PATH_MAX], line[512], want[PATH_MAX + 512], err[512] = "";
    struct config *c;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", test_config_srcdir(), DATA_DIR, name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    ck_assert_msg(fgets(line, sizeof(line), f) != NULL, "%s is empty", name);
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    ck_assert_msg(strncmp(line, expect, expect_len) == 0, "%s: no \"%s\" line", name, expect);

    c = test_config_load_all(path, err, sizeof(err));
    if (strcmp(line + expect_len, "ok") == 0) {
        ck_assert_msg(c != NULL, "%s", err);
        config_free(c);
        return;
    }
    ck_assert_msg(c == NULL, "%s loaded, expected: %s", name, line + expect_len);
    /* the message names the file as given: the folder, then what the comment says */
    snprintf(want, sizeof(want), "%s/%s/%s", test_config_srcdir(), DATA_DIR, line + expect_len);
    ck_assert_str_eq(err, want);
}
END_TEST

/* ---- inline error cases ---- */

struct error_case {
    const char *yaml;
    size_t len; /* 0: strlen(yaml) */
    const char *err;
};

#define ROUTE_ECHO "routes: [ { path: /echo, target: echo } ]\n"

static const struct error_case error_cases[] = {
    {"", 0, "t.yaml:1:1: empty configuration"},
    {"# nothing\n\n", 0, "t.yaml:1:1: empty configuration"},
    {"---\n", 0, "t.yaml:1:1: empty configuration"},
    {"~\n", 0, "t.yaml:1:1: empty configuration"},
    {"{}\n", 0, "t.yaml:1:1: nothing to serve: add \"routes\" or \"web_root\""},
    {"\"listen\"\n", 0,
     "t.yaml:1:1: the top level must be a mapping of keys, like \"listen: ...\""},
    {"web_root: \"a\\0b\"\n", 0, "t.yaml:1:11: NUL characters are not allowed"},
    {"web_root: a\0b\n", 13, "t.yaml:1:12: control characters are not allowed (0x00)"},
    {"web_root: www\x01\n", 0, "t.yaml:1:14: control characters are not allowed (0x01)"},
    {"routes:\r\n  - { path: /echo, target: \"b c:1\" }\r\n", 0,
     "t.yaml:2:28: bad address \"b c:1\": space in host name"},
    {"routes: [ { path: /e, target: \"a\\tb:1\" } ]\n", 0,
     "t.yaml:1:31: bad address \"a?b:1\": bad character 0x09 in host name"},
    {"\xef\xbb\xbfweb_root: w\nlisen: x\n", 0,
     "t.yaml:2:1: unknown key \"lisen\" (did you mean \"listen\"?)"},
    {ROUTE_ECHO "target: echo\n", 0, "t.yaml:2:1: unknown key \"target\""},
    {ROUTE_ECHO "conect_timeout: 1s\n", 0,
     "t.yaml:2:1: unknown key \"conect_timeout\" (did you mean \"connect_timeout\"?)"},
    {ROUTE_ECHO "high_watermarks: 1MiB\n", 0,
     "t.yaml:2:1: unknown key \"high_watermarks\" (did you mean \"high_watermark\"?)"},
    {ROUTE_ECHO "Listen: x\n", 0, "t.yaml:2:1: unknown key \"Listen\" (did you mean \"listen\"?)"},
    {ROUTE_ECHO "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: 1\n",
     0,
     "t.yaml:2:1: unknown key "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""},
    {ROUTE_ECHO "\"a\\nb\": 1\n", 0, "t.yaml:2:1: unknown key \"a?b\""},
    {"routes: [ { path: /e, target: echo, frame: text } ]\n", 0,
     "t.yaml:1:37: unknown key \"frame\" (did you mean \"frames\"?)"},
    {"routes: [ { path: /e, target: echo, max_frames: 1 } ]\n", 0,
     "t.yaml:1:37: unknown key \"max_frames\" (did you mean \"max_frame\"?)"},
    {"routes: [ { path: /e, target: echo, idle_timeout: 0s, idle_timeout: 1s } ]\n", 0,
     "t.yaml:1:55: duplicate key \"idle_timeout\" (first at line 1)"},
    {ROUTE_ECHO "heartbeat: { interval: 1s,\n  interval: 2s }\n", 0,
     "t.yaml:3:3: duplicate key \"heartbeat.interval\" (first at line 2)"},
    {ROUTE_ECHO "heartbeat: { interval: 1s }\nheartbeat: { timeout: 1s }\n", 0,
     "t.yaml:3:1: duplicate key \"heartbeat\" (first at line 2)"},
    {ROUTE_ECHO "heartbeat: { interval: 1 }\n", 0,
     "t.yaml:2:24: duration \"1\" needs a unit: ms, s, m or h"},
    {ROUTE_ECHO "heartbeat: { interval: ~ }\n", 0,
     "t.yaml:2:24: \"heartbeat.interval\" has no value"},
    {ROUTE_ECHO "heartbeat: { interval: [] }\n", 0,
     "t.yaml:2:24: \"heartbeat.interval\" must be a duration, like 30s"},
    {ROUTE_ECHO "heartbeat: []\n", 0,
     "t.yaml:2:12: \"heartbeat\" must be a mapping, like { interval: 30s, timeout: 10s }"},
    {ROUTE_ECHO "connect_timeout: 0\n", 0, "t.yaml:2:18: \"connect_timeout\" must be more than 0"},
    {ROUTE_ECHO "close_timeout: 0ms\n", 0, "t.yaml:2:16: \"close_timeout\" must be more than 0"},
    {ROUTE_ECHO "shutdown_timeout: 0\n", 0,
     "t.yaml:2:19: \"shutdown_timeout\" must be more than 0"},
    {ROUTE_ECHO "max_request_head: 1MiB1\n", 0,
     "t.yaml:2:19: bad size \"1MiB1\": unknown unit \"MiB1\" (use B, KiB, MiB, GiB, KB, MB or GB)"},
    {ROUTE_ECHO "max_request_head: {}\n", 0,
     "t.yaml:2:19: \"max_request_head\" must be a size, like 64KiB"},
    {ROUTE_ECHO "high_watermark: 4KiB\nlow_watermark: 5000\n", 0,
     "t.yaml:2:17: \"high_watermark\" (4KiB) must be above \"low_watermark\" (5000B)"},
    {ROUTE_ECHO "idle_timeout: s\n", 0,
     "t.yaml:2:15: bad duration \"s\": expected a number and a unit, like 30s"},
    {"routes: [ { path: /e, target: echo, connect_timeout: 0 } ]\n", 0,
     "t.yaml:1:54: \"connect_timeout\" must be more than 0"},
    {"routes: [ { path: /e, target: echo, subprotocols: [ [] ] } ]\n", 0,
     "t.yaml:1:53: \"subprotocols\" must be a token or a list of tokens"},
    {"routes: [ { path: /e, target: echo, subprotocols: { a: b } } ]\n", 0,
     "t.yaml:1:51: \"subprotocols\" must be a token or a list of tokens"},
    {"routes: [ { path: /e, target: echo, subprotocols: \"\" } ]\n", 0,
     "t.yaml:1:51: subprotocol \"\" is not a token (RFC 7230: letters, digits and "
     "!#$%&'*+-.^_`|~)"},
    {"routes: [ { path: /e, target: echo, subprotocols: \"a,b\" } ]\n", 0,
     "t.yaml:1:51: subprotocol \"a,b\" is not a token (RFC 7230: letters, digits and "
     "!#$%&'*+-.^_`|~)"},
    {"routes: [ { path: /e, target: echo, frames: [ text ] } ]\n", 0,
     "t.yaml:1:45: \"frames\" must be binary or text"},
    {"routes: [ { path: /e, target: echo, frames: Text } ]\n", 0,
     "t.yaml:1:45: \"frames\" must be binary or text, not \"Text\""},
    {"routes: [ { path: [ /e ], target: echo } ]\n", 0,
     "t.yaml:1:19: \"path\" must be a string, like /echo"},
    {"routes: [ { path: \"\", target: echo } ]\n", 0,
     "t.yaml:1:19: route path \"\" must start with \"/\""},
    {"routes: [ { path: \"/a#b\", target: echo } ]\n", 0,
     "t.yaml:1:19: route path \"/a#b\" must not contain \"?\" or \"#\""},
    {"routes: [ { path: \"/a\\x7f\", target: echo } ]\n", 0,
     "t.yaml:1:19: route path \"/a?\" has a space or control character"},
    {"routes: [ { path: \"/*/\", target: echo } ]\n", 0,
     "t.yaml:1:19: route path \"/*/\": \"*\" is only allowed at the end, after \"/\", as in "
     "\"/vnc/*\""},
    {"routes: [ { path: \"/**\", target: echo } ]\n", 0,
     "t.yaml:1:19: route path \"/**\": \"*\" is only allowed at the end, after \"/\", as in "
     "\"/vnc/*\""},
    {"routes: [ { path: \"*\", target: echo } ]\n", 0,
     "t.yaml:1:19: route path \"*\" must start with \"/\""},
    {"routes: [ { path: /*, target: echo }, { path: /*, target: echo } ]\n", 0,
     "t.yaml:1:47: duplicate route path \"/*\" (first at line 1)"},
    {"routes: [ { path: /e, target: \"echo:0\" } ]\n", 0,
     "t.yaml:1:31: bad address \"echo:0\": port must be 1..65535"},
    {"routes: [ { path: /e, target: \"[::1]:5901\" }, { path: /f, target: \"::1:5901\" } ]\n", 0,
     "t.yaml:1:67: bad address \"::1:5901\": IPv6 addresses need brackets: \"[::1]:5901\""},
    {"routes: [ { path: /e, target: \"tls://echo\" } ]\n", 0,
     "t.yaml:1:31: bad address \"tls://echo\": \"echo\" is built in and takes no tls://"},
    {"routes: [ { path: /e, target: } ]\n", 0, "t.yaml:1:31: \"target\" has no value"},
    {"routes: [ { path: /e } ]\n", 0,
     "t.yaml:1:11: route has no \"target\" (or \"tokens\", a websockify token file or folder)"},
    {"routes: [ {} ]\n", 0, "t.yaml:1:11: route has no \"path\""},
    {"routes: [ ~ ]\n", 0,
     "t.yaml:1:11: each route must be a mapping, like { path: /echo, target: echo }"},
    {"routes: {}\n", 0, "t.yaml:1:9: \"routes\" must be a list of routes"},
    {"routes: []\nweb_root: ~\n", 0, "t.yaml:2:11: \"web_root\" has no value"},
    {"listen: ''\n" ROUTE_ECHO, 0, "t.yaml:1:9: bad address \"\": empty address"},
    {"listen: [ ~ ]\n" ROUTE_ECHO, 0,
     "t.yaml:1:11: \"listen\" must be a string or a list of strings"},
    {"listen: [ \"[::1]:8080\", \"[::1]:8080\" ]\n" ROUTE_ECHO, 0,
     "t.yaml:1:25: listen address \"[::1]:8080\" is listed twice"},
    {"? \n: x\n", 0, "t.yaml:1:2: keys must be plain names, like \"listen\""},
    {"a: &x 1\nb: *x\n", 0, "t.yaml:1:4: YAML anchors are not supported"},
    {"web_root: *x\n", 0, "t.yaml:1:11: YAML aliases are not supported"},
    {"<<: *x\n", 0, "t.yaml:1:5: YAML aliases are not supported"},
    {ROUTE_ECHO "...\n---\n" ROUTE_ECHO, 0, "t.yaml:3:1: only one YAML document is allowed"},
    {ROUTE_ECHO "--- x\n", 0, "t.yaml:2:1: only one YAML document is allowed"},
    {"routes: [ { path: /e, target: echo } \n", 0,
     "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence started at "
     "line 1)"},
    {"web_root: \"abc\n", 0,
     "t.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar started at "
     "line 1)"},
    {"web_root: w\n\tlisten: x\n", 0,
     "t.yaml:2:1: found a tab character that violates indentation (while scanning a plain "
     "scalar started at line 1)"},
    {"web_root: w\nweb_root x\n", 0,
     "t.yaml:3:1: could not find expected ':' (while scanning a simple key started at line 2)"},
    {"a: b: c\n", 0, "t.yaml:1:5: mapping values are not allowed in this context"},
    {"%YAML 2.0\n---\na: b\n", 0, "t.yaml:1:1: found incompatible YAML document"},
    {"web_root: \xc3\n", 0, "t.yaml:1:12: invalid trailing UTF-8 octet (0x0a)"},
    {ROUTE_ECHO "max_connections: -1\n", 0,
     "t.yaml:2:18: \"max_connections\" must be a whole number (0: no limit), not \"-1\""},
    {ROUTE_ECHO "max_connections_per_ip: 10k\n", 0,
     "t.yaml:2:25: \"max_connections_per_ip\" must be a whole number (0: no limit), not \"10k\""},
    {ROUTE_ECHO "max_pending_per_ip: x\n", 0,
     "t.yaml:2:21: \"max_pending_per_ip\" must be a whole number (0: no limit), not \"x\""},
    {ROUTE_ECHO "per_ip_prefix_v6: 0\n", 0,
     "t.yaml:2:19: \"per_ip_prefix_v6\" must be between 1 and 128"},
    {ROUTE_ECHO "per_ip_prefix_v6: /64\n", 0,
     "t.yaml:2:19: \"per_ip_prefix_v6\" must be a whole number, not \"/64\""},
    {ROUTE_ECHO "fd_reserve: -1\n", 0,
     "t.yaml:2:13: \"fd_reserve\" must be a whole number (0: no limit), not \"-1\""},
    {ROUTE_ECHO "workers: 0\n", 0,
     "t.yaml:2:10: \"workers\" must be auto or a whole number from 1 to 64, not \"0\""},
    {ROUTE_ECHO "workers: 65\n", 0,
     "t.yaml:2:10: \"workers\" must be auto or a whole number from 1 to 64, not \"65\""},
    {ROUTE_ECHO "workers: many\n", 0,
     "t.yaml:2:10: \"workers\" must be auto or a whole number from 1 to 64, not \"many\""},
    {ROUTE_ECHO "workers: -2\n", 0,
     "t.yaml:2:10: \"workers\" must be auto or a whole number from 1 to 64, not \"-2\""},
    {ROUTE_ECHO "workers: [ 2 ]\n", 0,
     "t.yaml:2:10: \"workers\" must be auto or a whole number, like 4"},
    {ROUTE_ECHO "max_connections: 4294967296\n", 0,
     "t.yaml:2:18: \"max_connections\" is too large: at most 4294967295"},
    {"routes: [ { path: /e, target: echo, max_connections: [] } ]\n", 0,
     "t.yaml:1:54: \"max_connections\" must be a whole number, like 100"},
    {"routes: [ { path: /e, target: echo, origins: [ \"https://a.example\", \"ftp:x\" ] } ]\n", 0,
     "t.yaml:1:69: origin pattern 2 \"ftp:x\": expected scheme://host[:port]"},
    {"routes: [ { path: /e, target: echo, origins: [] } ]\n", 0,
     "t.yaml:1:46: \"origins\" must not be an empty list"},
    {"hosts: []\nroutes: [ { path: /e, target: echo } ]\n", 0,
     "t.yaml:1:8: \"hosts\" must not be an empty list"},
    {"hosts: { a: b }\nroutes: [ { path: /e, target: echo } ]\n", 0,
     "t.yaml:1:8: \"hosts\" must be a host name or a list of them, like [ app.example.com, "
     "\"*.example.com\" ]"},
    {"hosts: \"http://a.example\"\nroutes: [ { path: /e, target: echo } ]\n", 0,
     "t.yaml:1:8: host 1 \"http://a.example\": a host name is written alone, without a scheme"},
    {"auth_threads: 17\nroutes: [ { path: /e, target: echo } ]\n", 0,
     "t.yaml:1:15: \"auth_threads\" must be between 1 and 16"},
    {"routes: [ { path: /e, target: echo, allow_no_origin: yes } ]\n", 0,
     "t.yaml:1:54: \"allow_no_origin\" must be true or false, not \"yes\""},
    {"routes: [ { path: /e, target: echo, allow: [ 10.0.0.0/8, 10.0.0.1/8 ] } ]\n", 0,
     "t.yaml:1:58: network \"10.0.0.1/8\": host bits are set after the prefix length (did "
     "you mean 10.0.0.0/8?)"},
    {"routes: [ { path: /e, target: echo, deny: \"::1/129\" } ]\n", 0,
     "t.yaml:1:43: network \"::1/129\": prefix length above 128"},
    {ROUTE_ECHO "trusted_proxies: []\n", 0, "t.yaml:2:18: \"trusted_proxies\" must not be an empty list"},
    {ROUTE_ECHO "trusted_proxies: [ 10.0.0.5/32, 10.0.0.1/8 ]\n", 0,
     "t.yaml:2:33: network \"10.0.0.1/8\": host bits are set after the prefix length (did "
     "you mean 10.0.0.0/8?)"},
    {"routes: [ { path: /e, target: echo, send_proxy: v2 } ]\n", 0,
     "t.yaml:1:37: \"send_proxy\" needs a target that reads it; the built-in echo would echo "
     "the header"},
    {"routes: [ { path: /e, target: \"127.0.0.1:9\", send_proxy: yes } ]\n", 0,
     "t.yaml:1:58: \"send_proxy\" must be off, v1 or v2, not \"yes\""},
    {"routes: [ { path: /e, target: echo, deny: { a: b } } ]\n", 0,
     "t.yaml:1:43: \"deny\" must be a network or a list of networks, like [ 10.0.0.0/8, "
     "\"::1/128\" ]"},
    {"routes: [ { path: /e, target: echo, auth_file: \"\" } ]\n", 0,
     "t.yaml:1:48: \"auth_file\" must not be empty"},
    {"routes: [ { path: /e, target: echo, auth_realm: \"a\\\"b\" } ]\n", 0,
     "t.yaml:1:49: \"auth_realm\" must not contain quotes, backslashes or control characters"},
    {ROUTE_ECHO "admin: \"127.0.0.1:9090\"\n", 0,
     "t.yaml:2:8: \"admin\" must be a mapping, like { listen: \"127.0.0.1:9090\" }"},
    {ROUTE_ECHO "admin: { listen: ~ }\n", 0, "t.yaml:2:18: \"admin.listen\" has no value"},
    {ROUTE_ECHO "admin: { listen: [ \"127.0.0.1:1\" ] }\n", 0,
     "t.yaml:2:18: \"admin.listen\" must be a string, like \"127.0.0.1:9090\""},
    {ROUTE_ECHO "admin: { listen: \"tls://127.0.0.1:9090\" }\n", 0,
     "t.yaml:2:18: \"admin.listen\" takes no tls://: the admin endpoint speaks plain HTTP "
     "(keep it on a loopback or private address)"},
    {ROUTE_ECHO "admin: { listen: echo }\n", 0,
     "t.yaml:2:18: bad address \"echo\": \"echo\" is a target, not an address to listen on"},
    {ROUTE_ECHO "admin: { listen: \"127.0.0.1:0\" }\n", 0,
     "t.yaml:2:18: bad address \"127.0.0.1:0\": port must be 1..65535"},
    {ROUTE_ECHO "admin: { listen: \"[::1]:9\", lisen: x }\n", 0,
     "t.yaml:2:29: unknown key \"lisen\" (did you mean \"listen\"?)"},
    {ROUTE_ECHO "listen: [ \"127.0.0.1:1\", \"[::1]:9090\" ]\nadmin: { listen: \"[::1]:9090\" }\n",
     0,
     "t.yaml:3:18: \"admin.listen\" is also a \"listen\" address: give the admin endpoint a "
     "port of its own"},
    {ROUTE_ECHO "admin: { listen: \"127.0.0.1:8080\" }\n", 0,
     "t.yaml:2:18: \"admin.listen\" is also a \"listen\" address: give the admin endpoint a "
     "port of its own"},
    {ROUTE_ECHO "log: stderr\n", 0,
     "t.yaml:2:6: \"log\" must be a mapping, like { target: stderr, level: info, format: text }"},
    {ROUTE_ECHO "log: { level: loud }\n", 0,
     "t.yaml:2:15: \"log.level\" must be error, warn, info or debug, not \"loud\""},
    {ROUTE_ECHO "log: { level: INFO }\n", 0,
     "t.yaml:2:15: \"log.level\" must be error, warn, info or debug, not \"INFO\""},
    {ROUTE_ECHO "log: { target: journal }\n", 0,
     "t.yaml:2:16: \"log.target\" must be stderr, syslog or file, not \"journal\""},
    {ROUTE_ECHO "log: { format: [ json ] }\n", 0,
     "t.yaml:2:16: \"log.format\" must be text or json"},
    {ROUTE_ECHO "log: { format: xml }\n", 0,
     "t.yaml:2:16: \"log.format\" must be text or json, not \"xml\""},
    {ROUTE_ECHO "splice: on\n", 0, "t.yaml:2:9: \"splice\" must be auto or off, not \"on\""},
    {ROUTE_ECHO "log: { target: file }\n", 0,
     "t.yaml:2:16: \"log.target: file\" needs \"log.file\", the file to write to"},
    {ROUTE_ECHO "log: { file: w.log }\n", 0,
     "t.yaml:2:8: \"log.file\" applies to \"target: file\" only; this log goes to stderr"},
    {ROUTE_ECHO "log: { target: syslog,\n  file: w.log }\n", 0,
     "t.yaml:3:3: \"log.file\" applies to \"target: file\" only; this log goes to syslog"},
    {ROUTE_ECHO "log: { target: file, file: \"\" }\n", 0,
     "t.yaml:2:28: \"log.file\" must not be empty"},
    {ROUTE_ECHO "log: { traffic: on }\n", 0,
     "t.yaml:2:17: \"log.traffic\" must be true or false, not \"on\""},
    {ROUTE_ECHO "log: { traffic: [ true ] }\n", 0,
     "t.yaml:2:17: \"log.traffic\" must be true or false"},
    {ROUTE_ECHO "log: { levl: info }\n", 0,
     "t.yaml:2:8: unknown key \"levl\" (did you mean \"level\"?)"},
    {ROUTE_ECHO "log: { level: info }\nlog: { level: warn }\n", 0,
     "t.yaml:3:1: duplicate key \"log\" (first at line 2)"},
    {ROUTE_ECHO "log: { level: info, level: warn }\n", 0,
     "t.yaml:2:21: duplicate key \"log.level\" (first at line 2)"},
    /* issue 14: Unix sockets, "mode", "tls.plain" */
    {ROUTE_ECHO "listen: { address: \"unix:/r/w.sock\", mode: [ 1 ] }\n", 0,
     "t.yaml:2:44: \"mode\" must be an octal file mode, like \"0660\""},
    {ROUTE_ECHO "listen: { address: \"unix:/r/w.sock\", mode: \"66\" }\n", 0,
     "t.yaml:2:44: \"mode\" must be 3 or 4 octal digits, like \"0660\", not \"66\""},
    {ROUTE_ECHO "listen: { address: \"unix:/r/w.sock\", mode: \"06600\" }\n", 0,
     "t.yaml:2:44: \"mode\" must be 3 or 4 octal digits, like \"0660\", not \"06600\""},
    {ROUTE_ECHO "listen: { address: \"unix:/r/w.sock\", mode: 0o660 }\n", 0,
     "t.yaml:2:44: \"mode\" must be 3 or 4 octal digits, like \"0660\", not \"0o660\""},
    {ROUTE_ECHO "listen: { address: \"unix:/r/w.sock\", mode: \"-660\" }\n", 0,
     "t.yaml:2:44: \"mode\" must be 3 or 4 octal digits, like \"0660\", not \"-660\""},
    {ROUTE_ECHO "listen: { address: \"unix:/r/w.sock\", mode: \"\" }\n", 0,
     "t.yaml:2:44: \"mode\" must be 3 or 4 octal digits, like \"0660\", not \"\""},
    {ROUTE_ECHO "listen: { address: \"unix:/r/w.sock\", mode: \"1777\" }\n", 0,
     "t.yaml:2:44: \"mode\" \"1777\": only the permission bits apply to a socket (0000 to "
     "0777)"},
    {ROUTE_ECHO "listen: { address: \"[::1]:80\", mode: \"0600\" }\n", 0,
     "t.yaml:2:32: \"mode\" applies to unix: listeners only, not to \"[::1]:80\""},
    {ROUTE_ECHO "listen: \"unix:/r/\"\n", 0,
     "t.yaml:2:9: bad address \"unix:/r/\": Unix socket path ends with \"/\" (a folder)"},
    {ROUTE_ECHO "listen: \"tls://unix:/r/w.sock\"\n", 0,
     "t.yaml:2:9: bad address \"tls://unix:/r/w.sock\": a Unix socket takes no tls://"},
    {ROUTE_ECHO "listen: [ \"unix:w.sock\", { address: \"unix:w.sock\", mode: \"0660\" } ]\n", 0,
     "t.yaml:2:37: listen address \"unix:w.sock\" is listed twice"},
    {"routes: [ { path: /u, target: \"unix:\" } ]\n", 0,
     "t.yaml:1:31: bad address \"unix:\": empty Unix socket path after \"unix:\""},
    {"routes: [ { path: /u, target: \"unix:/a\\u0001b\" } ]\n", 0,
     "t.yaml:1:31: bad address \"unix:/a?b\": control character in Unix socket path"},
    {ROUTE_ECHO "listen: { address: \"127.0.0.1:1\", tls: { cert: c, key: k, plain: ALLOW } }\n",
     0, "t.yaml:2:66: \"tls.plain\" must be refuse or allow, not \"ALLOW\""},
    {ROUTE_ECHO "listen: { address: \"127.0.0.1:1\", tls: { cert: c, key: k, plain: true } }\n",
     0, "t.yaml:2:66: \"tls.plain\" must be refuse or allow, not \"true\""},
    {ROUTE_ECHO "listen: { address: \"127.0.0.1:1\", plain: allow }\n", 0,
     "t.yaml:2:35: unknown key \"plain\""},
    {ROUTE_ECHO "listen: { address: \"127.0.0.1:1\", tls: { cert: c, key: k, "
                "ticket_key_rotation: 500ms } }\n",
     0, "t.yaml:2:80: \"tls.ticket_key_rotation\" must be at least 1s"},
};

START_TEST(test_config_error)
{
    const struct error_case *t = &error_cases[_i];
    size_t len = t->len != 0 ? t->len : strlen(t->yaml);
    char err[512] = "";
    struct config *c = config_parse("t.yaml", t->yaml, len, err, sizeof(err));

    ck_assert_msg(c == NULL, "case %d loaded", _i);
    ck_assert_str_eq(err, t->err);
}
END_TEST

/* Nesting is bounded: deep input is refused, never followed recursively without end. */
START_TEST(test_config_deep_nesting)
{
    char text[4096], err[256];
    size_t n = 0;

    n += (size_t)sprintf(text, "routes: ");
    for (int i = 0; i < 1000; i++)
        text[n++] = '[';
    ck_assert_ptr_null(config_parse("t.yaml", text, n, err, sizeof(err)));
    ck_assert_str_eq(err, "t.yaml:1:40: YAML nested more than 32 levels deep");
}
END_TEST

START_TEST(test_config_too_many_routes)
{
    size_t cap = 5000 * 40, n = 0;
    char *text = malloc(cap), err[256];

    ck_assert_ptr_nonnull(text);
    n += (size_t)snprintf(text, cap, "routes:\n");
    for (int i = 0; i < 4097; i++)
        n += (size_t)snprintf(text + n, cap - n, "  - { path: /r%d, target: echo }\n", i);
    ck_assert_ptr_null(config_parse("t.yaml", text, n, err, sizeof(err)));
    ck_assert_str_eq(err, "t.yaml:2:3: more than 4096 routes");
    free(text);
}
END_TEST

/* Lists have named limits: one entry past each is refused at the list. */
START_TEST(test_config_list_limits)
{
    char text[8192], err[256];
    size_t n = 0;

    n += (size_t)snprintf(text + n, sizeof(text) - n, "web_root: w\nlisten: [");
    for (int i = 1; i <= 65; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "\"127.0.0.1:%d\", ", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "]\n");
    ck_assert_ptr_null(config_parse("t.yaml", text, n, err, sizeof(err)));
    ck_assert_str_eq(err, "t.yaml:2:9: \"listen\" has more than 64 entries");

    n = (size_t)snprintf(text, sizeof(text), "routes: [ { path: /, target: echo, subprotocols: [");
    for (int i = 1; i <= 65; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "p%d, ", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "] } ]\n");
    ck_assert_ptr_null(config_parse("t.yaml", text, n, err, sizeof(err)));
    ck_assert_str_eq(err, "t.yaml:1:50: \"subprotocols\" has more than 64 entries");

    /* exactly at the limits: accepted */
    n = (size_t)snprintf(text, sizeof(text), "routes: [ { path: /, target: echo, subprotocols: [");
    for (int i = 1; i <= 64; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "p%d, ", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "] } ]\nlisten: [");
    for (int i = 1; i <= 64; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "\"127.0.0.1:%d\", ", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "]\n");
    struct config *c = config_parse("t.yaml", text, n, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->n_listen, 64);
    ck_assert_uint_eq(c->routes[0].n_subprotocols, 64);
    config_free(c);
}
END_TEST

/* The message is cut to the caller's buffer and stays NUL-terminated; no buffer is fine. */
START_TEST(test_config_err_buffer)
{
    char err[12];

    memset(err, 'x', sizeof(err));
    ck_assert_ptr_null(config_parse("t.yaml", "lisen: x\n", 9, err, sizeof(err)));
    ck_assert_str_eq(err, "t.yaml:1:1:");
    ck_assert_ptr_null(config_parse("t.yaml", "lisen: x\n", 9, NULL, 0));
    ck_assert_ptr_null(config_parse(NULL, NULL, 0, err, sizeof(err)));
    ck_assert_str_eq(err, "-:1:1: empt");
}
END_TEST

START_TEST(test_config_load_errors)
{
    char path[PATH_MAX], err[PATH_MAX + 64], want[PATH_MAX + 64];
    char dir[] = "/tmp/test_config.XXXXXX";
    FILE *f;

    ck_assert_ptr_null(config_load("/nonexistent/wsbridge.yaml", err, sizeof(err)));
    ck_assert_str_eq(err, "/nonexistent/wsbridge.yaml: No such file or directory");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_null(config_load(dir, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: Is a directory", dir);
    ck_assert_str_eq(err, want);

    /* a file past the size limit: comments only, so only the limit can refuse it */
    snprintf(path, sizeof(path), "%s/big.yaml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("web_root: w\n", f);
    for (int i = 0; i < 20000; i++)
        fputs("# padding padding padding padding padding padding padding padding\n", f);
    fclose(f);
    ck_assert_ptr_null(config_load(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
    ck_assert_str_eq(err, want);
    unlink(path);
    rmdir(dir);
    ck_assert_ptr_null(config_load(NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "-: no configuration file");
}
END_TEST

static struct config *test_config_parse_ok(const char *name, const char *yaml);

/* Writes <text> to <dir>/<name>. */
static void test_config_write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* config_parse reads no file: an auth_file is only named, and config_load_files reads
 * it later, with the messages config_parse gave before (FILE:LINE:COL of the route, then
 * the auth file as written, or as joined when it cannot be read). */
START_TEST(test_config_load_files)
{
    static const char missing[] =
        "routes: [ { path: /e, target: echo, auth_file: no-such-file } ]\n";
    char dir[] = "/tmp/test_config.XXXXXX", name[PATH_MAX], yaml[1024], path[PATH_MAX];
    char err[2 * PATH_MAX + 512], want[2 * PATH_MAX + 512], users[512];
    struct crypt_data cd;
    struct config *c;
    int fd;

    /* a file that does not exist parses: nothing is opened */
    c = test_config_parse_ok("t.yaml", missing);
    ck_assert_str_eq(c->routes[0].auth_file, "no-such-file");
    ck_assert_str_eq(c->routes[0].auth_file_name, "no-such-file");
    ck_assert_uint_eq(c->routes[0].users->n, 0); /* until it is read: nobody gets in */
    ck_assert_int_eq(basicauth_check(c->routes[0].users, "Basic YWxpY2U6cHc=", NULL, 0),
                     BASICAUTH_DENIED); /* "alice:pw" */
    ck_assert_int_eq(config_load_files(c, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "t.yaml:1:11: no-such-file: No such file or directory");
    config_free(c);

    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&cd, 0, sizeof(cd));
    snprintf(users, sizeof(users), "# users\nalice:%s\n", crypt_r("pw", "$6$saltsalt$", &cd));
    test_config_write_file(dir, "users", users);
    test_config_write_file(dir, "bad", "alice:plain\n");
    snprintf(name, sizeof(name), "%s/t.yaml", dir);

    /* relative to the config's folder, through $CREDENTIALS_DIRECTORY, or none */
    snprintf(yaml, sizeof(yaml),
             "routes:\n"
             "  - { path: /a, target: echo, auth_file: users }\n"
             "  - { path: /b, target: echo }\n"
             "  - { path: /c, target: echo, auth_file: $CREDENTIALS_DIRECTORY/users }\n");
    c = config_parse_env(name, yaml, strlen(yaml), dir, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    snprintf(path, sizeof(path), "%s/users", dir);
    ck_assert_str_eq(c->routes[0].auth_file, path);
    ck_assert_str_eq(c->routes[0].auth_file_name, "users");
    ck_assert_str_eq(c->routes[2].auth_file, path);
    ck_assert_str_eq(c->routes[2].auth_file_name, "$CREDENTIALS_DIRECTORY/users");
    ck_assert_ptr_null(c->routes[1].auth_file_name);
    ck_assert_int_eq(config_load_files(c, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(c->routes[0].users->n, 1);
    ck_assert_str_eq(c->routes[0].users->items[0].name, "alice");
    ck_assert_ptr_null(c->routes[1].users);
    ck_assert_uint_eq(c->routes[2].users->n, 1);
    /* again (a second call replaces what the first read) */
    ck_assert_int_eq(config_load_files(c, err, sizeof(err)), 0);
    ck_assert_uint_eq(c->routes[2].users->n, 1);
    config_free(c);

    /* a bad line: the route's place, then the file as written and the line */
    snprintf(yaml, sizeof(yaml),
             "routes:\n"
             "  - { path: /a, target: echo, auth_file: users }\n"
             "  - { path: /c, target: echo, auth_file: $CREDENTIALS_DIRECTORY/bad }\n");
    c = config_parse_env(name, yaml, strlen(yaml), dir, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(config_load_files(c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "%s:3:5: $CREDENTIALS_DIRECTORY/bad:1: user \"alice\": the password is not hashed "
             "(plain text or DES crypt); store a yescrypt, SHA-512 or bcrypt hash (mkpasswd -m "
             "yescrypt, htpasswd -B)",
             name);
    ck_assert_str_eq(err, want);
    ck_assert_uint_eq(c->routes[0].users->n, 1); /* read before the failure; freed with c */
    config_free(c);

    /* a folder, and a file past the size limit: named as joined */
    snprintf(yaml, sizeof(yaml), "routes: [ { path: /a, target: echo, auth_file: \".\" } ]\n");
    c = config_parse(name, yaml, strlen(yaml), err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(config_load_files(c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1:11: %s/.: Is a directory", name, dir);
    ck_assert_str_eq(err, want);
    config_free(c);
    snprintf(path, sizeof(path), "%s/big", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (8 << 20) + 1), 0);
    close(fd);
    snprintf(yaml, sizeof(yaml), "routes: [ { path: /a, target: echo, auth_file: big } ]\n");
    c = config_parse(name, yaml, strlen(yaml), err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(config_load_files(c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1:11: %s: larger than 8388608 bytes", name, path);
    ck_assert_str_eq(err, want);
    config_free(c);

    for (size_t i = 0; i < 3; i++) {
        static const char *const names[] = {"users", "bad", "big"};
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

/* ---- values ---- */

static struct config *test_config_parse_ok(const char *name, const char *yaml)
{
    char err[512] = "";
    struct config *c = config_parse(name, yaml, strlen(yaml), err, sizeof(err));

    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

static void test_config_check_defaults(const struct config *c)
{
    char out[64];

    ck_assert_uint_eq(c->n_listen, 1);
    addr_format(&c->listen[0], out, sizeof(out));
    ck_assert_str_eq(out, "127.0.0.1:8080");
    ck_assert_uint_eq(c->heartbeat_interval_ms, 30000);
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 10000);
    ck_assert_uint_eq(c->handshake_timeout_ms, 10000);
    ck_assert_uint_eq(c->connect_timeout_ms, 10000);
    ck_assert_uint_eq(c->idle_timeout_ms, 0);
    ck_assert_uint_eq(c->close_timeout_ms, 5000);
    ck_assert_uint_eq(c->shutdown_timeout_ms, 10000);
    ck_assert_uint_eq(c->drain_timeout_ms, 300000);
    ck_assert_uint_eq(c->high_watermark_bytes, 256 * 1024);
    ck_assert_uint_eq(c->low_watermark_bytes, 64 * 1024);
    ck_assert_uint_eq(c->max_request_head_bytes, 16 * 1024);
    ck_assert_uint_eq(c->keepalive_requests, 100);
    ck_assert_uint_eq(c->keepalive_timeout_ms, 15000);
    ck_assert_uint_eq(c->keepalive_time_ms, 300000);
    ck_assert_uint_eq(c->workers, 0); /* auto */
    ck_assert_uint_eq(c->max_connections, 10000);
    ck_assert_uint_eq(c->max_connections_per_ip, 256);
    ck_assert_uint_eq(c->max_pending_per_ip, 32);
    ck_assert_uint_eq(c->per_ip_prefix_v6, 64);
    ck_assert_uint_eq(c->fd_reserve, 32);
    ck_assert_uint_eq(c->auth_threads, 2);
    ck_assert_ptr_null(c->hosts);
    ck_assert_ptr_null(c->trusted_proxies);
    ck_assert_ptr_null(c->admin_listen);
    ck_assert_int_eq(c->log.target, CONFIG_LOG_STDERR);
    ck_assert_ptr_null(c->log.file);
    ck_assert_int_eq(c->log.level, CONFIG_LOG_INFO);
    ck_assert_int_eq(c->log.format, CONFIG_LOG_TEXT);
    ck_assert(!c->log.traffic);
}

START_TEST(test_config_defaults)
{
    struct config *c =
        test_config_parse_ok("t.yaml", "routes: [ { path: /echo, target: echo } ]\n");
    const struct route *r = &c->routes[0];

    ck_assert_str_eq(c->file, "t.yaml");
    ck_assert_ptr_null(c->web_root);
    test_config_check_defaults(c);
    ck_assert_uint_eq(c->n_routes, 1);
    ck_assert_str_eq(r->path, "/echo");
    ck_assert(!r->prefix);
    ck_assert_uint_eq(r->match_len, 5);
    ck_assert_int_eq(r->target.kind, ADDR_ECHO);
    ck_assert_int_eq(r->frames, ROUTE_FRAMES_BINARY);
    ck_assert_ptr_null(r->subprotocols);
    ck_assert_uint_eq(r->n_subprotocols, 0);
    ck_assert_uint_eq(r->max_frame_bytes, 0);
    ck_assert_uint_eq(r->max_message_bytes, 0);
    ck_assert_uint_eq(r->connect_timeout_ms, 10000);
    ck_assert_uint_eq(r->idle_timeout_ms, 0);
    ck_assert_uint_eq(r->line, 1);
    ck_assert_uint_eq(r->column, 11);
    /* no "origins": same-origin, and clients without Origin pass */
    ck_assert_ptr_nonnull(r->origins);
    ck_assert_uint_eq(r->origins->n, 0);
    ck_assert(!r->origins->any && !r->origins->allow_null);
    ck_assert_uint_eq(r->origins->flags, 0);
    ck_assert_int_eq(r->send_proxy, ROUTE_SEND_PROXY_OFF);
    config_free(c);
}
END_TEST

/* trusted_proxies: its networks in the allow list of its own netlist, IPv6 too;
 * send_proxy: its words, on TCP, TLS and Unix targets. */
START_TEST(test_config_proxies)
{
    struct config *c = test_config_parse_ok(
        "t.yaml", "trusted_proxies: [ 10.0.0.5/32, \"::1/128\" ]\n"
                  "routes:\n"
                  "  - { path: /a, target: \"127.0.0.1:9\", send_proxy: v1 }\n"
                  "  - { path: /b, target: \"tls://127.0.0.1:9\", send_proxy: v2 }\n"
                  "  - { path: /c, target: \"unix:/run/t.sock\", send_proxy: off }\n");
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

    ck_assert_ptr_nonnull(c->trusted_proxies);
    ck_assert_uint_eq(c->trusted_proxies->n[NETLIST_ALLOW], 2);
    ck_assert_uint_eq(c->trusted_proxies->n[NETLIST_DENY], 0);
    inet_pton(AF_INET, "10.0.0.5", &in4.sin_addr);
    ck_assert(netlist_is_allowed(c->trusted_proxies, (struct sockaddr *)&in4));
    inet_pton(AF_INET, "10.0.0.6", &in4.sin_addr);
    ck_assert(!netlist_is_allowed(c->trusted_proxies, (struct sockaddr *)&in4));
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    ck_assert(netlist_is_allowed(c->trusted_proxies, (struct sockaddr *)&in6));
    ck_assert_int_eq(c->routes[0].send_proxy, ROUTE_SEND_PROXY_V1);
    ck_assert_int_eq(c->routes[1].send_proxy, ROUTE_SEND_PROXY_V2);
    ck_assert_int_eq(c->routes[2].send_proxy, ROUTE_SEND_PROXY_OFF);
    config_free(c);
}
END_TEST

/* Token routes: "tokens" joined to the file's folder like any file, "token_from" read
 * into its enum (query by default), no fixed target; "subprotocols: none" alone. */
START_TEST(test_config_tokens)
{
    struct config *c = test_config_parse_ok(
        "etc/t.yaml", "routes:\n"
                      "  - { path: \"/*\", tokens: tokens/ }\n"
                      "  - { path: \"/vnc/*\", tokens: /abs/t.cfg, token_from: path }\n"
                      "  - { path: /h, tokens: t.cfg, token_from: host, subprotocols: none }\n"
                      "  - { path: /l, tokens: t.cfg, token_from: host_label }\n"
                      "  - { path: /e, target: echo }\n");

    ck_assert_uint_eq(c->n_routes, 5);
    ck_assert_str_eq(c->routes[0].tokens, "etc/tokens/");
    ck_assert_int_eq(c->routes[0].token_from, TOKENREQ_QUERY);
    ck_assert_str_eq(c->routes[0].target.host, "");
    ck_assert_uint_eq(c->routes[0].target.port, 0);
    ck_assert(!c->routes[0].subprotocols_none);
    ck_assert_str_eq(c->routes[1].tokens, "/abs/t.cfg");
    ck_assert_int_eq(c->routes[1].token_from, TOKENREQ_PATH);
    ck_assert_str_eq(c->routes[2].tokens, "etc/t.cfg");
    ck_assert_int_eq(c->routes[2].token_from, TOKENREQ_HOST);
    ck_assert(c->routes[2].subprotocols_none);
    ck_assert_ptr_null(c->routes[2].subprotocols);
    ck_assert_int_eq(c->routes[3].token_from, TOKENREQ_HOST_LABEL);
    ck_assert_ptr_null(c->routes[4].tokens);
    ck_assert_int_eq(c->routes[4].target.kind, ADDR_ECHO);
    config_free(c);
}
END_TEST

/* Routes take unset per-route values from the top level, even from keys written after
 * "routes:", and keep their own where given. */
START_TEST(test_config_route_overrides)
{
    struct config *c =
        test_config_parse_ok("t.yaml", "routes:\n"
                                       "  - path: /vnc/*\n"
                                       "    target: \"127.0.0.1:5901\"\n"
                                       "    frames: text\n"
                                       "    subprotocols: [ binary, base64 ]\n"
                                       "    connect_timeout: 5s\n"
                                       "    idle_timeout: 0\n"
                                       "    max_frame: 64KiB\n"
                                       "    max_message: 1MiB\n"
                                       "  - { path: /*, target: \"[::1]:7\", subprotocols: chat }\n"
                                       "connect_timeout: 3s\n"
                                       "idle_timeout: 2m\n");
    const struct route *a = &c->routes[0], *b = &c->routes[1];

    ck_assert_uint_eq(c->n_routes, 2);
    ck_assert_uint_eq(c->connect_timeout_ms, 3000);
    ck_assert_uint_eq(c->idle_timeout_ms, 120000);

    ck_assert_str_eq(a->path, "/vnc/*");
    ck_assert(a->prefix);
    ck_assert_uint_eq(a->match_len, 5);
    ck_assert_int_eq(a->target.kind, ADDR_HOSTPORT);
    ck_assert_str_eq(a->target.host, "127.0.0.1");
    ck_assert_uint_eq(a->target.port, 5901);
    ck_assert_int_eq(a->frames, ROUTE_FRAMES_TEXT);
    ck_assert_uint_eq(a->n_subprotocols, 2);
    ck_assert_str_eq(a->subprotocols[0], "binary");
    ck_assert_str_eq(a->subprotocols[1], "base64");
    ck_assert_uint_eq(a->connect_timeout_ms, 5000);
    ck_assert_uint_eq(a->idle_timeout_ms, 0);
    ck_assert_uint_eq(a->max_frame_bytes, 65536);
    ck_assert_uint_eq(a->max_message_bytes, 1048576);
    ck_assert_uint_eq(a->line, 2);
    ck_assert_uint_eq(a->column, 5);

    ck_assert_str_eq(b->path, "/*");
    ck_assert(b->prefix);
    ck_assert_uint_eq(b->match_len, 1);
    ck_assert_str_eq(b->target.host, "::1");
    ck_assert_uint_eq(b->target.port, 7);
    ck_assert_int_eq(b->frames, ROUTE_FRAMES_BINARY);
    ck_assert_uint_eq(b->n_subprotocols, 1);
    ck_assert_str_eq(b->subprotocols[0], "chat");
    ck_assert_uint_eq(b->connect_timeout_ms, 3000);
    ck_assert_uint_eq(b->idle_timeout_ms, 120000);
    ck_assert_uint_eq(b->max_frame_bytes, 0);
    ck_assert_uint_eq(b->line, 10);
    ck_assert_uint_eq(b->column, 5);
    config_free(c);
}
END_TEST

/* "admin" and "log": absent, they mean no admin listener and text lines at info on
 * stderr; given, each value lands in its field and the log file is joined like web_root. */
START_TEST(test_config_admin_log)
{
    struct config *c = test_config_parse_ok("etc/t.yaml", ROUTE_ECHO);
    char out[64];

    ck_assert_ptr_null(c->admin_listen);
    ck_assert_int_eq(c->log.target, CONFIG_LOG_STDERR);
    ck_assert_ptr_null(c->log.file);
    ck_assert_int_eq(c->log.level, CONFIG_LOG_INFO);
    ck_assert_int_eq(c->log.format, CONFIG_LOG_TEXT);
    ck_assert(!c->log.level_set);
    ck_assert_int_eq(c->splice, CONFIG_SPLICE_AUTO);
    config_free(c);
    c = test_config_parse_ok("t.yaml", ROUTE_ECHO "splice: off\n");
    ck_assert_int_eq(c->splice, CONFIG_SPLICE_OFF);
    config_free(c);

    c = test_config_parse_ok("etc/t.yaml", ROUTE_ECHO "admin: { listen: \"[::1]:9090\" }\n"
                                                      "log:\n  target: file\n  file: ../log/w.log\n"
                                                      "  level: debug\n  format: json\n");
    ck_assert_ptr_nonnull(c->admin_listen);
    addr_format(c->admin_listen, out, sizeof(out));
    ck_assert_str_eq(out, "[::1]:9090");
    ck_assert_int_eq(c->log.target, CONFIG_LOG_FILE);
    ck_assert_str_eq(c->log.file, "etc/../log/w.log");
    ck_assert_int_eq(c->log.level, CONFIG_LOG_DEBUG);
    ck_assert_int_eq(c->log.format, CONFIG_LOG_JSON);
    ck_assert(c->log.level_set);
    config_free(c);

    /* each word of each choice, and an empty "admin" and "log" */
    c = test_config_parse_ok("t.yaml", ROUTE_ECHO "admin: {}\nlog: {}\n");
    ck_assert_ptr_null(c->admin_listen);
    ck_assert_int_eq(c->log.level, CONFIG_LOG_INFO);
    ck_assert(!c->log.level_set);
    config_free(c);
    c = test_config_parse_ok("t.yaml",
                             ROUTE_ECHO "log: { target: syslog, level: error, format: text }\n");
    ck_assert_int_eq(c->log.target, CONFIG_LOG_SYSLOG);
    ck_assert_int_eq(c->log.level, CONFIG_LOG_ERROR);
    ck_assert(c->log.level_set);
    config_free(c);
    c = test_config_parse_ok("t.yaml", ROUTE_ECHO "log: { target: stderr, level: warn }\n"
                                                  "admin: { listen: \"localhost:9\" }\n");
    ck_assert_int_eq(c->log.target, CONFIG_LOG_STDERR);
    ck_assert_int_eq(c->log.level, CONFIG_LOG_WARN);
    ck_assert_str_eq(c->admin_listen->host, "localhost");
    ck_assert_uint_eq(c->admin_listen->port, 9);
    ck_assert(!c->log.traffic);
    config_free(c);
    /* log.traffic: a line per frame, at debug */
    c = test_config_parse_ok("t.yaml", ROUTE_ECHO "log: { level: debug, traffic: true }\n");
    ck_assert(c->log.traffic);
    ck_assert_int_eq(c->log.level, CONFIG_LOG_DEBUG);
    config_free(c);
}
END_TEST

/* $CREDENTIALS_DIRECTORY at the start of a file name is the folder systemd's
 * LoadCredential= fills; no other variable is expanded, and an unset one is an error. */
START_TEST(test_config_credentials)
{
    static const char tls_head[] = "listen:\n  - address: \"127.0.0.1:8443\"\n    tls:\n";
    static const char *const ok_names[][2] = {
        {"$CREDENTIALS_DIRECTORY/tls.key", "/run/credentials/w.service/tls.key"},
        {"\"${CREDENTIALS_DIRECTORY}/tls.key\"", "/run/credentials/w.service/tls.key"},
        {"$CREDENTIALS_DIRECTORY/sub/k", "/run/credentials/w.service/sub/k"},
        {"plain.key", "etc/plain.key"},
        {"a$CREDENTIALS_DIRECTORY", "etc/a$CREDENTIALS_DIRECTORY"}, /* only at the start */
    };
    static const char *const bad_names[][2] = {
        {"$HOME/k", "etc/t.yaml:5:12: \"tls.key\": only $CREDENTIALS_DIRECTORY is expanded in "
                    "a file name, not \"$HOME/k\""},
        {"$CREDENTIALS_DIRECTORYX/k", "etc/t.yaml:5:12: \"tls.key\": only $CREDENTIALS_DIRECTORY "
                                      "is expanded in a file name, not "
                                      "\"$CREDENTIALS_DIRECTORYX/k\""},
        {"\"${CREDENTIALS_DIRECTORY/k\"", "etc/t.yaml:5:12: \"tls.key\": only "
                                          "$CREDENTIALS_DIRECTORY is expanded in a file name, "
                                          "not \"${CREDENTIALS_DIRECTORY/k\""},
    };
    char yaml[512], err[512];
    struct config *c;

    for (size_t i = 0; i < sizeof(ok_names) / sizeof(ok_names[0]); i++) {
        snprintf(yaml, sizeof(yaml), "%s      cert: c.pem\n      key: %s\n%s", tls_head,
                 ok_names[i][0], ROUTE_ECHO);
        c = config_parse_env("etc/t.yaml", yaml, strlen(yaml), "/run/credentials/w.service", err,
                             sizeof(err));
        ck_assert_msg(c != NULL, "%s: %s", ok_names[i][0], err);
        ck_assert_str_eq(c->listen_tls[0]->cert.key_file, ok_names[i][1]);
        config_free(c);
    }
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        snprintf(yaml, sizeof(yaml), "%s      cert: c.pem\n      key: %s\n%s", tls_head,
                 bad_names[i][0], ROUTE_ECHO);
        c = config_parse_env("etc/t.yaml", yaml, strlen(yaml), "/run/credentials/w.service", err,
                             sizeof(err));
        ck_assert_ptr_null(c);
        ck_assert_str_eq(err, bad_names[i][1]);
    }
    /* Unset (config_parse, or an empty value): an error naming the key. */
    snprintf(yaml, sizeof(yaml), "routes:\n  - { path: /a, target: echo, auth_file: "
                                 "$CREDENTIALS_DIRECTORY/users }\n");
    for (int empty = 0; empty <= 1; empty++) {
        c = config_parse_env("t.yaml", yaml, strlen(yaml), empty ? "" : NULL, err, sizeof(err));
        ck_assert_ptr_null(c);
        ck_assert_str_eq(err, "t.yaml:2:42: \"auth_file\" names $CREDENTIALS_DIRECTORY, which is "
                              "not set (systemd sets it for a unit with LoadCredential=)");
    }
}
END_TEST

START_TEST(test_config_top_values)
{
    struct config *c =
        test_config_parse_ok("t.yaml", "listen: [ \"0.0.0.0:80\", \"[::]:80\", \"h:1\" ]\n"
                                       "web_root: /srv/www\n"
                                       "heartbeat:\n"
                                       "  timeout: 1m\n"
                                       "handshake_timeout: 500ms\n"
                                       "close_timeout: 1h\n"
                                       "high_watermark: 4KiB\n"
                                       "low_watermark: 0\n"
                                       "max_request_head: 1MiB\n");

    ck_assert_uint_eq(c->n_listen, 3);
    ck_assert_str_eq(c->listen[0].host, "0.0.0.0");
    ck_assert_str_eq(c->listen[1].host, "::");
    ck_assert_str_eq(c->listen[2].host, "h");
    ck_assert_uint_eq(c->listen[2].port, 1);
    ck_assert_str_eq(c->web_root, "/srv/www");
    ck_assert_uint_eq(c->heartbeat_interval_ms, 30000); /* default kept beside a given key */
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 60000);
    ck_assert_uint_eq(c->handshake_timeout_ms, 500);
    ck_assert_uint_eq(c->close_timeout_ms, 3600000);
    ck_assert_uint_eq(c->high_watermark_bytes, 4096);
    ck_assert_uint_eq(c->low_watermark_bytes, 0);
    ck_assert_uint_eq(c->max_request_head_bytes, 1048576);
    ck_assert_uint_eq(c->n_routes, 0);
    ck_assert_ptr_null(c->routes);
    config_free(c);

    /* one string for listen; quoted and tagged scalars are plain values too */
    c = test_config_parse_ok("t.yaml",
                             "listen: \"[::1]:9\"\nidle_timeout: !!str 5s\nweb_root: 'w'\n"
                             "heartbeat: { interval: 0 }\n");
    ck_assert_uint_eq(c->n_listen, 1);
    ck_assert_str_eq(c->listen[0].host, "::1");
    ck_assert_uint_eq(c->idle_timeout_ms, 5000);
    ck_assert_uint_eq(c->heartbeat_interval_ms, 0);
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 10000);
    config_free(c);

    /* workers: the bounds, and auto written out */
    c = test_config_parse_ok("t.yaml", ROUTE_ECHO "workers: 1\n");
    ck_assert_uint_eq(c->workers, 1);
    config_free(c);
    c = test_config_parse_ok("t.yaml", ROUTE_ECHO "workers: 64\n");
    ck_assert_uint_eq(c->workers, 64);
    config_free(c);
    c = test_config_parse_ok("t.yaml", ROUTE_ECHO "workers: auto\n");
    ck_assert_uint_eq(c->workers, 0);
    config_free(c);
}
END_TEST

struct web_root_case {
    const char *name, *value, *want;
};

static const struct web_root_case web_root_cases[] = {
    {"etc/wsbridge.yaml", "../web", "etc/../web"},
    {"/etc/wsbridge/wsbridge.yaml", "www", "/etc/wsbridge/www"},
    {"/wsbridge.yaml", "www", "/www"},
    {"wsbridge.yaml", "../web", "../web"},
    {"etc/wsbridge.yaml", "/srv/www", "/srv/www"},
    {"a/b/c.yaml", ".", "a/b/."},
};

START_TEST(test_config_web_root)
{
    const struct web_root_case *t = &web_root_cases[_i];
    char yaml[256];
    struct config *c;

    snprintf(yaml, sizeof(yaml), "web_root: \"%s\"\n", t->value);
    c = test_config_parse_ok(t->name, yaml);
    ck_assert_str_eq(c->web_root, t->want);
    config_free(c);
}
END_TEST

/* The shipped file loads, and every value in it is the built-in default, both as this
 * test knows it and as config.c's table has it. */
START_TEST(test_config_default_file)
{
    char path[PATH_MAX], want[PATH_MAX], err[512] = "";
    struct config *c, *d = test_config_parse_ok("t.yaml", "web_root: w\n");

    snprintf(path, sizeof(path), "%s/etc/wsbridge.yaml", test_config_srcdir());
    c = config_load(path, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    test_config_check_defaults(c);
    ck_assert_uint_eq(c->n_listen, d->n_listen);
    ck_assert_str_eq(c->listen[0].host, d->listen[0].host);
    ck_assert_uint_eq(c->listen[0].port, d->listen[0].port);
    ck_assert_uint_eq(c->heartbeat_interval_ms, d->heartbeat_interval_ms);
    ck_assert_uint_eq(c->heartbeat_timeout_ms, d->heartbeat_timeout_ms);
    ck_assert_uint_eq(c->handshake_timeout_ms, d->handshake_timeout_ms);
    ck_assert_uint_eq(c->connect_timeout_ms, d->connect_timeout_ms);
    ck_assert_uint_eq(c->idle_timeout_ms, d->idle_timeout_ms);
    ck_assert_uint_eq(c->close_timeout_ms, d->close_timeout_ms);
    ck_assert_uint_eq(c->high_watermark_bytes, d->high_watermark_bytes);
    ck_assert_uint_eq(c->low_watermark_bytes, d->low_watermark_bytes);
    ck_assert_uint_eq(c->max_request_head_bytes, d->max_request_head_bytes);
    ck_assert_uint_eq(c->keepalive_requests, d->keepalive_requests);
    ck_assert_uint_eq(c->keepalive_timeout_ms, d->keepalive_timeout_ms);
    ck_assert_uint_eq(c->keepalive_time_ms, d->keepalive_time_ms);
    ck_assert_uint_eq(c->workers, d->workers);
    config_free(d);
    snprintf(want, sizeof(want), "%s/etc/../web", test_config_srcdir());
    ck_assert_str_eq(c->web_root, want);
    ck_assert_uint_eq(c->n_routes, 1);
    ck_assert_str_eq(c->routes[0].path, "/echo");
    ck_assert_int_eq(c->routes[0].target.kind, ADDR_ECHO);
    ck_assert_int_eq(c->routes[0].frames, ROUTE_FRAMES_BINARY);
    ck_assert_uint_eq(c->routes[0].connect_timeout_ms, 10000);
    config_free(c);
}
END_TEST

/* The commented-out example routes in the shipped file are valid when uncommented. */
START_TEST(test_config_default_file_examples)
{
    char path[PATH_MAX], line[256], err[512] = "";
    size_t cap = 16384, n = 0;
    char *text = malloc(cap);
    static const char tokens_probe[] = "routes: [ { path: /x, tokens: /tmp } ]\n";
    struct config *c, *probe;
    const char *tokens_example;
    bool has_tokens;
    FILE *f;

    ck_assert_ptr_nonnull(text);
    snprintf(path, sizeof(path), "%s/etc/wsbridge.yaml", test_config_srcdir());
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);
        ck_assert_uint_lt(n + len, cap);
        memcpy(text + n, line, len);
        /* "  # - path: ..." becomes "  - path: ...": drop "# ", keep the indentation */
        if (strncmp(line, "  # - ", 6) == 0 || strncmp(line, "  #   ", 6) == 0) {
            memmove(text + n + 2, text + n + 4, len - 4);
            len -= 2;
        }
        n += len;
    }
    fclose(f);
    /* The multi-user noVNC example, last in the file, uses "tokens" (issue 14, token
     * routes): until this build has the key, it is cut off and the rest checked. */
    text[n] = '\0';
    tokens_example = strstr(text, "  - path: \"/*\"\n    tokens: ");
    ck_assert_ptr_nonnull(tokens_example);
    probe = config_parse("t.yaml", tokens_probe, strlen(tokens_probe), err, sizeof(err));
    has_tokens = probe != NULL;
    config_free(probe);
    if (!has_tokens)
        n = (size_t)(tokens_example - text);
    c = config_parse(path, text, n, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->n_routes, has_tokens ? 6 : 3);
    /* noVNC's default path, and no subprotocol required: noVNC 1.2 offers none */
    ck_assert_str_eq(c->routes[1].path, "/websockify");
    ck_assert_str_eq(c->routes[1].target.host, "127.0.0.1");
    ck_assert_uint_eq(c->routes[1].target.port, 5901);
    ck_assert_uint_eq(c->routes[1].n_subprotocols, 0);
    ck_assert(c->routes[2].prefix);
    if (has_tokens) {
        ck_assert_str_eq(c->routes[3].path, "/*");
        /* Redis and signed-token examples (issue 15) */
        ck_assert_ptr_nonnull(c->routes[4].tokens_redis);
        ck_assert_str_eq(c->routes[4].tokens_redis->prefix, "vnc:");
        ck_assert_uint_eq(c->routes[4].token_timeout_ms, 2000);
        ck_assert_ptr_nonnull(c->routes[5].tokens_jwt);
        ck_assert_str_eq(c->routes[5].tokens_jwt->audience, "wsbridge");
        ck_assert_uint_eq(c->routes[5].tokens_jwt->leeway_ms, 30000);
    }
    config_free(c);
    free(text);
}
END_TEST

START_TEST(test_config_good_full)
{
    char path[PATH_MAX], want[PATH_MAX], err[512] = "";
    struct config *c;

    snprintf(path, sizeof(path), "%s/%s/good-full.yaml", test_config_srcdir(), DATA_DIR);
    c = config_load(path, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_str_eq(c->file, path);
    snprintf(want, sizeof(want), "%s/%s/../../../../web", test_config_srcdir(), DATA_DIR);
    ck_assert_str_eq(c->web_root, want);
    ck_assert_uint_eq(c->n_listen, 2);
    ck_assert_uint_eq(c->heartbeat_interval_ms, 0);
    ck_assert_uint_eq(c->heartbeat_timeout_ms, 1000);
    ck_assert_uint_eq(c->handshake_timeout_ms, 500);
    ck_assert_uint_eq(c->connect_timeout_ms, 3000);
    ck_assert_uint_eq(c->idle_timeout_ms, 3600000);
    ck_assert_uint_eq(c->close_timeout_ms, 2000);
    ck_assert_uint_eq(c->high_watermark_bytes, 1048576);
    ck_assert_uint_eq(c->low_watermark_bytes, 0);
    ck_assert_uint_eq(c->max_request_head_bytes, 1024);
    ck_assert_uint_eq(c->keepalive_requests, 7);
    ck_assert_uint_eq(c->keepalive_timeout_ms, 0);
    ck_assert_uint_eq(c->keepalive_time_ms, 90000);
    ck_assert_uint_eq(c->n_routes, 3);
    ck_assert_int_eq(c->routes[0].frames, ROUTE_FRAMES_TEXT);
    ck_assert_uint_eq(c->routes[0].connect_timeout_ms, 3000);
    ck_assert_uint_eq(c->routes[0].idle_timeout_ms, 3600000);
    ck_assert_uint_eq(c->routes[1].connect_timeout_ms, 5000);
    ck_assert_uint_eq(c->routes[1].idle_timeout_ms, 0);
    ck_assert_uint_eq(c->routes[1].max_frame_bytes, 65536);
    ck_assert_uint_eq(c->routes[1].line, 14);
    ck_assert_uint_eq(c->routes[2].match_len, 1);
    ck_assert_str_eq(c->admin_listen->host, "127.0.0.1");
    ck_assert_uint_eq(c->admin_listen->port, 9090);
    ck_assert_int_eq(c->log.target, CONFIG_LOG_FILE);
    snprintf(want, sizeof(want), "%s/%s/wsbridge.log", test_config_srcdir(), DATA_DIR);
    ck_assert_str_eq(c->log.file, want);
    ck_assert_int_eq(c->log.level, CONFIG_LOG_WARN);
    ck_assert_int_eq(c->log.format, CONFIG_LOG_JSON);
    config_free(c);
}
END_TEST

/* ---- hostile input: every prefix and many mutations of good files fail cleanly ---- */

static void test_config_check_outcome(const char *text, size_t len)
{
    char err[512] = "";
    struct config *c = config_parse("f.yaml", text, len, err, sizeof(err));
    unsigned line, col;
    int used = 0;

    if (c != NULL) {
        config_free(c);
        return;
    }
    /* one line: "f.yaml:L:C: text" with L, C >= 1, or "f.yaml: text" */
    ck_assert_ptr_null(strchr(err, '\n'));
    if (sscanf(err, "f.yaml:%u:%u: %n", &line, &col, &used) == 2 && used > 0) {
        ck_assert_uint_ge(line, 1);
        ck_assert_uint_ge(col, 1);
        ck_assert_uint_gt(strlen(err), (size_t)used);
    } else {
        ck_assert_msg(strncmp(err, "f.yaml: ", 8) == 0, "\"%s\"", err);
    }
}

static char *test_config_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 16);

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

START_TEST(test_config_prefixes)
{
    const char *names[] = {"etc/wsbridge.yaml", DATA_DIR "/good-full.yaml",
                           DATA_DIR "/dup-route.yaml"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[PATH_MAX];
        size_t len;
        char *text;

        snprintf(path, sizeof(path), "%s/%s", test_config_srcdir(), names[i]);
        text = test_config_read_all(path, &len);
        for (size_t n = 0; n <= len; n++)
            test_config_check_outcome(text, n);
        free(text);
    }
}
END_TEST

START_TEST(test_config_mutations)
{
    static const char bytes[] = "{}[],:-?*&!|>'\"#%@` \t\r\n\0\xff\xc3/~.0123456789abcz";
    char path[PATH_MAX];
    uint32_t rng = 0x12345678;
    size_t len;
    char *text, *copy;

    snprintf(path, sizeof(path), "%s/%s/good-full.yaml", test_config_srcdir(), DATA_DIR);
    text = test_config_read_all(path, &len);
    copy = malloc(len);
    ck_assert_ptr_nonnull(copy);
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, text, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            copy[rng % len] = bytes[(rng >> 16) % (sizeof(bytes) - 1)];
        }
        test_config_check_outcome(copy, len);
    }
    free(copy);
    free(text);
}
END_TEST

/* Unix sockets (issue 14): kinds and paths of listeners and targets, relative paths joined
 * to the file's folder as file names are, modes (the default for a bare string and for a
 * mapping without "mode"; none for TCP), and "tls.plain". */
START_TEST(test_config_unix)
{
    struct config *c = test_config_parse_ok(
        "etc/wsb/t.yaml", "listen:\n"
                          "  - \"unix:/run/a.sock\"\n"
                          "  - { address: \"unix:b.sock\", mode: \"0660\" }\n"
                          "  - { address: \"unix:/run/c.sock\", mode: 640 }\n"
                          "  - { address: \"unix:/run/d.sock\" }\n"
                          "  - \"127.0.0.1:80\"\n"
                          "  - { address: \"127.0.0.1:443\", tls: { cert: c, key: k } }\n"
                          "  - { address: \"127.0.0.1:8443\", tls: { cert: c, key: k, plain: "
                          "allow } }\n"
                          "  - { address: \"127.0.0.1:9443\", tls: { cert: c, key: k, plain: "
                          "refuse, session_tickets: false, ticket_key_rotation: 90s } }\n"
                          "routes:\n"
                          "  - { path: /a, target: \"unix:/run/vnc.sock\" }\n"
                          "  - { path: /b, target: \"unix:run/vnc.sock\" }\n");
    static const unsigned modes[] = {0600, 0660, 0640, 0600, 0, 0, 0, 0};
    char out[ADDR_HOST_MAX + 16];

    ck_assert_uint_eq(c->n_listen, 8);
    for (size_t i = 0; i < c->n_listen; i++) {
        ck_assert_int_eq(c->listen[i].kind, i < 4 ? ADDR_UNIX : ADDR_HOSTPORT);
        ck_assert_uint_eq(c->listen_mode[i], modes[i]);
    }
    ck_assert_str_eq(c->listen[0].host, "/run/a.sock");
    ck_assert_str_eq(c->listen[1].host, "etc/wsb/b.sock");
    addr_format(&c->listen[1], out, sizeof(out));
    ck_assert_str_eq(out, "unix:etc/wsb/b.sock");
    ck_assert_ptr_null(c->listen_tls[3]);
    ck_assert_int_eq(c->listen_tls[5]->plain, CONFIG_TLS_PLAIN_REFUSE);
    ck_assert_int_eq(c->listen_tls[6]->plain, CONFIG_TLS_PLAIN_ALLOW);
    ck_assert_int_eq(c->listen_tls[7]->plain, CONFIG_TLS_PLAIN_REFUSE);
    ck_assert(c->listen_tls[5]->session_tickets); /* issue 17: tickets on, a new key hourly */
    ck_assert_uint_eq(c->listen_tls[5]->ticket_key_rotation_ms, 3600000);
    ck_assert(!c->listen_tls[7]->session_tickets);
    ck_assert_uint_eq(c->listen_tls[7]->ticket_key_rotation_ms, 90000);
    ck_assert_int_eq(c->routes[0].target.kind, ADDR_UNIX);
    ck_assert_str_eq(c->routes[0].target.host, "/run/vnc.sock");
    ck_assert_str_eq(c->routes[1].target.host, "etc/wsb/run/vnc.sock");
    config_free(c);
}
END_TEST

/* A relative Unix socket path must still fit sun_path once joined to the folder. */
START_TEST(test_config_unix_joined_length)
{
    char name[200], yaml[512], want[1024], err[512] = "", path[128];
    struct config *c;

    memset(name, 'd', sizeof(name));
    memcpy(name + 90, "/t.yaml", sizeof("/t.yaml")); /* a 90-byte folder */
    memset(path, 'p', sizeof(path));
    path[16] = '\0'; /* 90 + 1 + 16 = 107: fits */
    snprintf(yaml, sizeof(yaml), "listen: \"unix:%s\"\nweb_root: w\n", path);
    c = config_parse(name, yaml, strlen(yaml), err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(strlen(c->listen[0].host), 107);
    config_free(c);
    path[16] = 'p';
    path[17] = '\0'; /* 108: one too many */
    snprintf(yaml, sizeof(yaml), "routes: [ { path: /u, target: \"unix:%s\" } ]\n", path);
    ck_assert_ptr_null(config_parse(name, yaml, strlen(yaml), err, sizeof(err)));
    snprintf(want, sizeof(want),
             "%s:1:31: bad address \"unix:%s\": Unix socket path longer than 107 bytes once "
             "joined to the folder of %s",
             name, path, name);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_config_free_null)
{
    config_free(NULL);
}
END_TEST

/* A listener's PROXY protocol and v6only: values as written, defaults elsewhere, and
 * proxy_from as an allow list of the proxies' addresses. */
START_TEST(test_config_listen_proxy)
{
    struct config *c = test_config_parse_ok(
        "t.yaml", "listen:\n"
                  "  - \"127.0.0.1:8080\"\n"
                  "  - { address: \"127.0.0.1:8081\", proxy_protocol: v1, proxy_from: 10.0.0.5 }\n"
                  "  - { address: \"[::]:8082\", v6only: false, proxy_protocol: any,\n"
                  "      proxy_from: [ 10.0.0.0/8, \"fd00::/8\" ] }\n"
                  "  - { address: \"[::1]:8083\", proxy_protocol: v2, proxy_from: \"::1\" }\n"
                  "routes: [ { path: /e, target: echo } ]\n");
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};

    ck_assert_uint_eq(c->n_listen, 4);
    ck_assert_int_eq(c->listen_proxy[0].mode, CONFIG_PROXY_NONE);
    ck_assert_ptr_null(c->listen_proxy[0].from);
    ck_assert_int_eq(c->listen_proxy[1].mode, CONFIG_PROXY_V1);
    ck_assert_int_eq(c->listen_proxy[2].mode, CONFIG_PROXY_ANY);
    ck_assert_int_eq(c->listen_proxy[3].mode, CONFIG_PROXY_V2);
    ck_assert(c->listen_v6only[0] && c->listen_v6only[1] && !c->listen_v6only[2] &&
              c->listen_v6only[3]);
    inet_pton(AF_INET, "10.0.0.5", &v4.sin_addr);
    ck_assert(netlist_is_allowed(c->listen_proxy[1].from, (struct sockaddr *)&v4));
    ck_assert(netlist_is_allowed(c->listen_proxy[2].from, (struct sockaddr *)&v4));
    inet_pton(AF_INET, "10.0.0.6", &v4.sin_addr);
    ck_assert(!netlist_is_allowed(c->listen_proxy[1].from, (struct sockaddr *)&v4));
    inet_pton(AF_INET6, "fd00::7", &v6.sin6_addr);
    ck_assert(netlist_is_allowed(c->listen_proxy[2].from, (struct sockaddr *)&v6));
    ck_assert(!netlist_is_allowed(c->listen_proxy[3].from, (struct sockaddr *)&v6));
    config_free(c);
}
END_TEST

static Suite *test_config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *files = tcase_create("files");
    TCase *errors = tcase_create("errors");
    TCase *values = tcase_create("values");
    TCase *hostile = tcase_create("hostile");

    tcase_add_test(files, test_config_data_found);
    tcase_add_loop_test(files, test_config_data_file, 0, (int)n_data_files);
    tcase_add_test(files, test_config_load_errors);
    tcase_add_test(files, test_config_load_files);
    suite_add_tcase(s, files);

    tcase_add_loop_test(errors, test_config_error, 0, sizeof(error_cases) / sizeof(error_cases[0]));
    tcase_add_test(errors, test_config_deep_nesting);
    tcase_add_test(errors, test_config_too_many_routes);
    tcase_add_test(errors, test_config_list_limits);
    tcase_add_test(errors, test_config_err_buffer);
    suite_add_tcase(s, errors);

    tcase_add_test(values, test_config_defaults);
    tcase_add_test(values, test_config_route_overrides);
    tcase_add_test(values, test_config_tokens);
    tcase_add_test(values, test_config_top_values);
    tcase_add_test(values, test_config_admin_log);
    tcase_add_test(values, test_config_credentials);
    tcase_add_loop_test(values, test_config_web_root, 0,
                        sizeof(web_root_cases) / sizeof(web_root_cases[0]));
    tcase_add_test(values, test_config_default_file);
    tcase_add_test(values, test_config_default_file_examples);
    tcase_add_test(values, test_config_proxies);
    tcase_add_test(values, test_config_good_full);
    tcase_add_test(values, test_config_unix);
    tcase_add_test(values, test_config_listen_proxy);
    tcase_add_test(values, test_config_unix_joined_length);
    tcase_add_test(values, test_config_free_null);
    suite_add_tcase(s, values);

    /* thousands of parses: generous under sanitizers */
    tcase_set_timeout(hostile, 300);
    tcase_add_test(hostile, test_config_prefixes);
    tcase_add_test(hostile, test_config_mutations);
    suite_add_tcase(s, hostile);
    return s;
}

int main(void)
{
    int rc;

    test_config_data_scan();
    rc = check_main_run(test_config_suite());
    for (size_t i = 0; i < n_data_files; i++)
        free(data_files[i]);
    return rc;
}
