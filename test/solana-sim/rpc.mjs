// JSON-RPC method handlers with agave's result shapes and error codes.
import {
  b58, unb58, unb64, b64, parseTransaction, parseMessage, sanitizeMessage, verifySignatures,
  PACKET_DATA_SIZE, MAX_BASE58_SIZE, MAX_BASE64_SIZE, TX_TYPE, MSG_TYPE,
} from './wire.mjs';
import { parseU64 } from './json.mjs';
import { txErrText } from './txerr.mjs';
import { TOKEN, TOKEN_2022 } from './ledger.mjs';
import { API_VERSION } from './node.mjs';

export class RpcError extends Error {
  constructor(code, message, data) { super(message); this.code = code; this.data = data; }
}

const invalid = (msg) => new RpcError(-32602, msg);
const U64_MAX = 18446744073709551615n;
const COMMITMENTS = new Set(['processed', 'confirmed', 'finalized']);

function cfgAt(params, i) {
  const c = params[i];
  if (c === undefined || c === null) return {};
  if (typeof c !== 'object' || Array.isArray(c)) throw invalid('Invalid params: expected a config object');
  return c;
}

function commitmentOf(node, cfg, dflt = 'finalized') {
  const c = cfg.commitment ?? dflt;
  if (!COMMITMENTS.has(c)) throw invalid(`Invalid params: unknown variant \`${c}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\``);
  if (cfg.minContextSlot !== undefined) {
    if (!Number.isSafeInteger(cfg.minContextSlot) || cfg.minContextSlot < 0) throw invalid('Invalid params: minContextSlot must be a u64');
    const slot = node.chain.slotAt(c);
    if (slot < cfg.minContextSlot) throw new RpcError(-32016, 'Minimum context slot has not been reached', { contextSlot: slot });
  }
  return c;
}

function pubkeyAt(params, i) {
  const s = params[i];
  if (typeof s !== 'string') throw invalid('Invalid params: expected a base58 pubkey string');
  if (!unb58(s, 32)) throw invalid('Invalid param: Invalid');
  return s;
}

/* Decodes an encoded wire transaction exactly like agave's decode_and_deserialize, then sanitizes it. */
function decodeTx(encoded, encoding) {
  if (typeof encoded !== 'string') throw invalid('Invalid params: expected an encoded transaction string');
  let bytes;
  if (encoding === 'base58') {
    if (encoded.length > MAX_BASE58_SIZE) throw invalid(`base58 encoded ${TX_TYPE} too large: ${encoded.length} bytes (max: encoded/raw ${MAX_BASE58_SIZE}/${PACKET_DATA_SIZE})`);
    bytes = unb58(encoded);
    if (!bytes) throw invalid('invalid base58 encoding: InvalidCharacter');
  } else if (encoding === 'base64') {
    if (encoded.length > MAX_BASE64_SIZE) throw invalid(`base64 encoded ${TX_TYPE} too large: ${encoded.length} bytes (max: encoded/raw ${MAX_BASE64_SIZE}/${PACKET_DATA_SIZE})`);
    bytes = unb64(encoded);
    if (!bytes) throw invalid('invalid base64 encoding: InvalidByte');
  } else {
    throw invalid(`unsupported encoding: ${encoding}. Supported encodings: base58, base64`);
  }
  if (bytes.length > PACKET_DATA_SIZE) throw invalid(`decoded ${TX_TYPE} too large: ${bytes.length} bytes (max: ${PACKET_DATA_SIZE} bytes)`);
  let tx;
  try { tx = parseTransaction(bytes); } catch (e) { throw invalid(`failed to deserialize ${TX_TYPE}: ${e.message}`); }
  const bad = sanitizeMessage(tx.message) ?? (tx.signatures.length !== tx.message.header.numRequiredSignatures
    ? 'Transaction failed to sanitize accounts offsets correctly' : null);
  if (bad) throw invalid(`invalid transaction: ${bad}`);
  return { bytes, tx };
}

function encodingOf(cfg) {
  const enc = cfg.encoding ?? 'base58';
  if (typeof enc !== 'string') throw invalid('Invalid params: encoding must be a string');
  return enc;
}

function simValue(node, sim, tx, replacement, accounts) {
  return {
    err: sim.err, logs: sim.logs, accounts: accounts ?? null, unitsConsumed: sim.unitsConsumed,
    returnData: sim.returnData, innerInstructions: null, replacementBlockhash: replacement ?? null,
    loadedAccountsDataSize: 0, fee: node.ledger.fee(tx.message),
  };
}

function preflightFailure(value) {
  return new RpcError(-32002, `Transaction simulation failed: ${txErrText(value.err)}`, value);
}

function uiAmountString(amount, decimals) {
  if (decimals === 0) return amount.toString();
  const s = amount.toString().padStart(decimals + 1, '0');
  const whole = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}

function encodeAccount(a, cfg) {
  if (!a) return null;
  let data = a.data;
  const slice = cfg.dataSlice;
  if (slice !== undefined) {
    if (!slice || !Number.isSafeInteger(slice.offset) || !Number.isSafeInteger(slice.length) || slice.offset < 0 || slice.length < 0) {
      throw invalid('Invalid params: dataSlice needs offset and length');
    }
    data = data.subarray(Math.min(slice.offset, data.length), Math.min(slice.offset + slice.length, data.length));
  }
  const enc = cfg.encoding ?? 'binary';
  let out;
  if (enc === 'base64' || enc === 'jsonParsed') out = [b64(data), 'base64'];
  else if (enc === 'base58' || enc === 'binary') {
    if (data.length > 128) throw new RpcError(-32600, 'Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.');
    out = enc === 'binary' ? b58(data) : [b58(data), 'base58'];
  } else throw invalid(`Invalid params: unsupported encoding ${enc}`);
  return { data: out, executable: a.executable, lamports: a.lamports, owner: a.programAddress, rentEpoch: U64_MAX, space: BigInt(a.data.length) };
}

export function makeMethods(node) {
  const { chain, ledger, faults } = node;

  return {
    getHealth: () => 'ok',
    getVersion: () => ({ 'solana-core': `${API_VERSION}-litesvm-sim`, 'feature-set': 0 }),

    getSlot: (p) => chain.slotAt(commitmentOf(node, cfgAt(p, 0))),
    getBlockHeight: (p) => chain.heightAt(commitmentOf(node, cfgAt(p, 0))),

    getLatestBlockhash: (p) => {
      const c = commitmentOf(node, cfgAt(p, 0));
      return { context: node.context(c), value: chain.blockhashAt(c) };
    },

    isBlockhashValid: (p) => {
      if (typeof p[0] !== 'string') throw invalid('Invalid params: expected a blockhash string');
      if (!unb58(p[0], 32)) throw invalid('Invalid param: Invalid');
      const c = commitmentOf(node, cfgAt(p, 1));
      return { context: node.context(c), value: chain.isValid(p[0], c) };
    },

    getSignatureStatuses: (p) => {
      const sigs = p[0];
      if (!Array.isArray(sigs)) throw invalid('Invalid params: expected an array of signatures');
      if (sigs.length > 256) throw invalid('Too many inputs provided; max 256');
      for (const s of sigs) if (typeof s !== 'string' || !unb58(s, 64)) throw invalid(`Invalid param: ${typeof s === 'string' ? s : 'signature'}`);
      const cfg = cfgAt(p, 1);
      const search = cfg.searchTransactionHistory === true;
      const nulls = faults.take('null_statuses', 'getSignatureStatuses');
      return { context: node.context('processed'), value: sigs.map((s) => (nulls ? null : node.signatureStatus(s, search))) };
    },

    getAccountInfo: (p) => {
      const key = pubkeyAt(p, 0);
      const cfg = cfgAt(p, 1);
      const c = commitmentOf(node, cfg);
      return { context: node.context(c), value: encodeAccount(ledger.account(key), cfg) };
    },

    getMultipleAccounts: (p) => {
      if (!Array.isArray(p[0])) throw invalid('Invalid params: expected an array of pubkeys');
      if (p[0].length > 100) throw invalid('Too many inputs provided; max 100');
      const keys = p[0].map((_, i) => pubkeyAt(p[0], i));
      const cfg = cfgAt(p, 1);
      const c = commitmentOf(node, cfg);
      return { context: node.context(c), value: keys.map((k) => encodeAccount(ledger.account(k), cfg)) };
    },

    getBalance: (p) => {
      const key = pubkeyAt(p, 0);
      const c = commitmentOf(node, cfgAt(p, 1));
      return { context: node.context(c), value: ledger.account(key)?.lamports ?? 0n };
    },

    getTokenAccountBalance: (p) => {
      const key = pubkeyAt(p, 0);
      const c = commitmentOf(node, cfgAt(p, 1));
      if (!ledger.account(key)) throw invalid('Invalid param: could not find account');
      const t = ledger.tokenAccount(key);
      if (!t) throw invalid('Invalid param: not a Token account');
      const m = ledger.mintInfo(t.mint);
      if (!m) throw invalid('Invalid param: could not find mint');
      const ui = uiAmountString(t.amount, m.decimals);
      return { context: node.context(c), value: { amount: t.amount.toString(), decimals: m.decimals, uiAmount: Number(ui), uiAmountString: ui } };
    },

    getMinimumBalanceForRentExemption: (p) => {
      const n = p[0];
      if (!Number.isSafeInteger(n) || n < 0 || n > 10 * 1024 * 1024) throw invalid('Invalid params: data length must be a usize within 10 MiB');
      commitmentOf(node, cfgAt(p, 1));
      return ledger.rent(n);
    },

    getFeeForMessage: (p) => {
      if (typeof p[0] !== 'string') throw invalid('Invalid params: expected a base64 message string');
      const c = commitmentOf(node, cfgAt(p, 1));
      if (p[0].length > MAX_BASE64_SIZE) throw invalid(`base64 encoded ${MSG_TYPE} too large: ${p[0].length} bytes (max: encoded/raw ${MAX_BASE64_SIZE}/${PACKET_DATA_SIZE})`);
      const bytes = unb64(p[0]);
      if (!bytes) throw invalid('invalid base64 encoding: InvalidByte');
      if (bytes.length > PACKET_DATA_SIZE) throw invalid(`decoded ${MSG_TYPE} too large: ${bytes.length} bytes (max: ${PACKET_DATA_SIZE} bytes)`);
      let m;
      try { m = parseMessage(bytes); } catch (e) { throw invalid(`failed to deserialize ${MSG_TYPE}: ${e.message}`); }
      const bad = sanitizeMessage(m);
      if (bad) throw invalid(`invalid transaction message: ${bad}`);
      const value = chain.isValid(b58(m.recentBlockhash), c) ? ledger.fee(m) : null;
      return { context: node.context(c), value };
    },

    requestAirdrop: (p) => {
      const key = pubkeyAt(p, 0);
      const lamports = parseU64(p[1]);
      if (lamports === null || lamports === 0n) throw invalid('Invalid params: lamports must be a positive u64');
      commitmentOf(node, cfgAt(p, 2));
      return ledger.airdrop(key, lamports, chain.slot);
    },

    simulateTransaction: (p) => {
      const cfg = cfgAt(p, 1);
      const { bytes, tx } = decodeTx(p[0], encodingOf(cfg));
      const c = commitmentOf(node, cfg);
      const sigVerify = cfg.sigVerify === true;
      const replace = cfg.replaceRecentBlockhash === true;
      if (sigVerify && replace) throw invalid('sigVerify may not be used with replaceRecentBlockhash');
      if (sigVerify && !verifySignatures(tx)) throw new RpcError(-32003, 'Transaction signature verification failure');
      let addresses = null;
      if (cfg.accounts !== undefined && cfg.accounts !== null) {
        addresses = cfg.accounts.addresses;
        if (!Array.isArray(addresses) || addresses.length > 100) throw invalid('Invalid params: accounts.addresses must be an array of at most 100 pubkeys');
        addresses.forEach((_, i) => pubkeyAt(addresses, i));
      }
      const replacement = replace ? chain.blockhashAt(c) : null;
      let sim;
      if (!replace && !chain.isValid(b58(tx.message.recentBlockhash), c)) {
        sim = { err: 'BlockhashNotFound', logs: [], unitsConsumed: 0n, returnData: null };
      } else {
        sim = ledger.simulate(bytes, sigVerify);
      }
      const accounts = addresses ? addresses.map((a) => encodeAccount(ledger.account(a), { encoding: 'base64' })) : null;
      return { context: node.context(c), value: simValue(node, sim, tx, replacement, accounts) };
    },

    sendTransaction: (p, req) => {
      const cfg = cfgAt(p, 1);
      const { bytes, tx } = decodeTx(p[0], encodingOf(cfg));
      if (cfg.maxRetries !== undefined && cfg.maxRetries !== null && (!Number.isSafeInteger(cfg.maxRetries) || cfg.maxRetries < 0)) {
        throw invalid('Invalid params: maxRetries must be a usize');
      }
      const sig = b58(tx.signatures[0]);
      if (cfg.skipPreflight !== true) {
        const c = commitmentOf(node, { commitment: cfg.preflightCommitment, minContextSlot: cfg.minContextSlot });
        if (!verifySignatures(tx)) throw new RpcError(-32003, 'Transaction signature verification failure');
        const none = { logs: [], unitsConsumed: 0n, returnData: null };
        if (!chain.isValid(b58(tx.message.recentBlockhash), c)) throw preflightFailure(simValue(node, { err: 'BlockhashNotFound', ...none }, tx));
        const rec = ledger.get(sig);
        // Landed after the preflight bank's slot: that bank has no status for it, so preflight passes and the
        // leader ignores the duplicate (what agave does with a lagging preflightCommitment).
        if (rec && rec.slot <= chain.slotAt(c)) throw preflightFailure(simValue(node, { err: 'AlreadyProcessed', ...none }, tx));
        if (!rec) {
          const sim = ledger.simulate(bytes, true);
          if (sim.err !== null) throw preflightFailure(simValue(node, sim, tx));
        }
      }
      if (faults.take('drop_transaction', 'sendTransaction')) return sig;
      node.forward(bytes, tx);
      if (faults.take('drop_response', 'sendTransaction')) req.dropResponse = true;
      return sig;
    },
  };
}

