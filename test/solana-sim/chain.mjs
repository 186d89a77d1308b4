// Chain clock: owns slot, block height and the blockhash queue that LiteSVM lacks; produces one block per tick.
import { sha256, b58 } from './wire.mjs';

export const MAX_PROCESSING_AGE = 150;   // a blockhash is usable for 150 blocks after it was current
export const MAX_RECENT_BLOCKHASHES = 300;
const SLOT_HASHES_KEPT = 512;
const HEIGHT_BEHIND_SLOT = 22_000_000;   // real clusters have skipped slots; keep height visibly below slot

export class Chain {
  /* onBlock(slot, height) runs for every produced block, before it becomes visible. */
  constructor({ startSlot, slotMs, confirmLag, finalizeLag, svm, onBlock }) {
    this.slot = Number(startSlot);
    this.height = this.slot - HEIGHT_BEHIND_SLOT;
    this.firstHeight = this.height;
    this.firstSlot = this.slot;
    this.slotMs = slotMs;
    this.confirmLag = confirmLag;
    this.finalizeLag = finalizeLag;
    this.svm = svm;
    this.onBlock = onBlock;
    this.paused = false;
    this.timer = null;
    this.queue = [];              // newest last: {hash, b58, height, slot}
    this.byHash = new Map();
    this.slotHashes = [];         // newest first, what LiteSVM's SlotHashes sysvar gets (for ALT recent_slot)
    // Same genesis as LiteSVM so the two agree on the first hash.
    this.push(sha256(Buffer.from('genesis')));
    this.syncSvm();
  }

  push(hash) {
    const e = { hash, b58: b58(hash), height: this.height, slot: this.slot };
    this.queue.push(e);
    this.byHash.set(e.b58, e);
    if (this.queue.length > MAX_RECENT_BLOCKHASHES) this.byHash.delete(this.queue.shift().b58);
    this.slotHashes.unshift({ slot: BigInt(this.slot), hash: e.b58 });
    if (this.slotHashes.length > SLOT_HASHES_KEPT) this.slotHashes.pop();
  }

  syncSvm() {
    try {
      this.svm.warpToSlot(BigInt(this.slot));
      this.svm.setSlotHashes(this.slotHashes);
    } catch (e) {
      process.stderr.write(`solana-sim: clock sync failed: ${e.message}\n`);
    }
  }

  produce() {
    this.slot += 1;
    this.height += 1;
    this.push(sha256(this.queue[this.queue.length - 1].hash));
    this.onBlock?.(this.slot, this.height);
  }

  tick() {
    if (this.paused) return;
    this.produce();
    this.syncSvm();
  }

  /* Produces n blocks at once (even while paused). */
  jump(n) {
    for (let i = 0; i < n; i++) this.produce();
    this.syncSvm();
  }

  start() {
    this.stop();
    this.timer = setInterval(() => {
      try { this.tick(); } catch (e) { process.stderr.write(`solana-sim: tick failed: ${e.stack}\n`); }
    }, this.slotMs);
  }

  stop() { if (this.timer) clearInterval(this.timer); this.timer = null; }
  setSlotMs(ms) { this.slotMs = ms; if (this.timer) this.start(); }
  pause() { this.paused = true; }
  resume() { this.paused = false; }

  lag(commitment) {
    if (commitment === 'confirmed') return this.confirmLag;
    if (commitment === 'finalized') return this.finalizeLag;
    return 0;
  }

  /*
   * Views: a node answering as of its own newest slot `head` (the chain's for an up-to-date node, older for
   * a lagging backend). Every block is produced (no skipped slots), so height and slot move together.
   */
  slotAt(commitment, head = this.slot) { return Math.max(this.firstSlot, head - this.lag(commitment)); }
  heightAt(commitment, head = this.slot) { return this.heightOfSlot(this.slotAt(commitment, head)); }
  heightOfSlot(slot) { return this.firstHeight + (slot - this.firstSlot); }

  /* The blockhash that was newest at the given commitment. */
  blockhashAt(commitment, head = this.slot) {
    const h = this.heightAt(commitment, head);
    const i = Math.max(0, this.queue.length - 1 - (this.height - h));
    const e = this.queue[i];
    return { blockhash: e.b58, lastValidBlockHeight: e.height + MAX_PROCESSING_AGE };
  }

  entry(b58hash) { return this.byHash.get(b58hash) ?? null; }

  /* isBlockhashValid semantics: known at that commitment and not older than 150 blocks. */
  isValid(b58hash, commitment, head = this.slot) {
    const e = this.entry(b58hash);
    const h = this.heightAt(commitment, head);
    return e !== null && e.height <= h && h <= e.height + MAX_PROCESSING_AGE;
  }

  /*
   * The durable nonce an AdvanceNonceAccount executed in the current block stores: the runtime's
   * DurableNonce::from_blockhash = SHA-256("DURABLE_NONCE" || blockhash). A nonce already at this value
   * cannot be advanced again in this block.
   */
  durableNonce() {
    return sha256(Buffer.from('DURABLE_NONCE'), this.queue[this.queue.length - 1].hash);
  }

  /* A transaction with this blockhash may land in a block at height h. */
  canLandAt(b58hash, h) {
    const e = this.entry(b58hash);
    return e !== null && h <= e.height + MAX_PROCESSING_AGE;
  }

  status(landedSlot, head = this.slot) {
    const d = head - landedSlot;
    if (d >= this.finalizeLag) return { confirmations: null, confirmationStatus: 'finalized' };
    return { confirmations: d, confirmationStatus: d >= this.confirmLag ? 'confirmed' : 'processed' };
  }
}
