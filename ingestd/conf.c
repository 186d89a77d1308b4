/* conf.c: every ingestd configuration key with its type, default, reloadability and meaning. */
#include "conf.h"
#include "keys.h"
#include "wsserver.h"

const struct cfg_key ingestd_keys[] = {
	CFG_KEYS_SHARED,
	{ "INGESTD_LISTEN", CFG_STR, "127.0.0.1:8080", false, "HTTP listen address host:port", 1, 0, NULL },
	/* the WebSocket events service (ingestd/ws*.c) */
	{ "WEBSOCKET_LISTEN", CFG_STR, "127.0.0.1:8081", false, "WebSocket listen address host:port (GET /ws)", 1, 0, NULL },
	{ "WEBSOCKET_AUTH_REQUIRED", CFG_BOOL, "true", true,
	  "refuse WebSocket clients without a valid JWT or admin token (401 before the upgrade)", 0, 0, NULL },
	{ "JWT_SECRET", CFG_SECRET, "", true, "HS256 secret of the platform's login JWTs (>= 32 bytes; never logged)", 0, 0, NULL },
	{ "ADMIN_TOKEN_SHA256", CFG_STR, "", true, "hex SHA-256 of the admin bearer token (the token itself is never stored)", 0, 0, NULL },
	{ "WEBSOCKET_MAX_CONNECTIONS", CFG_INT, "10000", true, "WebSocket clients at once; more get 503", 1, 1000000, NULL },
	{ "WEBSOCKET_RATE_LIMIT_EVENTS_PER_MINUTE", CFG_INT, "120", true,
	  "client messages (and pings) per connection per minute; more closes it with 1008", 1, 1000000, NULL },
	{ "WEBSOCKET_EVENT_BUFFER_SIZE", CFG_INT, "1000", true,
	  "events queued per client; a client further behind is closed with 4000 (slow consumer)", 1, 1000000, NULL },
	{ "WEBSOCKET_MAX_MESSAGE_BYTES", CFG_INT, "65536", true,
	  "largest client message (after reassembly); larger closes with 1009", 125, 16777216, NULL },
	{ "WEBSOCKET_PING_INTERVAL_MS", CFG_INT, "30000", true,
	  "ping idle clients this often; one unanswered interval drops them", 100, 3600000, NULL },
};
const size_t ingestd_nkeys = sizeof(ingestd_keys) / sizeof(ingestd_keys[0]);

void
ingestd_conf_check(const struct cfg *c, struct errlist *errs)
{
	keys_check_shared(c, errs);
	wss_conf_check(c, errs);
}
