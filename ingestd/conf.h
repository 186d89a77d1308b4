/* conf.h: ingestd's configuration key table and its checks. */
#ifndef INGESTD_CONF_H
#define INGESTD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

extern const struct cfg_key ingestd_keys[];
extern const size_t ingestd_nkeys;

/* Cross-key checks beyond single values (used by -n, start-up and reload). */
void ingestd_conf_check(const struct cfg *c, struct errlist *errs);

#endif
