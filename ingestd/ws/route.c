/*
 * route.c: who may see what. A user may subscribe to user:<own id> and to wallet:/meter: channels of the
 * meters they own (meters.user_id, read from PostgreSQL at connect and again on a subscribe miss); an admin
 * to anything, including "all". Every delivered event must also belong to the user (its user_id is theirs,
 * or its wallet/meter is one of theirs), so a stale subscription can never leak another user's events.
 */
#include "route.h"

#include <ctype.h>
#include <string.h>

bool
wsr_channel_ok(const char *ch)
{
	const char *v;

	if (strcmp(ch, "all") == 0)
		return true;
	if (strncmp(ch, "user:", 5) == 0)
		v = ch + 5;
	else if (strncmp(ch, "wallet:", 7) == 0)
		v = ch + 7;
	else if (strncmp(ch, "meter:", 6) == 0)
		v = ch + 6;
	else
		return false;
	if (*v == '\0' || strlen(v) > 64)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && !strchr("-._:", *v))
			return false;
	return true;
}

static bool
owned_has(const struct ws_rights *r, const char *kind, const char *v)
{
	size_t kl = strlen(kind);

	for (size_t i = 0; i < r->nowned; i++)
		if (strncmp(r->owned[i], kind, kl) == 0 && strcmp(r->owned[i] + kl, v) == 0)
			return true;
	return false;
}

bool
wsr_may_subscribe(const struct ws_rights *r, const char *ch)
{
	if (r->id->admin)
		return true;
	if (strcmp(ch, "all") == 0)
		return false;
	if (strncmp(ch, "user:", 5) == 0)
		return r->id->user[0] && strcmp(ch + 5, r->id->user) == 0;
	for (size_t i = 0; i < r->nowned; i++)
		if (strcmp(r->owned[i], ch) == 0)
			return true;
	return false;
}

bool
wsr_match(const struct ws_rights *r, char *const *subs, size_t nsubs, const struct wsev *ev)
{
	bool hit = false;

	for (size_t i = 0; i < nsubs && !hit; i++) {
		const char *ch = subs[i];

		if (strcmp(ch, "all") == 0)
			hit = true;
		else if (strncmp(ch, "user:", 5) == 0)
			hit = ev->user_id && strcmp(ev->user_id, ch + 5) == 0;
		else if (strncmp(ch, "wallet:", 7) == 0)
			hit = ev->wallet && strcmp(ev->wallet, ch + 7) == 0;
		else if (strncmp(ch, "meter:", 6) == 0)
			hit = ev->meter && strcmp(ev->meter, ch + 6) == 0;
	}
	if (!hit || r->id->admin)
		return hit;
	return (ev->user_id && r->id->user[0] && strcmp(ev->user_id, r->id->user) == 0) ||
	    (ev->wallet && owned_has(r, "wallet:", ev->wallet)) || (ev->meter && owned_has(r, "meter:", ev->meter));
}
