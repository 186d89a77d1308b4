/* conf.c: every mintd configuration key with its type, default, reloadability and meaning. */
#include "conf.h"
#include "keys.h"

const struct cfg_key mintd_keys[] = {
	CFG_KEYS_SHARED,
	{ "SOLANA_RPC_URL", CFG_STR, "http://127.0.0.1:8899", false, "Solana JSON-RPC endpoint", 1, 0, NULL },
};
const size_t mintd_nkeys = sizeof(mintd_keys) / sizeof(mintd_keys[0]);

void
mintd_conf_check(const struct cfg *c, struct errlist *errs)
{
	keys_check_shared(c, errs);
}
