/* test_reading.c: ingestd's reading checks (ingestd/reading.c): parsing, the wallet, the signature, the ranges. */
#include "t.h"

#include "ingestd/reading.h"
#include "b58.h"
#include "json.h"

#include <sodium.h>
#include <stdio.h>

#define SIG64 "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBc6P77yrNWtYGk"

static struct rdg_limits lim = { 100000000, 7 * 86400000000LL, 300000000 }; /* 100 kWh, 7 days, 300 s */

static int
parse(const char *json, struct rdg *r, struct apierr *e)
{
	cJSON *o = json_parse(json, strlen(json), 16, NULL);
	int rc = rdg_parse(o, r, e);

	cJSON_Delete(o);
	return rc;
}

/* meter_signature over rdg_message's text, as ingestd checks it (in batches: common/edbatch.c, tested alone) */
static bool
verifies(const struct rdg *r, const struct meter *m)
{
	char msg[RDG_MSG_MAX];
	size_t n = rdg_message(r, m, msg, sizeof(msg));

	return n > 0 && crypto_sign_verify_detached(r->sig, (const unsigned char *)msg, n, m->pubkey) == 0;
}

TEST(reading_parse_table)
{
	static const struct {
		const char *json;
		int status;
		const char *code, *field;
	} cases[] = {
		{ "{\"meter_serial\":\"M-1\",\"kwh_amount\":\"1.5\",\"reading_timestamp\":\"2026-11-30T10:00:00Z\",\"meter_signature\":\"" SIG64 "\"}", 0, NULL, NULL },
		{ "{\"meter_serial\":\"M-1\",\"kwh_amount\":1.5,\"reading_timestamp\":\"2026-11-30T10:00:00+01:00\",\"meter_signature\":\"" SIG64 "\"}", 0, NULL, NULL },
		{ "[]", 400, "not_an_object", NULL },
		{ "{\"kwh_amount\":\"1\"}", 400, "missing_field", "meter_serial" },
		{ "{\"meter_serial\":7}", 400, "wrong_type", "meter_serial" },
		{ "{\"meter_serial\":\"-x\"}", 400, "invalid_meter_serial", "meter_serial" },
		{ "{\"meter_serial\":\"M\"}", 400, "missing_field", "kwh_amount" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":true}", 400, "wrong_type", "kwh_amount" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"1.2345678\"}", 422, "kwh_amount_too_precise", "kwh_amount" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"1e3\"}", 400, "invalid_kwh_amount", "kwh_amount" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"99999999999999999999\"}", 422, "kwh_amount_too_large", "kwh_amount" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"1\",\"reading_timestamp\":\"yesterday\"}", 400, "invalid_reading_timestamp",
		  "reading_timestamp" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"1\",\"reading_timestamp\":\"2026-11-30T10:00:00\"}", 400,
		  "invalid_reading_timestamp", "reading_timestamp" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"1\",\"reading_timestamp\":\"2026-11-30T10:00:00Z\",\"meter_signature\":\"abc\"}",
		  400, "invalid_meter_signature", "meter_signature" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"1\",\"reading_timestamp\":\"2026-11-30T10:00:00Z\",\"meter_signature\":\"" SIG64
		  "\",\"wallet_address\":\"0OIl\"}", 400, "invalid_wallet_address", "wallet_address" },
		{ "{\"meter_serial\":\"M\",\"kwh_amount\":\"1\",\"reading_timestamp\":\"2026-11-30T10:00:00Z\",\"meter_signature\":\"" SIG64
		  "\",\"wallet_address\":null}", 0, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rdg r;
		struct apierr e = { 0 };
		int st = parse(cases[i].json, &r, &e) < 0 ? e.status : 0;

		if (st != cases[i].status)
			t_fail(__FILE__, __LINE__, "case %zu: status %d (%s), want %d", i, st, e.msg, cases[i].status);
		else if (st != 0 && (strcmp(e.code, cases[i].code) != 0 || (e.field == NULL) != (cases[i].field == NULL) ||
		    (e.field && strcmp(e.field, cases[i].field) != 0)))
			t_fail(__FILE__, __LINE__, "case %zu: %s/%s, want %s/%s", i, e.code, e.field ? e.field : "-",
			    cases[i].code, cases[i].field ? cases[i].field : "-");
	}
}

TEST(reading_signature_wallet_and_ranges)
{
	uint8_t pk[32], sk[64], sig[64];
	char sig58[100], json[512], msg[256];
	struct meter m = { 0 };
	struct rdg r;
	struct apierr e;
	int64_t now;

	crypto_sign_keypair(pk, sk);
	memcpy(m.pubkey, pk, 32);
	snprintf(m.serial, sizeof(m.serial), "M-7");
	snprintf(m.wallet, sizeof(m.wallet), "9C6hybhQ6Aycep9jaUnP6uL9ZYvDjUp1aSkFWPUFJtpj");
	m.active = true;
	/* the platform's message: the timestamp exactly as sent, kWh with 6 decimals, the registered wallet */
	snprintf(msg, sizeof(msg), "GRIDTOKENX_METER_READING\nmeter_serial: M-7\ntimestamp: 2026-11-30T10:00:00.5+00:00\n"
	    "kwh_amount: 2.500000\nwallet: %s", m.wallet);
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, strlen(msg), sk);
	b58_encode(sig, 64, sig58, sizeof(sig58));
	snprintf(json, sizeof(json), "{\"meter_serial\":\"M-7\",\"kwh_amount\":\"2.5\",\"reading_timestamp\":"
	    "\"2026-11-30T10:00:00.5+00:00\",\"meter_signature\":\"%s\"}", sig58);
	if (!CHECK(parse(json, &r, &e) == 0))
		return;
	CHECK_STR(r.kwh_text, "2.500000");
	CHECK_U64(r.kwh_micro, 2500000);
	CHECK(verifies(&r, &m));
	CHECK(rdg_check_wallet(&r, &m, &e) == 0);
	now = r.ts_us + 60000000;
	CHECK(rdg_validate(&r, &lim, now, &e) == 0);
	/* another wallet in the body: refused before anything else */
	snprintf(r.wallet, sizeof(r.wallet), "11111111111111111111111111111111");
	CHECK(rdg_check_wallet(&r, &m, &e) < 0 && e.status == 422 && strcmp(e.code, "wallet_address_mismatch") == 0);
	r.wallet[0] = '\0';
	/* one changed byte of what was signed */
	r.kwh_text[0] = '3';
	CHECK(!verifies(&r, &m));
	r.kwh_text[0] = '2';
	/* ranges */
	CHECK(rdg_validate(&r, &lim, r.ts_us + lim.max_age_us + 1, &e) < 0 && strcmp(e.code, "reading_too_old") == 0);
	CHECK(rdg_validate(&r, &lim, r.ts_us - lim.max_skew_us - 1, &e) < 0 && strcmp(e.code, "reading_in_future") == 0);
	CHECK(rdg_validate(&r, &lim, r.ts_us - lim.max_skew_us, &e) == 0);
	r.kwh_micro = lim.max_kwh_micro + 1;
	CHECK(rdg_validate(&r, &lim, now, &e) < 0 && strcmp(e.code, "kwh_amount_too_large") == 0 && strstr(e.msg, "100 kWh"));
	r.kwh_micro = 0;
	CHECK(rdg_validate(&r, &lim, now, &e) < 0 && strcmp(e.code, "kwh_amount_not_positive") == 0);
	r.kwh_micro = 1;
	r.kwh_negative = true;
	CHECK(rdg_validate(&r, &lim, now, &e) < 0 && strcmp(e.code, "kwh_amount_not_positive") == 0);
}
