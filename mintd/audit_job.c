/* audit_job.c: runs `mintd -A --json` in a child on a schedule, reads its result without waiting, exports it. */
#include "audit_job.h"
#include "audit.h"
#include "childenv.h"
#include "log.h"
#include "mintd.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG_FD 3                  /* the executable in the child, close-on-exec */
#define OUT_MAX (16u << 20)        /* a document larger than this is not an audit's: the run is stopped */
#define MIN_TIMEOUT_SECS 600
#define FIRST_AFTER_SECS 60
#define LISTED_FOR_US "MINTD_AUDIT_MAX_LISTED=20"
#define LOGGED 3                   /* mismatched wallets named in the log, a line each */

extern char **environ;

enum outcome { OUT_OK, OUT_MISMATCH, OUT_INCOMPLETE };

static int self_fd = -1, null_fd = -1;
static struct event_base *base;
static char *argv_[6];
static char **envp_;
static struct event *sigchld_ev, *read_ev, *kill_ev;
static struct evbuffer *out;
static pid_t pid;
static int pipe_fd = -1;
static bool eof, reaped, stopped, killed_slow, killed_big;
static int wstatus;
static int64_t boot_ms, started_ms;

/* The last results, for /metrics (timestamps are wall-clock seconds; 0 = not yet). */
static struct {
	uint64_t runs[3];
	int64_t last_run, last_complete;
	bool ok;
	int64_t wallets, mismatched, in_flight, supply_mismatch, duration_ms, incomplete_row;
} R;

int
auditjob_prepare(struct err *e)
{
	if ((self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(e, 0, "audit: cannot open our own executable (/proc/self/exe): %s", strerror(errno));
	if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		close(self_fd);
		self_fd = -1;
		return err_set(e, 0, "audit: /dev/null: %s", strerror(errno));
	}
	return 0;
}

/* Our environment without systemd's notify variables and with the child's short list of mismatches. */
static char **
child_env(void)
{
	static const char *const drop[] = { "NOTIFY_SOCKET=", "WATCHDOG_", "MINTD_AUDIT_MAX_LISTED=" };

	return childenv_new(environ, drop, sizeof(drop) / sizeof(drop[0]), LISTED_FOR_US);
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg);

int
auditjob_start(struct event_base *b, const char *conf_path, struct err *e)
{
	int a = 0;

	base = b;
	boot_ms = mono_ms();
	argv_[a++] = xstrdup("mintd");
	argv_[a++] = xstrdup("-A");
	argv_[a++] = xstrdup("--json");
	if (conf_path != NULL) {
		argv_[a++] = xstrdup("-f");
		argv_[a++] = xstrdup(conf_path);
	}
	argv_[a] = NULL;
	envp_ = child_env();
	out = evbuffer_new();
	sigchld_ev = evsignal_new(base, SIGCHLD, on_sigchld, NULL);
	kill_ev = evtimer_new(base, on_sigchld, NULL); /* the same handler: it checks the deadline too */
	if (out == NULL || sigchld_ev == NULL || kill_ev == NULL || event_add(sigchld_ev, NULL) < 0)
		return err_set(e, 0, "audit: cannot watch for the child");
	return 0;
}

/* In the child between fork and exec: descriptors and exec only (async-signal-safe). */
static void __attribute__((noreturn))
exec_child(int wfd, pid_t parent)
{
	int prog;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	if ((prog = fcntl(self_fd, F_DUPFD_CLOEXEC, 16)) < 0 || dup2(null_fd, 0) < 0 || dup2(wfd, 1) < 0 ||
	    dup3(prog, PROG_FD, O_CLOEXEC) < 0)
		_exit(126);
	/* Nothing else of ours crosses over: the metrics listener, database and Redis connections stay here. */
	if (syscall(SYS_close_range, PROG_FD + 1, ~0U, 0) < 0)
		for (long fd = PROG_FD + 1, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
			close((int)fd);
	fexecve(PROG_FD, argv_, envp_);
	_exit(127);
}

static void on_read(evutil_socket_t fd, short what, void *arg);

/* A run that could not even start counts as one that could not complete (the same alert says so). */
static void
no_run(const char *what, int err)
{
	R.runs[OUT_INCOMPLETE]++;
	R.incomplete_row++;
	R.ok = false;
	R.last_run = (int64_t)time(NULL);
	R.duration_ms = 0;
	log_warn("audit could not start; trying again at the next interval", "in_a_row=%" PRId64 " what=%s err=%s",
	    R.incomplete_row, what, err != 0 ? strerror(err) : "-");
}

static void
spawn(void)
{
	int p[2];
	pid_t parent = getpid(), child;

	started_ms = mono_ms();
	if (self_fd < 0) {
		no_run("our own executable could not be opened at start", 0);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		no_run("pipe", errno);
		return;
	}
	if ((child = fork()) == 0)
		exec_child(p[1], parent);
	close(p[1]);
	if (child < 0) {
		no_run("fork", errno);
		close(p[0]);
		return;
	}
	pid = child;
	pipe_fd = p[0];
	eof = reaped = killed_slow = killed_big = false;
	evbuffer_drain(out, evbuffer_get_length(out));
	if (fcntl(pipe_fd, F_SETFL, O_NONBLOCK) < 0 ||
	    (read_ev = event_new(base, pipe_fd, EV_READ | EV_PERSIST, on_read, NULL)) == NULL ||
	    event_add(read_ev, NULL) < 0) {
		log_warn("audit: cannot read the child's answer; stopping it", "pid=%d", (int)pid);
		kill(pid, SIGKILL);
	}
	{
		int secs = S.audit_secs > MIN_TIMEOUT_SECS ? S.audit_secs : MIN_TIMEOUT_SECS;
		struct timeval tv = { secs, 0 };

		evtimer_add(kill_ev, &tv);
	}
	log_info("audit started", "pid=%d", (int)pid);
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t
jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* The log line of a run that found mismatches: counts, the first wallets, the supply. */
static void
log_mismatch(const cJSON *doc)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(doc, "wallets"), *m;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "supply");
	int i = 0;

	log_err("AUDIT MISMATCH: on-chain balances or the supply differ from the minted readings; `mintd -A` lists the "
	    "readings and transactions", "mismatched=%" PRId64 " checked=%" PRId64 " supply=%s supply_chain=%s "
	    "supply_database=%s slot=%" PRId64, jnum(w, "mismatched"), jnum(w, "checked"),
	    jstr(s, "result") ? jstr(s, "result") : "?", jstr(s, "chain") ? jstr(s, "chain") : "?",
	    jstr(s, "database") ? jstr(s, "database") : "?", jnum(s, "slot"));
	/* one line per wallet (the first few), so a log search by wallet finds it */
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "mismatches")) {
		if (i++ == LOGGED)
			break;
		log_err("audit mismatch", "wallet=%s chain=%s database=%s", jstr(m, "wallet") ? jstr(m, "wallet") : "?",
		    jstr(m, "chain") ? jstr(m, "chain") : "?", jstr(m, "database") ? jstr(m, "database") : "?");
	}
}

/* Reads the child's document and exit status into R, and says what it found. */
static void
finish(void)
{
	size_t len = evbuffer_get_length(out);
	char *text = (char *)evbuffer_pullup(out, -1);
	cJSON *doc = len > 0 && text != NULL ? cJSON_ParseWithLength(text, len) : NULL;
	const char *res = jstr(doc, "result"), *error = jstr(doc, "error");
	int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	enum outcome o = OUT_INCOMPLETE;
	char why[320];

	R.duration_ms = mono_ms() - started_ms;
	R.last_run = (int64_t)time(NULL);
	if (code == AUDIT_EXIT_OK && res != NULL && strcmp(res, "ok") == 0)
		o = OUT_OK;
	else if (code == AUDIT_EXIT_MISMATCH && res != NULL && strcmp(res, "mismatch") == 0)
		o = OUT_MISMATCH;
	if (killed_slow)
		snprintf(why, sizeof(why), "stopped after %" PRId64 " s (MINTD_AUDIT_SECS, at least %d s)",
		    R.duration_ms / 1000, MIN_TIMEOUT_SECS);
	else if (killed_big)
		snprintf(why, sizeof(why), "stopped: its answer passed %u bytes", OUT_MAX);
	else if (error != NULL)
		snprintf(why, sizeof(why), "%s", error);
	else if (WIFSIGNALED(wstatus))
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(wstatus));
	else
		snprintf(why, sizeof(why), "exited with status %d%s", code, doc == NULL ? " without a JSON answer" : "");
	R.runs[o]++;
	R.ok = o == OUT_OK;
	if (o == OUT_INCOMPLETE) {
		R.incomplete_row++;
		log_warn("audit could not complete", "in_a_row=%" PRId64 " err=%s", R.incomplete_row, why);
	} else {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(doc, "wallets");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "supply");

		R.incomplete_row = 0;
		R.last_complete = R.last_run;
		R.wallets = jnum(w, "checked");
		R.mismatched = jnum(w, "mismatched");
		R.in_flight = jnum(w, "in_flight");
		R.supply_mismatch = jstr(s, "result") != NULL && strcmp(jstr(s, "result"), "mismatch") == 0;
		if (o == OUT_OK)
			log_info("audit: the wallets and the supply agree with the chain", "wallets=%" PRId64 " in_flight=%" PRId64
			    " ms=%" PRId64, R.wallets, R.in_flight, R.duration_ms);
		else
			log_mismatch(doc);
	}
	cJSON_Delete(doc);
	evbuffer_drain(out, len);
	pid = 0;
	evtimer_del(kill_ev);
}

static void
close_pipe(void)
{
	if (read_ev != NULL)
		event_free(read_ev);
	read_ev = NULL;
	if (pipe_fd >= 0)
		close(pipe_fd);
	pipe_fd = -1;
	eof = true;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	int n;

	(void)what;
	(void)arg;
	while ((n = evbuffer_read(out, fd, 65536)) > 0) {
		if (evbuffer_get_length(out) > OUT_MAX) {
			killed_big = true;
			kill(pid, SIGKILL);
			break;
		}
	}
	if (n == 0 || killed_big || (n < 0 && errno != EAGAIN && errno != EINTR))
		close_pipe();
	if (eof && reaped)
		finish();
}

/* SIGCHLD, and the deadline of a run. */
static void
on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)arg;
	if (pid <= 0)
		return;
	if ((what & EV_TIMEOUT) && !reaped) {
		killed_slow = true;
		kill(pid, SIGKILL);
	}
	if (!reaped && waitpid(pid, &wstatus, WNOHANG) == pid) {
		reaped = true;
		if (!eof)
			on_read(pipe_fd, EV_READ, NULL); /* what is left in the pipe, then its end */
		else
			finish();
	}
}

void
auditjob_tick(void)
{
	int64_t now = mono_ms(), due;
	int secs = S.audit_secs;

	if (base == NULL || stopped || pid > 0 || secs <= 0)
		return;
	if (started_ms == 0)
		due = boot_ms + (int64_t)(secs < FIRST_AFTER_SECS ? secs : FIRST_AFTER_SECS) * 1000;
	else
		due = started_ms + (int64_t)secs * 1000;
	if (now >= due)
		spawn();
}

void
auditjob_stop(void)
{
	int st;

	stopped = true;
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		log_notice("audit: stopped the run in progress (shutdown)");
		pid = 0;
	}
	close_pipe();
	if (sigchld_ev != NULL)
		event_free(sigchld_ev);
	if (kill_ev != NULL)
		event_free(kill_ev);
	sigchld_ev = kill_ev = NULL;
	if (out != NULL)
		evbuffer_free(out);
	out = NULL;
	for (int i = 0; argv_[i] != NULL; i++) {
		free(argv_[i]);
		argv_[i] = NULL;
	}
	free(envp_);
	envp_ = NULL;
	if (self_fd >= 0)
		close(self_fd);
	if (null_fd >= 0)
		close(null_fd);
	self_fd = null_fd = -1;
}

static void
gauge(struct evbuffer *b, const char *name, const char *help, int64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRId64 "\n", name, help, name, name, v);
}

void
auditjob_metrics(struct evbuffer *b)
{
	static const char *const names[3] = { "ok", "mismatch", "incomplete" };

	evbuffer_add_printf(b, "# HELP mintd_audit_runs_total Scheduled audits against the chain by result.\n"
			       "# TYPE mintd_audit_runs_total counter\n");
	for (int i = 0; i < 3; i++)
		evbuffer_add_printf(b, "mintd_audit_runs_total{result=\"%s\"} %" PRIu64 "\n", names[i], R.runs[i]);
	gauge(b, "mintd_audit_running", "An audit is running now.", pid > 0);
	gauge(b, "mintd_audit_last_run_timestamp_seconds", "When the last audit ended (0: none yet).", R.last_run);
	gauge(b, "mintd_audit_last_complete_timestamp_seconds", "When the last audit that completed ended (0: none yet).",
	    R.last_complete);
	gauge(b, "mintd_audit_ok", "1 when the last audit completed and the chain agreed with the database in everything.",
	    R.ok);
	gauge(b, "mintd_audit_mismatched_wallets",
	    "Wallets whose on-chain balance differed from their minted readings in the last completed audit.", R.mismatched);
	gauge(b, "mintd_audit_supply_mismatch", "1 when the mint's supply differed from the database in the last completed audit.",
	    R.supply_mismatch);
	gauge(b, "mintd_audit_wallets", "Wallets read by the last completed audit.", R.wallets);
	gauge(b, "mintd_audit_in_flight_wallets", "Wallets with transactions in flight in the last completed audit.",
	    R.in_flight);
	gauge(b, "mintd_audit_incomplete_runs_in_a_row", "Audits in a row that could not complete (RPC or database away).",
	    R.incomplete_row);
	evbuffer_add_printf(b, "# HELP mintd_audit_duration_seconds How long the last audit took.\n"
			       "# TYPE mintd_audit_duration_seconds gauge\n"
			       "mintd_audit_duration_seconds %" PRId64 ".%03" PRId64 "\n",
	    R.duration_ms / 1000, R.duration_ms % 1000);
}
