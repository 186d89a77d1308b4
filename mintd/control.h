/* control.h: LISTEN for ingestd's admin requests (trigger a batch, switch auto-mint) on a second connection. */
#ifndef MINTD_CONTROL_H
#define MINTD_CONTROL_H

#include <event2/event.h>

#include "err.h"

#define CONTROL_CHANNEL "gridtokenx_control"

/*
 * Payloads (JSON): {"action":"trigger_batch"}, {"action":"auto_mint","enabled":true|false} and
 * {"action":"halt_acknowledged","halt_id":N} (sent by acknowledge_minting_halt()).
 * Anything else is logged and ignored. A lost notification costs nothing durable: the auto-mint
 * setting is re-read from the settings table at every sweep.
 */
int control_start(struct event_base *base, const char *db_url, struct err *e) WUR;
/* Reconnects when the connection broke (called from the loop). */
void control_check(void);
void control_stop(void);

#endif
