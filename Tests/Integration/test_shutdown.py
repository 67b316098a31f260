"""SIGTERM / SIGINT: in-flight calls finish with their answers, then the server exits 0."""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

from conftest import pid_alive, python_executor_cmd
from sy_http import RawConnection, dumps, expect_tool_text, mcp_headers, rpc, wait_until


class InFlight(threading.Thread):
    """A session opened up front; run() sends one tools/call and waits for its answer."""

    def __init__(self, srv, i, tool, ms):
        super().__init__(daemon=True)
        self.i = i
        self.conn = RawConnection(srv.host, srv.port, timeout=15)
        self.sid = self.conn.initialize()
        self.req = rpc("tools/call", {"name": tool, "arguments": {"ms": ms}}, id=f"term-{i}")
        self.sent = threading.Event()
        self.response = None
        self.error = None
        self.done_at = None

    def run(self):
        try:
            self.conn.send("POST", "/mcp", mcp_headers(self.sid), dumps(self.req))
            self.sent.set()
            self.response = self.conn.read_response(timeout=15)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.sent.set()
            self.done_at = time.monotonic()
            self.conn.close()


def _port_closed(host, port) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except OSError:
        return True


@pytest.mark.timeout(30)
@pytest.mark.parametrize("with_python", [False, True], ids=["demo", "demo+python"])
def test_sigterm_finishes_inflight_calls(server_factory, with_python):
    cmds = [python_executor_cmd()] if with_python else []
    srv = server_factory(fronts=2, executors=2, executor_cmds=cmds)
    status, health = srv.healthz()
    assert status == 200, health
    executor_pids = [e["pid"] for e in health["executors"]]

    calls = [InFlight(srv, i, "sleep_ms", 1000) for i in range(16)]
    if with_python:
        calls += [InFlight(srv, 100 + i, "py_sleep", 1000) for i in range(4)]
    for c in calls:
        c.start()
    for c in calls:
        assert c.sent.wait(5), f"call {c.i} could not be sent"
    # Every call has reached an executor. Each front's /healthz counts its own calls, and a new
    # connection lands on either front: keep the latest count of each until they add up (counts
    # only grow until the first 1 s call ends).
    per_front = {}

    def all_dispatched():
        _, h = srv.healthz()
        per_front[h.get("front")] = sum(e.get("inFlight", 0) for e in h.get("executors", []))
        return sum(per_front.values()) == len(calls)

    wait_until(all_dispatched, 5, what=lambda: f"{len(calls)} calls in flight on the executors: {per_front}")
    assert all(c.response is None for c in calls), "a 1 s call answered before all were dispatched"

    srv.terminate()
    signalled_at = time.monotonic()
    try:
        code = srv.wait(timeout=10)
    except Exception:
        pytest.fail("switchyard serve did not exit within 10 s of SIGTERM")
    exited_after = time.monotonic() - signalled_at

    for c in calls:
        c.join(timeout=5)
    report = [(c.i, c.error, c.response and c.response.status,
               c.done_at and round(c.done_at - signalled_at, 3)) for c in calls]
    assert not [c for c in calls if c.error or c.response is None], report
    for c in calls:
        expect_tool_text(c.response, "slept 1000 ms", id=c.req["id"])
    assert code == 0, f"exit status {code} after SIGTERM"
    assert exited_after < 10, exited_after

    # The server is gone for good: port closed, executors stopped.
    assert _port_closed(srv.host, srv.port), "port still accepts connections after exit"
    wait_until(lambda: not any(pid_alive(p) for p in executor_pids), 3,
               what=lambda: f"the executors to exit with the server: {[p for p in executor_pids if pid_alive(p)]}")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_idle_shutdown(server_factory, signum):
    srv = server_factory(fronts=2, executors=2)
    status, health = srv.healthz()
    assert status == 200, health
    executor_pids = [e["pid"] for e in health["executors"]]
    # an idle keep-alive connection must not hold the shutdown up
    idle = RawConnection(srv.host, srv.port)
    idle.initialize()
    srv.process.send_signal(signum)
    start = time.monotonic()
    code = srv.wait(timeout=10)
    assert code == 0, f"exit status {code} after {signal.Signals(signum).name}"
    assert time.monotonic() - start < 10
    idle.close()
    assert _port_closed(srv.host, srv.port)
    wait_until(lambda: not any(pid_alive(p) for p in executor_pids), 3,
               what=lambda: f"the executors to exit with the server: {[p for p in executor_pids if pid_alive(p)]}")
