// mintd_window.test.mjs: TOKENIZATION_WALLET_MIN_INTERVAL_SECS: a wallet is minted at most once per window, its
// readings summed into one instruction; readings arriving inside the window wait (status waiting, shown with
// mint_after by ingestd) and are minted when it opens, each with its own transaction record and event; two
// instances never both take a wallet inside a window; a window of 0 (after a reload) mints the waiting at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, insertReadings, xaddReadings, metrics, openMintdStack, closeMintdStack, startExtraMintd,
  writeMintdEnv, redisClient,
} from './lib/mintd.mjs';
import { client } from './ingestd_lib.mjs';
import { pidOf } from './lib/hostile.mjs';

const WINDOW = 15;
const NONCES = 16; // a small pool, created quickly even on a busy machine
const MINTD_ENV = { MINTD_INSTANCE_ID: 'mintd-window', TOKENIZATION_WALLET_MIN_INTERVAL_SECS: String(WINDOW),
  MINTD_CLAIM_LEASE_SECS: '10', MINTD_NONCE_ACCOUNTS: String(NONCES) };

let ctx, stack, env, db, api;

before(async () => {
  ctx = await openMintdStack({ ingestd: true, mintdEnv: MINTD_ENV });
  ({ stack, env, db } = ctx);
  api = client(env);
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx, ['mintd-window-b.log']), [], 'daemon logs show problems');
});

const q = async (sql, params) => (await db.query(sql, params)).rows;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function feed(wallets, serials, kwh) {
  const rs = await insertReadings(db, wallets.map((w, i) => ({ serial: serials[i], wallet: w, kwhMicro: kwh + BigInt(i) })));
  await xaddReadings(ctx.redis, rs);
  return rs;
}

// A wallet's mints are at least a window apart: k of them need (k - 1) windows between the first reading
// (no claim before it) and the last write-ahead (no claim after it). Database clock on both ends.
async function atMostOncePerWindow(wallets, win = WINDOW) {
  const rows = await q(`SELECT m.wallet_address AS w, count(DISTINCT m.mint_tx_id)::int AS mints,
      extract(epoch FROM max(t.created_at) - min(m.submitted_at))::float8 AS span
      FROM meter_readings m JOIN mint_transactions t ON t.id = m.mint_tx_id
      WHERE m.status = 'minted' AND m.wallet_address = ANY($1) GROUP BY m.wallet_address`, [wallets]);
  for (const r of rows) {
    assert.ok(r.mints <= 1 + Math.floor(r.span / win), `wallet ${r.w}: ${r.mints} mints within ${r.span} s`);
  }
  return rows;
}

test('readings inside the window wait, then mint together: one instruction per wallet, a record and an event per reading', async () => {
  const wallets = Array.from({ length: 6 }, randomWallet);
  const serials = await addMeters(db, wallets);
  const sub = await redisClient(env);
  try {
    const minted = new Map();
    await sub.subscribe('gridtokenx:events', (m) => { const e = JSON.parse(m); if (e.type === 'tokens_minted') minted.set(e.reading_id, e); });
    // The nonce pool first: while it is created, claims are released and their readings wait for the next
    // sweep, which on a busy machine can be after the window this test depends on has passed.
    await waitFor(async () => (await q(`SELECT count(*)::int AS n, count(*) FILTER (WHERE state = 'new')::int AS fresh
        FROM nonce_accounts`)).every((r) => r.n === NONCES && r.fresh === 0), { what: 'the nonce pool created', timeout: 60000 });
    const first = await feed(wallets, serials, 1_000_000n);
    // Written ahead in a transaction: each wallet's window was reserved at their claim, moments ago (a claim
    // released before its write-ahead, e.g. while the nonce pool is being created, keeps the reservation, and
    // its readings would wait a window too). Two more rounds at once, well inside it: they wait.
    await waitFor(async () => (await q(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1)
        AND status IN ('submitted', 'minted')`, [first.map((r) => r.id)]))[0].n === first.length,
    { what: 'the first readings written ahead', timeout: 60000 });
    const second = await feed(wallets, serials, 2_000_000n);
    const third = await feed(wallets, serials, 3_000_000n);
    const later = [...second, ...third];
    await waitFor(async () => (await q(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'waiting'`,
      [later.map((r) => r.id)]))[0].n === later.length, { what: 'the later readings waiting' });
    // when each wallet's window opens, as the database holds it (and the clock the sweep compares it with)
    const opens = new Map((await q(`SELECT wallet_address AS w, min(mint_after) AS at FROM meter_readings
        WHERE id = ANY($1) GROUP BY 1`, [later.map((r) => r.id)])).map((r) => [r.w, r.at]));
    const shown = await api.get(second[0].id); // checked against docs/openapi.yaml by the client
    assert.equal(shown.status, 200);
    assert.equal(shown.json.status, 'waiting');
    assert.ok(Date.parse(shown.json.mint_after) > Date.now() - 1000, 'mint_after: when the window opens');
    const m = await metrics(env);
    assert.ok(Number(m.mintd_window_waiting_readings) >= 0);
    const st = await api.admin('GET', '/api/admin/tokenization/status');
    assert.equal(st.json.waiting_readings_count, later.length);
    await drain(db, { timeout: 60000, what: 'the waiting readings minted when the window opened' });
    assert.deepEqual(await checkInvariant(db, env), []);
    // Each wallet: its two waiting readings in one transaction, one instruction for their sum, a window later.
    const rows = await q(`SELECT m.wallet_address AS w, count(DISTINCT m.mint_tx_id)::int AS txs, min(t.created_at) AS at,
        min(t.ix_wallets::text) AS ix FROM meter_readings m JOIN mint_transactions t ON t.id = m.mint_tx_id
        WHERE m.id = ANY($1) GROUP BY m.wallet_address`, [later.map((r) => r.id)]);
    assert.equal(rows.length, wallets.length);
    for (const r of rows) {
      assert.equal(r.txs, 1, `wallet ${r.w}: its waiting readings in one transaction`);
      assert.equal(r.ix.split(r.w).length - 1, 1, `wallet ${r.w}: one instruction for both readings`);
      assert.ok(r.at >= opens.get(r.w), `wallet ${r.w}: minted at ${r.at.toISOString()}, before its window opened (${opens.get(r.w).toISOString()})`);
    }
    await atMostOncePerWindow(wallets);
    await waitFor(() => later.every((r) => minted.has(r.id)), { what: 'a tokens_minted event per reading' });
    for (const r of later) {
      const [row] = await q(`SELECT mint_tx_signature FROM meter_readings WHERE id = $1`, [r.id]);
      assert.equal(minted.get(r.id).transaction_signature, row.mint_tx_signature);
      assert.equal(minted.get(r.id).tokens_minted, r.amount.toString(), 'the event names the reading\'s own amount');
    }
  } finally {
    await sub.quit(); // an open subscription would keep this file's process alive after a failure
  }
});

test('two instances and a steady stream: no wallet minted twice inside a window, every reading minted once', async () => {
  const { MINTD_INSTANCE_ID: _, ...shared } = MINTD_ENV;
  const second = await startExtraMintd(stack, 'mintd-window-b', shared);
  try {
    const wallets = Array.from({ length: 20 }, randomWallet);
    const serials = await addMeters(db, wallets);
    // Three windows of readings. The wallets' windows open together, so whichever instance's sweep fires first
    // may take them all, every time: if one instance has not minted by then, the other is frozen (SIGSTOP)
    // until it has, readings still flowing, then thawed for a last window (both compete again, one of them
    // with claims and transactions from before its freeze).
    const mintedBy = async (url) => Number((await metrics({ MINTD_URL: url })).mintd_readings_minted_total);
    let k = 0n;
    const run = async (ms, until = async () => false) => {
      const end = Date.now() + ms;
      while (Date.now() < end && !(await until())) {
        await feed(wallets, serials, 5_000_000n + 100n * k++);
        await sleep(700);
      }
    };
    await run(3 * WINDOW * 1000);
    const counts = [await mintedBy(env.MINTD_URL), await mintedBy(second.url)];
    if (counts[0] === 0 || counts[1] === 0) {
      const [busy, idle] = counts[0] === 0 ? [second.proc.pid, env.MINTD_URL] : [pidOf(stack, 'mintd'), second.url];
      process.kill(busy, 'SIGSTOP');
      try {
        const before = await mintedBy(idle);
      await run(90000, async () => (await mintedBy(idle)) > before);
      } finally {
        process.kill(busy, 'SIGCONT');
      }
      await run(WINDOW * 1000);
    }
    await drain(db, { timeout: 90000, what: 'both instances drained' });
    assert.deepEqual(await checkInvariant(db, env), []);
    const rows = await atMostOncePerWindow(wallets);
    assert.ok(rows.every((r) => r.mints >= 2), 'every wallet minted again once its window opened');
    const [{ n }] = await q(`SELECT count(*)::int AS n FROM meter_readings WHERE wallet_address = ANY($1)`, [wallets]);
    assert.ok(n > rows.reduce((a, r) => a + r.mints, 0) * 2, 'readings summed: far fewer wallet-mints than readings');
    assert.ok((await mintedBy(env.MINTD_URL)) > 0 && (await mintedBy(second.url)) > 0, 'both instances minted');
  } finally {
    await second.stop('SIGTERM');
  }
});

test('the window set to 0 (a restart with the new setting): waiting readings mint at once', async () => {
  const wallets = Array.from({ length: 4 }, randomWallet);
  const serials = await addMeters(db, wallets);
  const restart = (vars) => { writeMintdEnv(stack, { ...MINTD_ENV, ...vars }); stack.stop('mintd'); stack.start('mintd'); };
  restart({ TOKENIZATION_WALLET_MIN_INTERVAL_SECS: '3600' });
  await feed(wallets, serials, 9_000_000n);
  await drain(db, { what: 'first readings minted' });
  const rs = await feed(wallets, serials, 9_500_000n);
  await waitFor(async () => (await q(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'waiting'`,
    [rs.map((r) => r.id)]))[0].n === rs.length, { what: 'waiting for an hour' });
  restart({ TOKENIZATION_WALLET_MIN_INTERVAL_SECS: '0' });
  await drain(db, { timeout: 90000, what: 'waiting readings minted after the window went to 0' });
  assert.deepEqual(await checkInvariant(db, env), []);
  restart({});
});
