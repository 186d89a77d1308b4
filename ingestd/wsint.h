/* wsint.h: types shared by the WebSocket service's files (wsserver, wshandshake, wsroute, wsfeed). */
#ifndef INGESTD_WSINT_H
#define INGESTD_WSINT_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis/async.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "backoff.h"
#include "conf.h"
#include "jwt.h"
#include "wsframe.h"
#include "wsserver.h"

#define WS_MAX_SUBS 64          /* channels per connection */
#define WS_MAX_OWNED 1024       /* wallets/meters loaded per user */
#define WS_HANDSHAKE_MAX 8192   /* bytes of HTTP request before the upgrade */
#define WS_HANDSHAKE_MS 10000   /* a client must finish the upgrade request within this */
#define WS_CLOSE_MS 5000        /* after our close frame, wait this long for the client's */
#define WS_OUT_HIGH (64 * 1024) /* bytes kept in a socket's output buffer; the rest waits in the queue */
#define WS_REPLAY_BATCH 256     /* XRANGE COUNT per replay step */

/* An event id "ms-seq" of the events stream; 0-0 means none. */
struct wsid {
	uint64_t ms, seq;
};

/* A complete server frame shared by every connection it is queued on (refcounted). */
struct wsmsg {
	unsigned refs;
	struct wsid id; /* the event id for events, 0-0 for replies */
	size_t len;
	unsigned char data[];
};

/* A parsed event: routing fields point into `json` (valid until wsev_free). */
struct wsev {
	struct wsid id;
	const char *type, *user_id, *wallet, *meter;
	struct wsmsg *msg;
	void *json; /* cJSON */
};

enum wsc_state { WSC_HANDSHAKE, WSC_OPEN, WSC_CLOSING };

struct wsconn {
	struct wss *s;
	uint64_t id;
	struct bufferevent *bev;
	struct event *timer; /* handshake deadline, ping interval, close deadline */
	enum wsc_state state;
	unsigned refs;         /* in-flight Redis replies holding this struct */
	bool dead;             /* freed except for the struct itself (refs > 0) */
	bool free_after_flush; /* close the socket once the output is written */
	char peer[64];

	/* identity */
	bool admin;         /* admin token, role "admin", or auth disabled and no token */
	char user[64];      /* JWT sub ("" for admin tokens and anonymous) */
	char role[32];
	char **owned;       /* "wallet:X" and "meter:S" channels this user may subscribe to */
	size_t nowned;
	char *subs[WS_MAX_SUBS];
	size_t nsubs;

	/* outgoing queue of frames not yet handed to the socket */
	struct wsmsg **q;
	size_t qcap, qhead, qlen;
	struct wsid last; /* last event id queued; live events at or before it are duplicates */

	/* replay state */
	bool replaying, replay_more, replay_inflight;
	struct wsid cursor;
	uint64_t replayed;
	struct wsmsg **held; /* live events that arrived during a replay (bounded by qcap) */
	size_t nheld;

	/* incoming fragmented message */
	unsigned char *frag;
	size_t fraglen;
	bool in_frag;

	/* limits */
	uint64_t rate_window_ms;
	uint64_t rate_count;
	bool ping_outstanding;
	uint64_t last_rx_ms;

	TAILQ_ENTRY(wsconn) link;
};
TAILQ_HEAD(wsconn_list, wsconn);

struct wss {
	struct event_base *base;
	struct evconnlistener *lsn;
	struct wsconn_list conns;
	size_t nconns;
	uint64_t next_id;

	/* configuration (reloadable parts updated by wss_reload) */
	bool auth_required;
	unsigned char *jwt_secret;
	size_t jwt_secret_len;
	uint8_t admin_sha[INGESTD_MAX_ADMIN_TOKENS][32]; /* ADMIN_TOKEN_SHA256 digests */
	size_t nadmin;
	int64_t max_conns, rate_per_min, buffer_size, max_message, ping_ms;
	char *dburl, *redis_url, *prefix, *stream;

	/* the user -> meters lookup (blocking, small, only at connect and on subscribe misses) */
	PGconn *pg;

	/* the Redis feed: one subscriber and one command connection */
	redisAsyncContext *sub, *cmd;
	struct event *sub_retry, *cmd_retry;
	struct backoff sub_bo, cmd_bo;
	bool sub_was_up, stopping;
	struct wsid feed_last; /* last event seen on the feed */
};

/* wsserver.c */
uint64_t ws_now_ms(void);
struct wsmsg *wsmsg_new(enum ws_opcode op, const void *payload, size_t len);
void wsmsg_unref(struct wsmsg *m);
/* Queues a frame (takes a reference); false when the queue is full (caller decides). */
bool wsc_push(struct wsconn *c, struct wsmsg *m);
/* Queues a JSON text reply (not an event); on a full queue the client is dropped as slow. */
void wsc_send_json(struct wsconn *c, const char *json);
void wsc_close(struct wsconn *c, int code, const char *reason);
void wsc_unref(struct wsconn *c);
void wsc_pump(struct wsconn *c);

/* wshandshake.c */
struct ws_upgrade {
	char key[32];
	char token[JWT_MAX_LEN + 1];
	char since[48];
};
/* Parses the request head; on failure sets *status (400/404/405/426) and *why. */
int wsh_parse(char *head, struct ws_upgrade *u, int *status, const char **why);
/* Authenticates the token into c's identity; -1 with *why for a 401. */
int wsh_auth(struct wss *s, struct wsconn *c, const char *token, const char **why);

/* wsroute.c */
bool wsid_parse(const char *s, struct wsid *id);
int wsid_cmp(struct wsid a, struct wsid b);
/* Loads the user's wallets and meters; -1 when PostgreSQL is unreachable. */
int wsr_load_owned(struct wsconn *c);
void wsr_on_open(struct wsconn *c, const char *since);
void wsr_message(struct wsconn *c, const char *text, size_t len);
bool wsr_match(const struct wsconn *c, const struct wsev *ev);
/* A live event: queue it on every matching connection. */
void wsr_dispatch(struct wss *s, const struct wsev *ev);
/* Replay step results from wsfeed. */
void wsr_replay_events(struct wsconn *c, struct wsev *evs, size_t n, bool more);
void wsr_replay_failed(struct wsconn *c, const char *why);
/* `oldest` is the oldest event id still kept ("" when the stream is empty). */
void wsr_replay_gap(struct wsconn *c, const char *oldest);
void wsr_conn_free(struct wsconn *c);

/* wsfeed.c */
int wsfeed_start(struct wss *s);
void wsfeed_stop(struct wss *s);
/* Parses an event JSON (from PUBLISH or the stream's `event` field); id_text overrides/sets event_id. */
int wsev_parse(const char *json, size_t len, const char *id_text, struct wsev *ev);
void wsev_free(struct wsev *ev);
/* Fetches the next replay batch after c->cursor (XINFO first when `first`). */
void wsfeed_replay(struct wsconn *c, bool first);

#endif
