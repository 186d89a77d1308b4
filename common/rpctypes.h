/* rpctypes.h: the Solana JSON-RPC values both clients share (errors, commitments, decoded results); no I/O. */
#ifndef GTX_RPCTYPES_H
#define GTX_RPCTYPES_H

/*
 * Layering (each depends only on those before it):
 *   rpctypes  the values below
 *   rpcjson   JSON text <-> these values: exact numbers, envelope and error classification, decoders, params
 *   solrpc    a blocking client (tools, start-up checks)
 *   rpcm      an asynchronous client on a libevent loop (the daemons' loops)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pubkey.h"

/*
 * Error kinds, stored in struct err's code by every call that fails. Messages are one line and never
 * hold the URL's path, query or userinfo (an API key may live there): only scheme://host:port.
 */
enum rpc_errkind {
	RPC_E_NONE = 0,
	RPC_E_TRANSPORT,           /* connect refused/reset, DNS, connection closed without a response */
	RPC_E_TIMEOUT,             /* connect or total timeout (curl) */
	RPC_E_HTTP,                /* HTTP status other than 200 and 429 (see http_status) */
	RPC_E_RATE_LIMITED,        /* HTTP 429 (retry_after_ms from Retry-After, 0 when absent) */
	RPC_E_JSONRPC,             /* a JSON-RPC error object not classified below (code + message kept) */
	RPC_E_BLOCKHASH_NOT_FOUND, /* -32002 with data.err "BlockhashNotFound" (or "Blockhash not found") */
	RPC_E_ALREADY_PROCESSED,   /* -32002 with data.err "AlreadyProcessed": it landed, go check its status */
	RPC_E_PREFLIGHT,           /* other -32002: simulation failed; data_err holds the TransactionError JSON */
	RPC_E_SIGVERIFY,           /* -32003: signature verification failed */
	RPC_E_NODE_BEHIND,         /* -32005: node unhealthy / behind (num_slots_behind when it said) */
	RPC_E_NO_HISTORY,          /* -32011: transaction history not available from this node */
	RPC_E_MIN_CONTEXT_SLOT,    /* -32016: the node has not reached the minContextSlot asked for */
	RPC_E_NOT_AVAILABLE,       /* -32004, -32007, -32009, -32014: block/slot not (yet) available */
	RPC_E_METHOD_NOT_FOUND,    /* -32601: the provider does not serve this method */
	RPC_E_PARSE,               /* malformed JSON, unexpected shape, wrong id, or signature mismatch */
	RPC_E_ARG,                 /* the caller's arguments were unusable (nothing was sent) */
	RPC_E_COUNT
};

/* A one-word name for each kind ("transport", "timeout", "http", "rate_limited", ...); "unknown" otherwise. */
const char *rpc_errkind_name(int kind);

/*
 * True when sending the same request later is right: transport, timeout, HTTP, rate limits, a node behind or
 * below minContextSlot, data not yet available, and blockhash-not-found (may be node lag). False for
 * already-processed (check its status instead), preflight and sigverify (permanent for these bytes), other
 * JSON-RPC errors, no history, method not found, parse and argument errors. Only e->code is looked at.
 */
bool rpc_err_retryable(const struct err *e);

#define RPC_ERRJSON_MAX 256 /* TransactionError JSON texts longer than this are truncated (and flagged) */

/* Details of one failed call (kind RPC_E_NONE after a success). */
struct rpc_error {
	int kind;                       /* enum rpc_errkind */
	long http_status;               /* RPC_E_HTTP: the status; otherwise the last status seen or 0 */
	int64_t code;                   /* JSON-RPC error code (0 when there was no error object) */
	char message[160];              /* JSON-RPC error message, one line, possibly truncated */
	char data_err[RPC_ERRJSON_MAX]; /* preflight kinds: data.err as compact JSON ("" when absent) */
	uint64_t retry_after_ms;        /* RPC_E_RATE_LIMITED: from Retry-After (0 when absent) */
	uint64_t slots_behind;          /* RPC_E_NODE_BEHIND: data.numSlotsBehind (0 when absent) */
	uint64_t context_slot;          /* RPC_E_MIN_CONTEXT_SLOT: data.contextSlot (0 when absent) */
};

/* Commitment levels; RPC_COMMIT_DEFAULT in a request means "the client's default". */
enum rpc_commitment {
	RPC_COMMIT_DEFAULT = 0, /* as a result (confirmationStatus): null/unknown */
	RPC_COMMIT_PROCESSED,
	RPC_COMMIT_CONFIRMED,
	RPC_COMMIT_FINALIZED,
};
const char *rpc_commitment_name(enum rpc_commitment c); /* "processed" ..., or "none" */
int rpc_commitment_parse(const char *s, enum rpc_commitment *out) WUR;

struct rpc_blockhash {
	struct sol_pubkey hash; /* 32 bytes */
	char b58[45];
	uint64_t last_valid_block_height;
	uint64_t context_slot;
};

/* getEpochInfo: one node's slot and block height, evaluated together. */
struct rpc_epoch_info {
	uint64_t absolute_slot;
	uint64_t block_height;
	uint64_t epoch;
};

#define RPC_MAX_STATUSES 256
struct rpc_sigstatus {
	bool found;                 /* false: null (unknown to the node's status cache / history) */
	uint64_t slot;
	bool rooted;                /* confirmations was null */
	uint64_t confirmations;
	bool failed;                /* err was not null */
	bool err_truncated;         /* err JSON did not fit */
	char err[RPC_ERRJSON_MAX];  /* TransactionError as compact JSON when failed, else "" */
	enum rpc_commitment status; /* confirmationStatus; DEFAULT when null */
};

#define RPC_MAX_ACCOUNTS 100
struct rpc_account {
	bool exists;
	uint64_t lamports;
	struct sol_pubkey owner;
	bool executable;
	uint64_t rent_epoch;
	uint8_t *data; /* malloc'd (non-NULL even when empty); free with rpc_accounts_clear */
	size_t data_len;
};
/* Frees the data of a[0..n) and zeroes them (a may be NULL). */
void rpc_accounts_clear(struct rpc_account *a, size_t n);

struct rpc_token_balance {
	uint64_t amount; /* base units, exact */
	uint8_t decimals;
	uint64_t context_slot;
};

#define RPC_MAX_FEE_ACCOUNTS 128
#define RPC_MAX_FEE_SAMPLES 150
/* getRecentPrioritizationFees: micro-lamports per CU paid in recent slots by transactions locking the accounts. */
struct rpc_prio_fees {
	size_t n;
	uint64_t slot[RPC_MAX_FEE_SAMPLES];
	uint64_t fee[RPC_MAX_FEE_SAMPLES];
};

struct rpc_send_opts {
	bool skip_preflight;
	int max_retries;                          /* -1 = omit (the node retries until expiry) */
	enum rpc_commitment preflight_commitment; /* DEFAULT = the client's commitment */
	const uint8_t *expect_sig;                /* 64 bytes or NULL: the returned signature must equal it */
	uint64_t min_context_slot;                /* 0 = none */
};

struct rpc_sim_opts {
	bool sig_verify;
	bool replace_recent_blockhash; /* conflicts with sig_verify */
	enum rpc_commitment commitment;
};

struct rpc_sim_result {
	bool failed;
	bool err_truncated;
	char err[RPC_ERRJSON_MAX];
	size_t logs; /* number of log lines */
	bool units_known;
	uint64_t units_consumed;
	uint64_t context_slot;
};

#endif
