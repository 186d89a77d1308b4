/* rpcm.h: an asynchronous Solana JSON-RPC client on a libevent loop (libcurl multi): many calls in flight,
 * the loop never waits on the network, and a 429 holds back everything queued behind it (Retry-After). */
#ifndef GTX_RPCM_H
#define GTX_RPCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "err.h"
#include "rpctypes.h"

struct rpcm;

struct rpcm_opts {
	long connect_timeout_ms; /* 0 = 5000 */
	long timeout_ms;         /* one request on the wire; 0 = 15000 */
	int max_inflight;        /* requests on the wire at once; 0 = 16; the rest wait in order */
	int rate_limit_retries;  /* a 429'd call is queued again (after the hold) this many times; 0 = report at once */
	uint64_t max_hold_ms;    /* cap of a hold (Retry-After or backoff); 0 = 30000 */
};

/* The answer to one call, valid only during the callback. */
struct rpcm_reply {
	const char *method;
	bool cancelled;            /* rpcm_free ran: free the callback's argument, touch nothing else */
	const cJSON *result;       /* on success: the result member (exact numbers, see rpcjson_parse) */
	const struct rpc_error *x; /* kind RPC_E_NONE on success */
	const struct err *e;       /* on failure: one line naming the method and the node (scheme://host:port) */
	uint64_t queued_us;        /* time spent waiting for a slot or a rate-limit hold */
	uint64_t wire_us;          /* time on the wire */
};

/*
 * The callback runs exactly once per accepted call, from the event loop (never from inside rpcm_call),
 * with the reply; it may start new calls. The callback owns `arg`.
 */
typedef void (*rpcm_cb)(void *arg, const struct rpcm_reply *r);

/* A client for url (http or https) on base. NULL with *e set when the url or libcurl is unusable. */
struct rpcm *rpcm_new(struct event_base *base, const char *url, const struct rpcm_opts *o, struct err *e) WUR;
/* Ends every queued and in-flight call with a `cancelled` reply, then frees the client. NULL is a no-op. */
void rpcm_free(struct rpcm *c);

/*
 * Queues method(params) (params consumed; NULL means the caller's arguments were unusable). Returns 0, or
 * -1 with *e set when the call could not be queued (then cb is not called and the caller keeps arg).
 */
int rpcm_call(struct rpcm *c, const char *method, cJSON *params, rpcm_cb cb, void *arg, struct err *e) WUR;

/* Calls queued or on the wire. */
size_t rpcm_pending(const struct rpcm *c);
/* scheme://host:port, safe to log. */
const char *rpcm_display_url(const struct rpcm *c);
/* Milliseconds left of the current rate-limit hold (0 when none). */
uint64_t rpcm_hold_ms(const struct rpcm *c);

/* Counters since start, for metrics. errors[k] counts failed calls of kind k (rate-limited retries included). */
struct rpcm_stats {
	uint64_t calls;     /* accepted by rpcm_call */
	uint64_t requests;  /* HTTP requests sent (retries after a 429 included) */
	uint64_t errors[RPC_E_COUNT];
};
void rpcm_stats(const struct rpcm *c, struct rpcm_stats *out);

#endif
