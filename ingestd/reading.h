/* reading.h: one submitted meter reading: parse the JSON object, check the signature, validate the values. */
#ifndef INGESTD_READING_H
#define INGESTD_READING_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "amount.h"
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

/* One rejection: HTTP status, stable code, human message, the field concerned (or NULL). */
struct rdg_err {
	int status;
	const char *code;
	const char *field;
	char msg[160];
};

/* Value limits (from the TOKENIZATION_* keys). */
struct rdg_limits {
	uint64_t max_kwh_micro;
	int64_t max_age_us;
	int64_t max_skew_us;
};

/* Parses the fields of a reading object: 400 (or 422 for too many decimals) on failure. */
int rdg_parse(const cJSON *o, struct rdg *r, struct rdg_err *e);

/* A wallet_address in the body must be the meter's registered wallet (422 otherwise). */
int rdg_check_wallet(const struct rdg *r, const struct meter *m, struct rdg_err *e);

/* Verifies meter_signature over the canonical message with the meter's key. */
bool rdg_verify(const struct rdg *r, const struct meter *m);

/* Range checks after the signature: kWh > 0 and <= max, timestamp neither too old nor too far ahead (422). */
int rdg_validate(const struct rdg *r, const struct rdg_limits *lim, int64_t now_us, struct rdg_err *e);

/* Sets e and returns -1. */
int rdg_fail(struct rdg_err *e, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
