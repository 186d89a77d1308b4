// mintd_poison.test.mjs: a poison wallet (frozen token account) and an invalid wallet are split out, retried
// with backoff, dead-lettered after the configured attempts with minting_failed events, never holding others
// back; after the cause is fixed, re-queueing the dead letters mints them exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as edSign } from 'node:crypto';
import { getBase58Decoder, getBase58Encoder, getProgramDerivedAddress, address } from '@solana/kit';
import { solanaRpc, waitFor } from './lib/stack.mjs';
import { checkInvariant, drain } from './lib/invariant.mjs';
import { randomWallet, addMeters, insertReadings, xaddReadings, simControl, openMintdStack, closeMintdStack } from './lib/mintd.mjs';
import { client } from './ingestd_lib.mjs';

const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const b58enc = getBase58Decoder(); // bytes -> text
const b58dec = getBase58Encoder(); // text -> bytes

let stack, env, db, redis, mint, freezer;

// The freeze authority: a keypair held by the test (an operator's tool in real life).
function keypair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  return { privateKey, pub, b58: b58enc.decode(pub) };
}

const rpc = (method, params) => solanaRpc(env, method, params);

async function ataOf(wallet) {
  const [ata] = await getProgramDerivedAddress({ programAddress: address(ATA_PROGRAM),
    seeds: [b58dec.encode(wallet), b58dec.encode(TOKEN), b58dec.encode(mint)] });
  return ata;
}

// FreezeAccount (tag 10) or ThawAccount (tag 11), built by hand as a legacy transaction and confirmed.
async function freeze(wallet, thaw = false) {
  const ata = await ataOf(wallet);
  const { value: { blockhash } } = await rpc('getLatestBlockhash', [{ commitment: 'confirmed' }]);
  const keys = [freezer.pub, b58dec.encode(ata), b58dec.encode(mint), b58dec.encode(TOKEN)].map((k) => Buffer.from(k));
  const msg = Buffer.concat([Buffer.from([1, 0, 2, keys.length]), ...keys, Buffer.from(b58dec.encode(blockhash)),
    Buffer.from([1, 3, 3, 1, 2, 0, 1, thaw ? 11 : 10])]);
  const sig = edSign(null, msg, freezer.privateKey);
  const tx = Buffer.concat([Buffer.from([1]), sig, msg]).toString('base64');
  const s = await rpc('sendTransaction', [tx, { encoding: 'base64', preflightCommitment: 'confirmed' }]);
  await waitFor(async () => {
    const st = (await rpc('getSignatureStatuses', [[s], { searchTransactionHistory: true }])).value[0];
    if (st?.err) throw new Error(`freeze failed: ${JSON.stringify(st.err)}`);
    return st && st.confirmationStatus !== 'processed';
  }, { what: thaw ? 'thaw confirmed' : 'freeze confirmed' });
}

let ctx;

before(async () => {
  freezer = keypair();
  ctx = await openMintdStack({
    ingestd: true,
    // A mint of our own whose freeze authority the test holds (the stack's mint has none).
    async setup(c) {
      env = c.env;
      await simControl(env, '/fund', { pubkey: freezer.b58, lamports: '1000000000' });
      ({ mint } = await simControl(env, '/mint', { authority: env.MINT_AUTHORITY, decimals: 9, freeze_authority: freezer.b58 }));
    },
    mintdEnv: { MINTD_INSTANCE_ID: 'mintd-poison', TOKENIZATION_BATCH_LINGER_MS: '50', TOKENIZATION_MAX_RETRY_ATTEMPTS: '3', get TOKEN_MINT() { return mint; } },
  });
  ({ stack, db, redis } = ctx);
  env = { ...ctx.env, TOKEN_MINT: mint };
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

test('poison wallet and invalid wallet: isolated, dead-lettered after 3 attempts, re-queued and minted once fixed', async () => {
  const sub = redis.duplicate();
  await sub.connect();
  const failedEvents = new Map();
  await sub.subscribe('gridtokenx:events', (m) => {
    const ev = JSON.parse(m);
    if (ev.type === 'minting_failed') failedEvents.set(ev.reading_id, ev);
  });

  const good = Array.from({ length: 15 }, randomWallet);
  const poison = randomWallet();
  const serials = await addMeters(db, [...good, poison]);
  const spec = (i, k) => ({ serial: serials[i], wallet: i < good.length ? good[i] : poison, kwhMicro: 1_000_000n * BigInt(k) + BigInt(i) });
  // Round 1: everyone gets a token account.
  const seed = await insertReadings(db, serials.map((_, i) => spec(i, 1)));
  await xaddReadings(redis, seed);
  await drain(db, { what: 'token accounts created' });
  assert.deepEqual(await checkInvariant(db, env), []);

  await freeze(poison);
  // Round 2: the poison wallet's readings share batches with everyone else's; one reading names no valid wallet.
  const round = await insertReadings(db, [...serials.map((_, i) => spec(i, 2)), ...serials.map((_, i) => spec(i, 3))]);
  const [invalid] = await insertReadings(db, [{ serial: serials[0], wallet: 'not-a-wallet-0OIl', kwhMicro: 5_000_000n }]);
  await xaddReadings(redis, [...round, invalid]);
  const poisonIds = round.filter((r) => r.wallet === poison).map((r) => r.id);
  const dead = [...poisonIds, invalid.id];

  await waitFor(async () => {
    const { rows } = await db.query(`SELECT count(*) FILTER (WHERE status = 'failed')::int AS failed,
        count(*) FILTER (WHERE status = 'minted')::int AS minted FROM meter_readings WHERE id = ANY($1)`,
    [round.map((r) => r.id).concat(invalid.id)]);
    return rows[0].failed === dead.length && rows[0].minted === round.length - poisonIds.length ? true : null;
  }, { timeout: 60000, what: 'good readings minted and the poison ones dead-lettered' });

  const { rows: q } = await db.query(`SELECT reading_id, attempts, error_message FROM minting_retry_queue WHERE reading_id = ANY($1)`, [dead]);
  assert.equal(q.length, dead.length);
  for (const r of q) assert.equal(r.attempts, 3, `reading ${r.reading_id} was tried 3 times`);
  assert.match(q.find((r) => r.reading_id === invalid.id).error_message, /invalid wallet/);
  assert.match(q.find((r) => r.reading_id === poisonIds[0]).error_message, /InstructionError/);
  const { rows: others } = await db.query(`SELECT count(*)::int AS n FROM minting_retry_queue q JOIN meter_readings m ON m.id = q.reading_id
      WHERE m.id <> ALL($1)`, [dead]);
  assert.equal(others[0].n, 0, 'no other reading was charged an attempt');
  const { rows: shared } = await db.query(`SELECT count(*)::int AS n FROM mint_transaction_readings l
      JOIN mint_transactions t ON t.id = l.mint_tx_id JOIN meter_readings m ON m.id = l.reading_id
      WHERE t.state IN ('failed', 'expired') AND m.wallet_address <> $1`, [poison]);
  assert.ok(shared[0].n > 0, 'the poison wallet first sank a transaction shared with other wallets, which were split out');
  await waitFor(() => dead.every((id) => failedEvents.has(id)), { what: 'a minting_failed event per dead letter' });
  assert.equal(failedEvents.get(poisonIds[0]).attempts, 3);
  assert.equal(failedEvents.get(poisonIds[0]).wallet_address, poison);
  assert.deepEqual(await checkInvariant(db, env, { allMinted: false }), []);

  // Fix the cause, then re-queue the dead letters through ingestd's admin API.
  await freeze(poison, /* thaw= */ true);
  const api = client(env);
  for (const id of poisonIds) {
    const r = await api.admin('POST', `/api/admin/readings/${id}/retry`);
    assert.equal(r.status, 200, r.text);
  }
  assert.equal((await api.admin('POST', `/api/admin/readings/${round[0].id}/retry`)).status, 409, 'a minted reading cannot be re-queued');
  await waitFor(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM meter_readings WHERE id = ANY($1) AND status = 'minted'`, [poisonIds]);
    return rows[0].n === poisonIds.length;
  }, { what: 're-queued readings minted' });
  await drain(db, { allowRetrying: true, what: 'nothing in flight' });
  assert.deepEqual(await checkInvariant(db, env, { allMinted: false }), []);
  const { rows: left } = await db.query(`SELECT id, status FROM meter_readings WHERE status <> 'minted'`);
  assert.deepEqual(left, [{ id: invalid.id, status: 'failed' }], 'only the invalid wallet stays dead-lettered');
  await sub.quit();
});
