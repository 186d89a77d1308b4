// Integration tests for the LiteSVM JSON-RPC simulator (test/solana-sim): RPC shapes, chain emulation, faults.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  generateKeyPairSigner, pipe, createTransactionMessage, setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash, appendTransactionMessageInstructions, signTransactionMessageWithSigners,
  getTransactionEncoder, getBase58Decoder, getAddressEncoder, getProgramDerivedAddress, address, AccountRole,
  compileTransactionMessage, getCompiledTransactionMessageEncoder,
} from '@solana/kit';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, '..', 'solana-sim', 'server.mjs');
const SYSTEM = address('11111111111111111111111111111111');
const TOKEN = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
const TOKEN_2022 = address('TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb');
const ATA_PROGRAM = address('ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL');
const COMPUTE_BUDGET = address('ComputeBudget111111111111111111111111111111');
const b58 = getBase58Decoder();
const addrEnc = getAddressEncoder();

let child;
let base;
let stderr = '';

before(async () => {
  child = spawn(process.execPath, [SERVER, '--port', '0', '--slot-ms', '25'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (d) => { stderr += d; });
  base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${stderr}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /solana-sim listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`simulator exited ${code}: ${stderr}`)); });
  });
});

after(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
});

beforeEach(async () => {
  await ctl('/control/clear-faults', {});
  await ctl('/control/resume', {});
});

// ---- helpers ------------------------------------------------------------------------------------------

async function post(body, { signal, pathName = '/' } = {}) {
  const res = await fetch(base + pathName, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  return { status: res.status, text: await res.text() };
}

async function rpcRaw(method, params) {
  const { status, text } = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }));
  assert.equal(status, 200, text);
  const j = JSON.parse(text);
  assert.equal(j.jsonrpc, '2.0');
  assert.equal(j.id, 7);
  return j;
}

async function rpc(method, params = []) {
  const j = await rpcRaw(method, params);
  assert.ok(!j.error, `${method} failed: ${JSON.stringify(j.error)}`);
  return j.result;
}

async function rpcErr(method, params) {
  const j = await rpcRaw(method, params);
  assert.ok(j.error, `${method} unexpectedly succeeded: ${JSON.stringify(j.result)}`);
  assert.equal(j.result, undefined);
  return j.error;
}

async function ctl(p, body) {
  const res = await fetch(base + p, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  const j = await res.json();
  assert.equal(res.status, 200, JSON.stringify(j));
  return j;
}

async function waitFor(what, fn, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/* Waits until at least n more blocks were produced. */
async function blocksPass(n) {
  const h0 = await rpc('getBlockHeight', [{ commitment: 'processed' }]);
  await waitFor(`${n} blocks`, async () => (await rpc('getBlockHeight', [{ commitment: 'processed' }])) >= h0 + n);
}

async function funded(lamports = 10_000_000_000n) {
  const kp = await generateKeyPairSigner();
  const r = await ctl('/control/fund', { pubkey: kp.address, lamports: lamports.toString() });
  assert.equal(r.lamports, lamports.toString());
  return kp;
}

const u32 = (tag, v) => { const d = new Uint8Array(5); d[0] = tag; new DataView(d.buffer).setUint32(1, v, true); return d; };
const u64 = (tag, v) => { const d = new Uint8Array(9); d[0] = tag; new DataView(d.buffer).setBigUint64(1, v, true); return d; };

async function ata(wallet, mint, program) {
  const [a] = await getProgramDerivedAddress({ programAddress: ATA_PROGRAM, seeds: [addrEnc.encode(wallet), addrEnc.encode(program), addrEnc.encode(mint)] });
  return a;
}

function createIdempotentIx(payer, ataAddr, wallet, mint, program) {
  return {
    programAddress: ATA_PROGRAM, data: new Uint8Array([1]), accounts: [
      { address: payer, role: AccountRole.WRITABLE_SIGNER }, { address: ataAddr, role: AccountRole.WRITABLE },
      { address: wallet, role: AccountRole.READONLY }, { address: mint, role: AccountRole.READONLY },
      { address: SYSTEM, role: AccountRole.READONLY }, { address: program, role: AccountRole.READONLY }],
  };
}

function mintToCheckedIx(mint, dest, authority, amount, decimals, program) {
  const data = new Uint8Array(10);
  data[0] = 14;
  new DataView(data.buffer).setBigUint64(1, amount, true);
  data[9] = decimals;
  return {
    programAddress: program, data, accounts: [
      { address: mint, role: AccountRole.WRITABLE }, { address: dest, role: AccountRole.WRITABLE },
      { address: authority, role: AccountRole.READONLY_SIGNER }],
  };
}

function memoIx(text) {
  return { programAddress: address('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr'), data: new TextEncoder().encode(text), accounts: [] };
}

async function latest(commitment = 'processed') {
  return (await rpc('getLatestBlockhash', [{ commitment }])).value;
}

/* Signs a legacy transaction; returns wire bytes, base64, base58 signature and message bytes. */
async function buildTx(payer, ixs, lifetime) {
  const lt = lifetime ?? await latest();
  const msg = pipe(createTransactionMessage({ version: 'legacy' }), (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: lt.blockhash, lastValidBlockHeight: BigInt(lt.lastValidBlockHeight) }, m),
    (m) => appendTransactionMessageInstructions(ixs, m));
  const tx = await signTransactionMessageWithSigners(msg);
  const bytes = new Uint8Array(getTransactionEncoder().encode(tx));
  const messageBytes = new Uint8Array(getCompiledTransactionMessageEncoder().encode(compileTransactionMessage(msg)));
  return { bytes, b64: Buffer.from(bytes).toString('base64'), sig: b58.decode(Object.values(tx.signatures)[0]), messageBytes, lifetime: lt };
}

async function send(tx, cfg = {}) {
  return rpc('sendTransaction', [tx.b64, { encoding: 'base64', ...cfg }]);
}

async function status(sig, search = true) {
  return (await rpc('getSignatureStatuses', [[sig], { searchTransactionHistory: search }])).value[0];
}

async function landed(sig) {
  return waitFor(`landing of ${sig}`, () => status(sig));
}

async function executions(sig) {
  const all = (await ctl('/control/signatures')).signatures.filter((s) => s.signature === sig);
  assert.ok(all.length <= 1, 'a signature appears twice in the history');
  return all.length ? all[0].executions : 0;
}

/* A funded payer that is mint authority of a fresh mint, and a recipient wallet with its ATA. */
async function mintSetup(decimals = 6, tokenProgram = 'spl-token') {
  const payer = await funded();
  const { mint } = await ctl('/control/mint', { authority: payer.address, decimals, token_program: tokenProgram });
  const program = tokenProgram === 'spl-token' ? TOKEN : TOKEN_2022;
  const wallet = (await generateKeyPairSigner()).address;
  return { payer, mint: address(mint), program, wallet, ata: await ata(wallet, address(mint), program), decimals };
}

function mintIxs(s, amount, { limit = 60_000, price = 1000n, decimals = s.decimals } = {}) {
  return [
    { programAddress: COMPUTE_BUDGET, data: u32(2, limit), accounts: [] },
    { programAddress: COMPUTE_BUDGET, data: u64(3, price), accounts: [] },
    createIdempotentIx(s.payer.address, s.ata, s.wallet, s.mint, s.program),
    mintToCheckedIx(s.mint, s.ata, s.payer.address, amount, decimals, s.program),
  ];
}

async function lamportsOf(pubkey) {
  return BigInt((await rpc('getBalance', [pubkey, { commitment: 'processed' }])).value);
}

async function supply(mint) { return BigInt((await ctl(`/control/supply?mint=${mint}`)).supply); }

// ---- tests -------------------------------------------------------------------------------------------

test('basic RPC shapes: health, version, slot, height, blockhash, rent, balances, accounts', async () => {
  assert.equal(await rpc('getHealth'), 'ok');
  const v = await rpc('getVersion');
  assert.equal(typeof v['solana-core'], 'string');
  assert.equal(typeof v['feature-set'], 'number');

  await ctl('/control/jump', { blocks: 40 }); // so that the finalized lag is not clamped at the first block
  await ctl('/control/pause', {});
  try {
    const sp = await rpc('getSlot', [{ commitment: 'processed' }]);
    const sc = await rpc('getSlot', [{ commitment: 'confirmed' }]);
    const sf = await rpc('getSlot');
    assert.equal(sp - sc, 1);
    assert.equal(sp - sf, 32);
    const hp = await rpc('getBlockHeight', [{ commitment: 'processed' }]);
    assert.equal(hp - await rpc('getBlockHeight', [{ commitment: 'confirmed' }]), 1);
    assert.equal(hp - await rpc('getBlockHeight'), 32);
    const lb = await rpc('getLatestBlockhash', [{ commitment: 'processed' }]);
    assert.deepEqual(Object.keys(lb).sort(), ['context', 'value']);
    assert.equal(lb.context.slot, sp);
    assert.equal(typeof lb.context.apiVersion, 'string');
    assert.deepEqual(Object.keys(lb.value).sort(), ['blockhash', 'lastValidBlockHeight']);
    assert.equal(lb.value.lastValidBlockHeight, hp + 150);
    const lf = await rpc('getLatestBlockhash', []);
    assert.equal(lf.value.lastValidBlockHeight, hp - 32 + 150);
    assert.notEqual(lf.value.blockhash, lb.value.blockhash);
    // the processed hash is not yet known to the finalized bank
    assert.equal((await rpc('isBlockhashValid', [lb.value.blockhash, { commitment: 'processed' }])).value, true);
    assert.equal((await rpc('isBlockhashValid', [lb.value.blockhash, { commitment: 'finalized' }])).value, false);
    assert.equal((await rpc('isBlockhashValid', [lf.value.blockhash])).value, true);
    assert.equal((await rpc('isBlockhashValid', [b58.decode(randomBytes(32)), { commitment: 'processed' }])).value, false);
    // advancing height: the hash stays valid through lastValidBlockHeight and not after
    await ctl('/control/jump', { blocks: 150 });
    assert.equal((await rpc('isBlockhashValid', [lb.value.blockhash, { commitment: 'processed' }])).value, true);
    await ctl('/control/jump', { blocks: 1 });
    assert.equal((await rpc('isBlockhashValid', [lb.value.blockhash, { commitment: 'processed' }])).value, false);
  } finally {
    await ctl('/control/resume', {});
  }

  assert.equal(await rpc('getMinimumBalanceForRentExemption', [165]), 2_039_280);
  assert.equal(await rpc('getMinimumBalanceForRentExemption', [82]), 1_461_600);

  const kp = await funded(1_234_567_890n);
  const bal = await rpc('getBalance', [kp.address, { commitment: 'processed' }]);
  assert.equal(bal.value, 1_234_567_890);
  assert.equal(typeof bal.context.slot, 'number');
  const ai = await rpc('getAccountInfo', [kp.address, { encoding: 'base64', commitment: 'processed' }]);
  assert.deepEqual(ai.value, { data: ['', 'base64'], executable: false, lamports: 1_234_567_890, owner: SYSTEM, rentEpoch: 18446744073709551615, space: 0 });
  // rentEpoch is u64::MAX written as exact integer text
  const rawAi = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getAccountInfo', params: [kp.address, { encoding: 'base64', commitment: 'processed' }] }));
  assert.match(rawAi.text, /"rentEpoch":18446744073709551615[,}]/);
  const unknown = b58.decode(randomBytes(32));
  assert.equal((await rpc('getAccountInfo', [unknown, { encoding: 'base64' }])).value, null);
  const ma = await rpc('getMultipleAccounts', [[kp.address, unknown], { encoding: 'base64', commitment: 'processed' }]);
  assert.equal(ma.value.length, 2);
  assert.equal(ma.value[0].lamports, 1_234_567_890);
  assert.equal(ma.value[1], null);
  assert.equal((await rpcErr('getMultipleAccounts', [Array(101).fill(kp.address), { encoding: 'base64' }])).code, -32602);
  assert.equal((await rpcErr('getSignatureStatuses', [Array(257).fill(b58.decode(randomBytes(64)))])).code, -32602);
  const st = await rpc('getSignatureStatuses', [[b58.decode(randomBytes(64))], { searchTransactionHistory: true }]);
  assert.deepEqual(st.value, [null]);

  const air = await rpc('requestAirdrop', [kp.address, 1000]);
  assert.equal(typeof air, 'string');
  assert.equal(await lamportsOf(kp.address), 1_234_568_890n);
  assert.equal((await status(air)).err, null);

  assert.equal((await rpcErr('noSuchMethod', [])).code, -32601);
  assert.equal((await rpcErr('getBalance', ['not-a-key'])).code, -32602);
  assert.equal((await rpcErr('getSlot', [{ commitment: 'bogus' }])).code, -32602);
  assert.equal((await rpcErr('getBalance', { pubkey: kp.address })).code, -32602);

  // batches answer each entry in order
  const batch = await post(JSON.stringify([
    { jsonrpc: '2.0', id: 1, method: 'getHealth' }, { jsonrpc: '2.0', id: 'two', method: 'nope' }, { foo: 1 }]));
  const bj = JSON.parse(batch.text);
  assert.equal(bj.length, 3);
  assert.deepEqual(bj[0], { jsonrpc: '2.0', result: 'ok', id: 1 });
  assert.equal(bj[1].error.code, -32601);
  assert.equal(bj[1].id, 'two');
  assert.equal(bj[2].error.code, -32600);
});

for (const tokenProgram of ['spl-token', 'token-2022']) {
  test(`${tokenProgram}: CreateIdempotent + MintToChecked lands once; balances, supply and fees are exact`, async () => {
    const s = await mintSetup(6, tokenProgram);
    const amount = 1_234_567n;
    const limit = 60_000;
    const price = 12_345n;
    const tx = await buildTx(s.payer, [...mintIxs(s, amount, { limit, price }), memoIx('batch-0001')]);
    const expectedFee = 5000n + (BigInt(limit) * price + 999_999n) / 1_000_000n;
    const fee = await rpc('getFeeForMessage', [Buffer.from(tx.messageBytes).toString('base64'), { commitment: 'processed' }]);
    assert.equal(BigInt(fee.value), expectedFee);

    const sim = await rpc('simulateTransaction', [tx.b64, { encoding: 'base64', commitment: 'processed', sigVerify: true }]);
    assert.equal(sim.value.err, null);
    assert.ok(sim.value.unitsConsumed > 0);
    assert.ok(sim.value.logs.some((l) => l.includes(`Program ${s.program} success`)), JSON.stringify(sim.value.logs));
    assert.equal(await supply(s.mint), 0n, 'simulation changed state');

    const before = await lamportsOf(s.payer.address);
    const sig = await send(tx, { preflightCommitment: 'processed' });
    assert.equal(sig, tx.sig);
    const st = await landed(sig);
    assert.deepEqual(Object.keys(st).sort(), ['confirmationStatus', 'confirmations', 'err', 'slot', 'status']);
    assert.equal(st.err, null);
    assert.deepEqual(st.status, { Ok: null });

    const rent = BigInt(await rpc('getMinimumBalanceForRentExemption', [tokenProgram === 'spl-token' ? 165 : 170]));
    assert.equal(before - await lamportsOf(s.payer.address), expectedFee + rent);
    assert.equal(await supply(s.mint), amount);
    const bal = await rpc('getTokenAccountBalance', [s.ata, { commitment: 'processed' }]);
    assert.equal(bal.value.amount, '1234567');
    assert.equal(bal.value.decimals, 6);
    assert.equal(bal.value.uiAmountString, '1.234567');
    const balances = (await ctl(`/control/balances?mint=${s.mint}`)).balances;
    assert.deepEqual(balances, { [s.wallet]: '1234567' });
    assert.equal(await executions(sig), 1);
    const dbg = await ctl(`/control/transactions?signature=${sig}`);
    assert.ok(dbg.logs.some((l) => l.includes('batch-0001')));

    // a second mint to the existing ATA adds exactly
    const tx2 = await buildTx(s.payer, mintIxs(s, 10_000_000n));
    await landed(await send(tx2, { preflightCommitment: 'processed' }));
    assert.equal((await rpc('getTokenAccountBalance', [s.ata, { commitment: 'processed' }])).value.uiAmountString, '11.234567');
    assert.equal(await supply(s.mint), 11_234_567n);
  });
}

test('getTokenAccountBalance formats amounts without float math and rejects non-token accounts', async () => {
  const s = await mintSetup(9);
  const big = 18_000_000_000_000_000_001n; // > 2^53, needs exact u64 handling
  await landed(await send(await buildTx(s.payer, mintIxs(s, big)), { preflightCommitment: 'processed' }));
  const bal = await rpc('getTokenAccountBalance', [s.ata, { commitment: 'processed' }]);
  assert.equal(bal.value.amount, '18000000000000000001');
  assert.equal(bal.value.uiAmountString, '18000000000.000000001');
  assert.equal((await ctl(`/control/supply?mint=${s.mint}`)).supply, '18000000000000000001');
  assert.equal((await rpcErr('getTokenAccountBalance', [s.payer.address])).code, -32602);
  assert.equal((await rpcErr('getTokenAccountBalance', [b58.decode(randomBytes(32))])).code, -32602);
});

test('resending the same transaction never executes it twice', async () => {
  const s = await mintSetup();
  const tx = await buildTx(s.payer, mintIxs(s, 500n));
  const sig = await send(tx, { preflightCommitment: 'processed' });
  await landed(sig);
  const afterFirst = await lamportsOf(s.payer.address);

  const e = await rpcErr('sendTransaction', [tx.b64, { encoding: 'base64', preflightCommitment: 'processed' }]);
  assert.equal(e.code, -32002);
  assert.equal(e.data.err, 'AlreadyProcessed');
  assert.equal(e.message, 'Transaction simulation failed: This transaction has already been processed');

  for (let i = 0; i < 3; i++) assert.equal(await send(tx, { skipPreflight: true }), sig);
  await blocksPass(3);
  assert.equal(await executions(sig), 1);
  assert.equal(await supply(s.mint), 500n);
  assert.equal(await lamportsOf(s.payer.address), afterFirst);

  // default base58 encoding: same bytes, same answer
  const e58 = await rpcErr('sendTransaction', [b58.decode(tx.bytes), { preflightCommitment: 'processed' }]);
  assert.equal(e58.data.err, 'AlreadyProcessed');
  assert.equal((await ctl('/control/signatures')).signatures.every((x) => x.executions === 1), true);
});

test('a transaction past its lastValidBlockHeight is refused and never lands', async () => {
  const s = await mintSetup();
  const tx = await buildTx(s.payer, mintIxs(s, 7n));
  const fee = await rpc('getFeeForMessage', [Buffer.from(tx.messageBytes).toString('base64'), { commitment: 'processed' }]);
  assert.notEqual(fee.value, null);
  await ctl('/control/jump', { blocks: 200 });
  assert.ok(await rpc('getBlockHeight', [{ commitment: 'processed' }]) > tx.lifetime.lastValidBlockHeight);

  const e = await rpcErr('sendTransaction', [tx.b64, { encoding: 'base64', preflightCommitment: 'processed' }]);
  assert.equal(e.code, -32002);
  assert.equal(e.data.err, 'BlockhashNotFound');
  assert.equal(e.message, 'Transaction simulation failed: Blockhash not found');
  assert.equal(await send(tx, { skipPreflight: true }), tx.sig);   // silently dropped, like a real node
  const sim = await rpc('simulateTransaction', [tx.b64, { encoding: 'base64', commitment: 'processed' }]);
  assert.equal(sim.value.err, 'BlockhashNotFound');
  const feeAfter = await rpc('getFeeForMessage', [Buffer.from(tx.messageBytes).toString('base64'), { commitment: 'processed' }]);
  assert.equal(feeAfter.value, null);
  await blocksPass(3);
  assert.equal(await status(tx.sig), null);
  assert.equal(await executions(tx.sig), 0);
  assert.equal(await supply(s.mint), 0n);
});

test('commitment levels and the status-cache window follow block production', async () => {
  const s = await mintSetup();
  await ctl('/control/pause', {});
  try {
    const tx = await buildTx(s.payer, mintIxs(s, 1n));
    await send(tx, { skipPreflight: true });
    assert.equal(await status(tx.sig), null, 'landed without a block being produced');
    const { slot } = await ctl('/control/jump', { blocks: 1 });
    let st = await status(tx.sig);
    assert.deepEqual(st, { slot, confirmations: 0, err: null, status: { Ok: null }, confirmationStatus: 'processed' });
    await ctl('/control/jump', { blocks: 1 });
    st = await status(tx.sig);
    assert.equal(st.confirmationStatus, 'confirmed');
    assert.equal(st.confirmations, 1);
    await ctl('/control/jump', { blocks: 30 });
    assert.equal((await status(tx.sig)).confirmationStatus, 'confirmed');
    await ctl('/control/jump', { blocks: 1 });
    st = await status(tx.sig);
    assert.equal(st.confirmationStatus, 'finalized');
    assert.equal(st.confirmations, null);
    await ctl('/control/jump', { blocks: 300 });
    assert.equal(await status(tx.sig, false), null, 'old signature still in the recent status cache');
    assert.equal((await status(tx.sig, true)).slot, slot);

    // preflight at finalized (the default) does not see a transaction landed in the last 32 slots: the send is
    // accepted but the duplicate is ignored; once finalized, preflight reports AlreadyProcessed
    const tf = await buildTx(s.payer, mintIxs(s, 1n), await latest('finalized'));
    assert.equal(await send(tf), tf.sig);
    await ctl('/control/jump', { blocks: 1 });
    assert.equal((await status(tf.sig)).confirmationStatus, 'processed');
    assert.equal(await send(tf), tf.sig);
    await ctl('/control/jump', { blocks: 31 });
    assert.equal(await send(tf), tf.sig);
    await ctl('/control/jump', { blocks: 1 });
    assert.equal((await rpcErr('sendTransaction', [tf.b64, { encoding: 'base64' }])).data.err, 'AlreadyProcessed');
    assert.equal(await executions(tf.sig), 1);
    assert.equal(await supply(s.mint), 2n);
  } finally {
    await ctl('/control/resume', {});
  }
});

test('program failures: preflight -32002 with serde error, skipPreflight lands failed and charges the fee', async () => {
  const s = await mintSetup();
  await landed(await send(await buildTx(s.payer, mintIxs(s, 1n)), { preflightCommitment: 'processed' }));
  const wrong = await buildTx(s.payer, [mintToCheckedIx(s.mint, s.ata, s.payer.address, 5n, 2, s.program)]);
  const e = await rpcErr('sendTransaction', [wrong.b64, { encoding: 'base64', preflightCommitment: 'processed' }]);
  assert.equal(e.code, -32002);
  assert.deepEqual(e.data.err, { InstructionError: [0, { Custom: 18 }] });
  assert.equal(e.message, 'Transaction simulation failed: Error processing Instruction 0: custom program error: 0x12');
  assert.ok(Array.isArray(e.data.logs) && e.data.logs.length > 0);
  assert.equal(await status(wrong.sig), null);

  const before = await lamportsOf(s.payer.address);
  await send(wrong, { skipPreflight: true });
  const st = await landed(wrong.sig);
  assert.deepEqual(st.err, { InstructionError: [0, { Custom: 18 }] });
  assert.deepEqual(st.status, { Err: { InstructionError: [0, { Custom: 18 }] } });
  assert.equal(before - await lamportsOf(s.payer.address), 5000n);
  assert.equal(await supply(s.mint), 1n);
  assert.equal(await executions(wrong.sig), 1);
  // a failed-but-included transaction is also deduplicated
  assert.equal((await rpcErr('sendTransaction', [wrong.b64, { encoding: 'base64', preflightCommitment: 'processed' }])).data.err, 'AlreadyProcessed');

  // unfunded payer: rejected before execution, nothing recorded
  const poor = await generateKeyPairSigner();
  const t3 = await buildTx(poor, [memoIx('x')]);
  const e3 = await rpcErr('sendTransaction', [t3.b64, { encoding: 'base64', preflightCommitment: 'processed' }]);
  assert.equal(e3.data.err, 'AccountNotFound');
});

test('fault drop_response: the request fails but the transaction lands', async () => {
  const s = await mintSetup();
  const tx = await buildTx(s.payer, mintIxs(s, 42n));
  await ctl('/control/fault', { kind: 'drop_response', count: 1 });
  await assert.rejects(post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sendTransaction', params: [tx.b64, { encoding: 'base64', skipPreflight: true }] })));
  assert.equal((await landed(tx.sig)).err, null);
  assert.equal(await supply(s.mint), 42n);
  // the client's retry is harmless
  assert.equal((await rpcErr('sendTransaction', [tx.b64, { encoding: 'base64', preflightCommitment: 'processed' }])).data.err, 'AlreadyProcessed');
  assert.equal(await executions(tx.sig), 1);
  assert.equal((await ctl('/control/state')).faults.length, 0, 'count:1 fault not consumed');
});

test('fault drop_transaction: signature returned, never lands, then BlockhashNotFound after expiry', async () => {
  const s = await mintSetup();
  const tx = await buildTx(s.payer, mintIxs(s, 9n));
  await ctl('/control/fault', { kind: 'drop_transaction', count: 1 });
  assert.equal(await send(tx, { preflightCommitment: 'processed' }), tx.sig);
  await blocksPass(5);
  assert.equal(await status(tx.sig), null);
  await ctl('/control/jump', { blocks: 200 });
  assert.equal((await rpcErr('sendTransaction', [tx.b64, { encoding: 'base64', preflightCommitment: 'processed' }])).data.err, 'BlockhashNotFound');
  await send(tx, { skipPreflight: true });
  await blocksPass(3);
  assert.equal(await status(tx.sig), null);
  assert.equal(await supply(s.mint), 0n);
});

test('fault reject_send returns the given error without executing; then sends work again', async () => {
  const s = await mintSetup();
  const tx = await buildTx(s.payer, mintIxs(s, 3n));
  await ctl('/control/fault', { kind: 'reject_send', count: 1, code: -32002, message: 'Transaction simulation failed: Blockhash not found', data: { err: 'BlockhashNotFound' } });
  const e = await rpcErr('sendTransaction', [tx.b64, { encoding: 'base64', skipPreflight: true }]);
  assert.deepEqual(e, { code: -32002, message: 'Transaction simulation failed: Blockhash not found', data: { err: 'BlockhashNotFound' } });
  await blocksPass(3);
  assert.equal(await status(tx.sig), null);
  await send(tx, { preflightCommitment: 'processed' });
  await landed(tx.sig);
  assert.equal(await supply(s.mint), 3n);
});

test('fault http_500 with a method filter, stall past the client timeout, null_statuses', async () => {
  await ctl('/control/fault', { kind: 'http_500', method: 'getSlot', count: 2 });
  assert.equal(await rpc('getHealth'), 'ok');
  assert.equal((await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot' }))).status, 500);
  assert.equal((await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot' }))).status, 500);
  assert.equal(typeof await rpc('getSlot'), 'number');

  await ctl('/control/fault', { kind: 'http_500', probability: 0 });
  for (let i = 0; i < 5; i++) assert.equal(await rpc('getHealth'), 'ok');
  await ctl('/control/clear-faults', {});

  await ctl('/control/fault', { kind: 'stall', ms: 3000, method: 'getHealth', count: 1 });
  await assert.rejects(post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' }), { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
  assert.equal(await rpc('getHealth'), 'ok');

  const s = await mintSetup();
  const tx = await buildTx(s.payer, mintIxs(s, 1n));
  await landed(await send(tx, { preflightCommitment: 'processed' }));
  await ctl('/control/fault', { kind: 'null_statuses', count: 1 });
  assert.equal(await status(tx.sig, true), null);
  assert.notEqual(await status(tx.sig, true), null);
});

test('pause stops block production and landing; resume continues', async () => {
  const s = await mintSetup();
  const tx = await buildTx(s.payer, mintIxs(s, 11n));
  const p = await ctl('/control/pause', {});
  try {
    assert.equal((await ctl('/control/state')).paused, true);
    await send(tx, { preflightCommitment: 'processed' });
    await new Promise((r) => setTimeout(r, 250)); // ten slot times with no block
    assert.equal(await rpc('getSlot', [{ commitment: 'processed' }]), p.slot);
    assert.equal(await status(tx.sig), null);
    assert.equal((await ctl('/control/state')).pending, 1);
  } finally {
    await ctl('/control/resume', {});
  }
  assert.equal((await landed(tx.sig)).err, null);
  assert.ok(await rpc('getSlot', [{ commitment: 'processed' }]) > p.slot);
  assert.equal(await supply(s.mint), 11n);
});

test('malformed input always gets a JSON-RPC error and the server stays alive', async () => {
  const s = await mintSetup();
  const good = await buildTx(s.payer, mintIxs(s, 1n));
  const cases = [];
  const add = (name, b64, cfg = { encoding: 'base64' }) => cases.push({ name, params: [b64, cfg] });
  const enc = (bytes) => Buffer.from(bytes).toString('base64');
  add('bad base64', '!!!not base64!!!');
  add('base64 without padding', good.b64.replace(/=+$/, '') + 'A');
  add('empty', '');
  for (let i = 0; i < 20; i++) add(`random ${i}`, enc(randomBytes(1 + (i * 61) % 1200)));
  add('truncated', enc(good.bytes.subarray(0, good.bytes.length - 1)));
  add('truncated in signature', enc(good.bytes.subarray(0, 30)));
  add('trailing garbage', enc(Buffer.concat([good.bytes, Buffer.from([0])])));
  add('oversize 1233', enc(Buffer.concat([good.bytes, randomBytes(1233 - good.bytes.length)])));
  add('oversize 1300', enc(Buffer.concat([good.bytes, randomBytes(1300 - good.bytes.length)])));
  add('zero signatures', enc(Buffer.concat([Buffer.from([0]), good.bytes.subarray(65)])));
  const zeroHeader = Buffer.from(good.bytes);
  zeroHeader[65] = 0; // num_required_signatures = 0 while one signature is present
  add('header says zero signers', enc(zeroHeader));
  add('two signatures for one signer', enc(Buffer.concat([Buffer.from([2]), good.bytes.subarray(1, 65), good.bytes.subarray(1)])));
  add('base64 sent as default base58', good.b64, {});
  add('unknown encoding', good.b64, { encoding: 'jsonParsed' });
  add('not a string', 12345);
  for (const c of cases) {
    const e = await rpcErr('sendTransaction', c.params);
    assert.equal(e.code, -32602, `${c.name}: ${JSON.stringify(e)}`);
    const se = await rpcErr('simulateTransaction', c.params);
    assert.equal(se.code, -32602, `simulate ${c.name}: ${JSON.stringify(se)}`);
  }
  const big = (await rpcErr('sendTransaction', cases.find((c) => c.name === 'oversize 1300').params)).message;
  assert.match(big, /^base64 encoded solana_transaction::versioned::VersionedTransaction too large: 1736 bytes \(max: encoded\/raw 1644\/1232\)$/);
  assert.match((await rpcErr('sendTransaction', cases.find((c) => c.name === 'oversize 1233').params)).message, /too large: 1233 bytes/);

  // bad signature: -32003 with preflight; dropped by the leader without preflight
  const forged = Buffer.from(good.bytes);
  forged[5] ^= 0xff;
  assert.equal((await rpcErr('sendTransaction', [enc(forged), { encoding: 'base64', preflightCommitment: 'processed' }])).code, -32003);
  const forgedSig = await rpc('sendTransaction', [enc(forged), { encoding: 'base64', skipPreflight: true }]);
  await blocksPass(3);
  assert.equal(await status(forgedSig), null);

  for (const body of ['{bad json', '', 'null', '42', '[]', '{"jsonrpc":"2.0","id":1}', '{"jsonrpc":"1.0","id":1,"method":"getHealth"}', '\u0000\u0001']) {
    const { status: code, text } = await post(body);
    assert.equal(code, 200, body);
    const j = JSON.parse(text);
    assert.ok(j.error && [-32700, -32600].includes(j.error.code), `${JSON.stringify(body)} -> ${text}`);
  }
  assert.equal((await post('{bad json')).text, '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}');
  assert.equal(JSON.parse((await post('{"jsonrpc":"2.0","id":1,"method":"getHealth","params":"x"}')).text).error.code, -32602);
  const fm = await rpcErr('getFeeForMessage', ['%%%']);
  assert.equal(fm.code, -32602);
  assert.equal((await rpcErr('getFeeForMessage', [enc(randomBytes(40))])).code, -32602);

  // the original transaction still works and the server is alive
  await send(good, { preflightCommitment: 'processed' });
  assert.equal((await landed(good.sig)).err, null);
  assert.equal(await rpc('getHealth'), 'ok');
  assert.equal(child.exitCode, null);
});

test('control API validates its input', async () => {
  const bad = async (p, body) => {
    const res = await fetch(base + p, { method: 'POST', body });
    assert.ok(res.status >= 400 && res.status < 500, `${p} ${body} -> ${res.status}`);
    assert.equal(typeof (await res.json()).error, 'string');
  };
  await bad('/control/mint', '{"authority":"x","decimals":6}');
  await bad('/control/mint', `{"authority":"${SYSTEM}","decimals":6,"token_program":"nope"}`);
  await bad('/control/fund', `{"pubkey":"${SYSTEM}","lamports":"-1"}`);
  await bad('/control/fault', '{"kind":"explode"}');
  await bad('/control/fault', '{"kind":"stall"}');
  await bad('/control/fault', '{"kind":"drop_response","probability":2}');
  await bad('/control/jump', '{"blocks":0}');
  await bad('/control/nope', '{}');
  await bad('/control/fund', 'not json');
  const st = await ctl('/control/state');
  for (const k of ['slot', 'blockHeight', 'paused', 'faults', 'executed']) assert.ok(k in st, k);
  const id = (await ctl('/control/fault', { kind: 'stall', ms: 1, method: 'getVersion' })).id;
  assert.deepEqual((await ctl('/control/state')).faults.map((f) => f.id), [id]);
  assert.equal((await ctl('/control/slot-ms', { ms: 25 })).slotMs, 25);
});

test('refuses a non-loopback host', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [SERVER, '--port', '0', '--host', '0.0.0.0'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /non-loopback/);
  assert.equal(r.stdout, '');
});

// ---- durable nonces, views of lagging backends, the methods the exactly-once proof needs ---------------

async function nonceSetup() {
  const payer = await funded();
  const nonce = await generateKeyPairSigner();
  const rent = BigInt(await rpc('getMinimumBalanceForRentExemption', [80]));
  const create = {
    programAddress: SYSTEM, accounts: [{ address: payer.address, role: AccountRole.WRITABLE_SIGNER },
      { address: nonce.address, role: AccountRole.WRITABLE_SIGNER, signer: nonce }],
    data: (() => { const d = new Uint8Array(52); const v = new DataView(d.buffer); v.setUint32(0, 0, true); v.setBigUint64(4, rent, true);
      v.setBigUint64(12, 80n, true); d.set(addrEnc.encode(SYSTEM), 20); return d; })(),
  };
  const init = {
    programAddress: SYSTEM, accounts: [{ address: nonce.address, role: AccountRole.WRITABLE },
      { address: address('SysvarRecentB1ockHashes11111111111111111111'), role: AccountRole.READONLY },
      { address: address('SysvarRent111111111111111111111111111111111'), role: AccountRole.READONLY }],
    data: (() => { const d = new Uint8Array(36); new DataView(d.buffer).setUint32(0, 6, true); d.set(addrEnc.encode(payer.address), 4); return d; })(),
  };
  await landed(await send(await buildTx(payer, [create, init]), { preflightCommitment: 'processed' }));
  return { payer, nonce: nonce.address };
}

async function nonceValue(addr, commitment = 'processed') {
  const v = (await rpc('getAccountInfo', [addr, { encoding: 'base64', commitment }])).value;
  return b58.decode(Buffer.from(v.data[0], 'base64').subarray(40, 72));
}

function advanceIx(nonce, authority) {
  const d = new Uint8Array(4);
  d[0] = 4;
  return { programAddress: SYSTEM, data: d, accounts: [{ address: nonce, role: AccountRole.WRITABLE },
    { address: address('SysvarRecentB1ockHashes11111111111111111111'), role: AccountRole.READONLY },
    { address: authority, role: AccountRole.READONLY_SIGNER }] };
}

function transferIx(from, to, lamports) {
  const d = new Uint8Array(12);
  new DataView(d.buffer).setUint32(0, 2, true);
  new DataView(d.buffer).setBigUint64(4, lamports, true);
  return { programAddress: SYSTEM, data: d, accounts: [{ address: from, role: AccountRole.WRITABLE_SIGNER }, { address: to, role: AccountRole.WRITABLE }] };
}

/* A durable-nonce transaction: AdvanceNonceAccount first, the nonce's value as blockhash. */
async function nonceTx(n, value, ixs) {
  return buildTx(n.payer, [advanceIx(n.nonce, n.payer.address), ...ixs], { blockhash: value, lastValidBlockHeight: 0 });
}

test('durable nonces: two transactions on one nonce value, only one ever lands; a used value is refused', async () => {
  const n = await nonceSetup();
  const v0 = await nonceValue(n.nonce);
  const dest = (await generateKeyPairSigner()).address;
  const a = await nonceTx(n, v0, [transferIx(n.payer.address, dest, 1_000_000n)]);
  const b = await nonceTx(n, v0, [transferIx(n.payer.address, dest, 2_000_000n)]);
  assert.notEqual(a.sig, b.sig);
  // both pass preflight (the nonce holds v0) and both reach the leader in the same block
  await ctl('/control/pause', {});
  await send(a, { preflightCommitment: 'processed' });
  await send(b, { preflightCommitment: 'processed' });
  await ctl('/control/resume', {});
  await waitFor('one of them', async () => (await status(a.sig)) || (await status(b.sig)));
  await blocksPass(3);
  const sa = await status(a.sig), sb = await status(b.sig);
  assert.ok((sa === null) !== (sb === null), 'exactly one of the two landed');
  assert.equal(await lamportsOf(dest), sa ? 1_000_000n : 2_000_000n);
  const v1 = await nonceValue(n.nonce);
  assert.notEqual(v1, v0, 'the nonce advanced');
  // the loser, rebroadcast, is refused at preflight and never lands; the value never repeats
  const loser = sa ? b : a;
  const err = await rpcErr('sendTransaction', [loser.b64, { encoding: 'base64', preflightCommitment: 'processed' }]);
  assert.equal(err.code, -32002);
  assert.equal(err.data.err, 'BlockhashNotFound');
  await send(loser, { skipPreflight: true });
  await blocksPass(3);
  assert.equal(await status(loser.sig), null);
  const c = await nonceTx(n, v1, []);
  await landed(await send(c, { preflightCommitment: 'processed' }));
  const v2 = await nonceValue(n.nonce);
  assert.ok(v2 !== v1 && v2 !== v0);
});

test('reads at commitment see the chain as of that slot; getTokenSupply, getEpochInfo and minimumLedgerSlot', async () => {
  const s = await mintSetup(9);
  await ctl('/control/pause', {});
  await ctl('/control/jump', { blocks: 40 }); // the new mint is finalized
  let sig;
  try {
    sig = await send(await buildTx(s.payer, mintIxs(s, 5_000_000_000n)), { preflightCommitment: 'processed' });
    await ctl('/control/jump', { blocks: 1 }); // lands it
    const fin = await rpc('getTokenSupply', [s.mint, { commitment: 'finalized' }]);
    const proc = await rpc('getTokenSupply', [s.mint, { commitment: 'processed' }]);
    assert.equal(proc.value.amount, '5000000000');
    assert.equal(proc.value.uiAmountString, '5');
    assert.equal(fin.value.amount, '0', 'not yet finalized');
    assert.ok(fin.context.slot < proc.context.slot);
    const ei = await rpc('getEpochInfo', [{ commitment: 'finalized' }]);
    assert.equal(ei.absoluteSlot, fin.context.slot);
    assert.equal(ei.blockHeight, await rpc('getBlockHeight', [{ commitment: 'finalized' }]));
    const e = await rpcErr('getTokenSupply', [s.mint, { commitment: 'finalized', minContextSlot: proc.context.slot }]);
    assert.equal(e.code, -32016);
    assert.equal(e.data.contextSlot, fin.context.slot);
    await ctl('/control/jump', { blocks: 40 });
    assert.equal((await rpc('getTokenSupply', [s.mint, { commitment: 'finalized' }])).value.amount, '5000000000');
  } finally {
    await ctl('/control/resume', {});
  }
  assert.ok(await status(sig));
  assert.equal(typeof await rpc('minimumLedgerSlot', []), 'number');
  assert.equal((await rpcErr('getTokenSupply', [s.wallet])).code, -32602);
});

test('faults lag and alternate: a backend behind answers old heights, nulls for new transactions, -32016', async () => {
  const s = await mintSetup(9);
  const sig = await send(await buildTx(s.payer, mintIxs(s, 7n)), { preflightCommitment: 'processed' });
  await landed(sig);
  const head = await rpc('getSlot', [{ commitment: 'processed' }]);
  await ctl('/control/fault', { kind: 'lag', slots: 500, count: 3 });
  assert.ok((await rpc('getSlot', [{ commitment: 'processed' }])) <= head - 490);
  assert.equal(await status(sig, false), null, 'a lagging backend has not seen it');
  assert.equal((await rpcErr('getAccountInfo', [s.ata, { commitment: 'processed', minContextSlot: head }])).code, -32016);
  // alternate: every other request is answered by a backend 500 slots behind, restarted from a snapshot
  await ctl('/control/fault', { kind: 'alternate', slots: 500 });
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await status(sig));
  assert.equal(answers.filter((x) => x === null).length, 2);
  assert.equal(answers.filter((x) => x !== null).length, 2);
});

test('faults no_history and null_statuses for_ms; rollback: processed, then gone, then lands for real', async () => {
  const s = await mintSetup(9);
  const sig = await send(await buildTx(s.payer, mintIxs(s, 9n)), { preflightCommitment: 'processed' });
  await landed(sig);
  await ctl('/control/fault', { kind: 'no_history', count: 2 });
  assert.equal((await rpcErr('getSignatureStatuses', [[sig], { searchTransactionHistory: true }])).code, -32011);
  // no history: the oldest slot is the head (which may tick on between the two calls on a busy machine)
  const oldest = await rpc('minimumLedgerSlot', []), headNow = await rpc('getSlot', [{ commitment: 'processed' }]);
  assert.ok(oldest <= headNow && headNow - oldest < 100, `minimumLedgerSlot ${oldest}, head ${headNow}`);
  await ctl('/control/fault', { kind: 'null_statuses', for_ms: 300 });
  assert.equal(await status(sig), null);
  await waitFor('the timed fault to expire', async () => (await status(sig)) !== null);

  await ctl('/control/fault', { kind: 'rollback', slots: 4, count: 1 });
  const tx = await buildTx(s.payer, mintIxs(s, 11n));
  await send(tx, { preflightCommitment: 'processed' });
  const ph = await waitFor('a processed status', () => status(tx.sig));
  assert.equal(ph.confirmationStatus, 'processed');
  await waitFor('the fork to be abandoned', async () => (await status(tx.sig)) === null);
  assert.equal(await executions(tx.sig), 0, 'never executed');
  await send(tx, { preflightCommitment: 'processed' });
  const st = await landed(tx.sig);
  await waitFor('finalized', async () => (await status(tx.sig)).confirmationStatus === 'finalized');
  assert.equal(await executions(tx.sig), 1);
  assert.ok(st.slot > ph.slot);
});

test('faults congestion and http_429: cheap transactions dropped, fees reported; 429 with Retry-After', async () => {
  const s = await mintSetup(9);
  await ctl('/control/fault', { kind: 'congestion', min_price: 5000 });
  const cheap = await buildTx(s.payer, mintIxs(s, 1n, { price: 100n }));
  await send(cheap, { preflightCommitment: 'processed' });
  await blocksPass(3);
  assert.equal(await status(cheap.sig), null, 'dropped by the leader');
  const fees = await rpc('getRecentPrioritizationFees', [[s.mint]]);
  assert.ok(fees.length > 0 && fees.every((f) => f.prioritizationFee >= 5000));
  const paid = await buildTx(s.payer, mintIxs(s, 2n, { price: 6000n }));
  await landed(await send(paid, { preflightCommitment: 'processed' }));
  await ctl('/control/clear-faults', {});
  await blocksPass(2);
  const after = await rpc('getRecentPrioritizationFees', [[s.mint]]);
  assert.ok(after.some((f) => f.prioritizationFee === 6000), 'the landed price is reported for the mint');

  await ctl('/control/fault', { kind: 'http_429', retry_after: 2, count: 1 });
  const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot' }) });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '2');
  assert.equal(typeof await rpc('getSlot', []), 'number');
});
