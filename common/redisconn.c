/* redisconn.c: Redis URL parsing and blocking connect helpers. */
#include "redisconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
copy(char *dst, size_t dstsz, const char *src, size_t n, struct err *e, const char *what)
{
	if (n >= dstsz)
		return err_set(e, 0, "redis URL: %s too long", what);
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int
parse_int(const char *s, size_t n, int lo, int hi, int *out)
{
	long v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int
rurl_parse(const char *url, struct redis_url *u, struct err *e)
{
	const char *p, *at, *slash, *colon, *hostend;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "unix://", 7) == 0 || strncmp(url, "redis+unix://", 13) == 0) {
		const char *path = strstr(url, "://") + 3, *q = strchr(path, '?');
		size_t n = q ? (size_t)(q - path) : strlen(path);

		if (n == 0 || path[0] != '/')
			return err_set(e, 0, "redis URL: unix socket path must be absolute");
		if (copy(u->unix_path, sizeof(u->unix_path), path, n, e, "socket path") < 0)
			return -1;
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 || parse_int(q + 4, strlen(q + 4), 0, 1 << 20, &u->db) < 0))
			return err_set(e, 0, "redis URL: bad query (only ?db=N)");
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return err_set(e, 0, "redis URL must start with redis:// or unix://");
	p = url + 8;
	slash = strchr(p, '/');
	hostend = slash ? slash : p + strlen(p);
	at = memrchr(p, '@', (size_t)(hostend - p));
	if (at != NULL) {
		const char *c = memchr(p, ':', (size_t)(at - p));

		if (c == NULL) {
			/* redis://password@host is a common shorthand */
			if (copy(u->password, sizeof(u->password), p, (size_t)(at - p), e, "password") < 0)
				return -1;
		} else {
			if (copy(u->user, sizeof(u->user), p, (size_t)(c - p), e, "user") < 0 ||
			    copy(u->password, sizeof(u->password), c + 1, (size_t)(at - c - 1), e, "password") < 0)
				return -1;
		}
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(hostend - p));
	if (copy(u->host, sizeof(u->host), p, (size_t)((colon ? colon : hostend) - p), e, "host") < 0)
		return -1;
	if (u->host[0] == '\0')
		return err_set(e, 0, "redis URL: missing host");
	if (colon != NULL && parse_int(colon + 1, (size_t)(hostend - colon - 1), 1, 65535, &u->port) < 0)
		return err_set(e, 0, "redis URL: bad port");
	if (slash != NULL && slash[1] != '\0' && parse_int(slash + 1, strlen(slash + 1), 0, 1 << 20, &u->db) < 0)
		return err_set(e, 0, "redis URL: bad database number");
	return 0;
}

void
rurl_clear(struct redis_url *u)
{
	explicit_bzero(u->password, sizeof(u->password));
}

int
rconn_handshake(redisContext *c, const struct redis_url *u, struct err *e)
{
	redisReply *r;

	if (u->password[0] != '\0') {
		if (u->user[0] != '\0')
			r = redisCommand(c, "AUTH %s %s", u->user, u->password);
		else
			r = redisCommand(c, "AUTH %s", u->password);
		if (r == NULL)
			return err_set(e, 0, "redis AUTH: %s", c->errstr);
		if (r->type == REDIS_REPLY_ERROR) {
			/* The reply never echoes the password, but keep it generic anyway. */
			freeReplyObject(r);
			return err_set(e, 0, "redis AUTH failed");
		}
		freeReplyObject(r);
	}
	if (u->db != 0) {
		r = redisCommand(c, "SELECT %d", u->db);
		if (r == NULL)
			return err_set(e, 0, "redis SELECT: %s", c->errstr);
		if (r->type == REDIS_REPLY_ERROR) {
			err_set(e, 0, "redis SELECT %d: %s", u->db, r->str);
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

redisContext *
rconn_connect(const char *url, int timeout_ms, struct err *e)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct redis_url u;
	redisContext *c;

	if (rurl_parse(url, &u, e) < 0)
		return NULL;
	if (u.unix_path[0] != '\0')
		c = redisConnectUnixWithTimeout(u.unix_path, tv);
	else
		c = redisConnectWithTimeout(u.host, u.port, tv);
	if (c == NULL) {
		rurl_clear(&u);
		err_set(e, 0, "redis: out of memory");
		return NULL;
	}
	if (c->err) {
		err_set(e, 0, "redis connect %s:%d: %s", u.unix_path[0] ? u.unix_path : u.host, u.port, c->errstr);
		goto fail;
	}
	redisSetTimeout(c, tv);
	if (rconn_handshake(c, &u, e) < 0)
		goto fail;
	rurl_clear(&u);
	return c;
fail:
	rurl_clear(&u);
	redisFree(c);
	return NULL;
}
