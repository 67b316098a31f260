"""The limit for bench/upstream.sh: N copies of a stdio MCP server driven directly over their
pipes, with no HTTP and no gateway. Each copy is initialized, then kept busy with WINDOW
pipelined tools/call requests for DURATION seconds, by a driver process of its own (so the
drivers, not the copies, never set the limit); prints one JSON line: calls/s, p50 and p99 (ms)
of each call from its write to its answer. With one copy and a window of 1 the driver is a plain
blocking loop (write a line, read a line: no event loop), the floor an added latency is measured
against.

    python upstream_pipes.py --copies 4 --window 25 --duration 10 --tool say --args '{"text":"x"}' -- CMD ARGS
"""

import argparse
import asyncio
import json
import multiprocessing
import subprocess
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


def sync_loop(cmd, tool, args, duration, latencies, warmup):
    """One call at a time over blocking pipes: the least a client can add to a call."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    w, r = proc.stdin, proc.stdout
    reader = open(r.fileno(), "rb", buffering=1 << 16, closefd=False)

    def exchange(obj, wait_id):
        w.write((json.dumps(obj) + "\n").encode())
        if wait_id is None:
            return None
        while True:
            msg = json.loads(reader.readline())
            if msg.get("id") == wait_id:
                return msg

    exchange({"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "pipes", "version": "1"}}}, 0)
    exchange({"jsonrpc": "2.0", "method": "notifications/initialized"}, None)
    start = time.monotonic()
    measure_from, end = start + warmup, start + warmup + duration
    count, next_id = 0, 1
    while True:
        t0 = time.perf_counter()
        msg = exchange({"jsonrpc": "2.0", "id": next_id, "method": "tools/call",
                        "params": {"name": tool, "arguments": args}}, next_id)
        elapsed = time.perf_counter() - t0
        next_id += 1
        if "error" in msg or msg["result"].get("isError"):
            raise RuntimeError(f"call failed: {msg}")
        now = time.monotonic()
        if measure_from <= now < end:
            latencies.append(elapsed)
            count += 1
        if now >= end:
            break
    w.close()
    proc.terminate()
    proc.wait()
    return count


def one_copy(a, cmd, out):
    """A driver process: one copy, its count and latencies into `out`."""
    latencies = []
    args = json.loads(a.args)
    if a.window == 1:
        count = sync_loop(cmd, a.tool, args, a.duration, latencies, a.warmup)
    else:
        count = asyncio.run(copy_loop(cmd, a.tool, args, a.window, a.duration, latencies, a.warmup))
    out.put((count, latencies))


def main():
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
    out = multiprocessing.Queue()
    drivers = [multiprocessing.Process(target=one_copy, args=(a, cmd, out)) for _ in range(a.copies)]
    for d in drivers:
        d.start()
    results = [out.get(timeout=a.warmup + a.duration + 60) for _ in drivers]
    for d in drivers:
        d.join(timeout=10)
    counts = [c for c, _ in results]
    latencies = sorted(x for _, lat in results for x in lat)

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else None

    print(json.dumps({"copies": a.copies, "window": a.window, "tool": a.tool, "calls": sum(counts),
                      "rate": round(sum(counts) / a.duration, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}))


if __name__ == "__main__":
    main()
