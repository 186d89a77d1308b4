// logs.test.mjs: every line ingestd and mintd write is strict logfmt, hostile input cannot forge a line or a field,
// a request's lines carry its X-Request-Id, readings and mints carry their ids, and no configured secret is logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { waitFor } from './lib/stack.mjs';
import { drain } from './lib/invariant.mjs';
import { openMintdStack, closeMintdStack, writeMintdEnv } from './lib/mintd.mjs';
import { newMeter, reading, client } from './ingestd_lib.mjs';
import WebSocket from 'ws';
import { jwt } from './lib/wsstack.mjs';
import { parseLogFile } from './lib/logfmt.mjs';

// Secrets configured for this run: each must never reach a log.
const JWT_SECRET = 'log-test-jwt-secret-5f0c2a9e71d34b6b8a0e';
const DB_PASSWORD = 'log-test-db-password-0d1e2f3a4b5c';
const WRONG_TOKEN = 'log-test-wrong-admin-token-9c8b7a';
// What a meter, a client or a token may send: line breaks, a forged level/msg/field, quotes, backslashes,
// '=', terminal escapes, DEL, C1 and Unicode line separators, and UTF-8 that must survive as it is.
const FORGED = 'M1\nlevel=error daemon=ingestd msg="forged" request_id=forged\r\n" tx=forged \\" a=b \x1b[31m\x7f \u0085\u2028 Zähler-東京';
// The same for a token's subject (at most 63 bytes; ingestd lower-cases it).
const FORGED_SUB = 'u\nlevel=error msg="forged"\r" a=b \\" \x1b[31m\u2028zähler';

let ctx, api, env;

const logOf = (name) => readFileSync(join(ctx.stack.dir, `${name}.log`), 'utf8');
const withPassword = (url) => { const u = new URL(url); u.password = DB_PASSWORD; return u.toString(); };

before(async () => {
  ctx = await openMintdStack({
    start: false,
    // ingestd at debug (its request line holds the client's path); both daemons reach PostgreSQL with a password
    // in DATABASE_URL (trust authentication ignores it, the daemons still hold it).
    setup: (c) => {
      writeFileSync(join(c.stack.dir, 'ingestd.env'),
        `LOG_LEVEL=debug\nJWT_SECRET=${JWT_SECRET}\nDATABASE_URL=${withPassword(c.env.DATABASE_URL)}\n`);
      c.stack.start('ingestd');
    },
  });
  writeMintdEnv(ctx.stack, { DATABASE_URL: withPassword(ctx.stack.env.DATABASE_URL), MINTD_INSTANCE_ID: 'mintd-logs' });
  ctx.stack.start('mintd');
  env = ctx.env = ctx.stack.env;
  api = client(env);
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

// A raw HTTP/1.1 request (fetch would percent-encode the path); returns the status and X-Request-Id.
function rawRequest(port, target) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.on('connect', () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => { buf += d.toString('latin1'); });
    s.on('error', reject);
    s.on('end', () => {
      const status = +(/^HTTP\/1\.1 (\d{3})/.exec(buf) ?? [])[1];
      const id = (/\r\nX-Request-Id: ([^\r]+)\r\n/i.exec(buf) ?? [])[1];
      resolve({ status, id });
    });
  });
}

test('hostile input: every log line parses as logfmt with its fields intact; ids on every line about a request, reading and mint', async () => {
  const m = newMeter('LOGS');
  const reg = await api.call('POST', '/api/admin/meters', { admin: true,
    body: { meter_serial: m.serial, public_key: m.publicKey, wallet_address: m.wallet } });
  assert.equal(reg.status, 201, reg.text);
  const regId = reg.headers.get('x-request-id');

  // A good reading.
  const ok = await api.submit(reading(m, { kwh: '2.250000' }));
  assert.equal(ok.status, 201, ok.text);
  const okId = ok.headers.get('x-request-id'), readingId = ok.json.id;
  assert.ok(okId && readingId);

  // A hostile serial, signed so only the serial is wrong, and a hostile body that is not even JSON.
  const bad = await api.submit(reading({ ...m, serial: FORGED }));
  assert.equal(bad.status, 400, bad.text);
  const badId = bad.headers.get('x-request-id');
  const junk = await api.call('POST', '/api/meters/submit-reading', { raw: `{"meter_serial":"${FORGED}`, headers: { 'content-type': 'application/json' } });
  assert.equal(junk.status, 400, junk.text);

  // A path with what the request line allows and logfmt must escape: quotes, '=', backslashes.
  const path = '/api/meters/readings/a"b=c\\"d"msg=x\\';
  const raw = await rawRequest(+new URL(env.INGESTD_URL).port, path);
  assert.ok(raw.status >= 400 && raw.id, JSON.stringify(raw));

  // A wrong admin token.
  const denied = await api.call('GET', '/api/admin/meters', { token: WRONG_TOKEN });
  assert.equal(denied.status, 401, denied.text);

  // A WebSocket user whose (validly signed) token names a hostile subject.
  const token = jwt({ sub: FORGED_SUB, role: 'user', exp: Math.floor(Date.now() / 1000) + 3600 }, { secret: JWT_SECRET });
  // (the plain client: docs/asyncapi.yaml documents user_id as a UUID, which this subject is not)
  const ws = new WebSocket(env.WS_URL, { headers: { Authorization: `Bearer ${token}` } });
  const first = await new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString())));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
  });
  assert.equal(first.type, 'connected');
  await new Promise((r) => { ws.once('close', r); ws.close(); });

  // The reading is minted.
  await drain(ctx.db, { what: 'the reading minted' });
  const { rows: [tx] } = await ctx.db.query(
    `SELECT t.id::text AS id, t.signature FROM mint_transactions t JOIN mint_transaction_readings r ON r.mint_tx_id = t.id
     WHERE r.reading_id = $1 AND t.state = 'confirmed'`, [readingId]);
  assert.ok(tx, 'a confirmed transaction');
  await waitFor(() => logOf('mintd').includes(`tx=${tx.signature}`), { what: 'the mint in the log' });
  await waitFor(() => /websocket client (closed|went away)/.test(logOf('ingestd')), { what: 'the WebSocket close logged' });

  // Strict logfmt, every line of both daemons (ingestd's file holds its WebSocket child's lines too).
  const ing = parseLogFile(logOf('ingestd')), mint = parseLogFile(logOf('mintd'));
  for (const l of [...ing, ...mint]) assert.match(l.get('ts'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual([...new Set(ing.map((l) => l.get('daemon')))].sort(), ['ingestd', 'ingestd-ws']);
  assert.deepEqual([...new Set(mint.map((l) => l.get('daemon')))], ['mintd']);
  // Nothing forged: no line or field came from the hostile text.
  for (const l of [...ing, ...mint]) {
    assert.notEqual(l.get('msg'), 'forged', JSON.stringify([...l]));
    assert.notEqual(l.get('request_id'), 'forged');
    assert.notEqual(l.get('tx'), 'forged');
    assert.ok(!l.has('a'));
  }

  // Requests: each id the client got is on the lines about that request; the values came through exactly.
  const about = (id) => ing.filter((l) => l.get('request_id') === id);
  for (const id of [regId, okId, badId, raw.id]) assert.ok(about(id).length > 0, `no line carries request_id=${id}`);
  const accepted = about(okId).find((l) => l.get('msg') === 'reading accepted');
  assert.ok(accepted, 'the accepted line');
  assert.equal(accepted.get('reading_id'), readingId);
  assert.equal(accepted.get('meter'), m.serial);
  assert.equal(accepted.get('kwh'), '2.250000');
  const rejected = about(badId).find((l) => l.get('msg') === 'reading rejected');
  assert.equal(rejected?.get('reason'), 'invalid_meter_serial');
  assert.equal(about(raw.id).find((l) => l.get('msg') === 'request')?.get('path'), path, 'the hostile path, unescaped again');
  assert.equal(about(regId).find((l) => l.get('msg') === 'meter registered')?.get('wallet'), m.wallet);
  // Every ingestd line naming our meter or our reading is about one of our requests.
  const ours = new Set([regId, okId, badId]);
  for (const l of ing.filter((x) => x.get('meter') === m.serial || x.get('reading_id') === readingId)) {
    assert.ok(ours.has(l.get('request_id')), `a line about the reading without its request_id: ${JSON.stringify([...l])}`);
  }
  // The WebSocket user's hostile subject is one field, exactly as sent.
  const conn = ing.find((l) => l.get('msg') === 'websocket client connected' && l.get('user') === FORGED_SUB);
  assert.ok(conn, 'the connected line holds the hostile subject as one value');

  // The mint: the transaction's line and the reading's line carry tx and tx_id (and the reading's ids).
  const confirmed = mint.find((l) => l.get('msg') === 'transaction confirmed' && l.get('tx') === tx.signature);
  assert.ok(confirmed, 'the confirmed line');
  assert.equal(confirmed.get('tx_id'), tx.id);
  assert.match(confirmed.get('batch'), /^[0-9a-f-]{36}$/);
  const minted = mint.find((l) => l.get('msg') === 'reading minted' && l.get('reading_id') === readingId);
  assert.ok(minted, 'the reading minted line');
  assert.equal(minted.get('meter'), m.serial);
  assert.equal(minted.get('wallet'), m.wallet);
  assert.equal(minted.get('tx'), tx.signature);
  assert.equal(minted.get('tx_id'), tx.id);
  assert.ok(mint.some((l) => l.get('msg') === 'mintd started' && l.get('instance') === 'mintd-logs'));
});

test('no configured secret reaches a log: admin token, wrong token, JWT secret and tokens, database password, mint key', async () => {
  const keypair = JSON.parse(readFileSync(env.MINT_AUTHORITY_KEYPAIR, 'utf8'));
  const secretKey = Buffer.from(keypair.slice(0, 32));
  const secrets = {
    ADMIN_TOKEN: env.ADMIN_TOKEN, WRONG_TOKEN, JWT_SECRET, DB_PASSWORD,
    'the mint key (JSON)': keypair.slice(0, 32).join(','), 'the mint key (hex)': secretKey.toString('hex'),
    'the mint key (base64)': secretKey.toString('base64'),
  };
  // The daemons were handed them: the test is not vacuous.
  assert.ok(readFileSync(join(ctx.stack.dir, 'ingestd.env'), 'utf8').includes(JWT_SECRET));
  assert.ok(readFileSync(join(ctx.stack.dir, 'mintd.env'), 'utf8').includes(DB_PASSWORD));
  for (const name of ['ingestd', 'mintd']) {
    const text = logOf(name);
    assert.ok(text.length > 0);
    for (const [what, s] of Object.entries(secrets)) assert.ok(!text.includes(s), `${name}.log holds ${what}`);
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, `${name}.log holds a JWT`);
    assert.doesNotMatch(text, /Bearer /i, `${name}.log holds an Authorization header`);
  }
});
