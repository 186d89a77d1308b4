/* main.c: mintd entry point: CLI, configuration, key and privileges, the event loop, signals, shutdown. */
#include "audit.h"
#include "audit_job.h"
#include "cli.h"
#include "conf.h"
#include "control.h"
#include "crash.h"
#include "http.h"
#include "keypair.h"
#include "log.h"
#include "mint.h"
#include "mintd.h"
#include "privdrop.h"
#include "sdnotify.h"
#include "rpcm.h"
#include "solrpc.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static struct event_base *base;
static struct event *tick_ev;
static struct cfg *cfg;
static const char *conf_path;
static int terms;
static time_t drain_deadline;
static uint64_t watchdog_usec;
static struct timespec last_watchdog;

/* systemd notify; a failure is logged once per kind, never fatal. */
static void
notify(const char *state)
{
	struct err e = { 0 };

	if (sdn_notify(state, &e) < 0)
		log_warn("systemd notify failed", "state=%s err=%s", state, e.msg);
}

static void
watchdog(void)
{
	struct timespec now;

	if (watchdog_usec == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((uint64_t)(now.tv_sec - last_watchdog.tv_sec) * 1000000 +
		(uint64_t)((now.tv_nsec - last_watchdog.tv_nsec) / 1000) < watchdog_usec / 2)
		return;
	last_watchdog = now;
	notify("WATCHDOG=1");
}

static void
settings_reloadable(const struct cfg *c)
{
	int lvl = log_level_parse(cfg_str(c, "LOG_LEVEL"));

	if (lvl > 0 && log_get_level() < LOG_LVL_DEBUG)
		log_set_level((enum log_level)lvl);
	S.events_maxlen = (long)cfg_int(c, "REDIS_EVENTS_STREAM_MAXLEN");
	S.batch_size = (int)cfg_int(c, "TOKENIZATION_BATCH_SIZE");
	S.linger_ms = (int)cfg_int(c, "TOKENIZATION_BATCH_LINGER_MS");
	S.poll_secs = (int)cfg_int(c, "TOKENIZATION_POLLING_INTERVAL_SECS");
	S.retry_initial_secs = (int)cfg_int(c, "TOKENIZATION_INITIAL_RETRY_DELAY_SECS");
	S.retry_max_secs = (int)cfg_int(c, "TOKENIZATION_MAX_RETRY_DELAY_SECS");
	S.max_attempts = (int)cfg_int(c, "TOKENIZATION_MAX_RETRY_ATTEMPTS");
	S.wallet_window_secs = (int)cfg_int(c, "TOKENIZATION_WALLET_MIN_INTERVAL_SECS");
	S.concurrent = (int)cfg_int(c, "BLOCKCHAIN_CONCURRENT_BATCHES");
	S.fee_floor = (uint64_t)cfg_int(c, "BLOCKCHAIN_PRIORITY_FEE_MICROLAMPORTS");
	S.fee_ceiling = (uint64_t)cfg_int(c, "BLOCKCHAIN_PRIORITY_FEE_MAX_MICROLAMPORTS");
	S.fee_percentile = (int)cfg_int(c, "BLOCKCHAIN_PRIORITY_FEE_PERCENTILE");
	S.max_wallets = (int)cfg_int(c, "BLOCKCHAIN_MAX_WALLETS_PER_TX");
	S.simulate_cu = cfg_bool(c, "BLOCKCHAIN_SIMULATE_CU");
	S.lookup_tables = cfg_bool(c, "MINTD_LOOKUP_TABLES");
	S.cu_create = (uint32_t)cfg_int(c, "BLOCKCHAIN_CU_PER_ATA_CREATE");
	S.cu_mint = (uint32_t)cfg_int(c, "BLOCKCHAIN_CU_PER_MINT");
	S.lease_secs = (int)cfg_int(c, "MINTD_CLAIM_LEASE_SECS");
	S.rebroadcast_ms = (int)cfg_int(c, "MINTD_REBROADCAST_MS");
	S.confirm_poll_ms = (int)cfg_int(c, "MINTD_CONFIRM_POLL_MS");
	S.abandon_blocks = (int)cfg_int(c, "MINTD_ABANDON_AFTER_BLOCKS");
	S.supply_check_secs = (int)cfg_int(c, "MINTD_SUPPLY_CHECK_SECS");
	S.recheck_secs = (int)cfg_int(c, "MINTD_RECHECK_SECS");
	S.payer_warn_lamports = (uint64_t)cfg_int(c, "MINTD_PAYER_WARN_LAMPORTS");
	S.stream_poll_ms = (int)cfg_int(c, "MINTD_STREAM_POLL_MS");
	S.shutdown_grace_secs = (int)cfg_int(c, "MINTD_SHUTDOWN_GRACE_SECS");
	S.audit_secs = (int)cfg_int(c, "MINTD_AUDIT_SECS");
}

static int
settings_load(const struct cfg *c)
{
	struct err e = { 0 };
	const char *inst = cfg_str(c, "MINTD_INSTANCE_ID");

	memset(&S, 0, sizeof(S));
	if (*inst != '\0') {
		snprintf(S.instance, sizeof(S.instance), "%s", inst);
	} else {
		char host[64] = "localhost";

		gethostname(host, sizeof(host) - 1);
		snprintf(S.instance, sizeof(S.instance), "%s-%ld", host, (long)getpid());
	}
	snprintf(S.rpc_url, sizeof(S.rpc_url), "%s", cfg_str(c, "SOLANA_RPC_URL"));
	if (rpc_commitment_parse(cfg_str(c, "SOLANA_COMMITMENT"), &S.commitment) < 0 ||
	    S.commitment < RPC_COMMIT_CONFIRMED) {
		log_err("SOLANA_COMMITMENT must be confirmed or finalized (processed can be rolled back)", "key=SOLANA_COMMITMENT");
		return -1;
	}
	if (*cfg_str(c, "TOKEN_MINT") == '\0') {
		log_err("TOKEN_MINT is not set: mintd needs the address of the token mint", "key=TOKEN_MINT");
		return -1;
	}
	if (pubkey_from_b58(cfg_str(c, "TOKEN_MINT"), &S.mint, &e) < 0) {
		log_err("bad configuration", "key=TOKEN_MINT err=%s", e.msg);
		return -1;
	}
	pubkey_to_b58(&S.mint, S.mint_b58);
	S.token_program = strcmp(cfg_str(c, "TOKEN_PROGRAM"), "token-2022") == 0 ? pubkey_token2022_program
										: pubkey_token_program;
	S.decimals = (uint8_t)cfg_int(c, "TOKENIZATION_DECIMALS");
	S.stream = cfg_str(c, "REDIS_READINGS_STREAM");
	S.group = cfg_str(c, "MINTD_CONSUMER_GROUP");
	S.events_prefix = cfg_str(c, "REDIS_EVENTS_PREFIX");
	S.rpc_timeout_ms = (int)cfg_int(c, "MINTD_RPC_TIMEOUT_MS");
	S.rpc_max_inflight = (int)cfg_int(c, "MINTD_RPC_MAX_INFLIGHT");
	S.rpc_rate_retries = (int)cfg_int(c, "MINTD_RPC_RATE_LIMIT_RETRIES");
	S.nonce_accounts = (int)cfg_int(c, "MINTD_NONCE_ACCOUNTS");
	S.pg_statement_ms = (int)cfg_int(c, "MINTD_PG_STATEMENT_TIMEOUT_MS");
	S.pg_lock_ms = (int)cfg_int(c, "MINTD_PG_LOCK_TIMEOUT_MS");
	S.pg_idle_tx_ms = (int)cfg_int(c, "MINTD_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS");
	settings_reloadable(c);
	return 0;
}

static void
reload(void)
{
	struct cfg *neu = cfg_new(mintd_keys, mintd_nkeys);
	struct errlist errs = { 0 };

	if (cfg_load(neu, conf_path, environ, &errs) < 0 || (mintd_conf_check(neu, &errs), errs.n > 0) ||
	    cfg_diff_fixed(cfg, neu, &errs) > 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("reload refused: keeping the running configuration", "err=%s", errs.v[i]);
		errlist_free(&errs);
		cfg_free(neu);
		return;
	}
	settings_reloadable(neu);
	cfg_free(neu);
	log_notice("configuration reloaded");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		reload();
		return;
	}
	if (++terms > 1) {
		log_notice("second signal: exiting now (transactions in flight stay recorded)", "signal=SIG%s", sigabbrev_np((int)sig));
		event_base_loopbreak(base);
		return;
	}
	log_notice("no new work; resolving transactions in flight", "signal=SIG%s grace_secs=%d", sigabbrev_np((int)sig),
	    S.shutdown_grace_secs);
	drain_deadline = time(NULL) + S.shutdown_grace_secs;
	notify("STOPPING=1");
	auditjob_stop();
	mint_drain();
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	int ms;
	struct timeval tv;

	(void)fd;
	(void)what;
	(void)arg;
	ms = mint_tick();
	control_check();
	auditjob_tick();
	watchdog();
	if (terms > 0 && (mint_drained() || time(NULL) >= drain_deadline)) {
		if (!mint_drained())
			log_notice("grace period over: exiting; recorded transactions resolve at the next start");
		event_base_loopexit(base, NULL);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(tick_ev, &tv);
}

static void
log_versions(void)
{
	curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	log_info("mintd starting", "version=%s libevent=%s libpq=%d hiredis=%d.%d.%d libcurl=%s libsodium=%s cjson=%s", GTX_VERSION,
	    event_get_version(), PQlibVersion(), HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH, cv->version,
	    sodium_version_string(), cJSON_Version());
}

/* The key file: systemd credentials first, then SOLANA_KEYPAIR_PATH; group/other access is refused. */
static struct kp *
load_key(const struct cfg *c)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[PATH_MAX];
	struct err e = { 0 };
	struct kp *k;

	if (creds != NULL && *creds != '\0')
		snprintf(path, sizeof(path), "%s/mint-authority", creds);
	else
		snprintf(path, sizeof(path), "%s", cfg_str(c, "SOLANA_KEYPAIR_PATH"));
	if (path[0] == '\0') {
		log_err("no mint-authority key: set SOLANA_KEYPAIR_PATH (or use systemd LoadCredential=mint-authority)", "key=SOLANA_KEYPAIR_PATH");
		return NULL;
	}
	if (kp_check_file_mode(path, &e) < 0 || (k = kp_load_file(path, &e)) == NULL) {
		log_err("mint-authority key refused", "path=%s err=%s", path, e.msg);
		return NULL;
	}
	return k;
}

/* Refuses a mint whose authority is not our key or whose decimals differ (every mint would fail). */
static int
check_mint(struct rpc *rpc, const struct kp *k)
{
	struct rpc_account a = { 0 };
	struct err e = { 0 };
	int rc = 0;

	if (rpc_get_account_info(rpc, &S.mint, RPC_COMMIT_CONFIRMED, &a, &e) < 0) {
		log_warn("cannot check the mint account now; continuing", "err=%s", e.msg);
		return 0;
	}
	if (!a.exists || a.data_len < 82 || !pubkey_eq(&a.owner, &S.token_program)) {
		log_err("TOKEN_MINT is not a mint of the configured TOKEN_PROGRAM");
		rc = -1;
	} else if (a.data[0] != 1 || memcmp(a.data + 4, kp_pubkey(k)->b, 32) != 0) {
		log_err("the key in SOLANA_KEYPAIR_PATH is not the mint authority of TOKEN_MINT");
		rc = -1;
	} else if (a.data[44] != S.decimals) {
		log_err("TOKENIZATION_DECIMALS differs from the mint's decimals", "key=TOKENIZATION_DECIMALS decimals=%u mint_decimals=%u", S.decimals, a.data[44]);
		rc = -1;
	}
	rpc_accounts_clear(&a, 1);
	return rc;
}

static int
run(void)
{
	struct rpc_opts ro = { .connect_timeout_ms = 2000, .timeout_ms = 0, .commitment = "confirmed" };
	struct event *sigs[3] = { 0 };
	const int signo[3] = { SIGTERM, SIGINT, SIGHUP };
	struct timeval zero = { 0, 0 };
	struct rpc *rpc = NULL;
	struct rpcm *arpc = NULL;
	struct kp *k = NULL;
	struct err e = { 0 };
	char pk[45];
	int rc = 1;

	if (settings_load(cfg) < 0)
		return 1;
	ro.timeout_ms = S.rpc_timeout_ms;
	crash_init();
	if (crash_armed() != NULL)
		log_warn("TEST CRASH POINT ARMED (tests only)", "key=MINTD_TEST_CRASH_POINT point=%s", crash_armed());
	log_versions();
	if (sodium_init() < 0) {
		log_err("libsodium initialisation failed");
		return 1;
	}
	if ((k = load_key(cfg)) == NULL)
		return 1;
	if (auditjob_prepare(&e) < 0)
		log_warn("every scheduled audit will count as incomplete", "err=%s", e.msg);
	if (priv_drop(cfg_str(cfg, "RUN_AS_USER"), &e) < 0) {
		log_err("cannot drop privileges", "err=%s", e.msg);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	pubkey_to_b58(kp_pubkey(k), pk);
	log_info("mintd configured", "instance=%s mint_authority=%s token_program=%s commitment=%s", S.instance, pk,
	    cfg_str(cfg, "TOKEN_PROGRAM"), rpc_commitment_name(S.commitment));
	if ((rpc = rpc_new(S.rpc_url, &ro, &e)) == NULL) {
		log_err("bad configuration", "key=SOLANA_RPC_URL err=%s", e.msg);
		goto out;
	}
	if (check_mint(rpc, k) < 0)
		goto out;
	if ((base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signo[i], on_signal, NULL);
		evsignal_add(sigs[i], NULL);
	}
	{
		struct rpcm_opts mo = { .connect_timeout_ms = 2000, .timeout_ms = S.rpc_timeout_ms,
			.max_inflight = S.rpc_max_inflight, .rate_limit_retries = S.rpc_rate_retries };

		if ((arpc = rpcm_new(base, S.rpc_url, &mo, &e)) == NULL) {
			log_err("bad configuration", "key=SOLANA_RPC_URL err=%s", e.msg);
			goto out;
		}
	}
	if (http_start(base, cfg_str(cfg, "MINTD_LISTEN"), mint_not_ready_why, arpc, &e) < 0) {
		log_err("cannot listen", "err=%s", e.msg);
		goto out;
	}
	if (mint_start(cfg_str(cfg, "DATABASE_URL"), cfg_str(cfg, "REDIS_URL"), arpc, k, &e) < 0) {
		log_err("cannot start minting", "err=%s", e.msg);
		goto out;
	}
	if (control_start(base, cfg_str(cfg, "DATABASE_URL"), &e) < 0)
		log_warn("control channel not up (retrying)", "err=%s", e.msg);
	if (auditjob_start(base, conf_path, &e) < 0)
		log_warn("no scheduled audits", "err=%s", e.msg);
	watchdog_usec = sdn_watchdog_usec();
	notify("READY=1");
	tick_ev = evtimer_new(base, on_tick, NULL);
	evtimer_add(tick_ev, &zero);
	log_notice("mintd started", "listen=%s instance=%s", cfg_str(cfg, "MINTD_LISTEN"), S.instance);
	event_base_dispatch(base);
	log_notice("mintd stopped");
	rc = 0;
out:
	auditjob_stop();
	control_stop();
	rpcm_free(arpc); /* cancels calls in flight before the state they refer to goes */
	mint_stop();
	http_stop();
	if (tick_ev != NULL)
		event_free(tick_ev);
	for (int i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	if (base != NULL)
		event_base_free(base);
	rpc_free(rpc);
	kp_free(k);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct cli_prog p = { "mintd", "mintd: mints GRX tokens for accepted readings, exactly once",
		mintd_keys, mintd_nkeys, mintd_conf_check, audit_main };
	struct cli_opts o;
	int rc;

	if (!cli_boot(argc, argv, environ, &p, &o, &cfg, &rc))
		return rc;
	conf_path = o.conf_path;
	log_open("mintd", (enum log_level)(log_level_parse(cfg_str(cfg, "LOG_LEVEL")) + o.verbose > LOG_LVL_DEBUG
			      ? LOG_LVL_DEBUG
			      : log_level_parse(cfg_str(cfg, "LOG_LEVEL")) + o.verbose),
	    o.foreground || getenv("JOURNAL_STREAM") != NULL);
	rc = run();
	cfg_free(cfg);
	return rc;
}
