/* router.c: the request path from httpd to the handlers: route, method, admin token, dispatch; and the access log. */
#include "router.h"
#include "admin.h"
#include "app.h"
#include "health.h"
#include "log.h"
#include "lookup.h"
#include "metrics.h"
#include "reply.h"
#include "routes.h"
#include "submit.h"

#include <stdio.h>

size_t
router_headers(struct httpd_req *req, void *arg)
{
	struct app *a = arg;

	req->route = route_of(req->path);
	return req->route == RT_BATCH ? a->max_body : a->max_small_body;
}

void
router_replied(const struct httpd_req *req, int status, void *arg)
{
	(void)arg;
	met_request((enum route)req->route, status);
	log_debug("request", "request_id=%s method=%s path=%s status=%d us=%lld", req->request_id, req->method_text,
	    req->path ? req->path : "-", status, (long long)(httpd_now_us() - req->start_us));
}

void
router_request(struct httpd_req *req, void *arg)
{
	struct app *a = arg;
	enum route rt = (enum route)req->route;
	char param[80] = "";

	if (rt == RT_UNKNOWN) {
		reply_error(req, 404, "not_found", NULL, NULL, "no such route");
		return;
	}
	if (!route_allows(rt, req->method_text)) {
		char h[64];

		snprintf(h, sizeof(h), "Allow: %s\r\n", route_allow(rt));
		reply_error(req, 405, "method_not_allowed", NULL, h, "%s is not allowed here (allowed: %s)", req->method_text,
		    route_allow(rt));
		return;
	}
	/* HEAD is GET whose reply httpd sends without the body (req->head_only). */
	if (req->method == HM_HEAD)
		req->method = HM_GET;
	/* Admin routes: authenticate before looking at anything else. */
	if (route_is_admin(rt) && !admintok_bearer_ok(&a->admin, req->authorization)) {
		reply_error(req, 401, "unauthorized", NULL, "WWW-Authenticate: Bearer\r\n", "a valid admin bearer token is required");
		return;
	}
	if (!route_param(rt, req->path, param, sizeof(param)))
		param[0] = '\0';
	switch (rt) {
	case RT_SUBMIT:
		submit_one(a, req);
		break;
	case RT_BATCH:
		submit_batch(a, req);
		break;
	case RT_READING:
		lookup_reading(a, req, param);
		break;
	case RT_HEALTHZ:
	case RT_READYZ:
		health_answer(a, req, rt == RT_READYZ);
		break;
	case RT_METRICS:
		health_metrics(a, req);
		break;
	case RT_ADMIN_METERS:
		admin_meters(a, req, NULL);
		break;
	case RT_ADMIN_METER:
		admin_meters(a, req, param);
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
		admin_retry(a, req, param);
		break;
	default:
		reply_error(req, 404, "not_found", NULL, NULL, "no such route");
		break;
	}
}
