/* plan.h: group claimed readings per wallet and pack them into signed mint transactions. */
#ifndef MINTD_PLAN_H
#define MINTD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keypair.h"
#include "mintd.h"
#include "pubkey.h"
#include "soltx.h"

/*
 * Token accounts known to exist. An owner may close an empty one: a mint that fails on a wallet's
 * instruction forgets that wallet's account, and the next plan checks (and creates) it again.
 */
struct atacache;
struct atacache *atacache_new(void);
void atacache_free(struct atacache *c);
bool atacache_has(const struct atacache *c, const struct sol_pubkey *k);
void atacache_add(struct atacache *c, const struct sol_pubkey *k);
/*
 * A confirmed transaction of ours holds k's (idempotent) creation: true the first time for k, false when
 * another one already did. Two transactions in flight at once may both create one wallet's account; the
 * second creation is a no-op on chain, and counting it would overstate the accounts (and rent) paid for.
 */
bool atacache_created(struct atacache *c, const struct sol_pubkey *k);
void atacache_forget(struct atacache *c, const struct sol_pubkey *k);

/* One signed transaction of a batch, ready for the write-ahead record. */
struct ptx {
	int index;                        /* position in its batch */
	char nonce_account[45];           /* the nonce it advances (its first instruction) */
	char nonce_value[45];             /* carried as the message's recent blockhash */
	char amount[48];                  /* sum of its readings' token amounts, decimal */
	uint64_t cu_price;                /* micro-lamports per CU */
	uint8_t *raw;                     /* malloc'd serialized transaction */
	size_t raw_len;
	char sig[89];                     /* base58 signature = transaction id */
	const struct reading **readings;  /* into the batch's reading array */
	size_t nreadings;
	char **ix_wallets;                /* per instruction: wallet (malloc'd) or NULL */
	size_t nix;
	int wallets;
	int creates;
	struct sol_pubkey *created;       /* ATAs this transaction creates (cache them once it lands) */
	uint32_t cu_limit;
	uint64_t fee;                     /* lamports: 5000 per signature + priority fee */
	bool table;                       /* a lookup-table transaction (no readings), not a mint */
	bool v0;                          /* a v0 message loading from lookup tables */
	int nlookups;                     /* tables it loads from */
	struct stx *stx;                  /* the message, kept for plan_resign (owned; plan_free) */
};

struct plan {
	struct ptx *tx;
	size_t ntx;
	struct stx_table *tables;         /* the lookup tables its v0 messages may load from (owned array) */
	size_t ntables;
	const struct reading **rejected;  /* readings no transaction can carry (invalid wallet) */
	size_t nrejected;
	char reject_reason[300];
};

struct plan_nonce {
	char address[45];
	char value[45];
};

/*
 * The lookup table that holds a token account, usable by a transaction sent now (its address at that index
 * read back from the chain at finalized), or NULL. The table's addresses must stay valid and unchanged while
 * a plan that used it lives.
 */
typedef const struct stx_table *(*plan_table_fn)(const struct sol_pubkey *account);

/*
 * Plans readings[0..n) into durable-nonce transactions, one per nonce given (at most nnonces): each starts
 * with AdvanceNonceAccount and carries the nonce's value as its blockhash, then the compute-unit limit (from
 * the plan: what its instructions need, not the default) and price, then one MintToChecked per wallet for the
 * sum of its readings (a CreateIdempotent first when the cache does not know the token account), as many
 * wallets as fit in 1232 bytes, 64 account locks, 10 creations (instruction trace) and max_wallets. Wallets
 * with a retry history get a transaction of their own, so one poison wallet cannot fail others twice.
 * Readings left over when the nonces run out are in none (the caller releases them). Signs with authority.
 * With table_for, wallets whose token account a table holds are packed together by table into v0 messages
 * that load those accounts (and the mint and sysvar, which every table holds) by index; the others are
 * named in full. Without, or when no wallet's account is in a table: legacy messages.
 * With nonces NULL it only counts: out->ntx is how many nonces the plan needs (nothing is signed).
 */
int plan_build(const struct reading *readings, size_t n, const char *batch_id, const struct plan_nonce *nonces,
    size_t nnonces, uint64_t cu_price, struct kp *authority, struct atacache *cache, plan_table_fn table_for,
    struct plan *out, struct err *e) WUR;
/* Signs transaction t again with another compute-unit limit (e.g. what a simulation measured), fee updated. */
int plan_resign(struct ptx *t, uint32_t cu_limit, struct kp *authority, struct err *e) WUR;
/* The compute-unit limit the configured budgets give t (the fallback when it cannot be simulated). */
uint32_t plan_budget(const struct ptx *t);
void plan_free(struct plan *p);
/* Lamports a transaction at this compute-unit limit and price pays: 5000 per signature + the priority fee. */
uint64_t plan_fee(uint32_t cu_limit, uint64_t cu_price);

#endif
