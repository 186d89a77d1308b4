// lib/mintd.mjs: helpers for the mintd tests: meters, readings straight into PostgreSQL (+ stream), sim control.
import { randomUUID, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { up, pgClient, ROOT, LOG_BAD } from './stack.mjs';
import { getBase58Decoder } from '@solana/kit';
import { createClient } from 'redis';
import { watchRedis } from './contract.mjs';

const b58 = getBase58Decoder();

export const randomWallet = () => b58.decode(randomBytes(32));

// Registers one meter per wallet (serial derived from the wallet) and returns the serials.
export async function addMeters(db, wallets) {
  const serials = [];
  for (const w of wallets) {
    const serial = `M-${w.slice(0, 12)}`;
    await db.query(
      `INSERT INTO meters (meter_serial, public_key, wallet_address) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [serial, randomBytes(32), w]);
    serials.push(serial);
  }
  return serials;
}

let seq = 0n;
const BASE_US = 1_700_000_000_000_000n;

// Inserts readings [{serial, wallet, kwhMicro: BigInt, ratio tokens per kWh 1, decimals 9}] as ingestd does.
// Each reading gets a unique timestamp 20 minutes apart per meter (the duplicate window is 15 min).
// All in one transaction: mintd's sweep claims pending rows from PostgreSQL at any moment, and a sweep between
// two INSERTs would see the first reading alone (a test that expects the readings together in one mint would
// then depend on luck).
export async function insertReadings(db, specs, { decimals = 9n } = {}) {
  await db.query('BEGIN');
  try {
    const out = await insertEach(db, specs, decimals);
    await db.query('COMMIT');
    return out;
  } catch (e) {
    await db.query('ROLLBACK');
    throw e;
  }
}

async function insertEach(db, specs, decimals) {
  const out = [];
  for (const s of specs) {
    seq += 1n;
    const us = BASE_US + seq * 1_200_000_000n;
    const id = randomUUID();
    const amount = s.amount ?? s.kwhMicro * 10n ** decimals / 1_000_000n;
    const ts = new Date(Number(us / 1000n)).toISOString();
    await db.query(
      `INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount, reading_timestamp,
         reading_us, dup_window, meter_signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, int8range($7::bigint, $7::bigint + 900000000), 'test')`,
      [id, s.serial, s.wallet, s.kwhMicro.toString(), amount.toString(), ts, us.toString()]);
    out.push({ id, wallet: s.wallet, serial: s.serial, amount });
  }
  return out;
}

export async function redisClient(env) {
  const c = watchRedis(createClient({ url: env.REDIS_URL })); // its subscribers' events against docs/asyncapi.yaml
  c.on('error', () => {});
  await c.connect();
  return c;
}

// All in one MULTI: mintd, blocked on the stream, wakes once they are all there, so readings a test adds
// together are claimed together (one XADD at a time, a loaded machine let mintd claim the first alone).
export async function xaddReadings(redis, readings, stream = 'gridtokenx:readings') {
  if (readings.length === 0) return;
  const m = redis.multi();
  for (const r of readings) m.xAdd(stream, '*', { reading_id: r.id });
  await m.exec();
}

export async function simControl(env, path, body) {
  const res = await fetch(`${env.SIM_CONTROL_URL}${path}`, body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sim ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

export async function metrics(env) {
  const res = await fetch(`${env.MINTD_URL}/metrics`);
  const out = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.]+)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/* The stack's environment plus mintd's own knobs (DIR/mintd.env), then `extra`: what the stack's mintd runs with. */
export function mintdEnv(stack, extra = {}) {
  const env = { ...stack.env };
  const own = join(stack.dir, 'mintd.env');
  if (existsSync(own)) {
    for (const line of readFileSync(own, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return { ...env, SQL_DIR: join(ROOT, 'sql'), ASAN_OPTIONS: 'abort_on_error=0:detect_leaks=1', PATH: process.env.PATH, ...extra };
}

// Starts one more mintd by hand (not through test/stack) with its own instance id and port, sharing the
// stack's database, Redis stream/group, simulator and key. Returns {proc, url, log, stop()}.
export async function startExtraMintd(stack, instance, extra = {}) {
  const { spawn } = await import('node:child_process');
  const { openSync } = await import('node:fs');
  const net = await import('node:net');
  const { GTX_BIN, waitFor } = await import('./stack.mjs');
  const port = await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const env = mintdEnv(stack);
  Object.assign(env, {
    MINTD_INSTANCE_ID: instance, MINTD_LISTEN: `127.0.0.1:${port}`, SOLANA_KEYPAIR_PATH: env.MINT_AUTHORITY_KEYPAIR, ...extra,
  });
  if (process.getuid() === 0) env.RUN_AS_USER = 'nobody';
  const log = join(stack.dir, `${instance}.log`);
  const fd = openSync(log, 'a');
  const proc = spawn(join(GTX_BIN, 'mintd'), ['-d'], { env, stdio: ['ignore', fd, fd] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, { what: `${instance} healthz` });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  return {
    proc, url, log,
    async stop(signal = 'SIGTERM') { proc.kill(signal); return exited; },
  };
}

// Gone or a zombie (a killed daemon is reparented to PID 1, which may reap it late): not running.
export function isDead(pid) {
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] === 'Z'; } catch { return true; }
}

// The knobs every mintd test wants on a fast simulator (SIM_SLOT_MS 20); a file adds or overrides lines.
export const FAST_MINTD_ENV = {
  TOKENIZATION_POLLING_INTERVAL_SECS: '1', TOKENIZATION_BATCH_LINGER_MS: '30', TOKENIZATION_INITIAL_RETRY_DELAY_SECS: '1',
  TOKENIZATION_MAX_RETRY_DELAY_SECS: '1', MINTD_CONFIRM_POLL_MS: '40', MINTD_REBROADCAST_MS: '150', MINTD_RPC_TIMEOUT_MS: '2000',
};

export function writeMintdEnv(stack, vars) {
  const all = { ...FAST_MINTD_ENV, ...vars };
  writeFileSync(`${stack.dir}/mintd.env`, Object.entries(all).map(([k, v]) => `${k}=${v}\n`).join(''));
}

/*
 * One test file's stack: PostgreSQL, Redis, the simulator (+ ingestd when asked, with stackEnv in its
 * environment), mintd started with FAST_MINTD_ENV + mintdEnv unless start is false, plus a database and a
 * Redis client.
 */
export async function openMintdStack({ ingestd = false, mintdEnv = {}, start = true, setup, stackEnv = {} } = {}) {
  const stack = up(['postgres', 'redis', 'solana-sim', ...(ingestd ? ['ingestd'] : [])], { SIM_SLOT_MS: '20', ...stackEnv });
  const ctx = { stack, env: stack.env };
  if (setup) await setup(ctx);
  writeMintdEnv(stack, mintdEnv);
  if (start) stack.start('mintd');
  ctx.env = stack.env; // now with MINTD_URL
  ctx.db = pgClient(ctx.env);
  await ctx.db.connect();
  ctx.redis = await redisClient(ctx.env);
  return ctx;
}

// Tears it down and returns the log problems of mintd, ingestd and any extra log files (to assert on).
export async function closeMintdStack(ctx, extraLogs = []) {
  if (!ctx) return [];
  await ctx.redis?.quit();
  await ctx.db?.end();
  const bad = ctx.stack.down();
  for (const f of extraLogs) {
    for (const line of readFileSync(`${ctx.stack.dir}/${f}`, 'utf8').split('\n')) if (LOG_BAD.test(line)) bad.push(`${f}: ${line}`);
  }
  ctx.stack.cleanup();
  return bad;
}

// Inserts `count` readings round-robin over the wallets (amounts distinct and exact) and queues their ids.
export function readingFeeder(ctx, wallets, serials, base = 1_000_000n) {
  let n = 0;
  return async (count) => {
    const specs = [];
    for (let i = 0; i < count; i++) {
      n += 1;
      const k = n % wallets.length;
      specs.push({ serial: serials[k], wallet: wallets[k], kwhMicro: base + BigInt(n) * 1_003n });
    }
    const rs = await insertReadings(ctx.db, specs);
    await xaddReadings(ctx.redis, rs);
    return rs;
  };
}

// Lookup tables in use: confirmed v0 mint transactions (message prefix 0x80 after the one signature) and
// confirmed lookup-table transactions. Exactly-once tests assert it, so they run with tables, not around them.
export async function tablesInUse(db) {
  const { rows } = await db.query(`SELECT
      (SELECT count(*) FROM mint_transactions WHERE kind = 'mint' AND state = 'confirmed'
         AND get_byte(raw_tx, 65) = 128)::int AS v0,
      (SELECT count(*) FROM mint_transactions WHERE kind = 'table' AND state = 'confirmed')::int AS tables`);
  return rows[0];
}

// Readings for brand-new wallets (and their meters): their token accounts are created, then queued for a table.
export function freshFeeder(ctx, base = 1_000_000n) {
  let n = 0;
  return async (count) => {
    const wallets = Array.from({ length: count }, randomWallet);
    const serials = await addMeters(ctx.db, wallets);
    const rs = await insertReadings(ctx.db, wallets.map((w, i) => ({ serial: serials[i], wallet: w, kwhMicro: base + BigInt(++n) })));
    await xaddReadings(ctx.redis, rs);
    return rs;
  };
}

// The highest transaction id so far: transactions after it belong to what a test does next.
export async function txMark(db) {
  return (await db.query('SELECT coalesce(max(id), 0)::int AS m FROM mint_transactions')).rows[0].m;
}

// Confirmed v0 mint transactions recorded after mark.
export async function v0Since(db, mark) {
  return (await db.query(`SELECT count(*)::int AS n FROM mint_transactions WHERE id > $1 AND kind = 'mint'
      AND state = 'confirmed' AND get_byte(raw_tx, 65) = 128`, [mark])).rows[0].n;
}

// Mints one reading per wallet (feed cycles through wallets) and waits until lookup tables hold every one of
// their token accounts and mintd (at url) has read them back at finalized: what follows runs with v0 transactions.
export async function warmTables(ctx, wallets, feed, url = ctx.env.MINTD_URL) {
  const { drain } = await import('./invariant.mjs');
  const { waitFor } = await import('./stack.mjs');
  await feed(wallets.length);
  await drain(ctx.db, { timeout: 90000, what: 'warm-up readings minted' });
  await waitFor(async () => {
    const r = (await ctx.db.query(`SELECT count(*) FILTER (WHERE state = 'added')::int AS ours,
        (SELECT count(*)::int FROM lookup_table_entries WHERE state = 'added') AS added
        FROM lookup_table_entries WHERE wallet = ANY($1)`, [wallets])).rows[0];
    if (r.ours < wallets.length) throw new Error(`${r.ours} of ${wallets.length} wallets in a table`);
    const m = await metrics({ MINTD_URL: url });
    if (Number(m.mintd_lookup_table_accounts) < r.added) throw new Error(`mintd read ${m.mintd_lookup_table_accounts} of ${r.added}`);
    return true;
  }, { timeout: 90000, interval: 200, what: 'lookup tables hold every wallet, read back at finalized' });
}
