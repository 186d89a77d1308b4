// lib/audit.mjs: runs `mintd -A` against a test stack, configured as the stack's mintd is, and reads its answer.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { GTX_BIN, waitFor } from './stack.mjs';
import { mintdEnv } from './mintd.mjs';

const BAD = /(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer)/;

/*
 * Runs `mintd -A` (with --json unless json is false) without blocking the test's loop (readings can be fed
 * meanwhile). Resolves with {code, stdout, stderr, doc} (doc: the parsed JSON document). Throws when the audit's
 * stderr shows a sanitizer report, or when --json printed anything but one JSON document.
 */
export function runAudit(stack, { json = true, env = {}, args = [] } = {}) {
  const child = spawn(join(GTX_BIN, 'mintd'), ['-A', ...(json ? ['--json'] : []), ...args],
    { env: mintdEnv(stack, env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (BAD.test(stderr)) return reject(new Error(`mintd -A: sanitizer report:\n${stderr}`));
      let doc = null;
      if (json) {
        try { doc = JSON.parse(stdout); } catch (e) { return reject(new Error(`mintd -A --json (exit ${code}) printed no JSON: ${e.message}\n${stdout}\n${stderr}`)); }
      }
      resolve({ code, stdout, stderr, doc });
    });
  });
}

/*
 * Waits until every mint the database records as confirmed is finalized too (until then the audit rightly leaves
 * the latest ones out of both sides, so a change to one of them would not show yet).
 */
export async function finalizedPast(db, env) {
  const { rows: [{ slot }] } = await db.query(
    `SELECT coalesce(max(slot), 0)::text AS slot FROM mint_transactions WHERE state = 'confirmed'`);
  await waitFor(async () => {
    const res = await fetch(env.SOLANA_RPC_URL, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot', params: [{ commitment: 'finalized' }] }) });
    return BigInt((await res.json()).result) >= BigInt(slot);
  }, { what: `the finalized slot past ${slot}` });
}
