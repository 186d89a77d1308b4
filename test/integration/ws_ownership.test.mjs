// ws_ownership.test.mjs: events held during a replay and events queued for a client have one owner each: a
// replay whose held live events overflow the queue closes the client (4000) and frees every event once. Under
// ASan (this suite's build) the old code (finish_replay unref + drop_queue unref) was a heap-use-after-free.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { up, waitFor } from './lib/stack.mjs';
import { startIngestd, connect, rawClient, frame, ADMIN_TOKEN, redisClient, PREFIX } from './lib/wsstack.mjs';
import { wsPid } from './lib/hostile.mjs';
import { markTestInput } from './lib/contract.mjs';

let stack, ingestd, redis;
const QUEUE = 300;

before(async () => {
  stack = up(['postgres', 'redis']);
  redis = await redisClient(stack.env);
  ingestd = await startIngestd(stack, { WEBSOCKET_EVENT_BUFFER_SIZE: String(QUEUE) });
});

after(async () => {
  await redis?.quit();
  await ingestd?.stop();
  const bad = stack.down();
  stack.cleanup();
  assert.deepEqual(bad, []);
});

test('a replay whose held live events overflow the queue: closed with 4000, each event freed once, others served', async () => {
  const pid = await wsPid(ingestd.pid);
  // 256 (one replay batch) + 60 big events in the stream: the first batch (51 MB) is far more than the kernel's
  // socket buffers can take (a few MB each way), so most of it stays in ingestd's queue while the client waits.
  const pad = 'p'.repeat(200000);
  // (the test's own events: the contract checks leave them alone)
  for (let i = 0; i < 256 + 60; i++) markTestInput(await redis.xAdd(`${PREFIX}:stream`, '*', { event: JSON.stringify({ type: 'tokens_minted', n: i, pad }) }));

  const bystander = connect(ingestd.url, { token: ADMIN_TOKEN });
  await bystander.opened();
  bystander.send({ action: 'subscribe', channels: ['all'] });
  await bystander.next((m) => m.type === 'subscribed');

  const c = await rawClient(ingestd.port, ADMIN_TOKEN);
  c.pauseWhen = (f) => f.op === 1 && f.payload.length > 50000;
  c.sock.write(Buffer.concat([frame(1, JSON.stringify({ action: 'subscribe', channels: ['all'] })),
    frame(1, JSON.stringify({ action: 'replay', since: '0-0' }))]));
  // The first replayed event is here: the whole first batch is queued. Stop reading: the queue stays over half
  // full, so the replay waits, and what is published now is held.
  await waitFor(() => c.frames.some((f) => f.op === 1 && f.payload.length > 50000), { what: 'the replay started' });
  const base = Date.now() + 1e9; // ids after every stream entry
  for (let i = 0; i < QUEUE - 1; i++) {
    markTestInput(`${base}-${i}`);
    await redis.publish(PREFIX, JSON.stringify({ type: 'tokens_minted', n: i, event_id: `${base}-${i}` }));
  }
  await waitFor(() => bystander.events().filter((e) => e.event_id.startsWith(`${base}-`)).length === QUEUE - 1,
    { what: 'the live events delivered (and held for the replaying client)' });
  // Reading again: the replay's last batch comes, then the held events go to a queue that cannot take them all.
  c.sock.resume();
  await waitFor(() => c.closeCode() !== null || c.ended, { what: 'the replaying client closed', timeout: 30000 });
  assert.equal(c.closeCode(), 4000);
  const closeFrame = c.frames.find((f) => f.op === 8);
  assert.match(closeFrame.payload.subarray(2).toString(), /slow consumer/);
  // The service neither crashed nor was restarted, and still serves the others.
  assert.equal(await wsPid(ingestd.pid), pid);
  const id = `${base + 1}-0`;
  markTestInput(id);
  await redis.publish(PREFIX, JSON.stringify({ type: 'tokens_minted', event_id: id }));
  await bystander.next((m) => m.event_id === id, 'an event after the overflow');
  await bystander.close();
  c.sock.destroy();
});
