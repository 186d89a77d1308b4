/* workers.c: fork ingestd's workers, each with its own listening socket; restart them with backoff; pass signals on. */
#include "workers.h"

#include "backoff.h"
#include "log.h"
#include "ts.h"
#include "xmalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define STABLE_US (10 * 1000000LL) /* a worker that ran this long restarts without backoff */

struct workers {
	struct event_base *base;
	int n;
	int *fds;
	pid_t *pid;
	int64_t *started;
	bool *due; /* exited, waiting for its restart */
	struct backoff bo;
	struct event *sigchld, *restart;
	bool stopping;
	wk_run_fn run;
	wk_done_fn done;
	void *arg;
	uint64_t restarts;
};

/* In the child: nothing of the supervisor's signal handling may survive (its handlers write to its loop). */
static void __attribute__((noreturn))
child(struct workers *w, int i, pid_t parent)
{
	const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		signal(sigs[k], SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	/* The other workers' sockets: held here, they would keep queueing connections after their worker closed them. */
	for (int k = 0; k < w->n; k++)
		if (k != i)
			close(w->fds[k]);
	/* Only the supervisor talks to systemd. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	_exit(w->run(i, w->fds[i], w->arg));
}

static int
spawn(struct workers *w, int i)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0)
		child(w, i, parent);
	if (pid < 0)
		return -1;
	w->pid[i] = pid;
	w->started[i] = ts_mono_us();
	w->due[i] = false;
	return 0;
}

static void
arm_restart(struct workers *w)
{
	uint32_t ms = backoff_next(&w->bo);
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(w->restart, &tv);
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct workers *w = arg;

	(void)fd, (void)what;
	for (int i = 0; i < w->n && !w->stopping; i++) {
		if (!w->due[i])
			continue;
		if (spawn(w, i) < 0) {
			log_err("worker not started; retrying", "worker=%d err=%s", i, strerror(errno));
			arm_restart(w);
			return;
		}
		w->restarts++;
		log_notice("worker started again", "worker=%d pid=%d", i, (int)w->pid[i]);
	}
}

/* After wk_stop: done, once, when the last worker has exited. */
static void
done_if_all_exited(struct workers *w)
{
	if (w->stopping && wk_running(w) == 0 && w->done != NULL) {
		wk_done_fn done = w->done;

		w->done = NULL;
		done(w->arg);
	}
}

static void
on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct workers *w = arg;
	bool restart = false;
	int st;

	(void)fd, (void)what;
	for (int i = 0; i < w->n; i++) {
		if (w->pid[i] <= 0 || waitpid(w->pid[i], &st, WNOHANG) != w->pid[i])
			continue;
		w->pid[i] = 0;
		if (w->stopping)
			continue;
		if (WIFSIGNALED(st))
			log_err("worker killed; its connections are lost, the others are not affected; restarting it",
			    "worker=%d signal=%d", i, WTERMSIG(st));
		else
			log_err("worker exited; restarting it", "worker=%d status=%d", i, WEXITSTATUS(st));
		if (ts_mono_us() - w->started[i] > STABLE_US)
			backoff_reset(&w->bo);
		w->due[i] = true;
		restart = true;
	}
	if (restart)
		arm_restart(w);
	done_if_all_exited(w);
}

struct workers *
wk_start(struct event_base *base, int n, const int *fds, wk_run_fn run, wk_done_fn done, void *arg, struct err *e)
{
	struct workers *w = xcalloc(1, sizeof(*w));

	w->base = base;
	w->n = n;
	w->fds = xcalloc((size_t)n, sizeof(*w->fds));
	memcpy(w->fds, fds, (size_t)n * sizeof(*fds));
	w->pid = xcalloc((size_t)n, sizeof(*w->pid));
	w->started = xcalloc((size_t)n, sizeof(*w->started));
	w->due = xcalloc((size_t)n, sizeof(*w->due));
	w->run = run;
	w->done = done;
	w->arg = arg;
	backoff_init(&w->bo, 100, 5000);
	w->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, w);
	w->restart = evtimer_new(base, on_restart, w);
	if (w->sigchld == NULL || w->restart == NULL || event_add(w->sigchld, NULL) < 0) {
		wk_free(w);
		return err_set(e, 0, "cannot watch the workers"), NULL;
	}
	for (int i = 0; i < n; i++) {
		if (spawn(w, i) < 0) {
			if (i == 0) {
				err_set(e, 0, "fork: %s", strerror(errno));
				wk_free(w);
				return NULL;
			}
			w->due[i] = true;
			arm_restart(w);
		}
	}
	log_notice("workers started", "workers=%d", n);
	return w;
}

void
wk_signal(struct workers *w, int sig)
{
	for (int i = 0; w != NULL && i < w->n; i++)
		if (w->pid[i] > 0)
			kill(w->pid[i], sig);
}

void
wk_stop(struct workers *w)
{
	if (w == NULL)
		return;
	w->stopping = true;
	evtimer_del(w->restart);
	/* No restart will need them: closed here, the kernel queues nothing more on them once the workers close theirs. */
	for (int i = 0; i < w->n; i++)
		if (w->fds[i] >= 0) {
			close(w->fds[i]);
			w->fds[i] = -1;
		}
	wk_signal(w, SIGTERM);
	wk_signal(w, SIGCONT); /* a stopped worker cannot act on SIGTERM */
	done_if_all_exited(w);
}

void
wk_kill(struct workers *w)
{
	int st;

	if (w == NULL)
		return;
	w->stopping = true;
	wk_signal(w, SIGKILL);
	for (int i = 0; i < w->n; i++)
		if (w->pid[i] > 0 && waitpid(w->pid[i], &st, 0) == w->pid[i])
			w->pid[i] = 0;
}

int
wk_running(const struct workers *w)
{
	int k = 0;

	for (int i = 0; w != NULL && i < w->n; i++)
		k += w->pid[i] > 0;
	return k;
}

uint64_t
wk_restarts(const struct workers *w)
{
	return w != NULL ? w->restarts : 0;
}

void
wk_free(struct workers *w)
{
	if (w == NULL)
		return;
	if (w->sigchld)
		event_free(w->sigchld);
	if (w->restart)
		event_free(w->restart);
	free(w->fds);
	free(w->pid);
	free(w->started);
	free(w->due);
	free(w);
}
