// mint-seed.mjs: bench helper: N readings over W wallets straight into PostgreSQL (as ingestd stores them), ids to
// the stream. Usage: node mint-seed.mjs STACK_DIR READINGS WALLETS WALLET_FILE (wallets are reused when it exists).
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { getBase58Decoder } from '@solana/kit';
import { readEnv, pgClient } from '../integration/lib/stack.mjs';
import { redisClient } from '../integration/lib/mintd.mjs';

const [dir, nArg, wArg, walletFile] = process.argv.slice(2);
const env = readEnv(dir);
const n = Number(nArg), w = Number(wArg);
const b58 = getBase58Decoder();
let wallets;
if (existsSync(walletFile)) {
  wallets = JSON.parse(readFileSync(walletFile, 'utf8'));
} else {
  wallets = Array.from({ length: w }, () => b58.decode(randomBytes(32)));
  writeFileSync(walletFile, JSON.stringify(wallets));
}
const db = pgClient(env);
await db.connect();
const serial = (i) => `B-${wallets[i].slice(0, 16)}`;
for (let i = 0; i < wallets.length; i += 500) {
  const chunk = wallets.slice(i, i + 500);
  await db.query(`INSERT INTO meters (meter_serial, public_key, wallet_address)
      SELECT 'B-' || left(x, 16), decode(repeat('00', 32), 'hex'), x FROM unnest($1::text[]) AS x ON CONFLICT DO NOTHING`, [chunk]);
}
const { rows: [{ base }] } = await db.query(`SELECT coalesce(max(reading_us), 1700000000000000)::text AS base FROM meter_readings`);
const start = BigInt(base) + 1_000_000_000n;
const redis = await redisClient(env);
// Meters report in turn, as a fleet does: consecutive readings come from different meters.
for (let i = 0; i < n; i += 1000) {
  const ids = [], serials = [], walletsCol = [], kwh = [], us = [];
  for (let j = i; j < Math.min(n, i + 1000); j++) {
    const k = j % wallets.length;
    ids.push(randomUUID());
    serials.push(serial(k));
    walletsCol.push(wallets[k]);
    kwh.push((1_000_000n + BigInt(j % 997) * 1_003n).toString());
    us.push((start + BigInt(Math.floor(j / wallets.length)) * 1_200_000_000n).toString());
  }
  await db.query(`INSERT INTO meter_readings (id, meter_serial, wallet_address, kwh_micro, token_amount, reading_timestamp,
      reading_us, dup_window, meter_signature)
      SELECT id, s, w, k, k * 1000, to_timestamp(u / 1000000.0), u, int8range(u, u + 900000000), 'bench'
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS x(id, s, w, k, u)`,
  [ids, serials, walletsCol, kwh, us]);
  const multi = redis.multi();
  for (const id of ids) multi.xAdd('gridtokenx:readings', '*', { reading_id: id });
  await multi.exec();
}
await redis.quit();
await db.end();
