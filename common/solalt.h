/* solalt.h: address lookup tables: their address, and their state as the lookup-table program stores it. */
#ifndef GTX_SOLALT_H
#define GTX_SOLALT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pubkey.h"

#define SOLALT_META_LEN 56   /* the header before the addresses */
#define SOLALT_MAX_ADDRS 256
#define SOLALT_ACTIVE UINT64_MAX /* deactivation_slot of a table that was never deactivated */

/* A table's state. addrs points into the parsed data (borrowed: valid as long as that buffer). */
struct solalt {
	uint64_t deactivation_slot;
	uint64_t last_extended_slot;
	uint8_t last_extended_start;   /* addresses usable in last_extended_slot itself (the warm-up rule) */
	bool has_authority;            /* false: frozen, never extended again */
	struct sol_pubkey authority;
	const uint8_t *addrs;          /* naddrs x 32 bytes */
	size_t naddrs;
};

/* The table's address: the PDA of seeds [authority, recent_slot u64 LE] under the lookup-table program. */
int solalt_address(const struct sol_pubkey *authority, uint64_t recent_slot, struct sol_pubkey *table,
    uint8_t *bump, struct err *e) WUR;
/*
 * Parses account data owned by the lookup-table program (the caller checks the owner): the u32 tag 1
 * (LookupTable), the header and a whole number of 32-byte addresses, at most 256.
 */
int solalt_parse(const uint8_t *data, size_t len, struct solalt *out, struct err *e) WUR;
/* How many of the table's addresses a transaction executing in slot may look up (0 when deactivated). */
size_t solalt_usable(const struct solalt *t, uint64_t slot);
/* Address i (i < naddrs). */
void solalt_addr(const struct solalt *t, size_t i, struct sol_pubkey *out);

#endif
