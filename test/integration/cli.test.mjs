// cli.test.mjs: both daemons share -n/-V/-h and report every bad configuration key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GTX_BIN } from './lib/stack.mjs';

const clean = { PATH: process.env.PATH, ASAN_OPTIONS: 'detect_leaks=1' };

for (const d of ['ingestd', 'mintd']) {
  test(`${d} -n reports every bad key with file:line and exits 1`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gtx-cli-'));
    const conf = join(dir, `${d}.conf`);
    writeFileSync(conf, 'DATABASE_URL=postgresql://x@127.0.0.1/db\nNO_SUCH_KEY=1\nTOKENIZATION_DECIMALS=42\nLOG_LEVEL=loud\n');
    const r = spawnSync(join(GTX_BIN, d), ['-n', '-f', conf], { env: clean, encoding: 'utf8' });
    rmSync(dir, { recursive: true });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${d}\\.conf:2: NO_SUCH_KEY: unknown key`));
    assert.match(r.stderr, new RegExp(`${d}\\.conf:3: TOKENIZATION_DECIMALS: 42 is out of range`));
    assert.match(r.stderr, new RegExp(`${d}\\.conf:4: LOG_LEVEL: must be one of`));
    assert.doesNotMatch(r.stdout, /configuration OK/);
  });

  test(`${d} -n says configuration OK for a good config; env overrides the file`, () => {
    const r = spawnSync(join(GTX_BIN, d), ['-n'], { env: { ...clean, DATABASE_URL: 'postgresql://x@127.0.0.1/db' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'configuration OK');
    const bad = spawnSync(join(GTX_BIN, d), ['-n'], { env: { ...clean, DATABASE_URL: 'x', TOKENIZATION_KWH_TO_TOKEN_RATIO: 'abc' }, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /TOKENIZATION_KWH_TO_TOKEN_RATIO: not a plain decimal/);
  });

  test(`${d} -V and -h`, () => {
    const v = spawnSync(join(GTX_BIN, d), ['-V'], { env: clean, encoding: 'utf8' });
    assert.equal(v.status, 0);
    assert.match(v.stdout, new RegExp(`^${d} \\d+\\.\\d+\\.\\d+`));
    const h = spawnSync(join(GTX_BIN, d), ['-h'], { env: clean, encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /DATABASE_URL/);
    const bad = spawnSync(join(GTX_BIN, d), ['-Z'], { env: clean, encoding: 'utf8' });
    assert.equal(bad.status, 2);
  });
}

test('-A (the audit) is mintd\'s: in its help with --json and its exit codes; ingestd refuses it; --json needs -A', () => {
  const h = spawnSync(join(GTX_BIN, 'mintd'), ['-h'], { env: clean, encoding: 'utf8' });
  assert.match(h.stdout, /^usage: mintd \[-AdEhmnvV\] \[-f file\] \[--json\]$/m);
  assert.match(h.stdout, /-A +audit: .*\n.*exit 0 all agree, 1 mismatch, 3 could not complete/);
  assert.match(h.stdout, /MINTD_AUDIT_SECS/);
  const i = spawnSync(join(GTX_BIN, 'ingestd'), ['-A'], { env: clean, encoding: 'utf8' });
  assert.equal(i.status, 2);
  assert.doesNotMatch(spawnSync(join(GTX_BIN, 'ingestd'), ['-h'], { env: clean, encoding: 'utf8' }).stdout.split('configuration keys:')[0], /-A|--json/);
  const j = spawnSync(join(GTX_BIN, 'mintd'), ['--json'], { env: clean, encoding: 'utf8' });
  assert.equal(j.status, 2);
  assert.match(j.stderr, /--json goes with -A/);
  // A configuration mintd -A cannot use is "could not complete" (3), never "mismatch" (1), and --json says so.
  const c = spawnSync(join(GTX_BIN, 'mintd'), ['-A', '--json'], { env: { ...clean, TOKENIZATION_DECIMALS: '42' }, encoding: 'utf8' });
  assert.equal(c.status, 3, c.stderr);
  const doc = JSON.parse(c.stdout);
  assert.equal(doc.result, 'incomplete');
  assert.match(doc.error, /^configuration: .*TOKENIZATION_DECIMALS/);
});

import { readFileSync } from 'node:fs';
import { ROOT } from './lib/stack.mjs';

for (const d of ['ingestd', 'mintd']) {
  test(`etc/${d}.conf.example lists every key of the daemon (it is ${d} -E; regenerate with make examples)`, () => {
    const r = spawnSync(join(GTX_BIN, d), ['-E'], { env: clean, encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(readFileSync(join(ROOT, 'etc', `${d}.conf.example`), 'utf8'), r.stdout);
  });
}
