/* supply.c: the supply invariant at finalized commitment, the halt, and the re-checks of recent verdicts. */
#include "supply.h"
#include "chain.h"
#include "log.h"
#include "mintd.h"
#include "rpcjson.h"
#include "rpcreq.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECHECK_MAX 256

static struct store *st;
static struct rpcm *rpc;
static supply_event_fn on_halt;
static bool halted;
static struct halt active;
static bool supply_inflight, recheck_inflight;
static bool baseline_known;
static int64_t next_check_ms;

void
supply_init(struct store *s, struct rpcm *r, supply_event_fn fn)
{
	st = s;
	rpc = r;
	on_halt = fn;
	halted = false;
	baseline_known = false;
	supply_inflight = recheck_inflight = false;
	next_check_ms = 0;
}

bool
supply_baseline_known(void)
{
	return baseline_known;
}

bool
supply_halted(const struct halt **h)
{
	if (h != NULL)
		*h = halted ? &active : NULL;
	return halted;
}

void
supply_refresh(void)
{
	struct err e = { 0 };
	bool was = halted;

	if (store_halt_active(st, S.mint_b58, &halted, &active, &e) < 0) {
		M.db_errors++;
		log_warn("halt state not read", "err=%s", e.msg);
		halted = was;
		return;
	}
	if (was && !halted)
		log_notice("minting halt acknowledged by an operator: taking new work again");
	else if (!was && halted)
		log_err("minting is halted: acknowledge with POST /api/admin/tokenization/acknowledge-halt once understood",
		    "halt_id=%" PRId64 " reason=%s supply=%s expected_min=%s expected_max=%s slot=%" PRIu64, active.id,
		    active.reason, active.supply, active.expected_min, active.expected_max, active.slot);
}

static void
raise_halt(const struct halt *in)
{
	struct err e = { 0 };
	bool raised = false;

	if (store_halt_raise(st, S.mint_b58, S.instance, in, &raised, &active, &e) < 0) {
		M.db_errors++;
		log_err("cannot record the minting halt; this instance stops new work anyway", "reason=%s err=%s", in->reason, e.msg);
		active = *in;
		halted = true;
		return;
	}
	halted = true;
	if (!raised)
		return;
	M.halts_raised++;
	log_err("MINTING HALTED: every instance stops new work until an operator acknowledges it", "halt_id=%" PRId64
	    " reason=%s supply=%s slot=%" PRIu64 " expected_min=%s expected_max=%s", active.id, active.reason, active.supply,
	    active.slot, active.expected_min, active.expected_max);
	if (on_halt != NULL)
		on_halt(&active);
}

void
supply_alarm(const char *why)
{
	struct halt h = { 0 };

	snprintf(h.reason, sizeof(h.reason), "%s", why);
	snprintf(h.supply, sizeof(h.supply), "0");
	snprintf(h.expected_min, sizeof(h.expected_min), "0");
	snprintf(h.expected_max, sizeof(h.expected_max), "0");
	h.slot = chain_facts()->slot;
	raise_halt(&h);
}

/* The proof of both figures' time: the supply's own context.slot at finalized; the sums are read after. */
static void
on_supply(void *arg, const struct rpcm_reply *r)
{
	struct rpc_token_balance tb;
	struct supply_sums sums;
	struct err e = { 0 };
	char amount[48];

	(void)arg;
	if (r->cancelled)
		return;
	supply_inflight = false;
	if (r->result == NULL)
		chain_note_error(r->method, r->x);
	if (r->result == NULL || rpcjson_token_balance(r->result, &tb, &e) < 0) {
		log_debug("getTokenSupply failed", "err=%s", r->result == NULL ? r->e->msg : e.msg);
		return;
	}
	M.supply_checks++;
	snprintf(amount, sizeof(amount), "%" PRIu64, tb.amount);
	if (store_supply_check(st, S.mint_b58, tb.context_slot, amount, &sums, &e) < 0) {
		M.db_errors++;
		log_warn("supply check failed", "err=%s", e.msg);
		return;
	}
	baseline_known = sums.have_baseline;
	if (!sums.have_baseline) {
		enum baseline_outcome bo = BASELINE_BUSY;

		if (store_supply_baseline_init(st, S.mint_b58, tb.context_slot, amount, &bo, &e) < 0) {
			M.db_errors++;
			log_warn("supply baseline not recorded", "err=%s", e.msg);
		} else if (bo == BASELINE_SET || bo == BASELINE_EXISTS) {
			baseline_known = true;
			if (bo == BASELINE_SET)
					log_notice("supply baseline recorded (what mintd minted is counted from here)", "supply=%s slot=%" PRIu64,
				    amount, tb.context_slot);
		} else if (bo == BASELINE_BELOW) {
			struct halt h = { .slot = tb.context_slot };

			snprintf(h.reason, sizeof(h.reason), "the supply is less than the mints recorded as confirmed");
			snprintf(h.supply, sizeof(h.supply), "%s", amount);
			snprintf(h.expected_min, sizeof(h.expected_min), "%s", amount);
			snprintf(h.expected_max, sizeof(h.expected_max), "%s", amount);
			raise_halt(&h);
		}
		return;
	}
	if (sums.cmp != 0) {
		struct halt h = { .slot = tb.context_slot };

		snprintf(h.supply, sizeof(h.supply), "%s", amount);
		snprintf(h.expected_min, sizeof(h.expected_min), "%s", sums.lower);
		snprintf(h.expected_max, sizeof(h.expected_max), "%s", sums.upper);
		snprintf(h.reason, sizeof(h.reason), "%s", sums.cmp > 0
		    ? "supply above what mintd can have minted (tokens minted outside mintd, or a double mint)"
		    : "supply below what mintd confirmed (a confirmed mint rolled back, or tokens burned)");
		raise_halt(&h);
	}
}

struct recheck_ref {
	size_t n;
	struct verdict_row rows[RECHECK_MAX];
};

static void
on_recheck(void *arg, const struct rpcm_reply *r)
{
	struct recheck_ref *ref = arg;
	struct rpc_sigstatus *s;
	struct err e = { 0 };

	if (r->cancelled) {
		free(ref);
		return;
	}
	recheck_inflight = false;
	if (r->result == NULL) {
		free(ref);
		return;
	}
	s = xcalloc(ref->n, sizeof(*s));
	if (rpcjson_statuses(r->result, ref->n, s, NULL, &e) == 0) {
		for (size_t i = 0; i < ref->n; i++) {
			char why[300];

			if (!s[i].found || (s[i].failed && !ref->rows[i].expired))
				continue; /* not found (expected), or still the failure that was recorded */
			snprintf(why, sizeof(why), "transaction %s (id %" PRId64 ") recorded %s has landed%s at slot %" PRIu64,
			    ref->rows[i].signature, ref->rows[i].id, ref->rows[i].expired ? "never to land" : "failed",
			    s[i].failed ? " (failed)" : "", s[i].slot);
			supply_alarm(why);
			break;
		}
	}
	free(s);
	free(ref);
}

static void
recheck(void)
{
	struct verdict_row *rows = NULL;
	struct recheck_ref *ref;
	const char *sigs[RECHECK_MAX];
	size_t n = 0;
	struct err e = { 0 };

	if (recheck_inflight)
		return;
	if (store_recent_verdicts(st, S.recheck_secs, RECHECK_MAX, &rows, &n, &e) < 0) {
		M.db_errors++;
		log_warn("re-check of recent verdicts failed", "err=%s", e.msg);
		return;
	}
	if (n == 0) {
		free(rows);
		return;
	}
	ref = xcalloc(1, sizeof(*ref));
	ref->n = n;
	memcpy(ref->rows, rows, n * sizeof(*rows));
	free(rows);
	for (size_t i = 0; i < n; i++)
		sigs[i] = ref->rows[i].signature;
	if (rpcm_call(rpc, "getSignatureStatuses", rpcreq_statuses(sigs, n, /* search_history= */ true), on_recheck, ref,
	    &e) < 0) {
		free(ref);
		return;
	}
	recheck_inflight = true;
}

void
supply_tick(void)
{
	int64_t now = mono_ms();
	struct rpcreq_cfg cfg = { .commitment = RPC_COMMIT_FINALIZED };
	struct err e = { 0 };

	if (now < next_check_ms)
		return;
	/* Until the baseline is known nothing is minted (see supply.h): try again soon. */
	next_check_ms = now + (baseline_known ? (int64_t)S.supply_check_secs * 1000 : 1000);
	recheck();
	if (supply_inflight)
		return;
	if (rpcm_call(rpc, "getTokenSupply", rpcreq_key(&S.mint, &cfg), on_supply, NULL, &e) == 0)
		supply_inflight = true;
	else
		log_warn("getTokenSupply not started", "err=%s", e.msg);
}
