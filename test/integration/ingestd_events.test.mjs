// ingestd_events.test.mjs: events seen by real Redis subscribers on every channel, and the catch-up stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { up, waitFor } from './lib/stack.mjs';
import { newMeter, reading, tsAt, client } from './ingestd_lib.mjs';

const PREFIX = 'gridtokenx:events';
let stack, env, api, redis, sub;
const got = new Map(); // channel -> [event]

before(async () => {
  stack = up(['postgres', 'redis', 'ingestd']);
  env = stack.env;
  api = client(env);
  redis = createClient({ url: env.REDIS_URL });
  await redis.connect();
  sub = redis.duplicate();
  await sub.connect();
  await sub.pSubscribe(`${PREFIX}*`, (message, channel) => {
    if (!got.has(channel)) got.set(channel, []);
    got.get(channel).push(JSON.parse(message));
  });
});

after(async () => {
  await sub?.quit();
  await redis?.quit();
  if (stack) {
    const problems = stack.down();
    assert.deepEqual(problems, [], 'daemon log problems');
    stack.cleanup();
  }
});

const on = (channel) => got.get(channel) ?? [];

test('meter_reading_received reaches the main, wallet, user and meter channels and the stream', async () => {
  const m = newMeter('EVT');
  const user = randomUUID();
  await api.register(m, { user_id: user });
  const ts = tsAt(0);
  const r = await api.submit(reading(m, { timestamp: ts, kwh: '2.5' }));
  assert.equal(r.status, 201, r.text);
  const id = r.json.id;
  const channels = [PREFIX, `${PREFIX}:wallet:${m.wallet}`, `${PREFIX}:user:${user}`, `${PREFIX}:meter:${m.serial}`];
  await waitFor(() => channels.every((c) => on(c).some((e) => e.reading_id === id)), { what: 'events on every channel' });
  const ev = on(`${PREFIX}:meter:${m.serial}`).find((e) => e.reading_id === id);
  assert.equal(ev.type, 'meter_reading_received');
  assert.equal(ev.user_id, user);
  assert.equal(ev.wallet_address, m.wallet);
  assert.equal(ev.meter_serial, m.serial);
  assert.equal(ev.kwh_amount, '2.500000');
  assert.equal(ev.token_amount, '2500000000');
  assert.equal(Date.parse(ev.reading_timestamp), Date.parse(ts));
  assert.match(ev.timestamp, /Z$/);
  assert.match(ev.event_id, /^\d+-\d+$/);
  for (const c of channels) assert.deepEqual(on(c).find((e) => e.reading_id === id), ev);
  // The same event, without event_id (it is the entry id), on the capped stream for consumers that were away.
  const entries = await redis.xRange(`${PREFIX}:stream`, ev.event_id, ev.event_id);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].message.type, 'meter_reading_received');
  const { event_id: _, ...rest } = ev;
  assert.deepEqual(JSON.parse(entries[0].message.event), rest);
});

test('a meter without an owner publishes on no user channel', async () => {
  const m = newMeter('EVTNU');
  await api.register(m);
  const id = (await api.submit(reading(m, { timestamp: tsAt(1) }))).json.id;
  await waitFor(() => on(`${PREFIX}:meter:${m.serial}`).some((e) => e.reading_id === id), { what: 'meter event' });
  const ev = on(PREFIX).find((e) => e.reading_id === id);
  assert.equal(ev.user_id, null);
  for (const [c, evs] of got) if (c.startsWith(`${PREFIX}:user:`)) assert.ok(!evs.some((e) => e.reading_id === id));
});

test('meter_reading_validation_failed for a verified reading with bad values; nothing for a bad signature', async () => {
  const m = newMeter('EVTVF'), other = newMeter('EVTVF');
  await api.register(m);
  const ch = `${PREFIX}:meter:${m.serial}`;
  const bad = await api.submit(reading(m, { timestamp: tsAt(2), signer: other, kwh: '0' }));
  assert.equal(bad.status, 401);
  const r = await api.submit(reading(m, { timestamp: tsAt(2), kwh: '0' }));
  assert.equal(r.status, 422);
  const old = await api.submit(reading(m, { timestamp: new Date(Date.now() - 8 * 86400e3).toISOString() }));
  assert.equal(old.status, 422);
  await waitFor(() => on(ch).length >= 2, { what: 'validation events' });
  const evs = on(ch);
  assert.deepEqual(evs.map((e) => [e.type, e.error_reason]), [
    ['meter_reading_validation_failed', 'kwh_amount_not_positive'],
    ['meter_reading_validation_failed', 'reading_too_old'],
  ]);
  assert.equal(evs[0].kwh_amount, '0.000000');
  assert.equal(evs[0].wallet_address, m.wallet);
  assert.equal(evs[0].reading_id, undefined, 'nothing was stored, so there is no reading id');
});

test('replays and duplicates publish nothing new', async () => {
  const m = newMeter('EVTRP');
  await api.register(m);
  const ch = `${PREFIX}:meter:${m.serial}`;
  const body = reading(m, { timestamp: tsAt(3) });
  assert.equal((await api.submit(body)).status, 201);
  assert.equal((await api.submit(body)).status, 200);
  assert.equal((await api.submit(reading(m, { timestamp: new Date(Date.parse(tsAt(3)) + 60e3).toISOString() }))).status, 409);
  const marker = await api.submit(reading(m, { timestamp: tsAt(5) }));
  await waitFor(() => on(ch).some((e) => e.reading_id === marker.json.id), { what: 'marker event' });
  assert.equal(on(ch).length, 2);
});

// Redis's own count of each command (INFO commandstats): calls of `name` made by clients or by scripts.
async function calls(name) {
  const m = new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(await redis.info('commandstats'));
  return m ? Number(m[1]) : 0;
}

test('a batch\'s readings reach Redis in one script call: every id on the stream, every event on every channel', async () => {
  const user = randomUUID();
  const ms = [];
  for (let i = 0; i < 4; i++) {
    ms.push(newMeter('EVTB'));
    await api.register(ms[i], { user_id: user });
  }
  const items = [];
  for (let k = 0; k < 5; k++) for (const m of ms) items.push(reading(m, { timestamp: tsAt(10 + k) }));
  const stream = env.REDIS_READINGS_STREAM ?? 'gridtokenx:readings';
  const before = { evalsha: await calls('evalsha'), eval: await calls('eval'), xadd: await calls('xadd'),
    publish: await calls('publish'), len: await redis.xLen(stream) };
  const r = await api.batch(items);
  assert.deepEqual(r.json.results.map((x) => x.status), items.map(() => 201), r.text);
  const ids = r.json.results.map((x) => x.id);
  const channels = (m) => [PREFIX, `${PREFIX}:wallet:${m.wallet}`, `${PREFIX}:user:${user}`, `${PREFIX}:meter:${m.serial}`];
  await waitFor(() => ms.every((m) => channels(m).every((c) => on(c).filter((e) => ids.includes(e.reading_id)).length
    >= (c === PREFIX || c.includes(':user:') ? 20 : 5))), { what: 'every event on every channel' });
  const entries = await redis.xRange(stream, '-', '+');
  for (const id of ids) assert.ok(entries.some((e) => e.message.reading_id === id), `${id} on ${stream}`);
  assert.equal(await redis.xLen(stream) - before.len, 20);
  // One by one this was 20 XADDs and 20 script calls; inside the one call Redis still counts each command.
  const scripts = (await calls('evalsha')) - before.evalsha + (await calls('eval')) - before.eval;
  assert.ok(scripts >= 1 && scripts <= 2, `${scripts} script calls for 20 readings`);
  assert.equal((await calls('xadd')) - before.xadd, 40, 'an id and an event per reading');
  assert.equal((await calls('publish')) - before.publish, 80, 'four channels per event');
});
