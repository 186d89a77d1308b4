// hostile_ws.test.mjs (release build): the WebSocket service is its own process: killing it, stopping it, or
// blackholing PostgreSQL while users connect never delays /healthz or a meter; a replaying client that never
// reads while events flow is closed with bounded memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, pgClient } from './lib/stack.mjs';
import { upRelease, pidOf, rss, MiB, metric, wellBehavedMeter, during, within, pgStop, timedGet, wsPid, port } from './lib/hostile.mjs';
import { connect, rawClient, userToken, JWT_SECRET, redisClient, PREFIX } from './lib/wsstack.mjs';
import { client } from './ingestd_lib.mjs';
import { markTestInput } from './lib/contract.mjs';

let stack, env, api, good, redis, healthz, wsUrl;

before(async () => {
  stack = upRelease({ JWT_SECRET, INGESTD_METER_RATE_PER_MIN: '1000000', INGESTD_METER_RATE_BURST: '1000000',
    WEBSOCKET_OWNER_LOOKUP_TIMEOUT_MS: '5000' });
  env = stack.env;
  api = client(env);
  good = await wellBehavedMeter(env);
  redis = await redisClient(env);
  healthz = `${env.INGESTD_URL}/healthz`;
  wsUrl = env.WS_URL;
  await waitFor(() => /event feed subscribed/.test(log()), { what: 'the WebSocket service ready' });
});

after(async () => {
  await redis?.disconnect();
  const bad = stack.down();
  stack.cleanup();
  assert.deepEqual(bad, []);
});

const log = () => readFileSync(join(stack.dir, 'ingestd.log'), 'utf8');
// While `busy` runs: /healthz within 4 s and the meter within 5 s, every half second. Not a speed bound (the
// machine may be loaded): a service that shared ingestd's loop or process would hold /healthz for as long as it
// is stopped, or for the 5-s owner lookup deadline, and miss these.
const HEALTHZ_MS = 4000;
const liveness = (busy) => during(busy, async () => [await timedGet(healthz, HEALTHZ_MS), await good.check(5000)], 500);

test('a replaying client that never reads while events flow: closed as slow (4000), the service stays small', async () => {
  const ws = await wsPid(pidOf(stack, 'ingestd'));
  const user = randomUUID();
  const pad = 'e'.repeat(4000);
  for (let i = 0; i < 2000; i++) markTestInput(await redis.xAdd(`${PREFIX}:stream`, '*', { event: JSON.stringify({ type: 'tokens_minted', user_id: user, n: i, pad }) }));
  const rss0 = rss(ws);
  let peak = rss0;
  const c = await rawClient(port(wsUrl), userToken(user));
  c.sock.pause(); // reads nothing from here on
  c.sock.write(Buffer.from([0x81, 0x80 | 34, 1, 2, 3, 4, ...Buffer.from('{"action":"replay","since":"0-0"}').map((b, i) => b ^ [1, 2, 3, 4][i % 4])]));
  const base = Date.now() + 1e9;
  const flow = (async () => {
    for (let i = 0; i < 20000 && !/msg="websocket client closed by server" .*code=4000/.test(log()); i += 100) {
      const batch = [];
      for (let k = i; k < i + 100; k++) {
        markTestInput(`${base}-${k}`);
        batch.push(redis.publish(PREFIX, JSON.stringify({ type: 'tokens_minted', user_id: user, event_id: `${base}-${k}`, pad })));
      }
      await Promise.all(batch);
      peak = Math.max(peak, rss(ws));
    }
    await waitFor(() => /msg="websocket client closed by server" .*code=4000 reason="slow consumer/.test(log()), { what: 'the slow consumer closed' });
  })();
  const live = await liveness(within(flow, 60000, 'the slow consumer closed'));
  await flow;
  peak = Math.max(peak, rss(ws));
  console.log(`FIGURE\tws_unread_replay_rss_growth\t${((peak - rss0) / MiB).toFixed(1)}\tMiB`);
  assert.ok(peak - rss0 <= 64 * MiB, `ingestd-ws grew by ${((peak - rss0) / MiB).toFixed(1)} MiB`);
  assert.ok(live.length >= 1);
  assert.equal(await wsPid(pidOf(stack, 'ingestd')), ws, 'the service did not crash');
  c.sock.destroy();
  const other = connect(wsUrl, { token: userToken(user) });
  await other.opened();
  await other.close();
});

test('the WebSocket service killed (SIGKILL): meters and /healthz do not notice; it is restarted and serves again', async () => {
  const ingestd = pidOf(stack, 'ingestd');
  const ws = await wsPid(ingestd);
  const user = randomUUID();
  const c = connect(wsUrl, { token: userToken(user) });
  await c.opened();
  process.kill(ws, 'SIGKILL');
  const again = wsPid(ingestd, { not: ws });
  const live = await liveness(within(again, 20000, 'ingestd-ws started again'));
  const ws2 = await again;
  assert.notEqual(ws2, ws);
  assert.ok(live.length >= 1);
  await waitFor(() => c.closed, { what: 'the old client cut off' });
  assert.match(log(), /msg="websocket service died; meters are not affected; restarting it" how="killed by signal 9"/);
  const c2 = connect(wsUrl, { token: userToken(user) });
  await c2.opened();
  const id = `${Date.now() + 2e9}-0`;
  markTestInput(id);
  await redis.publish(PREFIX, JSON.stringify({ type: 'tokens_minted', user_id: user, event_id: id }));
  await c2.next((m) => m.event_id === id, 'an event through the new service');
  await c2.close();
  assert.ok(await metric(api, 'ingestd_websocket_service_restarts_total') >= 1);
  assert.equal(await metric(api, 'ingestd_websocket_service_up'), 1);
});

test('the WebSocket service stopped (SIGSTOP): meters and /healthz do not notice; clients wait until SIGCONT', async () => {
  const ws = await wsPid(pidOf(stack, 'ingestd'));
  process.kill(ws, 'SIGSTOP');
  let c;
  try {
    c = connect(wsUrl, { token: userToken(randomUUID()) });
    const stopped = new Promise((r) => setTimeout(r, 3000));
    const live = await liveness(stopped);
    assert.ok(live.length >= 4);
    assert.equal(c.msgs.length, 0, 'nobody answers while it is stopped');
  } finally {
    process.kill(ws, 'SIGCONT');
  }
  await c.opened();
  await c.close();
  assert.equal(await wsPid(pidOf(stack, 'ingestd')), ws);
});

test('PostgreSQL blackholed while users connect: /healthz answers before the lookup deadline; users get 503 after it', async () => {
  const resume = pgStop(stack);
  let users, admin;
  try {
    users = Array.from({ length: 8 }, () => connect(wsUrl, { token: userToken(randomUUID()) }));
    admin = connect(wsUrl, { token: env.ADMIN_TOKEN }); // no lookup: connects at once
    const refused = waitFor(() => users.every((u) => u.closed), { what: 'the users answered', timeout: 20000 });
    const lat = await during(refused, () => timedGet(healthz, HEALTHZ_MS), 200);
    await refused;
    console.log(`FIGURE\tpg_blackholed_healthz_slowest\t${Math.max(...lat)}\tms`);
    assert.ok(lat.length >= 5);
    for (const u of users) {
      assert.equal(u.status, 503);
      assert.match(JSON.parse(u.body).message, /user lookup unavailable/);
    }
    await admin.opened();
  } finally {
    resume();
  }
  const back = connect(wsUrl, { token: userToken(randomUUID()) });
  await back.opened();
  await back.close();
  await admin.close();
  await good.check(10000);
});

test('PostgreSQL stalled for the WebSocket service alone: meters are stored meanwhile, users get 503, then connect', async () => {
  // a user lookup makes sure the service's database connections are open, then its backends are stopped
  const first = connect(wsUrl, { token: userToken(randomUUID()) });
  await first.opened();
  await first.close();
  const db = pgClient(env);
  await db.connect();
  const { rows } = await db.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'ingestd-ws'");
  await db.end();
  assert.ok(rows.length >= 1, 'the service has its own connections');
  for (const r of rows) process.kill(r.pid, 'SIGSTOP');
  try {
    const users = Array.from({ length: 6 }, () => connect(wsUrl, { token: userToken(randomUUID()) }));
    const refused = waitFor(() => users.every((u) => u.closed), { what: 'the users answered', timeout: 20000 });
    const live = await liveness(refused); // includes a stored reading every half second
    await refused;
    assert.ok(live.length >= 2);
    for (const u of users) assert.equal(u.status, 503);
  } finally {
    for (const r of rows) process.kill(r.pid, 'SIGCONT');
  }
  const back = connect(wsUrl, { token: userToken(randomUUID()) });
  await back.opened();
  await back.close();
});
