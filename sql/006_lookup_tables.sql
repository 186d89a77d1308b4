-- 006_lookup_tables.sql: address lookup tables for v0 mint transactions.
--
-- Why: a legacy transaction names each wallet's token account with 32 bytes, so it carries at most 20
-- wallets; a v0 transaction names an account held by a lookup table with a one-byte index, so the limit
-- becomes the account locks (about 50 wallets). mintd creates tables (each also holding the mint and the
-- RecentBlockhashes sysvar, so one table is all a transaction needs) and extends them with the token
-- accounts of recurring wallets. Creating and extending are transactions like mints: durable-nonce
-- transactions, written ahead (kind 'table') and decided by the same proofs. Which index holds which
-- account is never taken from here: mintd reads every table back at finalized and uses what the chain
-- holds (a wrong index would name another wallet's account).

ALTER TABLE mint_transactions DROP CONSTRAINT mint_transactions_kind_check;
ALTER TABLE mint_transactions ADD CONSTRAINT mint_transactions_kind_check
    CHECK (kind IN ('mint', 'advance', 'table'));
-- A nonce value carries one transaction of its own (mint or table) and at most one pending advance.
DROP INDEX mint_transactions_one_mint_per_nonce;
CREATE UNIQUE INDEX mint_transactions_one_per_nonce ON mint_transactions (nonce_account, nonce_value)
    WHERE kind <> 'advance' AND nonce_account IS NOT NULL;

-- The tables mintd created (or is creating).
--   creating  its creation is written ahead (create_tx_id) and not decided yet
--   active    its creation landed: it exists, with mintd's authority
--   failed    its creation failed or never landed: the address holds nothing of ours
CREATE TABLE lookup_tables (
    address      text PRIMARY KEY CHECK (address ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    mint         text NOT NULL,
    authority    text NOT NULL,
    recent_slot  bigint NOT NULL,
    state        text NOT NULL DEFAULT 'creating' CHECK (state IN ('creating', 'active', 'failed')),
    create_tx_id bigint NOT NULL REFERENCES mint_transactions (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- One creation at a time per mint (two instances racing create one table, not two).
CREATE UNIQUE INDEX lookup_tables_one_creating ON lookup_tables (mint) WHERE state = 'creating';

-- Token accounts of recurring wallets, on their way into a table.
--   queued     waiting for an extension (claimed_by set while one is being signed)
--   extending  an extension (extend_tx_id) carries it, not decided yet
--   added      the extension landed (its index is whatever the table read back at finalized says)
CREATE TABLE lookup_table_entries (
    mint          text NOT NULL,
    wallet        text NOT NULL,
    account       text NOT NULL CHECK (account ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'extending', 'added')),
    table_address text REFERENCES lookup_tables (address),
    extend_tx_id  bigint REFERENCES mint_transactions (id),
    claimed_by    text,
    claimed_at    timestamptz,
    queued_at     timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mint, wallet),
    CHECK ((state = 'queued') = (extend_tx_id IS NULL)),
    CHECK ((state = 'queued') = (table_address IS NULL)),
    CHECK (state = 'queued' OR claimed_by IS NULL)
);
CREATE INDEX lookup_table_entries_queued ON lookup_table_entries (mint, queued_at) WHERE state = 'queued';
CREATE INDEX lookup_table_entries_tx ON lookup_table_entries (extend_tx_id) WHERE extend_tx_id IS NOT NULL;
CREATE INDEX lookup_table_entries_table ON lookup_table_entries (table_address) WHERE table_address IS NOT NULL;

-- The verdict on a table transaction moves its table and entries in the same database transaction, whichever
-- statement decided it (a confirmation, a failure, an advance that proved it dead, a rival's landing).
CREATE FUNCTION lookup_table_verdict() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'confirmed' THEN
        UPDATE lookup_tables SET state = 'active', updated_at = now()
            WHERE create_tx_id = NEW.id AND state = 'creating';
        UPDATE lookup_table_entries SET state = 'added', updated_at = now()
            WHERE extend_tx_id = NEW.id AND state = 'extending';
    ELSIF NEW.state IN ('failed', 'expired') THEN
        UPDATE lookup_table_entries SET state = 'queued', table_address = NULL, extend_tx_id = NULL,
            updated_at = now() WHERE extend_tx_id = NEW.id AND state = 'extending';
        UPDATE lookup_tables SET state = 'failed', updated_at = now()
            WHERE create_tx_id = NEW.id AND state = 'creating';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER lookup_table_verdict AFTER UPDATE OF state ON mint_transactions
    FOR EACH ROW WHEN (NEW.kind = 'table' AND OLD.state = 'pending' AND NEW.state <> 'pending')
    EXECUTE FUNCTION lookup_table_verdict();
