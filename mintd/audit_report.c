/* audit_report.c: the audit's findings as a table for people and as one JSON document for machines. */
#include "audit_report.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
audit_result_free(struct audit_result *r)
{
	for (size_t i = 0; i < r->nmm; i++) {
		free(r->mm[i].tx);
		free(r->mm[i].rd);
	}
	free(r->mm);
	r->mm = NULL;
	r->nmm = r->capmm = 0;
}

static const char *
result_word(const struct audit_result *r)
{
	return !r->complete ? "incomplete" : r->exit_code == 0 ? "ok" : "mismatch";
}

/* Token amounts for people: exact, with the mint's decimals ("12.500000000"). */
static const char *
tok(const struct audit_result *r, audit_amount v, bool sign, char buf[AUDIT_AMOUNT_SZ])
{
	audit_amount_format(v, r->decimals, sign, buf, AUDIT_AMOUNT_SZ);
	return buf;
}

void
audit_report_summary(const struct audit_result *r, char *buf, size_t n)
{
	const char *supply = !r->supply.read ? "not read"
	    : r->supply.verdict == AUDIT_MISMATCH ? "MISMATCHED"
	    : r->supply.verdict == AUDIT_IN_FLIGHT ? "agrees (with transactions in flight)"
						   : "agrees";
	long per_s = r->duration_ms > 0 ? (long)((int64_t)r->checked * 1000 / r->duration_ms) : 0;

	snprintf(buf, n, "%s: %ld wallets: %ld agree, %ld in flight, %ld %s%s; supply %s; %" PRId64 ".%03" PRId64
	    " s (%ld wallets/s)%s%s", result_word(r), r->checked, r->agree, r->in_flight, r->mismatched,
	    r->mismatched > 0 ? "MISMATCHED" : "mismatched",
	    r->rechecked > 0 ? " (after reading again what disagreed)" : "", supply, r->duration_ms / 1000,
	    r->duration_ms % 1000, per_s, r->complete ? "" : "; could not complete: ", r->error);
}

static void
text_mismatch(FILE *f, const struct audit_result *r, const struct audit_mismatch *m)
{
	char c[AUDIT_AMOUNT_SZ], d[AUDIT_AMOUNT_SZ], x[AUDIT_AMOUNT_SZ];

	fprintf(f, "%-44s  %22s  %22s  %23s\n", m->wallet, tok(r, m->chain, false, c), tok(r, m->expected, false, d),
	    tok(r, m->chain - m->expected, true, x));
	if (!m->address)
		fprintf(f, "    not a Solana address: nothing can be read for it on chain\n");
	else
		fprintf(f, "    token account %s (%s) read at slot %" PRIu64 "\n", m->token_account,
		    m->account == AUDIT_ACCOUNT_TOKEN ? "a token account of the mint"
		    : m->account == AUDIT_ACCOUNT_MISSING ? "does not exist"
							  : "NOT a token account of this mint and wallet",
		    m->slot);
	fprintf(f, "    %ld minted readings landed by then", m->minted_n);
	if (m->later_n > 0)
		fprintf(f, ", %ld landed later (not counted)", m->later_n);
	if (m->pending_n > 0)
		fprintf(f, ", %ld in flight (%s)", m->pending_n, tok(r, m->in_flight, false, c));
	if (m->adjustment != 0)
		fprintf(f, "; recorded adjustments %s", tok(r, m->adjustment, true, c));
	fputc('\n', f);
	for (size_t i = 0; i < m->ntx; i++) {
		const struct audit_tx *t = &m->tx[i];
		audit_amount v = 0;

		if (audit_amount_parse(t->amount, &v) < 0)
			v = 0;
		fprintf(f, "    tx %s %s", t->signature, t->state);
		if (t->slot > 0)
			fprintf(f, " at slot %" PRIu64, t->slot);
		fprintf(f, ": %ld readings, %s\n", t->readings, tok(r, v, false, c));
	}
	if (m->tx_total > (long)m->ntx)
		fprintf(f, "    ... and %ld more transactions\n", m->tx_total - (long)m->ntx);
	for (size_t i = 0; i < m->nrd; i++) {
		const struct audit_reading *g = &m->rd[i];
		audit_amount a = 0, b = 0;

		if (audit_amount_parse(g->amount, &a) < 0)
			a = 0;
		fprintf(f, "    reading %s (%s): %s: stored %s", g->id, g->status, g->why, tok(r, a, false, c));
		if (g->carried[0] != '\0' && audit_amount_parse(g->carried, &b) == 0)
			fprintf(f, ", carried %s by tx %s", tok(r, b, false, d), g->signature);
		fputc('\n', f);
	}
	if (m->rd_total > (long)m->nrd)
		fprintf(f, "    ... and %ld more such readings\n", m->rd_total - (long)m->nrd);
}

void
audit_report_text(FILE *f, const struct audit_result *r)
{
	const struct audit_supply_result *s = &r->supply;
	char a[AUDIT_AMOUNT_SZ], b[AUDIT_AMOUNT_SZ], c[AUDIT_AMOUNT_SZ], d[AUDIT_AMOUNT_SZ], x[AUDIT_AMOUNT_SZ];
	char line[600];

	fprintf(f, "audit of mint %s (%s, %u decimals) at finalized commitment", r->mint[0] ? r->mint : "?",
	    r->program != NULL ? r->program : "?", r->decimals);
	if (r->last_slot > 0)
		fprintf(f, ", account reads at slots %" PRIu64 "..%" PRIu64, r->first_slot, r->last_slot);
	fprintf(f, "\n");
	if (r->nmm > 0) {
		fprintf(f, "\n%-44s  %22s  %22s  %23s\n", "WALLET (balance differs)", "CHAIN", "DATABASE", "DIFFERENCE");
		for (size_t i = 0; i < r->nmm; i++)
			text_mismatch(f, r, &r->mm[i]);
		if (r->unlisted > 0)
			fprintf(f, "... and %ld more wallets (MINTD_AUDIT_MAX_LISTED=%zu listed)\n", r->unlisted, r->nmm);
		fprintf(f, "\n");
	}
	if (s->read) {
		fprintf(f, "supply at slot %" PRIu64 ": chain %s, database %s (baseline %s%s + minted readings %s), difference "
		    "%s: %s\n", s->slot, tok(r, s->chain, false, a), tok(r, s->expected, false, b),
		    tok(r, s->baseline, false, c), s->db.have_baseline ? "" : " (none recorded yet)",
		    tok(r, s->minted, false, d), tok(r, s->chain - s->expected, true, x),
		    s->verdict == AUDIT_MISMATCH ? "MISMATCH" : s->verdict == AUDIT_IN_FLIGHT ? "in flight" : "agree");
		if (s->db.pending_tx > 0)
			fprintf(f, "    %ld mint transactions in flight carry %s\n", s->db.pending_tx,
			    tok(r, s->in_flight, false, a));
		if (s->db.invariant.have_baseline && strcmp(s->db.invariant.lower, "") != 0) {
			audit_amount lo = 0;

			if (audit_amount_parse(s->db.invariant.lower, &lo) == 0 && lo != s->expected)
				fprintf(f, "    the transactions landed by then record %s (baseline + their amounts): the minted "
				    "readings do not add up to what their transactions carried\n", tok(r, lo, false, a));
		}
		if (s->db.halted)
			fprintf(f, "    minting is halted (halt %" PRId64 "): %s\n", s->db.halt.id, s->db.halt.reason);
	}
	audit_report_summary(r, line, sizeof(line));
	fprintf(f, "%s\n", line);
}

/* ---- JSON ---- */

static bool
add_amount(cJSON *o, const char *name, audit_amount v)
{
	char b[AUDIT_AMOUNT_SZ];

	audit_amount_format(v, 0, false, b, sizeof(b));
	return cJSON_AddStringToObject(o, name, b) != NULL;
}

static bool
add_num(cJSON *o, const char *name, double v)
{
	return cJSON_AddNumberToObject(o, name, v) != NULL;
}

static cJSON *
json_mismatch(const struct audit_mismatch *m)
{
	cJSON *o = cJSON_CreateObject(), *txs, *rds;
	bool ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "wallet", m->wallet) != NULL &&
	    (m->address ? cJSON_AddStringToObject(o, "token_account", m->token_account)
			: cJSON_AddNullToObject(o, "token_account")) != NULL &&
	    cJSON_AddStringToObject(o, "account", m->address ? audit_account_name(m->account) : "not_an_address") != NULL &&
	    add_num(o, "slot", (double)m->slot) && add_amount(o, "chain", m->chain) &&
	    add_amount(o, "database", m->expected) && add_amount(o, "difference", m->chain - m->expected) &&
	    add_amount(o, "adjustment", m->adjustment) && add_num(o, "minted_readings", (double)m->minted_n) &&
	    add_num(o, "readings_landed_later", (double)m->later_n) &&
	    add_num(o, "in_flight_readings", (double)m->pending_n) && add_amount(o, "in_flight", m->in_flight) &&
	    (txs = cJSON_AddArrayToObject(o, "transactions")) != NULL &&
	    add_num(o, "transactions_total", (double)m->tx_total) &&
	    (rds = cJSON_AddArrayToObject(o, "readings_disagreeing")) != NULL &&
	    add_num(o, "readings_disagreeing_total", (double)m->rd_total);
	for (size_t i = 0; ok && i < m->ntx; i++) {
		cJSON *t = cJSON_CreateObject();

		ok = t != NULL && cJSON_AddItemToArray(txs, t) && cJSON_AddStringToObject(t, "signature", m->tx[i].signature) &&
		    cJSON_AddStringToObject(t, "state", m->tx[i].state) &&
		    (m->tx[i].slot > 0 ? cJSON_AddNumberToObject(t, "slot", (double)m->tx[i].slot)
				       : cJSON_AddNullToObject(t, "slot")) != NULL &&
		    add_num(t, "readings", (double)m->tx[i].readings) &&
		    cJSON_AddStringToObject(t, "amount", m->tx[i].amount) != NULL;
	}
	for (size_t i = 0; ok && i < m->nrd; i++) {
		const struct audit_reading *g = &m->rd[i];
		cJSON *t = cJSON_CreateObject();

		ok = t != NULL && cJSON_AddItemToArray(rds, t) && cJSON_AddStringToObject(t, "id", g->id) &&
		    cJSON_AddStringToObject(t, "status", g->status) && cJSON_AddStringToObject(t, "amount", g->amount) &&
		    (g->carried[0] ? cJSON_AddStringToObject(t, "carried", g->carried) : cJSON_AddNullToObject(t, "carried")) &&
		    (g->signature[0] ? cJSON_AddStringToObject(t, "signature", g->signature)
				     : cJSON_AddNullToObject(t, "signature")) &&
		    cJSON_AddStringToObject(t, "why", g->why) != NULL;
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *
json_supply(const struct audit_supply_result *s)
{
	cJSON *o = cJSON_CreateObject(), *h;
	bool ok = o != NULL;

	if (ok && !s->read)
		return cJSON_AddStringToObject(o, "result", "not_read") != NULL ? o : (cJSON_Delete(o), NULL);
	ok = ok && cJSON_AddStringToObject(o, "result", audit_verdict_name(s->verdict)) != NULL &&
	    add_num(o, "slot", (double)s->slot) && add_amount(o, "chain", s->chain) &&
	    add_amount(o, "database", s->expected) && add_amount(o, "difference", s->chain - s->expected) &&
	    (s->db.have_baseline ? add_amount(o, "baseline", s->baseline) : cJSON_AddNullToObject(o, "baseline") != NULL) &&
	    add_amount(o, "minted_readings", s->minted) && add_num(o, "minted_readings_count", (double)s->db.minted_n) &&
	    add_amount(o, "in_flight", s->in_flight) && add_num(o, "in_flight_transactions", (double)s->db.pending_tx) &&
	    (s->db.invariant.have_baseline ? cJSON_AddStringToObject(o, "transactions_record", s->db.invariant.lower)
					   : cJSON_AddNullToObject(o, "transactions_record")) != NULL &&
	    cJSON_AddBoolToObject(o, "read_again", s->rechecked) != NULL;
	if (ok && s->db.halted) {
		ok = (h = cJSON_AddObjectToObject(o, "halt")) != NULL && add_num(h, "id", (double)s->db.halt.id) &&
		    cJSON_AddStringToObject(h, "reason", s->db.halt.reason) != NULL;
	} else if (ok) {
		ok = cJSON_AddNullToObject(o, "halt") != NULL;
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int
audit_report_json(FILE *f, const struct audit_result *r)
{
	cJSON *o = cJSON_CreateObject(), *w, *arr, *sl;
	bool ok = o != NULL;
	char *text;

	ok = ok && cJSON_AddStringToObject(o, "result", result_word(r)) != NULL &&
	    add_num(o, "exit_code", r->exit_code) &&
	    (r->complete ? cJSON_AddNullToObject(o, "error") : cJSON_AddStringToObject(o, "error", r->error)) != NULL &&
	    cJSON_AddStringToObject(o, "mint", r->mint) != NULL &&
	    cJSON_AddStringToObject(o, "token_program", r->program != NULL ? r->program : "") != NULL &&
	    add_num(o, "decimals", r->decimals) && cJSON_AddStringToObject(o, "commitment", "finalized") != NULL &&
	    cJSON_AddStringToObject(o, "started_at", r->started_at) != NULL &&
	    add_num(o, "duration_ms", (double)r->duration_ms) && (sl = cJSON_AddObjectToObject(o, "slots")) != NULL &&
	    add_num(sl, "first", (double)r->first_slot) && add_num(sl, "last", (double)r->last_slot) &&
	    (w = cJSON_AddObjectToObject(o, "wallets")) != NULL && add_num(w, "checked", (double)r->checked) &&
	    add_num(w, "agree", (double)r->agree) && add_num(w, "in_flight", (double)r->in_flight) &&
	    add_num(w, "mismatched", (double)r->mismatched) && add_num(w, "not_addresses", (double)r->not_addresses) &&
	    add_num(w, "read_again", (double)r->rechecked) && add_num(w, "agreed_when_read_again", (double)r->recheck_agreed) &&
	    add_num(w, "readings_landed_after_the_read", (double)r->landed_later) &&
	    add_num(w, "readings_in_flight", (double)r->in_flight_readings);
	if (ok) {
		cJSON *s = json_supply(&r->supply);

		ok = s != NULL && cJSON_AddItemToObject(o, "supply", s);
		if (s != NULL && !ok)
			cJSON_Delete(s);
	}
	ok = ok && (arr = cJSON_AddArrayToObject(o, "mismatches")) != NULL &&
	    add_num(o, "mismatches_not_listed", (double)r->unlisted);
	for (size_t i = 0; ok && i < r->nmm; i++) {
		cJSON *m = json_mismatch(&r->mm[i]);

		ok = m != NULL && cJSON_AddItemToArray(arr, m);
		if (m != NULL && !ok)
			cJSON_Delete(m);
	}
	if (!ok || (text = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_Delete(o);
	fprintf(f, "%s\n", text);
	cJSON_free(text);
	return 0;
}
