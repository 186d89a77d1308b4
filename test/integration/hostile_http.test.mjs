// hostile_http.test.mjs (release build): clients that attack ingestd's HTTP server: slowloris heads, pipelined
// floods that never read, trickled bodies, body hoarding, many connections and many requests from one address.
// Each bounds ingestd's memory growth and keeps a well-behaved meter served (liveness bounds of seconds).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { upRelease, writeIngestdEnv, pidOf, rss, MiB, rawConnect, metric, wellBehavedMeter, during, within } from './lib/hostile.mjs';
import { client, newMeter, reading } from './ingestd_lib.mjs';

let stack;
const FAST_METER = { INGESTD_METER_RATE_PER_MIN: '1000000', INGESTD_METER_RATE_BURST: '1000000' };

before(() => { stack = upRelease(FAST_METER); });

after(() => {
  const bad = stack.down();
  stack.cleanup();
  assert.deepEqual(bad, []);
});

// Restarts ingestd with these settings (on top of FAST_METER); returns {pid, api, meter}.
async function restart(env) {
  stack.stop('ingestd');
  writeIngestdEnv(stack, { ...FAST_METER, ...env });
  stack.start('ingestd');
  // stop/start block node's loop: let fetch's pool see the old process's closed keep-alive sockets first
  await sleep(200);
  const pid = pidOf(stack, 'ingestd');
  const good = await wellBehavedMeter(stack.env);
  return { pid, api: client(stack.env), good, url: stack.env.INGESTD_URL };
}

const closedBy = (s) => new Promise((resolve) => {
  let done = false;
  const fin = (why) => { if (!done) { done = true; resolve({ at: Date.now(), why }); } };
  s.on('end', () => fin('end'));
  s.on('close', () => fin('close'));
  s.on('error', (e) => fin(e.code));
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('slowloris: 2,000 connections trickling a header line every 2 s are closed at the head deadline; a meter is served', async () => {
  const HEAD_SECS = 5;
  const { pid, good, url } = await restart({ INGESTD_HEADER_TIMEOUT_SECS: String(HEAD_SECS) });
  const rss0 = rss(pid);
  let peak = rss0;
  const conns = [];
  // from ten addresses (127.0.0.2-11), 200 each: below the per-address limit, like a small botnet
  for (let i = 0; i < 2000; i++) {
    const s = await rawConnect(url, `127.0.0.${2 + (i % 10)}`);
    s.on('data', () => {});
    const opened = Date.now();
    s.write('GET /healthz HTTP/1.1\r\n');
    const t = setInterval(() => { if (!s.destroyed) s.write(`X-Trickle-${Date.now()}: 1\r\n`); }, 2000);
    conns.push(closedBy(s).then((c) => { clearInterval(t); s.destroy(); return c.at - opened; }));
  }
  const all = within(Promise.all(conns), 45000, 'every slowloris connection closed by ingestd');
  const served = await during(all, async () => { peak = Math.max(peak, rss(pid)); return good.check(5000); }, 1000);
  const lifetimes = await all;
  const worst = Math.max(...lifetimes);
  console.log(`FIGURE\tslowloris_connections\t${lifetimes.length}\tconnections`);
  console.log(`FIGURE\tslowloris_longest_lifetime\t${worst}\tms`);
  console.log(`FIGURE\tslowloris_rss_growth\t${((peak - rss0) / MiB).toFixed(1)}\tMiB`);
  console.log(`FIGURE\tslowloris_meter_answers\t${served.length} (slowest ${Math.max(...served)} ms)\treadings`);
  assert.ok(worst <= (HEAD_SECS + 3) * 1000, `a connection lived ${worst} ms with a ${HEAD_SECS} s head deadline`);
  assert.ok(served.length >= 1);
  assert.ok(peak - rss0 <= 64 * MiB, `RSS grew by ${(peak - rss0) / MiB} MiB`);
  assert.ok(await metric(good.api, 'ingestd_http_timeouts_total{phase="head"}') >= 2000);
});

// One client writes `bytes` of pipelined requests and reads nothing. Resolves once ingestd answers no more.
async function pipelineUnread(url, request, bytes, api, route) {
  const s = await rawConnect(url, '127.0.0.2');
  s.pause();
  s.on('error', () => {});
  const chunk = Buffer.from(request.repeat(Math.ceil(1024 * 1024 / request.length)));
  for (let sent = 0; sent < bytes; sent += chunk.length) s.write(chunk); // node queues what the kernel refuses
  const answered = () => metric(api, `ingestd_http_requests_total{route="${route}",status="200"}`);
  let last = -1;
  const ours = route === 'metrics' ? 1 : 0; // reading /metrics is itself a /metrics request
  await waitFor(async () => { const n = await answered(); const stable = n === last + ours; last = n; return stable && n > 1; },
    { what: 'ingestd to stop answering the unread pipeline', interval: 1000, timeout: 60000 });
  return { sock: s, answered: last };
}

test('a pipelined flood: 40 MB of requests from a client that reads nothing grow ingestd by at most 64 MiB', async () => {
  const { pid, api, good, url } = await restart({ INGESTD_ADDR_RATE_PER_SEC: '10000000', INGESTD_ADDR_RATE_BURST: '10000000' });
  const rss0 = rss(pid);
  let peak = rss0;
  const sampler = setInterval(() => { peak = Math.max(peak, rss(pid)); }, 100);
  const flood = pipelineUnread(url, 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n', 40 * MiB, api, 'readyz');
  const served = await during(flood, () => good.check(5000), 1000);
  const { sock, answered } = await flood;
  peak = Math.max(peak, rss(pid));
  clearInterval(sampler);
  console.log(`FIGURE\tpipelined_flood_rss_growth\t${((peak - rss0) / MiB).toFixed(1)}\tMiB`);
  console.log(`FIGURE\tpipelined_flood_answered\t${answered}\trequests`);
  assert.ok(peak - rss0 <= 64 * MiB, `RSS grew by ${((peak - rss0) / MiB).toFixed(1)} MiB`);
  assert.ok(served.length >= 1);
  assert.ok(await metric(api, 'ingestd_http_unsent_bytes') <= 300 * 1024);
  sock.destroy();
  await good.check(5000);
});

test('unsent answers per connection are bounded in count (INGESTD_MAX_PIPELINED_REQUESTS) and bytes (watermark)', async () => {
  // count: with a huge byte watermark, only the count stops ingestd from queueing answers for a non-reader
  let { pid, api, good, url } = await restart({ INGESTD_ADDR_RATE_PER_SEC: '10000000', INGESTD_ADDR_RATE_BURST: '10000000',
    INGESTD_WRITE_HIGH_WATERMARK_BYTES: String(64 * MiB), INGESTD_MAX_PIPELINED_REQUESTS: '16' });
  let rss0 = rss(pid);
  let r = await pipelineUnread(url, 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n', 8 * MiB, api, 'readyz');
  const unsentCount = await metric(api, 'ingestd_http_unsent_bytes_max');
  console.log(`FIGURE\tpipelined_unsent_with_count_bound\t${unsentCount}\tbytes`);
  assert.ok(unsentCount <= 16 * 300, `${unsentCount} bytes unsent: more than 16 answers`);
  assert.ok(await metric(api, 'ingestd_http_responses_queued_total') >= 1, 'what the socket did not take was queued');
  assert.ok(await metric(api, 'ingestd_http_paused_connections') >= 1);
  assert.ok(rss(pid) - rss0 <= 64 * MiB);
  await good.check(5000);
  r.sock.destroy();
  // bytes: with a high count bound, the watermark stops it (answers of /metrics are kilobytes)
  ({ pid, api, good, url } = await restart({ INGESTD_ADDR_RATE_PER_SEC: '10000000', INGESTD_ADDR_RATE_BURST: '10000000',
    INGESTD_WRITE_HIGH_WATERMARK_BYTES: String(64 * 1024), INGESTD_MAX_PIPELINED_REQUESTS: '1024' }));
  rss0 = rss(pid);
  r = await pipelineUnread(url, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 2 * MiB, api, 'metrics');
  const unsentBytes = await metric(api, 'ingestd_http_unsent_bytes_max');
  console.log(`FIGURE\tpipelined_unsent_with_byte_watermark\t${unsentBytes}\tbytes`);
  assert.ok(unsentBytes <= 64 * 1024 + 32 * 1024, `${unsentBytes} bytes unsent with a 64 KiB watermark`);
  assert.ok(rss(pid) - rss0 <= 64 * MiB);
  await good.check(5000);
  r.sock.destroy();
});

test('trickled bodies (Content-Length and chunked) are answered 408 and closed at the body deadline', async () => {
  const BODY_SECS = 3;
  const { pid, good, url } = await restart({ INGESTD_BODY_TIMEOUT_SECS: String(BODY_SECS) });
  const rss0 = rss(pid);
  const conns = [];
  for (let i = 0; i < 400; i++) {
    const s = await rawConnect(url, `127.0.0.${3 + (i % 2)}`);
    let got = '';
    s.on('data', (d) => { got += d; });
    const chunkedBody = i % 2 === 1;
    s.write(`POST /api/meters/submit-reading HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      (chunkedBody ? 'Transfer-Encoding: chunked\r\n\r\n' : 'Content-Length: 9000\r\n\r\n'));
    const sent = Date.now();
    const t = setInterval(() => { if (!s.destroyed) s.write(chunkedBody ? '1\r\n \r\n' : ' '); }, 1000);
    conns.push(closedBy(s).then((c) => { clearInterval(t); s.destroy(); return { ms: c.at - sent, got }; }));
  }
  const all = within(Promise.all(conns), 45000, 'every trickled body closed by ingestd');
  const served = await during(all, () => good.check(5000), 1000);
  const results = await all;
  const worst = Math.max(...results.map((r) => r.ms));
  console.log(`FIGURE\ttrickled_bodies_longest_lifetime\t${worst}\tms`);
  console.log(`FIGURE\ttrickled_bodies_rss_growth\t${((rss(pid) - rss0) / MiB).toFixed(1)}\tMiB`);
  assert.ok(results.every((r) => /^HTTP\/1\.1 408 /.test(r.got)), 'each got a 408');
  assert.ok(worst <= (BODY_SECS + 3) * 1000, `a trickled body lasted ${worst} ms with a ${BODY_SECS} s deadline`);
  assert.ok(served.length >= 1);
  assert.ok(rss(pid) - rss0 <= 64 * MiB);
  assert.ok(await metric(good.api, 'ingestd_http_timeouts_total{phase="body"}') >= 400);
});

test('the body budget: bodies that would pass INGESTD_BODY_BUDGET_BYTES get 503 with Retry-After; others go on', async () => {
  const { pid, api, good, url } = await restart({ INGESTD_BODY_BUDGET_BYTES: String(1024 * 1024),
    INGESTD_MAX_BODY_BYTES: String(512 * 1024), INGESTD_BATCH_MAX_READINGS: '100' });
  const rss0 = rss(pid);
  const hold = async (headers) => {
    const s = await rawConnect(url, '127.0.0.5');
    let got = '';
    s.on('data', (d) => { got += d; });
    s.on('error', () => {});
    s.write(`POST /api/meters/readings/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n`);
    return { s, got: () => got };
  };
  const h1 = await hold('Content-Length: 400000\r\n');
  const h2 = await hold('Content-Length: 400000\r\n');
  await waitFor(async () => (await metric(api, 'ingestd_http_body_bytes')) >= 800000, { what: 'two bodies reserved' });
  const h3 = await hold('Content-Length: 400000\r\n');
  await waitFor(() => /^HTTP\/1\.1 503 /.test(h3.got()), { what: 'a 503 for the third' });
  assert.match(h3.got(), /\r\nRetry-After: \d+\r\n/);
  assert.match(h3.got(), /"server_busy"/);
  const h4 = await hold('Transfer-Encoding: chunked\r\n');
  h4.s.write(`${(300000).toString(16)}\r\n`);
  await waitFor(() => /^HTTP\/1\.1 503 /.test(h4.got()), { what: 'a 503 for a chunked body past the budget' });
  await good.check(5000); // a small body still fits
  h1.s.destroy();
  h2.s.destroy();
  await waitFor(async () => (await metric(api, 'ingestd_http_body_bytes')) === 0, { what: 'the budget released' });
  const body = JSON.stringify({ readings: [reading(newMeter('NOPE'))] }).padEnd(400000, ' ');
  const r = await api.call('POST', '/api/meters/readings/batch', { raw: body, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 200, r.text);
  assert.ok(await metric(api, 'ingestd_http_body_budget_refused_total') >= 2);
  assert.ok(rss(pid) - rss0 <= 64 * MiB);
  h3.s.destroy();
  h4.s.destroy();
});

test('per-address limits: connections beyond INGESTD_MAX_CONNECTIONS_PER_ADDR are closed; requests beyond the rate get 429 before any check', async () => {
  const { pid, api, good, url } = await restart({ INGESTD_MAX_CONNECTIONS_PER_ADDR: '20', INGESTD_ADDR_RATE_PER_SEC: '20',
    INGESTD_ADDR_RATE_BURST: '40' });
  const rss0 = rss(pid);
  const socks = [];
  const closed = [];
  for (let i = 0; i < 30; i++) {
    const s = await rawConnect(url, '127.0.0.6');
    s.on('data', () => {});
    socks.push(s);
    closedBy(s).then(() => closed.push(i));
  }
  await waitFor(() => closed.length >= 10, { what: 'the connections over the limit closed' });
  await sleep(300);
  assert.equal(closed.length, 10, `closed: ${closed}`);
  assert.equal(await metric(api, 'ingestd_http_refused_connections_total{reason="per_address"}'), 10);
  const other = await rawConnect(url, '127.0.0.7'); // another address is not affected
  other.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => other.once('data', r));
  other.destroy();
  for (const s of socks) s.destroy();
  // 200 submissions with bad signatures, pipelined from one address: the burst is looked at, the rest gets 429
  const m = newMeter('RATE');
  await api.register(m);
  const bad = JSON.stringify(reading(m, { signer: newMeter('OTHER') }));
  const s = await rawConnect(url, '127.0.0.8');
  let got = '';
  s.on('data', (d) => { got += d; });
  const one = `POST /api/meters/submit-reading HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bad.length}\r\n\r\n${bad}`;
  const before401 = await metric(api, 'ingestd_readings_rejected_total{reason="invalid_signature"}');
  s.write(one.repeat(200));
  await waitFor(() => /HTTP\/1\.1 429 /.test(got), { what: '429s' });
  await sleep(500);
  s.destroy();
  const n401 = (got.match(/HTTP\/1\.1 401 /g) || []).length;
  assert.ok(n401 >= 1 && n401 <= 40 + 20 * 3, `${n401} signature checks for one address`);
  assert.match(got, /HTTP\/1\.1 429 Too Many Requests\r\n[\s\S]*?Retry-After: \d+\r\n/);
  assert.ok((await metric(api, 'ingestd_readings_rejected_total{reason="invalid_signature"}')) - before401 <= 40 + 20 * 3);
  await good.check(5000); // the meter's own address has its own bucket
  assert.ok(rss(pid) - rss0 <= 64 * MiB);
});
