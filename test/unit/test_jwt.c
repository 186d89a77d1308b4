/* test_jwt.c: HS256 JWT verification: a published vector, alg pinning, signature, expiry, claims. */
#include "jwt.h"
#include "t.h"

#include <sodium.h>
#include <stdlib.h>

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef";
#define SLEN (sizeof(SECRET) - 1)
#define NOW 1700000000

TEST(jwt_sign_matches_published_vector)
{
	/* the jwt.io HS256 example: header {"alg":"HS256","typ":"JWT"}, secret "your-256-bit-secret" */
	char *t = jwt_sign_hs256("{\"sub\":\"1234567890\",\"name\":\"John Doe\",\"iat\":1516239022}",
	    (const unsigned char *)"your-256-bit-secret", 19);

	CHECK_STR(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0Ij"
	    "oxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
	free(t);
}

TEST(jwt_verify_good_and_claims)
{
	char *t = jwt_sign_hs256("{\"sub\":\"6F1D2C3B-0000-4000-8000-00000000000A\",\"role\":\"user\",\"exp\":1700000100}",
	    SECRET, SLEN);
	struct jwt_claims c;
	struct err e = { 0 };

	CHECK(jwt_verify_hs256(t, SECRET, SLEN, NOW, NULL, &c, &e) == 0);
	CHECK_STR(c.sub, "6f1d2c3b-0000-4000-8000-00000000000a");
	CHECK_STR(c.role, "user");
	CHECK_INT(c.exp, 1700000100);
	free(t);
}

static const struct {
	const char *name, *claims;
	int64_t now;
	int code;
} claim_cases[] = {
	{ "expired", "{\"sub\":\"u\",\"exp\":1700000000}", NOW, JWT_EEXPIRED },
	{ "no exp", "{\"sub\":\"u\"}", NOW, JWT_EMALFORMED },
	{ "exp string", "{\"sub\":\"u\",\"exp\":\"9999999999\"}", NOW, JWT_EMALFORMED },
	{ "nbf future", "{\"sub\":\"u\",\"exp\":1800000000,\"nbf\":1700000500}", NOW, JWT_ENOTYET },
	{ "no sub", "{\"exp\":1800000000}", NOW, JWT_EMALFORMED },
	{ "sub number", "{\"sub\":5,\"exp\":1800000000}", NOW, JWT_EMALFORMED },
	{ "role number", "{\"sub\":\"u\",\"role\":1,\"exp\":1800000000}", NOW, JWT_EMALFORMED },
	{ "payload array", "[1]", NOW, JWT_EMALFORMED },
};

TEST(jwt_claim_rejections)
{
	for (size_t i = 0; i < sizeof(claim_cases) / sizeof(claim_cases[0]); i++) {
		char *t = jwt_sign_hs256(claim_cases[i].claims, SECRET, SLEN);
		struct jwt_claims c;
		struct err e = { 0 };

		if (!CHECK(jwt_verify_hs256(t, SECRET, SLEN, claim_cases[i].now, NULL, &c, &e) < 0))
			t_fail(__FILE__, __LINE__, "case %s accepted", claim_cases[i].name);
		else if (e.code != claim_cases[i].code)
			t_fail(__FILE__, __LINE__, "case %s: code %d (%s)", claim_cases[i].name, e.code, e.msg);
		free(t);
	}
}

/* base64url without padding, for hand-built tokens */
static void
b64(const char *s, char *out, size_t cap)
{
	sodium_bin2base64(out, cap, (const unsigned char *)s, strlen(s), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

TEST(jwt_alg_confusion_and_signature)
{
	char h[128], p[128], tok[512];
	struct jwt_claims c;
	struct err e = { 0 };
	char *good = jwt_sign_hs256("{\"sub\":\"u\",\"exp\":1800000000}", SECRET, SLEN);
	const char *sig = strrchr(good, '.') + 1;
	static const char *algs[] = { "{\"alg\":\"none\"}", "{\"alg\":\"HS512\"}", "{\"alg\":\"RS256\"}",
		"{\"alg\":\"hs256\"}", "{\"typ\":\"JWT\"}" };

	b64("{\"sub\":\"u\",\"exp\":1800000000}", p, sizeof(p));
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		b64(algs[i], h, sizeof(h));
		snprintf(tok, sizeof(tok), "%s.%s.", h, p); /* alg none: empty signature */
		CHECK(jwt_verify_hs256(tok, SECRET, SLEN, NOW, NULL, &c, &e) < 0 && e.code == JWT_EALG);
		snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, sig);
		CHECK(jwt_verify_hs256(tok, SECRET, SLEN, NOW, NULL, &c, &e) < 0 && e.code == JWT_EALG);
	}
	CHECK(jwt_verify_hs256(good, (const unsigned char *)"another-secret-another-secret!!!", 32, NOW, NULL, &c, &e) < 0 &&
	    e.code == JWT_ESIGNATURE);
	/* a flipped payload byte keeps the signature from matching */
	snprintf(tok, sizeof(tok), "%s", good);
	tok[strchr(tok, '.') - tok + 3] ^= 1;
	CHECK(jwt_verify_hs256(tok, SECRET, SLEN, NOW, NULL, &c, &e) < 0);
	CHECK(jwt_verify_hs256("a.b", SECRET, SLEN, NOW, NULL, &c, &e) < 0 && e.code == JWT_EMALFORMED);
	CHECK(jwt_verify_hs256("a.b.c.d", SECRET, SLEN, NOW, NULL, &c, &e) < 0 && e.code == JWT_EMALFORMED);
	CHECK(jwt_verify_hs256("", SECRET, SLEN, NOW, NULL, &c, &e) < 0);
	{
		/*
		 * Errors never echo what they were given: tokens that carry the secret itself (as a segment, in a
		 * claim of a well-signed token whose other claims fail) get messages without it, nor the signature.
		 */
		char withsecret[3][512], *signed_tok, claims[256];
		const char *sigpart;

		snprintf(withsecret[0], sizeof(withsecret[0]), "%s.%s.%s", (const char *)SECRET, "e30", "e30");
		snprintf(withsecret[1], sizeof(withsecret[1]), "%.*s%s.x", (int)(strchr(good, '.') - good + 1), good,
		    (const char *)SECRET);
		snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"exp\":\"%s\"}", (const char *)SECRET, (const char *)SECRET);
		signed_tok = jwt_sign_hs256(claims, SECRET, SLEN);
		if (signed_tok == NULL || strlen(signed_tok) >= sizeof(withsecret[2])) {
			t_fail(__FILE__, __LINE__, "could not sign the test token");
			free(signed_tok);
			return;
		}
		memcpy(withsecret[2], signed_tok, strlen(signed_tok) + 1);
		sigpart = strrchr(signed_tok, '.') ? strrchr(signed_tok, '.') + 1 : "";
		for (int i = 0; i < 3; i++) {
			memset(&e, 0, sizeof(e));
			CHECK(jwt_verify_hs256(withsecret[i], SECRET, SLEN, NOW, NULL, &c, &e) < 0);
			CHECK(e.msg[0] != '\0');
			if (strstr(e.msg, (const char *)SECRET) != NULL || strstr(e.msg, sigpart) != NULL)
				t_fail(__FILE__, __LINE__, "token %d: the error \"%s\" repeats what it was given", i, e.msg);
		}
		free(signed_tok);
	}
	free(good);
}

static const struct {
	const char *name, *claims;
	int code; /* 0: accepted */
} expect_cases[] = {
	{ "aud string", "{\"sub\":\"u\",\"exp\":1800000000,\"aud\":\"gtx\",\"iss\":\"login\"}", 0 },
	{ "aud array", "{\"sub\":\"u\",\"exp\":1800000000,\"aud\":[\"x\",\"gtx\"],\"iss\":\"login\"}", 0 },
	{ "aud other", "{\"sub\":\"u\",\"exp\":1800000000,\"aud\":\"gtx2\",\"iss\":\"login\"}", JWT_EAUDIENCE },
	{ "aud array without", "{\"sub\":\"u\",\"exp\":1800000000,\"aud\":[\"x\",1],\"iss\":\"login\"}", JWT_EAUDIENCE },
	{ "aud missing", "{\"sub\":\"u\",\"exp\":1800000000,\"iss\":\"login\"}", JWT_EAUDIENCE },
	{ "iss other", "{\"sub\":\"u\",\"exp\":1800000000,\"aud\":\"gtx\",\"iss\":\"login2\"}", JWT_EISSUER },
	{ "iss missing", "{\"sub\":\"u\",\"exp\":1800000000,\"aud\":\"gtx\"}", JWT_EISSUER },
	{ "iss number", "{\"sub\":\"u\",\"exp\":1800000000,\"aud\":\"gtx\",\"iss\":7}", JWT_EISSUER },
};

TEST(jwt_expected_audience_and_issuer)
{
	const struct jwt_expect want = { "gtx", "login" }, none = { "", NULL };

	for (size_t i = 0; i < sizeof(expect_cases) / sizeof(expect_cases[0]); i++) {
		char *t = jwt_sign_hs256(expect_cases[i].claims, SECRET, SLEN);
		struct jwt_claims c;
		struct err e = { 0 };
		int rc = jwt_verify_hs256(t, SECRET, SLEN, NOW, &want, &c, &e);

		if (expect_cases[i].code == 0 ? rc != 0 : rc == 0 || e.code != expect_cases[i].code)
			t_fail(__FILE__, __LINE__, "case %s: rc %d code %d", expect_cases[i].name, rc, e.code);
		/* without expectations every one of them verifies */
		if (jwt_verify_hs256(t, SECRET, SLEN, NOW, &none, &c, &e) != 0)
			t_fail(__FILE__, __LINE__, "case %s refused without expectations", expect_cases[i].name);
		free(t);
	}
}
