/* rstate.c: the allowed transitions of readings and mint transactions, in one table each. */
#include "rstate.h"

#include <string.h>

static const char *const rnames[RS_COUNT] = { "pending", "claimed", "submitted", "minted", "retrying", "failed",
	"waiting" };
static const char *const tnames[TX_COUNT] = { "pending", "confirmed", "failed", "expired" };

/* The migrations' reading_transitions (005, 008), row for row (test/unit/test_rstate.c checks). */
static const bool rallowed[RS_COUNT][RS_COUNT] = {
	[RS_PENDING] = { [RS_CLAIMED] = true },
	[RS_CLAIMED] = { [RS_PENDING] = true, [RS_SUBMITTED] = true, [RS_RETRYING] = true, [RS_FAILED] = true,
		[RS_WAITING] = true },
	[RS_SUBMITTED] = { [RS_MINTED] = true, [RS_RETRYING] = true, [RS_FAILED] = true, [RS_PENDING] = true },
	[RS_MINTED] = { 0 },
	[RS_RETRYING] = { [RS_CLAIMED] = true },
	[RS_FAILED] = { [RS_PENDING] = true },
	[RS_WAITING] = { [RS_CLAIMED] = true },
};

/* mint_transaction_transitions */
static const bool tallowed[TX_COUNT][TX_COUNT] = {
	[TX_PENDING] = { [TX_CONFIRMED] = true, [TX_FAILED] = true, [TX_EXPIRED] = true },
};

static int
lookup(const char *const *names, int n, const char *text, size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], text, len) == 0)
			return i;
	return -1;
}

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

int
rstate_parse(const char *text, size_t len, enum rstate *out)
{
	int i = text != NULL ? lookup(rnames, RS_COUNT, text, len) : -1;

	if (i < 0)
		return -1;
	*out = (enum rstate)i;
	return 0;
}

int
txstate_parse(const char *text, size_t len, enum txstate *out)
{
	int i = text != NULL ? lookup(tnames, TX_COUNT, text, len) : -1;

	if (i < 0)
		return -1;
	*out = (enum txstate)i;
	return 0;
}

enum rstate
rstate_public(enum rstate s)
{
	return s == RS_CLAIMED ? RS_PENDING : s;
}

bool
rstate_allowed(enum rstate from, enum rstate to)
{
	return (unsigned)from < RS_COUNT && (unsigned)to < RS_COUNT && rallowed[from][to];
}

bool
txstate_allowed(enum txstate from, enum txstate to)
{
	return (unsigned)from < TX_COUNT && (unsigned)to < TX_COUNT && tallowed[from][to];
}
