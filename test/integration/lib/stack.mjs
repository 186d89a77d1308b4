// lib/stack.mjs: bring a throwaway stack up for one test file and down again, plus small helpers.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const STACK = join(ROOT, 'test', 'stack');
export const GTX_BIN = process.env.GTX_BIN || join(ROOT, 'build', 'san');

export function readEnv(dir) {
  const env = {};
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

// Starts the named components (all by default) in a new temp dir; returns {dir, env, ...}.
// extraEnv.GTX_BIN picks another build (the hostile tests use the release build) for this stack's daemons.
export function up(components = [], extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gtx-stack-'));
  // As root the daemons drop to nobody, and some tests hand them configuration files in this directory
  // (read again on SIGHUP): let others pass through it. This is the tests' own directory; test/stack
  // itself never changes the permissions of the directory it is given.
  if (process.getuid() === 0) chmodSync(dir, 0o711);
  const bin = extraEnv.GTX_BIN || GTX_BIN;
  const r = spawnSync(STACK, ['up', dir, ...components], {
    env: { ...process.env, GTX_BIN: bin, ...extraEnv }, encoding: 'utf8', timeout: 120000,
  });
  if (r.status !== 0) {
    spawnSync(STACK, ['down', dir]);
    throw new Error(`stack up failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  }
  return makeStack(dir, bin);
}

function makeStack(dir, bin) {
  const env = () => ({ ...process.env, GTX_BIN: bin });
  return {
    dir,
    bin,
    get env() { return readEnv(dir); },
    stop(name, kill = false) { execFileSync(STACK, ['stop', dir, name, ...(kill ? ['--kill'] : [])], { env: env() }); },
    start(name) { execFileSync(STACK, ['start', dir, name], { env: env(), stdio: ['ignore', 'ignore', 'pipe'] }); },
    down() {
      spawnSync(STACK, ['down', dir], { env: env() });
      const bad = logProblems(dir);
      return bad;
    },
    pids() {
      return readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => +readFileSync(join(dir, f), 'utf8'));
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}

// A daemon log line that means the test must fail: sanitizer reports, assertions, a fatal exit (level=fatal).
export const LOG_BAD = /(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|Assertion .* failed|\bFATAL\b|\blevel=fatal\b|SUMMARY: UndefinedBehaviorSanitizer)/;
export function logProblems(dir) {
  const out = [];
  for (const name of ['ingestd', 'mintd']) {
    const f = join(dir, `${name}.log`);
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) if (LOG_BAD.test(line)) out.push(`${name}: ${line}`);
  }
  return out;
}

export function pgClient(env) {
  return new pg.Client({ connectionString: env.DATABASE_URL });
}

export function processAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

// One JSON-RPC call to the stack's Solana RPC (env.SOLANA_RPC_URL); throws with the method on an error answer.
export async function solanaRpc(env, method, params) {
  const res = await fetch(env.SOLANA_RPC_URL, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const j = await res.json();
  if (j.error) throw new Error(`${method}: ${JSON.stringify(j.error)}`);
  return j.result;
}

// Polls fn until it returns a truthy value or the deadline passes.
export async function waitFor(fn, { timeout = 20000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
