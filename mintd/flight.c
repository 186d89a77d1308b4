/* flight.c: the send/confirm half of the protocol: same signed bytes until a verdict, and verdicts only on
 * proof (see flight.h); every RPC call asynchronous, sends and status polls pipelined. */
#include "flight.h"
#include "b58.h"
#include "chain.h"
#include "crash.h"
#include "log.h"
#include "nonces.h"
#include "pda.h"
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

/* A status-cache lookup only finds what landed in the node's last ~300 slots; older ones need history. */
#define STATUS_CACHE_SLOTS 300
#define HISTORY_AFTER_MS 20000
#define HISTORY_EVERY_MS 5000
#define ADVANCE_CU_LIMIT 2000
#define STATUS_SOON_MS 100   /* next status round when a landed transaction awaits its commitment */ /* AdvanceNonceAccount (150 CU) and the two budget instructions (150 each) */

struct fgroup;

struct ftx {
	int64_t id;
	bool advance;
	bool table;               /* T is a lookup-table transaction (no readings) */
	struct fgroup *g;
	char sig[89];
	uint8_t sigbytes[64];
	uint8_t raw[1232];
	size_t raw_len;
	bool sent_recorded;
	bool send_inflight;
	int64_t next_send_ms;
	int64_t since_ms;         /* in flight here since */
	uint64_t sent_slot;       /* confirmed slot at its first send, when known (0 = unknown) */
	bool found;               /* some status answer had it */
	char last_send_err[256];
	/* mint transactions */
	int wallets;
	char **ix_wallets;
	size_t nix;
	struct sol_pubkey *created;
	int ncreated;
	int ncreated_first; /* of them, once confirmed: the ones no earlier confirmed transaction had created */
	uint64_t fee;
	uint64_t cu_price;
};

struct fgroup {
	char nonce[45];
	char value[45];
	struct sol_pubkey nonce_pk, value_pk;
	char batch_id[MINTD_UUID_SZ];
	bool own;
	bool legacy;             /* no nonce (recorded before nonces): only a positive status resolves it */
	struct ftx *mint;
	struct ftx *adv;
	uint64_t start_height;   /* confirmed height when first seen in flight (0 = not yet known) */
	bool abandon_now;        /* a preflight said T cannot land as things are: advance the nonce now */
	char abandon_why[300];
	char blame[MINTD_WALLET_SZ];
	bool verdict_inflight;   /* the nonce read that corroborates A's landing */
	bool writing_adv;
	struct fgroup *next;
};

static struct fgroup *groups;
static struct store *st;
static struct rpcm *rpc;
static struct kp *kp;
static struct atacache *cache;
static flight_settle_fn settle;
static flight_alarm_fn alarm_fn;
static int status_rounds_inflight;
static int64_t next_status_ms;
static bool landed_waiting; /* the last round saw a transaction landed but not yet at its commitment */
static int64_t next_history_ms;
static bool history_inflight;
static uint64_t table_errors;

uint64_t
flight_table_errors(void)
{
	return table_errors;
}

void
flight_init(struct store *s, struct rpcm *r, struct kp *k, struct atacache *c, flight_settle_fn fn,
    flight_alarm_fn al)
{
	st = s;
	rpc = r;
	kp = k;
	cache = c;
	settle = fn;
	alarm_fn = al;
}

/* ---- bookkeeping ---- */

static struct ftx *
find_tx(int64_t id)
{
	for (struct fgroup *g = groups; g != NULL; g = g->next) {
		if (g->mint != NULL && g->mint->id == id)
			return g->mint;
		if (g->adv != NULL && g->adv->id == id)
			return g->adv;
	}
	return NULL;
}

static struct fgroup *
find_group(const char *nonce, const char *value)
{
	for (struct fgroup *g = groups; g != NULL; g = g->next)
		if (!g->legacy && strcmp(g->nonce, nonce) == 0 && strcmp(g->value, value) == 0)
			return g;
	return NULL;
}

size_t
flight_count(void)
{
	size_t n = 0;

	for (struct fgroup *g = groups; g != NULL; g = g->next)
		n += (g->mint != NULL) + (g->adv != NULL);
	return n;
}

size_t
flight_count_own(void)
{
	size_t n = 0;

	for (struct fgroup *g = groups; g != NULL; g = g->next)
		n += g->own;
	return n;
}

size_t
flight_batches_own(void)
{
	size_t n = 0;

	for (struct fgroup *g = groups; g != NULL; g = g->next) {
		struct fgroup *h;

		if (!g->own || (g->mint != NULL && g->mint->table))
			continue;
		for (h = groups; h != g && (!h->own || strcmp(h->batch_id, g->batch_id) != 0); h = h->next)
			;
		n += h == g;
	}
	return n;
}

size_t
flight_stuck(void)
{
	size_t n = 0;

	for (struct fgroup *g = groups; g != NULL; g = g->next)
		n += g->legacy;
	return n;
}

/* Sent so long ago that a node's status cache no longer covers it, and never seen: only history can show it. */
static bool
beyond_cache(const struct ftx *f, uint64_t slot)
{
	return f != NULL && !f->found && f->sent_slot != 0 && slot > f->sent_slot + STATUS_CACHE_SLOTS;
}

size_t
flight_needing_history(void)
{
	const struct chain_facts *cf = chain_facts();
	size_t n = 0;

	if (!cf->history_unavailable)
		return 0;
	for (struct fgroup *g = groups; g != NULL; g = g->next)
		n += beyond_cache(g->mint, cf->slot) && (g->adv == NULL || beyond_cache(g->adv, cf->slot));
	return n;
}

static void
ftx_free(struct ftx *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nix; i++)
		free(f->ix_wallets[i]);
	free(f->ix_wallets);
	free(f->created);
	free(f);
}

static void
group_free(struct fgroup *g)
{
	for (struct fgroup **pp = &groups; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	ftx_free(g->mint);
	ftx_free(g->adv);
	free(g);
	M.inflight = (int64_t)flight_count_own();
}

void
flight_clear(void)
{
	while (groups != NULL)
		group_free(groups);
	M.inflight = 0;
}

static struct ftx *
ftx_new(int64_t id, bool advance, const char *sig, const uint8_t *raw, size_t raw_len)
{
	struct ftx *f = xcalloc(1, sizeof(*f));
	struct err e = { 0 };

	f->id = id;
	f->advance = advance;
	snprintf(f->sig, sizeof(f->sig), "%s", sig);
	if (b58_decode_exact(sig, strlen(sig), f->sigbytes, 64, &e) < 0)
		log_err("bad signature text", "tx_id=%" PRId64 " tx=%s err=%s", id, sig, e.msg);
	memcpy(f->raw, raw, raw_len);
	f->raw_len = raw_len;
	f->since_ms = mono_ms();
	return f;
}

static struct fgroup *
group_new(const char *nonce, const char *value, const char *batch_id, bool own)
{
	struct fgroup *g = xcalloc(1, sizeof(*g));
	struct err e = { 0 };

	snprintf(g->nonce, sizeof(g->nonce), "%s", nonce);
	snprintf(g->value, sizeof(g->value), "%s", value);
	snprintf(g->batch_id, sizeof(g->batch_id), "%s", batch_id);
	g->own = own;
	g->legacy = nonce[0] == '\0';
	if (!g->legacy &&
	    (pubkey_from_b58(nonce, &g->nonce_pk, &e) < 0 || pubkey_from_b58(value, &g->value_pk, &e) < 0)) {
		log_err("unusable nonce", "batch=%s nonce=%s nonce_value=%s err=%s", batch_id, nonce, value, e.msg);
		g->legacy = true;
	}
	if (g->legacy)
		log_err("a transaction without a durable nonce (written by an older mintd) is pending: it is resolved only "
		    "by its own status; stop the old version with its transactions drained before upgrading", "batch=%s",
		    batch_id);
	g->next = groups;
	groups = g;
	return g;
}

/* ---- sends ---- */

static void
record_sent(struct ftx *f)
{
	struct err e = { 0 };

	if (f->sent_recorded)
		return;
	/* Informational (sent_at, sent_slot for the history floor); safety never rests on it. */
	if (f->sent_slot == 0)
		f->sent_slot = chain_facts()->slot;
	if (store_mark_sent(st, f->id, chain_facts()->slot, &e) < 0) {
		M.db_errors++;
		log_warn("cannot record sent_at", "tx_id=%" PRId64 " tx=%s err=%s", f->id, f->sig, e.msg);
		return;
	}
	f->sent_recorded = true;
}

/* The wallet an {"InstructionError":[i, ...]} names, or NULL. */
static const char *
blame(const struct ftx *f, const char *errjson)
{
	const char *p = strstr(errjson, "\"InstructionError\":[");
	char *end;
	long i;

	if (f == NULL || p == NULL)
		return NULL;
	i = strtol(p + 20, &end, 10);
	if (end == p + 20 || *end != ',' || i < 0 || (size_t)i >= f->nix)
		return NULL;
	return f->ix_wallets[i];
}

/* A blamed wallet's token account may have been closed by its owner: check (and create) it again next time. */
static void
forget_account(const char *wallet)
{
	struct sol_pubkey w, ata;

	if (wallet == NULL || pubkey_from_b58(wallet, &w, NULL) < 0 || pda_ata(&w, &S.mint, &S.token_program, &ata, NULL) < 0)
		return;
	if (atacache_has(cache, &ata)) {
		atacache_forget(cache, &ata);
		M.atas_forgotten++;
	}
}

static bool
payer_error(const char *data_err)
{
	return strstr(data_err, "InsufficientFundsForFee") != NULL || strcmp(data_err, "\"AccountNotFound\"") == 0 ||
	    strstr(data_err, "InsufficientFundsForRent") != NULL;
}

static void
note_send_error(struct ftx *f, const char *msg)
{
	struct err e = { 0 };

	if (strcmp(f->last_send_err, msg) == 0)
		return;
	snprintf(f->last_send_err, sizeof(f->last_send_err), "%s", msg);
	if (store_note_error(st, f->id, msg, &e) < 0)
		M.db_errors++;
}

struct send_ref {
	int64_t id;
};

static void
on_send(void *arg, const struct rpcm_reply *r)
{
	struct send_ref *ref = arg;
	struct ftx *f = r->cancelled ? NULL : find_tx(ref->id);
	const struct rpc_error *x = r->x;

	free(ref);
	if (f == NULL)
		return; /* resolved meanwhile, or shutting down */
	f->send_inflight = false;
	f->next_send_ms = mono_ms() + S.rebroadcast_ms;
	if (r->result != NULL) {
		record_sent(f);
		return;
	}
	chain_note_error(r->method, x);
	switch (x->kind) {
	case RPC_E_ALREADY_PROCESSED:
	case RPC_E_TRANSPORT:
	case RPC_E_TIMEOUT:
	case RPC_E_HTTP:
	case RPC_E_RATE_LIMITED:
	case RPC_E_PARSE:
		/* Landed, or the node may have taken it: only a status can tell. */
		record_sent(f);
		log_debug("send answered", "tx_id=%" PRId64 " tx=%s err=%s", f->id, f->sig, r->e->msg);
		return;
	case RPC_E_BLOCKHASH_NOT_FOUND:
		/* The nonce is not at this value on that node: consumed (by this or the rival transaction), or the
		 * node lags. Nothing to conclude; keep offering the bytes until a status decides. */
		note_send_error(f, "nonce value not current at the node (consumed by a transaction that landed, or the node lags)");
		return;
	case RPC_E_PREFLIGHT:
	case RPC_E_SIGVERIFY: {
		const char *why = x->data_err[0] != '\0' ? x->data_err : r->e->msg;
		struct fgroup *g = f->g;

		note_send_error(f, why);
		if (strstr(why, "AddressLookupTable") != NULL)
			table_errors++; /* a table mintd offered is gone or changed: read them all again (alt.c) */
		if (x->kind == RPC_E_PREFLIGHT && payer_error(x->data_err)) {
			chain_payer_short(); /* transaction-level: never an attempt, never a split */
			return;
		}
		if (x->kind == RPC_E_SIGVERIFY)
			log_err("the node says the signature does not verify (a defect)", "tx_id=%" PRId64 " tx=%s err=%s", f->id,
			    f->sig, r->e->msg);
		if (!f->advance && !g->abandon_now && g->adv == NULL) {
			const char *w = blame(f, x->data_err);

			/* Not final: T may still land. Advancing its nonce proves it cannot, then its readings go back. */
			g->abandon_now = true;
			snprintf(g->abandon_why, sizeof(g->abandon_why), "preflight: %s", why);
			snprintf(g->blame, sizeof(g->blame), "%s", w != NULL ? w : "");
			forget_account(w);
			log_warn("preflight failed; advancing its nonce to prove it dead", "tx_id=%" PRId64 " tx=%s batch=%s "
			    "wallet=%s err=%s", f->id, f->sig, g->batch_id, w != NULL ? w : "-", why);
		}
		return;
	}
	default:
		log_debug("send answered", "tx_id=%" PRId64 " tx=%s err=%s", f->id, f->sig, r->e->msg);
		return;
	}
}

static void
send_once(struct ftx *f)
{
	struct rpc_send_opts o = { .skip_preflight = false, .max_retries = 0,
		.preflight_commitment = RPC_COMMIT_CONFIRMED, .expect_sig = f->sigbytes };
	struct send_ref *ref = xcalloc(1, sizeof(*ref));
	struct err e = { 0 };

	ref->id = f->id;
	M.sends++;
	if (rpcm_call(rpc, "sendTransaction", rpcreq_send(f->raw, f->raw_len, &o, RPC_COMMIT_CONFIRMED), on_send, ref,
	    &e) < 0) {
		free(ref);
		log_warn("send not started", "tx_id=%" PRId64 " tx=%s err=%s", f->id, f->sig, e.msg);
		f->next_send_ms = mono_ms() + S.rebroadcast_ms;
		return;
	}
	f->send_inflight = true;
}

/* ---- verdicts ---- */

static void
report(struct ftx *f, enum txstate to, const char *error, uint64_t fee, uint64_t slot, const char *batch,
    struct settled *out, size_t n, long released)
{
	struct fresult res = { 0 };

	res.slot = slot;
	res.ix_wallets = (const char *const *)f->ix_wallets;
	res.nix = f->nix;
	res.tx_id = f->id;
	res.table = f->table;
	res.signature = f->sig;
	res.batch_id = batch;
	res.to = to;
	res.error = error;
	res.wallets = f->wallets;
	res.creates = to == TX_CONFIRMED ? f->ncreated_first : 0;
	res.fee = fee;
	res.r = out;
	res.n = n;
	res.released = released;
	settle(&res);
}

/*
 * Proof: each transaction's own status, found without error at SOLANA_COMMITMENT. Recorded together, in one
 * database transaction (one fsync for a status round's confirmations, not one each).
 */
static void
verdict_confirm_many(struct ftx *const *fs, const uint64_t *slots, size_t n)
{
	struct confirmed *c;
	struct err e = { 0 };

	if (n == 0)
		return;
	crash_point("after_confirm_before_db");
	c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		c[i].tx_id = fs[i]->id;
		c[i].slot = slots[i];
		c[i].fee = fs[i]->fee;
	}
	if (store_confirm_many(st, c, n, &e) < 0) {
		M.db_errors++;
		log_err("cannot record confirmations (will retry)", "n=%zu err=%s", n, e.msg);
		free(c);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct ftx *f = fs[i];

		if (!c[i].applied) {
			log_info("transaction already resolved elsewhere", "tx_id=%" PRId64 " tx=%s", f->id, f->sig);
		} else {
			M.tx_confirmed++;
			for (int k = 0; k < f->ncreated; k++)
				f->ncreated_first += atacache_created(cache, &f->created[k]);
			if (!f->g->legacy)
				nonces_consumed(f->g->nonce, f->g->value, slots[i]);
			report(f, TX_CONFIRMED, NULL, f->fee, slots[i], c[i].batch_id, c[i].r, c[i].n, 0);
		}
		group_free(f->g);
	}
	confirmed_free(c, n);
	free(c);
}

/* Proof: T's own status, found with an error, at finalized (a failed transaction still consumes the nonce). */
static void
verdict_fail(struct ftx *f, const struct rpc_sigstatus *s)
{
	struct settled *out = NULL;
	char batch[MINTD_UUID_SZ] = "";
	const char *w = blame(f, s->err);
	size_t n = 0;
	long released = 0;
	struct err e = { 0 };
	int rc;

	rc = store_fail(st, f->id, s->err, s->slot, f->fee, w, batch, &out, &n, &released, &e);
	if (rc < 0) {
		M.db_errors++;
		log_err("cannot record the failure (will retry)", "tx_id=%" PRId64 " tx=%s err=%s", f->id, f->sig, e.msg);
		return;
	}
	if (rc == 0) {
		M.tx_failed++;
		if (!f->g->legacy)
			nonces_consumed(f->g->nonce, f->g->value, s->slot);
		log_warn("transaction failed on chain", "tx_id=%" PRId64 " tx=%s batch=%s slot=%" PRIu64 " wallet=%s err=%s",
		    f->id, f->sig, f->g->batch_id, s->slot, w ? w : "-", s->err);
		forget_account(w);
		report(f, TX_FAILED, s->err, f->fee, s->slot, batch, out, n, released);
	}
	free(out);
	group_free(f->g);
}

struct void_ref {
	int64_t adv_id;
	uint64_t adv_slot;
};

/*
 * The second half of the proof that T can never land: A's status said it landed at finalized slot adv_slot;
 * the nonce account, read at finalized with context.slot >= adv_slot, must no longer hold the value. An
 * answer that still shows the value contradicts the status: no verdict (counted, retried next round).
 */
static void
on_void_read(void *arg, const struct rpcm_reply *r)
{
	struct void_ref *ref = arg;
	struct ftx *a = r->cancelled ? NULL : find_tx(ref->adv_id);
	struct rpc_account acc = { 0 };
	struct solnonce ns;
	uint64_t ctx = 0;
	struct err e = { 0 };
	struct fgroup *g;
	struct settled *out = NULL;
	size_t n = 0;
	long released = 0;
	char batch[MINTD_UUID_SZ] = "", newval[45];
	uint64_t adv_slot;
	int rc;

	if (a == NULL) {
		free(ref);
		return;
	}
	g = a->g;
	g->verdict_inflight = false;
	if (r->result == NULL) {
		chain_note_error(r->method, r->x);
		log_debug("nonce read for the verdict failed", "tx_id=%" PRId64 " err=%s", a->id, r->e->msg);
		free(ref);
		return;
	}
	if (rpcjson_accounts(r->result, false, 1, &acc, &ctx, &e) < 0 || !acc.exists ||
	    !pubkey_eq(&acc.owner, &pubkey_system_program) || solnonce_parse(acc.data, acc.data_len, &ns, &e) < 0) {
		log_warn("nonce unreadable at finalized", "nonce=%s batch=%s err=%s", g->nonce, g->batch_id, e.msg[0] ? e.msg : "missing");
		rpc_accounts_clear(&acc, 1);
		free(ref);
		return;
	}
	rpc_accounts_clear(&acc, 1);
	if (ctx < ref->adv_slot || pubkey_eq(&ns.value, &g->value_pk)) {
		M.contradictions++;
		log_warn("nonce still at its value although its advance landed: answers disagree, no verdict", "nonce=%s "
		    "nonce_value=%s slot=%" PRIu64 " advance_tx=%s advance_slot=%" PRIu64 " batch=%s", g->nonce, g->value, ctx,
		    a->sig, ref->adv_slot, g->batch_id);
		free(ref);
		return;
	}
	pubkey_to_b58(&ns.value, newval);
	adv_slot = ref->adv_slot;
	free(ref);
	rc = store_void(st, a->id, adv_slot, 5000 + (ADVANCE_CU_LIMIT * a->cu_price + 999999) / 1000000, newval,
	    ctx, batch, &out, &n, &released, &e);
	if (rc < 0) {
		M.db_errors++;
		log_err("cannot record the advance (will retry)", "tx_id=%" PRId64 " tx=%s err=%s", a->id, a->sig, e.msg);
		return;
	}
	if (rc == 2) {
		char why[400];

		snprintf(why, sizeof(why), "advance %s of nonce %s landed although the mint transaction on that value is "
		    "recorded confirmed: both landed", a->sig, g->nonce);
		alarm_fn(why);
		group_free(g);
		return;
	}
	if (rc == 0 && g->mint != NULL) {
		char why[300];

		M.tx_expired++;
		snprintf(why, sizeof(why), "never landed: nonce %s advanced past its value by %s at slot %" PRIu64, g->nonce,
		    a->sig, adv_slot);
		log_notice("transaction expired", "tx_id=%" PRId64 " tx=%s batch=%s readings_charged=%zu readings_back=%ld why=%s",
		    g->mint->id, g->mint->sig, g->batch_id, n, released, why);
		report(g->mint, TX_EXPIRED, why, 0, 0, batch, out, n, released);
	}
	free(out);
	group_free(g);
}

static bool
reached(const struct rpc_sigstatus *s, enum rpc_commitment want)
{
	enum rpc_commitment c = s->rooted ? RPC_COMMIT_FINALIZED : s->status;

	return c != RPC_COMMIT_DEFAULT && c >= want;
}

/*
 * Decides one transaction from one status answer; only a found status can move anything. Returns true when
 * the answer proves a mint transaction confirmed: the caller records those together (verdict_confirm_many).
 */
static bool
decide(struct ftx *f, const struct rpc_sigstatus *s)
{
	struct fgroup *g = f->g;

	if (!s->found)
		return false;
	f->found = true;
	if (!f->advance) {
		if (!s->failed && reached(s, S.commitment))
			return true;
		if (s->failed && reached(s, RPC_COMMIT_FINALIZED))
			verdict_fail(f, s);
		else
			landed_waiting = true;
		return false;
	}
	if (reached(s, RPC_COMMIT_FINALIZED) && !g->verdict_inflight) {
		struct rpcreq_cfg cfg = { .commitment = RPC_COMMIT_FINALIZED, .min_context_slot = s->slot, .base64 = true };
		struct void_ref *ref = xcalloc(1, sizeof(*ref));
		struct err e = { 0 };

		ref->adv_id = f->id;
		ref->adv_slot = s->slot;
		if (rpcm_call(rpc, "getAccountInfo", rpcreq_key(&g->nonce_pk, &cfg), on_void_read, ref, &e) < 0) {
			free(ref);
			log_warn("nonce read not started", "nonce=%s err=%s", g->nonce, e.msg);
			return false;
		}
		g->verdict_inflight = true;
	}
	return false;
}

/* ---- status rounds ---- */

struct status_ref {
	size_t n;
	bool history;
	int64_t ids[RPC_MAX_STATUSES];
	char sigs[RPC_MAX_STATUSES][89];
};

static void
on_statuses(void *arg, const struct rpcm_reply *r)
{
	struct status_ref *ref = arg;
	struct rpc_sigstatus *stat;
	struct err e = { 0 };

	if (r->cancelled) {
		free(ref);
		return;
	}
	if (ref->history) {
		history_inflight = false;
	} else if (--status_rounds_inflight == 0) {
		/* Something landed and is one confirmation away: look again soon, not a whole interval later. */
		next_status_ms = mono_ms() + (landed_waiting ? STATUS_SOON_MS : S.confirm_poll_ms);
	}
	if (r->result == NULL) {
		chain_note_error(r->method, r->x);
		if (ref->history && r->x->kind == RPC_E_NO_HISTORY)
			chain_note_history(false);
		log_debug("getSignatureStatuses failed", "history=%s err=%s", ref->history ? "true" : "false", r->e->msg);
		free(ref);
		return;
	}
	if (ref->history)
		chain_note_history(true);
	stat = xcalloc(ref->n, sizeof(*stat));
	if (rpcjson_statuses(r->result, ref->n, stat, NULL, &e) < 0) {
		log_warn("getSignatureStatuses answer unusable", "err=%s", e.msg);
	} else {
		struct ftx **ok = xcalloc(ref->n, sizeof(*ok));
		uint64_t *slots = xcalloc(ref->n, sizeof(*slots));
		size_t nok = 0;

		/* decide() may free groups (a failure): look every transaction up again by id. */
		for (size_t i = 0; i < ref->n; i++) {
			struct ftx *f = find_tx(ref->ids[i]);

			if (f != NULL && strcmp(f->sig, ref->sigs[i]) == 0 && decide(f, &stat[i])) {
				ok[nok] = f;
				slots[nok++] = stat[i].slot;
			}
		}
		verdict_confirm_many(ok, slots, nok);
		free(ok);
		free(slots);
	}
	free(stat);
	free(ref);
}

static void
status_call(struct status_ref *ref)
{
	const char *sigs[RPC_MAX_STATUSES];
	struct err e = { 0 };

	for (size_t i = 0; i < ref->n; i++)
		sigs[i] = ref->sigs[i];
	if (rpcm_call(rpc, "getSignatureStatuses", rpcreq_statuses(sigs, ref->n, ref->history), on_statuses, ref, &e) < 0) {
		log_warn("getSignatureStatuses not started", "err=%s", e.msg);
		free(ref);
		return;
	}
	if (ref->history)
		history_inflight = true;
	else
		status_rounds_inflight++;
}

/* One lookup of every transaction in flight (chunks of 256); with history only for those the cache misses. */
static void
status_round(bool history)
{
	struct status_ref *ref = NULL;
	int64_t now = mono_ms();

	for (struct fgroup *g = groups; g != NULL; g = g->next) {
		struct ftx *fs[2] = { g->mint, g->adv };

		for (int k = 0; k < 2; k++) {
			struct ftx *f = fs[k];

			if (f == NULL || (history && (f->found || now - f->since_ms < HISTORY_AFTER_MS)))
				continue;
			if (ref == NULL) {
				ref = xcalloc(1, sizeof(*ref));
				ref->history = history;
			}
			ref->ids[ref->n] = f->id;
			snprintf(ref->sigs[ref->n], sizeof(ref->sigs[0]), "%s", f->sig);
			if (++ref->n == RPC_MAX_STATUSES) {
				status_call(ref);
				ref = NULL;
				if (history)
					return; /* one history chunk at a time */
			}
		}
	}
	if (ref != NULL)
		status_call(ref);
}

/* ---- abandonment ---- */

static void
make_advance(struct fgroup *g)
{
	const struct chain_facts *cf = chain_facts();
	uint64_t price;
	struct solix ix[3];
	struct stx *t;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	char sig[89], why[340];
	struct wa_adv wa;
	int64_t id = 0;
	struct err e = { 0 };
	int rc;

	/*
	 * An advance is tiny (ADVANCE_CU_LIMIT), and it must beat the transaction it abandons to the nonce even
	 * when the cluster is congested beyond what that one paid: it pays the highest price allowed (at 2,000
	 * CU and the default ceiling, 2,000 lamports).
	 */
	price = S.fee_ceiling > cf->fee_micro ? S.fee_ceiling : cf->fee_micro;
	solix_nonce_advance(&ix[0], &g->nonce_pk, kp_pubkey(kp));
	solix_cu_limit(&ix[1], ADVANCE_CU_LIMIT);
	solix_cu_price(&ix[2], price);
	if ((t = stx_new(kp_pubkey(kp), &g->value_pk)) == NULL || stx_add(t, ix, 3, &e) < 0 ||
	    stx_sign(t, kp, &raw, &raw_len, NULL, sig, &e) < 0) {
		log_err("cannot sign the advance of the nonce", "batch=%s nonce=%s err=%s", g->batch_id, g->nonce, e.msg);
		stx_free(t);
		free(raw);
		return;
	}
	stx_free(t);
	if (g->abandon_now)
		snprintf(why, sizeof(why), "abandoned: %s", g->abandon_why);
	else
		snprintf(why, sizeof(why), "abandoned: not landed within %d blocks of its first send", S.abandon_blocks);
	wa = (struct wa_adv){ .mint_tx_id = g->mint->id, .batch_id = g->batch_id, .signature = sig, .raw = raw,
		.raw_len = raw_len, .nonce_account = g->nonce, .nonce_value = g->value, .why = why,
		.blame_wallet = g->blame[0] ? g->blame : NULL };
	rc = store_writeahead_advance(st, &wa, &id, &e);
	if (rc < 0) {
		M.db_errors++;
		log_err("cannot record the advance of the nonce", "batch=%s nonce=%s err=%s", g->batch_id, g->nonce, e.msg);
	} else if (rc == 1) {
		/* Resolved, or another instance advances it: the sweep adopts what is pending. */
		log_info("not abandoning: resolved or already being abandoned elsewhere", "tx_id=%" PRId64 " tx=%s", g->mint->id, g->mint->sig);
		g->abandon_now = false;
		g->start_height = UINT64_MAX; /* do not try again until adopted anew */
	} else {
		crash_point("after_advance_writeahead");
		M.tx_abandoned++;
		g->adv = ftx_new(id, true, sig, raw, raw_len);
		g->adv->g = g;
		g->adv->cu_price = price;
		log_notice("abandoning: the nonce advance proves the transaction dead once it lands", "tx_id=%" PRId64 " tx=%s "
		    "batch=%s advance_tx=%s nonce=%s why=%s", g->mint->id, g->mint->sig, g->batch_id, sig, g->nonce, why);
		send_once(g->adv);
	}
	free(raw);
}

static void
abandon_due(void)
{
	const struct chain_facts *cf = chain_facts();

	for (struct fgroup *g = groups; g != NULL; g = g->next) {
		if (g->legacy || g->mint == NULL || g->adv != NULL)
			continue;
		if (g->start_height == 0 && cf->height_known)
			g->start_height = cf->height;
		if (g->abandon_now || (g->start_height != 0 && g->start_height != UINT64_MAX && cf->height_known &&
		    cf->height > g->start_height + (uint64_t)S.abandon_blocks))
			make_advance(g);
	}
}

/* ---- entry points ---- */

void
flight_add_new(const struct ptx *t, int64_t tx_id, const char *batch_id)
{
	struct fgroup *g = group_new(t->nonce_account, t->nonce_value, batch_id, /* own= */ true);
	struct ftx *f = ftx_new(tx_id, false, t->sig, t->raw, t->raw_len);

	f->g = g;
	f->table = t->table;
	f->wallets = t->wallets;
	f->fee = t->fee;
	f->cu_price = t->cu_price;
	f->nix = t->nix;
	f->ix_wallets = xcalloc(t->nix > 0 ? t->nix : 1, sizeof(char *));
	for (size_t i = 0; i < t->nix; i++)
		f->ix_wallets[i] = t->ix_wallets[i] ? xstrdup(t->ix_wallets[i]) : NULL;
	f->ncreated = t->creates;
	f->created = xcalloc(t->creates > 0 ? (size_t)t->creates : 1, sizeof(*f->created));
	memcpy(f->created, t->created, (size_t)t->creates * sizeof(*f->created));
	g->mint = f;
	M.tx_sent++;
	M.inflight = (int64_t)flight_count_own();
	send_once(f);
	crash_point("after_send");
}

void
flight_adopt(struct pending_tx *p)
{
	struct fgroup *g;
	struct ftx *f;

	if (find_tx(p->id) != NULL) {
		pending_tx_free(p);
		return;
	}
	g = p->nonce_account[0] != '\0' ? find_group(p->nonce_account, p->nonce_value) : NULL;
	if (g == NULL)
		g = group_new(p->nonce_account, p->nonce_value, p->batch_id, /* own= */ false);
	if ((p->advance && g->adv != NULL) || (!p->advance && g->mint != NULL)) {
		pending_tx_free(p);
		return; /* one of each per value (the schema's unique indexes) */
	}
	f = ftx_new(p->id, p->advance, p->signature, p->raw, p->raw_len);
	f->g = g;
	f->table = p->table;
	f->sent_recorded = p->sent;
	f->sent_slot = p->sent_slot;
	f->wallets = p->wallets;
	f->ix_wallets = p->ix_wallets;
	f->nix = p->nix;
	f->fee = 5000;
	p->ix_wallets = NULL;
	p->nix = 0;
	if (p->advance)
		g->adv = f;
	else
		g->mint = f;
	if (p->blame_wallet[0] != '\0')
		snprintf(g->blame, sizeof(g->blame), "%s", p->blame_wallet);
	log_info("resolving recorded transaction", "tx_id=%" PRId64 " tx=%s batch=%s kind=%s nonce=%s", f->id, f->sig,
	    g->batch_id, p->advance ? "advance" : p->table ? "lookup_table" : "mint", g->legacy ? "none" : g->nonce);
}

void
flight_retain(const int64_t *ids, size_t n)
{
	struct fgroup *g = groups;

	/* Both lists are small (the nonce pool bounds them); keep it simple. */
	while (g != NULL) {
		struct fgroup *next = g->next;
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = (g->mint != NULL && g->mint->id == ids[i]) || (g->adv != NULL && g->adv->id == ids[i]);
		if (!keep && !g->verdict_inflight) {
			log_info("nonce resolved by another instance", "batch=%s nonce=%s", g->batch_id, g->nonce);
			group_free(g);
		}
		g = next;
	}
}

void
flight_tick(void)
{
	int64_t now = mono_ms();

	if (groups == NULL)
		return;
	if (status_rounds_inflight == 0 && now >= next_status_ms) {
		landed_waiting = false;
		next_status_ms = INT64_MAX; /* set when this round's last answer is in */
		status_round(/* history= */ false);
		if (status_rounds_inflight == 0)
			next_status_ms = now + S.confirm_poll_ms; /* nothing could be asked */
	}
	if (!history_inflight && now >= next_history_ms) {
		next_history_ms = now + HISTORY_EVERY_MS;
		status_round(/* history= */ true);
	}
	abandon_due();
	for (struct fgroup *g = groups; g != NULL; g = g->next) {
		struct ftx *fs[2] = { g->mint, g->adv };

		for (int k = 0; k < 2; k++) {
			if (fs[k] == NULL)
				continue;
			/* Sent no later than now, when the record does not say (adopted, or sent before a slot was known). */
			if (fs[k]->sent_slot == 0 && chain_facts()->height_known)
				fs[k]->sent_slot = chain_facts()->slot;
			if (!fs[k]->send_inflight && now >= fs[k]->next_send_ms)
				send_once(fs[k]);
		}
	}
	M.inflight = (int64_t)flight_count_own();
}
