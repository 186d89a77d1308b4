// LiteSVM wrapper: executes/simulates transactions, keeps the full signature history, mints and funds accounts.
import { LiteSVM, TransactionMetadata, FailedTransactionMetadata } from 'litesvm';
import { getTransactionDecoder, getTransactionEncoder, address } from '@solana/kit';
import { randomBytes } from 'node:crypto';
import { b58, unb58, b64 } from './wire.mjs';
import { txErrJson } from './txerr.mjs';

export const SYSTEM = '11111111111111111111111111111111';
export const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
export const TOKEN_2022 = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';
const COMPUTE_BUDGET = 'ComputeBudget111111111111111111111111111111';
const LAMPORTS_PER_SIGNATURE = 5000n;
const MAX_CU = 1_400_000n;
// Builtins get 3,000 default CUs per instruction instead of 200,000.
const BUILTINS = new Set([SYSTEM, COMPUTE_BUDGET, 'Vote111111111111111111111111111111111111111',
  'BPFLoaderUpgradeab1e11111111111111111111111', 'BPFLoader2111111111111111111111111111111111',
  'BPFLoader1111111111111111111111111111111111', 'LoaderV411111111111111111111111111111111111']);

const txDecoder = getTransactionDecoder();
const txEncoder = getTransactionEncoder();

function sameBytes(a, b) { return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0; }

function u64le(data, off) { return Buffer.from(data.buffer, data.byteOffset, data.length).readBigUInt64LE(off); }

export const NONCE_ACCOUNT_LEN = 80;
const HISTORY_KEEP_SLOTS = 4000;   // account versions older than this (but the newest of them) are forgotten

/* The durable-nonce account a transaction names, or null: its first instruction is System AdvanceNonceAccount. */
export function durableNonceKey(message) {
  const ix = message.instructions[0];
  if (!ix || ix.accounts.length < 1 || ix.data.length < 4) return null;
  if (b58(message.keys[ix.programIdIndex]) !== SYSTEM) return null;
  if (Buffer.from(ix.data).readUInt32LE(0) !== 4) return null;
  const k = ix.accounts[0];
  return k < message.keys.length ? b58(message.keys[k]) : null;   // the nonce account must be a static key
}

/* Static keys a message write-locks (header rules), plus the writable keys it loads from lookup tables. */
export function writableKeys(message, tableAddresses) {
  const h = message.header;
  const n = message.keys.length;
  const out = [];
  for (let i = 0; i < n; i++) {
    const w = i < h.numRequiredSignatures ? i < h.numRequiredSignatures - h.numReadonlySigned : i < n - h.numReadonlyUnsigned;
    if (w) out.push(b58(message.keys[i]));
  }
  for (const l of message.lookups ?? []) {
    const addrs = tableAddresses(b58(l.table));
    for (const i of l.writable) if (addrs && i < addrs.length) out.push(addrs[i]);
  }
  return out;
}

/* The programs a message's instructions invoke (base58), for faults that pick transactions by program. */
export function programsOf(message) {
  return new Set(message.instructions.map((ix) => b58(message.keys[ix.programIdIndex])));
}

/* The compute-unit price (micro-lamports) a message pays, from its SetComputeUnitPrice (0 without one). */
export function cuPrice(message) {
  for (const ix of message.instructions) {
    if (b58(message.keys[ix.programIdIndex]) !== COMPUTE_BUDGET) continue;
    const d = Buffer.from(ix.data);
    if (d[0] === 3 && d.length === 9) return d.readBigUInt64LE(1);
  }
  return 0n;
}

export class Ledger {
  /* slotNow() tells the slot state changes belong to (for the per-account version history). */
  constructor(slotNow = () => 0) {
    this.svm = new LiteSVM().withBlockhashCheck(false).withSigverify(true).withTransactionHistory(1_000_000n);
    this.sigs = new Map();     // b58 signature -> {signature, slot, err, executions, logs, unitsConsumed}
    this.executed = 0;
    this.slotNow = slotNow;
    // address -> [{slot, acc}] oldest first: the account as it was at the end of each slot that wrote it
    // (acc null: did not exist); entry 0 is its state before the first tracked write. Lets a node answer
    // "as of slot S" (commitment levels, lagging backends) instead of always with the newest state.
    this.history = new Map();
  }

  snapshot(addr) {
    const a = this.svm.getAccount(address(addr));
    return a.exists ? { ...a, data: new Uint8Array(a.data) } : null;
  }

  /* Call before a write at `slot` to the given accounts: remembers their state before it. */
  beforeWrite(addrs, slot) {
    for (const a of addrs) {
      if (!this.history.has(a)) this.history.set(a, [{ slot: slot - 1, acc: this.snapshot(a) }]);
    }
  }

  /* Call after a write at `slot`: records the new versions. */
  afterWrite(addrs, slot) {
    for (const a of addrs) {
      const h = this.history.get(a) ?? [];
      const v = { slot, acc: this.snapshot(a) };
      if (h.length > 0 && h[h.length - 1].slot === slot) h[h.length - 1] = v; else h.push(v);
      if (h.length > 64) {
        const cut = slot - HISTORY_KEEP_SLOTS;
        let i = 0;
        while (i + 1 < h.length && h[i + 1].slot <= cut) i += 1;
        if (i > 0) h.splice(0, i);
      }
      this.history.set(a, h);
    }
  }

  /* The account as of the end of `slot` (null when it did not exist), or the newest state without history. */
  accountAt(addr, slot) {
    const h = this.history.get(addr);
    if (!h) return this.account(addr);
    let v = h[0].acc;
    for (const e of h) { if (e.slot <= slot) v = e.acc; else break; }
    return v;
  }

  /* Addresses held by a lookup table account (newest state), or null. */
  tableAddresses(addr) {
    const a = this.account(addr);
    if (!a || a.data.length < 56 || (a.data.length - 56) % 32 !== 0) return null;
    const out = [];
    for (let off = 56; off < a.data.length; off += 32) out.push(b58(a.data.subarray(off, off + 32)));
    return out;
  }

  /* {authority, value} of an initialized nonce account (newest state), or null. */
  nonceState(addr) {
    const a = this.account(addr);
    if (!a || a.programAddress !== SYSTEM || a.data.length !== NONCE_ACCOUNT_LEN) return null;
    const d = Buffer.from(a.data);
    if (d.readUInt32LE(4) !== 1) return null;
    return { authority: b58(d.subarray(8, 40)), value: b58(d.subarray(40, 72)) };
  }

  /* Stores a new durable nonce value (what the runtime does when a nonce transaction is included). */
  setNonceValue(addr, valueBytes) {
    const a = this.account(addr);
    if (!a) return;
    const data = new Uint8Array(a.data);
    data.set(valueBytes, 40);
    Buffer.from(data.buffer, data.byteOffset, data.length).writeBigUInt64LE(LAMPORTS_PER_SIGNATURE, 72);
    this.svm.setAccount({ address: address(addr), lamports: a.lamports, programAddress: a.programAddress, executable: false, data });
  }

  has(sig) { return this.sigs.has(sig); }
  get(sig) { return this.sigs.get(sig) ?? null; }

  /* Kit transaction object for LiteSVM, only for bytes our strict parser accepted; refuses if kit disagrees. */
  kitTx(bytes) {
    const tx = txDecoder.decode(bytes);
    if (!sameBytes(txEncoder.encode(tx), bytes)) throw new Error('transaction does not re-encode to the same bytes');
    return tx;
  }

  /*
   * Runs the transaction for real at the given slot. Records it when it was included (fee charged). A
   * durable-nonce transaction that is included (even failed) leaves its nonce at nonceValue (32 bytes), as
   * the runtime does; the caller checked that the nonce allowed it.
   */
  execute(bytes, tx, sig, slot, nonceValue) {
    if (this.sigs.has(sig)) return this.sigs.get(sig);   // never twice
    const writes = writableKeys(tx.message, (t) => this.tableAddresses(t));
    this.beforeWrite(writes, slot);
    let res;
    try { res = this.svm.sendTransaction(this.kitTx(bytes)); } catch (e) { return { included: false, err: 'SanitizeFailure', why: e.message }; }
    let included = res instanceof TransactionMetadata;
    if (!included && res instanceof FailedTransactionMetadata) included = this.svm.getTransaction(sig) !== null;
    const meta = res instanceof FailedTransactionMetadata ? res.meta() : res;
    const err = res instanceof FailedTransactionMetadata ? txErrJson(res.err()) : null;
    if (!included) return { included: false, err };
    const nonceKey = durableNonceKey(tx.message);
    if (nonceKey && nonceValue) this.setNonceValue(nonceKey, nonceValue);
    this.afterWrite(writes, slot);
    const rec = {
      signature: sig, slot, err, executions: 1, logs: meta.logs(), unitsConsumed: meta.computeUnitsConsumed(),
      writes, price: cuPrice(tx.message),
    };
    this.sigs.set(sig, rec);
    this.executed += 1;
    return { included: true, ...rec };
  }

  /* Simulation without state change. Returns {err, logs, unitsConsumed, returnData}. */
  simulate(bytes, sigVerify) {
    const prev = this.svm.withSigverify(sigVerify);
    try {
      const res = this.svm.simulateTransaction(this.kitTx(bytes));
      const failed = res instanceof FailedTransactionMetadata;
      const meta = res.meta();
      let returnData = null;
      try {
        const rd = meta.returnData();
        if (rd && rd.data().length > 0) returnData = { programId: b58(rd.programId()), data: [b64(rd.data()), 'base64'] };
      } catch { /* no return data */ }
      return { err: failed ? txErrJson(res.err()) : null, logs: meta.logs(), unitsConsumed: meta.computeUnitsConsumed(), returnData };
    } catch (e) {
      return { err: 'SanitizeFailure', logs: [], unitsConsumed: 0n, returnData: null, why: e.message };
    } finally {
      prev.withSigverify(true);
    }
  }

  /* Fee = 5000 x signatures + ceil(cu_limit x cu_price / 1e6) (docs/solana.md §4). */
  fee(message) {
    let limit = null, price = 0n, defLimit = 0n;
    for (const ix of message.instructions) {
      const prog = b58(message.keys[ix.programIdIndex]);
      defLimit += BUILTINS.has(prog) ? 3000n : 200000n;
      if (prog !== COMPUTE_BUDGET) continue;
      const d = Buffer.from(ix.data);
      if (d[0] === 2 && d.length === 5) limit = BigInt(d.readUInt32LE(1));
      if (d[0] === 3 && d.length === 9) price = d.readBigUInt64LE(1);
    }
    let cu = limit ?? defLimit;
    if (cu > MAX_CU) cu = MAX_CU;
    const priority = (cu * price + 999_999n) / 1_000_000n;
    return LAMPORTS_PER_SIGNATURE * BigInt(message.header.numRequiredSignatures) + priority;
  }

  account(addr) {
    const a = this.svm.getAccount(address(addr));
    return a.exists ? a : null;
  }

  rent(len) { return this.svm.minimumBalanceForRentExemption(BigInt(len)); }

  fund(pubkey, lamports) {
    const slot = this.slotNow();
    this.beforeWrite([pubkey], slot);
    const a = this.account(pubkey);
    const next = (a ? a.lamports : 0n) + lamports; // lamports may be negative (set-balance)
    this.svm.setAccount({
      address: address(pubkey), lamports: next, programAddress: a ? a.programAddress : address(SYSTEM),
      executable: a ? a.executable : false, data: a ? a.data : new Uint8Array(),
    });
    this.afterWrite([pubkey], slot);
    return next;
  }

  /* requestAirdrop: credit via setAccount and record a synthetic landed signature. */
  airdrop(pubkey, lamports, slot) {
    this.fund(pubkey, lamports);
    const sig = b58(randomBytes(64));
    this.sigs.set(sig, { signature: sig, slot, err: null, executions: 1, logs: ['airdrop (simulator)'], unitsConsumed: 0n, writes: [pubkey], price: 0n });
    this.executed += 1;
    return sig;
  }

  /* Writes an initialized 82-byte mint (no freeze authority unless given). */
  createMint({ authority, decimals, program, freezeAuthority, mintAddress }) {
    const mint = mintAddress ?? b58(randomBytes(32));
    const data = new Uint8Array(82);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, 1, true);
    data.set(unb58(authority, 32), 4);
    data[44] = decimals;
    data[45] = 1;
    if (freezeAuthority) { dv.setUint32(46, 1, true); data.set(unb58(freezeAuthority, 32), 50); }
    const slot = this.slotNow();
    this.beforeWrite([mint], slot);
    this.svm.setAccount({ address: address(mint), lamports: this.rent(82), programAddress: address(program), executable: false, data });
    this.afterWrite([mint], slot);
    return mint;
  }

  mintInfo(mint, slot) {
    const a = slot === undefined ? this.account(mint) : this.accountAt(mint, slot);
    if (!a || (a.programAddress !== TOKEN && a.programAddress !== TOKEN_2022) || a.data.length < 82 || a.data[45] !== 1) return null;
    return { supply: u64le(a.data, 36), decimals: a.data[44], program: a.programAddress };
  }

  /* Token account view or null: {mint, owner, amount, program}. */
  tokenAccount(addr, slot) {
    const a = slot === undefined ? this.account(addr) : this.accountAt(addr, slot);
    if (!a) return null;
    return this.parseTokenAccount(a);
  }

  parseTokenAccount(a) {
    if (a.programAddress !== TOKEN && a.programAddress !== TOKEN_2022) return null;
    const d = a.data;
    if (d.length < 165 || d[108] === 0) return null;
    if (d.length > 165 && d[165] !== 2) return null;   // Token-2022 account-type byte: 2 = Account
    if (a.programAddress === TOKEN && d.length !== 165) return null;
    return { mint: b58(d.subarray(0, 32)), owner: b58(d.subarray(32, 64)), amount: u64le(d, 64), program: a.programAddress };
  }

  /* Sum of token balances of a mint per owner. */
  balances(mint) {
    const info = this.mintInfo(mint);
    if (!info) return null;
    const out = {};
    for (const a of this.svm.getProgramAccounts(address(info.program))) {
      const t = this.parseTokenAccount(a);
      if (!t || t.mint !== mint) continue;
      out[t.owner] = ((out[t.owner] ?? 0n) + t.amount);
    }
    return out;
  }
}
