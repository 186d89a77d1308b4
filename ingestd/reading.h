/* reading.h: one submitted meter reading: parse the JSON object, check the signature, validate the values. */
#ifndef INGESTD_READING_H
#define INGESTD_READING_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "amount.h"
#include "apierr.h"
#include "meters.h"
#include "ts.h"

#define RDG_TS_MAX 64 /* longest reading_timestamp accepted, as sent */

struct rdg {
	char serial[METER_SERIAL_MAX + 1];
	uint64_t kwh_micro;      /* magnitude */
	bool kwh_negative;
	char kwh_text[AMT_KWH_BUFSZ + 1]; /* exactly 6 decimals, with '-' when negative: what the meter signs */
	char ts_sent[RDG_TS_MAX + 1];     /* reading_timestamp exactly as sent */
	int64_t ts_us;                    /* UTC microseconds */
	char sig_b58[96];
	uint8_t sig[64];
	char wallet[48];                  /* the body's wallet_address, or "" */
};

/* Value limits (from the TOKENIZATION_* keys). */
struct rdg_limits {
	uint64_t max_kwh_micro;
	int64_t max_age_us;
	int64_t max_skew_us;
};

/*
 * Parses the fields of a reading object (a json_parse tree: numbers keep their text) into *r, which holds
 * copies: o may be freed afterwards. 400 (or 422 for too many decimals) on failure.
 */
int rdg_parse(const cJSON *o, struct rdg *r, struct apierr *e) WUR;

/* A wallet_address in the body must be the meter's registered wallet (422 otherwise). */
int rdg_check_wallet(const struct rdg *r, const struct meter *m, struct apierr *e) WUR;

/*
 * The canonical message meter_signature signs, into msg (size bytes): its length, or 0 if it does not fit
 * (RDG_MSG_MAX always does: the fields' own limits bound it).
 */
enum { RDG_MSG_MAX = 512 };
size_t rdg_message(const struct rdg *r, const struct meter *m, char *msg, size_t size);

/* Range checks after the signature: kWh > 0 and <= max, timestamp neither too old nor too far ahead (422). */
int rdg_validate(const struct rdg *r, const struct rdg_limits *lim, int64_t now_us, struct apierr *e) WUR;

#endif
