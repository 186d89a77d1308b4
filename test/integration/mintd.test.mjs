// mintd.test.mjs: end to end on the real stack: signed readings posted to ingestd -> tokens on the simulated chain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import { randomWallet, addMeters, insertReadings, xaddReadings, metrics, simControl, isDead, openMintdStack, closeMintdStack } from './lib/mintd.mjs';
import { newMeter, reading, tsAt, client } from './ingestd_lib.mjs';

let ctx, stack, env, db, redis, api;

before(async () => {
  ctx = await openMintdStack({ ingestd: true, mintdEnv: { MINTD_INSTANCE_ID: 'mintd-a', MINTD_CONFIRM_POLL_MS: '50', MINTD_CLAIM_LEASE_SECS: '5' } });
  ({ stack, env, db, redis } = ctx);
  api = client(env);
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

// Readings for `wallets`, `per` each, amounts varied and exact (BigInt all the way).
function specsFor(wallets, serials, per, base = 1_000_001n) {
  const specs = [];
  for (let i = 0; i < wallets.length; i++) {
    for (let j = 0; j < per; j++) specs.push({ serial: serials[i], wallet: wallets[i], kwhMicro: base * BigInt(i + 1) + BigInt(j * 7919) });
  }
  return specs;
}

// kWh text -> token base units with ratio 1 and 9 decimals, exactly (BigInt).
const baseUnits = (kwh) => {
  const [i, f = ''] = kwh.split('.');
  return (BigInt(i) * 1_000_000n + BigInt((f + '000000').slice(0, 6))) * 1000n;
};

test('end to end through ingestd: many wallets, new then existing token accounts, exact balances, a signature per reading', async () => {
  const sub = redis.duplicate();
  await sub.connect();
  const minted = new Map();
  await sub.subscribe('gridtokenx:events', (msg) => {
    const ev = JSON.parse(msg);
    if (ev.type === 'tokens_minted') minted.set(ev.reading_id, ev);
  });

  const meters = [];
  for (let i = 0; i < 45; i++) {
    const m = newMeter('E2E');
    await api.register(m);
    meters.push(m);
  }
  const expected = new Map(meters.map((m) => [m.wallet, 0n]));
  const ids = [];
  async function post(first, count) {
    const items = [], owners = [];
    meters.forEach((m, i) => {
      for (let j = first; j < first + count; j++) {
        const kwh = `${(i * 7 + j) % 90 + 1}.${String((i * 104729 + j * 7919) % 1000000).padStart(6, '0')}`;
        items.push(reading(m, { timestamp: tsAt(j), kwh }));
        owners.push([m.wallet, baseUnits(kwh)]);
      }
    });
    const r = await api.batch(items);
    assert.equal(r.status, 200, r.text);
    r.json.results.forEach((x, k) => {
      assert.equal(x.status, 201, JSON.stringify(x));
      ids.push(x.id);
      expected.set(owners[k][0], expected.get(owners[k][0]) + owners[k][1]);
    });
  }
  await post(0, 4);
  await drain(db, { what: 'first round minted' });
  assert.deepEqual(await checkInvariant(db, env), []);
  // Second round to the same wallets: their token accounts exist now and are not created again.
  await post(4, 2);
  await drain(db, { what: 'second round minted' });
  assert.deepEqual(await checkInvariant(db, env), []);

  const { balances } = await simControl(env, `/balances?mint=${env.TOKEN_MINT}`);
  for (const [w, sum] of expected) assert.equal(BigInt(balances[w] ?? 0), sum, `wallet ${w} holds exactly the sum of its readings`);
  const { rows } = await db.query(`SELECT id, status, mint_tx_signature FROM meter_readings WHERE id = ANY($1)`, [ids]);
  assert.equal(rows.length, ids.length);
  for (const r of rows) {
    assert.equal(r.status, 'minted');
    assert.match(r.mint_tx_signature ?? '', /^[1-9A-HJ-NP-Za-km-z]{64,88}$/, `reading ${r.id} records its signature`);
  }
  const tx = await db.query(`SELECT max(wallets)::int AS maxw, sum(readings)::int AS r FROM mint_transactions WHERE state = 'confirmed'`);
  assert.ok(tx.rows[0].maxw >= 9, `wallets are packed together (max ${tx.rows[0].maxw} per tx)`);
  assert.equal(tx.rows[0].r, ids.length);
  const m = await metrics(env);
  assert.equal(m.mintd_readings_minted_total, String(ids.length));
  assert.equal(m.mintd_token_accounts_created_total, String(meters.length), 'each token account created once');

  await waitFor(() => ids.every((id) => minted.has(id)), { what: 'a tokens_minted event per reading' });
  const ev = minted.get(ids[1]);
  const r1 = rows.find((r) => r.id === ids[1]);
  assert.equal(ev.transaction_signature, r1.mint_tx_signature);
  assert.equal(ev.wallet_address, meters[0].wallet);
  assert.equal(ev.meter_serial, meters[0].serial);
  assert.match(ev.tokens_minted, /^[0-9]+$/);
  await sub.quit();
});

test('a wallet whose readings sum past INT64_MAX is minted exactly (u64 all the way)', async () => {
  const [w] = [randomWallet()];
  const [serial] = await addMeters(db, [w]);
  // Stored as ingestd would after a ratio that makes each reading worth ~9.0e18 base units.
  const rs = await insertReadings(db, [
    { serial, wallet: w, kwhMicro: 1n, amount: 9_000_000_000_000_000_123n },
    { serial, wallet: w, kwhMicro: 2n, amount: 9_000_000_000_000_000_456n }]);
  await xaddReadings(redis, rs);
  await drain(db, { what: 'big readings minted' });
  assert.deepEqual(await checkInvariant(db, env), []);
  const big = BigInt((await simControl(env, `/balances?mint=${env.TOKEN_MINT}`)).balances[w]);
  assert.equal(big, 18_000_000_000_000_000_579n);
  // u64 on the wire too: one MintToChecked carried the whole sum, above INT64_MAX (two mints of less would
  // reach the same balance without showing it)
  const txs = (await db.query(`SELECT DISTINCT t.id, t.amount::text AS amount FROM mint_transactions t
    JOIN mint_transaction_readings l ON l.mint_tx_id = t.id WHERE l.reading_id = ANY($1) AND t.state = 'confirmed'`,
  [rs.map((r) => r.id)])).rows;
  assert.deepEqual(txs.map((t) => t.amount), ['18000000000000000579']);
});

test('readings the stream never delivered are swept from PostgreSQL; bodiless and unknown entries are acked and deleted', async () => {
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
  // and none left in the stream: settled entries, these too, are deleted once acknowledged
  await waitFor(async () => (await redis.xLen('gridtokenx:readings')) === 0, { what: 'the readings stream empty' });
});

test('auto-mint off (ingestd admin API) stops new claims; auto-mint on and trigger-batch resume them', async () => {
  const offs = () => readFileSync(join(stack.dir, 'mintd.log'), 'utf8').split('auto-mint disabled').length;
  const before = offs();
  assert.equal((await api.admin('POST', '/api/admin/tokenization/toggle-auto-mint', { enabled: false })).status, 200);
  // mintd has applied it once it logs so (a pause of 300 ms here only hoped it had)
  await waitFor(() => offs() > before, { what: 'mintd taking auto-mint off' });
  const wallets = Array.from({ length: 3 }, randomWallet);
  const serials = await addMeters(db, wallets);
  const rs = await insertReadings(db, specsFor(wallets, serials, 2));
  await xaddReadings(redis, rs);
  // Negative check: give mintd time to (wrongly) act; a slow machine can only make this pass, never fail.
  await new Promise((r) => setTimeout(r, 1500));
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'pending'`, [rs.map((r) => r.id)]);
  assert.equal(rows[0].n, rs.length, 'nothing claimed while auto-mint is off');
  assert.equal((await api.admin('POST', '/api/admin/tokenization/toggle-auto-mint', { enabled: true })).status, 200);
  assert.equal((await api.admin('POST', '/api/admin/tokenization/trigger-batch')).status, 202);
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

test('SIGHUP reloads the configuration and keeps minting', async () => {
  const pid = +readFileSync(join(stack.dir, 'mintd.pid'), 'utf8');
  process.kill(pid, 'SIGHUP');
  await waitFor(() => /configuration reloaded/.test(readFileSync(join(stack.dir, 'mintd.log'), 'utf8')), { what: 'reload logged' });
  const wallets = Array.from({ length: 2 }, randomWallet);
  const serials = await addMeters(db, wallets);
  await xaddReadings(redis, await insertReadings(db, specsFor(wallets, serials, 2)));
  await drain(db, { what: 'minted after reload' });
  assert.deepEqual(await checkInvariant(db, env), []);
});

test('SIGTERM: stops taking work, resolves what is in flight, exits 0, and a restart continues', async () => {
  const pid = +readFileSync(join(stack.dir, 'mintd.pid'), 'utf8');
  const wallets = Array.from({ length: 4 }, randomWallet);
  const serials = await addMeters(db, wallets);
  const rs = await insertReadings(db, specsFor(wallets, serials, 2));
  await xaddReadings(redis, rs);
  stack.stop('mintd');
  assert.ok(isDead(pid), 'mintd exited');
  assert.match(readFileSync(join(stack.dir, 'mintd.log'), 'utf8'), /mintd stopped/);
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'claimed'`);
  assert.equal(rows[0].n, 0, 'no claim left behind');
  stack.start('mintd');
  await drain(db, { what: 'minted after restart' });
  assert.deepEqual(await checkInvariant(db, env), []);
});
