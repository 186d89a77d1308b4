// mintd.test.mjs: end to end on the real stack: readings in PostgreSQL + stream -> tokens on the simulated chain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { up, pgClient, waitFor, processAlive } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import { randomWallet, addMeters, insertReadings, redisClient, xaddReadings, metrics, simControl } from './lib/mintd.mjs';

let stack, env, db, redis;

export const MINTD_TEST_ENV = `MINTD_INSTANCE_ID=mintd-a
TOKENIZATION_POLLING_INTERVAL_SECS=1
TOKENIZATION_BATCH_LINGER_MS=50
TOKENIZATION_INITIAL_RETRY_DELAY_SECS=1
TOKENIZATION_MAX_RETRY_DELAY_SECS=2
MINTD_CONFIRM_POLL_MS=50
MINTD_REBROADCAST_MS=200
MINTD_RPC_TIMEOUT_MS=2000
MINTD_CLAIM_LEASE_SECS=5
`;

before(async () => {
  stack = up(['postgres', 'redis', 'solana-sim'], { SIM_SLOT_MS: '20' });
  writeFileSync(join(stack.dir, 'mintd.env'), MINTD_TEST_ENV);
  stack.start('mintd');
  env = stack.env;
  db = pgClient(env);
  await db.connect();
  redis = await redisClient(env);
});

after(async () => {
  await redis?.quit();
  await db?.end();
  if (stack) {
    const bad = stack.down();
    stack.cleanup();
    assert.deepEqual(bad, [], 'daemon logs show problems');
  }
});

// Readings for `wallets`, `per` each, amounts varied and exact (BigInt all the way).
function specsFor(wallets, serials, per, base = 1_000_001n) {
  const specs = [];
  for (let i = 0; i < wallets.length; i++) {
    for (let j = 0; j < per; j++) specs.push({ serial: serials[i], wallet: wallets[i], kwhMicro: base * BigInt(i + 1) + BigInt(j * 7919) });
  }
  return specs;
}

test('end to end: many wallets, new and existing token accounts, exact amounts, one signature per reading', async () => {
  const sub = redis.duplicate();
  await sub.connect();
  const minted = new Map();
  await sub.subscribe('gridtokenx:events', (msg) => {
    const ev = JSON.parse(msg);
    if (ev.type === 'tokens_minted') minted.set(ev.reading_id, ev);
  });

  const wallets = Array.from({ length: 45 }, randomWallet);
  const serials = await addMeters(db, wallets);
  const specs = specsFor(wallets, serials, 4);
  // One wallet holds two readings whose sum passes INT64_MAX (but fits a u64): exact beyond 2^63.
  specs.push({ serial: serials[0], wallet: wallets[0], kwhMicro: 9_000_000_000_000_123n });
  specs.push({ serial: serials[0], wallet: wallets[0], kwhMicro: 9_000_000_000_000_456n });
  const first = await insertReadings(db, specs);
  await xaddReadings(redis, first);
  await drain(db, { what: 'first round minted' });
  assert.deepEqual(await checkInvariant(db, env), []);

  const big = BigInt((await simControl(env, `/balances?mint=${env.TOKEN_MINT}`)).balances[wallets[0]]);
  assert.ok(big > 9_223_372_036_854_775_807n, `balance ${big} exceeds INT64_MAX`);

  // Second round to the same wallets: their token accounts exist now and are not created again.
  const second = await insertReadings(db, specsFor(wallets, serials, 2, 3_000_003n));
  await xaddReadings(redis, second);
  await drain(db, { what: 'second round minted' });
  assert.deepEqual(await checkInvariant(db, env), []);

  const { rows } = await db.query(`SELECT id, mint_tx_signature FROM meter_readings`);
  for (const r of rows) assert.match(r.mint_tx_signature ?? '', /^[1-9A-HJ-NP-Za-km-z]{64,88}$/, `reading ${r.id} has a signature`);
  const tx = await db.query(`SELECT max(wallets)::int AS maxw, count(*)::int AS n, sum(readings)::int AS r
      FROM mint_transactions WHERE state = 'confirmed'`);
  assert.ok(tx.rows[0].maxw >= 9, `wallets are packed together (max ${tx.rows[0].maxw} per tx)`);
  assert.equal(tx.rows[0].r, first.length + second.length);

  const m = await metrics(env);
  assert.equal(m.mintd_readings_minted_total, String(first.length + second.length));
  assert.equal(m.mintd_token_accounts_created_total, String(wallets.length), 'each token account created once');

  await waitFor(() => minted.size === rows.length, { what: 'a tokens_minted event per reading' });
  const ev = minted.get(first[1].id);
  assert.equal(ev.tokens_minted, first[1].amount.toString());
  assert.equal(ev.wallet_address, first[1].wallet);
  assert.equal(ev.meter_serial, first[1].serial);
  assert.match(ev.transaction_signature, /^[1-9A-HJ-NP-Za-km-z]{64,88}$/);
  await sub.quit();
});

test('readings the stream never delivered are swept from PostgreSQL; bodiless and unknown entries are acked', async () => {
  const wallets = Array.from({ length: 5 }, randomWallet);
  const serials = await addMeters(db, wallets);
  await insertReadings(db, specsFor(wallets, serials, 3)); // no XADD at all
  // Entries that name nothing mintd can use: garbage, an unknown reading, and one deleted while pending.
  await redis.xAdd('gridtokenx:readings', '*', { reading_id: 'not-a-uuid' });
  await redis.xAdd('gridtokenx:readings', '*', { reading_id: '00000000-0000-4000-8000-000000000000' });
  await drain(db, { what: 'swept readings minted' });
  assert.deepEqual(await checkInvariant(db, env), []);
  await waitFor(async () => (await redis.xPending('gridtokenx:readings', 'mintd')).pending === 0,
    { what: 'no stream entry left pending' });
});

test('auto-mint off stops new claims; trigger and auto-mint on through NOTIFY resume them', async () => {
  await db.query(`UPDATE settings SET value = 'false' WHERE key = 'auto_mint_enabled'`);
  await db.query(`SELECT pg_notify('gridtokenx_control', '{"action":"auto_mint","enabled":false}')`);
  await new Promise((r) => setTimeout(r, 300));
  const wallets = Array.from({ length: 3 }, randomWallet);
  const serials = await addMeters(db, wallets);
  const rs = await insertReadings(db, specsFor(wallets, serials, 2));
  await xaddReadings(redis, rs);
  // Negative check: give mintd time to (wrongly) act; a slow machine can only make this pass, never fail.
  await new Promise((r) => setTimeout(r, 1500));
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'pending'`, [rs.map((r) => r.id)]);
  assert.equal(rows[0].n, rs.length, 'nothing claimed while auto-mint is off');
  await db.query(`UPDATE settings SET value = 'true' WHERE key = 'auto_mint_enabled'`);
  await db.query(`SELECT pg_notify('gridtokenx_control', '{"action":"auto_mint","enabled":true}')`);
  await db.query(`SELECT pg_notify('gridtokenx_control', '{"action":"trigger_batch"}')`);
  await drain(db, { what: 'minted after auto-mint is back on' });
  assert.deepEqual(await checkInvariant(db, env), []);
});

test('health, readiness and metrics answer on the loopback port', async () => {
  assert.equal((await fetch(`${env.MINTD_URL}/healthz`)).status, 200);
  assert.equal((await fetch(`${env.MINTD_URL}/readyz`)).status, 200);
  const m = await metrics(env);
  for (const k of ['mintd_readings_minted_total', 'mintd_transactions_total{state="confirmed"}', 'mintd_backlog_readings',
    'mintd_retry_queue_readings', 'mintd_fee_lamports_per_minted_reading', 'mintd_mint_latency_seconds_count',
    'mintd_confirmed_transaction_wallets_total', 'mintd_inflight_transactions']) assert.ok(k in m, `metric ${k}`);
  assert.equal((await fetch(`${env.MINTD_URL}/nope`)).status, 404);
});

test('SIGTERM: stops taking work, resolves what is in flight, exits 0, and a restart continues', async () => {
  const pid = +readFileSync(join(stack.dir, 'mintd.pid'), 'utf8');
  const wallets = Array.from({ length: 4 }, randomWallet);
  const serials = await addMeters(db, wallets);
  const rs = await insertReadings(db, specsFor(wallets, serials, 2));
  await xaddReadings(redis, rs);
  stack.stop('mintd');
  assert.equal(processAlive(pid), false);
  assert.match(readFileSync(join(stack.dir, 'mintd.log'), 'utf8'), /mintd stopped/);
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'claimed'`);
  assert.equal(rows[0].n, 0, 'no claim left behind');
  stack.start('mintd');
  await drain(db, { what: 'minted after restart' });
  assert.deepEqual(await checkInvariant(db, env), []);
});
