/*
 * upgrade.h - what the main listeners do with a complete request (an httpconn handler):
 * the Host check, then the WebSocket way for an upgrade or a route's path (RFC 6455
 * handshake, the route's address and Origin rules, the connection limits, the password
 * on the pool) ending in a new wsclient, or the web root for anything else.
 */
#ifndef WSB_UPGRADE_H
#define WSB_UPGRADE_H

#include "httpconn.h"

struct config;

/* The handler of the main listeners' connections (kind "http"); its arg is unused. */
extern const struct httpconn_handler upgrade_handler;

/* Logs what a configuration <c>, just loaded, leaves open to browsers: a warn line for
 * each route that accepts any Origin. At start and after each reload. */
void upgrade_log_access(const struct config *c);

#endif
