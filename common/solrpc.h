/* solrpc.h: a blocking Solana JSON-RPC client (libcurl + cJSON) with exact u64s and classified errors. */
#ifndef GTX_SOLRPC_H
#define GTX_SOLRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "pubkey.h"

/*
 * Error kinds, stored in struct err's code by every rpc_* call that fails. The message is one line and
 * never holds the URL's path, query or userinfo (an API key may live there): only scheme://host:port.
 * More detail about the last failure of a handle is in rpc_last_error().
 */
enum rpc_errkind {
	RPC_E_NONE = 0,
	RPC_E_TRANSPORT,          /* connect refused/reset, DNS, connection closed without a response */
	RPC_E_TIMEOUT,            /* connect or total timeout (curl) */
	RPC_E_HTTP,               /* HTTP status other than 200 (see http_status) */
	RPC_E_JSONRPC,            /* a JSON-RPC error object not classified below (code + message kept) */
	RPC_E_BLOCKHASH_NOT_FOUND, /* -32002 with data.err "BlockhashNotFound" (or "Blockhash not found") */
	RPC_E_ALREADY_PROCESSED,  /* -32002 with data.err "AlreadyProcessed": it landed, go check its status */
	RPC_E_PREFLIGHT,          /* other -32002: simulation failed; data_err holds the TransactionError JSON */
	RPC_E_SIGVERIFY,          /* -32003: signature verification failed */
	RPC_E_PARSE,              /* malformed JSON, unexpected shape, wrong id, or signature mismatch */
	RPC_E_ARG,                /* the caller's arguments were unusable (nothing was sent) */
};

/* A one-word name for each kind ("transport", "timeout", "http", "jsonrpc", "blockhash_not_found", ...). */
const char *rpc_errkind_name(int kind);

/*
 * True when resending the same bytes later is right: transport, timeout, HTTP (any non-200: the node did
 * not answer the request, so resending identical bytes is safe) and blockhash-not-found (may be node lag).
 * False for already-processed (check its status instead), preflight and sigverify (permanent for these
 * bytes), JSON-RPC errors, parse and argument errors. Only the kind in e->code is looked at.
 */
bool rpc_err_retryable(const struct err *e);

#define RPC_ERRJSON_MAX 256 /* TransactionError JSON texts longer than this are truncated (and flagged) */

/* Details of the last failed call on a handle (kind RPC_E_NONE after a success). */
struct rpc_error {
	int kind;                       /* enum rpc_errkind */
	long http_status;               /* RPC_E_HTTP: the status; otherwise the last status seen or 0 */
	int64_t code;                   /* JSON-RPC error code (0 when there was no error object) */
	char message[160];              /* JSON-RPC error message, one line, possibly truncated */
	char data_err[RPC_ERRJSON_MAX]; /* preflight kinds: data.err as compact JSON ("" when absent) */
};

/* Commitment levels; RPC_COMMIT_DEFAULT in a request means "the handle's default". */
enum rpc_commitment {
	RPC_COMMIT_DEFAULT = 0, /* as a result (confirmationStatus): null/unknown */
	RPC_COMMIT_PROCESSED,
	RPC_COMMIT_CONFIRMED,
	RPC_COMMIT_FINALIZED,
};
const char *rpc_commitment_name(enum rpc_commitment c); /* "processed" ..., or "none" */
int rpc_commitment_parse(const char *s, enum rpc_commitment *out) WUR;

struct rpc_opts {
	long connect_timeout_ms; /* 0 = 5000 */
	long timeout_ms;         /* whole request; 0 = 15000 */
	const char *commitment;  /* default for every call: "processed" | "confirmed" | "finalized"; NULL = confirmed */
};

struct rpc;

/*
 * Creates a client for url (http or https). One CURL easy handle is reused (keep-alive), HTTP/1.1,
 * no signals, no redirects. Every call blocks for at most timeout_ms. rpc_new calls curl_global_init
 * itself and rpc_free the matching cleanup (ref-counted and thread-safe in libcurl >= 7.84); a program
 * with threads should still call curl_global_init once at startup before starting them.
 * Note: when a kept-alive connection turns out dead before any response byte, libcurl transparently
 * resends the request once on a fresh connection. For sendTransaction that is a rebroadcast of the same
 * bytes (safe: a transaction executes at most once), so a dropped response may surface as success or as
 * AlreadyProcessed rather than RPC_E_TRANSPORT.
 * A handle is not thread-safe; use one per thread.
 */
struct rpc *rpc_new(const char *url, const struct rpc_opts *o, struct err *e) WUR;
void rpc_free(struct rpc *r);
/* scheme://host:port, safe to log. */
const char *rpc_display_url(const struct rpc *r);
const struct rpc_error *rpc_last_error(const struct rpc *r);

struct rpc_blockhash {
	struct sol_pubkey hash; /* 32 bytes */
	char b58[45];
	uint64_t last_valid_block_height;
	uint64_t context_slot;
};
int rpc_get_latest_blockhash(struct rpc *r, enum rpc_commitment c, struct rpc_blockhash *out, struct err *e) WUR;

int rpc_get_block_height(struct rpc *r, enum rpc_commitment c, uint64_t *height, struct err *e) WUR;

struct rpc_send_opts {
	bool skip_preflight;
	int max_retries;                           /* -1 = omit (the node retries until expiry) */
	enum rpc_commitment preflight_commitment;  /* DEFAULT = the handle's commitment */
	const uint8_t *expect_sig;                 /* 64 bytes or NULL: the returned signature must equal it */
};
/*
 * Sends raw transaction bytes (always as base64). On success sig_b58 holds the returned signature
 * (<= 88 chars); with expect_sig set, a different signature fails with RPC_E_PARSE. Success means only
 * "accepted for forwarding": confirm with rpc_get_signature_statuses. o == NULL: preflight on,
 * maxRetries omitted, preflight commitment = the handle's.
 */
int rpc_send_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_send_opts *o,
    char sig_b58[89], struct err *e) WUR;

#define RPC_MAX_STATUSES 256
struct rpc_sigstatus {
	bool found;              /* false: null (unknown to the node's status cache / history) */
	uint64_t slot;
	bool rooted;             /* confirmations was null */
	uint64_t confirmations;
	bool failed;             /* err was not null */
	bool err_truncated;      /* err JSON did not fit */
	char err[RPC_ERRJSON_MAX]; /* TransactionError as compact JSON when failed, else "" */
	enum rpc_commitment status; /* confirmationStatus; DEFAULT when null */
};
/*
 * n (1..RPC_MAX_STATUSES) base58 signatures, checked locally; out[n] is filled in order. context_slot
 * may be NULL. Without search_history only the node's recent status cache is searched.
 */
int rpc_get_signature_statuses(struct rpc *r, const char *const *sigs, size_t n, bool search_history,
    struct rpc_sigstatus *out, uint64_t *context_slot, struct err *e) WUR;

#define RPC_MAX_ACCOUNTS 100
struct rpc_account {
	bool exists;
	uint64_t lamports;
	struct sol_pubkey owner;
	bool executable;
	uint64_t rent_epoch;
	uint8_t *data;   /* malloc'd (non-NULL even when empty); free with rpc_accounts_clear */
	size_t data_len;
};
/* Frees the data of out[0..n) and zeroes them. */
void rpc_accounts_clear(struct rpc_account *a, size_t n);
/*
 * n (1..RPC_MAX_ACCOUNTS) keys, base64 encoding; out[n] filled in order (missing accounts: exists = false,
 * data NULL). On success the caller owns the data buffers (rpc_accounts_clear); on failure nothing is
 * left allocated. context_slot may be NULL.
 */
int rpc_get_multiple_accounts(struct rpc *r, const struct sol_pubkey *keys, size_t n, enum rpc_commitment c,
    struct rpc_account *out, uint64_t *context_slot, struct err *e) WUR;
int rpc_get_account_info(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c,
    struct rpc_account *out, struct err *e) WUR;

struct rpc_token_balance {
	uint64_t amount; /* base units, exact */
	uint8_t decimals;
	uint64_t context_slot;
};
int rpc_get_token_account_balance(struct rpc *r, const struct sol_pubkey *token_account, enum rpc_commitment c,
    struct rpc_token_balance *out, struct err *e) WUR;

/* Lamports of an account (0 when it does not exist). */
int rpc_get_balance(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c, uint64_t *lamports,
    struct err *e) WUR;

/* Fee for message bytes; *known = false when the node returned null (blockhash not found or expired). */
int rpc_get_fee_for_message(struct rpc *r, const uint8_t *msg, size_t len, enum rpc_commitment c,
    bool *known, uint64_t *fee, struct err *e) WUR;

struct rpc_sim_opts {
	bool sig_verify;
	bool replace_recent_blockhash; /* conflicts with sig_verify */
	enum rpc_commitment commitment;
};
struct rpc_sim_result {
	bool failed;
	bool err_truncated;
	char err[RPC_ERRJSON_MAX];
	size_t logs;              /* number of log lines */
	bool units_known;
	uint64_t units_consumed;
	uint64_t context_slot;
};
int rpc_simulate_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_sim_opts *o,
    struct rpc_sim_result *out, struct err *e) WUR;

/* *healthy = true for "ok"; false (and 0 returned) for a -32005 node-unhealthy answer. */
int rpc_get_health(struct rpc *r, bool *healthy, struct err *e) WUR;

#endif
