/*
 * notify_none.c - notify.h when built without libsystemd: nothing is sent
 * and the watchdog is off.
 */
#include "notify.h"

/* notify_send - built without libsystemd: nothing to send */
void
notify_send(const char *state)
{
	(void)state;
}

/* notify_watchdog_ms - built without libsystemd: no watchdog */
long long
notify_watchdog_ms(void)
{
	return -1;
}
