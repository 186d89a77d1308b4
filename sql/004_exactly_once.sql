-- 004_exactly_once.sql: durable nonces (a proof of non-landing that needs no history), the supply
-- invariant and minting halts.
--
-- Why: a transaction signed with a recent blockhash was declared never-landed when the height passed
-- its lastValidBlockHeight and history-searched statuses were null. A lagging or pruned backend answers
-- null for a transaction that landed, so that verdict could mint twice. Now every mint transaction is a
-- durable-nonce transaction: it can land only while its nonce account holds the value it carries, and
-- every transaction that lands consumes that value for good. Two transactions on one (account, value)
-- exclude each other, so a mint transaction is proven dead by the inclusion of another one on its value
-- (a bare AdvanceNonceAccount, kind 'advance'), which is a positive answer, never an absence.

-- The pool of nonce accounts (addresses derived with seed from the mint authority).
--   new      address known, account not yet seen initialized on chain (value unknown)
--   free     value known and unused: the next transaction may carry it
--   reserved taken by one planner (reserved_by = its claim token) until its write-ahead commits
--   busy     pending transactions carry value
--   advanced value was consumed at after_slot; the new one is read at or after that slot
CREATE TABLE nonce_accounts (
    address     text PRIMARY KEY CHECK (address ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    seed        text NOT NULL UNIQUE,
    state       text NOT NULL DEFAULT 'new'
                CHECK (state IN ('new', 'free', 'reserved', 'busy', 'advanced')),
    value       text CHECK (value ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    value_slot  bigint,
    after_slot  bigint,
    reserved_by text,
    reserved_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'new') = (value IS NULL)),
    CHECK ((state = 'reserved') = (reserved_by IS NOT NULL)),
    CHECK ((state = 'advanced') = (after_slot IS NOT NULL))
);
CREATE INDEX nonce_accounts_state ON nonce_accounts (state);

-- What each transaction is and which nonce value it carries (blockhash keeps the message's
-- recent_blockhash field, which for these is the nonce value; last_valid_block_height is 0: a
-- durable-nonce transaction does not expire by height).
ALTER TABLE mint_transactions
    ADD COLUMN kind text NOT NULL DEFAULT 'mint' CHECK (kind IN ('mint', 'advance')),
    ADD COLUMN mint text,
    ADD COLUMN nonce_account text REFERENCES nonce_accounts (address),
    ADD COLUMN nonce_value text,
    ADD COLUMN amount numeric(39, 0) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    ADD COLUMN sent_slot bigint,
    ADD COLUMN last_error text,
    ADD COLUMN abandon_reason text,
    ADD COLUMN blame_wallet text,
    ADD CONSTRAINT mint_transactions_nonce_pair CHECK ((nonce_account IS NULL) = (nonce_value IS NULL)),
    ADD CONSTRAINT mint_transactions_advance_nonce CHECK (kind = 'mint' OR nonce_account IS NOT NULL),
    ADD CONSTRAINT mint_transactions_advance_empty CHECK (kind = 'mint' OR (readings = 0 AND amount = 0));
-- One mint transaction per nonce value ever, and at most one pending advance: the pair (T, A) is all a
-- value ever carries, so which of them landed says everything.
CREATE UNIQUE INDEX mint_transactions_one_mint_per_nonce ON mint_transactions (nonce_account, nonce_value)
    WHERE kind = 'mint' AND nonce_account IS NOT NULL;
CREATE UNIQUE INDEX mint_transactions_one_advance_pending ON mint_transactions (nonce_account, nonce_value)
    WHERE kind = 'advance' AND state = 'pending';
CREATE INDEX mint_transactions_nonce ON mint_transactions (nonce_account, nonce_value) WHERE state = 'pending';
-- Recently decided transactions are re-checked for a while (a landed "expired" one is an alarm).
CREATE INDEX mint_transactions_recent_verdicts ON mint_transactions (finished_at)
    WHERE state IN ('expired', 'failed');

-- The supply invariant (checked at finalized commitment, by every instance):
--   baseline + sum(confirmed mints landed at or before S)  <=  supply(S)
--   supply(S)  <=  baseline + sum(confirmed mints) + sum(pending mints)
-- baseline is the mint's supply before mintd's first mint, plus every acknowledged discrepancy.
CREATE TABLE supply_baseline (
    mint      text PRIMARY KEY CHECK (mint ~ '^[1-9A-HJ-NP-Za-km-z]{32,44}$'),
    amount    numeric(40, 0) NOT NULL,
    slot      bigint NOT NULL,
    set_at    timestamptz NOT NULL DEFAULT now()
);
-- The running sum of confirmed mint amounts since the baseline, kept by each confirmation in its own
-- transaction, so a check reads only recent and pending rows, never the whole history. One row per
-- instance: no instance ever waits on another's row (a stalled one holds only its own).
CREATE TABLE supply_confirmed (
    mint     text NOT NULL REFERENCES supply_baseline (mint),
    instance text NOT NULL,
    amount   numeric(40, 0) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    PRIMARY KEY (mint, instance)
);
CREATE INDEX mint_transactions_confirmed_slot ON mint_transactions (slot) WHERE state = 'confirmed' AND kind = 'mint';

-- A broken invariant stops new work on every instance until an operator acknowledges it.
CREATE TABLE minting_halts (
    id              bigserial PRIMARY KEY,
    mint            text NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    instance        text NOT NULL,
    slot            bigint NOT NULL,
    supply          numeric(40, 0) NOT NULL,
    expected_min    numeric(40, 0) NOT NULL,
    expected_max    numeric(40, 0) NOT NULL,
    reason          text NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text,
    ack_note        text,
    adjustment      numeric(40, 0),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
);
CREATE UNIQUE INDEX minting_halts_one_active ON minting_halts (mint) WHERE acknowledged_at IS NULL;

-- The acknowledgement, in one place for the admin API and for an operator at psql: records who and
-- why, and moves the baseline by the discrepancy measured when the halt was raised (so the same
-- foreign mint does not halt again; anything new halts again). Returns the halt, or nothing when there
-- is no such unacknowledged halt. SECURITY DEFINER: a role may be allowed to acknowledge (EXECUTE) without
-- being allowed to edit halts or the baseline.
CREATE FUNCTION acknowledge_minting_halt(p_id bigint, p_who text, p_note text)
RETURNS SETOF minting_halts LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    h minting_halts;
    adj numeric(40, 0);
BEGIN
    SELECT * INTO h FROM minting_halts WHERE id = p_id AND acknowledged_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    adj := CASE WHEN h.supply > h.expected_max THEN h.supply - h.expected_max
                WHEN h.supply < h.expected_min THEN h.supply - h.expected_min
                ELSE 0 END;
    UPDATE supply_baseline SET amount = amount + adj, set_at = now() WHERE mint = h.mint;
    UPDATE minting_halts SET acknowledged_at = now(), acknowledged_by = p_who, ack_note = p_note, adjustment = adj
        WHERE id = p_id RETURNING * INTO h;
    PERFORM pg_notify('gridtokenx_control', json_build_object('action', 'halt_acknowledged', 'halt_id', p_id)::text);
    RETURN NEXT h;
END $$;
REVOKE EXECUTE ON FUNCTION acknowledge_minting_halt(bigint, text, text) FROM PUBLIC;
