// hostile_meters.test.mjs (release build): costs before trust in the meter cache: a flood naming one unknown
// meter costs one database lookup per negative-cache period, a batch of unknown meters one lookup in all, and
// a hundred thousand readings waiting on one lookup cost the event loop nothing while they wait.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { upRelease, writeIngestdEnv, pidOf, rss, MiB, rawConnect, metric, wellBehavedMeter, during, within, pgStop,
  timedGet } from './lib/hostile.mjs';
import { client, newMeter, reading } from './ingestd_lib.mjs';

let stack;
const BASE = { INGESTD_METER_RATE_PER_MIN: '1000000', INGESTD_METER_RATE_BURST: '1000000',
  INGESTD_ADDR_RATE_PER_SEC: '10000000', INGESTD_ADDR_RATE_BURST: '10000000' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(() => { stack = upRelease(BASE); });

after(() => {
  const bad = stack.down();
  stack.cleanup();
  assert.deepEqual(bad, []);
});

async function restart(env) {
  stack.stop('ingestd');
  writeIngestdEnv(stack, { ...BASE, ...env });
  stack.start('ingestd');
  await sleep(200); // stop/start block node's loop: let fetch's pool see the old process's sockets closed
  return { pid: pidOf(stack, 'ingestd'), api: client(stack.env), good: await wellBehavedMeter(stack.env), url: stack.env.INGESTD_URL };
}

// Pipelines `n` copies of one request on `conns` connections and resolves with the statuses of the answers.
async function flood(url, request, n, conns) {
  const per = Math.ceil(n / conns);
  const one = async (i) => {
    const s = await rawConnect(url, `127.0.0.${2 + (i % 8)}`);
    let got = '', count = 0;
    return new Promise((resolve) => {
      s.on('data', (d) => {
        got += d;
        count = (got.match(/HTTP\/1\.1 \d{3} /g) || []).length; // answers follow each other on one line
        if (count >= per) { s.destroy(); resolve([...got.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => +m[1])); }
      });
      s.write(request.repeat(per));
    });
  };
  return (await Promise.all(Array.from({ length: conns }, (_, i) => one(i)))).flat();
}

test('a flood naming one unknown meter: 404s from the negative cache, a lookup per TTL, a meter served', async () => {
  const TTL = 2;
  const { pid, api, good, url } = await restart({ INGESTD_UNKNOWN_METER_TTL_SECS: String(TTL) });
  const ghost = newMeter('GHOST'); // never registered
  const body = JSON.stringify(reading(ghost));
  const req = `POST /api/meters/submit-reading HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  await good.check(5000); // its meter is cached now: every lookup from here on is the ghost's
  const q0 = await metric(api, 'ingestd_meter_lookups_total');
  const rss0 = rss(pid);
  const t0 = Date.now();
  const done = within(flood(url, req, 40000, 20), 120000, 'the flood answered');
  const served = await during(done, () => good.check(5000), 1000);
  const statuses = await done;
  const secs = (Date.now() - t0) / 1000;
  const lookups = (await metric(api, 'ingestd_meter_lookups_total')) - q0;
  console.log(`FIGURE\tunknown_meter_flood\t${statuses.length} requests in ${secs.toFixed(1)} s\trequests`);
  console.log(`FIGURE\tunknown_meter_flood_lookups\t${lookups}\tqueries`);
  console.log(`FIGURE\tunknown_meter_flood_rss_growth\t${((rss(pid) - rss0) / MiB).toFixed(1)}\tMiB`);
  assert.equal(statuses.length, 40000);
  assert.ok(statuses.every((s) => s === 404), `statuses: ${[...new Set(statuses)]}`);
  assert.ok(lookups >= 1 && lookups <= Math.ceil(secs / TTL) + 2, `${lookups} lookups for one unknown serial in ${secs} s (TTL ${TTL} s)`);
  assert.ok(rss(pid) - rss0 <= 64 * MiB);
  assert.ok(served.length >= 1);
});

test('a batch naming 980 unknown meters and 20 known ones costs one lookup, not one each', async () => {
  const { pid, api, good } = await restart({});
  const rss0 = rss(pid);
  const known = [];
  for (let i = 0; i < 20; i++) { const m = newMeter('KNOWN'); await api.register(m); known.push(m); }
  const ghosts = Array.from({ length: 980 }, () => newMeter('GHOST'));
  const readings = [...ghosts.map((m) => reading(m)), ...known.map((m) => reading(m))];
  const q0 = await metric(api, 'ingestd_meter_lookups_total');
  const s0 = await metric(api, 'ingestd_meter_lookup_serials_total');
  const r = await api.batch(readings);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.rejected, 980);
  assert.equal(r.json.accepted, 20);
  assert.ok(r.json.results.slice(0, 980).every((x) => x.status === 404 && x.error.code === 'meter_not_found'));
  assert.equal((await metric(api, 'ingestd_meter_lookups_total')) - q0, 1);
  assert.equal((await metric(api, 'ingestd_meter_lookup_serials_total')) - s0, 1000);
  // asked again within the TTL: none of them costs a lookup
  const again = await api.batch(ghosts.slice(0, 500).map((m) => reading(m)));
  assert.equal(again.json.rejected, 500);
  assert.equal((await metric(api, 'ingestd_meter_lookups_total')) - q0, 1);
  assert.ok(rss(pid) - rss0 <= 64 * MiB);
  await good.check(5000);
});

test('160,000 readings waiting on one lookup while PostgreSQL is blackholed: /healthz keeps answering; memory within the budget', async () => {
  const N = 5000, BATCHES = 32, BUDGET = 320 * MiB;
  const { pid, api, good, url } = await restart({ INGESTD_BATCH_MAX_READINGS: String(N), INGESTD_MAX_BODY_BYTES: String(8 * MiB),
    INGESTD_BODY_BUDGET_BYTES: String(BUDGET) });
  const rss0 = rss(pid);
  const ghost = newMeter('WAIT');
  const body = JSON.stringify({ readings: Array.from({ length: N }, () => reading(ghost)) });
  const healthz = `${url}/healthz`;
  const resume = pgStop(stack);
  let resumed = false;
  try {
    const socks = [];
    const answers = [];
    for (let i = 0; i < BATCHES; i++) {
      const s = await rawConnect(url, '127.0.0.2');
      let got = '';
      answers.push(new Promise((resolve) => s.on('data', (d) => { got += d; if (/\r\n\r\n[\s\S]*"request_id"/.test(got)) resolve(got); })));
      s.write(`POST /api/meters/readings/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      s.write(body);
      socks.push(s);
    }
    // every batch has been read and its readings queued on the (stuck) lookup once ingestd counted it
    const queued = waitFor(async () => (await metric(api, 'ingestd_batch_request_readings_count')) >= BATCHES,
      { what: 'all batches waiting on the lookup', timeout: 120000, interval: 200 });
    const lat = await during(queued, () => timedGet(healthz, 10000), 200);
    await queued;
    for (let i = 0; i < 5; i++) lat.push(await timedGet(healthz, 10000));
    const worst = Math.max(...lat);
    console.log(`FIGURE\twaiters_on_one_lookup\t${N * BATCHES}\treadings`);
    // /healthz answered every time within its 10-s deadline (timedGet throws otherwise); how fast depends on the
    // machine (parsing 32 bodies of 5,000 readings shares the loop), so it is a figure, not an assertion
    console.log(`FIGURE\twaiters_healthz_slowest\t${worst}\tms`);
    // what waits is counted against the body budget (bodies and per-reading state): memory follows it
    const held = await metric(api, 'ingestd_http_body_bytes');
    console.log(`FIGURE\twaiters_budget_held\t${(held / MiB).toFixed(1)}\tMiB`);
    console.log(`FIGURE\twaiters_rss_growth\t${((rss(pid) - rss0) / MiB).toFixed(1)}\tMiB`);
    assert.ok(held <= BUDGET);
    assert.ok(rss(pid) - rss0 <= BUDGET + 64 * MiB, `RSS grew by ${(rss(pid) - rss0) / MiB} MiB`);
    resume();
    resumed = true;
    const replies = await within(Promise.all(answers), 120000, 'the batches answered once PostgreSQL is back');
    for (const r of replies) assert.match(r, new RegExp(`^HTTP/1\\.1 200 [\\s\\S]*"rejected":${N}`));
    for (const s of socks) s.destroy();
  } finally {
    if (!resumed) resume();
  }
  await good.check(10000);
});

test('batches piling up behind a blackholed PostgreSQL: past the budget they get 503 at once, memory stays bounded', async () => {
  const BUDGET = 16 * MiB;
  const { pid, api, good, url } = await restart({ INGESTD_BODY_BUDGET_BYTES: String(BUDGET) });
  const ghost = newMeter('PILE');
  const body = JSON.stringify({ readings: Array.from({ length: 1000 }, () => reading(ghost)) });
  const rss0 = rss(pid);
  const resume = pgStop(stack);
  let resumed = false;
  const socks = [];
  try {
    const answers = [];
    for (let i = 0; i < 40; i++) {
      const s = await rawConnect(url, `127.0.0.${2 + (i % 8)}`);
      let got = '';
      answers.push(new Promise((resolve) => s.on('data', (d) => { got += d; if (/"request_id"/.test(got)) resolve(got); })));
      s.write(`POST /api/meters/readings/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      socks.push(s);
    }
    // those past the budget are answered while PostgreSQL is still away
    await waitFor(async () => (await metric(api, 'ingestd_http_requests_total{route="submit_batch",status="503"}')) >= 20,
      { what: 'batches refused over the budget', timeout: 30000 });
    assert.ok(await metric(api, 'ingestd_http_body_bytes') <= BUDGET);
    assert.ok(rss(pid) - rss0 <= BUDGET + 64 * MiB, `RSS grew by ${(rss(pid) - rss0) / MiB} MiB`);
    await timedGet(`${url}/healthz`, 10000);
    resume();
    resumed = true;
    const replies = await within(Promise.all(answers), 60000, 'every batch answered');
    const refused = replies.filter((r) => /^HTTP\/1\.1 503 /.test(r));
    console.log(`FIGURE\tbatches_over_budget_refused\t${refused.length} of ${replies.length}\tbatches`);
    assert.ok(refused.every((r) => /Retry-After: \d+/.test(r) && /"server_busy"/.test(r)));
    assert.ok(replies.filter((r) => /^HTTP\/1\.1 200 /.test(r)).length >= 5, 'the budget admits several');
  } finally {
    if (!resumed) resume();
    for (const s of socks) s.destroy();
  }
  await good.check(10000);
});
