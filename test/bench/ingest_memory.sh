#!/usr/bin/env bash
# ingest_memory.sh: whether ingestd's memory stays flat under sustained load (issue #15): batch POSTs of
# distinct readings in BENCH_MEM_PARTS runs of BENCH_MEM_SECS seconds each (a million readings by default), and
# the RSS of every ingestd process (the supervisor and its workers; not ingestd-ws) before and after each run.
# Flat means the later runs end where the first one did: the last run's RSS against the first's is printed,
# and the largest against the first. Prints FIGURE lines (see test/bench/run).
# Knobs: BENCH_MEM_PARTS (6), BENCH_MEM_SECS (8), BENCH_MEM_READINGS (1,200,000: enough that no run runs dry).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export GTX_BIN=${GTX_BIN:-$ROOT/build/rel}
PARTS=${BENCH_MEM_PARTS:-6}
SECS=${BENCH_MEM_SECS:-8}
READINGS=${BENCH_MEM_READINGS:-1200000}
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)

# shellcheck source=test/bench/ingest_stack.bash
. "$ROOT/test/bench/ingest_stack.bash"
ingest_stack_up ingest_memory.sh wrk "$GTX_BIN/ingestd" "$GTX_BIN/readings"

echo "signing $READINGS batch readings..."
mkdir -p "$DIR/data"
"$GTX_BIN/readings" -o "$DIR/data" -s 1 -b "$READINGS" -k 1000
sql -f "$DIR/data/meters.sql"
split -n "l/$PARTS" "$DIR/data/batch.txt" "$DIR/data/part."
figure "ingestd RSS before load" "$(rss)" "KiB"
k=0 first=0 peak=0 last=0
for part in "$DIR"/data/part.*; do
	k=$((k + 1))
	echo "batch POSTs of 1000 readings: 8 connections, ${SECS}s (run $k of $PARTS)"
	wrk -t2 -c8 -d"${SECS}s" --timeout 10s -s "$ROOT/test/bench/ingest.lua" "$INGESTD_URL" \
		-- "$part" 2 /api/meters/readings/batch | sed -n 's/^WRK //p'
	last=$(rss)
	[ "$k" = 1 ] && first=$last
	[ "$last" -gt "$peak" ] && peak=$last
	figure "ingestd RSS after run $k ($(sql -c 'SELECT count(*) FROM meter_readings') readings stored)" "$last" "KiB"
done
figure "ingestd RSS after the last run / after the first" "$(ratio "$last" "$first")" "(1.000: flat)"
figure "ingestd RSS, the largest after a run / after the first" "$(ratio "$peak" "$first")" "(1.000: flat)"
