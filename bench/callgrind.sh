#!/usr/bin/env bash
# Instructions per echo call at the front and at the executor, by callgrind (bench/README.md,
# "callgrind"): one executor and one front by hand, both under callgrind (TIERS=front: the front
# only), REQUESTS calls over 10 connections, total Ir ÷ calls, and malloc calls per call.
# Repeatable on a noisy box; compare two configurations at the same REQUESTS.
#   bench/callgrind.sh BIN [front options...]     (env: REQUESTS=20000 PORT=18181 ERA=session|stateless
#                                                  GEN_ARGS="--headers-file F": load-generator options
#                                                  TIERS=both|front, KEEP=FILE, KEEP_EXECUTOR=FILE)
# e.g. bench/callgrind.sh .build/release/switchyard --validate-arguments off
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1; shift
GEN=${GEN:-.build/release/switchyard-bench}
REQUESTS=${REQUESTS:-20000} PORT=${PORT:-18181} ERA=${ERA:-session} TIERS=${TIERS:-both}
export SWIFT_DETERMINISTIC_HASHING=1
work=$(mktemp -d /tmp/sy-cg-XXXXXX)
exec_pid= front_pid=
cleanup() {
  [ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null
  [ -n "$exec_pid" ] && kill "$exec_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# valgrind cannot read the DWARF of Swift's release build; a copy without it keeps the symbols.
objcopy --strip-debug "$BIN" "$work/switchyard"
mkdir -m 700 -p "$work/run/executors"
exec_cg=()
[ "$TIERS" = both ] && exec_cg=(valgrind --tool=callgrind --callgrind-out-file="$work/cg-exec.out")
"${exec_cg[@]}" "$work/switchyard" executor --socket "$work/run/executors/e0.sock" 2>"$work/exec.err" & exec_pid=$!
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  "$work/switchyard" front --run-dir "$work/run" --port "$PORT" "$@" 2>"$work/front.err" & front_pid=$!
for _ in $(seq 300); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ] && break
  sleep 0.1
done
era=(); [ "$ERA" = stateless ] && era=(--stateless)
"$GEN" run --url "http://127.0.0.1:$PORT/mcp" -c 10 -d 120 --warmup 0 --max-requests "$REQUESTS" --timeout 30 \
  "${era[@]}" ${GEN_ARGS:-} --json "$work/run.json" > "$work/gen.txt" 2>&1 || { tail -5 "$work/gen.txt"; exit 1; }
kill -TERM "$front_pid"; wait "$front_pid" 2>/dev/null || true; front_pid=
ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$work/run.json")
if [ "$TIERS" = both ]; then
  kill -TERM "$exec_pid"; wait "$exec_pid" 2>/dev/null || true; exec_pid=
fi
# tier cg.out: instructions and allocations per call.
report() {
  local tier=$1 out=$2 total; shift 2
  total=$(callgrind_annotate "$out" 2>/dev/null \
    | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
  echo "$tier Ir: $total for $ok calls: $(( total / ok )) per call ($*)"
  echo "  $tier $(bench/callgrind-calls.py "$out" malloc free "$ok" | tr '\n' ' ')"
}
report front "$work/cg.out" "$@"
[ "$TIERS" = both ] && report executor "$work/cg-exec.out"
if [ -n "${KEEP:-}" ]; then cp "$work/cg.out" "$KEEP"; fi
if [ -n "${KEEP_EXECUTOR:-}" ] && [ "$TIERS" = both ]; then cp "$work/cg-exec.out" "$KEEP_EXECUTOR"; fi
