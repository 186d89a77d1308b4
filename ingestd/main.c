/* main.c: ingestd entry point: CLI, configuration, the event loop, signals (drain, reload) and systemd notify. */
#include "app.h"
#include "health.h"
#include "reply.h"
#include "router.h"
#include "cli.h"
#include "edbatch.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "workers.h"
#include "wsproc.h"
#include "sdnotify.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define DRAIN_TIMEOUT_US (15 * 1000000LL)

extern char **environ;

static struct app A;
static const char *conf_path;
static int verbose;
static bool foreground;
static bool draining, ready_sent;
static int64_t drain_deadline;
static struct event *drain_timer, *watchdog_timer, *publish_timer;
/* INGESTD_WORKERS > 1: the supervisor (worker_index -1, W set) forks workers 0..n-1, which serve. */
static int worker_index = -1;
static struct workers *W;

static enum log_level
level_of(const struct cfg *c)
{
	int l = log_level_parse(cfg_str(c, "LOG_LEVEL")) + verbose;

	return (enum log_level)(l > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : l);
}

void
app_apply_config(struct app *a, const struct cfg *c)
{
	const char *mk = cfg_str(c, "TOKENIZATION_MAX_READING_KWH");
	struct err e;

	/* Checked by ingestd_conf_check before we get here. */
	if (amt_parse_kwh(mk, strlen(mk), &a->lim.max_kwh_micro, &e) < 0)
		a->lim.max_kwh_micro = 100 * AMT_MICRO_PER_KWH;
	a->lim.max_age_us = cfg_int(c, "TOKENIZATION_READING_MAX_AGE_DAYS") * 86400LL * 1000000;
	a->lim.max_skew_us = cfg_int(c, "TOKENIZATION_MAX_CLOCK_SKEW_SECS") * 1000000LL;
	if (amt_parse_ratio(cfg_str(c, "TOKENIZATION_KWH_TO_TOKEN_RATIO"), &a->ratio, &e) < 0)
		fatal("bad configuration", "key=TOKENIZATION_KWH_TO_TOKEN_RATIO err=%s", e.msg);
	a->decimals = (unsigned)cfg_int(c, "TOKENIZATION_DECIMALS");
	a->dup_window_us = cfg_int(c, "TOKENIZATION_DUPLICATE_WINDOW_SECS") * 1000000LL;
	a->max_body = (size_t)cfg_int(c, "INGESTD_MAX_BODY_BYTES");
	a->max_small_body = (size_t)cfg_int(c, "INGESTD_MAX_READING_BODY_BYTES");
	a->batch_max = (int)cfg_int(c, "INGESTD_BATCH_MAX_READINGS");
	a->rate_per_min = (int)cfg_int(c, "INGESTD_METER_RATE_PER_MIN");
	a->rate_burst = (int)cfg_int(c, "INGESTD_METER_RATE_BURST");
	a->retry_after = (int)cfg_int(c, "INGESTD_RETRY_AFTER_SECS");
	a->polling_interval = (int)cfg_int(c, "TOKENIZATION_POLLING_INTERVAL_SECS");
	a->batch_size = (int)cfg_int(c, "TOKENIZATION_BATCH_SIZE");
	if (admintok_parse(cfg_str(c, "ADMIN_TOKEN_SHA256"), &a->admin) < 0)
		log_warn("ADMIN_TOKEN_SHA256 is malformed: the admin API is closed", "key=ADMIN_TOKEN_SHA256"); /* a checked config never is */
}

static struct httpd_limits
http_limits(const struct cfg *c)
{
	struct httpd_limits l = {
		.max_connections = (int)cfg_int(c, "INGESTD_MAX_CONNECTIONS"),
		.max_conns_per_addr = (int)cfg_int(c, "INGESTD_MAX_CONNECTIONS_PER_ADDR"),
		.addr_rate_per_sec = (int)cfg_int(c, "INGESTD_ADDR_RATE_PER_SEC"),
		.addr_rate_burst = (int)cfg_int(c, "INGESTD_ADDR_RATE_BURST"),
		.header_timeout_secs = (int)cfg_int(c, "INGESTD_HEADER_TIMEOUT_SECS"),
		.body_timeout_secs = (int)cfg_int(c, "INGESTD_BODY_TIMEOUT_SECS"),
		.idle_timeout_secs = (int)cfg_int(c, "INGESTD_IDLE_TIMEOUT_SECS"),
		.max_header_bytes = 16384,
		.write_high_water = (size_t)cfg_int(c, "INGESTD_WRITE_HIGH_WATERMARK_BYTES"),
		.max_pipelined = (int)cfg_int(c, "INGESTD_MAX_PIPELINED_REQUESTS"),
		.body_budget = (size_t)cfg_int(c, "INGESTD_BODY_BUDGET_BYTES"),
		.retry_after_secs = (int)cfg_int(c, "INGESTD_RETRY_AFTER_SECS"),
	};

	return l;
}

/* The group-commit settings (reloadable). */
static void
apply_groups(const struct cfg *c)
{
	store_set_groups(A.store, (int)cfg_int(c, "INGESTD_GROUP_COMMIT_MAX_ROWS"),
	    (int)cfg_int(c, "INGESTD_GROUP_COMMIT_CONCURRENCY"), (int)cfg_int(c, "INGESTD_GROUP_COMMIT_MIN_ROWS"));
}

/*
 * Every connection is a descriptor: raise the soft limit to the hard one (systemd's LimitNOFILE= sets
 * both) and say so when INGESTD_MAX_CONNECTIONS still cannot fit.
 */
static void
raise_fd_limit(const struct cfg *c)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg_int(c, "INGESTD_MAX_CONNECTIONS") + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("descriptor limit raised", "from=%llu to=%llu", (unsigned long long)old,
			    (unsigned long long)rl.rlim_cur);
		else
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		log_warn("descriptor limit below INGESTD_MAX_CONNECTIONS + 256: raise it (LimitNOFILE=, ulimit -n) or new "
		    "connections are refused early", "limit=%llu want=%llu", (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static void
stat_group(int rows, void *arg)
{
	(void)arg;
	met_group_rows(rows);
}

static void
stat_rewrite(void *arg)
{
	(void)arg;
	met_group_rewritten();
}

static void
stat_latency(int64_t us, void *arg)
{
	(void)arg;
	met_store_latency(us);
}

static void
notify(const char *state)
{
	struct err e;

	if (sdn_notify(state, &e) < 0)
		log_warn("systemd notify failed", "state=%s err=%s", state, e.msg);
}

static void
on_db_notify(const char *channel, const char *payload, void *arg)
{
	struct app *a = arg;

	if (strcmp(channel, "gridtokenx_meters") == 0)
		mc_invalidate(a->mc, payload[0] ? payload : NULL);
}

static void
on_db_state(bool up, void *arg)
{
	struct app *a = arg;

	/* NOTIFYs may have been missed while the listening connection was away. */
	if (a->mc != NULL)
		mc_invalidate(a->mc, NULL);
	if (up && !ready_sent && a->http != NULL) {
		ready_sent = true;
		notify("READY=1");
	}
	if (!up)
		log_warn("database unreachable: readings are answered with 503 until it is back");
}

static void
reload(void)
{
	struct cfg *c = cfg_new(ingestd_keys, ingestd_nkeys);
	struct errlist errs = { 0 };
	struct httpd_limits lim;

	log_notice("reloading the configuration", "signal=SIGHUP");
	notify("RELOADING=1");
	if (cfg_load(c, conf_path, environ, &errs) < 0 || (ingestd_conf_check(c, &errs), errs.n > 0) ||
	    cfg_diff_fixed(A.cfg, c, &errs) > 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("reload: configuration error", "err=%s", errs.v[i]);
		log_err("reload refused: keeping the previous configuration");
		errlist_free(&errs);
		cfg_free(c);
		notify("READY=1");
		return;
	}
	errlist_free(&errs);
	app_apply_config(&A, c);
	wsproc_reload(A.ws); /* it rereads the same configuration itself */
	wk_signal(W, SIGHUP); /* so do the workers */
	log_set_level(level_of(c));
	if (A.http != NULL) { /* a worker, or the only process */
		lim = http_limits(c);
		httpd_set_limits(A.http, &lim);
		apply_groups(c);
		rq_set_maxlen(A.rq, cfg_int(c, "REDIS_EVENTS_STREAM_MAXLEN"), cfg_int(c, "REDIS_READINGS_STREAM_MAXLEN"));
		mc_set_unknown_ttl(A.mc, cfg_int(c, "INGESTD_UNKNOWN_METER_TTL_SECS") * 1000000);
	}
	cfg_free(A.cfg);
	A.cfg = c;
	log_notice("configuration reloaded", "admin_tokens=%zu", A.admin.n);
	notify("READY=1");
}

static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct rq_stats rs;

	(void)fd;
	(void)what;
	(void)arg;
	rq_stats(A.rq, &rs);
	/* Done when every answer is given and written (connections close once their output is sent). */
	if ((httpd_in_flight(A.http) == 0 && httpd_connections(A.http) == 0 && store_pending(A.store) == 0 &&
	    (rs.inflight == 0 || !rs.up)) || httpd_now_us() > drain_deadline) {
		if (httpd_in_flight(A.http) > 0 || httpd_connections(A.http) > 0)
			log_warn("drain timed out", "in_flight=%zu connections=%zu",
			    httpd_in_flight(A.http), httpd_connections(A.http));
		event_base_loopbreak(A.base);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = { 0, 20000 };

	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		if (!draining)
			reload();
		return;
	}
	if (draining) {
		/* A worker drains once: systemd signals the whole group and the supervisor passes SIGTERM on too. */
		if (worker_index >= 0)
			return;
		log_notice("second signal: exiting at once", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
		_exit(1);
	}
	draining = true;
	log_notice("no new connections; draining the requests in flight", "signal=%s in_flight=%zu", sig == SIGINT ? "SIGINT" : "SIGTERM",
	    httpd_in_flight(A.http));
	notify("STOPPING=1");
	httpd_shutdown(A.http);
	wsproc_terminate(A.ws);
	drain_deadline = httpd_now_us() + DRAIN_TIMEOUT_US;
	drain_timer = event_new(A.base, -1, EV_PERSIST, drain_check, NULL);
	event_add(drain_timer, &tv);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify("WATCHDOG=1");
}

/* The process that talks to systemd: SIGTERM, SIGINT and SIGHUP to cb, and the watchdog when systemd asks. */
static void
watch_signals(struct event *sigs[3], event_callback_fn cb)
{
	static const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
	uint64_t wd;

	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(A.base, signums[i], cb, NULL);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatal("cannot install signal handlers");
	}
	if ((wd = sdn_watchdog_usec()) > 0) {
		struct timeval tv = { (time_t)(wd / 2 / 1000000), (suseconds_t)(wd / 2 % 1000000) };

		watchdog_timer = event_new(A.base, -1, EV_PERSIST, on_watchdog, NULL);
		event_add(watchdog_timer, &tv);
	}
}

static void
log_versions(void)
{
	int pq = PQlibVersion();

	log_notice("ingestd starting", "version=%s libevent=%s libpq=%d.%d hiredis=%d.%d.%d libcurl=%s libsodium=%s", GTX_VERSION,
	    event_get_version(), pq / 10000, pq % 10000, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH,
	    curl_version(), sodium_version_string());
}

static const struct db_prepared prepared[] = {
	{ STORE_INSERT_NAME, STORE_INSERT_SQL },
	{ STORE_INSERT_SKIP_NAME, STORE_INSERT_SKIP_SQL },
	{ NULL, NULL },
};

/*
 * The meters' loop. With the changelist, a descriptor's interest changes within one loop turn cost at most one
 * epoll_ctl, and none when they cancel out (measured: 2.4% of ingestd's CPU on single POSTs, when read interest
 * was still switched off for each handler). Its documented caveat (descriptors dup()ed while registered) does
 * not arise here.
 */
static struct event_base *
new_base(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *b;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	return b;
}

/* A forked worker's signals, through a signalfd: libevent's signal handling stays the supervisor's. */
static void
on_signalfd(evutil_socket_t fd, short what, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		on_signal((evutil_socket_t)si.ssi_signo, what, arg);
}

/* Every second, a worker's gauges for the other workers' /metrics. */
static void
on_publish(evutil_socket_t fd, short what, void *arg)
{
	struct met_gauges g;

	(void)fd, (void)what, (void)arg;
	health_gauges(&A, &g);
	met_publish(&g);
}

/*
 * Serves meters on the listening socket fd until drained: the only process (index -1: it also talks to
 * systemd and runs the WebSocket service), or worker index of the supervisor's.
 */
static int
serve_meters(struct cfg *c, int fd, int index)
{
	struct httpd_cbs cbs = { router_headers, router_request, router_replied, reply_error_body, &A };
	struct httpd_limits lim = http_limits(c);
	struct store_stats ss = { stat_group, stat_latency, stat_rewrite, NULL };
	struct db_opts dbo = { 0 };
	struct rq_opts rqo = { 0 };
	struct event *sigs[3] = { NULL, NULL, NULL };
	int signums[3] = { SIGTERM, SIGINT, SIGHUP }, sfd = -1;
	struct timeval sec = { 1, 0 };
	struct err e;

	worker_index = index;
	if (index >= 0) {
		sigset_t ss_;

		met_worker(index);
		/* The supervisor's: a worker never signals the WebSocket service or the other workers. */
		A.ws = NULL;
		W = NULL;
		if ((A.base = new_base()) == NULL)
			fatal("cannot create the event loop", "worker=%d", index);
		/* Its signals from a signalfd; every other signal back to normal delivery (blocked at the fork). */
		sigemptyset(&ss_);
		for (int i = 0; i < 3; i++)
			sigaddset(&ss_, signums[i]);
		if ((sfd = signalfd(-1, &ss_, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
			fatal("signalfd failed", "worker=%d err=%s", index, strerror(errno));
		sigprocmask(SIG_SETMASK, &ss_, NULL);
		sigs[0] = event_new(A.base, sfd, EV_READ | EV_PERSIST, on_signalfd, NULL);
		if (sigs[0] == NULL || event_add(sigs[0], NULL) < 0)
			fatal("cannot watch signals", "worker=%d", index);
		publish_timer = event_new(A.base, -1, EV_PERSIST, on_publish, NULL);
		if (publish_timer == NULL || event_add(publish_timer, &sec) < 0)
			fatal("out of memory", "worker=%d", index);
		log_notice("worker serving", "worker=%d pid=%d", index, (int)getpid());
	}
	dbo.url = cfg_str(c, "DATABASE_URL");
	dbo.app_name = "ingestd";
	dbo.nconn = (int)cfg_int(c, "INGESTD_DB_CONNECTIONS");
	dbo.max_queue = (size_t)cfg_int(c, "INGESTD_DB_MAX_QUEUE");
	dbo.listen = "gridtokenx_meters";
	dbo.prepared = prepared;
	dbo.notify = on_db_notify;
	dbo.state = on_db_state;
	dbo.arg = &A;
	rqo.url = cfg_str(c, "REDIS_URL");
	rqo.stream = cfg_str(c, "REDIS_READINGS_STREAM");
	rqo.events_maxlen = cfg_int(c, "REDIS_EVENTS_STREAM_MAXLEN");
	rqo.readings_maxlen = cfg_int(c, "REDIS_READINGS_STREAM_MAXLEN");
	rqo.backlog_max = (size_t)cfg_int(c, "INGESTD_REDIS_BACKLOG");
	rqo.max_inflight = (size_t)cfg_int(c, "INGESTD_REDIS_MAX_INFLIGHT");
	/* an address's request rate, like a meter's, holds across the workers */
	if ((A.http = httpd_new(A.base, fd, &lim, &cbs, A.rl, &e)) == NULL)
		fatal("cannot serve HTTP", "err=%s", e.msg);
	if ((A.db = db_new(A.base, &dbo)) == NULL)
		fatal("out of memory");
	if ((A.mc = mc_new(A.db, (size_t)cfg_int(c, "INGESTD_METER_CACHE_MAX"), (size_t)cfg_int(c,
	    "INGESTD_UNKNOWN_METER_CACHE_MAX"), cfg_int(c, "INGESTD_UNKNOWN_METER_TTL_SECS") * 1000000)) == NULL)
		fatal("out of memory");
	if ((A.store = store_new(A.db, A.dup_window_us, &ss)) == NULL)
		fatal("out of memory");
	if ((A.sq = sigq_new(A.base)) == NULL)
		fatal("out of memory");
	apply_groups(c);
	if ((A.rq = rq_new(A.base, &rqo, &e)) == NULL)
		fatal("bad configuration", "key=REDIS_URL err=%s", e.msg);
	if (index < 0) {
		watch_signals(sigs, on_signal);
		log_notice("listening", "listen=%s", cfg_str(c, "INGESTD_LISTEN"));
		if (db_up(A.db) && !ready_sent) {
			ready_sent = true;
			notify("READY=1");
		}
	}
	event_base_dispatch(A.base);
	log_notice("stopped accepting; closing connections");
	wsproc_stop(A.ws, 5000);
	/* Order matters: database callbacks answer requests, so httpd goes last. */
	db_free(A.db);
	rq_free(A.rq);
	mc_free(A.mc);
	store_free(A.store);
	sigq_free(A.sq);
	httpd_free(A.http);
	for (int i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	if (sfd >= 0)
		close(sfd);
	if (drain_timer)
		event_free(drain_timer);
	if (watchdog_timer)
		event_free(watchdog_timer);
	if (publish_timer)
		event_free(publish_timer);
	event_base_free(A.base);
	rl_free(A.rl);
	free(A.events_prefix);
	cfg_free(A.cfg);
	if (index >= 0)
		log_notice("worker exiting", "worker=%d", index);
	else
		log_notice("ingestd exiting");
	return 0;
}

static int
run_worker(int index, int fd, void *arg)
{
	return serve_meters(arg, fd, index);
}

static void
workers_done(void *arg)
{
	(void)arg;
	event_base_loopbreak(A.base);
}

/* The supervisor's signals: passed on to the workers (and the WebSocket service). */
static void
on_super_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what, (void)arg;
	if (sig == SIGHUP) {
		if (!draining)
			reload(); /* checks the file, then passes SIGHUP on */
		return;
	}
	if (draining) {
		log_notice("second signal: stopping the workers at once", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
		wk_kill(W);
		_exit(1);
	}
	draining = true;
	log_notice("the workers drain", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	notify("STOPPING=1");
	wsproc_terminate(A.ws);
	wk_stop(W);
}

/* Every second: what the workers cannot see for /metrics (the WebSocket service is the supervisor's). */
static void
on_super_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	met_set_websocket(wsproc_running(A.ws), wsproc_restarts(A.ws));
}

static int
supervise(struct cfg *c, int n, int *fds)
{
	struct event *sigs[3], *tick;
	struct timeval sec = { 1, 0 };
	struct err e;

	if (met_init(n, &e) < 0)
		fatal("metrics not set up", "err=%s", e.msg);
	/* Forked before this loop has any signal event: the workers start from a clean slate. */
	if ((W = wk_start(A.base, n, fds, run_worker, workers_done, c, &e)) == NULL)
		fatal("workers not started", "err=%s", e.msg);
	if (wsproc_start(A.ws, conf_path, verbose, foreground, &e) < 0)
		fatal("websocket service failed", "err=%s", e.msg);
	watch_signals(sigs, on_super_signal);
	tick = event_new(A.base, -1, EV_PERSIST, on_super_tick, NULL);
	if (tick == NULL || event_add(tick, &sec) < 0)
		fatal("out of memory");
	log_notice("listening", "listen=%s workers=%d", cfg_str(c, "INGESTD_LISTEN"), n);
	ready_sent = true;
	notify("READY=1");
	event_base_dispatch(A.base);
	wsproc_stop(A.ws, 5000);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_free(tick);
	if (watchdog_timer)
		event_free(watchdog_timer);
	wk_free(W);
	log_notice("ingestd exiting");
	return 0;
}

static int
serve(struct cfg *c)
{
	long n = cfg_int(c, "INGESTD_WORKERS");
	int *fds;
	struct err e;

	A.cfg = c;
	app_apply_config(&A, c);
	raise_fd_limit(c);
	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
	if ((A.base = new_base()) == NULL)
		fatal("cannot create the event loop");
	A.events_prefix = xstrdup(cfg_str(c, "REDIS_EVENTS_PREFIX"));
	/* One listening socket per worker (SO_REUSEPORT), bound before privileges are dropped. */
	fds = xcalloc((size_t)n, sizeof(*fds));
	for (long i = 0; i < n; i++)
		if ((fds[i] = httpd_listen(cfg_str(c, "INGESTD_LISTEN"), n > 1, &e)) < 0)
			fatal("cannot listen", "err=%s", e.msg);
	if ((A.ws = wsproc_new(A.base, c, &e)) == NULL)
		fatal("websocket service failed", "err=%s", e.msg);
	/* Bound to the ports (maybe privileged); from here on never root. */
	if (priv_drop(cfg_str(c, "RUN_AS_USER"), &e) < 0)
		fatal("cannot drop privileges", "err=%s", e.msg);
	/* Shared with the workers forked below: meters' and addresses' request rates hold across all of them. */
	if ((A.rl = rl_new((size_t)cfg_int(c, "INGESTD_METER_CACHE_MAX"), &e)) == NULL)
		fatal("rate limits not set up", "err=%s", e.msg);
	if (n > 1) {
		int rc = supervise(c, (int)n, fds);

		free(fds);
		rl_free(A.rl);
		event_base_free(A.base);
		free(A.events_prefix);
		cfg_free(A.cfg);
		return rc;
	}
	/* Its own process: whatever happens to it, the meters' loop here does not wait on it. */
	if (wsproc_start(A.ws, conf_path, verbose, foreground, &e) < 0)
		fatal("websocket service failed", "err=%s", e.msg);
	{
		int fd = fds[0];

		free(fds);
		return serve_meters(c, fd, -1);
	}
}

int
main(int argc, char **argv)
{
	const struct cli_prog p = { "ingestd", "ingestd: accepts signed smart-meter readings over HTTP",
		ingestd_keys, ingestd_nkeys, ingestd_conf_check, /* audit= */ NULL };
	struct cli_opts o;
	struct cfg *c;
	int rc;

	if (!cli_boot(argc, argv, environ, &p, &o, &c, &rc))
		return rc;
	conf_path = o.conf_path;
	verbose = o.verbose;
	foreground = o.foreground;
	signal(SIGPIPE, SIG_IGN);
	/*
	 * A fixed mmap threshold: a batch request's body and JSON tree (a megabyte or so) are mapped and unmapped
	 * with the request. glibc's default threshold moves up each time such a chunk is freed, after which they
	 * come from the heap, whose high-water mark small long-lived allocations keep from shrinking. Six runs of
	 * batch POSTs (a million readings), two rounds here: 58.6-72.4 MB of RSS in all with this, 70.9-98.8 MB
	 * without it (test/bench/ingest_memory.sh).
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	log_open("ingestd", level_of(c), o.foreground || getenv("JOURNAL_STREAM") != NULL);
	if (sodium_init() < 0)
		fatal("libsodium failed to initialize");
	if (edb_init() < 0)
		fatal("the Ed25519 batch verifier's constants did not check out");
	log_versions();
	return serve(c);
}
