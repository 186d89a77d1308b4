// solana_rpc.test.mjs: the C JSON-RPC client (common/solrpc via build/<san>/rpctool) against the simulator,
// one test per fault class and per happy path, asserting the error classification mintd relies on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  AccountRole, address, appendTransactionMessageInstructions, createTransactionMessage, generateKeyPairSigner,
  getAddressEncoder, getBase64EncodedWireTransaction, getProgramDerivedAddress, getSignatureFromTransaction,
  pipe, setTransactionMessageFeePayerSigner, setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import { ROOT, GTX_BIN } from './lib/stack.mjs';

const RPCTOOL = join(GTX_BIN, 'rpctool');
const TOKEN = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
const ATA = address('ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL');
const SYSTEM = address('11111111111111111111111111111111');
const ORDER = { processed: 1, confirmed: 2, finalized: 3 };

let sim; // { proc, url, stderr }
let payer;

function startSim() {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(ROOT, 'test/solana-sim/server.mjs'), '--port', '0', '--slot-ms', '25'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const s = { proc, url: null, stderr: '' };
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`simulator did not start: ${s.stderr}`)); }, 60000);
    proc.stderr.on('data', (d) => { s.stderr += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m && !s.url) { s.url = m[1]; clearTimeout(timer); resolve(s); }
    });
    proc.on('exit', (code) => { if (!s.url) { clearTimeout(timer); reject(new Error(`simulator exited ${code}: ${s.stderr}`)); } });
  });
}

// Runs rpctool; resolves {status, out} where out is its one JSON line.
function rpctool(...args) {
  return new Promise((resolve, reject) => {
    execFile(RPCTOOL, args, { timeout: 60000 }, (err, stdout, stderr) => {
      const status = err ? err.code : 0;
      if (typeof status !== 'number' || /Sanitizer|runtime error/.test(stderr)) {
        reject(new Error(`rpctool ${args.join(' ')} failed: ${err?.message}\n${stderr}`));
        return;
      }
      const lines = stdout.trim().split('\n');
      assert.equal(lines.length, 1, `one JSON line expected, got: ${stdout}`);
      resolve({ status, out: JSON.parse(lines[0]) });
    });
  });
}

async function ok(...args) {
  const r = await rpctool(sim.url, ...args);
  assert.equal(r.status, 0, `rpctool ${args[0]}: ${JSON.stringify(r.out)}`);
  assert.equal(r.out.error, undefined);
  return r.out;
}

async function fails(...args) {
  const r = await rpctool(...args);
  assert.equal(r.status, 1, `expected a failure, got ${JSON.stringify(r.out)}`);
  assert.ok(r.out.error, JSON.stringify(r.out));
  assert.ok(!r.out.error.message.includes('\n'));
  return r.out.error;
}

async function control(method, path, body) {
  const res = await fetch(`${sim.url}${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await res.json();
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(j)}`);
  return j;
}
const fault = (spec) => control('POST', '/control/fault', spec);

// Polls fn until it returns a truthy value; fails after the deadline.
async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const enc = getAddressEncoder();
async function ataOf(wallet, mint) {
  const [pda] = await getProgramDerivedAddress({ programAddress: ATA, seeds: [enc.encode(wallet), enc.encode(TOKEN), enc.encode(mint)] });
  return pda;
}

function u64le(v) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

// A fresh mint (authority = payer) with the given decimals; returns its address.
async function newMint(decimals) {
  return address((await control('POST', '/control/mint', { authority: payer.address, decimals })).mint);
}

// Signs [CreateIdempotent ATA, MintToChecked] for a fresh wallet; returns {b64, sig, ata, messageBytes}.
async function mintTx({ mint, amount, decimals, blockhash }) {
  const wallet = (await generateKeyPairSigner()).address;
  const ata = await ataOf(wallet, mint);
  const bh = blockhash ?? await ok('blockhash');
  const create = {
    programAddress: ATA,
    accounts: [
      { address: payer.address, role: AccountRole.WRITABLE_SIGNER, signer: payer },
      { address: ata, role: AccountRole.WRITABLE },
      { address: wallet, role: AccountRole.READONLY },
      { address: mint, role: AccountRole.READONLY },
      { address: SYSTEM, role: AccountRole.READONLY },
      { address: TOKEN, role: AccountRole.READONLY },
    ],
    data: new Uint8Array([1]),
  };
  const mintTo = {
    programAddress: TOKEN,
    accounts: [
      { address: mint, role: AccountRole.WRITABLE },
      { address: ata, role: AccountRole.WRITABLE },
      { address: payer.address, role: AccountRole.READONLY_SIGNER, signer: payer },
    ],
    data: new Uint8Array([14, ...u64le(amount), decimals]),
  };
  const msg = pipe(
    createTransactionMessage({ version: 'legacy' }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: bh.blockhash, lastValidBlockHeight: BigInt(bh.lastValidBlockHeight) }, m),
    (m) => appendTransactionMessageInstructions([create, mintTo], m),
  );
  const tx = await signTransactionMessageWithSigners(msg);
  return { b64: getBase64EncodedWireTransaction(tx), sig: getSignatureFromTransaction(tx), ata, wallet, tx };
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');

async function statusOf(sig, ...opts) {
  const r = await ok('status', ...opts, sig);
  assert.equal(r.statuses.length, 1);
  return r.statuses[0];
}

// Waits until sig is confirmed: rpctool reads (and preflights) at the confirmed commitment, where a landing
// only the processed bank has seen is not visible yet (as on agave; e.g. no AlreadyProcessed before that).
async function landed(sig) {
  return until(`${sig} to be confirmed`, async () => {
    const s = await statusOf(sig, '--history');
    return s && ORDER[s.confirmationStatus] >= ORDER.confirmed ? s : null;
  });
}

before(async () => {
  sim = await startSim();
  payer = await generateKeyPairSigner();
  await control('POST', '/control/fund', { pubkey: payer.address, lamports: '100000000000' });
});

after(() => {
  if (sim?.proc.exitCode === null) sim.proc.kill('SIGTERM');
});

test('health, height and the newest blockhash with lastValidBlockHeight = height + 150', async () => {
  assert.deepEqual(await ok('health'), { healthy: true });
  await control('POST', '/control/pause');
  try {
    await control('POST', '/control/jump', { blocks: 40 }); // past the finalization lag of a fresh chain
    const h = BigInt((await ok('height')).height);
    const bh = await ok('blockhash');
    assert.match(bh.blockhash, /^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    assert.equal(BigInt(bh.lastValidBlockHeight), h + 150n);
    assert.ok(BigInt(bh.contextSlot) > 0n);
    const f = BigInt((await ok('--commitment', 'finalized', 'height')).height);
    assert.ok(f < h, `finalized height ${f} should trail confirmed ${h}`);
  } finally {
    await control('POST', '/control/resume');
  }
});

test('send lands; statuses progress processed -> confirmed -> finalized; token balance is exact above 2^53', async () => {
  const mint = await newMint(6);
  const amount = (1n << 53n) + 1n; // not representable as a double
  await control('POST', '/control/pause');
  let t;
  try {
    t = await mintTx({ mint, amount, decimals: 6 });
    const sent = await ok('send', t.b64);
    assert.equal(sent.signature, t.sig);
    assert.equal(await statusOf(t.sig), null); // not in a block yet

    const seen = [];
    for (const blocks of [1, 1, 40]) {
      await control('POST', '/control/jump', { blocks });
      const s = await statusOf(t.sig);
      assert.ok(s, 'landed');
      assert.equal(s.err, null);
      seen.push(s);
    }
    assert.deepEqual(seen.map((s) => s.confirmationStatus), ['processed', 'confirmed', 'finalized']);
    assert.equal(typeof seen[0].confirmations, 'string');
    assert.ok(BigInt(seen[1].confirmations) > BigInt(seen[0].confirmations));
    assert.equal(seen[2].confirmations, null); // rooted
    for (let i = 1; i < seen.length; i++) assert.ok(ORDER[seen[i].confirmationStatus] > ORDER[seen[i - 1].confirmationStatus]);
  } finally {
    await control('POST', '/control/resume');
  }
  const bal = await ok('balance', t.ata);
  assert.equal(BigInt(bal.amount), amount);
  assert.equal(bal.decimals, 6);
  const ledger = await control('GET', `/control/balances?mint=${mint}`);
  assert.equal(BigInt(ledger.balances[t.wallet]), BigInt(bal.amount)); // keyed by owner
});

test('multiple accounts: existing ones decoded exactly, a missing one as null', async () => {
  const mint = await newMint(2);
  const t = await mintTx({ mint, amount: 18446744073709551615n, decimals: 2 }); // u64::MAX
  await ok('send', t.b64);
  await landed(t.sig);
  const missing = (await generateKeyPairSigner()).address;
  const r = await ok('accounts', mint, missing, t.ata, payer.address);
  assert.equal(r.accounts.length, 4);
  const [m, none, ata, p] = r.accounts;
  assert.equal(none, null);
  assert.equal(m.owner, TOKEN);
  assert.equal(m.dataLen, '82');
  const mdata = Buffer.from(m.data, 'base64');
  assert.equal(mdata.readBigUInt64LE(36), 18446744073709551615n); // supply
  assert.equal(mdata[44], 2); // decimals
  assert.equal(ata.owner, TOKEN);
  assert.equal(Buffer.from(ata.data, 'base64').readBigUInt64LE(64), 18446744073709551615n);
  assert.equal(BigInt((await ok('balance', t.ata)).amount), 18446744073709551615n);
  assert.equal(p.owner, SYSTEM);
  assert.equal(p.executable, false);
  assert.equal(BigInt(p.lamports), BigInt((await ok('lamports', payer.address)).lamports));
  // rentEpoch is u64::MAX for rent-exempt accounts on current clusters: above 2^53, read exactly.
  for (const a of [m, ata, p]) assert.match(a.rentEpoch, /^[0-9]+$/);
  const one = await ok('account', missing);
  assert.equal(one.account, null);
});

test('one handle serves many calls over its kept-alive connection', async () => {
  const r = await ok('--repeat', '25', 'accounts', payer.address, SYSTEM);
  assert.equal(r.accounts.length, 2);
  assert.equal(r.accounts[0].owner, SYSTEM);
  const h1 = BigInt((await ok('height')).height);
  const h2 = BigInt((await ok('--repeat', '10', 'height')).height);
  assert.ok(h2 >= h1);
});

test('fee for a message, null once its blockhash expired; simulate success and failure', async () => {
  const mint = await newMint(6);
  const t = await mintTx({ mint, amount: 5n, decimals: 6 });
  const fee = await ok('fee', b64(t.tx.messageBytes));
  assert.equal(BigInt(fee.fee), 5000n); // one signature at 5000 lamports (solana.md §4)
  const sim1 = await ok('simulate', t.b64, '--sig-verify');
  assert.equal(sim1.err, null);
  assert.ok(sim1.logs > 0);
  assert.ok(BigInt(sim1.unitsConsumed) > 0n);
  const bad = await mintTx({ mint, amount: 5n, decimals: 9 });
  const sim2 = await ok('simulate', bad.b64);
  assert.deepEqual(sim2.err, { InstructionError: [1, { Custom: 18 }] });
  await control('POST', '/control/jump', { blocks: 200 });
  assert.deepEqual(await ok('fee', b64(t.tx.messageBytes)), { fee: null });
});

test('drop_response: transport error although the transaction landed; same bytes are AlreadyProcessed', async () => {
  const mint = await newMint(6);
  const t = await mintTx({ mint, amount: 7n, decimals: 6 });
  await fault({ kind: 'drop_response', count: 1 });
  const e = await fails(sim.url, 'send', t.b64);
  assert.equal(e.kind, 'transport');
  assert.equal(e.retryable, true);
  const s = await landed(t.sig);
  assert.equal(s.err, null);

  const again = await fails(sim.url, 'send', t.b64);
  assert.equal(again.kind, 'already_processed');
  assert.equal(again.code, -32002);
  assert.equal(again.dataErr, 'AlreadyProcessed');
  assert.equal(again.retryable, false);
  // Rebroadcasting the same bytes without preflight is accepted and never executes twice.
  assert.equal((await ok('send', t.b64, '--skip-preflight')).signature, t.sig);
  await control('POST', '/control/jump', { blocks: 2 });
  const recs = (await control('GET', '/control/signatures')).signatures.filter((r) => r.signature === t.sig);
  assert.equal(recs.length, 1);
  assert.equal(recs[0].executions, 1);
  assert.equal(BigInt((await ok('balance', t.ata)).amount), 7n);
});

test('drop_transaction: accepted signature that never lands (status stays null past expiry)', async () => {
  const mint = await newMint(6);
  const t = await mintTx({ mint, amount: 1n, decimals: 6 });
  await fault({ kind: 'drop_transaction', count: 1 });
  assert.equal((await ok('send', t.b64)).signature, t.sig);
  await control('POST', '/control/jump', { blocks: 200 });
  assert.equal(await statusOf(t.sig, '--history'), null);
  const e = await fails(sim.url, 'send', t.b64);
  assert.equal(e.kind, 'blockhash_not_found');
});

test('timeout: a stalled node exceeds --timeout-ms', async () => {
  await fault({ kind: 'stall', ms: 3000, count: 1 });
  const e = await fails('--timeout-ms', '300', sim.url, 'height');
  assert.equal(e.kind, 'timeout');
  assert.equal(e.retryable, true);
  assert.ok(e.message.includes('getBlockHeight'));
});

test('HTTP 500 keeps the status', async () => {
  await fault({ kind: 'http_500', count: 1 });
  const e = await fails(sim.url, 'blockhash');
  assert.equal(e.kind, 'http');
  assert.equal(e.httpStatus, 500);
  assert.equal(e.retryable, true);
  await ok('blockhash'); // one-shot fault
});

test('JSON-RPC errors keep code and message (invalid params)', async () => {
  const e = await fails(sim.url, 'send', b64([1, 2, 3]));
  assert.equal(e.kind, 'jsonrpc');
  assert.equal(e.code, -32602);
  assert.match(e.rpcMessage, /deserialize|invalid/i);
  assert.equal(e.retryable, false);
  const g = await fails(sim.url, 'balance', (await generateKeyPairSigner()).address);
  assert.equal(g.kind, 'jsonrpc');
  assert.equal(g.code, -32602);
});

test('BlockhashNotFound: injected rejection and a really expired blockhash', async () => {
  const mint = await newMint(6);
  const t = await mintTx({ mint, amount: 3n, decimals: 6 });
  await fault({
    kind: 'reject_send', count: 1, code: -32002, message: 'Transaction simulation failed: Blockhash not found',
    data: { err: 'BlockhashNotFound', logs: [], accounts: null, unitsConsumed: 0 },
  });
  const e = await fails(sim.url, 'send', t.b64);
  assert.equal(e.kind, 'blockhash_not_found');
  assert.equal(e.code, -32002);
  assert.equal(e.retryable, true);

  const old = await mintTx({ mint, amount: 3n, decimals: 6 });
  await control('POST', '/control/jump', { blocks: 200 });
  const x = await fails(sim.url, 'send', old.b64);
  assert.equal(x.kind, 'blockhash_not_found');
  assert.equal(x.dataErr, 'BlockhashNotFound');
  assert.equal(x.retryable, true);
});

test('preflight failure keeps the TransactionError (MintToChecked with wrong decimals -> Custom 18)', async () => {
  const mint = await newMint(6);
  const t = await mintTx({ mint, amount: 10n, decimals: 9 });
  const e = await fails(sim.url, 'send', t.b64);
  assert.equal(e.kind, 'preflight');
  assert.equal(e.code, -32002);
  assert.deepEqual(e.dataErr, { InstructionError: [1, { Custom: 18 }] });
  assert.equal(e.retryable, false);
  assert.ok(e.message.includes('{"InstructionError":[1,{"Custom":18}]}'));
  // Without preflight the node forwards it; it lands as a failed transaction with the same error.
  assert.equal((await ok('send', t.b64, '--skip-preflight')).signature, t.sig);
  const s = await landed(t.sig);
  assert.deepEqual(s.err, { InstructionError: [1, { Custom: 18 }] });
});

test('signature verification failure (-32003) on a tampered signature', async () => {
  const mint = await newMint(6);
  const t = await mintTx({ mint, amount: 1n, decimals: 6 });
  const raw = Buffer.from(t.b64, 'base64');
  raw[1 + 10] ^= 0x01; // inside the first signature
  const e = await fails(sim.url, 'send', raw.toString('base64'), '--max-retries', '0');
  assert.equal(e.kind, 'sigverify');
  assert.equal(e.code, -32003);
  assert.equal(e.retryable, false);
});

test('status-cache miss: null_statuses answers null for a landed signature', async () => {
  const mint = await newMint(6);
  const t = await mintTx({ mint, amount: 2n, decimals: 6 });
  await ok('send', t.b64);
  await landed(t.sig);
  await fault({ kind: 'null_statuses', count: 1 });
  assert.equal(await statusOf(t.sig, '--history'), null);
  assert.ok(await statusOf(t.sig, '--history'));
});

test('the URL path, query and userinfo never appear in error messages', async () => {
  const port = new URL(sim.url).port;
  await fault({ kind: 'http_500', count: 1 });
  const e = await fails(`http://user:pw@127.0.0.1:${port}/secret-path?api-key=SECRET`, 'height');
  assert.equal(e.kind, 'http');
  assert.ok(!/SECRET|secret-path|user|pw/.test(JSON.stringify(e)), JSON.stringify(e));
});

test('transport: connection refused once the simulator is stopped', async () => {
  const free = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  const r = await fails(`http://127.0.0.1:${free}/?api-key=SECRET`, 'height');
  assert.equal(r.kind, 'transport');
  assert.ok(!r.message.includes('SECRET'));

  sim.proc.kill('SIGTERM');
  await until('the simulator to exit', () => sim.proc.exitCode !== null || sim.proc.signalCode !== null);
  const e = await fails(sim.url, 'send', b64([1, 2, 3]));
  assert.equal(e.kind, 'transport');
  assert.equal(e.retryable, true);
});
