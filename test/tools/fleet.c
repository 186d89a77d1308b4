/* fleet.c: a fleet of simulated smart meters that sign readings, post them to ingestd and keep a ledger. */
#include "amount.h"
#include "b58.h"
#include "backoff.h"
#include "keypair.h"
#include "pubkey.h"
#include "ts.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEC_US 1000000LL
#define SLOT_US (900 * SEC_US)          /* a meter reads every 15 minutes of its clock */
#define DAY_US (86400 * SEC_US)
#define MAX_AGE_US (7 * DAY_US)         /* ingestd refuses readings older than 7 days */
#define START_AGE_US (6 * DAY_US)       /* default start: 6 days back, inside that window */
#define STOP_GRACE_MS 15000             /* after a stop request, retries may go on this long */
#define HTTP_TIMEOUT_MS 10000L
#define MIN_KWH_MICRO 100000u           /* readings are 0.1 .. 5 kWh, exact to the micro-kWh */
#define SPAN_KWH_MICRO 4900001u

enum mstate {
	M_IDLE,     /* waiting for due_ms to build the next reading */
	M_INFLIGHT, /* its request is in the curl multi handle */
	M_BACKOFF,  /* the last attempt failed transiently; resend the same body at due_ms */
};

struct buf {
	char *p;
	size_t n;
};

struct meter {
	char serial[64];
	struct kp *key;
	char pub[B58_PUBKEY_SZ];
	char wallet[B58_PUBKEY_SZ];
	int64_t clock_us; /* reading_timestamp of the next reading */
	enum mstate state;
	int64_t due_ms;   /* monotonic */
	CURL *h;
	char *body;       /* the signed body in flight: identical on every retry, so a retry is a replay */
	uint64_t cur_micro;
	char cur_ts[TS_BUFSZ];
	bool uncertain;   /* some attempt may have reached ingestd without us seeing the answer */
	struct buf resp;
	struct backoff bo;
	/* ledger of accepted readings */
	uint64_t readings, micro_kwh, tokens;
};

struct stats {
	uint64_t sent, attempts, created, replayed, rejected, retries, in_doubt, abandoned, too_old_skips;
	uint64_t by_status[600];
	uint64_t transport_errors;
};

static volatile sig_atomic_t g_signals;
static struct stats st;
static struct meter *meters;
static int nmeters = 50;
static struct curl_slist *json_hdrs;
static struct amt_ratio ratio = { 1, 0 };
static unsigned decimals = 9;
static FILE *ledger;

static void
on_signal(int sig)
{
	(void)sig;
	g_signals++;
}

static void PRINTF(1, 2)
say(const char *fmt, ...)
{
	va_list ap;

	fputs("fleet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int64_t
mono_ms(void)
{
	return ts_mono_us() / 1000;
}

static size_t
on_body(char *data, size_t sz, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = sz * nmemb;
	char *p;

	if (b->n + n > 1 << 20)
		return 0; /* a response this large is not ingestd's */
	if ((p = realloc(b->p, b->n + n + 1)) == NULL)
		return 0;
	memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* ---- keys and clocks in the key directory ---- */

/* Loads DIR/NAME (a 0600 keypair file), creating it with a fresh key if it does not exist. */
static struct kp *
key_load_or_create(const char *dir, const char *name)
{
	char path[4096];
	struct err e;
	struct kp *k;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (access(path, F_OK) == 0) {
		if (kp_check_file_mode(path, &e) != 0 || (k = kp_load_file(path, &e)) == NULL) {
			say("%s", e.msg);
			exit(1);
		}
		return k;
	}
	if ((k = kp_generate()) == NULL) {
		say("out of guarded memory");
		exit(1);
	}
	if (kp_write_file(path, k, &e) != 0) {
		say("%s", e.msg);
		exit(1);
	}
	return k;
}

/* The saved clock (next reading_timestamp) of a meter from an earlier run, or `dflt`. */
static int64_t
clock_load(const char *dir, const char *serial, int64_t dflt)
{
	char path[4096], line[64] = "";
	int64_t us;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.clock", dir, serial);
	if ((f = fopen(path, "r")) == NULL)
		return dflt;
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (ts_parse_rfc3339(line, strlen(line), &us, NULL) != 0)
		return dflt;
	return us > dflt ? us : dflt;
}

/* Replaces `path` with `text` atomically (write a temporary file, rename it over). */
static void
write_atomic(const char *path, const char *text)
{
	char tmp[4200];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		say("cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0)
		say("cannot write %s: %s", path, strerror(errno));
}

static void
clock_save(const char *dir, const struct meter *m)
{
	char path[4096], ts[TS_BUFSZ + 1];
	size_t n = ts_format_utc(m->clock_us, ts, sizeof ts - 1);

	ts[n] = '\n';
	ts[n + 1] = '\0';
	snprintf(path, sizeof path, "%s/%s.clock", dir, m->serial);
	write_atomic(path, ts);
}

/* ---- JSON helpers ---- */

/* The digits of a top-level "key": 123 or "key": "123" in a JSON text (exact, no double). */
static int
json_u64(const cJSON *root, const char *text, const char *key, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	const char *s;
	char pat[64], *end;

	if (cJSON_IsString(v)) {
		s = v->valuestring;
	} else if (cJSON_IsNumber(v)) {
		snprintf(pat, sizeof pat, "\"%s\"", key);
		if ((s = strstr(text, pat)) == NULL)
			return -1;
		s += strlen(pat);
		s += strspn(s, " \t\r\n:");
	} else {
		return -1;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || (cJSON_IsString(v) && *end != '\0'))
		return -1;
	return 0;
}

static void
add_u64(cJSON *o, const char *key, uint64_t v)
{
	char b[AMT_U64_BUFSZ];

	amt_format_base_units(v, b, sizeof b);
	cJSON_AddStringToObject(o, key, b);
}

/* The totals (per wallet, exact amounts as strings) as a JSON text; caller frees. */
static char *
totals_json(void)
{
	cJSON *root = cJSON_CreateObject(), *w = cJSON_CreateObject(), *codes = cJSON_CreateObject();
	uint64_t accepted = 0, micro = 0, tokens = 0;
	int inflight = 0, backoff = 0, caught_up = 0;
	int64_t now = ts_now_us();
	char b[AMT_KWH_BUFSZ];
	char *text;

	for (int i = 0; i < nmeters; i++) {
		struct meter *m = &meters[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "meter_serial", m->serial);
		cJSON_AddNumberToObject(o, "readings", (double)m->readings);
		add_u64(o, "micro_kwh", m->micro_kwh);
		amt_format_kwh(m->micro_kwh, b, sizeof b);
		cJSON_AddStringToObject(o, "kwh", b);
		add_u64(o, "token_amount", m->tokens);
		cJSON_AddItemToObject(w, m->wallet, o);
		accepted += m->readings;
		micro += m->micro_kwh;
		tokens += m->tokens;
		inflight += m->state == M_INFLIGHT;
		backoff += m->state == M_BACKOFF;
		caught_up += m->clock_us > now;
	}
	for (unsigned c = 0; c < 600; c++) {
		if (st.by_status[c] != 0) {
			char k[12];

			snprintf(k, sizeof k, "%u", c);
			cJSON_AddNumberToObject(codes, k, (double)st.by_status[c]);
		}
	}
	cJSON_AddNumberToObject(root, "meters", nmeters);
	cJSON_AddNumberToObject(root, "sent", (double)st.sent);
	cJSON_AddNumberToObject(root, "attempts", (double)st.attempts);
	cJSON_AddNumberToObject(root, "accepted", (double)accepted);
	cJSON_AddNumberToObject(root, "created", (double)st.created);
	cJSON_AddNumberToObject(root, "replayed", (double)st.replayed);
	cJSON_AddNumberToObject(root, "rejected", (double)st.rejected);
	cJSON_AddNumberToObject(root, "retries", (double)st.retries);
	cJSON_AddNumberToObject(root, "transport_errors", (double)st.transport_errors);
	cJSON_AddNumberToObject(root, "in_doubt", (double)st.in_doubt);
	cJSON_AddNumberToObject(root, "abandoned", (double)st.abandoned);
	cJSON_AddNumberToObject(root, "too_old_skips", (double)st.too_old_skips);
	cJSON_AddNumberToObject(root, "in_flight", inflight);
	cJSON_AddNumberToObject(root, "backing_off", backoff);
	cJSON_AddNumberToObject(root, "meters_at_real_time", caught_up);
	add_u64(root, "micro_kwh", micro);
	amt_format_kwh(micro, b, sizeof b);
	cJSON_AddStringToObject(root, "kwh", b);
	add_u64(root, "token_amount", tokens);
	cJSON_AddItemToObject(root, "http_status", codes);
	cJSON_AddItemToObject(root, "wallets", w);
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (text == NULL)
		xoom();
	return text;
}

/* Replaces `path` atomically with the current totals. */
static void
totals_write(const char *path)
{
	char *text = totals_json();

	write_atomic(path, text);
	free(text);
	if (ledger != NULL)
		fflush(ledger);
}

/* ---- registration (admin API) ---- */

/* Registers every meter; 201 and 409 (already registered) are fine. Transient failures are retried for a minute. */
static int
register_meters(const char *base, const char *admin_token)
{
	char url[2048], auth[1024], body[512];
	struct curl_slist *h = NULL;
	struct buf resp = { 0 };
	int created = 0, existed = 0, rc = 0;
	CURL *c = curl_easy_init();

	if (c == NULL)
		xoom();
	snprintf(url, sizeof url, "%s/api/admin/meters", base);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", admin_token);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	for (int i = 0; i < nmeters && g_signals == 0; i++) {
		struct meter *m = &meters[i];
		int64_t give_up = mono_ms() + 60000;
		struct backoff bo;
		long code = 0;

		backoff_init(&bo, 200, 5000);
		snprintf(body, sizeof body, "{\"meter_serial\":\"%s\",\"public_key\":\"%s\",\"wallet_address\":\"%s\"}",
		    m->serial, m->pub, m->wallet);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		for (;;) {
			CURLcode r;

			resp.n = 0;
			r = curl_easy_perform(c);
			code = 0;
			if (r == CURLE_OK)
				curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			if (code == 201 || code == 200 || code == 409)
				break;
			if ((r == CURLE_OK && code < 500 && code != 429 && code != 408) || mono_ms() > give_up ||
			    g_signals != 0) {
				say("registering %s failed: %s", m->serial,
				    r != CURLE_OK ? curl_easy_strerror(r) : resp.n ? resp.p : "(empty response)");
				rc = -1;
				goto out;
			}
			usleep(backoff_next(&bo) * 1000u);
		}
		if (code == 409)
			existed++;
		else
			created++;
	}
	say("registered %d meters (%d new, %d already registered)", created + existed, created, existed);
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(resp.p);
	return g_signals != 0 ? -1 : rc;
}

/* ---- readings ---- */

/* Builds and signs the meter's next reading into m->body. */
static void
reading_build(struct meter *m)
{
	char kwh[AMT_KWH_BUFSZ], msg[512], b58sig[B58_SIG_SZ];
	uint8_t sig[64];
	int n;

	m->cur_micro = MIN_KWH_MICRO + randombytes_uniform(SPAN_KWH_MICRO);
	amt_format_kwh(m->cur_micro, kwh, sizeof kwh);
	ts_format_utc(m->clock_us, m->cur_ts, sizeof m->cur_ts);
	n = snprintf(msg, sizeof msg,
	    "GRIDTOKENX_METER_READING\nmeter_serial: %s\ntimestamp: %s\nkwh_amount: %s\nwallet: %s",
	    m->serial, m->cur_ts, kwh, m->wallet);
	if (kp_sign(m->key, (const uint8_t *)msg, (size_t)n, sig) != 0) {
		say("cannot unlock the key of %s", m->serial);
		exit(1);
	}
	b58_encode(sig, sizeof sig, b58sig, sizeof b58sig);
	free(m->body);
	if (asprintf(&m->body,
	    "{\"meter_serial\":\"%s\",\"kwh_amount\":\"%s\",\"reading_timestamp\":\"%s\",\"meter_signature\":\"%s\"}",
	    m->serial, kwh, m->cur_ts, b58sig) < 0)
		xoom();
	m->uncertain = false;
	backoff_reset(&m->bo);
}

static void
reading_send(CURLM *multi, struct meter *m)
{
	m->resp.n = 0;
	curl_easy_setopt(m->h, CURLOPT_POSTFIELDS, m->body);
	if (curl_multi_add_handle(multi, m->h) != CURLM_OK) {
		say("curl_multi_add_handle failed");
		exit(1);
	}
	m->state = M_INFLIGHT;
	st.attempts++;
}

/* The reading is settled (accepted or rejected): move the meter's clock and schedule the next one. */
static void
reading_done(struct meter *m, int64_t interval_ms)
{
	int64_t now = mono_ms();

	free(m->body);
	m->body = NULL;
	m->state = M_IDLE;
	m->clock_us += SLOT_US;
	m->due_ms += interval_ms;
	if (m->due_ms < now)
		m->due_ms = now;
}

static void
reading_accepted(struct meter *m, long code)
{
	cJSON *root = m->resp.p != NULL ? cJSON_Parse(m->resp.p) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
	uint64_t tokens = 0, computed = 0;
	static bool warned;
	struct err e;

	if (amt_kwh_to_base_units(m->cur_micro, &ratio, decimals, &computed, &e) != 0) {
		say("cannot convert %" PRIu64 " micro-kWh: %s", m->cur_micro, e.msg);
		exit(1);
	}
	if (root == NULL || json_u64(root, m->resp.p, "token_amount", &tokens) != 0) {
		if (!warned)
			say("responses carry no exact token_amount; the ledger computes base units (ratio -R, %u decimals)",
			    decimals);
		warned = true;
		tokens = computed;
	} else if (tokens != computed && !warned) {
		say("ingestd says %" PRIu64 " base units for %" PRIu64 " micro-kWh, we compute %" PRIu64
		    " (check -R/-D); the ledger keeps ingestd's figure", tokens, m->cur_micro, computed);
		warned = true;
	}
	m->readings++;
	m->micro_kwh += m->cur_micro;
	m->tokens += tokens;
	if (code == 201)
		st.created++;
	else
		st.replayed++;
	if (ledger != NULL) {
		char kwh[AMT_KWH_BUFSZ];

		amt_format_kwh(m->cur_micro, kwh, sizeof kwh);
		fprintf(ledger,
		    "{\"id\":\"%s\",\"meter_serial\":\"%s\",\"wallet\":\"%s\",\"reading_timestamp\":\"%s\","
		    "\"kwh_amount\":\"%s\",\"token_amount\":\"%" PRIu64 "\",\"http_status\":%ld}\n",
		    cJSON_IsString(id) ? id->valuestring : "", m->serial, m->wallet, m->cur_ts, kwh, tokens, code);
	}
	cJSON_Delete(root);
}

static void
reading_rejected(struct meter *m, long code)
{
	cJSON *root = m->resp.p != NULL ? cJSON_Parse(m->resp.p) : NULL;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *ecode = cJSON_GetObjectItemCaseSensitive(err, "code");
	const cJSON *emsg = cJSON_GetObjectItemCaseSensitive(err, "message");

	st.rejected++;
	/* The first few of each status, so a misconfiguration shows without flooding the log. */
	if (st.by_status[code] <= 3)
		say("%s %s rejected: HTTP %ld %s %s", m->serial, m->cur_ts, code,
		    cJSON_IsString(ecode) ? ecode->valuestring : "",
		    cJSON_IsString(emsg) ? emsg->valuestring : (m->resp.p ? m->resp.p : ""));
	cJSON_Delete(root);
}

/* A request finished: settle the reading or schedule a resend of the same body. */
static void
reading_finished(struct meter *m, CURLcode r, int64_t interval_ms)
{
	long code = 0;
	curl_off_t retry_after = 0;
	int64_t delay;

	if (r == CURLE_OK) {
		curl_easy_getinfo(m->h, CURLINFO_RESPONSE_CODE, &code);
		if (code < 100 || code >= 600)
			code = 0;
		st.by_status[code]++;
	} else {
		st.transport_errors++;
		/* Refused connections never reached ingestd; anything later may have. */
		if (r != CURLE_COULDNT_CONNECT && r != CURLE_COULDNT_RESOLVE_HOST)
			m->uncertain = true;
		if (st.transport_errors <= 3)
			say("%s: %s (will retry)", m->serial, curl_easy_strerror(r));
	}
	if (code == 200 || code == 201) {
		reading_accepted(m, code);
		reading_done(m, interval_ms);
		return;
	}
	if (code != 0 && code < 500 && code != 429 && code != 408) {
		reading_rejected(m, code);
		reading_done(m, interval_ms);
		return;
	}
	/* Timeout, connection trouble, 5xx, 429, 408: resend the identical signed body later. */
	if (code >= 500 && st.by_status[code] <= 3)
		say("%s %s: HTTP %ld %s (will retry)", m->serial, m->cur_ts, code, m->resp.p ? m->resp.p : "");
	st.retries++;
	delay = backoff_next(&m->bo);
	if (code != 0 && curl_easy_getinfo(m->h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
	    retry_after > 0 && retry_after * 1000 > delay)
		delay = retry_after > 3600 ? 3600000 : retry_after * 1000;
	m->state = M_BACKOFF;
	m->due_ms = mono_ms() + delay;
}

/* ---- the fleet ---- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fleet -u INGESTD_URL [-a ADMIN_TOKEN] [-n METERS] [-i INTERVAL_MS] [-k KEYDIR] [-r]\n"
	    "             [-d SECONDS] [-s START] [-p PREFIX] [-c CONCURRENCY] [-o STATUS.json] [-l LEDGER.jsonl]\n"
	    "             [-R RATIO] [-D DECIMALS] [-j]\n"
	    "  Simulated smart meters: each posts a signed reading every INTERVAL_MS (default 1000) whose\n"
	    "  reading_timestamp advances 15 minutes per reading from START (default: 6 days ago, on a\n"
	    "  quarter hour). A meter whose clock reaches real time waits for it, then reads every 15 real\n"
	    "  minutes; a clock older than 7 days (ingestd's limit) jumps forward to 6 days ago.\n"
	    "  -a  register the meters with the admin API first (409 already registered is fine);\n"
	    "      without -a the token is taken from $ADMIN_TOKEN when that is set\n"
	    "  -r  only register (needs -a), then exit\n"
	    "  -k  key directory (default ./fleet-keys): NAME.json meter key, NAME.wallet.json wallet key\n"
	    "      (0600 solana-keygen files, created when missing), NAME.clock the next reading time\n"
	    "  -d  stop after SECONDS (also on SIGINT/SIGTERM; a second signal exits at once)\n"
	    "  -p  meter serial prefix (default MTR-), serials are PREFIX0001...\n"
	    "  -c  requests in flight at most (default 16)\n"
	    "  -o  rewrite this file with the totals (JSON) every second and at exit\n"
	    "  -l  append one JSON line per accepted reading (id, meter, wallet, kWh, token amount)\n"
	    "  -R/-D  tokens per kWh and token decimals (default 1, 9) when responses carry no token_amount\n"
	    "  -j  print the totals per wallet as JSON on stdout at exit\n");
	exit(2);
}

static long
num_arg(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		say("bad number %s (%ld..%ld)", s, lo, hi);
		exit(2);
	}
	return v;
}

static void
meters_init(const char *keydir, const char *prefix, int64_t start_us, int64_t interval_ms)
{
	int64_t now = mono_ms();

	if (mkdir(keydir, 0700) != 0 && errno != EEXIST) {
		say("mkdir %s: %s", keydir, strerror(errno));
		exit(1);
	}
	meters = xcalloc((size_t)nmeters, sizeof *meters);
	for (int i = 0; i < nmeters; i++) {
		struct meter *m = &meters[i];
		char name[128];
		struct kp *w;

		snprintf(m->serial, sizeof m->serial, "%s%04d", prefix, i + 1);
		snprintf(name, sizeof name, "%s.json", m->serial);
		m->key = key_load_or_create(keydir, name);
		pubkey_to_b58(kp_pubkey(m->key), m->pub);
		snprintf(name, sizeof name, "%s.wallet.json", m->serial);
		w = key_load_or_create(keydir, name);
		pubkey_to_b58(kp_pubkey(w), m->wallet);
		kp_free(w);
		m->clock_us = clock_load(keydir, m->serial, start_us);
		/* Spread the meters over the interval so the load is even. */
		m->due_ms = now + interval_ms * i / nmeters;
		backoff_init(&m->bo, 250, 10000);
		if ((m->h = curl_easy_init()) == NULL)
			xoom();
	}
}

static void
handle_setup(struct meter *m, const char *url)
{
	curl_easy_setopt(m->h, CURLOPT_URL, url);
	curl_easy_setopt(m->h, CURLOPT_HTTPHEADER, json_hdrs);
	curl_easy_setopt(m->h, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
	curl_easy_setopt(m->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(m->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(m->h, CURLOPT_WRITEDATA, &m->resp);
	curl_easy_setopt(m->h, CURLOPT_PRIVATE, m);
}

/* Time has come for an idle meter: build its next reading, unless its clock must wait or jump. Returns true to send. */
static bool
meter_next(struct meter *m, bool *said_caught_up)
{
	int64_t now_us = ts_now_us();

	if (m->clock_us < now_us - MAX_AGE_US + 3600 * SEC_US) {
		int64_t to = now_us - START_AGE_US;

		to -= to % SLOT_US;
		say("%s: clock is near the 7-day limit, jumping it forward to 6 days ago", m->serial);
		m->clock_us = to > m->clock_us ? to : m->clock_us;
		st.too_old_skips++;
	}
	if (m->clock_us > now_us) {
		/* Never send a reading from the future: wait until real time reaches the meter's clock. */
		if (!*said_caught_up)
			say("meter clocks reached real time: from now on each meter reads every 15 real minutes");
		*said_caught_up = true;
		m->due_ms = mono_ms() + (m->clock_us - now_us) / 1000 + 1;
		return false;
	}
	reading_build(m);
	st.sent++;
	return true;
}

static int
run(CURLM *multi, int64_t interval_ms, int concurrency, int64_t duration_ms, const char *status_path)
{
	int64_t start = mono_ms(), next_status = start, next_progress = start + 10000, stop_at = 0;
	bool stopping = false, said_caught_up = false;
	int inflight = 0, backing_off;

	for (;;) {
		int64_t now = mono_ms(), wait = 200;
		CURLMsg *msg;
		int running, left;

		if (!stopping && (g_signals != 0 || (duration_ms > 0 && now - start >= duration_ms))) {
			stopping = true;
			stop_at = now;
			say("stopping: no new readings; finishing the ones in flight");
		}
		if (g_signals >= 2)
			break;
		backing_off = 0;
		for (int i = 0; i < nmeters; i++) {
			struct meter *m = &meters[i];

			if (m->state == M_BACKOFF && stopping && now - stop_at > STOP_GRACE_MS) {
				/* Give up: count whether ingestd may have stored it after all. */
				if (m->uncertain)
					st.in_doubt++;
				else
					st.abandoned++;
				say("%s %s: gave up retrying at shutdown (%s)", m->serial, m->cur_ts,
				    m->uncertain ? "ingestd may have stored it" : "never stored");
				free(m->body);
				m->body = NULL;
				m->state = M_IDLE;
				continue;
			}
			if (m->state == M_BACKOFF)
				backing_off++;
			if (m->state == M_INFLIGHT || m->due_ms > now) {
				if (m->state != M_INFLIGHT && m->due_ms - now < wait && !(stopping && m->state == M_IDLE))
					wait = m->due_ms - now;
				continue;
			}
			if (inflight >= concurrency)
				continue;
			if (m->state == M_IDLE && (stopping || !meter_next(m, &said_caught_up)))
				continue;
			reading_send(multi, m);
			inflight++;
		}
		if (stopping && inflight == 0 && backing_off == 0)
			break;
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct meter *m = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&m);
			curl_multi_remove_handle(multi, msg->easy_handle);
			inflight--;
			reading_finished(m, msg->data.result, interval_ms);
		}
		if (status_path != NULL && now >= next_status) {
			totals_write(status_path);
			next_status = now + 1000;
		}
		if (now >= next_progress) {
			say("sent %" PRIu64 ", accepted %" PRIu64 " (%" PRIu64 " replays), rejected %" PRIu64
			    ", retries %" PRIu64 ", in flight %d", st.sent, st.created + st.replayed, st.replayed,
			    st.rejected, st.retries, inflight);
			next_progress = now + 10000;
		}
		if (wait < 0)
			wait = 0;
		curl_multi_poll(multi, NULL, 0, (int)wait, NULL);
	}
	/* Whatever is still in flight after a second signal is in doubt. */
	for (int i = 0; i < nmeters; i++) {
		if (meters[i].state != M_IDLE) {
			if (meters[i].state == M_INFLIGHT)
				curl_multi_remove_handle(multi, meters[i].h);
			st.in_doubt++;
			meters[i].state = M_IDLE;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *admin = NULL, *keydir = "fleet-keys", *prefix = "MTR-";
	const char *status_path = NULL, *ledger_path = NULL;
	int64_t interval_ms = 1000, duration_ms = 0, start_us;
	int concurrency = 16, opt;
	bool register_only = false, json = false;
	char submit_url[2048];
	struct sigaction sa;
	struct err e;
	CURLM *multi;

	start_us = ts_now_us() - START_AGE_US;
	start_us -= start_us % SLOT_US;
	while ((opt = getopt(argc, argv, "u:a:n:i:k:rd:s:p:c:o:l:R:D:jh")) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'a': admin = optarg; break;
		case 'n': nmeters = (int)num_arg(optarg, 1, 100000); break;
		case 'i': interval_ms = num_arg(optarg, 1, 86400000); break;
		case 'k': keydir = optarg; break;
		case 'r': register_only = true; break;
		case 'd': duration_ms = num_arg(optarg, 1, 100000000) * 1000; break;
		case 's':
			if (ts_parse_rfc3339(optarg, strlen(optarg), &start_us, &e) != 0) {
				say("-s %s: %s", optarg, e.msg);
				return 2;
			}
			break;
		case 'p': prefix = optarg; break;
		case 'c': concurrency = (int)num_arg(optarg, 1, 1024); break;
		case 'o': status_path = optarg; break;
		case 'l': ledger_path = optarg; break;
		case 'R':
			if (amt_parse_ratio(optarg, &ratio, &e) != 0) {
				say("-R %s: %s", optarg, e.msg);
				return 2;
			}
			break;
		case 'D': decimals = (unsigned)num_arg(optarg, 0, AMT_MAX_DECIMALS); break;
		case 'j': json = true; break;
		default: usage();
		}
	}
	/* The token is better kept off the command line (ps shows it): take it from the environment. */
	if (admin == NULL && getenv("ADMIN_TOKEN") != NULL && *getenv("ADMIN_TOKEN") != '\0')
		admin = getenv("ADMIN_TOKEN");
	if (url == NULL || optind != argc || (register_only && admin == NULL))
		usage();
	if (strlen(prefix) > 40 || strspn(prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") !=
	    strlen(prefix)) {
		say("-p: a serial prefix is at most 40 of A-Z a-z 0-9 . _ : -");
		return 2;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		say("cannot initialise libsodium/libcurl");
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	meters_init(keydir, prefix, start_us, interval_ms);
	if (admin != NULL && register_meters(url, admin) != 0)
		return 1;
	if (register_only)
		return 0;
	if (ledger_path != NULL && (ledger = fopen(ledger_path, "a")) == NULL) {
		say("%s: %s", ledger_path, strerror(errno));
		return 1;
	}
	json_hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(submit_url, sizeof submit_url, "%s/api/meters/submit-reading", url);
	if ((multi = curl_multi_init()) == NULL)
		xoom();
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)concurrency);
	for (int i = 0; i < nmeters; i++)
		handle_setup(&meters[i], submit_url);
	say("%d meters posting every %" PRId64 " ms to %s", nmeters, interval_ms, submit_url);

	run(multi, interval_ms, concurrency, duration_ms, status_path);

	for (int i = 0; i < nmeters; i++)
		clock_save(keydir, &meters[i]);
	if (status_path != NULL)
		totals_write(status_path);
	if (json) {
		char *text = totals_json();

		puts(text);
		free(text);
	}
	say("done: sent %" PRIu64 ", accepted %" PRIu64 ", rejected %" PRIu64 ", retries %" PRIu64
	    ", in doubt %" PRIu64, st.sent, st.created + st.replayed, st.rejected, st.retries, st.in_doubt);
	for (int i = 0; i < nmeters; i++) {
		curl_easy_cleanup(meters[i].h);
		kp_free(meters[i].key);
		free(meters[i].body);
		free(meters[i].resp.p);
	}
	free(meters);
	curl_multi_cleanup(multi);
	curl_slist_free_all(json_hdrs);
	if (ledger != NULL)
		fclose(ledger);
	curl_global_cleanup();
	return st.in_doubt != 0 ? 3 : 0;
}
