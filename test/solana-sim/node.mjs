// The simulated validator: clock + ledger + faults, with a leader queue that lands transactions in the next block.
import { Chain } from './chain.mjs';
import { Ledger } from './ledger.mjs';
import { Faults } from './faults.mjs';
import { b58, verifySignatures } from './wire.mjs';

export const API_VERSION = '3.0.0';
export const STATUS_CACHE_SLOTS = 300;

export class SimNode {
  constructor({ slotMs, confirmLag, finalizeLag }) {
    this.ledger = new Ledger();
    this.faults = new Faults();
    this.pending = new Map();    // signature -> {bytes, tx}; executed when the next block is produced
    this.dropped = 0;            // forwarded transactions the leader threw away (expired, bad signature)
    this.chain = new Chain({
      startSlot: this.ledger.svm.getClock().slot, slotMs, confirmLag, finalizeLag, svm: this.ledger.svm,
      onBlock: (slot, height) => this.landPending(slot, height),
    });
  }

  start() { this.chain.start(); }
  stop() { this.chain.stop(); }

  /* Hands a decoded, sanitized transaction to the "leader": it lands in the next block if still valid. */
  forward(bytes, tx) {
    const sig = b58(tx.signatures[0]);
    if (this.ledger.has(sig)) return sig;    // status cache hit: ignored, never executes twice
    this.pending.set(sig, { bytes, tx });
    return sig;
  }

  landPending(slot, height) {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    for (const [sig, { bytes, tx }] of batch) {
      if (this.ledger.has(sig)) continue;
      if (!this.chain.canLandAt(b58(tx.message.recentBlockhash), height) || !verifySignatures(tx)) {
        this.dropped += 1;
        continue;
      }
      const r = this.ledger.execute(bytes, sig, slot);
      if (!r.included) this.dropped += 1;
    }
  }

  context(commitment) { return { slot: this.chain.slotAt(commitment), apiVersion: API_VERSION }; }

  /* Status per agave getSignatureStatuses, or null. */
  signatureStatus(sig, searchHistory) {
    const rec = this.ledger.get(sig);
    if (!rec) return null;
    if (!searchHistory && rec.slot < this.chain.slot - STATUS_CACHE_SLOTS) return null;
    const st = this.chain.status(rec.slot);
    return {
      slot: rec.slot, confirmations: st.confirmations, err: rec.err,
      status: rec.err === null ? { Ok: null } : { Err: rec.err }, confirmationStatus: st.confirmationStatus,
    };
  }

  state() {
    return {
      slot: this.chain.slot, blockHeight: this.chain.height, paused: this.chain.paused, slotMs: this.chain.slotMs,
      faults: this.faults.snapshot(), executed: this.ledger.executed, pending: this.pending.size, dropped: this.dropped,
    };
  }
}
