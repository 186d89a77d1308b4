// JSON-RPC 2.0 envelope handling: parse, batch, per-call faults, error mapping; never throws.
import { RpcError, makeMethods } from './rpc.mjs';
import { toJson } from './json.mjs';

const MAX_BATCH = 1024;

function errorObj(id, code, message, data) {
  const error = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', error, id: id ?? null };
}

export class Dispatcher {
  constructor(node) {
    this.node = node;
    this.methods = makeMethods(node);
  }

  /* Methods named in a parsed body (for HTTP-level faults); [] when unparseable. */
  static methodsOf(parsed) {
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.filter((r) => r && typeof r === 'object' && typeof r.method === 'string').map((r) => r.method);
  }

  call(r, req) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) return errorObj(null, -32600, 'Invalid request');
    const id = r.id;
    if (r.jsonrpc !== '2.0' || typeof r.method !== 'string' ||
        !(id === undefined || id === null || typeof id === 'number' || typeof id === 'string')) {
      return errorObj(typeof id === 'number' || typeof id === 'string' ? id : null, -32600, 'Invalid request');
    }
    const fn = Object.hasOwn(this.methods, r.method) ? this.methods[r.method] : null;
    if (!fn) return errorObj(id, -32601, 'Method not found');
    let params = r.params;
    if (params === undefined || params === null) params = [];
    if (!Array.isArray(params)) return errorObj(id, -32602, 'Invalid params: expected a positional array');
    const faults = this.node.faults;
    try {
      const rej = faults.take('reject_send', r.method);
      if (rej) return errorObj(id, rej.code, rej.message, rej.data);
      const result = fn(params, req);
      if (r.method !== 'sendTransaction' && faults.take('drop_response', r.method)) req.dropResponse = true;
      return { jsonrpc: '2.0', result, id: id ?? null };
    } catch (e) {
      if (e instanceof RpcError) return errorObj(id, e.code, e.message, e.data);
      process.stderr.write(`solana-sim: ${r.method} failed: ${e?.stack ?? e}\n`);
      return errorObj(id, -32603, 'Internal error');
    }
  }

  /* Body text -> response text (JSON) given an already-parsed value or a parse failure. */
  handle(parsed, parseOk, req) {
    try {
      if (!parseOk) return toJson(errorObj(null, -32700, 'Parse error'));
      if (Array.isArray(parsed)) {
        if (parsed.length === 0 || parsed.length > MAX_BATCH) return toJson(errorObj(null, -32600, 'Invalid request'));
        return toJson(parsed.map((r) => this.call(r, req)));
      }
      return toJson(this.call(parsed, req));
    } catch (e) {
      process.stderr.write(`solana-sim: dispatch failed: ${e?.stack ?? e}\n`);
      return toJson(errorObj(null, -32603, 'Internal error'));
    }
  }
}
