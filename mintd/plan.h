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

/*
 * Token accounts known to exist. An owner may close an empty one: a mint that fails on a wallet's
 * instruction forgets that wallet's account, and the next plan checks (and creates) it again.
 */
struct atacache;
struct atacache *atacache_new(void);
void atacache_free(struct atacache *c);
bool atacache_has(const struct atacache *c, const struct sol_pubkey *k);
void atacache_add(struct atacache *c, const struct sol_pubkey *k);
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
};

struct plan {
	struct ptx *tx;
	size_t ntx;
	const struct reading **rejected;  /* readings no transaction can carry (invalid wallet) */
	size_t nrejected;
	char reject_reason[300];
};

struct plan_nonce {
	char address[45];
	char value[45];
};

/*
 * Plans readings[0..n) into durable-nonce transactions, one per nonce given (at most nnonces): each starts
 * with AdvanceNonceAccount and carries the nonce's value as its blockhash, then the compute-unit limit (from
 * the plan: what its instructions need, not the default) and price, then one MintToChecked per wallet for the
 * sum of its readings (a CreateIdempotent first when the cache does not know the token account), as many
 * wallets as fit in 1232 bytes, 64 account locks, 10 creations (instruction trace) and max_wallets. Wallets
 * with a retry history get a transaction of their own, so one poison wallet cannot fail others twice.
 * Readings left over when the nonces run out are in none (the caller releases them). Signs with authority.
 */
int plan_build(const struct reading *readings, size_t n, const char *batch_id, const struct plan_nonce *nonces,
    size_t nnonces, uint64_t cu_price, struct kp *authority, struct atacache *cache, struct plan *out,
    struct err *e) WUR;
void plan_free(struct plan *p);

#endif
