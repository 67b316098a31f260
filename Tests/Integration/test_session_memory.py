"""Sessions end on DELETE and on the idle timeout, and leave nothing behind: front RSS comes back."""

from __future__ import annotations

import asyncio
import time

import pytest

from sy_http import AsyncRawConnection, RawConnection, rpc, wait_until
from test_chaos import front_pids

CONNECTIONS = 20
IDLE_TIMEOUT_S = 2
# The front sweeps expired sessions every max(1 s, timeout / 4), and counts whole seconds: a
# session last used at t is over by t + timeout + 1 and forgotten by the sweep after that.
SWEEP_EVERY_S = 1
FORGOTTEN_AFTER_S = IDLE_TIMEOUT_S + 1 + SWEEP_EVERY_S


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _sessions(host, port, total, delete: bool):
    async def worker(n):
        conn = await AsyncRawConnection.open(host, port)
        for _ in range(total // CONNECTIONS):
            sid = await conn.initialize()
            r = await conn.post(rpc("tools/call", {"name": "echo", "arguments": {"text": "x"}}), session=sid)
            assert r.status == 200, r
            if delete:
                d = await conn.request("DELETE", "/mcp", {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})
                assert d.status == 200, d
        await conn.close()
    await asyncio.gather(*(worker(n) for n in range(CONNECTIONS)))


@pytest.mark.timeout(90)
def test_ten_thousand_deleted_and_ten_thousand_abandoned_sessions_leave_no_memory_behind(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--session-idle-timeout", str(IDLE_TIMEOUT_S)])
    [front] = front_pids(srv)
    # Warm the allocator and the pools with the same traffic, then take the baseline once the
    # warm-up's deletions are forgotten too. A deliberate wait: the front shows no count of the
    # sessions it remembers, so the idle timeout and a sweep are let pass.
    asyncio.run(_sessions(srv.host, srv.port, 1000, delete=True))
    time.sleep(FORGOTTEN_AFTER_S)
    start = rss_kib(front)
    asyncio.run(_sessions(srv.host, srv.port, 10_000, delete=True))
    with RawConnection(srv.host, srv.port) as c:
        abandoned = c.initialize()
    abandoned_over_at = time.monotonic() + IDLE_TIMEOUT_S + 1
    asyncio.run(_sessions(srv.host, srv.port, 10_000, delete=False))
    peak = rss_kib(front)
    # The idle timeout passes and a sweep frees what the sessions held: RSS comes back.
    end = wait_until(lambda: (lambda rss: rss if rss <= start * 1.10 else None)(rss_kib(front)),
                     FORGOTTEN_AFTER_S + 10, interval=0.1,
                     what=lambda: f"front RSS back within 10% of {start} KiB (peak {peak} KiB, now {rss_kib(front)} KiB)")
    # The abandoned session is over (a deliberate wait, if RSS came back sooner than its timeout;
    # asking earlier would count as a use).
    time.sleep(max(0.0, abandoned_over_at - time.monotonic()))
    with RawConnection(srv.host, srv.port) as c:
        r = c.call_tool(abandoned, "echo", {"text": "too late"})
        assert r.status == 404, r
    print(f"front RSS: start {start} KiB, peak {peak} KiB, after the idle timeout {end} KiB")
    assert end <= start * 1.10, f"front RSS {start} KiB at start, {peak} KiB at peak, {end} KiB after the idle timeout"
