"""The limit for bench/upstream.sh: N copies of a stdio MCP server driven directly over their
pipes, with no HTTP and no gateway. Each copy is initialized, then kept busy with WINDOW
pipelined tools/call requests for DURATION seconds; prints one JSON line: calls/s, p50 and p99
(ms) of each call from its write to its answer.

    python upstream_pipes.py --copies 4 --window 25 --duration 10 --tool say --args '{"text":"x"}' -- CMD ARGS
"""

import argparse
import asyncio
import json
import time


async def copy_loop(cmd, tool, args, window, duration, latencies, warmup):
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                limit=1 << 24)
    w, r = proc.stdin, proc.stdout

    def send(obj):
        w.write((json.dumps(obj) + "\n").encode())

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
          "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "pipes", "version": "1"}}})
    await w.drain()
    while json.loads(await r.readline()).get("id") != 0:
        pass
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    sent = {}
    next_id = 1
    start = time.monotonic()
    measure_from = start + warmup
    end = measure_from + duration
    count = 0

    def call():
        nonlocal next_id
        sent[next_id] = time.perf_counter()
        send({"jsonrpc": "2.0", "id": next_id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
        next_id += 1

    for _ in range(window):
        call()
    await w.drain()
    while True:
        line = await r.readline()
        if not line:
            raise RuntimeError("the copy closed its stdout")
        msg = json.loads(line)
        t0 = sent.pop(msg.get("id"), None)
        if t0 is None:
            continue
        if "error" in msg or msg["result"].get("isError"):
            raise RuntimeError(f"call failed: {msg}")
        now = time.monotonic()
        if measure_from <= now < end:
            latencies.append(time.perf_counter() - t0)
            count += 1
        if now >= end:
            break
        call()
        await w.drain()
    proc.stdin.close()
    proc.terminate()
    await proc.wait()
    return count


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--copies", type=int, default=4)
    p.add_argument("--window", type=int, default=25, help="calls in flight per copy")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--tool", default="say")
    p.add_argument("--args", default='{"text":"x"}')
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    latencies = []
    counts = await asyncio.gather(*(copy_loop(cmd, a.tool, json.loads(a.args), a.window, a.duration, latencies,
                                              a.warmup) for _ in range(a.copies)))
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else None

    print(json.dumps({"copies": a.copies, "window": a.window, "tool": a.tool, "calls": sum(counts),
                      "rate": round(sum(counts) / a.duration, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}))


asyncio.run(main())
