// Control API under /control: mint/fund setup, fault injection, clock control and ledger inspection.
import { FaultError } from './faults.mjs';
import { TOKEN, TOKEN_2022 } from './ledger.mjs';
import { unb58 } from './wire.mjs';
import { parseU64 } from './json.mjs';

export class ControlError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const bad = (msg) => new ControlError(400, msg);

function pubkeyField(body, name, required = true) {
  const v = body[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !unb58(v, 32)) throw bad(`${name} must be a base58 32-byte pubkey`);
  return v;
}

/* Returns a JSON-able answer; throws ControlError for client mistakes. */
export function control(node, method, path, query, body) {
  const { chain, ledger, faults } = node;
  const route = `${method} ${path}`;
  const obj = body && typeof body === 'object' && !Array.isArray(body) ? body : {};
  switch (route) {
    case 'POST /control/mint': {
      const authority = pubkeyField(obj, 'authority');
      const freezeAuthority = pubkeyField(obj, 'freeze_authority', false);
      const mintAddress = pubkeyField(obj, 'address', false);
      const { decimals } = obj;
      if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > 255) throw bad('decimals must be an integer 0..255');
      const tp = obj.token_program ?? 'spl-token';
      const program = { 'spl-token': TOKEN, 'token-2022': TOKEN_2022 }[tp];
      if (!program) throw bad('token_program must be "spl-token" or "token-2022"');
      if (mintAddress && ledger.account(mintAddress)) throw bad('address already in use');
      const mint = ledger.createMint({ authority, decimals, program, freezeAuthority, mintAddress });
      return { mint, token_program: program, decimals };
    }
    case 'POST /control/fund': {
      const pubkey = pubkeyField(obj, 'pubkey');
      const lamports = parseU64(obj.lamports);
      if (lamports === null) throw bad('lamports must be a u64 (number or decimal string)');
      const cur = ledger.account(pubkey)?.lamports ?? 0n;
      if (cur + lamports > 0xffffffffffffffffn) throw bad('balance would overflow u64');
      return { lamports: ledger.fund(pubkey, lamports).toString() };
    }
    case 'POST /control/set-balance': {
      // Sets an account's lamports exactly (a payer running dry, and funded again).
      const pubkey = pubkeyField(obj, 'pubkey');
      const lamports = parseU64(obj.lamports);
      if (lamports === null) throw bad('lamports must be a u64 (number or decimal string)');
      const cur = ledger.account(pubkey)?.lamports ?? 0n;
      return { lamports: ledger.fund(pubkey, lamports - cur).toString() };
    }
    case 'POST /control/fault':
      try { return { id: faults.add(obj) }; } catch (e) { if (e instanceof FaultError) throw bad(e.message); throw e; }
    case 'POST /control/clear-faults':
      return { cleared: faults.clear() };
    case 'POST /control/pause':
      chain.pause();
      return { paused: true, slot: chain.slot, blockHeight: chain.height };
    case 'POST /control/resume':
      chain.resume();
      return { paused: false, slot: chain.slot, blockHeight: chain.height };
    case 'POST /control/jump': {
      const n = obj.blocks;
      if (!Number.isSafeInteger(n) || n < 1 || n > 100_000) throw bad('blocks must be an integer 1..100000');
      chain.jump(n);
      return { slot: chain.slot, blockHeight: chain.height };
    }
    case 'POST /control/slot-ms': {
      const { ms } = obj;
      if (!Number.isSafeInteger(ms) || ms < 1 || ms > 60_000) throw bad('ms must be an integer 1..60000');
      chain.setSlotMs(ms);
      return { slotMs: ms };
    }
    case 'GET /control/state':
      return node.state();
    case 'GET /control/signatures':
      return { signatures: [...ledger.sigs.values()].map((r) => ({ signature: r.signature, slot: r.slot, err: r.err, executions: r.executions })) };
    case 'GET /control/balances': {
      const mint = query.get('mint');
      if (!mint || !unb58(mint, 32)) throw bad('mint query parameter must be a base58 pubkey');
      const b = ledger.balances(mint);
      if (!b) throw new ControlError(404, 'no such mint');
      return { balances: Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v.toString()])) };
    }
    case 'GET /control/supply': {
      const mint = query.get('mint');
      if (!mint || !unb58(mint, 32)) throw bad('mint query parameter must be a base58 pubkey');
      const m = ledger.mintInfo(mint);
      if (!m) throw new ControlError(404, 'no such mint');
      return { supply: m.supply.toString(), decimals: m.decimals };
    }
    case 'GET /control/transactions': {
      const sig = query.get('signature');
      const rec = sig ? ledger.get(sig) : null;
      if (!rec) throw new ControlError(404, 'no such executed signature');
      return { signature: rec.signature, slot: rec.slot, err: rec.err, logs: rec.logs, unitsConsumed: rec.unitsConsumed.toString(), executions: rec.executions };
    }
    default:
      throw new ControlError(404, `no control route ${route}`);
  }
}
