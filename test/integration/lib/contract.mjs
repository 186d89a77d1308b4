// lib/contract.mjs: docs/openapi.yaml and docs/asyncapi.yaml as validators (ajv, JSON Schema 2020-12), used by the
// test helpers on every HTTP response (ingestd_lib client), WebSocket message (wsstack connect) and Redis event
// (watched clients) the tests receive, so that the documents stay true: a renamed or extra field, a wrong type,
// an undocumented status or event fails the test that saw it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import { ROOT } from './stack.mjs';

export const OPENAPI_FILE = join(ROOT, 'docs', 'openapi.yaml');
export const ASYNCAPI_FILE = join(ROOT, 'docs', 'asyncapi.yaml');
export const openapi = YAML.parse(readFileSync(OPENAPI_FILE, 'utf8'));
export const asyncapi = YAML.parse(readFileSync(ASYNCAPI_FILE, 'utf8'));

// strictSchema: a misspelt keyword in the documents is an error, not a silently ignored word.
const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictTypes: false, allowUnionTypes: true });
const OA = 'https://gridtokenx.invalid/openapi', AA = 'https://gridtokenx.invalid/asyncapi';

// A JSON pointer ("#/a/b") in doc, following $refs to the end.
export function resolve(doc, node) {
  for (let depth = 0; node && typeof node.$ref === 'string' && depth < 20; depth++) {
    if (!node.$ref.startsWith('#/')) throw new Error(`external $ref ${node.$ref}`);
    node = node.$ref.slice(2).split('/').reduce((o, k) => (o == null ? o : o[k.replaceAll('~1', '/').replaceAll('~0', '~')]), doc);
    if (node === undefined) throw new Error('dangling $ref');
  }
  return node;
}

// Copies a schema with its "#/components/schemas/X" refs pointing into the compiled store.
function rebase(schema, base) {
  if (Array.isArray(schema)) return schema.map((s) => rebase(s, base));
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/'))
      return [k, `${base}#/$defs/${v.slice('#/components/schemas/'.length)}`];
    return [k, rebase(v, base)];
  }));
}
ajv.addSchema({ $id: OA, $defs: rebase(openapi.components.schemas, OA) });
ajv.addSchema({ $id: AA, $defs: rebase(asyncapi.components.schemas, AA) });
const compile = (schema, base) => ajv.compile(rebase(schema, base));
const explain = (v) => v.errors.map((e) => `body${e.instancePath} ${e.message}` +
  (e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : '')).join('; ');

// ---- HTTP (OpenAPI) ----

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Literal paths before templated ones, so that /api/admin/meters/unminted is not taken for /api/admin/meters/{serial}.
const routes = Object.entries(openapi.paths)
  .map(([tpl, item]) => ({ tpl, item, re: new RegExp(`^${tpl.replace(/\{[^}]+\}/g, '[^/]+')}$`), vars: (tpl.match(/\{/g) ?? []).length }))
  .sort((a, b) => a.vars - b.vars);
const errorSchema = compile({ $ref: '#/components/schemas/Error' }, OA);
// What any route may answer before or beside its own responses (see info.description), with the only codes it may carry.
// What any route may answer whatever its method (docs/openapi.yaml's description lists them).
const ANY_ROUTE = { 413: ['body_too_large'], 429: ['rate_limited'], 431: ['headers_too_large'], 503: ['out_of_memory'] };
const cache = new Map();

function responseValidator(route, method, status) {
  const key = `${route.tpl} ${method} ${status}`;
  if (cache.has(key)) return cache.get(key);
  const op = route.item[method];
  const resp = resolve(openapi, op.responses[String(status)] ?? op.responses.default);
  let v = null;
  if (resp) {
    const content = Object.fromEntries(Object.entries(resp.content ?? {}).map(([ct, c]) => [ct, compile(c.schema ?? {}, OA)]));
    const headers = Object.entries(resp.headers ?? {}).filter(([, h]) => resolve(openapi, h).required).map(([n]) => n.toLowerCase());
    v = { content, headers };
  }
  cache.set(key, v);
  return v;
}

// Compiles every response schema of the document (a misspelt keyword anywhere throws); returns how many.
export function compileAll() {
  let n = 0;
  for (const r of routes)
    for (const m of METHODS.filter((x) => r.item[x]))
      for (const st of Object.keys(r.item[m].responses)) if (responseValidator(r, m, st)) n++;
  return n;
}

// Throws unless {status, headers, text, json} is what docs/openapi.yaml says `method path` may answer.
export function checkResponse(method, path, res) {
  // ingestd resolves dot segments (/x/../api/...) as URL parsing does
  const p = new URL(path, 'http://h').pathname, m = method.toLowerCase();
  const where = `${method} ${p} -> ${res.status}`;
  const route = routes.find((r) => r.re.test(p));
  const fail = (why) => { throw new Error(`docs/openapi.yaml: ${where}: ${why}\n${res.text.slice(0, 2000)}`); };
  const generic = (codes) => {
    if (!errorSchema(res.json)) fail(`not an Error body: ${explain(errorSchema)}`);
    if (!codes.includes(res.json.error.code)) fail(`error code ${res.json.error.code} is not one of ${codes.join(', ')} here`);
  };
  if (!route) return generic(res.status === 404 ? ['not_found'] : ANY_ROUTE[res.status] ?? fail('no such path in the document'));
  if (!METHODS.includes(m) || !route.item[m]) {
    if (res.status !== 405) return generic(ANY_ROUTE[res.status] ?? fail(`${method} is not documented for ${route.tpl}`));
    if (!res.headers.get('allow')) fail('405 without Allow');
    return generic(['method_not_allowed']);
  }
  const v = responseValidator(route, m, res.status);
  if (!v) return generic(ANY_ROUTE[res.status] ?? fail(`status ${res.status} is not documented for ${method} ${route.tpl}`));
  for (const h of v.headers) if (!res.headers.get(h)) fail(`missing header ${h}`);
  const ct = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  const validate = v.content[ct];
  if (!validate) fail(`content-type ${ct || '(none)'} is not documented (${Object.keys(v.content).join(', ')})`);
  const body = ct === 'application/json' ? res.json : res.text;
  if (ct === 'application/json' && body === null) fail('the body is not JSON');
  if (!validate(body)) fail(explain(validate));
}

// ---- events and WebSocket messages (AsyncAPI) ----

// name -> validator for the messages an operation lists.
function messagesOf(opName) {
  const op = asyncapi.operations[opName];
  if (!op) throw new Error(`docs/asyncapi.yaml: no operation ${opName}`);
  return new Map(op.messages.map((ref) => {
    const msg = resolve(asyncapi, ref);
    return [msg.name, compile(resolve(asyncapi, msg.payload), AA)];
  }));
}
const eventValidators = messagesOf('publishEvents');
const wsValidators = messagesOf('wsServerSends');

// Events a test published itself (lib/wsstack.mjs publish()): test input, not what the daemons send.
const testInput = new Set();
export function markTestInput(eventId) { testInput.add(eventId); }

function checkAgainst(validators, what, msg) {
  const v = msg && typeof msg === 'object' ? validators.get(msg.type) : null;
  if (!v) throw new Error(`docs/asyncapi.yaml: ${what} of undocumented type ${JSON.stringify(msg?.type)}: ${JSON.stringify(msg)}`);
  if (!v(msg)) throw new Error(`docs/asyncapi.yaml: ${what} ${msg.type}: ${explain(v)}: ${JSON.stringify(msg)}`);
}

// Throws unless ev is a documented event (as published on Redis: with event_id).
export function checkEvent(ev, what = 'event') {
  if (ev && testInput.has(ev.event_id)) return;
  checkAgainst(eventValidators, what, ev);
}

// Throws unless m is something ingestd's WebSocket may send.
export function checkWsMessage(m) {
  if (m && m.event_id !== undefined && testInput.has(m.event_id)) return;
  checkAgainst(wsValidators, 'WebSocket message', m);
}

// A capped-stream entry ({id, message: {type, event}}): the event is stored without event_id, which is the entry id.
export function checkStreamEntry(entry) {
  const ev = JSON.parse(entry.message.event);
  if (ev.event_id !== undefined) throw new Error(`docs/asyncapi.yaml: stream entry ${entry.id} carries event_id`);
  if (entry.message.type !== ev.type) throw new Error(`docs/asyncapi.yaml: stream entry ${entry.id}: type field ${entry.message.type} != ${ev.type}`);
  checkEvent({ ...ev, event_id: entry.id }, 'stream entry');
}

// A violation seen in a callback (a socket or Redis message) cannot be thrown to the test that awaits: it is
// kept and thrown by assertClean(), which runs after each test and after the file (under node --test), so
// that the test that saw it fails (and the file still tears its stack down).
const violations = [];
export function report(e) {
  violations.push(e.message);
}
export function assertClean() {
  if (violations.length) throw new Error(`contract violations:\n${violations.splice(0).join('\n')}`);
}
if (process.env.NODE_TEST_CONTEXT) {
  const { afterEach, after } = await import('node:test');
  afterEach(assertClean);
  after(assertClean);
}

// Wraps a node-redis client so that every message on an event channel (prefix gridtokenx:events) that a
// subscriber of it, or of its duplicates, receives is checked against docs/asyncapi.yaml.
export function watchRedis(client, prefix = 'gridtokenx:events') {
  const wrap = (listener) => (message, channel) => {
    if (typeof channel === 'string' && channel.startsWith(prefix) && !channel.endsWith(':stream')) {
      try { checkEvent(JSON.parse(message), `event on ${channel}`); } catch (e) { report(e); }
    }
    return listener(message, channel);
  };
  for (const fn of ['subscribe', 'pSubscribe']) {
    const orig = client[fn].bind(client);
    client[fn] = (channels, listener, ...rest) => orig(channels, wrap(listener), ...rest);
  }
  const dup = client.duplicate.bind(client);
  client.duplicate = (...a) => watchRedis(dup(...a), prefix);
  return client;
}
