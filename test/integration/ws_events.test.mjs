// ws_events.test.mjs: WebSocket events: authentication, per-user isolation, subscribe/unsubscribe, replay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { up, pgClient, waitFor } from './lib/stack.mjs';
import { startIngestd, connect, jwt, userToken, ADMIN_TOKEN, addMeter, wallet, redisClient, publish, reading, PREFIX } from './lib/wsstack.mjs';

let stack, ingestd, pg, redis;
const A = { userId: randomUUID(), serial: 'WS-A-1', wallet: wallet() };
const A2 = { userId: A.userId, serial: 'WS-A-2', wallet: wallet() };
const B = { userId: randomUUID(), serial: 'WS-B-1', wallet: wallet() };
const C = { userId: randomUUID(), serial: 'WS-C-1', wallet: wallet() }; // nobody connects as C

before(async () => {
  stack = up(['postgres', 'redis']);
  pg = pgClient(stack.env);
  await pg.connect();
  for (const m of [A, A2, B, C]) await addMeter(pg, m);
  redis = await redisClient(stack.env);
  ingestd = await startIngestd(stack);
});

after(async () => {
  await redis?.quit();
  await pg?.end();
  await ingestd?.stop();
  const bad = stack.down();
  stack.cleanup();
  assert.deepEqual(bad, []);
});

const now = () => Math.floor(Date.now() / 1000);

test('authentication: missing, expired, wrong secret, alg none/HS512, bad admin token get 401 before the upgrade', async () => {
  const cases = {
    none: {},
    expired: { token: jwt({ sub: A.userId, role: 'user', exp: now() - 10 }) },
    wrongSecret: { token: jwt({ sub: A.userId, role: 'user', exp: now() + 60 }, { secret: 'another-secret-another-secret-0000' }) },
    algNone: { token: jwt({ sub: A.userId, role: 'admin', exp: now() + 60 }, { header: { alg: 'none', typ: 'JWT' } }) },
    hs512: { token: jwt({ sub: A.userId, role: 'user', exp: now() + 60 }, { header: { alg: 'HS512' }, alg: 'sha512' }) },
    noExp: { token: jwt({ sub: A.userId, role: 'user' }) },
    badAdmin: { token: 'not-the-admin-token' },
  };
  for (const [name, opts] of Object.entries(cases)) {
    const c = connect(ingestd.url, opts);
    await waitFor(() => c.closed, { what: `${name} refused` });
    assert.equal(c.status, 401, name);
    const body = JSON.parse(c.body);
    assert.equal(body.error, 'unauthorized', name);
    assert.ok(!c.msgs.length, name);
  }
  const exp = connect(ingestd.url, cases.expired);
  await waitFor(() => exp.closed);
  assert.match(JSON.parse(exp.body).message, /expired/);
  assert.doesNotMatch(ingestd.logText(), /test-secret|not-the-admin-token/);
});

test('authentication: a user JWT (header or ?token=) and the admin token are accepted with their rights', async () => {
  const u = connect(ingestd.url, { token: userToken(A.userId) });
  const hello = await u.opened();
  assert.equal(hello.user_id, A.userId);
  assert.equal(hello.admin, false);
  assert.deepEqual(hello.subscriptions, [`user:${A.userId}`]);
  const q = connect(ingestd.url, { query: `?token=${encodeURIComponent(userToken(B.userId))}` });
  assert.equal((await q.opened()).user_id, B.userId);
  const adm = connect(ingestd.url, { token: ADMIN_TOKEN });
  const ah = await adm.opened();
  assert.equal(ah.admin, true);
  const role = connect(ingestd.url, { token: userToken(randomUUID(), { role: 'admin' }) });
  assert.equal((await role.opened()).admin, true);
  for (const c of [u, q, adm, role]) await c.close();
});

test('isolation: over 300 events for A, B and C, user A sees exactly A\'s, B exactly B\'s, admin all', async () => {
  const a = connect(ingestd.url, { token: userToken(A.userId) });
  const b = connect(ingestd.url, { token: userToken(B.userId) });
  const adm = connect(ingestd.url, { token: ADMIN_TOKEN });
  await Promise.all([a.opened(), b.opened(), adm.opened()]);
  adm.send({ action: 'subscribe', channels: ['all'] });
  await adm.next((m) => m.type === 'subscribed');
  const meters = [A, A2, B, C];
  const sent = { [A.userId]: [], [B.userId]: [], [C.userId]: [] };
  const types = ['meter_reading_received', 'tokens_minted', 'meter_reading_validation_failed', 'minting_failed'];
  for (let i = 0; i < 320; i++) {
    const m = meters[i % meters.length];
    const id = await publish(redis, reading(m, { type: types[i % types.length] }));
    sent[m.userId].push(id);
  }
  const batch = await publish(redis, { type: 'batch_minting_completed', batch_id: randomUUID(), total_readings: 3,
    successful_mints: 3, failed_mints: 0, timestamp: new Date().toISOString() });
  await waitFor(() => adm.events().length === 321, { what: 'admin sees all 321' });
  await Promise.all([a.barrier(), b.barrier()]);
  assert.deepEqual(a.events().map((e) => e.event_id), sent[A.userId]);
  assert.deepEqual(b.events().map((e) => e.event_id), sent[B.userId]);
  assert.ok(a.events().every((e) => e.user_id === A.userId && [A.wallet, A2.wallet].includes(e.wallet_address)));
  assert.ok(!b.events().some((e) => e.user_id !== B.userId));
  assert.equal(adm.events().at(-1).event_id, batch);
  assert.ok(!a.events().some((e) => e.type === 'batch_minting_completed'));
  for (const c of [a, b, adm]) await c.close();
});

test('subscribe: own wallet/meter allowed, other users\' channels and "all" refused with an error, unsubscribe stops delivery', async () => {
  const a = connect(ingestd.url, { token: userToken(A.userId) });
  const adm = connect(ingestd.url, { token: ADMIN_TOKEN });
  await Promise.all([a.opened(), adm.opened()]);
  adm.send({ action: 'subscribe', channels: ['all'] });
  await adm.next((m) => m.type === 'subscribed');

  for (const ch of [`wallet:${B.wallet}`, `user:${B.userId}`, 'all', `meter:${C.serial}`]) {
    a.send({ action: 'subscribe', channels: [`wallet:${A.wallet}`, ch] });
    const err = await a.next((m) => m.type === 'error' && m.channels?.includes(ch));
    assert.equal(err.code, 'forbidden');
  }
  a.send({ action: 'subscribe', channels: ['bogus:1'] });
  assert.equal((await a.next((m) => m.code === 'bad_channel')).channels[0], 'bogus:1');
  a.send('not json');
  await a.next((m) => m.code === 'bad_request');

  // only the user channel is left after an unsubscribe: nothing arrives
  a.send({ action: 'unsubscribe', channels: [`user:${A.userId}`] });
  assert.deepEqual((await a.next((m) => m.type === 'unsubscribed')).subscriptions, []);
  const quiet = await publish(redis, reading(A));
  await adm.next((m) => m.event_id === quiet);
  await a.barrier();
  assert.equal(a.events().length, 0);

  // the wallet of one of A's meters: its events, not the other meter's
  a.send({ action: 'subscribe', channels: [`wallet:${A2.wallet}`] });
  assert.deepEqual((await a.next((m) => m.type === 'subscribed')).subscriptions, [`wallet:${A2.wallet}`]);
  const x = await publish(redis, reading(A));
  const y = await publish(redis, reading(A2));
  await adm.next((m) => m.event_id === y);
  await a.barrier();
  assert.deepEqual(a.events().map((e) => e.event_id), [y]);
  assert.notEqual(x, y);

  // a meter registered after connecting is found on subscribe
  const late = { userId: A.userId, serial: 'WS-A-LATE', wallet: wallet() };
  await addMeter(pg, late);
  a.send({ action: 'subscribe', channels: [`meter:${late.serial}`] });
  await a.next((m) => m.type === 'subscribed' && m.channels[0] === `meter:${late.serial}`);
  for (const c of [a, adm]) await c.close();
});

test('reconnect with catch-up: ?since= and {"action":"replay"} deliver only what the user missed, then live', async () => {
  const a1 = connect(ingestd.url, { token: userToken(A.userId) });
  await a1.opened();
  const first = [];
  for (let i = 0; i < 3; i++) first.push(await publish(redis, reading(A)));
  await waitFor(() => a1.events().length === 3, { what: 'first events' });
  const last = a1.events().at(-1).event_id;
  await a1.close();

  const missed = [];
  for (let i = 0; i < 600; i++) { // more than one replay batch
    const m = [A, B, A2][i % 3];
    const id = await publish(redis, reading(m));
    if (m.userId === A.userId) missed.push(id);
  }
  const a2 = connect(ingestd.url, { token: userToken(A.userId), query: `?since=${last}` });
  const done = await a2.next((m) => m.type === 'replay_complete', 'replay_complete');
  assert.equal(done.replayed, missed.length);
  const live = await publish(redis, reading(A));
  await a2.next((m) => m.event_id === live);
  assert.deepEqual(a2.events().map((e) => e.event_id), [...missed, live]);
  assert.ok(a2.events().every((e) => e.user_id === A.userId));

  // the same over an open connection, and a gap report when the stream was trimmed past `since`
  a2.send({ action: 'replay', since: first[0] });
  await waitFor(() => a2.msgs.filter((m) => m.type === 'replay_complete').length === 2, { what: 'second replay' });
  await a2.barrier();
  const completes = a2.msgs.filter((m) => m.type === 'replay_complete');
  assert.equal(completes.length, 2, 'one replay_complete per replay');
  assert.equal(completes[1].replayed, 0, 'nothing is delivered twice');
  await redis.sendCommand(['XTRIM', `${PREFIX}:stream`, 'MAXLEN', '5']);
  a2.send({ action: 'replay', since: first[0] });
  const gap = await a2.next((m) => m.type === 'replay_gap').catch((e) => { throw new Error(e.message + JSON.stringify(a2.msgs.filter((m) => !m.event_id).slice(-4))); });
  assert.equal(gap.since, first[0]);
  a2.send({ action: 'replay', since: 'yesterday' });
  await a2.next((m) => m.type === 'error' && m.code === 'bad_request');
  await a2.close();
});
