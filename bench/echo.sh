#!/usr/bin/env bash
# Echo tools/call under wrk, Switchyard and nginx (same answer bytes) side by side in one run:
# nginx answering itself (one hop) and nginx relaying to itself over a Unix socket (two hops,
# Switchyard's shape: bench/nginx-relay.conf).
#   bench/echo.sh [CONNECTIONS=3000] [SECONDS=30]
# The load generator shares the machine's cores with the server: quote the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-3000}
SECS=${2:-30}
THREADS=${THREADS:-2}
SY_PORT=${SY_PORT:-18181}
NG_PORT=${NG_PORT:-18182}
NR_PORT=${NR_PORT:-18183}
BIN=${SWITCHYARD_BIN:-.build/release/switchyard}
FRONTS=${FRONTS:-2}
EXECUTORS=${EXECUTORS:-2}
work=$(mktemp -d /tmp/sybench-XXXXXX)
# nginx's workers run as another user when started by root: they must reach the relay's socket.
chmod 711 "$work"
cleanup() {
  for p in "${SY_PID:-}" "${NG_PID:-}" "${NR_PID:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true

# A process and all its descendants.
tree() { local p=$1; echo "$p"; for c in $(pgrep -P "$p"); do tree "$c"; done; }
# Peak RSS (VmHWM, KiB) summed over a process tree; CPU ticks (user+sys) likewise.
peak_rss() { local total=0; for p in $(tree "$1"); do v=$(awk '/VmHWM/{print $2}' /proc/$p/status 2>/dev/null || echo 0); total=$((total + ${v:-0})); done; echo $total; }
cpu_ticks() { local total=0; for p in $(tree "$1"); do t=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); total=$((total + ${t:-0})); done; echo $total; }

sed -e "s|@PREFIX@|$work|g" -e "s|@PORT@|$NG_PORT|g" -e "s|@WORKERS@|${NGINX_WORKERS:-$FRONTS}|g" bench/nginx.conf > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" 2>"$work/nginx.err" & NG_PID=$!
sed -e "s|@PREFIX@|$work|g" -e "s|@PORT@|$NR_PORT|g" -e "s|@WORKERS@|${NGINX_WORKERS:-$FRONTS}|g" bench/nginx-relay.conf \
  > "$work/nginx-relay.conf"
nginx -c "$work/nginx-relay.conf" -p "$work" 2>"$work/nginx-relay.err" & NR_PID=$!

"$BIN" serve --port "$SY_PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run" >"$work/sy.out" 2>"$work/sy.err" & SY_PID=$!
for _ in $(seq 100); do grep -q "serving MCP" "$work/sy.out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP" "$work/sy.out" || { echo "switchyard did not start"; cat "$work/sy.err"; exit 1; }

SESSION=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' \
  "http://127.0.0.1:$SY_PORT/mcp" | awk 'tolower($1)=="mcp-session-id:"{print $2}' | tr -d '\r')
[ -n "$SESSION" ] || { echo "no session"; exit 1; }
export SESSION

run() { # name port root-pid
  local c0; c0=$(cpu_ticks "$3")
  local out; out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 10s -s bench/echo.lua "http://127.0.0.1:$2/mcp" 2>&1)
  local c1; c1=$(cpu_ticks "$3")
  local line; line=$(echo "$out" | grep '^RESULT')
  local rps; rps=$(echo "$line" | sed 's/.*rps=\([0-9]*\).*/\1/')
  local reqs; reqs=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/')
  local cpu_s; cpu_s=$(awk -v t=$((c1 - c0)) 'BEGIN{printf "%.1f", t/100}')
  local per_cpu; per_cpu=$(awk -v r="$reqs" -v c="$cpu_s" 'BEGIN{ if (c > 0) printf "%.0f", r/c; else print "n/a"}')
  echo "$1 $line server_cpu_s=$cpu_s req_per_cpu_s=$per_cpu peak_rss_kib=$(peak_rss "$3")"
  echo "$out" | grep -E "Non-2xx|Socket errors" || true
}
echo "# echo tools/call, $CONNS connections, ${SECS}s, wrk -t$THREADS on the same $(nproc)-core machine"
run nginx "$NG_PORT" "$NG_PID" | tee "$work/ng.txt"
run nginx-relay "$NR_PORT" "$NR_PID" | tee "$work/nr.txt"
run switchyard "$SY_PORT" "$SY_PID" | tee "$work/sy.txt"
ng=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' "$work/ng.txt" | head -1)
sy=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' "$work/sy.txt" | head -1)
nr=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' "$work/nr.txt" | head -1)
awk -v a="$sy" -v b="$ng" 'BEGIN{ printf "ratio switchyard/nginx throughput: %.2f\n", a/b }'
awk -v a="$sy" -v b="$nr" 'BEGIN{ printf "ratio switchyard/nginx-relay (two hops) throughput: %.2f\n", a/b }'
sy_cpu=$(sed -n 's/.*req_per_cpu_s=\([0-9]*\).*/\1/p' "$work/sy.txt" | head -1)
ng_cpu=$(sed -n 's/.*req_per_cpu_s=\([0-9]*\).*/\1/p' "$work/ng.txt" | head -1)
nr_cpu=$(sed -n 's/.*req_per_cpu_s=\([0-9]*\).*/\1/p' "$work/nr.txt" | head -1)
awk -v a="$sy_cpu" -v b="$ng_cpu" -v c="$nr_cpu" \
  'BEGIN{ printf "ratio switchyard/nginx per server CPU-second: %.2f; switchyard/nginx-relay: %.2f\n", a/b, a/c }'
if grep -q "level=error" "$work/sy.err"; then echo "server logged errors:"; grep "level=error" "$work/sy.err" | head; fi
