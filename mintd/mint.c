/* mint.c: the minting cycle around the write-ahead protocol; PostgreSQL decides, Redis only hints, and no
 * step waits on the network inside the loop. */
#include "mint.h"
#include "acks.h"
#include "alt.h"
#include "chain.h"
#include "crash.h"
#include "flight.h"
#include "log.h"
#include "mintd.h"
#include "nonces.h"
#include "notify.h"
#include "pda.h"
#include "plan.h"
#include "rpcjson.h"
#include "rpcreq.h"
#include "store.h"
#include "stream.h"
#include "supply.h"
#include "uuid.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * A claimed batch on its way to the write-ahead: its token accounts are looked up (asynchronously, those the
 * cache does not know), then nonces are reserved, the plan signed and each transaction recorded and sent.
 * While it waits, its readings are claimed (a crash releases them after the lease).
 */
struct batch {
	char token[MINTD_CLAIM_SZ];
	struct reading *rd;
	size_t n;
	int lookups;             /* getMultipleAccounts answers still awaited */
	int sims;                /* simulateTransaction answers still awaited */
	bool dead;               /* shutting down: finish without planning */
	struct plan plan;        /* signed, not yet recorded (while simulations run) */
	struct nonce_row *nonces;
	char batch_id[MINTD_UUID_SZ];
	struct batch *next;
};

static struct store *st;
static struct stream *rs;
static struct rpcm *rpc;
static struct kp *kp;
static struct atacache *cache;
static char *redis_url;
static struct batch *planning;

static char boot[16];          /* random per process: claim tokens never repeat across restarts */
static uint64_t claim_seq;
static bool auto_mint = true;
static bool recovering = true; /* recorded transactions not yet final: no new work */
static bool pel_read;          /* our own pending stream entries re-read after recovery */
static bool draining;
static bool resync;            /* a database failure left memory and database possibly apart */

/* Entries read from the stream, waiting to be claimed as one batch. */
static struct sentry *buf;
static size_t nbuf, capbuf;
static int64_t first_ms;

static int64_t next_poll_ms, next_sweep_ms, next_reconnect_ms, next_claim_sweep_ms;
static int64_t no_nonce_until_ms; /* the last reservation found the pool empty: wait a little */
static char autoclaim_cursor[STREAM_EID_SZ] = "0-0";

static void
db_failed(const char *what, const struct err *e)
{
	M.db_errors++;
	log_err("database error", "op=%s err=%s", what, e->msg);
	if (!store_ok(st))
		resync = true;
}

static redisContext *
redis(void)
{
	return rs != NULL ? stream_ctx(rs) : NULL;
}

/* Acknowledges the stream entries of readings that reached a state the database now carries on its own. */
static void
ack_readings(const struct settled *r, size_t n)
{
	const char **eids = xcalloc(n > 0 ? n : 1, sizeof(*eids));
	char (*buf_eid)[STREAM_EID_SZ] = xcalloc(n > 0 ? n : 1, STREAM_EID_SZ);
	size_t k = 0;
	struct err e = { 0 };

	for (size_t i = 0; i < n; i++) {
		if (r[i].to == RS_PENDING)
			continue; /* back in line: its entry stays ours until it is final */
		if (acks_take(r[i].r.id, buf_eid[k])) {
			eids[k] = buf_eid[k];
			k++;
		}
	}
	if (k > 0 && rs != NULL && stream_ack(rs, eids, k, &e) < 0)
		log_warn("XACK failed: the entries are re-delivered and acked then", "n=%zu err=%s", k, e.msg);
	free(eids);
	free(buf_eid);
}

/* Metrics, acknowledgements and events for readings that changed state. */
static void
settle_readings(const struct settled *r, size_t n, int64_t tx_id, const char *signature, const char *error)
{
	for (size_t i = 0; i < n; i++) {
		switch (r[i].to) {
		case RS_MINTED:
			log_info("reading minted", "reading_id=%s meter=%s wallet=%s tx_id=%" PRId64 " tx=%s", r[i].r.id,
			    r[i].r.meter, r[i].r.wallet, tx_id, signature ? signature : "-");
			M.readings_minted++;
			M.mint_latency_us_sum += r[i].latency_us > 0 ? (uint64_t)r[i].latency_us : 0;
			M.mint_latency_count++;
			break;
		case RS_FAILED:
			M.readings_failed++;
			M.readings_retried++;
			log_warn("reading dead-lettered", "reading_id=%s meter=%s wallet=%s attempts=%d tx_id=%" PRId64 " err=%s",
			    r[i].r.id, r[i].r.meter, r[i].r.wallet, r[i].r.attempts, tx_id, error);
			break;
		case RS_RETRYING:
			M.readings_retried++;
			log_info("reading attempt failed, retrying later", "reading_id=%s meter=%s wallet=%s attempts=%d tx_id=%" PRId64
			    " err=%s", r[i].r.id, r[i].r.meter, r[i].r.wallet, r[i].r.attempts, tx_id, error);
			break;
		default:
			break;
		}
	}
	ack_readings(r, n);
	for (size_t i = 0; i < n; i++) {
		if (r[i].to == RS_MINTED)
			notify_minted(redis(), &r[i].r, signature);
		else if (r[i].to == RS_FAILED)
			notify_failed(redis(), &r[i].r, error, r[i].r.attempts);
	}
}

static void
settle_tx(const struct fresult *res)
{
	struct err e = { 0 };
	long open, total, ok;

	M.fee_lamports += res->fee;
	if (res->table) {
		alt_decided(res->tx_id, res->to == TX_CONFIRMED, res->slot);
		return;
	}
	if (res->to == TX_CONFIRMED && S.lookup_tables)
		alt_minted(res->ix_wallets, res->nix);
	if (res->to == TX_CONFIRMED) {
		M.wallets_in_confirmed += (uint64_t)res->wallets;
		M.atas_created += (uint64_t)res->creates;
		log_info("transaction confirmed", "tx_id=%" PRId64 " tx=%s batch=%s readings=%zu wallets=%d slot=%" PRIu64,
		    res->tx_id, res->signature, res->batch_id, res->n, res->wallets, res->slot);
	}
	settle_readings(res->r, res->n, res->tx_id, res->signature, res->error != NULL ? res->error : "");
	if (res->released > 0) {
		log_info("readings back in line", "tx_id=%" PRId64 " tx=%s readings=%ld", res->tx_id, res->signature, res->released);
		next_claim_sweep_ms = 0; /* re-claim them promptly */
	}
	if (store_batch_totals(st, res->batch_id, &open, &total, &ok, &e) < 0) {
		db_failed("batch totals", &e);
		return;
	}
	if (open == 0)
		notify_batch(redis(), res->batch_id, total, ok, total - ok);
}

static void
on_halt(const struct halt *h)
{
	notify_halted(redis(), h);
}

static void
alarm_both_landed(const char *why)
{
	supply_alarm(why);
}

/* ---- planning a claimed batch ---- */

static void
batch_unlink(struct batch *b)
{
	for (struct batch **pp = &planning; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	plan_free(&b->plan);
	free(b->nonces);
	free(b->rd);
	free(b);
}

static size_t
planning_count(void)
{
	size_t n = 0;

	for (struct batch *b = planning; b != NULL; b = b->next)
		n++;
	return n;
}

/* Whatever the claim still holds (readings, reserved nonces) was not signed into a record: back in line. */
static void
release(const char *token)
{
	long released = 0;
	struct err e = { 0 };

	if (store_ok(st) && store_release_token(st, token, &released, &e) < 0)
		db_failed("release claim", &e);
	if (released > 0) {
		log_info("claim released", "claim=%s readings=%ld", token, released);
		next_claim_sweep_ms = mono_ms() + 1000;
	}
}

static void
reject(struct plan *p, const char *token)
{
	char (*ids)[MINTD_UUID_SZ] = xcalloc(p->nrejected, MINTD_UUID_SZ);
	struct settled *out = NULL;
	size_t nout = 0;
	struct err e = { 0 };

	for (size_t i = 0; i < p->nrejected; i++)
		memcpy(ids[i], p->rejected[i]->id, MINTD_UUID_SZ);
	if (store_reject_claimed(st, token, (const char (*)[MINTD_UUID_SZ])ids, p->nrejected, p->reject_reason, &out,
	    &nout, &e) < 0)
		db_failed("reject readings", &e);
	else
		settle_readings(out, nout, 0, NULL, p->reject_reason);
	free(out);
	free(ids);
}

/* How many nonces the batch needs: its plan, counted (the same packing without signatures). */
static int
nonces_wanted(const struct batch *b)
{
	struct plan p = { 0 };
	struct err e = { 0 };
	int n;

	if (plan_build(b->rd, b->n, "", NULL, 0, chain_facts()->fee_micro, kp, cache,
	    S.lookup_tables ? alt_table_for : NULL, &p, &e) < 0)
		return (int)b->n; /* cannot happen without the signing; then at most one per reading */
	n = (int)p.ntx;
	plan_free(&p);
	return n > 0 ? n : 1;
}

/* Lamports the plan may spend: fees and, for each account it creates, the rent. */
static uint64_t
plan_cost(const struct plan *p)
{
	uint64_t c = 0;

	for (size_t i = 0; i < p->ntx; i++)
		c += p->tx[i].fee + (uint64_t)p->tx[i].creates * 2039280u;
	return c;
}

/* The plan is final (simulated, or not to be): record every transaction in one database transaction, send. */
static void
writeahead_batch(struct batch *b)
{
	struct plan *p = &b->plan;
	struct err e = { 0 };

	if (b->dead || !store_ok(st) || resync)
		goto out;
	if (!chain_payer_can_pay(plan_cost(p))) {
		log_warn("the payer cannot pay now; the readings wait", "batch=%s claim=%s lamports=%" PRIu64, b->batch_id,
		    b->token, plan_cost(p));
		chain_payer_short();
		goto out;
	}
	if (p->ntx > 0) {
		struct wa_tx *wa = xcalloc(p->ntx, sizeof(*wa));
		int64_t *ids = xcalloc(p->ntx, sizeof(*ids));
		bool unknown = false;
		int rc;

		for (size_t i = 0; i < p->ntx; i++) {
			const struct ptx *t = &p->tx[i];

			wa[i] = (struct wa_tx){ .batch_id = b->batch_id, .signature = t->sig, .raw = t->raw,
				.raw_len = t->raw_len, .mint = S.mint_b58, .nonce_account = t->nonce_account,
				.nonce_value = t->nonce_value, .amount = t->amount, .wallets = t->wallets,
				.ix_wallets = (const char *const *)t->ix_wallets, .nix = t->nix, .readings = t->readings,
				.nreadings = t->nreadings };
		}
		crash_point("after_sign");
		rc = store_writeahead_many(st, wa, p->ntx, b->token, ids, &unknown, &e);
		if (rc == 0) {
			crash_point("after_writeahead");
			for (size_t i = 0; i < p->ntx; i++) {
				const struct ptx *t = &p->tx[i];

				log_debug("transaction recorded", "batch=%s tx_id=%" PRId64 " tx=%s readings=%zu wallets=%d new_accounts=%d "
				    "bytes=%zu version=%s%s cu=%u nonce=%s", b->batch_id, ids[i], t->sig, t->nreadings, t->wallets,
				    t->creates, t->raw_len, t->v0 ? "v0" : "legacy",
				    t->v0 ? (t->nlookups > 1 ? "+tables" : "") : "", t->cu_limit,
				    t->nonce_account);
				M.tx_v0 += t->v0;
				flight_add_new(t, ids[i], b->batch_id);
			}
		} else if (rc == 1) {
			log_warn("batch not recorded; sending nothing", "batch=%s claim=%s err=%s", b->batch_id, b->token, e.msg);
		} else {
			/* Not sent. If the COMMIT did happen, resync adopts the records; they resolve like any other. */
			db_failed(unknown ? "write-ahead (outcome unknown)" : "write-ahead", &e);
			if (unknown)
				resync = true;
		}
		free(wa);
		free(ids);
	}
out:
	release(b->token);
	batch_unlink(b);
}

struct sim_ref {
	struct batch *b;
	size_t i;
};

/*
 * The priority fee is paid on the compute-unit limit, not on what runs: set each limit to what a simulation of
 * the same instructions used, plus 10% and 300. A failed simulation (an error, a node that does not know the
 * nonce value yet) keeps the configured budget; the send's preflight judges the transaction as before.
 */
static void
on_simulated(void *arg, const struct rpcm_reply *r)
{
	struct sim_ref *ref = arg;
	struct batch *b = ref->b;
	struct rpc_sim_result sim = { 0 };
	struct err e = { 0 };

	if (r->cancelled) {
		free(ref); /* the batch is freed by mint_stop */
		return;
	}
	if (r->result != NULL && rpcjson_simulation(r->result, &sim, &e) == 0 && !sim.failed && sim.units_known &&
	    sim.units_consumed > 0) {
		struct ptx *t = &b->plan.tx[ref->i];
		uint64_t limit = sim.units_consumed + sim.units_consumed / 10 + 300;

		M.simulations++;
		if (limit < t->cu_limit && !b->dead && plan_resign(t, (uint32_t)limit, kp, &e) < 0) {
			log_err("cannot sign a transaction again; releasing the batch", "batch=%s tx_index=%zu err=%s", b->batch_id, ref->i, e.msg);
			b->dead = true;
		}
	} else {
		M.simulation_fallbacks++;
		if (r->result == NULL)
			chain_note_error(r->method, r->x);
		log_debug("simulation", "batch=%s tx_index=%zu err=%s", b->batch_id, ref->i,
		    r->result == NULL ? r->e->msg : sim.failed ? sim.err : e.msg);
	}
	free(ref);
	if (--b->sims == 0)
		writeahead_batch(b);
}

/* The batch's token accounts are known (or assumed missing): reserve nonces, plan, simulate, write ahead, send. */
static void
plan_batch(struct batch *b)
{
	struct plan_nonce *nonces = NULL;
	size_t nrows = 0;
	struct err e = { 0 };

	if (b->dead || !store_ok(st) || resync)
		goto out;
	if (store_nonce_reserve(st, b->token, nonces_wanted(b), &b->nonces, &nrows, &e) < 0) {
		db_failed("reserve nonces", &e);
		goto out;
	}
	if (nrows == 0) {
		log_debug("no free nonce; the readings wait", "claim=%s", b->token);
		no_nonce_until_ms = mono_ms() + 200;
		goto out;
	}
	nonces = xcalloc(nrows, sizeof(*nonces));
	for (size_t i = 0; i < nrows; i++) {
		memcpy(nonces[i].address, b->nonces[i].address, sizeof(nonces[i].address));
		memcpy(nonces[i].value, b->nonces[i].value, sizeof(nonces[i].value));
	}
	uuid_v4(b->batch_id);
	if (plan_build(b->rd, b->n, b->batch_id, nonces, nrows, chain_facts()->fee_micro, kp, cache,
	    S.lookup_tables ? alt_table_for : NULL, &b->plan, &e) < 0) {
		log_err("cannot plan the batch; releasing its readings", "batch=%s claim=%s readings=%zu err=%s", b->batch_id, b->token, b->n, e.msg);
		goto out;
	}
	free(nonces);
	if (b->plan.nrejected > 0)
		reject(&b->plan, b->token);
	if (S.simulate_cu && b->plan.ntx > 0) {
		struct rpc_sim_opts o = { .sig_verify = false, .replace_recent_blockhash = false,
			.commitment = RPC_COMMIT_CONFIRMED };

		b->sims = 1; /* held while the simulations are started */
		for (size_t i = 0; i < b->plan.ntx; i++) {
			const struct ptx *t = &b->plan.tx[i];
			struct sim_ref *ref = xcalloc(1, sizeof(*ref));

			ref->b = b;
			ref->i = i;
			if (rpcm_call(rpc, "simulateTransaction", rpcreq_simulate(t->raw, t->raw_len, &o, o.commitment),
			    on_simulated, ref, &e) < 0) {
				M.simulation_fallbacks++;
				free(ref);
			} else {
				b->sims++;
			}
		}
		if (--b->sims == 0)
			writeahead_batch(b);
		return;
	}
	writeahead_batch(b);
	return;
out:
	free(nonces);
	release(b->token);
	batch_unlink(b);
}

struct lookup_ref {
	struct batch *b;
	size_t n;
	struct sol_pubkey keys[RPC_MAX_ACCOUNTS];
};

/* Token accounts that exist go into the cache; the others are created (idempotently) by the plan. */
static void
on_lookup(void *arg, const struct rpcm_reply *r)
{
	struct lookup_ref *ref = arg;
	struct batch *b = ref->b;
	struct rpc_account acc[RPC_MAX_ACCOUNTS];
	struct err e = { 0 };

	if (r->cancelled) {
		/* rpcm_free runs before the batches are dropped; the batch is freed by mint_stop. */
		free(ref);
		return;
	}
	if (r->result != NULL && rpcjson_accounts(r->result, true, ref->n, acc, NULL, &e) == 0) {
		for (size_t j = 0; j < ref->n; j++)
			if (acc[j].exists && acc[j].data_len >= 165 && pubkey_eq(&acc[j].owner, &S.token_program))
				atacache_add(cache, &ref->keys[j]);
		rpc_accounts_clear(acc, ref->n);
	} else {
		/* Unknown accounts are created idempotently: costs compute, never correctness. */
		log_debug("token accounts not read", "err=%s", r->result == NULL ? r->e->msg : e.msg);
	}
	free(ref);
	if (--b->lookups == 0)
		plan_batch(b);
}

/* A claim: look up the token accounts the cache does not know, then plan (maybe at once). */
static void
mint_claimed(struct reading *rd, size_t n, const char *token)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	struct lookup_ref *ref = NULL;
	struct rpcreq_cfg cfg = { .commitment = RPC_COMMIT_CONFIRMED, .base64 = true };

	crash_point("after_claim");
	snprintf(b->token, sizeof(b->token), "%s", token);
	b->rd = rd;
	b->n = n;
	b->next = planning;
	planning = b;
	b->lookups = 1; /* held while the lookups are started */
	for (size_t i = 0; i <= n; i++) {
		struct sol_pubkey w, ata;
		struct err e = { 0 };

		if (i < n) {
			bool dup = false;

			if (pubkey_from_b58(rd[i].wallet, &w, NULL) < 0 || pda_ata(&w, &S.mint, &S.token_program, &ata, NULL) < 0 ||
			    atacache_has(cache, &ata))
				continue;
			for (size_t j = 0; ref != NULL && j < ref->n && !dup; j++)
				dup = pubkey_eq(&ref->keys[j], &ata);
			if (dup)
				continue;
			if (ref == NULL) {
				ref = xcalloc(1, sizeof(*ref));
				ref->b = b;
			}
			ref->keys[ref->n++] = ata;
			if (ref->n < RPC_MAX_ACCOUNTS)
				continue;
		}
		if (ref == NULL)
			continue;
		if (rpcm_call(rpc, "getMultipleAccounts", rpcreq_keys(ref->keys, ref->n, &cfg), on_lookup, ref, &e) < 0) {
			log_warn("token accounts not read", "err=%s", e.msg);
			free(ref);
		} else {
			b->lookups++;
		}
		ref = NULL;
	}
	if (--b->lookups == 0)
		plan_batch(b);
}

/*
 * With a wallet window, readings wait in PostgreSQL: sweep again a gathering time after the earliest of them is
 * due. Wallets' windows open at scattered moments (each a window after its own last mint); sweeping at each
 * moment would mint them one wallet per transaction. Gathering min(W / 20, the polling interval) lets the
 * wallets whose windows opened meanwhile share transactions, for at most 5% more latency than the window.
 */
static void
schedule_due(void)
{
	int64_t ms = -1, at, gather;
	struct err e = { 0 };

	if (S.wallet_window_secs <= 0)
		return;
	if (store_next_due(st, &ms, &e) < 0) {
		db_failed("next due reading", &e);
		return;
	}
	if (ms < 0)
		return;
	gather = (int64_t)S.wallet_window_secs * 1000 / 20;
	if (gather > (int64_t)S.poll_secs * 1000)
		gather = (int64_t)S.poll_secs * 1000;
	at = mono_ms() + ms + (gather > 50 ? gather : 50);
	if (at < next_claim_sweep_ms)
		next_claim_sweep_ms = at;
}

static void
next_token(char token[MINTD_CLAIM_SZ])
{
	snprintf(token, MINTD_CLAIM_SZ, "%s:%s-%" PRIu64, S.instance, boot, ++claim_seq);
}

/* Why no new work is taken now ("" when it is), for /readyz and the logs. */
static const char *
paused_why(void)
{
	if (supply_halted(NULL))
		return "minting halted (supply invariant)";
	if (!supply_baseline_known())
		return "establishing the supply baseline (a finalized getTokenSupply)";
	if (chain_facts()->payer_short)
		return "payer cannot pay for transactions";
	if (!auto_mint)
		return "auto-mint disabled";
	if (recovering)
		return "resolving recorded transactions first";
	if (draining)
		return "draining";
	return "";
}

static bool
may_take_work(void)
{
	return paused_why()[0] == '\0' && !resync && store_ok(st) && mono_ms() >= no_nonce_until_ms &&
	    flight_batches_own() + planning_count() < (size_t)S.concurrent;
}

/* Claims the buffered stream entries; entries whose reading is not pending any more are acked at once. */
static void
flush(void)
{
	char (*ids)[MINTD_UUID_SZ] = xcalloc(nbuf > 0 ? nbuf : 1, MINTD_UUID_SZ);
	const char **done = xcalloc(nbuf > 0 ? nbuf : 1, sizeof(*done));
	struct reading *got = NULL;
	size_t nids = 0, ngot = 0, ndone = 0;
	char token[MINTD_CLAIM_SZ];
	struct err e = { 0 };

	for (size_t i = 0; i < nbuf; i++)
		if (buf[i].rid[0] != '\0')
			memcpy(ids[nids++], buf[i].rid, MINTD_UUID_SZ);
	next_token(token);
	if (nids > 0 && store_claim_ids(st, token, (const char (*)[MINTD_UUID_SZ])ids, nids, &got, &ngot, &e) < 0) {
		db_failed("claim", &e);
		goto out; /* entries stay pending in the stream: re-read or reclaimed later */
	}
	for (size_t i = 0; i < nbuf; i++) {
		bool mine = false;

		for (size_t j = 0; j < ngot && buf[i].rid[0] != '\0'; j++)
			if (strcmp(got[j].id, buf[i].rid) == 0)
				mine = true;
		if (mine)
			acks_put(buf[i].rid, buf[i].eid);
		else
			done[ndone++] = buf[i].eid; /* gone, minted, or someone else's: PostgreSQL tracks it */
	}
	if (ndone > 0 && stream_ack(rs, done, ndone, &e) < 0)
		log_warn("XACK failed", "err=%s", e.msg);
	nbuf = 0;
	if (ngot > 0) {
		mint_claimed(got, ngot, token);
		got = NULL; /* the batch owns it */
	}
	if (ngot < nids)
		schedule_due(); /* some may wait for their wallet's window */
out:
	nbuf = 0;
	free(got);
	free(ids);
	free(done);
}

static void
buffer_entries(struct sentry *v, size_t n)
{
	if (n == 0)
		return;
	if (nbuf == 0)
		first_ms = mono_ms();
	if (nbuf + n > capbuf) {
		capbuf = nbuf + n + 64;
		buf = xreallocarray(buf, capbuf, sizeof(*buf));
	}
	memcpy(buf + nbuf, v, n * sizeof(*v));
	nbuf += n;
}

static void
poll_stream(void)
{
	struct sentry *v = NULL;
	size_t n = 0;
	struct err e = { 0 };
	int want = S.batch_size - (int)nbuf;

	if (rs == NULL || !stream_ok(rs) || want <= 0)
		return;
	if (stream_read(rs, !pel_read, want, &v, &n, &e) < 0) {
		log_warn("stream read failed", "err=%s", e.msg);
		return;
	}
	if (!pel_read && n < (size_t)want)
		pel_read = true; /* own pending entries all re-read; from now on only new ones */
	buffer_entries(v, n);
	free(v);
}

/* Adopts recorded transactions nobody is resolving; with min_age 0 every pending one (start-up, resync). */
static int
adopt(int min_age)
{
	struct pending_tx *p = NULL;
	size_t n = 0;
	struct err e = { 0 };

	if (store_load_pending(st, min_age, &p, &n, &e) < 0) {
		db_failed("load pending transactions", &e);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		flight_adopt(&p[i]);
	for (size_t i = 0; i < n; i++)
		pending_tx_free(&p[i]);
	free(p);
	return 0;
}

/* Forgets transactions another instance resolved (they are not pending any more). */
static void
retain(void)
{
	int64_t *ids = NULL;
	size_t n = 0;
	struct err e = { 0 };

	if (store_pending_ids(st, &ids, &n, &e) < 0) {
		db_failed("pending transactions", &e);
		return;
	}
	flight_retain(ids, n);
	free(ids);
}

/* Start-up and after a database failure: make memory agree with the database again. */
static void
recover(void)
{
	long n = 0;
	struct err e = { 0 };

	nbuf = 0;
	if (store_release_stale(st, S.instance, S.lease_secs, &n, &e) < 0) {
		db_failed("release claims", &e);
		return;
	}
	if (n > 0)
		log_info("recovery: released claimed readings never signed", "readings=%ld", n);
	if (adopt(0) < 0)
		return;
	if (store_auto_mint(st, &auto_mint, &e) < 0)
		db_failed("settings", &e);
	supply_refresh();
	recovering = true;
	resync = false;
	pel_read = false;
	log_info("recovery: recorded transactions to resolve before new work", "n=%zu", flight_count());
}

static void
gauges(void)
{
	struct store_gauges g;
	struct err e = { 0 };

	if (store_gauges(st, &g, &e) < 0 || store_nonce_counts(st, M.nonces, &e) < 0) {
		db_failed("gauges", &e);
		return;
	}
	M.g.backlog = g.backlog;
	M.g.retry = g.retry;
	M.g.dead = g.dead;
	M.g.oldest_age_s = g.oldest_age_s;
	M.g.oldest_pending_tx_age_s = g.oldest_pending_tx_age_s;
	M.g.waiting = g.waiting;
	if (S.lookup_tables)
		(void)alt_gauges(true);
}

static void
sweep(void)
{
	struct err e = { 0 };
	struct sentry *v = NULL;
	size_t n = 0;
	long released = 0;

	if (store_release_stale(st, NULL, S.lease_secs, &released, &e) < 0) {
		db_failed("release stale claims", &e);
		return;
	}
	if (released > 0)
		log_info("sweep: released stale claims", "readings=%ld", released);
	if (adopt(S.lease_secs) < 0)
		return;
	retain();
	supply_refresh();
	if (store_auto_mint(st, &auto_mint, &e) < 0) {
		db_failed("settings", &e);
		return;
	}
	gauges();
	if (rs != NULL && stream_ok(rs) && !draining) {
		/* Entries another consumer took and never acknowledged (it died): ours now. */
		if (stream_autoclaim(rs, (long)S.lease_secs * 1000, S.batch_size, autoclaim_cursor, &v, &n, &e) < 0)
			log_warn("stream reclaim failed", "err=%s", e.msg);
		buffer_entries(v, n);
		free(v);
	}
	next_claim_sweep_ms = 0;
}

/* Readings the stream never delivered, and due retries, straight from PostgreSQL. */
static void
claim_sweep(void)
{
	struct reading *got = NULL;
	size_t n = 0;
	char token[MINTD_CLAIM_SZ];
	struct err e = { 0 };

	next_token(token);
	if (store_claim_sweep(st, token, S.batch_size, &got, &n, &e) < 0) {
		db_failed("sweep claim", &e);
		next_claim_sweep_ms = mono_ms() + 1000;
		return;
	}
	/* A full claim means more may wait: come back soon rather than in a polling interval. */
	next_claim_sweep_ms = n >= (size_t)S.batch_size ? 0 : INT64_MAX;
	schedule_due();
	if (n > 0) {
		log_info("sweep: claimed readings", "claim=%s readings=%zu", token, n);
		mint_claimed(got, n, token);
		return;
	}
	free(got);
}

static void
reconnect(int64_t now)
{
	struct err e = { 0 };

	if (now < next_reconnect_ms)
		return;
	next_reconnect_ms = now + 1000;
	if (!store_ok(st)) {
		if (store_reconnect(st, &e) < 0) {
			log_warn("database reconnect failed", "err=%s", e.msg);
			return;
		}
		log_notice("database reconnected");
		resync = true;
	}
	if (resync && planning == NULL)
		recover();
	if (rs == NULL) {
		if ((rs = stream_open(redis_url, S.stream, S.group, S.instance, 2000, &e)) == NULL)
			log_warn("redis unreachable", "err=%s", e.msg);
	} else if (!stream_ok(rs)) {
		if (stream_reconnect(rs, &e) < 0)
			log_warn("redis reconnect failed", "err=%s", e.msg);
		else
			log_notice("redis reconnected");
	}
}

int
mint_tick(void)
{
	int64_t now = mono_ms();

	chain_tick();
	if (!store_ok(st) || resync || rs == NULL || !stream_ok(rs))
		reconnect(now);
	M.db_up = store_ok(st) && !resync;
	M.redis_up = rs != NULL && stream_ok(rs);
	if (!store_ok(st) || resync)
		return 200;
	nonces_tick();
	supply_tick();
	/* Every tick: flight keeps its own schedule (status rounds, rebroadcasts, abandonments). */
	flight_tick();
	alt_tick(!recovering && paused_why()[0] == '\0' && !resync);
	if (recovering && flight_count() == 0) {
		recovering = false;
		log_info("recovery complete: taking new work");
	}
	if (now >= next_sweep_ms) {
		next_sweep_ms = now + (int64_t)S.poll_secs * 1000;
		sweep();
	}
	if (may_take_work()) {
		if (now >= next_poll_ms) {
			next_poll_ms = now + S.stream_poll_ms;
			poll_stream();
		}
		if (nbuf > 0 && (nbuf >= (size_t)S.batch_size || now - first_ms >= S.linger_ms))
			flush();
		else if (nbuf == 0 && now >= next_claim_sweep_ms && may_take_work())
			claim_sweep();
	}
	return nbuf > 0 ? 5 : 20;
}

int
mint_start(const char *db_url, const char *rurl, struct rpcm *r, struct kp *k, struct err *e)
{
	const struct store_limits lim = { S.pg_statement_ms, S.pg_lock_ms, S.pg_idle_tx_ms };
	uint8_t b[4];

	randombytes_buf(b, sizeof(b));
	snprintf(boot, sizeof(boot), "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
	rpc = r;
	kp = k;
	redis_url = xstrdup(rurl);
	if ((st = store_open(db_url, &lim, e)) == NULL)
		return -1;
	cache = atacache_new();
	chain_init(rpc, kp_pubkey(kp));
	nonces_init(st, rpc, kp);
	supply_init(st, rpc, on_halt);
	flight_init(st, rpc, kp, cache, settle_tx, alarm_both_landed);
	alt_init(st, rpc, kp);
	rs = stream_open(redis_url, S.stream, S.group, S.instance, 2000, e);
	if (rs == NULL)
		log_warn("redis unreachable: minting continues from PostgreSQL sweeps; retrying", "err=%s", e->msg);
	recover();
	return 0;
}

void
mint_stop(void)
{
	struct err e = { 0 };
	long n = 0;

	for (struct batch *b = planning; b != NULL; b = b->next)
		b->dead = true;
	while (planning != NULL)
		batch_unlink(planning);
	if (st != NULL && store_ok(st) && store_release_stale(st, S.instance, S.lease_secs, &n, &e) == 0 && n > 0)
		log_info("released claims", "readings=%ld", n);
	flight_clear();
	alt_clear();
	acks_clear();
	free(buf);
	buf = NULL;
	nbuf = capbuf = 0;
	stream_close(rs);
	rs = NULL;
	store_close(st);
	st = NULL;
	atacache_free(cache);
	cache = NULL;
	if (redis_url != NULL)
		explicit_bzero(redis_url, strlen(redis_url));
	free(redis_url);
	redis_url = NULL;
}

void
mint_trigger(void)
{
	next_sweep_ms = 0;
	next_claim_sweep_ms = 0;
	first_ms = 0; /* flush what the stream gave at once */
}

void
mint_set_auto(bool on)
{
	if (on != auto_mint && on)
		log_notice("auto-mint enabled");
	else if (on != auto_mint)
		log_notice("auto-mint disabled");
	auto_mint = on;
}

void
mint_halt_changed(void)
{
	if (st != NULL && store_ok(st))
		supply_refresh();
}

void
mint_drain(void)
{
	draining = true;
	nbuf = 0; /* unclaimed entries stay pending in the stream */
}

bool
mint_drained(void)
{
	return draining && flight_count_own() == 0 && planning == NULL;
}

const char *
mint_not_ready_why(void)
{
	static char why[360];
	const struct chain_facts *cf = chain_facts();

	if (st == NULL || !store_ok(st) || resync)
		return "database unreachable";
	if (rs == NULL || !stream_ok(rs))
		return "redis unreachable";
	if (!cf->rpc_up) {
		snprintf(why, sizeof(why), "solana rpc: %s", cf->rpc_why);
		return why;
	}
	if (cf->missing_method[0] != '\0') {
		snprintf(why, sizeof(why), "solana rpc does not serve %s, which minting exactly once needs", cf->missing_method);
		return why;
	}
	if (flight_needing_history() > 0) {
		snprintf(why, sizeof(why), "solana rpc cannot search transaction history (-32011) and %zu recorded "
		    "transactions were sent longer ago than its status cache covers: they wait for a node with history",
		    flight_needing_history());
		return why;
	}
	if (flight_stuck() > 0)
		return "a pending transaction without a durable nonce (written by an older mintd) needs its status";
	if (recovering || draining || supply_halted(NULL) || cf->payer_short || !supply_baseline_known())
		return paused_why();
	return NULL;
}

bool
mint_ready(void)
{
	return mint_not_ready_why() == NULL;
}
