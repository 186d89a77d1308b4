// lib/foreign.mjs: a mint outside mintd: a MintToChecked signed with the mint authority's key by the test itself.
import { readFileSync } from 'node:fs';
import {
  createKeyPairSignerFromBytes, pipe, createTransactionMessage, setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash, appendTransactionMessageInstructions, signTransactionMessageWithSigners,
  getTransactionEncoder, getAddressEncoder, getProgramDerivedAddress, address, AccountRole,
} from '@solana/kit';
import { solanaRpc, waitFor } from './stack.mjs';

const TOKEN = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const SYSTEM = '11111111111111111111111111111111';


/*
 * Mints `amount` (BigInt base units, 9 decimals, SPL Token) to `wallet`'s associated token account (created if
 * missing) with the mint authority's key, outside mintd, and waits until it is finalized. Returns its signature.
 */
export async function foreignMint(env, wallet, amount) {
  const bytes = new Uint8Array(JSON.parse(readFileSync(env.MINT_AUTHORITY_KEYPAIR, 'utf8')));
  const authority = await createKeyPairSignerFromBytes(bytes);
  const mint = address(env.TOKEN_MINT);
  const enc = getAddressEncoder();
  const [ata] = await getProgramDerivedAddress({ programAddress: address(ATA_PROGRAM),
    seeds: [enc.encode(address(wallet)), enc.encode(address(TOKEN)), enc.encode(mint)] });
  const { value: lt } = await solanaRpc(env, 'getLatestBlockhash', [{ commitment: 'confirmed' }]);
  const data = new Uint8Array(10);
  data[0] = 14; // MintToChecked
  new DataView(data.buffer).setBigUint64(1, amount, true);
  data[9] = 9;
  const ixs = [
    { programAddress: address(ATA_PROGRAM), data: new Uint8Array([1]), accounts: [
      { address: authority.address, role: AccountRole.WRITABLE_SIGNER }, { address: ata, role: AccountRole.WRITABLE },
      { address: address(wallet), role: AccountRole.READONLY }, { address: mint, role: AccountRole.READONLY },
      { address: address(SYSTEM), role: AccountRole.READONLY }, { address: address(TOKEN), role: AccountRole.READONLY }] },
    { programAddress: address(TOKEN), data, accounts: [
      { address: mint, role: AccountRole.WRITABLE }, { address: ata, role: AccountRole.WRITABLE },
      { address: authority.address, role: AccountRole.READONLY_SIGNER }] },
  ];
  const msg = pipe(createTransactionMessage({ version: 'legacy' }), (m) => setTransactionMessageFeePayerSigner(authority, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: lt.blockhash, lastValidBlockHeight: BigInt(lt.lastValidBlockHeight) }, m),
    (m) => appendTransactionMessageInstructions(ixs, m));
  const tx = await signTransactionMessageWithSigners(msg);
  const sig = await solanaRpc(env, 'sendTransaction', [Buffer.from(getTransactionEncoder().encode(tx)).toString('base64'),
    { encoding: 'base64', preflightCommitment: 'confirmed' }]);
  await waitFor(async () => (await solanaRpc(env, 'getSignatureStatuses', [[sig]])).value[0]?.confirmationStatus === 'finalized',
    { what: 'the foreign mint finalized' });
  return sig;
}
