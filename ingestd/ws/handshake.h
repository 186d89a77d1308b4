/* handshake.h: the HTTP/1.1 upgrade request of GET /ws, and who the client is (JWT or admin token). */
#ifndef INGESTD_WS_HANDSHAKE_H
#define INGESTD_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admintok.h"
#include "apierr.h"
#include "jwt.h"

struct ws_upgrade {
	char key[32];
	char token[JWT_MAX_LEN + 1]; /* a secret: zero it after use */
	char since[48];
};

/*
 * Parses the upgrade request head[0..n) (the blank line that ends it may be included) into *u, with the
 * header parser of ingestd/httpparse.h; -1 with e (400, 401, 404, 405, 426) otherwise.
 */
int wsh_parse(const char *head, size_t n, struct ws_upgrade *u, struct apierr *e) WUR;

/* What a client may present, from the configuration (reloadable). */
struct ws_creds {
	bool auth_required;
	unsigned char *jwt_secret; /* a secret, jwt_secret_len bytes */
	size_t jwt_secret_len;
	struct admintok admin; /* ADMIN_TOKEN_SHA256 digests */
	char aud[256], iss[256]; /* JWT_AUDIENCE, JWT_ISSUER ("" not checked) */
};

enum ws_who { WHO_ANONYMOUS, WHO_ADMIN_TOKEN, WHO_JWT };

struct ws_ident {
	enum ws_who who;
	bool admin;     /* admin token, role "admin", or auth disabled and no token */
	char user[64];  /* JWT sub ("" for admin tokens and anonymous) */
	char role[32];
	int64_t exp;    /* JWT exp (seconds since the epoch); 0 when the credential does not expire */
};

/* Checks a token ("" for none) at `now` against creds; -1 with e (401; code token_expired for an expired JWT). */
int wsh_auth(const struct ws_creds *cr, const char *token, int64_t now, struct ws_ident *id, struct apierr *e) WUR;

#endif
