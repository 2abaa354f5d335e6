/*
 * config.h - the YAML route file as a struct config. config_parse is pure (no I/O: the
 * files the config names are only recorded); config_load reads the file, and
 * config_load_files the files read with it when the running configuration is built.
 * Every default lives in config.c's key table; every error is "FILE:LINE:COL: message"
 * with 1-based line and column.
 */
#ifndef WSB_CONFIG_H
#define WSB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "origin.h"
#include "tokenreq.h"

struct basicauth_users;
struct netlist;
struct redisurl;

#define CONFIG_REALM_MAX 200 /* bytes of a route's auth_realm */

enum route_frames {
    ROUTE_FRAMES_BINARY = 0, /* target bytes go to the client as binary frames */
    ROUTE_FRAMES_TEXT,       /* ... as text frames, whole UTF-8 sequences only */
};

/* One certificate with its key: a TLS listener's default, or one chosen by SNI name.
 * File names are absolute or already joined to the config file's folder. */
struct config_tls_cert {
    char *cert_file;         /* PEM: the certificate, then its chain */
    char *key_file;          /* PEM private key */
    char *key_password_file; /* its first line unlocks the key; NULL: key not encrypted */
    char **names;            /* SNI names ("*.example.com" allowed); "certificates" only */
    size_t n_names;
    unsigned line, column;   /* where its mapping starts, for messages */
};

/* What a TLS listener does with a connection that does not start with a TLS handshake. */
enum config_tls_plain {
    CONFIG_TLS_PLAIN_REFUSE = 0, /* a short 400 saying to use https:// or wss:// */
    CONFIG_TLS_PLAIN_ALLOW,      /* served as plain HTTP, ws and wss on one port */
};

/* The "tls:" mapping of one listener. */
struct config_tls {
    struct config_tls_cert cert;   /* the default certificate (no SNI, or no name matched) */
    struct config_tls_cert *certs; /* "certificates": more, each for its SNI names */
    size_t n_certs;
    char *ca_file;                 /* client certificates are asked for and checked; NULL: none */
    bool verify_client;            /* a client without a valid certificate is refused */
    unsigned min_version;          /* 12 or 13: the lowest TLS 1.x accepted */
    char *ciphers;                 /* OpenSSL cipher list for TLS 1.2; NULL: tls.c's default */
    char *ciphersuites;            /* TLS 1.3 suites; NULL: OpenSSL's */
    bool allow_expired;            /* serve certificates outside their validity dates */
    enum config_tls_plain plain;   /* "plain": plain HTTP on this port refused or served */
    bool session_tickets;          /* resumption by tickets sealed with the process's keys */
    unsigned ticket_key_rotation_ms; /* a new ticket key this often; the previous one still opens */
};

/* What a route puts before its first byte to the target (HAProxy's PROXY protocol). */
enum route_send_proxy {
    ROUTE_SEND_PROXY_OFF = 0, /* nothing: the target's first byte is the client's */
    ROUTE_SEND_PROXY_V1,      /* the v1 text line */
    ROUTE_SEND_PROXY_V2,      /* the v2 binary header */
};

/* "tokens: { jwt: { ... } }": the token is a signed JWT that names the target. */
struct route_jwt {
    char *key_file;      /* PEM public key (ES256, RS256) or raw secret (HS256), joined */
    char *key_file_name; /* as written, for messages */
    unsigned algorithms; /* JWT_ALG_* bits (jwt.h) that tokens may use */
    char *audience;      /* "aud" a token must name; NULL: a token with "aud" is refused */
    unsigned leeway_ms;  /* clock skew allowed on exp and nbf */
    bool require_exp;    /* a token without "exp" is refused */
};

/* A listener's "proxy_protocol": the PROXY protocol header a front proxy sends first (the
 * same numbers as proxyproto.h's modes, which config.c checks). */
enum config_proxy_mode {
    CONFIG_PROXY_NONE = 0, /* no header: the peer is the client */
    CONFIG_PROXY_V1,       /* the text line only */
    CONFIG_PROXY_V2,       /* the binary header only */
    CONFIG_PROXY_ANY,      /* either */
};

/* What a listener expects before a connection's first byte. */
struct config_listen_proxy {
    enum config_proxy_mode mode; /* CONFIG_PROXY_NONE: nothing */
    struct netlist *from;        /* "proxy_from": the peers that may send it (its allow
                                  * list); never NULL unless mode is none */
};

struct route {
    char *path;                 /* as written: "/echo", "/vnc/ *", "/ *" (no space) */
    bool prefix;                /* the path ended in slash-star: a prefix route */
    size_t match_len;           /* bytes of path to compare (without the "*") */
    struct addr target;         /* the fixed target; unset (zero) on a token route */
    char *tokens;               /* a token route: its token file or folder (websockify's
                                 * TokenFile), joined to the config's folder; else NULL */
    struct redisurl *tokens_redis; /* a token route whose tokens are in Redis; else NULL */
    struct route_jwt *tokens_jwt;  /* a token route whose tokens are signed JWTs; else NULL */
    unsigned token_timeout_ms;     /* a Redis lookup's deadline (then 503) */
    enum tokenreq_from token_from; /* a token route: where a request's token is found */
    enum route_frames frames;
    char **subprotocols;        /* required list; NULL: none required, see below */
    size_t n_subprotocols;
    bool subprotocols_none;     /* "subprotocols: none": "binary" when offered, else none;
                                 * false without a list: "binary" when offered, else
                                 * the client's first offer */
    uint64_t max_frame_bytes;   /* 0 = none; client frames above it: close 1009 */
    uint64_t max_message_bytes; /* 0 = none; client messages above it: close 1009 */
    unsigned connect_timeout_ms;
    unsigned idle_timeout_ms;   /* 0 = none */
    char *tls_ca_file;          /* tls:// targets: CAs to trust; NULL: the system's store */
    bool tls_verify;            /* tls:// targets: check the certificate and host name */
    unsigned max_connections;   /* WebSocket clients of this route at once; 0 = no limit */
    struct origin_list *origins; /* Origin allowlist, never NULL: no patterns means
                                  * same-origin (Origin matches Host) */
    bool allow_no_origin;       /* a request without Origin (a non-browser) may proceed */
    struct netlist *nets;       /* allow and deny lists; NULL: every address */
    char *auth_file;            /* htpasswd-style file, joined; NULL: no authentication */
    char *auth_file_name;       /* auth_file as written, for messages; NULL without it */
    struct basicauth_users *users; /* read from auth_file by config_load_files (before it:
                                    * no user, everyone refused); NULL without auth_file */
    char *auth_realm;           /* realm of the 401's WWW-Authenticate */
    enum route_send_proxy send_proxy; /* PROXY header to the target, with the client's
                                       * address and port and the bridge's */
    struct sockaddr_storage *sources; /* "source": local addresses the target connection
                                       * binds to, port 0, one in turn; NULL: the kernel
                                       * chooses. Same family as the (numeric) target */
    size_t n_sources;
    unsigned line, column;      /* where the route starts in the file, for messages */
};

#define CONFIG_SOURCES_MAX 64 /* addresses in a route's "source" */
#define CONFIG_WORKERS_MAX 64 /* "workers" at most, and "auto" capped to it */

/* Where log lines go. config.c keeps its own enums (log.h declares I/O, and this module
 * has none); log_apply in log.c maps them. */
enum config_log_target {
    CONFIG_LOG_STDERR = 0, /* standard error: the journal under systemd */
    CONFIG_LOG_SYSLOG,     /* syslog(3), facility daemon */
    CONFIG_LOG_FILE,       /* appended to log.file, opened again on SIGUSR1 */
};

enum config_log_level {
    CONFIG_LOG_ERROR = 0, /* failures only */
    CONFIG_LOG_WARN,      /* and refused or odd input */
    CONFIG_LOG_INFO,      /* and start, stop, one access line per connection */
    CONFIG_LOG_DEBUG,     /* and per-event detail */
};

enum config_log_format {
    CONFIG_LOG_TEXT = 0, /* "<time> <level> <message>", fields as key=value */
    CONFIG_LOG_JSON,     /* one JSON object per line */
};

enum config_splice {
    CONFIG_SPLICE_AUTO = 0, /* target -> client by splice(2) where it applies */
    CONFIG_SPLICE_OFF,      /* always copy through the bufferevents */
};

/* The "log:" mapping. */
struct config_log {
    enum config_log_target target;
    char *file;                   /* CONFIG_LOG_FILE: joined to the file's folder; else NULL */
    enum config_log_level level;  /* lines above it are dropped */
    enum config_log_format format;
    bool level_set;               /* "level" was written (-v and -q still win over it) */
    bool traffic;                 /* a debug line per WebSocket frame (header only); needs
                                   * level debug */
};

struct config {
    char *file;                      /* the file it came from, as given */
    struct addr *listen;             /* listen addresses (never ADDR_ECHO, never tls://);
                                      * ADDR_UNIX paths joined to the file's folder */
    struct config_tls **listen_tls;  /* n_listen entries: that listener's TLS; NULL: plain */
    unsigned *listen_mode;           /* n_listen entries: an ADDR_UNIX listener's file mode
                                      * ("mode", 0600 by default); 0 for the others */
    struct config_listen_proxy *listen_proxy; /* n_listen entries: its PROXY protocol */
    bool *listen_v6only;             /* n_listen entries: an IPv6 listener takes IPv6 only
                                      * ("v6only", true by default); IPv4 clients of a
                                      * false one come as ::ffff:a.b.c.d */
    size_t n_listen;
    char *web_root;                  /* absolute or relative to the file's folder; NULL: off */
    unsigned heartbeat_interval_ms;  /* 0 = no pings */
    unsigned heartbeat_timeout_ms;   /* no pong or data this long after a ping: close */
    unsigned handshake_timeout_ms;   /* whole request head must arrive within this */
    unsigned connect_timeout_ms;     /* default for routes */
    unsigned idle_timeout_ms;        /* default for routes; 0 = none */
    unsigned close_timeout_ms;       /* wait for the peer's close frame / drain at close */
    unsigned shutdown_timeout_ms;    /* a stopping daemon waits this long for its clients */
    unsigned drain_timeout_ms;       /* after an upgrade (SIGUSR2) the old process lets its
                                      * clients go on this long, then stops; 0: at once */
    uint64_t high_watermark_bytes;   /* pause a source when its sink's output is above */
    uint64_t low_watermark_bytes;    /* resume below this */
    uint64_t max_request_head_bytes; /* HTTP head limit (431) */
    unsigned max_connections;        /* connections at once, upgraded or not; 0 = no limit */
    unsigned max_connections_per_ip; /* ... from one client address; 0 = no limit */
    unsigned keepalive_requests;     /* static answers on one connection, the last with
                                      * "Connection: close" */
    unsigned keepalive_timeout_ms;   /* idle time allowed between requests; 0: no keep-alive */
    unsigned keepalive_time_ms;      /* a kept-alive connection closes at the first request
                                      * boundary after this long */
    unsigned max_pending_per_ip;     /* ... not upgraded yet, from one address; 0 = no limit */
    unsigned per_ip_prefix_v6;       /* IPv6 clients count per prefix of this many bits */
    unsigned fd_reserve;             /* descriptors kept free for admitted connections (or
                                      * 1 % of RLIMIT_NOFILE if more); 0 = no reserve */
    unsigned workers;                /* event-loop threads, 1..CONFIG_WORKERS_MAX; 0 = auto:
                                      * one per online CPU (the daemon decides) */
    bool share_port;                 /* "share_port": SO_REUSEPORT without the "in use"
                                      * probe, so that other processes (other wsbridges
                                      * with this file) accept on the same ports too */
    unsigned auth_threads;           /* password hashing threads, shared by the workers */
    enum config_splice splice;       /* "splice": streamed target bytes on plain ws routes
                                      * (binary, no log.traffic) reach the client by
                                      * splice(2), never copied through user space */
    struct origin_hosts *hosts;      /* Host names served; NULL: any (and none) */
    struct netlist *trusted_proxies; /* reverse proxies whose Forwarded / X-Forwarded-*
                                      * headers name the client (its allow list); NULL:
                                      * none, such headers are ignored */
    struct route *routes;
    size_t n_routes;
    struct addr *admin_listen;       /* admin.listen, plain HTTP; NULL: no admin listener */
    struct config_log log;
};

/* Reads and checks <file>. Returns a new config, or NULL with "FILE:LINE:COL: message"
 * (or "FILE: reason" when the file cannot be read) in <err>. A file name that starts with
 * $CREDENTIALS_DIRECTORY takes the variable from the environment (see config_parse_env).
 * Reads no file but <file>: see config_load_files. */
struct config *config_load(const char *file, char *err, size_t err_len);

/* As config_load, on <len> bytes of YAML at <text> that did not come from a file (the
 * YAML websockify's command line becomes, wsargs_yaml.h); <name> stands for the file in
 * messages ("<command line>"), and its folder, ".", for relative names (wsargs writes
 * none). $CREDENTIALS_DIRECTORY is taken from the environment, as for a file. */
struct config *config_load_text(const char *name, const char *text, size_t len, char *err,
                                size_t err_len);

/* Reads the files <c>'s keys name that belong to the configuration itself, once, when the
 * running configuration is built: each route's auth_file, into its users (basicauth.h).
 * Returns 0, or -1 with "FILE:LINE:COL: AUTHFILE: why" (or "...: AUTHFILE:LINE: why" for
 * a bad line) in <err>, placed at the route; routes read before a failure keep their
 * users, and config_free frees them all. Certificates and keys are tls.c's to read. */
int config_load_files(struct config *c, char *err, size_t err_len);

/* As config_load, on <len> bytes of YAML at <text>; <name> is used in messages and to
 * resolve relative web_root and TLS file names (its folder). No I/O. For tests and
 * fuzzers: $CREDENTIALS_DIRECTORY counts as not set. */
struct config *config_parse(const char *name, const char *text, size_t len, char *err,
                            size_t err_len);

/* As config_parse, with <credentials_dir> the value of $CREDENTIALS_DIRECTORY (NULL: not
 * set). A file-valued key (cert, key, key_password_file, ca, auth_file, log.file) written
 * "$CREDENTIALS_DIRECTORY/NAME" or "${CREDENTIALS_DIRECTORY}/NAME" names NAME in that
 * folder, where systemd puts the files of LoadCredential=. No other variable is expanded:
 * any other file name starting with "$" is an error, as is the variable unset. */
struct config *config_parse_env(const char *name, const char *text, size_t len,
                                const char *credentials_dir, char *err, size_t err_len);

/* Frees <c> and everything it owns; NULL is fine. */
void config_free(struct config *c);

#endif
