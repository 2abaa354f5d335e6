/*
 * sdnotify.c - the systemd readiness protocol through libsystemd's sd_notify(3), when
 * configure found libsystemd; a no-op build otherwise, so the daemon runs the same
 * without systemd.
 */
#include "sdnotify.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

#include "log.h"

void sdnotify_send(const char *state)
{
    int r = sd_notify(0, state);

    if (r < 0)
        log_msg(LOG_LEVEL_WARN, "sd_notify %s: error %d", state, -r);
}
#else
void sdnotify_send(const char *state)
{
    (void)state;
}
#endif
