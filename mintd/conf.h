/* conf.h: mintd's configuration key table. */
#ifndef MINTD_CONF_H
#define MINTD_CONF_H

#include "config.h"

extern const struct cfg_key mintd_keys[];
extern const size_t mintd_nkeys;

/* Cross-key checks beyond single values (used by -n, start-up and reload). */
void mintd_conf_check(const struct cfg *c, struct errlist *errs);

#endif
