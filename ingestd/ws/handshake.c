/* handshake.c: the HTTP/1.1 upgrade request of GET /ws, and who the client is (JWT or admin token). */
#include "handshake.h"
#include "httpparse.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
wsh_parse(const char *head, size_t n, struct ws_upgrade *u, struct apierr *e)
{
	const char *eol;
	bool upgrade = false, connection = false, version = false;
	struct httpp_line rl;
	struct httpp_field f;
	char target[1024], *query;
	size_t pos;
	int nhost = 0, rc;

	while (n >= 2 && head[n - 2] == '\r' && head[n - 1] == '\n') /* the blank line that ends the head */
		n -= 2;
	if (n == 0)
		return apierr_set(e, 400, "bad_request", NULL, "empty request");
	if ((eol = memmem(head, n, "\r\n", 2)) == NULL)
		eol = head + n;
	if (httpp_request_line(head, (size_t)(eol - head), &rl, e) < 0 || rl.http10)
		return apierr_set(e, 400, "bad_request", NULL, "not an HTTP/1.1 request");
	if (rl.target_len >= sizeof(target))
		return apierr_set(e, 404, "not_found", NULL, "only GET /ws is served here");
	memcpy(target, rl.target, rl.target_len);
	target[rl.target_len] = '\0';
	if ((query = strchr(target, '?')) != NULL)
		*query++ = '\0';
	if (strcmp(target, "/ws") != 0)
		return apierr_set(e, 404, "not_found", NULL, "only GET /ws is served here");
	if (rl.method_len != 3 || memcmp(rl.method, "GET", 3) != 0)
		return apierr_set(e, 405, "method_not_allowed", NULL, "the upgrade must be a GET");
	if (query && httpp_query_param(query, "token", u->token, sizeof(u->token)) < 0)
		return apierr_set(e, 401, "unauthorized", NULL, "token too long");
	if (query && (rc = httpp_query_param(query, "since", u->since, sizeof(u->since))) != 0 && (rc < 0 || u->since[0] == '\0'))
		return apierr_set(e, 400, "bad_request", NULL, "bad since");
	pos = eol == head + n ? n : (size_t)(eol - head) + 2;
	while ((rc = httpp_next_field(head, n, &pos, &f, e)) > 0) {
		if (httpp_field_is(&f, "Host")) {
			nhost++;
		} else if (httpp_field_is(&f, "Upgrade")) {
			upgrade = httpp_has_token(f.value, f.value_len, "websocket");
		} else if (httpp_field_is(&f, "Connection")) {
			connection = httpp_has_token(f.value, f.value_len, "upgrade");
		} else if (httpp_field_is(&f, "Sec-WebSocket-Version")) {
			version = f.value_len == 2 && memcmp(f.value, "13", 2) == 0;
		} else if (httpp_field_is(&f, "Sec-WebSocket-Key")) {
			if (f.value_len >= sizeof(u->key))
				return apierr_set(e, 400, "bad_request", NULL, "bad Sec-WebSocket-Key");
			memcpy(u->key, f.value, f.value_len);
			u->key[f.value_len] = '\0';
		} else if (httpp_field_is(&f, "Authorization")) {
			/* the header wins over ?token= */
			if (f.value_len < 7 || strncasecmp(f.value, "Bearer ", 7) != 0 || f.value_len - 7 >= sizeof(u->token))
				return apierr_set(e, 401, "unauthorized", NULL, "Authorization is not a Bearer token");
			memcpy(u->token, f.value + 7, f.value_len - 7);
			u->token[f.value_len - 7] = '\0';
		}
	}
	if (rc < 0)
		return -1;
	if (nhost != 1)
		return apierr_set(e, 400, "bad_request", NULL, "HTTP/1.1 requests need exactly one Host header");
	if (!upgrade || !connection)
		return apierr_set(e, 426, "upgrade_required", NULL, "expected Upgrade: websocket and Connection: Upgrade");
	if (!version)
		return apierr_set(e, 426, "upgrade_required", NULL, "only WebSocket version 13 is supported");
	if (u->key[0] == '\0')
		return apierr_set(e, 400, "bad_request", NULL, "missing Sec-WebSocket-Key");
	return 0;
}

int
wsh_auth(const struct ws_creds *cr, const char *token, int64_t now, struct ws_ident *id, struct apierr *e)
{
	const struct jwt_expect want = { cr->aud, cr->iss };
	struct jwt_claims cl;
	struct err je = { 0 };

	memset(id, 0, sizeof(*id));
	if (token[0] == '\0') {
		if (cr->auth_required)
			return apierr_set(e, 401, "unauthorized", NULL, "missing bearer token");
		id->who = WHO_ANONYMOUS;
		id->admin = true; /* auth disabled by configuration: everything, as the old endpoint did */
		strcpy(id->role, "anonymous");
		return 0;
	}
	if (cr->admin.n > 0 && strchr(token, '.') == NULL) {
		if (admintok_ok(&cr->admin, token, strlen(token))) {
			id->who = WHO_ADMIN_TOKEN;
			id->admin = true;
			strcpy(id->role, "admin");
			return 0;
		}
		return apierr_set(e, 401, "unauthorized", NULL, "invalid token");
	}
	if (cr->jwt_secret_len == 0)
		return apierr_set(e, 401, "unauthorized", NULL, "invalid token");
	if (jwt_verify_hs256(token, cr->jwt_secret, cr->jwt_secret_len, now, &want, &cl, &je) < 0)
		return apierr_set(e, 401, je.code == JWT_EEXPIRED ? "token_expired" : "unauthorized", NULL, "%s",
		    je.code == JWT_EEXPIRED ? "token expired" : je.code == JWT_EALG ? "token algorithm not accepted" :
		    je.code == JWT_ESIGNATURE ? "token signature invalid" : je.code == JWT_EAUDIENCE ?
		    "token audience not accepted" : je.code == JWT_EISSUER ? "token issuer not accepted" : "malformed token");
	id->who = WHO_JWT;
	strcpy(id->user, cl.sub);
	strcpy(id->role, cl.role);
	id->admin = strcmp(cl.role, "admin") == 0;
	id->exp = cl.exp;
	return 0;
}
