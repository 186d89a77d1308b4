/* api.c: routing, content checks, admin authentication, JSON replies, and the health and metrics routes. */
#include "app.h"
#include "jparse.h"
#include "log.h"
#include "metrics.h"
#include "wsproc.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PFX_ADMIN_METERS "/api/admin/meters/"
#define PFX_READINGS "/api/meters/readings/"
#define PFX_ADMIN_READINGS "/api/admin/readings/"

size_t
api_error_body(const struct httpd_req *req, int status, const char *code, const char *msg, char *buf, size_t bufsz)
{
	/* Codes and messages here are our own constants: no escaping needed. */
	int n = snprintf(buf, bufsz, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"},\"request_id\":\"%s\"}", code,
	    msg, req->request_id);

	(void)status;
	return n < 0 ? 0 : (size_t)n >= bufsz ? bufsz - 1 : (size_t)n;
}

void
api_json(struct httpd_req *req, int status, const char *headers, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;

	cJSON_Delete(body);
	if (text == NULL) {
		static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";

		httpd_reply(req, 503, "Retry-After: 1\r\n", oom, sizeof(oom) - 1);
		return;
	}
	httpd_reply(req, status, headers, text, strlen(text));
	cJSON_free(text);
}

void
api_error(struct httpd_req *req, int status, const char *code, const char *field, const char *headers,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	if (field != NULL)
		cJSON_AddStringToObject(e, "field", field);
	cJSON_AddStringToObject(o, "request_id", req->request_id);
	api_json(req, status, headers, o);
}

void
api_unavailable(struct app *a, struct httpd_req *req, const char *what)
{
	char h[48];

	snprintf(h, sizeof(h), "Retry-After: %d\r\n", a->retry_after);
	api_error(req, 503, "database_unavailable", NULL, h, "%s: the database is unavailable; retry later", what);
}

cJSON *
api_add_ts(cJSON *o, const char *name, int64_t us)
{
	char ts[TS_BUFSZ];

	if (ts_format_utc(us, ts, sizeof(ts)) == 0)
		return cJSON_AddNullToObject(o, name);
	return cJSON_AddStringToObject(o, name, ts);
}

cJSON *
api_reading_json(const struct store_row *row)
{
	cJSON *o = cJSON_CreateObject();
	char kwh[AMT_KWH_BUFSZ], tok[AMT_U64_BUFSZ];

	if (o == NULL)
		return NULL;
	amt_format_kwh(row->kwh_micro, kwh, sizeof(kwh));
	amt_format_base_units(row->tokens, tok, sizeof(tok));
	cJSON_AddStringToObject(o, "id", row->id);
	cJSON_AddStringToObject(o, "meter_serial", row->meter_serial);
	if (row->user_id[0])
		cJSON_AddStringToObject(o, "user_id", row->user_id);
	else
		cJSON_AddNullToObject(o, "user_id");
	cJSON_AddStringToObject(o, "wallet_address", row->wallet);
	cJSON_AddStringToObject(o, "kwh_amount", kwh);
	cJSON_AddStringToObject(o, "token_amount", tok);
	api_add_ts(o, "reading_timestamp", row->ts_us);
	api_add_ts(o, "submitted_at", row->submitted_us);
	cJSON_AddStringToObject(o, "status", rstate_name(rstate_public(row->status)));
	return o;
}

cJSON *
api_body(struct httpd_req *req)
{
	const char *ct = req->content_type;
	struct jp_err je;
	cJSON *j;

	/* application/json, optionally with parameters (charset=utf-8) */
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';' &&
	    ct[16] != ' ')) {
		api_error(req, 415, "unsupported_media_type", NULL, NULL, "the body must be JSON (Content-Type: application/json)");
		return NULL;
	}
	if ((j = jp_parse(req->body ? req->body : "", req->body_len, &je)) != NULL)
		return j;
	switch (je.code) {
	case JP_EDUPKEY:
		api_error(req, 400, "duplicate_key", NULL, NULL, "duplicate member name in a JSON object (byte %zu)", je.offset);
		break;
	case JP_ETRAILING:
		api_error(req, 400, "trailing_garbage", NULL, NULL, "unexpected bytes after the JSON value (byte %zu)", je.offset);
		break;
	case JP_ENOMEM:
		api_error(req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
		break;
	default:
		api_error(req, 400, "invalid_json", NULL, NULL, "malformed JSON at byte %zu: %s", je.offset, je.msg);
		break;
	}
	return NULL;
}

bool
api_admin_ok(struct app *a, struct httpd_req *req)
{
	const char *h = req->authorization;
	bool ok = h != NULL && strncasecmp(h, "Bearer ", 7) == 0 && h[7] != '\0' &&
	    ingestd_admin_token_ok(h + 7, strlen(h + 7), (const uint8_t (*)[32])a->admin_hash, a->nadmin);

	if (!ok)
		api_error(req, 401, "unauthorized", NULL, "WWW-Authenticate: Bearer\r\n",
		    "a valid admin bearer token is required");
	return ok;
}

static bool
starts(const char *s, const char *pfx, const char **rest)
{
	size_t n = strlen(pfx);

	if (strncmp(s, pfx, n) != 0)
		return false;
	*rest = s + n;
	return true;
}

/* The part of path after prefix when it is one non-empty segment, else NULL. */
static const char *
segment(const char *path, const char *pfx, const char *suffix)
{
	const char *rest;
	size_t n, sl = strlen(suffix);

	if (!starts(path, pfx, &rest) || rest[0] == '\0')
		return NULL;
	n = strcspn(rest, "/");
	if (strcmp(rest + n, suffix) != 0 || (sl == 0 && rest[n] != '\0'))
		return NULL;
	return rest;
}

static int
route_of(const char *path)
{
	if (strcmp(path, "/api/meters/submit-reading") == 0)
		return RT_SUBMIT;
	if (strcmp(path, "/api/meters/readings/batch") == 0)
		return RT_BATCH;
	if (segment(path, PFX_READINGS, ""))
		return RT_READING;
	if (strcmp(path, "/api/admin/meters") == 0)
		return RT_ADMIN_METERS;
	if (strcmp(path, "/api/admin/meters/unminted") == 0)
		return RT_ADMIN_UNMINTED;
	if (segment(path, PFX_ADMIN_METERS, ""))
		return RT_ADMIN_METER;
	if (strcmp(path, "/api/admin/tokenization/status") == 0)
		return RT_ADMIN_STATUS;
	if (strcmp(path, "/api/admin/tokenization/toggle-auto-mint") == 0)
		return RT_ADMIN_TOGGLE;
	if (strcmp(path, "/api/admin/tokenization/trigger-batch") == 0)
		return RT_ADMIN_TRIGGER;
	if (segment(path, PFX_ADMIN_READINGS, "/retry"))
		return RT_ADMIN_RETRY;
	if (strcmp(path, "/api/admin/tokenization/acknowledge-halt") == 0)
		return RT_ADMIN_ACK_HALT;
	if (strcmp(path, "/healthz") == 0)
		return RT_HEALTHZ;
	if (strcmp(path, "/readyz") == 0)
		return RT_READYZ;
	if (strcmp(path, "/metrics") == 0)
		return RT_METRICS;
	return RT_UNKNOWN;
}

size_t
api_headers(struct httpd_req *req, void *arg)
{
	struct app *a = arg;

	req->route = route_of(req->path);
	return req->route == RT_BATCH ? a->max_body : a->max_small_body;
}

void
api_replied(const struct httpd_req *req, int status, void *arg)
{
	(void)arg;
	met_request(req->route, status);
	log_debug("request_id=%s %s %s -> %d (%lld us)", req->request_id, req->method_text,
	    req->path ? req->path : "-", status, (long long)(httpd_now_us() - req->start_us));
}

static void
method_not_allowed(struct httpd_req *req, const char *allow)
{
	char h[64];

	snprintf(h, sizeof(h), "Allow: %s\r\n", allow);
	api_error(req, 405, "method_not_allowed", NULL, h, "%s is not allowed here (allowed: %s)", req->method_text, allow);
}

static void
health(struct app *a, struct httpd_req *req, bool ready)
{
	bool dbu = db_up(a->db), ru = rq_up(a->rq);
	cJSON *o = cJSON_CreateObject();

	if (!ready) {
		cJSON_AddStringToObject(o, "status", "ok");
		api_json(req, 200, NULL, o);
		return;
	}
	cJSON_AddStringToObject(o, "status", dbu && ru ? "ready" : "not_ready");
	cJSON_AddBoolToObject(o, "postgres", dbu);
	cJSON_AddBoolToObject(o, "redis", ru);
	api_json(req, dbu && ru ? 200 : 503, dbu && ru ? NULL : "Retry-After: 1\r\n", o);
}

static void
metrics(struct app *a, struct httpd_req *req)
{
	struct met_gauges g = { 0 };
	struct rq_stats rs;
	size_t len;
	char *text;

	rq_stats(a->rq, &rs);
	g.db_up = db_up(a->db);
	g.redis_up = rs.up;
	g.ws_up = wsproc_running(a->ws);
	g.ws_restarts = wsproc_restarts(a->ws);
	httpd_stats(a->http, &g.http);
	mc_stats(a->mc, &g.meters);
	g.db_pending = db_pending(a->db);
	g.store_pending = store_pending(a->store);
	g.queue_pushed = rs.pushed;
	g.queue_push_failures = rs.push_failures;
	g.queue_backlog_dropped = rs.backlog_dropped;
	g.queue_backlog = rs.backlog;
	g.events_published = rs.events_published;
	g.events_dropped = rs.events_dropped;
	if ((text = met_render(&g, &len)) == NULL) {
		api_error(req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
		return;
	}
	httpd_reply_ct(req, 200, "text/plain; version=0.0.4", NULL, text, len);
	free(text);
}

/* Methods each route answers (405 with Allow otherwise). Every GET route answers HEAD too. */
static const char *const route_allow[RT_COUNT] = {
	[RT_SUBMIT] = "POST", [RT_BATCH] = "POST", [RT_READING] = "GET, HEAD", [RT_ADMIN_METERS] = "GET, HEAD, POST",
	[RT_ADMIN_METER] = "GET, HEAD, PATCH", [RT_ADMIN_UNMINTED] = "GET, HEAD", [RT_ADMIN_STATUS] = "GET, HEAD",
	[RT_ADMIN_TOGGLE] = "POST", [RT_ADMIN_TRIGGER] = "POST", [RT_ADMIN_RETRY] = "POST", [RT_ADMIN_ACK_HALT] = "POST",
	[RT_HEALTHZ] = "GET, HEAD", [RT_READYZ] = "GET, HEAD", [RT_METRICS] = "GET, HEAD",
};

static bool
allowed(const char *allow, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

void
api_request(struct httpd_req *req, void *arg)
{
	struct app *a = arg;
	const char *seg;
	char id[80];

	if (req->route == RT_UNKNOWN) {
		api_error(req, 404, "not_found", NULL, NULL, "no such route");
		return;
	}
	if (!allowed(route_allow[req->route], req->method_text)) {
		method_not_allowed(req, route_allow[req->route]);
		return;
	}
	/* HEAD is GET whose reply httpd sends without the body (req->head_only). */
	if (req->method == HM_HEAD)
		req->method = HM_GET;
	/* Admin routes: authenticate before looking at anything else. */
	if (strncmp(req->path, "/api/admin/", 11) == 0 && !api_admin_ok(a, req))
		return;
	switch (req->route) {
	case RT_SUBMIT:
		submit_one(a, req);
		break;
	case RT_BATCH:
		submit_batch(a, req);
		break;
	case RT_READING:
		reading_get(a, req, segment(req->path, PFX_READINGS, ""));
		break;
	case RT_HEALTHZ:
	case RT_READYZ:
		health(a, req, req->route == RT_READYZ);
		break;
	case RT_METRICS:
		metrics(a, req);
		break;
	case RT_ADMIN_METERS:
		admin_meters(a, req, NULL);
		break;
	case RT_ADMIN_METER:
		admin_meters(a, req, segment(req->path, PFX_ADMIN_METERS, ""));
		break;
	case RT_ADMIN_UNMINTED:
		admin_unminted(a, req);
		break;
	case RT_ADMIN_STATUS:
		admin_status(a, req);
		break;
	case RT_ADMIN_TOGGLE:
		admin_toggle(a, req);
		break;
	case RT_ADMIN_TRIGGER:
		admin_trigger(a, req);
		break;
	case RT_ADMIN_ACK_HALT:
		admin_ack_halt(a, req);
		break;
	case RT_ADMIN_RETRY:
		seg = segment(req->path, PFX_ADMIN_READINGS, "/retry");
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(seg, "/"), seg);
		admin_retry(a, req, id);
		break;
	default:
		api_error(req, 404, "not_found", NULL, NULL, "no such route");
		break;
	}
}
