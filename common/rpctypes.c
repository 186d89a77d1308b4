/* rpctypes.c: names and predicates of the shared RPC values (rpctypes.h). */
#include "rpctypes.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[RPC_E_COUNT] = {
	[RPC_E_NONE] = "none",
	[RPC_E_TRANSPORT] = "transport",
	[RPC_E_TIMEOUT] = "timeout",
	[RPC_E_HTTP] = "http",
	[RPC_E_RATE_LIMITED] = "rate_limited",
	[RPC_E_JSONRPC] = "jsonrpc",
	[RPC_E_BLOCKHASH_NOT_FOUND] = "blockhash_not_found",
	[RPC_E_ALREADY_PROCESSED] = "already_processed",
	[RPC_E_PREFLIGHT] = "preflight",
	[RPC_E_SIGVERIFY] = "sigverify",
	[RPC_E_NODE_BEHIND] = "node_behind",
	[RPC_E_NO_HISTORY] = "no_history",
	[RPC_E_MIN_CONTEXT_SLOT] = "min_context_slot",
	[RPC_E_NOT_AVAILABLE] = "not_available",
	[RPC_E_METHOD_NOT_FOUND] = "method_not_found",
	[RPC_E_PARSE] = "parse",
	[RPC_E_ARG] = "arg",
};

const char *
rpc_errkind_name(int kind)
{
	if (kind < 0 || kind >= RPC_E_COUNT || kind_names[kind] == NULL)
		return "unknown";
	return kind_names[kind];
}

bool
rpc_err_retryable(const struct err *e)
{
	switch (e->code) {
	case RPC_E_TRANSPORT:
	case RPC_E_TIMEOUT:
	case RPC_E_HTTP:
	case RPC_E_RATE_LIMITED:
	case RPC_E_BLOCKHASH_NOT_FOUND:
	case RPC_E_NODE_BEHIND:
	case RPC_E_MIN_CONTEXT_SLOT:
	case RPC_E_NOT_AVAILABLE:
		return true;
	default:
		return false;
	}
}

static const char *const commit_names[] = { "none", "processed", "confirmed", "finalized" };

const char *
rpc_commitment_name(enum rpc_commitment c)
{
	return (unsigned)c < 4 ? commit_names[c] : "none";
}

int
rpc_commitment_parse(const char *s, enum rpc_commitment *out)
{
	for (int i = RPC_COMMIT_PROCESSED; i <= RPC_COMMIT_FINALIZED; i++) {
		if (s != NULL && strcmp(s, commit_names[i]) == 0) {
			*out = (enum rpc_commitment)i;
			return 0;
		}
	}
	return -1;
}

void
rpc_accounts_clear(struct rpc_account *a, size_t n)
{
	for (size_t i = 0; a != NULL && i < n; i++) {
		free(a[i].data);
		memset(&a[i], 0, sizeof(a[i]));
	}
}
