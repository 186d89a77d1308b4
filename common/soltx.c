/* soltx.c: Solana transaction messages (legacy and v0): build, size exactly, sign, serialize; compact-u16;
 * base64. */
#include "soltx.h"
#include "b58.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_SIGNER 1u
#define ROLE_WRITABLE 2u
#define ROLE_PROGRAM 4u /* some instruction's program: must be a static key */
#define V0_PREFIX 0x80
/* Far beyond any packet (64 instructions); only keeps counts inside compact-u16. */
#define STX_BUILD_MAX_IX 4096

/* Distinct keys in first-seen order with their OR-ed roles and, for v0, the tables that hold each. */
struct keytab {
	size_t n;
	struct sol_pubkey k[STX_MAX_KEYS];
	uint8_t role[STX_MAX_KEYS];
	uint64_t in[STX_MAX_KEYS]; /* bit t: tables[t] holds the key */
	const struct stx_table *tables;
	size_t ntables;
};

/* Where each key goes in the message: STATIC, or the index of the table it is loaded from. */
#define STATIC (-1)

struct stx {
	struct sol_pubkey payer;
	struct sol_pubkey blockhash;
	struct solix *ix; /* nix copies, cap allocated */
	size_t nix, cap;
	size_t ixbytes;   /* sum of stx_ix_size over ix */
	bool v0;
	struct keytab kt;
};

size_t
stx_cu16_len(uint16_t v)
{
	return v < 0x80 ? 1 : v < 0x4000 ? 2 : 3;
}

size_t
stx_cu16_encode(uint16_t v, uint8_t out[3])
{
	size_t n = 0;
	unsigned x = v;

	for (;;) {
		uint8_t b = x & 0x7f;

		x >>= 7;
		if (x == 0) {
			out[n++] = b;
			return n;
		}
		out[n++] = b | 0x80;
	}
}

int
stx_cu16_decode(const uint8_t *in, size_t n, uint16_t *v, size_t *used, struct err *e)
{
	uint32_t x = 0;

	for (size_t i = 0; i < 3; i++) {
		if (i >= n)
			return err_set(e, STX_E_DECODE, "compact-u16: truncated");
		/* A zero continuation byte would be a non-minimal alias of a shorter encoding. */
		if (i > 0 && in[i] == 0)
			return err_set(e, STX_E_DECODE, "compact-u16: non-minimal encoding");
		if (i == 2 && in[i] > 0x03)
			return err_set(e, STX_E_DECODE, "compact-u16: value above 0xffff or longer than 3 bytes");
		x |= (uint32_t)(in[i] & 0x7f) << (7 * i);
		if ((in[i] & 0x80) == 0) {
			*v = (uint16_t)x;
			*used = i + 1;
			return 0;
		}
	}
	return err_set(e, STX_E_DECODE, "compact-u16: longer than 3 bytes"); /* not reached: byte 3 <= 0x03 */
}

size_t
stx_ix_size(const struct solix *ix)
{
	return 1 + stx_cu16_len((uint16_t)ix->naccounts) + ix->naccounts + stx_cu16_len((uint16_t)ix->ndata) +
	    ix->ndata;
}

/* Position of key in a table (its first occurrence), or -1. */
static int
table_find(const struct stx_table *tb, const struct sol_pubkey *key)
{
	for (size_t j = 0; j < tb->naddrs; j++)
		if (pubkey_eq(&tb->addrs[j], key))
			return (int)j;
	return -1;
}

/* Adds key with role, OR-ing into an existing entry. -1 when the table is full. */
static int
keytab_add(struct keytab *kt, const struct sol_pubkey *key, unsigned role)
{
	uint64_t in = 0;

	for (size_t i = 0; i < kt->n; i++) {
		if (pubkey_eq(&kt->k[i], key)) {
			kt->role[i] |= (uint8_t)role;
			return 0;
		}
	}
	if (kt->n == STX_MAX_KEYS)
		return -1;
	for (size_t t = 0; t < kt->ntables; t++)
		if (table_find(&kt->tables[t], key) >= 0)
			in |= (uint64_t)1 << t;
	kt->k[kt->n] = *key;
	kt->in[kt->n] = in;
	kt->role[kt->n++] = (uint8_t)role;
	return 0;
}

static int
lowest_bit(uint64_t m)
{
	return __builtin_ctzll(m);
}

/*
 * Decides where every key goes: static when it must be (the payer, signers, programs) or no table holds it;
 * otherwise a table that holds it, preferring tables already loaded from: keys only one table holds choose
 * first, then the others take a table in use if they can, else their lowest. *used receives the tables used.
 */
static void
keytab_place(const struct keytab *kt, int where[], uint64_t *used)
{
	uint64_t u = 0;

	for (size_t i = 0; i < kt->n; i++) {
		where[i] = STATIC;
		if (i == 0 || (kt->role[i] & (ROLE_SIGNER | ROLE_PROGRAM)) || kt->in[i] == 0)
			continue;
		if ((kt->in[i] & (kt->in[i] - 1)) == 0) {
			where[i] = lowest_bit(kt->in[i]);
			u |= kt->in[i];
		}
	}
	for (size_t i = 1; i < kt->n; i++) {
		uint64_t m;

		if (where[i] != STATIC || (kt->role[i] & (ROLE_SIGNER | ROLE_PROGRAM)) || kt->in[i] == 0)
			continue;
		m = kt->in[i] & u;
		where[i] = lowest_bit(m != 0 ? m : kt->in[i]);
		u |= (uint64_t)1 << where[i];
	}
	*used = u;
}

static int
keytab_find(const struct keytab *kt, const struct sol_pubkey *key)
{
	for (size_t i = 0; i < kt->n; i++)
		if (pubkey_eq(&kt->k[i], key))
			return (int)i;
	return -1;
}

/* Registers one instruction's program (seen first) and accounts. */
static int
keytab_add_ix(struct keytab *kt, const struct solix *ix)
{
	if (keytab_add(kt, &ix->program, ROLE_PROGRAM) != 0)
		return -1;
	for (size_t i = 0; i < ix->naccounts; i++) {
		const struct solix_meta *m = &ix->accounts[i];

		if (keytab_add(kt, &m->key, (m->signer ? ROLE_SIGNER : 0) | (m->writable ? ROLE_WRITABLE : 0)) != 0)
			return -1;
	}
	return 0;
}

static void
keytab_reset(struct keytab *kt, const struct sol_pubkey *payer)
{
	kt->n = 0;
	(void)keytab_add(kt, payer, ROLE_SIGNER | ROLE_WRITABLE);
}

struct stx *
stx_new_v0(const struct sol_pubkey *payer, const struct sol_pubkey *blockhash, const struct stx_table *tables,
    size_t ntables)
{
	struct stx *t;

	if (ntables > STX_MAX_TABLES)
		return NULL;
	for (size_t i = 0; i < ntables; i++)
		if (tables[i].naddrs > STX_TABLE_MAX || (tables[i].naddrs > 0 && tables[i].addrs == NULL))
			return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->payer = *payer;
	t->blockhash = *blockhash;
	t->v0 = tables != NULL;
	t->kt.tables = tables;
	t->kt.ntables = ntables;
	keytab_reset(&t->kt, payer);
	return t;
}

struct stx *
stx_new(const struct sol_pubkey *payer, const struct sol_pubkey *blockhash)
{
	return stx_new_v0(payer, blockhash, NULL, 0);
}

bool
stx_is_v0(const struct stx *t)
{
	return t->v0;
}

void
stx_free(struct stx *t)
{
	if (t == NULL)
		return;
	free(t->ix);
	free(t);
}

void
stx_set_blockhash(struct stx *t, const struct sol_pubkey *blockhash)
{
	t->blockhash = *blockhash;
}

static int
check_ix(const struct stx *t, const struct solix *ix, size_t i, struct err *e)
{
	if (ix->naccounts > SOLIX_MAX_ACCOUNTS || ix->ndata > SOLIX_MAX_DATA)
		return err_set(e, STX_E_ARG, "transaction: instruction %zu is malformed", i);
	if (pubkey_eq(&ix->program, &t->payer))
		return err_set(e, STX_E_ARG, "transaction: instruction %zu uses the fee payer as its program", i);
	return 0;
}

/* Computes the dimensions of a message of kind v0 with kt as its key table and nix instructions of ixbytes. */
static void
dims_of(bool v0, const struct keytab *kt, size_t nix, size_t ixbytes, struct stx_dims *d)
{
	int where[STX_MAX_KEYS];
	size_t s = 0, ks = 0, lookups = 0;
	size_t w[STX_MAX_TABLES] = { 0 }, r[STX_MAX_TABLES] = { 0 };
	uint64_t used = 0;

	keytab_place(kt, where, &used);
	for (size_t i = 0; i < kt->n; i++) {
		if (kt->role[i] & ROLE_SIGNER)
			s++;
		if (where[i] == STATIC)
			ks++;
		else if (kt->role[i] & ROLE_WRITABLE)
			w[where[i]]++;
		else
			r[where[i]]++;
	}
	d->nkeys = kt->n;
	d->nix = nix;
	d->nsigners = s;
	d->nstatic = ks;
	/* cu16(S) + 64 S + [0x80] + header 3 + cu16(K) + 32 K + blockhash 32 + cu16(I) + instructions */
	d->size = stx_cu16_len((uint16_t)s) + 64 * s + 3 + stx_cu16_len((uint16_t)ks) + 32 * ks + 32 +
	    stx_cu16_len((uint16_t)nix) + ixbytes;
	if (v0) {
		/* + cu16(T) + per table: address 32 + cu16(W) + W + cu16(R) + R */
		for (size_t t = 0; t < kt->ntables; t++) {
			if (!(used & ((uint64_t)1 << t)))
				continue;
			lookups++;
			d->size += 32 + stx_cu16_len((uint16_t)w[t]) + w[t] + stx_cu16_len((uint16_t)r[t]) + r[t];
		}
		d->size += 1 + stx_cu16_len((uint16_t)lookups);
	}
	d->nlookups = lookups;
}

int
stx_dims_if_added(const struct stx *t, const struct solix *ixs, size_t n, struct stx_dims *d)
{
	struct keytab kt = t->kt;
	size_t bytes = t->ixbytes;

	if (n > STX_BUILD_MAX_IX - t->nix)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (check_ix(t, &ixs[i], i, NULL) != 0 || keytab_add_ix(&kt, &ixs[i]) != 0)
			return -1;
		bytes += stx_ix_size(&ixs[i]);
	}
	dims_of(t->v0, &kt, t->nix + n, bytes, d);
	return 0;
}

void
stx_dims(const struct stx *t, struct stx_dims *d)
{
	dims_of(t->v0, &t->kt, t->nix, t->ixbytes, d);
}

bool
stx_fits(const struct stx_dims *d)
{
	return d->size <= STX_PACKET_MAX && d->nkeys <= STX_MAX_LOCKS && d->nix <= STX_MAX_IX;
}

size_t
stx_size(const struct stx *t)
{
	struct stx_dims d;

	stx_dims(t, &d);
	return d.size;
}

size_t
stx_size_if_added(const struct stx *t, const struct solix *ixs, size_t n)
{
	struct stx_dims d;

	return stx_dims_if_added(t, ixs, n, &d) == 0 ? d.size : SIZE_MAX;
}

size_t
stx_nkeys(const struct stx *t)
{
	return t->kt.n;
}

size_t
stx_nix(const struct stx *t)
{
	return t->nix;
}

int
stx_add(struct stx *t, const struct solix *ixs, size_t n, struct err *e)
{
	struct keytab *kt;
	size_t bytes = 0;

	if (n > STX_BUILD_MAX_IX - t->nix)
		return err_set(e, STX_E_IX, "transaction: more than %d instructions", STX_BUILD_MAX_IX);
	for (size_t i = 0; i < n; i++) {
		if (check_ix(t, &ixs[i], t->nix + i, e) != 0)
			return -1;
		bytes += stx_ix_size(&ixs[i]);
	}
	if (t->nix + n > t->cap) {
		size_t cap = t->cap ? t->cap : 8;
		struct solix *p;

		while (cap < t->nix + n)
			cap *= 2;
		if ((p = reallocarray(t->ix, cap, sizeof(*p))) == NULL)
			return err_set(e, STX_E_NOMEM, "transaction: out of memory");
		t->ix = p;
		t->cap = cap;
	}
	/* Work on a copy of the key table so a failure leaves t unchanged. */
	if ((kt = malloc(sizeof(*kt))) == NULL)
		return err_set(e, STX_E_NOMEM, "transaction: out of memory");
	*kt = t->kt;
	for (size_t i = 0; i < n; i++) {
		if (keytab_add_ix(kt, &ixs[i]) != 0) {
			free(kt);
			return err_set(e, STX_E_KEYS, "transaction: more than %d account keys", STX_MAX_KEYS);
		}
	}
	t->kt = *kt;
	free(kt);
	if (n > 0)
		memcpy(t->ix + t->nix, ixs, n * sizeof(*ixs));
	t->nix += n;
	t->ixbytes += bytes;
	return 0;
}

int
stx_replace(struct stx *t, size_t i, const struct solix *ix, struct err *e)
{
	const struct solix *old;

	if (i >= t->nix)
		return err_set(e, STX_E_ARG, "transaction: no instruction %zu", i);
	old = &t->ix[i];
	if (!pubkey_eq(&old->program, &ix->program) || old->naccounts != ix->naccounts || old->ndata != ix->ndata)
		return err_set(e, STX_E_ARG, "transaction: instruction %zu replaced by one of another shape", i);
	for (size_t a = 0; a < ix->naccounts; a++)
		if (!pubkey_eq(&old->accounts[a].key, &ix->accounts[a].key) || old->accounts[a].signer != ix->accounts[a].signer ||
		    old->accounts[a].writable != ix->accounts[a].writable)
			return err_set(e, STX_E_ARG, "transaction: instruction %zu replaced by one with other accounts", i);
	memcpy(&t->ix[i], ix, sizeof(*ix));
	return 0;
}

size_t
stx_mark(const struct stx *t)
{
	return t->nix;
}

void
stx_rollback(struct stx *t, size_t mark)
{
	if (mark >= t->nix)
		return;
	/* Roles are OR-ed, so replaying the kept instructions is the simple exact undo. */
	t->nix = mark;
	t->ixbytes = 0;
	keytab_reset(&t->kt, &t->payer);
	for (size_t i = 0; i < t->nix; i++) {
		(void)keytab_add_ix(&t->kt, &t->ix[i]); /* fitted before, fits again */
		t->ixbytes += stx_ix_size(&t->ix[i]);
	}
}

/* The wire order: group g of a role is 0 (w,s), 1 (r,s), 2 (w), 3 (r); first-seen order inside. */
static unsigned
group_of(uint8_t role)
{
	bool s = role & ROLE_SIGNER, w = role & ROLE_WRITABLE;

	return s ? (w ? 0 : 1) : (w ? 2 : 3);
}

/* Loaded keys come in two passes: the writable ones (pass 0), then the readonly ones (pass 1). */
static bool
loaded_in_pass(const struct keytab *kt, size_t i, int pass)
{
	return ((kt->role[i] & ROLE_WRITABLE) != 0) == (pass == 0);
}

/*
 * Fills order[] with key-table indices in index-space order: the static keys in wire order, then the loaded
 * writable keys table by table, then the loaded readonly ones; and the header counts (static keys only).
 */
static void
layout(const struct keytab *kt, const int where[], uint8_t hdr[3], size_t order[], size_t *nstatic)
{
	size_t n = 0, cnt[4] = { 0 };

	for (unsigned g = 0; g < 4; g++)
		for (size_t i = 0; i < kt->n; i++)
			if (where[i] == STATIC && group_of(kt->role[i]) == g) {
				order[n++] = i;
				cnt[g]++;
			}
	*nstatic = n;
	for (int pass = 0; pass < 2; pass++) /* writable, then readonly */
		for (size_t t = 0; t < kt->ntables; t++)
			for (size_t i = 0; i < kt->n; i++)
				if (where[i] == (int)t && loaded_in_pass(kt, i, pass))
					order[n++] = i;
	hdr[0] = (uint8_t)(cnt[0] + cnt[1]);
	hdr[1] = (uint8_t)cnt[1];
	hdr[2] = (uint8_t)cnt[3];
}

static uint8_t *
put_cu16(uint8_t *p, size_t v)
{
	return p + stx_cu16_encode((uint16_t)v, p);
}

/* The lookups section: per table loaded from, its address, then its writable and readonly indexes. */
static uint8_t *
put_lookups(uint8_t *p, const struct keytab *kt, const int where[], uint64_t used, const size_t order[],
    size_t nstatic)
{
	size_t nl = 0;

	for (size_t t = 0; t < kt->ntables; t++)
		nl += (used >> t) & 1;
	p = put_cu16(p, nl);
	for (size_t t = 0; t < kt->ntables; t++) {
		if (!((used >> t) & 1))
			continue;
		memcpy(p, kt->tables[t].address.b, 32);
		p += 32;
		for (int pass = 0; pass < 2; pass++) { /* writable, then readonly */
			size_t cnt = 0;

			for (size_t j = nstatic; j < kt->n; j++)
				cnt += where[order[j]] == (int)t && loaded_in_pass(kt, order[j], pass);
			p = put_cu16(p, cnt);
			for (size_t j = nstatic; j < kt->n; j++)
				if (where[order[j]] == (int)t && loaded_in_pass(kt, order[j], pass))
					*p++ = (uint8_t)table_find(&kt->tables[t], &kt->k[order[j]]);
		}
	}
	return p;
}

int
stx_message(const struct stx *t, uint8_t **msg, size_t *len, struct err *e)
{
	size_t order[STX_MAX_KEYS], nstatic;
	int where[STX_MAX_KEYS];
	uint8_t pos[STX_MAX_KEYS]; /* key-table index -> index in the message's account space */
	struct stx_dims d;
	uint64_t used = 0;
	uint8_t *buf, *p;
	size_t mlen;

	stx_dims(t, &d);
	mlen = d.size - stx_cu16_len((uint16_t)d.nsigners) - 64 * d.nsigners;
	if ((buf = malloc(mlen)) == NULL)
		return err_set(e, STX_E_NOMEM, "transaction: out of memory");
	p = buf;
	keytab_place(&t->kt, where, &used); /* legacy: no tables, every key static */
	if (t->v0)
		*p++ = V0_PREFIX;
	layout(&t->kt, where, p, order, &nstatic);
	p += 3;
	p = put_cu16(p, nstatic);
	for (size_t i = 0; i < t->kt.n; i++) {
		pos[order[i]] = (uint8_t)i;
		if (i < nstatic) {
			memcpy(p, t->kt.k[order[i]].b, 32);
			p += 32;
		}
	}
	memcpy(p, t->blockhash.b, 32);
	p += 32;
	p = put_cu16(p, t->nix);
	for (size_t i = 0; i < t->nix; i++) {
		const struct solix *ix = &t->ix[i];

		*p++ = pos[keytab_find(&t->kt, &ix->program)];
		p = put_cu16(p, ix->naccounts);
		for (size_t a = 0; a < ix->naccounts; a++)
			*p++ = pos[keytab_find(&t->kt, &ix->accounts[a].key)];
		p = put_cu16(p, ix->ndata);
		memcpy(p, ix->data, ix->ndata);
		p += ix->ndata;
	}
	if (t->v0)
		p = put_lookups(p, &t->kt, where, used, order, nstatic);
	*msg = buf;
	*len = (size_t)(p - buf);
	return 0;
}

int
stx_sign_multi(const struct stx *t, struct kp *const *signers, size_t nsigners, uint8_t **tx, size_t *tx_len,
    uint8_t sig[64], char sig_b58[89], struct err *e)
{
	struct stx_dims d;
	uint8_t *msg = NULL, *buf = NULL, *p;
	size_t mlen, nsig;

	stx_dims(t, &d);
	if (d.size > STX_PACKET_MAX)
		return err_set(e, STX_E_SIZE, "transaction: %zu bytes, at most %d", d.size, STX_PACKET_MAX);
	if (d.nkeys > STX_MAX_LOCKS)
		return err_set(e, STX_E_KEYS, "transaction: %zu accounts, at most %d", d.nkeys, STX_MAX_LOCKS);
	if (d.nix > STX_MAX_IX)
		return err_set(e, STX_E_IX, "transaction: %zu instructions, at most %d", d.nix, STX_MAX_IX);
	if (stx_message(t, &msg, &mlen, e) != 0)
		return -1;
	nsig = t->v0 ? msg[1] : msg[0];
	if ((buf = malloc(d.size)) == NULL) {
		err_set(e, STX_E_NOMEM, "transaction: out of memory");
		goto fail;
	}
	p = put_cu16(buf, nsig);
	/* Signature i belongs to account key i; the message starts with the signers. */
	for (size_t i = 0; i < nsig; i++, p += 64) {
		const uint8_t *key = msg + (t->v0 ? 1 : 0) + 3 + stx_cu16_len((uint16_t)d.nstatic) + 32 * i;
		size_t j;

		for (j = 0; j < nsigners; j++)
			if (memcmp(kp_pubkey(signers[j])->b, key, 32) == 0)
				break;
		if (j == nsigners) {
			char b58[B58_PUBKEY_SZ];

			b58_encode(key, 32, b58, sizeof(b58));
			err_set(e, STX_E_SIGNER, "transaction: no keypair for required signer %s", b58);
			goto fail;
		}
		if (kp_sign(signers[j], msg, mlen, p) != 0) {
			err_set(e, STX_E_SIGNER, "transaction: signing failed");
			goto fail;
		}
	}
	memcpy(p, msg, mlen);
	if (sig != NULL)
		memcpy(sig, buf + 1, 64);
	if (sig_b58 != NULL)
		b58_encode(buf + 1, 64, sig_b58, B58_SIG_SZ);
	free(msg);
	*tx = buf;
	*tx_len = d.size;
	return 0;
fail:
	free(msg);
	free(buf);
	return -1;
}

int
stx_sign(const struct stx *t, struct kp *payer, uint8_t **tx, size_t *tx_len, uint8_t sig[64], char sig_b58[89],
    struct err *e)
{
	return stx_sign_multi(t, &payer, 1, tx, tx_len, sig, sig_b58, e);
}

size_t
stx_base64(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	size_t need = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);

	if (outsz < need)
		return 0;
	sodium_bin2base64(out, outsz, in, n, sodium_base64_VARIANT_ORIGINAL);
	return need - 1;
}

int
stx_base64_decode(const char *s, size_t slen, uint8_t *out, size_t outsz, size_t *outlen, struct err *e)
{
	const char *end;

	if (sodium_base642bin(out, outsz, s, slen, NULL, outlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen)
		return err_set(e, STX_E_DECODE, "base64: invalid or too long for %zu bytes", outsz);
	return 0;
}
