// JSON text for RPC answers with BigInt written as exact integer text (JSON.stringify throws on BigInt).

export function toJson(v) {
  switch (typeof v) {
    case 'bigint': return v.toString();
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'string': return JSON.stringify(v);
    case 'boolean': return v ? 'true' : 'false';
    case 'undefined': return 'null';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) return '[' + v.map(toJson).join(',') + ']';
      const parts = [];
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined) continue;
        parts.push(JSON.stringify(k) + ':' + toJson(x));
      }
      return '{' + parts.join(',') + '}';
    }
    default: return 'null';
  }
}

/* Parses a u64 given as a JSON number or a decimal string; returns BigInt or null. */
export function parseU64(x) {
  let s;
  if (typeof x === 'number') {
    if (!Number.isSafeInteger(x) || x < 0) return null;
    return BigInt(x);
  }
  if (typeof x === 'bigint') s = x.toString();
  else if (typeof x === 'string') s = x;
  else return null;
  if (!/^[0-9]{1,20}$/.test(s)) return null;
  const n = BigInt(s);
  return n <= 0xffffffffffffffffn ? n : null;
}
