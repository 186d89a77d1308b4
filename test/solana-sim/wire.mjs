// Strict parser for Solana wire transactions/messages (legacy and v0), plus base58/base64 and Ed25519 helpers.
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { getBase58Decoder, getBase58Encoder } from '@solana/kit';

export const PACKET_DATA_SIZE = 1232;
export const MAX_BASE58_SIZE = 1683;
export const MAX_BASE64_SIZE = 1644;
export const TX_TYPE = 'solana_transaction::versioned::VersionedTransaction';
export const MSG_TYPE = 'solana_message::versions::VersionedMessage';

const b58enc = getBase58Decoder(); // bytes -> string
const b58dec = getBase58Encoder(); // string -> bytes

export function b58(bytes) { return b58enc.decode(bytes); }

/* base58 string -> bytes, or null when invalid or (if len given) the wrong length. */
export function unb58(s, len) {
  if (typeof s !== 'string' || s.length === 0) return null;
  if (len !== undefined && s.length > 2 * len) return null;   // callers bound the length of free-size input
  if (!/^[1-9A-HJ-NP-Za-km-z]+$/.test(s)) return null;
  let out;
  try { out = b58dec.encode(s); } catch { return null; }
  if (len !== undefined && out.length !== len) return null;
  return new Uint8Array(out);
}

/* Strict standard base64 (with padding) -> bytes, or null. */
export function unb64(s) {
  if (typeof s !== 'string') return null;
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const buf = Buffer.from(s, 'base64');
  if (buf.toString('base64') !== s) return null; // non-canonical padding bits
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

export function b64(bytes) { return Buffer.from(bytes).toString('base64'); }

export function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  need(n) { if (this.pos + n > this.buf.length) throw new Error('io error: unexpected end of file'); }
  u8() { this.need(1); return this.buf[this.pos++]; }
  bytes(n) { this.need(n); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  /* compact-u16, strict like solana short_vec */
  shortvec() {
    let val = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.u8();
      if (i > 0 && b === 0) throw new Error('invalid compact-u16: alias encoding');
      if (i === 2 && (b & 0xfc) !== 0) throw new Error('invalid compact-u16: overflow');
      val |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return val;
    }
    throw new Error('invalid compact-u16: too long');
  }
}

function parseMessageFrom(r) {
  const start = r.pos;
  let version = 'legacy';
  const first = r.u8();
  let numReq;
  if (first & 0x80) {
    version = first & 0x7f;
    if (version !== 0) throw new Error(`unsupported message version ${version}`);
    numReq = r.u8();
  } else {
    numReq = first;
  }
  const numRoSigned = r.u8();
  const numRoUnsigned = r.u8();
  const nKeys = r.shortvec();
  const keys = [];
  for (let i = 0; i < nKeys; i++) keys.push(r.bytes(32));
  const recentBlockhash = r.bytes(32);
  const nIx = r.shortvec();
  const instructions = [];
  for (let i = 0; i < nIx; i++) {
    const programIdIndex = r.u8();
    const na = r.shortvec();
    const accounts = Array.from(r.bytes(na));
    const nd = r.shortvec();
    const data = r.bytes(nd);
    instructions.push({ programIdIndex, accounts, data });
  }
  const lookups = [];
  if (version === 0) {
    const nl = r.shortvec();
    for (let i = 0; i < nl; i++) {
      const table = r.bytes(32);
      const w = Array.from(r.bytes(r.shortvec()));
      const ro = Array.from(r.bytes(r.shortvec()));
      lookups.push({ table, writable: w, readonly: ro });
    }
  }
  const header = { numRequiredSignatures: numReq, numReadonlySigned: numRoSigned, numReadonlyUnsigned: numRoUnsigned };
  return { version, header, keys, recentBlockhash, instructions, lookups, bytes: r.buf.subarray(start, r.pos) };
}

/* Sanitize rules the runtime applies before anything else; returns an error string or null. */
export function sanitizeMessage(m) {
  const h = m.header;
  if (h.numRequiredSignatures === 0) return 'Transaction failed to sanitize accounts offsets correctly';
  if (h.numReadonlySigned >= h.numRequiredSignatures) return 'Transaction failed to sanitize accounts offsets correctly';
  if (h.numRequiredSignatures + h.numReadonlyUnsigned > m.keys.length) return 'Transaction failed to sanitize accounts offsets correctly';
  let loaded = 0;
  for (const l of m.lookups) {
    if (l.writable.length + l.readonly.length === 0) return 'Transaction failed to sanitize accounts offsets correctly';
    loaded += l.writable.length + l.readonly.length;
  }
  const total = m.keys.length + loaded;
  if (total > 256) return 'Transaction failed to sanitize accounts offsets correctly';
  for (const ix of m.instructions) {
    if (ix.programIdIndex === 0 || ix.programIdIndex >= m.keys.length) return 'Transaction failed to sanitize accounts offsets correctly';
    for (const a of ix.accounts) if (a >= total) return 'Transaction failed to sanitize accounts offsets correctly';
  }
  return null;
}

/* Parses a whole wire transaction; throws Error(message) on any malformation, including trailing bytes. */
export function parseTransaction(bytes) {
  const r = new Reader(bytes);
  const nSig = r.shortvec();
  const signatures = [];
  for (let i = 0; i < nSig; i++) signatures.push(r.bytes(64));
  const message = parseMessageFrom(r);
  if (r.pos !== bytes.length) throw new Error(`${bytes.length - r.pos} trailing bytes`);
  return { signatures, message };
}

export function parseMessage(bytes) {
  const r = new Reader(bytes);
  const m = parseMessageFrom(r);
  if (r.pos !== bytes.length) throw new Error(`${bytes.length - r.pos} trailing bytes`);
  return m;
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/* True when every signature i verifies against keys[i] over the message bytes. */
export function verifySignatures(tx) {
  const m = tx.message;
  if (tx.signatures.length !== m.header.numRequiredSignatures) return false;
  for (let i = 0; i < tx.signatures.length; i++) {
    try {
      const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(m.keys[i])]), format: 'der', type: 'spki' });
      if (!edVerify(null, m.bytes, key, tx.signatures[i])) return false;
    } catch { return false; }
  }
  return true;
}
