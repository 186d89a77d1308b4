// mintd_audit.test.mjs: `mintd -A`, the audit against the chain, on the real stack: against a live mintd it exits
// 0; a minted reading changed in the database and a mint outside mintd each make it exit 1 naming the wallet (and,
// for the latter, the supply); an unreachable RPC node or database exits 3; and mintd runs it on a schedule and
// exports the result as metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './lib/stack.mjs';
import { drain } from './lib/invariant.mjs';
import {
  randomWallet, addMeters, simControl, metrics, openMintdStack, closeMintdStack, readingFeeder,
} from './lib/mintd.mjs';
import { runAudit, finalizedPast } from './lib/audit.mjs';
import { foreignMint } from './lib/foreign.mjs';

const WALLETS = 60;
let ctx, stack, env, db, addReadings;

before(async () => {
  ctx = await openMintdStack({
    mintdEnv: { MINTD_INSTANCE_ID: 'mintd-audit', MINTD_AUDIT_SECS: '2', MINTD_SUPPLY_CHECK_SECS: '1' },
  });
  ({ stack, env, db } = ctx);
  const wallets = Array.from({ length: WALLETS }, randomWallet);
  addReadings = readingFeeder(ctx, wallets, await addMeters(db, wallets), 2_000_000n);
  await addReadings(WALLETS * 3);
  await drain(db, { what: 'the first readings minted' });
  const { rows } = await db.query(`SELECT status, count(*)::int AS n FROM meter_readings GROUP BY 1`);
  assert.deepEqual(rows, [{ status: 'minted', n: WALLETS * 3 }],
    readFileSync(join(stack.dir, 'mintd.log'), 'utf8').split('\n').slice(-40).join('\n'));
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const q1 = async (sql, params) => (await db.query(sql, params)).rows[0];

/* Drained and finalized: every confirmed mint is in the state the audit reads. */
async function settled() {
  await drain(db);
  await finalizedPast(db, env);
}

/* A port nothing listens on. */
function closedPort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/* Polls /metrics until the scheduled audit's figures say what `want` says (a new run after `after` s). */
async function scheduled(want, afterTs = 0) {
  return waitFor(async () => {
    const m = await metrics(env);
    if (Number(m.mintd_audit_last_run_timestamp_seconds ?? 0) <= afterTs) return false;
    for (const [k, v] of Object.entries(want)) if (m[k] !== v) return false;
    return m;
  }, { timeout: 60000, interval: 200, what: `a scheduled audit with ${JSON.stringify(want)}` });
}

test('against a live mintd minting all the while, every audit exits 0 and --json says ok', { timeout: 240000 }, async () => {
  let feeding = true;
  const feeder = (async () => { while (feeding) { await addReadings(25); await sleep(120); } })();
  const before_ = (await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'minted'`)).n;
  let runs = 0, sawLater = 0, sawInFlight = 0;
  try {
    // Until some audit has read a wallet whose latest mints were confirmed but not yet finalized at the slot of
    // its read (left out of both sides), and a few more: each must agree, at once (nothing read twice).
    while (runs < 5 || sawLater === 0) {
      assert.ok(runs < 60, 'no audit overlapped a mint confirmed but not finalized');
      const { code, doc, stderr } = await runAudit(stack);
      runs++;
      assert.equal(code, 0, `audit ${runs}: ${JSON.stringify(doc).slice(0, 2000)} ${stderr}`);
      assert.equal(doc.result, 'ok');
      assert.equal(doc.exit_code, 0);
      assert.equal(doc.error, null);
      assert.equal(doc.wallets.mismatched, 0);
      assert.equal(doc.wallets.read_again, 0, 'a healthy system never disagrees, not even on the first read');
      assert.equal(doc.wallets.checked, WALLETS);
      assert.match(doc.supply.result, /^(agree|in_flight)$/);
      assert.equal(doc.supply.read_again, false);
      if (doc.wallets.readings_landed_after_the_read > 0) sawLater++;
      if (doc.supply.in_flight_transactions > 0) sawInFlight++;
    }
  } finally {
    feeding = false;
    await feeder;
  }
  const minted = (await q1(`SELECT count(*)::int AS n FROM meter_readings WHERE status = 'minted'`)).n;
  assert.ok(minted > before_, 'mintd minted while the audits ran');
  await drain(db, { what: 'the live readings minted' });
  await settled();
  const { code, stdout } = await runAudit(stack, { json: false });
  assert.equal(code, 0, stdout);
  assert.match(stdout, new RegExp(`^ok: ${WALLETS} wallets: ${WALLETS} agree, 0 in flight, 0 mismatched; supply agrees; `, 'm'));
  assert.match(stdout, /^supply at slot \d+: chain (\d+\.\d{9}), database \1 .*: agree$/m);
  console.log(`# ${runs} audits during minting; ${sawLater} saw mints not yet finalized, ${sawInFlight} transactions in flight`);
});

test('one minted reading changed in the database: exit 1 naming the wallet, the reading and its transaction', { timeout: 180000 }, async () => {
  await settled();
  const r = await q1(`SELECT m.id::text, m.wallet_address AS wallet, m.token_amount::text AS amount, t.signature
      FROM meter_readings m JOIN mint_transactions t ON t.id = m.mint_tx_id WHERE m.status = 'minted' ORDER BY m.id LIMIT 1`);
  const ts = Math.floor(Date.now() / 1000);
  await db.query(`UPDATE meter_readings SET token_amount = token_amount + 1000 WHERE id = $1`, [r.id]);
  try {
    const text = await runAudit(stack, { json: false });
    assert.equal(text.code, 1, text.stdout);
    assert.match(text.stdout, new RegExp(`^${r.wallet} +\\S+ +\\S+ +-0\\.000001000$`, 'm'));
    assert.match(text.stdout, new RegExp(`reading ${r.id} \\(minted\\): stored amount differs from what its transaction carried`));
    assert.match(text.stdout, new RegExp(`tx ${r.signature} confirmed at slot \\d+`));
    assert.match(text.stdout, /^mismatch: \d+ wallets: \d+ agree, 0 in flight, 1 MISMATCHED \(after reading again what disagreed\); supply MISMATCHED/m);

    const { code, doc } = await runAudit(stack);
    assert.equal(code, 1);
    assert.equal(doc.result, 'mismatch');
    assert.equal(doc.exit_code, 1);
    assert.deepEqual(doc.mismatches.map((m) => m.wallet), [r.wallet]);
    const m = doc.mismatches[0];
    assert.equal(BigInt(m.chain) - BigInt(m.database), -1000n);
    assert.equal(m.difference, '-1000');
    assert.equal(m.account, 'token');
    assert.ok(m.transactions.some((t) => t.signature === r.signature && t.state === 'confirmed'));
    assert.deepEqual(m.readings_disagreeing.map((x) => [x.id, x.amount, x.carried, x.signature]),
      [[r.id, (BigInt(r.amount) + 1000n).toString(), r.amount, r.signature]]);
    assert.equal(doc.wallets.mismatched, 1);
    assert.equal(doc.wallets.read_again, 1);
    assert.equal(doc.supply.result, 'mismatch');
    assert.equal(doc.supply.difference, '-1000');
    assert.equal(doc.supply.transactions_record, doc.supply.chain, 'the transactions still add up to the chain');

    // mintd's own scheduled audit says so too, in /metrics and in its log.
    await scheduled({ mintd_audit_ok: '0', mintd_audit_mismatched_wallets: '1', mintd_audit_supply_mismatch: '1' }, ts);
    await waitFor(() => {
      const log = readFileSync(join(stack.dir, 'mintd.log'), 'utf8');
      return new RegExp(`level=error daemon=mintd msg="AUDIT MISMATCH[^"]*" mismatched=1 checked=${WALLETS} supply=mismatch `).test(log) &&
        log.includes(`level=error daemon=mintd msg="audit mismatch" wallet=${r.wallet} `);
    }, { what: 'the audit mismatch in the log' });
  } finally {
    await db.query(`UPDATE meter_readings SET token_amount = $2 WHERE id = $1`, [r.id, r.amount]);
  }
  const back = await runAudit(stack);
  assert.equal(back.code, 0, JSON.stringify(back.doc).slice(0, 2000));
  const m = await scheduled({ mintd_audit_ok: '1', mintd_audit_mismatched_wallets: '0', mintd_audit_supply_mismatch: '0' },
    Math.floor(Date.now() / 1000));
  assert.equal(m.mintd_audit_wallets, String(WALLETS));
  assert.ok(Number(m['mintd_audit_runs_total{result="mismatch"}']) >= 1);
  assert.ok(Number(m['mintd_audit_runs_total{result="ok"}']) >= 1);
  assert.ok(Number(m.mintd_audit_last_complete_timestamp_seconds) >= Number(m.mintd_audit_last_run_timestamp_seconds) - 0);
});

test('a mint outside mintd to one wallet: exit 1 naming the wallet and the supply; exit 0 once explained', { timeout: 180000 }, async () => {
  await settled();
  const { wallet } = await q1(`SELECT wallet_address AS wallet FROM meter_readings WHERE status = 'minted' ORDER BY id DESC LIMIT 1`);
  const amount = 4_321_000_000_007n;
  const sig = await foreignMint(env, wallet, amount);
  assert.ok(sig);

  const text = await runAudit(stack, { json: false });
  assert.equal(text.code, 1, text.stdout);
  assert.match(text.stdout, new RegExp(`^${wallet} +\\S+ +\\S+ +\\+4321\\.000000007$`, 'm'));
  assert.match(text.stdout, /^supply at slot \d+: chain .* difference \+4321\.000000007: MISMATCH$/m);

  const { code, doc } = await runAudit(stack);
  assert.equal(code, 1);
  assert.equal(doc.result, 'mismatch');
  assert.deepEqual(doc.mismatches.map((m) => [m.wallet, m.difference]), [[wallet, amount.toString()]]);
  assert.equal(doc.supply.result, 'mismatch');
  assert.equal(doc.supply.difference, amount.toString());

  // mintd halts on the same supply; the audit names the halt.
  const halt = await waitFor(async () => q1(`SELECT id FROM minting_halts WHERE acknowledged_at IS NULL`), { what: 'the halt' });
  const again = await runAudit(stack);
  assert.equal(again.code, 1);
  assert.equal(again.doc.supply.halt.id, Number(halt.id));

  // The operator explains it: the halt acknowledged (the baseline moves) and the wallet's difference recorded.
  await db.query(`SELECT acknowledge_minting_halt($1, 'audit-test', 'minted outside mintd by the audit test')`, [halt.id]);
  await db.query(`INSERT INTO audit_adjustments (mint, wallet, amount, recorded_by, note) VALUES ($1, $2, $3, 'audit-test',
      'minted outside mintd by the audit test; halt acknowledged')`, [env.TOKEN_MINT, wallet, amount.toString()]);
  const ok = await runAudit(stack);
  assert.equal(ok.code, 0, JSON.stringify(ok.doc).slice(0, 2000));
  assert.equal(ok.doc.supply.result, 'agree');
  assert.equal(ok.doc.wallets.mismatched, 0);
  await addReadings(WALLETS);
  await drain(db, { what: 'minting resumed after the acknowledgement' });
  assert.equal((await runAudit(stack)).code, 0);
});

test('retried 500s and a second backend far behind do not make a mismatch', { timeout: 180000 }, async () => {
  let feeding = true;
  const feeder = (async () => { while (feeding) { await addReadings(20); await sleep(150); } })();
  try {
    await simControl(env, '/fault', { kind: 'http_500', method: 'getMultipleAccounts', count: 3 });
    const a = await runAudit(stack);
    assert.equal(a.code, 0, JSON.stringify(a.doc).slice(0, 2000));
    // Every other request answered by a backend 40 slots behind: each answer is judged at its own slot.
    await simControl(env, '/fault', { kind: 'alternate', slots: 40, for_ms: 20000 });
    for (let i = 0; i < 3; i++) {
      const b = await runAudit(stack);
      assert.equal(b.code, 0, JSON.stringify(b.doc).slice(0, 2000));
      assert.equal(b.doc.wallets.read_again, 0);
    }
  } finally {
    feeding = false;
    await feeder;
    await simControl(env, '/clear-faults', {}).catch(() => {});
  }
  await drain(db, { timeout: 90000 });
  assert.equal((await runAudit(stack)).code, 0);
});

test('the RPC node or the database unreachable, or a bad configuration: exit 3, "could not complete"', { timeout: 180000 }, async () => {
  const port = await closedPort();
  const rpc = await runAudit(stack, { env: { SOLANA_RPC_URL: `http://127.0.0.1:${port}`, MINTD_RPC_TIMEOUT_MS: '500' } });
  assert.equal(rpc.code, 3, rpc.stdout);
  assert.equal(rpc.doc.result, 'incomplete');
  assert.equal(rpc.doc.exit_code, 3);
  assert.match(rpc.doc.error, new RegExp(`getTokenSupply.*127\\.0\\.0\\.1:${port}`));
  const text = await runAudit(stack, { json: false, env: { SOLANA_RPC_URL: `http://127.0.0.1:${port}`, MINTD_RPC_TIMEOUT_MS: '500' } });
  assert.equal(text.code, 3);
  assert.match(text.stdout, /^incomplete: 0 wallets: .*could not complete: .*getTokenSupply/m);

  const pg = await runAudit(stack, { env: { DATABASE_URL: `postgresql://gtx@127.0.0.1:${port}/gridtokenx` } });
  assert.equal(pg.code, 3);
  assert.match(pg.doc.error, /^database: /);

  const conf = await runAudit(stack, { env: { TOKEN_MINT: 'not-an-address' } });
  assert.equal(conf.code, 3);
  assert.match(conf.doc.error, /^configuration: TOKEN_MINT/);
  assert.match(conf.stderr, /TOKEN_MINT/);
});

test('the scheduled audit that cannot complete is counted, and the next good one clears it', { timeout: 180000 }, async () => {
  const ts = Math.floor(Date.now() / 1000);
  await simControl(env, '/fault', { kind: 'http_500', method: 'getTokenSupply', for_ms: 30000 });
  try {
    const m = await scheduled({ mintd_audit_ok: '0' }, ts);
    assert.ok(Number(m.mintd_audit_incomplete_runs_in_a_row) >= 1, JSON.stringify(m));
    assert.ok(Number(m['mintd_audit_runs_total{result="incomplete"}']) >= 1);
    assert.match(readFileSync(join(stack.dir, 'mintd.log'), 'utf8'), /msg="audit could not complete" in_a_row=\d+ err="?getTokenSupply/);
  } finally {
    await simControl(env, '/clear-faults', {}).catch(() => {});
  }
  const m = await scheduled({ mintd_audit_ok: '1', mintd_audit_incomplete_runs_in_a_row: '0' }, Math.floor(Date.now() / 1000));
  assert.equal(m.mintd_audit_mismatched_wallets, '0');
  // /healthz answered all along: the audit runs in a child, never on the loop.
  assert.equal((await fetch(`${env.MINTD_URL}/healthz`)).status, 200);
});
