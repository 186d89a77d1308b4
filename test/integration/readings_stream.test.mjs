// readings_stream.test.mjs: the readings stream stays bounded. mintd deletes the entries it settled, and
// ingestd caps the stream (REDIS_READINGS_STREAM_MAXLEN) for while mintd is away; a reading whose entry was
// trimmed before mintd read it is minted all the same (mintd's sweep claims it from PostgreSQL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import { openMintdStack, closeMintdStack } from './lib/mintd.mjs';
import { newMeter, reading, tsAt, client } from './ingestd_lib.mjs';

const STREAM = 'gridtokenx:readings';
const CAP = 1000; // the least REDIS_READINGS_STREAM_MAXLEN allows
let ctx, api;

before(async () => {
  ctx = await openMintdStack({
    ingestd: true, start: false,
    stackEnv: { REDIS_READINGS_STREAM_MAXLEN: String(CAP), INGESTD_METER_RATE_PER_MIN: '100000', INGESTD_METER_RATE_BURST: '100000' },
  });
  api = client(ctx.env);
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

test('with mintd away the stream keeps about REDIS_READINGS_STREAM_MAXLEN entries; mintd then mints every reading and leaves it empty', async () => {
  const { db, redis, env, stack } = ctx;
  const meters = [];
  for (let i = 0; i < 50; i++) {
    const m = newMeter('RSTREAM');
    await api.register(m);
    meters.push(m);
  }
  const ids = [];
  for (let round = 0; round < 5; round++) { // 5 batches of 500: 2,500 readings, 50 per meter
    const items = [];
    for (const m of meters) for (let j = round * 10; j < round * 10 + 10; j++) items.push(reading(m, { timestamp: tsAt(j), kwh: `${j + 1}.000125` }));
    const r = await api.batch(items);
    assert.equal(r.status, 200, r.text);
    for (const x of r.json.results) {
      assert.equal(x.status, 201, JSON.stringify(x));
      ids.push(x.id);
    }
  }
  // Every id went onto the stream (ingestd counts the XADDs), and MAXLEN ~ kept the stream near the cap: it trims
  // whole nodes of the stream (100 entries here), so never below the cap and at most a node or so above it.
  await waitFor(async () => (await (await fetch(`${env.INGESTD_URL}/metrics`)).text()).includes(`ingestd_queue_pushed_total ${ids.length}\n`),
    { what: 'every reading id sent to the stream' });
  const len = await redis.xLen(STREAM);
  assert.ok(len >= CAP && len < CAP + 200, `the stream holds ${len} entries for ${ids.length} readings (cap ${CAP})`);

  stack.start('mintd');
  await drain(db, { what: 'every reading minted, the trimmed ones through the sweep' });
  assert.deepEqual(await checkInvariant(db, env), []);
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'minted'`, [ids]);
  assert.equal(rows[0].n, ids.length);
  // Settled entries are deleted, not only acknowledged: nothing is left in Redis for them.
  await waitFor(async () => (await redis.xLen(STREAM)) === 0 && (await redis.xPending(STREAM, 'mintd')).pending === 0,
    { what: 'the readings stream empty once everything is settled' });
});
