/* solnonce.c: parsing durable-nonce account state (solnonce.h). */
#include "solnonce.h"

#include <string.h>

static uint32_t
u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int
solnonce_parse(const uint8_t *d, size_t len, struct solnonce *out, struct err *e)
{
	uint32_t version, state;

	if (d == NULL || len != SOLNONCE_ACCOUNT_LEN)
		return err_set(e, 1, "nonce account: %zu bytes, not %d", len, SOLNONCE_ACCOUNT_LEN);
	version = u32le(d);
	state = u32le(d + 4);
	if (version > 1)
		return err_set(e, 1, "nonce account: unknown version %u", version);
	if (state != 1)
		return err_set(e, 1, "nonce account: not initialized (state %u)", state);
	memcpy(out->authority.b, d + 8, 32);
	memcpy(out->value.b, d + 40, 32);
	out->lamports_per_signature = 0;
	for (int i = 7; i >= 0; i--)
		out->lamports_per_signature = out->lamports_per_signature << 8 | d[72 + i];
	return 0;
}
