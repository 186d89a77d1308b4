/* alt.h: address lookup tables for v0 mint transactions: created and extended with the token accounts of wallets
 * that mint again, and used only as a finalized read of the chain shows them. */
#ifndef MINTD_ALT_H
#define MINTD_ALT_H

/*
 * Every table is created by mintd's authority and starts with the mint and the RecentBlockhashes sysvar (so
 * a transaction loading its wallets' accounts from one table needs no other), then holds token accounts of
 * wallets whose mint confirmed (they exist, and meters report again). Creating and extending are durable-nonce
 * transactions written ahead (kind table) and decided by flight like mints; the database moves the table and
 * its entries with the verdict (sql/006_lookup_tables.sql).
 *
 * Which index holds which account is taken only from the chain: every table is read at finalized, and only
 * what such a read shows is offered to the planner (alt_table_for). Tables are append-only under our
 * authority, so a finalized prefix never changes; a read that shows another prefix, another authority, a
 * frozen or a deactivating table makes that table unusable for good (a wrong index would mint to another
 * wallet's account). Any transaction landing after a finalized read executes in a later slot than every
 * extension the read shows, so all of its addresses are past their warm-up.
 */

#include <stdbool.h>
#include <stdint.h>

#include "keypair.h"
#include "rpcm.h"
#include "soltx.h"
#include "store.h"

struct alt_gauges {
	int64_t tables;          /* tables the database knows (creating or active) */
	int64_t usable_tables;   /* read back at finalized and usable */
	int64_t accounts;        /* token accounts those reads show */
	int64_t queued, extending, added; /* entries by state */
};

void alt_init(struct store *st, struct rpcm *rpc, struct kp *authority);
/* Starts what is due (never waits): database reloads, finalized reads, queued entries, and (when may_send)
 * one more creation or extension. */
void alt_tick(bool may_send);
/* A mint transaction confirmed: its wallets' token accounts exist; queue those not known to be in a table. */
void alt_minted(const char *const *wallets, size_t n);
/* A table transaction was decided (confirmed at slot, or failed or never landed): reload, read it again. */
void alt_decided(int64_t tx_id, bool confirmed, uint64_t slot);
/* The usable table that holds a token account, or NULL (a plan_table_fn). */
const struct stx_table *alt_table_for(const struct sol_pubkey *account);
/* The gauges; with refresh, the entry counts are queried from the database first. */
const struct alt_gauges *alt_gauges(bool refresh);
/* Forgets everything (shutdown); the tables' memory is freed. */
void alt_clear(void);

#endif
