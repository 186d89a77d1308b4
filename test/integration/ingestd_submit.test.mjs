// ingestd_submit.test.mjs: POST /api/meters/submit-reading and /readings/batch against the real stack:
// signatures, every validation rule and error code, replays, duplicates under concurrency, nothing half-stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newMeter, reading, tsAt, client, errorOf, randomWallet, openStack, closeStack } from './ingestd_lib.mjs';

let env, db, api, redis;
const accepted = new Set(); // ids answered 201: the only rows that may exist
const touched = [];          // every serial used, to check for stray rows

let ctx;
before(async () => {
  // A slow per-meter rate (1/min, burst 5) makes the 429 test deterministic; a small batch cap for 413.
  ctx = await openStack({ INGESTD_METER_RATE_PER_MIN: '1', INGESTD_METER_RATE_BURST: '5',
    INGESTD_BATCH_MAX_READINGS: '50' });
  ({ env, db, api, redis } = ctx);
});

after(async () => {
  assert.deepEqual(await closeStack(ctx), [], 'daemon log problems');
});

async function meter(prefix) {
  const m = newMeter(prefix);
  await api.register(m);
  touched.push(m.serial);
  return m;
}

async function rowsOf(serial) {
  const { rows } = await db.query(`SELECT id, kwh_micro::text, token_amount::text, reading_us::text, status,
    wallet_address, meter_signature, user_id FROM meter_readings WHERE meter_serial = $1 ORDER BY reading_us`, [serial]);
  return rows;
}

function expectError(r, status, code, field) {
  assert.equal(r.status, status, r.text);
  const e = errorOf(r);
  assert.equal(e.code, code, r.text);
  if (field !== undefined) assert.equal(e.field, field, r.text);
  return e;
}

test('a signed reading is stored (201) with exact amounts and the registered wallet', async () => {
  const m = await meter();
  const ts = tsAt(0);
  const t0 = Date.now();
  const r = await api.submit(reading(m, { timestamp: ts, kwh: '10.5' }));
  assert.equal(r.status, 201, r.text);
  accepted.add(r.json.id);
  // a time-ordered UUIDv7 (RFC 9562): version 7, variant 10, its first 48 bits the millisecond it was accepted
  assert.match(r.json.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const ms = parseInt(r.json.id.replace(/-/g, '').slice(0, 12), 16);
  assert.ok(ms >= t0 - 1000 && ms <= Date.now() + 1000, `id time ${ms} outside [${t0}, ${Date.now()}]`);
  assert.equal(r.json.meter_serial, m.serial);
  assert.equal(r.json.wallet_address, m.wallet);
  assert.equal(r.json.user_id, null);
  assert.equal(r.json.kwh_amount, '10.500000');
  assert.equal(r.json.token_amount, '10500000000');
  assert.equal(Date.parse(r.json.reading_timestamp), Date.parse(ts));
  assert.match(r.json.reading_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
  assert.equal(r.json.status, 'pending');
  assert.ok(Date.parse(r.json.submitted_at) > 0);
  const rows = await rowsOf(m.serial);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].id, r.json.id);
  assert.equal(rows[0].kwh_micro, '10500000');
  assert.equal(rows[0].token_amount, '10500000000');
  assert.equal(BigInt(rows[0].reading_us), BigInt(Date.parse(ts)) * 1000n);
  assert.equal(rows[0].wallet_address, m.wallet);
  assert.equal(rows[0].status, 'pending');
  const got = await api.get(r.json.id);
  assert.equal(got.status, 200);
  assert.equal(got.json.id, r.json.id);
  assert.equal(got.json.status, 'pending');
});

test('kwh_amount as a JSON number is parsed exactly from its text', async () => {
  const m = await meter();
  const body = reading(m, { timestamp: tsAt(1), kwh: '0.1' });
  const raw = JSON.stringify(body).replace('"kwh_amount":"0.1"', '"kwh_amount":0.1');
  const r = await api.call('POST', '/api/meters/submit-reading', { raw, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 201, r.text);
  accepted.add(r.json.id);
  assert.equal(r.json.token_amount, '100000000');
  const r2 = await api.submit(reading(m, { timestamp: tsAt(2), kwh: '1.005' }));
  assert.equal(r2.status, 201, r2.text);
  accepted.add(r2.json.id);
  assert.equal(r2.json.token_amount, '1005000000'); // the float bug of the old platform gave 1004999999
});

test('the timestamp is signed exactly as sent (offset, fraction) and stored in UTC', async () => {
  const m = await meter();
  const base = Date.now() - 3 * 3600e3;
  const d = new Date(base + 7 * 3600e3);
  const pad = (n) => String(n).padStart(2, '0');
  const sent = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:` +
    `${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.250+07:00`;
  const r = await api.submit(reading(m, { timestamp: sent }));
  assert.equal(r.status, 201, r.text);
  accepted.add(r.json.id);
  const utcMs = Math.floor(base / 1000) * 1000 + 250;
  assert.equal(r.json.reading_timestamp, new Date(utcMs).toISOString().replace('.250Z', '.250000Z'));
});

test('re-posting the identical signed reading answers 200 with the same reading, no second row', async () => {
  const m = await meter();
  const body = reading(m, { timestamp: tsAt(3) });
  const a = await api.submit(body);
  assert.equal(a.status, 201, a.text);
  accepted.add(a.json.id);
  const b = await api.submit(body);
  assert.equal(b.status, 200, b.text);
  assert.equal(b.json.id, a.json.id);
  assert.deepEqual({ ...b.json, status: undefined }, { ...a.json, status: undefined });
  assert.equal((await rowsOf(m.serial)).length, 1);
});

test('concurrent identical readings: one row, everyone gets the same id', async () => {
  const m = await meter();
  const body = reading(m, { timestamp: tsAt(4) });
  // burst 5: five at once are within the meter's allowance
  const rs = await Promise.all(Array.from({ length: 5 }, () => api.submit(body)));
  const ids = new Set(rs.map((r) => r.json.id));
  assert.equal(ids.size, 1, rs.map((r) => r.text).join('\n'));
  assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 200, 200, 201]);
  accepted.add([...ids][0]);
  assert.equal((await rowsOf(m.serial)).length, 1);
});

test('concurrent different readings inside one duplicate window: exactly one stored, the rest 409', async () => {
  const m = await meter();
  const base = Date.now() - 86400e3;
  const bodies = Array.from({ length: 5 }, (_, i) => reading(m, { timestamp: new Date(base + i * 60e3).toISOString() }));
  const rs = await Promise.all(bodies.map((b) => api.submit(b)));
  const ok = rs.filter((r) => r.status === 201);
  assert.equal(ok.length, 1, rs.map((r) => r.text).join('\n'));
  accepted.add(ok[0].json.id);
  for (const r of rs.filter((x) => x.status !== 201)) {
    const e = expectError(r, 409, 'duplicate_reading', 'reading_timestamp');
    assert.equal(e.existing_reading_id, ok[0].json.id);
  }
  assert.equal((await rowsOf(m.serial)).length, 1);
});

test('409: another reading of the meter within TOKENIZATION_DUPLICATE_WINDOW_SECS names the existing one', async () => {
  const m = await meter();
  const t0 = Date.now() - 5 * 3600e3;
  const a = await api.submit(reading(m, { timestamp: new Date(t0).toISOString() }));
  assert.equal(a.status, 201);
  accepted.add(a.json.id);
  const b = await api.submit(reading(m, { timestamp: new Date(t0 + 899e3).toISOString(), kwh: '2' }));
  const e = expectError(b, 409, 'duplicate_reading', 'reading_timestamp');
  assert.equal(e.existing_reading_id, a.json.id);
  assert.match(e.message, new RegExp(a.json.id));
  const before = await api.submit(reading(m, { timestamp: new Date(t0 - 600e3).toISOString() }));
  expectError(before, 409, 'duplicate_reading');
  const c = await api.submit(reading(m, { timestamp: new Date(t0 + 900e3).toISOString() }));
  assert.equal(c.status, 201, 'a full window later is fine');
  accepted.add(c.json.id);
});

test('signature: signed by another meter\'s key -> 401', async () => {
  const m = await meter(), other = await meter();
  expectError(await api.submit(reading(m, { timestamp: tsAt(5), signer: other })), 401, 'invalid_signature', 'meter_signature');
});

test('signature: kWh altered after signing -> 401', async () => {
  const m = await meter();
  expectError(await api.submit(reading(m, { timestamp: tsAt(6), kwh: '1.5', after: { kwh_amount: '1.6' } })),
    401, 'invalid_signature');
});

test('signature: timestamp altered after signing -> 401 (even the same instant written differently)', async () => {
  const m = await meter();
  const ts = tsAt(7);
  expectError(await api.submit(reading(m, { timestamp: ts, after: { reading_timestamp: tsAt(8) } })), 401, 'invalid_signature');
  expectError(await api.submit(reading(m, { timestamp: ts, after: { reading_timestamp: ts.replace('Z', '+00:00') } })),
    401, 'invalid_signature');
});

test('signature: signed for another wallet -> 401; a different wallet_address in the body -> 422', async () => {
  const m = await meter();
  const other = randomWallet();
  expectError(await api.submit(reading(m, { timestamp: tsAt(9), wallet: other })), 401, 'invalid_signature');
  expectError(await api.submit(reading(m, { timestamp: tsAt(9), wallet: other, after: { wallet_address: other } })),
    422, 'wallet_address_mismatch', 'wallet_address');
  const ok = await api.submit(reading(m, { timestamp: tsAt(9), after: { wallet_address: m.wallet } }));
  assert.equal(ok.status, 201, 'the registered wallet in the body is fine');
  accepted.add(ok.json.id);
});

test('signature: malformed base58 or wrong length -> 400', async () => {
  const m = await meter();
  const body = reading(m, { timestamp: tsAt(10) });
  expectError(await api.submit({ ...body, meter_signature: body.meter_signature.slice(0, -2) + '0O' }),
    400, 'invalid_meter_signature', 'meter_signature');
  expectError(await api.submit({ ...body, meter_signature: body.meter_signature.slice(0, 40) }), 400, 'invalid_meter_signature');
  expectError(await api.submit({ ...body, meter_signature: '' }), 400, 'invalid_meter_signature');
});

test('404 unknown meter, 403 deactivated meter (checked before anything is stored)', async () => {
  const ghost = newMeter('GHOST');
  expectError(await api.submit(reading(ghost, { timestamp: tsAt(11) })), 404, 'meter_not_found', 'meter_serial');
  const m = await meter();
  const p = await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { active: false });
  assert.equal(p.status, 200, p.text);
  expectError(await api.submit(reading(m, { timestamp: tsAt(12) })), 403, 'meter_deactivated', 'meter_serial');
});

const validation = [
  ['kwh_amount zero', { kwh: '0' }, 422, 'kwh_amount_not_positive', 'kwh_amount'],
  ['kwh_amount negative', { kwh: '-1.5' }, 422, 'kwh_amount_not_positive', 'kwh_amount'],
  ['kwh_amount above TOKENIZATION_MAX_READING_KWH', { kwh: '100.000001' }, 422, 'kwh_amount_too_large', 'kwh_amount'],
  ['kwh_amount with 7 decimals', { kwh: '1.0000001' }, 422, 'kwh_amount_too_precise', 'kwh_amount'],
  ['reading_timestamp older than TOKENIZATION_READING_MAX_AGE_DAYS', { age: 7 * 86400e3 + 60e3 }, 422, 'reading_too_old', 'reading_timestamp'],
  ['reading_timestamp beyond TOKENIZATION_MAX_CLOCK_SKEW_SECS', { age: -360e3 }, 422, 'reading_in_future', 'reading_timestamp'],
];
for (const [name, o, status, code, field] of validation) {
  test(`${status} ${code}: ${name}`, async () => {
    const m = await meter();
    const timestamp = o.age !== undefined ? new Date(Date.now() - o.age).toISOString() : tsAt(13);
    const body = o.kwh && o.kwh.length > 8 && o.kwh.split('.')[1]?.length > 6
      ? { ...reading(m, { timestamp }), kwh_amount: o.kwh } // cannot be signed with 6 decimals
      : reading(m, { timestamp, kwh: o.kwh ?? '1.5' });
    expectError(await api.submit(body), status, code, field);
    assert.equal((await rowsOf(m.serial)).length, 0);
  });
}

test('limits are inclusive: exactly 100 kWh, 4 minutes ahead and 6.9 days old are accepted', async () => {
  const m = await meter();
  for (const [kwh, ts] of [['100', tsAt(14)], ['1', new Date(Date.now() + 240e3).toISOString()],
    ['1', new Date(Date.now() - 6.9 * 86400e3).toISOString()]]) {
    const r = await api.submit(reading(m, { kwh, timestamp: ts }));
    assert.equal(r.status, 201, r.text);
    accepted.add(r.json.id);
  }
});

const malformed = [
  ['bad JSON', '{"meter_serial": "x",', 400, 'invalid_json'],
  ['duplicate JSON keys', null, 400, 'duplicate_key'],
  ['trailing garbage', null, 400, 'trailing_garbage'],
  ['not an object', '[1,2]', 400, 'not_an_object'],
  ['empty body', '', 400, 'invalid_json'],
];
for (const [name, raw0, status, code] of malformed) {
  test(`${status} ${code}: ${name}`, async () => {
    const m = await meter();
    const body = JSON.stringify(reading(m, { timestamp: tsAt(15) }));
    const raw = raw0 ?? (code === 'duplicate_key' ? body.replace('{', `{"kwh_amount":"2",`) : body + ' x');
    expectError(await api.call('POST', '/api/meters/submit-reading', { raw, headers: { 'content-type': 'application/json' } }),
      status, code);
    assert.equal((await rowsOf(m.serial)).length, 0);
  });
}

for (const field of ['meter_serial', 'kwh_amount', 'reading_timestamp', 'meter_signature']) {
  test(`400 missing_field / wrong_type names ${field}`, async () => {
    const m = await meter();
    const body = reading(m, { timestamp: tsAt(16) });
    const { [field]: _, ...rest } = body;
    expectError(await api.submit(rest), 400, 'missing_field', field);
    expectError(await api.submit({ ...body, [field]: field === 'kwh_amount' ? true : 12 }), 400, 'wrong_type', field);
  });
}

test('400 for values that are not what they claim: serial charset, kWh text, timestamp syntax, wallet', async () => {
  const m = await meter();
  const body = reading(m, { timestamp: tsAt(17) });
  expectError(await api.submit({ ...body, meter_serial: 'bad serial!' }), 400, 'invalid_meter_serial', 'meter_serial');
  expectError(await api.submit({ ...body, kwh_amount: '1e3' }), 400, 'invalid_kwh_amount', 'kwh_amount');
  expectError(await api.submit({ ...body, kwh_amount: 'NaN' }), 400, 'invalid_kwh_amount', 'kwh_amount');
  const raw = JSON.stringify(body).replace(/"kwh_amount":"[^"]*"/, '"kwh_amount":1e3');
  expectError(await api.call('POST', '/api/meters/submit-reading', { raw, headers: { 'content-type': 'application/json' } }),
    400, 'invalid_kwh_amount', 'kwh_amount');
  expectError(await api.submit({ ...body, reading_timestamp: '2026-01-01 00:00:00' }), 400, 'invalid_reading_timestamp', 'reading_timestamp');
  expectError(await api.submit({ ...body, wallet_address: 'not-base58-0OIl' }), 400, 'invalid_wallet_address', 'wallet_address');
  assert.equal((await rowsOf(m.serial)).length, 0);
});

test('415 when the body is not JSON, 413 when it is over the limit', async () => {
  const m = await meter();
  const body = JSON.stringify(reading(m, { timestamp: tsAt(18) }));
  expectError(await api.call('POST', '/api/meters/submit-reading', { raw: body, headers: { 'content-type': 'text/plain' } }),
    415, 'unsupported_media_type');
  expectError(await api.call('POST', '/api/meters/submit-reading', { raw: body }), 415, 'unsupported_media_type');
  const big = JSON.stringify({ ...JSON.parse(body), pad: 'x'.repeat(20000) });
  expectError(await api.call('POST', '/api/meters/submit-reading', { raw: big, headers: { 'content-type': 'application/json' } }),
    413, 'body_too_large');
  assert.equal((await rowsOf(m.serial)).length, 0);
});

test('429 with Retry-After once a meter exceeds its submission rate', async () => {
  const m = await meter();
  const statuses = [];
  let limited;
  for (let i = 0; i < 7; i++) {
    const r = await api.submit(reading(m, { timestamp: tsAt(20 + i) }));
    statuses.push(r.status);
    if (r.status === 201) accepted.add(r.json.id);
    if (r.status === 429) limited = r;
  }
  assert.deepEqual(statuses.slice(0, 5), [201, 201, 201, 201, 201]);
  assert.ok(limited, `no 429 in ${statuses}`);
  expectError(limited, 429, 'rate_limited', 'meter_serial');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
});

test('batch: mixed good and bad items, each settled on its own, with counts', async () => {
  const m = await meter(), m2 = await meter(), ghost = newMeter('GHOST');
  const good1 = reading(m, { timestamp: tsAt(30) });
  const items = [
    good1,
    reading(m, { timestamp: tsAt(31), kwh: '0' }),                     // 422
    reading(m2, { timestamp: tsAt(30), signer: m }),                   // 401
    reading(ghost, { timestamp: tsAt(30) }),                           // 404
    { meter_serial: m.serial },                                        // 400
    reading(m2, { timestamp: tsAt(32) }),                              // 201
    reading(m2, { timestamp: new Date(Date.parse(tsAt(32)) + 60e3).toISOString() }), // 409 against item 5, same batch
    good1,                                                             // 200 replay of item 0
    'not an object',                                                   // 400
  ];
  const r = await api.batch(items);
  assert.equal(r.status, 200, r.text);
  const st = r.json.results.map((x) => x.status);
  assert.deepEqual(st, [201, 422, 401, 404, 400, 201, 409, 200, 400]);
  assert.deepEqual(r.json.results.map((x) => x.index), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(r.json.results[1].error.code, 'kwh_amount_not_positive');
  assert.equal(r.json.results[4].error.code, 'missing_field');
  assert.equal(r.json.results[6].error.existing_reading_id, r.json.results[5].id);
  assert.equal(r.json.results[7].id, r.json.results[0].id);
  assert.equal(r.json.total, 9);
  assert.equal(r.json.accepted, 2);
  assert.equal(r.json.replayed, 1);
  assert.equal(r.json.rejected, 6);
  accepted.add(r.json.results[0].id);
  accepted.add(r.json.results[5].id);
  assert.equal((await rowsOf(m.serial)).length, 1);
  assert.equal((await rowsOf(m2.serial)).length, 1);
});

test('batch: envelope errors', async () => {
  expectError(await api.call('POST', '/api/meters/readings/batch', { body: { readings: 'x' } }), 400, 'wrong_type', 'readings');
  expectError(await api.call('POST', '/api/meters/readings/batch', { body: [] }), 400, 'missing_field', 'readings');
  expectError(await api.call('POST', '/api/meters/readings/batch', { body: { readings: Array(51).fill({}) } }),
    413, 'too_many_readings', 'readings');
  const empty = await api.batch([]);
  assert.equal(empty.status, 200);
  assert.equal(empty.json.total, 0);
});

test('unknown routes and methods, reading lookups', async () => {
  expectError(await api.call('GET', '/nope'), 404, 'not_found');
  const r = await api.call('GET', '/api/meters/submit-reading');
  expectError(r, 405, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'POST');
  expectError(await api.get('00000000-0000-4000-8000-000000000000'), 404, 'reading_not_found');
  expectError(await api.get('not-a-uuid'), 404, 'reading_not_found');
});

test('nothing half-stored: the rows and stream entries are exactly the accepted readings', async () => {
  const { rows } = await db.query('SELECT id FROM meter_readings WHERE meter_serial = ANY($1)', [touched]);
  assert.deepEqual(new Set(rows.map((x) => x.id)), accepted);
  const stream = env.REDIS_READINGS_STREAM || 'gridtokenx:readings';
  let ids;
  for (let i = 0; i < 100; i++) {
    const entries = await redis.xRange(stream, '-', '+');
    ids = entries.map((e) => e.message.reading_id);
    if (ids.length >= accepted.size) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(ids.length, accepted.size, 'one stream entry per accepted reading');
  assert.deepEqual(new Set(ids), accepted);
});
