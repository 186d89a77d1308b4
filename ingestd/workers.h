/* workers.h: ingestd's worker processes (INGESTD_WORKERS > 1): forked by the supervisor, restarted when they exit. */
/*
 * Ownership: wk_start's caller owns the struct workers for the life of the process (wk_free). The listening
 * sockets stay the supervisor's: a restarted worker gets the same one, so connections the kernel queued on it
 * while the worker was away are served, not refused.
 *
 * Why processes and not threads: every worker is the single-threaded ingestd that the rest of the code is
 * written for (one event loop, no locks on the request path); a crash or a stall in one worker costs only its
 * own connections while the supervisor restarts it; and SO_REUSEPORT gives each its own accept queue, spread
 * by the kernel. What must hold across workers lives in shared memory set up before the fork: the per-meter
 * and per-address rate limits (ratelim.h) and the metrics (metrics.h); the meter caches are per worker and kept true by
 * PostgreSQL's NOTIFY, which every worker listens to.
 */
#ifndef INGESTD_WORKERS_H
#define INGESTD_WORKERS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* A worker's life, in the forked child: serves fds[index] and returns the exit status. */
typedef int (*wk_run_fn)(int index, int fd, void *arg);
/* Called on the supervisor's loop once every worker has exited after wk_stop. */
typedef void (*wk_done_fn)(void *arg);

struct workers;

/*
 * Forks n workers, worker i serving fds[i] (the sockets are W's from here on; wk_stop closes them). NULL with
 * e filled when the first fork fails.
 */
struct workers *wk_start(struct event_base *base, int n, const int *fds, wk_run_fn run, wk_done_fn done, void *arg,
    struct err *e) WUR;
/* Sends sig to every running worker (SIGHUP: reload). */
void wk_signal(struct workers *w, int sig);
/* SIGTERM to every worker (each drains), no restart after; done is called when all have exited. */
void wk_stop(struct workers *w);
/* SIGKILL to every worker (a second SIGTERM to the supervisor), and waits for them. */
void wk_kill(struct workers *w);
int wk_running(const struct workers *w);
uint64_t wk_restarts(const struct workers *w);
void wk_free(struct workers *w);

#endif
