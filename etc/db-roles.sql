-- etc/db-roles.sql: least-privilege PostgreSQL roles for the two daemons (an example to adapt).
--
-- Run it once as the schema owner, after `ingestd -m` applied the migrations:
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f /etc/gridtokenx/db-roles.sql
-- then set a password (ALTER ROLE ... PASSWORD ...) or use peer/cert authentication, and give
-- each daemon its own DATABASE_URL. Migrations keep running as the owner, never as these roles.
-- test/integration/db_roles.test.mjs runs both daemons end to end with exactly these grants.

CREATE ROLE gridtokenx_ingestd LOGIN;
CREATE ROLE gridtokenx_mintd LOGIN;

-- ingestd: registers meters, stores readings, answers status and re-queues dead letters.
GRANT SELECT, INSERT, UPDATE ON meters, meter_readings, settings TO gridtokenx_ingestd;
GRANT SELECT, DELETE ON minting_retry_queue TO gridtokenx_ingestd;
GRANT SELECT ON mint_transactions, minting_halts, supply_baseline TO gridtokenx_ingestd;
-- acknowledging a minting halt goes through one function (it may not edit halts or the baseline itself)
GRANT EXECUTE ON FUNCTION acknowledge_minting_halt(bigint, text, text) TO gridtokenx_ingestd;

-- mintd: claims readings, records and resolves its transactions, keeps the retry queue.
GRANT SELECT ON meters, settings TO gridtokenx_mintd;
GRANT SELECT, UPDATE ON meter_readings TO gridtokenx_mintd;
GRANT SELECT, INSERT, UPDATE ON mint_transactions TO gridtokenx_mintd;
GRANT SELECT, INSERT ON mint_transaction_readings TO gridtokenx_mintd;
GRANT SELECT, INSERT, UPDATE, DELETE ON minting_retry_queue TO gridtokenx_mintd;
GRANT SELECT, INSERT, UPDATE ON nonce_accounts TO gridtokenx_mintd;
GRANT SELECT, INSERT ON supply_baseline, minting_halts TO gridtokenx_mintd;
GRANT SELECT, INSERT, UPDATE ON supply_confirmed TO gridtokenx_mintd;
GRANT SELECT, INSERT, UPDATE ON lookup_tables, lookup_table_entries TO gridtokenx_mintd;
-- the audit (mintd -A, and mintd's scheduled run of it) only reads; adjustments are the schema owner's to record
GRANT SELECT ON audit_adjustments TO gridtokenx_mintd;
GRANT USAGE ON SEQUENCE mint_transactions_id_seq, minting_retry_queue_id_seq, minting_halts_id_seq TO gridtokenx_mintd;

-- Neither may lower durability for its sessions: a 2xx promises a synchronous commit.
ALTER ROLE gridtokenx_ingestd SET synchronous_commit = on;
ALTER ROLE gridtokenx_mintd SET synchronous_commit = on;

-- A session stalled inside a transaction (a frozen or partitioned instance) must not hold row locks that
-- freeze every other instance: the server ends it, and nobody waits long on a lock. The daemons also set
-- these themselves (mintd: MINTD_PG_*); the role defaults cover every other client using the role.
ALTER ROLE gridtokenx_mintd SET statement_timeout = '10s';
ALTER ROLE gridtokenx_mintd SET lock_timeout = '2s';
ALTER ROLE gridtokenx_mintd SET idle_in_transaction_session_timeout = '10s';
ALTER ROLE gridtokenx_ingestd SET lock_timeout = '2s';
ALTER ROLE gridtokenx_ingestd SET idle_in_transaction_session_timeout = '10s';
