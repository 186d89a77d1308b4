// lib/promtool.mjs: `promtool check metrics` (Debian package prometheus, installed by test/deps) against any
// Prometheus text endpoint; resolves with {ok, problems, text}.
import { spawnSync } from 'node:child_process';

export function havePromtool() {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

export async function promtoolCheck(url) {
  if (!havePromtool()) throw new Error('promtool is not installed (test/deps installs the prometheus package)');
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const problems = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
  return { ok: r.status === 0 && problems.length === 0, problems, text };
}
