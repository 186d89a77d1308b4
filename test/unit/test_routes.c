/* test_routes.c: ingestd's route table (ingestd/routes.c) and admin tokens (ingestd/admintok.c). */
#include "t.h"

#include "ingestd/admintok.h"
#include "ingestd/routes.h"

#include <sodium.h>

TEST(routes_table)
{
	static const struct {
		const char *path;
		enum route rt;
		const char *param;
	} cases[] = {
		{ "/api/meters/submit-reading", RT_SUBMIT, NULL }, { "/api/meters/readings/batch", RT_BATCH, NULL },
		{ "/api/meters/readings/abc", RT_READING, "abc" }, { "/api/meters/readings/", RT_UNKNOWN, NULL },
		{ "/api/meters/readings/a/b", RT_UNKNOWN, NULL }, { "/api/admin/meters", RT_ADMIN_METERS, NULL },
		{ "/api/admin/meters/unminted", RT_ADMIN_UNMINTED, NULL }, { "/api/admin/meters/M-1", RT_ADMIN_METER, "M-1" },
		{ "/api/admin/readings/x/retry", RT_ADMIN_RETRY, "x" }, { "/api/admin/readings/x", RT_UNKNOWN, NULL },
		{ "/api/admin/tokenization/acknowledge-halt", RT_ADMIN_ACK_HALT, NULL }, { "/healthz", RT_HEALTHZ, NULL },
		{ "/healthz/", RT_UNKNOWN, NULL }, { "/", RT_UNKNOWN, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum route rt = route_of(cases[i].path);
		char param[16];
		bool has = route_param(rt, cases[i].path, param, sizeof(param));

		if (rt != cases[i].rt || has != (cases[i].param != NULL) || (has && strcmp(param, cases[i].param) != 0))
			t_fail(__FILE__, __LINE__, "%s: route %d param %s", cases[i].path, rt, has ? param : "-");
	}
	CHECK(!route_param(RT_READING, "/api/meters/readings/0123456789abcdef", (char[8]){ 0 }, 8)); /* too long */
	CHECK(route_allows(RT_READING, "GET") && route_allows(RT_READING, "HEAD") && !route_allows(RT_READING, "POST"));
	CHECK(route_allows(RT_ADMIN_METERS, "POST") && !route_allows(RT_ADMIN_METERS, "POS") && !route_allows(RT_SUBMIT, ""));
	CHECK_STR(route_allow(RT_ADMIN_METER), "GET, HEAD, PATCH");
	for (int rt = 0; rt < RT_COUNT; rt++) {
		if (route_allows((enum route)rt, "GET"))
			CHECK(route_allows((enum route)rt, "HEAD")); /* every GET route answers HEAD */
		CHECK(route_is_admin((enum route)rt) == (strncmp(route_name((enum route)rt), "admin_", 6) == 0));
	}
}

TEST(admintok_digests_and_bearer)
{
	uint8_t d1[32], d2[32];
	char h1[65], h2[65], list[200];
	struct admintok t;

	crypto_hash_sha256(d1, (const uint8_t *)"alpha", 5);
	crypto_hash_sha256(d2, (const uint8_t *)"beta", 4);
	sodium_bin2hex(h1, sizeof(h1), d1, 32);
	sodium_bin2hex(h2, sizeof(h2), d2, 32);
	snprintf(list, sizeof(list), " %s, %s ", h1, h2);
	h2[0] = h2[0] == 'a' ? 'A' : h2[0]; /* upper-case digits are hex too */
	CHECK(admintok_parse(list, &t) == 0 && t.n == 2);
	CHECK(admintok_ok(&t, "alpha", 5) && admintok_ok(&t, "beta", 4) && !admintok_ok(&t, "gamma", 5));
	CHECK(admintok_bearer_ok(&t, "Bearer beta") && admintok_bearer_ok(&t, "bearer alpha"));
	CHECK(!admintok_bearer_ok(&t, "Basic alpha") && !admintok_bearer_ok(&t, "Bearer ") && !admintok_bearer_ok(&t, NULL));
	CHECK(admintok_parse("", &t) == 0 && t.n == 0 && !admintok_ok(&t, "", 0));
	CHECK(admintok_parse("abc", &t) < 0 && t.n == 0);
	h1[10] = 'g';
	CHECK(admintok_parse(h1, &t) < 0);
}
