/* route.h: who may see what: channel names, subscription rights and event matching (pure functions). */
#ifndef INGESTD_WS_ROUTE_H
#define INGESTD_WS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "handshake.h"
#include "msg.h"

/* "all", "user:<id>", "wallet:<address>" or "meter:<serial>" with a sane value. */
bool wsr_channel_ok(const char *ch);

/* The channels a client may hold: its identity and the "wallet:"/"meter:" channels of its meters. */
struct ws_rights {
	const struct ws_ident *id;
	char *const *owned;
	size_t nowned;
};

bool wsr_may_subscribe(const struct ws_rights *r, const char *ch);
/*
 * True when ev is on one of `subs` and, for a user, also belongs to them (its
 * user_id is theirs, or its wallet/meter is one of theirs): a stale
 * subscription can never leak another user's events.
 */
bool wsr_match(const struct ws_rights *r, char *const *subs, size_t nsubs, const struct wsev *ev);

#endif
