#!/usr/bin/env bash
# Server CPU per echo call, by tier and by user/system time: `switchyard serve` with FRONTS fronts
# and EXECUTORS executors, REQUESTS closed-loop calls over CONNS sessions, the fronts' and the
# executors' utime and stime (from /proc) divided by the calls answered. Per-call CPU moves less
# with the load of the box than throughput does, but it is still time: compare runs taken
# alternately on the same box (e.g. bench/cpu-per-call.sh OLD; bench/cpu-per-call.sh NEW; again).
#   bench/cpu-per-call.sh BIN      (env: REQUESTS=300000 CONNS=1000 FRONTS=1 EXECUTORS=2 PORT=18184
#                                   THREADS=1 GEN=.build/release/switchyard-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1
GEN=${GEN:-.build/release/switchyard-bench}
REQUESTS=${REQUESTS:-300000} CONNS=${CONNS:-1000} FRONTS=${FRONTS:-1} EXECUTORS=${EXECUTORS:-2}
PORT=${PORT:-18184} THREADS=${THREADS:-1}
work=$(mktemp -d /tmp/sy-cpu-XXXXXX)
sy_pid=
cleanup() { [ -n "$sy_pid" ] && kill "$sy_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true
"$BIN" serve --port "$PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run" >"$work/out" 2>"$work/err" & sy_pid=$!
for _ in $(seq 100); do grep -q "serving MCP" "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP" "$work/out" || { echo "switchyard did not start"; cat "$work/err"; exit 1; }
# Ticks (user, system) summed over the children whose command line holds $1 (front or executor).
ticks() {
  local u=0 s=0
  for p in $(pgrep -P "$sy_pid"); do
    [ "$(tr '\0' ' ' < "/proc/$p/cmdline" | awk '{print $2}')" = "$1" ] || continue
    read -r pu ps < <(awk '{print $14, $15}' "/proc/$p/stat")
    u=$((u + pu)); s=$((s + ps))
  done
  echo "$u $s"
}
read -r fu0 fs0 < <(ticks front); read -r eu0 es0 < <(ticks executor)
"$GEN" run --url "http://127.0.0.1:$PORT/mcp" -c "$CONNS" -d 300 --warmup 0 --threads "$THREADS" \
  --max-requests "$REQUESTS" --timeout 30 --json "$work/run.json" > "$work/gen.txt" 2>&1 || { tail -5 "$work/gen.txt"; exit 1; }
read -r fu1 fs1 < <(ticks front); read -r eu1 es1 < <(ticks executor)
ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$work/run.json")
hz=$(getconf CLK_TCK)
awk -v ok="$ok" -v hz="$hz" -v fu=$((fu1 - fu0)) -v fs=$((fs1 - fs0)) -v eu=$((eu1 - eu0)) -v es=$((es1 - es0)) 'BEGIN {
  us = 1e6 / hz / ok
  printf "%d calls; CPU per call, us: front user %.2f sys %.2f | executors user %.2f sys %.2f | total %.2f (%.0f calls per server CPU-second)\n",
    ok, fu * us, fs * us, eu * us, es * us, (fu + fs + eu + es) * us, ok / ((fu + fs + eu + es) / hz) }'
grep 'requests ok' "$work/gen.txt" || true
