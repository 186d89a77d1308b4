// run_demo.test.mjs: `make run` end to end: the fleet's readings become exactly the on-chain balances, and nothing is left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, GTX_BIN, readEnv, logProblems, processAlive, waitFor } from './lib/stack.mjs';

const DEMO = join(ROOT, 'test', 'run-demo');

// The daemons' placeholder mains say this; once ingestd and mintd are real, the demo must run for real.
function stubbed() {
  const missing = ['ingestd', 'mintd', 'soltool', 'fleet'].filter((b) => !existsSync(join(GTX_BIN, b)));
  if (missing.length) return `not built in ${GTX_BIN}: ${missing.join(', ')}`;
  const stubs = ['ingestd', 'mintd'].filter((b) => readFileSync(join(GTX_BIN, b)).includes('is not built yet'));
  return stubs.length ? `${stubs.join(' and ')} in ${GTX_BIN} are still placeholders` : null;
}
const skip = stubbed();

// Runs test/run-demo in its own process group; resolves with {code, out} when it exits.
function runDemo(dir, extraEnv, onStart = () => {}) {
  const child = spawn(DEMO, [], {
    env: { ...process.env, GTX_BIN, DEMO_DIR: dir, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  onStart(child);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// Nothing the demo started may survive it: not its recorded pids, not its ports, not any process
// whose command line or environment names its directory (the stack puts STACK_DIR in the daemons').
async function assertNothingLeft(dir) {
  const pids = readFileSync(join(dir, 'demo.pids'), 'utf8').split(/\s+/).filter(Boolean).map(Number);
  assert.ok(pids.length >= 6, `demo.pids lists the stack and the fleet: ${pids}`);
  for (const pid of pids) assert.equal(processAlive(pid), false, `pid ${pid} from ${dir} still running`);
  const env = readEnv(dir);
  for (const k of ['PGPORT', 'REDIS_PORT', 'SIM_PORT', 'INGESTD_PORT', 'MINTD_METRICS_PORT', 'PROMETHEUS_PORT']) {
    if (env[k]) assert.equal(await portOpen(+env[k]), false, `${k} ${env[k]} still listening`);
  }
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x) && +x !== process.pid)) {
    let text = '';
    try { text = readFileSync(`/proc/${p}/cmdline`, 'latin1') + readFileSync(`/proc/${p}/environ`, 'latin1'); } catch { continue; }
    assert.equal(text.includes(dir), false, `process ${p} still refers to ${dir}: ${text.split('\0')[0]}`);
  }
  const bad = logProblems(dir);
  for (const line of readFileSync(join(dir, 'fleet.log'), 'utf8').split('\n'))
    if (/(Sanitizer|runtime error:)/.test(line)) bad.push(`fleet: ${line}`);
  assert.deepEqual(bad, []);
}

test('make run RUN_SECONDS=20: every wallet on chain equals the sum of its minted readings', { skip: skip ?? false, timeout: 600000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gtx-demo-'));
  try {
    const { code, out } = await runDemo(dir, { RUN_SECONDS: '20', DRAIN_SECONDS: '180' });
    assert.equal(code, 0, `run-demo failed:\n${out}`);
    const line = (re) => { const m = re.exec(out); assert.ok(m, `no line ${re} in:\n${out}`); return m; };
    line(/^== summary ==$/m);
    line(/^result: OK$/m);
    const w = line(/^wallets: (\d+) of (\d+) on-chain balances equal the sum of their minted readings$/m);
    assert.equal(w[1], w[2]);
    assert.equal(+w[1], 50, 'one wallet per meter, all of them credited');
    const r = line(/^readings stored: (\d+), minted (\d+), unfinished (\d+), failed (\d+)$/m);
    assert.ok(+r[1] > 0);
    assert.equal(r[2], r[1], 'every stored reading minted');
    assert.deepEqual([r[3], r[4]], ['0', '0']);
    const f = line(/^readings: fleet sent (\d+), accepted (\d+) \((\d+) replays\), rejected (\d+), retries (\d+), in doubt (\d+)$/m);
    assert.equal(f[2], r[1], 'the fleet was told of exactly the readings the database holds');
    assert.equal(f[4], '0', 'no reading of a well-behaved fleet is rejected');
    const t = line(/^tokens: supply (\d+) base units \(\S+ GRX\), minted readings (\d+), fleet ledger (\d+)$/m);
    assert.equal(t[1], t[2]);
    assert.equal(t[2], t[3]);
    assert.ok(BigInt(t[1]) > 0n);
    line(/^transactions: \d+ confirmed carrying \d+ readings for \d+ wallet mints, \d+ failed, \d+ expired, 0 pending$/m);
    // The operator's audit against the chain (mintd -A) agrees, every wallet and the supply.
    line(/^audit: mintd -A exited 0: ok, 50 wallets \(50 agree, 0 in flight, 0 mismatched\), supply agree$/m);
    // Prometheus ran beside it, scraped both daemons with the alert rules, and nothing fired.
    const url = line(/^run-demo: Prometheus at (http:\/\/127\.0\.0\.1:\d+) \(alerts: \S+\), scraping ingestd and mintd$/m)[1];
    line(new RegExp(`^prometheus: scraped ingestd up, mintd up; alerts firing: none \\(${url.replace(/[.:/]/g, '\\$&')}\\)$`, 'm'));
    // Not a terminal: plain, short progress lines, no screen control.
    const progress = out.split('\n').filter((l) => /^\[\d+s\] readings /.test(l));
    assert.ok(progress.length >= 2, out);
    for (const l of progress) {
      assert.match(l, /^\[\d+s\] readings [\d.-]+\/s accepted, [\d.-]+\/s rejected \| backlog \d+, oldest \d+\.\d s(, \d+ dead)? \| \d+ tx, [\d.-]+ wallets\/tx, \d+ pending \| minted [\d.]+ GRX, supply [\d.?]+ GRX$/);
      assert.ok(l.length < 200, `a progress line of ${l.length} characters`);
    }
    assert.doesNotMatch(out, /\x1b\[/);
    // The ledger file lists each accepted reading once, with the id ingestd gave it.
    const ledger = readFileSync(join(dir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(ledger.length, +f[2]);
    assert.equal(new Set(ledger.map((x) => x.id)).size, ledger.length);
    assert.equal(ledger.reduce((a, x) => a + BigInt(x.token_amount), 0n), BigInt(t[3]));
    await assertNothingLeft(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C stops the fleet and the whole stack cleanly', { skip: skip ?? false, timeout: 300000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gtx-demo-'));
  let child;
  try {
    const done = runDemo(dir, {}, (c) => { child = c; });
    // Once the fleet has had readings accepted, interrupt the way a terminal does: the whole process group.
    await waitFor(() => {
      try { return JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')).accepted > 0; } catch { return false; }
    }, { timeout: 120000, interval: 200, what: 'accepted readings' });
    process.kill(-child.pid, 'SIGINT');
    const { code, out } = await done;
    assert.equal(code, 0, `run-demo after Ctrl-C:\n${out}`);
    assert.match(out, /^== summary ==$/m);
    assert.match(out, /^run-demo: stopped everything/m);
    await assertNothingLeft(dir);
  } finally {
    if (child && processAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

// On a terminal (script(1) gives it a pseudo-terminal): one compact panel redrawn in place, not scrolling lines.
test('on a terminal, make run shows a panel refreshed in place', { skip: skip ?? (spawnSync('script', ['--version']).status === 0 ? false : 'no script(1)'), timeout: 600000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gtx-demo-'));
  try {
    const child = spawn('script', ['-qefc', DEMO, '/dev/null'], {
      env: { ...process.env, GTX_BIN, DEMO_DIR: dir, RUN_SECONDS: '12', DRAIN_SECONDS: '180', COLUMNS: '120', LINES: '40' },
      stdio: ['pipe', 'pipe', 'pipe'], detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, out);
    const frames = out.split('\x1b[H').slice(1);
    assert.ok(frames.length >= 5, `${frames.length} redraws`);
    // the last full frame before the summary, without its screen control
    const last = frames.at(-2).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
    for (const re of [/GridTokenX demo +\d+s of 12s/, /^readings +accepted [\d.]+\/s +rejected [\d.]+\/s/m,
      /^backlog +\d+ readings, oldest \d+\.\d s +retrying \d+ +dead letters \d+/m,
      /^mint +\d+ transactions, [\d.-]+ wallets\/tx +pending \d+/m, /^GRX +minted [\d.]+ +on-chain supply [\d.]+/m,
      /^wallet +meter +readings +kWh +minted \(GRX\) +on chain \(GRX\)/m]) assert.match(last, re);
    assert.ok(last.split('\n').length <= 16, 'compact: at most 16 lines');
    assert.doesNotMatch(out, /^\[\d+s\] readings /m, 'no plain lines on a terminal');
    assert.match(out, /^result: OK\r?$/m);
    await assertNothingLeft(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
