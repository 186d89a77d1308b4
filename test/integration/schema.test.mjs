// schema.test.mjs: the foundation stack comes up, the schema is migrated once, duplicates are impossible.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, cpSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { up, pgClient, processAlive, waitFor, GTX_BIN, ROOT } from './lib/stack.mjs';

let stack, env, db;

before(async () => {
  stack = up(['postgres', 'redis']);
  env = stack.env;
  db = pgClient(env);
  await db.connect();
});

after(async () => {
  await db?.end();
  if (stack) {
    const pids = stack.pids();
    stack.down();
    for (const p of pids) assert.equal(processAlive(p), false, `pid ${p} still running after down`);
    stack.cleanup();
  }
});

test('env file names the services', () => {
  assert.match(env.DATABASE_URL, /^postgresql:\/\/gtx@127\.0\.0\.1:\d+\/gridtokenx$/);
  assert.match(env.REDIS_URL, /^redis:\/\/127\.0\.0\.1:\d+\/0$/);
  const ping = execFileSync('redis-cli', ['-u', env.REDIS_URL, 'ping'], { encoding: 'utf8' }).trim();
  assert.equal(ping, 'PONG');
});

test('migrations are recorded once and re-running applies nothing', async () => {
  const { rows } = await db.query('SELECT version, name FROM schema_migrations ORDER BY version');
  assert.ok(rows.length >= 1);
  assert.equal(rows[0].name, '001_init.sql');
  const out = execFileSync(join(GTX_BIN, 'ingestd'), ['-m'], {
    env: { ...process.env, DATABASE_URL: env.DATABASE_URL, SQL_DIR: join(ROOT, 'sql') }, encoding: 'utf8',
  });
  assert.match(out, /0 applied/);
  const again = await db.query('SELECT count(*)::int AS n FROM schema_migrations');
  assert.equal(again.rows[0].n, rows.length);
});

test('a missing migrations directory is an error that names it', () => {
  const r = spawnSync(join(GTX_BIN, 'mintd'), ['-m'], {
    env: { ...process.env, DATABASE_URL: env.DATABASE_URL, SQL_DIR: '/nonexistent-dir' }, encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nonexistent-dir/);
});

test('a migration changed after it was applied is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gtx-sql-'));
  cpSync(join(ROOT, 'sql'), dir, { recursive: true });
  appendFileSync(join(dir, '001_init.sql'), '\n-- edited\n');
  const r = spawnSync(join(GTX_BIN, 'ingestd'), ['-m'], {
    env: { ...process.env, DATABASE_URL: env.DATABASE_URL, SQL_DIR: dir }, encoding: 'utf8',
  });
  rmSync(dir, { recursive: true });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /001_init\.sql was changed after it was applied/);
});

test('tables of the first schema exist', async () => {
  const { rows } = await db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
  const names = rows.map((r) => r.table_name);
  for (const t of ['meters', 'meter_readings', 'mint_transactions', 'mint_transaction_readings',
    'minting_retry_queue', 'settings', 'schema_migrations']) assert.ok(names.includes(t), t);
  const s = await db.query(`SELECT value FROM settings WHERE key = 'auto_mint_enabled'`);
  assert.equal(s.rows[0].value, 'true');
});

const WALLET = '9C6hybhQ6Aycep9jaUnP6uL9ZYvDjUp1aSkFWPUFJtpj';
const WINDOW_US = 900n * 1000000n;

async function addMeter(serial) {
  await db.query(`INSERT INTO meters (meter_serial, public_key, wallet_address) VALUES ($1, $2, $3)`,
    [serial, Buffer.alloc(32, 7), WALLET]);
}

function readingParams(serial, tsIso) {
  const us = BigInt(Date.parse(tsIso)) * 1000n;
  return [randomUUID(), serial, WALLET, '1500000', '1500000000', tsIso, us.toString(),
    `[${us},${us + WINDOW_US})`, 'sig'];
}
const INSERT = `INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount,
  reading_timestamp, reading_us, dup_window, meter_signature)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int8range, $9)`;

test('two concurrent inserts of duplicate readings cannot both commit', async () => {
  await addMeter('MTR-DUP-1');
  const a = pgClient(env), b = pgClient(env);
  await a.connect(); await b.connect();
  try {
    await a.query('BEGIN'); await b.query('BEGIN');
    const bPid = (await b.query('SELECT pg_backend_pid() AS p')).rows[0].p;
    await a.query(INSERT, readingParams('MTR-DUP-1', '2026-11-24T06:00:00Z'));
    // b's reading is 10 minutes later: inside the 15-minute window. It must wait for a, then fail.
    const bInsert = b.query(INSERT, readingParams('MTR-DUP-1', '2026-11-24T06:10:00Z'))
      .then(() => 'inserted', (e) => e.code);
    // a commits only once b is seen waiting for a's row (not after a pause that may be too short)
    await waitFor(async () => (await db.query(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [bPid]))
      .rows[0]?.wait_event_type === 'Lock', { what: 'the second insert waiting for the first' });
    await a.query('COMMIT');
    const outcome = await bInsert;
    await b.query('ROLLBACK');
    assert.equal(outcome, '23P01', 'exclusion_violation expected for the second insert');
  } finally {
    await a.end(); await b.end();
  }
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE meter_serial = 'MTR-DUP-1'`);
  assert.equal(rows[0].n, 1);
});

test('many parallel duplicates: exactly one stored; readings a full window apart are fine', async () => {
  await addMeter('MTR-DUP-2');
  const clients = await Promise.all(Array.from({ length: 8 }, async () => { const c = pgClient(env); await c.connect(); return c; }));
  const results = await Promise.allSettled(clients.map((c, i) =>
    c.query(INSERT, readingParams('MTR-DUP-2', `2026-11-24T07:0${i}:00Z`))));
  await Promise.all(clients.map((c) => c.end()));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  // A loser is refused by the exclusion constraint (23P01) or, when two of them waited on each other's
  // uncommitted rows, by the deadlock detector (40P01): plain INSERTs into an exclusion constraint can
  // deadlock (ingestd writes such a group again: ingestd_conflicts.test.mjs). Seen once with both cores busy.
  for (const r of results.filter((x) => x.status === 'rejected')) assert.ok(['23P01', '40P01'].includes(r.reason.code), r.reason.message);
  // exactly 15 minutes after the stored one (whichever won) there is room for at most one more
  await db.query(INSERT, readingParams('MTR-DUP-2', '2026-11-24T09:00:00Z'));
  await assert.rejects(db.query(INSERT, readingParams('MTR-DUP-2', '2026-11-24T09:14:59Z')), { code: '23P01' });
  await db.query(INSERT, readingParams('MTR-DUP-2', '2026-11-24T09:15:00Z'));
});

test('constraints guard amounts and states', async () => {
  await addMeter('MTR-CHK');
  const p = readingParams('MTR-CHK', '2026-11-20T00:00:00Z');
  await assert.rejects(db.query(INSERT, [p[0], p[1], p[2], '0', ...p.slice(4)]), { code: '23514' });
  const q = readingParams('MTR-CHK', '2026-11-21T00:00:00Z');
  await assert.rejects(db.query(INSERT, [...q.slice(0, 6), '1', ...q.slice(7)]), { code: '23514' }); // reading_us mismatch
  const r = readingParams('MTR-CHK', '2026-11-22T00:00:00Z');
  await db.query(INSERT, r);
  await assert.rejects(db.query(`UPDATE meter_readings SET minted = true WHERE id = $1`, [r[0]]), { code: '23514' });
  // pending -> minted: the lifecycle trigger refuses it before the CHECKs would
  await assert.rejects(db.query(`UPDATE meter_readings SET status = 'minted', minted = true WHERE id = $1`, [r[0]]), { code: '23514' });
  await assert.rejects(db.query(`UPDATE meter_readings SET status = 'bogus' WHERE id = $1`, [r[0]]), { code: '23514' });
});

test('a reading names a registered meter for good: unknown refused (23503), meters never deleted or re-keyed', async () => {
  await addMeter('MTR-KEY-1');
  await addMeter('MTR-KEY-2');
  const ids = Object.fromEntries((await db.query(`SELECT meter_serial, id FROM meters WHERE meter_serial LIKE 'MTR-KEY-%'`))
    .rows.map((r) => [r.meter_serial, r.id]));
  const withId = (serial, id, tsIso) => {
    const p = readingParams(serial, tsIso);
    return db.query(`INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount,
      reading_timestamp, reading_us, dup_window, meter_signature, meter_id)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int8range, $9, $10)`, [...p, id]);
  };
  // an id that is another meter's, and an id no meter has: refused like the foreign key did
  await assert.rejects(withId('MTR-KEY-1', ids['MTR-KEY-2'], '2026-11-24T10:00:00Z'), { code: '23503' });
  await assert.rejects(withId('MTR-KEY-1', '999999999', '2026-11-24T10:00:00Z'), { code: '23503' });
  // one bad row in a multi-row INSERT: nothing of the statement is stored
  const good = readingParams('MTR-KEY-1', '2026-11-24T11:00:00Z'), bad = readingParams('MTR-KEY-2', '2026-11-24T11:30:00Z');
  await assert.rejects(db.query(`INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount,
    reading_timestamp, reading_us, dup_window, meter_signature, meter_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int8range, $9, $10), ($11, $12, $13, $14, $15, $16, $17, $18::int8range, $19, $20)`,
  [...good, ids['MTR-KEY-1'], ...bad, ids['MTR-KEY-1']]), { code: '23503' });
  await withId('MTR-KEY-1', ids['MTR-KEY-1'], '2026-11-24T12:00:00Z');
  const n = async () => (await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE meter_serial LIKE 'MTR-KEY-%'`)).rows[0].n;
  assert.equal(await n(), 1);
  // meters are deactivated, never deleted (with readings or without), truncated or re-keyed
  await assert.rejects(db.query(`DELETE FROM meters WHERE meter_serial = 'MTR-KEY-2'`), /never deleted/);
  await assert.rejects(db.query(`DELETE FROM meters WHERE meter_serial = 'MTR-KEY-1'`), /never deleted/);
  await assert.rejects(db.query('TRUNCATE meters CASCADE'), /never deleted/);
  await assert.rejects(db.query(`UPDATE meters SET meter_serial = 'MTR-KEY-3' WHERE meter_serial = 'MTR-KEY-2'`), /never change/);
  await db.query(`UPDATE meters SET active = false, meter_serial = meter_serial WHERE meter_serial = 'MTR-KEY-2'`);
  // and a reading never changes meter
  await assert.rejects(db.query(`UPDATE meter_readings SET meter_serial = 'MTR-KEY-2', meter_id = $1
    WHERE meter_serial = 'MTR-KEY-1'`, [ids['MTR-KEY-2']]), /stays with meter MTR-KEY-1/);
  assert.equal(await n(), 1);
  assert.equal((await db.query(`SELECT count(*)::int AS n FROM meters WHERE meter_serial LIKE 'MTR-KEY-%'`)).rows[0].n, 2);
});

// The statement's meter check (sql/011) looks each inserted row's meter up by id, whatever the planner thinks.
// As NOT EXISTS (sql/010) it was a join, and PostgreSQL read and hashed the whole meters table whenever it
// judged that cheaper than probing the index: for example with a few thousand meters registered and no
// statistics on them yet (a new fleet, or the bench's), for a statement of 20 readings. Those are the conditions
// here (autovacuum held off meters meanwhile, so that statistics do not appear half-way); the statement must not
// scan meters (pg_stat_xact_user_tables: the scans of this transaction only).
test('the meter check probes meters by id, never reading the whole table', async () => {
  await db.query('ALTER TABLE meters SET (autovacuum_enabled = false)');
  const c = pgClient(env);
  try {
    await db.query(`INSERT INTO meters (meter_serial, public_key, wallet_address)
      SELECT 'PLAN-' || g, decode(lpad(to_hex(g), 64, '0'), 'hex'), $1 FROM generate_series(1, 2000) g`, [WALLET]);
    const ids = (await db.query(`SELECT id, meter_serial FROM meters WHERE meter_serial LIKE 'PLAN-%'
      ORDER BY id LIMIT 20`)).rows;
    const t = BigInt(Date.parse('2026-11-25T00:00:00Z')) * 1000n;
    await c.connect();
    await c.query('BEGIN');
    // written without reading meters: ids and serials come as parameters
    await c.query(`INSERT INTO meter_readings (id, meter_serial, meter_id, wallet_address, kwh_micro, token_amount,
        reading_timestamp, reading_us, dup_window, meter_signature)
      SELECT gen_random_uuid(), m.serial, m.id, $3, 1500000, 1500000000, to_timestamp($4::bigint / 1000000.0), $4,
        int8range($4, $4 + $5::bigint), 'sig'
      FROM unnest($1::text[], $2::bigint[]) AS m(serial, id)`,
    [ids.map((r) => r.meter_serial), ids.map((r) => r.id), WALLET, t.toString(), WINDOW_US.toString()]);
    const { rows } = await c.query(`SELECT seq_scan::int AS n FROM pg_stat_xact_user_tables WHERE relname = 'meters'`);
    await c.query('COMMIT');
    assert.equal(rows[0].n, 0, 'sequential scans of meters by a 20-row INSERT');
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE meter_serial LIKE 'PLAN-%'`))
      .rows[0].n, 20);
  } finally {
    await c.end();
    await db.query('ALTER TABLE meters RESET (autovacuum_enabled)');
  }
});

// The lifecycles as the daemons use them (mintd/store.c, ingestd's admin re-queue); sql/005_lifecycle.sql must
// allow exactly these, whoever asks. Written out here, not read from the schema, so that a changed table fails.
const READING_MOVES = ['pending>claimed', 'claimed>pending', 'claimed>submitted', 'claimed>retrying', 'claimed>failed',
  'submitted>minted', 'submitted>pending', 'submitted>retrying', 'submitted>failed', 'retrying>claimed', 'failed>pending',
  'claimed>waiting', 'waiting>claimed'];
const READING_STATES = ['pending', 'claimed', 'waiting', 'submitted', 'minted', 'retrying', 'failed'];
// A legal way from pending to each state.
const READING_PATH = { pending: [], claimed: ['claimed'], submitted: ['claimed', 'submitted'],
  minted: ['claimed', 'submitted', 'minted'], retrying: ['claimed', 'retrying'], failed: ['claimed', 'failed'],
  waiting: ['claimed', 'waiting'] };
// Sets a reading's status with the columns its CHECK constraints tie to it.
const SET_STATUS = `UPDATE meter_readings SET status = $2, claimed_by = CASE WHEN $2 = 'claimed' THEN 'lc' END,
  minted = ($2 = 'minted'), mint_after = CASE WHEN $2 = 'waiting' THEN now() END WHERE id = $1`;
let lcHour = 0;

async function lcReading() {
  const p = readingParams('MTR-LC', new Date(Date.UTC(2026, 9, 1) + 3600_000 * lcHour++).toISOString());
  const tx = (await db.query(`INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash, last_valid_block_height)
    VALUES ($1, $2, '\\x00', 'bh', 0) RETURNING id`, [randomUUID(), `lc-${randomUUID()}`])).rows[0].id;
  await db.query(INSERT, p);
  // mint_tx_id and a signature from the start, so that submitted and minted are reachable by status alone
  await db.query(`UPDATE meter_readings SET mint_tx_id = $2, mint_tx_signature = 'lc-sig' WHERE id = $1`, [p[0], tx]);
  return p[0];
}

test('the reading lifecycle: PostgreSQL allows exactly the transitions the daemons make, to the schema owner too', async () => {
  await addMeter('MTR-LC');
  const owner = (await db.query(`SELECT tableowner = current_user AS own FROM pg_tables WHERE tablename = 'meter_readings'`)).rows[0];
  assert.equal(owner.own, true, 'this session is the schema owner');
  const got = [];
  for (const from of READING_STATES) {
    for (const to of READING_STATES) {
      if (from === to) continue;
      const id = await lcReading();
      for (const st of READING_PATH[from]) await db.query(SET_STATUS, [id, st]);
      try {
        await db.query(SET_STATUS, [id, to]);
        got.push(`${from}>${to}`);
      } catch (e) {
        assert.equal(e.code, '23514', e.message);
        assert.match(e.message, new RegExp(`${from} -> ${to} is not a transition of the reading lifecycle`));
      }
    }
  }
  assert.deepEqual(got.sort(), [...READING_MOVES].sort());
  // an update that leaves the status alone is no transition
  const id = await lcReading();
  await db.query(`UPDATE meter_readings SET status = 'pending', meter_signature = 'again' WHERE id = $1`, [id]);
});

test('nothing moves a minted reading back to pending, not even the schema owner with plain SQL', async () => {
  const id = await lcReading();
  for (const st of READING_PATH.minted) await db.query(SET_STATUS, [id, st]);
  await assert.rejects(db.query(`UPDATE meter_readings SET status = 'pending', minted = false, mint_tx_signature = NULL
    WHERE id = $1`, [id]), (e) => e.code === '23514' && /minted -> pending is not a transition/.test(e.message));
  await assert.rejects(db.query(`UPDATE meter_readings SET status = 'pending', minted = false WHERE status = 'minted'`),
    { code: '23514' });
  const { rows } = await db.query(`SELECT status, minted FROM meter_readings WHERE id = $1`, [id]);
  assert.deepEqual(rows, [{ status: 'minted', minted: true }]);
  // and a reading cannot be born anything but pending
  const p = readingParams('MTR-LC', new Date(Date.UTC(2026, 9, 1) + 3600_000 * lcHour++).toISOString());
  await assert.rejects(db.query(`INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount,
    reading_timestamp, reading_us, dup_window, meter_signature, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int8range, $9,
    'retrying')`, p), (e) => e.code === '23514' && /stored pending, not retrying/.test(e.message));
});

test('the transaction lifecycle: pending -> confirmed | failed | expired, final states never change', async () => {
  const STATES = ['pending', 'confirmed', 'failed', 'expired'];
  const got = [];
  const newTx = async () => (await db.query(`INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash,
    last_valid_block_height) VALUES ($1, $2, '\\x00', 'bh', 0) RETURNING id`, [randomUUID(), `lc-${randomUUID()}`])).rows[0].id;
  const set = `UPDATE mint_transactions SET state = $2, finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
    WHERE id = $1`;
  for (const from of STATES) {
    for (const to of STATES) {
      if (from === to) continue;
      const id = await newTx();
      if (from !== 'pending') await db.query(set, [id, from]);
      try {
        await db.query(set, [id, to]);
        got.push(`${from}>${to}`);
      } catch (e) {
        assert.equal(e.code, '23514', e.message);
        assert.match(e.message, new RegExp(`${from} -> ${to} is not a transition of the transaction lifecycle`));
      }
    }
  }
  assert.deepEqual(got.sort(), ['pending>confirmed', 'pending>expired', 'pending>failed']);
  await assert.rejects(db.query(`INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash,
    last_valid_block_height, state, finished_at) VALUES ($1, $2, '\\x00', 'bh', 0, 'confirmed', now())`,
  [randomUUID(), `lc-${randomUUID()}`]), (e) => e.code === '23514' && /recorded pending, not confirmed/.test(e.message));
});

test('the schema says the lifecycle in its column comments', async () => {
  const { rows } = await db.query(`SELECT col_description('meter_readings'::regclass, attnum) AS c FROM pg_attribute
    WHERE attrelid = 'meter_readings'::regclass AND attname = 'status'`);
  assert.match(rows[0].c, /retrying -> claimed/);
  assert.doesNotMatch(rows[0].c, /retrying -> pending/);
});
