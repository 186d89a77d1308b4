// Fault injection registry: one-shot/counted/probabilistic/timed faults matched by kind and RPC method.
//
// Kinds and what they reproduce of real RPC infrastructure (docs: ../../../shared/docs/rpc-in-the-wild.md):
//   drop_response     the request is served, the response is lost (connection reset)
//   drop_transaction  sendTransaction answers the signature, the leader never gets it
//   reject_send       the method answers the given JSON-RPC error without doing anything
//   http_500          the load balancer answers 500
//   http_429          the provider rate-limits: 429, with Retry-After when `retry_after` (seconds) is given
//   stall             the answer comes `ms` late (a distant endpoint, or past the client's timeout)
//   null_statuses     getSignatureStatuses answers null for everything, history search included
//   lag               the request is served by a backend `slots` behind: heights, statuses, accounts, supply
//                     and context slots as of then (minContextSlot above it: -32016)
//   alternate         every other request goes to a second backend, `slots` behind and restarted from a
//                     snapshot taken when the fault was armed (no history before that slot)
//   no_history        history-searched getSignatureStatuses answers -32011; minimumLedgerSlot is the newest slot
//   rollback          the next forwarded transactions appear `slots` (3) slots as processed, then vanish
//                     (a minority fork): never executed, their blockhash or nonce still valid
//   congestion        leaders drop transactions paying less than `min_price` micro-lamports per CU, and
//                     getRecentPrioritizationFees reports what got in
// Common fields: method (filter), count (uses), probability (0..1), for_ms (expires after that long), and for
// faults on transactions (drop_transaction, drop_response, rollback, congestion) program: only
// transactions that invoke that program (base58) are affected.

// Default method filter per kind (null = any method).
const KINDS = {
  drop_response: 'sendTransaction',
  drop_transaction: 'sendTransaction',
  reject_send: 'sendTransaction',
  http_500: null,
  http_429: null,
  stall: null,
  null_statuses: 'getSignatureStatuses',
  lag: null,
  alternate: null,
  no_history: null,
  rollback: '(landing)',
  congestion: '(landing)',
};

export class FaultError extends Error {}

function intField(spec, name, lo, hi, dflt) {
  const v = spec[name];
  if (v === undefined) {
    if (dflt === undefined) throw new FaultError(`${spec.kind} needs ${name}`);
    return dflt;
  }
  if (!Number.isSafeInteger(v) || v < lo || v > hi) throw new FaultError(`${name} must be an integer within ${lo}..${hi}`);
  return v;
}

export class Faults {
  /* slotNow() tells the current slot (alternate's snapshot slot). */
  constructor(slotNow = () => 0) { this.list = []; this.nextId = 1; this.slotNow = slotNow; }

  /* Validates and registers a fault; returns its id. Throws FaultError on bad input. */
  add(spec) {
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new FaultError('body must be a JSON object');
    const { kind } = spec;
    if (!Object.hasOwn(KINDS, kind)) throw new FaultError(`unknown kind; one of ${Object.keys(KINDS).join(', ')}`);
    const f = { id: this.nextId, kind, method: KINDS[kind], remaining: null, probability: null, until: null, fired: 0 };
    if (spec.method !== undefined) {
      if (typeof spec.method !== 'string' || spec.method.length === 0) throw new FaultError('method must be a non-empty string');
      f.method = spec.method;
    }
    if (spec.count !== undefined) {
      if (!Number.isSafeInteger(spec.count) || spec.count < 1) throw new FaultError('count must be a positive integer');
      f.remaining = spec.count;
    }
    if (spec.probability !== undefined) {
      if (typeof spec.probability !== 'number' || !(spec.probability >= 0 && spec.probability <= 1)) throw new FaultError('probability must be within 0..1');
      f.probability = spec.probability;
    }
    if (spec.for_ms !== undefined) f.until = Date.now() + intField(spec, 'for_ms', 1, 3_600_000);
    if (spec.program !== undefined) {
      if (typeof spec.program !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(spec.program)) throw new FaultError('program must be a base58 program id');
      f.program = spec.program;
    }
    if (kind === 'reject_send') {
      if (!Number.isSafeInteger(spec.code)) throw new FaultError('reject_send needs an integer code');
      if (typeof spec.message !== 'string') throw new FaultError('reject_send needs a message string');
      f.code = spec.code;
      f.message = spec.message;
      if (spec.data !== undefined) f.data = spec.data;
    }
    if (kind === 'stall') f.ms = intField(spec, 'ms', 0, 600_000);
    if (kind === 'http_429' && spec.retry_after !== undefined) f.retryAfter = intField(spec, 'retry_after', 0, 3600);
    if (kind === 'lag' || kind === 'alternate') f.slots = intField(spec, 'slots', 0, 100_000);
    if (kind === 'alternate') { f.snapshotSlot = this.slotNow(); f.flip = false; }
    if (kind === 'rollback') f.slots = intField(spec, 'slots', 1, 10_000, 3);
    if (kind === 'congestion') {
      const p = spec.min_price;
      if (!Number.isSafeInteger(p) || p < 1) throw new FaultError('congestion needs min_price (micro-lamports per CU) >= 1');
      f.minPrice = BigInt(p);
    }
    this.nextId += 1;
    this.list.push(f);
    return f.id;
  }

  expire() {
    const now = Date.now();
    if (this.list.some((f) => f.until !== null && f.until <= now)) this.list = this.list.filter((f) => f.until === null || f.until > now);
  }

  /*
   * Returns the first armed fault of this kind matching method (consuming one use), or null. programs: the
   * programs the transaction at hand invokes (for faults with a program filter; none match without it).
   */
  take(kind, method, programs) {
    this.expire();
    for (const f of this.list) {
      if (f.kind !== kind) continue;
      if (f.method !== null && f.method !== method) continue;
      if (f.program !== undefined && !(programs && programs.has(f.program))) continue;
      if (f.probability !== null && !(Math.random() < f.probability)) continue;
      f.fired += 1;
      if (f.remaining !== null) {
        f.remaining -= 1;
        if (f.remaining === 0) this.list = this.list.filter((x) => x !== f);
      }
      return f;
    }
    return null;
  }

  /* The first armed fault of this kind for method without consuming it (state kinds: congestion). */
  peek(kind, method, programs) {
    this.expire();
    return this.list.find((f) => f.kind === kind && (f.method === null || f.method === method) &&
      (f.program === undefined || (programs && programs.has(f.program)))) ?? null;
  }

  /* Like take, for faults checked once per HTTP request holding several methods. */
  takeAny(kind, methods) {
    for (const m of methods) {
      const f = this.take(kind, m);
      if (f) return f;
    }
    return null;
  }

  clear() { const n = this.list.length; this.list = []; return n; }
  snapshot() {
    this.expire();
    return this.list.map((f) => ({ ...f, minPrice: f.minPrice?.toString() }));
  }
}
