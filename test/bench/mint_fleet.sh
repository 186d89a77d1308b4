#!/usr/bin/env bash
# mint_fleet.sh: what a 15-minute fleet costs to mint, legacy against v0 (lookup tables) and with a per-wallet
# window of 0 against 3600 s. The fleet runs in scaled time (BENCH_FLEET_SCALE, 60: a 15-minute period is 15 s,
# a 3600 s window 60 s, and every latency knob scaled alike: the polling interval 60 s -> 1 s, the batch linger
# 200 ms -> 3 ms), so a wallet mints as often per scaled hour as it would per real hour. Each configuration
# gets new meters and wallets, warms up (token accounts created, tables built, windows in phase), then is
# measured over what the mint transactions created in the measuring interval did. Fees are computed as the
# runtime charges them (5,000 per signature + compute-unit price x limit), recorded per transaction.
# Prints, per configuration: wallets per transaction, readings per wallet-mint, lamports per minted reading
# and per wallet-mint (fees only), wallet-mints per meter per (real) day; for v0: what the tables cost
# (creation and extension fees, rent read from the chain) and how many mints of a wallet amortize its share.
# Prints FIGURE lines (see test/bench/run).
# Knobs: BENCH_FLEET_METERS (1200), BENCH_FLEET_SCALE (60), BENCH_FLEET_MEASURE_S (scaled seconds, 120),
# SIM_SLOT_MS (50).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export GTX_BIN=${GTX_BIN:-$ROOT/build/rel}
M=${BENCH_FLEET_METERS:-1200}
SCALE=${BENCH_FLEET_SCALE:-60}
MEASURE=${BENCH_FLEET_MEASURE_S:-120}
export SIM_SLOT_MS=${SIM_SLOT_MS:-50}
PERIOD_MS=$((900000 / SCALE))
WIN=$((3600 / SCALE))
POLL=$(((60 + SCALE - 1) / SCALE))
LINGER=$(((200 + SCALE - 1) / SCALE))
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
[ -x "$GTX_BIN/mintd" ] || { echo "mint_fleet.sh: missing $GTX_BIN/mintd (make all)" >&2; exit 1; }
DIR=$(mktemp -d -t gtx-bench-XXXXXX)
trap '"$ROOT/test/stack" down "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
"$ROOT/test/stack" up "$DIR" postgres redis solana-sim >/dev/null
# shellcheck disable=SC1091
. "$DIR/env"
# shellcheck source=test/bench/common.bash
. "$ROOT/test/bench/common.bash"
# The lamports the chain holds in these accounts (the tables' rent), read at confirmed.
lamports_of() {
	SOLANA_RPC_URL=$SOLANA_RPC_URL node --input-type=module -e '
		const addrs = process.argv.slice(1); let sum = 0n;
		for (let i = 0; i < addrs.length; i += 100) {
		  const r = await fetch(process.env.SOLANA_RPC_URL, { method: "POST", headers: { "content-type": "application/json" },
		    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getMultipleAccounts",
		      params: [addrs.slice(i, i + 100), { commitment: "confirmed", encoding: "base64" }] }) });
		  for (const a of (await r.json()).result.value) if (a) sum += BigInt(a.lamports);
		}
		console.log(sum.toString());' "$@"
}
# Rent held by every lookup table mintd has made (tables are extended across configurations: what a
# configuration cost is the difference it made).
table_rent() {
	local addrs
	addrs=$(sql -c "SELECT address FROM lookup_tables WHERE state IN ('active', 'creating')")
	# shellcheck disable=SC2086
	if [ -n "$addrs" ]; then lamports_of $addrs; else echo 0; fi
}
declare -A LPW

config() { # NAME TAG TABLES WINDOW_SECS WARM_S
	local name=$1 tag=$2 tables=$3 win=$4 warm=$5 t0 ta tb fleet rent0
	cat >"$DIR/mintd.env" <<CONF
LOG_LEVEL=warning
MINTD_INSTANCE_ID=bench-$tag
MINTD_CONFIRM_POLL_MS=100
MINTD_LOOKUP_TABLES=$tables
TOKENIZATION_WALLET_MIN_INTERVAL_SECS=$win
TOKENIZATION_POLLING_INTERVAL_SECS=$POLL
TOKENIZATION_BATCH_LINGER_MS=$LINGER
CONF
	t0=$(sql -c "SELECT now()")
	rent0=$(table_rent)
	"$ROOT/test/stack" start "$DIR" mintd
	echo "$name: $M meters every $((PERIOD_MS / 1000)) s, warming up ${warm} s, measuring ${MEASURE} s..."
	(cd "$ROOT/test/bench" && node mint-fleet.mjs "$DIR" "$M" "$PERIOD_MS" $(((warm + MEASURE) * 1000)) "$tag") &
	fleet=$!
	sleep "$warm"
	ta=$(sql -c "SELECT now()")
	wait "$fleet"
	tb=$(sql -c "SELECT now()")
	# Everything created before tb is decided before the figures are read (waiting readings: a window more).
	until [ "$(sql -c "SELECT count(*) FROM meter_readings WHERE status <> 'minted' AND meter_serial LIKE 'F$tag-%'")" = 0 ] &&
		[ "$(sql -c "SELECT count(*) FROM mint_transactions WHERE state = 'pending'")" = 0 ]; do sleep 0.5; done
	"$ROOT/test/stack" stop "$DIR" mintd
	local q="FROM mint_transactions WHERE kind = 'mint' AND state = 'confirmed' AND created_at >= '$ta' AND created_at < '$tb'"
	local txs wallets readings fee secs lat
	IFS='|' read -r txs wallets readings fee <<<"$(sql -c "SELECT count(*), coalesce(sum(wallets), 0), coalesce(sum(readings), 0),
		coalesce(sum(fee_lamports), 0) $q")"
	secs=$(sql -c "SELECT extract(epoch FROM timestamptz '$tb' - timestamptz '$ta')::bigint")
	lat=$(sql -c "SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY x))::bigint || '|' ||
		round(percentile_disc(0.99) WITHIN GROUP (ORDER BY x))::bigint FROM (SELECT extract(epoch FROM minted_at - submitted_at) * 1000 AS x
		FROM meter_readings WHERE meter_serial LIKE 'F$tag-%' AND submitted_at >= '$ta' AND submitted_at < '$tb') s")
	echo "$name: $txs transactions, $wallets wallet-mints, $readings readings, $fee lamports of fees in $secs s"
	figure "$name: wallets per transaction" "$(div "$wallets" "$txs")" "wallets"
	figure "$name: readings per wallet-mint" "$(div "$readings" "$wallets")" "readings"
	figure "$name: lamports per minted reading (fees only)" "$(div "$fee" "$readings")" "lamports"
	figure "$name: lamports per wallet-mint (fees only)" "$(div "$fee" "$wallets")" "lamports"
	# wallet-mints per meter per real day: (wallet-mints / meters) per scaled second x 86400 / SCALE
	figure "$name: wallet-mints per meter per day" "$(div $((wallets * 86400)) $((M * secs * SCALE)))" "mints"
	figure "$name: accept-to-mint p50 / p99 (bench clock)" "${lat%|*} / ${lat#*|}" "ms"
	LPW[$tag]=$((fee * 1000 / (wallets > 0 ? wallets : 1))) # milli-lamports per wallet-mint
	if [ "$tables" = true ]; then
		local ntab naccts ttx tfee rent legacy save
		ntab=$(sql -c "SELECT count(*) FROM lookup_tables WHERE created_at >= '$t0' AND state = 'active'")
		naccts=$(sql -c "SELECT count(*) FROM lookup_table_entries WHERE state = 'added' AND queued_at >= '$t0'")
		IFS='|' read -r ttx tfee <<<"$(sql -c "SELECT count(*), coalesce(sum(fee_lamports), 0) FROM mint_transactions
			WHERE kind = 'table' AND state = 'confirmed' AND created_at >= '$t0'")"
		rent=$(($(table_rent) - rent0))
		echo "$name: $ntab new tables, $naccts token accounts added, $ttx table transactions ($tfee lamports), $rent lamports of rent"
		figure "$name: lookup tables created / accounts added" "$ntab / $naccts" "tables / accounts"
		figure "$name: table transactions (create+extend) and their fees" "$ttx / $tfee" "txs / lamports"
		figure "$name: table rent (on chain; back when a table is closed)" "$rent" "lamports"
		figure "$name: table cost per wallet (fees+rent / fees)" "$(div $((tfee + rent)) "$naccts") / $(div "$tfee" "$naccts")" "lamports"
		legacy=${LPW[${tag/v0/legacy}]:-0}
		save=$((legacy - LPW[$tag]))
		if [ "$save" -gt 0 ] && [ "$naccts" -gt 0 ]; then
			figure "$name: saved per wallet-mint against legacy" "$(div "$save" 1000)" "lamports"
			# a wallet's share of the tables / what each of its mints saves (milli-lamports on both sides)
			figure "$name: wallet-mints that amortize a wallet's share (fees+rent / fees)" \
				"$((((tfee + rent) * 1000 / naccts + save - 1) / save)) / $(((tfee * 1000 / naccts + save - 1) / save))" "mints"
		else
			figure "$name: saved per wallet-mint against legacy" "$(div "$save" 1000)" "lamports (tables never pay back here)"
		fi
	fi
}

echo "scale 1/$SCALE: period ${PERIOD_MS} ms, window ${WIN} s, polling ${POLL} s, linger ${LINGER} ms; simulator slot ${SIM_SLOT_MS} ms"
config "legacy, window 0" legacy-w0 false 0 $((40 * 60 / SCALE))
config "v0, window 0" v0-w0 true 0 $((40 * 60 / SCALE))
config "legacy, window 3600 s" legacy-w3600 false "$WIN" $((WIN + 10 * 60 / SCALE))
config "v0, window 3600 s" v0-w3600 true "$WIN" $((WIN + 10 * 60 / SCALE))
