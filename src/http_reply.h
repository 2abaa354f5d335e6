/*
 * http_reply.h - the bytes of every HTTP answer the daemon gives before or instead of a
 * WebSocket: 101 Switching Protocols and short plain-text errors. No I/O.
 */
#ifndef WSB_HTTP_REPLY_H
#define WSB_HTTP_REPLY_H

#include <stddef.h>

/* Reason phrase for <status> ("Bad Request"), or "Unknown" for a code it does not know. */
const char *http_reply_reason(int status);

/* Writes "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, <accept> and, when
 * not NULL, Sec-WebSocket-Protocol: <subprotocol>. Returns the length, or 0 if <cap> is
 * too small (nothing useful is written then). */
size_t http_reply_101(char *out, size_t cap, const char *accept, const char *subprotocol);

/* Writes a complete error answer: status line, Content-Type: text/plain,
 * Content-Length, Connection: close, the headers a status calls for (426: Upgrade:
 * websocket and Sec-WebSocket-Version: 13; 405: Allow: GET), then a one-line body
 * "<status> <reason>: <detail>\n" (": <detail>" left out when <detail> is NULL; control
 * characters in <detail> are replaced by '?'). Returns the length, or 0 if <cap> is too
 * small. */
size_t http_reply_error(char *out, size_t cap, int status, const char *detail);

/* As http_reply_error, plus <headers> (NULL: none): whole header lines, each ending in
 * CRLF, such as "Retry-After: 1\r\n" or a 401's WWW-Authenticate. They are the caller's
 * text, written as given: never pass client bytes. An "Allow:" line among them replaces
 * the 405's own "Allow: GET" (an endpoint that serves HEAD too). */
size_t http_reply_error_with(char *out, size_t cap, int status, const char *detail,
                             const char *headers);

#endif
