#!/usr/bin/env bash
# TLS: Switchyard and nginx serving TLS with the same certificate, protocol and cipher, side by
# side in one run, under wrk (echo tools/call, answers checked by bench/echo.lua):
#   1. closed loop on keep-alive connections (TLS records on the request path);
#   2. new connections, resumed: every request on a new connection (`Connection: close`); wrk
#      resumes its TLS session on each (a TLS 1.3 PSK handshake with ECDHE, no certificate);
#   3. full handshakes: HANDSHAKE_CLIENTS parallel `openssl s_time -new` (a full handshake with
#      the certificate's signature on each connection, no request), handshakes per second.
#   bench/tls.sh [CONNECTIONS=256] [SECONDS=20]
# Knobs: NEW_CONNS (64) connections for part 2, HANDSHAKE_CLIENTS (4) for part 3, KEY (ec: P-256;
# rsa: RSA-2048), THREADS (2),
# FRONTS/EXECUTORS (2/2). The load generator shares the machine's cores with the server: quote
# the ratios and requests per server CPU-second.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-256}
SECS=${2:-20}
NEW_CONNS=${NEW_CONNS:-64}
HANDSHAKE_CLIENTS=${HANDSHAKE_CLIENTS:-4}
KEY=${KEY:-ec}
THREADS=${THREADS:-2}
SY_PORT=${SY_PORT:-18191}
NG_PORT=${NG_PORT:-18192}
BIN=${SWITCHYARD_BIN:-.build/release/switchyard}
FRONTS=${FRONTS:-2}
EXECUTORS=${EXECUTORS:-2}
work=$(mktemp -d /tmp/sybench-tls-XXXXXX)
cleanup() { [ -n "${SY_PID:-}" ] && kill "$SY_PID" 2>/dev/null; [ -n "${NG_PID:-}" ] && kill "$NG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true

tree() { local p=$1; echo "$p"; for c in $(pgrep -P "$p"); do tree "$c"; done; }
cpu_ticks() { local total=0; for p in $(tree "$1"); do t=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); total=$((total + ${t:-0})); done; echo $total; }

# A CA and a server certificate made now (nothing private is kept).
case "$KEY" in
  ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
  rsa) newkey=(-newkey rsa:2048) ;;
  *) echo "KEY is ec or rsa"; exit 1 ;;
esac
openssl req -x509 "${newkey[@]}" -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 1 -subj "/CN=bench CA" 2>/dev/null
openssl req "${newkey[@]}" -nodes -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$work/ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/server.pem" -days 1 -extfile "$work/ext" 2>/dev/null
chmod 600 "$work/server.key"

sed -e "s|@PREFIX@|$work|g" -e "s|@PORT@|$NG_PORT|g" -e "s|@CERT@|$work/server.pem|g" -e "s|@KEY@|$work/server.key|g" \
  bench/nginx-tls.conf > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" 2>"$work/nginx.err" & NG_PID=$!

"$BIN" serve --port "$SY_PORT" --fronts "$FRONTS" --executors "$EXECUTORS" --run-dir "$work/run" \
  --tls-cert "$work/server.pem" --tls-key "$work/server.key" >"$work/sy.out" 2>"$work/sy.err" & SY_PID=$!
for _ in $(seq 100); do grep -q "serving MCP" "$work/sy.out" 2>/dev/null && break; sleep 0.1; done
grep -q "serving MCP at https://" "$work/sy.out" || { echo "switchyard did not start"; cat "$work/sy.err"; exit 1; }
sleep 0.5

# The same protocol and cipher on both (what a default OpenSSL client negotiates).
for p in "$NG_PORT" "$SY_PORT"; do
  echo | openssl s_client -connect "127.0.0.1:$p" -CAfile "$work/ca.pem" -alpn http/1.1 2>/dev/null \
    | awk -v port="$p" '/^New, /{print "port " port ": " $0}'
done

SESSION=$(curl -s --cacert "$work/ca.pem" -D - -o /dev/null -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' \
  "https://127.0.0.1:$SY_PORT/mcp" | awk 'tolower($1)=="mcp-session-id:"{print $2}' | tr -d '\r')
[ -n "$SESSION" ] || { echo "no session"; cat "$work/sy.err"; exit 1; }
export SESSION

run() { # name port root-pid connections [extra wrk args]
  local name=$1 port=$2 pid=$3 conns=$4; shift 4
  local c0; c0=$(cpu_ticks "$pid")
  local out; out=$(wrk -t"$THREADS" -c"$conns" -d"${SECS}s" --timeout 10s -s bench/echo.lua "$@" "https://127.0.0.1:$port/mcp" 2>&1)
  local c1; c1=$(cpu_ticks "$pid")
  local line; line=$(echo "$out" | grep '^RESULT')
  local reqs; reqs=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/')
  local cpu_s; cpu_s=$(awk -v t=$((c1 - c0)) 'BEGIN{printf "%.1f", t/100}')
  local per_cpu; per_cpu=$(awk -v r="$reqs" -v c="$cpu_s" 'BEGIN{ if (c > 0) printf "%.0f", r/c; else print "n/a"}')
  echo "$name $line server_cpu_s=$cpu_s req_per_cpu_s=$per_cpu"
  echo "$out" | grep -E "Non-2xx|Socket errors" || true
}
rps() { sed -n 's/.*rps=\([0-9]*\).*/\1/p' "$1" | head -1; }
percpu() { sed -n 's/.*req_per_cpu_s=\([0-9]*\).*/\1/p' "$1" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }

echo "# 1. TLS closed loop, echo tools/call, $CONNS keep-alive connections, ${SECS}s, key $KEY, wrk -t$THREADS on the same $(nproc)-core machine"
run nginx "$NG_PORT" "$NG_PID" "$CONNS" | tee "$work/ng1.txt"
run switchyard "$SY_PORT" "$SY_PID" "$CONNS" | tee "$work/sy1.txt"
echo "ratio switchyard/nginx: throughput $(ratio "$(rps "$work/sy1.txt")" "$(rps "$work/ng1.txt")"), per server CPU-second $(ratio "$(percpu "$work/sy1.txt")" "$(percpu "$work/ng1.txt")")"

echo "# 2. new connections, resumed sessions: one request per connection, $NEW_CONNS connections, ${SECS}s"
run nginx "$NG_PORT" "$NG_PID" "$NEW_CONNS" -H "Connection: close" | tee "$work/ng2.txt"
run switchyard "$SY_PORT" "$SY_PID" "$NEW_CONNS" -H "Connection: close" | tee "$work/sy2.txt"
echo "resumed handshakes/s: nginx $(rps "$work/ng2.txt"), switchyard $(rps "$work/sy2.txt"); ratio $(ratio "$(rps "$work/sy2.txt")" "$(rps "$work/ng2.txt")"), per server CPU-second $(ratio "$(percpu "$work/sy2.txt")" "$(percpu "$work/ng2.txt")")"
handshakes() { # name port root-pid: HANDSHAKE_CLIENTS s_time clients doing full handshakes for SECS
  local name=$1 port=$2 pid=$3 i clients=()
  local c0; c0=$(cpu_ticks "$pid")
  for i in $(seq "$HANDSHAKE_CLIENTS"); do
    openssl s_time -connect "127.0.0.1:$port" -new -time "$SECS" > "$work/st-$name-$i.txt" 2>&1 & clients+=($!)
  done
  wait "${clients[@]}" || true
  local c1; c1=$(cpu_ticks "$pid")
  local n; n=$(cat "$work"/st-"$name"-*.txt | awk '/connections in [0-9.]+ real seconds/{n += $1} END{print n+0}')
  local cpu_s; cpu_s=$(awk -v t=$((c1 - c0)) 'BEGIN{printf "%.1f", t/100}')
  awk -v name="$name" -v n="$n" -v s="$SECS" -v c="$cpu_s" \
    'BEGIN{ printf "%s full_handshakes=%d rps=%.0f server_cpu_s=%s req_per_cpu_s=%.0f\n", name, n, n/s, c, (c > 0 ? n/c : 0) }'
}
echo "# 3. full handshakes, no resumption: $HANDSHAKE_CLIENTS openssl s_time -new clients, ${SECS}s"
handshakes nginx "$NG_PORT" "$NG_PID" | tee "$work/ng3.txt"
handshakes switchyard "$SY_PORT" "$SY_PID" | tee "$work/sy3.txt"
echo "full handshakes/s: nginx $(rps "$work/ng3.txt"), switchyard $(rps "$work/sy3.txt"); ratio $(ratio "$(rps "$work/sy3.txt")" "$(rps "$work/ng3.txt")"), per server CPU-second $(ratio "$(percpu "$work/sy3.txt")" "$(percpu "$work/ng3.txt")")"
if grep -q "level=error" "$work/sy.err"; then echo "server logged errors:"; grep "level=error" "$work/sy.err" | head; fi
