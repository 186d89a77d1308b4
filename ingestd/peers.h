/* peers.h: per-client-address accounting for the HTTP server: open connections and the request rate. */
/*
 * Connections are counted per process. The request rate is taken from a rate table shared by the workers
 * (ratelim.h): one address has one bucket, whichever worker its connections reach.
 */
/*
 * Ownership: peers_new's caller owns the table (peers_free). A struct peer belongs to the table: valid
 * until peers_sweep removes it (only when nothing refers to it: its connection count is 0) or peers_free.
 */
#ifndef INGESTD_PEERS_H
#define INGESTD_PEERS_H

#include "err.h"
#include "ratelim.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * A client address: an IPv4 address, or the /64 prefix of an IPv6 one (one
 * host usually holds a whole /64, so counting single IPv6 addresses would let
 * it open as many "clients" as it likes). AF_UNIX and other families share one
 * entry. Entries live while they have connections; peers_sweep() drops the
 * others (their request rates live on in the rate table).
 */
struct peer;
struct peers;

/* The request rates are taken from rl (not owned; it must outlive the table). */
struct peers *peers_new(struct ratelim *rl) WUR;
void peers_free(struct peers *ps);

/* The entry of sa's address, created when new; NULL on out of memory. Valid until peers_sweep/peers_free. */
struct peer *peers_get(struct peers *ps, const struct sockaddr *sa) WUR;
/* Connections open from the peer: counted by the caller with these. */
int peer_conns(const struct peer *p);
void peer_conn_add(struct peer *p);
void peer_conn_del(struct peer *p);
/*
 * Takes one request from the peer's bucket (GCRA: `burst` at once, `per_sec`
 * sustained). True when allowed; false with *retry_secs (>= 1) otherwise.
 */
bool peer_rate_take(struct peers *ps, const struct peer *p, int64_t now_us, int per_sec, int burst, int *retry_secs) WUR;
/* Frees the entries without connections. */
void peers_sweep(struct peers *ps);
size_t peers_count(const struct peers *ps);

#endif
