-- 007_audit.sql: what the audit against the chain (`mintd -A`) reads, and the per-wallet differences operators
-- have explained and accepted.
--
-- The audit walks the wallets that have readings in order, a page at a time, and sums each page's minted
-- readings after reading their token accounts on chain. Without an index on the wallet each page would be a
-- scan of every reading.
CREATE INDEX meter_readings_wallet ON meter_readings (wallet_address);

-- The audit expects a wallet's on-chain balance (its associated token account) to equal the exact sum of its
-- minted readings. When it does not and an operator has established why and decided to keep it so (tokens
-- minted to it outside mintd, acknowledged as a minting halt; a holder's own transfer), the difference is
-- recorded here with who and why, and the audit adds it to what it expects of that wallet. The supply side of
-- such a difference is the halt's acknowledgement, which moves supply_baseline (004): the two are separate
-- records because a halt names an amount, not the wallets it went to. Rows are never edited: a correction is
-- another row.
CREATE TABLE audit_adjustments (
    id          bigserial PRIMARY KEY,
    mint        text NOT NULL CHECK (mint ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    wallet      text NOT NULL CHECK (wallet ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    amount      numeric(40, 0) NOT NULL CHECK (amount <> 0),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by text NOT NULL CHECK (recorded_by <> ''),
    note        text NOT NULL CHECK (note <> '')
);
CREATE INDEX audit_adjustments_wallet ON audit_adjustments (mint, wallet);
