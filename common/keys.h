/* keys.h: configuration keys both daemons share, spliced into each daemon's key table. */
#ifndef GTX_KEYS_H
#define GTX_KEYS_H

#include "config.h"

#define CFG_KEYS_SHARED                                                                               \
	{ "LOG_LEVEL", CFG_ENUM, "info", true, "log verbosity", 0, 0, "error|warning|notice|info|debug" }, \
	{ "DATABASE_URL", CFG_SECRET, NULL, false,                                                    \
	  "PostgreSQL connection URL (libpq syntax; may hold a password, never logged)", 1, 0, NULL },  \
	{ "REDIS_URL", CFG_SECRET, "redis://127.0.0.1:6379/0", false,                                 \
	  "Redis URL redis://[:password@]host:port[/db] (never logged)", 1, 0, NULL },                 \
	{ "REDIS_READINGS_STREAM", CFG_STR, "gridtokenx:readings", false,                             \
	  "Redis stream that carries accepted reading ids to mintd", 1, 0, NULL },                     \
	{ "REDIS_EVENTS_PREFIX", CFG_STR, "gridtokenx:events", false,                                 \
	  "Redis pub/sub channel (and ':wallet:', ':user:', ':meter:' sub-channels) for events", 1, 0, NULL }, \
	{ "REDIS_EVENTS_STREAM_MAXLEN", CFG_INT, "100000", true,                                      \
	  "approximate length of the capped events stream (catch-up for offline consumers)", 100, 100000000, NULL }, \
	{ "SQL_DIR", CFG_STR, GTX_SHAREDIR "/sql", false,                                             \
	  "directory of numbered migration files applied by -m", 1, 0, NULL },                         \
	{ "TOKENIZATION_KWH_TO_TOKEN_RATIO", CFG_DECIMAL, "1.0", false,                               \
	  "tokens minted per kWh, an exact decimal", 0, 0, NULL },                                     \
	{ "TOKENIZATION_DECIMALS", CFG_INT, "9", false, "decimals of the token mint", 0, 18, NULL },   \
	{ "TOKENIZATION_BATCH_SIZE", CFG_INT, "2000", true,                                            \
	  "readings mintd claims at most per batch (ingestd shows it in its status route)", 1, 5000, NULL }, \
	{ "TOKENIZATION_POLLING_INTERVAL_SECS", CFG_INT, "60", true,                                   \
	  "seconds between mintd's sweeps of PostgreSQL for readings the stream never delivered and due retries", \
	  1, 86400, NULL },                                                                             \
	{ "RUN_AS_USER", CFG_STR, "", false,                                                          \
	  "user to switch to when started as root (the daemons refuse to run as root otherwise)", 0, 0, NULL }

/* Cross-key checks of the shared keys (token ratio exactness, log level). */
void keys_check_shared(const struct cfg *c, struct errlist *errs);

#endif
