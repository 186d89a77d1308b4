/* keypair.c: Solana CLI keypair files and Ed25519 signing with the secret kept in guarded memory. */
#include "keypair.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A keypair file is ~230 bytes; allow generous whitespace but refuse anything absurd. */
#define KP_FILE_MAX 16384

struct kp {
	struct sol_pubkey pk;
	unsigned char *sk; /* crypto_sign_SECRETKEYBYTES of sodium_malloc'd memory, PROT_NONE when idle */
};

static int
kp_sodium_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

struct kp *
kp_from_seed(const uint8_t seed[32])
{
	struct kp *k;

	if (kp_sodium_init() != 0 || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		free(k);
		return NULL;
	}
	crypto_sign_seed_keypair(k->pk.b, k->sk, seed);
	sodium_mprotect_noaccess(k->sk);
	return k;
}

struct kp *
kp_generate(void)
{
	uint8_t seed[32];
	struct kp *k;

	if (kp_sodium_init() != 0)
		return NULL;
	randombytes_buf(seed, sizeof(seed));
	k = kp_from_seed(seed);
	sodium_memzero(seed, sizeof(seed));
	return k;
}

void
kp_free(struct kp *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sk); /* wipes the memory; works on a PROT_NONE region */
	free(k);
}

const struct sol_pubkey *
kp_pubkey(const struct kp *k)
{
	return &k->pk;
}

int
kp_sign(struct kp *k, const uint8_t *msg, size_t n, uint8_t sig[64])
{
	int rc;

	if (sodium_mprotect_readonly(k->sk) != 0)
		return -1;
	rc = crypto_sign_detached(sig, NULL, msg, n, k->sk);
	sodium_mprotect_noaccess(k->sk);
	return rc == 0 ? 0 : -1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses "[b0, ..., b63]" into bytes. Messages name positions, never values. */
static int
parse_array(const char *s, size_t len, uint8_t bytes[64], struct err *e)
{
	size_t i = 0, n = 0;

	while (len > 0 && is_space(s[len - 1]))
		len--;
	while (i < len && is_space(s[i]))
		i++;
	if (i >= len || s[i] != '[' || s[len - 1] != ']' || len - i < 2)
		return err_set(e, KP_E_FORMAT, "keypair: not a JSON array");
	i++;
	len--;
	for (;;) {
		unsigned v = 0;
		size_t digits = 0;

		while (i < len && is_space(s[i]))
			i++;
		while (i < len && s[i] >= '0' && s[i] <= '9' && v <= 255) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || v > 255)
			return err_set(e, KP_E_FORMAT, "keypair: element %zu is not an integer 0..255", n);
		if (n == 64)
			return err_set(e, KP_E_FORMAT, "keypair: more than 64 elements");
		bytes[n++] = (uint8_t)v;
		while (i < len && is_space(s[i]))
			i++;
		if (i == len)
			break;
		if (s[i] != ',')
			return err_set(e, KP_E_FORMAT, "keypair: element %zu is not an integer 0..255", n - 1);
		i++;
	}
	if (n != 64)
		return err_set(e, KP_E_FORMAT, "keypair: %zu elements, want 64", n);
	return 0;
}

struct kp *
kp_parse(const char *text, size_t len, struct err *e)
{
	uint8_t *bytes;
	struct kp *k = NULL;

	if (kp_sodium_init() != 0) {
		err_set(e, KP_E_CRYPTO, "keypair: libsodium initialisation failed");
		return NULL;
	}
	if ((bytes = sodium_malloc(64)) == NULL) {
		err_set(e, KP_E_NOMEM, "keypair: out of guarded memory");
		return NULL;
	}
	if (parse_array(text, len, bytes, e) != 0)
		goto out;
	if ((k = kp_from_seed(bytes)) == NULL) {
		err_set(e, KP_E_NOMEM, "keypair: out of guarded memory");
		goto out;
	}
	if (sodium_memcmp(k->pk.b, bytes + 32, 32) != 0) {
		err_set(e, KP_E_MISMATCH, "keypair: public key does not match the secret seed");
		kp_free(k);
		k = NULL;
	}
out:
	sodium_free(bytes);
	return k;
}

struct kp *
kp_load_file(const char *path, struct err *e)
{
	char *buf;
	size_t len = 0;
	ssize_t r;
	struct kp *k = NULL;
	int fd;

	if (kp_sodium_init() != 0) {
		err_set(e, KP_E_CRYPTO, "keypair: libsodium initialisation failed");
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err_set(e, KP_E_IO, "keypair: %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = sodium_malloc(KP_FILE_MAX)) == NULL) {
		err_set(e, KP_E_NOMEM, "keypair: out of guarded memory");
		close(fd);
		return NULL;
	}
	while ((r = read(fd, buf + len, KP_FILE_MAX - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(e, KP_E_IO, "keypair: %s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)r;
		if (len == KP_FILE_MAX) {
			err_set(e, KP_E_FORMAT, "keypair: %s: file too large", path);
			goto out;
		}
	}
	if ((k = kp_parse(buf, len, e)) == NULL)
		err_prefix(e, "%s", path);
out:
	sodium_free(buf);
	close(fd);
	return k;
}

int
kp_check_file_mode(const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return err_set(e, KP_E_IO, "keypair: %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(e, KP_E_MODE, "keypair: %s: not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return err_set(e, KP_E_MODE, "keypair: %s: mode %04o is open to group/others (want 0600 or 0400)",
		    path, (unsigned)(st.st_mode & 07777));
	return 0;
}

int
kp_write_file(const char *path, struct kp *k, struct err *e)
{
	char *text;
	size_t len = 0;
	int fd, rc = -1;

	if ((text = sodium_malloc(64 * 4 + 3)) == NULL)
		return err_set(e, KP_E_NOMEM, "keypair: out of guarded memory");
	if (sodium_mprotect_readonly(k->sk) != 0) {
		sodium_free(text);
		return err_set(e, KP_E_NOMEM, "keypair: cannot unlock guarded memory");
	}
	text[len++] = '[';
	for (size_t i = 0; i < 64; i++)
		len += (size_t)snprintf(text + len, 5, i ? ",%u" : "%u", (unsigned)k->sk[i]);
	text[len++] = ']';
	sodium_mprotect_noaccess(k->sk);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		err_set(e, KP_E_IO, "keypair: %s: %s", path, strerror(errno));
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		err_set(e, KP_E_IO, "keypair: %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	rc = close(fd) == 0 ? 0 : err_set(e, KP_E_IO, "keypair: %s: %s", path, strerror(errno));
out:
	sodium_free(text);
	return rc;
}
