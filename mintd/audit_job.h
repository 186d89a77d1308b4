/* audit_job.h: the scheduled audit: `mintd -A --json` in a child process every MINTD_AUDIT_SECS, read back as metrics. */
#ifndef MINTD_AUDIT_JOB_H
#define MINTD_AUDIT_JOB_H

/*
 * The audit blocks on the database and walks every wallet, so it never runs on the daemon's loop: the loop
 * starts this very binary (by descriptor, opened before the privilege drop) as `mintd -A --json [-f file]`
 * with the daemon's environment, reads its one JSON document from a pipe without waiting, and reaps it on
 * SIGCHLD. The child dies with the daemon (PR_SET_PDEATHSIG), lists at most 20 mismatches (MINTD_AUDIT_MAX_LISTED
 * is overridden for it: the daemon only logs the first few and counts the rest), and is killed when it runs
 * longer than MINTD_AUDIT_SECS (at least 10 minutes): a run that does not finish, or cannot even be started
 * (no executable, no fork), is "incomplete", and counted so. Runs never overlap; the first is a minute after
 * start (sooner when MINTD_AUDIT_SECS is shorter).
 */

#include <event2/buffer.h>
#include <event2/event.h>

#include "err.h"

/* Opens our own executable (call before the privilege drop). -1 with *e set when it cannot be found. */
int auditjob_prepare(struct err *e) WUR;
/* Watches for the child on base; conf_path (may be NULL) is passed on as -f. */
int auditjob_start(struct event_base *base, const char *conf_path, struct err *e) WUR;
/* From the loop's tick: starts a run when one is due (S.audit_secs > 0). */
void auditjob_tick(void);
/* Stops a run in progress and starts no more (drain and shutdown); safe to call more than once. */
void auditjob_stop(void);
/* The mintd_audit_* metrics. */
void auditjob_metrics(struct evbuffer *b);

#endif
