/* crash.h: test-only crash points: SIGKILL ourselves at a named point of the minting cycle. Inert unless set. */
#ifndef MINTD_CRASH_H
#define MINTD_CRASH_H

/*
 * MINTD_TEST_CRASH_POINT=<after_claim|after_sign|after_writeahead|after_send|after_advance_writeahead|after_confirm_before_db|
 * during_db_update> and MINTD_TEST_CRASH_AFTER=<n> (default 1) make the n-th pass through that point
 * raise(SIGKILL); with MINTD_TEST_CRASH_ACTION=stop that pass raises SIGSTOP instead (an instance frozen
 * mid-transaction, for the stalled-lock test; it runs on when continued). They exist only so the
 * crash-safety tests can stop mintd at exact places; without the variables crash_point() does nothing.
 * Read once by crash_init().
 */
void crash_init(void);
void crash_point(const char *name);
/* True when a crash point is armed (logged at start-up so nobody runs it by accident). */
const char *crash_armed(void);

#endif
