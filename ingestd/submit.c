/* submit.c: the reading routes: one reading, and a batch of readings (each on its own, stored together). */
#include "submit.h"
#include "body.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "sbuf.h"
#include "sigq.h"
#include "uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch;

/* One reading on its way through lookup, signature, validation and the group commit. */
struct sub {
	struct app *a;
	struct batch *b;        /* NULL for a single submission */
	struct httpd_req *req;  /* single submission: the request to answer */
	int index;
	char request_id[24];
	struct rdg r;
	struct meter m; /* the meter as looked up, for after its signature check (the cache's copy may change) */
	struct store_item it;
	/* outcome: the answer's status (2xx too) and, for a rejection, the error */
	struct apierr out;
	char existing_id[37];
	int retry_after; /* 429 */
	bool ready;      /* batch item validated, waiting for its siblings */
};

struct batch {
	struct app *a;
	struct httpd_req *req;
	int n, outstanding;
	int validating; /* items not yet stored-or-rejected; at 0 the ready ones go to the store together */
	int accepted, replayed, rejected;
	struct sub *subs;
	struct store_item **items; /* room for n: the validated ones, in order */
};

static void batch_item_done(struct sub *s);
static void batch_validated(struct batch *b);

static cJSON *
sub_error_json(const struct sub *s)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "code", s->out.code);
	cJSON_AddStringToObject(e, "message", s->out.msg);
	if (s->out.field)
		cJSON_AddStringToObject(e, "field", s->out.field);
	if (s->existing_id[0])
		cJSON_AddStringToObject(e, "existing_reading_id", s->existing_id);
	return e;
}

/* The reading is settled (stored, replayed or rejected): answer or record it. */
static void
sub_done(struct sub *s)
{
	struct app *a = s->a;
	char hdr[48];
	cJSON *o;

	if (s->out.status >= 400)
		met_rejected(s->out.code);
	if (s->b != NULL) {
		struct batch *b = s->b;

		if (!s->ready)
			batch_validated(b); /* rejected before the store: no longer holding the batch back */
		batch_item_done(s);
		return;
	}
	if (s->out.status < 300) {
		struct sbuf t = { 0 };

		reply_reading_text(&t, &s->it.row);
		reply_text(s->req, s->out.status, NULL, &t);
	} else {
		hdr[0] = '\0';
		if (s->out.status == 503)
			snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", a->retry_after);
		else if (s->out.status == 429)
			snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", s->retry_after);
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "error", sub_error_json(s));
		cJSON_AddStringToObject(o, "request_id", s->request_id);
		reply_json(s->req, s->out.status, hdr[0] ? hdr : NULL, o);
	}
	free(s);
}

static void
reject(struct sub *s, int status, const char *code, const char *field, const char *msg)
{
	s->out.status = status;
	s->out.code = code;
	s->out.field = field;
	snprintf(s->out.msg, sizeof(s->out.msg), "%s", msg);
	log_info("reading rejected", "request_id=%s meter=%s status=%d reason=%s field=%s", s->request_id,
	    s->r.serial[0] ? s->r.serial : "-", status, code, field ? field : "-");
	sub_done(s);
}

/* Who an event concerns (its channels). */
struct who {
	const char *wallet, *user_id, *serial;
};

static void
publish(struct app *a, const char *type, const struct who *who, cJSON *fields)
{
	struct evt_route route = { who->wallet, who->user_id, who->serial };
	struct evt_msg m;
	struct err e;

	if (evt_build(a->events_prefix, type, fields, &route, &m, &e) < 0)
		log_warn("event not published", "event=%s meter=%s wallet=%s err=%s", type, who->serial ? who->serial : "-", who->wallet ? who->wallet : "-", e.msg);
	else
		rq_publish(a->rq, &m);
	cJSON_Delete(fields);
}

static void
add_user(cJSON *o, const char *user_id)
{
	if (user_id[0])
		cJSON_AddStringToObject(o, "user_id", user_id);
	else
		cJSON_AddNullToObject(o, "user_id");
}

static void
on_stored(struct store_item *it, void *arg)
{
	struct sub *s = arg;
	struct app *a = s->a;
	const struct store_row *row = &it->row;

	switch (it->outcome) {
	case STO_INSERTED: {
		char kwh[AMT_KWH_BUFSZ], tok[AMT_U64_BUFSZ], ts[TS_BUFSZ];
		struct who who = { row->wallet, row->user_id, row->meter_serial };
		cJSON *f = cJSON_CreateObject();

		s->out.status = 201;
		met_accepted();
		log_info("reading accepted", "request_id=%s reading_id=%s meter=%s kwh=%s", s->request_id, row->id,
		    row->meter_serial, s->r.kwh_text);
		/* Committed: now tell mintd and the world. Redis being away loses nothing (mintd sweeps). */
		rq_push_reading(a->rq, row->id);
		amt_format_kwh(row->kwh_micro, kwh, sizeof(kwh));
		amt_format_base_units(row->tokens, tok, sizeof(tok));
		ts_format_utc(row->ts_us, ts, sizeof(ts));
		cJSON_AddStringToObject(f, "reading_id", row->id);
		add_user(f, row->user_id);
		cJSON_AddStringToObject(f, "wallet_address", row->wallet);
		cJSON_AddStringToObject(f, "meter_serial", row->meter_serial);
		cJSON_AddStringToObject(f, "kwh_amount", kwh);
		cJSON_AddStringToObject(f, "token_amount", tok);
		cJSON_AddStringToObject(f, "reading_timestamp", ts);
		publish(a, EVT_READING_RECEIVED, &who, f);
		sub_done(s);
		return;
	}
	case STO_REPLAY:
		s->out.status = 200;
		met_replayed();
		log_info("reading replayed", "request_id=%s reading_id=%s meter=%s", s->request_id, row->id, row->meter_serial);
		sub_done(s);
		return;
	case STO_DUPLICATE: {
		char ts[TS_BUFSZ], msg[200];

		ts_format_utc(row->ts_us, ts, sizeof(ts));
		snprintf(msg, sizeof(msg), "meter %s already has reading %s at %s, within the duplicate window",
		    row->meter_serial, row->id, ts);
		memcpy(s->existing_id, row->id, sizeof(s->existing_id));
		reject(s, 409, "duplicate_reading", "reading_timestamp", msg);
		return;
	}
	case STO_UNAVAILABLE:
		log_warn("reading not stored", "request_id=%s meter=%s err=%s", s->request_id, s->r.serial, it->error);
		reject(s, 503, "database_unavailable", NULL, "the database is unavailable; retry later");
		return;
	case STO_ERROR:
	default:
		log_err("reading not stored", "request_id=%s meter=%s err=%s", s->request_id, s->r.serial, it->error);
		reject(s, 500, "internal_error", NULL, "the reading could not be stored");
		return;
	}
}

static void on_signed(bool ok, void *arg);

static void
on_meter(const struct meter *m, bool unavailable, void *arg)
{
	struct sub *s = arg;
	struct app *a = s->a;
	struct apierr e;
	char msg[RDG_MSG_MAX];
	size_t len;

	if (unavailable) {
		reject(s, 503, "database_unavailable", NULL, "the database is unavailable; retry later");
		return;
	}
	if (m == NULL) {
		reject(s, 404, "meter_not_found", "meter_serial", "no meter is registered with this serial");
		return;
	}
	if (!m->active) {
		reject(s, 403, "meter_deactivated", "meter_serial", "this meter is deactivated");
		return;
	}
	if (rdg_check_wallet(&s->r, m, &e) < 0) {
		reject(s, e.status, e.code, e.field, e.msg);
		return;
	}
	if ((len = rdg_message(&s->r, m, msg, sizeof(msg))) == 0) {
		on_signed(false, s); /* cannot have been signed as the platform's message */
		return;
	}
	s->m = *m;
	if (sigq_add(a->sq, s->r.sig, m->pubkey, &m->key, msg, len, on_signed, s) < 0)
		reject(s, 503, "out_of_memory", NULL, "out of memory; retry later");
}

/* The signature's verdict, at the end of the loop turn that read it (sigq.c): the rest of the checks. */
static void
on_signed(bool ok, void *arg)
{
	struct sub *s = arg;
	struct app *a = s->a;
	const struct meter *m = &s->m;
	struct apierr e;
	int wait;

	if (!ok) {
		reject(s, 401, "invalid_signature", "meter_signature",
		    "meter_signature does not verify with the meter's registered key over this reading");
		return;
	}
	/* Authenticated from here on: the meter itself sent this. The limit is shared by every worker. */
	if ((wait = rl_take(a->rl, m->serial, strlen(m->serial), httpd_now_us(), a->rate_per_min, a->rate_burst)) > 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "too many readings from this meter; retry in %d s", wait);
		s->retry_after = wait;
		reject(s, 429, "rate_limited", "meter_serial", msg);
		return;
	}
	if (rdg_validate(&s->r, &a->lim, ts_now_us(), &e) < 0) {
		struct who who = { m->wallet, m->user_id, m->serial };
		char ts[TS_BUFSZ];
		cJSON *f = cJSON_CreateObject();

		ts_format_utc(s->r.ts_us, ts, sizeof(ts));
		add_user(f, m->user_id);
		cJSON_AddStringToObject(f, "wallet_address", m->wallet);
		cJSON_AddStringToObject(f, "meter_serial", m->serial);
		cJSON_AddStringToObject(f, "kwh_amount", s->r.kwh_text);
		cJSON_AddStringToObject(f, "reading_timestamp", ts);
		cJSON_AddStringToObject(f, "error_reason", e.code);
		cJSON_AddStringToObject(f, "error_message", e.msg);
		publish(a, EVT_VALIDATION_FAILED, &who, f);
		reject(s, e.status, e.code, e.field, e.msg);
		return;
	}
	{
		struct err ae;

		if (amt_kwh_to_base_units(s->r.kwh_micro, &a->ratio, a->decimals, &s->it.tokens, &ae) < 0 ||
		    s->it.tokens > (uint64_t)INT64_MAX) {
			/* The configuration check makes this unreachable for kWh <= the maximum. */
			reject(s, 422, "kwh_amount_too_large", "kwh_amount", "the token amount of this reading does not fit");
			return;
		}
	}
	uuid_v7(s->it.id); /* time-ordered: inserts land at the right edge of the primary key */
	s->it.meter_id = m->id;
	memcpy(s->it.serial, m->serial, sizeof(s->it.serial));
	memcpy(s->it.user_id, m->user_id, sizeof(s->it.user_id));
	memcpy(s->it.wallet, m->wallet, sizeof(s->it.wallet));
	s->it.kwh_micro = s->r.kwh_micro;
	s->it.ts_us = s->r.ts_us;
	memcpy(s->it.sig, s->r.sig_b58, sizeof(s->it.sig));
	s->it.done = on_stored;
	s->it.arg = s;
	if (s->b != NULL) {
		s->ready = true;
		batch_validated(s->b);
		return;
	}
	store_add(a->store, &s->it);
}

static void
sub_start(struct sub *s, const cJSON *o)
{
	struct apierr e;

	if (rdg_parse(o, &s->r, &e) < 0) {
		reject(s, e.status, e.code, e.field, e.msg);
		return;
	}
	mc_lookup(s->a->mc, s->r.serial, on_meter, s);
}

void
submit_one(struct app *a, struct httpd_req *req)
{
	struct apierr e;
	cJSON *body;
	struct sub *s;

	if (body_json(req, &body, &e) < 0) {
		reply_fail(req, &e, NULL);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		cJSON_Delete(body);
		reply_error(req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
		return;
	}
	s->a = a;
	s->req = req;
	memcpy(s->request_id, req->request_id, sizeof(s->request_id));
	sub_start(s, body);
	cJSON_Delete(body); /* sub_start copied what it needs */
}

static void
batch_reply(struct batch *b)
{
	struct sbuf t = { 0 };
	char num[160];

	/* Written as text (the readings' views straight, the rare errors through cJSON): a batch's answer was some
	 * thirty allocations per reading as one cJSON tree. The same text as that tree printed. */
	sbuf_str(&t, "{\"results\":[");
	for (int i = 0; i < b->n; i++) {
		struct sub *s = &b->subs[i];

		snprintf(num, sizeof(num), "%s{\"index\":%d,\"status\":%d", i ? "," : "", i, s->out.status);
		sbuf_str(&t, num);
		if (s->out.status < 300) {
			sbuf_str(&t, ",\"id\":");
			sbuf_json_str(&t, s->it.row.id);
			sbuf_str(&t, ",\"reading\":");
			reply_reading_text(&t, &s->it.row);
		} else {
			cJSON *e = sub_error_json(s);
			char *et = e != NULL ? cJSON_PrintUnformatted(e) : NULL;

			if (s->out.status == 429) {
				snprintf(num, sizeof(num), ",\"retry_after\":%d", s->retry_after);
				sbuf_str(&t, num);
			}
			sbuf_str(&t, ",\"error\":");
			if (et != NULL)
				sbuf_str(&t, et);
			else
				t.oom = true;
			cJSON_free(et);
			cJSON_Delete(e);
		}
		sbuf_add(&t, "}", 1);
	}
	snprintf(num, sizeof(num), "],\"total\":%d,\"accepted\":%d,\"replayed\":%d,\"rejected\":%d,\"request_id\":", b->n,
	    b->accepted, b->replayed, b->rejected);
	sbuf_str(&t, num);
	sbuf_json_str(&t, b->req->request_id);
	sbuf_add(&t, "}", 1);
	reply_text(b->req, 200, NULL, &t);
	free(b->subs);
	free(b->items);
	free(b);
}

/* Every item is validated or rejected: store the valid ones in one go, in their order. */
static void
batch_validated(struct batch *b)
{
	int k = 0;

	if (--b->validating > 0)
		return;
	for (int i = 0; i < b->n; i++)
		if (b->subs[i].ready)
			b->items[k++] = &b->subs[i].it;
	b->outstanding++; /* the store may answer synchronously; keep the batch alive until all are queued */
	store_add_many(b->a->store, b->items, k);
	if (--b->outstanding == 0)
		batch_reply(b);
}

static void
batch_item_done(struct sub *s)
{
	struct batch *b = s->b;

	if (s->out.status == 201)
		b->accepted++;
	else if (s->out.status == 200)
		b->replayed++;
	else
		b->rejected++;
	if (--b->outstanding == 0)
		batch_reply(b);
}

void
submit_batch(struct app *a, struct httpd_req *req)
{
	const cJSON *arr, *it;
	struct apierr e;
	struct batch *b;
	cJSON *body;
	int n, i;

	if (body_json(req, &body, &e) < 0) {
		reply_fail(req, &e, NULL);
		return;
	}
	arr = json_get(body, "readings");
	if (!cJSON_IsObject(body) || arr == NULL) {
		cJSON_Delete(body);
		reply_error(req, 400, "missing_field", "readings", NULL, "the body must be {\"readings\": [...]}");
		return;
	}
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(body);
		reply_error(req, 400, "wrong_type", "readings", NULL, "readings must be an array");
		return;
	}
	n = cJSON_GetArraySize(arr);
	if (n > a->batch_max) {
		cJSON_Delete(body);
		reply_error(req, 413, "too_many_readings", "readings", NULL, "a batch holds at most %d readings", a->batch_max);
		return;
	}
	met_batch_readings(n);
	/* What the readings cost while they wait (on a slow database, say) counts against the body budget. */
	_Static_assert(sizeof(struct sub) + sizeof(struct store_item *) <= 2048, "the budget check in conf.c counts 2 KiB");
	if (!httpd_charge(req, (size_t)n * (sizeof(struct sub) + sizeof(struct store_item *)))) {
		char hdr[48];

		cJSON_Delete(body);
		snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", a->retry_after);
		reply_error(req, 503, "server_busy", NULL, hdr, "too many readings in progress; retry later");
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL || (b->subs = calloc((size_t)n + 1, sizeof(*b->subs))) == NULL ||
	    (b->items = calloc((size_t)n + 1, sizeof(*b->items))) == NULL) {
		if (b != NULL)
			free(b->subs);
		free(b);
		cJSON_Delete(body);
		reply_error(req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
		return;
	}
	b->a = a;
	b->req = req;
	b->n = n;
	/* +1 holds the batch open until every item has started (some finish synchronously). */
	b->outstanding = n + 1;
	b->validating = n + 1;
	/* The meters the cache does not know are read with one query, not one per reading. */
	mc_batch_begin(a->mc);
	for (i = 0, it = arr->child; it != NULL && i < n; it = it->next, i++) {
		struct sub *s = &b->subs[i];

		s->a = a;
		s->b = b;
		s->index = i;
		snprintf(s->request_id, sizeof(s->request_id), "%s", req->request_id);
		sub_start(s, it);
	}
	cJSON_Delete(body);
	mc_batch_end(a->mc);
	b->outstanding--; /* cannot reach 0: validating still holds one */
	batch_validated(b);
}
