// prometheus_rules.test.mjs: etc/prometheus/gridtokenx.rules.yml: promtool checks and unit-tests it, every alert is
// tested both ways and links a runbook section that exists, a broken threshold fails its test, and the daemons
// export the metrics the rules read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT, up } from './lib/stack.mjs';

const DIR = join(ROOT, 'etc', 'prometheus');
const RULES = join(DIR, 'gridtokenx.rules.yml'), TESTS = join(DIR, 'gridtokenx.rules.test.yml');
const rules = YAML.parse(readFileSync(RULES, 'utf8')).groups.flatMap((g) => g.rules).filter((r) => r.alert);
const promtool = (...args) => spawnSync('promtool', args, { encoding: 'utf8', cwd: DIR });

// GitHub's anchor for a markdown heading.
const slug = (h) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

test('promtool accepts the rules and their unit tests pass', () => {
  const c = promtool('check', 'rules', RULES);
  assert.equal(c.status, 0, c.stdout + c.stderr);
  const t = promtool('test', 'rules', TESTS);
  assert.equal(t.status, 0, t.stdout + t.stderr);
  assert.match(t.stdout + t.stderr, /SUCCESS/);
});

test('every alert is tested firing and quiet, has a severity, and links a runbook section of docs/operations.md', () => {
  const tests = YAML.parse(readFileSync(TESTS, 'utf8')).tests.flatMap((t) => t.alert_rule_test);
  const anchors = new Set(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8').split('\n')
    .filter((l) => /^#{1,6} /.test(l)).map((l) => slug(l.replace(/^#+ /, ''))));
  assert.ok(rules.length >= 10);
  for (const r of rules) {
    const mine = tests.filter((t) => t.alertname === r.alert);
    assert.ok(mine.some((t) => t.exp_alerts.length > 0), `${r.alert}: no test where it fires`);
    assert.ok(mine.some((t) => t.exp_alerts.length === 0), `${r.alert}: no test where it stays quiet`);
    assert.match(r.labels?.severity ?? '', /^(page|ticket)$/, `${r.alert}: severity`);
    const m = /^docs\/operations\.md#(.+)$/.exec(r.annotations?.runbook_url ?? '');
    assert.ok(m, `${r.alert}: runbook_url ${r.annotations?.runbook_url}`);
    assert.ok(anchors.has(m[1]), `${r.alert}: docs/operations.md has no section #${m[1]}`);
    assert.ok(r.annotations.summary && r.annotations.description, `${r.alert}: summary and description`);
  }
});

test('the unit tests catch a broken rule (a threshold moved, an alert renamed)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gtx-rules-'));
  try {
    copyFileSync(TESTS, join(dir, 'gridtokenx.rules.test.yml'));
    const text = readFileSync(RULES, 'utf8');
    for (const [from, to] of [['(mintd_oldest_unminted_age_seconds) > 120', '(mintd_oldest_unminted_age_seconds) > 1200'],
      ['alert: GridTokenXDeadLetters', 'alert: GridTokenXDeadLetter'], ['> 0.01', '> 0.1']]) {
      assert.ok(text.includes(from), from);
      writeFileSync(join(dir, 'gridtokenx.rules.yml'), text.replace(from, to));
      const r = spawnSync('promtool', ['test', 'rules', 'gridtokenx.rules.test.yml'], { encoding: 'utf8', cwd: dir });
      assert.notEqual(r.status, 0, `promtool test passed with ${to}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ingestd and mintd export the metrics the rules read', { timeout: 180000 }, async (t) => {
  const used = new Set();
  for (const r of rules) for (const m of r.expr.matchAll(/\b((?:ingestd|mintd)_[a-z_]+)\b/g)) used.add(m[1]);
  const stack = up(['postgres', 'redis', 'solana-sim', 'ingestd', 'mintd']);
  let names;
  try {
    const env = stack.env;
    const text = (await Promise.all([env.INGESTD_URL, env.MINTD_URL].map(async (u) => (await fetch(`${u}/metrics`)).text()))).join('\n');
    names = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s/gm)].map((m) => m[1]));
  } finally {
    assert.deepEqual(stack.down(), []);
    stack.cleanup();
  }
  const missing = [...used].filter((n) => !names.has(n));
  assert.deepEqual(missing, [], 'metrics the rules read that no daemon exports');
});
