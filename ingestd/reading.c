/* reading.c: parse, authenticate (Ed25519 over the platform's message) and validate one meter reading. */
#include "reading.h"
#include "b58.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

static int
get_string(const cJSON *o, const char *name, bool required, const char **out, struct apierr *e)
{
	const cJSON *v = json_get(o, name);

	*out = NULL;
	if (v == NULL || (!required && cJSON_IsNull(v)))
		return required ? apierr_set(e, 400, "missing_field", name, "%s is required", name) : 0;
	if (!cJSON_IsString(v))
		return apierr_set(e, 400, "wrong_type", name, "%s must be a string", name);
	*out = v->valuestring;
	return 0;
}

static int
parse_kwh(const cJSON *o, struct rdg *r, struct apierr *e)
{
	const cJSON *v = json_get(o, "kwh_amount");
	const char *s;
	struct err ae;
	size_t n;

	if (v == NULL)
		return apierr_set(e, 400, "missing_field", "kwh_amount", "kwh_amount is required");
	/* json_parse keeps the literal of a number in valuestring: both forms parse exactly. */
	if ((!cJSON_IsString(v) && !cJSON_IsNumber(v)) || v->valuestring == NULL)
		return apierr_set(e, 400, "wrong_type", "kwh_amount", "kwh_amount must be a decimal string or a number");
	s = v->valuestring;
	r->kwh_negative = s[0] == '-';
	if (r->kwh_negative)
		s++;
	n = strlen(s);
	if (amt_parse_kwh(s, n, &r->kwh_micro, &ae) < 0) {
		switch (ae.code) {
		case AMT_EPRECISION:
			return apierr_set(e, 422, "kwh_amount_too_precise", "kwh_amount", "kwh_amount has more than 6 decimals");
		case AMT_EOVERFLOW:
			return apierr_set(e, 422, "kwh_amount_too_large", "kwh_amount", "kwh_amount is out of range");
		default:
			return apierr_set(e, 400, "invalid_kwh_amount", "kwh_amount",
			    "kwh_amount must be a plain decimal (digits, optional '.' and up to 6 decimals)");
		}
	}
	r->kwh_text[0] = '-';
	if (amt_format_kwh(r->kwh_micro, r->kwh_text + r->kwh_negative, sizeof(r->kwh_text) - 1) == 0)
		return apierr_set(e, 422, "kwh_amount_too_large", "kwh_amount", "kwh_amount is out of range");
	return 0;
}

int
rdg_parse(const cJSON *o, struct rdg *r, struct apierr *e)
{
	const char *serial, *ts, *sig, *wallet;
	struct err te;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(o))
		return apierr_set(e, 400, "not_an_object", NULL, "a reading must be a JSON object");
	if (get_string(o, "meter_serial", true, &serial, e) < 0)
		return -1;
	if (!mc_serial_ok(serial))
		return apierr_set(e, 400, "invalid_meter_serial", "meter_serial",
		    "meter_serial must be 1-64 characters of [A-Za-z0-9._:-] starting with a letter or digit");
	strcpy(r->serial, serial);
	if (parse_kwh(o, r, e) < 0)
		return -1;
	if (get_string(o, "reading_timestamp", true, &ts, e) < 0)
		return -1;
	n = strlen(ts);
	if (n > RDG_TS_MAX || ts_parse_rfc3339(ts, n, &r->ts_us, &te) < 0)
		return apierr_set(e, 400, "invalid_reading_timestamp", "reading_timestamp",
		    "reading_timestamp must be an RFC 3339 date-time with an offset");
	memcpy(r->ts_sent, ts, n + 1);
	if (get_string(o, "meter_signature", true, &sig, e) < 0)
		return -1;
	n = strlen(sig);
	if (n >= sizeof(r->sig_b58) || b58_decode_exact(sig, n, r->sig, 64, NULL) < 0)
		return apierr_set(e, 400, "invalid_meter_signature", "meter_signature",
		    "meter_signature must be a base58 Ed25519 signature (64 bytes)");
	memcpy(r->sig_b58, sig, n + 1);
	if (get_string(o, "wallet_address", false, &wallet, e) < 0)
		return -1;
	if (wallet != NULL) {
		uint8_t pk[32];

		n = strlen(wallet);
		if (n >= sizeof(r->wallet) || b58_decode_exact(wallet, n, pk, 32, NULL) < 0)
			return apierr_set(e, 400, "invalid_wallet_address", "wallet_address",
			    "wallet_address must be a base58 Solana address");
		memcpy(r->wallet, wallet, n + 1);
	}
	return 0;
}

int
rdg_check_wallet(const struct rdg *r, const struct meter *m, struct apierr *e)
{
	if (r->wallet[0] != '\0' && strcmp(r->wallet, m->wallet) != 0)
		return apierr_set(e, 422, "wallet_address_mismatch", "wallet_address",
		    "wallet_address differs from the meter's registered wallet (tokens only go to the registered wallet)");
	return 0;
}

size_t
rdg_message(const struct rdg *r, const struct meter *m, char *msg, size_t size)
{
	/* The platform's message, with the timestamp exactly as sent and kWh with 6 decimals. */
	const char *part[] = { "GRIDTOKENX_METER_READING\nmeter_serial: ", r->serial, "\ntimestamp: ", r->ts_sent,
		"\nkwh_amount: ", r->kwh_text, "\nwallet: ", m->wallet };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		size_t len = strlen(part[i]);

		if (len >= size - n)
			return 0;
		memcpy(msg + n, part[i], len);
		n += len;
	}
	return n;
}

int
rdg_validate(const struct rdg *r, const struct rdg_limits *lim, int64_t now, struct apierr *e)
{
	if (r->kwh_negative || r->kwh_micro == 0)
		return apierr_set(e, 422, "kwh_amount_not_positive", "kwh_amount", "kwh_amount must be greater than 0");
	if (r->kwh_micro > lim->max_kwh_micro) {
		char max[AMT_KWH_BUFSZ];

		amt_format_kwh_trim(lim->max_kwh_micro, max, sizeof(max));
		return apierr_set(e, 422, "kwh_amount_too_large", "kwh_amount", "kwh_amount exceeds the maximum of %s kWh per reading", max);
	}
	if (r->ts_us < now - lim->max_age_us)
		return apierr_set(e, 422, "reading_too_old", "reading_timestamp", "reading_timestamp is older than %lld days",
		    (long long)(lim->max_age_us / 86400000000LL));
	if (r->ts_us > now + lim->max_skew_us)
		return apierr_set(e, 422, "reading_in_future", "reading_timestamp",
		    "reading_timestamp is more than %lld seconds in the future", (long long)(lim->max_skew_us / 1000000));
	return 0;
}
