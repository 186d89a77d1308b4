/* main.c: ingestd-ws entry point: the WebSocket events service as its own process, started by ingestd. */
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "privdrop.h"
#include "service.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

static struct event_base *base;
static struct svc *S;
static struct cfg *C;
static const char *conf_path;
static int verbose;

static enum log_level
level_of(const struct cfg *c)
{
	int l = log_level_parse(cfg_str(c, "LOG_LEVEL")) + verbose;

	return (enum log_level)(l > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : l);
}

static void
reload(void)
{
	struct cfg *c = cfg_new(ingestd_keys, ingestd_nkeys);
	struct errlist errs = { 0 };

	if (cfg_load(c, conf_path, environ, &errs) < 0 || (ingestd_conf_check(c, &errs), errs.n > 0) ||
	    cfg_diff_fixed(C, c, &errs) > 0) {
		/* ingestd has logged the errors already: it forwards SIGHUP only after its own reload worked */
		for (size_t i = 0; i < errs.n; i++)
			log_err("reload: configuration error", "err=%s", errs.v[i]);
		log_err("reload refused: keeping the previous configuration");
		errlist_free(&errs);
		cfg_free(c);
		return;
	}
	errlist_free(&errs);
	log_set_level(level_of(c));
	svc_reload(S, c);
	cfg_free(C);
	C = c;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what, (void)arg;
	if (sig == SIGHUP) {
		reload();
		return;
	}
	log_notice("closing clients", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(base);
}

/* The listening socket: inherited from ingestd (GTX_WS_LISTEN_FD), or bound here when run on its own. */
static evutil_socket_t
listener(const struct cfg *c)
{
	const char *inherited = getenv("GTX_WS_LISTEN_FD");
	struct sockaddr_storage ss;
	int len = sizeof(ss), one = 1;
	evutil_socket_t fd;

	if (inherited != NULL && inherited[0] != '\0') {
		fd = atoi(inherited);
		if (fd < 3 || evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0)
			fatal("GTX_WS_LISTEN_FD is not a usable socket", "fd=%s", inherited);
		return fd;
	}
	if (evutil_parse_sockaddr_port(cfg_str(c, "WEBSOCKET_LISTEN"), (struct sockaddr *)&ss, &len) < 0)
		fatal("bad configuration: not host:port", "key=WEBSOCKET_LISTEN listen=%s", cfg_str(c, "WEBSOCKET_LISTEN"));
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0 || listen(fd, 1024) < 0)
		fatal("cannot listen", "listen=%s err=%s", cfg_str(c, "WEBSOCKET_LISTEN"), strerror(errno));
	return fd;
}

int
main(int argc, char **argv)
{
	const struct cli_prog p = { "ingestd-ws", "ingestd-ws: the WebSocket events service of ingestd (started by it)",
		ingestd_keys, ingestd_nkeys, ingestd_conf_check, /* audit= */ NULL };
	struct cli_opts o;
	struct event *sigs[3];
	int signums[3] = { SIGTERM, SIGINT, SIGHUP }, rc;
	evutil_socket_t fd;
	struct err e = { 0 };

	if (!cli_boot(argc, argv, environ, &p, &o, &C, &rc))
		return rc;
	conf_path = o.conf_path;
	verbose = o.verbose;
	/* ingestd gone: go too (its listening socket is ours alone then, and nobody restarts us) */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getenv("GTX_WS_LISTEN_FD") != NULL && getppid() == 1)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	log_open("ingestd-ws", level_of(C), o.foreground || getenv("JOURNAL_STREAM") != NULL);
	if (sodium_init() < 0)
		fatal("libsodium failed to initialize");
	fd = listener(C);
	if (priv_drop(cfg_str(C, "RUN_AS_USER"), &e) < 0)
		fatal("cannot drop privileges", "err=%s", e.msg);
	if ((base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	if ((S = svc_new(base, C, fd, &e)) == NULL)
		fatal("websocket service not set up", "err=%s", e.msg);
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signums[i], on_signal, NULL);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatal("cannot install signal handlers");
	}
	log_notice("serving GET /ws", "listen=%s pid=%d events=%s", cfg_str(C, "WEBSOCKET_LISTEN"),
	    (int)getpid(), cfg_str(C, "REDIS_EVENTS_PREFIX"));
	event_base_dispatch(base);
	svc_free(S);
	for (int i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(base);
	cfg_free(C);
	log_notice("websocket service exiting");
	return 0;
}
