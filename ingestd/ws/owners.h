/* owners.h: which wallets and meters a user owns, read from PostgreSQL asynchronously, with a deadline. */
#ifndef INGESTD_WS_OWNERS_H
#define INGESTD_WS_OWNERS_H

#include "err.h"
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#define OWNERS_MAX 512 /* meters read per user */

struct owners;
struct owners_req;

/*
 * The answer: `owned` holds "wallet:<addr>" and "meter:<serial>" channel names
 * (n of them; the callee takes the array and its strings and frees them with
 * owners_list_free), or NULL with unavailable = true when PostgreSQL did not
 * answer before the deadline or could not be asked.
 */
typedef void (*owners_fn)(void *arg, char **owned, size_t n, bool unavailable);

/* A pool of `nconn` asynchronous connections (ingestd/db.c); queries wait at most timeout_ms for an answer. */
struct owners *owners_new(struct event_base *base, const char *dburl, int nconn, int timeout_ms) WUR;
void owners_free(struct owners *o);
void owners_set_timeout(struct owners *o, int timeout_ms);

/*
 * Looks up the meters of `user` (a canonical uuid). fn is called once, never
 * before this returns; NULL (and fn never called) when the database is known
 * to be unreachable right now: answer "unavailable" at once.
 */
struct owners_req *owners_lookup(struct owners *o, const char *user, owners_fn fn, void *arg) WUR;
/* fn of r will not be called. */
void owners_cancel(struct owners_req *r);
void owners_list_free(char **owned, size_t n);

#endif
