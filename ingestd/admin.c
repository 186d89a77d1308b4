/* admin.c: the operator routes: meters (register, list, rotate key, change wallet, deactivate), tokenization control. */
#include "admin.h"
#include "b58.h"
#include "body.h"
#include "httpparse.h"
#include "json.h"
#include "log.h"
#include "pgconn.h"
#include "reply.h"
#include "uuid.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METER_COLS "meter_serial, encode(public_key, 'hex'), wallet_address, coalesce(user_id::text, ''), active, " \
	"(extract(epoch FROM created_at) * 1000000)::bigint, (extract(epoch FROM updated_at) * 1000000)::bigint"

/* One admin request waiting for the database. */
struct aq {
	struct app *a;
	struct httpd_req *req;
	int kind;
	char key[80]; /* serial or reading id */
	int page, page_size;
	bool flag;
};

enum { AQ_REGISTER, AQ_LIST, AQ_GET, AQ_PATCH, AQ_UNMINTED, AQ_STATUS, AQ_TOGGLE, AQ_TRIGGER, AQ_RETRY, AQ_ACK };

static void on_result(PGresult *res, void *arg);

static struct aq *
aq_new(struct app *a, struct httpd_req *req, int kind)
{
	struct aq *q = calloc(1, sizeof(*q));

	if (q == NULL) {
		reply_error(req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
		return NULL;
	}
	q->a = a;
	q->req = req;
	q->kind = kind;
	return q;
}

static void
run(struct aq *q, const char *sql, int n, const char *const *params)
{
	if (db_query(q->a->db, sql, n, params, on_result, q) < 0) {
		reply_unavailable(q->req, q->a->retry_after, "admin");
		free(q);
	}
}

static cJSON *
meter_json(const PGresult *res, int i)
{
	cJSON *o = cJSON_CreateObject();
	uint8_t pk[32] = { 0 };
	char b58[64];
	const char *hex = PQgetvalue(res, i, 1);
	size_t got;

	/* encode(public_key, 'hex') of a bytea CHECKed to 32 bytes */
	if (sodium_hex2bin(pk, sizeof(pk), hex, strlen(hex), NULL, &got, NULL) != 0 || got != sizeof(pk))
		memset(pk, 0, sizeof(pk));
	b58_encode(pk, 32, b58, sizeof(b58));
	cJSON_AddStringToObject(o, "meter_serial", PQgetvalue(res, i, 0));
	cJSON_AddStringToObject(o, "public_key", b58);
	cJSON_AddStringToObject(o, "wallet_address", PQgetvalue(res, i, 2));
	if (PQgetvalue(res, i, 3)[0])
		cJSON_AddStringToObject(o, "user_id", PQgetvalue(res, i, 3));
	else
		cJSON_AddNullToObject(o, "user_id");
	cJSON_AddBoolToObject(o, "active", PQgetvalue(res, i, 4)[0] == 't');
	reply_add_ts(o, "created_at", strtoll(PQgetvalue(res, i, 5), NULL, 10));
	reply_add_ts(o, "updated_at", strtoll(PQgetvalue(res, i, 6), NULL, 10));
	return o;
}

static int64_t
col_i64(const PGresult *res, int i, int c)
{
	return strtoll(PQgetvalue(res, i, c), NULL, 10);
}

static void
result_meters(struct aq *q, PGresult *res)
{
	int n = PQntuples(res);

	switch (q->kind) {
	case AQ_REGISTER:
		if (n == 0) {
			reply_error(q->req, 409, "meter_exists", "meter_serial", NULL, "a meter with this serial is already registered");
			return;
		}
		mc_invalidate(q->a->mc, PQgetvalue(res, 0, 0));
		log_notice("meter registered", "request_id=%s meter=%s wallet=%s", q->req->request_id, PQgetvalue(res, 0, 0),
		    PQgetvalue(res, 0, 2));
		reply_json(q->req, 201, NULL, meter_json(res, 0));
		return;
	case AQ_GET:
	case AQ_PATCH:
		if (n == 0) {
			reply_error(q->req, 404, "meter_not_found", NULL, NULL, "no meter is registered with this serial");
			return;
		}
		if (q->kind == AQ_PATCH) {
			mc_invalidate(q->a->mc, PQgetvalue(res, 0, 0));
			log_notice("meter changed", "request_id=%s meter=%s wallet=%s active=%s", q->req->request_id,
			    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 4));
		}
		reply_json(q->req, 200, NULL, meter_json(res, 0));
		return;
	default: {
		cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "meters");

		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, meter_json(res, i));
		if (n == q->page_size)
			cJSON_AddStringToObject(o, "next_after", PQgetvalue(res, n - 1, 0));
		else
			cJSON_AddNullToObject(o, "next_after");
		reply_json(q->req, 200, NULL, o);
		return;
	}
	}
}

static void
result_unminted(struct aq *q, PGresult *res)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "readings");
	struct store_row row;
	long long total = 0;

	for (int i = 0; i < PQntuples(res); i++) {
		if (store_row_from(res, i, 0, &row) == 0)
			cJSON_AddItemToArray(arr, reply_reading_json(&row));
		total = col_i64(res, i, STORE_ROW_NCOLS);
	}
	if (PQntuples(res) == 0 && PQnfields(res) > 0)
		total = -1;
	cJSON_AddNumberToObject(o, "page", q->page);
	cJSON_AddNumberToObject(o, "page_size", q->page_size);
	if (total >= 0)
		cJSON_AddNumberToObject(o, "total", (double)total);
	else
		cJSON_AddNullToObject(o, "total");
	reply_json(q->req, 200, NULL, o);
}

static void
result_status(struct aq *q, PGresult *res)
{
	cJSON *o = cJSON_CreateObject(), *b;
	struct app *a = q->a;

	cJSON_AddBoolToObject(o, "auto_mint_enabled", strcmp(PQgetvalue(res, 0, 0), "false") != 0);
	cJSON_AddNumberToObject(o, "polling_interval_secs", a->polling_interval);
	cJSON_AddNumberToObject(o, "batch_size", a->batch_size);
	cJSON_AddNumberToObject(o, "unminted_readings_count", (double)col_i64(res, 0, 1));
	cJSON_AddNumberToObject(o, "retrying_readings_count", (double)col_i64(res, 0, 2));
	cJSON_AddNumberToObject(o, "waiting_readings_count", (double)col_i64(res, 0, 22));
	cJSON_AddNumberToObject(o, "failed_readings_count", (double)col_i64(res, 0, 3));
	if (PQgetisnull(res, 0, 4))
		cJSON_AddNullToObject(o, "oldest_unminted_age_secs");
	else
		cJSON_AddNumberToObject(o, "oldest_unminted_age_secs", (double)(col_i64(res, 0, 4) / 1000000));
	b = cJSON_AddObjectToObject(o, "recent_batch_stats");
	cJSON_AddNumberToObject(b, "transactions", (double)col_i64(res, 0, 5));
	cJSON_AddNumberToObject(b, "batches", (double)col_i64(res, 0, 6));
	cJSON_AddNumberToObject(b, "confirmed", (double)col_i64(res, 0, 7));
	cJSON_AddNumberToObject(b, "failed", (double)col_i64(res, 0, 8));
	cJSON_AddNumberToObject(b, "expired", (double)col_i64(res, 0, 9));
	cJSON_AddNumberToObject(b, "pending", (double)col_i64(res, 0, 10));
	cJSON_AddNumberToObject(b, "wallets", (double)col_i64(res, 0, 11));
	cJSON_AddNumberToObject(b, "readings", (double)col_i64(res, 0, 12));
	cJSON_AddStringToObject(b, "fees_lamports", PQgetvalue(res, 0, 13));
	if (PQgetisnull(res, 0, 14))
		cJSON_AddNullToObject(b, "last_transaction_at");
	else
		reply_add_ts(b, "last_transaction_at", col_i64(res, 0, 14));
	/* The supply invariant: a halt stops every mintd until acknowledged (acknowledge-halt). */
	cJSON_AddBoolToObject(o, "minting_halted", !PQgetisnull(res, 0, 15));
	if (PQgetisnull(res, 0, 15)) {
		cJSON_AddNullToObject(o, "halt");
	} else {
		cJSON *h = cJSON_AddObjectToObject(o, "halt");

		cJSON_AddNumberToObject(h, "halt_id", (double)col_i64(res, 0, 15));
		cJSON_AddStringToObject(h, "reason", PQgetvalue(res, 0, 16));
		cJSON_AddStringToObject(h, "supply", PQgetvalue(res, 0, 17));
		cJSON_AddStringToObject(h, "expected_min", PQgetvalue(res, 0, 18));
		cJSON_AddStringToObject(h, "expected_max", PQgetvalue(res, 0, 19));
		cJSON_AddNumberToObject(h, "slot", (double)col_i64(res, 0, 20));
		reply_add_ts(h, "detected_at", col_i64(res, 0, 21));
	}
	reply_json(q->req, 200, NULL, o);
}

static void
result_retry(struct aq *q, PGresult *res)
{
	cJSON *o;

	if (PQntuples(res) == 0) {
		reply_error(q->req, 404, "reading_not_found", NULL, NULL, "no reading with this id");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "1") != 0) {
		reply_error(q->req, 409, "reading_not_failed", NULL, NULL, "only failed readings can be retried (this one is %s)",
		    PQgetvalue(res, 0, 0));
		return;
	}
	/* Committed as pending: queue it for mintd (its sweep finds it anyway if Redis is away). */
	rq_push_reading(q->a->rq, q->key);
	log_notice("reading re-queued", "request_id=%s reading_id=%s", q->req->request_id, q->key);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", q->key);
	cJSON_AddStringToObject(o, "status", "pending");
	reply_json(q->req, 200, NULL, o);
}

static void
result_ack(struct aq *q, PGresult *res)
{
	cJSON *o;

	if (PQntuples(res) == 0) {
		reply_error(q->req, 404, "halt_not_found", "halt_id", NULL, "no unacknowledged minting halt with this id");
		return;
	}
	log_notice("minting halt acknowledged", "request_id=%s halt_id=%s by=%s supply=%s expected_min=%s expected_max=%s "
	    "adjustment=%s reason=%s", q->req->request_id, PQgetvalue(res, 0, 0), q->key, PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5));
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "halt_id", (double)col_i64(res, 0, 0));
	cJSON_AddBoolToObject(o, "acknowledged", 1);
	cJSON_AddStringToObject(o, "supply", PQgetvalue(res, 0, 1));
	cJSON_AddStringToObject(o, "expected_min", PQgetvalue(res, 0, 2));
	cJSON_AddStringToObject(o, "expected_max", PQgetvalue(res, 0, 3));
	cJSON_AddStringToObject(o, "baseline_adjustment", PQgetvalue(res, 0, 4));
	reply_json(q->req, 200, NULL, o);
}

static void
on_result(PGresult *res, void *arg)
{
	struct aq *q = arg;
	const char *st = res ? pgc_sqlstate(res) : "";

	if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)) {
		if (strcmp(st, "23505") == 0) {
			reply_error(q->req, 409, "meter_exists", "meter_serial", NULL, "a meter with this serial is already registered");
		} else if (strncmp(st, "23", 2) == 0 || strncmp(st, "22", 2) == 0) {
			reply_error(q->req, 422, "invalid_value", NULL, NULL, "the database refused the values");
		} else {
			if (res != NULL && !db_unavailable(res))
				log_err("admin request failed", "request_id=%s err=%s", q->req->request_id, db_msg(PQresultErrorMessage(res)));
			reply_unavailable(q->req, q->a->retry_after, "admin");
		}
		free(q);
		return;
	}
	switch (q->kind) {
	case AQ_REGISTER:
	case AQ_LIST:
	case AQ_GET:
	case AQ_PATCH:
		result_meters(q, res);
		break;
	case AQ_UNMINTED:
		result_unminted(q, res);
		break;
	case AQ_STATUS:
		result_status(q, res);
		break;
	case AQ_TOGGLE: {
		cJSON *o = cJSON_CreateObject();

		log_notice("auto-mint set", "request_id=%s auto_mint=%s", q->req->request_id, q->flag ? "enabled" : "disabled");
		cJSON_AddBoolToObject(o, "success", 1);
		cJSON_AddBoolToObject(o, "auto_mint_enabled", q->flag);
		cJSON_AddStringToObject(o, "message", q->flag ? "automatic minting enabled" : "automatic minting disabled");
		reply_json(q->req, 200, NULL, o);
		break;
	}
	case AQ_TRIGGER: {
		cJSON *o = cJSON_CreateObject();

		log_notice("mint cycle requested", "request_id=%s", q->req->request_id);
		cJSON_AddBoolToObject(o, "success", 1);
		cJSON_AddStringToObject(o, "message", "mintd was asked to run a cycle now");
		reply_json(q->req, 202, NULL, o);
		break;
	}
	case AQ_RETRY:
		result_retry(q, res);
		break;
	case AQ_ACK:
		result_ack(q, res);
		break;
	}
	free(q);
}

/* Validated admin inputs, as text parameters for SQL. */
struct mfields {
	char pk_hex[65];
	char wallet[48];
	char user_id[37];
	bool has_pk, has_wallet, has_user, user_null, has_active, active;
};

static int
field_b58(const cJSON *v, const char *name, uint8_t *out, char *text, size_t textsz, struct apierr *e)
{
	size_t n;

	if (!cJSON_IsString(v))
		return apierr_set(e, 400, "wrong_type", name, "%s must be a base58 string", name);
	n = strlen(v->valuestring);
	if (n >= textsz || b58_decode_exact(v->valuestring, n, out, 32, NULL) < 0)
		return apierr_set(e, 400, strcmp(name, "public_key") == 0 ? "invalid_public_key" : "invalid_wallet_address",
		    name, "%s must be 32 bytes in base58", name);
	if (text != NULL)
		memcpy(text, v->valuestring, n + 1);
	return 0;
}

/* Parses the fields of a register (all required but user_id) or patch (any, at least one) body. */
static int
meter_fields(const cJSON *body, bool patch, struct mfields *f, struct apierr *e)
{
	static const char *const known_reg[] = { "meter_serial", "public_key", "wallet_address", "user_id", NULL };
	static const char *const known_patch[] = { "public_key", "wallet_address", "user_id", "active", NULL };
	const char *const *known = patch ? known_patch : known_reg;
	const cJSON *v;
	uint8_t raw[32];

	memset(f, 0, sizeof(*f));
	if (body_known_members(body, known, e) < 0)
		return -1;
	if ((v = json_get(body, "public_key")) != NULL) {
		char text[64];

		if (field_b58(v, "public_key", raw, text, sizeof(text), e) < 0)
			return -1;
		/* A small-order or non-canonical point would make any signature check meaningless. */
		if (crypto_core_ed25519_is_valid_point(raw) != 1) {
			return apierr_set(e, 400, "invalid_public_key", "public_key", "public_key is not a usable Ed25519 key");
		}
		sodium_bin2hex(f->pk_hex, sizeof(f->pk_hex), raw, 32);
		f->has_pk = true;
	} else if (!patch) {
		return apierr_set(e, 400, "missing_field", "public_key", "public_key is required");
	}
	if ((v = json_get(body, "wallet_address")) != NULL) {
		if (field_b58(v, "wallet_address", raw, f->wallet, sizeof(f->wallet), e) < 0)
			return -1;
		f->has_wallet = true;
	} else if (!patch) {
		return apierr_set(e, 400, "missing_field", "wallet_address", "wallet_address is required");
	}
	if ((v = json_get(body, "user_id")) != NULL) {
		f->has_user = true;
		if (cJSON_IsNull(v)) {
			f->user_null = true;
		} else if (!cJSON_IsString(v) || strlen(v->valuestring) != 36) {
			return apierr_set(e, 400, "invalid_user_id", "user_id", "user_id must be a uuid or null");
		} else {
			for (int i = 0; i < 36; i++)
				f->user_id[i] = (char)tolower((unsigned char)v->valuestring[i]);
			if (!uuid_is_canonical(f->user_id, strlen(f->user_id))) {
				return apierr_set(e, 400, "invalid_user_id", "user_id", "user_id must be a uuid or null");
			}
		}
	}
	if ((v = json_get(body, "active")) != NULL) {
		if (!cJSON_IsBool(v)) {
			return apierr_set(e, 400, "wrong_type", "active", "active must be true or false");
		}
		f->has_active = true;
		f->active = cJSON_IsTrue(v);
	}
	if (patch && !f->has_pk && !f->has_wallet && !f->has_user && !f->has_active) {
		return apierr_set(e, 400, "missing_field", NULL, "nothing to change");
	}
	return 0;
}

/* An integer query parameter in [lo, hi] into *out, or def when absent; -1 with e (400) when bad. */
static int
qint(const struct httpd_req *req, const char *name, long def, long lo, long hi, long *out, struct apierr *e)
{
	char buf[16], *end;
	int rc = httpp_query_param(req->query, name, buf, sizeof(buf));
	long v;

	*out = def;
	if (rc == 0)
		return 0;
	v = rc > 0 ? strtol(buf, &end, 10) : 0;
	if (rc < 0 || buf[0] == '\0' || *end != '\0' || v < lo || v > hi)
		return apierr_set(e, 400, "invalid_parameter", name, "%s must be an integer in %ld..%ld", name, lo, hi);
	*out = v;
	return 0;
}

void
admin_meters(struct app *a, struct httpd_req *req, const char *serial)
{
	struct mfields f;
	struct apierr e;
	struct aq *q;
	cJSON *body;

	if (serial != NULL && !mc_serial_ok(serial)) {
		reply_error(req, 404, "meter_not_found", NULL, NULL, "no meter is registered with this serial");
		return;
	}
	if (req->method == HM_GET && serial == NULL) {
		char after[METER_SERIAL_MAX + 1] = "";
		char lim[24];
		long limit;
		const char *params[2] = { NULL, lim };

		if (qint(req, "limit", 100, 1, 1000, &limit, &e) < 0) {
			reply_fail(req, &e, NULL);
			return;
		}
		if (httpp_query_param(req->query, "after", after, sizeof(after)) > 0 && after[0])
			params[0] = after;
		snprintf(lim, sizeof(lim), "%ld", limit);
		if ((q = aq_new(a, req, AQ_LIST)) == NULL)
			return;
		q->page_size = (int)limit;
		run(q, "SELECT " METER_COLS " FROM meters WHERE $1::text IS NULL OR meter_serial > $1 "
		    "ORDER BY meter_serial LIMIT $2::int", 2, params);
		return;
	}
	if (req->method == HM_GET) {
		const char *params[1] = { serial };

		if ((q = aq_new(a, req, AQ_GET)) == NULL)
			return;
		run(q, "SELECT " METER_COLS " FROM meters WHERE meter_serial = $1", 1, params);
		return;
	}
	if (body_json(req, &body, &e) < 0) {
		reply_fail(req, &e, NULL);
		return;
	}
	if (serial == NULL) {
		const cJSON *s = json_get(body, "meter_serial");

		if (meter_fields(body, false, &f, &e) < 0 ||
		    ((s == NULL || !cJSON_IsString(s)) && apierr_set(&e, 400, s ? "wrong_type" : "missing_field", "meter_serial",
		    "meter_serial is required (a string)")) ||
		    (!mc_serial_ok(s->valuestring) && apierr_set(&e, 400, "invalid_meter_serial", "meter_serial",
		    "meter_serial must be 1-64 characters of [A-Za-z0-9._:-] starting with a letter or digit"))) {
			reply_fail(req, &e, NULL);
			goto out;
		}
		{
			const char *params[4] = { s->valuestring, f.pk_hex, f.wallet, f.has_user && !f.user_null ? f.user_id : NULL };

			if ((q = aq_new(a, req, AQ_REGISTER)) == NULL)
				goto out;
			/* The NOTIFY tells every ingestd to forget what it cached (also "no such meter"). */
			run(q, "WITH ins AS (INSERT INTO meters (meter_serial, public_key, wallet_address, user_id) "
			    "VALUES ($1, decode($2, 'hex'), $3, $4::uuid) ON CONFLICT (meter_serial) DO NOTHING RETURNING *) "
			    "SELECT " METER_COLS ", pg_notify('gridtokenx_meters', meter_serial) FROM ins", 4, params);
		}
		goto out;
	}
	if (meter_fields(body, true, &f, &e) < 0) {
		reply_fail(req, &e, NULL);
		goto out;
	}
	{
		const char *params[7] = { serial, f.has_pk ? f.pk_hex : NULL, f.has_wallet ? f.wallet : NULL,
			f.has_active ? (f.active ? "true" : "false") : NULL, f.has_user ? "true" : "false",
			f.has_user && !f.user_null ? f.user_id : NULL, NULL };

		if ((q = aq_new(a, req, AQ_PATCH)) == NULL)
			goto out;
		run(q, "WITH u AS (UPDATE meters SET public_key = coalesce(decode($2, 'hex'), public_key), "
		    "wallet_address = coalesce($3, wallet_address), active = coalesce($4::boolean, active), "
		    "user_id = CASE WHEN $5::boolean THEN $6::uuid ELSE user_id END, updated_at = now() "
		    "WHERE meter_serial = $1 RETURNING *) "
		    "SELECT " METER_COLS ", pg_notify('gridtokenx_meters', meter_serial) FROM u", 6, params);
	}
out:
	cJSON_Delete(body);
}

void
admin_unminted(struct app *a, struct httpd_req *req)
{
	long page, size;
	char lim[24], off[24];
	const char *params[2] = { lim, off };
	struct apierr e;
	struct aq *q;

	if (qint(req, "page", 1, 1, 1000000, &page, &e) < 0 || qint(req, "page_size", 50, 1, 1000, &size, &e) < 0) {
		reply_fail(req, &e, NULL);
		return;
	}
	snprintf(lim, sizeof(lim), "%ld", size);
	snprintf(off, sizeof(off), "%ld", (page - 1) * size);
	if ((q = aq_new(a, req, AQ_UNMINTED)) == NULL)
		return;
	q->page = (int)page;
	q->page_size = (int)size;
	run(q, "SELECT " STORE_ROW_COLS ", (SELECT count(*) FROM meter_readings WHERE status = 'pending') "
	    "FROM meter_readings r WHERE r.status = 'pending' ORDER BY r.submitted_at, r.id LIMIT $1::int OFFSET $2::bigint",
	    2, params);
}

void
admin_status(struct app *a, struct httpd_req *req)
{
	struct aq *q = aq_new(a, req, AQ_STATUS);

	if (q == NULL)
		return;
	run(q, "SELECT coalesce((SELECT value FROM settings WHERE key = 'auto_mint_enabled'), 'true'), "
	    "(SELECT count(*) FROM meter_readings WHERE status IN ('pending', 'claimed', 'waiting', 'submitted')), "
	    "(SELECT count(*) FROM meter_readings WHERE status = 'retrying'), "
	    "(SELECT count(*) FROM meter_readings WHERE status = 'failed'), "
	    /* a reading waiting for its wallet's minting window is due (and ages) from when the window opens */
	    "(SELECT (extract(epoch FROM now() - min(coalesce(mint_after, submitted_at))) * 1000000)::bigint "
	    " FROM meter_readings WHERE status IN ('pending', 'claimed', 'submitted') "
	    " OR (status = 'waiting' AND mint_after <= now())), "
	    "b.n, b.batches, b.confirmed, b.failed, b.expired, b.pending, b.wallets, b.readings, b.fees, b.last_at, "
	    "h.id, h.reason, h.supply::text, h.expected_min::text, h.expected_max::text, h.slot, "
	    "(extract(epoch FROM h.detected_at) * 1000000)::bigint, "
	    "(SELECT count(*) FROM meter_readings WHERE status = 'waiting') "
	    "FROM (SELECT count(*) AS n, count(DISTINCT batch_id) AS batches, "
	    " count(*) FILTER (WHERE state = 'confirmed') AS confirmed, count(*) FILTER (WHERE state = 'failed') AS failed, "
	    " count(*) FILTER (WHERE state = 'expired') AS expired, count(*) FILTER (WHERE state = 'pending') AS pending, "
	    " coalesce(sum(wallets), 0) AS wallets, coalesce(sum(readings), 0) AS readings, "
	    " coalesce(sum(fee_lamports), 0) AS fees, (extract(epoch FROM max(created_at)) * 1000000)::bigint AS last_at "
	    " FROM (SELECT * FROM mint_transactions ORDER BY id DESC LIMIT 20) t) b "
	    "LEFT JOIN LATERAL (SELECT * FROM minting_halts WHERE acknowledged_at IS NULL ORDER BY id LIMIT 1) h ON true",
	    0, NULL);
}

void
admin_toggle(struct app *a, struct httpd_req *req)
{
	const cJSON *v;
	struct apierr e;
	struct aq *q;
	cJSON *body;

	if (body_json(req, &body, &e) < 0) {
		reply_fail(req, &e, NULL);
		return;
	}
	v = json_get(body, "enabled");
	if (v == NULL || !cJSON_IsBool(v)) {
		reply_error(req, 400, v ? "wrong_type" : "missing_field", "enabled", NULL, "enabled must be true or false");
		cJSON_Delete(body);
		return;
	}
	if ((q = aq_new(a, req, AQ_TOGGLE)) != NULL) {
		const char *params[2];

		q->flag = cJSON_IsTrue(v);
		params[0] = q->flag ? "true" : "false";
		params[1] = q->flag ? "{\"action\":\"auto_mint\",\"enabled\":true}" : "{\"action\":\"auto_mint\",\"enabled\":false}";
		/* Persisted and announced in one statement: mintd LISTENs and also re-reads settings each cycle. */
		run(q, "WITH u AS (INSERT INTO settings (key, value, updated_at) VALUES ('auto_mint_enabled', $1, now()) "
		    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now() RETURNING value) "
		    "SELECT value, pg_notify('gridtokenx_control', $2) FROM u", 2, params);
	}
	cJSON_Delete(body);
}

void
admin_trigger(struct app *a, struct httpd_req *req)
{
	struct aq *q = aq_new(a, req, AQ_TRIGGER);

	if (q != NULL)
		run(q, "SELECT pg_notify('gridtokenx_control', '{\"action\":\"trigger_batch\"}')", 0, NULL);
}

void
admin_retry(struct app *a, struct httpd_req *req, const char *id)
{
	const char *params[1] = { id };
	struct aq *q;

	if (!uuid_is_canonical(id, strlen(id))) {
		reply_error(req, 404, "reading_not_found", NULL, NULL, "no reading with this id");
		return;
	}
	if ((q = aq_new(a, req, AQ_RETRY)) == NULL)
		return;
	snprintf(q->key, sizeof(q->key), "%s", id);
	/* One statement, one transaction: only a failed reading moves, and its retry row goes with it. */
	run(q, "WITH r AS (SELECT id, status FROM meter_readings WHERE id = $1), "
	    "u AS (UPDATE meter_readings m SET status = 'pending', claimed_by = NULL, claimed_at = NULL "
	    "      FROM r WHERE m.id = r.id AND m.status = 'failed' RETURNING m.id), "
	    "d AS (DELETE FROM minting_retry_queue q USING u WHERE q.reading_id = u.id) "
	    "SELECT r.status, (SELECT count(*) FROM u) FROM r", 1, params);
}

/*
 * Acknowledges a minting halt: {"halt_id": N, "note": "why it is understood"}. The database function records
 * who (the admin token's SHA-256 prefix, never the token) and why, moves the supply baseline by the measured
 * discrepancy and notifies every mintd.
 */
void
admin_ack_halt(struct app *a, struct httpd_req *req)
{
	static const char *const known[] = { "halt_id", "note", NULL };
	const cJSON *id, *note;
	struct apierr e;
	uint8_t h[32];
	const char *tok;
	struct aq *q;
	cJSON *body;

	if (body_json(req, &body, &e) < 0) {
		reply_fail(req, &e, NULL);
		return;
	}
	if (body_known_members(body, known, &e) < 0) {
		reply_fail(req, &e, NULL);
		goto out;
	}
	id = json_get(body, "halt_id");
	note = json_get(body, "note");
	if (id == NULL || !cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9007199254740991.0 ||
	    id->valuedouble != (double)(int64_t)id->valuedouble) {
		reply_error(req, 400, id ? "wrong_type" : "missing_field", "halt_id", NULL, "halt_id must be a positive integer");
		goto out;
	}
	if (note == NULL || !cJSON_IsString(note) || note->valuestring[0] == '\0' || strlen(note->valuestring) > 1000) {
		reply_error(req, 400, note ? "wrong_type" : "missing_field", "note", NULL,
		    "note must say, in 1 to 1000 characters, why the halt is understood");
		goto out;
	}
	if ((q = aq_new(a, req, AQ_ACK)) != NULL) {
		char idtext[24];
		const char *params[3] = { idtext, q->key, note->valuestring };

		tok = req->authorization + 7; /* the router checked "Bearer <token>" */
		crypto_hash_sha256(h, (const uint8_t *)tok, strlen(tok));
		snprintf(q->key, sizeof(q->key), "admin-token-sha256:%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4],
		    h[5]);
		snprintf(idtext, sizeof(idtext), "%lld", (long long)id->valuedouble);
		run(q, "SELECT id, supply::text, expected_min::text, expected_max::text, adjustment::text, reason "
		    "FROM acknowledge_minting_halt($1::bigint, $2, $3)", 3, params);
	}
out:
	cJSON_Delete(body);
}
