// lib/wsstack.mjs: an ingestd serving WebSocket events over a throwaway stack, plus JWT, publish and client helpers.
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { openSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { GTX_BIN, ROOT, waitFor } from './stack.mjs';
import { checkWsMessage, markTestInput, report, watchRedis } from './contract.mjs';

export const JWT_SECRET = 'test-secret-0123456789abcdef-0123456789';
export const ADMIN_TOKEN = 'admin-' + randomUUID();
export const PREFIX = 'gridtokenx:events';

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    s.on('error', rej);
  });
}

// Starts an ingestd (its pid file lets `stack down` stop it) on the stack; returns {url, pid, log, stop()}.
export async function startIngestd(stack, env = {}, name = 'ingestd') {
  const port = await freePort();
  const log = join(stack.dir, `${name}.log`);
  const out = openSync(log, 'a');
  const child = spawn(join(GTX_BIN, 'ingestd'), ['-d'], {
    env: {
      PATH: process.env.PATH, ...stack.env, SQL_DIR: join(ROOT, 'sql'), INGESTD_LISTEN: `127.0.0.1:${await freePort()}`,
      WEBSOCKET_LISTEN: `127.0.0.1:${port}`, JWT_SECRET,
      ADMIN_TOKEN_SHA256: createHash('sha256').update(ADMIN_TOKEN).digest('hex'),
      ASAN_OPTIONS: 'abort_on_error=0:detect_leaks=1', ...(process.getuid() === 0 ? { RUN_AS_USER: 'nobody' } : {}), ...env,
    },
    stdio: ['ignore', out, out],
  });
  writeFileSync(join(stack.dir, `${name}.pid`), String(child.pid));
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
  await waitFor(() => readFileSync(log, 'utf8').includes('event feed subscribed'), { what: `${name} ready`, timeout: 30000 });
  return {
    url: `ws://127.0.0.1:${port}/ws`, port, pid: child.pid, log,
    logText: () => readFileSync(log, 'utf8'),
    async stop() { child.kill('SIGTERM'); return exited; },
  };
}

const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
export function jwt(claims, { secret = JWT_SECRET, header = { alg: 'HS256', typ: 'JWT' }, alg = 'sha256' } = {}) {
  const head = `${b64u(header)}.${b64u(claims)}`;
  if (header.alg === 'none') return `${head}.`;
  return `${head}.${createHmac(alg, secret).update(head).digest('base64url')}`;
}
export const userToken = (sub, extra = {}) => jwt({ sub, role: 'user', exp: Math.floor(Date.now() / 1000) + 3600, ...extra });

// A base58-looking wallet address (only the alphabet matters to the schema).
export function wallet() {
  const a = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < 44; i++) s += a[Math.floor(Math.random() * a.length)];
  return s;
}

export async function addMeter(pg, { serial, userId, wallet: w }) {
  await pg.query('INSERT INTO meters (meter_serial, public_key, wallet_address, user_id) VALUES ($1, $2, $3, $4)',
    [serial, Buffer.alloc(32, 7), w, userId]);
}

export async function redisClient(env) {
  const r = watchRedis(createClient({ url: env.REDIS_URL }));
  r.on('error', () => {}); // reconnects by itself (a test may restart Redis)
  await r.connect();
  return r;
}

// Publishes like ingestd/mintd: XADD to the capped stream first, then PUBLISH with event_id (+ sub-channels).
export async function publish(r, ev) {
  const id = await r.xAdd(`${PREFIX}:stream`, '*', { event: JSON.stringify(ev) });
  markTestInput(id); // the tests' own events need not look like the daemons'
  const body = JSON.stringify({ ...ev, event_id: id });
  await r.publish(PREFIX, body);
  if (ev.user_id) await r.publish(`${PREFIX}:user:${ev.user_id}`, body);
  if (ev.wallet_address) await r.publish(`${PREFIX}:wallet:${ev.wallet_address}`, body);
  return id;
}

let seq = 0;
export function reading(m, extra = {}) {
  return { type: 'meter_reading_received', user_id: m.userId, wallet_address: m.wallet, meter_serial: m.serial,
    kwh_amount: '1.500000', timestamp: new Date().toISOString(), n: ++seq, ...extra };
}

// A ws client that records every JSON message; `next(pred)` waits for one matching message.
export function connect(url, { token, headers = {}, query = '' } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const ws = new WebSocket(url + query, { headers: h });
  const c = { ws, msgs: [], closed: null, status: null, body: '' };
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    try { checkWsMessage(m); } catch (e) { report(e); } // against docs/asyncapi.yaml
    c.msgs.push(m);
  });
  ws.on('close', (code, reason) => { c.closed = { code, reason: reason.toString() }; });
  ws.on('unexpected-response', (req, res) => {
    c.status = res.statusCode;
    res.on('data', (d) => { c.body += d; });
    res.on('end', () => { c.closed = { code: -1 }; });
    res.on('close', () => { c.closed ??= { code: -1 }; });
  });
  ws.on('error', () => {});
  c.events = () => c.msgs.filter((m) => m.event_id);
  c.next = (pred, what = 'message') => waitFor(() => c.msgs.find(pred), { what });
  c.opened = () => c.next((m) => m.type === 'connected', 'connected');
  c.send = (o) => ws.send(typeof o === 'string' ? o : JSON.stringify(o));
  // Round trip through the server: everything queued before the pong has arrived once it is here.
  c.barrier = async () => {
    const n = c.msgs.filter((m) => m.type === 'pong').length;
    c.send({ action: 'ping' });
    await waitFor(() => c.msgs.filter((m) => m.type === 'pong').length > n, { what: 'pong' });
  };
  c.close = () => new Promise((r) => { if (c.closed || ws.readyState === WebSocket.CLOSED) r(); else { ws.once('close', r); ws.close(); } });
  return c;
}

// A raw TCP client that upgrades and then writes arbitrary bytes; collects the server's frames.
export async function rawClient(port, token) {
  const sock = net.connect(port, '127.0.0.1');
  const c = { sock, buf: Buffer.alloc(0), frames: [], ended: false };
  await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
  sock.on('error', () => {});
  sock.on('end', () => { c.ended = true; });
  sock.on('close', () => { c.ended = true; });
  let upgraded = false;
  sock.on('data', (d) => {
    c.buf = Buffer.concat([c.buf, d]);
    if (!upgraded) {
      const i = c.buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      c.head = c.buf.subarray(0, i).toString();
      c.buf = c.buf.subarray(i + 4);
      upgraded = true;
    }
    for (;;) {
      if (c.buf.length < 2) return;
      let len = c.buf[1] & 0x7f, off = 2;
      if (len === 126) { if (c.buf.length < 4) return; len = c.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (c.buf.length < 10) return; len = Number(c.buf.readBigUInt64BE(2)); off = 10; }
      if (c.buf.length < off + len) return;
      const f = { op: c.buf[0] & 0x0f, payload: c.buf.subarray(off, off + len) };
      c.frames.push(f);
      c.buf = c.buf.subarray(off + len);
      // c.pauseWhen(frame): stop reading right at that frame (a test's slow consumer, not a poll's moment later)
      if (c.pauseWhen?.(f)) { c.pauseWhen = null; sock.pause(); }
    }
  });
  sock.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  await waitFor(() => c.head, { what: 'upgrade response' });
  c.closeCode = () => { const f = c.frames.find((x) => x.op === 8); return f && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null; };
  return c;
}

// A client frame: masked unless told otherwise.
export function frame(op, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const p = Buffer.from(payload);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  let h;
  if (p.length < 126) h = Buffer.from([(fin ? 0x80 : 0) | rsv | op, (mask ? 0x80 : 0) | p.length]);
  else if (p.length < 65536) { h = Buffer.from([(fin ? 0x80 : 0) | rsv | op, (mask ? 0x80 : 0) | 126, 0, 0]); h.writeUInt16BE(p.length, 2); }
  else { h = Buffer.alloc(10); h[0] = (fin ? 0x80 : 0) | rsv | op; h[1] = (mask ? 0x80 : 0) | 127; h.writeBigUInt64BE(BigInt(p.length), 2); }
  if (!mask) return Buffer.concat([h, p]);
  const m = Buffer.from(p.map((b, i) => b ^ key[i & 3]));
  return Buffer.concat([h, key, m]);
}
