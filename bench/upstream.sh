#!/usr/bin/env bash
# One FastMCP stdio server (Tests/Integration/upstreams/fastmcp_server.py) three ways, side by side:
#   pipes       COPIES copies driven directly over their stdin/stdout (bench/upstream_pipes.py): the limit
#   switchyard  switchyard serve --upstream ... --upstream-pool COPIES
#   mcp-proxy   mcp-proxy (PyPI) in front of one copy, as users run it today
#   remote      the same server over Streamable HTTP (one process), called directly and through
#               switchyard serve --upstream up=http://... (REMOTE_POOL connections, 16): fast tool only
# for a fast tool (say) and a 50 ms blocking tool (block, time.sleep in a coroutine: it stalls its copy),
# CONNS (100) sessions in a closed loop, then one call at a time for the added latency. The fast-tool and
# latency runs alternate pipes and Switchyard ROUNDS (3) times; the summary takes medians and checks
# issue 17's targets: fast tool >= 0.8x the pipes, blocking tool >= 0.8 x COPIES x mcp-proxy, added p50
# <= 0.3 ms (STRICT=1: exit 1 when one is missed). The pipe driver is one process per copy, and for the
# latency a blocking write-a-line/read-a-line loop; Switchyard's latency is the Swift generator's over
# HTTP. The load generator shares the cores. Not part of make test; `bench/run.sh upstream` runs it.
#
#   bench/upstream.sh            # DURATION=10 WARMUP=2 CONNS=100 COPIES=4 FRONTS=1 THREADS=1 ROUNDS=3
#   SMOKE=1 bench/upstream.sh    # 3 s runs, one round, Switchyard and pipes only: fails on any error
#
# Needs .build/release/switchyard and switchyard-bench (swift build -c release); creates bench/.venv (mcp 2.x,
# for the upstream) and bench/.venv-proxy (mcp-proxy) on first use. Results: one JSON line per run on stdout,
# then the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-.build/release}
SY=$BIN_DIR/switchyard
GEN=$BIN_DIR/switchyard-bench
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-100}
COPIES=${COPIES:-4}
FRONTS=${FRONTS:-1}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
STRICT=${STRICT:-}
SMOKE=${SMOKE:-}
[ -n "$SMOKE" ] && { DURATION=3; WARMUP=1; ROUNDS=1; }
[ -x "$SY" ] && [ -x "$GEN" ] || { echo "build first: swift build -c release (or set BIN_DIR)" >&2; exit 1; }
SERVER=Tests/Integration/upstreams/fastmcp_server.py

log() { echo "== $*" >&2; }

if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c 'import mcp.server.mcpserver' 2>/dev/null; then
  log "creating bench/.venv with the MCP Python SDK"
  python3 -m venv bench/.venv && bench/.venv/bin/pip install -q "mcp>=2.3,<3" uvicorn >&2
fi
UPY=$(pwd)/bench/.venv/bin/python
if [ -z "$SMOKE" ] && [ ! -x bench/.venv-proxy/bin/mcp-proxy ]; then
  log "creating bench/.venv-proxy with mcp-proxy"
  python3 -m venv bench/.venv-proxy && bench/.venv-proxy/bin/pip install -q mcp-proxy >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-upstream-bench-XXXXXX")
declare -A PID=()
stop() { local n=$1; [ -n "${PID[$n]:-}" ] && { kill "${PID[$n]}" 2>/dev/null || true; wait "${PID[$n]}" 2>/dev/null || true; }; unset "PID[$n]"; }
cleanup() { for n in "${!PID[@]}"; do stop "$n"; done; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

FAST_ARGS='{"text":"hello"}'
BLOCK_ARGS='{"seconds":0.05}'

# One closed-loop run; prints {"server":..., "tool":..., rate, p50, p99, errors}.
load() { # name url tool args conns [generator flags]
  rm -f "$work/run.json"   # a failed run must not report the previous one's numbers
  "$GEN" run --url "$2" -c "$5" -d "$DURATION" --warmup "$WARMUP" --threads "$THREADS" --tool "$3" --args "$4" ${6:-} \
    --json "$work/run.json" >"$work/run.txt" 2>"$work/run.err" || { log "$1 $3: errors"; tail -20 "$work/run.txt" >&2; [ -z "$SMOKE" ] || exit 1; }
  python3 - "$1" "$3" "$5" "$work/run.json" <<'PY' | tee -a "$work/rows.jsonl"
import json, sys
name, tool, conns, path = sys.argv[1:5]
r = json.load(open(path))
lat = r["latencyMs"]
print(json.dumps({"server": name, "tool": tool, "conns": int(conns), "rate": round(r["achievedRate"], 1),
                  "p50_ms": round(lat["p50"], 3), "p99_ms": round(lat["p99"], 3), "ok": r["ok"], "errors": r["errors"]}))
PY
}

pipes() { # tool args window [copies]
  "$UPY" bench/upstream_pipes.py --copies "${4:-$COPIES}" --window "$3" --duration "$DURATION" --warmup "$WARMUP" \
    --tool "$1" --args "$2" -- "$UPY" "$SERVER" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); d["server"]="pipes"; d["conns"]=d["copies"]*d["window"]; print(json.dumps(d))' \
    | tee -a "$work/rows.jsonl"
}

port=$(free_port)
log "switchyard: --upstream-pool $COPIES, $FRONTS front(s); pipes: $COPIES copies, a driver process each"
"$SY" serve --port "$port" --fronts "$FRONTS" --executors 0 --upstream "up=$UPY $SERVER" --upstream-pool "$COPIES" \
  --run-dir "$work/run" >"$work/sy.out" 2>"$work/sy.err" &
PID[switchyard]=$!
for _ in $(seq 600); do grep -q "serving MCP" "$work/sy.out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP" "$work/sy.out" || { tail -5 "$work/sy.err" >&2; exit 1; }
# Alternating rounds: the machine's drift falls on both sides alike.
for round in $(seq "$ROUNDS"); do
  log "round $round of $ROUNDS: fast tool"
  pipes say "$FAST_ARGS" 25
  load switchyard "http://127.0.0.1:$port/mcp" say "$FAST_ARGS" "$CONNS"
done
pipes block "$BLOCK_ARGS" 25
load switchyard "http://127.0.0.1:$port/mcp" block "$BLOCK_ARGS" "$CONNS"
for round in $(seq "$ROUNDS"); do
  log "round $round of $ROUNDS: one call at a time"
  pipes say "$FAST_ARGS" 1 1   # one copy, a blocking loop: the latency floor
  load switchyard "http://127.0.0.1:$port/mcp" say "$FAST_ARGS" 1
done
stop switchyard

# Remote: the same server over Streamable HTTP (fastmcp_http_server.py, one process), called directly
# and through Switchyard with --upstream up=http://... (REMOTE_POOL keep-alive connections).
REMOTE_POOL=${REMOTE_POOL:-16}
rport=$(free_port)
log "remote: FastMCP over Streamable HTTP, directly and behind switchyard (pool $REMOTE_POOL)"
"$UPY" Tests/Integration/upstreams/fastmcp_http_server.py --port "$rport" >"$work/remote.log" 2>&1 &
PID[remote]=$!
for _ in $(seq 300); do
  code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$rport/mcp" 2>/dev/null || true)
  [ -n "$code" ] && [ "$code" != 000 ] && break; sleep 0.1
done
# The generator's sessions (2025-11-25: SSE answers) and 2026-07-28 (JSON answers, what the bridge speaks to it).
load remote-direct "http://127.0.0.1:$rport/mcp" say "$FAST_ARGS" "$CONNS"
load remote-direct "http://127.0.0.1:$rport/mcp" say "$FAST_ARGS" 1
load remote-direct-2026 "http://127.0.0.1:$rport/mcp" say "$FAST_ARGS" "$CONNS" --stateless
load remote-direct-2026 "http://127.0.0.1:$rport/mcp" say "$FAST_ARGS" 1 --stateless
port=$(free_port)
"$SY" serve --port "$port" --fronts "$FRONTS" --executors 0 --upstream "up=http://127.0.0.1:$rport/mcp" \
  --upstream-pool "$REMOTE_POOL" --run-dir "$work/run-remote" >"$work/sy-remote.out" 2>"$work/sy-remote.err" &
PID[switchyard-remote]=$!
for _ in $(seq 600); do grep -q "serving MCP" "$work/sy-remote.out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP" "$work/sy-remote.out" || { tail -5 "$work/sy-remote.err" >&2; exit 1; }
load switchyard-remote "http://127.0.0.1:$port/mcp" say "$FAST_ARGS" "$CONNS"
load switchyard-remote "http://127.0.0.1:$port/mcp" say "$FAST_ARGS" 1
stop switchyard-remote
stop remote

summary() {
  python3 - "$work/rows.jsonl" "$COPIES" "$STRICT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
copies, strict = int(sys.argv[2]), sys.argv[3] not in ("", "0")
def pick(server, tool, conns):
    return [r for r in rows if r["server"] == server and r["tool"] == tool and r["conns"] == conns]
fast_pipes = pick("pipes", "say", copies * 25)
fast_sy = [r for r in rows if r["server"] == "switchyard" and r["tool"] == "say" and r["conns"] > 1]
lat_pipes, lat_sy = pick("pipes", "say", 1), pick("switchyard", "say", 1)
missed = []
print("== summary (medians of the rounds; the load generator shares the cores)")
if fast_pipes and fast_sy:
    ratios = [s["rate"] / p["rate"] for p, s in zip(fast_pipes, fast_sy)]
    r = statistics.median(ratios)
    print(f"fast tool: switchyard/pipes {r:.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)}; target >= 0.8)")
    if r < 0.8: missed.append("fast tool")
if lat_pipes and lat_sy:
    added = [s["p50_ms"] - p["p50_ms"] for p, s in zip(lat_pipes, lat_sy)]
    a = statistics.median(added)
    print(f"added p50: {a:+.3f} ms over the pipe floor {statistics.median(p['p50_ms'] for p in lat_pipes):.3f} ms "
          f"(rounds: {', '.join(f'{x:+.3f}' for x in added)}; target <= 0.3 ms)")
    if a > 0.3: missed.append("added latency")
block_sy, block_proxy = [r for r in rows if r["server"] == "switchyard" and r["tool"] == "block"], \
    [r for r in rows if r["server"] == "mcp-proxy" and r["tool"] == "block"]
if block_sy and block_proxy:
    x = block_sy[0]["rate"] / block_proxy[0]["rate"]
    print(f"blocking tool: switchyard/mcp-proxy {x:.1f}x (target >= 0.8 x {copies} copies = {0.8 * copies:.1f}x)")
    if x < 0.8 * copies: missed.append("blocking tool")
print("targets: " + ("all met" if not missed else "missed: " + ", ".join(missed)))
sys.exit(1 if strict and missed else 0)
PY
}

[ -n "$SMOKE" ] && { summary; exit 0; }
port=$(free_port)
log "mcp-proxy: one copy"
bench/.venv-proxy/bin/mcp-proxy --port "$port" --host 127.0.0.1 --log-level WARNING -- "$UPY" "$SERVER" \
  >"$work/proxy.log" 2>&1 &
PID[mcp-proxy]=$!
for _ in $(seq 300); do
  code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/mcp" 2>/dev/null || true)
  [ -n "$code" ] && [ "$code" != 000 ] && break; sleep 0.1
done
load mcp-proxy "http://127.0.0.1:$port/mcp" say "$FAST_ARGS" "$CONNS"
load mcp-proxy "http://127.0.0.1:$port/mcp" block "$BLOCK_ARGS" "$CONNS"
load mcp-proxy "http://127.0.0.1:$port/mcp" say "$FAST_ARGS" 1
stop mcp-proxy
summary
