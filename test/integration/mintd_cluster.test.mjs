// mintd_cluster.test.mjs: mintd on a real cluster's terms: a distant RPC, congestion that drops cheap
// transactions, 429 storms, a payer that runs dry and is funded again, a token account its owner closed, an
// instance frozen inside a database transaction, a node without history. Each ends with the invariant.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateKeyPairSigner, createKeyPairSignerFromBytes, pipe, createTransactionMessage, setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash, appendTransactionMessageInstructions, signTransactionMessageWithSigners,
  getTransactionEncoder, getAddressEncoder, getProgramDerivedAddress, address, AccountRole,
} from '@solana/kit';
import { solanaRpc, waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, insertReadings, xaddReadings, simControl, metrics, openMintdStack, closeMintdStack,
  readingFeeder, startExtraMintd, isDead, warmTables, txMark, v0Since,
} from './lib/mintd.mjs';

const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const MINTD_ENV = {
  MINTD_INSTANCE_ID: 'mintd-cluster', TOKENIZATION_MAX_RETRY_ATTEMPTS: '3', MINTD_CONFIRM_POLL_MS: '50',
  MINTD_RPC_TIMEOUT_MS: '2000', MINTD_SUPPLY_CHECK_SECS: '2', MINTD_CLAIM_LEASE_SECS: '8',
  BLOCKCHAIN_PRIORITY_FEE_MICROLAMPORTS: '1000',
};

let ctx, stack, env, db, wallets, serials, addReadings, mark;
const adjust = {};
const extraLogs = [];

before(async () => {
  ctx = await openMintdStack({ mintdEnv: MINTD_ENV });
  ({ stack, env, db } = ctx);
  wallets = Array.from({ length: 30 }, randomWallet);
  serials = await addMeters(db, wallets);
  addReadings = readingFeeder(ctx, wallets, serials, 4_000_000n);
  await warmTables(ctx, wallets, addReadings);
});

beforeEach(async () => { mark = await txMark(db); });

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx, extraLogs), [], 'daemon logs show problems');
});

const fault = (spec) => simControl(env, '/fault', spec);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const q1 = async (sql, params) => (await db.query(sql, params)).rows[0];

async function feedFor(ms, n = 6, every = 300) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await addReadings(n);
    await sleep(every);
  }
}

/* Nobody was charged an attempt: transaction-level trouble never counts against readings. */
async function nothingCharged(what) {
  const r = await q1(`SELECT count(*)::int AS n FROM minting_retry_queue WHERE attempts > 0`);
  assert.equal(r.n, 0, `${what}: no reading was charged an attempt`);
  const d = await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'failed'`);
  assert.equal(d.n, 0, `${what}: nothing dead-lettered`);
}

async function settle(what, { v0 = true } = {}) {
  await simControl(env, '/clear-faults', {});
  await drain(db, { timeout: 120000, what });
  assert.deepEqual(await checkInvariant(db, env, { adjust }), []);
  if (v0) assert.ok(await v0Since(db, mark) > 0, `${what}: v0 transactions with lookup tables in use`);
}

test('a distant RPC endpoint (every call 80 ms away): everything minted once', async () => {
  await fault({ kind: 'stall', ms: 80, probability: 1 });
  await feedFor(3000);
  await settle('distant RPC');
});

test('congestion above the configured fee floor: fees follow the cluster, everything mints, nothing is dead-lettered', async () => {
  await fault({ kind: 'congestion', min_price: 4000 });
  await feedFor(4000);
  await waitFor(async () => Number((await metrics(env)).mintd_priority_fee_microlamports) >= 4000,
    { what: 'the priority fee to follow recent fees', timeout: 30000 });
  await feedFor(2000);
  await drain(db, { timeout: 120000, what: 'minted under congestion' });
  assert.ok((await simControl(env, '/state')).dropped > 0, 'the cluster dropped cheap transactions');
  await nothingCharged('congestion');
  await settle('congestion');
});

test('429 storms (with and without Retry-After): everything minted once, nothing dead-lettered', async () => {
  await fault({ kind: 'http_429', probability: 0.25, for_ms: 6000 });
  await fault({ kind: 'http_429', probability: 0.05, retry_after: 1, for_ms: 6000 });
  await feedFor(5000);
  await drain(db, { timeout: 120000, what: 'minted through the 429s' });
  assert.ok(Number((await metrics(env))['mintd_rpc_errors_total{kind="rate_limited"}']) > 0, 'rate limits were met and counted');
  await nothingCharged('429');
  await settle('429 storms');
});

async function lamports(pubkey) {
  const res = await fetch(env.SOLANA_RPC_URL, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getBalance', params: [pubkey, { commitment: 'processed' }] }) });
  return BigInt((await res.json()).result.value);
}

test('the payer runs dry mid-backlog and is funded again: paused, then everything once, packing back to normal', async () => {
  await drain(db, { what: 'quiet first' });
  const saved = await lamports(env.MINT_AUTHORITY);
  const { top } = await q1(`SELECT coalesce(max(id), 0)::bigint AS top FROM mint_transactions`);
  await simControl(env, '/set-balance', { pubkey: env.MINT_AUTHORITY, lamports: '12000' });
  await addReadings(60);
  await waitFor(async () => /payer/.test(await (await fetch(`${env.MINTD_URL}/readyz`)).text()), { what: '/readyz to say the payer cannot pay' });
  assert.equal((await metrics(env)).mintd_payer_balance_low, '1');
  await sleep(1500);
  await simControl(env, '/set-balance', { pubkey: env.MINT_AUTHORITY, lamports: saved.toString() });
  await drain(db, { timeout: 120000, what: 'minted after funding' });
  await nothingCharged('payer dry');
  const { avg } = await q1(`SELECT coalesce(avg(wallets), 0)::float8 AS avg FROM mint_transactions
      WHERE id > $1 AND kind = 'mint' AND state = 'confirmed'`, [top]);
  assert.ok(avg >= 10, `wallets per transaction back to normal after funding (${avg})`);
  await settle('payer dry and funded');
});

/* A wallet whose key the test holds, with a meter. */
async function ownWallet() {
  const kp = await generateKeyPairSigner();
  const [serial] = await addMeters(db, [kp.address]);
  await simControl(env, '/fund', { pubkey: kp.address, lamports: '1000000000' });
  return { kp, serial };
}

const rpc = (method, params) => solanaRpc(env, method, params);

async function ataOf(owner) {
  const enc = getAddressEncoder();
  const [a] = await getProgramDerivedAddress({ programAddress: address(ATA_PROGRAM),
    seeds: [enc.encode(address(owner)), enc.encode(address(TOKEN)), enc.encode(address(env.TOKEN_MINT))] });
  return a;
}

async function sendSigned(payer, ixs) {
  const { value: lt } = await rpc('getLatestBlockhash', [{ commitment: 'confirmed' }]);
  const msg = pipe(createTransactionMessage({ version: 'legacy' }), (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: lt.blockhash, lastValidBlockHeight: BigInt(lt.lastValidBlockHeight) }, m),
    (m) => appendTransactionMessageInstructions(ixs, m));
  const tx = await signTransactionMessageWithSigners(msg);
  const sig = await rpc('sendTransaction', [Buffer.from(getTransactionEncoder().encode(tx)).toString('base64'),
    { encoding: 'base64', preflightCommitment: 'confirmed' }]);
  await waitFor(async () => (await rpc('getSignatureStatuses', [[sig]])).value[0]?.confirmationStatus === 'finalized', { what: 'finalized' });
}

test('a token account its owner closed: the next mint recreates it, the reading mints once, nothing dead-lettered', async () => {
  const a = await ownWallet();
  const [first] = await insertReadings(db, [{ serial: a.serial, wallet: a.kp.address, kwhMicro: 2_000_000n }]);
  await xaddReadings(ctx.redis, [first]);
  await drain(db, { what: 'the first mint, which creates the account' });
  // Its account goes into a lookup table (it minted once), and mintd reads the table back: the closed account
  // is then one a table still names.
  await waitFor(async () => (await q1(`SELECT count(*)::int AS n FROM lookup_table_entries WHERE wallet = $1
      AND state = 'added'`, [a.kp.address])).n === 1, { what: 'the account in a lookup table', timeout: 60000 });
  // The owner moves the tokens to another wallet's account and closes its own (empty) one.
  const src = await ataOf(a.kp.address);
  const dstOwner = wallets[0];
  const dst = await ataOf(dstOwner);
  const amount = first.amount;
  const data = new Uint8Array(10);
  data[0] = 12; // TransferChecked
  new DataView(data.buffer).setBigUint64(1, amount, true);
  data[9] = 9;
  await sendSigned(a.kp, [
    { programAddress: address(TOKEN), data, accounts: [{ address: src, role: AccountRole.WRITABLE },
      { address: address(env.TOKEN_MINT), role: AccountRole.READONLY }, { address: dst, role: AccountRole.WRITABLE },
      { address: a.kp.address, role: AccountRole.READONLY_SIGNER }] },
    { programAddress: address(TOKEN), data: new Uint8Array([9]), accounts: [{ address: src, role: AccountRole.WRITABLE }, // CloseAccount
      { address: a.kp.address, role: AccountRole.WRITABLE }, { address: a.kp.address, role: AccountRole.READONLY_SIGNER }] },
  ]);
  adjust[a.kp.address] = -amount;
  adjust[dstOwner] = (adjust[dstOwner] ?? 0n) + amount;
  assert.equal((await rpc('getAccountInfo', [src, { encoding: 'base64', commitment: 'confirmed' }])).value, null, 'closed');
  const before = Number((await metrics(env)).mintd_token_accounts_forgotten_total);
  const [second] = await insertReadings(db, [{ serial: a.serial, wallet: a.kp.address, kwhMicro: 3_000_000n }]);
  await xaddReadings(ctx.redis, [second]);
  await waitFor(async () => (await q1(`SELECT status FROM meter_readings WHERE id = $1`, [second.id])).status === 'minted',
    { what: 'the reading minted into a recreated account', timeout: 60000 });
  assert.ok(Number((await metrics(env)).mintd_token_accounts_forgotten_total) > before, 'the cache forgot the closed account');
  const d = await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'failed'`);
  assert.equal(d.n, 0, 'nothing dead-lettered');
  await settle('closed token account', { v0: false });
});

test('one instance frozen inside a database transaction while another keeps minting', async () => {
  await drain(db, { what: 'quiet first' });
  const extra = await startExtraMintd(stack, 'mintd-frozen', {
    ...MINTD_ENV, MINTD_TEST_CRASH_POINT: 'during_db_update', MINTD_TEST_CRASH_ACTION: 'stop',
    MINTD_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '3000', MINTD_PG_LOCK_TIMEOUT_MS: '1000',
  });
  extraLogs.push('mintd-frozen.log');
  try {
    await waitFor(async () => {
      await addReadings(6);
      const st = readFileSync(`/proc/${extra.proc.pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      return st === 'T';
    }, { what: 'the extra instance frozen inside its confirmation', interval: 200 });
    // It holds row locks in an open transaction. The other instance must keep minting what arrives now.
    const fresh = await addReadings(20);
    await waitFor(async () => (await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'minted'`,
      [fresh.map((r) => r.id)])).n === fresh.length, { what: 'the other instance minting past the frozen one', timeout: 60000 });
    // The server ends the frozen transaction (idle-in-transaction timeout); after the lease its work is adopted.
    await drain(db, { timeout: 90000, what: 'everything resolved, the frozen instance\'s transactions included' });
  } finally {
    process.kill(extra.proc.pid, 'SIGCONT');
    await extra.stop('SIGKILL');
  }
  await settle('frozen instance');
});

test('a node without transaction history: everything still mints once; a transaction older than the status cache waits and /readyz says why', async () => {
  await fault({ kind: 'no_history' });
  await feedFor(2000);
  await drain(db, { timeout: 60000, what: 'minted without history' });
  await waitFor(async () => (await metrics(env)).mintd_rpc_history_available === '0', { what: 'the node seen without history', timeout: 30000 });
  // A transaction that lands while mintd is away, longer than the status cache covers.
  const pidFile = join(stack.dir, 'mintd.pid');
  const { writeMintdEnv } = await import('./lib/mintd.mjs');
  writeMintdEnv(stack, { ...MINTD_ENV, MINTD_TEST_CRASH_POINT: 'after_confirm_before_db' });
  stack.stop('mintd');
  stack.start('mintd');
  const pid = existsSync(pidFile) ? +readFileSync(pidFile, 'utf8') : null;
  await waitFor(async () => { await addReadings(4); return pid === null || isDead(pid); }, { what: 'mintd killed after seeing a confirmation' });
  await simControl(env, '/jump', { blocks: 400 });
  writeMintdEnv(stack, MINTD_ENV);
  stack.start('mintd');
  await waitFor(async () => /history/.test(await (await fetch(`${env.MINTD_URL}/readyz`)).text()),
    { what: '/readyz to say a transaction needs history', timeout: 60000 });
  await simControl(env, '/clear-faults', {});
  await settle('history back');
});
