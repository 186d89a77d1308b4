-- 005_lifecycle.sql: the reading and mint-transaction lifecycles, enforced by PostgreSQL for every session.
--
-- Why: the transitions were guards inside the daemons' statements (mintd/store.c, ingestd's admin
-- re-queue); nothing stopped another statement, an operator's psql included, from moving a minted
-- reading back to pending and so minting it twice. Now a trigger refuses every change of
-- meter_readings.status or mint_transactions.state that is not a row of the transitions tables below,
-- whoever runs it (the schema owner too), and both kinds of row are born pending. The same tables are
-- common/rstate.c's (a unit test compares them) and the README's.
--
-- The comment on status in 001_init.sql said "submitted -> retrying -> pending"; a due retry is claimed
-- again directly (retrying -> claimed). 001 cannot change (applied migrations are checksummed): the
-- column comments below are the schema's word.

CREATE TABLE reading_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    why         text NOT NULL,
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);
INSERT INTO reading_transitions (from_status, to_status, why) VALUES
    ('pending',   'claimed',   'mintd claims it (claimed_by = its claim token)'),
    ('claimed',   'pending',   'mintd releases it: shutdown, or a stale lease of a dead instance'),
    ('claimed',   'submitted', 'written ahead in a signed transaction, before its first send'),
    ('claimed',   'retrying',  'no transaction could be built for it (an attempt is counted)'),
    ('claimed',   'failed',    'the same, attempts exhausted (dead letter)'),
    ('submitted', 'minted',    'its transaction reached the configured commitment'),
    ('submitted', 'pending',   'its transaction failed or never landed through no fault of its own (uncounted)'),
    ('submitted', 'retrying',  'its transaction failed or never landed on its wallet''s account'),
    ('submitted', 'failed',    'the same, attempts exhausted (dead letter)'),
    ('retrying',  'claimed',   'its retry is due and mintd claims it again'),
    ('failed',    'pending',   'an operator re-queues it (POST /api/admin/readings/{id}/retry)');

CREATE TABLE mint_transaction_transitions (
    from_state text NOT NULL,
    to_state   text NOT NULL,
    why        text NOT NULL,
    PRIMARY KEY (from_state, to_state),
    CHECK (from_state <> to_state)
);
INSERT INTO mint_transaction_transitions (from_state, to_state, why) VALUES
    ('pending', 'confirmed', 'its own status, found without error at the configured commitment'),
    ('pending', 'failed',    'its own status, found with an error at finalized'),
    ('pending', 'expired',   'another transaction consumed its nonce value: it can never land');

COMMENT ON COLUMN meter_readings.status IS
    'pending -> claimed -> submitted -> minted; claimed -> pending (released); submitted -> pending '
    '(released uncounted); claimed|submitted -> retrying|failed (an attempt counted); retrying -> claimed '
    '(due); failed -> pending (operator re-queue). minted is final. Enforced by reading_transitions.';
COMMENT ON COLUMN mint_transactions.state IS
    'pending -> confirmed | failed | expired; final states never change. Enforced by mint_transaction_transitions.';

-- SECURITY DEFINER: the daemons' roles need no grant on the transitions tables for the check to read them.
CREATE FUNCTION enforce_reading_transition() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' THEN
            RAISE EXCEPTION 'meter_readings.status: a reading is stored pending, not %', NEW.status
                USING ERRCODE = 'check_violation', HINT = 'see reading_transitions';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (SELECT 1 FROM reading_transitions
            WHERE from_status = OLD.status AND to_status = NEW.status) THEN
        RAISE EXCEPTION 'meter_readings.status: % -> % is not a transition of the reading lifecycle (reading %)',
            OLD.status, NEW.status, OLD.id USING ERRCODE = 'check_violation', HINT = 'see reading_transitions';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION enforce_mint_transaction_transition() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'pending' THEN
            RAISE EXCEPTION 'mint_transactions.state: a transaction is recorded pending, not %', NEW.state
                USING ERRCODE = 'check_violation', HINT = 'see mint_transaction_transitions';
        END IF;
    ELSIF NEW.state IS DISTINCT FROM OLD.state AND NOT EXISTS (SELECT 1 FROM mint_transaction_transitions
            WHERE from_state = OLD.state AND to_state = NEW.state) THEN
        RAISE EXCEPTION 'mint_transactions.state: % -> % is not a transition of the transaction lifecycle (transaction %)',
            OLD.state, NEW.state, OLD.id USING ERRCODE = 'check_violation', HINT = 'see mint_transaction_transitions';
    END IF;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION enforce_reading_transition(), enforce_mint_transaction_transition() FROM PUBLIC;

-- UPDATE OF status: a statement that does not set the column cannot change it, and pays nothing.
CREATE TRIGGER meter_readings_lifecycle BEFORE INSERT OR UPDATE OF status ON meter_readings
    FOR EACH ROW EXECUTE FUNCTION enforce_reading_transition();
CREATE TRIGGER mint_transactions_lifecycle BEFORE INSERT OR UPDATE OF state ON mint_transactions
    FOR EACH ROW EXECUTE FUNCTION enforce_mint_transaction_transition();
