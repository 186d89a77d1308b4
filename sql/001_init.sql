-- 001_init.sql: meters, readings, mint transactions, the retry queue and runtime settings.
--
-- Amounts are integers: kWh as micro-kWh (bigint), tokens as base units (bigint;
-- the C side holds them in uint64_t and never exceeds INT64_MAX). kwh_amount
-- NUMERIC(20,6) is derived for the existing platform's SQL and reports.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE meters (
    meter_serial    text PRIMARY KEY
                    CHECK (meter_serial ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
    public_key      bytea NOT NULL CHECK (octet_length(public_key) = 32),
    wallet_address  text NOT NULL CHECK (wallet_address ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    user_id         uuid,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meters_user_id ON meters (user_id) WHERE user_id IS NOT NULL;

-- One row per signed Solana transaction, written BEFORE its first send
-- (write-ahead): if mintd dies at any instruction, the signature and the raw
-- bytes are here to be re-checked and rebroadcast, never re-signed blindly.
CREATE TABLE mint_transactions (
    id                      bigserial PRIMARY KEY,
    batch_id                uuid NOT NULL,
    signature               text NOT NULL UNIQUE,
    raw_tx                  bytea NOT NULL CHECK (octet_length(raw_tx) <= 1232),
    blockhash               text NOT NULL,
    last_valid_block_height bigint NOT NULL CHECK (last_valid_block_height >= 0),
    state                   text NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'confirmed', 'failed', 'expired')),
    wallets                 integer NOT NULL DEFAULT 0 CHECK (wallets >= 0),
    readings                integer NOT NULL DEFAULT 0 CHECK (readings >= 0),
    fee_lamports            bigint CHECK (fee_lamports >= 0),
    slot                    bigint,
    error                   text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    sent_at                 timestamptz,
    finished_at             timestamptz,
    CHECK ((state = 'pending') = (finished_at IS NULL))
);
CREATE INDEX mint_transactions_unfinished ON mint_transactions (id) WHERE state = 'pending';

CREATE TABLE meter_readings (
    id                uuid PRIMARY KEY,
    meter_serial      text NOT NULL REFERENCES meters (meter_serial),
    user_id           uuid,
    wallet_address    text NOT NULL,
    kwh_micro         bigint NOT NULL CHECK (kwh_micro > 0),
    kwh_amount        numeric(20, 6) GENERATED ALWAYS AS (kwh_micro::numeric / 1000000) STORED,
    token_amount      bigint NOT NULL CHECK (token_amount > 0),
    reading_timestamp timestamptz NOT NULL,
    -- reading_timestamp in UTC microseconds, and the duplicate window around it
    -- ([ts, ts + window) in microseconds): two readings of one meter whose windows
    -- overlap, i.e. closer than the window, cannot both be stored. The exclusion
    -- constraint settles it inside the database, race-free under concurrency.
    reading_us        bigint NOT NULL,
    dup_window        int8range NOT NULL,
    submitted_at      timestamptz NOT NULL DEFAULT now(),
    meter_signature   text NOT NULL,
    -- pending -> claimed -> submitted -> minted; submitted -> retrying -> pending
    -- (when due) ...; retrying -> failed (dead letter) -> pending (operator re-queue).
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'claimed', 'submitted', 'minted', 'retrying', 'failed')),
    claimed_by        text,
    claimed_at        timestamptz,
    mint_tx_id        bigint REFERENCES mint_transactions (id),
    -- kept for the existing platform's SQL: minted is true exactly when status is minted
    minted            boolean NOT NULL DEFAULT false,
    mint_tx_signature text,
    minted_at         timestamptz,
    CHECK (reading_us = (extract(epoch FROM reading_timestamp) * 1000000)::bigint),
    CHECK (lower(dup_window) = reading_us AND upper(dup_window) > reading_us),
    CHECK (minted = (status = 'minted')),
    CHECK (status <> 'minted' OR (mint_tx_signature IS NOT NULL AND mint_tx_id IS NOT NULL)),
    CHECK (status <> 'submitted' OR mint_tx_id IS NOT NULL),
    CHECK ((status = 'claimed') = (claimed_by IS NOT NULL)),
    CONSTRAINT meter_readings_no_duplicates
        EXCLUDE USING gist (meter_serial WITH =, dup_window WITH &&)
);
-- "unminted, oldest first" for the sweep and the admin listing
CREATE INDEX meter_readings_pending ON meter_readings (submitted_at, id) WHERE status = 'pending';
CREATE INDEX meter_readings_unfinished ON meter_readings (status) WHERE status <> 'minted';
CREATE INDEX meter_readings_mint_tx ON meter_readings (mint_tx_id);
CREATE INDEX meter_readings_meter_ts ON meter_readings (meter_serial, reading_timestamp DESC);

-- Every reading each transaction carried, and the amount: the audit trail
-- that survives re-queues (meter_readings.mint_tx_id only names the latest).
CREATE TABLE mint_transaction_readings (
    mint_tx_id   bigint NOT NULL REFERENCES mint_transactions (id),
    reading_id   uuid NOT NULL REFERENCES meter_readings (id),
    token_amount bigint NOT NULL CHECK (token_amount > 0),
    PRIMARY KEY (mint_tx_id, reading_id)
);
CREATE INDEX mint_transaction_readings_reading ON mint_transaction_readings (reading_id);

CREATE TABLE minting_retry_queue (
    id            bigserial PRIMARY KEY,
    reading_id    uuid NOT NULL UNIQUE REFERENCES meter_readings (id),
    error_message text NOT NULL,
    attempts      integer NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    next_retry_at timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX minting_retry_queue_due ON minting_retry_queue (next_retry_at);

CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings (key, value) VALUES ('auto_mint_enabled', 'true');
