#!/usr/bin/env bash
# ws_latency.sh: p50/p99 delay from an event's commit to its delivery to 1,000 connected WebSocket clients.
set -euo pipefail
ulimit -n 8192 2>/dev/null || true
exec node "$(dirname "$0")/ws_latency.mjs" "$@"
