/*
 * tlsticket.h - the process's TLS session ticket keys (RFC 5077, RFC 8446 §4.6.1): made
 * from random bytes when the first TLS context is built, kept by the process for its whole
 * life (a SIGHUP reload builds new contexts but keeps them, so that clients still resume),
 * replaced when the current one is older than the listener's rotation period, the previous
 * one still opening tickets until the next rotation. Shared by every worker thread and every
 * listener under one lock taken once per handshake that makes or opens a ticket. A restart
 * makes new keys: every ticket issued before it is refused (a full handshake follows).
 */
#ifndef WSB_TLSTICKET_H
#define WSB_TLSTICKET_H

#include <openssl/types.h>

/* Makes the keys if the process has none yet. 0, or -1 when the random generator or the
 * cipher lookup failed (OpenSSL's reason left in its error queue). */
int tlsticket_init(void);

/* Has <ctx> seal and open its tickets with the process's keys, a new key every
 * <rotation_s> seconds (a session_tickets listener). Needs tlsticket_init() first. */
void tlsticket_use(SSL_CTX *ctx, unsigned rotation_s);

#endif
