/* flight.c: the send/confirm half of the protocol: same signed bytes until final; expiry only when provable. */
#include "flight.h"
#include "b58.h"
#include "crash.h"
#include "log.h"
#include "ts.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ftx {
	int64_t id;
	char batch_id[MINTD_UUID_SZ];
	char sig[89];
	uint8_t sigbytes[64];
	uint8_t raw[1232];
	size_t raw_len;
	uint64_t lvbh;
	bool own;        /* created by this process (counts against BLOCKCHAIN_CONCURRENT_BATCHES) */
	bool maybe_sent; /* a copy may have reached a node: a preflight failure is then not final */
	bool sent_recorded;
	int wallets;
	char **ix_wallets;
	size_t nix;
	struct sol_pubkey *created;
	int ncreated;
	uint64_t fee;
	int64_t next_send_ms;
	int null_checks;
	int64_t last_null_ms;
	char last_send_err[256];
	struct ftx *next;
};

static struct ftx *head;
static struct store *st;
static struct rpc *rpc;
static struct atacache *cache;
static flight_settle_fn settle;

void
flight_init(struct store *s, struct rpc *r, struct atacache *c, flight_settle_fn fn)
{
	st = s;
	rpc = r;
	cache = c;
	settle = fn;
}

bool
flight_has(int64_t tx_id)
{
	for (struct ftx *f = head; f != NULL; f = f->next)
		if (f->id == tx_id)
			return true;
	return false;
}

size_t
flight_count(void)
{
	size_t n = 0;

	for (struct ftx *f = head; f != NULL; f = f->next)
		n++;
	return n;
}

size_t
flight_count_own(void)
{
	size_t n = 0;

	for (struct ftx *f = head; f != NULL; f = f->next)
		n += f->own;
	return n;
}

size_t
flight_batches_own(void)
{
	size_t n = 0;

	for (struct ftx *f = head; f != NULL; f = f->next) {
		struct ftx *g;

		if (!f->own)
			continue;
		for (g = head; g != f && (!g->own || strcmp(g->batch_id, f->batch_id) != 0); g = g->next)
			;
		n += g == f;
	}
	return n;
}

static void
ftx_free(struct ftx *f)
{
	for (size_t i = 0; i < f->nix; i++)
		free(f->ix_wallets[i]);
	free(f->ix_wallets);
	free(f->created);
	free(f);
}

static void
unlink_ftx(struct ftx *f)
{
	for (struct ftx **pp = &head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			ftx_free(f);
			return;
		}
	}
}

void
flight_clear(void)
{
	while (head != NULL)
		unlink_ftx(head);
	M.inflight = 0;
}

static void
record_sent(struct ftx *f)
{
	struct err e = { 0 };

	f->maybe_sent = true;
	if (f->sent_recorded)
		return;
	/* Informational (sent_at); safety rests on maybe_sent, which is already set. */
	if (store_mark_sent(st, f->id, &e) < 0) {
		M.db_errors++;
		log_warn("tx %" PRId64 " %s: cannot record sent_at: %s", f->id, f->sig, e.msg);
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

	if (p == NULL)
		return NULL;
	i = strtol(p + 20, &end, 10);
	if (end == p + 20 || *end != ',' || i < 0 || (size_t)i >= f->nix)
		return NULL;
	return f->ix_wallets[i];
}

static void
finish(struct ftx *f, enum txstate to, const char *error, uint64_t slot, uint64_t fee)
{
	struct settled *out = NULL;
	struct fresult res = { 0 };
	char batch[MINTD_UUID_SZ] = "";
	size_t n = 0;
	long released = 0;
	struct err e = { 0 };
	int rc;

	if (to == TX_CONFIRMED) {
		crash_point("after_confirm_before_db");
		rc = store_confirm(st, f->id, f->sig, slot, fee, batch, &out, &n, &e);
	} else {
		const char *w = to == TX_FAILED ? blame(f, error) : NULL;

		rc = store_fail(st, f->id, to, error, fee, w, batch, &out, &n, &released, &e);
	}
	if (rc < 0) {
		M.db_errors++;
		log_err("tx %" PRId64 " %s: cannot record %s: %s (will retry)", f->id, f->sig, txstate_name(to), e.msg);
		return;
	}
	if (rc == 1) {
		log_info("tx %" PRId64 " %s: already resolved elsewhere", f->id, f->sig);
	} else {
		if (to == TX_CONFIRMED)
			for (int i = 0; i < f->ncreated; i++)
				atacache_add(cache, &f->created[i]);
		res.tx_id = f->id;
		res.signature = f->sig;
		res.batch_id = batch;
		res.to = to;
		res.error = error;
		res.wallets = f->wallets;
		res.creates = to == TX_CONFIRMED ? f->ncreated : 0;
		res.fee = fee;
		res.r = out;
		res.n = n;
		res.released = released;
		settle(&res);
	}
	free(out);
	unlink_ftx(f);
}

/* One send of the stored bytes; a final preflight verdict resolves the transaction (returns true then). */
static bool
send_once(struct ftx *f)
{
	struct rpc_send_opts o = { .skip_preflight = false, .max_retries = 0,
		.preflight_commitment = RPC_COMMIT_CONFIRMED, .expect_sig = f->sigbytes };
	char sig[89];
	struct err e = { 0 };

	M.sends++;
	f->next_send_ms = mono_ms() + S.rebroadcast_ms;
	if (rpc_send_transaction(rpc, f->raw, f->raw_len, &o, sig, &e) == 0) {
		record_sent(f);
		return false;
	}
	snprintf(f->last_send_err, sizeof(f->last_send_err), "%s", e.msg);
	switch (e.code) {
	case RPC_E_ALREADY_PROCESSED:
	case RPC_E_TRANSPORT:
	case RPC_E_TIMEOUT:
	case RPC_E_HTTP:
	case RPC_E_PARSE:
		/* Landed, or the node may have taken it: from now on only status or expiry decide. */
		record_sent(f);
		if (e.code != RPC_E_ALREADY_PROCESSED)
			M.rpc_errors++;
		log_debug("tx %" PRId64 " %s: send: %s", f->id, f->sig, e.msg);
		return false;
	case RPC_E_PREFLIGHT:
	case RPC_E_SIGVERIFY:
		if (!f->maybe_sent) {
			const struct rpc_error *x = rpc_last_error(rpc);
			char why[RPC_ERRJSON_MAX + 200];

			/* No copy of these bytes ever left with an unknown outcome: it cannot land. */
			snprintf(why, sizeof(why), "%s", x->data_err[0] ? x->data_err : e.msg);
			log_warn("tx %" PRId64 " %s: rejected before any send: %s", f->id, f->sig, e.msg);
			M.tx_failed++;
			finish(f, TX_FAILED, why, 0, 0);
			return true;
		}
		log_info("tx %" PRId64 " %s: preflight failed after an earlier send; waiting for status or expiry: %s",
		    f->id, f->sig, e.msg);
		return false;
	default:
		/* BlockhashNotFound (maybe node lag), JSON-RPC errors: the node did not take it; send again later. */
		M.rpc_errors++;
		log_debug("tx %" PRId64 " %s: send: %s", f->id, f->sig, e.msg);
		return false;
	}
}

static struct ftx *
add(int64_t id, const char *batch_id, const char *sig, const uint8_t *raw, size_t raw_len, uint64_t lvbh)
{
	struct ftx *f = xcalloc(1, sizeof(*f));
	struct err e = { 0 };

	f->id = id;
	snprintf(f->batch_id, sizeof(f->batch_id), "%s", batch_id);
	snprintf(f->sig, sizeof(f->sig), "%s", sig);
	if (b58_decode_exact(sig, strlen(sig), f->sigbytes, 64, &e) < 0)
		log_err("tx %" PRId64 ": bad signature text: %s", id, e.msg);
	memcpy(f->raw, raw, raw_len);
	f->raw_len = raw_len;
	f->lvbh = lvbh;
	f->next = head;
	head = f;
	return f;
}

void
flight_add_new(const struct ptx *t, int64_t tx_id, const char *batch_id, uint64_t lvbh)
{
	struct ftx *f = add(tx_id, batch_id, t->sig, t->raw, t->raw_len, lvbh);

	f->own = true;
	f->wallets = t->wallets;
	f->fee = t->fee;
	f->nix = t->nix;
	f->ix_wallets = xcalloc(t->nix > 0 ? t->nix : 1, sizeof(char *));
	for (size_t i = 0; i < t->nix; i++)
		f->ix_wallets[i] = t->ix_wallets[i] ? xstrdup(t->ix_wallets[i]) : NULL;
	f->ncreated = t->creates;
	f->created = xcalloc(t->creates > 0 ? (size_t)t->creates : 1, sizeof(*f->created));
	memcpy(f->created, t->created, (size_t)t->creates * sizeof(*f->created));
	M.tx_sent++;
	M.inflight = (int64_t)flight_count_own();
	if (!send_once(f))
		crash_point("after_send");
}

void
flight_adopt(struct pending_tx *p)
{
	struct ftx *f;

	if (flight_has(p->id)) {
		pending_tx_free(p);
		return;
	}
	f = add(p->id, p->batch_id, p->signature, p->raw, p->raw_len, p->last_valid_block_height);
	/* It may have been sent before we knew of it: never treat a preflight failure as final. */
	f->maybe_sent = true;
	f->sent_recorded = p->sent;
	f->wallets = p->wallets;
	f->ix_wallets = p->ix_wallets;
	f->nix = p->nix;
	p->ix_wallets = NULL;
	p->nix = 0;
	f->next_send_ms = 0;
	log_info("tx %" PRId64 " %s: resolving recorded transaction (last valid block height %" PRIu64 ")", f->id,
	    f->sig, f->lvbh);
}

static bool
reached(const struct rpc_sigstatus *s)
{
	enum rpc_commitment c = s->rooted ? RPC_COMMIT_FINALIZED : s->status;

	return c != RPC_COMMIT_DEFAULT && c >= S.commitment;
}

/* Decides one transaction from its status; heights are fetched lazily (0 = not yet). */
static void
decide(struct ftx *f, const struct rpc_sigstatus *s, uint64_t *h_conf, uint64_t *h_fin, int64_t now)
{
	struct err e = { 0 };

	if (s->found) {
		f->null_checks = 0;
		if (!reached(s))
			return; /* landed, not yet at the required commitment */
		if (!s->failed) {
			M.tx_confirmed++;
			finish(f, TX_CONFIRMED, NULL, s->slot, f->fee);
		} else {
			M.tx_failed++;
			log_warn("tx %" PRId64 " %s: failed on chain: %s", f->id, f->sig, s->err);
			finish(f, TX_FAILED, s->err, s->slot, f->fee);
		}
		return;
	}
	if (*h_conf == 0 && rpc_get_block_height(rpc, RPC_COMMIT_CONFIRMED, h_conf, &e) < 0) {
		M.rpc_errors++;
		log_debug("getBlockHeight: %s", e.msg);
		return;
	}
	if (*h_conf <= f->lvbh) {
		/* Still able to land: keep offering the same bytes. */
		f->null_checks = 0;
		if (now >= f->next_send_ms)
			send_once(f);
		return;
	}
	if (*h_fin == 0 && rpc_get_block_height(rpc, RPC_COMMIT_FINALIZED, h_fin, &e) < 0) {
		M.rpc_errors++;
		log_debug("getBlockHeight(finalized): %s", e.msg);
		return;
	}
	if (*h_fin <= f->lvbh)
		return; /* expired at confirmed but not provably at finalized yet */
	/*
	 * Past lastValidBlockHeight at finalized the transaction can no longer land; what remains is whether
	 * it already did. A history-searched null answers that, unless the node's history misses it (a
	 * status-cache miss, a lagging or pruned node). Several nulls one poll apart shrink that risk; they
	 * cannot remove it: if a node answered null MINTD_EXPIRY_NULL_CHECKS times in a row for a landed
	 * transaction, its readings would be minted again. Point SOLANA_RPC_URL at a node with full history.
	 */
	if (f->null_checks > 0 && now - f->last_null_ms < S.confirm_poll_ms)
		return;
	f->null_checks++;
	f->last_null_ms = now;
	if (f->null_checks < S.expiry_null_checks)
		return;
	{
		char why[640];

		snprintf(why, sizeof(why), "expired: block height %" PRIu64 " passed last valid block height %" PRIu64
		    " and %d history-searched statuses were null%s%s", *h_fin, f->lvbh, f->null_checks,
		    f->last_send_err[0] ? "; last send error: " : "", f->last_send_err);
		M.tx_expired++;
		log_warn("tx %" PRId64 " %s: %s", f->id, f->sig, why);
		finish(f, TX_EXPIRED, why, 0, 0);
	}
}

void
flight_tick(void)
{
	const char *sigs[RPC_MAX_STATUSES];
	struct ftx *batch[RPC_MAX_STATUSES];
	struct rpc_sigstatus *stat;
	uint64_t h_conf = 0, h_fin = 0;
	int64_t now = mono_ms();
	struct ftx *f = head;

	if (head == NULL)
		return;
	stat = xcalloc(RPC_MAX_STATUSES, sizeof(*stat));
	while (f != NULL) {
		size_t n = 0;
		struct err e = { 0 };

		for (; f != NULL && n < RPC_MAX_STATUSES; f = f->next) {
			batch[n] = f;
			sigs[n++] = f->sig;
		}
		if (rpc_get_signature_statuses(rpc, sigs, n, /* search_history= */ true, stat, NULL, &e) < 0) {
			M.rpc_errors++;
			log_warn("getSignatureStatuses: %s", e.msg);
			/* No verdicts this round, but keep offering the bytes of those still able to land. */
			for (size_t i = 0; i < n; i++)
				if (now >= batch[i]->next_send_ms && batch[i]->null_checks == 0)
					send_once(batch[i]);
			continue;
		}
		/* decide() may unlink batch[i]; `f` already points past this chunk. */
		for (size_t i = 0; i < n; i++)
			decide(batch[i], &stat[i], &h_conf, &h_fin, now);
	}
	free(stat);
	M.inflight = (int64_t)flight_count_own();
}
