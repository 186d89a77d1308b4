/* conf.c: every mintd configuration key with its type, default, reloadability and meaning, and their checks. */
#include "conf.h"
#include "keys.h"
#include "pubkey.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const struct cfg_key mintd_keys[] = {
	CFG_KEYS_SHARED,
	{ "SOLANA_RPC_URL", CFG_STR, "http://127.0.0.1:8899", false, "Solana JSON-RPC endpoint", 1, 0, NULL },
	{ "SOLANA_KEYPAIR_PATH", CFG_STR, "", false,
	  "mint-authority keypair file (solana-keygen JSON, mode 0600); $CREDENTIALS_DIRECTORY/mint-authority wins "
	  "when set", 0, 0, NULL },
	{ "SOLANA_COMMITMENT", CFG_ENUM, "confirmed", false,
	  "commitment a mint transaction must reach before its readings count as minted (processed is refused: "
	  "it can be rolled back)", 0, 0, "processed|confirmed|finalized" },
	{ "TOKEN_MINT", CFG_STR, "", false, "address of the GRX token mint (required to run)", 0, 0, NULL },
	{ "TOKEN_PROGRAM", CFG_ENUM, "spl-token", false, "token program of the mint", 0, 0, "spl-token|token-2022" },
	{ "TOKENIZATION_BATCH_LINGER_MS", CFG_INT, "200", true,
	  "how long a batch waits for more readings before it is minted", 0, 60000, NULL },
	{ "TOKENIZATION_INITIAL_RETRY_DELAY_SECS", CFG_INT, "300", true,
	  "delay before the first retry of a failed mint; doubles per attempt", 0, 86400, NULL },
	{ "TOKENIZATION_MAX_RETRY_DELAY_SECS", CFG_INT, "3600", true, "cap of the retry delay", 0, 604800, NULL },
	{ "TOKENIZATION_MAX_RETRY_ATTEMPTS", CFG_INT, "3", true,
	  "failed attempts after which a reading is dead-lettered (status failed)", 1, 1000, NULL },
	{ "TOKENIZATION_WALLET_MIN_INTERVAL_SECS", CFG_INT, "0", true,
	  "a wallet is minted at most once per this many seconds, all its readings summed into one mint (0: every "
	  "reading within seconds); a reading arriving inside the window waits for it (status waiting)", 0, 604800,
	  NULL },
	{ "BLOCKCHAIN_CONCURRENT_BATCHES", CFG_INT, "16", true,
	  "claimed batches being planned or in flight at most (each is one or more transactions)", 1, 256, NULL },
	{ "BLOCKCHAIN_PRIORITY_FEE_MICROLAMPORTS", CFG_INT, "1000", true,
	  "lowest compute-unit price in micro-lamports (the priority fee floor; busy clusters drop zero-fee "
	  "transactions)", 0, 100000000, NULL },
	{ "BLOCKCHAIN_PRIORITY_FEE_MAX_MICROLAMPORTS", CFG_INT, "1000000", true,
	  "highest compute-unit price in micro-lamports whatever recent fees say", 0, 1000000000, NULL },
	{ "BLOCKCHAIN_PRIORITY_FEE_PERCENTILE", CFG_INT, "75", true,
	  "percentile of getRecentPrioritizationFees (over the mint and the payer) a new transaction pays", 0, 100,
	  NULL },
	{ "BLOCKCHAIN_MAX_WALLETS_PER_TX", CFG_INT, "64", true,
	  "wallets per transaction at most; below it the limits decide (1232 bytes, 64 account locks, the instruction "
	  "trace): about 20 in a legacy transaction, 50 in a v0 one with lookup tables, 10 creating token accounts",
	  1, 64, NULL },
	{ "BLOCKCHAIN_SIMULATE_CU", CFG_BOOL, "true", true,
	  "simulate each transaction before it is recorded and set its compute-unit limit to what it used plus 10% "
	  "(the priority fee is paid on the limit); off, or when a simulation fails: the BLOCKCHAIN_CU_PER_* budgets",
	  0, 0, NULL },
	{ "BLOCKCHAIN_CU_PER_ATA_CREATE", CFG_INT, "30000", true,
	  "compute units budgeted per token-account creation (measured 14k-21k)", 1000, 1400000, NULL },
	{ "BLOCKCHAIN_CU_PER_MINT", CFG_INT, "5000", true,
	  "compute units budgeted per MintToChecked (measured 0.2k p-token, 1.3k Token-2022, 4.5k classic)", 100,
	  1400000, NULL },
	{ "MINTD_LISTEN", CFG_STR, "127.0.0.1:9465", false,
	  "loopback address:port for /healthz, /readyz and /metrics", 1, 0, NULL },
	{ "MINTD_INSTANCE_ID", CFG_STR, "", false,
	  "name of this instance in claims and the consumer group (default hostname-pid; set it for a stable "
	  "name so a restart releases its own claims at once)", 0, 0, NULL },
	{ "MINTD_CONSUMER_GROUP", CFG_STR, "mintd", false, "Redis consumer group on the readings stream", 1, 0,
	  NULL },
	{ "MINTD_CLAIM_LEASE_SECS", CFG_INT, "300", true,
	  "a claim older than this is stale and released to pending by any instance", 5, 86400, NULL },
	{ "MINTD_REBROADCAST_MS", CFG_INT, "2000", true,
	  "interval between rebroadcasts of the same signed bytes until confirmation or expiry", 50, 60000, NULL },
	{ "MINTD_CONFIRM_POLL_MS", CFG_INT, "500", true, "interval between signature status polls", 20, 60000,
	  NULL },
	{ "MINTD_NONCE_ACCOUNTS", CFG_INT, "64", false,
	  "durable-nonce accounts in the pool (each holds one mint transaction in flight; rent 1447680 lamports "
	  "each, created on first start)", 1, 1024, NULL },
	{ "MINTD_LOOKUP_TABLES", CFG_BOOL, "true", true,
	  "v0 transactions that name token accounts through address lookup tables (about 50 wallets per transaction "
	  "instead of 20); mintd creates the tables and adds the token account of every wallet once it has minted "
	  "(rent 222720 lamports per wallet, 1280640 per table of 254, refundable by closing the table)", 0, 0, NULL },
	{ "MINTD_ABANDON_AFTER_BLOCKS", CFG_INT, "150", true,
	  "blocks after its first send without landing before a mint transaction is abandoned (its nonce advanced "
	  "by a separate transaction, which proves it can never land)", 10, 1000000, NULL },
	{ "MINTD_SUPPLY_CHECK_SECS", CFG_INT, "10", true,
	  "interval between checks of the mint's supply against the database (finalized)", 1, 3600, NULL },
	{ "MINTD_RECHECK_SECS", CFG_INT, "600", true,
	  "how long transactions decided expired or failed are re-checked (one found landed halts minting)", 0,
	  86400, NULL },
	{ "MINTD_PAYER_WARN_LAMPORTS", CFG_INT, "100000000", true,
	  "warn when the payer (mint authority) holds less than this", 0, 1000000000000000, NULL },
	{ "MINTD_RPC_TIMEOUT_MS", CFG_INT, "10000", false, "timeout of one Solana RPC request", 100, 300000, NULL },
	{ "MINTD_RPC_MAX_INFLIGHT", CFG_INT, "32", false,
	  "Solana RPC requests on the wire at once (a distant endpoint needs more to keep up; each may be a connection)",
	  1, 256, NULL },
	{ "MINTD_RPC_RATE_LIMIT_RETRIES", CFG_INT, "5", false,
	  "times a request answered HTTP 429 is sent again (after Retry-After or backoff) before it counts as failed",
	  0, 100, NULL },
	{ "MINTD_PG_STATEMENT_TIMEOUT_MS", CFG_INT, "10000", false,
	  "statement_timeout of mintd's PostgreSQL sessions", 100, 600000, NULL },
	{ "MINTD_PG_LOCK_TIMEOUT_MS", CFG_INT, "2000", false,
	  "lock_timeout of mintd's sessions (a peer stalled inside a transaction costs a retry, not a frozen loop)",
	  100, 600000, NULL },
	{ "MINTD_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS", CFG_INT, "10000", false,
	  "idle_in_transaction_session_timeout of mintd's sessions (the server ends a stalled instance's transaction "
	  "and frees its row locks)", 1000, 600000, NULL },
	{ "MINTD_STREAM_POLL_MS", CFG_INT, "100", true, "interval between reads of the readings stream when idle",
	  10, 60000, NULL },
	{ "MINTD_SHUTDOWN_GRACE_SECS", CFG_INT, "20", true,
	  "on SIGTERM, how long to keep confirming transactions in flight before exiting (they stay recorded)", 0,
	  3600, NULL },
	{ "MINTD_AUDIT_SECS", CFG_INT, "3600", true,
	  "interval between audits against the chain (mintd -A in a child process; first one a minute after start; "
	  "0 = off); the last result is in /metrics", 0, 604800, NULL },
	{ "MINTD_AUDIT_MAX_LISTED", CFG_INT, "1000", true,
	  "mismatched wallets an audit lists with their readings and transactions (the others are counted; 0 = all)",
	  0, 100000000, NULL },
};
const size_t mintd_nkeys = sizeof(mintd_keys) / sizeof(mintd_keys[0]);

void
mintd_conf_check(const struct cfg *c, struct errlist *errs)
{
	struct sol_pubkey pk;
	struct err e = { 0 };
	const char *mint = cfg_str(c, "TOKEN_MINT");
	const char *listen = cfg_str(c, "MINTD_LISTEN");
	const char *colon = strrchr(listen, ':');

	keys_check_shared(c, errs);
	/* An empty mint passes -n (a config may be checked before the mint exists); start-up refuses it. */
	if (*mint != '\0' && pubkey_from_b58(mint, &pk, &e) < 0)
		errlist_add(errs, "TOKEN_MINT: not a base58 32-byte address: %s", e.msg);
	if (colon == NULL || colon == listen || colon[1] == '\0')
		errlist_add(errs, "MINTD_LISTEN: must be host:port");
	if (strlen(cfg_str(c, "MINTD_INSTANCE_ID")) > 100)
		errlist_add(errs, "MINTD_INSTANCE_ID: longer than 100 characters");
	if (strcmp(cfg_str(c, "SOLANA_COMMITMENT"), "processed") == 0)
		errlist_add(errs, "SOLANA_COMMITMENT=processed: a processed status can be rolled back (a lost mint, or a "
		    "failed transaction that lands later), so readings would count as minted on a guess; use confirmed or "
		    "finalized");
	if (cfg_int(c, "BLOCKCHAIN_PRIORITY_FEE_MAX_MICROLAMPORTS") < cfg_int(c, "BLOCKCHAIN_PRIORITY_FEE_MICROLAMPORTS"))
		errlist_add(errs, "BLOCKCHAIN_PRIORITY_FEE_MAX_MICROLAMPORTS: smaller than BLOCKCHAIN_PRIORITY_FEE_MICROLAMPORTS");
	if (cfg_int(c, "TOKENIZATION_MAX_RETRY_DELAY_SECS") < cfg_int(c, "TOKENIZATION_INITIAL_RETRY_DELAY_SECS"))
		errlist_add(errs, "TOKENIZATION_MAX_RETRY_DELAY_SECS: smaller than TOKENIZATION_INITIAL_RETRY_DELAY_SECS");
}
