/* chain.c: asynchronous polls of height, health, payer balance, priority fees and the node's history floor. */
#include "chain.h"
#include "log.h"
#include "mintd.h"
#include "rpcjson.h"
#include "rpcreq.h"
#include "b58.h"

#include <sodium.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct poll {
	const char *name;
	int every_ms;
	int64_t next_ms;
	bool inflight;
};

enum { P_EPOCH, P_HEALTH, P_BALANCE, P_FEES, P_FLOOR, P_HISTORY, P_COUNT };

static struct rpcm *rpc;
static struct sol_pubkey payer;
static struct chain_facts F;
static struct poll polls[P_COUNT] = {
	[P_EPOCH] = { "getEpochInfo", 0, 0, false },
	[P_HEALTH] = { "getHealth", 2000, 0, false },
	[P_BALANCE] = { "getBalance", 5000, 0, false },
	[P_FEES] = { "getRecentPrioritizationFees", 10000, 0, false },
	[P_FLOOR] = { "minimumLedgerSlot", 30000, 0, false },
	/* A history-searched lookup of a signature nobody made: tells whether the node can search history. */
	[P_HISTORY] = { "getSignatureStatuses", 10000, 0, false },
};
static bool warned_method[P_COUNT];
static bool short_level_known;
static uint64_t short_level; /* the balance when the payer was found short */

/* Enough for the largest transaction a plan makes: ten new token accounts (rent 2,039,280 each) and fees. */
#define PAYER_RESUME_LAMPORTS ((uint64_t)MINTD_MAX_CREATES * 2039280u + 1000000u)

const struct chain_facts *
chain_facts(void)
{
	return &F;
}

void
chain_init(struct rpcm *r, const struct sol_pubkey *p)
{
	rpc = r;
	payer = *p;
	memset(&F, 0, sizeof(F));
	F.rpc_up = true;
	F.fee_micro = S.fee_floor;
	for (int i = 0; i < P_COUNT; i++) {
		polls[i].next_ms = 0;
		polls[i].inflight = false;
	}
}

void
chain_note_error(const char *method, const struct rpc_error *x)
{
	static const char *const needed[] = { "getTokenSupply", "getSignatureStatuses", "getAccountInfo",
		"getMultipleAccounts", "sendTransaction", "getEpochInfo" };

	if (x->kind == RPC_E_NODE_BEHIND)
		F.slots_behind = x->slots_behind;
	if (x->kind != RPC_E_METHOD_NOT_FOUND)
		return;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (strcmp(method, needed[i]) == 0 && strcmp(F.missing_method, method) != 0) {
			snprintf(F.missing_method, sizeof(F.missing_method), "%s", method);
			log_err("solana rpc does not serve a method minting exactly once needs: use another endpoint",
			    "url=%s method=%s", rpcm_display_url(rpc), method);
		}
	}
}

void
chain_note_history(bool ok)
{
	if (F.history_unavailable == !ok)
		return;
	F.history_unavailable = !ok;
	if (!ok)
		log_warn("solana rpc cannot search transaction history (-32011): transactions older than the node's "
		    "status cache can only be resolved once a node with history answers (SOLANA_RPC_URL)", "url=%s",
		    rpcm_display_url(rpc));
	else
		log_notice("solana rpc searches transaction history again", "url=%s", rpcm_display_url(rpc));
}

void
chain_payer_short(void)
{
	if (!F.payer_short)
		log_warn("payer cannot pay for transactions; new work paused until it is funded");
	F.payer_short = true;
	short_level_known = false;
	polls[P_BALANCE].next_ms = 0;
}

bool
chain_payer_can_pay(uint64_t need)
{
	if (F.payer_short)
		return false;
	return !F.payer_known || F.payer_lamports >= need;
}

/* Percentile p (0..100) of the samples, nearest rank, clamped to the configured floor and ceiling. */
static uint64_t
fee_estimate(const struct rpc_prio_fees *pf)
{
	uint64_t v[RPC_MAX_FEE_SAMPLES], x;
	size_t n = pf->n, k;

	if (n == 0)
		return S.fee_floor;
	memcpy(v, pf->fee, n * sizeof(v[0]));
	for (size_t i = 1; i < n; i++) /* insertion sort: at most 150 samples */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	k = ((size_t)S.fee_percentile * n + 99) / 100;
	x = v[k > 0 ? k - 1 : 0];
	if (x < S.fee_floor)
		x = S.fee_floor;
	if (x > S.fee_ceiling)
		x = S.fee_ceiling;
	return x;
}

static void
on_reply(void *arg, const struct rpcm_reply *r)
{
	int which = (int)(intptr_t)arg;
	struct poll *p = &polls[which];
	struct err e = { 0 };

	if (r->cancelled)
		return;
	p->inflight = false;
	if (r->result == NULL) {
		chain_note_error(r->method, r->x);
		if (which == P_HISTORY && r->x->kind == RPC_E_NO_HISTORY)
			chain_note_history(false);
		if (r->x->kind == RPC_E_METHOD_NOT_FOUND && !warned_method[which]) {
			warned_method[which] = true;
			log_warn("solana rpc does not serve a method", "url=%s method=%s", rpcm_display_url(rpc), p->name);
		}
		if (which == P_HEALTH && r->x->kind != RPC_E_RATE_LIMITED) {
			bool behind = r->x->kind == RPC_E_NODE_BEHIND;

			if (F.rpc_up)
				log_warn("solana rpc unusable (retrying; /readyz reports not ready)", "url=%s err=%s", rpcm_display_url(rpc),
				    behind ? "node reports it is behind" : r->e->msg);
			F.rpc_up = false;
			snprintf(F.rpc_why, sizeof(F.rpc_why), "%s", behind ? "node is behind (-32005)" : r->e->msg);
		}
		return;
	}
	switch (which) {
	case P_EPOCH: {
		struct rpc_epoch_info ei;

		if (rpcjson_epoch_info(r->result, &ei, &e) == 0) {
			F.slot = ei.absolute_slot;
			F.height = ei.block_height;
			F.height_known = true;
		}
		break;
	}
	case P_HEALTH:
		if (!F.rpc_up)
			log_notice("solana rpc reachable again", "url=%s", rpcm_display_url(rpc));
		F.rpc_up = true;
		F.rpc_why[0] = '\0';
		F.slots_behind = 0;
		break;
	case P_BALANCE: {
		uint64_t lamports = 0;

		if (rpcjson_ctx_u64(r->result, NULL, &lamports, NULL, &e) == 0) {
			bool was_low = F.payer_known && F.payer_lamports < S.payer_warn_lamports;

			F.payer_known = true;
			F.payer_lamports = lamports;
			if (lamports < S.payer_warn_lamports && !was_low)
				log_warn("payer balance under MINTD_PAYER_WARN_LAMPORTS: fund the mint authority", "lamports=%" PRIu64
				    " warn_lamports=%" PRIu64, lamports, S.payer_warn_lamports);
			/* Funded again: more than when it ran short, or enough for any transaction we build. */
			if (F.payer_short && !short_level_known) {
				short_level = lamports;
				short_level_known = true;
			} else if (F.payer_short && (lamports > short_level || lamports >= PAYER_RESUME_LAMPORTS)) {
				F.payer_short = false;
				log_notice("payer funded: new work resumes", "lamports=%" PRIu64, lamports);
			}
		}
		break;
	}
	case P_FEES: {
		struct rpc_prio_fees pf;

		if (rpcjson_prio_fees(r->result, &pf, &e) == 0) {
			uint64_t f = fee_estimate(&pf);

			if (f != F.fee_micro)
				log_info("priority fee changed", "micro_lamports_per_cu=%" PRIu64 " percentile=%d slots=%zu", f,
				    S.fee_percentile, pf.n);
			F.fee_micro = f;
			F.fee_known = true;
		}
		break;
	}
	case P_HISTORY:
		chain_note_history(true);
		break;
	case P_FLOOR: {
		uint64_t slot;

		if (rpcjson_result_u64(r->result, &slot, &e) == 0)
			F.min_ledger_slot = slot;
		break;
	}
	default:
		break;
	}
}

void
chain_tick(void)
{
	int64_t now = mono_ms();

	polls[P_EPOCH].every_ms = S.confirm_poll_ms;
	for (int i = 0; i < P_COUNT; i++) {
		struct poll *p = &polls[i];
		struct rpcreq_cfg cfg = { .commitment = RPC_COMMIT_CONFIRMED };
		struct sol_pubkey fee_keys[2] = { S.mint, payer };
		struct err e = { 0 };
		cJSON *params;

		if (p->inflight || now < p->next_ms)
			continue;
		p->next_ms = now + p->every_ms;
		switch (i) {
		case P_EPOCH:
			params = rpcreq_cfg_only(&cfg);
			break;
		case P_BALANCE:
			params = rpcreq_key(&payer, &cfg);
			break;
		case P_FEES:
			params = rpcreq_prio_fees(fee_keys, 2);
			break;
		case P_HISTORY: {
			uint8_t sig[64];
			char b[90];
			const char *sigs[1] = { b };

			randombytes_buf(sig, sizeof(sig));
			b58_encode(sig, sizeof(sig), b, sizeof(b));
			params = rpcreq_statuses(sigs, 1, /* search_history= */ true);
			break;
		}
		default:
			params = cJSON_CreateArray();
			break;
		}
		if (rpcm_call(rpc, p->name, params, on_reply, (void *)(intptr_t)i, &e) == 0)
			p->inflight = true;
		else
			log_warn("solana rpc probe not started", "method=%s err=%s", p->name, e.msg);
	}
}
