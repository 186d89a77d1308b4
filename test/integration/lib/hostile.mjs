// lib/hostile.mjs: helpers of the hostile-client tests: the release build, RSS, process control, raw sockets,
// a well-behaved meter that must keep being served, and metrics.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT, up, waitFor } from './stack.mjs';
import { client, newMeter, reading, tsAt } from '../ingestd_lib.mjs';

// The hostile tests run the release build (what production runs; sanitizers would dwarf the figures).
export const REL_BIN = process.env.GTX_REL_BIN || join(ROOT, 'build', 'rel');
export const MiB = 1024 * 1024;

// A stack of PostgreSQL, Redis and the release ingestd with `env` (also written to DIR/ingestd.env, which
// test/stack reads on every start, so restart() keeps it).
export function upRelease(env = {}) {
  if (!existsSync(join(REL_BIN, 'ingestd'))) throw new Error(`no release build in ${REL_BIN} (run make)`);
  const stack = up(['postgres', 'redis'], { GTX_BIN: REL_BIN });
  writeIngestdEnv(stack, env);
  stack.start('ingestd');
  return stack;
}

export function writeIngestdEnv(stack, env) {
  writeFileSync(join(stack.dir, 'ingestd.env'), Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''));
}

export function pidOf(stack, name) {
  return +readFileSync(join(stack.dir, `${name}.pid`), 'utf8');
}

// Resident set size in bytes (VmRSS of /proc/PID/status).
export function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? +m[1] * 1024 : 0;
}

export function children(pid) {
  const out = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { out.push(...readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)); } catch { /* gone */ }
  }
  return out;
}

const comm = (pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } };

// The pid of ingestd's WebSocket service process (ingestd-ws), once it runs.
export async function wsPid(ingestdPid, { not } = {}) {
  return waitFor(() => children(ingestdPid).find((p) => comm(p) === 'ingestd-ws' && p !== not),
    { what: 'the ingestd-ws process', timeout: 20000 });
}

// PostgreSQL "blackholed": the postmaster and every backend stopped. Connections and queries hang (TCP still
// accepts into the listen backlog) instead of failing fast, as with a network partition.
export function pgStop(stack) {
  const pm = pidOf(stack, 'postgres');
  process.kill(pm, 'SIGSTOP');
  const kids = children(pm);
  for (const k of kids) process.kill(k, 'SIGSTOP');
  return () => {
    for (const k of kids) { try { process.kill(k, 'SIGCONT'); } catch { /* gone */ } }
    process.kill(pm, 'SIGCONT');
  };
}

export function port(url) {
  return +new URL(url).port;
}

// A TCP connection from a given loopback address (127.0.0.X): per-address limits see each as another client.
export function rawConnect(url, localAddress = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: port(url), localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

// Value of one sample of ingestd's /metrics ("name" or 'name{label="x"}'); 0 when absent.
export async function metric(api, sample) {
  const t = (await api.call('GET', '/metrics')).text;
  for (const line of t.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

// A registered meter that submits properly signed readings; `check()` must get 201 within `within` ms.
export async function wellBehavedMeter(env) {
  const api = client(env);
  const m = newMeter('GOOD');
  await api.register(m);
  let i = 0;
  return {
    api,
    meter: m,
    async check(within = 5000) {
      const t0 = Date.now();
      const r = await Promise.race([
        api.submit(reading(m, { timestamp: tsAt(i++) })),
        new Promise((_, rej) => setTimeout(() => rej(new Error(`the well-behaved meter got no answer in ${within} ms`)), within)),
      ]);
      if (r.status !== 201) throw new Error(`the well-behaved meter got ${r.status}: ${r.text}`);
      return Date.now() - t0;
    },
  };
}

// Polls `fn` every `every` ms while `busy` is pending; returns the results. For liveness checks during a flood.
export async function during(busy, fn, every = 500) {
  const results = [];
  let done = false;
  busy.then(() => { done = true; }, () => { done = true; });
  while (!done) {
    results.push(await fn());
    await new Promise((r) => setTimeout(r, every));
  }
  return results;
}

// GET url with a deadline; resolves with the elapsed ms or rejects.
export async function timedGet(url, timeoutMs) {
  const t0 = Date.now();
  let r;
  try {
    r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await r.text();
  } catch (e) {
    throw new Error(`GET ${url}: no answer within ${timeoutMs} ms (${e.name})`);
  }
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return Date.now() - t0;
}

// `p`, or a rejection naming `what` once `ms` have passed.
export function within(p, ms, what) {
  let t;
  return Promise.race([p.finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms); })]);
}
