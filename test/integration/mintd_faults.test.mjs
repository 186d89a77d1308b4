// mintd_faults.test.mjs: every fault the simulator can inject, one at a time, each followed by the invariant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import { randomWallet, addMeters, insertReadings, simControl, openMintdStack, closeMintdStack, readingFeeder } from './lib/mintd.mjs';

let ctx, stack, env, db, addReadings, wallets, serials;

before(async () => {
  ctx = await openMintdStack({ mintdEnv: { MINTD_INSTANCE_ID: 'mintd-faults', TOKENIZATION_MAX_RETRY_ATTEMPTS: '100', MINTD_CONFIRM_POLL_MS: '50', MINTD_RPC_TIMEOUT_MS: '1000', MINTD_EXPIRY_NULL_CHECKS: '3' } });
  ({ stack, env, db } = ctx);
  wallets = Array.from({ length: 12 }, randomWallet);
  serials = await addMeters(db, wallets);
  addReadings = readingFeeder(ctx, wallets, serials, 2_000_000n);
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

const fault = (spec) => simControl(env, '/fault', spec);
const fired = async () => (await simControl(env, '/state')).faults;

// Drains, checks the armed faults of the given kinds (and methods) were all used up, clears the rest.
async function settle(what, mustFire = []) {
  await drain(db, { timeout: 60000, what });
  const left = (await fired()).filter((f) => mustFire.some((m) => m === f.kind || m === `${f.kind}:${f.method}`));
  assert.deepEqual(left, [], `faults not exercised by ${what}`);
  await simControl(env, '/clear-faults', {});
  assert.deepEqual(await checkInvariant(db, env), []);
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
  for (const method of ['sendTransaction', 'getSignatureStatuses', 'getLatestBlockhash', 'getBlockHeight', 'getMultipleAccounts']) {
    await fault({ kind: 'http_500', method, count: 2 });
  }
  await addReadings(20);
  await settle('http_500', ['http_500:sendTransaction', 'http_500:getSignatureStatuses', 'http_500:getLatestBlockhash']);
});

test('timeouts: a stalled send and a stalled status poll', async () => {
  await fault({ kind: 'stall', method: 'sendTransaction', ms: 1500, count: 1 });
  await fault({ kind: 'stall', method: 'getSignatureStatuses', ms: 1500, count: 1 });
  await addReadings(20);
  await settle('stall', ['stall']);
});

test('status-cache misses (fewer than MINTD_EXPIRY_NULL_CHECKS in a row) never expire a landed transaction', async () => {
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

test('a jump that expires the blockhash of transactions that never landed: expired, retried, minted once', async () => {
  const before = await txCount('expired');
  await fault({ kind: 'drop_transaction', probability: 1 });
  const rs = await addReadings(20);
  await waitFor(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'submitted'`, [rs.map((r) => r.id)]);
    return rows[0].n === rs.length;
  }, { what: 'all readings submitted (and dropped)' });
  await simControl(env, '/jump', { blocks: 200 });
  await waitFor(async () => (await txCount('expired')) > before, { what: 'the transaction expired' });
  await simControl(env, '/clear-faults', {});
  await settle('jump expiry');
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM mint_transaction_readings l JOIN mint_transactions t ON t.id = l.mint_tx_id
      WHERE l.reading_id = ANY($1) AND t.state = 'expired'`, [rs.map((r) => r.id)]);
  assert.equal(rows[0].n, rs.length, 'every reading was in an expired transaction before it was minted');
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
