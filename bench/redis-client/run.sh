#!/usr/bin/env bash
# The Redis client (Sources/Redis) beside redis-benchmark against one redis-server started here
# on a free loopback port: pipelined SET and GET, commands/s and CPU per command.
#   bench/redis-client/run.sh [COUNT]     (default 1,000,000 commands per measurement)
# Needs redis-server and redis-benchmark (Debian redis-server, redis-tools); builds the bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-1000000}
swift build -c release --product redis-client-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)/redis-client-bench
DIR=$(mktemp -d "${TMPDIR:-/tmp}/redis-bench-XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize no \
  --logfile "$DIR/redis.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
echo "redis-server $(redis-server --version | awk '{print $3}'), $(nproc) cores shared by client and server, $COUNT commands each"
# One connection with 16 in flight, then the default 50 connections with 16 each (800 in flight).
for clients in 1 50; do
  s0=$(cpu $SERVER)
  TIMEFORMAT="%U %S"
  { time redis-benchmark -p "$PORT" -c $clients -P 16 -t set,get -n "$COUNT" -q > "$DIR/rb.txt"; } 2> "$DIR/rb.time"
  s1=$(cpu $SERVER)
  read -r u s < "$DIR/rb.time"
  tr '\r' '\n' < "$DIR/rb.txt" | grep -E '^(SET|GET): [0-9.]+ requests per second' | sed "s/^/redis-benchmark -c $clients -P 16 /"
  awk -v u="$u" -v s="$s" -v n="$COUNT" -v a="$s0" -v b="$s1" -v t="$TICK" 'BEGIN {
    printf "redis-benchmark -c %d: benchmark CPU %.2f µs/cmd, server CPU %.2f µs/cmd (SET+GET)\n", '"$clients"', (u+s)/(2*n)*1e6, (b-a)/t/(2*n)*1e6 }'
done
"$BIN" --port "$PORT" --count "$COUNT" --windows 16,800 --server-pid "$SERVER"
