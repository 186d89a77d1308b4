// The simulated validator: clock + ledger + faults, a leader queue that lands transactions in the next block,
// and views: what one backend of a load-balanced endpoint answers (possibly lagging, possibly without history).
import { Chain } from './chain.mjs';
import { Ledger, durableNonceKey, cuPrice, programsOf } from './ledger.mjs';
import { Faults } from './faults.mjs';
import { b58, verifySignatures } from './wire.mjs';

export const API_VERSION = '3.0.0';
export const STATUS_CACHE_SLOTS = 300;
const FEE_SLOTS = 150;

/*
 * What one backend sees: its newest slot `head` (behind the chain when it lags), the lowest slot it holds
 * history for (`floor`), and whether it can search history at all.
 */
export class View {
  constructor(node, { lag = 0, floor = null, noHistory = false } = {}) {
    this.node = node;
    this.head = Math.max(node.chain.firstSlot, node.chain.slot - lag);
    this.floor = floor ?? node.chain.firstSlot;
    this.noHistory = noHistory;
    this.lag = lag;
  }

  slotAt(c) { return this.node.chain.slotAt(c, this.head); }
  heightAt(c) { return this.node.chain.heightAt(c, this.head); }
  context(c) { return { slot: this.slotAt(c), apiVersion: API_VERSION }; }
  account(addr, c) { return this.node.ledger.accountAt(addr, this.slotAt(c)); }
  minimumLedgerSlot() { return this.noHistory ? this.head : this.floor; }

  /* Status per agave getSignatureStatuses as this backend knows it, or null. */
  signatureStatus(sig, searchHistory) {
    const { chain, ledger } = this.node;
    const ph = this.node.phantoms.get(sig);
    if (ph && ph.slot <= this.head && this.head < ph.until) {
      return { slot: ph.slot, confirmations: 0, err: null, status: { Ok: null }, confirmationStatus: 'processed' };
    }
    const rec = ledger.get(sig);
    if (!rec || rec.slot > this.head) return null;
    const recent = rec.slot >= this.head - STATUS_CACHE_SLOTS;
    if (!recent && (!searchHistory || rec.slot < this.floor)) return null;
    const st = chain.status(rec.slot, this.head);
    return {
      slot: rec.slot, confirmations: st.confirmations, err: rec.err,
      status: rec.err === null ? { Ok: null } : { Err: rec.err }, confirmationStatus: st.confirmationStatus,
    };
  }
}

export class SimNode {
  constructor({ slotMs, confirmLag, finalizeLag }) {
    let chain = null;
    const slotNow = () => (chain ? chain.slot : 0);
    this.ledger = new Ledger(slotNow);
    this.faults = new Faults(slotNow);
    this.pending = new Map();    // signature -> {bytes, tx}; executed when the next block is produced
    this.phantoms = new Map();   // signature -> {slot, until}: "processed" on a fork that is then abandoned
    this.fees = [];              // per block, newest last: {slot, minPrice: Map(account -> micro-lamports)}
    this.dropped = 0;            // forwarded transactions the leader threw away (expired, bad signature, cheap)
    this.rolledBack = 0;
    this.chain = new Chain({
      startSlot: this.ledger.svm.getClock().slot, slotMs, confirmLag, finalizeLag, svm: this.ledger.svm,
      onBlock: (slot, height) => this.landPending(slot, height),
    });
    chain = this.chain;
  }

  start() { this.chain.start(); }
  stop() { this.chain.stop(); }

  /* The up-to-date backend. */
  view() { return new View(this); }

  /* Hands a decoded, sanitized transaction to the "leader": it lands in the next block if still valid. */
  forward(bytes, tx) {
    const sig = b58(tx.signatures[0]);
    if (this.ledger.has(sig)) return sig;    // status cache hit: ignored, never executes twice
    this.pending.set(sig, { bytes, tx });
    return sig;
  }

  /*
   * Whether the transaction may execute now: a durable-nonce transaction while its nonce account holds the
   * value it carries as blockhash (and was not advanced in this block already), any other while its blockhash
   * is among the last 150 blocks at height h.
   */
  mayLand(tx, height) {
    const nonceKey = durableNonceKey(tx.message);
    if (nonceKey === null) return this.chain.canLandAt(b58(tx.message.recentBlockhash), height);
    const st = this.ledger.nonceState(nonceKey);
    return st !== null && st.value === b58(tx.message.recentBlockhash) && st.value !== b58(this.chain.durableNonce());
  }

  landPending(slot, height) {
    this.fees.push({ slot, minPrice: new Map() });
    if (this.fees.length > FEE_SLOTS) this.fees.shift();
    for (const [sig, ph] of this.phantoms) if (ph.until <= slot) this.phantoms.delete(sig);
    if (this.pending.size === 0) return;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    for (const [sig, { bytes, tx }] of batch) {
      if (this.ledger.has(sig)) continue;
      const programs = programsOf(tx.message);
      const congestion = this.faults.peek('congestion', '(landing)', programs);
      if (!this.mayLand(tx, height) || !verifySignatures(tx)) {
        this.dropped += 1;
        continue;
      }
      const price = cuPrice(tx.message);
      if (congestion && price < congestion.minPrice) {
        congestion.fired += 1;
        this.dropped += 1;
        continue;
      }
      const rb = this.phantoms.has(sig) ? null : this.faults.take('rollback', '(landing)', programs);
      if (rb) {
        this.phantoms.set(sig, { slot, until: slot + rb.slots });
        this.rolledBack += 1;
        continue;
      }
      const r = this.ledger.execute(bytes, tx, sig, slot, this.chain.durableNonce());
      if (!r.included) { this.dropped += 1; continue; }
      const fm = this.fees[this.fees.length - 1].minPrice;
      for (const a of r.writes) if (!fm.has(a) || fm.get(a) > price) fm.set(a, price);
    }
  }

  /*
   * getRecentPrioritizationFees: per recent block, the lowest price paid by a transaction write-locking all of
   * the accounts (max over them of each one's lowest), 0 when none did; under congestion at least what it took.
   */
  recentFees(accounts) {
    const congestion = this.faults.peek('congestion', '(landing)');
    return this.fees.map(({ slot, minPrice }) => {
      let fee = 0n;
      for (const a of accounts) {
        const p = minPrice.get(a);
        if (p === undefined) { fee = 0n; break; }
        if (p > fee) fee = p;
      }
      if (congestion && fee < congestion.minPrice) fee = congestion.minPrice;
      return { slot, prioritizationFee: fee };
    });
  }

  context(commitment) { return this.view().context(commitment); }
  signatureStatus(sig, searchHistory) { return this.view().signatureStatus(sig, searchHistory); }

  state() {
    return {
      slot: this.chain.slot, blockHeight: this.chain.height, paused: this.chain.paused, slotMs: this.chain.slotMs,
      faults: this.faults.snapshot(), executed: this.ledger.executed, pending: this.pending.size, dropped: this.dropped,
      rolledBack: this.rolledBack, phantoms: this.phantoms.size,
    };
  }
}
