#!/usr/bin/env bash
# mint.sh: mintd on the Solana simulator: readings minted per second, wallets per transaction and lamports per
# minted reading (fees + rent from the payer's balance: token accounts, and lookup tables built meanwhile; and
# fees alone as the transactions recorded them), next to the naive one-transaction-per-
# reading cost (5,000 lamports per reading + 2,039,280 per new token account). Two rounds: every wallet new,
# then the same wallets again (accounts exist). Prints FIGURE lines (see test/bench/run).
# Knobs: BENCH_MINT_READINGS (20000), BENCH_MINT_WALLETS (2000), SIM_SLOT_MS (50), BENCH_MINT_POLL_MS (100),
# BENCH_MINT_EXTRA (more mintd.env lines, e.g. MINTD_LOOKUP_TABLES=false).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export GTX_BIN=${GTX_BIN:-$ROOT/build/rel}
N=${BENCH_MINT_READINGS:-20000}
W=${BENCH_MINT_WALLETS:-2000}
export SIM_SLOT_MS=${SIM_SLOT_MS:-50}
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
RENT=2039280
for t in "$GTX_BIN/mintd" "$GTX_BIN/soltool"; do
	[ -x "$t" ] || { echo "mint.sh: missing $t (make all)" >&2; exit 1; }
done
DIR=$(mktemp -d -t gtx-bench-XXXXXX)
trap '"$ROOT/test/stack" down "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT

"$ROOT/test/stack" up "$DIR" postgres redis solana-sim >/dev/null
cat >"$DIR/mintd.env" <<CONF
LOG_LEVEL=warning
MINTD_INSTANCE_ID=bench
MINTD_CONFIRM_POLL_MS=${BENCH_MINT_POLL_MS:-100}
${BENCH_MINT_EXTRA:-}
CONF
# shellcheck disable=SC1091
. "$DIR/env"
# shellcheck source=test/bench/common.bash
. "$ROOT/test/bench/common.bash"
balance() {
	curl -fsS "$SOLANA_RPC_URL" -H 'content-type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getBalance\",\"params\":[\"$MINT_AUTHORITY\",{\"commitment\":\"confirmed\"}]}" |
		sed -n 's/.*"value":\([0-9]*\).*/\1/p'
}

mint_txs() { sql -c "SELECT count(*) FROM mint_transactions WHERE kind = 'mint' AND state = 'confirmed'"; }

# A round: N readings seeded while auto-mint is off, then minted, timed from the switch on. The payer's
# balance is read around the minting alone: the nonce pool (created at start-up) and the lookup tables (built
# after a round, once its wallets have minted: mint_fleet.sh prices them) are not in a round's cost.
round() { # NAME NEW_ACCOUNTS
	local name=$1 new=$2 tx0 tx1 w1 f1 bal0 bal1 t0 t1 minted
	echo "$name: seeding $N readings for $W wallets..."
	auto false
	(cd "$ROOT/test/bench" && node mint-seed.mjs "$DIR" "$N" "$W" "$DIR/wallets.json")
	tx0=$(mint_txs)
	w1=$(sql -c "SELECT coalesce(sum(wallets), 0) FROM mint_transactions WHERE kind = 'mint' AND state = 'confirmed'")
	f1=$(sql -c "SELECT coalesce(sum(fee_lamports), 0) FROM mint_transactions WHERE kind = 'mint' AND state = 'confirmed'")
	bal0=$(balance)
	t0=$(now_ms)
	auto true
	until [ "$(sql -c "SELECT count(*) FROM meter_readings WHERE status <> 'minted'")" = 0 ]; do sleep 0.2; done
	t1=$(now_ms)
	bal1=$(balance)
	tx1=$(mint_txs)
	# the tables for these wallets, usable (read back at finalized), before the next round
	wait_tables "$W"
	minted=$N
	local txs=$((tx1 - tx0)) wallets=$(($(sql -c "SELECT coalesce(sum(wallets), 0) FROM mint_transactions WHERE kind = 'mint' AND state = 'confirmed'") - w1))
	local spent=$((bal0 - bal1)) naive=$((5000 * N + new * RENT))
	echo "$name: $minted readings in $((t1 - t0)) ms, $txs transactions, payer spent $spent lamports"
	figure "$name: readings minted/s" "$(div $((minted * 1000)) $((t1 - t0)))" "readings/s"
	figure "$name: wallets per transaction" "$(div "$wallets" "$txs")" "wallets"
	figure "$name: readings per transaction" "$(div "$minted" "$txs")" "readings"
	figure "$name: lamports per minted reading (fees+rent)" "$(div "$spent" "$minted")" "lamports"
	# fees as each transaction recorded them (what the runtime charges: signatures + CU price x limit)
	local fees=$(($(sql -c "SELECT coalesce(sum(fee_lamports), 0) FROM mint_transactions WHERE kind = 'mint' AND state = 'confirmed'") - f1))
	figure "$name: lamports per minted reading (fees only)" "$(div "$fees" "$minted")" "lamports"
	figure "$name: naive 1 tx/reading, lamports per reading" "$(div "$naive" "$minted")" "lamports"
}

echo "simulator slot ${SIM_SLOT_MS} ms; mintd defaults except status polls every ${BENCH_MINT_POLL_MS:-100} ms" \
	"(the simulator's slots are 8x mainnet's)"
"$ROOT/test/stack" start "$DIR" mintd
. "$DIR/env" # now with MINTD_URL
until curl -fsS "$MINTD_URL/readyz" >/dev/null 2>&1; do sleep 0.2; done
round "new accounts" "$W"
round "existing accounts" 0
"$ROOT/test/stack" stop "$DIR" mintd
