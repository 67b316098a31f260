#!/usr/bin/env python3
"""What one SSE event costs with the shared event log (Redis) and without it.

Starts `switchyard serve --fronts 2 --executors 1 --tools conformance` (the binary in
$SWITCHYARD_BIN, else .build/release/switchyard) twice: once alone, once with `--redis` on a
redis-server this script starts on a free loopback port. Each time it opens STREAMS 2025-11-25 GET
streams (a session each), then sends EVENTS list changes one after the other (tools/call
`test_trigger_tool_change`) and waits until every stream has each one. Prints, per mode:
  - latency: from sending the trigger to the last stream holding the event (median, p95);
  - server CPU per event: CPU time of the server's process tree (and of redis-server) over the
    events, divided by EVENTS (one event reaches every stream: it is the cost of one notification
    fanned out to STREAMS streams).

Usage: bench/sse-redis.py [STREAMS] [EVENTS]    (defaults 100 and 300)
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Integration"))

from conformance_util import stateless_headers, valid_meta  # noqa: E402
from redis_servers import RedisServer  # noqa: E402
from sy_http import RawConnection, dumps, rpc  # noqa: E402

BIN = os.environ.get("SWITCHYARD_BIN") or str(REPO / ".build" / "release" / "switchyard")
TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """User+system seconds of `root` and its descendants."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d)] = fields
        children.setdefault(int(fields[1]), []).append(int(d))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += (int(stats[pid][11]) + int(stats[pid][12])) / TICKS
        todo += children.get(pid, [])
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(extra: list[str], run_dir: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    p = subprocess.Popen([BIN, "serve", "--port", str(port), "--fronts", "2", "--executors", "1",
                          "--tools", "conformance", "--run-dir", run_dir] + extra,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    for line in p.stdout:
        if b"serving MCP at" in line:
            return p, port
        if time.monotonic() > deadline:
            break
    p.kill()
    raise SystemExit("switchyard did not start")


def open_stream(port: int, sid: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
               f"Mcp-Session-Id: {sid}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n").encode())
    s.setblocking(False)
    return s


def trigger_body() -> bytes:
    return dumps(rpc("tools/call", {"name": "test_trigger_tool_change", "arguments": {}, "_meta": valid_meta()}))


def measure(port: int, server_pid: int, streams: int, events: int, redis_pid: int | None) -> dict:
    with RawConnection("127.0.0.1", port) as c:
        sids = [c.initialize() for _ in range(streams)]
    socks = [open_stream(port, sid) for sid in sids]
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    counts = {s: 0 for s in socks}

    def pump(until: float, want: int) -> bool:
        while time.monotonic() < until:
            if all(v >= want for v in counts.values()):
                return True
            for key, _ in sel.select(timeout=0.05):
                data = key.fileobj.recv(65536)
                counts[key.fileobj] += data.count(b"list_changed")
        return all(v >= want for v in counts.values())

    headers = stateless_headers("tools/call", {"name": "test_trigger_tool_change"})
    time.sleep(0.5)  # streams open and primed
    latencies = []
    with RawConnection("127.0.0.1", port) as c:
        cpu0 = tree_cpu(server_pid)
        rcpu0 = tree_cpu(redis_pid) if redis_pid else 0.0
        for i in range(1, events + 1):
            t0 = time.monotonic()
            r = c.request("POST", "/mcp", headers, trigger_body())
            assert r.status == 200, r
            if not pump(time.monotonic() + 5, i):
                raise SystemExit(f"event {i} did not reach every stream within 5 s")
            latencies.append(time.monotonic() - t0)
        cpu = tree_cpu(server_pid) - cpu0
        rcpu = (tree_cpu(redis_pid) - rcpu0) if redis_pid else 0.0
    for s in socks:
        s.close()
    latencies.sort()
    return {"median_ms": statistics.median(latencies) * 1000, "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
            "server_cpu_us_per_event": cpu / events * 1e6, "redis_cpu_us_per_event": rcpu / events * 1e6}


def main():
    streams = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    results = {}
    with tempfile.TemporaryDirectory(prefix="sy-") as run_dir:
        p, port = start([], run_dir)
        try:
            results["memory"] = measure(port, p.pid, streams, events, None)
        finally:
            p.terminate()
            p.wait(15)
    with RedisServer() as redis, tempfile.TemporaryDirectory(prefix="sy-") as run_dir:
        p, port = start(["--redis", redis.url], run_dir)
        try:
            deadline = time.monotonic() + 15
            while int(redis.command("PUBSUB", "NUMSUB", "sy:notify")[1]) < 2:
                if time.monotonic() > deadline:
                    raise SystemExit("the fronts never subscribed to sy:notify")
                time.sleep(0.05)
            results["redis"] = measure(port, p.pid, streams, events, redis.process.pid)
        finally:
            p.terminate()
            p.wait(15)
    print(json.dumps({"streams": streams, "events": events, **results}, indent=2))


if __name__ == "__main__":
    main()
