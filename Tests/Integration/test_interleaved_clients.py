"""Three clients with SSE streams, progress and cancellation interleaved across two fronts: every
message lands on its own stream and session."""

from __future__ import annotations

import json
import threading
import time

import pytest

from sy_http import RawConnection, parse_sse, rpc, wait_until


def client(srv, n: int, out: dict):
    try:
        with RawConnection(srv.host, srv.port, timeout=15) as a:
            sid = a.initialize()
            results = {}
            for round_ in range(3):
                token = f"c{n}-r{round_}"
                req = rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 200}, "_meta": {"progressToken": token}},
                          id=f"p-{n}-{round_}")
                r = a.post(req, session=sid, timeout=15)
                msgs = [json.loads(e["data"]) for e in parse_sse(r.body) if e.get("data")]
                tokens = {m["params"]["progressToken"] for m in msgs if m.get("method") == "notifications/progress"}
                results[token] = (tokens, msgs[-1].get("id"), msgs[-1].get("result", {}).get("content"))
                # A call that will be cancelled from another connection (often another front).
                cancel_id = f"x-{n}-{round_}"
                box = {}

                def long_call():
                    t0 = time.monotonic()
                    box["r"] = a.post(rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 8000}}, id=cancel_id),
                                      session=sid, timeout=15)
                    box["took"] = time.monotonic() - t0

                t = threading.Thread(target=long_call)
                t.start()

                # Each cancellation goes out on a new connection, which lands on either front. One
                # that reaches the executor before the call does is ignored (as the spec allows), and
                # which front runs the call is not observable from here: cancel until it answers.
                def cancel_reached_the_call():
                    with RawConnection(srv.host, srv.port) as b:
                        b.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                "params": {"requestId": cancel_id, "reason": "test"}}, session=sid)
                    t.join(0.02)
                    return not t.is_alive()

                wait_until(cancel_reached_the_call, 5, interval=0, what=f"call {cancel_id} answered after cancellations")
                t.join(15)
                results[cancel_id] = (box.get("took"), box["r"].json())
            out[n] = (sid, results)
    except Exception as e:  # noqa: BLE001 - reported by the test
        out[n] = e


@pytest.mark.timeout(60)
def test_three_clients_progress_and_cancellation_across_two_fronts(server_factory):
    srv = server_factory(fronts=2, executors=2)
    out = {}
    threads = [threading.Thread(target=client, args=(srv, n, out)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(50)
    for n in range(3):
        assert not isinstance(out.get(n), Exception), out.get(n)
        sid, results = out[n]
        for round_ in range(3):
            tokens, rid, content = results[f"c{n}-r{round_}"]
            assert tokens == {f"c{n}-r{round_}"}, (n, round_, tokens)  # only its own progress
            assert rid == f"p-{n}-{round_}" and content == [{"type": "text", "text": "slept 200 ms"}], (rid, content)
            took, msg = results[f"x-{n}-{round_}"]
            assert msg["id"] == f"x-{n}-{round_}", msg
            assert msg["error"]["code"] == -32800, msg
            assert took < 3.0, took
    assert len({out[n][0] for n in range(3)}) == 3


@pytest.mark.timeout(40)
def test_cancellation_sent_to_another_front_stops_the_call(tmp_path):
    """Two fronts on different ports sharing a run directory and session key: the call runs through
    front A, the cancellation arrives at front B and reaches the executor through its link."""
    import os
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from conftest import free_port, switchyard_bin

    run_dir = Path(tempfile.mkdtemp(prefix="sy-", dir="/tmp"))
    (run_dir / "executors").mkdir()
    env = dict(os.environ, SWITCHYARD_SESSION_KEY="cd" * 32)
    pa, pb = free_port(), free_port()
    socket_path = run_dir / "executors" / "e-0.sock"
    procs = [subprocess.Popen([switchyard_bin(), "executor", "--socket", str(socket_path), "--name", "e-0"],
                              stderr=open(tmp_path / "e.log", "w"))]
    wait_until(socket_path.exists, 10, what="the executor's socket")
    for i, p in enumerate((pa, pb)):
        procs.append(subprocess.Popen([switchyard_bin(), "front", "--port", str(p), "--index", str(i), "--run-dir", str(run_dir)],
                                      env=env, stderr=open(tmp_path / f"f{i}.log", "w")))
    try:
        class Srv:
            host = "127.0.0.1"

        def ready(p):
            try:
                with RawConnection("127.0.0.1", p) as c:
                    return c.request("GET", "/readyz").status == 200
            except OSError:
                return False

        for p in (pa, pb):
            wait_until(lambda: ready(p), 10, interval=0.05, what=f"the front on port {p} ready")
        with RawConnection("127.0.0.1", pa, timeout=15) as a:
            sid = a.initialize()
            box = {}

            def long_call():
                t0 = time.monotonic()
                box["r"] = a.post(rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 8000}}, id="far"), session=sid, timeout=15)
                box["took"] = time.monotonic() - t0

            t = threading.Thread(target=long_call)
            t.start()

            def in_flight_on_a():  # front A's link to the executor
                with RawConnection("127.0.0.1", pa) as c:
                    h = json.loads(c.request("GET", "/healthz").body)
                return sum(e["inFlight"] for e in h["executors"]) == 1

            wait_until(in_flight_on_a, 3, what="the call in flight on the executor through front A")
            with RawConnection("127.0.0.1", pb) as b:
                n = b.post({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "far"}}, session=sid)
                assert n.status == 202, n
            t.join(15)
        assert box["took"] < 2.0, box
        assert box["r"].json()["error"]["code"] == -32800, box["r"].json()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(run_dir, ignore_errors=True)
