/* pda.c: program-derived addresses exactly as the Solana runtime computes them, and ATA addresses. */
#include "pda.h"

#include <sodium.h>
#include <string.h>

static const char marker[] = "ProgramDerivedAddress";

int
pda_on_curve(const uint8_t p[32])
{
	unsigned char tmp[crypto_core_ed25519_BYTES];

	/*
	 * crypto_core_ed25519_add decompresses both inputs with ge25519_frombytes (y reduced mod p, either
	 * root, no order or canonicity checks) and fails only when that fails: exactly dalek's
	 * CompressedEdwardsY::decompress().is_some(). crypto_core_ed25519_is_valid_point is NOT this test.
	 */
	return crypto_core_ed25519_add(tmp, p, p) == 0;
}

int
pda_create(const uint8_t *const seeds[], const size_t seed_lens[], size_t nseeds,
    const struct sol_pubkey *program, struct sol_pubkey *out, struct err *e)
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];

	if (sodium_init() < 0)
		return err_set(e, PDA_E_CRYPTO, "pda: libsodium initialisation failed");
	if (nseeds > PDA_MAX_SEEDS)
		return err_set(e, PDA_E_SEEDS, "pda: %zu seeds, at most %d", nseeds, PDA_MAX_SEEDS);
	for (size_t i = 0; i < nseeds; i++)
		if (seed_lens[i] > PDA_MAX_SEED_LEN)
			return err_set(e, PDA_E_SEEDS, "pda: seed %zu is %zu bytes, at most %d", i, seed_lens[i],
			    PDA_MAX_SEED_LEN);
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < nseeds; i++)
		crypto_hash_sha256_update(&st, seeds[i], seed_lens[i]);
	crypto_hash_sha256_update(&st, program->b, sizeof(program->b));
	crypto_hash_sha256_update(&st, (const unsigned char *)marker, sizeof(marker) - 1);
	crypto_hash_sha256_final(&st, h);
	if (pda_on_curve(h))
		return err_set(e, PDA_E_ON_CURVE, "pda: address is on the curve");
	memcpy(out->b, h, sizeof(out->b));
	return 0;
}

int
pda_find(const uint8_t *const seeds[], const size_t seed_lens[], size_t nseeds,
    const struct sol_pubkey *program, struct sol_pubkey *out, uint8_t *bump, struct err *e)
{
	const uint8_t *s[PDA_MAX_SEEDS];
	size_t l[PDA_MAX_SEEDS];
	uint8_t b;

	if (nseeds >= PDA_MAX_SEEDS)
		return err_set(e, PDA_E_SEEDS, "pda: %zu seeds plus the bump, at most %d", nseeds, PDA_MAX_SEEDS);
	for (size_t i = 0; i < nseeds; i++) {
		s[i] = seeds[i];
		l[i] = seed_lens[i];
	}
	s[nseeds] = &b;
	l[nseeds] = 1;
	for (unsigned v = 255; v >= 1; v--) {
		struct err ignore;

		b = (uint8_t)v;
		if (pda_create(s, l, nseeds + 1, program, out, &ignore) == 0) {
			if (bump != NULL)
				*bump = b;
			return 0;
		}
		if (ignore.code != PDA_E_ON_CURVE)
			return err_set(e, ignore.code, "%s", ignore.msg);
	}
	return err_set(e, PDA_E_NO_BUMP, "pda: no valid bump");
}

int
pda_ata(const struct sol_pubkey *wallet, const struct sol_pubkey *mint,
    const struct sol_pubkey *token_program, struct sol_pubkey *ata, uint8_t *bump)
{
	const uint8_t *seeds[3] = { wallet->b, token_program->b, mint->b };
	const size_t lens[3] = { 32, 32, 32 };

	return pda_find(seeds, lens, 3, &pubkey_ata_program, ata, bump, NULL);
}
