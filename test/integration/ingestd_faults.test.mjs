// ingestd_faults.test.mjs: PostgreSQL or Redis going away and coming back while ingestd keeps running; a client
// going away while its reading waits for the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { get } from 'node:http';
import { join } from 'node:path';
import { createClient } from 'redis';
import { up, pgClient, waitFor, processAlive } from './lib/stack.mjs';
import { newMeter, reading, tsAt, client, errorOf } from './ingestd_lib.mjs';

let stack, env, api, ingestdPid;

before(async () => {
  stack = up(['postgres', 'redis', 'ingestd']);
  env = stack.env;
  api = client(env);
  ingestdPid = +readFileSync(join(stack.dir, 'ingestd.pid'), 'utf8');
});

after(async () => {
  if (stack) {
    const problems = stack.down();
    assert.deepEqual(problems, [], 'daemon log problems');
    stack.cleanup();
  }
});

// A fast shutdown (SIGINT) ends the sessions at once; the stack's smart shutdown would wait for our pool.
async function stopPostgres() {
  const pid = +readFileSync(join(stack.dir, 'postgres.pid'), 'utf8');
  process.kill(pid, 'SIGINT');
  await waitFor(() => !processAlive(pid), { what: 'postgres to stop', timeout: 30000 });
}

test('PostgreSQL stopped -> 503 with Retry-After; back -> accepted again, same ingestd process', async () => {
  const m = newMeter('PGF');
  await api.register(m);
  assert.equal((await api.submit(reading(m, { timestamp: tsAt(0) }))).status, 201);
  await stopPostgres();
  const r = await api.submit(reading(m, { timestamp: tsAt(1) }));
  assert.equal(r.status, 503, r.text);
  assert.equal(errorOf(r).code, 'database_unavailable');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  const fresh = newMeter('PGF');
  const r2 = await api.submit(reading(fresh, { timestamp: tsAt(1) }));
  assert.equal(r2.status, 503, 'an uncached meter cannot be looked up either');
  const b = await api.batch([reading(m, { timestamp: tsAt(2) })]);
  assert.equal(b.status, 200);
  assert.equal(b.json.results[0].status, 503);
  assert.equal((await api.call('GET', '/readyz')).status, 503);
  assert.equal((await api.call('GET', '/healthz')).status, 200);
  const adm = await api.admin('GET', '/api/admin/tokenization/status');
  assert.equal(adm.status, 503);
  stack.start('postgres');
  const ok = await waitFor(async () => {
    const x = await api.submit(reading(m, { timestamp: tsAt(1) }));
    return x.status === 201 || x.status === 200 ? x : null;
  }, { what: 'accepting again', timeout: 30000 });
  assert.equal(ok.json.meter_serial, m.serial);
  assert.equal((await api.call('GET', '/readyz')).status, 200);
  assert.ok(processAlive(ingestdPid));
  assert.equal(+readFileSync(join(stack.dir, 'ingestd.pid'), 'utf8'), ingestdPid);
  const db = pgClient(env);
  await db.connect();
  const { rows } = await db.query('SELECT count(*)::int AS n FROM meter_readings WHERE meter_serial = $1', [m.serial]);
  await db.end();
  assert.equal(rows[0].n, 2, 'nothing from the outage was half-stored');
});

test('Redis stopped -> readings still accepted; queued once Redis is back', async () => {
  const m = newMeter('RDF');
  await api.register(m);
  stack.stop('redis');
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await api.submit(reading(m, { timestamp: tsAt(i) }));
    assert.equal(r.status, 201, r.text);
    ids.push(r.json.id);
  }
  const ready = await api.call('GET', '/readyz');
  assert.equal(ready.status, 503);
  assert.equal(ready.json.redis, false);
  assert.equal(ready.json.postgres, true);
  stack.start('redis');
  const redis = createClient({ url: env.REDIS_URL });
  await redis.connect();
  try {
    await waitFor(async () => {
      const entries = await redis.xRange('gridtokenx:readings', '-', '+');
      const seen = new Set(entries.map((e) => e.message.reading_id));
      return ids.every((id) => seen.has(id));
    }, { what: 'backlogged ids on the stream', timeout: 30000 });
  } finally {
    await redis.quit();
  }
  await waitFor(async () => (await api.call('GET', '/readyz')).status === 200, { what: 'ready again' });
  const metrics = (await api.call('GET', '/metrics')).text;
  assert.match(metrics, /ingestd_queue_backlog 0/);
  assert.ok(processAlive(ingestdPid));
});

// A gauge from /metrics on a connection of its own, closed after the answer (it counts itself as one connection).
function gauge(name) {
  return new Promise((resolve, reject) => {
    get(`${env.INGESTD_URL}/metrics`, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)[1])));
    }).on('error', reject);
  });
}

test('a client that resets its connection while its reading waits for the database: noticed at once, the reading stored', async () => {
  const m = newMeter('GONE');
  await api.register(m);
  const body = JSON.stringify(reading(m, { timestamp: tsAt(3) }));
  const lock = pgClient(env);
  await lock.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE meter_readings IN EXCLUSIVE MODE');
    // only the gauge's own connection open (the API client's idle keep-alive connections closed)
    await waitFor(async () => (await gauge('ingestd_http_connections')) === 1, { what: 'no other connection' });
    const sock = connect(+new URL(env.INGESTD_URL).port, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    sock.write(`POST /api/meters/submit-reading HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitFor(async () => (await gauge('ingestd_store_pending')) === 1, { what: 'the reading waiting on the lock' });
    assert.equal(await gauge('ingestd_http_connections'), 2, 'the raw connection and the gauge\'s own');
    sock.resetAndDestroy();
    // ingestd keeps reading while a handler runs, so the reset frees the connection now, not at the reply
    // (which cannot come before the lock goes)
    await waitFor(async () => (await gauge('ingestd_http_connections')) === 1, { what: 'the connection freed', timeout: 15000 });
  } finally {
    await lock.query('ROLLBACK');
    await lock.end();
  }
  // The reading was accepted before the client left: it is stored (a meter that retries gets it back as a replay).
  const again = await api.submit(JSON.parse(body));
  assert.equal(again.status, 200, again.text);
});
