// ingestd_groups.test.mjs: group commit. While one group is being written, readings gather into the next; that
// group starts beside the running one only once it holds INGESTD_GROUP_COMMIT_MIN_ROWS readings (a statement
// costs PostgreSQL far more than a row), otherwise when the running one commits. A lock on meter_readings holds
// the running group so the test decides what arrives while it runs; the group sizes are read from /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, pgClient } from './lib/stack.mjs';
import { newMeter, reading, tsAt, openStack, closeStack, errorOf } from './ingestd_lib.mjs';

const MIN_ROWS = 4;
let ctx, env, db, api, seq = 0;
const meters = [];

before(async () => {
  ctx = await openStack({ INGESTD_GROUP_COMMIT_MIN_ROWS: `${MIN_ROWS}`, INGESTD_GROUP_COMMIT_CONCURRENCY: '2' });
  ({ env, db, api } = ctx);
  for (let i = 0; i < 8; i++) {
    meters.push(newMeter('GRP'));
    await api.register(meters[i]);
  }
});

after(async () => {
  const problems = await closeStack(ctx);
  assert.deepEqual(problems, [], 'daemon log problems');
});

async function metric(name) {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec((await api.call('GET', '/metrics')).text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}
const groups = async () => ({ count: await metric('ingestd_group_commit_rows_count'),
  rows: await metric('ingestd_group_commit_rows_sum') });
// ingestd's group INSERTs now waiting for the test's lock
const waitingInserts = async () => (await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity
  WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO meter_readings%'`)).rows[0].n;

// n readings from distinct meters (each meter's readings a duplicate window apart), posted at once
function post(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    seq += 1;
    out.push(api.submit(reading(meters[seq % meters.length], { timestamp: tsAt(seq) })));
  }
  return out;
}

// Holds meter_readings against INSERTs, sends one reading and waits until its group is blocked on the lock.
async function holdFirstGroup() {
  const lock = pgClient(env);
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE meter_readings IN EXCLUSIVE MODE');
  const first = post(1);
  await waitFor(async () => (await waitingInserts()) === 1, { what: 'the first group waiting on the lock' });
  return { lock, first };
}

async function release({ lock }) {
  await lock.query('ROLLBACK');
  await lock.end();
}

const allStored = async (answers) => {
  for (const r of await Promise.all(answers)) assert.equal(r.status, 201, r.text);
};

test('readings that arrive while a group is written wait for it and go together, not one statement each', async () => {
  const g0 = await groups();
  const held = await holdFirstGroup();
  let more = [];
  try {
    more = post(MIN_ROWS - 1);
    await waitFor(async () => (await metric('ingestd_store_pending')) === MIN_ROWS, { what: 'all readings queued' });
    assert.equal(await waitingInserts(), 1, 'no second statement for fewer than MIN_ROWS readings');
  } finally {
    await release(held);
  }
  await allStored([...held.first, ...more]);
  const g1 = await groups();
  // Sent as they came (the old rule), the three would have been a group of one beside the first and then a
  // group of two: three statements.
  assert.deepEqual({ count: g1.count - g0.count, rows: g1.rows - g0.rows }, { count: 2, rows: MIN_ROWS });
});

test('a group of MIN_ROWS readings starts beside the running one; what comes after gathers behind both', async () => {
  const g0 = await groups();
  const held = await holdFirstGroup();
  let second = [], third = [];
  try {
    second = post(MIN_ROWS);
    await waitFor(async () => (await waitingInserts()) === 2, { what: 'the second group started beside the first' });
    third = post(2); // INGESTD_GROUP_COMMIT_CONCURRENCY=2 are running: these wait
    await waitFor(async () => (await metric('ingestd_store_pending')) === 1 + MIN_ROWS + 2, { what: 'all queued' });
    assert.equal(await waitingInserts(), 2);
  } finally {
    await release(held);
  }
  await allStored([...held.first, ...second, ...third]);
  const g1 = await groups();
  assert.deepEqual({ count: g1.count - g0.count, rows: g1.rows - g0.rows }, { count: 3, rows: 1 + MIN_ROWS + 2 });
});

test('a lone reading is written at once, without waiting for company', async () => {
  const g0 = await groups();
  const [r] = post(1);
  assert.equal((await r).status, 201);
  const g1 = await groups();
  assert.deepEqual({ count: g1.count - g0.count, rows: g1.rows - g0.rows }, { count: 1, rows: 1 });
});

// Signatures are checked in batches (common/edbatch.c): every check queued in one turn of ingestd's event loop
// is verified together at the turn's end. A batch request's items are all queued in the turn that read it (or
// that brought its meters from the database, in one query), so its 40 signatures are one batch, and two bad ones
// among them fail alone: a batch that fails is checked again one by one. Every check is counted.
test('a batch request is one signature batch; its bad signatures fail alone', async () => {
  const own = [];
  for (let i = 0; i < 40; i++) {
    own.push(newMeter('VFY'));
    await api.register(own[i]);
  }
  const n0 = await metric('ingestd_signatures_checked_total');
  const b0 = await metric('ingestd_signature_batches_total');
  const s0 = await metric('ingestd_signature_check_cpu_seconds_total');
  const f0 = await metric('ingestd_signature_batch_fallbacks_total');
  const bad = new Set([3, 17]);
  const items = own.map((m, i) => {
    seq += 1;
    // signed by another meter's key: a real signature, just not this meter's
    return reading(m, { timestamp: tsAt(seq), signer: bad.has(i) ? own[(i + 1) % own.length] : m });
  });
  const r = await api.batch(items);
  assert.equal(r.status, 200, r.text);
  for (const x of r.json.results) {
    if (bad.has(x.index)) {
      assert.equal(x.status, 401, JSON.stringify(x));
      assert.equal(x.error.code, 'invalid_signature');
      assert.equal(x.error.field, 'meter_signature');
    } else assert.equal(x.status, 201, JSON.stringify(x));
  }
  assert.equal(r.json.accepted, 38);
  assert.equal((await db.query('SELECT count(*)::int AS n FROM meter_readings r JOIN meters m ON m.id = r.meter_id ' +
    'WHERE m.meter_serial = ANY($1)', [[...bad].map((i) => own[i].serial)])).rows[0].n, 0, 'nothing stored for the bad');
  assert.equal((await metric('ingestd_signatures_checked_total')) - n0, 40);
  assert.equal((await metric('ingestd_signature_batches_total')) - b0, 1, 'one batch for one request');
  assert.equal((await metric('ingestd_signature_batch_fallbacks_total')) - f0, 1, 'checked one by one after failing');
  const secs = (await metric('ingestd_signature_check_cpu_seconds_total')) - s0;
  // real Ed25519 arithmetic: microseconds per signature, not nothing and not seconds (sanitized builds included)
  assert.ok(secs > 40 * 1e-6 && secs < 40 * 0.1, `${secs} s of CPU for 40 signatures`);
});

// A meter's backlog in one request: its readings, signed by one key, share the key's term in one multiplication
// (common/edbatch.c). They pass as a batch, not through the one-by-one fallback; and a reading in the backlog
// signed by another key still fails alone. (Each backlog is as long as the meter's rate burst, 10 here.)
test("a meter's backlog is one signature batch; a bad reading in it fails alone", async () => {
  const other = newMeter('BKL');
  const backlog = async (badAt) => {
    const m = newMeter('BKL');
    await api.register(m);
    const items = [];
    for (let i = 0; i < 10; i++) {
      seq += 1;
      items.push(reading(m, { timestamp: tsAt(seq), signer: i === badAt ? other : m }));
    }
    const b0 = await metric('ingestd_signature_batches_total');
    const f0 = await metric('ingestd_signature_batch_fallbacks_total');
    const r = await api.batch(items);
    assert.equal(r.status, 200, r.text);
    for (const x of r.json.results)
      assert.equal(x.status, x.index === badAt ? 401 : 201, JSON.stringify(x));
    assert.equal((await metric('ingestd_signature_batches_total')) - b0, 1, 'one batch for one request');
    assert.equal((await db.query('SELECT count(*)::int AS n FROM meter_readings r JOIN meters k ON k.id = r.meter_id ' +
      'WHERE k.meter_serial = $1', [m.serial])).rows[0].n, badAt < 0 ? 10 : 9);
    return (await metric('ingestd_signature_batch_fallbacks_total')) - f0;
  };
  assert.equal(await backlog(-1), 0, 'a valid backlog passes as one batch');
  assert.equal(await backlog(6), 1, 'a backlog with a bad signature is checked one by one');
});

// Single readings sent at once share batches with each other; a bad one among them fails alone.
test('single readings checked in company: each keeps its own verdict', async () => {
  const n0 = await metric('ingestd_signatures_checked_total');
  const answers = [];
  for (let i = 0; i < 24; i++) {
    seq += 1;
    const m = meters[i % meters.length];
    answers.push(api.submit(reading(m, { timestamp: tsAt(seq), signer: i === 11 ? meters[(i + 1) % meters.length] : m })));
  }
  const got = await Promise.all(answers);
  got.forEach((r, i) => assert.equal(r.status, i === 11 ? 401 : 201, `${i}: ${r.text}`));
  assert.equal(errorOf(got[11]).code, 'invalid_signature');
  assert.equal((await metric('ingestd_signatures_checked_total')) - n0, 24);
});

// A group INSERT does not read the meters table: ingestd names each reading's meter id (from its meter cache),
// and the statement's meter check (sql/011) probes meters by id. Before, the INSERT joined meters on the serial,
// and PostgreSQL's generic plan for it (after five executions on a connection) hashed the whole table whenever
// it judged that cheaper than probing: with a few thousand meters and no statistics on them yet (a new fleet, or
// the bench's). Those are the conditions here (autovacuum held off meters meanwhile), with 30 groups posted one
// after another so that every connection reaches its generic plan; not one sequential scan of meters may come
// from them. PostgreSQL reports a backend's table counters when it goes idle, within about 10 s; the readings'
// inserts are counted in the same report, so once they show, the scans the same transactions made show too.
test('group INSERTs never scan the meters table', async () => {
  await db.query('ALTER TABLE meters SET (autovacuum_enabled = false)');
  await db.query(`INSERT INTO meters (meter_serial, public_key, wallet_address)
    SELECT 'FILL-' || g, decode(lpad(to_hex(g), 64, '0'), 'hex'), '11111111111111111111111111111111'
    FROM generate_series(1, 2000) g`);
  const own = [];
  for (let i = 0; i < 40; i++) {
    own.push(newMeter('SCAN'));
    await api.register(own[i]);
  }
  const stats = async () => (await db.query(`SELECT
      (SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'meters')::int AS scans,
      (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'meter_readings')::int AS inserted`)).rows[0];
  // the earlier tests' inserts reported first, so that only this test's can satisfy the wait below
  const stored = (await db.query('SELECT count(*)::int AS n FROM meter_readings')).rows[0].n;
  const s0 = await waitFor(async () => { const s = await stats(); return s.inserted >= stored && s; },
    { timeout: 60000, interval: 250, what: 'the earlier inserts in pg_stat_user_tables' });
  // 30 rounds of 4 readings, each meter's 3 readings a duplicate window apart (and within its rate limit)
  for (let r = 0; r < 30; r++) {
    const k = (r * 4) % own.length, t = tsAt(Math.floor((r * 4) / own.length));
    await allStored(own.slice(k, k + 4).map((m) => api.submit(reading(m, { timestamp: t }))));
  }
  const s1 = await waitFor(async () => { const s = await stats(); return s.inserted >= s0.inserted + 120 && s; },
    { timeout: 60000, interval: 250, what: 'the inserts in pg_stat_user_tables' });
  await db.query('ALTER TABLE meters RESET (autovacuum_enabled)');
  assert.equal(s1.scans - s0.scans, 0, 'sequential scans of meters during the group INSERTs');
});
