// mintd_multi.test.mjs: two mintd instances on one stream and one database never mint a reading twice,
// and when one dies the other takes over its claims, stream entries and recorded transactions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, insertReadings, xaddReadings, metrics, startExtraMintd, simControl, openMintdStack, closeMintdStack,
  readingFeeder, warmTables, txMark, v0Since,
} from './lib/mintd.mjs';

let ctx, stack, env, db, redis, second;

before(async () => {
  ctx = await openMintdStack({ mintdEnv: { MINTD_INSTANCE_ID: 'mintd-a', TOKENIZATION_BATCH_LINGER_MS: '20', TOKENIZATION_BATCH_SIZE: '30', MINTD_CLAIM_LEASE_SECS: '5', MINTD_STREAM_POLL_MS: '20' } });
  ({ stack, env, db, redis } = ctx);
  second = await startExtraMintd(stack, 'mintd-b');
});

after(async () => {
  if (second) await second.stop('SIGKILL');
  assert.deepEqual(await closeMintdStack(ctx, ['mintd-b.log']), [], 'daemon logs show problems');
});

async function flow(wallets, serials, rounds, per) {
  let k = 0;
  for (let r = 0; r < rounds; r++) {
    const specs = [];
    for (let i = 0; i < per; i++, k++) specs.push({ serial: serials[k % wallets.length], wallet: wallets[k % wallets.length], kwhMicro: 1_000_000n + BigInt(k) });
    const rs = await insertReadings(db, specs);
    // Every reading also reaches the stream twice (a re-delivery): both instances may see it.
    await xaddReadings(redis, rs);
    await xaddReadings(redis, rs.slice(0, per / 2));
    await new Promise((res) => setTimeout(res, 30));
  }
}

test('two instances share the stream and the sweep; no reading is minted twice', async () => {
  const wallets = Array.from({ length: 40 }, randomWallet);
  const serials = await addMeters(db, wallets);
  await warmTables(ctx, wallets, readingFeeder(ctx, wallets, serials));
  const mark = await txMark(db);
  const before = await metrics(env), beforeB = await metrics({ MINTD_URL: second.url });
  await flow(wallets, serials, 30, 20);
  await drain(db, { timeout: 60000, what: 'both instances drained' });
  assert.deepEqual(await checkInvariant(db, env), []);
  assert.ok(await v0Since(db, mark) > 0, 'v0 transactions with lookup tables in use');
  const a = await metrics(env);
  const b = await metrics({ MINTD_URL: second.url });
  const ma = BigInt(a.mintd_readings_minted_total) - BigInt(before.mintd_readings_minted_total);
  const mb = BigInt(b.mintd_readings_minted_total) - BigInt(beforeB.mintd_readings_minted_total);
  assert.equal(ma + mb, 600n, `a minted ${ma}, b minted ${mb}: together exactly once each`);
  assert.ok(ma > 0n && mb > 0n, `both instances took work (a ${ma}, b ${mb})`);
});

test('one instance killed with transactions in flight: the other resolves them after the lease', async () => {
  const wallets = Array.from({ length: 20 }, randomWallet);
  const serials = await addMeters(db, wallets);
  await warmTables(ctx, wallets, readingFeeder(ctx, wallets, serials));
  const mark = await txMark(db);
  // Hold blocks so both instances have recorded, sent, unconfirmed transactions when one dies.
  await simControl(env, '/pause', {});
  await flow(wallets, serials, 10, 16);
  await waitFor(async () => Number((await metrics({ MINTD_URL: second.url })).mintd_inflight_transactions) > 0,
    { what: 'instance b has transactions in flight' });
  const orphaned = Number((await metrics({ MINTD_URL: second.url })).mintd_inflight_transactions);
  await second.stop('SIGKILL');
  second = null;
  await simControl(env, '/resume', {});
  await drain(db, { timeout: 60000, what: 'survivor resolved the dead instance\'s transactions' });
  assert.deepEqual(await checkInvariant(db, env), []);
  assert.ok(await v0Since(db, mark) > 0, 'v0 transactions with lookup tables in use');
  assert.ok(orphaned > 0);
  assert.match(readFileSync(join(stack.dir, 'mintd.log'), 'utf8'), /resolving recorded transaction/, 'a adopted b\'s transactions');
});
