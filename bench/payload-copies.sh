#!/usr/bin/env bash
# What one large-payload call costs on each tier, in instructions and in bytes copied: one
# executor and one front by hand (no supervisor), REQUESTS `echo` calls of SIZE bytes of text
# over CONNS connections, then per call:
#   MODE=copies     bytes memcpy'd/memmove'd and bytes malloc'd in blocks >= 64 KiB, per process
#                   (bench/copycount.c preloaded; copies inside libc and the kernel not counted)
#   MODE=callgrind  instructions (Ir) per call of the front and of the executor, both under
#                   callgrind, and the inclusive Ir of memcpy/memmove in each
#   bench/payload-copies.sh BIN [front options...]   (env: MODE=copies SIZE=1000000 REQUESTS=200
#                                                     CONNS=4 PORT=18191 KEEP=DIR)
# Repeatable on a noisy box (counts, not time); compare two builds at the same settings.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1; shift
GEN=${GEN:-$(dirname "$BIN")/switchyard-bench}
MODE=${MODE:-copies} SIZE=${SIZE:-1000000} REQUESTS=${REQUESTS:-200} CONNS=${CONNS:-4} PORT=${PORT:-18191}
CC_BIN=${CC:-$(command -v cc || command -v clang || echo cc)}
export SWIFT_DETERMINISTIC_HASHING=1
work=$(mktemp -d "${TMPDIR:-/tmp}/sy-payload-XXXXXX")
exec_pid= front_pid=
cleanup() {
  [ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null
  [ -n "$exec_pid" ] && kill "$exec_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
python3 bench/random-args.py "$SIZE" > "$work/args.json"
mkdir -m 700 -p "$work/run/executors"
case $MODE in
  copies)
    "$CC_BIN" -O2 -shared -fPIC -o "$work/copycount.so" bench/copycount.c -ldl
    COPYCOUNT_OUT=$work/exec.count LD_PRELOAD=$work/copycount.so \
      "$BIN" executor --socket "$work/run/executors/e0.sock" 2>"$work/exec.err" & exec_pid=$!
    sleep 0.5
    COPYCOUNT_OUT=$work/front.count LD_PRELOAD=$work/copycount.so \
      "$BIN" front --run-dir "$work/run" --port "$PORT" "$@" 2>"$work/front.err" & front_pid=$! ;;
  callgrind)
    # valgrind cannot read the DWARF of Swift's release build; a copy without it keeps the symbols.
    objcopy --strip-debug "$BIN" "$work/switchyard"
    valgrind --tool=callgrind --callgrind-out-file="$work/exec.cg" \
      "$work/switchyard" executor --socket "$work/run/executors/e0.sock" 2>"$work/exec.err" & exec_pid=$!
    for _ in $(seq 300); do [ -S "$work/run/executors/e0.sock" ] && break; sleep 0.1; done
    valgrind --tool=callgrind --callgrind-out-file="$work/front.cg" \
      "$work/switchyard" front --run-dir "$work/run" --port "$PORT" "$@" 2>"$work/front.err" & front_pid=$! ;;
  *) echo "MODE is copies or callgrind"; exit 2 ;;
esac
for _ in $(seq 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" 2>/dev/null)" = 200 ] && break
  sleep 0.1
done
# Start-up and the catalog exchange are charged to the calls too: small beside SIZE × REQUESTS.
"$GEN" run --url "http://127.0.0.1:$PORT/mcp" -c "$CONNS" -d 600 --warmup 0 --max-requests "$REQUESTS" \
  --timeout 60 --args-file "$work/args.json" --json "$work/run.json" > "$work/gen.txt" 2>&1 \
  || { tail -5 "$work/gen.txt"; exit 1; }
ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$work/run.json")
kill -TERM "$front_pid"; wait "$front_pid" 2>/dev/null || true; front_pid=
kill -TERM "$exec_pid"; wait "$exec_pid" 2>/dev/null || true; exec_pid=
echo "calls: $ok of $SIZE bytes over $CONNS connections ($*)"
case $MODE in
  copies)
    for tier in front exec; do
      python3 - "$work/$tier.count" "$ok" "$tier" <<'EOF'
import sys
line = open(sys.argv[1]).read().split()
v = {k: int(x) for k, x in (f.split("=") for f in line)}
n = int(sys.argv[2])
print(f"{sys.argv[3]:5}: memcpy+memmove {(v['memcpy_bytes'] + v['memmove_bytes']) / n:,.0f} B/call "
      f"(of which in copies >= 64 KiB: {v['memcpy_large_bytes'] / n:,.0f}), "
      f"{v['memcpy_calls'] / n:,.0f} memcpy calls/call, "
      f"malloc >= 64 KiB: {v['big_alloc_bytes'] / n:,.0f} B/call in {v['big_allocs'] / n:.2f} blocks")
EOF
    done ;;
  callgrind)
    for tier in front exec; do
      total=$(callgrind_annotate "$work/$tier.cg" 2>/dev/null \
        | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
      copies=$(callgrind_annotate --inclusive=yes "$work/$tier.cg" 2>/dev/null \
        | awk '/mem(cpy|move)/ { gsub(",", "", $1); if ($1 > m) m = $1 } END { print m + 0 }')
      echo "$tier: Ir $total for $ok calls: $(( total / ok )) per call; memcpy/memmove (largest inclusive) $(( copies / ok )) per call"
    done
    [ -n "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp "$work"/*.cg "$KEEP"/; } ;;
esac
