/* jwt.c: HS256 JWT verification: base64url parts, alg pinning, constant-time HMAC check, exp/nbf, aud/iss. */
#include "jwt.h"
#include "json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
hmac(const unsigned char *secret, size_t secret_len, const char *msg, size_t len,
    unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/* Decodes one base64url part (no padding) into a NUL-terminated malloc'd buffer. */
static unsigned char *
b64url_dec(const char *s, size_t n, size_t *outlen)
{
	unsigned char *buf = malloc(n + 1);
	const char *end;

	if (buf == NULL)
		return NULL;
	if (sodium_base642bin(buf, n, s, n, NULL, outlen, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + n) {
		free(buf);
		return NULL;
	}
	buf[*outlen] = '\0';
	return buf;
}

static cJSON *
part_json(const char *s, size_t n)
{
	size_t len;
	unsigned char *raw = b64url_dec(s, n, &len);
	cJSON *j;

	if (raw == NULL)
		return NULL;
	/* strict: a claim given twice (which one would count?) or trailing bytes make no token */
	j = strlen((char *)raw) == len ? json_parse((const char *)raw, len, 8, NULL) : NULL;
	free(raw);
	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

/* A NumericDate claim as whole seconds; false when absent or not a sane number. */
static bool
num_claim(const cJSON *o, const char *name, int64_t *out, bool *present)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*present = v != NULL;
	if (v == NULL)
		return true;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1e15)
		return false;
	*out = (int64_t)v->valuedouble;
	return true;
}

/* RFC 7519 4.1.3: aud is one string or an array of strings; the expected one must be there. */
static bool
aud_has(const cJSON *aud, const char *want)
{
	const cJSON *it;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, want) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach(it, aud)
		if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
			return true;
	return false;
}

static int
check_expected(const cJSON *body, const struct jwt_expect *want, struct err *e)
{
	const cJSON *iss;

	if (want == NULL)
		return 0;
	if (want->aud != NULL && want->aud[0] != '\0' &&
	    !aud_has(cJSON_GetObjectItemCaseSensitive(body, "aud"), want->aud))
		return err_set(e, JWT_EAUDIENCE, "token audience is not accepted");
	iss = cJSON_GetObjectItemCaseSensitive(body, "iss");
	if (want->iss != NULL && want->iss[0] != '\0' && (!cJSON_IsString(iss) || strcmp(iss->valuestring, want->iss) != 0))
		return err_set(e, JWT_EISSUER, "token issuer is not accepted");
	return 0;
}

int
jwt_verify_hs256(const char *token, const unsigned char *secret, size_t secret_len, int64_t now,
    const struct jwt_expect *want, struct jwt_claims *out, struct err *e)
{
	const char *d1, *d2;
	unsigned char mac[crypto_auth_hmacsha256_BYTES], *sig = NULL;
	size_t tlen, siglen;
	cJSON *hdr = NULL, *body = NULL;
	const cJSON *alg, *sub, *role;
	int64_t exp = 0, nbf = 0;
	bool has_exp, has_nbf;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	tlen = strnlen(token, JWT_MAX_LEN + 1);
	if (tlen > JWT_MAX_LEN)
		return err_set(e, JWT_EMALFORMED, "token too long");
	d1 = strchr(token, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL || d1 == token || d2 == d1 + 1)
		return err_set(e, JWT_EMALFORMED, "token is not header.payload.signature");
	if ((hdr = part_json(token, (size_t)(d1 - token))) == NULL) {
		err_set(e, JWT_EMALFORMED, "token header is not base64url JSON");
		goto out;
	}
	/* Pin the algorithm: "none", HS384/512 and public-key algs are all refused. */
	alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0) {
		err_set(e, JWT_EALG, "token algorithm is not HS256");
		goto out;
	}
	if ((sig = b64url_dec(d2 + 1, tlen - (size_t)(d2 + 1 - token), &siglen)) == NULL || siglen != sizeof(mac)) {
		err_set(e, JWT_ESIGNATURE, "token signature is malformed");
		goto out;
	}
	hmac(secret, secret_len, token, (size_t)(d2 - token), mac);
	if (sodium_memcmp(mac, sig, sizeof(mac)) != 0) {
		err_set(e, JWT_ESIGNATURE, "token signature does not verify");
		goto out;
	}
	if ((body = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL) {
		err_set(e, JWT_EMALFORMED, "token payload is not base64url JSON");
		goto out;
	}
	if (!num_claim(body, "exp", &exp, &has_exp) || !has_exp || !num_claim(body, "nbf", &nbf, &has_nbf)) {
		err_set(e, JWT_EMALFORMED, "token exp is missing or not a number");
		goto out;
	}
	if (exp <= now) {
		err_set(e, JWT_EEXPIRED, "token expired");
		goto out;
	}
	if (has_nbf && nbf > now) {
		err_set(e, JWT_ENOTYET, "token not valid yet");
		goto out;
	}
	if (check_expected(body, want, e) < 0)
		goto out;
	sub = cJSON_GetObjectItemCaseSensitive(body, "sub");
	role = cJSON_GetObjectItemCaseSensitive(body, "role");
	if (!cJSON_IsString(sub) || sub->valuestring[0] == '\0' || strlen(sub->valuestring) >= sizeof(out->sub)) {
		err_set(e, JWT_EMALFORMED, "token sub is missing or too long");
		goto out;
	}
	if (role != NULL && (!cJSON_IsString(role) || strlen(role->valuestring) >= sizeof(out->role))) {
		err_set(e, JWT_EMALFORMED, "token role is not a short string");
		goto out;
	}
	for (size_t i = 0; sub->valuestring[i]; i++)
		out->sub[i] = (char)tolower((unsigned char)sub->valuestring[i]);
	if (role != NULL)
		strcpy(out->role, role->valuestring);
	out->exp = exp;
	rc = 0;
out:
	free(sig);
	cJSON_Delete(hdr);
	cJSON_Delete(body);
	return rc;
}

static char *
b64url_enc(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(cap);

	if (s != NULL)
		sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

char *
jwt_sign_hs256(const char *claims_json, const unsigned char *secret, size_t secret_len)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char *h = b64url_enc(hdr, sizeof(hdr) - 1), *b = b64url_enc(claims_json, strlen(claims_json));
	char *m = NULL, *s = NULL, *tok = NULL;
	size_t mlen;

	if (h == NULL || b == NULL)
		goto out;
	mlen = strlen(h) + 1 + strlen(b);
	if ((m = malloc(mlen + 1)) == NULL)
		goto out;
	snprintf(m, mlen + 1, "%s.%s", h, b);
	hmac(secret, secret_len, m, mlen, mac);
	if ((s = b64url_enc(mac, sizeof(mac))) == NULL || (tok = malloc(mlen + 2 + strlen(s))) == NULL)
		goto out;
	snprintf(tok, mlen + 2 + strlen(s), "%s.%s", m, s);
out:
	free(h);
	free(b);
	free(m);
	free(s);
	return tok;
}
