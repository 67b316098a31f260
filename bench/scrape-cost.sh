#!/usr/bin/env bash
# What scraping /metrics once a second costs: closed-loop echo with and without a scraper,
# alternated ROUNDS times on the same server; prints each run and the ratio of the medians.
#   bench/scrape-cost.sh [CONNECTIONS=100] [SECONDS=10] [ROUNDS=3]
# The load generator, the scraper and the server share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-100}; SECS=${2:-10}; ROUNDS=${3:-3}
BIN_DIR=${BIN_DIR:-.build/release}
PORT=${PORT:-18281}; ADMIN=${ADMIN:-18282}
work=$(mktemp -d /tmp/syscrape-XXXXXX)
cleanup() { [ -n "${SY_PID:-}" ] && kill "$SY_PID" 2>/dev/null; [ -n "${SCRAPER:-}" ] && kill "$SCRAPER" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$BIN_DIR/switchyard" serve --port "$PORT" --admin "127.0.0.1:$ADMIN" --run-dir "$work/run" >"$work/out" 2>"$work/err" & SY_PID=$!
for _ in $(seq 100); do grep -q "serving MCP" "$work/out" && break; sleep 0.1; done
run() {
  "$BIN_DIR/switchyard-bench" run --url "http://127.0.0.1:$PORT/mcp" -c "$CONNS" -d "$SECS" --warmup 1 --threads 1 2>/dev/null \
    | sed -n 's/.*requests ok [0-9]* in [0-9.]* s = \([0-9]*\) req\/s.*/\1/p'
}
without=(); with=()
for r in $(seq "$ROUNDS"); do
  without+=("$(run)")
  ( while true; do curl -s -o /dev/null "http://127.0.0.1:$ADMIN/metrics"; sleep 1; done ) & SCRAPER=$!
  with+=("$(run)")
  kill "$SCRAPER"; wait "$SCRAPER" 2>/dev/null || true; SCRAPER=
  echo "round $r: without scraping ${without[-1]} req/s, scraping every second ${with[-1]} req/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
a=$(median "${without[@]}"); b=$(median "${with[@]}")
awk -v a="$a" -v b="$b" 'BEGIN { printf "median without %d, with %d req/s: scraping costs %.1f%% of throughput\n", a, b, (a-b)*100/a }'

# The noise-free part: server CPU spent per scrape (all processes), over 200 back-to-back scrapes.
tree() { local p=$1; echo "$p"; for c in $(pgrep -P "$p"); do tree "$c"; done; }
ticks() { local t=0; for p in $(tree "$SY_PID"); do v=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); t=$((t + v)); done; echo $t; }
t0=$(ticks); s0=$(date +%s%N)
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$ADMIN/metrics"; done
t1=$(ticks); s1=$(date +%s%N)
awk -v t=$((t1 - t0)) -v w=$(( (s1 - s0) / 1000000 )) 'BEGIN { printf "200 scrapes: %.2f ms of server CPU and %.2f ms wall each; once a second that is %.2f%% of one core\n", t*10/200, w/200, t*10/200/10 }'
