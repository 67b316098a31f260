#!/usr/bin/env bash
# Instructions per echo call at the front, TLS or plain HTTP, by callgrind: one executor and one
# front by hand, the front under callgrind, wrk driving 10 keep-alive connections for SECONDS
# (bench/echo.lua, answers checked). Per-function costs divided by the calls are repeatable on a
# noisy box; the total includes the front's start and the handshakes, so compare runs of similar
# call counts, or the TLS functions' inclusive costs (printed).
#   bench/tls-callgrind.sh tls|plain [BIN]      (env: SECONDS=15 PORT=18231)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?tls or plain}
BIN=${2:-.build/release/switchyard}
SECS=${SECONDS_RUN:-15}
PORT=${PORT:-18231}
scheme=http; [ "$MODE" = tls ] && scheme=https
work=$(mktemp -d /tmp/sy-tlscg-XXXXXX)
exec_pid= front_pid=
cleanup() {
  [ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null
  [ -n "$exec_pid" ] && kill "$exec_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export SWIFT_DETERMINISTIC_HASHING=1
objcopy --strip-debug "$BIN" "$work/switchyard" # valgrind cannot read the DWARF of Swift's release build
tls=()
if [ "$MODE" = tls ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
    -days 1 -subj /CN=localhost 2>/dev/null
  chmod 600 "$work/key.pem"
  tls=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
fi
mkdir -m 700 -p "$work/run/executors"
"$work/switchyard" executor --socket "$work/run/executors/e0.sock" 2>/dev/null & exec_pid=$!
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  "$work/switchyard" front --run-dir "$work/run" --port "$PORT" "${tls[@]}" 2>"$work/front.err" & front_pid=$!
for _ in $(seq 300); do
  [ "$(curl -sk -o /dev/null -w '%{http_code}' "$scheme://127.0.0.1:$PORT/readyz" 2>/dev/null)" = 200 ] && break
  sleep 0.2
done
SESSION=$(curl -sk -D - -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
  -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"cg","version":"1"}}}' \
  "$scheme://127.0.0.1:$PORT/mcp" | awk 'tolower($1)=="mcp-session-id:"{print $2}' | tr -d '\r')
export SESSION
out=$(wrk -t1 -c10 -d"${SECS}s" --timeout 10s -s bench/echo.lua "$scheme://127.0.0.1:$PORT/mcp" | grep '^RESULT')
kill -TERM "$front_pid"; wait "$front_pid" 2>/dev/null || true; front_pid=
calls=$(echo "$out" | sed 's/.*requests=\([0-9]*\).*/\1/')
callgrind_annotate --inclusive=yes "$work/cg.out" 2>/dev/null > "$work/annotate.txt"
total=$(awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }' "$work/annotate.txt")
echo "$MODE: front Ir $total for $calls calls: $(( total / calls )) per call ($out)"
for f in sy_tls_read sy_tls_write SSL_do_handshake SSL_read_ex SSL_write_ex ERR_clear_error CRYPTO_malloc CRYPTO_free; do
  awk -v f="???:$f" -v n="$calls" '{ for (i = 2; i <= NF; i++) if ($i == f) { gsub(",", "", $1)
    printf "  %-18s %7.0f per call (inclusive)\n", substr(f, 5), $1 / n; exit } }' \
    "$work/annotate.txt"
done
