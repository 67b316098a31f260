#!/usr/bin/env python3
"""`switchyard stdio` over its pipes: sequential round-trip latency (p50/p99) of a tools/call echo,
then pipelined throughput with a window of calls in flight.

    python3 bench/stdio.py [--bin .build/release/switchyard] [--calls 20000] [--window 256] [--executors 1]

Numbers go in bench/RESULTS.md by hand; this is not a test (no target is asserted).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "switchyard"))
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--sequential", type=int, default=2000)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--executors", type=int, default=1)
    a = ap.parse_args()

    p = subprocess.Popen([a.bin, "stdio", "--executors", str(a.executors)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout

    def send(msgs: list[dict]):
        p.stdin.write(b"".join(json.dumps(m, separators=(",", ":")).encode() + b"\n" for m in msgs))
        p.stdin.flush()

    def call(i: int) -> dict:
        return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": f"m{i}"}}}

    send([{"jsonrpc": "2.0", "id": 0, "method": "initialize",
           "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}}},
          {"jsonrpc": "2.0", "method": "notifications/initialized"}])
    assert json.loads(out.readline())["id"] == 0

    lat = []
    for i in range(1, a.sequential + 1):
        t0 = time.perf_counter()
        send([call(i)])
        r = json.loads(out.readline())
        lat.append(time.perf_counter() - t0)
        assert r["id"] == i and r["result"]["content"][0]["text"] == f"m{i}", r
    lat.sort()
    print(f"sequential: {a.sequential} calls, p50 {lat[len(lat) // 2] * 1e6:.0f} us, "
          f"p99 {lat[int(len(lat) * 0.99)] * 1e6:.0f} us")

    base = a.sequential + 1
    sent = done = 0
    t0 = time.perf_counter()
    while done < a.calls:
        n = min(a.window - (sent - done), a.calls - sent)
        if n > 0:
            send([call(base + sent + k) for k in range(n)])
            sent += n
        r = json.loads(out.readline())
        assert "result" in r, r
        done += 1
    dt = time.perf_counter() - t0
    print(f"pipelined: {a.calls} calls, window {a.window}, {a.calls / dt:.0f} calls/s")
    p.stdin.close()
    print(f"exit status after end of input: {p.wait(10)}")


if __name__ == "__main__":
    main()
