/*
 * static.h - files from the web root for plain HTTP requests (GET and HEAD): opened
 * beneath the root, following only symlinks that stay inside it, answered with
 * Content-Type, validators and 304s. The file itself is handed to the caller, which sends it (filebody.c);
 * reading request heads and keeping connections alive is httpconn.c's job.
 */
#ifndef WSB_STATIC_H
#define WSB_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http_req.h"

#define STATIC_MIME_TYPES_FILE "/etc/mime.types" /* Debian's media-types */

struct evbuffer;
struct mime_table;

struct static_root {
    int dir_fd;              /* the web root (O_PATH); every file is opened beneath it */
    struct mime_table *mime; /* from the mime.types file; NULL: built-in types only */
    bool walk;               /* no openat2 here: open component by component instead,
                              * resolving symlinks by hand */
};

/* The body of an answer: the file to send after the head static_serve wrote. */
struct static_body {
    int fd;     /* open for reading; the caller's to send and close. -1: no body to send */
    off_t size; /* its bytes, as the head's Content-Length says */
};

/* Opens web root <dir> and reads <mime_file> (NULL, or a missing or unreadable file:
 * built-in types only). The root is held open: renaming it later changes nothing.
 * Returns a new root, or NULL with "what failed: why" in <err>. */
struct static_root *static_root_new(const char *dir, const char *mime_file, char *err,
                                    size_t err_len);

/* Frees <root>; NULL is fine. */
void static_root_free(struct static_root *root);

/* Answers <req> (a complete head that is not a WebSocket upgrade) from <root>: writes
 * the head and any short body to <out>; for a GET of a non-empty file, the file goes
 * to <body> (else body->fd is -1) and the caller must send its body->size bytes next.
 * GET and HEAD only (else 405 with Allow); 301 to add the slash to a folder's path,
 * index.html for a folder, 304 when If-None-Match or If-Modified-Since says the client's
 * copy is current, 400/403/404/414 for paths path.c or the file system refuse.
 * <may_keep> false forces "Connection: close". Logs one line with <peer> and <log_url>,
 * the target as log lines may show it (tokens_log_url: a token may be in it). Returns true
 * if the connection may carry another request (HTTP/1.1 without "Connection: close", or
 * HTTP/1.0 with "Connection: keep-alive", and no body left unread in the input). */
bool static_serve(struct static_root *root, const struct http_req *req, struct evbuffer *out,
                  bool may_keep, const char *peer, const char *log_url, struct static_body *body);


#endif
