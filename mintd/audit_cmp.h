/* audit_cmp.h: the audit's arithmetic: exact 128-bit amounts, a token account's balance, and the verdicts. */
#ifndef MINTD_AUDIT_CMP_H
#define MINTD_AUDIT_CMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pubkey.h"
#include "rpctypes.h"

/*
 * Amounts are base units. A wallet's sum of readings, the supply's expected value and their differences need more
 * than 64 bits (and a sign: a baseline or an adjustment can be negative): signed 128-bit integers, which hold any
 * numeric(40, 0) below 1.7e38. No floating point anywhere.
 */
__extension__ typedef __int128 audit_amount;

#define AUDIT_AMOUNT_SZ 48 /* "-170141183460469231731687303715884105728" and then some */

/* Strict decimal text ("-12", "0", "340"): optional '-', digits, nothing else; -1 on syntax or overflow. */
int audit_amount_parse(const char *s, audit_amount *out) WUR;
/* Decimal text; with decimals > 0 as a token amount ("12.500000000"); with sign, a '+' before positives. */
void audit_amount_format(audit_amount v, unsigned decimals, bool sign, char *buf, size_t n);

/* What is at a wallet's associated token account address. */
enum audit_account {
	AUDIT_ACCOUNT_MISSING, /* no account: the balance is 0 */
	AUDIT_ACCOUNT_TOKEN,   /* an initialized token account of the mint owned by the wallet */
	AUDIT_ACCOUNT_OTHER,   /* something else (another program's, another mint's or owner's, uninitialized) */
};
const char *audit_account_name(enum audit_account a); /* "missing", "token", "other" */
/* Classifies account a found at the ATA of owner for mint under program; *amount its balance (0 unless TOKEN). */
enum audit_account audit_token_account(const struct rpc_account *a, const struct sol_pubkey *mint,
    const struct sol_pubkey *owner, const struct sol_pubkey *program, uint64_t *amount);

/* What the database expects of one balance at one slot. */
#define AUDIT_SUBSET_MAX 16
struct audit_expect {
	audit_amount settled;  /* landed at or before the slot, plus adjustments: the balance, exactly, if nothing else */
	size_t npending;       /* transactions in flight (each may or may not have landed by the slot) */
	audit_amount pending[AUDIT_SUBSET_MAX]; /* their amounts, the first AUDIT_SUBSET_MAX */
	audit_amount pending_total;
};
/* Parses the space-separated amounts of in-flight transactions into x (pending, npending, pending_total). */
int audit_expect_pending(struct audit_expect *x, const char *list) WUR;

enum audit_verdict {
	AUDIT_AGREE,     /* chain == settled */
	AUDIT_IN_FLIGHT, /* chain == settled + what some of the in-flight transactions carry (they landed by then) */
	AUDIT_MISMATCH,
};
const char *audit_verdict_name(enum audit_verdict v); /* "agree", "in_flight", "mismatch" */
/*
 * The verdict on an on-chain amount against x. Exact: with up to AUDIT_SUBSET_MAX transactions in flight the
 * difference must be the sum of some of them (each lands whole or not at all); with more (never for one wallet,
 * possible for the supply) it must lie between 0 and their total.
 */
enum audit_verdict audit_judge(audit_amount chain, const struct audit_expect *x);

#endif
