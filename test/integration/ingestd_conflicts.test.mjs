// ingestd_conflicts.test.mjs: how a group INSERT meets readings in its way. A group is written by a plain
// INSERT (one exclusion check per row); when a reading collides (with a stored one, or another in the same
// group) or the group loses a deadlock to a concurrent writer, the transaction rolls back and the same group
// is written again with ON CONFLICT DO NOTHING, which skips the rows in the way; they are then answered 200
// (replay) or 409 (duplicate). The next SKIP_SPAN (64, ingestd/store.c) groups go with ON CONFLICT at once.
// Which statement a group runs is read from pg_stat_activity while a lock on meter_readings holds it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { waitFor, pgClient } from './lib/stack.mjs';
import { newMeter, reading, tsAt, openStack, closeStack } from './ingestd_lib.mjs';

const SKIP_SPAN = 64;
let ctx, env, db, api, seq = 0;
let filler;

before(async () => {
  // the filler meter posts more than the default per-meter rate allows
  ctx = await openStack({ INGESTD_GROUP_COMMIT_CONCURRENCY: '1', INGESTD_METER_RATE_PER_MIN: '100000',
    INGESTD_METER_RATE_BURST: '100000' });
  ({ env, db, api } = ctx);
  filler = await meter();
});

after(async () => {
  const problems = await closeStack(ctx);
  assert.deepEqual(problems, [], 'daemon log problems');
});

async function meter() {
  const m = newMeter('CNF');
  await api.register(m);
  return m;
}

async function metric(name) {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec((await api.call('GET', '/metrics')).text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}
const rewrites = () => metric('ingestd_group_commit_rewrites_total');

// ingestd's group INSERTs waiting on a lock, with their statement text
const waiting = async () => (await db.query(`SELECT query FROM pg_stat_activity
  WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO meter_readings%'`)).rows.map((r) => r.query);

// The statement the next group runs: one reading (of the filler meter) held behind a table lock.
async function nextStatement() {
  const lock = pgClient(env);
  await lock.connect();
  let answer;
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE meter_readings IN EXCLUSIVE MODE');
    answer = api.submit(reading(filler, { timestamp: tsAt(seq++) }));
    await waitFor(async () => (await waiting()).length === 1, { what: 'the group waiting on the lock' });
    const [q] = await waiting();
    return /ON CONFLICT DO NOTHING/.test(q) ? 'on conflict' : 'plain';
  } finally {
    await lock.query('ROLLBACK');
    await lock.end();
    if (answer) assert.equal((await answer).status, 201);
  }
}

test('a group with nothing in its way is written by the plain INSERT', async () => {
  const r0 = await rewrites();
  assert.equal(await nextStatement(), 'plain');
  const m = await meter();
  const r = await api.batch([reading(m, { timestamp: tsAt(0) }), reading(m, { timestamp: tsAt(1) })]);
  assert.deepEqual(r.json.results.map((x) => x.status), [201, 201]);
  assert.equal(await rewrites(), r0, 'no group was written twice');
});

test('a group that meets a reading in its way is written again: every reading gets its own answer', async () => {
  const m = await meter(), other = await meter();
  const first = reading(m, { timestamp: tsAt(0) });
  const stored = await api.submit(first);
  assert.equal(stored.status, 201);
  const r0 = await rewrites();
  // one batch, one group: a new reading, a replay, a duplicate of the stored one, and two readings that collide
  // with each other (the first one wins)
  const fresh = reading(other, { timestamp: tsAt(3) });
  const near = reading(m, { timestamp: new Date(Date.parse(tsAt(0)) + 60e3).toISOString() });
  const pairA = reading(other, { timestamp: tsAt(5) });
  const pairB = reading(other, { timestamp: new Date(Date.parse(tsAt(5)) + 60e3).toISOString() });
  const r = await api.batch([fresh, first, near, pairA, pairB]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => x.status), [201, 200, 409, 201, 409]);
  assert.equal(r.json.results[1].id, stored.json.id, 'the replay names the stored reading');
  assert.equal(r.json.results[2].error.existing_reading_id, stored.json.id);
  assert.equal(r.json.results[4].error.existing_reading_id, r.json.results[3].id);
  assert.equal(await rewrites(), r0 + 1, 'the plain INSERT failed once and the group was written again');
  const { rows } = await db.query(`SELECT id::text FROM meter_readings WHERE meter_serial = ANY($1) ORDER BY id`,
    [[m.serial, other.serial]]);
  assert.deepEqual(rows.map((x) => x.id).sort(), [stored.json.id, r.json.results[0].id, r.json.results[3].id].sort());
  // Duplicates were seen: the following groups skip the failing attempt, until SKIP_SPAN clean groups went by.
  assert.equal(await nextStatement(), 'on conflict');
  for (let i = 1; i < SKIP_SPAN; i++) assert.equal((await api.submit(reading(filler, { timestamp: tsAt(seq++) }))).status, 201);
  assert.equal(await nextStatement(), 'plain');
  assert.equal(await rewrites(), r0 + 1);
});

// The schema's own INSERT (the fill trigger supplies meter_id), for a writer beside ingestd.
const WINDOW_US = 900n * 1000000n;
async function insertBeside(client, m, tsIso) {
  const us = BigInt(Date.parse(tsIso)) * 1000n;
  await client.query(`INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount,
    reading_timestamp, reading_us, dup_window, meter_signature) VALUES ($1, $2, $3, 1500000, 1500000000, $4, $5,
    $6::int8range, 'beside')`, [randomUUID(), m.serial, m.wallet, tsIso, us.toString(), `[${us},${us + WINDOW_US})`]);
}

// One deadlock between a group of ingestd's and a writer beside it, which commits: the group's two readings
// each collide with one of the writer's, so both are answered 409. `statement` is what the group runs first.
async function loseDeadlock(statement) {
  const x = await meter(), y = await meter();
  const r0 = await rewrites();
  const t = pgClient(env);
  await t.connect();
  let batch;
  try {
    await t.query('BEGIN');
    // ingestd's backend must be the one to find the deadlock (after its deadlock_timeout, 1 s): this one never looks
    await t.query(`SET LOCAL deadlock_timeout = '1h'`);
    await insertBeside(t, x, tsAt(10));
    // The group inserts y's reading, then waits for t on x's (t's row at tsAt(10) is in its window) ...
    batch = api.batch([reading(y, { timestamp: tsAt(20) }),
      reading(x, { timestamp: new Date(Date.parse(tsAt(10)) + 120e3).toISOString() })]);
    await waitFor(async () => (await waiting()).length === 1, { what: 'the group waiting for the other writer' });
    assert.equal(/ON CONFLICT DO NOTHING/.test((await waiting())[0]) ? 'on conflict' : 'plain', statement);
    // ... and t now waits for the group on y's: a deadlock. The group's transaction is cancelled (40P01),
    // which lets t's INSERT through; the group, written again, waits for t and finds both readings in its way.
    await insertBeside(t, y, new Date(Date.parse(tsAt(20)) + 120e3).toISOString());
    await t.query('COMMIT');
  } finally {
    await t.end();
  }
  const r = await batch;
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((i) => i.status), [409, 409], r.text);
  assert.equal(await rewrites(), r0 + 1);
  const { rows } = await db.query(`SELECT meter_signature FROM meter_readings WHERE meter_serial = ANY($1)`,
    [[x.serial, y.serial]]);
  assert.deepEqual(rows.map((z) => z.meter_signature), ['beside', 'beside']);
}

test('a group that loses a deadlock to a concurrent writer is written again, not failed', async () => {
  assert.equal(await nextStatement(), 'plain');
  await loseDeadlock('plain');
  // With ON CONFLICT DO NOTHING a group of several rows can deadlock too: it is written again all the same.
  assert.equal(await nextStatement(), 'on conflict');
  await loseDeadlock('on conflict');
});
