# test/bench/common.bash: helpers the benchmarks share (not a benchmark: test/bench/run runs *.sh); sourced after the stack's env, DIR and PSQL are set.
# shellcheck shell=bash
sql() { "$PSQL" -qAtX "$DATABASE_URL" -v ON_ERROR_STOP=1 "$@"; }
figure() { printf 'FIGURE\t%s\t%s\t%s\n' "$1" "$2" "$3"; }
now_ms() { date +%s%3N; }
# PostgreSQL's CPU so far, in microseconds: its live processes, and the postmaster's own with its exited children's
# (the backends of clients that have gone).
pg_cpu_us() {
	local pm t
	pm=$(cat "$DIR/postgres.pid")
	t=$(getconf CLK_TCK)
	{ sed 's/.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }'
	  for p in $(ps -o pid= --ppid "$pm"); do { sed "s/.*) //" "/proc/$p/stat" 2>/dev/null || true; } | awk '{ print $12 + $13 }'; done
	} | awk -v t="$t" '{ s += $1 } END { printf "%.0f", s * 1000000 / t }'
}
# a / b rounded to one decimal, in integer arithmetic (lamports are integers; no floats near amounts)
div() {
	local a=$1 b=$2 t sign=
	[ "$a" -ge 0 ] || { sign=-; a=$((-a)); }
	if [ "$b" -gt 0 ]; then
		t=$(((a * 10 + b / 2) / b))
		printf '%s%d.%d' "$sign" $((t / 10)) $((t % 10))
	else
		printf 0
	fi
}
# Auto-mint on or off, as the admin API does it (the setting, then the notification mintd listens for).
auto() { sql -c "UPDATE settings SET value = '$1' WHERE key = 'auto_mint_enabled'" \
	-c "SELECT pg_notify('gridtokenx_control', '{\"action\":\"auto_mint\",\"enabled\":$1}')" >/dev/null; }
# One gauge or counter of mintd's /metrics, by exact name (no labels).
metric() { curl -fsS "$MINTD_URL/metrics" | sed -n "s/^$1 \([0-9]*\)$/\1/p"; }
# Waits until mintd's usable lookup tables hold N token accounts (read back at finalized), unless DIR's
# mintd.env turns tables off.
wait_tables() {
	grep -q '^MINTD_LOOKUP_TABLES=false' "$DIR/mintd.env" && return 0
	until [ "$(metric mintd_lookup_table_accounts)" -ge "$1" ] 2>/dev/null; do sleep 0.5; done
}
