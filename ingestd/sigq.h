/*
 * sigq.h: signature checks gathered over one turn of the event loop and verified together (common/edbatch.c:
 * a batch costs about half of checking each alone). Every request read in one turn, single readings and a
 * batch's items alike, is checked at the end of that turn: no added wait beyond the turn itself.
 */
#ifndef INGESTD_SIGQ_H
#define INGESTD_SIGQ_H

#include "edbatch.h"
#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sigq;

/* The verdict on one queued signature. */
typedef void (*sigq_fn)(bool ok, void *arg);

/* NULL when out of memory; needs edb_init to have succeeded (main checks it at start-up). */
struct sigq *sigq_new(struct event_base *base) WUR;
/* Queued checks are dropped unanswered (at exit, after the loop stopped). */
void sigq_free(struct sigq *q);

/*
 * Queues a check of sig (64 bytes) over msg with pk (32 bytes), which key holds decoded (edb_key_init); all
 * are copied. fn is called once, from
 * the loop, never before sigq_add returns; in the order the checks were queued. -1 when out of memory (then
 * fn is never called).
 */
int sigq_add(struct sigq *q, const uint8_t *sig, const uint8_t *pk, const struct edb_key *key, const char *msg,
    size_t len, sigq_fn fn, void *arg) WUR;

#endif
