/* handshake.c: the HTTP/1.1 upgrade request of GET /ws, and who the client is (JWT or admin token). */
#include "handshake.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* True when the comma-separated header value `v` has the token `tok` (case-insensitive). */
static bool
has_token(const char *v, const char *tok)
{
	size_t tl = strlen(tok);

	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (strncasecmp(v, tok, tl) == 0 && (v[tl] == '\0' || v[tl] == ',' || v[tl] == ' ' || v[tl] == '\t'))
			return true;
		while (*v && *v != ',')
			v++;
	}
	return false;
}

static int
hexval(int ch)
{
	return isdigit(ch) ? ch - '0' : isxdigit(ch) ? (tolower(ch) - 'a' + 10) : -1;
}

/* Copies the percent-decoded value of query parameter `name` into out; false if absent or too long. */
static bool
query_param(const char *q, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	while (q && *q) {
		if (strncmp(q, name, nl) == 0 && q[nl] == '=') {
			size_t o = 0;

			for (q += nl + 1; *q && *q != '&'; q++) {
				int ch = (unsigned char)*q;

				if (ch == '%' && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
					ch = hexval(q[1]) << 4 | hexval(q[2]);
					q += 2;
				} else if (ch == '+') {
					ch = ' ';
				}
				if (ch == 0 || o + 1 >= cap)
					return false;
				out[o++] = (char)ch;
			}
			out[o] = '\0';
			return true;
		}
		q = strchr(q, '&');
		if (q)
			q++;
	}
	return false;
}

int
wsh_parse(char *head, struct ws_upgrade *u, int *status, const char **why)
{
	char *line, *save = NULL, *target, *ver, *query;
	bool upgrade = false, connection = false, version = false, first = true;
	int nhost = 0;

	*status = 400;
	for (line = strtok_r(head, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *colon, *v;

		if (first) {
			first = false;
			target = strchr(line, ' ');
			ver = target ? strchr(target + 1, ' ') : NULL;
			if (target == NULL || ver == NULL || strcmp(ver + 1, "HTTP/1.1") != 0)
				return *why = "not an HTTP/1.1 request", -1;
			*target++ = '\0';
			*ver = '\0';
			if ((query = strchr(target, '?')) != NULL)
				*query++ = '\0';
			if (strcmp(target, "/ws") != 0)
				return *status = 404, *why = "only GET /ws is served here", -1;
			if (strcmp(line, "GET") != 0)
				return *status = 405, *why = "the upgrade must be a GET", -1;
			if (query && !query_param(query, "token", u->token, sizeof(u->token)) && strstr(query, "token="))
				return *status = 401, *why = "token too long", -1;
			if (query && query_param(query, "since", u->since, sizeof(u->since)) && u->since[0] == '\0')
				return *why = "empty since", -1;
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL)
			return *why = "malformed header line", -1;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(line, "Host") == 0) {
			nhost++;
		} else if (strcasecmp(line, "Upgrade") == 0) {
			upgrade = has_token(v, "websocket");
		} else if (strcasecmp(line, "Connection") == 0) {
			connection = has_token(v, "upgrade");
		} else if (strcasecmp(line, "Sec-WebSocket-Version") == 0) {
			version = strcmp(v, "13") == 0;
		} else if (strcasecmp(line, "Sec-WebSocket-Key") == 0) {
			if (strlen(v) >= sizeof(u->key))
				return *why = "bad Sec-WebSocket-Key", -1;
			strcpy(u->key, v);
		} else if (strcasecmp(line, "Authorization") == 0) {
			/* the header wins over ?token= */
			if (strncasecmp(v, "Bearer ", 7) != 0 || strlen(v + 7) >= sizeof(u->token))
				return *status = 401, *why = "Authorization is not a Bearer token", -1;
			strcpy(u->token, v + 7);
		}
	}
	if (first)
		return *why = "empty request", -1;
	if (nhost != 1)
		return *why = "HTTP/1.1 requests need exactly one Host header", -1;
	if (!upgrade || !connection)
		return *status = 426, *why = "expected Upgrade: websocket and Connection: Upgrade", -1;
	if (!version)
		return *status = 426, *why = "only WebSocket version 13 is supported", -1;
	if (u->key[0] == '\0')
		return *why = "missing Sec-WebSocket-Key", -1;
	return 0;
}

int
wsh_auth(const struct ws_creds *cr, const char *token, int64_t now, struct ws_ident *id, const char **why)
{
	const struct jwt_expect want = { cr->aud, cr->iss };
	struct jwt_claims cl;
	struct err e = { 0 };

	memset(id, 0, sizeof(*id));
	if (token[0] == '\0') {
		if (cr->auth_required)
			return *why = "missing bearer token", -1;
		id->who = WHO_ANONYMOUS;
		id->admin = true; /* auth disabled by configuration: everything, as the old endpoint did */
		strcpy(id->role, "anonymous");
		return 0;
	}
	if (cr->nadmin > 0 && strchr(token, '.') == NULL) {
		if (ingestd_admin_token_ok(token, strlen(token), (const uint8_t (*)[32])cr->admin_sha, cr->nadmin)) {
			id->who = WHO_ADMIN_TOKEN;
			id->admin = true;
			strcpy(id->role, "admin");
			return 0;
		}
		return *why = "invalid token", -1;
	}
	if (cr->jwt_secret_len == 0)
		return *why = "invalid token", -1;
	if (jwt_verify_hs256(token, cr->jwt_secret, cr->jwt_secret_len, now, &want, &cl, &e) < 0) {
		*why = e.code == JWT_EEXPIRED ? "token expired" : e.code == JWT_EALG ? "token algorithm not accepted" :
		    e.code == JWT_ESIGNATURE ? "token signature invalid" : e.code == JWT_EAUDIENCE ?
		    "token audience not accepted" : e.code == JWT_EISSUER ? "token issuer not accepted" : "malformed token";
		return -1;
	}
	id->who = WHO_JWT;
	strcpy(id->user, cl.sub);
	strcpy(id->role, cl.role);
	id->admin = strcmp(cl.role, "admin") == 0;
	id->exp = cl.exp;
	return 0;
}
