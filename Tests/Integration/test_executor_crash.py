"""An executor killed with SIGKILL mid-call: its in-flight calls fail fast, it is restarted, service goes on."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from conftest import pid_alive
from sy_http import RawConnection, expect_tool_text, rpc, wait_until

CALLS = 8
SLEEP_MS = 3000


class Call(threading.Thread):
    """One sleep_ms call on its own connection and session (opened before the call starts)."""

    def __init__(self, srv, i, ms=SLEEP_MS, prefix="crash"):
        super().__init__(daemon=True)
        self.i = i
        self.conn = RawConnection(srv.host, srv.port, timeout=10)
        self.sid = self.conn.initialize()
        self.req = rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": ms}}, id=f"{prefix}-{i}")
        self.response = None
        self.error = None
        self.done_at = None

    def run(self):
        try:
            self.response = self.conn.post(self.req, session=self.sid, timeout=10)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.done_at = time.monotonic()
            self.conn.close()


def _wait_inflight(srv, total, timeout=3.0):
    last = {}

    def seen():
        status, last["health"] = srv.healthz()
        health = last["health"]
        return status == 200 and sum(e.get("inFlight", 0) for e in health.get("executors", [])) >= total and health

    return wait_until(seen, timeout, what=lambda: f"/healthz to show {total} calls in flight: {last.get('health')}")


@pytest.mark.timeout(30)
def test_kill_executor_mid_call(server_factory):
    # One front, so /healthz (answered by that front) sees every in-flight call.
    srv = server_factory(fronts=1, executors=2)
    status, health = srv.healthz()
    assert status == 200, health
    before = {e["name"]: e["pid"] for e in health["executors"]}
    assert len(before) == 2, health

    calls = [Call(srv, i) for i in range(CALLS)]
    for c in calls:
        c.start()
    health = _wait_inflight(srv, CALLS)
    victim = max(health["executors"], key=lambda e: e["inFlight"])
    victim_name, victim_pid, victim_inflight = victim["name"], victim["pid"], victim["inFlight"]
    assert victim_inflight > 0, health

    os.kill(victim_pid, signal.SIGKILL)
    killed_at = time.monotonic()

    # The supervisor restarts it: a new pid for the same name shows up in /healthz within 1 s.
    last = None

    def restarted_pid():
        nonlocal last
        try:
            status, last = srv.healthz(timeout=2)
        except OSError as e:
            last = repr(e)
            return None
        if status != 200:
            return None
        pid = {e["name"]: e["pid"] for e in last.get("executors", [])}.get(victim_name)
        return pid if pid not in (None, victim_pid) and pid_alive(pid) else None

    try:
        new_pid = wait_until(restarted_pid, 3.0, what=f"a new pid for {victim_name}")
        restarted_at = time.monotonic()
    except AssertionError:  # reported below, once the calls are in
        new_pid = restarted_at = None

    for c in calls:
        c.join(timeout=8)
    assert all(not c.is_alive() for c in calls), "some calls never finished"
    assert not [c for c in calls if c.error], [(c.i, c.error) for c in calls if c.error]

    failed = [c for c in calls if "error" in c.response.json()]
    succeeded = [c for c in calls if "error" not in c.response.json()]
    report = [(c.i, c.response.status, round(c.done_at - killed_at, 3), c.response.json()) for c in calls]

    print(f"killed {victim_name} pid {victim_pid} with {victim_inflight} in flight; restarted as {new_pid} after "
          f"{None if restarted_at is None else round(restarted_at - killed_at, 3)}s; calls: {report}")

    # Exactly the calls in flight on the killed executor fail, promptly, as JSON-RPC errors with HTTP 200.
    assert len(failed) == victim_inflight, report
    for c in failed:
        assert c.response.status == 200, report
        msg = c.response.json()
        assert msg["id"] == c.req["id"], msg
        assert msg["error"]["code"] == -32603, msg
        assert "executor" in msg["error"]["message"].lower() or victim_name in msg["error"]["message"], msg
        assert c.done_at - killed_at < 2.0, f"call {c.i} took {c.done_at - killed_at:.2f}s to fail: {report}"
    for c in succeeded:
        expect_tool_text(c.response, f"slept {SLEEP_MS} ms", id=c.req["id"])

    assert restarted_at is not None, f"no new pid for {victim_name} within 3 s; last /healthz: {last}"
    assert restarted_at - killed_at <= 1.0, \
        f"{victim_name} restarted after {restarted_at - killed_at:.2f}s (> 1 s): pid {victim_pid} -> {new_pid}"
    assert new_pid != before[[n for n in before if n != victim_name][0]]

    # Later calls succeed, and both executors are listed again.
    with RawConnection(srv.host, srv.port) as conn:
        sid = conn.initialize()
        for i in range(20):
            req = rpc("tools/call", {"name": "echo", "arguments": {"text": f"after-{i}"}})
            expect_tool_text(conn.post(req, session=sid), f"after-{i}", id=req["id"])
        for i in range(4):
            req = rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 10}})
            expect_tool_text(conn.post(req, session=sid), "slept 10 ms", id=req["id"])
    status, health = srv.healthz()
    assert status == 200, health
    after = {e["name"]: e["pid"] for e in health["executors"]}
    assert set(after) == set(before), health
    assert after[victim_name] == new_pid, health


@pytest.mark.timeout(30)
def test_restart_without_calls_in_flight(server_factory):
    """An idle executor killed: restarted, and concurrent calls afterwards all succeed."""
    srv = server_factory(fronts=1, executors=2)
    before = srv.executor_pids()
    victim_name = sorted(before)[0]
    os.kill(before[victim_name], signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: srv.executor_pids().get(victim_name) not in (None, before[victim_name]), 3,
               what=lambda: f"{victim_name} restarted: {srv.healthz()}")
    assert time.monotonic() - killed_at <= 1.0, f"restart took {time.monotonic() - killed_at:.2f}s"

    calls = [Call(srv, i, ms=300, prefix="after") for i in range(16)]
    for c in calls:
        c.start()
    for c in calls:
        c.join(timeout=8)
        assert c.error is None, c.error
        expect_tool_text(c.response, "slept 300 ms", id=c.req["id"])
