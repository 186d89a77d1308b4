/*
 * edverify.c: the CPU cost of one Ed25519 verification of a meter-reading message, for test/bench (FIGURE
 * denominators): libsodium's crypto_sign_verify_detached, one signature at a time. With -b N: the cost per
 * signature of common/edbatch.c checking N signatures by N keys at a time, the keys decoded beforehand, as
 * ingestd does (its meter cache holds them decoded). With -k K as well: the N signatures are by K keys in turn
 * (-k 1: one meter's backlog in one batch).
 * usage: edverify [ROUNDS] | edverify -b N [-k K]
 */
#include "edbatch.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The shape ingestd verifies (reading.c rdg_message), with a typical serial, timestamp and wallet; signature i
 * signs the minute and second i (one meter's readings are of different times).
 */
static const char msg_fmt[] = "GRIDTOKENX_METER_READING\nmeter_serial: BENCH-000123\n"
    "timestamp: 2025-06-01T12:%02d:%02d.123456Z\nkwh_amount: 1.234567\nwallet: 9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";

struct work {
	int n;    /* signatures */
	int keys; /* the keys that made them, in turn (n: each by its own) */
	unsigned char (*pk)[crypto_sign_PUBLICKEYBYTES];
	unsigned char (*sig)[crypto_sign_BYTES];
	char (*msg)[sizeof(msg_fmt) + 16]; /* the two numbers (00-59) take fewer characters than their %02d */
	struct edb_item *it;
	struct edb_key *key;
	bool *ok;
	struct edb_ws *ws;
	bool batch;
};

/* CPU time of this process (not wall time: a busy machine must not inflate it). */
static double
cpu_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Checks every signature of w once; false if one did not verify. */
static bool
round_ok(struct work *w)
{
	int bad = 0;

	if (w->batch)
		return edb_verify(w->ws, w->it, (size_t)w->n, w->ok) == w->n;
	for (int i = 0; i < w->n; i++)
		bad |= crypto_sign_verify_detached(w->sig[i], w->it[i].msg, w->it[i].len, w->pk[i]) != 0;
	return !bad;
}

static int
usage(void)
{
	fprintf(stderr, "usage: edverify [ROUNDS] | edverify -b N [-k K]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct work w = { 0 };
	unsigned char (*sk)[crypto_sign_SECRETKEYBYTES];
	long rounds;
	double best = 0;
	bool bad = false;

	w.batch = argc > 2 && strcmp(argv[1], "-b") == 0;
	w.n = w.batch ? atoi(argv[2]) : 1;
	w.keys = w.n;
	if (w.batch && argc == 5 && strcmp(argv[3], "-k") == 0)
		w.keys = atoi(argv[4]);
	else if (argc > (w.batch ? 3 : 2))
		return usage();
	rounds = w.batch ? 20000 / (w.n > 0 ? w.n : 1) + 1 : argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	if (sodium_init() < 0 || edb_init() < 0 || w.n <= 0 || w.n > 3600 || w.keys <= 0 || w.keys > w.n ||
	    rounds <= 0)
		return usage();
	w.pk = calloc((size_t)w.n, sizeof(*w.pk));
	w.sig = calloc((size_t)w.n, sizeof(*w.sig));
	w.msg = calloc((size_t)w.n, sizeof(*w.msg));
	w.it = calloc((size_t)w.n, sizeof(*w.it));
	w.ok = calloc((size_t)w.n, sizeof(*w.ok));
	w.key = calloc((size_t)w.n, sizeof(*w.key));
	sk = calloc((size_t)w.keys, sizeof(*sk));
	w.ws = edb_ws_new();
	if (w.pk == NULL || w.sig == NULL || w.msg == NULL || w.it == NULL || w.ok == NULL || w.key == NULL ||
	    sk == NULL || w.ws == NULL) {
		fprintf(stderr, "edverify: out of memory\n");
		return 2;
	}
	for (int i = 0; i < w.n; i++) {
		if (i < w.keys)
			crypto_sign_keypair(w.pk[i], sk[i]);
		else
			memcpy(w.pk[i], w.pk[i % w.keys], sizeof(w.pk[i]));
		snprintf(w.msg[i], sizeof(w.msg[i]), msg_fmt, i / 60, i % 60);
		edb_key_init(&w.key[i], w.pk[i]);
		w.it[i] = (struct edb_item){ w.sig[i], w.pk[i], (const unsigned char *)w.msg[i], strlen(w.msg[i]), &w.key[i] };
		crypto_sign_detached(w.sig[i], NULL, w.it[i].msg, w.it[i].len, sk[i % w.keys]);
	}
	/* the best of 5 runs: the cost on this CPU with the least interference from other work */
	for (int run = 0; run < 5; run++) {
		double t0 = cpu_us(), per;

		for (long r = 0; r < rounds; r++)
			bad |= !round_ok(&w);
		per = (cpu_us() - t0) / (double)(rounds * w.n);
		if (run == 0 || per < best)
			best = per;
	}
	if (bad) {
		fprintf(stderr, "edverify: a valid signature did not verify\n");
		return 1;
	}
	printf("%.2f\n", best);
	free(w.pk);
	free(w.sig);
	free(w.it);
	free(w.ok);
	free(w.msg);
	free(w.key);
	free(sk);
	edb_ws_free(w.ws);
	return 0;
}
