// contract.test.mjs: docs/openapi.yaml and docs/asyncapi.yaml are valid documents, cover every route ingestd has,
// and hold for real traffic on every route, Redis channel, the capped stream and the WebSocket; and the checks
// the other tests rely on (lib/contract.mjs) do reject a renamed or extra field, a wrong type, an undocumented status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import specs from '@asyncapi/specs';
import { ROOT, waitFor } from './lib/stack.mjs';
import { openapi, asyncapi, checkResponse, checkEvent, checkWsMessage, checkStreamEntry, compileAll } from './lib/contract.mjs';
import { connect } from './lib/wsstack.mjs';
import { openStack, closeStack, newMeter, reading, tsAt } from './ingestd_lib.mjs';

const clone = (x) => JSON.parse(JSON.stringify(x));

// The AsyncAPI 3.0.0 JSON Schema (draft-07, with its own copy of the draft-07 meta-schema: hence meta: false).
function asyncapiValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false, meta: false, validateSchema: false });
  addFormats(ajv);
  return ajv.compile(specs.schemas[asyncapi.asyncapi]);
}

test('docs/openapi.yaml is a valid OpenAPI 3.1 document (and the validator rejects a broken one)', async () => {
  const v = new Validator();
  const r = await v.validate(clone(openapi));
  assert.equal(r.valid, true, JSON.stringify(r.errors, null, 1));
  assert.equal(v.version, '3.1');
  const broken = clone(openapi);
  broken.paths['/healthz'].get.responses['200'].content = 'json';
  assert.equal((await new Validator().validate(broken)).valid, false);
  assert.ok(compileAll() > 40, 'every response schema compiles (strict: no unknown keywords)');
});

test('docs/asyncapi.yaml is a valid AsyncAPI 3.0 document (and the validator rejects a broken one)', () => {
  assert.equal(asyncapi.asyncapi, '3.0.0');
  const validate = asyncapiValidator();
  assert.equal(validate(clone(asyncapi)), true, JSON.stringify(validate.errors?.slice(0, 5), null, 1));
  const broken = clone(asyncapi);
  broken.channels.events.address = 42;
  assert.equal(validate(broken), false);
  const broken2 = clone(asyncapi);
  broken2.operations.publishEvents.action = 'emit';
  assert.equal(validate(broken2), false);
});

test('docs/openapi.yaml documents exactly the routes and methods of ingestd/routes.c', (t) => {
  const src = readFileSync(join(ROOT, 'ingestd', 'routes.c'), 'utf8');
  const pfx = Object.fromEntries([...src.matchAll(/#define (PFX_\w+) "([^"]+)"/g)].map((m) => [m[1], m[2]]));
  const body = src.slice(src.indexOf('route_of(const char *path)'), src.indexOf('return RT_UNKNOWN'));
  const paths = new Map();
  for (const m of body.matchAll(/if \((?:strcmp\(path, "([^"]+)"\) == 0|segment\(path, (PFX_\w+), "([^"]*)"\))\)\s*return (RT_\w+);/g))
    paths.set(m[4], m[1] ?? `${pfx[m[2]]}{}${m[3]}`);
  assert.ok(paths.size >= 13, `parsed ${paths.size} routes from routes.c`);
  // Every GET route answers HEAD too (the GET's headers, no body); the document says so once, in info.
  const raw = [...src.matchAll(/\[(RT_\w+)\] = "([A-Z, ]+)"/g)].map((m) => [m[1], m[2].split(', ')]);
  for (const [rt, m] of raw) if (m.includes('GET')) assert.ok(m.includes('HEAD'), `${rt}: a GET route that does not answer HEAD`);
  const allow = Object.fromEntries(raw.map(([rt, m]) => [rt, m.filter((x) => x !== 'HEAD').sort()]));
  const code = new Map([...paths].map(([rt, p]) => [p, allow[rt]]));
  const doc = new Map(Object.entries(openapi.paths).map(([p, item]) => [p.replace(/\{[^}]+\}/g, '{}'),
    Object.keys(item).filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k)).map((k) => k.toUpperCase()).sort()]));
  for (const [p, methods] of code) assert.deepEqual(doc.get(p), methods, `${p}: documented methods`);
  const extra = [...doc.keys()].filter((p) => !code.has(p));
  assert.deepEqual(extra, [], 'documented routes ingestd lacks');
});

let ctx, sub, ws;
const events = [];
before(async () => {
  ctx = await openStack();
  sub = ctx.redis.duplicate(); // watched (ingestd_lib): every event below is also checked as it arrives
  await sub.connect();
  await sub.pSubscribe('gridtokenx:events*', (message, channel) => events.push({ channel, ev: JSON.parse(message) }));
  ws = connect(ctx.env.WS_URL, { token: ctx.env.ADMIN_TOKEN, query: '?since=0-0' }); // every message checked (wsstack)
  await ws.opened();
  ws.send({ action: 'subscribe', channels: ['all'] });
  await ws.next((m) => m.type === 'subscribed');
});

after(async () => {
  await ws?.close();
  await sub?.quit();
  assert.deepEqual(await closeStack(ctx), []);
});

test('real traffic on every route answers as documented (each call is checked by the client)', async () => {
  const { api } = ctx;
  const m = newMeter('DOC'), other = newMeter('DOC');
  assert.equal((await api.call('POST', '/api/admin/meters', { admin: true, body: { meter_serial: m.serial, public_key: m.publicKey, wallet_address: m.wallet } })).status, 201);
  await api.register(other, { user_id: '6f1c1f5e-7d3a-4a7e-9a55-0d2f4c1a9b01' });
  assert.equal((await api.call('POST', '/api/admin/meters', { admin: true, body: { meter_serial: m.serial, public_key: m.publicKey, wallet_address: m.wallet } })).status, 409);
  assert.equal((await api.admin('GET', `/api/admin/meters/${m.serial}`)).status, 200);
  assert.equal((await api.admin('GET', '/api/admin/meters/NO-SUCH')).status, 404);
  assert.equal((await api.admin('GET', '/api/admin/meters?limit=1')).status, 200);
  assert.equal((await api.admin('GET', '/api/admin/meters?limit=0')).status, 400);
  assert.equal((await api.admin('PATCH', `/api/admin/meters/${other.serial}`, { active: true })).status, 200);
  assert.equal((await api.call('GET', '/api/admin/meters')).status, 401);

  const r1 = reading(m, { timestamp: tsAt(1) });
  const a = await api.submit(r1);
  assert.equal(a.status, 201);
  assert.equal((await api.submit(r1)).status, 200);
  assert.equal((await api.submit(reading(m, { timestamp: tsAt(1, Date.now() - 2 * 86400e3 + 60e3) }))).status, 409);
  assert.equal((await api.submit(reading(m, { timestamp: tsAt(2), signer: other }))).status, 401);
  assert.equal((await api.submit(reading(m, { timestamp: tsAt(3), kwh: '100000' }))).status, 422);
  assert.equal((await api.submit({ ...r1, meter_serial: 'NO-SUCH-METER' })).status, 404);
  assert.equal((await api.submit({ meter_serial: m.serial })).status, 400);
  assert.equal((await api.call('POST', '/api/meters/submit-reading', { raw: '{}', headers: { 'content-type': 'text/plain' } })).status, 415);
  const b = await api.batch([reading(m, { timestamp: tsAt(4) }), r1, { meter_serial: 7 }]);
  assert.equal(b.status, 200);
  assert.deepEqual(b.json.results.map((x) => x.status), [201, 200, 400]);

  assert.equal((await api.get(a.json.id)).status, 200);
  assert.equal((await api.get('00000000-0000-4000-8000-000000000000')).status, 404);
  assert.equal((await api.admin('GET', '/api/admin/meters/unminted?page=1&page_size=10')).status, 200);
  assert.equal((await api.admin('GET', '/api/admin/tokenization/status')).status, 200);
  assert.equal((await api.admin('POST', '/api/admin/tokenization/toggle-auto-mint', { enabled: true })).status, 200);
  assert.equal((await api.admin('POST', '/api/admin/tokenization/trigger-batch')).status, 202);
  assert.equal((await api.admin('POST', `/api/admin/readings/${a.json.id}/retry`)).status, 409);
  assert.equal((await api.admin('POST', '/api/admin/readings/00000000-0000-4000-8000-000000000000/retry')).status, 404);
  for (const p of ['/healthz', '/readyz', '/metrics']) assert.equal((await api.call('GET', p)).status, 200);
  assert.equal((await api.call('GET', '/no/such/route')).status, 404);
  assert.equal((await api.call('DELETE', '/api/meters/submit-reading')).status, 405);

  // The events of all that, on every channel they go to, on the WebSocket and in the capped stream.
  // two readings were stored (r1 and the batch's first), each on the main, wallet and meter channels
  await waitFor(() => events.filter((e) => e.ev.type === 'meter_reading_received').length >= 2 * 3 &&
    events.some((e) => e.ev.type === 'meter_reading_validation_failed'), { what: 'events on Redis' });
  const channels = new Set(events.map((e) => e.channel));
  for (const c of ['gridtokenx:events', `gridtokenx:events:wallet:${m.wallet}`, `gridtokenx:events:meter:${m.serial}`])
    assert.ok(channels.has(c), `events on ${c}`);
  await waitFor(() => ws.events().filter((e) => e.type === 'meter_reading_received').length >= 2, { what: 'events on the WebSocket' });
  ws.send({ action: 'replay', since: '0-0' });
  // (the connection saw these events live: the replay finds nothing new, but answers as documented)
  await waitFor(() => ws.msgs.filter((x) => x.type === 'replay_complete').length >= 2, { what: 'a replay' });
  ws.send({ action: 'bogus' });
  await ws.next((x) => x.type === 'error', 'an error message');
  const entries = await ctx.redis.xRange('gridtokenx:events:stream', '-', '+');
  assert.ok(entries.length >= 3);
  for (const e of entries) checkStreamEntry(e);
});

test('the checks reject a renamed or extra field, a wrong type, an undocumented status or event', async () => {
  const { api } = ctx;
  const m = newMeter('NEG');
  await api.register(m);
  const ok = await api.submit(reading(m, { timestamp: tsAt(1) }));
  const res = (json, over = {}) => ({ status: ok.status, headers: ok.headers, json, text: JSON.stringify(json), ...over });
  assert.doesNotThrow(() => checkResponse('POST', '/api/meters/submit-reading', res(ok.json)));
  const { token_amount: tok, ...rest } = ok.json;
  assert.throws(() => checkResponse('POST', '/api/meters/submit-reading', res({ ...rest, tokens: tok })), /tokens|token_amount/);
  assert.throws(() => checkResponse('POST', '/api/meters/submit-reading', res({ ...ok.json, extra: 1 })), /extra/);
  assert.throws(() => checkResponse('POST', '/api/meters/submit-reading', res({ ...ok.json, kwh_amount: 1.5 })), /kwh_amount/);
  assert.throws(() => checkResponse('POST', '/api/meters/submit-reading', res(ok.json, { status: 418 })), /418/);
  const unauth = await api.call('GET', '/api/admin/tokenization/status');
  const noHeader = new Headers(unauth.headers);
  noHeader.delete('www-authenticate');
  assert.throws(() => checkResponse('GET', '/api/admin/tokenization/status', { ...unauth, headers: noHeader }), /www-authenticate/);
  const err = await api.submit({ meter_serial: m.serial });
  assert.throws(() => checkResponse('POST', '/api/meters/submit-reading', { ...err, json: { ...err.json, error: { ...err.json.error, code: 'oops' } } }), /code/);

  const ev = await waitFor(() => events.find((e) => e.ev.type === 'meter_reading_received' && e.ev.meter_serial === m.serial)?.ev, { what: 'the event' });
  assert.doesNotThrow(() => checkEvent(ev));
  const { reading_id: rid, ...evRest } = ev;
  assert.throws(() => checkEvent({ ...evRest, readingId: rid }), /reading_id|readingId/);
  assert.throws(() => checkEvent({ ...ev, token_amount: 1500000000 }), /token_amount/);
  assert.throws(() => checkEvent({ ...ev, type: 'meter_reading_recieved' }), /undocumented type/);
  const halted = { type: 'minting_halted', event_id: '1-0', timestamp: ev.timestamp, halt_id: 1, reason: 'x',
    mint: '11111111111111111111111111111111', supply: '10', expected_min: '1', expected_max: '2', slot: 5, instance: 'a' };
  assert.throws(() => checkEvent({ ...halted, supply: 10 }), /supply/);
  assert.doesNotThrow(() => checkEvent(halted));
  const connected = ws.msgs.find((x) => x.type === 'connected');
  assert.doesNotThrow(() => checkWsMessage(connected));
  assert.throws(() => checkWsMessage({ ...connected, client: connected.client_id }), /client/);
  assert.throws(() => checkWsMessage({ type: 'hello' }), /undocumented type/);
});
