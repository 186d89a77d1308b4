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
#include "solrpc.h"

/* Token accounts known to exist (they never disappear: mintd never closes them). */
struct atacache;
struct atacache *atacache_new(void);
void atacache_free(struct atacache *c);
bool atacache_has(const struct atacache *c, const struct sol_pubkey *k);
void atacache_add(struct atacache *c, const struct sol_pubkey *k);

/* One signed transaction of a batch, ready for the write-ahead record. */
struct ptx {
	int index;                        /* n in the memo "gtx:<batch_id>:<n>" */
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

/*
 * Plans readings[0..n) into transactions with the given blockhash: one MintToChecked per wallet for the
 * sum of its readings (a CreateIdempotent first when its token account is not known to exist; the cache
 * is completed with getMultipleAccounts), as many wallets per transaction as fit in 1232 bytes, 64 account
 * locks, 10 creations (instruction trace) and max_wallets. Wallets with a retry history get a transaction
 * of their own, so one poison wallet cannot fail others twice. Signs each with the mint authority.
 */
int plan_build(const struct reading *readings, size_t n, const char *batch_id, const struct sol_pubkey *blockhash,
    struct kp *authority, struct atacache *cache, struct rpc *rpc, struct plan *out, struct err *e) WUR;
void plan_free(struct plan *p);

#endif
