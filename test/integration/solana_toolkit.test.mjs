// solana_toolkit.test.mjs: cross-checks the C Solana toolkit (via soltool) against @solana/kit and LiteSVM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  getAddressDecoder, getAddressEncoder, getBase58Decoder, getBase58Encoder, getBase64Encoder,
  getCompiledTransactionMessageDecoder, getProgramDerivedAddress, getPublicKeyFromAddress,
  getTransactionDecoder, getTransactionEncoder, verifySignature,
} from '@solana/kit';
import { LiteSVM, TransactionMetadata } from 'litesvm';

const BIN = process.env.GTX_BIN;
if (!BIN) throw new Error('set GTX_BIN to the directory holding soltool (e.g. build/san)');
const SOLTOOL = join(BIN, 'soltool');

const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const TOKEN22 = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const SYSTEM = '11111111111111111111111111111111';
const MEMO = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr';
const CB = 'ComputeBudget111111111111111111111111111111';

const b58enc = getBase58Decoder(); // bytes -> base58 string (kit names codecs by the value side)
const b58dec = getBase58Encoder(); // base58 string -> bytes
const addrBytes = getAddressEncoder();
const addrFromBytes = getAddressDecoder();

function soltool(args, input, { ok = true } = {}) {
  const r = spawnSync(SOLTOOL, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (ok) assert.equal(r.status, 0, `soltool ${args.join(' ')} failed: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Sanitizer|runtime error|LeakSanitizer/);
  return r;
}

const hex = (b) => Buffer.from(b).toString('hex');
const randomAddress = () => addrFromBytes.decode(randomBytes(32));
const u64le = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; };
const randomAmount = () => BigInt('0x' + randomBytes(5).toString('hex')) + 1n;

test('base58 round-trips random bytes (with leading zeros) identically to kit', () => {
  const inputs = [];
  for (let i = 0; i < 600; i++) {
    const zeros = i % 7 === 0 ? Math.floor(Math.random() * 6) : 0;
    const body = randomBytes(Math.floor(Math.random() * 65));
    inputs.push(Buffer.concat([Buffer.alloc(zeros), body]));
  }
  inputs.push(Buffer.alloc(32), Buffer.alloc(64), Buffer.alloc(1), Buffer.from([0, 0, 1]));
  const nonEmpty = inputs.filter((b) => b.length > 0);
  const enc = soltool(['b58enc'], nonEmpty.map(hex).join('\n') + '\n').stdout.trim().split('\n');
  assert.equal(enc.length, nonEmpty.length);
  nonEmpty.forEach((b, i) => assert.equal(enc[i], b58enc.decode(b), `encode ${hex(b)}`));
  const dec = soltool(['b58dec'], enc.join('\n') + '\n').stdout.trim().split('\n');
  nonEmpty.forEach((b, i) => assert.equal(dec[i], hex(b58dec.encode(enc[i]))));
  nonEmpty.forEach((b, i) => assert.equal(dec[i], hex(b)));
  for (const bad of ['0', 'O', 'I', 'l', '2g0']) {
    const r = soltool(['b58dec', bad], '', { ok: false });
    assert.equal(r.status, 1, `accepted ${bad}`);
  }
});

async function checkAtas(tokenProgram) {
  const mint = randomAddress();
  const wallets = Array.from({ length: 1000 }, randomAddress);
  const out = soltool(['ata', mint, tokenProgram === TOKEN ? 'token' : 'token2022'], wallets.join('\n') + '\n')
    .stdout.trim().split('\n');
  assert.equal(out.length, wallets.length);
  for (let i = 0; i < wallets.length; i++) {
    const [pda] = await getProgramDerivedAddress({
      programAddress: ATA_PROGRAM,
      seeds: [addrBytes.encode(wallets[i]), addrBytes.encode(tokenProgram), addrBytes.encode(mint)],
    });
    assert.equal(out[i], pda, `wallet ${wallets[i]}`);
  }
}

test('ATA derivation equals kit getProgramDerivedAddress for 1000 random wallets (Token)', () => checkAtas(TOKEN));
test('ATA derivation equals kit getProgramDerivedAddress for 1000 random wallets (Token-2022)', () =>
  checkAtas(TOKEN22));

// The instructions soltool build-mint is asked for, written out independently from the wire format docs.
async function expectedInstructions(req, payer) {
  const ixs = [];
  if (req.cu_limit !== undefined) {
    const d = Buffer.alloc(5); d[0] = 2; d.writeUInt32LE(req.cu_limit, 1);
    ixs.push({ program: CB, accounts: [], data: d });
  }
  if (req.cu_price !== undefined) ixs.push({ program: CB, accounts: [], data: Buffer.concat([Buffer.from([3]), u64le(BigInt(req.cu_price))]) });
  const prog = req.token_program === 'token' ? TOKEN : TOKEN22;
  for (const r of req.recipients) {
    const [ata] = await getProgramDerivedAddress({
      programAddress: ATA_PROGRAM,
      seeds: [addrBytes.encode(r.wallet), addrBytes.encode(prog), addrBytes.encode(req.mint)],
    });
    if (r.create) {
      ixs.push({
        program: ATA_PROGRAM,
        accounts: [[payer, true, true], [ata, false, true], [r.wallet, false, false], [req.mint, false, false],
          [SYSTEM, false, false], [prog, false, false]],
        data: Buffer.from([1]),
      });
    }
    ixs.push({
      program: prog,
      accounts: [[req.mint, false, true], [ata, false, true], [payer, true, false]],
      data: Buffer.concat([Buffer.from([14]), u64le(BigInt(r.amount)), Buffer.from([req.decimals])]),
    });
  }
  if (req.memo !== undefined) ixs.push({ program: MEMO, accounts: [], data: Buffer.from(req.memo, 'utf8') });
  return ixs;
}

// Decodes with kit and checks signature, layout, roles and every instruction; returns the kit transaction.
async function checkDecoded(out, req, payer) {
  const raw = getBase64Encoder().encode(out.tx_base64);
  assert.equal(raw.length, out.tx_len);
  assert.equal(raw.length, out.size, 'predicted size equals the serialized length');
  assert.ok(raw.length <= 1232);
  const tx = getTransactionDecoder().decode(raw);
  assert.equal(getTransactionEncoder().encode(tx).length, raw.length, 'no trailing bytes');
  assert.deepEqual(Object.keys(tx.signatures), [payer]);
  const sig = tx.signatures[payer];
  assert.equal(b58enc.decode(sig), out.signature);
  assert.ok(await verifySignature(await getPublicKeyFromAddress(payer), sig, tx.messageBytes));
  const m = getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  assert.equal(m.version, req.tables ? 0 : 'legacy');
  assert.equal(out.version, req.tables ? '0' : 'legacy');
  assert.equal(m.lifetimeToken, req.blockhash);
  const stat = m.staticAccounts, h = m.header, ns = stat.length;
  // The whole account index space: static keys, then every lookup's writable, then every lookup's readonly.
  const lookups = m.addressTableLookups ?? [];
  const tableOf = new Map((req.tables ?? []).map((t) => [t.address, t.addresses]));
  const loadedW = [], loadedR = [];
  for (const l of lookups) {
    const addrs = tableOf.get(l.lookupTableAddress);
    assert.ok(addrs, `lookup of a table the request did not offer: ${l.lookupTableAddress}`);
    assert.ok(l.writableIndexes.length + l.readonlyIndexes.length > 0, 'every lookup loads something');
    for (const i of l.writableIndexes) { assert.ok(i < addrs.length); loadedW.push(addrs[i]); }
    for (const i of l.readonlyIndexes) { assert.ok(i < addrs.length); loadedR.push(addrs[i]); }
  }
  assert.equal(lookups.length, out.nlookups);
  const keys = [...stat, ...loadedW, ...loadedR], n = keys.length;
  assert.equal(keys[0], payer);
  assert.equal(new Set(keys).size, n, 'keys are unique');
  assert.equal(n, out.nkeys);
  assert.equal(ns, out.nstatic);
  const isSigner = (i) => i < h.numSignerAccounts;
  const isWritable = (i) => (i >= ns ? i < ns + loadedW.length : isSigner(i) ? i < h.numSignerAccounts - h.numReadonlySignerAccounts
    : i < ns - h.numReadonlyNonSignerAccounts);
  const want = await expectedInstructions(req, payer);
  assert.equal(m.instructions.length, want.length);
  const role = new Map([[payer, [true, true]]]);
  want.forEach((w, i) => {
    const got = m.instructions[i];
    assert.ok(got.programAddressIndex < ns, `ix ${i}: its program is a static key`);
    assert.equal(keys[got.programAddressIndex], w.program, `ix ${i} program`);
    assert.deepEqual((got.accountIndices ?? []).map((k) => keys[k]), w.accounts.map((a) => a[0]), `ix ${i} accounts`);
    assert.equal(hex(got.data ?? new Uint8Array()), hex(w.data), `ix ${i} data`);
    if (!role.has(w.program)) role.set(w.program, [false, false]);
    for (const [a, s, wr] of w.accounts) {
      const r = role.get(a) ?? [false, false];
      role.set(a, [r[0] || s, r[1] || wr]);
    }
  });
  keys.forEach((k, i) => assert.deepEqual([isSigner(i), isWritable(i)], role.get(k), `role of ${k}`));
  // Loaded when it can be: a static key that is no signer and no program is in none of the offered tables.
  const programs = new Set(want.map((w) => w.program));
  for (let i = 1; i < ns; i++) {
    if (isSigner(i) || programs.has(stat[i])) continue;
    for (const [t, addrs] of tableOf) assert.ok(!addrs.includes(stat[i]), `${stat[i]} is static though table ${t} holds it`);
  }
  return tx;
}

test('the reference vector decodes with kit and its signature verifies', async () => {
  const lines = soltool(['vector']).stdout.trim().split('\n');
  const out = JSON.parse(lines[2]);
  assert.equal(out.signature, '2PE823kgx3hpG4YSmgKFnfiF1CVpuxXCK35Jva7rv3ckHF62gfKQi3P2BtoXDAKRqbe949FzwLJoP4ZrJNytYCte');
  const tx = getTransactionDecoder().decode(getBase64Encoder().encode(out.tx_base64));
  assert.equal(hex(tx.messageBytes), lines[0].split(' ')[1]);
  const payer = '9C6hybhQ6Aycep9jaUnP6uL9ZYvDjUp1aSkFWPUFJtpj';
  assert.ok(await verifySignature(await getPublicKeyFromAddress(payer), tx.signatures[payer], tx.messageBytes));
});

function readU64(data, off) {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigUInt64LE(off);
}

async function mintFlow(tokenName) {
  const prog = tokenName === 'token' ? TOKEN : TOKEN22;
  const dir = mkdtempSync(join(tmpdir(), 'gtx-soltk-'));
  try {
    const keyfile = join(dir, 'payer.json');
    const payer = soltool(['keygen', keyfile]).stdout.trim();
    assert.equal(statSync(keyfile).mode & 0o777, 0o600);
    assert.equal(soltool(['pubkey', keyfile]).stdout.trim(), payer);

    const svm = new LiteSVM().withTransactionHistory(1000000n);
    assert.ok(svm.airdrop(payer, 1000n * 1000000000n) instanceof TransactionMetadata);
    // A mint (82 bytes) with the payer as mint authority, 6 decimals, no freeze authority.
    const mint = randomAddress();
    const decimals = 6;
    const mintData = new Uint8Array(82);
    mintData[0] = 1;
    mintData.set(addrBytes.encode(payer), 4);
    mintData[44] = decimals;
    mintData[45] = 1;
    svm.setAccount({ address: mint, lamports: svm.minimumBalanceForRentExemption(82n), programAddress: prog,
      executable: false, data: mintData, space: 82n });

    const wallets = Array.from({ length: 21 }, randomAddress);
    const expected = new Map(wallets.map((w) => [w, 0n]));
    const base = (recipients, extra = {}) => ({
      payer: keyfile, blockhash: svm.latestBlockhash(), token_program: tokenName, mint, decimals,
      recipients: recipients.map((r) => ({ ...r, amount: r.amount.toString() })), ...extra,
    });
    const cu = { cu_limit: 600000, cu_price: 1000 };
    const send = async (req, wantSize) => {
      const r = soltool(['build-mint'], JSON.stringify(req));
      const out = JSON.parse(r.stdout);
      if (wantSize !== undefined) assert.equal(out.size, wantSize);
      const tx = await checkDecoded(out, req, payer);
      const res = svm.sendTransaction(tx);
      assert.ok(res instanceof TransactionMetadata, `execution failed: ${res.err?.()} ${res.meta?.().logs?.()}`);
      assert.equal(b58enc.decode(res.signature()), out.signature);
      for (const rc of req.recipients) expected.set(rc.wallet, expected.get(rc.wallet) + BigInt(rc.amount));
    };
    const recips = (ws, create) => ws.map((wallet) => ({ wallet, amount: randomAmount(), create }));

    // The measured maxima of the reference table, live: 10 create+mint (1214), 20 mint-only (1210),
    // 21 mint-only without CU instructions (1206).
    await send(base(recips(wallets.slice(0, 10), true), cu), 1214);
    await send(base(recips(wallets.slice(10, 20), true), cu), 1214);
    await send(base(recips(wallets.slice(20, 21), true), { ...cu, memo: 'batch-0001 é→✓' }));
    await send(base(recips(wallets.slice(0, 20), false), cu), 1210);
    await send(base(recips(wallets, false)), 1206);
    // Repeating a create for an existing ATA is harmless (idempotent), with a memo.
    await send(base(recips(wallets.slice(0, 3), true), { ...cu, memo: `batch-${tokenName}` }));

    // One more recipient than the table allows is refused before signing.
    for (const req of [base(recips(wallets, false), cu), base(recips(wallets.slice(0, 11), true), cu)]) {
      const r = soltool(['build-mint'], JSON.stringify(req), { ok: false });
      assert.equal(r.status, 1);
      assert.ok(JSON.parse(r.stdout).size > 1232);
    }

    let supply = 0n;
    for (const w of wallets) {
      const [ata] = await getProgramDerivedAddress({
        programAddress: ATA_PROGRAM, seeds: [addrBytes.encode(w), addrBytes.encode(prog), addrBytes.encode(mint)],
      });
      const acct = svm.getAccount(ata);
      assert.ok(acct.exists, `ATA of ${w} exists`);
      assert.equal(acct.programAddress, prog);
      assert.equal(readU64(acct.data, 64), expected.get(w), `balance of ${w}`);
      supply += expected.get(w);
    }
    assert.equal(readU64(svm.getAccount(mint).data, 36), supply);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('C-built mint transactions decode with kit and execute in LiteSVM (Token)', () => mintFlow('token'));
test('C-built mint transactions decode with kit and execute in LiteSVM (Token-2022)', () => mintFlow('token2022'));

// v0 messages: the C builder loads every key it can from the tables offered, and its exact size model
// reproduces the reference table (55 mint-only recipients with both budget instructions in 1221 bytes).
test('C-built v0 mint transactions with lookup tables decode with kit and execute in LiteSVM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gtx-soltk-'));
  try {
    const keyfile = join(dir, 'payer.json');
    const payer = soltool(['keygen', keyfile]).stdout.trim();
    const svm = new LiteSVM().withTransactionHistory(1000000n);
    assert.ok(svm.airdrop(payer, 1000n * 1000000000n) instanceof TransactionMetadata);
    const mint = randomAddress();
    const decimals = 9;
    const mintData = new Uint8Array(82);
    mintData[0] = 1;
    mintData.set(addrBytes.encode(payer), 4);
    mintData[44] = decimals;
    mintData[45] = 1;
    svm.setAccount({ address: mint, lamports: svm.minimumBalanceForRentExemption(82n), programAddress: TOKEN,
      executable: false, data: mintData, space: 82n });
    const ataOf = async (w) => (await getProgramDerivedAddress({
      programAddress: ATA_PROGRAM, seeds: [addrBytes.encode(w), addrBytes.encode(TOKEN), addrBytes.encode(mint)],
    }))[0];
    const wallets = Array.from({ length: 60 }, randomAddress);
    const atas = await Promise.all(wallets.map(ataOf));
    const expected = new Map(wallets.map((w) => [w, 0n]));
    const sendRaw = (out) => {
      const tx = getTransactionDecoder().decode(getBase64Encoder().encode(out.tx_base64));
      const res = svm.sendTransaction(tx);
      assert.ok(res instanceof TransactionMetadata, `execution failed: ${res.err?.()} ${res.meta?.().logs?.()}`);
      return res;
    };
    const base = (recipients, extra = {}) => ({
      payer: keyfile, blockhash: svm.latestBlockhash(), token_program: 'token', mint, decimals,
      recipients: recipients.map((r) => ({ ...r, amount: r.amount.toString() })), ...extra,
    });
    const recips = (ws, create) => ws.map((wallet) => ({ wallet, amount: randomAmount(), create }));
    const cu = { cu_limit: 600000, cu_price: 1000 };
    const send = async (req, wantSize) => {
      const out = JSON.parse(soltool(['build-mint'], JSON.stringify(req)).stdout);
      if (wantSize !== undefined) assert.equal(out.size, wantSize);
      const tx = await checkDecoded(out, req, payer);
      const res = svm.sendTransaction(tx);
      assert.ok(res instanceof TransactionMetadata, `execution failed: ${res.err?.()} ${res.meta?.().logs?.()}`);
      for (const rc of req.recipients) expected.set(rc.wallet, expected.get(rc.wallet) + BigInt(rc.amount));
      return out;
    };
    for (let i = 0; i < wallets.length; i += 10) await send(base(recips(wallets.slice(i, i + 10), true), cu));

    // Two tables, created and extended by C-built transactions: A holds 55 token accounts, B the mint and
    // the other 5 plus 3 of A's (a key two tables hold goes to a table the message uses anyway).
    const slot = svm.getClock().slot;
    const lines = soltool(['alt-create'], JSON.stringify({ payer: keyfile, blockhash: svm.latestBlockhash(),
      recent_slot: slot.toString() })).stdout.trim().split('\n');
    const tableA = JSON.parse(lines[0]).table;
    sendRaw(JSON.parse(lines[1]));
    const lines2 = soltool(['alt-create'], JSON.stringify({ payer: keyfile, blockhash: svm.latestBlockhash(),
      recent_slot: slot.toString() })).stdout.trim().split('\n');
    assert.equal(JSON.parse(lines2[0]).table, tableA, 'the address is a function of (authority, recent_slot)');
    const [kitTable] = await getProgramDerivedAddress({ programAddress: 'AddressLookupTab1e1111111111111111111111111',
      seeds: [addrBytes.encode(payer), u64le(slot)] });
    assert.equal(tableA, kitTable);
    const extend = (table, addresses) => {
      for (let i = 0; i < addresses.length; i += 30) {
        sendRaw(JSON.parse(soltool(['alt-extend'], JSON.stringify({ payer: keyfile, blockhash: svm.latestBlockhash(),
          table, addresses: addresses.slice(i, i + 30) })).stdout));
      }
    };
    extend(tableA, atas.slice(0, 55));
    // A second table needs another recent slot; LiteSVM keeps only what setSlotHashes gives it.
    svm.warpToSlot(slot + 1n);
    svm.setSlotHashes([{ slot: slot + 1n, hash: svm.latestBlockhash() }, { slot, hash: svm.latestBlockhash() }]);
    const linesB = soltool(['alt-create'], JSON.stringify({ payer: keyfile, blockhash: svm.latestBlockhash(),
      recent_slot: (slot + 1n).toString() })).stdout.trim().split('\n');
    const tableB = JSON.parse(linesB[0]).table;
    sendRaw(JSON.parse(linesB[1]));
    const bAddrs = [mint, ...atas.slice(55), ...atas.slice(0, 3)];
    extend(tableB, bAddrs);
    const acct = svm.getAccount(tableA);
    assert.equal(acct.data.length, 56 + 32 * 55, 'table A holds 55 addresses');
    svm.warpToSlot(slot + 2n); // entries are usable from the slot after their extension
    const A = { address: tableA, addresses: atas.slice(0, 55) };
    const B = { address: tableB, addresses: bAddrs };

    // The reference maximum: 55 recipients from one table, mint static, both budget instructions: 1221 bytes.
    let out = await send(base(recips(wallets.slice(0, 55), false), { ...cu, tables: [A] }), 1221);
    assert.equal(out.nlookups, 1);
    assert.equal(out.nstatic, 4);
    // One more recipient does not fit.
    const r56 = soltool(['build-mint'], JSON.stringify(base(recips(wallets.slice(0, 56), false), { ...cu, tables: [A] })), { ok: false });
    assert.equal(r56.status, 1);
    assert.equal(JSON.parse(r56.stdout).size, 1221 + 16 + 32);
    // Mint loaded from B too: 3 static keys. The 3 accounts both tables hold come from A, which the
    // message uses for 49 others; wallets 55.. only B holds. 55 recipients over two tables: 1224 bytes.
    out = await send(base(recips([...wallets.slice(0, 52), ...wallets.slice(55, 58)], false), { ...cu, tables: [A, B] }), 1224);
    assert.equal(out.nlookups, 2);
    assert.equal(out.nstatic, 3);
    // Offered in the other order, a key both hold still goes to a table in use.
    out = await send(base(recips(wallets.slice(0, 3), false), { ...cu, tables: [B, A] }));
    assert.equal(out.nlookups, 1, 'mint and the 3 shared accounts all from B');
    // A table nothing is loaded from is left out; a key no table holds stays static.
    out = await send(base(recips([wallets[10]], false), { ...cu, tables: [B, A] }));
    assert.equal(out.nlookups, 2);
    out = await send(base(recips([wallets[56]], false), { tables: [A] }));
    assert.equal(out.nlookups, 0, 'v0 without lookups is valid');

    let supply = 0n;
    for (const [i, w] of wallets.entries()) {
      const a = svm.getAccount(atas[i]);
      assert.equal(readU64(a.data, 64), expected.get(w), `balance of ${w}`);
      supply += expected.get(w);
    }
    assert.equal(readU64(svm.getAccount(mint).data, 36), supply);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
