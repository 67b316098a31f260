"""Observability (issue 6): a real Prometheus scraping the whole server, readiness, the status page
in a real headless Chromium."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, switchyard_bin
from prometheus_harness import PrometheusServer
from sy_http import AsyncRawConnection, RawConnection, rpc, wait_until

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def _echo_calls(host, port, sessions, calls_each):
    async def one(n):
        conn = await AsyncRawConnection.open(host, port)
        sid = await conn.initialize()
        for i in range(calls_each):
            r = await conn.post(rpc("tools/call", {"name": "echo", "arguments": {"text": f"{n}-{i}"}}), session=sid)
            assert r.status == 200, r
        await conn.close()
    await asyncio.gather(*(one(n) for n in range(sessions)))


@pytest.mark.timeout(90)
def test_prometheus_scrapes_the_whole_server_and_counts_every_call(server_factory):
    admin_port = free_port()
    srv = server_factory(fronts=2, executors=2, extra_args=["--admin", f"127.0.0.1:{admin_port}"])
    # With an admin listener, metrics stay off the public port.
    assert get(f"http://127.0.0.1:{srv.port}/metrics")[0] == 404
    assert get(f"http://127.0.0.1:{srv.port}/healthz")[0] == 200
    with PrometheusServer([f"127.0.0.1:{admin_port}"]) as prom:
        prom.wait_for_target_up()
        sessions, each = 20, 25
        asyncio.run(_echo_calls(srv.host, srv.port, sessions, each))
        sent = sessions * each
        # Both fronts answered some (sessions spread over SO_REUSEPORT), one scrape sees all of them.
        value = prom.wait_until('sum(switchyard_tool_calls_total{tool="echo",outcome="ok"})',
                                lambda v: v is not None and v >= sent, timeout=20)
        assert abs(value - sent) <= sent * 0.01, value
        calls = prom.query_value('sum(switchyard_requests_total{method="tools/call",status="200"})')
        assert abs(calls - sent) <= sent * 0.01, calls
        sessions_created = prom.query_value("sum(switchyard_sessions_created_total)")
        assert sessions_created >= sessions
        p99 = prom.wait_until(
            'histogram_quantile(0.99, sum by (le) (rate(switchyard_request_duration_seconds_bucket[1m])))',
            lambda v: v is not None and v == v, timeout=20)
        assert 0 < p99 < 10, p99
        fronts = prom.query('count(switchyard_event_loop_lag_seconds{process=~"front-.*"})')
        assert int(float(fronts[0]["value"][1])) == 2, fronts
        up = prom.query_value('sum(switchyard_worker_up)')
        assert up == 4, up  # 2 fronts + 2 executors
        # Each front and executor samples its heap every second (HeapTrimmer): allocated bytes.
        heaps = prom.wait_until('count(switchyard_heap_bytes{state="in_use"} > 0)',
                                lambda v: v is not None and v >= 4, timeout=20)
        assert heaps == 4, heaps
    status, text = get(f"http://127.0.0.1:{admin_port}/metrics")
    assert status == 200
    assert "# TYPE switchyard_requests_total counter" in text


@pytest.mark.timeout(60)
def test_readyz_follows_executors_and_drain(tmp_path):
    run_dir = Path(tempfile.mkdtemp(prefix="sy-", dir="/tmp"))
    (run_dir / "executors").mkdir()
    port, admin = free_port(), free_port()
    env = dict(os.environ, SWITCHYARD_SESSION_KEY="ab" * 32)
    front = subprocess.Popen([switchyard_bin(), "front", "--port", str(port), "--run-dir", str(run_dir),
                              "--admin", f"127.0.0.1:{admin}"], env=env, stderr=open(tmp_path / "front.log", "w"))
    executor = None

    def readyz():
        try:
            return get(f"http://127.0.0.1:{admin}/readyz")
        except OSError:  # not listening yet
            return None

    def in_flight():
        status, body = get(f"http://127.0.0.1:{admin}/healthz")
        return sum(e["inFlight"] for e in json.loads(body)["executors"])

    try:
        assert wait_until(readyz, 10, what="the admin listener answering /readyz") == (503, '{"ready":false}')
        executor = subprocess.Popen([switchyard_bin(), "executor", "--socket", str(run_dir / "executors" / "x-0.sock"),
                                     "--name", "x-0"], stderr=open(tmp_path / "executor.log", "w"))
        wait_until(lambda: (readyz() or (None,))[0] == 200, 5, what="/readyz 200 once the executor is linked")
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        # A call in flight holds the drain open; meanwhile /readyz says 503.
        out = {}
        with RawConnection("127.0.0.1", port) as c:
            sid = c.initialize()
            t = threading.Thread(target=lambda: out.setdefault("r", c.call_tool(sid, "sleep_ms", {"ms": 1500}, timeout=10)))
            t.start()
            wait_until(lambda: in_flight() == 1, 3, what="the 1.5 s call in flight on the executor")
            front.send_signal(signal.SIGTERM)
            wait_until(lambda: readyz() == (503, '{"ready":false}'), 3, what="/readyz 503 while draining")
            assert "r" not in out, "the call answered before /readyz turned 503 (the drain was not held open)"
            t.join(10)
        assert out["r"].status == 200 and out["r"].json()["result"]["content"][0]["text"] == "slept 1500 ms"
        assert front.wait(10) == 0
    finally:
        for p in (front, executor):
            if p and p.poll() is None:
                p.kill()
                p.wait(5)
        shutil.rmtree(run_dir, ignore_errors=True)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.timeout(90)
def test_status_page_renders_live_numbers_in_headless_chromium(server_factory):
    browser = chromium()
    assert browser, "chromium is installed by `make deps` (Debian package chromium)"
    admin_port = free_port()
    srv = server_factory(fronts=2, executors=2, extra_args=["--admin", f"127.0.0.1:{admin_port}"])
    asyncio.run(_echo_calls(srv.host, srv.port, 10, 20))
    # Keep a little load going while the page refreshes itself.
    stop = threading.Event()

    def load():
        with RawConnection(srv.host, srv.port) as c:
            sid = c.initialize()
            while not stop.is_set():
                c.call_tool(sid, "echo", {"text": "live"})
                time.sleep(0.005)  # pacing: a trickle of calls, not a flood

    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "status-page.png"
        url = f"http://127.0.0.1:{admin_port}/status"
        common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-"), "--virtual-time-budget=4000"]
        dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=60).stdout
        subprocess.run(common + ["--window-size=1280,1000", f"--screenshot={shot}", url],
                       capture_output=True, timeout=60)
    finally:
        stop.set()
        t.join(5)
    assert shot.exists() and shot.stat().st_size > 10_000, "screenshot missing"

    def element(id_):
        start = dom.find(f'id="{id_}"')
        assert start >= 0, f"no #{id_} in the page"
        body = dom[dom.find(">", start) + 1:]
        return body[:body.find("<")]

    assert int(element("requests").replace(",", "") or "0") >= 200, element("requests")
    assert element("connections").strip() not in ("", "–", "-"), element("connections")
    assert any(ch.isdigit() for ch in element("p99")), element("p99")
    assert "swift-0" in dom and "swift-1" in dom


@pytest.mark.timeout(40)
def test_json_logs_and_buffered_access_log(server_factory, tmp_path):
    import json as _json
    access = tmp_path / "access.log"
    srv = server_factory(fronts=2, executors=1, extra_args=["--log-format", "json", "--access-log", str(access)])
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        for i in range(5):
            assert c.call_tool(sid, "echo", {"text": str(i)}).status == 200
        assert c.call_tool(sid, "nope", {}).json()["error"]["code"] == -32602
    lines = []

    def echo_lines_logged():
        nonlocal lines
        lines = [_json.loads(l) for l in access.read_text().splitlines()] if access.exists() else []
        return sum(1 for l in lines if l.get("tool") == "echo") >= 5

    # The access log is buffered: wait for its flush.
    wait_until(echo_lines_logged, 3, interval=0.05, what=lambda: f"5 echo lines in the access log: {lines}")
    calls = [l for l in lines if l.get("method") == "tools/call"]
    assert sum(1 for l in calls if l.get("tool") == "echo" and l["status"] == "200") == 5, lines
    assert all(float(l["ms"]) >= 0 and l["ts"].endswith("Z") for l in calls)
    assert any(l["method"] == "initialize" for l in lines)
    # Every process logs JSON lines on stderr.
    logged = [l for l in srv.stderr_tail(200).splitlines() if l.startswith("{")]
    assert len(logged) >= 6
    for l in logged:
        entry = _json.loads(l)
        assert {"ts", "level", "component", "pid", "msg"} <= entry.keys(), entry


@pytest.mark.timeout(40)
def test_request_id_and_traceparent_follow_a_call_into_the_executor_and_back(server_factory, tmp_path):
    import json as _json
    access = tmp_path / "access.log"
    srv = server_factory(fronts=1, executors=1, tools="demo,chaos", extra_args=["--log-format", "json", "--access-log", str(access)],
                         env={"SWITCHYARD_LOG_LEVEL": "debug"})
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        r = c.post(rpc("tools/call", {"name": "echo", "arguments": {"text": "traced"}}), session=sid, extra={"traceparent": trace})
        assert r.status == 200
        # A traceparent in _meta works too (no header).
        r = c.post(rpc("tools/call", {"name": "echo", "arguments": {"text": "x"},
                                      "_meta": {"traceparent": trace.replace("01", "00", 1)}}), session=sid)
        assert r.status == 200

    def traced_line():
        if not access.exists():
            return None
        return next((e for e in map(_json.loads, access.read_text().splitlines()) if e.get("traceparent") == trace),
                    None)

    # The access log is buffered: wait for its flush.
    line = wait_until(traced_line, 3, interval=0.05, what="the traced call in the access log")
    assert line["request_id"].startswith("f0-"), line
    executor_lines = [_json.loads(l) for l in srv.stderr_tail(400).splitlines() if l.startswith("{")]
    calls = [e for e in executor_lines if e.get("msg") == "call" and e.get("request_id") == line["request_id"]]
    assert calls and calls[0]["traceparent"] == trace and calls[0]["component"] == "executor", executor_lines[-5:]
