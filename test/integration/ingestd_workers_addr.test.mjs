// ingestd_workers_addr.test.mjs: with INGESTD_WORKERS=2 a client address's request rate (INGESTD_ADDR_RATE_*)
// holds across the workers: the burst is the burst, whichever worker each connection reaches. Each test
// connects from an address of its own on the loopback (127.0.0.x), so nothing else has used its bucket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { openStack, closeStack } from './ingestd_lib.mjs';

let ctx, env;
const BURST = 10, N = 3 * BURST;

before(async () => {
  // 1 request per second sustained: during the test's second or two at most a couple come back.
  ctx = await openStack({ INGESTD_WORKERS: '2', INGESTD_ADDR_RATE_PER_SEC: '1', INGESTD_ADDR_RATE_BURST: `${BURST}` });
  ({ env } = ctx);
});

after(async () => {
  const problems = await closeStack(ctx);
  assert.deepEqual(problems, [], 'daemon log problems');
});

// One request on a connection of its own from localAddress: the kernel picks the worker for each connection.
function fresh(localAddress, path) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, env.INGESTD_URL), { agent: false, localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, worker: String(res.headers['x-request-id']).slice(0, 8),
        retry: res.headers['retry-after'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

test("an address's burst holds across workers: 10 means 10 (plus what refills meanwhile)", async () => {
  const t0 = process.hrtime.bigint();
  const answers = [];
  for (let i = 0; i < N; i++) answers.push(await fresh('127.0.0.2', '/healthz'));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const seen = new Set(answers.map((r) => r.worker));
  assert.equal(seen.size, 2, `${N} connections all reached one worker (${[...seen]}): nothing shown`);
  const ok = answers.filter((r) => r.status === 200).length;
  const limited = answers.filter((r) => r.status === 429);
  // Per worker, each would have had its own 10: about 20 accepted.
  const refilled = Math.ceil(secs);
  const trace = answers.map((r) => `${r.worker}:${r.status}`).join(' ');
  assert.ok(ok >= BURST && ok <= BURST + refilled, `accepted ${ok} in ${secs.toFixed(2)} s: ${trace}`);
  assert.equal(limited.length, N - ok);
  for (const r of limited) assert.ok(Number(r.retry) >= 1, 'a 429 says when to come back');
});

test('another address has its own bucket', async () => {
  const r = await fresh('127.0.0.3', '/healthz');
  assert.equal(r.status, 200);
});
