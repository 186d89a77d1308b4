// mint-fleet.mjs: bench helper: a fleet of meters reporting on a fixed period, as long as told. Each meter has
// its own new wallet and reports every PERIOD_MS, the meters' phases spread evenly over the period; a reading
// goes into PostgreSQL as ingestd stores it and its id onto the stream. The readings' own timestamps are the
// meters' clocks: 15 minutes apart, whatever PERIOD_MS is (a time-scaled fleet stays a 15-minute fleet to the
// duplicate-window rule). Usage: node mint-fleet.mjs STACK_DIR METERS PERIOD_MS DURATION_MS TAG
// Prints "fleet: N readings" at the end.
import { randomBytes, randomUUID } from 'node:crypto';
import { getBase58Decoder } from '@solana/kit';
import { readEnv, pgClient } from '../integration/lib/stack.mjs';
import { redisClient } from '../integration/lib/mintd.mjs';

const [dir, mArg, pArg, dArg, tag] = process.argv.slice(2);
const env = readEnv(dir);
const m = Number(mArg), period = Number(pArg), duration = Number(dArg);
const b58 = getBase58Decoder();
const wallets = Array.from({ length: m }, () => b58.decode(randomBytes(32)));
const serials = wallets.map((w, i) => `F${tag}-${i}-${w.slice(0, 8)}`);
const db = pgClient(env);
await db.connect();
for (let i = 0; i < m; i += 500) {
  await db.query(`INSERT INTO meters (meter_serial, public_key, wallet_address)
      SELECT s, decode(repeat('00', 32), 'hex'), w FROM unnest($1::text[], $2::text[]) AS x(s, w)`,
  [serials.slice(i, i + 500), wallets.slice(i, i + 500)]);
}
const redis = await redisClient(env);
const QUARTER_US = 900_000_000n;
const clock0 = BigInt(Date.now()) * 1000n;
const sent = new Array(m).fill(0);
const t0 = Date.now();
let total = 0;
for (;;) {
  const now = Date.now() - t0;
  if (now >= duration) break;
  const ids = [], ss = [], ws = [], kwh = [], us = [];
  for (let i = 0; i < m; i++) {
    // meter i reports at i * period / m, then every period
    while (sent[i] * period + Math.floor((i * period) / m) <= now) {
      const k = sent[i]++;
      ids.push(randomUUID());
      ss.push(serials[i]);
      ws.push(wallets[i]);
      kwh.push((250_000n + BigInt((i * 7 + k * 13) % 1000) * 1_001n).toString()); // 0.25..1.25 kWh, exact
      us.push((clock0 + BigInt(k) * QUARTER_US).toString());
    }
  }
  if (ids.length > 0) {
    await db.query(`INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount,
        reading_timestamp, reading_us, dup_window, meter_signature)
        SELECT id, s, w, k, k * 1000, timestamptz 'epoch' + u * interval '1 microsecond', u, int8range(u, u + 900000000), 'bench'
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS x(id, s, w, k, u)`,
    [ids, ss, ws, kwh, us]);
    const multi = redis.multi();
    for (const id of ids) multi.xAdd('gridtokenx:readings', '*', { reading_id: id });
    await multi.exec();
    total += ids.length;
  }
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`fleet: ${total} readings`);
await redis.quit();
await db.end();
