/* solix.c: Solana instructions as values, and constructors for the ones minting needs. */
#include "solix.h"

#include <string.h>

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Starts ix for program with no accounts and no data. */
static void
begin(struct solix *ix, const struct sol_pubkey *program)
{
	ix->program = *program;
	ix->naccounts = 0;
	ix->ndata = 0;
}

static void
meta(struct solix *ix, const struct sol_pubkey *key, bool signer, bool writable)
{
	ix->accounts[ix->naccounts++] = (struct solix_meta){ *key, signer, writable };
}

int
solix_init(struct solix *ix, const struct sol_pubkey *program, const struct solix_meta *metas, size_t nmetas,
    const uint8_t *data, size_t ndata, struct err *e)
{
	if (nmetas > SOLIX_MAX_ACCOUNTS)
		return err_set(e, SOLIX_E_ARG, "instruction: %zu accounts, at most %d", nmetas, SOLIX_MAX_ACCOUNTS);
	if (ndata > SOLIX_MAX_DATA)
		return err_set(e, SOLIX_E_ARG, "instruction: %zu data bytes, at most %d", ndata, SOLIX_MAX_DATA);
	begin(ix, program);
	if (nmetas > 0)
		memcpy(ix->accounts, metas, nmetas * sizeof(*metas));
	ix->naccounts = nmetas;
	if (ndata > 0)
		memcpy(ix->data, data, ndata);
	ix->ndata = ndata;
	return 0;
}

void
solix_cu_limit(struct solix *ix, uint32_t units)
{
	begin(ix, &pubkey_compute_budget_program);
	ix->data[0] = 0x02;
	put_u32(ix->data + 1, units);
	ix->ndata = 5;
}

void
solix_cu_price(struct solix *ix, uint64_t micro_lamports)
{
	begin(ix, &pubkey_compute_budget_program);
	ix->data[0] = 0x03;
	put_u64(ix->data + 1, micro_lamports);
	ix->ndata = 9;
}

void
solix_ata_create_idempotent(struct solix *ix, const struct sol_pubkey *funder, const struct sol_pubkey *ata,
    const struct sol_pubkey *wallet, const struct sol_pubkey *mint, const struct sol_pubkey *token_program)
{
	begin(ix, &pubkey_ata_program);
	meta(ix, funder, /* signer= */ true, /* writable= */ true);
	meta(ix, ata, false, true);
	meta(ix, wallet, false, false);
	meta(ix, mint, false, false);
	meta(ix, &pubkey_system_program, false, false);
	meta(ix, token_program, false, false);
	ix->data[0] = 0x01;
	ix->ndata = 1;
}

void
solix_mint_to_checked(struct solix *ix, const struct sol_pubkey *token_program, const struct sol_pubkey *mint,
    const struct sol_pubkey *dest, const struct sol_pubkey *authority, uint64_t amount, uint8_t decimals)
{
	begin(ix, token_program);
	meta(ix, mint, /* signer= */ false, /* writable= */ true);
	meta(ix, dest, false, true);
	meta(ix, authority, true, false);
	ix->data[0] = 0x0e;
	put_u64(ix->data + 1, amount);
	ix->data[9] = decimals;
	ix->ndata = 10;
}

void
solix_nonce_advance(struct solix *ix, const struct sol_pubkey *nonce, const struct sol_pubkey *authority)
{
	begin(ix, &pubkey_system_program);
	meta(ix, nonce, /* signer= */ false, /* writable= */ true);
	meta(ix, &pubkey_sysvar_recent_blockhashes, false, false);
	meta(ix, authority, true, false);
	put_u32(ix->data, 4);
	ix->ndata = 4;
}

void
solix_nonce_initialize(struct solix *ix, const struct sol_pubkey *nonce, const struct sol_pubkey *authority)
{
	begin(ix, &pubkey_system_program);
	meta(ix, nonce, /* signer= */ false, /* writable= */ true);
	meta(ix, &pubkey_sysvar_recent_blockhashes, false, false);
	meta(ix, &pubkey_sysvar_rent, false, false);
	put_u32(ix->data, 6);
	memcpy(ix->data + 4, authority->b, 32);
	ix->ndata = 36;
}

int
solix_create_account_with_seed(struct solix *ix, const struct sol_pubkey *funder, const struct sol_pubkey *to,
    const struct sol_pubkey *base, const char *seed, uint64_t lamports, uint64_t space,
    const struct sol_pubkey *owner, struct err *e)
{
	size_t n = strlen(seed), off = 0;

	if (n > PUBKEY_MAX_SEED_LEN)
		return err_set(e, SOLIX_E_ARG, "create with seed: seed longer than %d bytes", PUBKEY_MAX_SEED_LEN);
	begin(ix, &pubkey_system_program);
	meta(ix, funder, /* signer= */ true, /* writable= */ true);
	meta(ix, to, false, true);
	meta(ix, base, true, false);
	put_u32(ix->data, 3);
	off = 4;
	memcpy(ix->data + off, base->b, 32);
	off += 32;
	put_u64(ix->data + off, n); /* bincode String: u64 length, then the bytes */
	off += 8;
	memcpy(ix->data + off, seed, n);
	off += n;
	put_u64(ix->data + off, lamports);
	off += 8;
	put_u64(ix->data + off, space);
	off += 8;
	memcpy(ix->data + off, owner->b, 32);
	ix->ndata = off + 32;
	return 0;
}

void
solix_transfer(struct solix *ix, const struct sol_pubkey *from, const struct sol_pubkey *to, uint64_t lamports)
{
	begin(ix, &pubkey_system_program);
	meta(ix, from, /* signer= */ true, /* writable= */ true);
	meta(ix, to, false, true);
	put_u32(ix->data, 2);
	put_u64(ix->data + 4, lamports);
	ix->ndata = 12;
}

void
solix_alt_create(struct solix *ix, const struct sol_pubkey *table, const struct sol_pubkey *authority,
    const struct sol_pubkey *payer, uint64_t recent_slot, uint8_t bump)
{
	begin(ix, &pubkey_alt_program);
	meta(ix, table, false, true);
	meta(ix, authority, true, false);
	meta(ix, payer, true, true);
	meta(ix, &pubkey_system_program, false, false);
	put_u32(ix->data, 0);
	put_u64(ix->data + 4, recent_slot);
	ix->data[12] = bump;
	ix->ndata = 13;
}

int
solix_alt_extend(struct solix *ix, const struct sol_pubkey *table, const struct sol_pubkey *authority,
    const struct sol_pubkey *payer, const struct sol_pubkey *addrs, size_t n, struct err *e)
{
	if (n == 0 || n > SOLIX_ALT_EXTEND_MAX)
		return err_set(e, SOLIX_E_ARG, "lookup table extension: %zu addresses, 1 to %d", n, SOLIX_ALT_EXTEND_MAX);
	begin(ix, &pubkey_alt_program);
	meta(ix, table, false, true);
	meta(ix, authority, true, false);
	meta(ix, payer, true, true);
	meta(ix, &pubkey_system_program, false, false);
	put_u32(ix->data, 2);
	put_u64(ix->data + 4, n);
	for (size_t i = 0; i < n; i++)
		memcpy(ix->data + 12 + 32 * i, addrs[i].b, 32);
	ix->ndata = 12 + 32 * n;
	return 0;
}

int
solix_memo(struct solix *ix, const char *text, size_t len, struct err *e)
{
	if (!solix_utf8_valid((const uint8_t *)text, len))
		return err_set(e, SOLIX_E_UTF8, "memo: text is not valid UTF-8");
	return solix_init(ix, &pubkey_memo_program, NULL, 0, (const uint8_t *)text, len, e);
}

bool
solix_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t need;
		uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the first continuation byte */

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* UTF-16 surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += need + 1;
	}
	return true;
}
