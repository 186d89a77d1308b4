// ingestd_lib.mjs: helpers for the ingestd tests: meters with real Ed25519 keys, signed readings, HTTP calls.
import { generateKeyPairSync, sign as edSign, randomBytes } from 'node:crypto';
import { getBase58Decoder, getBase58Encoder } from '@solana/kit';
import { checkResponse, watchRedis } from './lib/contract.mjs';

const b58dec = getBase58Decoder();
const b58enc = getBase58Encoder();
export const toB58 = (bytes) => b58dec.decode(bytes);
export const fromB58 = (s) => b58enc.encode(s);

let serialSeq = 0;
// A meter: a fresh Ed25519 key pair, a unique serial and a random wallet address.
export function newMeter(prefix = 'MTR') {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  serialSeq += 1;
  return {
    serial: `${prefix}-${process.pid}-${Date.now().toString(36)}-${serialSeq}`,
    publicKey: toB58(raw),
    privateKey,
    wallet: toB58(randomBytes(32)),
  };
}

export const randomWallet = () => toB58(randomBytes(32));

// "10.5" -> "10.500000": the text the meter signs (exact, via BigInt; never a float).
export function kwh6(s) {
  const str = String(s);
  const neg = str.startsWith('-');
  const [i, f = ''] = (neg ? str.slice(1) : str).split('.');
  const micro = BigInt(i) * 1000000n + BigInt((f + '000000').slice(0, 6));
  const whole = micro / 1000000n, frac = (micro % 1000000n).toString().padStart(6, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

export function message({ serial, timestamp, kwh, wallet }) {
  return `GRIDTOKENX_METER_READING\nmeter_serial: ${serial}\ntimestamp: ${timestamp}\nkwh_amount: ${kwh6(kwh)}\nwallet: ${wallet}`;
}

export function signMessage(privateKey, text) {
  return toB58(edSign(null, Buffer.from(text, 'utf8'), privateKey));
}

// A reading body signed by `meter` (or by `signer`'s key), with optional overrides applied after signing.
export function reading(meter, { timestamp, kwh = '1.5', wallet = meter.wallet, signer = meter, after = {} } = {}) {
  const ts = timestamp ?? new Date(Date.now() - 3600e3).toISOString();
  const sig = signMessage(signer.privateKey, message({ serial: meter.serial, timestamp: ts, kwh, wallet }));
  return { meter_serial: meter.serial, kwh_amount: kwh, reading_timestamp: ts, meter_signature: sig, ...after };
}

// Distinct timestamps for one meter, a full duplicate window (15 min) apart, inside the last 7 days.
export function tsAt(i, base = Date.now() - 2 * 86400e3) {
  return new Date(base + i * 16 * 60e3).toISOString();
}

export function client(env) {
  const url = env.INGESTD_URL;
  async function call(method, path, { body, raw, headers = {}, admin = false, token } = {}) {
    const h = { ...headers };
    if (body !== undefined && raw === undefined) h['content-type'] ??= 'application/json';
    if (admin || token) h.authorization = `Bearer ${token ?? env.ADMIN_TOKEN}`;
    const res = await fetch(url + path, {
      method, headers: h, body: raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    const r = { status: res.status, headers: res.headers, json, text };
    checkResponse(method, path, r); // every answer against docs/openapi.yaml
    return r;
  }
  return {
    call,
    submit: (body) => call('POST', '/api/meters/submit-reading', { body }),
    batch: (readings) => call('POST', '/api/meters/readings/batch', { body: { readings } }),
    get: (id) => call('GET', `/api/meters/readings/${id}`),
    admin: (method, path, body) => call(method, path, { body, admin: true }),
    async register(meter, extra = {}) {
      const r = await call('POST', '/api/admin/meters', {
        admin: true,
        body: { meter_serial: meter.serial, public_key: meter.publicKey, wallet_address: meter.wallet, ...extra },
      });
      if (r.status !== 201) throw new Error(`register ${meter.serial}: ${r.status} ${r.text}`);
      return r.json;
    },
  };
}

// Asserts the shape of an error body: {"error":{"code","message","field"?},"request_id"}.
export function errorOf(r) {
  if (!r.json || typeof r.json.error !== 'object' || typeof r.json.error.code !== 'string' ||
      typeof r.json.error.message !== 'string' || typeof r.json.request_id !== 'string') {
    throw new Error(`not an error body (${r.status}): ${r.text}`);
  }
  return r.json.error;
}

// One test file's stack: PostgreSQL, Redis and ingestd, a database client, an API client and a Redis client.
export async function openStack(extraEnv = {}) {
  const { up, pgClient } = await import('./lib/stack.mjs');
  const { createClient } = await import('redis');
  const stack = up(['postgres', 'redis', 'ingestd'], extraEnv);
  const env = stack.env;
  const db = pgClient(env);
  await db.connect();
  const redis = watchRedis(createClient({ url: env.REDIS_URL }));
  await redis.connect();
  return { stack, env, db, redis, api: client(env) };
}

// Tears it down; returns the daemon log problems (sanitizer reports, FATAL) for the caller to assert on.
export async function closeStack(ctx) {
  if (!ctx) return [];
  await ctx.redis?.quit();
  await ctx.db?.end();
  const problems = ctx.stack.down();
  if (problems.length === 0) ctx.stack.cleanup();
  return problems;
}
