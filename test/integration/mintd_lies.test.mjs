// mintd_lies.test.mjs: the RPC endpoint lies the way load-balanced hosted endpoints do (null statuses for landed
// transactions, backends that lag, lack history or disagree, processed slots rolled back, preflight answers that
// are not the whole story), alone, with SIGKILLs and with two instances; and a mint outside mintd halts minting
// until an operator acknowledges it. Every test ends with the exactly-once invariant.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, GTX_BIN } from './lib/stack.mjs';
import { foreignMint as foreignMintTo } from './lib/foreign.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, simControl, metrics, openMintdStack, closeMintdStack, readingFeeder, isDead, startExtraMintd,
  warmTables, txMark, v0Since,
} from './lib/mintd.mjs';

const MINTD_ENV = {
  MINTD_INSTANCE_ID: 'mintd-lies', TOKENIZATION_MAX_RETRY_ATTEMPTS: '1000', MINTD_CONFIRM_POLL_MS: '50',
  MINTD_RPC_TIMEOUT_MS: '1500', MINTD_SUPPLY_CHECK_SECS: '1', MINTD_CLAIM_LEASE_SECS: '10',
};

let ctx, stack, env, db, addReadings, mark;
const foreign = {};
const extraLogs = [];

before(async () => {
  ctx = await openMintdStack({ ingestd: true, mintdEnv: MINTD_ENV });
  ({ stack, env, db } = ctx);
  const wallets = Array.from({ length: 40 }, randomWallet);
  addReadings = readingFeeder(ctx, wallets, await addMeters(db, wallets), 3_000_000n);
  await warmTables(ctx, wallets, addReadings);
});

// Every lie below is told to v0 transactions loading the wallets' accounts from lookup tables.
beforeEach(async () => { mark = await txMark(db); });

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx, extraLogs), [], 'daemon logs show problems');
});

const fault = (spec) => simControl(env, '/fault', spec);
const simState = () => simControl(env, '/state');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function q1(sql, params) {
  return (await db.query(sql, params)).rows[0];
}

/* Feeds readings every `every` ms for `ms` ms. */
async function feedFor(ms, n = 6, every = 300) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await addReadings(n);
    await sleep(every);
  }
}

async function settle(what) {
  await simControl(env, '/clear-faults', {});
  await drain(db, { timeout: 120000, what });
  assert.deepEqual(await checkInvariant(db, env, { foreign }), []);
  assert.ok(await v0Since(db, mark) > 0, `${what}: v0 transactions with lookup tables in use`);
}

const pidFile = () => join(stack.dir, 'mintd.pid');
async function killMintd() {
  const pid = existsSync(pidFile()) ? +readFileSync(pidFile(), 'utf8') : null;
  if (pid === null) return;
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  await waitFor(() => isDead(pid), { what: 'mintd killed' });
  rmSync(pidFile(), { force: true });
}

test('every status lookup answers null for 30 s while transactions land: every reading minted exactly once', async () => {
  const { top } = await q1(`SELECT coalesce(max(id), 0)::bigint AS top FROM mint_transactions`);
  const mintedBefore = await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'minted'`);
  const executed0 = (await simState()).executed;
  await fault({ kind: 'null_statuses', for_ms: 30000 });
  await feedFor(20000, 8, 400);
  const during = await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'minted'`);
  assert.equal(during.n, mintedBefore.n, 'nothing can be confirmed while every status is null');
  assert.ok((await simState()).executed > executed0 + 5, 'transactions kept landing meanwhile');
  await settle('after 30 s of null statuses');
  // Transactions that did not show up for MINTD_ABANDON_AFTER_BLOCKS were abandoned; they had all landed, so
  // none of their advances can have landed: every one of those mint transactions is confirmed, once.
  const adv = await db.query(`SELECT a.state AS adv, t.state AS mint FROM mint_transactions a
      JOIN mint_transactions t ON t.nonce_account = a.nonce_account AND t.nonce_value = a.nonce_value AND t.kind = 'mint'
      WHERE a.kind = 'advance' AND a.id > $1`, [top]);
  assert.ok(adv.rows.length > 0, 'transactions were abandoned while their statuses were hidden');
  for (const r of adv.rows) assert.deepEqual(r, { adv: 'expired', mint: 'confirmed' });
});

test('a lagging backend and one without history, mixed with an honest one, and a SIGKILL: exactly once', async () => {
  await fault({ kind: 'lag', slots: 300, probability: 0.5, for_ms: 9000 });
  await fault({ kind: 'no_history', probability: 0.5, for_ms: 9000 });
  await feedFor(3000);
  await killMintd();
  stack.start('mintd');
  await feedFor(3000);
  const st = await simState();
  assert.ok(st.faults.some((f) => f.kind === 'lag' && f.fired > 0), 'the lagging backend answered');
  await settle('lag and no history');
});

test('two backends that disagree (one behind and restarted from a snapshot), two instances, one killed', async () => {
  const extra = await startExtraMintd(stack, 'mintd-lies-2', MINTD_ENV);
  extraLogs.push('mintd-lies-2.log');
  try {
    await fault({ kind: 'alternate', slots: 400, for_ms: 10000 });
    await feedFor(4000);
    await killMintd();
    await feedFor(3000);
    stack.start('mintd');
    await feedFor(2000);
    await settle('alternating backends');
    const st = await simState();
    assert.equal(st.faults.length, 0);
  } finally {
    await extra.stop();
  }
});

test('processed slots rolled back: a transaction seen processed and then gone lands later, once', async () => {
  const before = (await simState()).rolledBack;
  await fault({ kind: 'rollback', slots: 5, count: 8 });
  await feedFor(3000);
  await waitFor(async () => (await simState()).rolledBack > before, { what: 'a rollback' });
  await settle('rollbacks');
});

test('a preflight failure is not final: bytes that already reached a leader land, and the readings mint once', async () => {
  await simControl(env, '/pause', {});
  let rs;
  try {
    rs = await addReadings(6);
    await waitFor(async () => (await q1(`SELECT count(*)::int AS n FROM mint_transactions t JOIN meter_readings m ON m.mint_tx_id = t.id
        WHERE m.id = $1 AND t.state = 'pending' AND t.sent_at IS NOT NULL`, [rs[0].id])).n === 1, { what: 'the transaction sent' });
    // From now on every node answers the send with a program failure, as if the account were frozen.
    await fault({ kind: 'reject_send', count: 100000, code: -32002, message: 'Transaction simulation failed: Error processing Instruction 3: custom program error: 0x11',
      data: { err: { InstructionError: [3, { Custom: 17 }] }, logs: [], accounts: null, unitsConsumed: 0 } });
    await waitFor(async () => (await q1(`SELECT count(*)::int AS n FROM mint_transactions a JOIN mint_transactions t
        ON t.nonce_account = a.nonce_account AND t.nonce_value = a.nonce_value JOIN meter_readings m ON m.mint_tx_id = t.id
        WHERE m.id = $1 AND a.kind = 'advance' AND a.state = 'pending'`, [rs[0].id])).n === 1, { what: 'the transaction abandoned' });
  } finally {
    await simControl(env, '/resume', {});
  }
  await waitFor(async () => (await q1(`SELECT status FROM meter_readings WHERE id = $1`, [rs[0].id])).status === 'minted',
    { what: 'the already-forwarded bytes to land and count' });
  await settle('preflight failures after the bytes had left');
  const t = await db.query(`SELECT t.state, (SELECT state FROM mint_transactions a WHERE a.kind = 'advance' AND a.nonce_account = t.nonce_account
      AND a.nonce_value = t.nonce_value) AS adv FROM mint_transactions t JOIN mint_transaction_readings l ON l.mint_tx_id = t.id WHERE l.reading_id = $1`, [rs[0].id]);
  assert.deepEqual(t.rows, [{ state: 'confirmed', adv: 'expired' }], 'one transaction, confirmed; its advance can never land');
});

// ---- the supply invariant -------------------------------------------------------------------------------

/* Mints `amount` to a fresh wallet with the mint authority's key, outside mintd. */
async function foreignMint(amount) {
  const wallet = randomWallet();
  const sig = await foreignMintTo(env, wallet, amount);
  foreign[wallet] = amount;
  return { wallet, sig };
}

async function admin(path, body, token = env.ADMIN_TOKEN) {
  const res = await fetch(`${env.INGESTD_URL}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('a mint outside mintd halts every instance until an operator acknowledges it through the admin API', async () => {
  await drain(db, { what: 'quiet before the foreign mint' });
  // mintd counts from its baseline (the supply before its first mint); what is minted before it is the baseline.
  await waitFor(async () => (await q1(`SELECT count(*)::int AS n FROM supply_baseline`)).n === 1, { what: 'the supply baseline' });
  const amount = 777_000_000_123n;
  await foreignMint(amount);
  const halt = await waitFor(async () => {
    const r = await admin('/api/admin/tokenization/status');
    return r.body.minting_halted ? r.body.halt : false;
  }, { what: 'the halt', timeout: 30000 });
  assert.equal(BigInt(halt.supply) - BigInt(halt.expected_max), amount, 'the excess is exactly the foreign mint');
  assert.match(halt.reason, /outside mintd/);
  const ready = await fetch(`${env.MINTD_URL}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /halted/);
  assert.equal((await metrics(env)).mintd_minting_halted, '1');
  const events = await ctx.redis.xRange('gridtokenx:events:stream', '-', '+');
  const ev = events.filter((e) => e.message.type === 'minting_halted').map((e) => JSON.parse(e.message.event)).pop();
  assert.ok(ev, 'a minting_halted event on the events stream');
  assert.equal(ev.halt_id, halt.halt_id);
  assert.equal(ev.supply, halt.supply);

  // While halted nothing new is taken, however long we wait (several supply checks).
  const rs = await addReadings(5);
  const checks = Number((await metrics(env)).mintd_supply_checks_total);
  await waitFor(async () => Number((await metrics(env)).mintd_supply_checks_total) >= checks + 3, { what: 'three more supply checks' });
  const { n } = await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status <> 'pending'`, [rs.map((r) => r.id)]);
  assert.equal(n, 0, 'halted: the readings stay pending');

  // The acknowledgement is authenticated, names a halt and says why.
  assert.equal((await admin('/api/admin/tokenization/acknowledge-halt', { halt_id: halt.halt_id, note: 'x' }, null)).status, 401);
  const noNote = await admin('/api/admin/tokenization/acknowledge-halt', { halt_id: halt.halt_id });
  assert.equal(noNote.status, 400);
  assert.equal(noNote.body.error.field, 'note');
  assert.equal((await admin('/api/admin/tokenization/acknowledge-halt', { halt_id: halt.halt_id + 1000, note: 'x' })).status, 404);
  const ack = await admin('/api/admin/tokenization/acknowledge-halt', { halt_id: halt.halt_id, note: 'test mint by the operator' });
  assert.equal(ack.status, 200);
  assert.equal(BigInt(ack.body.baseline_adjustment), amount);
  await drain(db, { what: 'minting resumed after the acknowledgement' });
  assert.deepEqual(await checkInvariant(db, env, { foreign }), []);
  assert.equal((await admin('/api/admin/tokenization/status')).body.minting_halted, false);
  assert.match(readFileSync(join(stack.dir, 'ingestd.log'), 'utf8'), /msg="minting halt acknowledged" .*halt_id=\d+ by=admin-token-sha256:/);
});

test('SOLANA_COMMITMENT=processed is refused at start-up with the reason', () => {
  const r = spawnSync(join(GTX_BIN, 'mintd'), ['-n'], { env: { PATH: process.env.PATH, SOLANA_COMMITMENT: 'processed', TOKEN_MINT: env.TOKEN_MINT }, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stdout + r.stderr, /SOLANA_COMMITMENT=processed: a processed status can be rolled back/);
});
