/*
 * notify.h - readiness, reload, stop and watchdog messages to the service
 * manager (the sd_notify protocol: NOTIFY_SOCKET, WATCHDOG_USEC), sent by
 * the master.  Without libsystemd at build time they are not sent.
 */
#ifndef MAILAUTH_NOTIFY_H
#define MAILAUTH_NOTIFY_H

/* notify_send - one state string ("READY=1", "RELOADING=1", ...) */
void notify_send(const char *state);

/* notify_watchdog_ms - the interval at which to send WATCHDOG=1 (half of
 * WATCHDOG_USEC), -1 when the watchdog is off */
long long notify_watchdog_ms(void);

#endif
