/* audit_cmp.c: exact 128-bit amounts, reading a token account's balance, and the audit's verdicts. */
#include "audit_cmp.h"

#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define AMOUNT_MAX ((audit_amount)(~(u128)0 >> 1))

int
audit_amount_parse(const char *s, audit_amount *out)
{
	bool neg = *s == '-';
	u128 v = 0;

	if (neg)
		s++;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > ((u128)AMOUNT_MAX - (u128)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (u128)(*s - '0');
	}
	*out = neg ? -(audit_amount)v : (audit_amount)v;
	return 0;
}

void
audit_amount_format(audit_amount v, unsigned decimals, bool sign, char *buf, size_t n)
{
	char rev[AUDIT_AMOUNT_SZ + 24];
	size_t k = 0, o = 0;
	u128 m = v < 0 ? (u128)0 - (u128)v : (u128)v;

	/* digits least significant first, at least decimals + 1 of them, the point after `decimals` */
	do {
		if (decimals > 0 && k == decimals)
			rev[k++] = '.';
		rev[k++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while ((m > 0 || k <= decimals) && k < sizeof(rev) - 2);
	if (v < 0)
		rev[k++] = '-';
	else if (sign && v > 0)
		rev[k++] = '+';
	if (n == 0)
		return;
	while (k > 0 && o + 1 < n)
		buf[o++] = rev[--k];
	buf[o] = '\0';
}

const char *
audit_account_name(enum audit_account a)
{
	switch (a) {
	case AUDIT_ACCOUNT_MISSING:
		return "missing";
	case AUDIT_ACCOUNT_TOKEN:
		return "token";
	case AUDIT_ACCOUNT_OTHER:
		break;
	}
	return "other";
}

/* The SPL Token account layout (Token-2022 extends it after byte 165). */
#define TA_MINT 0
#define TA_OWNER 32
#define TA_AMOUNT 64
#define TA_STATE 108
#define TA_LEN 165

enum audit_account
audit_token_account(const struct rpc_account *a, const struct sol_pubkey *mint, const struct sol_pubkey *owner,
    const struct sol_pubkey *program, uint64_t *amount)
{
	uint64_t v = 0;

	*amount = 0;
	if (!a->exists)
		return AUDIT_ACCOUNT_MISSING;
	if (!pubkey_eq(&a->owner, program) || a->data_len < TA_LEN || memcmp(a->data + TA_MINT, mint->b, 32) != 0 ||
	    memcmp(a->data + TA_OWNER, owner->b, 32) != 0 || a->data[TA_STATE] == 0)
		return AUDIT_ACCOUNT_OTHER;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | a->data[TA_AMOUNT + i];
	*amount = v;
	return AUDIT_ACCOUNT_TOKEN; /* frozen (state 2) still holds its balance */
}

int
audit_expect_pending(struct audit_expect *x, const char *list)
{
	char tok[AUDIT_AMOUNT_SZ];

	x->npending = 0;
	x->pending_total = 0;
	while (*list != '\0') {
		size_t l = strcspn(list, " ");
		audit_amount v;

		if (l == 0 || l >= sizeof(tok))
			return -1;
		memcpy(tok, list, l);
		tok[l] = '\0';
		if (audit_amount_parse(tok, &v) < 0 || v < 0 || v > AMOUNT_MAX - x->pending_total)
			return -1;
		if (x->npending < AUDIT_SUBSET_MAX)
			x->pending[x->npending] = v;
		x->npending++;
		x->pending_total += v;
		list += l;
		if (*list == ' ')
			list++;
	}
	return 0;
}

const char *
audit_verdict_name(enum audit_verdict v)
{
	switch (v) {
	case AUDIT_AGREE:
		return "agree";
	case AUDIT_IN_FLIGHT:
		return "in_flight";
	case AUDIT_MISMATCH:
		break;
	}
	return "mismatch";
}

/* True when some of p[0..n) sum to exactly want (each amount is >= 0). */
static bool
subset_sum(const audit_amount *p, size_t n, audit_amount want)
{
	if (want == 0)
		return true;
	if (n == 0 || want < 0)
		return false;
	return subset_sum(p + 1, n - 1, want - p[0]) || subset_sum(p + 1, n - 1, want);
}

enum audit_verdict
audit_judge(audit_amount chain, const struct audit_expect *x)
{
	audit_amount d = chain - x->settled;

	if (d == 0)
		return AUDIT_AGREE;
	if (d < 0 || x->npending == 0 || d > x->pending_total)
		return AUDIT_MISMATCH;
	if (x->npending > AUDIT_SUBSET_MAX)
		return AUDIT_IN_FLIGHT;
	return subset_sum(x->pending, x->npending, d) ? AUDIT_IN_FLIGHT : AUDIT_MISMATCH;
}
