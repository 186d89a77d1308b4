/* routes.h: ingestd's routes: which path is which, and the methods each answers (no I/O). */
#ifndef INGESTD_ROUTES_H
#define INGESTD_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

enum route {
	RT_UNKNOWN = 0,
	RT_SUBMIT,
	RT_BATCH,
	RT_READING,
	RT_ADMIN_METERS,
	RT_ADMIN_METER,
	RT_ADMIN_UNMINTED,
	RT_ADMIN_STATUS,
	RT_ADMIN_TOGGLE,
	RT_ADMIN_TRIGGER,
	RT_ADMIN_RETRY,
	RT_ADMIN_ACK_HALT,
	RT_HEALTHZ,
	RT_READYZ,
	RT_METRICS,
	RT_COUNT
};

/* The route of a path (without its query). */
enum route route_of(const char *path);
/*
 * The variable segment of a path of route rt ({id}, {serial}), copied into out (NUL-terminated);
 * false when the route has none or it does not fit.
 */
bool route_param(enum route rt, const char *path, char *out, size_t cap);
/* "GET, HEAD, POST": the methods rt answers (the Allow header of a 405). Every GET route answers HEAD. */
const char *route_allow(enum route rt);
/* True when method (as sent) is one of rt's. */
bool route_allows(enum route rt, const char *method);
/* True for the routes that need the admin bearer token. */
bool route_is_admin(enum route rt);
/* The route's name for metrics ("submit", "admin_meters", ...). */
const char *route_name(enum route rt);

#endif
