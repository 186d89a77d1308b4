// ws_jwt.test.mjs: a WebSocket connection lives no longer than its JWT (4001 at exp), JWT_AUDIENCE/JWT_ISSUER
// are checked, and SIGHUP with a new secret or admin token list checks every open connection again (4003).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID, randomBytes } from 'node:crypto';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { up, waitFor, GTX_BIN, ROOT } from './lib/stack.mjs';
import { connect, jwt } from './lib/wsstack.mjs';

const SECRET_A = 'secret-A-' + randomBytes(16).toString('hex');
const SECRET_B = 'secret-B-' + randomBytes(16).toString('hex');
const ADMIN_1 = 'admin-1-' + randomUUID(), ADMIN_2 = 'admin-2-' + randomUUID();
const sha = (s) => createHash('sha256').update(s).digest('hex');
const now = () => Math.floor(Date.now() / 1000);
const AUD = 'gridtokenx-ws', ISS = 'gridtokenx-login';

let stack, proc, conf, logFile, url;

function freePort() {
  return new Promise((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
}

function writeConf(secret, adminToken, wsPort, httpPort) {
  const env = stack.env;
  writeFileSync(conf, [`INGESTD_LISTEN=127.0.0.1:${httpPort}`, `WEBSOCKET_LISTEN=127.0.0.1:${wsPort}`,
    `DATABASE_URL=${env.DATABASE_URL}`, `REDIS_URL=${env.REDIS_URL}`, `SQL_DIR=${join(ROOT, 'sql')}`,
    `JWT_SECRET=${secret}`, `ADMIN_TOKEN_SHA256=${sha(adminToken)}`, `JWT_AUDIENCE=${AUD}`, `JWT_ISSUER=${ISS}`,
    'LOG_LEVEL=info'].join('\n') + '\n');
}

let ports;
before(async () => {
  stack = up(['postgres', 'redis']);
  conf = join(stack.dir, 'ingestd-jwt.conf');
  logFile = join(stack.dir, 'ingestd.log');
  ports = [await freePort(), await freePort()];
  writeConf(SECRET_A, ADMIN_1, ...ports);
  const out = openSync(logFile, 'a');
  // Only the file configures it (environment variables would override the file on reload).
  proc = spawn(join(GTX_BIN, 'ingestd'), ['-d', '-f', conf], {
    env: { PATH: process.env.PATH, ASAN_OPTIONS: 'abort_on_error=0:detect_leaks=1',
      ...(process.getuid() === 0 ? { RUN_AS_USER: 'nobody' } : {}) },
    stdio: ['ignore', out, out],
  });
  writeFileSync(join(stack.dir, 'ingestd.pid'), String(proc.pid));
  url = `ws://127.0.0.1:${ports[0]}/ws`;
  await waitFor(() => readFileSync(logFile, 'utf8').includes('event feed subscribed'), { what: 'ingestd ready', timeout: 30000 });
});

after(async () => {
  const bad = stack.down();
  stack.cleanup();
  assert.deepEqual(bad, []);
});

const token = (secret, extra = {}) => jwt({ sub: randomUUID(), role: 'user', exp: now() + 3600, aud: AUD, iss: ISS, ...extra }, { secret });

async function refused(t) {
  const c = connect(url, { token: t });
  await waitFor(() => c.closed, { what: 'refused' });
  assert.equal(c.status, 401);
  return JSON.parse(c.body).message;
}

test('JWT_AUDIENCE and JWT_ISSUER: a token for another audience or issuer is refused before the upgrade', async () => {
  assert.match(await refused(token(SECRET_A, { aud: 'someone-else' })), /audience/);
  assert.match(await refused(token(SECRET_A, { aud: undefined })), /audience/);
  assert.match(await refused(token(SECRET_A, { iss: 'elsewhere' })), /issuer/);
  const ok = connect(url, { token: token(SECRET_A, { aud: ['other', AUD] }) });
  await ok.opened();
  await ok.close();
});

test('a connection is closed with 4001 when its token expires', async () => {
  const exp = now() + 3;
  const short = connect(url, { token: token(SECRET_A, { exp }) });
  const long = connect(url, { token: token(SECRET_A) });
  const hello = await short.opened();
  assert.equal(hello.expires_at, exp);
  await long.opened();
  await waitFor(() => short.closed, { what: 'the expired connection closed', timeout: 15000 });
  assert.equal(short.closed.code, 4001);
  assert.match(short.closed.reason, /token expired/);
  assert.ok(Date.now() / 1000 >= exp - 1, 'not before its exp');
  assert.equal(long.closed, null, 'the one with a valid token stays');
  long.send({ action: 'ping' });
  await long.next((m) => m.type === 'pong');
  await long.close();
});

test('SIGHUP with a new secret and admin token closes the connections they no longer accept (4003)', async () => {
  const user = connect(url, { token: token(SECRET_A) });
  const admin = connect(url, { token: ADMIN_1 });
  await Promise.all([user.opened(), admin.opened()]);
  writeConf(SECRET_B, ADMIN_2, ...ports);
  proc.kill('SIGHUP');
  await waitFor(() => user.closed && admin.closed, { what: 'both closed after the reload', timeout: 15000 });
  assert.equal(user.closed.code, 4003);
  assert.match(user.closed.reason, /signature/);
  assert.equal(admin.closed.code, 4003);
  // what the new configuration accepts connects; what it does not is refused
  const user2 = connect(url, { token: token(SECRET_B) });
  const admin2 = connect(url, { token: ADMIN_2 });
  await Promise.all([user2.opened(), admin2.opened()]);
  assert.match(await refused(token(SECRET_A)), /signature/);
  assert.match(await refused(ADMIN_1), /invalid token/);
  // a reload that changes nothing for them leaves them open
  proc.kill('SIGHUP');
  await waitFor(() => (readFileSync(logFile, 'utf8').match(/limits and credentials reloaded/g) || []).length >= 2, { what: 'second reload' });
  user2.send({ action: 'ping' });
  await user2.next((m) => m.type === 'pong');
  assert.equal(admin2.closed, null);
  await user2.close();
  await admin2.close();
});
