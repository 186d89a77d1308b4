#!/usr/bin/env bash
# index_growth.sh: what PostgreSQL spends per reading as meter_readings grows, with and without the exclusion constraint.
# Plain multi-row INSERTs (1000 rows per statement, 2 clients) of GROWTH_ROWS signed readings into copies of the
# table (LIKE meter_readings INCLUDING ALL: its checks, the duplicate-window exclusion constraint and every index),
# in ten slices, with PostgreSQL's CPU per row for each slice: the table as the stack runs it (shared_buffers at
# its default), the same without the exclusion constraint, and the same table again with shared_buffers raised to
# GROWTH_SHARED_BUFFERS. The figures are the first slice (the baseline, same run) against the last: rows/s and
# their ratio, PostgreSQL's CPU per row, and each copy's index sizes at the end. What a billion-row table would
# pay is the question (docs/scaling.md); this is the part of it one machine can measure in minutes.
# Knobs: GROWTH_ROWS (2000000), GROWTH_SHARED_BUFFERS (1GB). Prints FIGURE lines (test/bench/run).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export GTX_BIN=${GTX_BIN:-$ROOT/build/rel}
ROWS=${GROWTH_ROWS:-2000000}
BIG_SB=${GROWTH_SHARED_BUFFERS:-1GB}
SLICES=10
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)

command -v "$GTX_BIN/readings" >/dev/null || { echo "index_growth.sh: missing $GTX_BIN/readings (make all)" >&2; exit 1; }
DIR=$(mktemp -d -t gtx-growth-XXXXXX)
trap '"$ROOT/test/stack" down "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
"$ROOT/test/stack" up "$DIR" postgres >/dev/null
# shellcheck disable=SC1091
. "$DIR/env"
# shellcheck source=test/bench/common.bash
. "$ROOT/test/bench/common.bash"
# Until no backend but the stack's own is left (the clients' have exited and been reaped by the postmaster).
settle() {
	local pm
	pm=$(cat "$DIR/postgres.pid")
	for _ in $(seq 1 50); do
		[ "$(ps -o pid=,stat= --ppid "$pm" | awk '$2 ~ /Z/' | wc -l)" = 0 ] &&
			[ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")" = 1 ] && return 0
		sleep 0.1
	done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mb() { sql -c "SELECT round(pg_relation_size('$1') / 1048576.0)"; }

echo "signing $ROWS readings..."
mkdir -p "$DIR/data"
"$GTX_BIN/readings" -o "$DIR/data" -s 1 -b "$ROWS" -k 1000 >/dev/null
sql -f "$DIR/data/meters.sql" >/dev/null
sed -i 's/ ON CONFLICT DO NOTHING;$/;/' "$DIR/data/rows.sql"
split -n "l/$SLICES" "$DIR/data/rows.sql" "$DIR/data/slice."

# One copy filled slice by slice: TABLE LABEL. Per slice the rows/s (wall clock: the 2 clients keep PostgreSQL
# busy) and PostgreSQL's CPU per row (read once the clients' backends have exited and been reaped).
grow() {
	local t=$1 label=$2 i=0 pg0 pg1 n0 n1=0 t0 t1 cost rate r_first c_first
	for s in "$DIR"/data/slice.*; do
		i=$((i + 1))
		sed "s/^INSERT INTO bench_readings /INSERT INTO $t /" "$s" >"$DIR/cur.sql"
		split -n l/2 "$DIR/cur.sql" "$DIR/cur.part."
		n0=$n1
		pg0=$(pg_cpu_us)
		t0=$(date +%s%N)
		for p in "$DIR"/cur.part.*; do sql -f "$p" >/dev/null & done
		wait
		t1=$(date +%s%N)
		settle
		pg1=$(pg_cpu_us)
		n1=$(sql -c "SELECT count(*) FROM $t")
		rm -f "$DIR"/cur.part.*
		cost=$(div $((pg1 - pg0)) $((n1 - n0)))
		rate=$(( (n1 - n0) * 1000000000 / (t1 - t0) ))
		[ "$i" = 1 ] && { r_first=$rate; c_first=$cost; }
		echo "  $label, slice $i: $n1 rows, $rate rows/s, $cost us of PostgreSQL per row"
	done
	figure "$label: rows/s, first $((ROWS / SLICES)) rows" "$r_first" "rows/s"
	figure "$label: rows/s, last $((ROWS / SLICES)) rows" "$rate" "rows/s"
	figure "$label: rows/s, last / first" "$(ratio "$rate" "$r_first")" "(1.00: no slowdown)"
	figure "$label: PostgreSQL CPU per row, first / last" "$c_first / $cost" "us"
	figure "$label: size of all indexes at $ROWS rows" "$(sql -c "SELECT round(pg_indexes_size('$t') / 1048576.0)")" "MB"
}
copy() { # TABLE: a fresh copy of meter_readings, autovacuum off (nothing but the INSERTs works on it)
	sql -c "CREATE TABLE $1 (LIKE meter_readings INCLUDING ALL) WITH (autovacuum_enabled = false)" -c "CHECKPOINT"
}
excl_index() { sql -c "SELECT conindid::regclass FROM pg_constraint WHERE conrelid = '$1'::regclass AND contype = 'x'"; }

sb=$(sql -c "SHOW shared_buffers")
echo "the table as it is (shared_buffers $sb)"
copy growth_as_is
grow growth_as_is "as is, shared_buffers $sb"
figure "as is: the exclusion constraint's index at $ROWS rows" "$(mb "$(excl_index growth_as_is)")" "MB"
sql -c "DROP TABLE growth_as_is" -c "CHECKPOINT"

echo "without the exclusion constraint (shared_buffers $sb)"
copy growth_noexcl
sql -c "ALTER TABLE growth_noexcl DROP CONSTRAINT $(sql -c "SELECT conname FROM pg_constraint WHERE conrelid = 'growth_noexcl'::regclass AND contype = 'x'")"
grow growth_noexcl "without the exclusion, shared_buffers $sb"
sql -c "DROP TABLE growth_noexcl" -c "CHECKPOINT"

echo "the table as it is, shared_buffers $BIG_SB"
sql -c "ALTER SYSTEM SET shared_buffers = '$BIG_SB'" >/dev/null
"$ROOT/test/stack" stop "$DIR" postgres >/dev/null
"$ROOT/test/stack" start "$DIR" postgres >/dev/null
copy growth_big
grow growth_big "as is, shared_buffers $(sql -c "SHOW shared_buffers")"
