#!/usr/bin/env bash
# Large payloads side by side (issue 18, goal 4): Switchyard's echo of SIZE bytes of text against
# the raw two-hop relay (bench/link-baseline.c --relay) at the same concurrency, interleaved:
# ROUNDS rounds of SECONDS of the relay, then SECONDS of Switchyard, so both see the same
# machine load; the ratio of each round, and the median of the rounds.
#   bench/payload-ratio.sh [BIN_DIR]    (env: SIZE=1000000 CONNS=8 ROUNDS=5 SECONDS_=5 FRONTS=2
#                                        EXECUTORS=2 PORT=18195; extra serve options in SERVE_ARGS;
#                                        BEFORE_BIN=another switchyard binary, measured in each round too)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${1:-.build/release}
SIZE=${SIZE:-1000000} CONNS=${CONNS:-8} ROUNDS=${ROUNDS:-5} SECONDS_=${SECONDS_:-5}
FRONTS=${FRONTS:-2} EXECUTORS=${EXECUTORS:-2} PORT=${PORT:-18195}
CC_BIN=${CC:-$(command -v cc || command -v clang || echo cc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/sy-ratio-XXXXXX")
sy_pid= before_pid=
cleanup() {
  [ -n "$sy_pid" ] && { kill "$sy_pid" 2>/dev/null; wait "$sy_pid" 2>/dev/null || true; }
  [ -n "$before_pid" ] && { kill "$before_pid" 2>/dev/null; wait "$before_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
"$CC_BIN" -O2 -o "$work/link-baseline" bench/link-baseline.c
python3 bench/random-args.py "$SIZE" > "$work/args.json"
# shellcheck disable=SC2086
"$BIN_DIR/switchyard" serve --port "$PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run" \
  ${SERVE_ARGS:-} > "$work/sy.out" 2> "$work/sy.err" & sy_pid=$!
for _ in $(seq 150); do grep -q "serving MCP" "$work/sy.out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP" "$work/sy.out" || { echo "switchyard did not start"; tail -5 "$work/sy.err"; exit 1; }
if [ -n "${BEFORE_BIN:-}" ]; then
  # shellcheck disable=SC2086
  "$BEFORE_BIN" serve --port $((PORT + 1)) --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run-before" \
    ${SERVE_ARGS:-} > "$work/before.out" 2> "$work/before.err" & before_pid=$!
  for _ in $(seq 150); do grep -q "serving MCP" "$work/before.out" 2>/dev/null && break; sleep 0.1; done
  grep -q "serving MCP" "$work/before.out" || { echo "BEFORE_BIN did not start"; tail -5 "$work/before.err"; exit 1; }
fi
echo "size=$SIZE connections=$CONNS rounds=$ROUNDS seconds=$SECONDS_ fronts=$FRONTS executors=$EXECUTORS $(git rev-parse --short HEAD 2>/dev/null)"
# One measured run of the server on port $1 (pid $2): "calls/s calls-per-server-CPU-second".
measure() {
  "$BIN_DIR/switchyard-bench" run --url "http://127.0.0.1:$1/mcp" -c "$CONNS" -d "$SECONDS_" --warmup 1 \
    --args-file "$work/args.json" --timeout 30 --server-pid "$2" --json "$work/m.json" > "$work/m.txt" 2>&1 \
    || { echo "port $1 had errors: $(tail -3 "$work/m.txt")" >&2; return 1; }
  python3 -c 'import json,sys; j = json.load(open(sys.argv[1]))
print(round(j["achievedRate"]), round(j.get("server", {}).get("requestsPerCPUSecond", 0)))' "$work/m.json"
}
ratios=() cpu_ratios=() before_ratios=() before_cpu_ratios=()
for r in $(seq "$ROUNDS"); do
  line=$("$work/link-baseline" --size "$SIZE" --inflight "$CONNS" --seconds "$SECONDS_" --relay)
  relay=$(sed -n 's/.*round_trips_per_s=\([0-9]*\).*/\1/p' <<< "$line")
  relay_cpu=$(sed -n 's/.*round_trips_per_server_cpu_s=\([0-9]*\).*/\1/p' <<< "$line")
  read -r sy sy_cpu < <(measure "$PORT" "$sy_pid") || exit 1
  ratio=$(awk -v a="$sy" -v b="$relay" 'BEGIN { printf "%.2f", a / b }')
  cpu_ratio=$(awk -v a="$sy_cpu" -v b="$relay_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  ratios+=("$ratio") cpu_ratios+=("$cpu_ratio")
  echo "round $r: relay $relay round trips/s ($relay_cpu per server CPU-s), switchyard $sy calls/s ($sy_cpu per server CPU-s): ${ratio}x (${cpu_ratio}x per CPU-s)"
  if [ -n "$before_pid" ]; then
    read -r b b_cpu < <(measure $((PORT + 1)) "$before_pid") || exit 1
    before_ratios+=("$(awk -v a="$b" -v b="$relay" 'BEGIN { printf "%.2f", a / b }')")
    before_cpu_ratios+=("$(awk -v a="$b_cpu" -v b="$relay_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')")
    echo "round $r: before: $b calls/s ($b_cpu per server CPU-s): ${before_ratios[-1]}x (${before_cpu_ratios[-1]}x per CPU-s)"
  fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'; }
echo "median switchyard / relay: $(median "${ratios[@]}")x req/s, $(median "${cpu_ratios[@]}")x per server CPU-second (of $ROUNDS rounds)"
[ -n "$before_pid" ] && echo "median before / relay: $(median "${before_ratios[@]}")x req/s, $(median "${before_cpu_ratios[@]}")x per server CPU-second"
exit 0
