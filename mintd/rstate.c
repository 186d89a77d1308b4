/* rstate.c: the allowed transitions of readings and mint transactions, in one table each. */
#include "rstate.h"

static const char *const rnames[RS_COUNT] = { "pending", "claimed", "submitted", "minted", "retrying", "failed" };
static const char *const tnames[TX_COUNT] = { "pending", "confirmed", "failed", "expired" };

static const bool rallowed[RS_COUNT][RS_COUNT] = {
	[RS_PENDING] = { [RS_CLAIMED] = true },
	[RS_CLAIMED] = { [RS_PENDING] = true, [RS_SUBMITTED] = true, [RS_RETRYING] = true, [RS_FAILED] = true },
	[RS_SUBMITTED] = { [RS_MINTED] = true, [RS_RETRYING] = true, [RS_FAILED] = true, [RS_PENDING] = true },
	[RS_MINTED] = { 0 },
	[RS_RETRYING] = { [RS_CLAIMED] = true },
	[RS_FAILED] = { [RS_PENDING] = true },
};

const char *
rstate_name(enum rstate s)
{
	return (unsigned)s < RS_COUNT ? rnames[s] : "?";
}

const char *
txstate_name(enum txstate s)
{
	return (unsigned)s < TX_COUNT ? tnames[s] : "?";
}

bool
rstate_allowed(enum rstate from, enum rstate to)
{
	return (unsigned)from < RS_COUNT && (unsigned)to < RS_COUNT && rallowed[from][to];
}

bool
txstate_allowed(enum txstate from, enum txstate to)
{
	return from == TX_PENDING && (to == TX_CONFIRMED || to == TX_FAILED || to == TX_EXPIRED);
}
