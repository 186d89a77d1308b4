/* apierr.h: the one error convention of ingestd and ingestd-ws: an error shaped like the HTTP answer it becomes. */
#ifndef INGESTD_APIERR_H
#define INGESTD_APIERR_H

#include "err.h"

/*
 * Every fallible function of the daemon's layer (parsers, validators, handlers' helpers) returns 0 on
 * success or -1 on failure and, on failure, fills a caller-supplied struct apierr with exactly what the
 * client will be answered: the HTTP status, a stable snake_case code (a string literal), the request
 * field concerned (a literal, or NULL) and a human message without secrets. Whoever holds the request
 * answers it (reply_fail) and logs; nothing below replies on its own. Functions that cannot fail in a
 * way the client must hear of return bool. common/ keeps its own convention (err.h): 0/-1 and struct
 * err, which a caller here turns into a struct apierr where it knows the status; so do the constructors
 * that run at start-up (httpd_new, rq_new, wsproc_new, svc_new, feed_new), whose errors reach an
 * operator's log, never a client.
 */
struct apierr {
	int status;
	const char *code;
	const char *field;
	char msg[200];
};

/* Fills e (when not NULL) and returns -1, so that callers can `return apierr_set(...)`. */
int apierr_set(struct apierr *e, int status, const char *code, const char *field, const char *fmt, ...) PRINTF(5, 6);

#endif
