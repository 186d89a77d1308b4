/*
 * wsproc.c: the WebSocket service's process: ingestd binds the listener, starts ingestd-ws with it as
 * descriptor 3 (GTX_WS_LISTEN_FD), restarts it with backoff whenever it exits, and stops it on drain.
 */
#include "wsproc.h"

#include "backoff.h"
#include "childenv.h"
#include "log.h"
#include "ts.h"
#include "xmalloc.h"

#include <errno.h>
#include <event2/util.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WS_FD 3
#define PROG_FD 4 /* ingestd-ws itself, in the child until the exec */
#define STABLE_US (10 * 1000000LL) /* a service that ran this long restarts without backoff */

extern char **environ;

struct wsproc {
	struct event_base *base;
	int lfd;
	int prog_fd;         /* ingestd-ws, opened before the privilege drop (its directory may be closed to us after) */
	char prog[PATH_MAX];
	char *argv[8];
	char **envp;
	pid_t pid;
	bool stopping;
	struct event *sigchld, *restart;
	struct backoff bo;
	int64_t started_us;
	uint64_t restarts;
};

static int
bind_listener(const char *addr, struct err *e)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), one = 1, fd;

	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) < 0)
		return err_set(e, 0, "WEBSOCKET_LISTEN %s: not host:port", addr);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(e, 0, "socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0 || listen(fd, 1024) < 0) {
		err_set(e, 0, "listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The environment of the service: ours, without systemd's notify variables (only ingestd talks to systemd). */
static char **
child_env(void)
{
	static const char *const drop[] = { "NOTIFY_SOCKET=", "WATCHDOG_", "GTX_WS_LISTEN_FD=" };

	return childenv_new(environ, drop, sizeof(drop) / sizeof(drop[0]), xstrdup("GTX_WS_LISTEN_FD=3"));
}

/* In the child, between fork and exec: only what is safe there (we are single-threaded). */
static void __attribute__((noreturn))
exec_child(struct wsproc *w, pid_t parent)
{
	int prog;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	/* Out of the way first: the listener and the program may sit on the descriptors they move to. */
	if ((prog = fcntl(w->prog_fd, F_DUPFD_CLOEXEC, 16)) < 0)
		_exit(126);
	if (w->lfd == WS_FD) {
		if (fcntl(WS_FD, F_SETFD, 0) < 0)
			_exit(126);
	} else if (dup2(w->lfd, WS_FD) < 0) {
		_exit(126);
	}
	/* The program's descriptor goes to PROG_FD, close-on-exec: the service never sees it. */
	if (dup3(prog, PROG_FD, O_CLOEXEC) < 0)
		_exit(126);
	/* Nothing else of ours crosses over: client sockets, database and Redis connections stay with ingestd. */
	if (syscall(SYS_close_range, PROG_FD + 1, ~0U, 0) < 0)
		for (long fd = PROG_FD + 1, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
			close((int)fd);
	/* By descriptor: after the privilege drop the path may not be reachable (a checkout under a 0700 home). */
	fexecve(PROG_FD, w->argv, w->envp);
	_exit(127);
}

static void
spawn(struct wsproc *w)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0)
		exec_child(w, parent);
	if (pid < 0) {
		uint32_t ms = backoff_next(&w->bo);
		struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

		log_err("websocket service not started; retrying", "err=%s retry_ms=%u", strerror(errno), ms);
		evtimer_add(w->restart, &tv);
		return;
	}
	w->pid = pid;
	w->started_us = ts_mono_us();
	log_notice("websocket service started", "prog=%s pid=%d", w->prog, (int)pid);
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct wsproc *w = arg;

	(void)fd, (void)what;
	if (!w->stopping && w->pid == 0)
		spawn(w);
}

static void
describe(int st, char *buf, size_t n)
{
	if (WIFSIGNALED(st))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
}

static void
on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct wsproc *w = arg;
	char how[64];
	uint32_t ms;
	int st;

	(void)fd, (void)what;
	if (w->pid <= 0 || waitpid(w->pid, &st, WNOHANG) != w->pid)
		return; /* stopped or continued (SIGSTOP/SIGCONT), or not ours */
	w->pid = 0;
	describe(st, how, sizeof(how));
	if (w->stopping) {
		log_notice("websocket service stopped", "how=%s", how);
		return;
	}
	if (ts_mono_us() - w->started_us > STABLE_US)
		backoff_reset(&w->bo);
	ms = backoff_next(&w->bo);
	w->restarts++;
	log_warn("websocket service died; meters are not affected; restarting it", "how=%s retry_ms=%u", how, ms);
	{
		struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

		evtimer_add(w->restart, &tv);
	}
}

/* ingestd-ws next to the running ingestd (build/rel/, /usr/local/bin/, ...). */
static int
find_program(char *out, size_t n, struct err *e)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (len <= 0)
		return err_set(e, 0, "cannot find our own executable (/proc/self/exe): %s", strerror(errno));
	self[len] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return err_set(e, 0, "odd executable path %s", self);
	*slash = '\0';
	if ((size_t)snprintf(out, n, "%s/ingestd-ws", self) >= n)
		return err_set(e, 0, "path too long");
	if (access(out, X_OK) < 0)
		return err_set(e, 0, "%s: %s (install it next to ingestd)", out, strerror(errno));
	return 0;
}

struct wsproc *
wsproc_new(struct event_base *base, const struct cfg *c, struct err *e)
{
	char prog[PATH_MAX];
	struct wsproc *w;
	int fd, pfd;

	if (find_program(prog, sizeof(prog), e) < 0)
		return NULL;
	if ((pfd = open(prog, O_RDONLY | O_CLOEXEC)) < 0) {
		err_set(e, 0, "%s: %s", prog, strerror(errno));
		return NULL;
	}
	if ((fd = bind_listener(cfg_str(c, "WEBSOCKET_LISTEN"), e)) < 0) {
		close(pfd);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->base = base;
	w->lfd = fd;
	w->prog_fd = pfd;
	snprintf(w->prog, sizeof(w->prog), "%s", prog);
	backoff_init(&w->bo, 100, 5000);
	return w;
}

int
wsproc_start(struct wsproc *w, const char *conf_path, int verbose, bool foreground, struct err *e)
{
	int a = 0;

	w->argv[a++] = xstrdup(w->prog);
	if (foreground)
		w->argv[a++] = xstrdup("-d");
	if (conf_path != NULL) {
		w->argv[a++] = xstrdup("-f");
		w->argv[a++] = xstrdup(conf_path);
	}
	for (int i = 0; i < verbose && i < 2; i++)
		w->argv[a++] = xstrdup("-v");
	w->argv[a] = NULL;
	w->envp = child_env();
	w->sigchld = evsignal_new(w->base, SIGCHLD, on_sigchld, w);
	w->restart = evtimer_new(w->base, on_restart, w);
	if (w->sigchld == NULL || w->restart == NULL || event_add(w->sigchld, NULL) < 0)
		return err_set(e, 0, "cannot watch the websocket service");
	spawn(w);
	return 0;
}

void
wsproc_reload(struct wsproc *w)
{
	if (w != NULL && w->pid > 0)
		kill(w->pid, SIGHUP);
}

void
wsproc_terminate(struct wsproc *w)
{
	if (w == NULL)
		return;
	w->stopping = true;
	if (w->pid > 0) {
		kill(w->pid, SIGTERM);
		kill(w->pid, SIGCONT); /* a stopped service cannot act on SIGTERM */
	}
}

void
wsproc_stop(struct wsproc *w, int timeout_ms)
{
	int st;

	if (w == NULL)
		return;
	if (w->pid > 0) {
		wsproc_terminate(w);
		for (int waited = 0; waited < timeout_ms && waitpid(w->pid, &st, WNOHANG) == 0; waited += 10)
			usleep(10000);
		if (kill(w->pid, 0) == 0 && waitpid(w->pid, &st, WNOHANG) == 0) {
			log_warn("websocket service did not stop in time; killing it", "timeout_ms=%d", timeout_ms);
			kill(w->pid, SIGKILL);
			waitpid(w->pid, &st, 0);
		}
		w->pid = 0;
	}
	if (w->sigchld)
		event_free(w->sigchld);
	if (w->restart)
		event_free(w->restart);
	for (size_t i = 0; w->argv[i] != NULL; i++)
		free(w->argv[i]);
	if (w->envp != NULL) {
		for (size_t i = 0; w->envp[i] != NULL; i++)
			if (strcmp(w->envp[i], "GTX_WS_LISTEN_FD=3") == 0)
				free(w->envp[i]);
		free(w->envp);
	}
	close(w->lfd);
	close(w->prog_fd);
	free(w);
}

bool
wsproc_running(const struct wsproc *w)
{
	return w != NULL && w->pid > 0;
}

uint64_t
wsproc_restarts(const struct wsproc *w)
{
	return w != NULL ? w->restarts : 0;
}
