#!/usr/bin/env bash
# System calls per echo call at the front and at the executor, by strace -c: one executor and
# one front by hand, each under `strace -f -c`, REQUESTS calls over CONNS connections, each
# tier's calls ÷ answered requests, by name. Start-up is included: compare at the same REQUESTS.
# How many calls one loop turn batches depends on timing, so expect a few percent between runs.
#   bench/syscalls.sh BIN [front options...]      (env: REQUESTS=20000 CONNS=10 PORT=18183
#                                                  GEN_ARGS: load-generator options)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1; shift
GEN=${GEN:-.build/release/switchyard-bench}
REQUESTS=${REQUESTS:-20000} CONNS=${CONNS:-10} PORT=${PORT:-18183}
work=$(mktemp -d /tmp/sy-sc-XXXXXX)
exec_pid= front_pid=
cleanup() {
  [ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null
  [ -n "$exec_pid" ] && kill "$exec_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -m 700 -p "$work/run/executors"
strace -f -c -o "$work/exec.strace" "$BIN" executor --socket "$work/run/executors/e0.sock" 2>"$work/exec.err" & exec_pid=$!
strace -f -c -o "$work/front.strace" "$BIN" front --run-dir "$work/run" --port "$PORT" "$@" 2>"$work/front.err" & front_pid=$!
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" 2>/dev/null)" = 200 ] && break
  sleep 0.1
done
"$GEN" run --url "http://127.0.0.1:$PORT/mcp" -c "$CONNS" -d 120 --warmup 0 --max-requests "$REQUESTS" --timeout 30 \
  ${GEN_ARGS:-} --json "$work/run.json" > "$work/gen.txt" 2>&1 || { tail -5 "$work/gen.txt"; exit 1; }
# SIGTERM goes to the traced process (strace's child); strace writes its table when it exits.
stop() { pkill -TERM -P "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
stop "$front_pid"; front_pid=
stop "$exec_pid"; exec_pid=
ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$work/run.json")
# strace -c rows: "% time, seconds, usecs/call, calls, [errors], syscall", then a "total" row.
for tier in front exec; do
  awk -v ok="$ok" -v tier="$tier" '
    $1 ~ /^[0-9.]+$/ && NF >= 5 {
      if ($NF == "total") total = $4; else if ($4 / ok >= 0.01) rows = rows sprintf("  %s %.2f", $NF, $4 / ok)
    }
    END { printf "%s syscalls: %.2f per call (%d calls)\n%s\n", tier, total / ok, ok, rows }' "$work/$tier.strace"
done
