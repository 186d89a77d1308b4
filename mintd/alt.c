/* alt.c: the lookup-table manager (see alt.h): what the chain shows of each table, what waits to go in, and the
 * creations and extensions that put it there. */
#include "alt.h"
#include "b58.h"
#include "chain.h"
#include "crash.h"
#include "flight.h"
#include "keymap.h"
#include "log.h"
#include "mintd.h"
#include "pda.h"
#include "plan.h"
#include "rpcjson.h"
#include "rpcreq.h"
#include "solalt.h"
#include "solix.h"
#include "uuid.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALT_FIXED 2             /* the mint and the RecentBlockhashes sysvar lead every table */
#define ALT_MAX_INFLIGHT 4      /* table transactions of this instance in flight at once */
#define ALT_REFRESH_MS 60000    /* every table read again (deactivation, other instances' extensions) */
#define ALT_RETRY_MS 1000       /* a read that did not show the table yet, or failed */
#define ALT_DB_MS 10000         /* tables reloaded from the database (other instances create them too) */
#define ALT_IDLE_MS 2000        /* nothing queued: look again after this */
#define ALT_ENQ_MAX 8192        /* accounts waiting to be queued in the database (more: queued on a later mint) */
#define ALT_RENT_PER_BYTE 6960u /* rent-exempt lamports per byte (128 bytes of account overhead) */
/* Compute budget of a table transaction: the head (measured 450), CreateLookupTable (measured 10,517),
 * ExtendLookupTable (measured 5,800 + 294 per address). */
#define ALT_CU_HEAD 2000u
#define ALT_CU_CREATE 15000u
#define ALT_CU_EXTEND 8000u
#define ALT_CU_PER_ADDR 400u

struct table {
	char b58[45];
	struct sol_pubkey addr;
	uint32_t index;
	bool active;             /* the database says its creation landed */
	bool dead;               /* never offered again (see alt.h) */
	struct sol_pubkey addrs[SOLALT_MAX_ADDRS];
	size_t n;                /* addresses a finalized read showed */
	uint64_t read_slot;      /* that read's context slot (0: none yet) */
	uint64_t want_slot;      /* a transaction extending it landed here: read until a read covers it */
	int64_t next_read_ms;
	bool read_inflight;
	struct stx_table view;   /* what the planner gets: address, addrs, n */
};

static struct store *st;
static struct rpcm *rpc;
static struct kp *kp;
static struct table **tabs;  /* never moved or freed while running: plans keep pointers into them */
static size_t ntabs, captabs;
static struct keymap *by_addr; /* table address -> index */
static struct keymap *where;   /* account -> index of a usable table a finalized read shows it in */
static struct keymap *seen;    /* wallets queued or in a table: a confirmation does not queue them again */
static char (*enq_w)[MINTD_WALLET_SZ];
static char (*enq_a)[45];
static size_t nenq;
static int64_t own[ALT_MAX_INFLIGHT];
static size_t nown;
static uint64_t seq;
static char boot[16];
static int64_t next_db_ms, next_extend_ms;
static uint64_t table_errors_seen;
static struct alt_gauges gauges;

void
alt_init(struct store *s, struct rpcm *r, struct kp *k)
{
	uint8_t b[4];

	st = s;
	rpc = r;
	kp = k;
	by_addr = keymap_new(1u << 20);
	where = keymap_new(1u << 24);
	seen = keymap_new(1u << 24);
	enq_w = xcalloc(ALT_ENQ_MAX, sizeof(*enq_w));
	enq_a = xcalloc(ALT_ENQ_MAX, sizeof(*enq_a));
	randombytes_buf(b, sizeof(b));
	snprintf(boot, sizeof(boot), "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
	next_db_ms = next_extend_ms = 0;
}

void
alt_clear(void)
{
	for (size_t i = 0; i < ntabs; i++)
		free(tabs[i]);
	free(tabs);
	tabs = NULL;
	ntabs = captabs = 0;
	keymap_free(by_addr);
	keymap_free(where);
	keymap_free(seen);
	by_addr = where = seen = NULL;
	free(enq_w);
	free(enq_a);
	enq_w = NULL;
	enq_a = NULL;
	nenq = nown = 0;
}

const struct stx_table *
alt_table_for(const struct sol_pubkey *account)
{
	uint32_t i;

	if (where == NULL || !keymap_get(where, account, &i) || i >= ntabs || tabs[i]->dead || tabs[i]->n == 0)
		return NULL;
	return &tabs[i]->view;
}

/* ---- what the database says ---- */

static struct table *
table_add(const char *b58, bool active)
{
	struct table *t;
	struct sol_pubkey a;
	uint32_t i;

	if (pubkey_from_b58(b58, &a, NULL) < 0)
		return NULL;
	if (keymap_get(by_addr, &a, &i)) {
		tabs[i]->active = active;
		return tabs[i];
	}
	if (ntabs == captabs) {
		captabs = captabs ? captabs * 2 : 16;
		tabs = xreallocarray(tabs, captabs, sizeof(*tabs));
	}
	t = xcalloc(1, sizeof(*t));
	snprintf(t->b58, sizeof(t->b58), "%s", b58);
	t->addr = a;
	t->active = active;
	t->index = (uint32_t)ntabs;
	t->view.address = a;
	t->view.addrs = t->addrs;
	t->view.naddrs = 0;
	tabs[ntabs++] = t;
	keymap_put(by_addr, &a, t->index);
	return t;
}

static void forget_table(struct table *t);

static void
load_tables(void)
{
	struct alt_row *rows = NULL;
	bool *listed;
	size_t n = 0;
	struct err e = { 0 };

	next_db_ms = mono_ms() + ALT_DB_MS;
	if (store_alt_tables(st, S.mint_b58, &rows, &n, &e) < 0) {
		M.db_errors++;
		log_warn("lookup tables: database error", "err=%s", e.msg);
		return;
	}
	listed = xcalloc(ntabs + n + 1, sizeof(*listed));
	for (size_t i = 0; i < n; i++) {
		struct table *t = table_add(rows[i].address, rows[i].active);

		if (t != NULL)
			listed[t->index] = true;
	}
	/* A creation that failed or never landed, or a table another instance retired. */
	for (size_t i = 0; i < ntabs; i++)
		if (!listed[i])
			forget_table(tabs[i]);
	free(listed);
	free(rows);
}

/* ---- what the chain shows (the proof) ---- */

/* t is never offered again; its accounts are named in full until another table's read shows them. */
static void
forget_table(struct table *t)
{
	if (t->dead)
		return;
	t->dead = true;
	for (size_t i = 0; i < t->n; i++) {
		uint32_t at;

		if (keymap_get(where, &t->addrs[i], &at) && at == t->index)
			keymap_del(where, &t->addrs[i]);
	}
}

/* A finalized read showed t unusable for good: forgotten, retired in the database, its accounts queued again. */
static void
kill_table(struct table *t, const char *why)
{
	struct err e = { 0 };

	if (t->dead)
		return;
	forget_table(t);
	log_err("lookup table retired: not used again, its accounts go to another table", "table=%s why=%s", t->b58, why);
	if (store_alt_retire(st, t->b58, &e) < 0) {
		M.db_errors++;
		log_warn("lookup table: cannot retire it", "table=%s err=%s", t->b58, e.msg);
	}
}

/* One finalized read of table t at context slot ctx (acc: its account). */
static void
table_read(struct table *t, const struct rpc_account *acc, uint64_t ctx)
{
	struct solalt a;
	struct err e = { 0 };

	if (!acc->exists) {
		t->next_read_ms = mono_ms() + ALT_RETRY_MS; /* its creation is not finalized yet */
		return;
	}
	if (ctx < t->read_slot)
		return; /* older than what we know: nothing to learn */
	if (!pubkey_eq(&acc->owner, &pubkey_alt_program) || solalt_parse(acc->data, acc->data_len, &a, &e) < 0) {
		kill_table(t, e.msg[0] ? e.msg : "not a lookup table");
		return;
	}
	if (!a.has_authority || !pubkey_eq(&a.authority, kp_pubkey(kp))) {
		kill_table(t, "frozen, or its authority is not the mint authority");
		return;
	}
	if (a.deactivation_slot != SOLALT_ACTIVE) {
		kill_table(t, "deactivated");
		return;
	}
	if (a.naddrs < t->n) {
		M.contradictions++;
		kill_table(t, "a later finalized read holds fewer addresses (answers contradict each other)");
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		if (memcmp(a.addrs + 32 * i, t->addrs[i].b, 32) != 0) {
			M.contradictions++;
			kill_table(t, "a finalized read shows another address at an index read before");
			return;
		}
	}
	for (size_t i = t->n; i < a.naddrs; i++) {
		solalt_addr(&a, i, &t->addrs[i]);
		keymap_put(where, &t->addrs[i], t->index);
	}
	if (a.naddrs > t->n)
		log_info("lookup table read", "table=%s addresses=%zu slot=%" PRIu64, t->b58, a.naddrs, ctx);
	t->n = a.naddrs;
	t->view.naddrs = t->n;
	t->read_slot = ctx;
	t->next_read_ms = mono_ms() + (t->want_slot > ctx ? ALT_RETRY_MS : ALT_REFRESH_MS);
}

struct read_ref {
	size_t n;
	uint32_t idx[RPC_MAX_ACCOUNTS];
};

static void
on_read(void *arg, const struct rpcm_reply *r)
{
	struct read_ref *ref = arg;
	struct rpc_account acc[RPC_MAX_ACCOUNTS];
	uint64_t ctx = 0;
	struct err e = { 0 };

	if (r->cancelled) {
		free(ref);
		return;
	}
	for (size_t i = 0; i < ref->n; i++)
		tabs[ref->idx[i]]->read_inflight = false;
	if (r->result == NULL || rpcjson_accounts(r->result, true, ref->n, acc, &ctx, &e) < 0) {
		if (r->result == NULL)
			chain_note_error(r->method, r->x);
		log_debug("lookup tables: finalized read failed", "err=%s", r->result == NULL ? r->e->msg : e.msg);
		for (size_t i = 0; i < ref->n; i++)
			tabs[ref->idx[i]]->next_read_ms = mono_ms() + ALT_RETRY_MS;
		free(ref);
		return;
	}
	for (size_t i = 0; i < ref->n; i++)
		table_read(tabs[ref->idx[i]], &acc[i], ctx);
	rpc_accounts_clear(acc, ref->n);
	free(ref);
}

static void
reads_due(void)
{
	struct rpcreq_cfg cfg = { .commitment = RPC_COMMIT_FINALIZED, .base64 = true };
	struct sol_pubkey keys[RPC_MAX_ACCOUNTS];
	struct read_ref *ref = NULL;
	int64_t now = mono_ms();

	for (size_t i = 0; i <= ntabs; i++) {
		struct table *t = i < ntabs ? tabs[i] : NULL;
		struct err e = { 0 };

		if (t != NULL) {
			if (!t->active || t->dead || t->read_inflight || now < t->next_read_ms)
				continue;
			if (ref == NULL)
				ref = xcalloc(1, sizeof(*ref));
			keys[ref->n] = t->addr;
			ref->idx[ref->n++] = t->index;
			/* The read must show at least what the newest landed extension wrote. */
			if (t->want_slot > cfg.min_context_slot)
				cfg.min_context_slot = t->want_slot;
			t->read_inflight = true;
			if (ref->n < RPC_MAX_ACCOUNTS)
				continue;
		}
		if (ref == NULL)
			continue;
		if (rpcm_call(rpc, "getMultipleAccounts", rpcreq_keys(keys, ref->n, &cfg), on_read, ref, &e) < 0) {
			log_warn("lookup tables: database error", "err=%s", e.msg);
			for (size_t j = 0; j < ref->n; j++) {
				tabs[ref->idx[j]]->read_inflight = false;
				tabs[ref->idx[j]]->next_read_ms = now + ALT_RETRY_MS;
			}
			free(ref);
		}
		ref = NULL;
		cfg.min_context_slot = 0;
	}
}

/* ---- what waits to go in ---- */

void
alt_minted(const char *const *wallets, size_t n)
{
	if (seen == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct sol_pubkey w, ata;

		if (wallets[i] == NULL || pubkey_from_b58(wallets[i], &w, NULL) < 0 || keymap_get(seen, &w, NULL))
			continue;
		if (pda_ata(&w, &S.mint, &S.token_program, &ata, NULL) < 0)
			continue;
		if (keymap_get(where, &ata, NULL)) {
			keymap_put(seen, &w, 1);
			continue;
		}
		if (nenq == ALT_ENQ_MAX)
			return; /* queued when it mints again */
		snprintf(enq_w[nenq], sizeof(enq_w[0]), "%s", wallets[i]);
		pubkey_to_b58(&ata, enq_a[nenq]);
		nenq++;
		keymap_put(seen, &w, 1);
	}
}

static void
flush_queue(void)
{
	const char **w, **a;
	struct err e = { 0 };

	if (nenq == 0)
		return;
	w = xcalloc(nenq, sizeof(*w));
	a = xcalloc(nenq, sizeof(*a));
	for (size_t i = 0; i < nenq; i++) {
		w[i] = enq_w[i];
		a[i] = enq_a[i];
	}
	if (store_alt_enqueue(st, S.mint_b58, w, a, nenq, &e) < 0) {
		M.db_errors++;
		log_warn("lookup tables: cannot queue accounts (will retry)", "n=%zu err=%s", nenq, e.msg);
	} else {
		log_debug("lookup tables: token accounts queued", "n=%zu", nenq);
		nenq = 0;
		next_extend_ms = 0;
	}
	free(w);
	free(a);
}

/* ---- creating and extending ---- */

/* The instructions of a table transaction: advance, budget, [create], extend with addrs[0..n). */
static int
table_ixs(struct solix ix[5], const struct sol_pubkey *nonce, bool create, const struct sol_pubkey *table,
    uint64_t recent_slot, uint8_t bump, const struct sol_pubkey *addrs, size_t n, uint32_t cu, uint64_t price,
    size_t *nix, struct err *e)
{
	const struct sol_pubkey *me = kp_pubkey(kp);
	size_t k = 0;

	solix_nonce_advance(&ix[k++], nonce, me);
	solix_cu_limit(&ix[k++], cu);
	solix_cu_price(&ix[k++], price);
	if (create)
		solix_alt_create(&ix[k++], table, me, me, recent_slot, bump);
	if (solix_alt_extend(&ix[k++], table, me, me, addrs, n, e) < 0)
		return -1;
	*nix = k;
	return 0;
}

/* How many addresses one table transaction carries (exact: built and sized once per shape). */
static size_t
capacity(bool create)
{
	static size_t cap[2];
	struct sol_pubkey dummy[SOLIX_ALT_EXTEND_MAX], nonce, table;
	struct solix *ix;

	if (cap[create] != 0)
		return cap[create];
	ix = xcalloc(5, sizeof(*ix));
	for (size_t i = 0; i < SOLIX_ALT_EXTEND_MAX; i++)
		memset(dummy[i].b, (int)(i + 1), 32);
	memset(nonce.b, 0xa5, 32);
	memset(table.b, 0x5a, 32);
	for (size_t n = 1; n <= SOLIX_ALT_EXTEND_MAX; n++) {
		struct stx *t = stx_new(kp_pubkey(kp), &nonce);
		size_t nix = 0;
		bool fits;

		if (t == NULL || table_ixs(ix, &nonce, create, &table, 0, 255, dummy, n, 0, 0, &nix, NULL) < 0 ||
		    stx_add(t, ix, nix, NULL) < 0) {
			stx_free(t);
			break;
		}
		fits = stx_size(t) <= STX_PACKET_MAX;
		stx_free(t);
		if (!fits)
			break;
		cap[create] = n;
	}
	free(ix);
	return cap[create];
}

static bool
is_own(int64_t id, bool drop)
{
	for (size_t i = 0; i < nown; i++) {
		if (own[i] == id) {
			if (drop)
				own[i] = own[--nown];
			return true;
		}
	}
	return false;
}

/* Whatever the token still holds (a nonce, claimed entries) was not written ahead: back. */
static void
release(const char *token)
{
	long n = 0;
	struct err e = { 0 };

	if (store_release_token(st, token, &n, &e) < 0) {
		M.db_errors++;
		log_warn("lookup tables: release failed", "claim=%s err=%s", token, e.msg);
	}
}

/* Signs, records and sends one table transaction over entries; false when nothing was sent. */
static bool
send_table_tx(const char *token, bool create, const struct sol_pubkey *table, const char *table_b58,
    uint64_t recent_slot, uint8_t bump, const struct alt_entry *ent, size_t nent, const struct nonce_row *nonce)
{
	struct sol_pubkey addrs[SOLIX_ALT_EXTEND_MAX], nonce_pk, value, none = { { 0 } };
	struct solix *ix = xcalloc(5, sizeof(*ix));
	struct stx *t = NULL;
	struct ptx p = { 0 };
	char batch_id[MINTD_UUID_SZ], me[45];
	size_t n = 0, nix = 0;
	uint64_t cost;
	int64_t id = 0;
	bool unknown = false, sent = false;
	struct err e = { 0 };
	struct wa_table wa;
	int rc;

	if (create) {
		addrs[n++] = S.mint;
		addrs[n++] = pubkey_sysvar_recent_blockhashes;
	}
	for (size_t i = 0; i < nent; i++)
		if (pubkey_from_b58(ent[i].account, &addrs[n], NULL) == 0)
			n++;
	p.cu_price = chain_facts()->fee_micro;
	p.cu_limit = ALT_CU_HEAD + (create ? ALT_CU_CREATE : 0) + ALT_CU_EXTEND + ALT_CU_PER_ADDR * (uint32_t)n;
	if (pubkey_from_b58(nonce->address, &nonce_pk, &e) < 0 || pubkey_from_b58(nonce->value, &value, &e) < 0 ||
	    table_ixs(ix, &nonce_pk, create, table, recent_slot, bump, addrs, n, p.cu_limit, p.cu_price, &nix, &e) < 0 ||
	    (t = stx_new(kp_pubkey(kp), &value)) == NULL || stx_add(t, ix, nix, &e) < 0 ||
	    stx_sign(t, kp, &p.raw, &p.raw_len, NULL, p.sig, &e) < 0) {
		log_err("lookup table: cannot build the transaction", "table=%s kind=%s claim=%s err=%s", table_b58, create ? "creation" : "extension", token, e.msg);
		goto out;
	}
	p.fee = plan_fee(p.cu_limit, p.cu_price);
	/* Rent: the account grows by 32 bytes per address (and is created with its 56-byte header). */
	cost = p.fee + (uint64_t)ALT_RENT_PER_BYTE * (32 * n + (create ? 128 + SOLALT_META_LEN : 0));
	if (!chain_payer_can_pay(cost)) {
		log_warn("lookup table: the payer cannot pay now", "table=%s lamports=%" PRIu64, table_b58, cost);
		goto out;
	}
	uuid_v4(batch_id);
	pubkey_to_b58(kp_pubkey(kp), me);
	wa = (struct wa_table){ .batch_id = batch_id, .signature = p.sig, .raw = p.raw, .raw_len = p.raw_len,
		.mint = S.mint_b58, .nonce_account = nonce->address, .nonce_value = nonce->value, .table = table_b58,
		.create = create, .authority = me, .recent_slot = recent_slot, .fixed = ALT_FIXED, .entries = ent,
		.n = nent };
	crash_point("after_table_sign");
	rc = store_writeahead_table(st, &wa, token, &id, &unknown, &e);
	if (rc == 1) {
		log_info("lookup table: not recorded", "table=%s claim=%s why=%s", table_b58, token, e.msg);
		goto out;
	}
	if (rc < 0) {
		M.db_errors++;
		log_err("lookup table: cannot record the transaction", "table=%s kind=%s claim=%s maybe_recorded=%s err=%s",
		    table_b58, create ? "creation" : "extension", token, unknown ? "true" : "false", e.msg);
		goto out;
	}
	crash_point("after_table_writeahead");
	snprintf(p.nonce_account, sizeof(p.nonce_account), "%s", nonce->address);
	snprintf(p.nonce_value, sizeof(p.nonce_value), "%s", nonce->value);
	p.table = true;
	p.created = &none; /* no token accounts */
	own[nown++] = id;
	M.alt_tx_sent++;
	if (create)
		(void)table_add(table_b58, false); /* creating: no second creation until it is decided */
	log_info("lookup table transaction recorded", "table=%s kind=%s addresses=%zu batch=%s tx_id=%" PRId64 " tx=%s",
	    table_b58, create ? "creation" : "extension", n, batch_id, id, p.sig);
	flight_add_new(&p, id, batch_id);
	sent = true;
out:
	free(p.raw);
	free(ix);
	stx_free(t);
	return sent;
}

static bool
creating_now(void)
{
	for (size_t i = 0; i < ntabs; i++)
		if (!tabs[i]->active && !tabs[i]->dead)
			return true;
	return false;
}

/* One more table transaction, when something is queued and there is room for it (or a table to create). */
static void
extend(void)
{
	char token[MINTD_CLAIM_SZ], addr[45], (*exclude)[45];
	struct alt_entry *ent = NULL;
	struct nonce_row *nonce = NULL;
	struct sol_pubkey table;
	size_t nent = 0, nex = 0, nn = 0;
	uint64_t recent_slot = 0;
	uint8_t bump = 0;
	bool found = false, create;
	int room = 0;
	struct err e = { 0 };

	exclude = xcalloc(ntabs > 0 ? ntabs : 1, sizeof(*exclude));
	for (size_t i = 0; i < ntabs; i++)
		if (tabs[i]->dead)
			snprintf(exclude[nex++], sizeof(exclude[0]), "%s", tabs[i]->b58);
	if (store_alt_pick(st, S.mint_b58, ALT_FIXED, (const char (*)[45])exclude, nex, &found, addr, &room, &e) < 0) {
		M.db_errors++;
		log_warn("lookup tables: database error", "err=%s", e.msg);
		goto idle;
	}
	create = !found;
	if (create) {
		if (creating_now() || chain_facts()->slot == 0)
			goto idle; /* one creation at a time; it becomes the table to extend */
		/* A confirmed slot: in the SlotHashes of every bank that can execute the creation soon. */
		recent_slot = chain_facts()->slot;
		if (solalt_address(kp_pubkey(kp), recent_slot, &table, &bump, &e) < 0) {
			log_err("lookup tables: no table address", "err=%s", e.msg);
			goto idle;
		}
		pubkey_to_b58(&table, addr);
		room = SOLALT_MAX_ADDRS - ALT_FIXED;
	} else if (pubkey_from_b58(addr, &table, &e) < 0) {
		goto idle;
	}
	snprintf(token, sizeof(token), "%s:alt-%s-%" PRIu64, S.instance, boot, ++seq);
	{
		size_t cap = capacity(create) - (create ? ALT_FIXED : 0);

		if (store_alt_claim(st, S.mint_b58, token, (int)(cap < (size_t)room ? cap : (size_t)room), &ent, &nent, &e) < 0) {
			M.db_errors++;
			log_warn("lookup tables: claim failed", "claim=%s err=%s", token, e.msg);
			goto idle;
		}
	}
	if (nent == 0)
		goto idle;
	if (store_nonce_reserve(st, token, 1, &nonce, &nn, &e) < 0) {
		M.db_errors++;
		log_warn("lookup tables: reserving a nonce failed", "claim=%s err=%s", token, e.msg);
	}
	if (nn == 0) {
		release(token); /* no free nonce now (mints take them too): the entries wait */
		next_extend_ms = mono_ms() + 500;
		goto out;
	}
	(void)send_table_tx(token, create, &table, addr, recent_slot, bump, ent, nent, &nonce[0]);
	release(token);
	next_extend_ms = 0;
	goto out;
idle:
	next_extend_ms = mono_ms() + ALT_IDLE_MS;
out:
	free(exclude);
	free(ent);
	free(nonce);
}

void
alt_decided(int64_t tx_id, bool confirmed, uint64_t slot)
{
	char addr[45];
	bool found = false;
	struct err e = { 0 };

	(void)is_own(tx_id, true);
	if (confirmed)
		M.alt_tx_confirmed++;
	else
		M.alt_tx_failed++;
	load_tables();
	next_extend_ms = 0;
	if (!confirmed)
		return;
	if (store_alt_tx_table(st, tx_id, &found, addr, &e) < 0) {
		M.db_errors++;
		log_warn("lookup tables: database error", "err=%s", e.msg);
		return;
	}
	if (found) {
		struct table *t = table_add(addr, true);

		if (t != NULL && slot > t->want_slot) {
			t->want_slot = slot;
			t->next_read_ms = 0;
		}
	}
}

const struct alt_gauges *
alt_gauges(bool refresh)
{
	int64_t c[3] = { 0 }, ntab = 0;
	struct err e = { 0 };

	gauges.usable_tables = 0;
	gauges.accounts = 0;
	for (size_t i = 0; i < ntabs; i++) {
		if (tabs[i]->dead || tabs[i]->n == 0)
			continue;
		gauges.usable_tables++;
		gauges.accounts += (int64_t)(tabs[i]->n > ALT_FIXED ? tabs[i]->n - ALT_FIXED : 0);
	}
	if (refresh && st != NULL && store_ok(st) && store_alt_counts(st, S.mint_b58, c, &ntab, &e) == 0) {
		gauges.queued = c[0];
		gauges.extending = c[1];
		gauges.added = c[2];
		gauges.tables = ntab;
	}
	return &gauges;
}

void
alt_tick(bool may_send)
{
	int64_t now = mono_ms();

	if (!S.lookup_tables || st == NULL || !store_ok(st))
		return;
	if (flight_table_errors() != table_errors_seen) {
		/* A send said a table is gone or lacks an index: read every table again now, not at the refresh. */
		table_errors_seen = flight_table_errors();
		for (size_t i = 0; i < ntabs; i++)
			tabs[i]->next_read_ms = 0;
		next_db_ms = 0;
	}
	if (now >= next_db_ms)
		load_tables();
	flush_queue();
	reads_due();
	if (may_send && now >= next_extend_ms && nown < ALT_MAX_INFLIGHT && chain_facts()->fee_known &&
	    !chain_facts()->payer_short)
		extend();
}
