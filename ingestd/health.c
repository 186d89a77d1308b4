/* health.c: liveness, readiness and the metrics route, sampling the gauges other modules own. */
#include "health.h"
#include "metrics.h"
#include "reply.h"
#include "wsproc.h"

#include <stdlib.h>

void
health_answer(struct app *a, struct httpd_req *req, bool ready)
{
	bool dbu = db_up(a->db), ru = rq_up(a->rq);
	cJSON *o = cJSON_CreateObject();

	if (!ready) {
		cJSON_AddStringToObject(o, "status", "ok");
		reply_json(req, 200, NULL, o);
		return;
	}
	cJSON_AddStringToObject(o, "status", dbu && ru ? "ready" : "not_ready");
	cJSON_AddBoolToObject(o, "postgres", dbu);
	cJSON_AddBoolToObject(o, "redis", ru);
	reply_json(req, dbu && ru ? 200 : 503, dbu && ru ? NULL : "Retry-After: 1\r\n", o);
}

void
health_gauges(struct app *a, struct met_gauges *gp)
{
	struct met_gauges g = { 0 };
	struct rq_stats rs;

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
	*gp = g;
}

void
health_metrics(struct app *a, struct httpd_req *req)
{
	struct met_gauges g;
	size_t len;
	char *text;

	health_gauges(a, &g);
	if ((text = met_render(&g, &len)) == NULL) {
		reply_error(req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
		return;
	}
	httpd_reply_ct(req, 200, "text/plain; version=0.0.4", NULL, text, len);
	free(text);
}
