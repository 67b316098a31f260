#!/usr/bin/env bash
# Two Switchyard hosts, one Redis and one balancer on this machine's loopback: what
# deploy/README.md ("Several hosts") walks through, in one command. Ctrl-C stops everything.
#
#   deploy/local-hosts.sh [haproxy|nginx]
#
# Environment: SWITCHYARD_BIN (.build/release/switchyard), PORT (8080, the balancer's),
# HOST_PORT (8081, each host's, on 127.0.0.2 and 127.0.0.3), REDIS_PORT (6390; REDIS=none runs
# the hosts without Redis: sessions still serve anywhere, nothing else is shared), WORK (a new
# temporary directory; the hosts' run directories, logs and pid files go there), SERVE_ARGS
# (more options for both hosts), FRONTS (1 per host).
# Hosts on other addresses or in network namespaces (as the tests do when run as root): HOSTS
# (the two hosts' addresses, "127.0.0.2 127.0.0.3"), NETNS (two existing network namespaces,
# one per host, "" for none: each host then runs under `ip netns exec`), LOCAL_ADDRESS
# (127.0.0.1: where Redis and the balancer listen, and the address the hosts see the balancer
# connect from, so it must be reachable from the hosts).
set -euo pipefail
cd "$(dirname "$0")/.."

BALANCER=${1:-haproxy}
BIN=${SWITCHYARD_BIN:-.build/release/switchyard}
PORT=${PORT:-8080}
HOST_PORT=${HOST_PORT:-8081}
REDIS_PORT=${REDIS_PORT:-6390}
REDIS=${REDIS:-redis}
FRONTS=${FRONTS:-1}
WORK=${WORK:-$(mktemp -d -t switchyard-hosts.XXXXXX)}
read -r -a HOSTS <<<"${HOSTS:-127.0.0.2 127.0.0.3}"
read -r -a NETNS <<<"${NETNS:-}"
LOCAL_ADDRESS=${LOCAL_ADDRESS:-127.0.0.1}
NAMES=(host-a host-b)
[ ${#HOSTS[@]} -eq 2 ] || { echo "HOSTS: two addresses, got '${HOSTS[*]}'" >&2; exit 2; }
[ ${#NETNS[@]} -eq 0 ] || [ ${#NETNS[@]} -eq 2 ] || { echo "NETNS: two namespaces or none, got '${NETNS[*]}'" >&2; exit 2; }

case "$BALANCER" in haproxy|nginx) ;; *) echo "usage: $0 [haproxy|nginx]" >&2; exit 2 ;; esac
for tool in "$BALANCER" ${REDIS/none/}; do
  command -v "$tool" >/dev/null 2>&1 || command -v "$tool-server" >/dev/null 2>&1 || {
    echo "$tool is not installed: apt-get install -y ${tool/redis/redis-server}" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "no switchyard binary at $BIN: run make build" >&2; exit 1; }
mkdir -p "$WORK"
chmod 700 "$WORK"

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

wait_for() { # wait_for HOST PORT SECONDS
  local end=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    [ $SECONDS -lt $end ] || { echo "nothing answers on $1:$2" >&2; return 1; }
    sleep 0.1
  done
}

# One session key for every host (a host that cannot open another's session ids would answer
# 404 to half of every session's requests), in a file only its owner can read.
umask 077
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$WORK/session.key"

redis_args=()
if [ "$REDIS" != none ]; then
  # A password, as on any Redis that hosts reach over a network: without one, Redis's protected
  # mode refuses every client that is not on loopback (hosts in their own network namespaces).
  # It stays out of process listings: in Redis's config file and the hosts' password file (0600).
  od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$WORK/redis.pw"
  printf 'requirepass %s\n' "$(cat "$WORK/redis.pw")" > "$WORK/redis.conf"
  setsid redis-server "$WORK/redis.conf" --bind "$LOCAL_ADDRESS" --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$WORK" --logfile "$WORK/redis.log" &
  pids+=($!)
  wait_for "$LOCAL_ADDRESS" "$REDIS_PORT" 10
  redis_args=(--redis "redis://$LOCAL_ADDRESS:$REDIS_PORT/0" --redis-password-file "$WORK/redis.pw")
fi

for i in 0 1; do
  name=${NAMES[$i]}
  mkdir -p "$WORK/$name"
  in_netns=()
  [ ${#NETNS[@]} -eq 0 ] || in_netns=(ip netns exec "${NETNS[$i]}")
  # setsid: each host is a process group of its own, as a separate machine would be (`ip netns
  # exec` execs in place: the pid is still the host's).
  setsid "${in_netns[@]}" "$BIN" serve --host "${HOSTS[$i]}" --port "$HOST_PORT" --fronts "$FRONTS" \
    --session-key-file "$WORK/session.key" --run-dir "$WORK/$name/run" "${redis_args[@]}" \
    --trusted-proxy "$LOCAL_ADDRESS" \
    ${SERVE_ARGS:-} >"$WORK/$name/stdout.log" 2>"$WORK/$name/stderr.log" &
  pids+=($!)
  echo $! > "$WORK/$name.pid"
done
for i in 0 1; do
  wait_for "${HOSTS[$i]}" "$HOST_PORT" 60
  curl -fsS --retry 30 --retry-delay 1 --retry-all-errors -o /dev/null "http://${HOSTS[$i]}:$HOST_PORT/readyz"
done

render() { # the deploy config with this machine's addresses
  sed -e "s/10\.0\.0\.11:8080/${HOSTS[0]}:$HOST_PORT/" -e "s/10\.0\.0\.12:8080/${HOSTS[1]}:$HOST_PORT/" \
      -e "s/^\( *\)bind :8080/\1bind $LOCAL_ADDRESS:$PORT/" -e "s/^\( *\)listen 8080;/\1listen $LOCAL_ADDRESS:$PORT;/" "$1"
}
if [ "$BALANCER" = haproxy ]; then
  render deploy/haproxy.cfg > "$WORK/haproxy.cfg"
  setsid haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log" &
else
  mkdir -p "$WORK/nginx/tmp"
  render deploy/nginx.conf | sed -e 's/^daemon .*//' -e 's/^worker_processes auto;/worker_processes 2;\ndaemon off;/' \
    > "$WORK/nginx/nginx.conf"
  setsid nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx.log" &
fi
pids+=($!)
balancer=$!
echo $balancer > "$WORK/balancer.pid"
wait_for "$LOCAL_ADDRESS" "$PORT" 10

echo "switchyard: two hosts behind $BALANCER at http://$LOCAL_ADDRESS:$PORT/mcp (work directory $WORK)"
# Runs until Ctrl-C or until the balancer ends; a host that dies is the balancer's business.
wait "$balancer" || true
