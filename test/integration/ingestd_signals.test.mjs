// ingestd_signals.test.mjs: SIGHUP reloads the configuration file (a bad one is refused and the old one kept);
// SIGTERM stops accepting, finishes the requests in flight and exits 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { up, waitFor, pgClient, GTX_BIN, ROOT } from './lib/stack.mjs';
import { newMeter, reading, tsAt, client } from './ingestd_lib.mjs';

let stack, env, conf, proc, log = '', port, api;
const sha = (s) => createHash('sha256').update(s).digest('hex');
const tokA = randomBytes(16).toString('hex'), tokB = randomBytes(16).toString('hex');

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function writeConf(lines) {
  writeFileSync(conf, lines.join('\n') + '\n');
}

function baseConf(token) {
  return [`INGESTD_LISTEN=127.0.0.1:${port}`, `DATABASE_URL=${env.DATABASE_URL}`, `REDIS_URL=${env.REDIS_URL}`,
    `SQL_DIR=${join(ROOT, 'sql')}`, `ADMIN_TOKEN_SHA256=${sha(token)}`, 'LOG_LEVEL=info'];
}

before(async () => {
  stack = up(['postgres', 'redis']);
  env = stack.env;
  port = await freePort();
  conf = join(stack.dir, 'ingestd-signals.conf');
  writeConf(baseConf(tokA));
  // Only what the daemon needs: the file is the configuration (environment variables would override it).
  const childEnv = { PATH: process.env.PATH, ASAN_OPTIONS: 'abort_on_error=0:detect_leaks=1' };
  if (process.getuid() === 0) childEnv.RUN_AS_USER = 'nobody';
  proc = spawn(join(GTX_BIN, 'ingestd'), ['-d', '-f', conf], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr.on('data', (d) => { log += d; });
  api = client({ INGESTD_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: tokA });
  await waitFor(async () => (await api.call('GET', '/readyz')).status === 200, { what: 'ingestd ready', timeout: 30000 });
});

after(async () => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  if (stack) {
    stack.down();
    stack.cleanup();
  }
  assert.doesNotMatch(log, /(AddressSanitizer|LeakSanitizer|runtime error:|\bFATAL\b|\blevel=fatal\b)/, log);
});

const adminStatus = (token) => api.call('GET', '/api/admin/meters', { token }).then((r) => r.status);

test('SIGHUP reloads the admin token hashes', async () => {
  assert.equal(await adminStatus(tokA), 200);
  assert.equal(await adminStatus(tokB), 401);
  writeConf(baseConf(tokB));
  proc.kill('SIGHUP');
  await waitFor(async () => (await adminStatus(tokB)) === 200, { what: 'the new token' });
  assert.equal(await adminStatus(tokA), 401);
  assert.match(log, /configuration reloaded/);
});

test('a bad configuration is refused with its errors logged, and the old one stays', async () => {
  writeConf([...baseConf(tokA), 'NO_SUCH_KEY=1', 'TOKENIZATION_MAX_CLOCK_SKEW_SECS=-5']);
  proc.kill('SIGHUP');
  await waitFor(() => /reload refused/.test(log), { what: 'refusal' });
  assert.match(log, /NO_SUCH_KEY/);
  assert.match(log, /TOKENIZATION_MAX_CLOCK_SKEW_SECS/);
  assert.equal(await adminStatus(tokB), 200, 'still the previous configuration');
  // A key that needs a restart is refused too.
  log = '';
  writeConf([...baseConf(tokB).filter((l) => !l.startsWith('INGESTD_LISTEN')), 'INGESTD_LISTEN=127.0.0.1:1']);
  proc.kill('SIGHUP');
  await waitFor(() => /reload refused/.test(log), { what: 'refusal of a fixed key' });
  assert.match(log, /INGESTD_LISTEN/);
  assert.equal(await adminStatus(tokB), 200);
});

test('SIGTERM drains the requests in flight, then exits 0', async () => {
  const m = newMeter('SIG');
  await api.call('POST', '/api/admin/meters', { token: tokB,
    body: { meter_serial: m.serial, public_key: m.publicKey, wallet_address: m.wallet } });
  // Hold the table so the reading is certainly in flight (queued behind the lock) when SIGTERM comes.
  const db = pgClient(env);
  await db.connect();
  await db.query('BEGIN');
  await db.query('LOCK TABLE meter_readings IN EXCLUSIVE MODE');
  const pending = api.submit(reading(m, { timestamp: tsAt(0) }));
  const other = client({ INGESTD_URL: `http://127.0.0.1:${port}` });
  await waitFor(async () => /ingestd_store_pending [1-9]/.test((await other.call('GET', '/metrics')).text),
    { what: 'the reading waiting on the lock' });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  proc.kill('SIGTERM');
  await waitFor(() => /draining the requests in flight" signal=SIGTERM in_flight=1\b/.test(log), { what: 'drain start' });
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'no new connections while draining');
  await db.query('ROLLBACK');
  await db.end();
  const r = await pending;
  assert.equal(r.status, 201, r.text);
  const { code } = await exited;
  assert.equal(code, 0, log);
});
