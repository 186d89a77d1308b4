// lifecycle.test.mjs: what operators rely on: root refusal, key file permissions, a second SIGTERM,
// reload of a broken configuration, and readiness that follows lost and recovered connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, readFileSync, writeFileSync, appendFileSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { GTX_BIN, ROOT, waitFor } from './lib/stack.mjs';
import { openMintdStack, closeMintdStack, randomWallet, addMeters, insertReadings, xaddReadings, simControl, isDead } from './lib/mintd.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';

let ctx, env;
const isRoot = process.getuid() === 0;
const BAD = /(AddressSanitizer|LeakSanitizer|runtime error:|\bFATAL\b)/;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// The environment a hand-started mintd needs (the stack's, with its own port and instance id).
async function mintdEnv(extra = {}) {
  return {
    PATH: process.env.PATH, ASAN_OPTIONS: 'abort_on_error=0:detect_leaks=1',
    DATABASE_URL: env.DATABASE_URL, REDIS_URL: env.REDIS_URL, SOLANA_RPC_URL: env.SOLANA_RPC_URL,
    TOKEN_MINT: env.TOKEN_MINT, SOLANA_KEYPAIR_PATH: env.MINT_AUTHORITY_KEYPAIR, SQL_DIR: join(ROOT, 'sql'),
    MINTD_LISTEN: `127.0.0.1:${await freePort()}`, MINTD_INSTANCE_ID: 'lifecycle',
    TOKENIZATION_POLLING_INTERVAL_SECS: '1', TOKENIZATION_BATCH_LINGER_MS: '30', MINTD_CONFIRM_POLL_MS: '40',
    MINTD_REBROADCAST_MS: '150', MINTD_RPC_TIMEOUT_MS: '2000',
    ...(isRoot ? { RUN_AS_USER: 'nobody' } : {}), ...extra,
  };
}

before(async () => {
  ctx = await openMintdStack({ ingestd: true });
  env = ctx.env;
});

after(async () => {
  const bad = await closeMintdStack(ctx);
  assert.deepEqual(bad, []);
});

test('both daemons refuse to run as root unless RUN_AS_USER names the account to switch to',
  { skip: isRoot ? false : 'needs root' }, async () => {
    const ing = spawnSync(join(GTX_BIN, 'ingestd'), ['-d'], {
      env: { PATH: process.env.PATH, DATABASE_URL: env.DATABASE_URL, REDIS_URL: env.REDIS_URL,
        INGESTD_LISTEN: `127.0.0.1:${await freePort()}`, WEBSOCKET_LISTEN: `127.0.0.1:${await freePort()}` },
      encoding: 'utf8', timeout: 30000 });
    assert.notEqual(ing.status, 0);
    assert.match(ing.stderr, /refusing to run as root/);
    const e = await mintdEnv();
    delete e.RUN_AS_USER;
    const mint = spawnSync(join(GTX_BIN, 'mintd'), ['-d'], { env: e, encoding: 'utf8', timeout: 30000 });
    assert.notEqual(mint.status, 0);
    assert.match(mint.stderr, /refusing to run as root/);
  });

test('mintd refuses a mint-authority keypair file that group or others can read, and never prints the key', async () => {
  const loose = join(ctx.stack.dir, 'loose-key.json');
  copyFileSync(env.MINT_AUTHORITY_KEYPAIR, loose);
  chmodSync(loose, 0o644);
  const r = spawnSync(join(GTX_BIN, 'mintd'), ['-d'], { env: await mintdEnv({ SOLANA_KEYPAIR_PATH: loose }), encoding: 'utf8', timeout: 30000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /loose-key\.json/);
  const secret = JSON.parse(readFileSync(loose, 'utf8')).slice(0, 32).join(',');
  assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), 'key bytes printed');
});

test('mintd: a broken configuration on SIGHUP is refused and logged, the old one keeps minting; a good one applies', async () => {
  const conf = join(ctx.stack.dir, 'lifecycle-mintd.conf');
  const e = await mintdEnv();
  // everything in the file; the environment only carries what the process needs to run
  const keys = Object.keys(e).filter((k) => !['PATH', 'ASAN_OPTIONS', 'RUN_AS_USER'].includes(k));
  writeFileSync(conf, keys.map((k) => `${k}=${e[k]}`).join('\n') + '\nLOG_LEVEL=info\n');
  const childEnv = { PATH: e.PATH, ASAN_OPTIONS: e.ASAN_OPTIONS, ...(isRoot ? { RUN_AS_USER: 'nobody' } : {}) };
  const logFile = join(ctx.stack.dir, 'lifecycle-mintd.log');
  const proc = spawn(join(GTX_BIN, 'mintd'), ['-d', '-f', conf], { env: childEnv, stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  const url = `http://${e.MINTD_LISTEN}`;
  try {
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'mintd ready', timeout: 30000 });
    appendFileSync(conf, 'LOG_LEVEL=loud\nNO_SUCH_KEY=1\nTOKEN_MINT=11111111111111111111111111111111\n');
    proc.kill('SIGHUP');
    const log = () => readFileSync(logFile, 'utf8');
    await waitFor(() => /reload refused/.test(log()), { what: 'reload refused' });
    assert.match(log(), /LOG_LEVEL/);
    assert.match(log(), /NO_SUCH_KEY: unknown key/);
    // still minting with the old configuration
    const wallets = [randomWallet(), randomWallet()];
    const serials = await addMeters(ctx.db, wallets);
    await xaddReadings(ctx.redis, await insertReadings(ctx.db, wallets.map((w, i) => ({ wallet: w, serial: serials[i], kwhMicro: 1_500_000n }))));
    await drain(ctx.db, { what: 'minted with the old configuration' });
    assert.deepEqual(await checkInvariant(ctx.db, env), []);
    // a good reload applies
    writeFileSync(conf, keys.map((k) => `${k}=${e[k]}`).join('\n') + '\nLOG_LEVEL=debug\n');
    proc.kill('SIGHUP');
    await waitFor(() => /configuration reloaded/.test(log()), { what: 'reload applied' });
    proc.kill('SIGTERM');
    assert.equal((await exited).code, 0);
    assert.doesNotMatch(log(), BAD);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
});

test('mintd: a second SIGTERM exits at once while transactions are still in flight; a restart finishes them', async () => {
  ctx.stack.stop('mintd');
  const e = await mintdEnv({ MINTD_SHUTDOWN_GRACE_SECS: '120' });
  const logFile = join(ctx.stack.dir, 'lifecycle-term.log');
  const proc = spawn(join(GTX_BIN, 'mintd'), ['-d'], { env: e, stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  try {
    await waitFor(async () => (await fetch(`http://${e.MINTD_LISTEN}/healthz`)).ok, { what: 'mintd up' });
    await simControl(env, '/pause', {}); // nothing lands: the transactions stay in flight
    const wallets = [randomWallet(), randomWallet(), randomWallet()];
    const serials = await addMeters(ctx.db, wallets);
    await xaddReadings(ctx.redis, await insertReadings(ctx.db, wallets.map((w, i) => ({ wallet: w, serial: serials[i], kwhMicro: 2_000_000n }))));
    await waitFor(async () => (await ctx.db.query(`SELECT count(*)::int AS n FROM mint_transactions WHERE state = 'pending'`)).rows[0].n > 0,
      { what: 'a transaction in flight' });
    proc.kill('SIGTERM');
    await waitFor(() => /resolving transactions in flight/.test(readFileSync(logFile, 'utf8')), { what: 'drain started' });
    assert.equal(proc.exitCode, null, 'the first SIGTERM drains instead of exiting');
    proc.kill('SIGTERM');
    const r = await Promise.race([exited, new Promise((res) => setTimeout(() => res('still running'), 15000))]);
    assert.notEqual(r, 'still running', 'a second SIGTERM must exit at once (the grace period is 120 s)');
    assert.match(readFileSync(logFile, 'utf8'), /second .*exiting now/);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await simControl(env, '/resume', {});
  }
  // the write-ahead records let a restarted mintd finish exactly what was in flight
  ctx.stack.start('mintd');
  await drain(ctx.db, { what: 'in-flight transactions resolved after the restart' });
  assert.deepEqual(await checkInvariant(ctx.db, env), []);
});

test('ingestd: a second SIGTERM exits at once while a request is stuck; the meter\'s retry then gets exactly one reading', async () => {
  const pid = +readFileSync(join(ctx.stack.dir, 'ingestd.pid'), 'utf8');
  const lock = (await import('./lib/stack.mjs')).pgClient(env);
  await lock.connect();
  const { newMeter, reading, client } = await import('./ingestd_lib.mjs');
  const api = client(ctx.stack.env);
  const m = newMeter('LIFE');
  await api.register(m);
  const body = reading(m, { kwh: '1.25' });
  let res;
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE meter_readings IN ACCESS EXCLUSIVE MODE');
    const inflight = api.submit(body).catch((err) => ({ status: 'error', err }));
    const log = () => readFileSync(join(ctx.stack.dir, 'ingestd.log'), 'utf8');
    await waitFor(async () => (await lock.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)).rows[0].n > 0,
      { what: 'the insert waiting on the lock' });
    process.kill(pid, 'SIGTERM');
    await waitFor(() => /draining the requests in flight" signal=SIGTERM in_flight=1\b/.test(log()), { what: 'drain started' });
    assert.ok(!isDead(pid), 'the first SIGTERM waits for the request in flight');
    process.kill(pid, 'SIGTERM');
    await waitFor(() => isDead(pid), { what: 'ingestd exited on the second SIGTERM', timeout: 15000 });
    assert.match(log(), /second signal: exiting at once" signal=SIGTERM/);
    await lock.query('ROLLBACK');
    res = await inflight;
  } finally {
    await lock.end();
  }
  assert.notEqual(res.status, 201, 'the meter got no answer');
  // The statement that was waiting may still commit after ingestd is gone (the row is whole, just
  // unannounced; mintd's sweep finds it). The meter resends the identical signed reading: it gets
  // that reading (200) or stores it now (201), never a second row.
  ctx.stack.start('ingestd');
  const again = await client(ctx.stack.env).submit(body);
  assert.ok(again.status === 200 || again.status === 201, `${again.status} ${again.text}`);
  const { rows } = await ctx.db.query('SELECT id FROM meter_readings WHERE meter_serial = $1', [m.serial]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, again.json.id);
  await drain(ctx.db, { what: 'the reading minted' });
  assert.deepEqual(await checkInvariant(ctx.db, env), []);
});

test('mintd /readyz follows the RPC node and Redis: not ready while they are gone, ready again without a restart', async () => {
  const ready = async () => (await fetch(`${ctx.stack.env.MINTD_URL}/readyz`)).status;
  const pid = +readFileSync(join(ctx.stack.dir, 'mintd.pid'), 'utf8');
  await waitFor(async () => (await ready()) === 200, { what: 'ready' });
  ctx.stack.stop('redis');
  await waitFor(async () => (await ready()) === 503, { what: 'not ready without Redis' });
  ctx.stack.start('redis');
  await waitFor(async () => (await ready()) === 200, { what: 'ready after Redis returned', timeout: 30000 });
  await simControl(env, '/fault', { kind: 'http_500', method: 'getHealth', count: 1000000 });
  await waitFor(async () => (await ready()) === 503, { what: 'not ready while the RPC node fails' });
  await simControl(env, '/clear-faults', {});
  await waitFor(async () => (await ready()) === 200, { what: 'ready after the RPC node recovered' });
  assert.equal(+readFileSync(join(ctx.stack.dir, 'mintd.pid'), 'utf8'), pid, 'same process throughout');
  const log = readFileSync(join(ctx.stack.dir, 'mintd.log'), 'utf8');
  assert.equal((log.match(/solana rpc .*retrying; \/readyz reports not ready/g) ?? []).length, 1, 'the RPC loss is logged once');
  assert.match(log, /msg="solana rpc reachable again" url=/);
});
