#!/usr/bin/env bash
# Instructions per echo call at the front, by callgrind (bench/README.md, "callgrind"): one
# executor and one front by hand, the front under callgrind, REQUESTS calls over 10 connections,
# total Ir ÷ calls. Repeatable on a noisy box; compare two configurations at the same REQUESTS.
#   bench/callgrind.sh BIN [front options...]     (env: REQUESTS=20000 PORT=18181 ERA=session|stateless
#                                                  GEN_ARGS="--headers-file F": load-generator options)
# e.g. bench/callgrind.sh .build/release/switchyard --validate-arguments off
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1; shift
GEN=${GEN:-.build/release/switchyard-bench}
REQUESTS=${REQUESTS:-20000} PORT=${PORT:-18181} ERA=${ERA:-session}
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
"$work/switchyard" executor --socket "$work/run/executors/e0.sock" 2>/dev/null & exec_pid=$!
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
total=$(callgrind_annotate "$work/cg.out" 2>/dev/null \
  | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
echo "front Ir: $total for $ok calls: $(( total / ok )) per call ($*)"
if [ -n "${KEEP:-}" ]; then cp "$work/cg.out" "$KEEP"; fi
