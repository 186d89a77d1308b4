/* solalt.c: lookup-table addresses and account state (solalt.h). */
#include "solalt.h"
#include "pda.h"

#include <string.h>

static uint64_t
u64le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int
solalt_address(const struct sol_pubkey *authority, uint64_t recent_slot, struct sol_pubkey *table, uint8_t *bump,
    struct err *e)
{
	uint8_t slot[8];
	const uint8_t *seeds[2] = { authority->b, slot };
	const size_t lens[2] = { 32, 8 };

	for (int i = 0; i < 8; i++)
		slot[i] = (uint8_t)(recent_slot >> (8 * i));
	return pda_find(seeds, lens, 2, &pubkey_alt_program, table, bump, e);
}

int
solalt_parse(const uint8_t *d, size_t len, struct solalt *out, struct err *e)
{
	if (d == NULL || len < SOLALT_META_LEN)
		return err_set(e, 1, "lookup table: %zu bytes, shorter than its %d-byte header", len, SOLALT_META_LEN);
	if (d[0] != 1 || d[1] != 0 || d[2] != 0 || d[3] != 0)
		return err_set(e, 1, "lookup table: state tag %u, not 1 (LookupTable)", d[0]);
	if ((len - SOLALT_META_LEN) % 32 != 0 || (len - SOLALT_META_LEN) / 32 > SOLALT_MAX_ADDRS)
		return err_set(e, 1, "lookup table: %zu address bytes, not a whole number of at most %d addresses",
		    len - SOLALT_META_LEN, SOLALT_MAX_ADDRS);
	if (d[21] > 1)
		return err_set(e, 1, "lookup table: bad authority option tag %u", d[21]);
	out->deactivation_slot = u64le(d + 4);
	out->last_extended_slot = u64le(d + 12);
	out->last_extended_start = d[20];
	out->has_authority = d[21] == 1;
	memcpy(out->authority.b, d + 22, 32);
	out->addrs = d + SOLALT_META_LEN;
	out->naddrs = (len - SOLALT_META_LEN) / 32;
	return 0;
}

size_t
solalt_usable(const struct solalt *t, uint64_t slot)
{
	if (t->deactivation_slot != SOLALT_ACTIVE)
		return 0; /* deactivating tables stay usable for a while; mintd never relies on one */
	if (slot <= t->last_extended_slot)
		return t->last_extended_start < t->naddrs ? t->last_extended_start : t->naddrs;
	return t->naddrs;
}

void
solalt_addr(const struct solalt *t, size_t i, struct sol_pubkey *out)
{
	memcpy(out->b, t->addrs + 32 * i, 32);
}
