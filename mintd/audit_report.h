/* audit_report.h: what an audit found (filled by audit.c) and how it is shown: a table, JSON, a progress line. */
#ifndef MINTD_AUDIT_REPORT_H
#define MINTD_AUDIT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "audit_cmp.h"
#include "store_audit.h"

/* One wallet whose balance disagreed twice (see audit.h), with what the database holds about it. */
struct audit_mismatch {
	char wallet[MINTD_WALLET_SZ];
	bool address;             /* the wallet text is a 32-byte key (else nothing can be read for it) */
	char token_account[45];   /* its associated token account ("" when not an address) */
	enum audit_account account;
	uint64_t slot;            /* context slot of the answer that read the account */
	audit_amount chain;
	audit_amount expected;    /* minted readings landed by slot + adjustments */
	audit_amount adjustment;
	audit_amount in_flight;   /* what its pending transactions carry */
	long minted_n, later_n, pending_n;
	struct audit_tx *tx;      /* malloc'd */
	size_t ntx;
	long tx_total;
	struct audit_reading *rd; /* malloc'd */
	size_t nrd;
	long rd_total;
};

struct audit_supply_result {
	bool read;                /* an answer arrived (and the database was read for it) */
	bool rechecked;
	enum audit_verdict verdict;
	uint64_t slot;
	audit_amount chain, expected, baseline, minted, in_flight;
	struct audit_supply db;
};

struct audit_result {
	int exit_code;            /* AUDIT_EXIT_* (audit.h) */
	bool complete;
	char error[300];          /* why it could not complete ("" when it did) */
	char mint[45];
	const char *program;      /* TOKEN_PROGRAM as configured */
	unsigned decimals;
	char started_at[40];      /* RFC 3339 UTC */
	int64_t duration_ms;
	uint64_t first_slot, last_slot; /* context slots of the account answers */
	long checked, agree, in_flight, mismatched, not_addresses, rechecked, recheck_agreed;
	long landed_later;         /* minted readings left out because their transaction landed after the read */
	long in_flight_readings;   /* readings in pending transactions, as the first pass found them */
	struct audit_supply_result supply;
	struct audit_mismatch *mm; /* listed mismatches, in wallet order; malloc'd */
	size_t nmm, capmm;
	long unlisted;             /* mismatches beyond MINTD_AUDIT_MAX_LISTED */
};
void audit_result_free(struct audit_result *r);

/* The table of mismatches, the supply line and the summary line. */
void audit_report_text(FILE *f, const struct audit_result *r);
/* One JSON document (amounts as decimal strings of base units); -1 when it could not be built (out of memory). */
int audit_report_json(FILE *f, const struct audit_result *r) WUR;
/* The summary line alone ("N wallets: ... agree, ...; supply ...") into buf. */
void audit_report_summary(const struct audit_result *r, char *buf, size_t n);

#endif
