// mintd_token2022.test.mjs: TOKEN_PROGRAM=token-2022: the same exactly-once minting on a Token-2022 mint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkInvariant, drain } from './lib/invariant.mjs';
import { runAudit, finalizedPast } from './lib/audit.mjs';
import { randomWallet, addMeters, simControl, openMintdStack, closeMintdStack, readingFeeder, metrics } from './lib/mintd.mjs';

let ctx, env, mint;

before(async () => {
  ctx = await openMintdStack({
    async setup(c) {
      ({ mint } = await simControl(c.env, '/mint', { authority: c.env.MINT_AUTHORITY, decimals: 9, token_program: 'token-2022' }));
    },
    mintdEnv: { MINTD_INSTANCE_ID: 'mintd-t22', TOKEN_PROGRAM: 'token-2022', get TOKEN_MINT() { return mint; } },
  });
  env = { ...ctx.env, TOKEN_MINT: mint };
});

after(async () => {
  assert.deepEqual(await closeMintdStack(ctx), [], 'daemon logs show problems');
});

test('Token-2022 mint: new and existing token accounts, exact balances, each reading once', async () => {
  const wallets = Array.from({ length: 14 }, randomWallet);
  const feed = readingFeeder(ctx, wallets, await addMeters(ctx.db, wallets));
  await feed(40);
  await drain(ctx.db, { what: 'first round on Token-2022' });
  await feed(30);
  await drain(ctx.db, { what: 'second round on Token-2022' });
  assert.deepEqual(await checkInvariant(ctx.db, env), []);
  const m = await metrics(ctx.env);
  assert.equal(m.mintd_token_accounts_created_total, String(wallets.length));
  // The audit reads the Token-2022 token accounts (their own ATA addresses) and finds every one exact.
  await finalizedPast(ctx.db, env);
  const a = await runAudit(ctx.stack);
  assert.equal(a.code, 0, JSON.stringify(a.doc).slice(0, 2000));
  assert.equal(a.doc.token_program, 'token-2022');
  assert.equal(a.doc.mint, mint);
  assert.equal(a.doc.wallets.checked, wallets.length);
  assert.equal(a.doc.wallets.agree, wallets.length);
  assert.equal(a.doc.supply.result, 'agree');
  assert.equal(a.doc.supply.chain, a.doc.supply.minted_readings);
  assert.notEqual(a.doc.supply.chain, '0');
});
