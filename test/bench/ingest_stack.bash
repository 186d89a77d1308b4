# test/bench/ingest_stack.bash: what the ingest benchmarks share (not a benchmark: test/bench/run runs *.sh):
# the stack they run against and how ingestd's processes are found and weighed. Sourced by ingest.sh and
# ingest_memory.sh once ROOT, GTX_BIN and PSQL are set.
# shellcheck shell=bash

# ingest_stack_up NAME TOOL...: checks that each TOOL is there, then starts PostgreSQL, Redis and ingestd in a
# fresh DIR (stopped and removed at exit) with the benchmark settings for ingestd: quiet logs, no per-meter or
# per-address rate limit (the fleet is synthetic, and wrk sends everything from one address); sets DIR and the
# stack's environment, and loads common.bash.
ingest_stack_up() {
	local name=$1 t
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "$name: missing $t (make all; apt-get install wrk)" >&2; exit 1; }
	done
	DIR=$(mktemp -d -t gtx-bench-XXXXXX)
	trap '"$ROOT/test/stack" down "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
	export INGESTD_WORKERS=${BENCH_WORKERS:-0}
	export LOG_LEVEL=warning INGESTD_METER_RATE_PER_MIN=100000000 INGESTD_METER_RATE_BURST=100000000 \
		INGESTD_ADDR_RATE_PER_SEC=10000000 INGESTD_ADDR_RATE_BURST=10000000
	"$ROOT/test/stack" up "$DIR" postgres redis ingestd >/dev/null
	# shellcheck disable=SC1091
	. "$DIR/env"
	# shellcheck source=test/bench/common.bash
	. "$ROOT/test/bench/common.bash"
}

# ingestd and its worker processes (not ingestd-ws, which serves no meter).
pids() {
	local main
	main=$(cat "$DIR/ingestd.pid")
	echo "$main"
	ps -o pid=,comm= --ppid "$main" | awk '$2 == "ingestd" { print $1 }'
}
# their resident memory together, in KiB
rss() { pids | xargs ps -o rss= -p | awk '{ s += $1 } END { print s }'; }
# three decimals: a ratio just under its target (0.496) must not print as the target (0.50)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
