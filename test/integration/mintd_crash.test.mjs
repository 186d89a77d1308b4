// mintd_crash.test.mjs: SIGKILL mintd at every point of the cycle (and at random) while readings flow;
// after each restart and a final drain, every reading is minted exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, simControl, isDead as dead, openMintdStack, closeMintdStack, readingFeeder, writeMintdEnv,
  freshFeeder, tablesInUse, warmTables,
} from './lib/mintd.mjs';

const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const POINTS = ['after_claim', 'after_sign', 'after_writeahead', 'after_send', 'after_confirm_before_db', 'during_db_update',
  'after_advance_writeahead', 'after_table_sign', 'after_table_writeahead'];
const BASE = {
  MINTD_INSTANCE_ID: 'mintd-crash', TOKENIZATION_BATCH_LINGER_MS: '20', TOKENIZATION_BATCH_SIZE: '40',
  TOKENIZATION_MAX_RETRY_ATTEMPTS: '1000', MINTD_CONFIRM_POLL_MS: '30', MINTD_REBROADCAST_MS: '100',
  MINTD_CLAIM_LEASE_SECS: '30',
};

let ctx, stack, env, db, addReadings, addFresh, wallets;
let kills = 0;

before(async () => {
  ctx = await openMintdStack({ mintdEnv: BASE, start: false });
  ({ stack, env, db } = ctx);
  wallets = Array.from({ length: 30 }, randomWallet);
  addReadings = readingFeeder(ctx, wallets, await addMeters(db, wallets));
  addFresh = freshFeeder(ctx);
});

after(async () => {
  const used = await tablesInUse(db);
  assert.ok(used.v0 > 0 && used.tables > 0, `lookup tables in use: ${JSON.stringify(used)}`);
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

const pidFile = () => join(stack.dir, 'mintd.pid');
const mintdPid = () => (existsSync(pidFile()) ? +readFileSync(pidFile(), 'utf8') : null);

// Starts mintd; it may crash on purpose before it even answers /healthz.
function startMintd() {
  try { stack.start('mintd'); } catch { /* died during start-up (a crash point fired): checked by the caller */ }
  return mintdPid();
}


// SIGKILL from outside. Not `stack.stop(..., true)`: that waits until PID 1 reaps the corpse, which here takes
// about a second; a zombie is already dead for our purposes, and its pid file goes so `start` runs a new one.
function killMintd() {
  const pid = mintdPid();
  if (pid === null) return Promise.resolve();
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  return waitFor(() => dead(pid), { what: 'mintd killed' }).then(() => rmSync(pidFile(), { force: true }));
}

// Blocks until mintd (if running) is dead, feeding it readings so every point is reached (new wallets for the
// lookup-table points: their accounts are what a table transaction adds).
async function waitDead(pid, what, feed = addReadings) {
  if (pid === null) return;
  await waitFor(async () => {
    if (dead(pid)) return true;
    await feed(4);
    return false;
  }, { timeout: 60000, interval: 100, what });
}

async function finalCheck(what) {
  writeMintdEnv(stack, BASE);
  if (mintdPid() === null || dead(mintdPid())) startMintd();
  await drain(db, { timeout: 180000, what });
  assert.deepEqual(await checkInvariant(db, env), []);
}

test('SIGKILL at each named point of the cycle, several times each, then restart and drain', async () => {
  // The kills meet v0 transactions: the wallets' accounts are in lookup tables first (new wallets, for the
  // lookup-table points, are what the table transactions being killed carry).
  writeMintdEnv(stack, BASE);
  startMintd();
  await warmTables(ctx, wallets, addReadings, stack.env.MINTD_URL);
  await killMintd();
  for (let round = 0; round < 6; round++) {
    for (const point of POINTS) {
      writeMintdEnv(stack, { ...BASE, MINTD_TEST_CRASH_POINT: point, MINTD_TEST_CRASH_AFTER: String(1 + (round % 3)) });
      // An abandonment happens when a mint transaction does not land: drop the mint transactions (not the
      // advances) so mintd reaches that point.
      const abandon = point === 'after_advance_writeahead';
      if (abandon) await simControl(env, '/fault', { kind: 'drop_transaction', probability: 1, program: TOKEN_PROGRAM });
      const feed = point.startsWith('after_table') ? addFresh : addReadings;
      await feed(10);
      const pid = startMintd();
      await waitDead(pid, `mintd to kill itself at ${point}`, feed);
      if (abandon) await simControl(env, '/clear-faults', {});
      assert.match(readFileSync(join(stack.dir, 'mintd.log'), 'utf8'), new RegExp(`CRASH POINT ARMED.* key=MINTD_TEST_CRASH_POINT point=${point}`));
      kills += 1;
      // Blocks pass while mintd is down; sometimes many (a recorded transaction stays valid on its nonce).
      if (round % 2 === 1) await simControl(env, '/jump', { blocks: 200 });
    }
  }
  await finalCheck('drain after named crash points');
});

test('external SIGKILL at random moments while readings flow', async () => {
  let producing = true;
  const producer = (async () => {
    while (producing) {
      await addReadings(6);
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  startMintd();
  for (let i = 0; i < 70; i++) {
    await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 450)));
    await killMintd();
    kills += 1;
    if (i % 10 === 9) await simControl(env, '/jump', { blocks: 200 });
    startMintd();
  }
  producing = false;
  await producer;
  await finalCheck('drain after random kills');
  const { rows } = await db.query(`SELECT count(*)::int AS n, count(DISTINCT mint_tx_id)::int AS txs FROM meter_readings`);
  assert.ok(rows[0].n > 1000, `${rows[0].n} readings flowed`);
});

test('at least 100 kills in total, none of which minted anything twice or lost anything', () => {
  assert.ok(kills >= 100, `${kills} kills`);
});
