/* sdnotify.h: the systemd notify protocol (READY=1, STOPPING=1, WATCHDOG=1) without libsystemd. */
#ifndef GTX_SDNOTIFY_H
#define GTX_SDNOTIFY_H

#include <stdint.h>

#include "err.h"

/*
 * Sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET. Returns 1 when sent, 0
 * when NOTIFY_SOCKET is unset (not under systemd), -1 on failure.
 */
int sdn_notify(const char *state, struct err *e) WUR;

/*
 * The watchdog interval in microseconds from $WATCHDOG_USEC (honouring
 * $WATCHDOG_PID), or 0 when no watchdog is requested. Send WATCHDOG=1 at
 * about half this interval.
 */
uint64_t sdn_watchdog_usec(void);

#endif
