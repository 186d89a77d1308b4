/* mintd.h: the daemon's settings, shared record types and counters (one process, one event loop). */
/*
 * Errors: mintd answers no request with its errors (its HTTP is /healthz, /readyz and /metrics), so it keeps
 * common's convention (err.h): 0 on success, -1 with a caller-supplied struct err, and where a guarded
 * statement may find nothing to do, a positive value its prototype names (not pending any more, ...). Every
 * fallible prototype is must-check (WUR); the loop decides what to log.
 */
#ifndef MINTD_MINTD_H
#define MINTD_MINTD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "uuid.h"
#include "ts.h"
#include "pubkey.h"
#include "rpctypes.h"

#define MINTD_UUID_SZ UUID_STR_SZ
#define MINTD_WALLET_SZ 96  /* wallet text as stored (validated when parsed) */
#define MINTD_SERIAL_SZ 72
#define MINTD_CLAIM_SZ 160  /* "<instance>:<seq>" */
#define MINTD_MAX_CREATES 10 /* instruction-trace limit: 5 slots per fresh ATA create + 1 per mint */

/* Settings read once at start (and the reloadable ones again on SIGHUP). */
struct mintd_settings {
	char instance[112];
	char rpc_url[512];
	enum rpc_commitment commitment; /* confirmed or finalized (processed is refused) */
	struct sol_pubkey mint;
	char mint_b58[45];
	struct sol_pubkey token_program;
	uint8_t decimals;
	const char *stream;
	const char *group;
	const char *events_prefix;
	long events_maxlen;
	int batch_size;
	int linger_ms;
	int poll_secs;
	int retry_initial_secs;
	int retry_max_secs;
	int max_attempts;
	int wallet_window_secs;  /* TOKENIZATION_WALLET_MIN_INTERVAL_SECS: a wallet minted at most once per window */
	int concurrent;
	int max_wallets;
	bool lookup_tables;      /* v0 transactions with lookup tables (MINTD_LOOKUP_TABLES) */
	bool simulate_cu;        /* compute-unit limits from a simulation (BLOCKCHAIN_SIMULATE_CU) */
	uint64_t fee_floor;      /* micro-lamports per CU, at least */
	uint64_t fee_ceiling;    /* micro-lamports per CU, at most */
	int fee_percentile;      /* of getRecentPrioritizationFees over the accounts a mint writes */
	uint32_t cu_create;
	uint32_t cu_mint;
	int lease_secs;
	int rebroadcast_ms;
	int confirm_poll_ms;
	int nonce_accounts;      /* size of the durable-nonce pool */
	int abandon_blocks;      /* blocks without landing after which a mint transaction is abandoned */
	int supply_check_secs;
	int recheck_secs;
	uint64_t payer_warn_lamports;
	int rpc_timeout_ms;
	int rpc_max_inflight;
	int rpc_rate_retries;
	int stream_poll_ms;
	int shutdown_grace_secs;
	int pg_statement_ms, pg_lock_ms, pg_idle_tx_ms;
	int audit_secs;          /* interval of the scheduled audit (0 = off) */
};

/* A reading as mintd handles it (copied out of PostgreSQL). */
struct reading {
	char id[MINTD_UUID_SZ];
	char wallet[MINTD_WALLET_SZ];
	char meter[MINTD_SERIAL_SZ];
	char user[MINTD_UUID_SZ]; /* "" when NULL */
	uint64_t kwh_micro;
	uint64_t amount;          /* token base units */
	int attempts;             /* failed attempts so far (retry queue), 0 when none */
};

/* Prometheus counters and gauges (monotonic counters only grow). */
struct mintd_metrics {
	uint64_t readings_minted;
	uint64_t readings_failed;       /* dead-lettered */
	uint64_t readings_retried;      /* retry entries written */
	uint64_t tx_sent;               /* mint transactions whose first send was attempted */
	uint64_t tx_confirmed;
	uint64_t tx_expired;            /* proven never to land (their nonce value consumed by an advance) */
	uint64_t tx_failed;             /* landed with an error */
	uint64_t tx_abandoned;          /* advance transactions written to prove a mint transaction dead */
	uint64_t sends;                 /* every send, rebroadcasts included */
	uint64_t wallets_in_confirmed;  /* sum of wallets over confirmed transactions */
	uint64_t fee_lamports;          /* fees of transactions that landed */
	uint64_t atas_created;
	uint64_t atas_forgotten;        /* token accounts found missing after the cache knew them */
	uint64_t db_errors;
	uint64_t contradictions;        /* answers that disagree in time (no verdict drawn from them) */
	uint64_t supply_checks;
	uint64_t halts_raised;
	uint64_t alt_tx_sent;           /* lookup-table transactions (creations and extensions) sent */
	uint64_t alt_tx_confirmed;
	uint64_t alt_tx_failed;         /* failed, or proven never to land */
	uint64_t tx_v0;                 /* mint transactions sent as v0 messages (the rest are legacy) */
	uint64_t simulations;           /* compute-unit simulations answered */
	uint64_t simulation_fallbacks;  /* simulations that failed: the configured budget was used */
	uint64_t mint_latency_us_sum;   /* reading submitted_at -> minted, summed over minted readings */
	uint64_t mint_latency_count;
	struct store_gauges_m {
		int64_t backlog, retry, dead, oldest_age_s, oldest_pending_tx_age_s, waiting;
	} g;                            /* refreshed by the sweep */
	int64_t inflight;               /* our pending transactions (gauge) */
	bool db_up, redis_up;           /* connections usable (refreshed every tick) */
	int64_t nonces[5];              /* pool by state: new, free, reserved, busy, advanced */
};

extern struct mintd_settings S;
extern struct mintd_metrics M;

/* Monotonic milliseconds, for the loop's schedules. */
static inline int64_t
mono_ms(void)
{
	return ts_mono_us() / 1000;
}

#endif
