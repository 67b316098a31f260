#!/usr/bin/env bash
# Records a perf profile of the fronts and executors under a bench load and writes sorted reports.
#   bench/profile.sh            (make profile)
# Knobs (environment): CONNS (100), SECONDS_ (15: load; recording is the middle SECONDS_-5),
# FRONTS (2), EXECUTORS (2), ARGS_SIZE (16: bytes of echo text), THREADS (2), FREQ (999 Hz),
# OUT (bench/results/profile-DATE). The load generator shares the cores with the server.
# Writes to OUT:
#   self.txt        where the cycles go (self time), by process kind and symbol, demangled
#   inclusive.txt   which call paths cost (inclusive time), by symbol
#   front.txt / executor.txt   self time within each kind of process
#   folded.txt      folded stacks (one line per stack: frames;...;frames count), the input of
#                   any flame-graph renderer (FlameGraph's flamegraph.pl, inferno, speedscope)
#   bench.txt       the load's own report (req/s, latency, server CPU)
#   processes.txt   share of samples per process; perf.data for further `perf report -i`
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-100}
DUR=${SECONDS_:-15}
FRONTS=${FRONTS:-2}
EXECUTORS=${EXECUTORS:-2}
ARGS_SIZE=${ARGS_SIZE:-16}
THREADS=${THREADS:-2}
FREQ=${FREQ:-999}
PORT=${PORT:-18185}
BIN_DIR=${BIN_DIR:-.build/release}
OUT=${OUT:-bench/results/profile-$(date +%Y%m%d-%H%M%S)}
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf"; exit 1; }
[ "$DUR" -ge 8 ] && [ "$DUR" -le 60 ] || { echo "SECONDS_ must be 8..60"; exit 2; }
mkdir -p "$OUT"
work=$(mktemp -d /tmp/switchyard-profile-XXXXXX)
SERVE=""
cleanup() { [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$BIN_DIR/switchyard" serve --port "$PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run" \
  >"$work/serve.out" 2>"$work/serve.err" & SERVE=$!
for _ in $(seq 100); do grep -q "serving MCP" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP" "$work/serve.out" || { echo "switchyard did not start"; tail -5 "$work/serve.err"; exit 1; }
FRONT_PIDS=$(pgrep -d, -f "front .*--run-dir $work/run" || true)
EXEC_PIDS=$(pgrep -d, -f "executor --socket $work/run/" || true)
[ -n "$FRONT_PIDS" ] && [ -n "$EXEC_PIDS" ] || { echo "no front or executor processes found"; exit 1; }

python3 bench/random-args.py "$ARGS_SIZE" >"$work/args.json"
echo "== load: $CONNS connections, ${DUR}s, echo of $ARGS_SIZE bytes, $FRONTS fronts + $EXECUTORS executors (generator on the same cores)"
"$BIN_DIR/switchyard-bench" run --url "http://127.0.0.1:$PORT/mcp" -c "$CONNS" -d "$DUR" --warmup 0 --threads "$THREADS" \
  --args-file "$work/args.json" --timeout 30 --server-pid "$SERVE" >"$OUT/bench.txt" 2>/dev/null & LOAD=$!
sleep 3
echo "== recording fronts ($FRONT_PIDS) and executors ($EXEC_PIDS) for $((DUR - 5))s at $FREQ Hz"
perf record -g -F "$FREQ" -p "$FRONT_PIDS,$EXEC_PIDS" -o "$work/perf.data" -- sleep $((DUR - 5)) 2>"$work/perf.err" >/dev/null \
  || { echo "perf record failed (perf_event_paranoid is $(cat /proc/sys/kernel/perf_event_paranoid)):"; tail -3 "$work/perf.err"; exit 1; }
wait "$LOAD" || true

demangle() { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; }
report() { perf report -i "$work/perf.data" --stdio "$@" 2>/dev/null | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//' | demangle; }
report --no-children --sort pid -g none >"$OUT/processes.txt"
report --no-children --sort comm,dso,symbol -g none --percent-limit 0.3 >"$OUT/self.txt"
report --children --sort symbol -g none --percent-limit 1 >"$OUT/inclusive.txt"
report --no-children --pid "$FRONT_PIDS" --sort symbol -g none --percent-limit 0.3 >"$OUT/front.txt"
report --no-children --pid "$EXEC_PIDS" --sort symbol -g none --percent-limit 0.3 >"$OUT/executor.txt"
perf script -i "$work/perf.data" 2>/dev/null | python3 bench/fold-stacks.py | demangle >"$OUT/folded.txt"
mv "$work/perf.data" "$OUT/perf.data"

cat "$OUT/bench.txt" | grep -E "requests ok|latency|server CPU" || true
echo "== share of samples by process (fronts: $FRONT_PIDS; executors: $EXEC_PIDS):"
grep '%' "$OUT/processes.txt" | head -8
echo "== top of the self-time report ($OUT/self.txt):"
grep '%' "$OUT/self.txt" | head -25
echo "== written: $OUT/{processes,self,inclusive,front,executor,folded,bench}.txt and perf.data (perf report -i)"
