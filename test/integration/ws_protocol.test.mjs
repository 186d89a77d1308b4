// ws_protocol.test.mjs: WebSocket framing errors and limits answer with the right close code; others keep working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { up, pgClient, waitFor, STACK } from './lib/stack.mjs';
import { startIngestd, connect, rawClient, frame, userToken, ADMIN_TOKEN, addMeter, wallet, redisClient, publish, reading } from './lib/wsstack.mjs';

const run = promisify(execFile);
let stack, ingestd, pg, redis;
const A = { userId: randomUUID(), serial: 'WP-A-1', wallet: wallet() };
const B = { userId: randomUUID(), serial: 'WP-B-1', wallet: wallet() };

before(async () => {
  stack = up(['postgres', 'redis']);
  pg = pgClient(stack.env);
  await pg.connect();
  for (const m of [A, B]) await addMeter(pg, m);
  redis = await redisClient(stack.env);
  ingestd = await startIngestd(stack, {
    WEBSOCKET_MAX_MESSAGE_BYTES: '4096', WEBSOCKET_RATE_LIMIT_EVENTS_PER_MINUTE: '40',
    WEBSOCKET_EVENT_BUFFER_SIZE: '50', WEBSOCKET_PING_INTERVAL_MS: '400',
  });
});

after(async () => {
  await redis?.disconnect(); // quit() waits forever on a client still reconnecting after the Redis restart
  await pg?.end();
  await ingestd?.stop();
  const bad = stack.down();
  stack.cleanup();
  assert.deepEqual(bad, []);
});

// B stays connected through every test here and must still get its events afterwards.
let bystander;
async function bystanderStillWorks() {
  const id = await publish(redis, reading(B));
  await bystander.next((m) => m.event_id === id, 'bystander event');
}

test('malformed and oversize frames are answered with 1002/1003/1007/1009 while another client keeps working', async () => {
  bystander = connect(ingestd.url, { token: userToken(B.userId) });
  await bystander.opened();
  const cases = [
    ['unmasked text', frame(1, '{"action":"ping"}', { mask: false }), 1002],
    ['reserved opcode 3', frame(3, 'x'), 1002],
    ['RSV1 without extension', frame(1, 'x', { rsv: 0x40 }), 1002],
    ['fragmented ping', frame(9, 'x', { fin: false }), 1002],
    ['continuation first', frame(0, 'x'), 1002],
    ['close with 1-byte payload', frame(8, 'x'), 1002],
    ['binary message', frame(2, Buffer.from([1, 2, 3])), 1003],
    ['invalid UTF-8', frame(1, Buffer.from([0x7b, 0xff, 0x7d])), 1007],
    ['text over the limit', frame(1, 'x'.repeat(5000)), 1009],
    ['64-bit length header', Buffer.concat([Buffer.from([0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]), Buffer.alloc(4)]), 1009],
    ['fragments over the limit', Buffer.concat([frame(1, 'y'.repeat(3000), { fin: false }), frame(0, 'y'.repeat(3000))]), 1009],
  ];
  for (const [name, bytes, code] of cases) {
    const c = await rawClient(ingestd.port, userToken(A.userId));
    assert.match(c.head, /^HTTP\/1.1 101/, name);
    c.sock.write(bytes);
    await waitFor(() => c.closeCode() !== null, { what: `close for ${name}` });
    assert.equal(c.closeCode(), code, name);
    c.sock.end(frame(8, Buffer.from([0x03, 0xe8])));
    await waitFor(() => c.ended, { what: `${name}: server closes the socket` });
  }
  await bystanderStillWorks();
});

test('fragmented messages and pings within limits work; a clean close is echoed', async () => {
  const c = await rawClient(ingestd.port, userToken(A.userId));
  const msg = '{"action":"subscribe","channels":["wallet:' + A.wallet + '"]}';
  c.sock.write(Buffer.concat([frame(1, msg.slice(0, 10), { fin: false }), frame(9, 'hi'), frame(0, msg.slice(10, 30), { fin: false }),
    frame(0, msg.slice(30))]));
  await waitFor(() => c.frames.some((f) => f.op === 1 && JSON.parse(f.payload).type === 'subscribed'), { what: 'subscribed' });
  assert.ok(c.frames.some((f) => f.op === 10 && f.payload.toString() === 'hi'), 'pong echoes the ping payload');
  c.sock.write(frame(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])));
  await waitFor(() => c.ended, { what: 'closed after the close handshake' });
  assert.equal(c.closeCode(), 1000);
});

test('client messages over WEBSOCKET_RATE_LIMIT_EVENTS_PER_MINUTE close with 1008', async () => {
  const c = connect(ingestd.url, { token: userToken(A.userId) });
  await c.opened();
  for (let i = 0; i < 45; i++) c.send({ action: 'ping' });
  await waitFor(() => c.closed, { what: 'rate-limit close' });
  assert.equal(c.closed.code, 1008);
  assert.match(c.closed.reason, /rate limit/);
  assert.equal(c.msgs.filter((m) => m.type === 'pong').length, 40);
  await bystanderStillWorks();
});

test('a client that stops reading is closed with 4000 (slow consumer) and memory stays bounded', async () => {
  const slow = connect(ingestd.url, { token: userToken(A.userId) });
  await slow.opened();
  slow.ws._socket.pause(); // stop reading: the kernel buffers fill, then the server's queue
  const pad = 'p'.repeat(16000);
  const pending = [];
  for (let i = 0; i < 1500 && !ingestd.logText().includes('slow consumer'); i++) {
    pending.push(publish(redis, reading(A, { pad })));
    if (pending.length >= 50) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await waitFor(() => /msg="websocket client closed by server" conn=\d+ who="user [0-9a-f-]+" code=4000 reason="slow consumer/.test(ingestd.logText()), { what: 'slow consumer log' });
  slow.ws._socket.resume();
  await waitFor(() => slow.closed, { what: 'slow client closed', timeout: 30000 });
  assert.equal(slow.closed.code, 4000);
  assert.match(slow.closed.reason, /slow consumer: more than 50 events waiting/);
  await bystanderStillWorks();
});

test('a client that stops answering pings is dropped; one that answers stays', async () => {
  const mute = await rawClient(ingestd.port, userToken(A.userId)); // a raw socket never answers pings
  const live = connect(ingestd.url, { token: userToken(A.userId) }); // ws answers pings itself
  await live.opened();
  await waitFor(() => mute.frames.some((f) => f.op === 9), { what: 'a ping' });
  await waitFor(() => mute.ended, { what: 'mute client dropped' });
  assert.equal(live.closed, null);
  live.send({ action: 'ping' });
  await live.next((m) => m.type === 'pong');
  await live.close();
});

test('handshake errors: wrong path 404, wrong version 426, no key 400, WEBSOCKET_MAX_CONNECTIONS gives 503', async () => {
  const get = (path, headers) => new Promise((res, rej) => { // raw: fetch refuses Upgrade headers
    const s = net.connect(ingestd.port, '127.0.0.1');
    let buf = '';
    s.on('data', (d) => { buf += d; });
    s.on('close', () => res(+buf.split(' ')[1]));
    s.on('error', rej);
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  });
  const h = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', Authorization: `Bearer ${ADMIN_TOKEN}` };
  assert.equal(await get('/other', h), 404);
  assert.equal(await get('/ws', { ...h, 'Sec-WebSocket-Version': '8' }), 426);
  const { 'Sec-WebSocket-Key': _k, ...nokey } = h;
  assert.equal(await get('/ws', nokey), 400);

  const small = await startIngestd(stack, { WEBSOCKET_MAX_CONNECTIONS: '2' }, 'ingestd-small');
  const c1 = connect(small.url, { token: ADMIN_TOKEN });
  const c2 = connect(small.url, { token: ADMIN_TOKEN });
  await Promise.all([c1.opened(), c2.opened()]);
  const c3 = connect(small.url, { token: ADMIN_TOKEN });
  await waitFor(() => c3.closed, { what: 'third refused' });
  assert.equal(c3.status, 503);
  await c1.close();
  await waitFor(async () => {
    const c4 = connect(small.url, { token: ADMIN_TOKEN });
    await waitFor(() => c4.closed || c4.msgs.length, { what: 'fourth' });
    const ok = c4.msgs.length > 0;
    await c4.close();
    return ok;
  }, { what: 'a slot frees up' });
  await c2.close();
  const st = await small.stop();
  assert.equal(st.code, 0);
});

test('the feed survives a Redis restart and tells clients to replay', async () => {
  // asynchronously, so this process keeps answering the server's pings meanwhile
  await run(STACK, ['stop', stack.dir, 'redis']);
  await run(STACK, ['start', stack.dir, 'redis']);
  await bystander.next((m) => m.type === 'feed_restored', 'feed_restored');
  const r2 = await redisClient(stack.env);
  const id = await publish(r2, reading(B));
  await bystander.next((m) => m.event_id === id, 'event after restart');
  await r2.quit();
  await bystander.close();
});
