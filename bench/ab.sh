#!/usr/bin/env bash
# Two builds (or two configurations) of switchyard side by side: closed-loop echo, alternating
# A B A B ... so that the drift of this shared box hits both alike. Prints each round's rate and
# requests per server CPU-second (the steadier figure here), and the median ratios B/A.
#   bench/ab.sh BIN_A BIN_B [rounds]      (env: CONNS=3000 DURATION=10 FRONTS=2 EXECUTORS=2 GEN=...)
# BIN_A/BIN_B are switchyard binaries (e.g. a copy of .build/release/switchyard from another
# commit). A_ARGS and B_ARGS are extra `serve` options for each side, so one binary can be
# compared with itself in two configurations:
#   A_ARGS="--validate-arguments off" B_ARGS="--validate-arguments on" bench/ab.sh BIN BIN 5
# GEN_ARGS are extra load-generator options for both sides (e.g. --headers-file with a token).
# The load generator shares the cores with the server: compare ratios, not rates.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 ROUNDS=${3:-3}
GEN=${GEN:-.build/release/switchyard-bench}
CONNS=${CONNS:-3000} DURATION=${DURATION:-10} FRONTS=${FRONTS:-2} EXECUTORS=${EXECUTORS:-2}
PORT=${PORT:-18480}
A_ARGS=${A_ARGS:-} B_ARGS=${B_ARGS:-} GEN_ARGS=${GEN_ARGS:-}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/switchyard-ab-XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

run_one() { # binary label round extra-serve-args
  : > "$work/out"
  # shellcheck disable=SC2086 # the extra options are split into words on purpose
  "$1" serve --port "$PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run-$2-$3" $4 \
    >"$work/out" 2>"$work/err" &
  server=$!
  for _ in $(seq 150); do grep -q "serving MCP" "$work/out" && break; sleep 0.1; done
  # shellcheck disable=SC2086
  "$GEN" run --url "http://127.0.0.1:$PORT/mcp" -c "$CONNS" -d "$DURATION" --warmup 2 --server-pid "$server" $GEN_ARGS \
    --json "$work/$2-$3.json" > "$work/$2-$3.txt" 2>&1 || { tail -5 "$work/$2-$3.txt"; exit 1; }
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  # "<req/s> <req per server CPU-second> <errors>"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=r["server"]["cpuSeconds"]
print(r["achievedRate"], r["ok"] / c if c else 0, r["errors"])' "$work/$2-$3.json"
}

rates=() cpus=()
for r in $(seq "$ROUNDS"); do
  read -r ra ca ea < <(run_one "$A" A "$r" "$A_ARGS"); read -r rb cb eb < <(run_one "$B" B "$r" "$B_ARGS")
  rates+=("$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.3f", b / a }')")
  cpus+=("$(awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.3f", b / a }')")
  printf 'round %d: A %.0f req/s %.0f req/CPU-s (errors %d), B %.0f req/s %.0f req/CPU-s (errors %d)\n' \
    "$r" "$ra" "$ca" "$ea" "$rb" "$cb" "$eb"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "median B/A over $ROUNDS rounds, $CONNS connections: rate $(median "${rates[@]}"), per server CPU-second $(median "${cpus[@]}")"
