#!/usr/bin/env bash
# Benchmark scenarios: Switchyard and its anchors side by side, driven by switchyard-bench.
#   bench/run.sh SCENARIO...        one or more of the scenarios below; `standard` is make bench's set
# Scenarios (bench/README.md says what each measures):
#   smoke                          5-second closed loop against Switchyard; fails on any error (CI)
#   echo-100 echo-1000 echo-3000 echo-10000
#                                  closed-loop echo at that many connections, every server in ANCHORS too
#   open-10k                       open loop, RATE (10,000) req/s over 3,000 sessions, latency from schedule
#   open-sweep                     open loop at each of RATES (30k 35k) for OPEN_DURATION (60) s,
#                                  Switchyard and nginx: p99 per rate, the highest rate with p99 <= P99_MS (5)
#   idle                           SESSIONS (30,000) idle sessions from PROCS generator processes on as many
#                                  source addresses; front RSS per session, SETTLE (2) s after set-up
#   idle100k                       the same with 100,000 sessions, PROCS=8, IDLE_FRONTS=8 fronts: set-up rate,
#                                  final calls answered, front RSS, PSS and anonymous memory per session
#   args-10k args-1m               echo of 10 KB / 1 MB of text; Switchyard with and without link compression
#   cpu                            sha256 with ROUNDS rounds, result cache off: executors bound by CPU
#   churn                          a new TCP connection per request
#   stateless-100                  echo at 100 connections in the 2026-07-28 era (no sessions)
# Issue 18's goals (GOALS, in `standard` too):
#   nginx-hops                   bench/echo.sh 3000: nginx one hop, nginx relaying (two hops), 1 and 2 fronts
#   open-sweep                     as above, SWEEP_FRONTS/SWEEP_EXECUTORS (1/1)
#   idle100k                       as above
#   args-1m-relay                  bench/payload-ratio.sh: 1 MB echo against the two-hop relay, interleaved
#                                  (RELAY_ROUNDS 5, RELAY_CONNS 8)
#   tls                            bench/tls.sh 256: TLS closed loop and handshakes against nginx
# Issue 17's benchmark (in `standard` too, last):
#   upstream                       bench/upstream.sh: a FastMCP stdio server over its own pipes, behind
#                                  --upstream-pool 4 and behind mcp-proxy; ratios against the targets
# Knobs (environment): BIN_DIR (.build/release), DURATION (10), WARMUP (2), THREADS (2 generator
# threads), FRONTS (2), EXECUTORS (2), ANCHORS ("nginx swift-sdk python-sdk"), PY_WORKERS (2),
# OUT (bench/results/DATE). Every load is bounded (at most 60 s); every process started here is
# stopped on exit. Traffic stays on 127.0.0.0/8.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-.build/release}
SY=$BIN_DIR/switchyard
GEN=$BIN_DIR/switchyard-bench
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
FRONTS=${FRONTS:-2}
EXECUTORS=${EXECUTORS:-2}
ANCHORS=${ANCHORS-nginx swift-sdk python-sdk}
PY_WORKERS=${PY_WORKERS:-2}
SY_PORT=${SY_PORT:-18181}; NG_PORT=${NG_PORT:-18182}; SW_PORT=${SW_PORT:-18183}; PY_PORT=${PY_PORT:-18184}
OUT=${OUT:-bench/results/$(date +%Y%m%d-%H%M%S)}
# Issue 18's goals, in `standard` after the rows above (about 20 minutes more).
GOALS="nginx-hops open-sweep idle100k args-1m-relay tls"
# A C compiler for bench/link-baseline.c: cc, else the clang that comes with Swift.
CC_BIN=${CC:-$(command -v cc || command -v clang || echo cc)}
STANDARD="echo-100 echo-1000 echo-3000 echo-10000 stateless-100 open-10k idle args-10k args-1m cpu churn $GOALS upstream"

[ $# -gt 0 ] || { sed -n '2,32p' "$0"; exit 2; }
[ -x "$SY" ] && [ -x "$GEN" ] || { echo "build first: swift build -c release (or set BIN_DIR)"; exit 1; }
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/switchyard-bench-XXXXXX)
declare -A PID=()
FAILED=0

stop_all() {
  for name in "${!PID[@]}"; do kill "${PID[$name]}" 2>/dev/null; done
  for name in "${!PID[@]}"; do wait "${PID[$name]}" 2>/dev/null; done
  PID=()
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

# Waits until something answers HTTP on the port (any status).
wait_http() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -H 'Accept: application/json, text/event-stream' -d '{}' "http://127.0.0.1:$1/mcp" 2>/dev/null)
    [ -n "$code" ] && [ "$code" != 000 ] && return 0
    sleep 0.1
  done
  return 1
}

SY_STARTS=0
start_switchyard() { # extra serve args...
  # A fresh output file and run directory per start: never mistake the last server's ready line.
  SY_STARTS=$((SY_STARTS + 1))
  : > "$work/sy.out"
  "$SY" serve --port "$SY_PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run-$SY_STARTS" "$@" \
    >"$work/sy.out" 2>"$work/sy.err" &
  PID[switchyard]=$!
  for _ in $(seq 150); do grep -q "serving MCP" "$work/sy.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "switchyard did not start:"; tail -5 "$work/sy.err"; return 1
}

start_nginx() {
  command -v nginx >/dev/null || { log "nginx not installed: skipped (apt-get install nginx-light)"; return 1; }
  mkdir -p "$work/nginx"
  sed -e "s|@PREFIX@|$work/nginx|g" -e "s|@PORT@|$NG_PORT|g" -e "s|@WORKERS@|${NGINX_WORKERS:-$FRONTS}|g" bench/nginx.conf > "$work/nginx/nginx.conf"
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx.err" &
  PID[nginx]=$!
  wait_http "$NG_PORT" 10 || { log "nginx did not start"; cat "$work/nginx.err"; return 1; }
}

start_swift_sdk() {
  local exe
  exe=$(bench/anchors/build-swift-sdk.sh 2>"$work/swift-sdk-build.log") || {
    log "Swift SDK anchor did not build: skipped (see the end of the build log below)"; tail -5 "$work/swift-sdk-build.log"; return 1; }
  "$exe" "$SW_PORT" 2 >"$work/swift-sdk.log" 2>&1 &
  PID[swift-sdk]=$!
  wait_http "$SW_PORT" 20 || { log "Swift SDK anchor did not start"; return 1; }
}

start_python_sdk() {
  if [ ! -x bench/.venv/bin/uvicorn ]; then
    log "creating bench/.venv with the MCP Python SDK and uvicorn"
    { python3 -m venv bench/.venv && bench/.venv/bin/pip install -q "mcp>=2.3,<3" uvicorn; } >"$work/venv.log" 2>&1 || {
      log "Python SDK anchor: venv failed, skipped"; tail -5 "$work/venv.log"; return 1; }
  fi
  bench/.venv/bin/uvicorn --app-dir bench/anchors/python-sdk server:app --host 127.0.0.1 --port "$PY_PORT" \
    --workers "$PY_WORKERS" --log-level warning --no-access-log --backlog 4096 >"$work/python-sdk.log" 2>&1 &
  PID[python-sdk]=$!
  wait_http "$PY_PORT" 30 || { log "Python SDK anchor did not start"; tail -5 "$work/python-sdk.log"; return 1; }
}

# Starts Switchyard and the anchors of ANCHORS that can run; sets SERVERS.
start_servers() { # anchors...
  SERVERS=""
  start_switchyard || return 1
  SERVERS="switchyard"
  for a in "$@"; do
    case $a in
      nginx) start_nginx && SERVERS="$SERVERS nginx" ;;
      swift-sdk) start_swift_sdk && SERVERS="$SERVERS swift-sdk" ;;
      python-sdk) start_python_sdk && SERVERS="$SERVERS python-sdk" ;;
    esac
  done
}

port_of() { case $1 in switchyard*) echo "$SY_PORT" ;; nginx) echo "$NG_PORT" ;; swift-sdk) echo "$SW_PORT" ;; python-sdk) echo "$PY_PORT" ;; esac; }
# Client flags per server: the SDK anchors are stateless servers (no session to open);
# nginx answers fixed bytes (no session, fixed id).
# In the stateless scenario every MCP server gets 2026-07-28 requests (headers and _meta).
flags_of() {
  if [ -n "${STATELESS:-}" ]; then
    case $1 in nginx) echo "--no-session --no-id-check" ;; *) echo "--stateless" ;; esac
    return
  fi
  case $1 in nginx) echo "--no-session --no-id-check" ;; swift-sdk|python-sdk) echo "--no-session" ;; *) echo "" ;; esac
}

# One load run: measure SCENARIO SERVER [generator args...]
measure() {
  local scenario=$1 server=$2; shift 2
  local pidkey=$server; [ -n "${PID[$pidkey]:-}" ] || pidkey=switchyard
  mkdir -p "$OUT/$scenario"
  log "$scenario: $server"
  # shellcheck disable=SC2046
  timeout 180 "$GEN" run --url "http://127.0.0.1:$(port_of "$server")/mcp" --threads "$THREADS" \
    --server-pid "${PID[$pidkey]}" --label "$server" --json "$OUT/$scenario/$server.json" \
    $(flags_of "$server") "$@" 2> >(grep -v '^\[' >&2) | tee "$OUT/$scenario/$server.txt"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || log "$scenario: $server had errors or no answers (exit $rc)"
  sleep 1
  return "$rc"
}

# A markdown table of a scenario's results, ratios against nginx (or Switchyard when nginx is absent).
table() { # scenario
  local dir=$OUT/$1 base=nginx
  [ -f "$dir/nginx.json" ] || base=switchyard
  local files; files=$(ls "$dir"/*.json 2>/dev/null) || return 0
  # shellcheck disable=SC2086
  jq -rs --arg base "$base" '
    (map(select(.label == $base))[0]) as $b |
    "| server | connections | req/s | ×\($base) | p50 ms | p99 ms | p99.9 ms | errors | server CPU-s | req per CPU-s | ×\($base) | RSS MiB |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    (sort_by(-.achievedRate)[] |
      "| \(.label) | \(.connections) | \(.achievedRate | round) | \(if $b and $b.achievedRate > 0 then (.achievedRate / $b.achievedRate * 1000 | round / 1000) else "" end) | \(.latencyMs.p50) | \(.latencyMs.p99) | \(.latencyMs.p999) | \(.errors) | \(.server.cpuSeconds // 0 | . * 10 | round / 10) | \(.server.requestsPerCPUSecond // 0 | round) | \(if $b and ($b.server.requestsPerCPUSecond // 0) > 0 then ((.server.requestsPerCPUSecond // 0) / $b.server.requestsPerCPUSecond * 1000 | round / 1000) else "" end) | \((.server.rssKiB // 0) / 1024 | round) |")
  ' $files | tee "$dir/table.md"
}

# Per rate and server of an open-loop sweep: p99, errors, generator cores; then the highest rate
# each server held within the p99 bound with no error.
open_sweep_summary() { # dir p99-bound-ms
  local dir=$1 bound=$2
  jq -rs --argjson bound "$bound" '
    "| rate | server | achieved | p50 ms | p99 ms | p99.9 ms | errors | server cores | generator cores |",
    "|---|---|---|---|---|---|---|---|---|",
    (sort_by(.targetRate, .label)[] |
      "| \(.targetRate) | \(.label) | \(.achievedRate | round) | \(.latencyMs.p50) | \(.latencyMs.p99) | \(.latencyMs.p999) | \(.errors) | \(.server.cpuCores // 0 | . * 100 | round / 100) | \(.server.generatorCores // 0 | . * 100 | round / 100) |"),
    "",
    (group_by(.label)[] | . as $runs |
      ([$runs[] | select(.latencyMs.p99 <= $bound and .errors == 0 and .achievedRate >= .targetRate * 0.99) | .targetRate] | max) as $best |
      "\($runs[0].label): highest rate with p99 <= \($bound) ms and no error: \($best // "none of the rates tried")")
  ' "$dir"/*/*.json
}

# The raw-socket ceilings for SIZE-byte round trips (bench/link-baseline.c): a Unix socket pair
# (the executor link), loopback TCP (the client's leg), and both legs through a relay process that
# parses nothing (the floor of any two-hop server); nothing parsed, nothing copied in user space
# beyond the relay's buffers.
link_baseline() { # scenario bytes inflight
  local exe=$work/link-baseline
  [ -x "$exe" ] || "$CC_BIN" -O2 -o "$exe" bench/link-baseline.c || { log "no C compiler: link baseline skipped"; return 0; }
  mkdir -p "$OUT/$1"
  { "$exe" --size "$2" --inflight "$3" --seconds "$DURATION"; "$exe" --size "$2" --inflight "$3" --seconds "$DURATION" --tcp
    "$exe" --size "$2" --inflight "$3" --seconds "$DURATION" --relay; } | tee "$OUT/$1/link-baseline.txt"
  local sy unix relay
  sy=$(jq -r '.achievedRate // empty' "$OUT/$1/switchyard.json" 2>/dev/null)
  unix=$(sed -n 's/^link=unix .*round_trips_per_s=\([0-9]*\).*/\1/p' "$OUT/$1/link-baseline.txt")
  relay=$(sed -n 's/^link=relay .*round_trips_per_s=\([0-9]*\).*/\1/p' "$OUT/$1/link-baseline.txt")
  [ -n "$sy" ] && [ -n "$unix" ] && awk -v a="$sy" -v b="$unix" \
    'BEGIN{ printf "switchyard / raw Unix-socket round trips: %.0f / %.0f = %.2fx (target >= 0.5x)\n", a, b, a/b }' \
    | tee -a "$OUT/$1/link-baseline.txt"
  [ -n "$sy" ] && [ -n "$relay" ] && awk -v a="$sy" -v b="$relay" \
    'BEGIN{ printf "switchyard / raw two-hop relay round trips: %.0f / %.0f = %.2fx\n", a, b, a/b }' \
    | tee -a "$OUT/$1/link-baseline.txt"
  return 0
}

random_text_args() { # bytes file
  python3 bench/random-args.py "$1" > "$2"
}

front_rss_kib() { # sum of VmRSS over the front processes of the running Switchyard
  front_mem_kib '^Rss:'
}

# Sum of PSS over the fronts: shared pages (the run directory's session-activity table, which
# every front maps) divided among the processes that map them, so they count once, not per front.
front_pss_kib() { front_mem_kib '^Pss:'; }

front_mem_kib() { # PATTERN: a line of /proc/PID/smaps_rollup, summed over the fronts
  local total=0 p v
  for p in $(pgrep -P "${PID[switchyard]}"); do
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q ' front' || continue
    v=$(awk -v pat="$1" '$0 ~ pat {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# Descriptors and ports for SESSIONS idle sessions from PROCS generators over FRONTS fronts: the
# descriptor limit is raised to the hard limit at the top; the port range and listen backlog only
# when running as root (sysctl), else a message says what to raise.
idle_limits() { # sessions procs fronts
  local per_gen=$(( $1 / $2 + 64 )) per_front=$(( $1 * 5 / ($3 * 4) + 128 )) have
  have=$(ulimit -n)
  if [ "$have" -lt "$per_gen" ] || [ "$have" -lt "$per_front" ]; then
    echo "idle: $1 sessions need $per_gen descriptors per generator and about $per_front per front;" \
      "the limit is $have (hard $(ulimit -Hn)): raise it (limits.conf, systemd LimitNOFILE) or set PROCS and IDLE_FRONTS higher"
    return 1
  fi
  local lo hi somax
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
  somax=$(cat /proc/sys/net/core/somaxconn)
  if [ $((hi - lo)) -lt "$per_gen" ]; then
    if [ "$(id -u)" = 0 ]; then sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
    else echo "idle: $per_gen ports per source address needed, $((hi - lo)) in net.ipv4.ip_local_port_range: run as root or widen it"; return 1; fi
  fi
  if [ "$somax" -lt 4096 ]; then
    if [ "$(id -u)" = 0 ]; then sysctl -qw net.core.somaxconn=4096
    else echo "idle: net.core.somaxconn is $somax; set-up bursts may be refused below 4096: run as root or raise it"; fi
  fi
  return 0
}

scenario() {
  local s=$1
  case $s in
    smoke)
      start_switchyard || return 1
      OUT=$work/smoke-out measure smoke switchyard -c 20 -d 3 --warmup 1 --timeout 5 --threads 1 || return 1
      # --max-requests ends a run once its cap is answered, not at -d (the callgrind recipe relies on it).
      timeout 20 "$GEN" run --url "http://127.0.0.1:$(port_of switchyard)/mcp" --threads 1 -c 10 -d 60 --warmup 0 \
        --max-requests 500 --timeout 5 2>/dev/null | grep -q 'requests ok 500 in ' \
        || { echo "--max-requests did not end the run at its cap"; return 1; }
      # The raw-socket baselines build and run (1 s each, 64 KB): keeps the args scenarios working.
      "$CC_BIN" -O2 -o "$work/link-baseline" bench/link-baseline.c || { echo "link baseline does not build"; return 1; }
      "$work/link-baseline" --size 65536 --inflight 4 --seconds 1 | grep -q 'round_trips_per_s=[1-9]' \
        && "$work/link-baseline" --size 65536 --inflight 4 --seconds 1 --relay | grep -q '^link=relay .*round_trips_per_s=[1-9]' \
        || { echo "link baseline failed"; return 1; }
      ;;
    echo-*)
      local c=${s#echo-}
      # shellcheck disable=SC2086
      start_servers $ANCHORS || return 1
      for srv in $SERVERS; do
        measure "$s" "$srv" -c "$c" -d "$DURATION" --warmup "$WARMUP"
      done
      table "$s"
      ;;
    open-10k)
      start_servers || return 1
      measure "$s" switchyard -c "${CONNS:-3000}" --rate "${RATE:-10000}" -d "${OPEN_DURATION:-30}" --warmup "$WARMUP"
      table "$s"
      ;;
    open-sweep)
      # Goal 2 of issue 18: each rate of RATES for OPEN_DURATION (60) s over 3,000 sessions,
      # Switchyard and nginx (fixed bytes) in turn; the highest rate whose p99 stays within
      # P99_MS (5) is reported for each, with the load generator's own share of the cores.
      # SWEEP_FRONTS/SWEEP_EXECUTORS (1/1): on two cores shared with the generator, fewer
      # processes to schedule keep the tail short (bench/RESULTS.md); nginx gets as many workers.
      local FRONTS=${SWEEP_FRONTS:-1} EXECUTORS=${SWEEP_EXECUTORS:-1}
      start_servers nginx || return 1
      local r srv
      for r in ${RATES:-30000 35000}; do
        for srv in $SERVERS; do
          OUT=$OUT/open-sweep measure "$r" "$srv" -c "${CONNS:-3000}" --rate "$r" -d "${OPEN_DURATION:-60}" --warmup "$WARMUP"
        done
      done
      open_sweep_summary "$OUT/open-sweep" "${P99_MS:-5}" | tee "$OUT/open-sweep/table.md"
      ;;
    idle|idle100k)
      # idle100k: 100,000 sessions over 8 fronts from 8 generator processes (goal 3 of issue 18).
      local sessions procs hold=${HOLD:-10}
      if [ "$s" = idle100k ]; then
        sessions=${SESSIONS:-100000}; procs=${PROCS:-8}
        local FRONTS=${IDLE_FRONTS:-8}   # start_switchyard reads FRONTS
      else
        sessions=${SESSIONS:-30000}; procs=${PROCS:-3}
      fi
      idle_limits "$sessions" "$procs" "$FRONTS" || return 1
      start_switchyard || return 1
      local before pss_before anon_before
      before=$(front_rss_kib); pss_before=$(front_pss_kib); anon_before=$(front_mem_kib '^Anonymous:')
      mkdir -p "$OUT/$s"
      log "$s: $sessions sessions from $procs generator processes over $FRONTS fronts, held ${hold}s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
      local gpids=() i
      for ((i = 0; i < procs; i++)); do
        timeout 300 "$GEN" run --url "http://127.0.0.1:$SY_PORT/mcp" --idle -c $((sessions / procs)) -d "$hold" \
          --warmup 0 --threads 1 --source-addresses "127.0.0.$((2 + i))" --label "switchyard-idle-$i" \
          --timeout 30 --json "$OUT/$s/gen-$i.json" >"$OUT/$s/gen-$i.txt" 2>"$work/idle-$i.err" &
        gpids+=($!)
      done
      # Front memory once every generator has its sessions open.
      for _ in $(seq 3000); do
        [ "$(cat "$work"/idle-*.err 2>/dev/null | grep -c '^set up')" -ge "$procs" ] && break; sleep 0.1
      done
      sleep ${SETTLE:-2}
      local after pss_after anon_after
      after=$(front_rss_kib); pss_after=$(front_pss_kib); anon_after=$(front_mem_kib '^Anonymous:')
      for p in "${gpids[@]}"; do wait "$p"; done
      cat "$OUT/$s"/gen-*.txt
      local held ok errs setup
      held=$(jq -s 'map(.sessionsHeld) | add' "$OUT/$s"/gen-*.json)
      ok=$(jq -s 'map(.ok) | add' "$OUT/$s"/gen-*.json)
      errs=$(jq -s 'map(.errors + .setupErrors) | add' "$OUT/$s"/gen-*.json)
      # The generators start together: set-up ends with the slowest.
      setup=$(jq -s 'map(.setupSeconds) | max * 100 | round / 100' "$OUT/$s"/gen-*.json)
      per() { echo $(( held > 0 ? ($2 - $1) * 1024 / held : 0 )); }
      { echo "| sessions held | set-up s | sessions/s | answered at the end | errors | front RSS before → with KiB | per session: RSS B | PSS B | anonymous B | load average |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        echo "| $held | $setup | $(awk -v n="$held" -v t="$setup" 'BEGIN{ printf "%.0f", (t > 0 ? n / t : 0) }') | $ok | $errs | $before → $after | $(per "$before" "$after") | $(per "$pss_before" "$pss_after") | $(per "$anon_before" "$anon_after") | $(cut -d' ' -f1-3 /proc/loadavg) |"
      } | tee "$OUT/$s/table.md"
      [ "$held" -eq "$sessions" ] && [ "$ok" -eq "$sessions" ] && [ "$errs" -eq 0 ] \
        || { log "$s: $held of $sessions held, $ok answered, $errs errors"; return 1; }
      ;;
    args-10k|args-1m)
      local bytes conns
      if [ "$s" = args-10k ]; then bytes=10000; conns=50; else bytes=1000000; conns=8; fi
      random_text_args "$bytes" "$work/args.json"
      local anchors=""; for a in $ANCHORS; do [ "$a" = nginx ] || anchors="$anchors $a"; done
      # shellcheck disable=SC2086
      start_servers $anchors || return 1
      for srv in $SERVERS; do
        measure "$s" "$srv" -c "$conns" -d "$DURATION" --warmup "$WARMUP" --args-file "$work/args.json" --timeout 30
      done
      # The same with executor-link compression on (threshold 64 KiB), to show what it costs or
      # saves against the default (8 MiB: off for these sizes).
      kill "${PID[switchyard]}"; wait "${PID[switchyard]}" 2>/dev/null; unset 'PID[switchyard]'
      start_switchyard --compress-threshold 65536 || return 1
      PID[switchyard-compressed]=${PID[switchyard]}
      measure "$s" switchyard-compressed -c "$conns" -d "$DURATION" --warmup "$WARMUP" --args-file "$work/args.json" --timeout 30
      unset 'PID[switchyard-compressed]'
      link_baseline "$s" "$bytes" "$conns"
      table "$s"
      ;;
    stateless-100)
      # The 2026-07-28 era: no session; MCP-Protocol-Version, Mcp-Method, Mcp-Name and _meta
      # on every request. The Python SDK serves this revision; the Swift SDK 0.12.1 does not.
      local anchors=""; for a in $ANCHORS; do [ "$a" = swift-sdk ] || anchors="$anchors $a"; done
      # shellcheck disable=SC2086
      start_servers $anchors || return 1
      for srv in $SERVERS; do
        STATELESS=1 measure "$s" "$srv" -c 100 -d "$DURATION" --warmup "$WARMUP"
      done
      table "$s"
      ;;
    cpu)
      # sha256 has a fresh-result TTL (issue 16): with the cache on, every call after the
      # first would be a cache hit at the front, and no executor would work at all.
      start_switchyard --result-cache-mb 0 || return 1
      measure "$s" switchyard -c 100 -d "$DURATION" --warmup "$WARMUP" --tool sha256 \
        --args "{\"text\":\"hello\",\"rounds\":${ROUNDS:-2000}}"
      table "$s"
      ;;
    churn)
      # shellcheck disable=SC2086
      start_servers $ANCHORS || return 1
      for srv in $SERVERS; do
        measure "$s" "$srv" -c 100 -d "$DURATION" --warmup "$WARMUP" --new-connection-per-request
      done
      table "$s"
      ;;
    nginx-hops)
      # Goal 1 of issue 18: closed loop at 3,000 connections against nginx's fixed answer (one
      # hop) and nginx relaying to itself over a Unix socket (two hops), 1 and 2 fronts.
      mkdir -p "$OUT/$s"
      local f
      for f in 1 2; do
        FRONTS=$f EXECUTORS=$f SWITCHYARD_BIN="$SY" SY_PORT=$SY_PORT NG_PORT=$NG_PORT NR_PORT=$SW_PORT \
          bench/echo.sh 3000 "$DURATION" 2>&1 | tee "$OUT/$s/fronts-$f.txt"
        grep -q "^ratio switchyard/nginx throughput" "$OUT/$s/fronts-$f.txt" || return 1
      done
      ;;
    args-1m-relay)
      # Goal 4 of issue 18: 1 MB echo against the raw two-hop relay, interleaved rounds.
      mkdir -p "$OUT/$s"
      ROUNDS=${RELAY_ROUNDS:-5} CONNS=${RELAY_CONNS:-8} SECONDS_=5 FRONTS=$FRONTS EXECUTORS=$EXECUTORS PORT=$SY_PORT \
        bench/payload-ratio.sh "$BIN_DIR" 2>&1 | tee "$OUT/$s/rounds.txt"
      grep -q "^median" "$OUT/$s/rounds.txt" || return 1
      ;;
    tls)
      # Goal 5 of issue 18: TLS closed loop, resumed and full handshakes against nginx.
      mkdir -p "$OUT/$s"
      FRONTS=$FRONTS EXECUTORS=$EXECUTORS SWITCHYARD_BIN="$SY" bench/tls.sh 256 "$DURATION" 2>&1 | tee "$OUT/$s/tls.txt"
      grep -q "^full handshakes/s" "$OUT/$s/tls.txt" || return 1
      ;;
    upstream)
      # Issue 17: pooled stdio copies against their own pipes and mcp-proxy (about 5 minutes).
      mkdir -p "$OUT/$s"
      DURATION=$DURATION WARMUP=$WARMUP BIN_DIR=$BIN_DIR bench/upstream.sh 2>&1 | tee "$OUT/$s/upstream.txt"
      grep -q "^targets:" "$OUT/$s/upstream.txt" || return 1
      ;;
    *) echo "unknown scenario: $s"; return 2 ;;
  esac
}

list=()
for a in "$@"; do [ "$a" = standard ] && list+=($STANDARD) || list+=("$a"); done
mkdir -p "$OUT"
for s in "${list[@]}"; do
  scenario "$s" || { FAILED=1; log "$s: FAILED"; }
  stop_all
done
if ls "$OUT"/echo-*/*.json >/dev/null 2>&1; then
  "$GEN" chart "$OUT"/echo-*/*.json --svg "$OUT/echo.svg" --title "echo tools/call, closed loop: throughput and p99 against connections" \
    && log "chart: $OUT/echo.svg"
fi
[ -d "$OUT" ] && [ "$(ls -A "$OUT")" ] && log "results: $OUT"
exit "$FAILED"
