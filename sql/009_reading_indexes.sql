-- 009_reading_indexes.sql: meter_readings keeps only the indexes a query needs; each insert maintains 5, not 7.
--
-- Why: every index is written by every accepted reading. What each one is for (the queries are in
-- ingestd/admin.c, ingestd/lookup.c, ingestd/store.c and mintd/store.c):
--   meter_readings_pkey (id)                      by id: GET /api/meters/readings/{id}, claims, re-queues, foreign keys
--   meter_readings_no_duplicates (gist)           the duplicate-window rule, and the 409 lookup of the reading in the way
--   meter_readings_pending (partial, pending)     mintd's sweep and the admin listing, oldest first
--   meter_readings_unfinished (partial, <> minted) the backlog counts (admin status, mintd's gauges)
--   meter_readings_claimed (partial, claimed)     stale leases; new readings are pending, so inserts skip it
--   meter_readings_wallet (wallet_address, 007)   mintd's audit of one wallet against the chain
--   meter_readings_waiting_* (partial, 008)       the per-wallet minting window; new readings skip them
--   meter_readings_mint_tx (mint_tx_id)           a transaction's readings: mintd's "WHERE mint_tx_id = $1".
--       Every new reading has mint_tx_id NULL, so the full index took an entry per insert for nothing; partial
--       on IS NOT NULL it serves the same queries (= implies NOT NULL) and inserts skip it.
--   meter_readings_meter_ts (meter_serial, reading_timestamp DESC): no query uses it. A meter's readings by time
--       are found through the gist index (meter_id = m AND dup_window && range), which the conflict lookup uses.
-- Dropped and rebuilt in place: on a large table run these by hand first with CONCURRENTLY (docs/scaling.md).

DROP INDEX meter_readings_meter_ts;
DROP INDEX meter_readings_mint_tx;
CREATE INDEX meter_readings_mint_tx ON meter_readings (mint_tx_id) WHERE mint_tx_id IS NOT NULL;
