// ingestd_workers.test.mjs: INGESTD_WORKERS=2: a meter's rate limit holds across the workers, /metrics counts
// what every worker did, a killed worker is restarted while the other keeps serving, SIGTERM drains them all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { newMeter, reading, tsAt, openStack, closeStack } from './ingestd_lib.mjs';
import { pidOf, children } from './lib/hostile.mjs';
import { waitFor, processAlive } from './lib/stack.mjs';

let ctx, env, api;
const BURST = 5;

before(async () => {
  // A slow rate (1/min, burst 5): whatever worker a request reaches, a meter gets 5 and then 429s.
  ctx = await openStack({ INGESTD_WORKERS: '2', INGESTD_METER_RATE_PER_MIN: '1', INGESTD_METER_RATE_BURST: `${BURST}` });
  ({ env, api } = ctx);
});

after(async () => {
  const problems = await closeStack(ctx);
  if (problems.length) console.log(problems.join("\n"));
  assert.deepEqual(problems, [], "daemon log problems");
});

const comm = (pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } };
const workers = () => children(pidOf(ctx.stack, 'ingestd')).filter((p) => comm(p) === 'ingestd');

// One request on a connection of its own (no pooling): the kernel picks the worker for each connection.
function fresh(method, path, body) {
  const url = new URL(path, env.INGESTD_URL);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, id: res.headers['x-request-id'], text }));
      });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

// The worker that answered: each worker's request ids start with its own random 8-hex-digit prefix.
const workerOf = (r) => r.id.slice(0, 8);

async function metric(name) {
  const r = await fresh('GET', '/metrics');
  assert.equal(r.status, 200);
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(r.text);
  return m ? +m[1] : 0;
}

test('two worker processes serve, each with its own listener', async () => {
  await waitFor(() => workers().length === 2, { what: 'two ingestd workers', timeout: 20000 });
});

test("a meter's rate limit holds across workers: burst 5 means 5, whichever worker each reading reaches", async () => {
  const m = newMeter('WRK');
  await api.register(m);
  const answers = [];
  for (let i = 0; i < 20; i++) answers.push(await fresh('POST', '/api/meters/submit-reading', reading(m, { timestamp: tsAt(i) })));
  const seen = new Set(answers.map(workerOf));
  assert.equal(seen.size, 2, `20 connections all reached one worker (${[...seen]}): nothing shown`);
  const ok = answers.filter((r) => r.status === 201).length;
  const limited = answers.filter((r) => r.status === 429).length;
  assert.equal(ok, BURST, `accepted: ${answers.map((r) => `${workerOf(r)}:${r.status}`).join(' ')}`);
  assert.equal(limited, 20 - BURST);
  const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM meter_readings WHERE meter_serial = $1', [m.serial]);
  assert.equal(rows[0].n, BURST);
});

test('/metrics counts every worker: any scrape shows the same totals', async () => {
  // Counters are shared at once; gauges are published every second.
  for (let i = 0; i < 6; i++) {
    assert.equal(await metric('ingestd_readings_accepted_total'), BURST);
    assert.equal(await metric('ingestd_readings_rejected_total{reason="rate_limited"}'), 20 - BURST);
  }
  await waitFor(async () => (await metric('ingestd_websocket_service_up')) === 1, { what: 'ws up in /metrics', timeout: 10000 });
});

test('a worker killed is started again; the other goes on serving meanwhile', async () => {
  const [victim, other] = workers();
  process.kill(victim, 'SIGKILL');
  await waitFor(() => !processAlive(victim) || comm(victim) !== 'ingestd', { what: 'the worker gone', timeout: 10000 });
  assert.ok(processAlive(other));
  const m = newMeter('WRK');
  // A connection may reach the restarted worker before its database pool is up: 503 with Retry-After,
  // as documented; a meter retries.
  await waitFor(async () => {
    const r = await api.admin('POST', '/api/admin/meters',
      { meter_serial: m.serial, public_key: m.publicKey, wallet_address: m.wallet });
    if (r.status === 503) return false;
    assert.equal(r.status, 201, r.text);
    return true;
  }, { what: 'the meter registered', timeout: 20000 });
  let r;
  await waitFor(async () => {
    r = await fresh('POST', '/api/meters/submit-reading', reading(m, { timestamp: tsAt(1) }));
    return r.status !== 503;
  }, { what: 'the reading answered by a worker with its database', timeout: 20000 });
  assert.equal(r.status, 201, r.text);
  await waitFor(() => workers().length === 2 && !workers().includes(victim), { what: 'the worker restarted', timeout: 20000 });
  // and the restarted one serves too: fresh connections reach both again
  await waitFor(async () => {
    const ids = new Set();
    for (let i = 0; i < 10; i++) ids.add(workerOf(await fresh('GET', '/healthz')));
    return ids.size === 2;
  }, { what: 'both workers answering', timeout: 20000 });
  // counts survive the restart (a restarted worker continues its block)
  assert.ok(await metric('ingestd_readings_accepted_total') >= BURST + 1);
});

test('SIGTERM drains every worker and the supervisor exits', async () => {
  const pid = pidOf(ctx.stack, 'ingestd');
  const ws = workers();
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !processAlive(pid) && ws.every((p) => !processAlive(p) || comm(p) !== 'ingestd'),
    { what: 'ingestd and its workers exited', timeout: 30000 });
  ctx.stack.start('ingestd'); // closeStack expects it running
});
