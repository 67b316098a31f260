"""Answers streamed as SSE while a call runs (progress), and cancellation reaching the executor."""

from __future__ import annotations

import json
import threading
import time

import anyio
import pytest
from mcp import Client

from sy_http import RawConnection, dumps, mcp_headers, parse_sse, rpc, wait_until


@pytest.mark.timeout(30)
def test_official_client_receives_progress_then_the_result(server):
    got = []

    async def main():
        async with Client(server.url, mode="legacy") as c:
            async def on_progress(progress, total, message):
                got.append((progress, total, message))
            r = await c.call_tool("sleep_ms", {"ms": 300}, progress_callback=on_progress)
            return r.content[0].text

    text = anyio.run(main)
    assert text == "slept 300 ms"
    assert [p for p, _, _ in got] == [float(i) for i in range(1, 11)], got
    assert all(t == 10 for _, t, _ in got), got


@pytest.mark.timeout(20)
def test_progress_streams_as_chunked_sse_in_order_and_ends_with_the_result(server):
    with RawConnection(server.host, server.port) as c:
        sid = c.initialize()
        req = rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 200}, "_meta": {"progressToken": 42}})
        r = c.post(req, session=sid)
        assert r.status == 200, r
        assert r.content_type == "text/event-stream", r
        assert (r.header("transfer-encoding") or "").lower() == "chunked", r.headers
        events = parse_sse(r.body)
        msgs = [json.loads(e["data"]) for e in events if e.get("data")]
        progress = [m for m in msgs if m.get("method") == "notifications/progress"]
        assert [m["params"]["progress"] for m in progress] == list(range(1, 11)), msgs
        assert all(m["params"]["progressToken"] == 42 for m in progress)
        assert msgs[-1]["id"] == req["id"] and msgs[-1]["result"]["content"][0]["text"] == "slept 200 ms", msgs[-1]
        # The connection stays usable after a streamed answer.
        r2 = c.call_tool(sid, "echo", {"text": "after"})
        assert r2.json()["result"]["content"][0]["text"] == "after"


@pytest.mark.timeout(20)
def test_json_only_client_gets_one_json_answer_without_progress(server):
    with RawConnection(server.host, server.port) as c:
        sid = c.initialize()
        req = rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 100}, "_meta": {"progressToken": "p"}})
        r = c.request("POST", "/mcp", mcp_headers(sid, accept="application/json"), json.dumps(req).encode())
        assert r.status == 200 and r.content_type == "application/json", r
        assert r.json()["result"]["content"][0]["text"] == "slept 100 ms"


@pytest.mark.timeout(20)
def test_notifications_cancelled_stops_the_call_in_the_executor(server_factory):
    srv = server_factory(fronts=1, executors=1)
    out = {}
    with RawConnection(srv.host, srv.port, timeout=10) as a:
        sid = a.initialize()
        req = rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 8000}}, id="long-1")

        def run():
            t0 = time.monotonic()
            out["r"] = a.post(req, session=sid, timeout=10)
            out["took"] = time.monotonic() - t0

        t = threading.Thread(target=run)
        t.start()
        wait_until(lambda: srv.in_flight() == 1, 3, what="the call in flight on the executor")
        with RawConnection(srv.host, srv.port) as b:
            n = b.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": "long-1", "reason": "user pressed stop"}}, session=sid)
            assert n.status == 202, n
        t.join(10)
        assert out["took"] < 2.0, out
        msg = out["r"].json()
        assert msg["error"]["code"] == -32800, msg
        _, h = srv.healthz()
        assert sum(e["inFlight"] for e in h["executors"]) == 0, h


@pytest.mark.timeout(30)
def test_closing_the_stream_cancels_a_stateless_call_and_only_that_call(server_factory):
    """2026-07-28: a client that closes its stream cancels what it asked for. Clients that leave
    with nothing unanswered cancel nothing, and another client's call runs on."""
    from conformance_util import request_meta, stateless_headers

    srv = server_factory(fronts=1, executors=1)

    def wait_in_flight(n, within=3.0):
        wait_until(lambda: srv.in_flight() == n, within,
                   what=lambda: f"{n} calls in flight on the executor (now {srv.in_flight()})")

    # A legacy session's call that must survive everything below.
    keeper = RawConnection(srv.host, srv.port, timeout=15)
    sid = keeper.initialize()
    keeper.send("POST", "/mcp", mcp_headers(session=sid),
                dumps(rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 4000}}, id="keep")))
    wait_in_flight(1)

    # Clients that got their answers and leave: nothing of theirs or of others is cancelled.
    for _ in range(20):
        with RawConnection(srv.host, srv.port) as c:
            assert c.call_tool(c.initialize(), "echo", {"text": "x"}).status == 200
    assert srv.in_flight() == 1

    # A stateless call whose client closes the stream before the answer: cancelled in the executor.
    params = {"name": "sleep_ms", "arguments": {"ms": 8000}, "_meta": request_meta({})}
    msg = {"jsonrpc": "2.0", "id": "gone", "method": "tools/call", "params": params}
    leaver = RawConnection(srv.host, srv.port)
    leaver.send("POST", "/mcp", stateless_headers("tools/call", params), dumps(msg))
    wait_in_flight(2)
    leaver.close()
    wait_in_flight(1)

    # The session's call was not touched: it answers after its full 4 s.
    r = keeper.read_response(timeout=10)
    assert r.status == 200 and r.json()["result"]["isError"] is False, r
    keeper.close()
