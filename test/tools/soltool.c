/* soltool.c: a command-line front to the Solana toolkit in common/, for cross-checks from Node tests. */
#include "b58.h"
#include "keypair.h"
#include "pda.h"
#include "solalt.h"
#include "soltx.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
usage(void)
{
	fprintf(stderr,
	    "usage: soltool keygen FILE            write a new keypair file (mode 0600)\n"
	    "       soltool pubkey FILE            print the keypair's base58 public key\n"
	    "       soltool ata MINT token|token2022   wallets (base58 per stdin line) -> ATA per line\n"
	    "       soltool b58enc [HEX]           hex -> base58 (no arg: one per stdin line)\n"
	    "       soltool b58dec [B58]           base58 -> hex (no arg: one per stdin line)\n"
	    "       soltool build-mint             JSON on stdin -> signed mint transaction as JSON\n"
	    "                                      (\"tables\": [{address, addresses}] makes it v0)\n"
	    "       soltool alt-create             JSON {payer, blockhash, recent_slot} -> table address + tx\n"
	    "       soltool alt-extend             JSON {payer, blockhash, table, addresses} -> tx\n"
	    "       soltool vector                 the reference transaction of docs/solana.md section 9\n");
	return 2;
}

static int
fail(const char *what, const struct err *e)
{
	fprintf(stderr, "soltool: %s: %s\n", what, e->msg);
	return 1;
}

static char *
read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, r;
	char *buf = malloc(cap + 1);

	while (buf != NULL && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *p = realloc(buf, 2 * cap + 1);

			if (p == NULL) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (buf != NULL)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

static int
cmd_keygen(const char *path)
{
	struct kp *k = kp_generate();
	struct err e;
	char b58[45];

	if (k == NULL) {
		fprintf(stderr, "soltool: out of guarded memory\n");
		return 1;
	}
	if (kp_write_file(path, k, &e) != 0) {
		kp_free(k);
		return fail("keygen", &e);
	}
	pubkey_to_b58(kp_pubkey(k), b58);
	printf("%s\n", b58);
	kp_free(k);
	return 0;
}

static int
cmd_pubkey(const char *path)
{
	struct err e;
	struct kp *k = kp_load_file(path, &e);
	char b58[45];

	if (k == NULL)
		return fail("pubkey", &e);
	pubkey_to_b58(kp_pubkey(k), b58);
	printf("%s\n", b58);
	kp_free(k);
	return 0;
}

static int
token_program(const char *name, struct sol_pubkey *out)
{
	struct err e;

	if (strcmp(name, "token") == 0)
		*out = pubkey_token_program;
	else if (strcmp(name, "token2022") == 0)
		*out = pubkey_token2022_program;
	else if (pubkey_from_b58(name, out, &e) != 0)
		return -1;
	return 0;
}

static int
cmd_ata(const char *mint_b58, const char *prog)
{
	struct sol_pubkey mint, token, w, ata;
	char line[256], out[45];
	struct err e;

	if (pubkey_from_b58(mint_b58, &mint, &e) != 0)
		return fail("mint", &e);
	if (token_program(prog, &token) != 0)
		return usage();
	while (fgets(line, sizeof(line), stdin) != NULL) {
		chomp(line);
		if (pubkey_from_b58(line, &w, &e) != 0)
			return fail("wallet", &e);
		if (pda_ata(&w, &mint, &token, &ata, NULL) != 0) {
			fprintf(stderr, "soltool: no ATA for %s\n", line);
			return 1;
		}
		pubkey_to_b58(&ata, out);
		puts(out);
	}
	return 0;
}

static int
b58enc_one(const char *hex)
{
	uint8_t bin[B58_MAX_BYTES];
	char out[B58_MAX_BYTES * 2];
	size_t n;

	if (sodium_hex2bin(bin, sizeof(bin), hex, strlen(hex), NULL, &n, NULL) != 0 || n * 2 != strlen(hex)) {
		fprintf(stderr, "soltool: bad hex\n");
		return 1;
	}
	b58_encode(bin, n, out, sizeof(out));
	puts(out);
	return 0;
}

static int
b58dec_one(const char *s)
{
	uint8_t bin[B58_MAX_BYTES];
	char hex[2 * B58_MAX_BYTES + 1];
	size_t n;
	struct err e;

	if (b58_decode(s, strlen(s), bin, sizeof(bin), &n, &e) != 0)
		return fail("b58dec", &e);
	sodium_bin2hex(hex, sizeof(hex), bin, n);
	puts(hex);
	return 0;
}

/* One argument, or one item per stdin line (an empty line is an empty input). */
static int
each(int argc, char **argv, int (*fn)(const char *))
{
	char line[1024];

	if (argc > 2)
		return fn(argv[2]);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		chomp(line);
		if (fn(line) != 0)
			return 1;
	}
	return 0;
}

/* Decimal u64 from a JSON string (exact) or an integral JSON number below 2^53. */
static int
json_u64(const cJSON *j, uint64_t *out)
{
	if (cJSON_IsString(j)) {
		const char *s = j->valuestring;
		char *end;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		*out = strtoull(s, &end, 10);
		return errno == 0 && *end == '\0' ? 0 : -1;
	}
	if (cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble < 9007199254740992.0 &&
	    (double)(uint64_t)j->valuedouble == j->valuedouble) {
		*out = (uint64_t)j->valuedouble;
		return 0;
	}
	return -1;
}

static const char *
json_str(const cJSON *o, const char *name)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static void
print_tx(const struct stx *t, const uint8_t *tx, size_t tlen, const char *sig58)
{
	struct stx_dims d;
	char b64[STX_BASE64_SZ];

	stx_dims(t, &d);
	stx_base64(tx, tlen, b64, sizeof(b64));
	printf("{\"tx_base64\":\"%s\",\"signature\":\"%s\",\"size\":%zu,\"tx_len\":%zu,\"nkeys\":%zu,\"nix\":%zu,"
	    "\"nstatic\":%zu,\"nlookups\":%zu,\"version\":\"%s\"}\n", b64, sig58, d.size, tlen, d.nkeys, d.nix,
	    d.nstatic, d.nlookups, stx_is_v0(t) ? "0" : "legacy");
}

/* Builds the instruction list from the request; returns the count or -1 (message on stderr). */
static long
mint_ixs(const cJSON *req, const struct sol_pubkey *payer, struct solix **out)
{
	const cJSON *recips = cJSON_GetObjectItemCaseSensitive(req, "recipients"), *r;
	const cJSON *dec = cJSON_GetObjectItemCaseSensitive(req, "decimals");
	const char *mint_s = json_str(req, "mint"), *prog = json_str(req, "token_program"),
		   *memo = json_str(req, "memo");
	struct sol_pubkey mint, token;
	struct solix *ix;
	uint64_t v;
	long n = 0;
	struct err e;

	if (!cJSON_IsArray(recips) || mint_s == NULL || prog == NULL || !cJSON_IsNumber(dec) ||
	    pubkey_from_b58(mint_s, &mint, &e) != 0 || token_program(prog, &token) != 0) {
		fprintf(stderr, "soltool: request needs mint, token_program, decimals, recipients\n");
		return -1;
	}
	if ((ix = calloc(3 + 2 * (size_t)cJSON_GetArraySize(recips), sizeof(*ix))) == NULL)
		return -1;
	if (json_u64(cJSON_GetObjectItemCaseSensitive(req, "cu_limit"), &v) == 0)
		solix_cu_limit(&ix[n++], (uint32_t)v);
	if (json_u64(cJSON_GetObjectItemCaseSensitive(req, "cu_price"), &v) == 0)
		solix_cu_price(&ix[n++], v);
	cJSON_ArrayForEach(r, recips) {
		const char *w_s = json_str(r, "wallet");
		struct sol_pubkey w, ata;
		uint64_t amount;

		if (w_s == NULL || pubkey_from_b58(w_s, &w, &e) != 0 ||
		    json_u64(cJSON_GetObjectItemCaseSensitive(r, "amount"), &amount) != 0 ||
		    pda_ata(&w, &mint, &token, &ata, NULL) != 0) {
			fprintf(stderr, "soltool: bad recipient\n");
			free(ix);
			return -1;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "create")))
			solix_ata_create_idempotent(&ix[n++], payer, &ata, &w, &mint, &token);
		solix_mint_to_checked(&ix[n++], &token, &mint, &ata, payer, amount, (uint8_t)dec->valueint);
	}
	if (memo != NULL && solix_memo(&ix[n++], memo, strlen(memo), &e) != 0) {
		free(ix);
		fail("memo", &e);
		return -1;
	}
	*out = ix;
	return n;
}

/* Lookup tables from the request's "tables" (absent: NULL, 0). Returns the count or -1. */
static long
req_tables(const cJSON *req, struct stx_table **out, struct sol_pubkey **store)
{
	const cJSON *tabs = cJSON_GetObjectItemCaseSensitive(req, "tables"), *t, *a;
	size_t ntab = 0, total = 0, k = 0;
	struct err e;

	*out = NULL;
	*store = NULL;
	if (tabs == NULL)
		return 0;
	if (!cJSON_IsArray(tabs))
		return -1;
	cJSON_ArrayForEach(t, tabs) {
		ntab++;
		total += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "addresses"));
	}
	*out = calloc(ntab > 0 ? ntab : 1, sizeof(**out));
	*store = calloc(total > 0 ? total : 1, sizeof(**store));
	if (*out == NULL || *store == NULL)
		return -1;
	ntab = 0;
	cJSON_ArrayForEach(t, tabs) {
		const char *addr = json_str(t, "address");
		struct stx_table *tb = &(*out)[ntab++];

		if (addr == NULL || pubkey_from_b58(addr, &tb->address, &e) != 0)
			return -1;
		tb->addrs = *store + k;
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(t, "addresses")) {
			if (!cJSON_IsString(a) || pubkey_from_b58(a->valuestring, &(*store)[k++], &e) != 0)
				return -1;
			tb->naddrs++;
		}
	}
	return (long)ntab;
}

/* Builds, signs and prints; on a limit, prints {error, code, size} and fails. */
static int
sign_print(const struct sol_pubkey *bh, struct kp *payer, const struct stx_table *tabs, long ntab,
    const struct solix *ix, size_t n)
{
	struct stx *t = ntab > 0 ? stx_new_v0(kp_pubkey(payer), bh, tabs, (size_t)ntab) : stx_new(kp_pubkey(payer), bh);
	char sig58[B58_SIG_SZ];
	uint8_t *tx = NULL;
	size_t len;
	int rc = 1;
	struct err e;

	if (t == NULL || stx_add(t, ix, n, &e) != 0) {
		fail("build", &e);
		goto out;
	}
	if (stx_sign(t, payer, &tx, &len, NULL, sig58, &e) != 0) {
		cJSON *o = cJSON_CreateObject();
		char *js;

		cJSON_AddStringToObject(o, "error", e.msg);
		cJSON_AddNumberToObject(o, "code", e.code);
		cJSON_AddNumberToObject(o, "size", (double)stx_size(t));
		if ((js = cJSON_PrintUnformatted(o)) != NULL)
			puts(js);
		free(js);
		cJSON_Delete(o);
		fail("sign", &e);
		goto out;
	}
	print_tx(t, tx, len, sig58);
	rc = 0;
out:
	free(tx);
	stx_free(t);
	return rc;
}

/* The request on stdin with its payer keypair and blockhash loaded; NULL (message on stderr) otherwise. */
static cJSON *
read_req(struct kp **payer, struct sol_pubkey *bh)
{
	size_t len;
	char *text = read_all(stdin, &len);
	cJSON *req = text ? cJSON_Parse(text) : NULL;
	const char *payer_path = json_str(req, "payer"), *bh_s = json_str(req, "blockhash");
	struct err e;

	free(text);
	*payer = NULL;
	if (payer_path == NULL || bh_s == NULL) {
		fprintf(stderr, "soltool: request needs payer and blockhash\n");
	} else if ((*payer = kp_load_file(payer_path, &e)) == NULL) {
		fail("payer", &e);
	} else if (pubkey_from_b58(bh_s, bh, &e) != 0) {
		fail("blockhash", &e);
	} else {
		return req;
	}
	kp_free(*payer);
	*payer = NULL;
	cJSON_Delete(req);
	return NULL;
}

static int
cmd_build_mint(void)
{
	struct kp *payer;
	struct sol_pubkey bh, *store = NULL;
	struct stx_table *tabs = NULL;
	cJSON *req = read_req(&payer, &bh);
	struct solix *ix = NULL;
	long n, ntab;
	int rc = 1;

	if (req == NULL)
		return 1;
	if ((ntab = req_tables(req, &tabs, &store)) < 0) {
		fprintf(stderr, "soltool: bad tables\n");
		goto out;
	}
	if ((n = mint_ixs(req, kp_pubkey(payer), &ix)) < 0)
		goto out;
	rc = sign_print(&bh, payer, tabs, ntab, ix, (size_t)n);
out:
	free(ix);
	free(tabs);
	free(store);
	kp_free(payer);
	cJSON_Delete(req);
	return rc;
}

static int
cmd_alt_create(void)
{
	struct kp *payer;
	struct sol_pubkey bh, table;
	cJSON *req = read_req(&payer, &bh);
	struct solix *ix = calloc(1, sizeof(*ix));
	uint64_t slot;
	uint8_t bump;
	char b58[45];
	int rc = 1;
	struct err e;

	if (req == NULL || ix == NULL)
		goto out;
	if (json_u64(cJSON_GetObjectItemCaseSensitive(req, "recent_slot"), &slot) != 0 ||
	    solalt_address(kp_pubkey(payer), slot, &table, &bump, &e) != 0) {
		fprintf(stderr, "soltool: request needs recent_slot\n");
		goto out;
	}
	solix_alt_create(ix, &table, kp_pubkey(payer), kp_pubkey(payer), slot, bump);
	pubkey_to_b58(&table, b58);
	printf("{\"table\":\"%s\",\"bump\":%u}\n", b58, bump);
	rc = sign_print(&bh, payer, NULL, 0, ix, 1);
out:
	free(ix);
	kp_free(payer);
	cJSON_Delete(req);
	return rc;
}

static int
cmd_alt_extend(void)
{
	struct kp *payer;
	struct sol_pubkey bh, table, addrs[SOLIX_ALT_EXTEND_MAX + 1];
	cJSON *req = read_req(&payer, &bh);
	const cJSON *a;
	struct solix *ix = calloc(1, sizeof(*ix));
	const char *tab_s = json_str(req, "table");
	size_t n = 0;
	int rc = 1;
	struct err e;

	if (req == NULL || ix == NULL)
		goto out;
	if (tab_s == NULL || pubkey_from_b58(tab_s, &table, &e) != 0) {
		fprintf(stderr, "soltool: request needs table\n");
		goto out;
	}
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(req, "addresses")) {
		if (n == SOLIX_ALT_EXTEND_MAX + 1 || !cJSON_IsString(a) || pubkey_from_b58(a->valuestring, &addrs[n++], &e) != 0) {
			fprintf(stderr, "soltool: bad addresses\n");
			goto out;
		}
	}
	if (solix_alt_extend(ix, &table, kp_pubkey(payer), kp_pubkey(payer), addrs, n, &e) != 0) {
		fail("extend", &e);
		goto out;
	}
	rc = sign_print(&bh, payer, NULL, 0, ix, 1);
out:
	free(ix);
	kp_free(payer);
	cJSON_Delete(req);
	return rc;
}

static struct kp *
seeded(uint8_t first)
{
	uint8_t seed[32];

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(first + i);
	return kp_from_seed(seed);
}

static int
cmd_vector(void)
{
	struct kp *payer = seeded(0x01), *mintk = seeded(0x21), *walletk = seeded(0x41);
	const struct sol_pubkey *p = kp_pubkey(payer), *mint = kp_pubkey(mintk), *w = kp_pubkey(walletk);
	struct solix *ix = calloc(5, sizeof(*ix));
	struct sol_pubkey bh, ata;
	struct stx *t = NULL;
	uint8_t *msg = NULL, *tx = NULL;
	size_t mlen, tlen;
	char *hex = NULL, sig58[B58_SIG_SZ];
	int rc = 1;
	struct err e;

	if (ix == NULL || pubkey_from_b58("CmpNeggWJ4JaWJeJ8YKN1Zypmk7uvQq3PECGUCAEMbky", &bh, &e) != 0 ||
	    pda_ata(w, mint, &pubkey_token_program, &ata, NULL) != 0)
		goto out;
	solix_cu_limit(&ix[0], 40000);
	solix_cu_price(&ix[1], 1000);
	solix_ata_create_idempotent(&ix[2], p, &ata, w, mint, &pubkey_token_program);
	solix_mint_to_checked(&ix[3], &pubkey_token_program, mint, &ata, p, 1000000, 6);
	if (solix_memo(&ix[4], "batch-0001", 10, &e) != 0 || (t = stx_new(p, &bh)) == NULL ||
	    stx_add(t, ix, 5, &e) != 0 || stx_message(t, &msg, &mlen, &e) != 0 ||
	    stx_sign(t, payer, &tx, &tlen, NULL, sig58, &e) != 0 || (hex = malloc(2 * mlen + 1)) == NULL)
		goto out;
	sodium_bin2hex(hex, 2 * mlen + 1, msg, mlen);
	printf("message_hex %s\nsignature %s\n", hex, sig58);
	print_tx(t, tx, tlen, sig58);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "soltool: vector failed\n");
	free(hex);
	free(msg);
	free(tx);
	free(ix);
	stx_free(t);
	kp_free(payer);
	kp_free(mintk);
	kp_free(walletk);
	return rc;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "keygen") == 0 && argc == 3)
		return cmd_keygen(argv[2]);
	if (strcmp(argv[1], "pubkey") == 0 && argc == 3)
		return cmd_pubkey(argv[2]);
	if (strcmp(argv[1], "ata") == 0 && argc == 4)
		return cmd_ata(argv[2], argv[3]);
	if (strcmp(argv[1], "b58enc") == 0 && argc <= 3)
		return each(argc, argv, b58enc_one);
	if (strcmp(argv[1], "b58dec") == 0 && argc <= 3)
		return each(argc, argv, b58dec_one);
	if (strcmp(argv[1], "build-mint") == 0 && argc == 2)
		return cmd_build_mint();
	if (strcmp(argv[1], "alt-create") == 0 && argc == 2)
		return cmd_alt_create();
	if (strcmp(argv[1], "alt-extend") == 0 && argc == 2)
		return cmd_alt_extend();
	if (strcmp(argv[1], "vector") == 0 && argc == 2)
		return cmd_vector();
	return usage();
}
