/* redisconn.h: Redis URL parsing and a blocking connect with AUTH/SELECT (error text to the caller). */
#ifndef GTX_REDISCONN_H
#define GTX_REDISCONN_H

#include <hiredis/hiredis.h>

#include "err.h"

struct redis_url {
	char host[256];
	int port;
	char user[128];
	char password[256]; /* secret: never print */
	int db;
	char unix_path[256]; /* redis+unix:///path or unix:///path */
};

/* redis://[[user]:password@]host[:port][/db] or unix:///path/to/sock[?db=N]. */
int rurl_parse(const char *url, struct redis_url *out, struct err *e) WUR;
/* Wipes the password. */
void rurl_clear(struct redis_url *u);

/* Connects, authenticates and selects the db; the error never contains the password. */
redisContext *rconn_connect(const char *url, int timeout_ms, struct err *e);
/* Sends AUTH/SELECT as needed on an already-connected context (used by async setups too). */
int rconn_handshake(redisContext *c, const struct redis_url *u, struct err *e) WUR;

#endif
