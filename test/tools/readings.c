/* readings.c: pre-signed meter readings for load tests (wrk bodies, batch bodies, the same rows as SQL). */
#include "amount.h"
#include "b58.h"
#include "ts.h"

#include <inttypes.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOT_US (16 * 60 * 1000000LL) /* a full duplicate window (15 min) plus a minute apart */

struct meter {
	char serial[32];
	uint8_t pk[32], sk[64];
	char pub[B58_PUBKEY_SZ], wallet[B58_PUBKEY_SZ];
};

struct rd {
	const struct meter *m;
	uint64_t micro;
	char kwh[AMT_KWH_BUFSZ];
	char ts[TS_BUFSZ];
	int64_t us;
	char sig[B58_SIG_SZ];
};

static void
usage(void)
{
	fprintf(stderr, "usage: readings -o DIR [-s SINGLE] [-b BATCH_READINGS] [-k PER_BATCH] [-r PER_METER] [-p PREFIX] [-m]\n"
	    "  writes DIR/meters.sql (the meters), DIR/single.txt (one signed body per line), DIR/batch.txt\n"
	    "  ({\"readings\":[...]} per line, other meters) and DIR/rows.sql (the batch rows as multi-row INSERTs\n"
	    "  into bench_readings). Timestamps lie in the last 6 days, a duplicate window apart per meter.\n"
	    "  -m: the batch readings meter by meter (each meter's PER_METER readings in a row: backlogs), not\n"
	    "  one reading of each meter in turn.\n");
	exit(2);
}

static struct meter *
make_meters(int n, const char *prefix, int first)
{
	struct meter *ms = calloc((size_t)n, sizeof(*ms));
	uint8_t w[32];

	if (ms == NULL)
		exit(1);
	for (int i = 0; i < n; i++) {
		snprintf(ms[i].serial, sizeof(ms[i].serial), "%s%07d", prefix, first + i);
		crypto_sign_keypair(ms[i].pk, ms[i].sk);
		b58_encode(ms[i].pk, 32, ms[i].pub, sizeof(ms[i].pub));
		randombytes_buf(w, 32);
		b58_encode(w, 32, ms[i].wallet, sizeof(ms[i].wallet));
	}
	return ms;
}

static void
make_reading(struct rd *r, const struct meter *m, int slot, int64_t base_us)
{
	char msg[512];
	uint8_t sig[64];
	int n;

	r->m = m;
	r->micro = 100000 + randombytes_uniform(4900001);
	amt_format_kwh(r->micro, r->kwh, sizeof(r->kwh));
	r->us = base_us + slot * SLOT_US;
	ts_format_utc(r->us, r->ts, sizeof(r->ts));
	n = snprintf(msg, sizeof(msg), "GRIDTOKENX_METER_READING\nmeter_serial: %s\ntimestamp: %s\nkwh_amount: %s\nwallet: %s",
	    m->serial, r->ts, r->kwh, m->wallet);
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, (unsigned long long)n, m->sk);
	b58_encode(sig, 64, r->sig, sizeof(r->sig));
}

static void
put_body(FILE *f, const struct rd *r)
{
	fprintf(f, "{\"meter_serial\":\"%s\",\"kwh_amount\":\"%s\",\"reading_timestamp\":\"%s\",\"meter_signature\":\"%s\"}",
	    r->m->serial, r->kwh, r->ts, r->sig);
}

static FILE *
open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	return f;
}

static void
put_meters(FILE *f, const struct meter *ms, int n)
{
	char hex[65];

	for (int i = 0; i < n; i++) {
		sodium_bin2hex(hex, sizeof(hex), ms[i].pk, 32);
		fprintf(f, "%s('%s', decode('%s', 'hex'), '%s')", i % 500 == 0 ?
		    "INSERT INTO meters (meter_serial, public_key, wallet_address) VALUES " : ",", ms[i].serial, hex, ms[i].wallet);
		if (i % 500 == 499 || i == n - 1)
			fprintf(f, ";\n");
	}
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *prefix = "BENCH";
	long single = 200000, batch = 200000, per_batch = 1000, per_meter = 300;
	int ch, nm1, nm2;
	bool backlogs = false;
	int64_t base;
	struct meter *m1, *m2;
	struct amt_ratio ratio = { 1, 0 };
	FILE *f, *rows;

	while ((ch = getopt(argc, argv, "o:s:b:k:r:p:m")) != -1) {
		switch (ch) {
		case 'o': dir = optarg; break;
		case 's': single = atol(optarg); break;
		case 'b': batch = atol(optarg); break;
		case 'k': per_batch = atol(optarg); break;
		case 'r': per_meter = atol(optarg); break;
		case 'p': prefix = optarg; break;
		case 'm': backlogs = true; break;
		default: usage();
		}
	}
	if (dir == NULL || single < 0 || batch < 0 || per_batch < 1 || per_meter < 1 || per_meter > 500 || sodium_init() < 0)
		usage();
	nm1 = (int)((single + per_meter - 1) / per_meter);
	nm2 = (int)((batch + per_meter - 1) / per_meter);
	m1 = make_meters(nm1, prefix, 0);
	m2 = make_meters(nm2, prefix, nm1);
	base = ts_now_us() - 6LL * 86400 * 1000000;
	f = open_out(dir, "meters.sql");
	put_meters(f, m1, nm1);
	put_meters(f, m2, nm2);
	fclose(f);
	/* Slot-major order: consecutive requests come from different meters. */
	f = open_out(dir, "single.txt");
	for (long k = 0; k < single; k++) {
		struct rd r;

		make_reading(&r, &m1[k % nm1], (int)(k / nm1), base);
		put_body(f, &r);
		fputc('\n', f);
	}
	fclose(f);
	f = open_out(dir, "batch.txt");
	rows = open_out(dir, "rows.sql");
	for (long k = 0; k < batch; k++) {
		struct rd r;
		uint64_t tokens;
		char window[64];

		if (backlogs)
			make_reading(&r, &m2[k / per_meter], (int)(k % per_meter), base);
		else
			make_reading(&r, &m2[k % nm2], (int)(k / nm2), base);
		fputs(k % per_batch == 0 ? "{\"readings\":[" : ",", f);
		put_body(f, &r);
		if (k % per_batch == per_batch - 1 || k == batch - 1)
			fputs("]}\n", f);
		if (amt_kwh_to_base_units(r.micro, &ratio, 9, &tokens, NULL) < 0)
			return 1;
		snprintf(window, sizeof(window), "[%" PRId64 ",%" PRId64 ")", r.us, r.us + (int64_t)900 * 1000000);
		fprintf(rows, "%s('%08lx-0000-4000-8000-%012lx', '%s', NULL, '%s', %" PRIu64 ", %" PRIu64 ", '%s', %" PRId64
		    ", '%s', '%s')", k % per_batch == 0 ? "INSERT INTO bench_readings (id, meter_serial, meter_id, user_id, "
		    "wallet_address, kwh_micro, token_amount, reading_timestamp, reading_us, dup_window, meter_signature) "
		    "SELECT v.id::uuid, v.serial, m.id, v.uid::uuid, v.wallet, v.kwh, v.tok, v.ts::timestamptz, v.us, "
		    "v.dw::int8range, v.sig FROM (VALUES " : ",",
		    (unsigned long)(k >> 32), (unsigned long)k, r.m->serial, r.m->wallet, r.micro, tokens, r.ts, r.us, window, r.sig);
		if (k % per_batch == per_batch - 1 || k == batch - 1)
			fputs(") AS v(id, serial, uid, wallet, kwh, tok, ts, us, dw, sig) "
			    "JOIN meters m ON m.meter_serial = v.serial ON CONFLICT DO NOTHING;\n", rows);
	}
	fclose(f);
	fclose(rows);
	for (int i = 0; i < nm1; i++)
		sodium_memzero(m1[i].sk, 64);
	for (int i = 0; i < nm2; i++)
		sodium_memzero(m2[i].sk, 64);
	free(m1);
	free(m2);
	printf("meters %d+%d, single bodies %ld, batch readings %ld in bodies of %ld\n", nm1, nm2, single, batch, per_batch);
	return 0;
}
