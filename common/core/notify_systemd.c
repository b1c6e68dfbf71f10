/*
 * notify_systemd.c - notify.h through libsystemd's sd_notify(3) and
 * sd_watchdog_enabled(3).
 */
#include <systemd/sd-daemon.h>

#include "notify.h"

/* notify_send - sd_notify, the environment kept for a later message */
void
notify_send(const char *state)
{
	(void)sd_notify(0, state);
}

/* notify_watchdog_ms - half the watchdog interval, -1 when off */
long long
notify_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return -1;
	return (long long)(usec / 2000 > 0 ? usec / 2000 : 1);
}
