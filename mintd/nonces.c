/* nonces.c: creates the pool's nonce accounts and reads each new value after a use (nonces.h). */
#include "nonces.h"
#include "chain.h"
#include "log.h"
#include "mintd.h"
#include "rpcjson.h"
#include "rpcreq.h"
#include "solix.h"
#include "solnonce.h"
#include "soltx.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_CREATE_TX 4      /* accounts created by one transaction (about 190 bytes each) */
#define CREATE_RETRY_MS 10000

static struct store *st;
static struct rpcm *rpc;
static struct kp *kp;
static int ensured;          /* pool size the database rows were made for */
static bool new_inflight, adv_inflight, create_inflight;
static int64_t next_new_ms, next_adv_ms, next_create_ms;
static bool warned_foreign;

/* A batch of pool entries being read; values from the database at the time of the read. */
struct read_ref {
	bool advanced;
	bool immediate;      /* one account, read right after its value was consumed (not the periodic read) */
	size_t n;
	struct nonce_row rows[RPC_MAX_ACCOUNTS];
	struct sol_pubkey keys[RPC_MAX_ACCOUNTS];
};

/* Accounts to create, between the rent and blockhash answers. */
struct create_ref {
	size_t n;
	int index[RPC_MAX_ACCOUNTS];
	uint64_t rent;
};

static void
seed_of(int i, char seed[32])
{
	snprintf(seed, 32, "gtx-nonce-%d", i);
}

static void
ensure_rows(void)
{
	char (*addr)[45], (*seed)[32];
	struct err e = { 0 };
	int n = S.nonce_accounts;

	if (ensured >= n)
		return;
	addr = xcalloc((size_t)n, 45);
	seed = xcalloc((size_t)n, 32);
	for (int i = 0; i < n; i++) {
		struct sol_pubkey pk;

		seed_of(i, seed[i]);
		if (pubkey_with_seed(kp_pubkey(kp), seed[i], &pubkey_system_program, &pk, &e) < 0) {
			log_err("nonce pool: no nonce address", "err=%s", e.msg);
			goto out;
		}
		pubkey_to_b58(&pk, addr[i]);
	}
	if (store_nonce_ensure(st, (const char (*)[45])addr, (const char (*)[32])seed, (size_t)n, &e) < 0) {
		M.db_errors++;
		log_warn("nonce pool: database error", "err=%s", e.msg);
		goto out;
	}
	ensured = n;
out:
	free(addr);
	free(seed);
}

/* The pool index of an address (by re-deriving: the pool is small), or -1. */
static int
index_of(const char *addr)
{
	for (int i = 0; i < ensured; i++) {
		char seed[32], b[45];
		struct sol_pubkey pk;

		seed_of(i, seed);
		if (pubkey_with_seed(kp_pubkey(kp), seed, &pubkey_system_program, &pk, NULL) < 0)
			continue;
		pubkey_to_b58(&pk, b);
		if (strcmp(b, addr) == 0)
			return i;
	}
	return -1;
}

static void
on_create_sent(void *arg, const struct rpcm_reply *r)
{
	(void)arg;
	if (r->cancelled)
		return;
	create_inflight = false;
	if (r->result == NULL)
		log_warn("nonce pool: creating accounts failed; tried again later", "err=%s retry_secs=%d", r->e->msg, CREATE_RETRY_MS / 1000);
}

static void
on_create_blockhash(void *arg, const struct rpcm_reply *r)
{
	struct create_ref *ref = arg;
	struct rpc_blockhash bh;
	struct err e = { 0 };
	size_t done = 0;

	if (r->cancelled) {
		free(ref);
		return;
	}
	if (r->result == NULL || rpcjson_blockhash(r->result, &bh, &e) < 0) {
		create_inflight = false;
		log_warn("nonce pool: getLatestBlockhash failed", "err=%s", r->result == NULL ? r->e->msg : e.msg);
		free(ref);
		return;
	}
	create_inflight = false;
	while (done < ref->n) {
		struct solix *ix = xcalloc(2 * PER_CREATE_TX + 1, sizeof(*ix));
		struct stx *t = stx_new(kp_pubkey(kp), &bh.hash);
		size_t k = 0, nix = 0;
		uint8_t *raw = NULL;
		size_t raw_len = 0;
		char sig[89];
		struct rpc_send_opts o = { .skip_preflight = false, .max_retries = 0, .preflight_commitment = RPC_COMMIT_CONFIRMED };

		solix_cu_price(&ix[nix++], chain_facts()->fee_micro);
		for (; k < PER_CREATE_TX && done + k < ref->n; k++) {
			char seed[32];
			struct sol_pubkey addr;

			seed_of(ref->index[done + k], seed);
			if (pubkey_with_seed(kp_pubkey(kp), seed, &pubkey_system_program, &addr, &e) < 0 ||
			    solix_create_account_with_seed(&ix[nix++], kp_pubkey(kp), &addr, kp_pubkey(kp), seed, ref->rent,
			    SOLNONCE_ACCOUNT_LEN, &pubkey_system_program, &e) < 0)
				break;
			solix_nonce_initialize(&ix[nix++], &addr, kp_pubkey(kp));
		}
		if (t == NULL || e.msg[0] != '\0' || stx_add(t, ix, nix, &e) < 0 ||
		    stx_sign(t, kp, &raw, &raw_len, NULL, sig, &e) < 0) {
			log_err("nonce pool: cannot build the creation", "err=%s", e.msg);
			free(ix);
			stx_free(t);
			free(raw);
			break;
		}
		log_notice("nonce pool: creating nonce accounts", "n=%zu rent_lamports=%" PRIu64 " tx=%s", k, ref->rent,
		    sig);
		if (rpcm_call(rpc, "sendTransaction", rpcreq_send(raw, raw_len, &o, RPC_COMMIT_CONFIRMED), on_create_sent,
		    NULL, &e) == 0)
			create_inflight = true;
		free(ix);
		stx_free(t);
		free(raw);
		done += k;
	}
	free(ref);
}

static void
on_create_rent(void *arg, const struct rpcm_reply *r)
{
	struct create_ref *ref = arg;
	struct rpcreq_cfg cfg = { .commitment = RPC_COMMIT_CONFIRMED };
	struct err e = { 0 };

	if (r->cancelled) {
		free(ref);
		return;
	}
	if (r->result == NULL || rpcjson_result_u64(r->result, &ref->rent, &e) < 0) {
		create_inflight = false;
		log_warn("nonce pool: getMinimumBalanceForRentExemption failed", "err=%s", r->result == NULL ? r->e->msg : e.msg);
		free(ref);
		return;
	}
	if (rpcm_call(rpc, "getLatestBlockhash", rpcreq_cfg_only(&cfg), on_create_blockhash, ref, &e) < 0) {
		create_inflight = false;
		free(ref);
	}
}

/* Creates the accounts of indexes ref->index[0..n) (consumes ref). */
static void
create(struct create_ref *ref)
{
	cJSON *params = cJSON_CreateArray();
	struct err e = { 0 };

	if (create_inflight || mono_ms() < next_create_ms || ref->n == 0) {
		free(ref);
		cJSON_Delete(params);
		return;
	}
	next_create_ms = mono_ms() + CREATE_RETRY_MS;
	if (params != NULL)
		cJSON_AddItemToArray(params, cJSON_CreateNumber(SOLNONCE_ACCOUNT_LEN));
	if (rpcm_call(rpc, "getMinimumBalanceForRentExemption", params, on_create_rent, ref, &e) < 0) {
		free(ref);
		return;
	}
	create_inflight = true;
}

static void
on_read(void *arg, const struct rpcm_reply *r)
{
	struct read_ref *ref = arg;
	struct rpc_account acc[RPC_MAX_ACCOUNTS];
	struct create_ref *missing = NULL;
	uint64_t ctx = 0;
	struct err e = { 0 };

	if (r->cancelled) {
		free(ref);
		return;
	}
	if (ref->immediate)
		;
	else if (ref->advanced)
		adv_inflight = false;
	else
		new_inflight = false;
	if (r->result == NULL || rpcjson_accounts(r->result, true, ref->n, acc, &ctx, &e) < 0) {
		if (r->result == NULL)
			chain_note_error(r->method, r->x);
		log_debug("nonce pool: getMultipleAccounts failed", "err=%s", r->result == NULL ? r->e->msg : e.msg);
		free(ref);
		return;
	}
	for (size_t i = 0; i < ref->n; i++) {
		struct nonce_row *row = &ref->rows[i];
		struct solnonce ns;
		char val[45];
		int rc;

		if (!acc[i].exists) {
			if (!ref->advanced) {
				int idx = index_of(row->address);

				if (missing == NULL)
					missing = xcalloc(1, sizeof(*missing));
				if (idx >= 0)
					missing->index[missing->n++] = idx;
			} else {
				log_err("nonce account gone (closed?): its transactions resolve, new ones avoid it", "nonce=%s",
				    row->address);
			}
			continue;
		}
		if (!pubkey_eq(&acc[i].owner, &pubkey_system_program) ||
		    solnonce_parse(acc[i].data, acc[i].data_len, &ns, &e) < 0 || !pubkey_eq(&ns.authority, kp_pubkey(kp))) {
			if (!warned_foreign)
				log_err("not a nonce account of this mint authority: not used", "nonce=%s", row->address);
			warned_foreign = true;
			continue;
		}
		pubkey_to_b58(&ns.value, val);
		if (ref->advanced && strcmp(val, row->value) == 0) {
			/* Read at or after the slot that consumed this value, yet still at it: answers disagree. */
			M.contradictions++;
			log_warn("nonce still at its consumed value; read again later", "nonce=%s nonce_value=%s slot=%" PRIu64
			    " consumed_slot=%" PRIu64, row->address, val, ctx, row->after_slot);
			continue;
		}
		rc = store_nonce_set(st, row->address, ref->advanced ? row->value : NULL, val, ctx, &e);
		if (rc < 0) {
			M.db_errors++;
			log_warn("nonce not recorded", "nonce=%s err=%s", row->address, e.msg);
		}
	}
	rpc_accounts_clear(acc, ref->n);
	free(ref);
	if (missing != NULL)
		create(missing);
}

/* Reads the accounts of the pool entries in one state (new or advanced); advanced at/after their slots. */
static void
read_state(bool advanced)
{
	struct nonce_row *rows = NULL;
	size_t n = 0;
	struct err e = { 0 };
	struct read_ref *ref;
	struct rpcreq_cfg cfg = { .commitment = advanced ? S.commitment : RPC_COMMIT_CONFIRMED, .base64 = true };

	if (store_nonce_list(st, advanced ? "advanced" : "new", RPC_MAX_ACCOUNTS, &rows, &n, &e) < 0) {
		M.db_errors++;
		log_warn("nonce pool: database error", "err=%s", e.msg);
		return;
	}
	if (n == 0) {
		free(rows);
		return;
	}
	ref = xcalloc(1, sizeof(*ref));
	ref->advanced = advanced;
	ref->n = n;
	for (size_t i = 0; i < n; i++) {
		ref->rows[i] = rows[i];
		if (pubkey_from_b58(rows[i].address, &ref->keys[i], &e) < 0)
			log_err("nonce pool: bad address", "nonce=%s", rows[i].address);
		if (rows[i].after_slot > cfg.min_context_slot)
			cfg.min_context_slot = rows[i].after_slot;
	}
	free(rows);
	if (rpcm_call(rpc, "getMultipleAccounts", rpcreq_keys(ref->keys, n, &cfg), on_read, ref, &e) < 0) {
		log_warn("nonce pool: read not started", "err=%s", e.msg);
		free(ref);
		return;
	}
	if (advanced)
		adv_inflight = true;
	else
		new_inflight = true;
}

/* Consumed values whose next value is read at the next tick, all in one call (up to RPC_MAX_ACCOUNTS). */
static struct read_ref *consumed;

void
nonces_consumed(const char *addr, const char *old_value, uint64_t slot)
{
	struct nonce_row *row;

	if (consumed == NULL) {
		consumed = xcalloc(1, sizeof(*consumed));
		consumed->advanced = true;
		consumed->immediate = true;
	}
	if (consumed->n == RPC_MAX_ACCOUNTS)
		return; /* the periodic read gets it */
	row = &consumed->rows[consumed->n];
	snprintf(row->address, sizeof(row->address), "%s", addr);
	snprintf(row->value, sizeof(row->value), "%s", old_value);
	row->after_slot = slot;
	if (pubkey_from_b58(addr, &consumed->keys[consumed->n], NULL) == 0)
		consumed->n++;
}

/* Reads the values consumed since the last tick, at SOLANA_COMMITMENT, at or after the latest of their slots. */
static void
read_consumed(void)
{
	struct rpcreq_cfg cfg = { .commitment = S.commitment, .base64 = true };
	struct read_ref *ref = consumed;
	struct err e = { 0 };

	consumed = NULL;
	if (ref == NULL || ref->n == 0) {
		free(ref);
		return;
	}
	for (size_t i = 0; i < ref->n; i++)
		if (ref->rows[i].after_slot > cfg.min_context_slot)
			cfg.min_context_slot = ref->rows[i].after_slot;
	if (rpcm_call(rpc, "getMultipleAccounts", rpcreq_keys(ref->keys, ref->n, &cfg), on_read, ref, &e) < 0) {
		free(ref); /* the periodic read gets them */
		log_debug("nonce pool: read not started", "err=%s", e.msg);
	}
}

void
nonces_init(struct store *s, struct rpcm *r, struct kp *k)
{
	st = s;
	rpc = r;
	kp = k;
	ensured = 0;
	new_inflight = adv_inflight = create_inflight = false;
	next_new_ms = next_adv_ms = next_create_ms = 0;
}

void
nonces_tick(void)
{
	int64_t now = mono_ms();

	ensure_rows();
	read_consumed();
	if (!new_inflight && now >= next_new_ms) {
		next_new_ms = now + 1000;
		read_state(/* advanced= */ false);
	}
	if (!adv_inflight && now >= next_adv_ms) {
		next_adv_ms = now + S.confirm_poll_ms;
		read_state(/* advanced= */ true);
	}
}
