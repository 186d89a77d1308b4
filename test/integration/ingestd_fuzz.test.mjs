// ingestd_fuzz.test.mjs: random, truncated and mutated bodies (and raw bytes) at every route; ingestd must
// answer each with a JSON error (or close the connection), stay alive, and store nothing from invalid input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { up, pgClient, processAlive } from './lib/stack.mjs';
import { newMeter, reading, tsAt, client, errorOf } from './ingestd_lib.mjs';

let stack, env, api, db, pid, meter;

before(async () => {
  // Every request comes from one address, faster than a real client would; the address rate limit has its
  // own tests (ingestd_hostile), here each body must reach its route.
  stack = up(['postgres', 'redis', 'ingestd'], { INGESTD_ADDR_RATE_PER_SEC: '10000000', INGESTD_ADDR_RATE_BURST: '10000000' });
  env = stack.env;
  api = client(env);
  db = pgClient(env);
  await db.connect();
  pid = +readFileSync(join(stack.dir, 'ingestd.pid'), 'utf8');
  meter = newMeter('FUZZ');
  await api.register(meter);
});

after(async () => {
  await db?.end();
  if (stack) {
    const problems = stack.down();
    assert.deepEqual(problems, [], 'daemon log problems');
    stack.cleanup();
  }
});

const ROUTES = [
  ['POST', '/api/meters/submit-reading'], ['POST', '/api/meters/readings/batch'],
  ['GET', `/api/meters/readings/${randomUUID()}`], ['POST', '/api/admin/meters'], ['GET', '/api/admin/meters'],
  ['PATCH', '/api/admin/meters/FUZZ-X'], ['GET', '/api/admin/meters/unminted'], ['GET', '/api/admin/tokenization/status'],
  ['POST', '/api/admin/tokenization/toggle-auto-mint'], ['POST', '/api/admin/tokenization/trigger-batch'],
  ['POST', `/api/admin/readings/${randomUUID()}/retry`], ['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/metrics'],
  ['PUT', '/api/meters/submit-reading'], ['DELETE', '/api/admin/meters'], ['POST', '/x/../api/meters/submit-reading'],
];

const TOKENS = ['{', '}', '[', ']', ':', ',', '"', '"meter_serial"', '"kwh_amount"', '"readings"', '1', '-0', '1e999',
  '0.0000001', '"\\ud800"', '"\\u0000"', 'true', 'null', '"\u00e9"', ' ', '\n', '\\', '99999999999999999999999',
  '"2026-02-30T00:00:00Z"', '"reading_timestamp"', '"meter_signature"', '"enabled"', '"public_key"'];

function randomJsonish() {
  const n = randomInt(1, 40);
  let s = '';
  for (let i = 0; i < n; i++) s += TOKENS[randomInt(TOKENS.length)];
  return s;
}

function deep(n) { return '['.repeat(n) + ']'.repeat(n); }

const originals = [];
function bodies() {
  originals.push(reading(meter, { timestamp: tsAt(0) }), reading(meter, { timestamp: tsAt(1) }), reading(meter, { timestamp: tsAt(2) }));
  const valid = JSON.stringify(originals[0]);
  const batch = JSON.stringify({ readings: [originals[1], originals[2]] });
  const out = [];
  for (const v of [valid, batch]) {
    for (let k = 0; k < v.length; k += Math.max(1, Math.floor(v.length / 60))) out.push(Buffer.from(v.slice(0, k)));
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(v);
      const at = randomInt(b.length);
      let c;
      do { c = randomInt(256); } while (c === b[at]);
      b[at] = c;
      out.push(b);
    }
  }
  for (let i = 0; i < 80; i++) out.push(Buffer.from(randomJsonish()));
  for (let i = 0; i < 30; i++) out.push(randomBytes(randomInt(1, 400)));
  out.push(Buffer.from(deep(100)), Buffer.from(deep(10000)), Buffer.from('{"a":' + '1'.repeat(5000) + '}'),
    Buffer.from('{' + Array.from({ length: 400 }, (_, i) => `"k${i}":1`).join(',') + '}'),
    Buffer.from([0xc0, 0xaf]), Buffer.from('"\xff"', 'latin1'), Buffer.from('{"readings":[' + '{},'.repeat(2000) + '{}]}'));
  return out;
}

test('random and truncated bodies at every route: JSON answers, no crash', async () => {
  const { rows: [{ n: before }] } = await db.query('SELECT count(*)::int AS n FROM meter_readings');
  const all = bodies();
  let count = 0;
  for (const [method, path] of ROUTES) {
    for (const body of all) {
      const withBody = method !== 'GET' && method !== 'HEAD';
      for (const admin of path.startsWith('/api/admin') ? [false, true] : [false]) {
        const r = await api.call(method, path, { raw: withBody ? body : undefined, admin,
          headers: { 'content-type': randomInt(10) ? 'application/json' : 'text/plain' } });
        count++;
        assert.ok(r.status < 500 || r.status === 503, `${method} ${path} -> ${r.status} ${r.text}`);
        if (r.status >= 400 && path !== '/metrics') errorOf(r);
      }
    }
  }
  assert.ok(count > 1000);
  // A mutated batch may still hold one intact reading (stored, rightly); anything else is a row from invalid input.
  const { rows } = await db.query('SELECT meter_serial, meter_signature, kwh_micro::text FROM meter_readings');
  assert.ok(rows.length - before <= originals.length);
  for (const row of rows) {
    assert.equal(row.meter_serial, meter.serial);
    assert.ok(originals.some((o) => o.meter_signature === row.meter_signature), `row from invalid input: ${JSON.stringify(row)}`);
    assert.equal(row.kwh_micro, '1500000');
  }
  assert.ok(processAlive(pid));
  assert.equal((await api.call('GET', '/readyz')).status, 200);
});

// Sends raw bytes on a fresh connection and resolves with whatever comes back before close (or a timeout).
function rawExchange(bytes, { half = false } = {}) {
  const [host, port] = env.INGESTD_URL.replace('http://', '').split(':');
  return new Promise((resolve) => {
    const chunks = [];
    const s = connect(+port, host, () => { s.write(bytes); if (half) s.end(); });
    const done = () => { clearTimeout(t); s.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); };
    const t = setTimeout(done, 1500);
    s.on('data', (d) => chunks.push(d));
    s.on('close', done);
    s.on('error', done);
  });
}

test('malformed HTTP framing: answered with JSON errors or closed, never a crash', async () => {
  const cases = [
    'GARBAGE\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/2.0\r\n\r\n', 'GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n',
    'POST /api/meters/submit-reading HTTP/1.1\r\nContent-Length: abc\r\n\r\n',
    'POST /api/meters/submit-reading HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
    'POST /api/meters/submit-reading HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /api/meters/submit-reading HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n',
    'POST /api/meters/submit-reading HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a"', // short body
    `GET /${'a'.repeat(20000)} HTTP/1.1\r\n\r\n`, `GET / HTTP/1.1\r\nX: ${'b'.repeat(20000)}\r\n\r\n`,
    'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', // pipelined
    '\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n',
  ];
  for (let i = 0; i < 40; i++) cases.push(randomBytes(randomInt(1, 300)).toString('latin1'));
  for (const c of cases) {
    const out = await rawExchange(Buffer.from(c, 'latin1'), { half: true });
    for (const m of out.matchAll(/HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n/g)) {
      assert.ok(+m[1] < 500 || +m[1] === 501 || +m[1] === 505 || +m[1] === 503, `${JSON.stringify(c.slice(0, 80))} -> ${m[1]}`);
    }
  }
  const pipelined = await rawExchange(Buffer.from(cases[11], 'latin1'), { half: true });
  assert.equal((pipelined.match(/HTTP\/1\.1 200 OK/g) || []).length, 2, pipelined);
  assert.ok(processAlive(pid));
  assert.equal((await api.call('GET', '/healthz')).status, 200);
});

test('after all that, a valid reading is still accepted', async () => {
  const r = await api.submit(reading(meter, { timestamp: tsAt(9) }));
  assert.equal(r.status, 201, r.text);
});
