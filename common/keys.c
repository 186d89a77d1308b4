/* keys.c: checks of the shared keys that span more than one value (both daemons call it). */
#include "keys.h"
#include "amount.h"
#include "log.h"

void
keys_check_shared(const struct cfg *c, struct errlist *errs)
{
	struct amt_ratio r;
	struct err e = { 0 };
	unsigned decimals = (unsigned)cfg_int(c, "TOKENIZATION_DECIMALS");

	if (amt_parse_ratio(cfg_str(c, "TOKENIZATION_KWH_TO_TOKEN_RATIO"), &r, &e) < 0)
		errlist_add(errs, "TOKENIZATION_KWH_TO_TOKEN_RATIO: %s", e.msg);
	else if (amt_ratio_check(&r, decimals, &e) < 0)
		errlist_add(errs, "TOKENIZATION_KWH_TO_TOKEN_RATIO: with TOKENIZATION_DECIMALS=%u some readings "
		    "would not convert exactly: %s", decimals, e.msg);
	if (log_level_parse(cfg_str(c, "LOG_LEVEL")) < 0)
		errlist_add(errs, "LOG_LEVEL: unknown level");
}
