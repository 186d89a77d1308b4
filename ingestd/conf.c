/* conf.c: every ingestd configuration key with its type, default, reloadability and meaning. */
#include "conf.h"
#include "keys.h"

const struct cfg_key ingestd_keys[] = {
	CFG_KEYS_SHARED,
	{ "INGESTD_LISTEN", CFG_STR, "127.0.0.1:8080", false, "HTTP listen address host:port", 1, 0, NULL },
};
const size_t ingestd_nkeys = sizeof(ingestd_keys) / sizeof(ingestd_keys[0]);

void
ingestd_conf_check(const struct cfg *c, struct errlist *errs)
{
	keys_check_shared(c, errs);
}
