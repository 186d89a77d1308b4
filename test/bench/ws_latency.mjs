// ws_latency.mjs: 1,000 WebSocket clients on one ingestd; events are XADDed + PUBLISHed as ingestd/mintd do
// (t0 = just before XADD, i.e. right after the reading's commit) and timed on arrival at every client.
// Prints FIGURE lines for test/bench/run. Node's own event loop is part of the measured path: an upper bound.
import { randomUUID } from 'node:crypto';
import { up, waitFor } from '../integration/lib/stack.mjs';
import { startIngestd, connect, userToken, ADMIN_TOKEN, redisClient, publish, wallet } from '../integration/lib/wsstack.mjs';
import { markTestInput } from '../integration/lib/contract.mjs';

const CLIENTS = +(process.env.WS_CLIENTS || 1000);
const EVENTS = +(process.env.WS_EVENTS || 200);
const RATE = +(process.env.WS_RATE || 20); // events per second
const stack = up(['postgres', 'redis']);
let ingestd, redis;
try {
  ingestd = await startIngestd(stack, { LOG_LEVEL: 'notice' }); // start-up waits for a notice-level line
  redis = await redisClient(stack.env);
  const users = Array.from({ length: 100 }, () => randomUUID());
  const clients = [];
  const lat = [];
  const t0 = new Map();
  // half admins subscribed to everything, half users who see one user's events: every event reaches
  // the 500 admins plus that user's 5 connections
  for (let i = 0; i < CLIENTS; i++) {
    const admin = i % 2 === 0;
    const c = connect(ingestd.url, { token: admin ? ADMIN_TOKEN : userToken(users[i % users.length]) });
    c.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.event_id && t0.has(m.event_id)) lat.push(performance.now() - t0.get(m.event_id));
    });
    clients.push({ c, admin });
    if (i % 100 === 99) await waitFor(() => clients.every(({ c: x }) => x.msgs.length > 0), { what: 'connected', timeout: 60000 });
  }
  for (const { c, admin } of clients) if (admin) c.send({ action: 'subscribe', channels: ['all'] });
  await waitFor(() => clients.every(({ c, admin }) => !admin || c.msgs.some((m) => m.type === 'subscribed')), { what: 'subscribed', timeout: 60000 });
  console.log(`${CLIENTS} clients connected; publishing ${EVENTS} events at ${RATE}/s`);
  let expected = 0;
  for (let i = 0; i < EVENTS; i++) {
    const u = users[i % users.length];
    const ev = { type: 'meter_reading_received', user_id: u, wallet_address: wallet(), meter_serial: `B-${i}`, kwh_amount: '1.000000', timestamp: new Date().toISOString() };
    const start = performance.now();
    // the id is known only after XADD; record the start under it before the PUBLISH goes out
    const id = await redis.xAdd('gridtokenx:events:stream', '*', { event: JSON.stringify(ev) });
    t0.set(id, start);
    markTestInput(id); // synthetic events: not checked against docs/asyncapi.yaml
    await redis.publish('gridtokenx:events', JSON.stringify({ ...ev, event_id: id }));
    expected += CLIENTS / 2 + clients.filter(({ admin }, k) => !admin && users[k % users.length] === u).length;
    await new Promise((r) => setTimeout(r, 1000 / RATE));
  }
  await waitFor(() => lat.length >= expected, { what: `all ${expected} deliveries`, timeout: 60000 });
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
  console.log(`FIGURE\tws_clients\t${CLIENTS}\tclients`);
  console.log(`FIGURE\tws_deliveries\t${lat.length}\tmessages`);
  console.log(`FIGURE\tws_delivery_p50\t${q(0.5)}\tms`);
  console.log(`FIGURE\tws_delivery_p99\t${q(0.99)}\tms`);
  console.log(`FIGURE\tws_delivery_max\t${lat.at(-1).toFixed(2)}\tms`);
  for (const { c } of clients) c.ws.terminate();
} finally {
  await redis?.quit();
  await ingestd?.stop();
  const bad = stack.down();
  stack.cleanup();
  if (bad.length) { console.error(bad.join('\n')); process.exitCode = 1; }
}
