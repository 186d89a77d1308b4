// ingestd_admin.test.mjs: the admin API (bearer tokens checked by hash), meter lifecycle, tokenization control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pgClient, waitFor } from './lib/stack.mjs';
import { newMeter, reading, tsAt, client, errorOf, randomWallet, openStack, closeStack } from './ingestd_lib.mjs';

let env, db, api, redis;

let ctx;
before(async () => {
  ctx = await openStack();
  ({ env, db, api, redis } = ctx);
});

after(async () => {
  assert.deepEqual(await closeStack(ctx), [], 'daemon log problems');
});

// Walks a reading through legal states (sql/005_lifecycle.sql refuses any other move, to the owner too):
// claimed needs a claim token, every other state none.
async function moveReading(id, ...states) {
  for (const st of states)
    await db.query(`UPDATE meter_readings SET status = $2, claimed_by = CASE WHEN $2 = 'claimed' THEN 'test' END
      WHERE id = $1`, [id, st]);
}

function expectError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(errorOf(r).code, code, r.text);
}

test('admin routes need a valid bearer token', async () => {
  const routes = [['GET', '/api/admin/meters'], ['POST', '/api/admin/meters'], ['GET', '/api/admin/meters/X1'],
    ['PATCH', '/api/admin/meters/X1'], ['GET', '/api/admin/meters/unminted'], ['GET', '/api/admin/tokenization/status'],
    ['POST', '/api/admin/tokenization/toggle-auto-mint'], ['POST', '/api/admin/tokenization/trigger-batch'],
    ['POST', `/api/admin/readings/${randomUUID()}/retry`]];
  for (const [method, path] of routes) {
    const body = method === 'GET' ? undefined : {};
    const none = await api.call(method, path, { body });
    expectError(none, 401, 'unauthorized');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    expectError(await api.call(method, path, { body, token: env.ADMIN_TOKEN + 'x' }), 401, 'unauthorized');
    expectError(await api.call(method, path, { body, headers: { authorization: `Basic ${env.ADMIN_TOKEN}` } }),
      401, 'unauthorized');
  }
  const ok = await api.admin('GET', '/api/admin/meters');
  assert.equal(ok.status, 200, ok.text);
});

test('register, get, list (paged), duplicate serial -> 409', async () => {
  const m = newMeter('ADM');
  const owner = randomUUID();
  const reg = await api.register(m, { user_id: owner.toUpperCase() });
  assert.equal(reg.meter_serial, m.serial);
  assert.equal(reg.public_key, m.publicKey);
  assert.equal(reg.wallet_address, m.wallet);
  assert.equal(reg.user_id, owner);
  assert.equal(reg.active, true);
  const again = await api.admin('POST', '/api/admin/meters', { meter_serial: m.serial, public_key: m.publicKey, wallet_address: m.wallet });
  expectError(again, 409, 'meter_exists');
  const one = await api.admin('GET', `/api/admin/meters/${m.serial}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.json, reg);
  expectError(await api.admin('GET', '/api/admin/meters/NOPE-1'), 404, 'meter_not_found');
  for (let i = 0; i < 3; i++) await api.register(newMeter('ADMLIST'));
  const seen = [];
  let after = '';
  for (let page = 0; page < 50; page++) {
    const r = await api.admin('GET', `/api/admin/meters?limit=2${after ? `&after=${after}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.meters.length <= 2);
    seen.push(...r.json.meters.map((x) => x.meter_serial));
    if (!r.json.next_after) break;
    after = r.json.next_after;
  }
  const { rows } = await db.query('SELECT meter_serial FROM meters ORDER BY meter_serial');
  assert.deepEqual(seen, rows.map((x) => x.meter_serial));
  expectError(await api.admin('GET', '/api/admin/meters?limit=0'), 400, 'invalid_parameter');
});

test('register validates every field', async () => {
  const m = newMeter('ADMV');
  const base = { meter_serial: m.serial, public_key: m.publicKey, wallet_address: m.wallet };
  const cases = [
    [{ ...base, meter_serial: 'has space' }, 'invalid_meter_serial'],
    [{ ...base, public_key: 'xyz0' }, 'invalid_public_key'],
    [{ ...base, public_key: '11111111111111111111111111111111' }, 'invalid_public_key'], // all-zero: small order
    [{ ...base, wallet_address: 'short' }, 'invalid_wallet_address'],
    [{ ...base, user_id: 'not-a-uuid' }, 'invalid_user_id'],
    [{ ...base, extra: 1 }, 'unknown_field'],
    [{ public_key: m.publicKey, wallet_address: m.wallet }, 'missing_field'],
    [{ ...base, public_key: 5 }, 'wrong_type'],
  ];
  for (const [body, code] of cases) expectError(await api.admin('POST', '/api/admin/meters', body), 400, code);
  const { rows } = await db.query('SELECT 1 FROM meters WHERE meter_serial = $1', [m.serial]);
  assert.equal(rows.length, 0);
});

test('rotate the key: old signatures fail, new ones pass', async () => {
  const m = newMeter('ROT');
  await api.register(m);
  assert.equal((await api.submit(reading(m, { timestamp: tsAt(0) }))).status, 201);
  const next = newMeter('ROT');
  const p = await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { public_key: next.publicKey });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.public_key, next.publicKey);
  expectError(await api.submit(reading(m, { timestamp: tsAt(1) })), 401, 'invalid_signature');
  const r = await api.submit(reading(m, { timestamp: tsAt(1), signer: next }));
  assert.equal(r.status, 201, r.text);
});

test('change the wallet: readings must be signed for the new wallet and go to it', async () => {
  const m = newMeter('WAL');
  await api.register(m);
  const wallet = randomWallet();
  const p = await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { wallet_address: wallet, user_id: randomUUID() });
  assert.equal(p.status, 200, p.text);
  expectError(await api.submit(reading(m, { timestamp: tsAt(0) })), 401, 'invalid_signature');
  const r = await api.submit(reading(m, { timestamp: tsAt(0), wallet }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.wallet_address, wallet);
  assert.equal(r.json.user_id, p.json.user_id);
  const cleared = await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { user_id: null });
  assert.equal(cleared.json.user_id, null);
});

test('deactivate and reactivate', async () => {
  const m = newMeter('DEACT');
  await api.register(m);
  const d = await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { active: false });
  assert.equal(d.json.active, false);
  expectError(await api.submit(reading(m, { timestamp: tsAt(0) })), 403, 'meter_deactivated');
  await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { active: true });
  assert.equal((await api.submit(reading(m, { timestamp: tsAt(0) }))).status, 201);
  expectError(await api.admin('PATCH', `/api/admin/meters/${m.serial}`, {}), 400, 'missing_field');
  expectError(await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { active: 'no' }), 400, 'wrong_type');
  expectError(await api.admin('PATCH', `/api/admin/meters/${m.serial}`, { meter_serial: 'X' }), 400, 'unknown_field');
  expectError(await api.admin('PATCH', '/api/admin/meters/NOPE-2', { active: false }), 404, 'meter_not_found');
});

test('a meter registered directly in the database is seen after its NOTIFY (another instance)', async () => {
  const m = newMeter('EXT');
  expectError(await api.submit(reading(m, { timestamp: tsAt(0) })), 404, 'meter_not_found');
  const { fromB58 } = await import('./ingestd_lib.mjs');
  await db.query(`INSERT INTO meters (meter_serial, public_key, wallet_address) VALUES ($1, $2, $3)`,
    [m.serial, Buffer.from(fromB58(m.publicKey)), m.wallet]);
  await db.query(`SELECT pg_notify('gridtokenx_meters', $1)`, [m.serial]);
  await waitFor(async () => (await api.submit(reading(m, { timestamp: tsAt(0) }))).status === 201, { what: 'cache invalidation' });
});

test('unminted: pending readings, oldest first, paged', async () => {
  const m = newMeter('UNM');
  await api.register(m);
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await api.submit(reading(m, { timestamp: tsAt(i) }))).json.id);
  const { rows } = await db.query(`SELECT id FROM meter_readings WHERE status = 'pending' ORDER BY submitted_at, id`);
  const all = [];
  for (let page = 1; page < 100; page++) {
    const r = await api.admin('GET', `/api/admin/meters/unminted?page=${page}&page_size=2`);
    assert.equal(r.status, 200, r.text);
    if (r.json.readings.length === 0) break;
    assert.equal(r.json.total, rows.length);
    all.push(...r.json.readings.map((x) => x.id));
  }
  assert.deepEqual(all, rows.map((x) => x.id));
  for (const id of ids) assert.ok(all.includes(id));
  expectError(await api.admin('GET', '/api/admin/meters/unminted?page_size=100000'), 400, 'invalid_parameter');
});

test('tokenization status counts readings and summarizes recent mint transactions', async () => {
  const m = newMeter('STAT');
  await api.register(m);
  const a = (await api.submit(reading(m, { timestamp: tsAt(0) }))).json.id;
  const b = (await api.submit(reading(m, { timestamp: tsAt(1) }))).json.id;
  await moveReading(a, 'claimed', 'failed');
  await moveReading(b, 'claimed', 'retrying');
  // a transaction is recorded pending, then confirmed (the trigger refuses one born confirmed)
  const tx = (await db.query(`INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash,
    last_valid_block_height, wallets, readings) VALUES ($1, $2, '\\x00', 'bh', 1, 2, 3) RETURNING id`,
  [randomUUID(), `sig-${randomUUID()}`])).rows[0].id;
  await db.query(`UPDATE mint_transactions SET state = 'confirmed', fee_lamports = 5000, finished_at = now()
    WHERE id = $1`, [tx]);
  const r = await api.admin('GET', '/api/admin/tokenization/status');
  assert.equal(r.status, 200, r.text);
  const q = async (sql) => Number((await db.query(sql)).rows[0].n);
  assert.equal(r.json.unminted_readings_count, await q(`SELECT count(*) n FROM meter_readings WHERE status IN ('pending','claimed','submitted','waiting')`));
  assert.equal(r.json.failed_readings_count, await q(`SELECT count(*) n FROM meter_readings WHERE status = 'failed'`));
  assert.equal(r.json.retrying_readings_count, await q(`SELECT count(*) n FROM meter_readings WHERE status = 'retrying'`));
  assert.equal(r.json.polling_interval_secs, 60);
  // the shared TOKENIZATION_BATCH_SIZE default, the same mintd uses (as the generated examples state it)
  const dflt = (f) => Number(/^#TOKENIZATION_BATCH_SIZE=(\d+)$/m.exec(readFileSync(new URL(`../../etc/${f}`, import.meta.url), 'utf8'))[1]);
  assert.equal(r.json.batch_size, dflt('ingestd.conf.example'));
  assert.equal(r.json.batch_size, dflt('mintd.conf.example'));
  assert.equal(typeof r.json.auto_mint_enabled, 'boolean');
  // a number (null would pass `>= 0`): this file's readings are unminted, submitted moments ago
  assert.equal(typeof r.json.oldest_unminted_age_secs, 'number', r.text);
  const oldest = Number((await db.query(`SELECT extract(epoch FROM now() - min(submitted_at))::int AS s
    FROM meter_readings WHERE status IN ('pending', 'claimed', 'submitted')`)).rows[0].s);
  assert.ok(r.json.oldest_unminted_age_secs >= 0 && r.json.oldest_unminted_age_secs <= oldest, r.text);
  assert.ok(r.json.recent_batch_stats.transactions >= 1);
  assert.ok(r.json.recent_batch_stats.confirmed >= 1);
  assert.match(r.json.recent_batch_stats.fees_lamports, /^\d+$/);
});

test('toggle-auto-mint is persisted and announced; trigger-batch is announced', async () => {
  const listener = pgClient(env);
  await listener.connect();
  const got = [];
  listener.on('notification', (n) => got.push(JSON.parse(n.payload)));
  await listener.query('LISTEN gridtokenx_control');
  try {
    for (const enabled of [false, true, false]) {
      const r = await api.admin('POST', '/api/admin/tokenization/toggle-auto-mint', { enabled });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.auto_mint_enabled, enabled);
      const { rows } = await db.query(`SELECT value FROM settings WHERE key = 'auto_mint_enabled'`);
      assert.equal(rows[0].value, String(enabled));
      const s = await api.admin('GET', '/api/admin/tokenization/status');
      assert.equal(s.json.auto_mint_enabled, enabled);
    }
    expectError(await api.admin('POST', '/api/admin/tokenization/toggle-auto-mint', { enabled: 'yes' }), 400, 'wrong_type');
    expectError(await api.admin('POST', '/api/admin/tokenization/toggle-auto-mint', {}), 400, 'missing_field');
    const t = await api.call('POST', '/api/admin/tokenization/trigger-batch', { admin: true });
    assert.equal(t.status, 202, t.text);
    await waitFor(() => got.length >= 4, { what: 'notifications' });
    assert.deepEqual(got, [{ action: 'auto_mint', enabled: false }, { action: 'auto_mint', enabled: true },
      { action: 'auto_mint', enabled: false }, { action: 'trigger_batch' }]);
  } finally {
    await listener.end();
  }
});

test('retry puts a failed reading back in line; 409 when not failed; 404 when unknown', async () => {
  const m = newMeter('RETRY');
  await api.register(m);
  const id = (await api.submit(reading(m, { timestamp: tsAt(0) }))).json.id;
  expectError(await api.admin('POST', `/api/admin/readings/${id}/retry`), 409, 'reading_not_failed');
  await moveReading(id, 'claimed', 'failed');
  await db.query(`INSERT INTO minting_retry_queue (reading_id, error_message, attempts, next_retry_at)
    VALUES ($1, 'boom', 3, now())`, [id]);
  const failed = await api.get(id);
  assert.equal(failed.json.status, 'failed');
  assert.equal(failed.json.attempts, 3);
  assert.equal(failed.json.last_error, 'boom');
  const stream = 'gridtokenx:readings';
  const before = (await redis.xRange(stream, '-', '+')).filter((e) => e.message.reading_id === id).length;
  const r = await api.admin('POST', `/api/admin/readings/${id}/retry`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { id, status: 'pending' });
  const { rows } = await db.query(`SELECT r.status, q.id AS q FROM meter_readings r LEFT JOIN minting_retry_queue q
    ON q.reading_id = r.id WHERE r.id = $1`, [id]);
  assert.deepEqual(rows, [{ status: 'pending', q: null }]);
  await waitFor(async () => (await redis.xRange(stream, '-', '+')).filter((e) => e.message.reading_id === id).length === before + 1,
    { what: 'the re-queued id on the stream' });
  expectError(await api.admin('POST', `/api/admin/readings/${randomUUID()}/retry`), 404, 'reading_not_found');
  expectError(await api.admin('POST', '/api/admin/readings/nope/retry'), 404, 'reading_not_found');
});

test('health, readiness and metrics', async () => {
  const h = await api.call('GET', '/healthz');
  assert.equal(h.status, 200);
  const r = await api.call('GET', '/readyz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ready', postgres: true, redis: true });
  const m = await api.call('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /^text\/plain/);
  assert.match(m.text, /ingestd_http_requests_total\{route="submit_reading",status="201"\} \d+/);
  assert.match(m.text, /ingestd_readings_accepted_total [1-9]\d*/);
  assert.match(m.text, /ingestd_readings_rejected_total\{reason="invalid_signature"\} \d+/);
  assert.match(m.text, /ingestd_store_latency_seconds_count [1-9]/);
  assert.match(m.text, /ingestd_group_commit_rows_bucket\{le="1"\}/);
  assert.match(m.text, /ingestd_queue_push_failures_total \d+/);
});
