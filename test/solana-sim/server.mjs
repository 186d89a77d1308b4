#!/usr/bin/env node
// Local Solana JSON-RPC simulator on LiteSVM: `node server.mjs --port P [--host 127.0.0.1] [--slot-ms 400] ...`.
import http from 'node:http';
import { SimNode, View } from './node.mjs';
import { Dispatcher } from './dispatch.mjs';
import { control, ControlError } from './control.mjs';
import { toJson } from './json.mjs';

const MAX_BODY = 4 * 1024 * 1024;

function usage(msg) {
  process.stderr.write(`solana-sim: ${msg}\nusage: server.mjs --port P [--host 127.0.0.1] [--slot-ms 400] [--confirm-lag 1] [--finalize-lag 32]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { port: null, host: '127.0.0.1', slotMs: 400, confirmLag: 1, finalizeLag: 32 };
  const ints = { '--port': 'port', '--slot-ms': 'slotMs', '--confirm-lag': 'confirmLag', '--finalize-lag': 'finalizeLag' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) usage(`${a} needs a value`);
    if (a === '--host') o.host = v;
    else if (ints[a]) {
      if (!/^[0-9]+$/.test(v)) usage(`${a} needs a non-negative integer`);
      o[ints[a]] = Number(v);
    } else usage(`unknown option ${a}`);
    i += 1;
  }
  if (o.port === null || o.port > 65535) usage('--port 0..65535 is required');
  if (o.slotMs < 1) usage('--slot-ms must be >= 1');
  if (o.finalizeLag < o.confirmLag) usage('--finalize-lag must be >= --confirm-lag');
  if (!(o.host === 'localhost' || o.host === '::1' || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(o.host))) {
    usage(`refusing non-loopback host ${o.host}`);
  }
  return o;
}

function send(res, status, body) {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Which backend of the "load balancer" serves this request (faults lag, alternate, no_history). */
function pickView(node, methods) {
  const lag = node.faults.takeAny('lag', methods);
  if (lag) return new View(node, { lag: lag.slots });
  const alt = node.faults.takeAny('alternate', methods);
  if (alt) {
    alt.flip = !alt.flip;
    if (alt.flip) return new View(node, { lag: alt.slots, floor: alt.snapshotSlot });
  }
  if (node.faults.takeAny('no_history', methods)) return new View(node, { noHistory: true });
  return node.view();
}

async function handleRpc(node, dispatcher, req, res, text) {
  let parsed = null;
  let ok = true;
  try { parsed = JSON.parse(text); } catch { ok = false; }
  const methods = ok ? Dispatcher.methodsOf(parsed) : [];
  const faultMethods = methods.length ? methods : ['(none)'];
  const stall = node.faults.takeAny('stall', faultMethods);
  if (stall) await sleep(stall.ms);
  if (node.faults.takeAny('http_500', faultMethods)) {
    if (!res.destroyed) { res.writeHead(500, { 'content-type': 'text/plain' }); res.end('Internal Server Error (injected)\n'); }
    return;
  }
  const limited = node.faults.takeAny('http_429', faultMethods);
  if (limited) {
    const body = toJson({ jsonrpc: '2.0', error: { code: 429, message: 'Too many requests for a specific RPC call' }, id: null });
    const h = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (limited.retryAfter !== undefined) h['retry-after'] = String(limited.retryAfter);
    if (!res.destroyed) { res.writeHead(429, h); res.end(body); }
    return;
  }
  const ctx = { dropResponse: false, view: pickView(node, faultMethods) };
  const out = dispatcher.handle(parsed, ok, ctx);
  if (ctx.dropResponse) { req.socket.destroy(); return; }
  send(res, 200, out);
}

function handleControl(node, req, res, url, text) {
  let body = {};
  if (text.length > 0) {
    try { body = JSON.parse(text); } catch { send(res, 400, toJson({ error: 'body is not JSON' })); return; }
  }
  try {
    send(res, 200, toJson(control(node, req.method, url.pathname.replace(/\/+$/, ''), url.searchParams, body)));
  } catch (e) {
    if (e instanceof ControlError) send(res, e.status, toJson({ error: e.message }));
    else { process.stderr.write(`solana-sim: control failed: ${e?.stack ?? e}\n`); send(res, 500, toJson({ error: 'internal error' })); }
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const node = new SimNode(opts);
  const dispatcher = new Dispatcher(node);

  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { tooBig = true; return; }
      chunks.push(c);
    });
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      (async () => {
        if (tooBig) { send(res, 413, toJson({ jsonrpc: '2.0', error: { code: -32600, message: 'Request too large' }, id: null })); return; }
        let url;
        try { url = new URL(req.url ?? '/', 'http://localhost'); } catch { send(res, 400, toJson({ error: 'bad url' })); return; }
        const text = Buffer.concat(chunks).toString('utf8');
        if (url.pathname === '/control' || url.pathname.startsWith('/control/')) { handleControl(node, req, res, url, text); return; }
        if (req.method === 'GET' && url.pathname === '/health') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); return; }
        if (req.method !== 'POST') { res.writeHead(405, { allow: 'POST' }); res.end(); return; }
        await handleRpc(node, dispatcher, req, res, text);
      })().catch((e) => {
        process.stderr.write(`solana-sim: request failed: ${e?.stack ?? e}\n`);
        send(res, 500, toJson({ error: 'internal error' }));
      });
    });
  });
  server.on('clientError', (err, socket) => { try { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); } catch { /* gone */ } });
  server.keepAliveTimeout = 30_000;

  let stopping = false;
  const stop = (sig) => {
    if (stopping) return;
    stopping = true;
    node.stop();
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
    process.stderr.write(`solana-sim: ${sig}, shutting down\n`);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (e) => process.stderr.write(`solana-sim: uncaught: ${e?.stack ?? e}\n`));
  process.on('unhandledRejection', (e) => process.stderr.write(`solana-sim: unhandled: ${e?.stack ?? e}\n`));

  server.on('error', (e) => { process.stderr.write(`solana-sim: listen failed: ${e.message}\n`); process.exit(1); });
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    node.start();
    process.stdout.write(`solana-sim listening on http://${host}:${port}\n`);
  });
}

main();
