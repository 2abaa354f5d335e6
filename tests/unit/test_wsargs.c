/*
 * test_wsargs.c - proves that wsargs.c reads every websockify option as websockify's
 * optparse does (abbreviations, "=", grouped flags, options after arguments, "--"),
 * makes its checks, and either writes exactly the expected route file YAML or refuses
 * with exactly the expected line; that relative paths resolve the way websockify
 * resolves them; that the YAML always parses with libyaml, with only the keys
 * wsargs_yaml.h names; that any UTF-8 string quotes and reads back unchanged; that
 * the migration table names every websockify option; and that README.md shows that
 * table as it is.
 */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "check_main.h"
#include "wsargs.h"
#include "wsargs_yaml.h"

#define CWD "/home/u"
#define HEAD "# wsbridge route file, from websockify's command line\n"
#define L6080 "listen:\n  - \"0.0.0.0:6080\"\n"
#define ROUTE "routes:\n  - path: \"/*\"\n"
#define TO(t) ROUTE "    target: \"" t "\"\n"
#define PLAIN(t) HEAD L6080 TO(t)
#define TLS6080 "listen:\n  - address: \"0.0.0.0:6080\"\n    tls:\n"
#define CERT(c, k) "      cert: \"" c "\"\n      key: \"" k "\"\n"
#define TOKENS(p) ROUTE "    tokens: \"" p "\"\n"
#define TP "--token-plugin", "TokenFile", "--token-source"

#define ARGS_MAX 16

struct wa_case {
    const char *name;
    const char *argv[ARGS_MAX]; /* NULL-terminated */
    bool self_pem;              /* ./self.pem exists */
    const char *yaml;           /* accepted: the exact YAML */
    const char *error;          /* refused: the exact line */
};

static const struct wa_case test_cases[] = {
    /* positional arguments */
    {"port and target", {"6080", "localhost:5901"}, false, PLAIN("localhost:5901"), NULL},
    {"source address",
     {"127.0.0.1:6080", "h:1"},
     false,
     HEAD "listen:\n  - \"127.0.0.1:6080\"\n" TO("h:1"),
     NULL},
    {"source host name",
     {"localhost:6080", "h:1"},
     false,
     HEAD "listen:\n  - \"localhost:6080\"\n" TO("h:1"),
     NULL},
    {"IPv6 bracketed",
     {"[::1]:6080", "[::1]:5901"},
     false,
     HEAD "listen:\n  - \"[::1]:6080\"\n" TO("[::1]:5901"),
     NULL},
    {"IPv6 bare",
     {"::1:6080", "2001:db8::5:5901"},
     false,
     HEAD "listen:\n  - \"[::1]:6080\"\n" TO("[2001:db8::5]:5901"),
     NULL},
    {"empty hosts", {":6080", ":5901"}, false, PLAIN("127.0.0.1:5901"), NULL},
    {"empty brackets", {"[]:6080", "h:1"}, false, PLAIN("h:1"), NULL},
    {"leading zeros", {"06080", "h:05901"}, false, PLAIN("h:5901"), NULL},
    {"options after arguments",
     {"6080", "h:1", "-v"},
     false,
     HEAD L6080 "log:\n  level: debug\n" TO("h:1"),
     NULL},
    {"a dash alone is an argument",
     {"-", "h:1"},
     false,
     NULL,
     "source \"-\": port must be a number, 1..65535"},
    {"no arguments", {NULL}, false, NULL, "too few arguments: give [source_addr:]source_port"},
    {"no target",
     {"6080"},
     false,
     NULL,
     "too few arguments: give target_addr:target_port, --unix-target FILE or --token-plugin "
     "TokenFile --token-source PATH"},
    {"one too many", {"6080", "h:1", "extra"}, false, NULL, "unexpected argument \"extra\""},
    {"source port not a number",
     {"abc", "h:1"},
     false,
     NULL,
     "source \"abc\": port must be a number, 1..65535"},
    {"source port 0", {"0", "h:1"}, false, NULL, "source \"0\": port must be 1..65535"},
    {"source port 65536", {"65536", "h:1"}, false, NULL, "source \"65536\": port must be 1..65535"},
    {"source port signed",
     {"+6080", "h:1"},
     false,
     NULL,
     "source \"+6080\": port must be a number, 1..65535"},
    {"bad source host",
     {"my_host:6080", "h:1"},
     false,
     NULL,
     "source \"my_host:6080\": bad character '_' in host name"},
    {"target without a port",
     {"6080", "localhost"},
     false,
     NULL,
     "target \"localhost\": not host:port"},
    {"target port 0", {"6080", "h:0"}, false, NULL, "target \"h:0\": port must be 1..65535"},
    {"target port not a number",
     {"6080", "h:vnc"},
     false,
     NULL,
     "target \"h:vnc\": port must be a number, 1..65535"},
    {"target with a scheme",
     {"6080", "tls://h:1"},
     false,
     NULL,
     "target \"tls://h:1\": not host:port"},
    {"bad IPv6 target", {"6080", "[::g]:1"}, false, NULL, "target \"[::g]:1\": bad IPv6 address"},
    /* addr.c reads "unix:PATH" as a Unix socket since issue 14: not as websockify would */
    {"target host named unix",
     {"6080", "unix:5900"},
     false,
     NULL,
     "target \"unix:5900\": not host:port (a Unix socket is --unix-target FILE or --unix-listen "
     "FILE)"},
    {"source host named unix",
     {"unix:6080", "h:1"},
     false,
     NULL,
     "source \"unix:6080\": not host:port (a Unix socket is --unix-target FILE or --unix-listen "
     "FILE)"},
    {"control byte shown as ?", {"6080", "a\tb"}, false, NULL, "target \"a?b\": not host:port"},

    /* option syntax, as optparse */
    {"--opt=value",
     {"--web=/w", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/w\"\n" TO("h:1"),
     NULL},
    {"value starting with a dash",
     {"--web", "-w", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/home/u/-w\"\n" TO("h:1"),
     NULL},
    {"unique prefix",
     {"--verb", "6080", "h:1"},
     false,
     HEAD L6080 "log:\n  level: debug\n" TO("h:1"),
     NULL},
    {"ambiguous prefix",
     {"--ver", "6080", "h:1"},
     false,
     NULL,
     "--ver: ambiguous option (--verbose, --verify-client)"},
    {"ambiguous --he",
     {"--he", "6080", "h:1"},
     false,
     NULL,
     "--he: ambiguous option (--heartbeat, --help)"},
    {"--print-config is never abbreviated",
     {"--print", "6080", "h:1"},
     false,
     NULL,
     "--print: unknown option (see --help)"},
    {"--pr is --prefer-ipv6",
     {"--pr", "6080", "h:1"},
     false,
     HEAD "listen:\n  - \"[::]:6080\"\n" TO("h:1"),
     NULL},
    {"unknown option", {"--foo", "6080", "h:1"}, false, NULL, "--foo: unknown option (see --help)"},
    {"unknown short option", {"-x", "6080", "h:1"}, false, NULL, "-x: unknown option (see --help)"},
    {"value to a flag", {"--verbose=1", "6080", "h:1"}, false, NULL, "--verbose: takes no value"},
    {"missing value", {"6080", "h:1", "--web"}, false, NULL, "--web: needs a value"},
    {"grouped short flags",
     {"-v6", "6080", "h:1"},
     false,
     HEAD "listen:\n  - \"[::]:6080\"\n"
          "log:\n  level: debug\n" TO("h:1"),
     NULL},
    {"last value wins",
     {"--web", "/a", "--web", "/b", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/b\"\n" TO("h:1"),
     NULL},
    {"-h", {"-h"}, false, "", NULL},
    {"--help before errors", {"--web", "x", "--help", "--daemon"}, false, "", NULL},
    {"-vh", {"-vh"}, false, "", NULL},
    {"--print-config", {"--print-config", "6080", "h:1"}, false, PLAIN("h:1"), NULL},

    /* each option */
    {"-v", {"-v", "6080", "h:1"}, false, HEAD L6080 "log:\n  level: debug\n" TO("h:1"), NULL},
    {"--verbose",
     {"--verbose", "6080", "h:1"},
     false,
     HEAD L6080 "log:\n  level: debug\n" TO("h:1"),
     NULL},
    {"--traffic",
     {"--traffic", "6080", "h:1"},
     false,
     HEAD L6080 "log:\n  level: debug\n  traffic: true\n" TO("h:1"),
     NULL},
    {"--record",
     {"--record", "/tmp/r", "6080", "h:1"},
     false,
     NULL,
     "--record: wsbridge does not record sessions; -v with --traffic logs a line per frame"},
    {"-D",
     {"-D", "6080", "h:1"},
     false,
     NULL,
     "--daemon: wsbridge stays in the foreground; run it under systemd (wsbridge.service) or "
     "another supervisor"},
    {"--daemon",
     {"--daemon", "6080", "h:1"},
     false,
     NULL,
     "--daemon: wsbridge stays in the foreground; run it under systemd (wsbridge.service) or "
     "another supervisor"},
    {"--run-once",
     {"--run-once", "6080", "h:1"},
     false,
     NULL,
     "--run-once: wsbridge serves until it is stopped; stop it with SIGTERM"},
    {"--timeout 0", {"--timeout", "0", "6080", "h:1"}, false, PLAIN("h:1"), NULL},
    {"--timeout 5",
     {"--timeout", "5", "6080", "h:1"},
     false,
     NULL,
     "--timeout: wsbridge does not exit on a timer; stop it with SIGTERM"},
    {"--timeout x",
     {"--timeout", "x", "6080", "h:1"},
     false,
     NULL,
     "--timeout \"x\": not a whole number of seconds"},
    {"--idle-timeout 0", {"--idle-timeout", "0", "6080", "h:1"}, false, PLAIN("h:1"), NULL},
    {"--idle-timeout 60",
     {"--idle-timeout", "60", "6080", "h:1"},
     false,
     NULL,
     "--idle-timeout: wsbridge does not exit when no client is connected; to close idle "
     "connections instead, set idle_timeout in a route file"},
    {"--cert",
     {"--cert", "c.pem", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c.pem", "/home/u/c.pem") "      plain: allow\n" TO("h:1"),
     NULL},
    {"--cert --key",
     {"--cert", "/etc/c.pem", "--key", "k.pem", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/etc/c.pem", "/home/u/k.pem") "      plain: allow\n" TO("h:1"),
     NULL},
    {"--cert empty", {"--cert", "", "6080", "h:1"}, false, NULL, "--cert: empty file name"},
    {"--key empty is no key",
     {"--cert", "c", "--key", "", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c", "/home/u/c") "      plain: allow\n" TO("h:1"),
     NULL},
    {"--key without a cert", {"--key", "k.pem", "6080", "h:1"}, false, PLAIN("h:1"), NULL},
    {"self.pem is used when it exists",
     {"6080", "h:1"},
     true,
     HEAD TLS6080 CERT("/home/u/self.pem", "/home/u/self.pem") "      plain: allow\n" TO("h:1"),
     NULL},
    {"--key-password",
     {"--cert", "c", "--key-password", "pw", "6080", "h:1"},
     false,
     NULL,
     "--key-password: a password on the command line is visible to every local user; put it "
     "in a file and set tls.key_password_file in a route file (--print-config writes one to "
     "start from)"},
    {"--ssl-only",
     {"--ssl-only", "--cert", "c", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c", "/home/u/c") TO("h:1"),
     NULL},
    {"--ssl-only with self.pem",
     {"--ssl-only", "6080", "h:1"},
     true,
     HEAD TLS6080 CERT("/home/u/self.pem", "/home/u/self.pem") TO("h:1"),
     NULL},
    {"--ssl-only without self.pem",
     {"--ssl-only", "6080", "h:1"},
     false,
     NULL,
     "--ssl-only: /home/u/self.pem not found (give --cert FILE)"},
    {"--ssl-target", {"--ssl-target", "6080", "h:1"}, false, PLAIN("tls://h:1"), NULL},
    {"--ssl-target IPv6", {"--ssl-target", "6080", "[::1]:1"}, false, PLAIN("tls://[::1]:1"), NULL},
    {"--verify-client --cafile",
     {"--cert", "c", "--verify-client", "--cafile", "ca.pem", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c", "/home/u/c") "      plain: allow\n      verify_client: true\n"
                                                 "      ca: \"/home/u/ca.pem\"\n" TO("h:1"),
     NULL},
    {"--verify-client alone",
     {"--cert", "c", "--verify-client", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c",
                       "/home/u/c") "      plain: allow\n      verify_client: true\n" TO("h:1"),
     NULL},
    {"--verify-client without TLS",
     {"--verify-client", "6080", "h:1"},
     false,
     NULL,
     "--verify-client: no TLS listener; give --cert FILE"},
    {"--cafile without --verify-client",
     {"--cert", "c", "--cafile", "ca", "6080", "h:1"},
     false,
     HEAD "# --cafile: unused without --verify-client, as in websockify\n" TLS6080 CERT(
         "/home/u/c", "/home/u/c") "      plain: allow\n" TO("h:1"),
     NULL},
    {"--ssl-version default",
     {"--cert", "c", "--ssl-version", "default", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c", "/home/u/c") "      plain: allow\n" TO("h:1"),
     NULL},
    {"--ssl-version tlsv1_2",
     {"--cert", "c", "--ssl-version", "tlsv1_2", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c",
                       "/home/u/c") "      plain: allow\n      min_version: \"1.2\"\n" TO("h:1"),
     NULL},
    {"--ssl-version tlsv1_3",
     {"--cert", "c", "--ssl-version=tlsv1_3", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c",
                       "/home/u/c") "      plain: allow\n      min_version: \"1.3\"\n" TO("h:1"),
     NULL},
    {"--ssl-version tlsv1_1",
     {"--cert", "c", "--ssl-version", "tlsv1_1", "6080", "h:1"},
     false,
     NULL,
     "--ssl-version tlsv1_1: wsbridge speaks TLS 1.2 and 1.3 only; use tlsv1_2 or leave the "
     "option out"},
    {"--ssl-version sslv3",
     {"--ssl-version", "sslv3", "6080", "h:1"},
     false,
     NULL,
     "--ssl-version: one of default, tlsv1_1, tlsv1_2, tlsv1_3"},
    {"--ssl-version without TLS",
     {"--ssl-version", "tlsv1_3", "6080", "h:1"},
     false,
     HEAD
     "# --ssl-ciphers, --ssl-version: unused without a certificate, as in websockify\n" L6080 TO(
         "h:1"),
     NULL},
    {"--ssl-ciphers",
     {"--cert", "c", "--ssl-ciphers", "HIGH:!aNULL", "6080", "h:1"},
     false,
     HEAD TLS6080 CERT("/home/u/c", "/home/u/c") "      plain: allow\n"
                                                 "      ciphers: \"HIGH:!aNULL\"\n" TO("h:1"),
     NULL},
    {"--ssl-ciphers empty",
     {"--cert", "c", "--ssl-ciphers", "", "6080", "h:1"},
     false,
     NULL,
     "--ssl-ciphers: empty cipher list"},
    {"--ssl-ciphers without TLS",
     {"--ssl-ciphers", "HIGH", "6080", "h:1"},
     false,
     HEAD
     "# --ssl-ciphers, --ssl-version: unused without a certificate, as in websockify\n" L6080 TO(
         "h:1"),
     NULL},
    {"--unix-listen",
     {"--unix-listen", "/run/ws.sock", "h:1"},
     false,
     HEAD "listen:\n  - address: \"unix:/run/ws.sock\"\n    mode: \"0600\"\n" TO("h:1"),
     NULL},
    {"--unix-listen relative, --unix-listen-mode",
     {"--unix-listen", "ws.sock", "--unix-listen-mode", "750", "h:1"},
     false,
     HEAD "listen:\n  - address: \"unix:/home/u/ws.sock\"\n    mode: \"0750\"\n" TO("h:1"),
     NULL},
    {"--unix-listen in the web folder",
     {"--web", "/srv", "--unix-listen", "a/ws.sock", "h:1"},
     false,
     HEAD "listen:\n  - address: \"unix:/srv/a/ws.sock\"\n    mode: \"0600\"\n"
          "web_root: \"/srv\"\n" TO("h:1"),
     NULL},
    {"--unix-listen with TLS",
     {"--unix-listen", "/s", "--cert", "/c", "h:1"},
     false,
     HEAD "listen:\n  - address: \"unix:/s\"\n    mode: \"0600\"\n    tls:\n" CERT(
         "/c", "/c") "      plain: allow\n" TO("h:1"),
     NULL},
    {"--unix-listen-mode 0o644",
     {"--unix-listen", "/s", "--unix-listen-mode", "0o644", "h:1"},
     false,
     HEAD "listen:\n  - address: \"unix:/s\"\n    mode: \"0644\"\n" TO("h:1"),
     NULL},
    {"--unix-listen-mode 8",
     {"--unix-listen", "/s", "--unix-listen-mode", "8", "h:1"},
     false,
     NULL,
     "--unix-listen-mode \"8\": not an octal mode up to 777"},
    {"--unix-listen-mode 1000",
     {"--unix-listen", "/s", "--unix-listen-mode", "1000", "h:1"},
     false,
     NULL,
     "--unix-listen-mode \"1000\": not an octal mode up to 777"},
    {"--unix-listen-mode alone",
     {"--unix-listen-mode", "x", "6080", "h:1"},
     false,
     HEAD "# --unix-listen-mode: unused without --unix-listen, as in websockify\n" L6080 TO("h:1"),
     NULL},
    {"--unix-listen and a source",
     {"--unix-listen", "/s", "6080", "h:1"},
     false,
     NULL,
     "target \"6080\": not host:port"},
    {"--unix-target",
     {"--unix-target", "/run/vnc.sock", "6080"},
     false,
     PLAIN("unix:/run/vnc.sock"),
     NULL},
    {"--unix-target relative",
     {"--unix-target", "vnc.sock", "6080"},
     false,
     PLAIN("unix:/home/u/vnc.sock"),
     NULL},
    {"--unix-target in the web folder",
     {"--web", "w/", "--unix-target", "vnc.sock", "6080"},
     false,
     HEAD L6080 "web_root: \"/home/u/w\"\n" TO("unix:/home/u/w/vnc.sock"),
     NULL},
    {"--unix-target and a target",
     {"--unix-target", "/s", "6080", "h:1"},
     false,
     NULL,
     "unexpected argument \"h:1\""},
    {"--unix-target --ssl-target",
     {"--unix-target", "/s", "--ssl-target", "6080"},
     false,
     HEAD "# --ssl-target: unused with --unix-target, as in websockify\n" L6080 TO("unix:/s"),
     NULL},
    {"--inetd",
     {"--inetd", "h:1"},
     false,
     NULL,
     "--inetd: wsbridge opens its own listening socket; give [source_addr:]source_port or "
     "--unix-listen FILE"},
    {"--web",
     {"--web", "/usr/share/novnc", "6080", "localhost:5901"},
     false,
     HEAD L6080 "web_root: \"/usr/share/novnc\"\n" TO("localhost:5901"),
     NULL},
    {"--web normalized",
     {"--web", "./a//b/../c/", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/home/u/a/c\"\n" TO("h:1"),
     NULL},
    {"--web past the root",
     {"--web", "/../../x", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/x\"\n" TO("h:1"),
     NULL},
    {"--web with two slashes",
     {"--web", "//srv/w", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"//srv/w\"\n" TO("h:1"),
     NULL},
    {"--web empty", {"--web", "", "6080", "h:1"}, false, PLAIN("h:1"), NULL},
    {"--web-auth without a plugin",
     {"--web", "/w", "--web-auth", "6080", "h:1"},
     false,
     NULL,
     "--web-auth: needs --auth-plugin"},
    {"--web-auth without --web",
     {"--auth-plugin", "ExpectOrigin", "--auth-source", "https://a", "--web-auth", "6080", "h:1"},
     false,
     NULL,
     "--web-auth: needs --web"},
    {"--web-auth",
     {"--auth-plugin", "ExpectOrigin", "--auth-source", "https://a", "--web", "/w", "--web-auth",
      "6080", "h:1"},
     false,
     NULL,
     "--web-auth: wsbridge does not put files behind an auth plugin; use auth_file (Basic "
     "auth) on a route in a route file"},
    {"--file-only",
     {"--file-only", "--web", "/w", "6080", "h:1"},
     false,
     HEAD "# --file-only: no effect: wsbridge never lists folders\n" L6080
          "web_root: \"/w\"\n" TO("h:1"),
     NULL},
    {"wrap mode",
     {"6080", "--", "vncserver", ":1"},
     false,
     NULL,
     "-- COMMAND: wsbridge does not start programs; start it yourself (a systemd unit, say) on "
     "its own port and give target_addr:target_port"},
    {"wrap mode after a target",
     {"6080", "h:1", "--"},
     false,
     NULL,
     "-- COMMAND: wsbridge does not start programs; start it yourself (a systemd unit, say) on "
     "its own port and give target_addr:target_port"},
    {"-- before the arguments",
     {"--", "6080", "h:1"},
     false,
     NULL,
     "-- COMMAND: wsbridge does not start programs; start it yourself (a systemd unit, say) on "
     "its own port and give target_addr:target_port"},
    {"--wrap-mode",
     {"--wrap-mode", "respawn", "6080", "h:1"},
     false,
     HEAD "# --wrap-mode: unused without a command to wrap\n" L6080 TO("h:1"),
     NULL},
    {"--wrap-mode bad",
     {"--wrap-mode", "again", "6080", "h:1"},
     false,
     NULL,
     "--wrap-mode: one of exit, ignore, respawn"},
    {"-6", {"-6", "6080", "h:1"}, false, HEAD "listen:\n  - \"[::]:6080\"\n" TO("h:1"), NULL},
    {"--prefer-ipv6",
     {"--prefer-ipv6", ":6080", "h:1"},
     false,
     HEAD "listen:\n  - \"[::]:6080\"\n" TO("h:1"),
     NULL},
    {"-6 with a source address",
     {"-6", "127.0.0.1:6080", "h:1"},
     false,
     HEAD "# -6: no effect with a source address or Unix socket given\n"
          "listen:\n  - \"127.0.0.1:6080\"\n" TO("h:1"),
     NULL},
    {"--libserver",
     {"--libserver", "6080", "h:1"},
     false,
     NULL,
     "--libserver: wsbridge has one server engine; leave the option out"},
    {"--target-config",
     {"--target-config", "/etc/tokens", "6080"},
     false,
     HEAD L6080 TOKENS("/etc/tokens"),
     NULL},
    {"--target-config is made absolute first",
     {"--web", "/w", "--target-config", "t", "6080"},
     false,
     HEAD L6080 "web_root: \"/w\"\n" TOKENS("/home/u/t"),
     NULL},
    {"--target-config over --token-plugin",
     {"--token-plugin", "JSONTokenApi", "--target-config", "t", "6080"},
     false,
     HEAD L6080 TOKENS("/home/u/t"),
     NULL},
    {"--token-plugin TokenFile",
     {TP, "/etc/websockify/tokens/", "6080"},
     false,
     HEAD L6080 TOKENS("/etc/websockify/tokens/"),
     NULL},
    {"--token-plugin ReadOnlyTokenFile",
     {"--token-plugin", "ReadOnlyTokenFile", "--token-source", "/t", "6080"},
     false,
     HEAD L6080 TOKENS("/t"),
     NULL},
    {"--token-plugin with its module",
     {"--token-plugin", "websockify.token_plugins.TokenFile", "--token-source", "/t", "6080"},
     false,
     HEAD L6080 TOKENS("/t"),
     NULL},
    {"--token-source in the web folder",
     {"--web", "/w", TP, "tok", "6080"},
     false,
     HEAD L6080 "web_root: \"/w\"\n" TOKENS("/w/tok"),
     NULL},
    {"--token-source relative",
     {TP, "a/../tok", "6080"},
     false,
     HEAD L6080 TOKENS("/home/u/a/../tok"),
     NULL},
    {"--token-plugin and a target",
     {TP, "/t", "6080", "h:1"},
     false,
     NULL,
     "unexpected argument \"h:1\""},
    {"--token-plugin without a source",
     {"--token-plugin", "TokenFile", "6080"},
     false,
     NULL,
     "--token-plugin: needs --token-source FILE_OR_FOLDER"},
    {"--token-source without a plugin",
     {"--token-source", "/t", "6080", "h:1"},
     false,
     NULL,
     "--token-source: needs --token-plugin"},
    {"--token-source with --target-config",
     {"--target-config", "/t", "--token-source", "/u", "6080"},
     false,
     NULL,
     "--token-source: needs --token-plugin"},
    {"--token-plugin TokenFileName",
     {"--token-plugin", "TokenFileName", "--token-source", "/d", "6080"},
     false,
     NULL,
     "--token-plugin TokenFileName: wsbridge reads no file per token; write \"TOKEN: "
     "host:port\" lines into token files and use TokenFile"},
    {"--token-plugin UnixDomainSocketDirectory",
     {"--token-plugin", "UnixDomainSocketDirectory", "--token-source", "/d", "6080"},
     false,
     NULL,
     "--token-plugin UnixDomainSocketDirectory: wsbridge does not scan a folder of sockets; "
     "write \"TOKEN: unix_socket:/path\" lines into token files and use TokenFile"},
    {"--token-plugin TokenRedis",
     {"--token-plugin", "TokenRedis", "--token-source", "r", "6080"},
     false,
     NULL,
     "--token-plugin TokenRedis: wsbridge reads token files only (TokenFile, ReadOnlyTokenFile)"},
    {"--token-plugin and --unix-target",
     {TP, "/t", "--unix-target", "/s", "6080"},
     false,
     NULL,
     "--unix-target: websockify would send every token to this socket; give --unix-target or "
     "a token plugin, not both"},
    {"--token-plugin and --ssl-target",
     {TP, "/t", "--ssl-target", "6080"},
     false,
     NULL,
     "--ssl-target: wsbridge does not reach token targets over TLS yet; leave it out or use one "
     "target_addr:target_port"},
    {"--host-token",
     {"--host-token", TP, "/t", "6080"},
     false,
     HEAD L6080 TOKENS("/t") "    token_from: host\n",
     NULL},
    {"--host-token without a plugin",
     {"--host-token", "6080", "h:1"},
     false,
     NULL,
     "--host-token: needs --token-plugin"},
    {"--host-token with --target-config",
     {"--host-token", "--target-config", "/t", "6080"},
     false,
     NULL,
     "--host-token: needs --token-plugin"},
    {"--auth-plugin ExpectOrigin",
     {"--auth-plugin", "ExpectOrigin", "--auth-source", " https://a.example  http://b:8080 ",
      "6080", "h:1"},
     false,
     PLAIN("h:1") "    origins:\n      - \"https://a.example\"\n      - \"http://b:8080\"\n"
                  "    allow_no_origin: false\n",
     NULL},
    {"--auth-plugin ExpectOrigin without a source",
     {"--auth-plugin", "ExpectOrigin", "6080", "h:1"},
     false,
     NULL,
     "--auth-plugin ExpectOrigin: needs --auth-source with the allowed origins"},
    {"--auth-plugin ExpectOrigin with *",
     {"--auth-plugin", "ExpectOrigin", "--auth-source", "*", "6080", "h:1"},
     false,
     NULL,
     "--auth-source: \"*\" is a literal origin to websockify but a wildcard to wsbridge; list "
     "the origins"},
    {"--auth-plugin BasicHTTPAuth",
     {"--auth-plugin", "BasicHTTPAuth", "--auth-source", "u:p", "6080", "h:1"},
     false,
     NULL,
     "--auth-plugin BasicHTTPAuth: wsbridge takes no Python plugins; use auth_file (Basic auth "
     "with crypt(3) hashes), origins, or allow and deny on a route in a route file "
     "(ExpectOrigin is understood)"},
    {"--auth-source without a plugin",
     {"--auth-source", "x", "6080", "h:1"},
     false,
     NULL,
     "--auth-source: needs --auth-plugin"},
    {"--heartbeat 30",
     {"--heartbeat", "30", "6080", "h:1"},
     false,
     HEAD L6080 "heartbeat:\n  interval: 30s\n  timeout: 30s\n" TO("h:1"),
     NULL},
    {"--heartbeat 5",
     {"--heartbeat", "5", "6080", "h:1"},
     false,
     HEAD L6080 "heartbeat:\n  interval: 5s\n  timeout: 5s\n" TO("h:1"),
     NULL},
    {"--heartbeat 0", {"--heartbeat", "0", "6080", "h:1"}, false, PLAIN("h:1"), NULL},
    {"--heartbeat octal as optparse",
     {"--heartbeat", "010", "6080", "h:1"},
     false,
     HEAD L6080 "heartbeat:\n  interval: 8s\n  timeout: 8s\n" TO("h:1"),
     NULL},
    {"--heartbeat hex as optparse",
     {"--heartbeat", "0x1e", "6080", "h:1"},
     false,
     HEAD L6080 "heartbeat:\n  interval: 30s\n  timeout: 30s\n" TO("h:1"),
     NULL},
    {"--heartbeat largest",
     {"--heartbeat", "4294967", "6080", "h:1"},
     false,
     HEAD L6080 "heartbeat:\n  interval: 4294967s\n  timeout: 4294967s\n" TO("h:1"),
     NULL},
    {"--heartbeat too large",
     {"--heartbeat", "4294968", "6080", "h:1"},
     false,
     NULL,
     "--heartbeat \"4294968\": not a whole number of seconds up to 4294967"},
    {"--heartbeat negative",
     {"--heartbeat", "-5", "6080", "h:1"},
     false,
     NULL,
     "--heartbeat \"-5\": not a whole number of seconds up to 4294967"},
    {"--heartbeat 09",
     {"--heartbeat", "09", "6080", "h:1"},
     false,
     NULL,
     "--heartbeat \"09\": not a whole number of seconds up to 4294967"},
    {"--log-file",
     {"--log-file", "ws.log", "6080", "h:1"},
     false,
     HEAD L6080 "log:\n  target: file\n  file: \"/home/u/ws.log\"\n" TO("h:1"),
     NULL},
    {"--log-file -v",
     {"--log-file", "/var/log/ws.log", "-v", "6080", "h:1"},
     false,
     HEAD L6080 "log:\n  target: file\n  file: \"/var/log/ws.log\"\n  level: debug\n" TO("h:1"),
     NULL},
    {"--syslog /dev/log",
     {"--syslog", "/dev/log", "6080", "h:1"},
     false,
     HEAD L6080 "log:\n  target: syslog\n" TO("h:1"),
     NULL},
    {"--syslog host:port",
     {"--syslog", "logs:514", "6080", "h:1"},
     false,
     NULL,
     "--syslog logs:514: wsbridge logs to the local syslog only; use --syslog /dev/log and let "
     "the syslog daemon forward"},
    {"--log-file and --syslog",
     {"--log-file", "f", "--syslog", "/dev/log", "6080", "h:1"},
     false,
     NULL,
     "--log-file and --syslog: wsbridge logs to one place; keep one"},
    {"--legacy-syslog",
     {"--syslog", "/dev/log", "--legacy-syslog", "6080", "h:1"},
     false,
     HEAD "# --legacy-syslog: no effect: the local syslog daemon writes the format\n" L6080
          "log:\n  target: syslog\n" TO("h:1"),
     NULL},
    {"--legacy-syslog alone",
     {"--legacy-syslog", "6080", "h:1"},
     false,
     NULL,
     "--legacy-syslog: needs --syslog"},

    /* quoting and text */
    {"quotes, backslashes, controls",
     {"--web", "/a \"b\" \\c\n\x7f", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/a \\\"b\\\" \\\\c\\x0a\\x7f\"\n" TO("h:1"),
     NULL},
    {"line separators and BOM",
     {"--web", "/\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\xc2\x85", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/\\u2028\\u2029\\ufeff\\x85\"\n" TO("h:1"),
     NULL},
    {"UTF-8 kept",
     {"--web", "/caf\xc3\xa9/\xf0\x9f\x98\x80", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/caf\xc3\xa9/\xf0\x9f\x98\x80\"\n" TO("h:1"),
     NULL},
    {"YAML-looking text",
     {"--web", "/x: [y, {z}] # c", "6080", "h:1"},
     false,
     HEAD L6080 "web_root: \"/x: [y, {z}] # c\"\n" TO("h:1"),
     NULL},
    {"not UTF-8",
     {"--web", "/\xff", "6080", "h:1"},
     false,
     NULL,
     "--web: not UTF-8 (a route file is UTF-8 text)"},
};

#define TEST_N_CASES (sizeof(test_cases) / sizeof(test_cases[0]))

/* The keys wsargs_yaml.h names, as paths: "" is the top level. */
static const char *const test_keys[] = {
    "/listen",
    "/web_root",
    "/heartbeat",
    "/log",
    "/routes",
    "/listen[]/address",
    "/listen[]/mode",
    "/listen[]/tls",
    "/listen[]/tls/cert",
    "/listen[]/tls/key",
    "/listen[]/tls/plain",
    "/listen[]/tls/verify_client",
    "/listen[]/tls/ca",
    "/listen[]/tls/min_version",
    "/listen[]/tls/ciphers",
    "/heartbeat/interval",
    "/heartbeat/timeout",
    "/log/target",
    "/log/file",
    "/log/level",
    "/log/traffic",
    "/routes[]/path",
    "/routes[]/target",
    "/routes[]/tokens",
    "/routes[]/token_from",
    "/routes[]/origins",
    "/routes[]/allow_no_origin",
};

static bool test_wsargs_known_key(const char *path)
{
    for (size_t i = 0; i < sizeof(test_keys) / sizeof(test_keys[0]); i++)
        if (strcmp(test_keys[i], path) == 0)
            return true;
    return false;
}

/* Walks the node that starts with <first> (taken over) in <p>'s event stream, checking
 * every mapping key against test_keys under <path> (256 bytes). Returns the number of
 * mapping keys seen. */
static int test_wsargs_walk(yaml_parser_t *p, yaml_event_t *first, char *path)
{
    yaml_event_type_t type = first->type;
    size_t len = strlen(path);
    yaml_event_t ev;
    int keys = 0;

    ck_assert(type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT ||
              type == YAML_SCALAR_EVENT);
    yaml_event_delete(first);
    if (type == YAML_SCALAR_EVENT)
        return 0;
    if (type == YAML_SEQUENCE_START_EVENT)
        snprintf(path + len, 256 - len, "[]");
    for (;;) {
        ck_assert_int_eq(yaml_parser_parse(p, &ev), 1);
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (type == YAML_MAPPING_START_EVENT) {
            ck_assert_int_eq(ev.type, YAML_SCALAR_EVENT);
            snprintf(path + len, 256 - len, "/%s", (const char *)ev.data.scalar.value);
            ck_assert_msg(test_wsargs_known_key(path), "unknown key %s", path);
            yaml_event_delete(&ev);
            ck_assert_int_eq(yaml_parser_parse(p, &ev), 1);
            keys++;
        }
        keys += test_wsargs_walk(p, &ev, path);
        if (type == YAML_MAPPING_START_EVENT)
            path[len] = '\0';
    }
    yaml_event_delete(&ev);
    path[len] = '\0';
    return keys;
}

/* <yaml> parses as one document, a mapping with only known keys and a routes list. */
static void test_wsargs_check_structure(const char *yaml)
{
    yaml_parser_t p;
    yaml_event_t ev;
    char path[256] = "";

    ck_assert_int_eq(yaml_parser_initialize(&p), 1);
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
    for (int i = 0; i < 2; i++) { /* stream start, document start */
        ck_assert_int_eq(yaml_parser_parse(&p, &ev), 1);
        yaml_event_delete(&ev);
    }
    ck_assert_int_eq(yaml_parser_parse(&p, &ev), 1);
    ck_assert_int_eq(ev.type, YAML_MAPPING_START_EVENT);
    ck_assert_int_gt(test_wsargs_walk(&p, &ev, path), 3);
    ck_assert_int_eq(yaml_parser_parse(&p, &ev), 1);
    ck_assert_int_eq(ev.type, YAML_DOCUMENT_END_EVENT);
    yaml_event_delete(&ev);
    ck_assert_msg(strstr(yaml, "\nroutes:\n  - path: \"/*\"\n") != NULL, "%s", yaml);
    yaml_parser_delete(&p);
}

START_TEST(test_wsargs_cases_table)
{
    const struct wa_case *c = &test_cases[_i];
    struct wsargs_env env = {.cwd = CWD, .default_cert_exists = c->self_pem};
    char *argv[ARGS_MAX], err[WSARGS_ERROR_MAX], yaml[4096];
    struct wsargs w;
    int argc = 0, rc;
    size_t n;

    while (c->argv[argc] != NULL) {
        argv[argc] = (char *)c->argv[argc];
        argc++;
    }
    memset(err, 0, sizeof(err));
    rc = wsargs_parse(argc, argv, &env, &w, err, sizeof(err));
    if (c->error != NULL) {
        ck_assert_msg(rc == -1, "%s: accepted", c->name);
        ck_assert_msg(strcmp(err, c->error) == 0, "%s: error\n%s\nwant\n%s", c->name, err,
                      c->error);
        return;
    }
    ck_assert_msg(rc == 0, "%s: refused: %s", c->name, err);
    if (c->yaml[0] == '\0') {
        ck_assert_msg(w.help, "%s: no help", c->name);
        return;
    }
    ck_assert(!w.help);
    ck_assert_int_eq(w.print_config, strcmp(c->argv[0], "--print-config") == 0);
    n = wsargs_yaml_write(&w, yaml, sizeof(yaml));
    ck_assert_uint_lt(n, sizeof(yaml));
    ck_assert_msg(strcmp(yaml, c->yaml) == 0, "%s: YAML\n%s\nwant\n%s", c->name, yaml, c->yaml);
    test_wsargs_check_structure(yaml);
    /* too little room: the same text cut, the length still the whole */
    for (size_t cap = 0; cap <= n + 1; cap += 7) {
        char part[4096];
        memset(part, 'x', sizeof(part));
        ck_assert_uint_eq(wsargs_yaml_write(&w, cap ? part : NULL, cap), n);
        if (cap > 0) {
            ck_assert_uint_eq(strlen(part), cap - 1 < n ? cap - 1 : n);
            ck_assert_int_eq(memcmp(part, yaml, strlen(part)), 0);
        }
    }
}
END_TEST

START_TEST(test_wsargs_env)
{
    static const char *const bad[] = {NULL, "", "home/u", "/\xff"};
    char *argv[] = {"6080", "h:1"}, err[WSARGS_ERROR_MAX];
    struct wsargs w;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wsargs_env env = {.cwd = bad[i]};
        ck_assert_int_eq(wsargs_parse(2, argv, &env, &w, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "working folder: not an absolute UTF-8 path");
    }
    ck_assert_int_eq(wsargs_parse(2, argv, NULL, &w, err, sizeof(err)), -1);
    /* the root as the working folder: no double slash */
    {
        struct wsargs_env env = {.cwd = "/"};
        char *a[] = {"--web", "w", "--unix-target", "s", "6080"}, yaml[1024];
        ck_assert_int_eq(wsargs_parse(5, a, &env, &w, err, sizeof(err)), 0);
        wsargs_yaml_write(&w, yaml, sizeof(yaml));
        ck_assert_msg(strstr(yaml, "web_root: \"/w\"\n") != NULL, "%s", yaml);
        ck_assert_msg(strstr(yaml, "target: \"unix:/w/s\"\n") != NULL, "%s", yaml);
    }
}
END_TEST

/* Any UTF-8 string, quoted, reads back through libyaml as itself. */
START_TEST(test_wsargs_quote_roundtrip)
{
    static const char *const strings[] = {
        "",
        "plain",
        "a \"b\" \\c",
        "\t\n\r\x01\x1f\x7f",
        "\xc2\x80\xc2\x85\xc2\x9f\xc2\xa0",
        "\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd",
        "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
        "- [a]: {b} # c & *d !e %f @g `h",
        "  leading and trailing  ",
        "~",
        "null",
        "yes",
        "0777",
    };
    char quoted[512], doc[600];
    yaml_parser_t p;
    yaml_event_t ev;

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        size_t n = wsargs_yaml_quote(strings[i], strlen(strings[i]), quoted, sizeof(quoted));
        ck_assert_uint_lt(n, sizeof(quoted));
        snprintf(doc, sizeof(doc), "k: %s\n", quoted);
        ck_assert_int_eq(yaml_parser_initialize(&p), 1);
        yaml_parser_set_input_string(&p, (const unsigned char *)doc, strlen(doc));
        for (int k = 0; k < 4; k++) { /* stream, document, mapping, key */
            ck_assert_msg(yaml_parser_parse(&p, &ev) == 1, "row %zu: %s", i, p.problem);
            yaml_event_delete(&ev);
        }
        ck_assert_msg(yaml_parser_parse(&p, &ev) == 1, "row %zu: %s", i, p.problem);
        ck_assert_int_eq(ev.type, YAML_SCALAR_EVENT);
        ck_assert_uint_eq(ev.data.scalar.length, strlen(strings[i]));
        ck_assert_int_eq(memcmp(ev.data.scalar.value, strings[i], strlen(strings[i])), 0);
        ck_assert_int_eq(ev.data.scalar.style, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        yaml_event_delete(&ev);
        yaml_parser_delete(&p);
    }
}
END_TEST

/* Every option of websockify 0.13's optparse. */
static const char *const test_websockify_options[] = {
    "--verbose",
    "-v",
    "--traffic",
    "--record",
    "--daemon",
    "-D",
    "--run-once",
    "--timeout",
    "--idle-timeout",
    "--cert",
    "--key",
    "--key-password",
    "--ssl-only",
    "--ssl-target",
    "--verify-client",
    "--cafile",
    "--ssl-version",
    "--ssl-ciphers",
    "--unix-listen",
    "--unix-listen-mode",
    "--unix-target",
    "--inetd",
    "--web",
    "--web-auth",
    "--wrap-mode",
    "--prefer-ipv6",
    "-6",
    "--libserver",
    "--target-config",
    "--token-plugin",
    "--token-source",
    "--host-token",
    "--auth-plugin",
    "--auth-source",
    "--heartbeat",
    "--log-file",
    "--syslog",
    "--legacy-syslog",
    "--file-only",
    "--help",
    "-h",
};

/* The migration table has a row for every option, and wsargs knows each one. */
START_TEST(test_wsargs_migration_table)
{
    const char *dir = getenv("WSB_SRCDIR");
    char path[1024], *text, needle[64], err[WSARGS_ERROR_MAX];
    struct wsargs_env env = {.cwd = CWD};
    struct wsargs w;
    FILE *f;
    long len;

    snprintf(path, sizeof(path), "%s/tests/unit/data/wsargs/migration.md", dir ? dir : ".");
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    for (size_t i = 0; i < sizeof(test_websockify_options) / sizeof(test_websockify_options[0]);
         i++) {
        const char *o = test_websockify_options[i];
        char *argv[] = {(char *)o, "1", "6080", "h:1"};
        snprintf(needle, sizeof(needle), "| `%s", o);
        if (strstr(text, needle) == NULL) {
            snprintf(needle, sizeof(needle), ", `%s", o);
            ck_assert_msg(strstr(text, needle) != NULL, "%s has no row in migration.md", o);
        }
        /* known: the error, if any, is not about the option's name */
        if (wsargs_parse(4, argv, &env, &w, err, sizeof(err)) != 0)
            ck_assert_msg(strstr(err, "unknown option") == NULL && strstr(err, "ambiguous") == NULL,
                          "%s: %s", o, err);
    }
    free(text);
}
END_TEST

/* <srcdir>/<name>, whole, NUL-terminated. */
static char *test_wsargs_read(const char *name)
{
    const char *dir = getenv("WSB_SRCDIR");
    char path[1024], *text;
    FILE *f;
    long len;

    snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

/* README.md holds the migration table row for row, as one block: the user reads the
 * same table that test_wsargs_migration_table checks against the parser. */
START_TEST(test_wsargs_readme_table)
{
    char *readme = test_wsargs_read("README.md");
    char *table = test_wsargs_read("tests/unit/data/wsargs/migration.md");
    char *block = calloc(1, strlen(table) + 1), *at;
    size_t n = 0, rows = 0;

    ck_assert_ptr_nonnull(block);
    for (const char *line = table; *line != '\0';) {
        const char *end = strchrnul(line, '\n');
        size_t len = (size_t)(end - line) + (*end == '\n');
        if (line[0] == '|') {
            memcpy(block + n, line, len);
            n += len;
            rows++;
        }
        line += len;
    }
    ck_assert_uint_gt(rows, 40);
    at = strstr(readme, block);
    ck_assert_msg(at != NULL, "README.md does not hold the %zu rows of migration.md as they are",
                  rows);
    ck_assert_msg(at == readme || at[-1] == '\n', "the table starts mid-line in README.md");
    free(block);
    free(table);
    free(readme);
}
END_TEST

static Suite *test_wsargs_suite(void)
{
    Suite *s = suite_create("wsargs");
    TCase *tc = tcase_create("wsargs");

    tcase_add_loop_test(tc, test_wsargs_cases_table, 0, (int)TEST_N_CASES);
    tcase_add_test(tc, test_wsargs_env);
    tcase_add_test(tc, test_wsargs_quote_roundtrip);
    tcase_add_test(tc, test_wsargs_migration_table);
    tcase_add_test(tc, test_wsargs_readme_table);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(test_wsargs_suite)
