#!/usr/bin/env bash
# mint_rpc.sh: does the network's distance slow minting? One backlog minted through a loopback RPC and one
# through an RPC 80 ms away (the simulator's stall fault on every call), at mainnet-like 400 ms slots, with
# mintd's defaults; prints both rates and their ratio. The backlog is seeded with auto-mint off and timed
# from the switch on to the last reading minted, so start-up, seeding and token-account creation (a warm-up
# round) are not in the figures. Prints FIGURE lines (see test/bench/run).
# Knobs: BENCH_RPC_READINGS (6000), BENCH_RPC_WALLETS (2000), BENCH_RPC_SLOT_MS (400), BENCH_RPC_DELAY_MS (80).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export GTX_BIN=${GTX_BIN:-$ROOT/build/rel}
N=${BENCH_RPC_READINGS:-6000}
W=${BENCH_RPC_WALLETS:-2000}
DELAY=${BENCH_RPC_DELAY_MS:-80}
export SIM_SLOT_MS=${BENCH_RPC_SLOT_MS:-400}
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
[ -x "$GTX_BIN/mintd" ] || { echo "mint_rpc.sh: missing $GTX_BIN/mintd (make all)" >&2; exit 1; }
DIR=$(mktemp -d -t gtx-bench-XXXXXX)
trap '"$ROOT/test/stack" down "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT

"$ROOT/test/stack" up "$DIR" postgres redis solana-sim >/dev/null
cat >"$DIR/mintd.env" <<CONF
LOG_LEVEL=warning
MINTD_INSTANCE_ID=bench
${BENCH_RPC_MINTD_EXTRA:-}
CONF
# shellcheck disable=SC1091
. "$DIR/env"
# shellcheck source=test/bench/common.bash
. "$ROOT/test/bench/common.bash"
ctl() { curl -fsS "$SIM_CONTROL_URL$1" -H 'content-type: application/json' -d "$2" >/dev/null; }
wait_minted() {
	until [ "$(sql -c "SELECT count(*) FROM meter_readings WHERE status <> 'minted'")" = 0 ]; do sleep 0.2; done
}

# A round: N readings seeded while auto-mint is off, then minted; prints the rate (readings/s x 10, integer).
round() { # NAME
	local t0 t1
	auto false
	(cd "$ROOT/test/bench" && node mint-seed.mjs "$DIR" "$N" "$W" "$DIR/wallets.json")
	t0=$(now_ms)
	auto true
	wait_minted
	t1=$(now_ms)
	echo "$1: $N readings in $((t1 - t0)) ms" >&2
	echo $((N * 10000 / (t1 - t0)))
}

echo "simulator slot ${SIM_SLOT_MS} ms; mintd defaults; $N readings over $W wallets per round"
"$ROOT/test/stack" start "$DIR" mintd
echo "warm-up: token accounts for $W wallets, the nonce pool"
(cd "$ROOT/test/bench" && node mint-seed.mjs "$DIR" "$W" "$W" "$DIR/wallets.json")
wait_minted
# ... and the lookup tables holding them, read back at finalized: both rounds then mint the same way.
. "$DIR/env"
wait_tables "$W"
echo "warm-up: $(metric mintd_lookup_table_accounts) token accounts in usable lookup tables"
local_rate=$(round "loopback RPC")
ctl /fault "{\"kind\":\"stall\",\"ms\":$DELAY,\"probability\":1}"
remote_rate=$(round "RPC ${DELAY} ms away")
ctl /clear-faults '{}'
"$ROOT/test/stack" stop "$DIR" mintd
fmt() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }
figure "readings minted/s, loopback RPC" "$(fmt "$local_rate")" "readings/s"
figure "readings minted/s, RPC ${DELAY} ms away" "$(fmt "$remote_rate")" "readings/s"
ratio=$((remote_rate * 1000 / local_rate))
figure "${DELAY} ms RPC / loopback" "$(printf '%d.%03d' $((ratio / 1000)) $((ratio % 1000)))" "ratio"
