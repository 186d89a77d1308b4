/* keypair.h: Solana CLI keypair files and Ed25519 signing with the secret kept in guarded memory. */
#ifndef GTX_KEYPAIR_H
#define GTX_KEYPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pubkey.h"

enum kp_errcode {
	KP_E_IO = 1,   /* cannot open/read/write the file */
	KP_E_MODE,     /* file is accessible by group or others, or not a regular file */
	KP_E_FORMAT,   /* not a JSON array of exactly 64 integers 0..255 */
	KP_E_MISMATCH, /* bytes 32..63 are not the public key of the seed in bytes 0..31 */
	KP_E_NOMEM,    /* guarded memory unavailable */
	KP_E_CRYPTO,   /* libsodium failed to initialise */
};

/* Opaque: the 64-byte secret lives in sodium_malloc'd memory that is inaccessible except while signing. */
struct kp;

/* Loads a `solana-keygen` file: [b0,...,b63], seed then pubkey. Error messages never contain key bytes.
 * This does not check the file mode; callers that want that call kp_check_file_mode first. */
struct kp *kp_load_file(const char *path, struct err *e) WUR;
/* Parses the same format from memory (len bytes, need not be NUL-terminated). */
struct kp *kp_parse(const char *text, size_t len, struct err *e) WUR;
/* Builds a keypair from a 32-byte seed (tests, demos); NULL only if guarded memory is unavailable. */
struct kp *kp_from_seed(const uint8_t seed[32]) WUR;
/* A fresh random keypair; NULL only if guarded memory is unavailable. */
struct kp *kp_generate(void) WUR;
void kp_free(struct kp *k);

/* The public key; valid until kp_free. */
const struct sol_pubkey *kp_pubkey(const struct kp *k);
/* Ed25519-signs msg (deterministic). Returns 0, or -1 if the guarded page cannot be unlocked. */
int kp_sign(struct kp *k, const uint8_t *msg, size_t n, uint8_t sig[64]) WUR;

/* Refuses a key file that is not a regular file or is readable/writable/executable by group or others. */
int kp_check_file_mode(const char *path, struct err *e) WUR;
/* Writes k in the solana-keygen format to a NEW file with mode 0600 (fails if path exists). */
int kp_write_file(const char *path, struct kp *k, struct err *e) WUR;

#endif
