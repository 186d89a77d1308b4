// ingestd_http.test.mjs: HTTP semantics of ingestd's server: HEAD on every GET route, Host, chunked request
// bodies under the same limits, the drain writing every answer out, and /metrics passing promtool.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { waitFor, processAlive } from './lib/stack.mjs';
import { openStack, closeStack, newMeter, reading, tsAt } from './ingestd_lib.mjs';
import { promtoolCheck } from './lib/promtool.mjs';
import { port } from './lib/hostile.mjs';

let ctx, meter;

before(async () => {
  ctx = await openStack({ INGESTD_MAX_READING_BODY_BYTES: '2048' });
  meter = newMeter('HTTP');
  await ctx.api.register(meter);
});

after(async () => {
  assert.deepEqual(await closeStack(ctx), []);
});

// Writes `bytes` on a fresh connection, reads until `n` responses are complete (HEAD-aware) or the server closes.
function exchange(bytes, { heads = [], n = 1, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port(ctx.env.INGESTD_URL), '127.0.0.1', () => s.write(bytes));
    let buf = Buffer.alloc(0);
    let closed = false;
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no ${n} responses in ${timeout} ms: ${buf.toString('latin1')}`)); }, timeout);
    const finish = () => {
      const out = parseResponses(buf, heads);
      if (out.responses.length >= n || closed) {
        clearTimeout(t);
        s.destroy();
        resolve({ ...out, closed });
      }
    };
    s.on('data', (d) => { buf = Buffer.concat([buf, d]); finish(); });
    s.on('end', () => { closed = true; finish(); });
    s.on('error', () => { closed = true; finish(); });
  });
}

// Splits a byte stream into responses; heads[i] true when response i answers a HEAD (headers only).
export function parseResponses(buf, heads = []) {
  const responses = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const head = buf.subarray(off, end).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const headers = {};
    for (const l of lines) { const i = l.indexOf(':'); headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
    const status = +statusLine.split(' ')[1];
    if (status === 100) { off = end + 4; continue; }
    const len = heads[responses.length] ? 0 : +(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + len) break;
    responses.push({ status, headers, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
    off = end + 4 + len;
  }
  return { responses, rest: buf.subarray(off) };
}

const req = (method, path, { headers = {}, body } = {}) => {
  const h = { Host: 'ingestd', ...headers };
  if (body !== undefined && h['Transfer-Encoding'] === undefined) h['Content-Length'] = Buffer.byteLength(body);
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body ?? ''}`;
};

test('HEAD answers every GET route with the GET status and headers and no body; the connection goes on', async () => {
  const admin = { Authorization: `Bearer ${ctx.env.ADMIN_TOKEN}` };
  const routes = ['/healthz', '/readyz', `/api/meters/readings/${randomUUID()}`, '/api/admin/meters',
    `/api/admin/meters/${meter.serial}`, '/api/admin/meters/unminted', '/api/admin/tokenization/status', '/metrics'];
  for (const path of routes) {
    // HEAD, then GET, then HEAD again on one connection: a body after a HEAD would be read as the next response
    const r = await exchange(req('HEAD', path, { headers: admin }) + req('GET', path, { headers: admin }) +
      req('HEAD', path, { headers: admin }), { heads: [true, false, true], n: 3 });
    const [h, g, h2] = r.responses;
    assert.equal(r.responses.length, 3, path);
    assert.equal(h.status, g.status, path);
    assert.equal(h.body, '', path);
    assert.equal(h2.body, '', path);
    assert.equal(r.rest.length, 0, `${path}: no stray bytes after the HEAD answers`);
    assert.equal(h.headers['content-type'], g.headers['content-type'], path);
    if (path !== '/metrics') assert.equal(+h.headers['content-length'], Buffer.byteLength(g.body), path); // metrics count requests
    else assert.ok(+h.headers['content-length'] > 0);
  }
  // HEAD where GET is not allowed: 405 with Allow, still no body
  const r = await exchange(req('HEAD', '/api/meters/submit-reading') + req('GET', '/healthz'), { heads: [true, false], n: 2 });
  assert.equal(r.responses[0].status, 405);
  assert.equal(r.responses[0].headers.allow, 'POST');
  assert.equal(r.responses[1].status, 200);
  const g = await exchange(req('POST', '/healthz', { body: '{}' }));
  assert.equal(g.responses[0].headers.allow, 'GET, HEAD');
});

test('HTTP/1.1 without Host or with two Host headers is 400; HTTP/1.0 may leave it out', async () => {
  let r = await exchange('GET /healthz HTTP/1.1\r\n\r\n');
  assert.equal(r.responses[0].status, 400);
  assert.equal(JSON.parse(r.responses[0].body).error.code, 'bad_host');
  r = await exchange('GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  assert.equal(r.responses[0].status, 400);
  assert.equal(JSON.parse(r.responses[0].body).error.code, 'bad_host');
  r = await exchange('GET /healthz HTTP/1.0\r\n\r\n');
  assert.equal(r.responses[0].status, 200);
  r = await exchange('GET /healthz HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n');
  assert.equal(r.responses[0].status, 400);
});

function chunked(text, sizes) {
  let out = '', i = 0;
  for (const n of sizes) { out += `${n.toString(16)}${i === 0 ? ';ext=1' : ''}\r\n${text.slice(i, i + n)}\r\n`; i += n; }
  if (i < text.length) out += `${(text.length - i).toString(16)}\r\n${text.slice(i)}\r\n`;
  return out + '0\r\nX-Trailer: ignored\r\n\r\n';
}

test('chunked request bodies are accepted with the Content-Length limits; bad framing is refused', async () => {
  const te = { 'Transfer-Encoding': 'chunked', 'Content-Type': 'application/json' };
  const one = JSON.stringify(reading(meter, { timestamp: tsAt(1) }));
  let r = await exchange(req('POST', '/api/meters/submit-reading', { headers: te, body: chunked(one, [1, 7, 30]) }));
  assert.equal(r.responses[0].status, 201, r.responses[0].body);
  assert.equal(JSON.parse(r.responses[0].body).meter_serial, meter.serial);
  // with Expect: 100-continue, a batch, and the same connection reused afterwards
  const batch = JSON.stringify({ readings: [reading(meter, { timestamp: tsAt(2) }), reading(meter, { timestamp: tsAt(3) })] });
  r = await exchange(req('POST', '/api/meters/readings/batch', { headers: { ...te, Expect: '100-continue' }, body: chunked(batch, [100]) }) +
    req('GET', '/healthz'), { n: 2 });
  assert.equal(r.responses[0].status, 200, r.responses[0].body);
  assert.equal(JSON.parse(r.responses[0].body).accepted, 2);
  assert.equal(r.responses[1].status, 200);
  // over the route's limit (2048 here), however it is split into chunks: 413, as with Content-Length
  const big = JSON.stringify({ ...reading(meter, { timestamp: tsAt(4) }), pad: 'x'.repeat(3000) });
  r = await exchange(req('POST', '/api/meters/submit-reading', { headers: te, body: chunked(big, [1000, 1000, 1000]) }));
  assert.equal(r.responses[0].status, 413);
  r = await exchange(req('POST', '/api/meters/submit-reading', { headers: { 'Content-Type': 'application/json' }, body: big }));
  assert.equal(r.responses[0].status, 413);
  const bad = [
    [{ ...te }, 'zz\r\nabc\r\n0\r\n\r\n', 400, 'bad_chunk'],
    [{ ...te }, '3\r\nabcd\r\n0\r\n\r\n', 400, 'bad_chunk'],
    [{ ...te, 'Content-Length': '5' }, '0\r\n\r\n', 400, 'bad_transfer_encoding'],
    [{ 'Transfer-Encoding': 'gzip, chunked' }, '0\r\n\r\n', 501, 'transfer_encoding_unsupported'],
  ];
  for (const [headers, body, status, code] of bad) {
    r = await exchange(req('POST', '/api/meters/submit-reading', { headers, body }));
    assert.equal(r.responses[0].status, status, body);
    assert.equal(JSON.parse(r.responses[0].body).error.code, code, body);
  }
  r = await exchange('POST /api/meters/submit-reading HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.equal(r.responses[0].status, 400);
  const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM meter_readings WHERE meter_serial = $1', [meter.serial]);
  assert.equal(rows[0].n, 3);
});

const queued = async () => Number(/^ingestd_http_responses_queued_total (\d+)$/m.exec((await ctx.api.call('GET', '/metrics')).text)[1]);

test('answers go straight to the socket when nothing is queued before them; all arrive, in order', async () => {
  const q0 = await queued();
  const paths = Array.from({ length: 20 }, (_, i) => (i % 2 ? '/healthz' : `/api/meters/readings/${randomUUID()}`));
  const { responses, closed } = await exchange(paths.map((p) => req('GET', p)).join(''), { n: paths.length });
  assert.equal(closed, false);
  assert.deepEqual(responses.map((r) => r.status), paths.map((_, i) => (i % 2 ? 200 : 404)));
  // the /metrics answer that gave q0 (kilobytes) may itself have been more than the socket took at once
  assert.ok(await queued() - q0 <= 1, 'small answers to a reading client were queued');
});

test('/metrics: every metric has # HELP and # TYPE (promtool check metrics is clean)', async () => {
  await ctx.api.call('GET', '/nope');
  await ctx.api.submit({ meter_serial: 'NOPE-1' });
  const r = await promtoolCheck(`${ctx.env.INGESTD_URL}/metrics`);
  assert.ok(r.ok, r.problems.join('\n'));
  const names = new Set([...r.text.matchAll(/^([a-z_]+)(?:\{| )/gm)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')));
  for (const n of names) {
    assert.match(r.text, new RegExp(`^# HELP ${n} `, 'm'), n);
    assert.match(r.text, new RegExp(`^# TYPE ${n} `, 'm'), n);
  }
  assert.ok(names.size >= 30, [...names].join(' '));
});

test('the drain writes every answer out before closing (last test: ingestd exits)', async () => {
  const ing = ctx.stack.pids().find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'ingestd');
  // A client pipelines requests for big answers and reads nothing: ingestd holds answers it has not sent.
  const s = net.connect(port(ctx.env.INGESTD_URL), '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  s.pause();
  let buf = Buffer.alloc(0), ended = false;
  s.on('data', (d) => { buf = Buffer.concat([buf, d]); });
  s.on('end', () => { ended = true; });
  s.on('close', () => { ended = true; });
  s.on('error', () => {});
  s.write(req('GET', '/metrics').repeat(3000)); // ~20 MB of answers: more than the kernel buffers hold
  // Wait until ingestd has answered all it will: the count of /metrics answers grows by our own poll alone.
  const answered = async () => +(/ingestd_http_requests_total\{route="metrics",status="200"\} (\d+)/.exec(
    (await ctx.api.call('GET', '/metrics')).text)?.[1] ?? 0);
  let last = -1;
  await waitFor(async () => { const n = await answered(); const stable = n === last + 1 && n > 1; last = n; return stable; },
    { what: 'ingestd answering no more of the pipelined requests', interval: 500 });
  process.kill(ing, 'SIGTERM');
  await waitFor(async () => { try { await fetch(`${ctx.env.INGESTD_URL}/healthz`); return false; } catch { return true; } },
    { what: 'the drain (no new connections)' });
  s.resume();
  await waitFor(() => ended, { what: 'ingestd closes the connection', timeout: 20000 });
  const { responses, rest } = parseResponses(buf);
  assert.ok(responses.length >= 1);
  assert.ok(responses.every((r) => r.status === 200 && /ingestd_http_requests_total/.test(r.body)));
  assert.equal(rest.length, 0, `an answer was cut off: ${rest.length} bytes after ${responses.length} whole answers`);
  await waitFor(() => !processAlive(ing), { what: 'ingestd exits', timeout: 20000 });
});
