-- 002_mintd.sql: what mintd needs beyond 001: blame mapping for failed transactions and lookup indexes.

-- The wallet each instruction of a mint transaction serves (NULL for compute-budget and memo
-- instructions), so an {"InstructionError":[i, ...]} can be charged to the one wallet at fault
-- even when the transaction is resolved by a restarted or another instance.
ALTER TABLE mint_transactions ADD COLUMN ix_wallets text[];

-- batch_minting_completed is published when the last transaction of a batch is final.
CREATE INDEX mint_transactions_batch ON mint_transactions (batch_id);

-- Stale claims (lease expired) are released by any instance.
CREATE INDEX meter_readings_claimed ON meter_readings (claimed_at) WHERE status = 'claimed';
