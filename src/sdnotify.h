/*
 * sdnotify.h - tells systemd (Type=notify) when the daemon is ready, reloading or
 * stopping. Uses Debian's libsystemd when the build found it, else does nothing.
 */
#ifndef WSB_SDNOTIFY_H
#define WSB_SDNOTIFY_H

/* Sends <state> ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...") to the service
 * manager if one is listening ($NOTIFY_SOCKET); otherwise does nothing. Never fails the
 * caller: a daemon started by hand has no one to tell. */
void sdnotify_send(const char *state);

#endif
