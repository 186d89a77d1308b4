/* audit.c: mintd -A: reads every wallet's token account and the supply at finalized, compares with PostgreSQL. */
#include "audit.h"
#include "audit_report.h"
#include "pda.h"
#include "rpcjson.h"
#include "rpcm.h"
#include "rpcreq.h"
#include "store_audit.h"
#include "ts.h"
#include "xmalloc.h"

#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The run, as a state machine on its own event loop (this process does nothing else, so the database reads
 * may block it; the RPC calls stay several on the wire meanwhile):
 *
 *   SUPPLY    getTokenSupply at finalized, then the database's figures for its slot
 *   WALLETS   pages of PAGE wallets listed in order; each page's accounts read (100 a call), then its sums
 *   RECHECK   what disagreed, read again at minContextSlot > every slot seen, then summed again
 *   DONE      details of the mismatches are read, the report printed
 */
enum phase { PH_SUPPLY, PH_WALLETS, PH_RECHECK, PH_DONE };

#define PAGE 1000               /* wallets a page */
#define ATTEMPTS 6              /* tries of one RPC call that fails with a retryable error */
#define RECHECK_WAIT_MS 60000   /* how long the node may take to reach a minContextSlot (finalized) */
#define SUPPLY_SQL_TIMEOUT_MS (15 * 60 * 1000)
#define DETAIL_ROWS 20          /* transactions and readings listed per mismatched wallet */
#define PROGRESS_EVERY 100000   /* wallets between progress lines when stderr is not a terminal */

struct conf {
	const char *rpc_url, *db_url;
	struct sol_pubkey mint, program;
	struct rpcm_opts rpc;
	struct store_limits pg;
	long max_listed;
	bool json;
};

struct row {
	char w[MINTD_WALLET_SZ];
	struct sol_pubkey key, ata;
	bool address;
	enum audit_account acct;
	uint64_t chain;
	uint64_t slot;
};

struct page {
	struct row *rows;
	size_t n;
	int calls;      /* answers still awaited */
	bool recheck;
	struct page *prev, *next;
};

enum call_kind { CALL_SUPPLY, CALL_ACCOUNTS };

/* One RPC call and its retries; owned by the audit's list until it ends. */
struct call {
	struct audit *a;
	enum call_kind kind;
	uint64_t min_slot;
	int attempts;
	int64_t behind_since_ms;  /* first -32016 answer (0: none yet) */
	struct event *timer;
	struct page *p;
	size_t n;
	size_t idx[RPC_MAX_ACCOUNTS];
	struct sol_pubkey keys[RPC_MAX_ACCOUNTS];
	struct call *prev, *next;
};

struct audit {
	struct conf cf;
	struct event_base *base;
	struct rpcm *rpc;
	struct store *st;
	enum phase phase;
	bool failed;
	struct audit_result res;
	struct call *calls;
	struct page *pages;
	int npages, max_pages;
	char cursor[MINTD_WALLET_SZ];
	bool listed_all;
	char (*sus)[MINTD_WALLET_SZ]; /* first-pass disagreements, to read again */
	size_t nsus, capsus, sus_next;
	uint64_t recheck_slot;
	int64_t start_us, last_progress_us;
	long progress_mark;
	bool tty;
};

static void next_step(struct audit *a);

static void PRINTF(2, 3)
fail(struct audit *a, const char *fmt, ...)
{
	va_list ap;

	if (a->failed)
		return;
	a->failed = true;
	va_start(ap, fmt);
	vsnprintf(a->res.error, sizeof(a->res.error), fmt, ap);
	va_end(ap);
}

static int64_t
now_ms(void)
{
	return ts_mono_us() / 1000;
}

/* ---- RPC calls ---- */

static void on_reply(void *arg, const struct rpcm_reply *r);

static void
call_end(struct call *c)
{
	struct audit *a = c->a;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->timer != NULL)
		event_free(c->timer);
	free(c);
}

static void
call_send(struct call *c)
{
	struct audit *a = c->a;
	struct rpcreq_cfg rc = { .commitment = RPC_COMMIT_FINALIZED, .min_context_slot = c->min_slot };
	struct err e = { 0 };
	int rv;

	if (c->kind == CALL_SUPPLY) {
		rv = rpcm_call(a->rpc, "getTokenSupply", rpcreq_key(&a->cf.mint, &rc), on_reply, c, &e);
	} else {
		rc.base64 = true;
		rv = rpcm_call(a->rpc, "getMultipleAccounts", rpcreq_keys(c->keys, c->n, &rc), on_reply, c, &e);
	}
	if (rv < 0) {
		fail(a, "%s", e.msg);
		call_end(c);
		next_step(a);
	}
}

static struct call *
call_new(struct audit *a, enum call_kind kind, uint64_t min_slot)
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->a = a;
	c->kind = kind;
	c->min_slot = min_slot;
	c->next = a->calls;
	if (a->calls != NULL)
		a->calls->prev = c;
	a->calls = c;
	return c;
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;

	(void)fd;
	(void)what;
	if (c->a->failed) {
		struct audit *a = c->a;

		call_end(c);
		next_step(a);
		return;
	}
	call_send(c);
}

/*
 * A failed answer: tried again after a backoff while it may be transient (ATTEMPTS in all), and every 200 ms
 * while the node has not reached the minContextSlot asked for (a backend behind another, or the finalized slot
 * a re-check waits for), for RECHECK_WAIT_MS at most. Returns false when the audit failed.
 */
static bool
retry(struct call *c, const struct err *why)
{
	struct audit *a = c->a;
	bool behind = why->code == RPC_E_MIN_CONTEXT_SLOT;
	int64_t ms = behind ? 200 : 250LL << (c->attempts < 5 ? c->attempts : 5);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (!behind)
		c->attempts++;
	else if (c->behind_since_ms == 0)
		c->behind_since_ms = now_ms();
	if (!rpc_err_retryable(why) || c->attempts >= ATTEMPTS ||
	    (behind && now_ms() - c->behind_since_ms > RECHECK_WAIT_MS)) {
		if (behind)
			fail(a, "the RPC node did not reach slot %" PRIu64 " at finalized within %d s%s: %s", c->min_slot,
			    RECHECK_WAIT_MS / 1000, a->phase == PH_RECHECK ? ", so what disagreed could not be read again" : "",
			    why->msg);
		else
			fail(a, "%s", why->msg);
		return false;
	}
	if (c->timer == NULL)
		c->timer = evtimer_new(a->base, on_retry, c);
	if (c->timer == NULL || evtimer_add(c->timer, &tv) != 0) {
		fail(a, "cannot arm a timer");
		return false;
	}
	return true;
}

static void
note_slot(struct audit *a, uint64_t slot)
{
	if (a->res.first_slot == 0 || slot < a->res.first_slot)
		a->res.first_slot = slot;
	if (slot > a->res.last_slot)
		a->res.last_slot = slot;
}

/* ---- the supply ---- */

static void
supply_answer(struct audit *a, const struct rpc_token_balance *tb)
{
	struct audit_supply_result *s = &a->res.supply;
	struct audit_expect x = { 0 };
	char chain[AUDIT_AMOUNT_SZ];
	struct err e = { 0 };

	snprintf(chain, sizeof(chain), "%" PRIu64, tb->amount);
	if (store_audit_supply(a->st, a->res.mint, tb->context_slot, chain, SUPPLY_SQL_TIMEOUT_MS, &s->db, &e) < 0) {
		fail(a, "database: %s", e.msg);
		return;
	}
	if (audit_amount_parse(s->db.baseline, &s->baseline) < 0 || audit_amount_parse(s->db.minted, &s->minted) < 0 ||
	    audit_expect_pending(&x, s->db.pending_first) < 0 || audit_amount_parse(s->db.pending, &x.pending_total) < 0) {
		fail(a, "database: the supply's figures are not integers");
		return;
	}
	x.npending = (size_t)s->db.pending_tx;
	x.settled = s->baseline + s->minted;
	s->read = true;
	s->slot = tb->context_slot;
	s->chain = (audit_amount)tb->amount;
	s->expected = x.settled;
	s->in_flight = x.pending_total;
	s->verdict = audit_judge(s->chain, &x);
	if (tb->decimals != a->res.decimals)
		fail(a, "the mint has %u decimals but TOKENIZATION_DECIMALS is %u", tb->decimals, a->res.decimals);
}

/* ---- wallets ---- */

static void page_free(struct audit *a, struct page *p);
static void page_judge(struct audit *a, struct page *p);

static void
accounts_answer(struct audit *a, struct call *c, const cJSON *result)
{
	struct rpc_account acc[RPC_MAX_ACCOUNTS];
	uint64_t slot = 0;
	struct err e = { 0 };

	if (rpcjson_accounts(result, true, c->n, acc, &slot, &e) < 0) {
		fail(a, "getMultipleAccounts: %s", e.msg);
		return;
	}
	note_slot(a, slot);
	for (size_t i = 0; i < c->n; i++) {
		struct row *w = &c->p->rows[c->idx[i]];

		w->acct = audit_token_account(&acc[i], &a->cf.mint, &w->key, &a->cf.program, &w->chain);
		w->slot = slot;
	}
	rpc_accounts_clear(acc, c->n);
}

static void
on_reply(void *arg, const struct rpcm_reply *r)
{
	struct call *c = arg;
	struct audit *a = c->a;
	uint64_t slot = 0;

	if (r->cancelled) {
		call_end(c);
		return;
	}
	if (a->failed) {
		call_end(c);
		next_step(a);
		return;
	}
	if (r->result == NULL) {
		if (retry(c, r->e))
			return;
	} else if (c->kind == CALL_SUPPLY) {
		struct rpc_token_balance tb;
		struct err e = { 0 };

		if (rpcjson_token_balance(r->result, &tb, &e) < 0)
			fail(a, "getTokenSupply: %s", e.msg);
		else if ((slot = tb.context_slot) < c->min_slot)
			fail(a, "getTokenSupply answered for slot %" PRIu64 ", below the minContextSlot %" PRIu64 " asked for",
			    slot, c->min_slot);
		else
			supply_answer(a, &tb);
	} else {
		accounts_answer(a, c, r->result);
		if (!a->failed && c->n > 0 && c->p->rows[c->idx[0]].slot < c->min_slot)
			fail(a, "getMultipleAccounts answered for slot %" PRIu64 ", below the minContextSlot %" PRIu64
			    " asked for", c->p->rows[c->idx[0]].slot, c->min_slot);
		if (!a->failed && --c->p->calls == 0)
			page_judge(a, c->p);
	}
	if (c->kind == CALL_SUPPLY && a->phase == PH_RECHECK)
		a->res.supply.rechecked = true;
	call_end(c);
	next_step(a);
}

/* Reads the page's accounts (100 a call); a page without one address is judged at once. */
static void
page_start(struct audit *a, struct page *p, uint64_t min_slot)
{
	struct call *mine[PAGE / RPC_MAX_ACCOUNTS + 1], *c = NULL;
	size_t nc = 0;

	for (size_t i = 0; i < p->n; i++) {
		struct row *w = &p->rows[i];
		struct err e = { 0 };

		w->address = pubkey_from_b58(w->w, &w->key, &e) == 0 &&
		    pda_ata(&w->key, &a->cf.mint, &a->cf.program, &w->ata, NULL) == 0;
		w->acct = AUDIT_ACCOUNT_MISSING;
		w->slot = min_slot;
		if (!w->address)
			continue;
		if (c == NULL || c->n == RPC_MAX_ACCOUNTS) {
			c = mine[nc++] = call_new(a, CALL_ACCOUNTS, min_slot);
			c->p = p;
			p->calls++;
		}
		c->idx[c->n] = i;
		c->keys[c->n++] = w->ata;
	}
	if (p->calls == 0) {
		page_judge(a, p);
		return;
	}
	for (size_t i = 0; i < nc && !a->failed; i++)
		call_send(mine[i]);
}

static struct page *
page_new(struct audit *a, size_t n, bool recheck)
{
	struct page *p = xcalloc(1, sizeof(*p));

	p->rows = xcalloc(n > 0 ? n : 1, sizeof(*p->rows));
	p->n = n;
	p->recheck = recheck;
	p->next = a->pages;
	if (a->pages != NULL)
		a->pages->prev = p;
	a->pages = p;
	a->npages++;
	return p;
}

static void
page_free(struct audit *a, struct page *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		a->pages = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	a->npages--;
	free(p->rows);
	free(p);
}

static void
suspect(struct audit *a, const char *w)
{
	if (a->nsus == a->capsus)
		a->sus = xreallocarray(a->sus, a->capsus = a->capsus * 2 + 256, sizeof(*a->sus));
	snprintf(a->sus[a->nsus++], MINTD_WALLET_SZ, "%s", w);
}

static void
record_mismatch(struct audit *a, const struct row *w, const struct audit_sums *s, const struct audit_expect *x,
    audit_amount adj)
{
	struct audit_result *r = &a->res;
	struct audit_mismatch *m;

	r->mismatched++;
	if (a->cf.max_listed > 0 && (long)r->nmm >= a->cf.max_listed) {
		r->unlisted++;
		return;
	}
	if (r->nmm == r->capmm)
		r->mm = xreallocarray(r->mm, r->capmm = r->capmm * 2 + 16, sizeof(*r->mm));
	m = &r->mm[r->nmm++];
	memset(m, 0, sizeof(*m));
	snprintf(m->wallet, sizeof(m->wallet), "%s", w->w);
	m->address = w->address;
	if (w->address)
		pubkey_to_b58(&w->ata, m->token_account);
	m->account = w->acct;
	m->slot = w->slot;
	m->chain = (audit_amount)w->chain;
	m->expected = x->settled;
	m->adjustment = adj;
	m->in_flight = x->pending_total;
	m->minted_n = s->minted_n;
	m->later_n = s->later_n;
	m->pending_n = s->pending_n;
}

/* The page's database figures, read after its accounts, and a verdict per wallet. */
static void
page_judge(struct audit *a, struct page *p)
{
	char (*w)[MINTD_WALLET_SZ] = xcalloc(p->n > 0 ? p->n : 1, sizeof(*w));
	uint64_t *slots = xcalloc(p->n > 0 ? p->n : 1, sizeof(*slots));
	struct audit_sums *s = xcalloc(p->n > 0 ? p->n : 1, sizeof(*s));
	struct audit_result *r = &a->res;
	struct err e = { 0 };
	int rc;

	for (size_t i = 0; i < p->n; i++) {
		memcpy(w[i], p->rows[i].w, sizeof(w[i]));
		slots[i] = p->rows[i].slot;
	}
	rc = store_audit_sums(a->st, r->mint, (const char (*)[MINTD_WALLET_SZ])w, slots, p->n, s, &e);
	if (rc < 0 && !store_ok(a->st) && store_reconnect(a->st, &e) == 0)
		rc = store_audit_sums(a->st, r->mint, (const char (*)[MINTD_WALLET_SZ])w, slots, p->n, s, &e);
	if (rc < 0)
		fail(a, "database: %s", e.msg);
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		const struct row *x = &p->rows[i];
		struct audit_expect ex = { 0 };
		audit_amount minted, adj;
		enum audit_verdict v;

		if (audit_amount_parse(s[i].minted, &minted) < 0 || audit_amount_parse(s[i].adjustment, &adj) < 0 ||
		    audit_expect_pending(&ex, s[i].pending) < 0) {
			fail(a, "database: the sums of wallet %s are not integers", x->w);
			break;
		}
		ex.settled = minted + adj;
		v = x->acct == AUDIT_ACCOUNT_OTHER ? AUDIT_MISMATCH : audit_judge((audit_amount)x->chain, &ex);
		if (!p->recheck) {
			r->checked++;
			r->not_addresses += !x->address;
			r->landed_later += s[i].later_n;
			r->in_flight_readings += s[i].pending_n;
			if (v == AUDIT_MISMATCH)
				suspect(a, x->w);
		} else {
			r->rechecked++;
			r->recheck_agreed += v != AUDIT_MISMATCH;
		}
		if (v == AUDIT_AGREE)
			r->agree++;
		else if (v == AUDIT_IN_FLIGHT)
			r->in_flight++;
		else if (p->recheck)
			record_mismatch(a, x, &s[i], &ex, adj);
	}
	audit_sums_clear(s, p->n);
	free(s);
	free(slots);
	free(w);
	page_free(a, p);
}

/* ---- the steps ---- */

static void
progress(struct audit *a, bool last)
{
	int64_t now = ts_mono_us(), us = now - a->start_us;
	long done = a->res.checked + a->res.rechecked;
	long rate = us > 0 ? (long)((int64_t)a->res.checked * 1000000 / us) : 0;

	if (a->tty) {
		if (!last && now - a->last_progress_us < 250000)
			return;
		a->last_progress_us = now;
		fprintf(stderr, "\raudit: %ld wallets read, %ld/s, %zu to read again%s", a->res.checked, rate, a->nsus,
		    last ? "\r\033[K" : "");
	} else if (!a->cf.json && !last && done >= a->progress_mark + PROGRESS_EVERY) {
		a->progress_mark = done - done % PROGRESS_EVERY;
		fprintf(stderr, "audit: %ld wallets read, %ld/s, %zu to read again\n", a->res.checked, rate, a->nsus);
	}
}

static void
list_more(struct audit *a)
{
	while (!a->failed && !a->listed_all && a->npages < a->max_pages) {
		char (*w)[MINTD_WALLET_SZ] = NULL;
		struct err e = { 0 };
		struct page *p;
		size_t n = 0;

		if (store_audit_wallets(a->st, a->res.mint, a->cursor, PAGE, &w, &n, &e) < 0) {
			fail(a, "database: %s", e.msg);
			return;
		}
		a->listed_all = n < PAGE;
		if (n == 0)
			return;
		p = page_new(a, n, /* recheck= */ false);
		for (size_t i = 0; i < n; i++)
			memcpy(p->rows[i].w, w[i], sizeof(w[i]));
		memcpy(a->cursor, w[n - 1], sizeof(a->cursor));
		free(w);
		page_start(a, p, a->res.supply.slot);
	}
}

static void
recheck_more(struct audit *a)
{
	while (!a->failed && a->sus_next < a->nsus && a->npages < a->max_pages) {
		size_t n = a->nsus - a->sus_next < PAGE ? a->nsus - a->sus_next : PAGE;
		struct page *p = page_new(a, n, /* recheck= */ true);

		for (size_t i = 0; i < n; i++)
			memcpy(p->rows[i].w, a->sus[a->sus_next + i], MINTD_WALLET_SZ);
		a->sus_next += n;
		page_start(a, p, a->recheck_slot);
	}
}

static void
details(struct audit *a)
{
	for (size_t i = 0; i < a->res.nmm && !a->failed; i++) {
		struct audit_mismatch *m = &a->res.mm[i];
		struct err e = { 0 };

		if (store_audit_details(a->st, a->res.mint, m->wallet, DETAIL_ROWS, &m->tx, &m->ntx, &m->tx_total, &m->rd,
		    &m->nrd, &m->rd_total, &e) < 0)
			fail(a, "database: %s", e.msg);
	}
}

/* Moves the run on after any event: starts what is due, notices what is finished. */
static void
next_step(struct audit *a)
{
	if (a->phase == PH_DONE)
		return;
	if (a->failed) {
		a->phase = PH_DONE; /* what is still on the wire is cancelled on the way out */
		return;
	}
	progress(a, false);
	if (a->phase == PH_SUPPLY && a->res.supply.read) {
		a->phase = PH_WALLETS;
		a->start_us = ts_mono_us();
	}
	if (a->phase == PH_WALLETS) {
		list_more(a);
		if (a->failed || !a->listed_all || a->npages > 0)
			return;
		if (a->nsus == 0 && a->res.supply.verdict != AUDIT_MISMATCH) {
			a->phase = PH_DONE;
			return;
		}
		/* Read again what disagreed, at a slot after every answer of the first pass. */
		a->phase = PH_RECHECK;
		a->recheck_slot = (a->res.last_slot > a->res.supply.slot ? a->res.last_slot : a->res.supply.slot) + 1;
		if (a->res.supply.verdict == AUDIT_MISMATCH)
			call_send(call_new(a, CALL_SUPPLY, a->recheck_slot));
	}
	if (a->phase == PH_RECHECK) {
		recheck_more(a);
		if (!a->failed && a->calls == NULL && a->npages == 0)
			a->phase = PH_DONE;
	}
}

/* ---- set-up ---- */

static int
conf_load(const struct cfg *c, const struct cli_opts *o, struct conf *cf, struct audit_result *r)
{
	struct err e = { 0 };
	const char *mint = cfg_str(c, "TOKEN_MINT");

	memset(cf, 0, sizeof(*cf));
	cf->rpc_url = cfg_str(c, "SOLANA_RPC_URL");
	cf->db_url = cfg_str(c, "DATABASE_URL");
	cf->json = o->json;
	cf->max_listed = (long)cfg_int(c, "MINTD_AUDIT_MAX_LISTED");
	cf->rpc.connect_timeout_ms = 2000;
	cf->rpc.timeout_ms = cfg_int(c, "MINTD_RPC_TIMEOUT_MS");
	cf->rpc.max_inflight = (int)cfg_int(c, "MINTD_RPC_MAX_INFLIGHT");
	cf->rpc.rate_limit_retries = (int)cfg_int(c, "MINTD_RPC_RATE_LIMIT_RETRIES");
	cf->pg.statement_timeout_ms = (int)cfg_int(c, "MINTD_PG_STATEMENT_TIMEOUT_MS");
	cf->pg.lock_timeout_ms = (int)cfg_int(c, "MINTD_PG_LOCK_TIMEOUT_MS");
	cf->pg.idle_in_transaction_ms = (int)cfg_int(c, "MINTD_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS");
	r->program = cfg_str(c, "TOKEN_PROGRAM");
	r->decimals = (unsigned)cfg_int(c, "TOKENIZATION_DECIMALS");
	cf->program = strcmp(r->program, "token-2022") == 0 ? pubkey_token2022_program : pubkey_token_program;
	if (*mint == '\0') {
		snprintf(r->error, sizeof(r->error), "TOKEN_MINT is not set: the audit needs the address of the token mint");
		return -1;
	}
	if (pubkey_from_b58(mint, &cf->mint, &e) < 0) {
		snprintf(r->error, sizeof(r->error), "TOKEN_MINT: %s", e.msg);
		return -1;
	}
	pubkey_to_b58(&cf->mint, r->mint);
	return 0;
}

static void
started_now(struct audit_result *r)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(r->started_at, sizeof(r->started_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
run(struct audit *a)
{
	struct err e = { 0 };

	if ((a->st = store_open(a->cf.db_url, &a->cf.pg, &e)) == NULL) {
		fail(a, "database: %s", e.msg);
		return;
	}
	if ((a->base = event_base_new()) == NULL) {
		fail(a, "event_base_new failed");
		return;
	}
	if ((a->rpc = rpcm_new(a->base, a->cf.rpc_url, &a->cf.rpc, &e)) == NULL) {
		fail(a, "SOLANA_RPC_URL: %s", e.msg);
		return;
	}
	a->max_pages = a->cf.rpc.max_inflight / (PAGE / RPC_MAX_ACCOUNTS) + 2;
	call_send(call_new(a, CALL_SUPPLY, 0));
	while (a->phase != PH_DONE) {
		if (event_base_loop(a->base, EVLOOP_ONCE) != 0 && a->phase != PH_DONE) {
			fail(a, "internal: the audit has nothing left to wait for in phase %d", (int)a->phase);
			break;
		}
	}
	if (!a->failed)
		details(a);
}

int
audit_main(const struct cfg *c, const struct cli_opts *o, const struct errlist *errs)
{
	struct audit a = { 0 };
	int64_t t0 = ts_mono_us();
	int rc;

	signal(SIGPIPE, SIG_IGN);
	started_now(&a.res);
	a.tty = isatty(STDERR_FILENO) == 1;
	a.start_us = t0;
	a.cf.json = o->json;
	if (errs->n > 0) {
		fail(&a, "configuration: %s%s", errs->v[0], errs->n > 1 ? " (and more: see stderr)" : "");
	} else if (conf_load(c, o, &a.cf, &a.res) < 0)
		a.failed = true;
	else
		run(&a);
	/* Ends what is still queued (their callbacks free their state), then what waits on a timer. */
	rpcm_free(a.rpc);
	while (a.calls != NULL)
		call_end(a.calls);
	while (a.pages != NULL)
		page_free(&a, a.pages);
	if (a.base != NULL)
		event_base_free(a.base);
	store_close(a.st);
	free(a.sus);
	progress(&a, /* last= */ true);
	a.res.complete = !a.failed;
	a.res.duration_ms = (ts_mono_us() - t0) / 1000;
	a.res.exit_code = a.failed ? AUDIT_EXIT_INCOMPLETE
	    : a.res.mismatched > 0 || a.res.supply.verdict == AUDIT_MISMATCH ? AUDIT_EXIT_MISMATCH
									  : AUDIT_EXIT_OK;
	if (a.cf.json) {
		if (audit_report_json(stdout, &a.res) < 0) {
			fprintf(stderr, "mintd: audit: out of memory writing the report\n");
			a.res.exit_code = AUDIT_EXIT_INCOMPLETE;
		}
	} else {
		audit_report_text(stdout, &a.res);
	}
	if (fflush(stdout) != 0 && a.res.exit_code == AUDIT_EXIT_OK)
		a.res.exit_code = AUDIT_EXIT_INCOMPLETE;
	rc = a.res.exit_code;
	audit_result_free(&a.res);
	return rc;
}
