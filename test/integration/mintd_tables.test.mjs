// mintd_tables.test.mjs: lookup tables: wallets that minted go into tables (read back at finalized before use),
// mint transactions then name their accounts by index, about 50 wallets each; a table an operator deactivates
// is retired and its wallets move to a new one; with MINTD_LOOKUP_TABLES=false, legacy transactions only.
// Each ends with the exactly-once invariant, which checks the tables' contents against the database too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  createKeyPairSignerFromBytes, pipe, createTransactionMessage, setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash, appendTransactionMessageInstructions, signTransactionMessageWithSigners,
  getTransactionEncoder, address, AccountRole,
} from '@solana/kit';
import { solanaRpc, waitFor } from './lib/stack.mjs';
import { checkInvariant, drain, tableAddresses } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, insertReadings, xaddReadings, metrics, openMintdStack, closeMintdStack, readingFeeder,
  warmTables, txMark, v0Since, writeMintdEnv,
} from './lib/mintd.mjs';

const ALT_PROGRAM = 'AddressLookupTab1e1111111111111111111111111';
const MINTD_ENV = { MINTD_INSTANCE_ID: 'mintd-tables', MINTD_CONFIRM_POLL_MS: '50', TOKENIZATION_MAX_RETRY_ATTEMPTS: '100' };

let ctx, stack, env, db, wallets, serials, feed;

before(async () => {
  ctx = await openMintdStack({ mintdEnv: MINTD_ENV });
  ({ stack, env, db } = ctx);
  wallets = Array.from({ length: 120 }, randomWallet);
  serials = await addMeters(db, wallets);
  feed = readingFeeder(ctx, wallets, serials, 5_000_000n);
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

const q = async (sql, params) => (await db.query(sql, params)).rows;

const rpc = (method, params) => solanaRpc(env, method, params);

// A backlog minted at once: mintd stopped while readings arrive, then started.
async function backlog(perWallet) {
  stack.stop('mintd');
  const specs = [];
  for (let r = 0; r < perWallet; r++) {
    wallets.forEach((w, i) => specs.push({ serial: serials[i], wallet: w, kwhMicro: 7_000_000n + BigInt(r * 1000 + i) }));
  }
  const rs = await insertReadings(db, specs);
  await xaddReadings(ctx.redis, rs);
  stack.start('mintd');
  await drain(db, { timeout: 90000, what: 'the backlog minted' });
}

test('wallets that minted go into lookup tables; a backlog then mints about 50 wallets per v0 transaction', async () => {
  await warmTables(ctx, wallets, feed);
  const tables = await q(`SELECT address, mint FROM lookup_tables WHERE state = 'active'`);
  assert.ok(tables.length >= 1);
  for (const t of tables) {
    const addrs = await tableAddresses(env, t.address);
    assert.equal(addrs[0], env.TOKEN_MINT, 'every table starts with the mint');
  }
  const m = await metrics(env);
  assert.ok(Number(m.mintd_lookup_table_accounts) >= wallets.length, 'mintd read every account back at finalized');
  const mark = await txMark(db);
  await backlog(2);
  assert.deepEqual(await checkInvariant(db, env), []);
  const txs = await q(`SELECT wallets, readings, get_byte(raw_tx, 65) = 128 AS v0, length(raw_tx) AS size
      FROM mint_transactions WHERE id > $1 AND kind = 'mint' AND state = 'confirmed' ORDER BY wallets DESC`, [mark]);
  assert.ok(txs.every((t) => t.v0), 'every mint transaction of the backlog is v0');
  assert.ok(txs[0].wallets >= 50, `the fullest carries ${txs[0].wallets} wallets (a legacy one at most 20)`);
  assert.ok(txs.every((t) => t.size <= 1232));
  // Each wallet's two readings are one instruction: 120 wallet-mints in as few transactions as fit.
  assert.equal(txs.reduce((a, t) => a + t.wallets, 0), wallets.length);
  assert.ok(txs.length <= 3, `${txs.length} transactions for 120 wallets`);
});

// DeactivateLookupTable, signed by the mint authority (the tables' authority), outside mintd.
async function deactivate(table) {
  const bytes = new Uint8Array(JSON.parse(readFileSync(env.MINT_AUTHORITY_KEYPAIR, 'utf8')));
  const authority = await createKeyPairSignerFromBytes(bytes);
  const { value: lt } = await rpc('getLatestBlockhash', [{ commitment: 'confirmed' }]);
  const ix = { programAddress: address(ALT_PROGRAM), data: new Uint8Array([3, 0, 0, 0]), accounts: [
    { address: address(table), role: AccountRole.WRITABLE }, { address: authority.address, role: AccountRole.READONLY_SIGNER }] };
  const msg = pipe(createTransactionMessage({ version: 'legacy' }), (m) => setTransactionMessageFeePayerSigner(authority, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: lt.blockhash, lastValidBlockHeight: BigInt(lt.lastValidBlockHeight) }, m),
    (m) => appendTransactionMessageInstructions([ix], m));
  const tx = await signTransactionMessageWithSigners(msg);
  const sig = await rpc('sendTransaction', [Buffer.from(getTransactionEncoder().encode(tx)).toString('base64'),
    { encoding: 'base64', preflightCommitment: 'confirmed' }]);
  await waitFor(async () => (await rpc('getSignatureStatuses', [[sig]])).value[0]?.confirmationStatus === 'finalized',
    { what: 'the deactivation finalized' });
}

test('a table an operator deactivates is retired; its wallets go into a new table and keep minting once', async () => {
  await drain(db, { what: 'quiet first' });
  const [{ address: old }] = await q(`SELECT address FROM lookup_tables WHERE state = 'active' ORDER BY created_at LIMIT 1`);
  const moved = (await q(`SELECT wallet FROM lookup_table_entries WHERE table_address = $1 AND state = 'added'`, [old]))
    .map((r) => r.wallet);
  assert.ok(moved.length > 0);
  await deactivate(old);
  // Readings keep coming; the first sends that load from the table are refused, mintd reads the tables again.
  await waitFor(async () => {
    if ((await q(`SELECT state FROM lookup_tables WHERE address = $1`, [old]))[0].state === 'retired') return true;
    await feed(10);
    return false;
  }, { timeout: 90000, interval: 300, what: 'the deactivated table retired' });
  await drain(db, { timeout: 90000, what: 'minted after the retirement' });
  await waitFor(async () => (await q(`SELECT count(*)::int AS n FROM lookup_table_entries WHERE wallet = ANY($1)
      AND state = 'added' AND table_address <> $2`, [moved, old]))[0].n === moved.length,
  { timeout: 90000, interval: 300, what: 'the retired table\'s wallets in another table' });
  await warmTables(ctx, wallets, feed);
  const mark = await txMark(db);
  await backlog(1);
  assert.deepEqual(await checkInvariant(db, env), []);
  assert.ok(await v0Since(db, mark) > 0, 'v0 again, from the new table');
  const [{ n }] = await q(`SELECT count(*)::int AS n FROM lookup_tables WHERE state = 'active'`);
  assert.ok(n >= 1, 'a new table');
  const log = readFileSync(`${stack.dir}/mintd.log`, 'utf8');
  assert.match(log, new RegExp(`msg="lookup table retired[^"]*" table=${old} why=deactivated`));
});

test('MINTD_LOOKUP_TABLES=false: legacy transactions of at most 20 wallets, no table transaction', async () => {
  writeMintdEnv(stack, { ...MINTD_ENV, MINTD_LOOKUP_TABLES: 'false' });
  const mark = await txMark(db);
  await backlog(1);
  assert.deepEqual(await checkInvariant(db, env), []);
  const txs = await q(`SELECT kind, wallets, get_byte(raw_tx, 65) = 128 AS v0 FROM mint_transactions WHERE id > $1`, [mark]);
  assert.ok(txs.length > 0);
  assert.ok(txs.every((t) => t.kind !== 'table' && !t.v0), 'legacy only');
  assert.ok(txs.every((t) => t.wallets <= 20));
  writeMintdEnv(stack, MINTD_ENV);
});
