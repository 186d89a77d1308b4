#!/usr/bin/env bash
# ingest.sh: ingestd throughput against the local stack (synchronous commit on): single-reading POSTs with wrk,
# at 64 connections and at a fleet's concurrency (256: a closed loop of 64 caps the readings a group commit can
# gather), the batch endpoint, and raw multi-row INSERTs of the same batch rows straight into PostgreSQL for comparison
# (INSERT ... ON CONFLICT DO NOTHING, the yardstick of issue #15; also without the exclusion constraint, and without
# ON CONFLICT, for what each costs).
# Also the cost side, in the same run: ingestd's CPU time per accepted reading against one Ed25519 verification
# (build/rel/edverify: libsodium, one signature at a time, on this CPU; ingestd checks signatures in batches,
# and what one costs there is printed too), and ingestd's RSS before and after sustained load (every ingestd process:
# the workers too), and the ceiling of each ratio on this machine: the rate if every core did nothing but
# PostgreSQL's measured work per row plus ingestd's signature check; for the single runs, what Redis, ingestd-ws and wrk
# cost per reading on the same cores, and all of it together. A busy host's speed moves by 10-60% in minutes,
# more than the gaps to the targets: so the raw INSERTs run before, between and after the POST runs, each POST
# run is compared with the raw runs on either side of it, and the fastest raw run against the slowest shows the
# drift; the verification runs at the end too, and the CPU ratios use the lesser of the two. Last, where single
# POSTs wait: the 64-connection run again with PostgreSQL's fsync off (a diagnostic, no target). Prints
# FIGURE lines (see test/bench/run).
# Knobs: BENCH_SECS, BENCH_SINGLE, BENCH_BATCH_READINGS, BENCH_BACKLOG_READINGS, BENCH_CONNS, BENCH_FLEET_CONNS,
# BENCH_BATCH_CONNS, BENCH_THREADS, BENCH_RAW_CLIENTS, BENCH_WORKERS (INGESTD_WORKERS, default 0: one per core); BENCH_PERF=FILE records ingestd's profile (perf record -g)
# during the single-reading run, for `perf report -i FILE`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export GTX_BIN=${GTX_BIN:-$ROOT/build/rel}
SECS=${BENCH_SECS:-10}
SINGLE=${BENCH_SINGLE:-600000}
BATCH=${BENCH_BATCH_READINGS:-500000}
BACKLOG=${BENCH_BACKLOG_READINGS:-250000}
CONNS=${BENCH_CONNS:-64}
FLEET=${BENCH_FLEET_CONNS:-256}
BCONNS=${BENCH_BATCH_CONNS:-8}
THREADS=${BENCH_THREADS:-2}
RAW=${BENCH_RAW_CLIENTS:-4}
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)

# shellcheck source=test/bench/ingest_stack.bash
. "$ROOT/test/bench/ingest_stack.bash"
ingest_stack_up ingest.sh wrk "$GTX_BIN/ingestd" "$GTX_BIN/readings" "$GTX_BIN/edverify"
# user + system CPU of those processes (or of PostgreSQL's: pg_pids), in microseconds
TCK=$(getconf CLK_TCK)
cpu_us() {
	for p in $(pids); do { sed "s/.*) //" "/proc/$p/stat" 2>/dev/null || true; }; done |
		awk -v t="$TCK" '{ s += $12 + $13 } END { printf "%.0f", s * 1000000 / t }'
}
# Redis's and ingestd-ws's (the rest of the stack on these cores)
rest_cpu_us() {
	for p in $(cat "$DIR/redis.pid") $(ps -o pid=,comm= --ppid "$(cat "$DIR/ingestd.pid")" | awk '$2 == "ingestd-ws" { print $1 }'); do
		{ sed "s/.*) //" "/proc/$p/stat" 2>/dev/null || true; }
	done | awk -v t="$TCK" '{ s += $12 + $13 } END { printf "%.0f", s * 1000000 / t }'
}
# user + system CPU of this shell's finished children (wrk, once it has exited), in microseconds: `times` must run
# in this shell (in a $(...) subshell it would report the subshell's children), so it writes to a file.
child_cpu_us() { awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } } END { printf "%.0f", s * 1000000 }' "$DIR/times"; }
# the machine's idle share (0..1) since the last call of idle_mark
idle_mark() { read -r _ u n sy id rest </proc/stat; idle_t=$id; all_t=$((u + n + sy + id)); }
idle_share() {
	local u n sy id rest
	read -r _ u n sy id rest </proc/stat
	awk -v i=$((id - idle_t)) -v a=$((u + n + sy + id - all_t)) 'BEGIN { printf "%.2f", (a > 0 ? i / a : 0) }'
}
count() { sql -c "SELECT count(*) FROM $1"; }
# ingestd's signature checks and group commits so far, every worker's: "SIGNATURES BATCHES NANOSECONDS ROWS
# GROUPS" (ingestd_signature*, ingestd_group_commit_rows)
vsample() {
	curl -fsS "$INGESTD_URL/metrics" | awk '$1 == "ingestd_signatures_checked_total" { n = $2 }
		$1 == "ingestd_signature_batches_total" { b = $2 }
		$1 == "ingestd_signature_check_cpu_seconds_total" { split($2, p, "."); ns = p[1] * 1000000000 + p[2] }
		$1 == "ingestd_group_commit_rows_sum" { rs = $2 }
		$1 == "ingestd_group_commit_rows_count" { gc = $2 }
		END { printf "%.0f %.0f %.0f %.0f %.0f", n, b, ns, rs, gc }'
}
# vdelta A B I J: between two vsample outputs A and B, the growth of field I over the growth of field J, one decimal
vdelta() { awk -v a="$1" -v b="$2" -v i="$3" -v j="$4" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[j] - x[j]
	printf "%.1f", (n > 0 ? (y[i] - x[i]) / n : 0) }'; }
# between two vsample outputs: the mean CPU time per signature checked, in microseconds (vmean), the
# signatures per batch (vbatch) and the readings per group-commit INSERT (vgroup)
vmean() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[1] - x[1]
	printf "%.2f", (n > 0 ? (y[3] - x[3]) / n / 1000 : 0) }'; }
vbatch() { vdelta "$1" "$2" 1 2; }
vgroup() { vdelta "$1" "$2" 4 5; }

echo "signing $SINGLE single readings and $BATCH batch readings..."
mkdir -p "$DIR/data"
"$GTX_BIN/readings" -o "$DIR/data" -s "$SINGLE" -b "$BATCH" -k 1000
sql -f "$DIR/data/meters.sql"
# Backlogs: batches of 1000 readings from 10 meters, each meter's 100 (a day at 15 minutes) in a row.
mkdir -p "$DIR/backlog"
"$GTX_BIN/readings" -o "$DIR/backlog" -s 0 -b "$BACKLOG" -k 1000 -r 100 -m -p BACKLOG
sql -f "$DIR/backlog/meters.sql"
# The same table definition (checks, exclusion constraint, indexes; not the foreign key) for the raw INSERTs.
sql -c "CREATE TABLE bench_readings (LIKE meter_readings INCLUDING ALL)"
echo "synchronous_commit=$(sql -c 'SHOW synchronous_commit') fsync=$(sql -c 'SHOW fsync') ingestd workers=$(($(pids | wc -l) > 1 ? $(pids | wc -l) - 1 : 1))"

# wrk prints its own summary; ours is the WRK line from ingest.lua's done().
run_wrk() { # FILE CONNS PATH
	wrk -t"$THREADS" -c"$2" -d"${SECS}s" --timeout 10s -s "$ROOT/test/bench/ingest.lua" "$INGESTD_URL" \
		-- "$1" "$THREADS" "$3" | tee "$DIR/wrk.out" | sed -n 's/^WRK //p'
}
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$DIR/wrk.out"; }
rate() { awk -v n="$1" -v d="$2" 'BEGIN { printf "%d", n * 1000000 / d }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

verify_start=$("$GTX_BIN/edverify")
echo "one Ed25519 verification: $verify_start us of CPU"
per() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.1f", (n > 0 ? c / n : 0) }'; }

# One raw run: the row files (already pointing at TABLE) from $RAW clients at once; sets r_rows, r_rate (rows/s)
# and r_pg (PostgreSQL us per row).
raw_run() {
	local pg0 pg1 t0 t1
	pg0=$(pg_cpu_us)
	t0=$(date +%s%N)
	for p in "$DIR"/data/rows.part.*; do sql -f "$p" >/dev/null & done
	wait
	t1=$(date +%s%N)
	pg1=$(pg_cpu_us)
	r_rows=$(count "$1")
	r_rate=$(( r_rows * 1000000000 / (t1 - t0) ))
	r_pg=$(per $((pg1 - pg0)) "$r_rows")
}
split -n "l/$RAW" "$DIR/data/rows.sql" "$DIR/data/rows.part."
# The row files name their table: point them at TABLE.
raw_into() { for p in "$DIR"/data/rows.part.*; do sed -i "s/INSERT INTO bench_[a-z0-9_]* /INSERT INTO $1 /" "$p"; done; }
# The yardstick is measured around every POST run, not once: the host's speed drifts by 10-30% over a run of
# minutes (one run here: 24,759 raw rows/s before the POSTs, 32,233 after), more than the gaps to the targets.
# So a raw run goes before the 64-connection POSTs, between each two POST runs and after the batches, and each
# POST run is compared with the mean of the two raw runs on either side of it. Each raw run between POSTs goes
# into a fresh copy of the table of its own, dropped afterwards with a checkpoint, so that neither autovacuum
# nor the checkpointer works on its rows during the next POSTs; the last one goes into bench_readings, as the
# copies without the constraint and without ON CONFLICT below. Sets r_rate.
raw_bracket() { # TABLE
	sql -c "CREATE TABLE $1 (LIKE meter_readings INCLUDING ALL) WITH (autovacuum_enabled = false)"
	raw_into "$1"
	raw_run "$1"
	raw_into bench_readings
	sql -c "DROP TABLE $1" -c "CHECKPOINT"
}
mean() { echo $((($1 + $2) / 2)); }
echo "raw multi-row INSERTs before the POSTs (1000 per statement, $RAW clients, a copy of their own)"
raw_bracket bench_raw0
raw0=$r_rate
rss0=$(rss)
# One run of single-reading POSTs: FILE CONNS LABEL; sets s_rate (rows stored/s), s_cpu (ingestd us per reading)
# and s_pg (PostgreSQL us per row) and prints the run's figures.
single_run() {
	local rows0 rows1 cpu0 cpu1 pg0 pg1 rest0 rest1 wrk0 wrk1 req dur idle n v0 v1
	rows0=$(count meter_readings)
	v0=$(vsample)
	cpu0=$(cpu_us)
	pg0=$(pg_cpu_us)
	rest0=$(rest_cpu_us)
	idle_mark
	echo "single-reading POSTs: $2 connections, $THREADS threads, ${SECS}s"
	if [ -n "${BENCH_PERF:-}" ] && [ "$2" = "$CONNS" ]; then
		perf record -q -F 999 -g -p "$(pids | paste -sd,)" -o "$BENCH_PERF" -- sleep $((SECS - 1)) >/dev/null 2>&1 &
	fi
	times >"$DIR/times"
	wrk0=$(child_cpu_us)
	run_wrk "$1" "$2" /api/meters/submit-reading
	times >"$DIR/times"
	wrk1=$(child_cpu_us)
	req=$(field requests); dur=$(field duration_us)
	rows1=$(count meter_readings)
	cpu1=$(cpu_us)
	pg1=$(pg_cpu_us)
	rest1=$(rest_cpu_us)
	idle=$(idle_share)
	n=$((rows1 - rows0))
	s_rate=$(rate "$n" "$dur")
	s_cpu=$(per $((cpu1 - cpu0)) "$n")
	s_pg=$(per $((pg1 - pg0)) "$n")
	v1=$(vsample)
	s_verify=$(vmean "$v0" "$v1")
	figure "single POST$3: signatures per batch checked" "$(vbatch "$v0" "$v1")" "signatures"
	figure "single POST$3: readings per group commit" "$(vgroup "$v0" "$v1")" "rows"
	figure "single POST$3: Redis and ingestd-ws CPU per reading" "$(per $((rest1 - rest0)) "$n")" "us"
	figure "single POST$3: wrk CPU per reading" "$(per $((wrk1 - wrk0)) "$n")" "us"
	figure "single POST$3: all CPU per reading (ingestd, PostgreSQL, Redis, ws, wrk)" \
		"$(per $((cpu1 - cpu0 + pg1 - pg0 + rest1 - rest0 + wrk1 - wrk0)) "$n")" "us"
	figure "single POST$3 requests/s" "$(rate "$req" "$dur")" "req/s"
	figure "single POST$3 readings stored/s" "$s_rate" "rows/s"
	figure "single POST$3 latency p50" "$(ms "$(field p50_us)")" "ms"
	figure "single POST$3 latency p99" "$(ms "$(field p99_us)")" "ms"
	figure "single POST$3 non-2xx answers" "$(field non2xx)" "responses"
	figure "machine idle during single run$3" "$idle" "share"
}
# Thirds of distinct readings (the 64- and 256-connection runs, and the diagnostic run at the end): a reading
# posted twice is a replay, not a stored row.
split -n l/3 "$DIR/data/single.txt" "$DIR/data/single.third."
single_run "$DIR/data/single.third.aa" "$CONNS" ""
single_rate=$s_rate single_cpu=$s_cpu single_pg=$s_pg single_verify=$s_verify
echo "raw multi-row INSERTs between the POST runs"
raw_bracket bench_raw1
raw1=$r_rate
single_run "$DIR/data/single.third.ab" "$FLEET" ", $FLEET connections"
fleet_rate=$s_rate fleet_cpu=$s_cpu fleet_pg=$s_pg fleet_verify=$s_verify
rss1=$(rss)
echo "raw multi-row INSERTs between the POST runs"
raw_bracket bench_raw2
raw2=$r_rate
rows1=$(count meter_readings)

# Two halves of distinct readings, to see whether memory keeps growing under sustained load.
half=$(( ($(wc -l <"$DIR/data/batch.txt") + 1) / 2 ))
split -l "$half" "$DIR/data/batch.txt" "$DIR/data/batch.half."
bsecs=$(( (SECS + 1) / 2 ))
bdur=0
p99=0
cpu2=$(cpu_us)
pg2=$(pg_cpu_us)
bv0=$(vsample)
idle_mark
for part in "$DIR"/data/batch.half.*; do
	echo "batch POSTs of 1000 readings: $BCONNS connections, ${bsecs}s ($(basename "$part"))"
	SECS=$bsecs run_wrk "$part" "$BCONNS" /api/meters/readings/batch
	bdur=$((bdur + $(field duration_us)))
	[ "$(field p99_us)" -gt "$p99" ] && p99=$(field p99_us)
	figure "ingestd RSS after batch $(basename "$part" | sed 's/.*\.//')" "$(rss)" "KiB"
done
rows2=$(count meter_readings)
cpu3=$(cpu_us)
pg3=$(pg_cpu_us)
batch_idle=$(idle_share)
batch_rate=$(rate $((rows2 - rows1)) "$bdur")
batch_cpu=$(per $((cpu3 - cpu2)) $((rows2 - rows1)))
batch_pg=$(per $((pg3 - pg2)) $((rows2 - rows1)))
bv1=$(vsample)
batch_verify=$(vmean "$bv0" "$bv1")
figure "batch: signatures per batch checked" "$(vbatch "$bv0" "$bv1")" "signatures"
figure "batch: readings per group commit" "$(vgroup "$bv0" "$bv1")" "rows"
figure "batch readings stored/s" "$batch_rate" "rows/s"
figure "batch request latency p99" "$(ms "$p99")" "ms"

echo "raw multi-row INSERTs of the same batch rows after the POSTs (1000 per statement, $RAW clients)"
raw_run bench_readings
raw3=$r_rate raw_pg=$r_pg
# each POST run's yardstick: the raw runs just before and just after it
single_raw=$(mean "$raw0" "$raw1") fleet_raw=$(mean "$raw1" "$raw2") batch_raw=$(mean "$raw2" "$raw3")

# Batches of meters' backlogs (what a region sends after an outage): what ingestd spends per reading and per
# signature when one key signed many of a batch, against the batches above (one reading per meter).
rows4=$(count meter_readings)
cpu4=$(cpu_us)
bv2=$(vsample)
echo "batch POSTs of meters' backlogs (10 meters x 100 readings each): $BCONNS connections, ${bsecs}s"
SECS=$bsecs run_wrk "$DIR/backlog/batch.txt" "$BCONNS" /api/meters/readings/batch
cpu5=$(cpu_us)
rows5=$(count meter_readings)
bv3=$(vsample)
backlog_cpu=$(per $((cpu5 - cpu4)) $((rows5 - rows4)))
backlog_verify=$(vmean "$bv2" "$bv3")
figure "backlog batch readings stored/s" "$(rate $((rows5 - rows4)) "$(field duration_us)")" "rows/s"
figure "backlog batch non-2xx answers" "$(field non2xx)" "responses"
# What the duplicate-window exclusion constraint costs: the same rows again into a copy without it.
echo "the same raw INSERTs into a copy of the table without the exclusion constraint"
sql -c "CREATE TABLE bench_noexcl (LIKE meter_readings INCLUDING ALL)"
sql -c "SELECT format('ALTER TABLE bench_noexcl DROP CONSTRAINT %I', conname) FROM pg_constraint
	WHERE conrelid = 'bench_noexcl'::regclass AND contype = 'x'" | sql >/dev/null
raw_into bench_noexcl
raw_run bench_noexcl
noexcl_pg=$r_pg
# What ON CONFLICT DO NOTHING costs (ingestd writes a group without it unless a reading collides): the same
# rows into a third copy, with the constraint, as plain INSERTs.
echo "the same raw INSERTs without ON CONFLICT DO NOTHING"
sql -c "CREATE TABLE bench_plain (LIKE meter_readings INCLUDING ALL)"
raw_into bench_plain
for p in "$DIR"/data/rows.part.*; do sed -i 's/ ON CONFLICT DO NOTHING;$/;/' "$p"; done
raw_run bench_plain
plain_rate=$r_rate plain_pg=$r_pg
figure "raw INSERT rows/s, before the single POSTs" "$raw0" "rows/s"
figure "raw INSERT rows/s, between the 64- and $FLEET-connection POSTs" "$raw1" "rows/s"
figure "raw INSERT rows/s, between the single and the batch POSTs" "$raw2" "rows/s"
figure "raw INSERT rows/s, after the batch POSTs" "$raw3" "rows/s"
figure "raw INSERT without ON CONFLICT rows/s" "$plain_rate" "rows/s"
figure "host drift: the fastest raw INSERT run / the slowest" \
	"$(printf '%s\n' "$raw0" "$raw1" "$raw2" "$raw3" | awk 'NR == 1 || $1 < lo { lo = $1 } $1 > hi { hi = $1 } END { printf "%.3f", hi / lo }')" \
	"(1.000: a steady host)"
figure "single POST / raw INSERT" "$(ratio "$single_rate" "$single_raw")" "(target >= 0.5; raw: the runs before and after)"
figure "single POST, $FLEET connections / raw INSERT" "$(ratio "$fleet_rate" "$fleet_raw")" "(target >= 0.5; the same)"
figure "batch / raw INSERT" "$(ratio "$batch_rate" "$batch_raw")" "(target >= 0.8; the same)"
# The verification once more, at the end. What one costs on this CPU is the lesser of the two: a busy host only
# ever adds to it (one run here measured 87 us at the start and 55 us at the end), and the lesser is the one
# that makes the CPU ratios hardest to meet.
verify_end=$("$GTX_BIN/edverify")
verify_us=$(awk -v a="$verify_start" -v b="$verify_end" 'BEGIN { print (b < a ? b : a) }')
# What no ingestd could beat here: every core busy with PostgreSQL's measured CPU per row plus the signature
# check as ingestd did it in that run (in batches: CPU per signature inside the daemon), with no HTTP, no Redis
# and no load generator, against the run's raw yardstick.
ceiling() { awk -v c="$(nproc)" -v p="$1" -v v="$2" -v r="$3" 'BEGIN { printf "%.2f", c * 1e6 / (p + v) / r }'; }
figure "ceiling of single POST / raw INSERT here" "$(ceiling "$single_pg" "$single_verify" "$single_raw")" "(PostgreSQL + the signature check per row)"
figure "ceiling of single POST, $FLEET connections / raw INSERT here" "$(ceiling "$fleet_pg" "$fleet_verify" "$fleet_raw")" "(the same)"
figure "ceiling of batch / raw INSERT here" "$(ceiling "$batch_pg" "$batch_verify" "$batch_raw")" "(the same)"
figure "one Ed25519 verification" "$verify_us" "us CPU (the lesser of the two below)"
figure "one Ed25519 verification, start of run" "$verify_start" "us CPU"
figure "one Ed25519 verification, end of run" "$verify_end" "us CPU"
figure "host drift: verification at the end / at the start" "$(ratio "$verify_end" "$verify_start")" "(1.000: a steady host)"
figure "ingestd CPU per accepted reading, single" "$single_cpu" "us"
figure "ingestd CPU per accepted reading, single, $FLEET connections" "$fleet_cpu" "us"
figure "ingestd CPU per accepted reading, batch" "$batch_cpu" "us"
figure "ingestd CPU per accepted reading, backlog batch" "$backlog_cpu" "us"
figure "ingestd CPU per reading / verification, single" "$(ratio "$single_cpu" "$verify_us")" "(target <= 1.5)"
figure "ingestd CPU per reading / verification, single, $FLEET connections" "$(ratio "$fleet_cpu" "$verify_us")" "(target <= 1.5)"
figure "ingestd CPU per reading / verification, batch" "$(ratio "$batch_cpu" "$verify_us")" "(target <= 1.5)"
# What ingestd's signature checks cost per signature: batches of 64 in a quiet loop (build/rel/edverify -b 64),
# also when all 64 are by one key (-k 1: a meter's backlog in one batch request, where the key's term is
# shared), and inside the loaded daemon in each run (thread CPU time of every batch, whatever its size): what
# the rest of the work and PostgreSQL on the same cores do to it.
sig64=$("$GTX_BIN/edverify" -b 64)
sig64k1=$("$GTX_BIN/edverify" -b 64 -k 1)
figure "one signature in batches of 64, quiet loop" "$sig64" "us CPU"
figure "one signature in batches of 64 by one key, quiet loop" "$sig64k1" "us CPU"
figure "batches of 64: one key / 64 keys" "$(ratio "$sig64k1" "$sig64")" "per signature"
figure "signature check inside ingestd, single" "$single_verify" "us CPU per signature"
figure "signature check inside ingestd, single, $FLEET connections" "$fleet_verify" "us CPU per signature"
figure "signature check inside ingestd, batch" "$batch_verify" "us CPU per signature"
figure "signature check inside ingestd, backlog batch" "$backlog_verify" "us CPU per signature"
figure "signature check inside ingestd, backlog batch / batch" "$(ratio "$backlog_verify" "$batch_verify")" "per signature"
figure "PostgreSQL CPU per row, single" "$single_pg" "us"
figure "PostgreSQL CPU per row, single, $FLEET connections" "$fleet_pg" "us"
figure "PostgreSQL CPU per row, batch" "$batch_pg" "us"
figure "PostgreSQL CPU per row, raw INSERT" "$raw_pg" "us"
figure "PostgreSQL CPU per row, raw INSERT without the exclusion constraint" "$noexcl_pg" "us"
figure "PostgreSQL CPU per row, raw INSERT without ON CONFLICT" "$plain_pg" "us"
figure "machine idle during batch run" "$batch_idle" "share"
figure "ingestd RSS before load" "$rss0" "KiB"
figure "ingestd RSS after single run" "$rss1" "KiB"
figure "ingestd RSS after both batch halves" "$(rss)" "KiB"

# Where single POSTs wait: the 64-connection run once more with PostgreSQL's fsync off. A diagnostic, no
# target uses it (ingestd refuses synchronous_commit off: a 2xx must mean durable); the idle share it leaves
# against the first run's is what the WAL flush of every group commit costs the closed loop, during which
# nothing in it has work (interleaved runs here: 0.15-0.16 idle with fsync, 0.05-0.06 without). Its rate is
# not set against the first run's: no raw run brackets it, and the host drifts more between the two than the
# flush costs (two runs here: 1.17 and 1.03 times as fast, the second on a host 1.18 times slower per reading).
sql -c "ALTER SYSTEM SET fsync = off" -c "SELECT pg_reload_conf()" >/dev/null
single_run "$DIR/data/single.third.ac" "$CONNS" ", fsync off (diagnostic)"
sql -c "ALTER SYSTEM RESET fsync" -c "SELECT pg_reload_conf()" >/dev/null
