/* routes.c: ingestd's route table: paths to routes, their methods and names (test/integration/contract.test.mjs reads it). */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#define PFX_ADMIN_METERS "/api/admin/meters/"
#define PFX_READINGS "/api/meters/readings/"
#define PFX_ADMIN_READINGS "/api/admin/readings/"

static bool
starts(const char *s, const char *pfx, const char **rest)
{
	size_t n = strlen(pfx);

	if (strncmp(s, pfx, n) != 0)
		return false;
	*rest = s + n;
	return true;
}

/* The part of path after prefix when it is one non-empty segment followed by suffix, else NULL. */
static const char *
segment(const char *path, const char *pfx, const char *suffix)
{
	const char *rest;
	size_t n;

	if (!starts(path, pfx, &rest) || rest[0] == '\0')
		return NULL;
	n = strcspn(rest, "/");
	if (strcmp(rest + n, suffix) != 0)
		return NULL;
	return rest;
}

enum route
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

bool
route_param(enum route rt, const char *path, char *out, size_t cap)
{
	const char *seg = rt == RT_READING ? segment(path, PFX_READINGS, "") :
	    rt == RT_ADMIN_METER ? segment(path, PFX_ADMIN_METERS, "") :
	    rt == RT_ADMIN_RETRY ? segment(path, PFX_ADMIN_READINGS, "/retry") : NULL;
	size_t n;

	if (seg == NULL || (n = strcspn(seg, "/")) >= cap)
		return false;
	memcpy(out, seg, n);
	out[n] = '\0';
	return true;
}

/* Methods each route answers (405 with Allow otherwise). Every GET route answers HEAD too. */
static const char *const route_allow_tab[RT_COUNT] = {
	[RT_SUBMIT] = "POST", [RT_BATCH] = "POST", [RT_READING] = "GET, HEAD", [RT_ADMIN_METERS] = "GET, HEAD, POST",
	[RT_ADMIN_METER] = "GET, HEAD, PATCH", [RT_ADMIN_UNMINTED] = "GET, HEAD", [RT_ADMIN_STATUS] = "GET, HEAD",
	[RT_ADMIN_TOGGLE] = "POST", [RT_ADMIN_TRIGGER] = "POST", [RT_ADMIN_RETRY] = "POST", [RT_ADMIN_ACK_HALT] = "POST",
	[RT_HEALTHZ] = "GET, HEAD", [RT_READYZ] = "GET, HEAD", [RT_METRICS] = "GET, HEAD",
};

static const char *const route_names[RT_COUNT] = {
	"unknown", "submit_reading", "submit_batch", "get_reading", "admin_meters", "admin_meter",
	"admin_unminted", "admin_tokenization_status", "admin_toggle_auto_mint", "admin_trigger_batch",
	"admin_retry_reading", "admin_acknowledge_halt", "healthz", "readyz", "metrics",
};

const char *
route_allow(enum route rt)
{
	return (unsigned)rt < RT_COUNT && route_allow_tab[rt] ? route_allow_tab[rt] : "";
}

bool
route_allows(enum route rt, const char *method)
{
	const char *allow = route_allow(rt);
	size_t n = strlen(method);

	if (n == 0)
		return false;
	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

bool
route_is_admin(enum route rt)
{
	return rt >= RT_ADMIN_METERS && rt <= RT_ADMIN_ACK_HALT;
}

const char *
route_name(enum route rt)
{
	return (unsigned)rt < RT_COUNT ? route_names[rt] : "unknown";
}
