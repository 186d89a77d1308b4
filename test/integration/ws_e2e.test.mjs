// ws_e2e.test.mjs: a real reading posted to ingestd's HTTP API reaches its owner's WebSocket, and nobody else's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { up, waitFor } from './lib/stack.mjs';
import { newMeter, reading, tsAt, client } from './ingestd_lib.mjs';
import { connect, userToken, JWT_SECRET } from './lib/wsstack.mjs';

let stack, env, api;

before(async () => {
  stack = up(['postgres', 'redis', 'ingestd'], { JWT_SECRET });
  env = stack.env;
  api = client(env);
});

after(() => {
  const problems = stack.down();
  stack.cleanup();
  assert.deepEqual(problems, []);
});

test('a reading submitted over HTTP is delivered to the meter owner\'s socket only, with the published fields', async () => {
  const ua = randomUUID(), ub = randomUUID();
  const ma = newMeter('WSE'), mb = newMeter('WSE');
  await api.register(ma, { user_id: ua });
  await api.register(mb, { user_id: ub });
  const a = connect(env.WS_URL, { token: userToken(ua) });
  const b = connect(env.WS_URL, { token: userToken(ub) });
  const adm = connect(env.WS_URL, { token: env.ADMIN_TOKEN });
  await Promise.all([a.opened(), b.opened(), adm.opened()]);
  adm.send({ action: 'subscribe', channels: ['all'] });
  await adm.next((m) => m.type === 'subscribed');
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const r = await api.submit(reading(ma, { timestamp: tsAt(i), kwh: '2.5' }));
    assert.equal(r.status, 201, r.text);
    ids.push(r.json.id);
  }
  const rb = await api.submit(reading(mb, { timestamp: tsAt(0), kwh: '1' }));
  assert.equal(rb.status, 201, rb.text);
  await waitFor(() => adm.events().some((e) => e.reading_id === rb.json.id), { what: 'admin sees B\'s reading' });
  await waitFor(() => a.events().length === 5, { what: 'A gets its 5 readings' });
  await Promise.all([a.barrier(), b.barrier()]);
  assert.deepEqual(a.events().map((e) => e.reading_id), ids);
  const ev = a.events()[0];
  assert.equal(ev.type, 'meter_reading_received');
  assert.equal(ev.user_id, ua);
  assert.equal(ev.wallet_address, ma.wallet);
  assert.equal(ev.meter_serial, ma.serial);
  assert.equal(ev.kwh_amount, '2.500000');
  assert.deepEqual(b.events().map((e) => e.reading_id), [rb.json.id]);
  for (const c of [a, b, adm]) await c.close();
});
