// systemd.test.mjs: the units verify and each rates 2.0 or lower in systemd-analyze security.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, GTX_BIN } from './lib/stack.mjs';

const have = spawnSync('systemd-analyze', ['--version']).status === 0;
const skip = have ? false : 'systemd-analyze is not installed (apt-get install systemd)';
const UNITS = ['ingestd.service', 'mintd.service', 'gridtokenx.target'];

test('units pass systemd-analyze verify', { skip }, () => {
  // Point ExecStart at the freshly built binaries so verify can check they exist and run.
  const dir = mkdtempSync(join(tmpdir(), 'gtx-units-'));
  try {
    for (const u of UNITS) {
      const text = readFileSync(join(ROOT, 'systemd', u), 'utf8').replaceAll('/usr/local/bin/', `${GTX_BIN}/`);
      writeFileSync(join(dir, u), text);
    }
    const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => join(dir, u))], { encoding: 'utf8' });
    const ours = (r.stderr + r.stdout).split('\n').filter((l) => /ingestd|mintd|gridtokenx/.test(l));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ours, [], `verify complained:\n${ours.join('\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const u of ['ingestd.service', 'mintd.service']) {
  test(`${u} exposure is 2.0 or lower`, { skip }, () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', join(ROOT, 'systemd', u)], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}`); // a score, not money
  });
}

test('the units use Type=notify, reload with SIGHUP, restart on failure, and mintd gets its key by LoadCredential', () => {
  for (const u of ['ingestd.service', 'mintd.service']) {
    const t = readFileSync(join(ROOT, 'systemd', u), 'utf8');
    for (const line of ['Type=notify', 'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'User=gridtokenx', 'NoNewPrivileges=yes'])
      assert.ok(t.includes(line), `${u}: ${line}`);
  }
  assert.match(readFileSync(join(ROOT, 'systemd', 'mintd.service'), 'utf8'), /^LoadCredential=mint-authority:/m);
});
