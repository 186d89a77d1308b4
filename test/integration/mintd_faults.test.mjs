// mintd_faults.test.mjs: every fault the simulator can inject, one at a time, each followed by the invariant.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, insertReadings, simControl, openMintdStack, closeMintdStack, readingFeeder, warmTables, txMark, v0Since,
} from './lib/mintd.mjs';

let ctx, stack, env, db, addReadings, wallets, serials, mark;

before(async () => {
  ctx = await openMintdStack({ mintdEnv: { MINTD_INSTANCE_ID: 'mintd-faults', TOKENIZATION_MAX_RETRY_ATTEMPTS: '100', MINTD_CONFIRM_POLL_MS: '50', MINTD_RPC_TIMEOUT_MS: '1000' } });
  ({ stack, env, db } = ctx);
  wallets = Array.from({ length: 12 }, randomWallet);
  serials = await addMeters(db, wallets);
  addReadings = readingFeeder(ctx, wallets, serials, 2_000_000n);
  await warmTables(ctx, wallets, addReadings);
});

// Every fault below is met by v0 transactions loading the wallets' accounts from lookup tables.
beforeEach(async () => { mark = await txMark(db); });

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

const fault = (spec) => simControl(env, '/fault', spec);
const fired = async () => (await simControl(env, '/state')).faults;

// Feeds readings until the armed faults of the given kinds (and methods) are all used up (how many sends or
// polls a batch takes depends on timing), drains, clears the rest.
async function settle(what, mustFire = []) {
  const armed = async () => (await fired()).filter((f) => mustFire.some((m) => m === f.kind || m === `${f.kind}:${f.method}`));
  await waitFor(async () => {
    if ((await armed()).length === 0) return true;
    await addReadings(4);
    return false;
  }, { timeout: 60000, interval: 300, what: `faults exercised by ${what}` });
  await drain(db, { timeout: 60000, what });
  assert.deepEqual(await armed(), [], `faults not exercised by ${what}`);
  await simControl(env, '/clear-faults', {});
  assert.deepEqual(await checkInvariant(db, env), []);
  assert.ok(await v0Since(db, mark) > 0, `${what}: v0 transactions with lookup tables in use`);
}

async function txCount(state) {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM mint_transactions WHERE state = $1`, [state]);
  return rows[0].n;
}

test('dropped responses after execution: the landed transaction is found, never sent as a new one', async () => {
  await fault({ kind: 'drop_response', count: 3 });
  await addReadings(20);
  await settle('drop_response', ['drop_response']);
});

test('dropped transactions: the same bytes are rebroadcast until one lands', async () => {
  await fault({ kind: 'drop_transaction', count: 4 });
  await addReadings(20);
  await settle('drop_transaction', ['drop_transaction']);
});

test('BlockhashNotFound on send: keep rebroadcasting the same bytes', async () => {
  await fault({ kind: 'reject_send', count: 3, code: -32002, message: 'Transaction simulation failed: Blockhash not found',
    data: { err: 'BlockhashNotFound', logs: [], accounts: null, unitsConsumed: 0 } });
  await addReadings(20);
  await settle('reject_send BlockhashNotFound', ['reject_send']);
});

test('HTTP 500 from every method in turn', async () => {
  for (const method of ['sendTransaction', 'getSignatureStatuses', 'getEpochInfo', 'getMultipleAccounts', 'getTokenSupply']) {
    await fault({ kind: 'http_500', method, count: 2 });
  }
  await addReadings(20);
  await settle('http_500', ['http_500:sendTransaction', 'http_500:getSignatureStatuses', 'http_500:getEpochInfo']);
});

test('timeouts: a stalled send and a stalled status poll', async () => {
  await fault({ kind: 'stall', method: 'sendTransaction', ms: 1500, count: 1 });
  await fault({ kind: 'stall', method: 'getSignatureStatuses', ms: 1500, count: 1 });
  await addReadings(20);
  await settle('stall', ['stall']);
});

test('null statuses never expire a landed transaction', async () => {
  const before = await txCount('expired');
  await fault({ kind: 'null_statuses', count: 2 });
  await addReadings(20);
  await settle('null_statuses', ['null_statuses']);
  assert.equal(await txCount('expired'), before, 'nothing expired');
});

test('paused block production: transactions wait, then land once blocks resume', async () => {
  await simControl(env, '/pause', {});
  await addReadings(20);
  await waitFor(async () => (await txCount('pending')) > 0, { what: 'a transaction in flight while paused' });
  await new Promise((r) => setTimeout(r, 500));
  await simControl(env, '/resume', {});
  await settle('pause/resume');
});

test('a mint transaction that never lands is abandoned: its nonce advanced by another, which proves it dead; minted once', async () => {
  const before = await txCount('expired');
  // Only transactions that invoke the token program are dropped: the mint transactions, not their advances.
  await fault({ kind: 'drop_transaction', probability: 1, program: 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA' });
  const rs = await addReadings(20);
  await waitFor(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'submitted'`, [rs.map((r) => r.id)]);
    return rows[0].n === rs.length;
  }, { what: 'all readings submitted (and dropped)' });
  await simControl(env, '/jump', { blocks: 200 }); // past MINTD_ABANDON_AFTER_BLOCKS without landing
  await waitFor(async () => (await txCount('expired')) > before, { what: 'the transaction proven dead', timeout: 60000 });
  await simControl(env, '/clear-faults', {});
  await settle('abandonment');
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM mint_transaction_readings l JOIN mint_transactions t ON t.id = l.mint_tx_id
      WHERE l.reading_id = ANY($1) AND t.state = 'expired'`, [rs.map((r) => r.id)]);
  assert.equal(rows[0].n, rs.length, 'every reading was in a transaction proven dead before it was minted');
  const { rows: adv } = await db.query(`SELECT count(*)::int AS n FROM mint_transactions WHERE kind = 'advance' AND state = 'confirmed'`);
  assert.ok(adv[0].n >= 1, 'the proof is an advance transaction that landed');
});

test('Redis restarted under mintd: minting continues from PostgreSQL and the stream', async () => {
  stack.stop('redis');
  const specs = [];
  for (let i = 0; i < 10; i++) specs.push({ serial: serials[i], wallet: wallets[i], kwhMicro: 3_000_000n + BigInt(i) });
  await insertReadings(db, specs); // no stream while Redis is down: the sweep finds them
  await drain(db, { what: 'minted from sweeps while Redis is down' });
  stack.start('redis');
  // The test's own client reconnects by itself (commands wait in its offline queue meanwhile).
  await addReadings(10);
  await settle('after redis restart');
});
