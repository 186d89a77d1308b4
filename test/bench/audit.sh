#!/usr/bin/env bash
# audit.sh: `mintd -A` on a fleet minted for real by mintd through the simulator: wallets audited per second
# against a local node and against one BENCH_AUDIT_RTT_MS away (every getMultipleAccounts answer that late, the
# way a hosted endpoint is), the audit's peak memory, and the time a million wallets would take at those rates.
# Prints FIGURE lines (see test/bench/run). On the 2-core test machine the simulator (one JavaScript thread, 7-15 ms
# per 100-account answer) is what limits the rate; the audit's own work is the CPU figure (most of it deriving the
# token-account addresses, about 28 us a wallet).
# Knobs: BENCH_AUDIT_WALLETS (20000), BENCH_AUDIT_RTT_MS (50), BENCH_AUDIT_RUNS (3, the best is kept),
# SIM_SLOT_MS (50), BENCH_KEEP (set: leave the stack up for a look).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export GTX_BIN=${GTX_BIN:-$ROOT/build/rel}
W=${BENCH_AUDIT_WALLETS:-20000}
RTT=${BENCH_AUDIT_RTT_MS:-50}
RUNS=${BENCH_AUDIT_RUNS:-3}
export SIM_SLOT_MS=${SIM_SLOT_MS:-50}
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
for t in "$GTX_BIN/mintd" "$GTX_BIN/soltool"; do
	[ -x "$t" ] || { echo "audit.sh: missing $t (make all)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "audit.sh: needs GNU time (/usr/bin/time) for the peak memory" >&2; exit 1; }
DIR=$(mktemp -d -t gtx-bench-XXXXXX)
trap '[ -n "${BENCH_KEEP:-}" ] || { "$ROOT/test/stack" down "$DIR" >/dev/null 2>&1; rm -rf "$DIR"; }' EXIT

"$ROOT/test/stack" up "$DIR" postgres redis solana-sim >/dev/null
cat >"$DIR/mintd.env" <<CONF
LOG_LEVEL=warning
MINTD_INSTANCE_ID=bench
MINTD_AUDIT_SECS=0
MINTD_CONFIRM_POLL_MS=100
CONF
# shellcheck disable=SC1091
. "$DIR/env"
sql() { "$PSQL" -qAtX "$DATABASE_URL" -v ON_ERROR_STOP=1 "$@"; }
figure() { printf 'FIGURE\t%s\t%s\t%s\n' "$1" "$2" "$3"; }
now_ms() { date +%s%3N; }
rpc() {
	curl -fsS "$SOLANA_RPC_URL" -H 'content-type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}"
}
json_field() { node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log($1)"; }

echo "seeding $W wallets (one reading each) and minting them with mintd..."
t0=$(now_ms)
(cd "$ROOT/test/bench" && node mint-seed.mjs "$DIR" "$W" "$W" "$DIR/wallets.json")
"$ROOT/test/stack" start "$DIR" mintd
until [ "$(sql -c "SELECT count(*) FROM meter_readings WHERE status <> 'minted'")" = 0 ]; do sleep 1; done
"$ROOT/test/stack" stop "$DIR" mintd
last=$(sql -c "SELECT max(slot) FROM mint_transactions WHERE state = 'confirmed'")
until [ "$(rpc getSlot '[{"commitment":"finalized"}]' | sed -n 's/.*"result":\([0-9]*\).*/\1/p')" -ge "$last" ]; do sleep 0.2; done
echo "minted in $(($(now_ms) - t0)) ms; $(sql -c "SELECT count(*) FROM mint_transactions WHERE state = 'confirmed'") transactions"

# audit LABEL: the best of RUNS audits; sets BEST_MS, PEAK_KB and CPU_CS (CPU of the best run, centiseconds);
# every one must agree.
audit() {
	local label=$1 i ms kb cs rc
	BEST_MS=0 PEAK_KB=0 CPU_CS=0
	for i in $(seq 1 "$RUNS"); do
		rc=0
		/usr/bin/time -o "$DIR/time" -f '%M %U %S' "$ROOT/test/stack" audit "$DIR" --json >"$DIR/audit.json" || rc=$?
		[ "$rc" = 0 ] || { echo "audit.sh: $label: mintd -A exited $rc: $(head -c 600 "$DIR/audit.json")" >&2; exit 1; }
		[ "$(json_field 'd.wallets.checked' <"$DIR/audit.json")" = "$W" ] || { echo "audit.sh: not every wallet read" >&2; exit 1; }
		ms=$(json_field 'd.duration_ms' <"$DIR/audit.json")
		read -r kb u s <<<"$(tail -1 "$DIR/time")"
		cs=$((10#${u/./} + 10#${s/./}))
		echo "$label: run $i: $W wallets in $ms ms, CPU $cs cs, peak RSS $kb KiB"
		if [ "$BEST_MS" = 0 ] || [ "$ms" -lt "$BEST_MS" ]; then BEST_MS=$ms CPU_CS=$cs; fi
		if [ "$kb" -gt "$PEAK_KB" ]; then PEAK_KB=$kb; fi
	done
}
# a / b rounded to an integer, and a million wallets' time in minutes with one decimal (integer arithmetic)
per_s() { echo $((($1 * 1000 + $2 / 2) / $2)); }
million_min() { local t=$(((1000000 * $2 * 10 / $1 + 30000) / 60000)); printf '%d.%d' $((t / 10)) $((t % 10)); }

audit "local node"
figure "local node: wallets audited/s" "$(per_s "$W" "$BEST_MS")" "wallets/s"
figure "local node: a million wallets (extrapolated)" "$(million_min "$W" "$BEST_MS")" "minutes"
figure "peak memory of mintd -A ($W wallets)" "$PEAK_KB" "KiB"
# the audit's own work (token-account addresses, JSON, the database's answers), apart from waiting on the node
figure "mintd -A CPU per 1000 wallets" "$((CPU_CS * 10 * 1000 / W))" "ms"

curl -fsS -X POST "$SIM_CONTROL_URL/fault" -H 'content-type: application/json' \
	-d "{\"kind\":\"stall\",\"ms\":$RTT,\"method\":\"getMultipleAccounts\",\"for_ms\":3600000}" >/dev/null
audit "node ${RTT} ms away"
figure "node ${RTT} ms away: wallets audited/s" "$(per_s "$W" "$BEST_MS")" "wallets/s"
figure "node ${RTT} ms away: a million wallets (extrapolated)" "$(million_min "$W" "$BEST_MS")" "minutes"
