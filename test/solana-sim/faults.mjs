// Fault injection registry: one-shot/counted/probabilistic faults matched by kind and RPC method.

// Default method filter per kind (null = any method).
const KINDS = {
  drop_response: 'sendTransaction',
  drop_transaction: 'sendTransaction',
  reject_send: 'sendTransaction',
  http_500: null,
  stall: null,
  null_statuses: 'getSignatureStatuses',
};

export class FaultError extends Error {}

export class Faults {
  constructor() { this.list = []; this.nextId = 1; }

  /* Validates and registers a fault; returns its id. Throws FaultError on bad input. */
  add(spec) {
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new FaultError('body must be a JSON object');
    const { kind } = spec;
    if (!Object.hasOwn(KINDS, kind)) throw new FaultError(`unknown kind; one of ${Object.keys(KINDS).join(', ')}`);
    const f = { id: this.nextId, kind, method: KINDS[kind], remaining: null, probability: null, fired: 0 };
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
    if (kind === 'reject_send') {
      if (!Number.isSafeInteger(spec.code)) throw new FaultError('reject_send needs an integer code');
      if (typeof spec.message !== 'string') throw new FaultError('reject_send needs a message string');
      f.code = spec.code;
      f.message = spec.message;
      if (spec.data !== undefined) f.data = spec.data;
    }
    if (kind === 'stall') {
      if (!Number.isSafeInteger(spec.ms) || spec.ms < 0 || spec.ms > 600_000) throw new FaultError('stall needs ms within 0..600000');
      f.ms = spec.ms;
    }
    this.nextId += 1;
    this.list.push(f);
    return f.id;
  }

  /* Returns the first armed fault of this kind matching method (consuming one use), or null. */
  take(kind, method) {
    for (const f of this.list) {
      if (f.kind !== kind) continue;
      if (f.method !== null && f.method !== method) continue;
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

  /* Like take, for faults checked once per HTTP request holding several methods. */
  takeAny(kind, methods) {
    for (const m of methods) {
      const f = this.take(kind, m);
      if (f) return f;
    }
    return null;
  }

  clear() { const n = this.list.length; this.list = []; return n; }
  snapshot() { return this.list.map((f) => ({ ...f })); }
}
