-- 008_wallet_window.sql: a per-wallet minting window (TOKENIZATION_WALLET_MIN_INTERVAL_SECS).
--
-- Why: minting every reading within seconds costs a wallet-mint per reading; a meter reporting every 15
-- minutes costs 96 a day, where many operators would take one an hour. With a window, a wallet is minted at
-- most once per window, all its readings summed into one instruction (each reading still records the
-- transaction that carried it). A reading claimed while its wallet's window is closed waits, in PostgreSQL,
-- until the window opens (mint_after); the sweep claims it then, with every other waiting reading of the
-- wallet. The window is reserved when a claim takes the wallet (wallet_windows, row-locked: two instances
-- cannot both take one wallet inside a window).

ALTER TABLE meter_readings DROP CONSTRAINT meter_readings_status_check;
ALTER TABLE meter_readings ADD CONSTRAINT meter_readings_status_check
    CHECK (status IN ('pending', 'claimed', 'waiting', 'submitted', 'minted', 'retrying', 'failed'));
ALTER TABLE meter_readings ADD COLUMN mint_after timestamptz;
ALTER TABLE meter_readings ADD CONSTRAINT meter_readings_waiting_until
    CHECK ((status = 'waiting') = (mint_after IS NOT NULL));
CREATE INDEX meter_readings_waiting_due ON meter_readings (mint_after, wallet_address) WHERE status = 'waiting';
CREATE INDEX meter_readings_waiting_wallet ON meter_readings (wallet_address) WHERE status = 'waiting';

INSERT INTO reading_transitions (from_status, to_status, why) VALUES
    ('claimed',   'waiting',   'its wallet was minted less than TOKENIZATION_WALLET_MIN_INTERVAL_SECS ago: it waits until mint_after'),
    ('waiting',   'claimed',   'its wallet''s window is open: claimed with the wallet''s other readings');

COMMENT ON COLUMN meter_readings.status IS
    'pending -> claimed -> submitted -> minted; claimed -> pending (released); claimed -> waiting -> claimed (the '
    'wallet''s minting window); submitted -> pending (released uncounted); claimed|submitted -> retrying|failed '
    '(an attempt counted); retrying -> claimed (due); failed -> pending (operator re-queue). minted is final. '
    'Enforced by reading_transitions.';
COMMENT ON COLUMN meter_readings.mint_after IS
    'while waiting: when its wallet''s minting window opens (TOKENIZATION_WALLET_MIN_INTERVAL_SECS)';

-- When each wallet may be minted again: set by the claim that takes it (now + the window).
CREATE TABLE wallet_windows (
    wallet  text PRIMARY KEY,
    open_at timestamptz NOT NULL
);
