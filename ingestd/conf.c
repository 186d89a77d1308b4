/* conf.c: every ingestd configuration key with its type, default, reloadability and meaning. */
#include "conf.h"
#include "admintok.h"
#include "amount.h"
#include "keys.h"

#include <event2/util.h>
#include <string.h>
#include <sys/socket.h>

const struct cfg_key ingestd_keys[] = {
	CFG_KEYS_SHARED,
	{ "INGESTD_LISTEN", CFG_STR, "127.0.0.1:8080", false, "HTTP listen address host:port", 1, 0, NULL },
	{ "INGESTD_WORKERS", CFG_INT, "0", false,
	  "worker processes serving meters, each with its own SO_REUSEPORT listener (0: one per CPU core); per-meter "
	  "and per-address request rates and /metrics are shared by all of them, the connection limits below hold per "
	  "worker", 0, 1024, NULL },
	{ "INGESTD_MAX_CONNECTIONS", CFG_INT, "10000", true,
	  "open HTTP connections beyond which new ones are closed (ingestd raises its descriptor limit to fit)", 1, 1000000, NULL },
	{ "INGESTD_MAX_CONNECTIONS_PER_ADDR", CFG_INT, "512", true,
	  "open HTTP connections per client address (IPv4 address, IPv6 /64) beyond which new ones are closed", 1, 1000000, NULL },
	{ "INGESTD_ADDR_RATE_PER_SEC", CFG_INT, "1000", true,
	  "HTTP requests per second per client address, counted on the request head before any other check (429 above)", 1, 10000000, NULL },
	{ "INGESTD_ADDR_RATE_BURST", CFG_INT, "2000", true,
	  "requests a client address may make at once before INGESTD_ADDR_RATE_PER_SEC applies", 1, 10000000, NULL },
	{ "INGESTD_HEADER_TIMEOUT_SECS", CFG_INT, "10", true,
	  "total seconds for a request head (from the connection, or from the request's first byte); then 408 and close", 1, 600, NULL },
	{ "INGESTD_BODY_TIMEOUT_SECS", CFG_INT, "60", true,
	  "total seconds for a request body once its head is read; then 408 and close", 1, 3600, NULL },
	{ "INGESTD_IDLE_TIMEOUT_SECS", CFG_INT, "60", true,
	  "seconds a keep-alive connection may wait between requests, and a response may sit unread", 1, 3600, NULL },
	{ "INGESTD_WRITE_HIGH_WATERMARK_BYTES", CFG_INT, "262144", true,
	  "unsent response bytes on a connection above which its further requests are not read until they are sent", 4096, 67108864, NULL },
	{ "INGESTD_MAX_PIPELINED_REQUESTS", CFG_INT, "16", true,
	  "unsent responses on a connection above which its further (pipelined) requests are not read", 1, 1024, NULL },
	{ "INGESTD_BODY_BUDGET_BYTES", CFG_INT, "134217728", true,
	  "request body bytes buffered at once over all connections, with what batch readings cost while they wait "
	  "(up to 2 KiB each); beyond it 503 with Retry-After", 65536, 68719476736, NULL },
	{ "INGESTD_MAX_BODY_BYTES", CFG_INT, "1048576", true, "largest request body of the batch route (413 above)", 1024, 67108864, NULL },
	{ "INGESTD_MAX_READING_BODY_BYTES", CFG_INT, "16384", true, "largest request body of every other route (413 above)", 256, 1048576, NULL },
	{ "INGESTD_BATCH_MAX_READINGS", CFG_INT, "1000", true, "most readings in one batch request", 1, 100000, NULL },
	{ "INGESTD_DB_CONNECTIONS", CFG_INT, "4", false, "PostgreSQL connections (group commits run on them concurrently)", 1, 64, NULL },
	{ "INGESTD_GROUP_COMMIT_MAX_ROWS", CFG_INT, "2000", true, "most readings written by one group-commit INSERT", 1, 20000, NULL },
	{ "INGESTD_GROUP_COMMIT_CONCURRENCY", CFG_INT, "2", true,
	  "group-commit INSERTs running at once (while they run, new readings gather into the next group)", 1, 64, NULL },
	{ "INGESTD_GROUP_COMMIT_MIN_ROWS", CFG_INT, "64", true,
	  "readings a group needs to start while another group commits (a lone group starts at once)", 1, 20000, NULL },
	{ "INGESTD_DB_MAX_QUEUE", CFG_INT, "10000", true, "queued database jobs beyond which requests get 503", 10, 1000000, NULL },
	{ "INGESTD_METER_CACHE_MAX", CFG_INT, "1000000", false, "meters kept in memory", 100, 100000000, NULL },
	{ "INGESTD_UNKNOWN_METER_CACHE_MAX", CFG_INT, "100000", false,
	  "unregistered serials remembered (oldest forgotten first; they never push registered meters out)", 100, 100000000, NULL },
	{ "INGESTD_UNKNOWN_METER_TTL_SECS", CFG_INT, "5", true,
	  "seconds an unregistered serial is answered 404 from memory (registering through the API ends it at once)", 1, 3600, NULL },
	{ "INGESTD_METER_RATE_PER_MIN", CFG_INT, "60", true, "sustained submissions per meter per minute (429 above)", 1, 100000000, NULL },
	{ "INGESTD_METER_RATE_BURST", CFG_INT, "10", true,
	    "submissions a meter may make at once before the rate applies (each reading of a batch counts: "
	    "a meter's backlog after an outage, a day at 15 minutes, is 96)", 1, 100000000, NULL },
	{ "REDIS_READINGS_STREAM_MAXLEN", CFG_INT, "1000000", true,
	  "approximate length of the readings stream, the bound while mintd is away (it deletes what it settles; "
	  "a reading whose id is trimmed unread is swept from PostgreSQL)", 1000, 1000000000, NULL },
	{ "INGESTD_REDIS_BACKLOG", CFG_INT, "100000", false, "reading ids kept in memory while Redis is unreachable", 0, 100000000, NULL },
	{ "INGESTD_REDIS_MAX_INFLIGHT", CFG_INT, "50000", false, "reading ids and events sent to Redis and not yet answered, beyond which ids wait in the backlog (events are dropped)", 100, 10000000, NULL },
	{ "INGESTD_RETRY_AFTER_SECS", CFG_INT, "2", true, "Retry-After of 503 answers", 1, 3600, NULL },
	{ "ADMIN_TOKEN_SHA256", CFG_STR, "", true,
	  "comma-separated hex SHA-256 digests of the accepted admin bearer tokens (empty: admin API closed)", 0, 0, NULL },
	{ "TOKENIZATION_MAX_READING_KWH", CFG_DECIMAL, "100", true, "largest kWh of one reading (exact decimal)", 0, 0, NULL },
	{ "TOKENIZATION_READING_MAX_AGE_DAYS", CFG_INT, "7", true, "oldest reading_timestamp accepted, in days", 1, 3650, NULL },
	{ "TOKENIZATION_MAX_CLOCK_SKEW_SECS", CFG_INT, "300", true, "how far reading_timestamp may lie in the future", 0, 86400, NULL },
	{ "TOKENIZATION_DUPLICATE_WINDOW_SECS", CFG_INT, "900", false,
	  "two readings of one meter closer than this are duplicates (409)", 1, 86400, NULL },
	/* the WebSocket events service (ingestd/ws/, its own process ingestd-ws); admins use ADMIN_TOKEN_SHA256 above */
	{ "WEBSOCKET_LISTEN", CFG_STR, "127.0.0.1:8081", false, "WebSocket listen address host:port (GET /ws)", 1, 0, NULL },
	{ "WEBSOCKET_AUTH_REQUIRED", CFG_BOOL, "true", true,
	  "refuse WebSocket clients without a valid JWT or admin token (401 before the upgrade)", 0, 0, NULL },
	{ "JWT_SECRET", CFG_SECRET, "", true,
	  "HS256 secret of the platform's login JWTs (>= 32 bytes; never logged); on SIGHUP open connections are checked again", 0, 0, NULL },
	{ "JWT_AUDIENCE", CFG_STR, "", true, "if set, a JWT's aud (string or array) must contain this value", 0, 0, NULL },
	{ "JWT_ISSUER", CFG_STR, "", true, "if set, a JWT's iss must equal this value", 0, 0, NULL },
	{ "WEBSOCKET_MAX_CONNECTIONS", CFG_INT, "10000", true, "WebSocket clients at once; more get 503", 1, 1000000, NULL },
	{ "WEBSOCKET_RATE_LIMIT_EVENTS_PER_MINUTE", CFG_INT, "120", true,
	  "client messages (and pings) per connection per minute; more closes it with 1008", 1, 1000000, NULL },
	{ "WEBSOCKET_EVENT_BUFFER_SIZE", CFG_INT, "1000", true,
	  "events queued per client; a client further behind is closed with 4000 (slow consumer)", 1, 1000000, NULL },
	{ "WEBSOCKET_MAX_MESSAGE_BYTES", CFG_INT, "65536", true,
	  "largest client message (after reassembly); larger closes with 1009", 125, 16777216, NULL },
	{ "WEBSOCKET_OWNER_LOOKUP_TIMEOUT_MS", CFG_INT, "5000", true,
	  "how long a user's upgrade (or subscribe) waits for PostgreSQL to say which meters they own; then 503", 100, 60000, NULL },
	{ "WEBSOCKET_PING_INTERVAL_MS", CFG_INT, "30000", true,
	  "ping idle clients this often; one unanswered interval drops them", 100, 3600000, NULL },
};
const size_t ingestd_nkeys = sizeof(ingestd_keys) / sizeof(ingestd_keys[0]);

/* The WebSocket keys, checked here too: both ingestd and ingestd-ws read this table. */
static void
ws_conf_check(const struct cfg *c, struct errlist *errs)
{
	size_t sl = strlen(cfg_str(c, "JWT_SECRET"));
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (sl > 0 && sl < 32)
		errlist_add(errs, "JWT_SECRET: must be at least 32 bytes (HS256 key strength)");
	if (evutil_parse_sockaddr_port(cfg_str(c, "WEBSOCKET_LISTEN"), (struct sockaddr *)&ss, &len) < 0)
		errlist_add(errs, "WEBSOCKET_LISTEN: not host:port");
}

void
ingestd_conf_check(const struct cfg *c, struct errlist *errs)
{
	struct admintok tok;
	uint64_t max_kwh, tokens;
	struct amt_ratio r;
	struct err e = { 0 };
	const char *mk = cfg_str(c, "TOKENIZATION_MAX_READING_KWH");

	keys_check_shared(c, errs);
	ws_conf_check(c, errs);
	/* the largest batch must fit: its body and the state of each of its readings */
	if (cfg_int(c, "INGESTD_BODY_BUDGET_BYTES") < cfg_int(c, "INGESTD_MAX_BODY_BYTES") +
	    2048 * cfg_int(c, "INGESTD_BATCH_MAX_READINGS"))
		errlist_add(errs, "INGESTD_BODY_BUDGET_BYTES: must be at least INGESTD_MAX_BODY_BYTES + 2048 x "
		    "INGESTD_BATCH_MAX_READINGS (the largest batch)");
	if (admintok_parse(cfg_str(c, "ADMIN_TOKEN_SHA256"), &tok) < 0)
		errlist_add(errs, "ADMIN_TOKEN_SHA256: want up to %d comma-separated 64-digit hex SHA-256 digests",
		    ADMINTOK_MAX);
	if (amt_parse_kwh(mk, strlen(mk), &max_kwh, &e) < 0 || max_kwh == 0) {
		errlist_add(errs, "TOKENIZATION_MAX_READING_KWH: want a kWh amount > 0 with at most 6 decimals");
	} else if (amt_parse_ratio(cfg_str(c, "TOKENIZATION_KWH_TO_TOKEN_RATIO"), &r, &e) == 0 &&
	    (amt_kwh_to_base_units(max_kwh, &r, (unsigned)cfg_int(c, "TOKENIZATION_DECIMALS"), &tokens, &e) < 0 ||
	    tokens > (uint64_t)INT64_MAX)) {
		/* token_amount is a bigint: the largest reading must fit. */
		errlist_add(errs, "TOKENIZATION_MAX_READING_KWH: the token amount of the largest reading would not fit in 63 bits");
	}
}
