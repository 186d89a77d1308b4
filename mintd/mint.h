/* mint.h: the minting cycle: stream and sweep -> claim -> plan -> write-ahead -> flight -> settle. */
#ifndef MINTD_MINT_H
#define MINTD_MINT_H

#include <stdbool.h>

#include "err.h"
#include "keypair.h"
#include "rpcm.h"

/* Connects to PostgreSQL (required) and Redis (optional: retried), and starts recovery. */
int mint_start(const char *db_url, const char *redis_url, struct rpcm *rpc, struct kp *authority, struct err *e) WUR;
void mint_stop(void);

/* One step of the loop; call every few milliseconds. Returns the milliseconds until it wants to run again. */
int mint_tick(void);

/* Control (from ingestd through PostgreSQL NOTIFY, or a signal). */
void mint_trigger(void);
void mint_set_auto(bool on);
/* SIGTERM: take no new work; release claims; keep resolving what is in flight. */
void mint_drain(void);
/* True when draining and nothing of ours is in flight. */
bool mint_drained(void);
/* An operator acknowledged a halt (control notification): re-read the halt state now. */
void mint_halt_changed(void);
/* Connected, recovered and willing to take work; else why not (one line, static storage). */
bool mint_ready(void);
const char *mint_not_ready_why(void);

#endif
