#!/usr/bin/env bash
# Soak: SESSIONS sessions at RATE req/s (open loop, echo: read-only, so a call lost with its
# executor is retried) for DURATION seconds while an executor is SIGKILLed every KILL_EVERY
# seconds (until KILL_UNTIL seconds, default the whole run: a run whose kills stop halfway shows
# whether memory plateaus). Passes when no call failed, the RSS of the fronts and of the
# executors grew less than MAX_GROWTH_PCT after the warm-up, and the fronts hold no more
# descriptors than after the warm-up (plus one per front for a connection being replaced); the
# supervisor's RSS is reported. Writes soak.json and samples.tsv (every SAMPLE_EVERY seconds:
# front RSS, executor RSS, front descriptors, supervisor RSS) next to the load generator's results.
#   bench/soak.sh                      # 30 minutes (make soak)
#   DURATION=60 WARMUP=15 bench/soak.sh  # the smoke make test runs
# The load generator shares the machine's cores with the server.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-1800}
WARMUP=${WARMUP:-120}
RATE=${RATE:-5000}
SESSIONS=${SESSIONS:-3000}
KILL_EVERY=${KILL_EVERY:-60}
KILL_UNTIL=${KILL_UNTIL:-$DURATION}
MAX_GROWTH_PCT=${MAX_GROWTH_PCT:-5}
FRONTS=${FRONTS:-2}
EXECUTORS=${EXECUTORS:-2}
BIN_DIR=${BIN_DIR:-.build/release}
PORT=${PORT:-18191}
OUT=${OUT:-bench/results/soak-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
work=$(mktemp -d -t sysoak-XXXXXX)
SY_PID= BENCH_PID=
cleanup() {
  [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null
  [ -n "$SY_PID" ] && kill "$SY_PID" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true
log() { echo "soak: $*" >&2; }

"$BIN_DIR/switchyard" serve --port "$PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run" \
  >"$work/sy.out" 2>"$OUT/server.log" & SY_PID=$!
for _ in $(seq 300); do grep -q "serving MCP" "$work/sy.out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP" "$work/sy.out" || { log "switchyard did not start"; tail "$OUT/server.log"; exit 1; }

# The supervisor's children by role, from their command lines.
children() { for p in $(pgrep -P "$SY_PID"); do tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q " $1 " && echo "$p"; done; true; }
rss_kib() { local t=0; for p in "$@"; do v=$(awk '/VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0); t=$((t + ${v:-0})); done; echo $t; }
fds() { local t=0; for p in "$@"; do n=$(ls "/proc/$p/fd" 2>/dev/null | wc -l); t=$((t + n)); done; echo $t; }

"$BIN_DIR/switchyard-bench" run --url "http://127.0.0.1:$PORT/mcp" -c "$SESSIONS" --rate "$RATE" \
  --duration "$DURATION" --warmup 0 --threads 2 --timeout 10 --quiet --json "$OUT/load.json" \
  >"$OUT/load.txt" 2>&1 & BENCH_PID=$!

start=$SECONDS kills=0 next_kill=$KILL_EVERY next_sample=0
base_front= base_exec= base_fds= base_sup= end_front= end_exec= end_fds= end_sup=
SAMPLE_EVERY=${SAMPLE_EVERY:-30}
# RSS is taken as the lowest of each second's reading over a window after the warm-up and one
# before the end: a burst of retried calls or a stalled loop in flight at one instant is not
# growth; memory kept is. (Descriptors: one reading at each end of the run.)
WINDOW=${WINDOW:-20}
[ $((WARMUP + 2 * WINDOW + 3)) -le "$DURATION" ] || WINDOW=$(( (DURATION - WARMUP - 3) / 2 ))
[ "$WINDOW" -ge 1 ] || { log "DURATION must exceed WARMUP + 5"; exit 1; }
end_from=$((DURATION - 3 - WINDOW))
lower() { [ -z "$1" ] || [ "$2" -lt "$1" ] && echo "$2" || echo "$1"; }
: > "$OUT/samples.tsv"   # seconds, front RSS KiB, executor RSS KiB, front descriptors, supervisor RSS KiB
while kill -0 "$BENCH_PID" 2>/dev/null; do
  sleep 1
  t=$((SECONDS - start))
  fronts=$(children front); execs=$(children executor)
  front_now=$(rss_kib $fronts); exec_now=$(rss_kib $execs); sup_now=$(rss_kib "$SY_PID")
  # A reading counts only with every process up (not between a kill and the restart).
  complete=0; [ "$(echo $fronts | wc -w)" -eq "$FRONTS" ] && [ "$(echo $execs | wc -w)" -eq "$EXECUTORS" ] && complete=1
  if [ "$complete" = 1 ] && [ "$t" -ge "$WARMUP" ] && [ "$t" -lt "$((WARMUP + WINDOW))" ]; then
    [ -n "$base_fds" ] || { base_fds=$(fds $fronts); log "after warm-up (${t}s): front descriptors $base_fds"; }
    base_front=$(lower "$base_front" "$front_now"); base_exec=$(lower "$base_exec" "$exec_now")
    base_sup=$(lower "$base_sup" "$sup_now")
  fi
  if [ "$complete" = 1 ] && [ "$t" -ge "$end_from" ] && [ "$t" -le "$((DURATION - 3))" ]; then
    end_front=$(lower "$end_front" "$front_now"); end_exec=$(lower "$end_exec" "$exec_now")
    end_sup=$(lower "$end_sup" "$sup_now"); end_fds=$(fds $fronts)
  fi
  if [ "$t" -ge "$next_sample" ]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$front_now" "$exec_now" "$(fds $fronts)" "$sup_now" >> "$OUT/samples.tsv"
    next_sample=$((next_sample + SAMPLE_EVERY))
  fi
  if [ "$t" -ge "$next_kill" ] && [ "$t" -lt "$((DURATION - 5))" ] && [ "$t" -lt "$KILL_UNTIL" ]; then
    victims=($(children executor)); victim=${victims[0]:-}
    if [ -n "$victim" ]; then kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1)) && log "${t}s: SIGKILL executor $victim"; fi
    next_kill=$((next_kill + KILL_EVERY))
  fi
done
log "RSS after warm-up (lowest over ${WINDOW}s): fronts ${base_front} KiB, executors ${base_exec} KiB, supervisor ${base_sup} KiB"
wait "$BENCH_PID" || true
BENCH_PID=
cat "$OUT/load.txt"
[ -n "$base_front" ] && [ -n "$end_front" ] || { log "the run ended before its samples"; exit 1; }

read -r ok errors < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["ok"], r["errors"] + r["setupErrors"])' "$OUT/load.json")
growth() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.1f", (b - a) * 100 / a }'; }
gf=$(growth "$base_front" "$end_front"); ge=$(growth "$base_exec" "$end_exec"); gs=$(growth "$base_sup" "$end_sup")
cat > "$OUT/soak.json" <<JSON
{"durationSeconds":$DURATION,"warmupSeconds":$WARMUP,"rate":$RATE,"sessions":$SESSIONS,"executorKills":$kills,
 "ok":$ok,"errors":$errors,
 "frontRssKiB":[$base_front,$end_front],"frontRssGrowthPct":$gf,
 "executorRssKiB":[$base_exec,$end_exec],"executorRssGrowthPct":$ge,
 "supervisorRssKiB":[$base_sup,$end_sup],"supervisorRssGrowthPct":$gs,
 "frontDescriptors":[$base_fds,$end_fds]}
JSON
cat "$OUT/soak.json"
fail=0
[ "$errors" -eq 0 ] || { log "FAIL: $errors calls failed"; fail=1; }
[ "$kills" -ge 1 ] || { log "FAIL: no executor was killed"; fail=1; }
awk -v g="$gf" -v m="$MAX_GROWTH_PCT" 'BEGIN{exit !(g < m)}' || { log "FAIL: front RSS grew $gf%"; fail=1; }
awk -v g="$ge" -v m="$MAX_GROWTH_PCT" 'BEGIN{exit !(g < m)}' || { log "FAIL: executor RSS grew $ge%"; fail=1; }
[ "$end_fds" -le "$((base_fds + FRONTS))" ] || { log "FAIL: front descriptors $base_fds -> $end_fds"; fail=1; }
[ "$fail" -eq 0 ] && log "PASS: $ok calls, 0 failed, $kills executors killed, front RSS ${gf}%, executor RSS ${ge}%, supervisor RSS ${gs}%, descriptors $base_fds -> $end_fds"
exit $fail
