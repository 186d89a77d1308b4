// lib/invariant.mjs: the exactly-once invariant between PostgreSQL and the simulated chain, checked in one place.
import { solanaRpc, waitFor } from './stack.mjs';

async function sim(env, path) {
  const res = await fetch(`${env.SIM_CONTROL_URL}${path}`);
  if (!res.ok) throw new Error(`sim ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

// Waits until nothing is in flight: no claimed/submitted reading, no pending mint transaction (or advance), and
// (unless allowRetrying) nothing pending or retrying either. Lookup-table transactions may still be in flight
// (a confirmation queues its wallets' accounts for a table): checkInvariant checks the tables apart.
export async function drain(db, { timeout = 60000, allowRetrying = false, what = 'mintd to drain' } = {}) {
  await waitFor(async () => {
    const { rows } = await db.query(`SELECT
        (SELECT count(*) FROM meter_readings WHERE status IN ('claimed', 'submitted', 'waiting')
           ${allowRetrying ? '' : "OR status IN ('pending', 'retrying')"})::int AS busy,
        (SELECT count(*) FROM mint_transactions t WHERE state = 'pending' AND (kind <> 'table' OR EXISTS
           (SELECT 1 FROM mint_transactions a WHERE a.kind = 'advance' AND a.state = 'pending'
              AND a.nonce_account = t.nonce_account AND a.nonce_value = t.nonce_value)))::int AS txs`);
    if (rows[0].busy === 0 && rows[0].txs === 0) return true;
    throw new Error(`${rows[0].busy} readings busy, ${rows[0].txs} transactions pending`);
  }, { timeout, interval: 100, what });
}

/*
 * Returns a list of violations (empty when the invariant holds):
 * - a reading is minted exactly when the transaction it names is confirmed, with that signature;
 * - every confirmed transaction's readings are minted by it, and no reading is in two confirmed transactions;
 * - per wallet, the on-chain balance equals the sum of its minted readings (and, with allMinted, of all of them);
 * - the mint's supply equals the sum of all minted readings (plus what `foreign` says was minted outside mintd);
 * - every signature the chain executed, executed once;
 * - every lookup table the database calls active holds, on chain, the mint, the RecentBlockhashes sysvar and
 *   each account the database says was added to it, each once (exactly, when no table transaction is pending);
 * - with drained: nothing claimed/submitted and no pending mint transaction.
 * foreign: {owner: BigInt} tokens a test minted outside mintd (its own wallets, not readings').
 * adjust: {owner: BigInt} tokens holders moved between wallets themselves (a transfer: -x and +x).
 */
export async function checkInvariant(db, env, { drained = true, allMinted = true, foreign = {}, adjust = {} } = {}) {
  const bad = [];
  const q = async (sql, params) => (await db.query(sql, params)).rows;

  for (const r of await q(`SELECT m.id, m.status, m.mint_tx_signature, t.state, t.signature
      FROM meter_readings m LEFT JOIN mint_transactions t ON t.id = m.mint_tx_id
      WHERE m.status = 'minted'
        AND (t.state IS DISTINCT FROM 'confirmed' OR m.mint_tx_signature IS DISTINCT FROM t.signature)`)) {
    bad.push(`reading ${r.id} status ${r.status} but its transaction is ${r.state} (${r.mint_tx_signature} vs ${r.signature})`);
  }
  for (const r of await q(`SELECT l.reading_id, t.id AS tx, m.status, m.mint_tx_id
      FROM mint_transaction_readings l JOIN mint_transactions t ON t.id = l.mint_tx_id
      JOIN meter_readings m ON m.id = l.reading_id
      WHERE t.state = 'confirmed' AND (m.status <> 'minted' OR m.mint_tx_id <> t.id)`)) {
    bad.push(`reading ${r.reading_id} is in confirmed tx ${r.tx} but is ${r.status} via tx ${r.mint_tx_id}`);
  }
  for (const r of await q(`SELECT l.reading_id, count(*)::int AS n FROM mint_transaction_readings l
      JOIN mint_transactions t ON t.id = l.mint_tx_id WHERE t.state = 'confirmed'
      GROUP BY l.reading_id HAVING count(*) > 1`)) {
    bad.push(`reading ${r.reading_id} is in ${r.n} confirmed transactions (minted twice)`);
  }
  const { balances } = await sim(env, `/balances?mint=${env.TOKEN_MINT}`);
  const wallets = await q(`SELECT wallet_address AS w,
      coalesce(sum(token_amount) FILTER (WHERE status = 'minted'), 0)::text AS minted,
      sum(token_amount)::text AS total, count(*) FILTER (WHERE status <> 'minted')::int AS open
      FROM meter_readings GROUP BY wallet_address`);
  const known = new Set();
  for (const w of wallets) {
    known.add(w.w);
    const chain = BigInt(balances[w.w] ?? '0') - (adjust[w.w] ?? 0n);
    if (chain !== BigInt(w.minted)) bad.push(`wallet ${w.w}: chain ${chain} != minted readings ${w.minted}`);
    if (allMinted && chain !== BigInt(w.total)) bad.push(`wallet ${w.w}: chain ${chain} != all readings ${w.total} (${w.open} not minted)`);
  }
  for (const [owner, amount] of Object.entries(balances)) {
    const expect = foreign[owner] ?? 0n;
    if (!known.has(owner) && BigInt(amount) !== expect) bad.push(`chain holds ${amount} for ${owner}, which has no reading`);
  }
  const [{ minted }] = await q(`SELECT coalesce(sum(token_amount) FILTER (WHERE status = 'minted'), 0)::text AS minted FROM meter_readings`);
  const { supply } = await sim(env, `/supply?mint=${env.TOKEN_MINT}`);
  const extra = Object.values(foreign).reduce((a, b) => a + b, 0n);
  if (BigInt(supply) !== BigInt(minted) + extra) bad.push(`supply ${supply} != minted readings ${minted} + foreign ${extra}`);
  const { signatures } = await sim(env, '/signatures');
  for (const s of signatures) if (s.executions !== 1) bad.push(`signature ${s.signature} executed ${s.executions} times`);
  bad.push(...await checkTables(db, env));
  if (drained) {
    const [r] = await q(`SELECT
        (SELECT count(*) FROM meter_readings WHERE status IN ('claimed', 'submitted'))::int AS busy,
        (SELECT count(*) FROM mint_transactions WHERE state = 'pending' AND kind <> 'table')::int AS txs`);
    if (r.busy !== 0) bad.push(`${r.busy} readings still claimed or submitted`);
    if (r.txs !== 0) bad.push(`${r.txs} transactions still pending`);
  }
  if (allMinted) {
    const [r] = await q(`SELECT count(*)::int AS n FROM meter_readings WHERE status <> 'minted'`);
    if (r.n !== 0) bad.push(`${r.n} readings not minted`);
  }
  return bad;
}

const RECENT_BLOCKHASHES = 'SysvarRecentB1ockHashes11111111111111111111';


// The addresses a lookup table holds (newest state), base58, or null when the account does not exist.
export async function tableAddresses(env, address) {
  const { value } = await solanaRpc(env, 'getAccountInfo', [address, { commitment: 'processed', encoding: 'base64' }]);
  if (value === null) return null;
  const data = Buffer.from(value.data[0], 'base64');
  const { getBase58Decoder } = await import('@solana/kit');
  const b58 = getBase58Decoder();
  const out = [];
  for (let off = 56; off + 32 <= data.length; off += 32) out.push(b58.decode(data.subarray(off, off + 32)));
  return out;
}

// Lookup tables against the database: what was decided added is on chain, once; nothing else is there.
export async function checkTables(db, env) {
  const bad = [];
  const tables = (await db.query(`SELECT address, mint FROM lookup_tables WHERE state = 'active'`)).rows;
  const [{ pending }] = (await db.query(`SELECT count(*)::int AS pending FROM mint_transactions
      WHERE kind = 'table' AND state = 'pending'`)).rows;
  for (const t of tables) {
    const addrs = await tableAddresses(env, t.address);
    if (addrs === null) { bad.push(`lookup table ${t.address} is active but does not exist`); continue; }
    if (addrs[0] !== t.mint || addrs[1] !== RECENT_BLOCKHASHES) bad.push(`lookup table ${t.address} does not start with the mint and the sysvar`);
    const count = new Map();
    for (const a of addrs) count.set(a, (count.get(a) ?? 0) + 1);
    for (const [a, n] of count) if (n > 1) bad.push(`lookup table ${t.address} holds ${a} ${n} times`);
    const added = (await db.query(`SELECT account FROM lookup_table_entries WHERE table_address = $1 AND state = 'added'`,
      [t.address])).rows.map((r) => r.account);
    for (const a of added) if (!count.has(a)) bad.push(`lookup table ${t.address} lacks ${a}, recorded added`);
    if (pending === 0 && addrs.length !== 2 + added.length) {
      bad.push(`lookup table ${t.address} holds ${addrs.length} addresses, the database says ${2 + added.length}`);
    }
  }
  return bad;
}
