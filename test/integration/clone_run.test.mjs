// clone_run.test.mjs: `make run` from a fresh clone in a private (0700) directory, as the suite's user and,
// as root, as an unprivileged account too; `make install` with another PREFIX: nothing may depend on where
// the checkout lives, who runs it, or where it is installed.
//
// The clone is of the committed HEAD of this checkout (uncommitted changes are not in it). It builds its own
// release tree; only test/node_modules is shared (hard links, read-only use), so that no registry is needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, statSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync, chownSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, readEnv } from './lib/stack.mjs';

const isRoot = process.getuid() === 0;
const RUN_SECONDS = '8';
const rev = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
const skipGit = rev.status === 0 ? false : `${ROOT} is not a git checkout`;
const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
const skipUser = !isRoot ? 'the suite is not root: the test above already ran as an unprivileged user'
  : nobody.status !== 0 ? 'no account "nobody" to run as'
    : spawnSync('setpriv', ['--version']).status !== 0 ? 'no setpriv (util-linux)' : false;

const mode = (p) => statSync(p).mode & 0o777;

// A 0700 directory holding a clone of HEAD at <dir>/gtx, owned by uid (node_modules stay as they are).
function cloneInto(uid, gid) {
  const parent = mkdtempSync(join(tmpdir(), 'gtx-clone-'));
  assert.equal(mode(parent), 0o700);
  const repo = join(parent, 'gtx');
  execFileSync('git', ['clone', '-q', '--no-checkout', ROOT, repo]);
  execFileSync('git', ['-C', repo, 'checkout', '-q', '--detach', rev.stdout.trim()]);
  if (uid !== undefined) {
    execFileSync('chown', ['-R', `${uid}:${gid}`, parent]);
    mkdirSync(join(repo, 'test', 'node_modules'));
    chownSync(join(repo, 'test', 'node_modules'), uid, gid);
  }
  // The locked npm packages, linked rather than installed again; a fresh stamp tells test/deps they match the lock.
  execFileSync('cp', ['-al', `${join(ROOT, 'test', 'node_modules')}/.`, join(repo, 'test', 'node_modules')]);
  const stamp = join(repo, 'test', 'node_modules', '.deps-stamp');
  rmSync(stamp, { force: true });
  writeFileSync(stamp, '');
  if (uid !== undefined) chownSync(stamp, uid, gid);
  return { parent, repo };
}

// `make run` in the clone, with none of the outer make's variables (MAKEFLAGS would carry SAN=1 into it).
function makeRun(repo, { uid, gid, home } = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/^(MAKEFLAGS|MFLAGS|MAKELEVEL|MAKEOVERRIDES|SAN|WERROR|GTX_BIN|DEMO_DIR|RUN_SECONDS|DRAIN_SECONDS)$/.test(k)));
  Object.assign(env, { MAKEFLAGS: '-j2', ...(home ? { HOME: home } : {}) });
  const args = ['make', '-C', repo, 'run', `RUN_SECONDS=${RUN_SECONDS}`, 'DRAIN_SECONDS=240'];
  const [cmd, argv] = uid === undefined ? [args[0], args.slice(1)]
    : ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...args]];
  const child = spawn(cmd, argv, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

// What the demo must leave: its summary, logs in build/demo, its PostgreSQL runtime directory gone, no
// process of it running, and every directory above it exactly as private as before.
function checkDemo({ parent, repo }, { code, out }) {
  assert.equal(code, 0, `make run failed:\n${out}`);
  assert.match(out, /^== summary ==$/m, out);
  assert.match(out, /^result: OK$/m, out);
  const w = /^wallets: (\d+) of (\d+) on-chain balances equal the sum of their minted readings$/m.exec(out);
  assert.ok(w && w[1] === w[2] && +w[1] > 0, out);
  const demo = join(repo, 'build', 'demo');
  const m = /PostgreSQL's data in (\S+)\/pg /.exec(out);
  assert.ok(m, `make run names where PostgreSQL's data is:\n${out}`);
  assert.equal(readEnv(demo).STACK_RUN_DIR, m[1]);
  assert.equal(existsSync(m[1]), false, `the runtime directory ${m[1]} is removed`);
  assert.match(out, new RegExp(`^run-demo: stopped everything \\(logs in ${demo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`, 'm'));
  for (const f of ['ingestd.log', 'mintd.log', 'postgres.log', 'fleet.log']) assert.ok(existsSync(join(demo, f)), f);
  assert.equal(mode(parent), 0o700, 'the private parent stays 0700');
  for (const d of [repo, join(repo, 'build'), demo]) assert.equal(mode(d) & 0o002, 0, `${d} not opened up`);
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x) && +x !== process.pid)) {
    let text = '';
    try { text = readFileSync(`/proc/${p}/cmdline`, 'latin1') + readFileSync(`/proc/${p}/environ`, 'latin1'); } catch { continue; }
    assert.equal(text.includes(repo), false, `process ${p} still refers to ${repo}: ${text.split('\0')[0]}`);
  }
}

test(`make run RUN_SECONDS=${RUN_SECONDS} from a clone in a 0700 directory, as ${isRoot ? 'root' : 'this user'}`,
  { skip: skipGit, timeout: 900000 }, async () => {
    const c = cloneInto();
    try {
      checkDemo(c, await makeRun(c.repo));
    } finally {
      rmSync(c.parent, { recursive: true, force: true });
    }
  });

test(`make run RUN_SECONDS=${RUN_SECONDS} from a clone in a 0700 home, as the unprivileged user nobody`,
  { skip: skipGit || skipUser, timeout: 900000 }, async () => {
    const uid = +nobody.stdout.trim(), gid = +execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim();
    const c = cloneInto(uid, gid);
    try {
      assert.equal(lstatSync(c.parent).uid, uid);
      checkDemo(c, await makeRun(c.repo, { uid, gid, home: c.parent }));
    } finally {
      rmSync(c.parent, { recursive: true, force: true });
    }
  });

// `make install PREFIX=... DESTDIR=...` after a plain `make`: the binaries' default SQL_DIR, the units'
// ExecStart and the example configurations all name the chosen paths, and every file they name is installed.
test('make install PREFIX=/opt/gtx-test: the binaries, units and examples name the installed paths', { skip: skipGit, timeout: 300000 }, () => {
  const c = cloneInto();
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MAKEFLAGS|MFLAGS|MAKELEVEL|MAKEOVERRIDES|SAN|WERROR)$/.test(k)));
    env.MAKEFLAGS = '-j2';
    const stage = join(c.parent, 'stage'), prefix = '/opt/gtx-test', etc = '/etc/gtx-test';
    execFileSync('make', ['-C', c.repo, '-s', 'all'], { env, stdio: 'ignore' });
    execFileSync('make', ['-C', c.repo, '-s', 'install', `PREFIX=${prefix}`, `SYSCONFDIR=${etc}`, `DESTDIR=${stage}`], { env, stdio: 'ignore' });
    const at = (p) => join(stage, p);
    const units = ['ingestd.service', 'mintd.service', 'gridtokenx.target'];
    for (const u of units) assert.ok(existsSync(at(`${prefix}/lib/systemd/system/${u}`)), u);
    for (const d of ['ingestd', 'mintd']) {
      const unit = readFileSync(at(`${prefix}/lib/systemd/system/${d}.service`), 'utf8');
      assert.match(unit, new RegExp(`^ExecStart=${prefix}/bin/${d} -f ${etc}/${d}\\.conf$`, 'm'));
      assert.doesNotMatch(unit, /\/usr\/local|\/etc\/gridtokenx/);
      for (const m of unit.matchAll(/^(?:ExecStart|ExecStartPre)=(\S+)/gm)) assert.ok(existsSync(at(m[1])), `${d}.service runs ${m[1]}`);
      for (const m of unit.matchAll(/^Documentation=file:\/\/(\S+)/gm)) assert.ok(existsSync(at(m[1])), `${d}.service documents ${m[1]}`);
      // the installed binary looks for its migrations where they were installed
      const sqlDir = /^#SQL_DIR=(.*)$/m.exec(execFileSync(at(`${prefix}/bin/${d}`), ['-E'], { encoding: 'utf8' }))[1];
      assert.equal(sqlDir, `${prefix}/share/gridtokenx/sql`);
      assert.ok(readdirSync(at(sqlDir)).some((f) => f.endsWith('.sql')), `migrations in ${sqlDir}`);
      assert.match(readFileSync(at(`${etc}/${d}.conf.example`), 'utf8'), new RegExp(`^#SQL_DIR=${sqlDir}$`, 'm'));
    }
    assert.ok(existsSync(at(`${etc}/db-roles.sql`)));
    for (const f of ['operations.md', 'openapi.yaml', 'asyncapi.yaml']) assert.ok(existsSync(at(`${prefix}/share/doc/gridtokenx/${f}`)), f);
    assert.ok(existsSync(at(`${prefix}/share/gridtokenx/prometheus/gridtokenx.rules.yml`)));
    // and a plain build afterwards is the default one again
    execFileSync('make', ['-C', c.repo, '-s', 'all'], { env, stdio: 'ignore' });
    assert.match(execFileSync(join(c.repo, 'build', 'rel', 'ingestd'), ['-E'], { encoding: 'utf8' }), /^#SQL_DIR=\/usr\/local\/share\/gridtokenx\/sql$/m);
  } finally {
    rmSync(c.parent, { recursive: true, force: true });
  }
});
