"""Several hosts behind a real balancer: `deploy/local-hosts.sh` starts two `switchyard serve`
hosts (one session key, their own run directories; each in its own network namespace when run
as root, else on 127.0.0.2 and 127.0.0.3: hosts.py), a real Redis when the binary has
`--redis`, and HAProxy or nginx rendered from `deploy/haproxy.cfg` / `deploy/nginx.conf` (round
robin, no stickiness). Redis, the balancer and the official Python SDK client that drives it
stay in the root namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import anyio
import httpx2
import mcp_types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from conftest import REPO, free_port, pid_alive, switchyard_bin
from sy_http import wait_until

BALANCERS = ["haproxy", "nginx"]
SESSIONS = 100
CALLS_PER_SESSION = 10


def _has_redis_option() -> bool:
    out = subprocess.run([switchyard_bin(), "serve", "--help"], capture_output=True, text=True, timeout=20)
    return "--redis " in out.stdout or "--redis <" in out.stdout


class Hosts:
    """`deploy/local-hosts.sh` running; `url` is the balancer's endpoint."""

    def __init__(self, balancer: str, work: Path, net):
        self.balancer = balancer
        self.work = work
        self.net = net
        self.port = free_port()
        self.host_port = free_port()
        env = dict(os.environ, SWITCHYARD_BIN=switchyard_bin(), PORT=str(self.port),
                   HOST_PORT=str(self.host_port), REDIS_PORT=str(free_port()), WORK=str(work),
                   HOSTS=" ".join(net.addresses), NETNS=" ".join(ns for ns in net.namespaces if ns),
                   LOCAL_ADDRESS=net.root_address)
        self.proc = subprocess.Popen([str(REPO / "deploy" / "local-hosts.sh"), balancer], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                if "two hosts behind" in line:
                    ready.set()
        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(90):
            self.stop()
            raise RuntimeError(f"local-hosts.sh did not get ready:\n" + "\n".join(self.lines[-40:])
                               + self.logs())
        self.url = f"http://{net.root_address}:{self.port}/mcp"
        # The hosts share one Redis (never the script's REDIS=none, which would test two unrelated
        # servers): each says so once it has connected.
        try:
            for address in net.addresses:
                wait_until(lambda: self.healthz(address).get("redis", {}).get("synced") is True, 20, interval=0.1,
                           what=lambda: f"host {address} sharing state through Redis: {self.healthz(address)}"
                                        f"{self.logs()}")
        except BaseException:
            self.stop()  # the script, and with it Redis and the balancer
            raise

    def healthz(self, address: str) -> dict:
        with urllib.request.urlopen(f"http://{address}:{self.host_port}/healthz", timeout=5) as r:
            return json.loads(r.read())

    def host_pid(self, name: str) -> int:
        return int((self.work / f"{name}.pid").read_text())

    def host_metric(self, address: str, pattern: str) -> float:
        """Sum of the samples of one host's /metrics lines matching `pattern` (a regex)."""
        with urllib.request.urlopen(f"http://{address}:{self.host_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if not line.startswith("#") and re.match(pattern, line))

    def logs(self) -> str:
        out = []
        for name in ("host-a/stderr.log", "host-b/stderr.log", "haproxy.log", "nginx.log"):
            p = self.work / name
            if p.exists():
                out.append(f"\n--- {name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:]))
        return "".join(out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture(params=BALANCERS)
def hosts(request, tmp_path, host_network):
    balancer = request.param
    if shutil.which(balancer) is None:
        pytest.fail(f"{balancer} is not installed (make test-deps installs it)")
    # Several hosts behind a balancer only behave as one server with Redis: no silent fallback.
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (make test-deps installs it)")
    if not _has_redis_option():
        pytest.fail(f"{switchyard_bin()} serve has no --redis option")
    h = Hosts(balancer, tmp_path / "hosts", host_network)
    pids = [h.host_pid("host-a"), h.host_pid("host-b")]
    yield h
    h.stop()
    for pid in pids:
        assert not pid_alive(pid), f"host {pid} still running after the script stopped"


async def _one_call(c: Client, index: int, k: int):
    op = (index + k) % 5
    if op == 0:
        r = await c.call_tool("echo", {"text": f"s{index}-{k}"})
        assert r.content[0].text == f"s{index}-{k}", r
    elif op == 1:
        r = await c.call_tool("add_numbers", {"a": index, "b": k})
        assert r.structured_content == {"sum": index + k}, r
    elif op == 2:
        listed = await c.list_tools()
        assert "echo" in {t.name for t in listed.tools}
    elif op == 3:
        r = await c.call_tool("sha256", {"text": f"{index}"})
        assert r.is_error is False and len(r.content[0].text) == 64, r
    else:
        r = await c.call_tool("sleep_ms", {"ms": 20})
        assert r.is_error is False, r


def _flatten(e: BaseException) -> list[BaseException]:
    """An exception and, for an exception group (anyio's task groups), every exception in it."""
    if isinstance(e, BaseExceptionGroup):
        return [x for inner in e.exceptions for x in _flatten(inner)]
    return [e]


async def _session_calls(url: str, index: int, outcome: dict, calls: int, in_flight: list):
    """One client making `calls` mixed requests. A JSON-RPC error fails that call only. A
    connection dropped without an answer (how HAProxy tells a client that a request it sent to
    a host that died may be retried) ends the official SDK's session: the call in flight counts
    as failed and the client starts a new session for the rest, at most twice.

    Each failed call is recorded as a dict: `ended` (when it failed, monotonic), `started`,
    `kind` ("rpc" or "transport"), `code` (the JSON-RPC error code), `error` (its text, or the
    transport's exceptions), `statuses` (the HTTP error statuses this session's client received
    while the call was in flight: the SDK reports a balancer's 502 as a JSON-RPC error without
    the status)."""
    mode = "legacy" if index % 2 == 0 else "auto"
    k = 0
    statuses: list[tuple[float, int]] = []

    async def on_response(response):
        if response.status_code >= 400:
            statuses.append((time.monotonic(), response.status_code))

    def seen(started, ended):
        return [code for at, code in statuses if started <= at <= ended]

    for _attempt in range(3):
        current = None          # (started) of the call in flight, if any
        failed_at = None        # when the call in flight was interrupted
        try:
            async with create_mcp_http_client() as http:
                http.event_hooks = {"request": [], "response": [on_response]}
                async with Client(streamable_http_client(url, http_client=http), mode=mode,
                                  read_timeout_seconds=15) as c:
                    while k < calls:
                        in_flight[0] += 1
                        current = time.monotonic()
                        try:
                            await _one_call(c, index, k)
                            outcome["ok"] += 1
                        except MCPError as e:
                            ended = time.monotonic()
                            outcome["errors"].append({"ended": ended, "started": current, "kind": "rpc",
                                                      "code": e.error.code, "error": e.error.message,
                                                      "statuses": seen(current, ended)})
                        except AssertionError as e:  # an answer, but a wrong one: never acceptable
                            outcome["wrong"].append(f"session {index} call {k}: {e}"[:300])
                        except BaseException:  # the transport failed under the call (or cancelled it)
                            failed_at = time.monotonic()
                            raise
                        finally:
                            in_flight[0] -= 1
                        current = None
                        k += 1
            return
        except Exception as e:  # the session's transport failed
            if current is not None:  # the call in flight is lost with it
                ended = failed_at or time.monotonic()
                outcome["errors"].append({"ended": ended, "started": current, "kind": "transport", "code": None,
                                          "error": [x for x in _flatten(e)
                                                    if not isinstance(x, anyio.get_cancelled_exc_class())],
                                          "statuses": seen(current, ended)})
                k += 1
            if k >= calls:
                return
    raise AssertionError(f"session {index}: three sessions in a row failed")


def _drive(url: str, calls: int, budget: float, during=None) -> dict:
    outcome = {"ok": 0, "errors": [], "broken": [], "wrong": []}
    in_flight = [0]

    async def main():
        async def one(i):
            try:
                await _session_calls(url, i, outcome, calls, in_flight)
            except Exception as e:
                outcome["broken"].append(f"session {i}: {e!r}"[:500])

        with anyio.fail_after(budget):
            async with anyio.create_task_group() as tg:
                for i in range(SESSIONS):
                    tg.start_soon(one, i)
                if during is not None:
                    tg.start_soon(during, outcome, in_flight)
    anyio.run(main)
    return outcome


@pytest.mark.timeout(150)
def test_mixed_calls_through_balancer_have_no_errors(hosts):
    outcome = _drive(hosts.url, CALLS_PER_SESSION, budget=100)
    assert not outcome["wrong"], outcome["wrong"][:5]
    assert not outcome["broken"], outcome["broken"][:5]
    assert not outcome["errors"], outcome["errors"][:5]
    assert outcome["ok"] == SESSIONS * CALLS_PER_SESSION
    # Round robin without stickiness: both hosts served calls of these sessions.
    for address in hosts.net.addresses:
        served = hosts.host_metric(address, r'switchyard_requests_total\{method="tools/call"')
        assert served >= 100, (address, served, hosts.logs())


def _clean_failure(e: dict) -> bool:
    """A failed call's error is the balancer's 502/503 (which the SDK reports as a JSON-RPC
    error, INTERNAL_ERROR, without the status: the status is the one this session's client
    received meanwhile), or the connection closed under it (the SDK's CONNECTION_CLOSED, or a
    network or protocol error of the transport). Never a timeout."""
    if e["kind"] == "rpc":
        if e["code"] == mcp_types.CONNECTION_CLOSED:
            return True
        return e["code"] == mcp_types.INTERNAL_ERROR and any(code in (502, 503) for code in e["statuses"])
    causes = e["error"]  # the transport's exceptions (cancellations left out)
    return bool(causes) and all(
        isinstance(x, (httpx2.NetworkError, httpx2.RemoteProtocolError, ConnectionError))
        or (isinstance(x, MCPError) and x.error.code == mcp_types.CONNECTION_CLOSED)
        for x in causes) and not any(isinstance(x, (httpx2.TimeoutException, TimeoutError)) for x in causes)


@pytest.mark.timeout(150)
def test_killing_one_host_fails_only_its_calls_in_flight(hosts):
    """SIGKILL to every process of host A while 100 sessions call: the calls it held fail, each
    with a clean error (nginx answers 502, which the SDK reports as a JSON-RPC error; HAProxy
    may instead close the client's connection without an answer, the HTTP signal that the
    request may be retried), nothing hangs, nothing fails before the kill, and every call that
    starts once the balancer noticed succeeds on host B."""
    killed = {}

    async def kill_host_a(outcome, in_flight):
        while outcome["ok"] < SESSIONS * 3:
            await anyio.sleep(0.01)
        killed["in_flight"] = in_flight[0]
        killed["at"] = time.monotonic()
        os.killpg(hosts.host_pid("host-a"), signal.SIGKILL)

    outcome = _drive(hosts.url, 20, budget=120, during=kill_host_a)
    assert "at" in killed, "the load finished before host A was killed"
    assert not outcome["wrong"], outcome["wrong"][:5]
    assert not outcome["broken"], outcome["broken"][:5]
    errors = outcome["errors"]
    # Only calls in flight on host A can fail: at most the calls in flight at the kill.
    assert len(errors) <= killed["in_flight"], (len(errors), killed, errors[:5])
    early = [e for e in errors if e["ended"] < killed["at"]]
    assert not early, ("calls failed before the kill", early[:5], hosts.logs())
    # Failed calls had started before the balancer could notice (a refused connection is noticed
    # at once; 2 s leaves room for a loaded machine).
    late = [e for e in errors if e["started"] > killed["at"] + 2.0]
    assert not late, ("calls that started after the kill failed", late[:5], hosts.logs())
    # Each failed quickly (a call left hanging until the SDK's 15 s read timeout is no clean
    # error) and cleanly: the balancer's 502 or 503, or the connection closed without an answer.
    slow = [e for e in errors if e["ended"] - e["started"] > 5.0]
    assert not slow, ("failed calls that took over 5 s", slow[:5])
    unclean = [e for e in errors if not _clean_failure(e)]
    assert not unclean, ("calls that failed otherwise than with a 502/503 or a dropped connection", unclean[:5])
    assert outcome["ok"] + len(errors) == SESSIONS * 20
    assert outcome["ok"] >= SESSIONS * 20 - killed["in_flight"]
