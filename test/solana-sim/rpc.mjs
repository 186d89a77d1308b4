// JSON-RPC method handlers with agave's result shapes and error codes.
import {
  b58, unb58, unb64, b64, parseTransaction, parseMessage, sanitizeMessage, verifySignatures,
  PACKET_DATA_SIZE, MAX_BASE58_SIZE, MAX_BASE64_SIZE, TX_TYPE, MSG_TYPE,
} from './wire.mjs';
import { parseU64 } from './json.mjs';
import { txErrText } from './txerr.mjs';
import { durableNonceKey, programsOf } from './ledger.mjs';
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

/* The commitment asked for (and minContextSlot checked against what this backend has reached). */
function commitmentOf(view, cfg, dflt = 'finalized') {
  const c = cfg.commitment ?? dflt;
  if (!COMMITMENTS.has(c)) throw invalid(`Invalid params: unknown variant \`${c}\`, expected one of \`processed\`, \`confirmed\`, \`finalized\``);
  if (cfg.minContextSlot !== undefined) {
    if (!Number.isSafeInteger(cfg.minContextSlot) || cfg.minContextSlot < 0) throw invalid('Invalid params: minContextSlot must be a u64');
    const slot = view.slotAt(c);
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

/* Every handler gets (params, req); req.view is the backend serving this request (View in node.mjs). */
export function makeMethods(node) {
  const { chain, ledger, faults } = node;
  const cfgView = (req) => req.view ?? node.view();

  const tokenAmount = (amount, decimals) => {
    const ui = uiAmountString(amount, decimals);
    return { amount: amount.toString(), decimals, uiAmount: Number(ui), uiAmountString: ui };
  };

  /* The nonce state a durable-nonce transaction needs to pass preflight now, or null when it is not one. */
  const nonceOk = (tx) => {
    const key = durableNonceKey(tx.message);
    return key === null ? null : node.mayLand(tx, chain.height + 1);
  };

  return {
    getHealth: (p, req) => {
      const v = cfgView(req);
      if (v.lag > 150) throw new RpcError(-32005, `Node is behind by ${v.lag} slots`, { numSlotsBehind: v.lag });
      return 'ok';
    },
    getVersion: () => ({ 'solana-core': `${API_VERSION}-litesvm-sim`, 'feature-set': 0 }),

    getSlot: (p, req) => { const v = cfgView(req); return v.slotAt(commitmentOf(v, cfgAt(p, 0))); },
    getBlockHeight: (p, req) => { const v = cfgView(req); return v.heightAt(commitmentOf(v, cfgAt(p, 0))); },
    minimumLedgerSlot: (p, req) => cfgView(req).minimumLedgerSlot(),

    getEpochInfo: (p, req) => {
      const v = cfgView(req);
      const c = commitmentOf(v, cfgAt(p, 0));
      const slot = v.slotAt(c);
      return { absoluteSlot: slot, blockHeight: v.heightAt(c), epoch: Math.floor(slot / 432000), slotIndex: slot % 432000,
        slotsInEpoch: 432000, transactionCount: ledger.executed };
    },

    getLatestBlockhash: (p, req) => {
      const v = cfgView(req);
      const c = commitmentOf(v, cfgAt(p, 0));
      return { context: v.context(c), value: chain.blockhashAt(c, v.head) };
    },

    isBlockhashValid: (p, req) => {
      if (typeof p[0] !== 'string') throw invalid('Invalid params: expected a blockhash string');
      if (!unb58(p[0], 32)) throw invalid('Invalid param: Invalid');
      const v = cfgView(req);
      const c = commitmentOf(v, cfgAt(p, 1));
      return { context: v.context(c), value: chain.isValid(p[0], c, v.head) };
    },

    getSignatureStatuses: (p, req) => {
      const sigs = p[0];
      if (!Array.isArray(sigs)) throw invalid('Invalid params: expected an array of signatures');
      if (sigs.length > 256) throw invalid('Too many inputs provided; max 256');
      for (const s of sigs) if (typeof s !== 'string' || !unb58(s, 64)) throw invalid(`Invalid param: ${typeof s === 'string' ? s : 'signature'}`);
      const cfg = cfgAt(p, 1);
      const search = cfg.searchTransactionHistory === true;
      const v = cfgView(req);
      if (search && v.noHistory) throw new RpcError(-32011, 'Transaction history is not available from this node');
      const nulls = faults.take('null_statuses', 'getSignatureStatuses');
      return { context: v.context('processed'), value: sigs.map((s) => (nulls ? null : v.signatureStatus(s, search))) };
    },

    getAccountInfo: (p, req) => {
      const key = pubkeyAt(p, 0);
      const cfg = cfgAt(p, 1);
      const v = cfgView(req);
      const c = commitmentOf(v, cfg);
      return { context: v.context(c), value: encodeAccount(v.account(key, c), cfg) };
    },

    getMultipleAccounts: (p, req) => {
      if (!Array.isArray(p[0])) throw invalid('Invalid params: expected an array of pubkeys');
      if (p[0].length > 100) throw invalid('Too many inputs provided; max 100');
      const keys = p[0].map((_, i) => pubkeyAt(p[0], i));
      const cfg = cfgAt(p, 1);
      const v = cfgView(req);
      const c = commitmentOf(v, cfg);
      return { context: v.context(c), value: keys.map((k) => encodeAccount(v.account(k, c), cfg)) };
    },

    getBalance: (p, req) => {
      const key = pubkeyAt(p, 0);
      const v = cfgView(req);
      const c = commitmentOf(v, cfgAt(p, 1));
      return { context: v.context(c), value: v.account(key, c)?.lamports ?? 0n };
    },

    getTokenAccountBalance: (p, req) => {
      const key = pubkeyAt(p, 0);
      const v = cfgView(req);
      const c = commitmentOf(v, cfgAt(p, 1));
      const slot = v.slotAt(c);
      if (!ledger.accountAt(key, slot)) throw invalid('Invalid param: could not find account');
      const t = ledger.tokenAccount(key, slot);
      if (!t) throw invalid('Invalid param: not a Token account');
      const m = ledger.mintInfo(t.mint, slot);
      if (!m) throw invalid('Invalid param: could not find mint');
      return { context: v.context(c), value: tokenAmount(t.amount, m.decimals) };
    },

    getTokenSupply: (p, req) => {
      const key = pubkeyAt(p, 0);
      const v = cfgView(req);
      const c = commitmentOf(v, cfgAt(p, 1));
      const m = ledger.mintInfo(key, v.slotAt(c));
      if (!m) throw invalid('Invalid param: not a Token mint');
      return { context: v.context(c), value: tokenAmount(m.supply, m.decimals) };
    },

    getRecentPrioritizationFees: (p) => {
      const keys = p[0] === undefined || p[0] === null ? [] : p[0];
      if (!Array.isArray(keys)) throw invalid('Invalid params: expected an array of pubkeys');
      if (keys.length > 128) throw invalid('Too many inputs provided; max 128');
      keys.forEach((_, i) => pubkeyAt(keys, i));
      return node.recentFees(keys);
    },

    getMinimumBalanceForRentExemption: (p, req) => {
      const n = p[0];
      if (!Number.isSafeInteger(n) || n < 0 || n > 10 * 1024 * 1024) throw invalid('Invalid params: data length must be a usize within 10 MiB');
      commitmentOf(cfgView(req), cfgAt(p, 1));
      return ledger.rent(n);
    },

    getFeeForMessage: (p, req) => {
      if (typeof p[0] !== 'string') throw invalid('Invalid params: expected a base64 message string');
      const v = cfgView(req);
      const c = commitmentOf(v, cfgAt(p, 1));
      if (p[0].length > MAX_BASE64_SIZE) throw invalid(`base64 encoded ${MSG_TYPE} too large: ${p[0].length} bytes (max: encoded/raw ${MAX_BASE64_SIZE}/${PACKET_DATA_SIZE})`);
      const bytes = unb64(p[0]);
      if (!bytes) throw invalid('invalid base64 encoding: InvalidByte');
      if (bytes.length > PACKET_DATA_SIZE) throw invalid(`decoded ${MSG_TYPE} too large: ${bytes.length} bytes (max: ${PACKET_DATA_SIZE} bytes)`);
      let m;
      try { m = parseMessage(bytes); } catch (e) { throw invalid(`failed to deserialize ${MSG_TYPE}: ${e.message}`); }
      const bad = sanitizeMessage(m);
      if (bad) throw invalid(`invalid transaction message: ${bad}`);
      const value = chain.isValid(b58(m.recentBlockhash), c, v.head) ? ledger.fee(m) : null;
      return { context: v.context(c), value };
    },

    requestAirdrop: (p, req) => {
      const key = pubkeyAt(p, 0);
      const lamports = parseU64(p[1]);
      if (lamports === null || lamports === 0n) throw invalid('Invalid params: lamports must be a positive u64');
      commitmentOf(cfgView(req), cfgAt(p, 2));
      return ledger.airdrop(key, lamports, chain.slot);
    },

    simulateTransaction: (p, req) => {
      const cfg = cfgAt(p, 1);
      const { bytes, tx } = decodeTx(p[0], encodingOf(cfg));
      const v = cfgView(req);
      const c = commitmentOf(v, cfg);
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
      const replacement = replace ? chain.blockhashAt(c, v.head) : null;
      const nonce = nonceOk(tx);
      let sim;
      if (!replace && (nonce === false || (nonce === null && !chain.isValid(b58(tx.message.recentBlockhash), c, v.head)))) {
        sim = { err: 'BlockhashNotFound', logs: [], unitsConsumed: 0n, returnData: null };
      } else {
        sim = ledger.simulate(bytes, sigVerify);
      }
      const accounts = addresses ? addresses.map((a) => encodeAccount(ledger.account(a), { encoding: 'base64' })) : null;
      return { context: v.context(c), value: simValue(node, sim, tx, replacement, accounts) };
    },

    sendTransaction: (p, req) => {
      const cfg = cfgAt(p, 1);
      const { bytes, tx } = decodeTx(p[0], encodingOf(cfg));
      if (cfg.maxRetries !== undefined && cfg.maxRetries !== null && (!Number.isSafeInteger(cfg.maxRetries) || cfg.maxRetries < 0)) {
        throw invalid('Invalid params: maxRetries must be a usize');
      }
      const sig = b58(tx.signatures[0]);
      if (cfg.skipPreflight !== true) {
        const v = cfgView(req);
        const c = commitmentOf(v, { commitment: cfg.preflightCommitment, minContextSlot: cfg.minContextSlot });
        if (!verifySignatures(tx)) throw new RpcError(-32003, 'Transaction signature verification failure');
        const none = { logs: [], unitsConsumed: 0n, returnData: null };
        const rec = ledger.get(sig);
        // Landed after the preflight bank's slot: that bank has no status for it, so preflight passes and the
        // leader ignores the duplicate (what agave does with a lagging preflightCommitment).
        if (rec && rec.slot <= v.slotAt(c)) throw preflightFailure(simValue(node, { err: 'AlreadyProcessed', ...none }, tx));
        const nonce = nonceOk(tx);
        if (nonce === false || (nonce === null && !chain.isValid(b58(tx.message.recentBlockhash), c, v.head))) {
          throw preflightFailure(simValue(node, { err: 'BlockhashNotFound', ...none }, tx));
        }
        if (!rec) {
          const sim = ledger.simulate(bytes, true);
          if (sim.err !== null) throw preflightFailure(simValue(node, sim, tx));
        }
      }
      const programs = programsOf(tx.message);
      if (faults.take('drop_transaction', 'sendTransaction', programs)) return sig;
      node.forward(bytes, tx);
      if (faults.take('drop_response', 'sendTransaction', programs)) req.dropResponse = true;
      return sig;
    },
  };
}
