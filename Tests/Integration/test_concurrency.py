"""300 concurrent keep-alive connections, each with its own session, 20 echo calls each: zero errors."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from sy_http import AsyncRawConnection, rpc

CONNECTIONS = 300
CALLS_PER_CONNECTION = 20
BUDGET_S = 25.0


async def _client(host, port, n, all_open: asyncio.Event, opened: list, errors: list, stats: dict):
    conn = None
    try:
        conn = await AsyncRawConnection.open(host, port)
        sid = await conn.initialize()
        opened.append(n)
        if len(opened) == CONNECTIONS:
            all_open.set()
        await all_open.wait()  # every connection is open (and idle, keep-alive) before any call
        for i in range(CALLS_PER_CONNECTION):
            text = f"c{n}-{i}"
            req = rpc("tools/call", {"name": "echo", "arguments": {"text": text}})
            r = await conn.post(req, session=sid)
            if r.status != 200:
                errors.append((n, i, f"HTTP {r.status}", r.body[:200]))
                return
            msg = json.loads(r.body)
            if msg.get("id") != req["id"] or msg.get("result", {}).get("content") != [{"type": "text", "text": text}]:
                errors.append((n, i, "bad answer", msg))
                return
            if (r.header("connection") or "").lower() == "close":
                errors.append((n, i, "server closed a keep-alive connection", r.headers))
                return
            stats["calls"] += 1
    except Exception as e:  # noqa: BLE001 - collected and reported
        errors.append((n, "exception", repr(e)))
        all_open.set()  # let the others go on; the test fails anyway
    finally:
        if conn is not None:
            await conn.close()


async def _run(host, port):
    all_open = asyncio.Event()
    opened, errors, stats = [], [], {"calls": 0}
    tasks = [asyncio.create_task(_client(host, port, n, all_open, opened, errors, stats)) for n in range(CONNECTIONS)]
    started = time.monotonic()
    done, pending = await asyncio.wait(tasks, timeout=BUDGET_S)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending, timeout=2)
    return {"opened": len(opened), "errors": errors, "calls": stats["calls"], "pending": len(pending),
            "seconds": round(time.monotonic() - started, 2)}


@pytest.mark.timeout(30)
def test_300_keepalive_connections(server_factory):
    srv = server_factory(fronts=2, executors=2)
    result = asyncio.run(_run(srv.host, srv.port))
    summary = {k: v for k, v in result.items() if k != "errors"}
    assert not result["errors"], f"{len(result['errors'])} errors, first: {result['errors'][:5]}; {summary}"
    assert result["pending"] == 0, f"not finished within {BUDGET_S}s: {summary}"
    assert result["opened"] == CONNECTIONS, summary
    assert result["calls"] == CONNECTIONS * CALLS_PER_CONNECTION, summary
    status, health = srv.healthz()
    assert status == 200, health
    print(f"concurrency: {summary}")
