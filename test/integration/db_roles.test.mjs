// db_roles.test.mjs: both daemons work end to end under the least-privilege roles of etc/db-roles.sql,
// and those roles cannot do what they do not need.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { up, ROOT, waitFor } from './lib/stack.mjs';
import { FAST_MINTD_ENV, simControl } from './lib/mintd.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import { runAudit } from './lib/audit.mjs';
import { newMeter, reading, tsAt, client } from './ingestd_lib.mjs';

let stack, env, db;
const roleUrl = (role) => env.DATABASE_URL.replace('//gtx@', `//${role}@`);

before(async () => {
  stack = up(['postgres', 'redis', 'solana-sim'], { SIM_SLOT_MS: '20' });
  env = stack.env;
  execFileSync('psql', [env.DATABASE_URL, '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(ROOT, 'etc', 'db-roles.sql')]);
  writeFileSync(join(stack.dir, 'ingestd.env'), `DATABASE_URL=${roleUrl('gridtokenx_ingestd')}\n`);
  writeFileSync(join(stack.dir, 'mintd.env'), Object.entries({ ...FAST_MINTD_ENV, DATABASE_URL: roleUrl('gridtokenx_mintd') })
    .map(([k, v]) => `${k}=${v}\n`).join(''));
  stack.start('ingestd');
  stack.start('mintd');
  env = stack.env;
  db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
});

after(async () => {
  await db?.end();
  if (stack) {
    const bad = stack.down();
    stack.cleanup();
    assert.deepEqual(bad, []);
  }
});

test('the daemons connect as their own roles', async () => {
  const { rows } = await db.query(`SELECT DISTINCT usename FROM pg_stat_activity WHERE usename LIKE 'gridtokenx_%'`);
  assert.deepEqual(rows.map((r) => r.usename).sort(), ['gridtokenx_ingestd', 'gridtokenx_mintd']);
});

test('register, submit, mint, status, toggle and trigger all work under the least-privilege roles', async () => {
  const api = client(env);
  const meters = [newMeter('ROLE'), newMeter('ROLE')];
  for (const m of meters) await api.register(m);
  const r = await api.batch(meters.flatMap((m) => [0, 1, 2].map((i) => reading(m, { timestamp: tsAt(i), kwh: `${i + 1}.5` }))));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => x.status), [201, 201, 201, 201, 201, 201], r.text);
  assert.equal((await api.admin('POST', '/api/admin/tokenization/toggle-auto-mint', { enabled: true })).status, 200);
  const t = await api.call('POST', '/api/admin/tokenization/trigger-batch', { admin: true });
  assert.equal(t.status, 202, t.text);
  await drain(db, { what: 'minted under least privilege' });
  assert.deepEqual(await checkInvariant(db, env), []);
  const s = await api.admin('GET', '/api/admin/tokenization/status');
  assert.equal(s.status, 200, s.text);
  const balances = (await simControl(env, `/balances?mint=${env.TOKEN_MINT}`)).balances;
  for (const m of meters) assert.equal(balances[m.wallet], '7500000000'); // 1.5 + 2.5 + 3.5 kWh, exact
});

test('the audit (mintd -A) runs under the mintd role, and the role cannot record an adjustment', async () => {
  const r = await runAudit(stack, { env: { DATABASE_URL: roleUrl('gridtokenx_mintd') } });
  assert.equal(r.code, 0, JSON.stringify(r.doc).slice(0, 2000));
  assert.equal(r.doc.result, 'ok');
  assert.ok(r.doc.wallets.checked >= 2);
  const mint = new pg.Client({ connectionString: roleUrl('gridtokenx_mintd') });
  await mint.connect();
  try {
    await assert.rejects(mint.query(`INSERT INTO audit_adjustments (mint, wallet, amount, recorded_by, note)
        VALUES ($1, $1, 1, 'x', 'y')`, [env.TOKEN_MINT]), { code: '42501' });
  } finally {
    await mint.end();
  }
});

test('the roles cannot do what they do not need', async () => {
  const ing = new pg.Client({ connectionString: roleUrl('gridtokenx_ingestd') });
  const mint = new pg.Client({ connectionString: roleUrl('gridtokenx_mintd') });
  await ing.connect(); await mint.connect();
  try {
    await assert.rejects(ing.query(`UPDATE mint_transactions SET state = 'failed'`), { code: '42501' });
    await assert.rejects(ing.query(`DELETE FROM meter_readings`), { code: '42501' });
    await assert.rejects(mint.query(`INSERT INTO meters (meter_serial, public_key, wallet_address) VALUES ('X', '\\x00', 'y')`), { code: '42501' });
    await assert.rejects(mint.query(`DELETE FROM meter_readings`), { code: '42501' });
    await assert.rejects(mint.query(`UPDATE settings SET value = 'false'`), { code: '42501' });
    await assert.rejects(ing.query(`CREATE TABLE evil (x int)`), { code: '42501' });
    // The supply baseline and the halts change only through mintd's inserts and the acknowledgement function.
    await assert.rejects(mint.query(`UPDATE supply_baseline SET amount = 0`), { code: '42501' });
    await assert.rejects(ing.query(`UPDATE minting_halts SET acknowledged_at = now()`), { code: '42501' });
    await assert.rejects(mint.query(`SELECT acknowledge_minting_halt(1, 'me', 'x')`), { code: '42501' });
    // The lifecycle: neither role may widen the transitions, and what the grants allow the trigger still refuses.
    await assert.rejects(mint.query(`INSERT INTO reading_transitions VALUES ('minted', 'pending', 'x')`), { code: '42501' });
    await assert.rejects(ing.query(`DELETE FROM mint_transaction_transitions`), { code: '42501' });
    await assert.rejects(mint.query(`UPDATE meter_readings SET status = 'pending', minted = false WHERE status = 'minted'`),
      (e) => e.code === '23514' && /minted -> pending is not a transition/.test(e.message));
    // A stalled session cannot hold its row locks for long: the roles carry the timeouts.
    assert.equal((await mint.query('SHOW lock_timeout')).rows[0].lock_timeout, '2s');
    assert.equal((await mint.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout, '10s');
    assert.equal((await ing.query('SHOW lock_timeout')).rows[0].lock_timeout, '2s');
  } finally {
    await ing.end(); await mint.end();
  }
});
