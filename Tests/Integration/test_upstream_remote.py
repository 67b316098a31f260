"""Remote upstreams (`serve --upstream NAME=http(s)://…`): Streamable HTTP MCP servers behind
Switchyard's fronts. The remotes are real servers: the official Python SDK's FastMCP served over
Streamable HTTP (upstreams/fastmcp_http_server.py, both eras, or 2025-11-25 only), and a second
Switchyard. Driven by the official Python client over HTTP. README.md, "Remote upstreams"."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import mcp_types as t
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import switchyard_bin, free_port

HTTP_SERVER = Path(__file__).resolve().parent / "upstreams" / "fastmcp_http_server.py"
UPSTREAM_TOOLS = {"say", "copy_pid", "block", "wait", "counter", "ask_name", "steps", "grow"}


def run(coro_fn, *args, budget: float = 60.0):
    async def main():
        with anyio.fail_after(budget):
            return await coro_fn(*args)
    return anyio.run(main)


class Remote:
    """A FastMCP Streamable HTTP server in a child process (started again on the same port by `restart`)."""

    def __init__(self, tmp_path: Path, *flags: str):
        self.port = free_port()
        self.flags = list(flags)
        self.log = tmp_path / f"remote-{self.port}.log"
        self.proc = None
        self.scheme = "https" if "--cert" in flags else "http"
        self.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/mcp"

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, str(HTTP_SERVER), "--port", str(self.port), *self.flags],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()[-2000:]
                assert time.monotonic() < deadline, "the FastMCP HTTP server did not start"
                time.sleep(0.1)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self):
        self.kill()
        self.start()


@pytest.fixture
def remotes(tmp_path):
    started: list[Remote] = []

    def make(*flags: str) -> Remote:
        r = Remote(tmp_path, *flags)
        started.append(r)
        return r
    yield make
    for r in started:
        r.kill()


def front(server_factory, tmp_path, upstreams: dict, **options):
    """A Switchyard whose config file names these upstreams (mode 600: headers are secrets)."""
    config = tmp_path / f"front-{len(list(tmp_path.glob('front-*.json')))}.json"
    config.write_text(json.dumps({"upstreams": upstreams}))
    config.chmod(0o600)
    return server_factory(fronts=options.pop("fronts", 2), executors=1,
                          extra_args=["--config", str(config), *options.pop("extra", [])], **options)


def serve_and_fail(tmp_path, upstreams: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    config = tmp_path / "failing.json"
    config.write_text(json.dumps({"upstreams": upstreams}))
    config.chmod(0o600)
    return subprocess.run([switchyard_bin(), "serve", "--port", str(free_port()), "--fronts", "1", "--executors", "1",
                           "--config", str(config)], capture_output=True, text=True, timeout=timeout)


REMOTE_KINDS = {
    "both-eras-sse": (),          # negotiates 2026-07-28 (server/discover)
    "legacy-only": ("--legacy-only",),  # 2025-11-25 session (initialize, Mcp-Session-Id)
    "json-answers": ("--json",),  # answers as one JSON body, no SSE
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(REMOTE_KINDS))
def test_a_remote_fastmcp_server_is_listed_and_called_in_both_client_eras(server_factory, remotes, tmp_path, kind):
    remote = remotes(*REMOTE_KINDS[kind])
    srv = front(server_factory, tmp_path, {"up": {"url": remote.url, "pool": 4}})

    async def body(mode):
        async with Client(srv.url, mode=mode, read_timeout_seconds=20) as c:
            names = {tool.name for tool in (await c.list_tools()).tools}
            assert UPSTREAM_TOOLS <= names and "echo" in names, names
            r = await c.call_tool("say", {"text": "hello"})
            assert r.is_error is False and r.content[0].text == "hello", r
            assert r.structured_content == {"result": "hello"}, r
            r = await c.read_resource("info://server")
            assert r.contents[0].text == "a FastMCP test upstream", r
            p = await c.get_prompt("greet", {"name": "Ada"})
            assert "Say hello to Ada." in p.messages[0].content.text, p
            seen = []

            async def progress(p, total, message):
                seen.append((p, total, message))
            r = await c.call_tool("steps", {"count": 3}, progress_callback=progress)
            assert r.content[0].text == "3 steps", r
            if kind != "json-answers":  # a JSON answer carries no notifications
                assert [s[0] for s in seen] == [1, 2, 3] and seen[-1][1] == 3, seen
            # 20 concurrent calls over at most 4 connections, each answered with its own text.
            out = {}

            async def one(i):
                out[i] = (await c.call_tool("say", {"text": f"n{i}"})).content[0].text
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(one, i)
            assert out == {i: f"n{i}" for i in range(20)}
    run(body, "legacy")
    run(body, "auto")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["pinned-2025-11-25", "legacy-only"])
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_concurrent_elicitations_each_reach_the_session_that_called(server_factory, remotes, tmp_path, kind, mode):
    # FastMCP's ctx.elicit needs a 2025-11-25 session (in 2026-07-28 it answers HTTP 400: "no
    # back-channel"), so a server of both eras is pinned to that era with `protocol`.
    remote = remotes(*REMOTE_KINDS.get(kind, ()))
    settings = {"url": remote.url}
    if kind == "pinned-2025-11-25":
        settings["protocol"] = "2025-11-25"
    srv = front(server_factory, tmp_path, {"up": settings})

    def answering(name):
        async def elicit(ctx, params):
            assert params.message == "What is your name?", params
            await anyio.sleep(0.3)  # both calls wait for their clients at once
            return t.ElicitResult(action="accept", content={"name": name})
        return elicit

    async def body():
        results = {}

        async def session(name):
            async with Client(srv.url, mode=mode, read_timeout_seconds=20, elicitation_callback=answering(name)) as c:
                r = await c.call_tool("ask_name", {})
                assert r.is_error is False, r
                results[name] = r.content[0].text
        async with anyio.create_task_group() as tg:
            tg.start_soon(session, "Ada")
            tg.start_soon(session, "Grace")
        return results
    # Unlike a stdio copy, a remote says which call a request belongs to (its stream), so two
    # calls in flight at once each get their own client's answer.
    assert run(body) == {"Ada": "hello Ada", "Grace": "hello Grace"}


@pytest.mark.timeout(150)
@pytest.mark.parametrize("kind", ["both-eras-sse", "legacy-only"])
def test_a_remote_killed_mid_call_fails_that_call_and_later_calls_succeed(server_factory, remotes, tmp_path, kind):
    remote = remotes(*REMOTE_KINDS[kind])
    srv = front(server_factory, tmp_path, {"up": {"url": remote.url}})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            assert (await c.call_tool("say", {"text": "before"})).content[0].text == "before"
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                async def kill_soon():
                    await anyio.sleep(0.5)
                    remote.kill()
                tg.start_soon(kill_soon)
                with pytest.raises(MCPError) as failed:
                    await c.call_tool("wait", {"seconds": 10})
            assert time.monotonic() - started < 8, "the lost call waited instead of failing at once"
            assert failed.value.error.code == -32603 and "did not complete" in failed.value.error.message, failed.value
            # While the remote is down, calls fail cleanly.
            with pytest.raises(MCPError) as down:
                await c.call_tool("say", {"text": "down"})
            assert "cannot connect" in down.value.error.message, down.value
            remote.start()  # same port; a 2025-11-25 remote has forgotten our session (404): a new one is made
            for i in range(5):
                r = await c.call_tool("say", {"text": f"after{i}"})
                assert r.content[0].text == f"after{i}", r
    run(body, budget=90)
    assert srv.running()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", ["both-eras-sse", "legacy-only"])
def test_list_changed_from_the_remote_refreshes_the_catalog(server_factory, remotes, tmp_path, kind):
    remote = remotes(*REMOTE_KINDS[kind])
    srv = front(server_factory, tmp_path, {"up": {"url": remote.url}})
    changed = []

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.append(message)

    async def body():
        async with Client(srv.url, mode="legacy", cache=None, read_timeout_seconds=20, message_handler=on_message) as c:
            assert "announced" not in {tool.name for tool in (await c.list_tools()).tools}
            assert (await c.call_tool("announce", {})).content[0].text == "added"
            deadline = time.monotonic() + 10
            while "announced" not in {tool.name for tool in (await c.list_tools()).tools}:
                assert time.monotonic() < deadline, "the new tool never reached the catalog"
                await anyio.sleep(0.1)
            assert (await c.call_tool("announced", {})).content[0].text == "announced"
            deadline = time.monotonic() + 5
            while not changed:
                assert time.monotonic() < deadline, "no notifications/tools/list_changed reached the client"
                await anyio.sleep(0.1)
    run(body)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", ["both-eras-sse", "legacy-only"])
def test_a_cancelled_call_is_cancelled_on_the_remote(server_factory, remotes, tmp_path, kind):
    remote = remotes(*REMOTE_KINDS[kind])
    srv = front(server_factory, tmp_path, {"up": {"url": remote.url}})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            with anyio.move_on_after(1.0):
                await c.call_tool("cancellable", {"seconds": 30})
                raise AssertionError("the call was not cancelled")
            deadline = time.monotonic() + 10
            while (await c.call_tool("cancelled_calls", {})).structured_content["result"] != 1:
                assert time.monotonic() < deadline, "the remote never saw the cancellation"
                await anyio.sleep(0.2)
    run(body)


@pytest.mark.timeout(90)
def test_a_call_the_remote_does_not_answer_in_time_ends_with_a_timeout(server_factory, remotes, tmp_path):
    remote = remotes()
    srv = front(server_factory, tmp_path, {"up": {"url": remote.url, "timeoutMs": 1500}})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            with pytest.raises(MCPError) as slow:
                await c.call_tool("wait", {"seconds": 5})
            assert slow.value.error.code == -32003 and "1500 ms" in slow.value.error.message, slow.value
            assert (await c.call_tool("say", {"text": "next"})).content[0].text == "next"
    run(body)


@pytest.mark.timeout(120)
def test_a_second_switchyard_is_a_remote_of_both_eras(server_factory, tmp_path):
    back = server_factory(fronts=1, executors=1, tools="conformance")
    srv = front(server_factory, tmp_path, {"sy": {"url": back.url, "prefix": "r_"}}, tools="demo")
    logs = []

    async def on_log(params):
        logs.append(params.data)

    async def body(mode):
        asked = []

        async def elicit(ctx, params):
            asked.append(params.message)
            return t.ElicitResult(action="accept", content={"response": "yes"})
        async with Client(srv.url, mode=mode, read_timeout_seconds=20, elicitation_callback=elicit,
                          logging_callback=on_log) as c:
            names = {tool.name for tool in (await c.list_tools()).tools}
            assert {"echo", "r_test_simple_text", "r_test_tool_with_progress", "r_test_elicitation"} <= names, names
            r = await c.call_tool("r_test_simple_text", {})
            assert r.is_error is False and r.content[0].text, r
            seen = []

            async def progress(p, total, message):
                seen.append(p)
            r = await c.call_tool("r_test_tool_with_progress", {}, progress_callback=progress)
            assert seen == [0, 50, 100], seen
            r = await c.call_tool("r_test_elicitation", {"message": "Proceed?"})
            assert "action=accept" in r.content[0].text and "yes" in r.content[0].text, r
            assert asked == ["Proceed?"], asked
            r = await c.call_tool("r_test_error_handling", {})
            assert r.is_error is True, r
            if mode == "legacy":
                await c.set_logging_level("info")
                await c.call_tool("r_test_tool_with_logging", {})
    run(body, "legacy")
    run(body, "auto")
    assert "Tool execution started" in logs, logs


# ---- TLS ----

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    """A test CA, a certificate it signs for 127.0.0.1, and one for another name."""
    d = tmp_path / "pki"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Switchyard Test CA", cwd=d)
    for name, san in (("good", "IP:127.0.0.1"), ("wrong", "DNS:other.example")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return d


@pytest.mark.timeout(150)
def test_https_remote_verified_against_a_ca_file_and_bad_certificates_refused(server_factory, remotes, tmp_path, pki):
    good = remotes("--cert", str(pki / "good.pem"), "--key", str(pki / "good.key"))
    srv = front(server_factory, tmp_path, {"up": {"url": good.url, "caFile": str(pki / "ca.pem")}})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            assert (await c.call_tool("say", {"text": "over tls"})).content[0].text == "over tls"
    run(body)

    # The system's trust store does not know the test CA.
    p = serve_and_fail(tmp_path, {"up": {"url": good.url}})
    assert p.returncode == 64, p.stderr[-2000:]
    last = p.stderr.strip().splitlines()[-1]
    assert "upstream 'up'" in last and "TLS handshake" in last and "certificate verify failed" in last, last

    # A certificate from the right CA for another name.
    wrong = remotes("--cert", str(pki / "wrong.pem"), "--key", str(pki / "wrong.key"))
    p = serve_and_fail(tmp_path, {"up": {"url": wrong.url, "caFile": str(pki / "ca.pem")}})
    assert p.returncode == 64, p.stderr[-2000:]
    last = p.stderr.strip().splitlines()[-1]
    assert "TLS handshake" in last and "ip address mismatch" in last.lower(), last

    # https to a plain HTTP server.
    plain = remotes()
    p = serve_and_fail(tmp_path, {"up": {"url": plain.url.replace("http://", "https://"), "caFile": str(pki / "ca.pem")}})
    assert p.returncode == 64 and "TLS handshake" in p.stderr.strip().splitlines()[-1], p.stderr[-2000:]


# ---- bad remotes ----

class NotMCP(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<html><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def not_mcp():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotMCP)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mcp"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent():
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    listener.close()


@pytest.fixture
def hanging():
    """Connects hang as to a blackholed host: backlog 0, never accepted, the queue already full
    (Linux drops the SYNs that follow)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    filler.close()
    listener.close()


@pytest.mark.timeout(180)
def test_bad_remotes_stop_the_start_with_a_clear_error(tmp_path, remotes, not_mcp, silent, hanging):
    cases = [
        ({"url": f"http://127.0.0.1:{free_port()}/mcp"}, ["cannot connect", "connection refused"]),
        ({"url": "http://no-such-host.invalid/mcp"}, ["cannot resolve no-such-host.invalid"]),
        ({"url": not_mcp}, ["not an MCP server", "text/html"]),
        ({"url": silent, "timeoutMs": 1500}, ["no answer to server/discover within 1500 ms"]),
        # The connect is given up (its socket closed) at 10 s: the start does not wait minutes.
        ({"url": hanging}, ["no connection", "within 10000 ms"]),
        ({"url": "http://127.0.0.1/a b?token=s3cr3t-token"}, ["is not an http:// or https:// URL", "http://127.0.0.1/a b'"]),
        ({"url": "http://127.0.0.1/a#b?token=s3cr3t-token"}, ["is not an http:// or https:// URL"]),
        ({"url": "https://127.0.0.1:9/mcp", "caFile": str(tmp_path / "missing.pem")}, ["CA file", "No such file"]),
    ]
    token_remote = remotes("--token", "s3cr3t-token")
    cases.append(({"url": token_remote.url}, ["HTTP 401", "headers"]))
    cases.append(({"url": token_remote.url, "headers": {"Authorization": "Bearer wrong-token"}}, ["HTTP 401"]))
    for settings, words in cases:
        started = time.monotonic()
        p = serve_and_fail(tmp_path, {"up": settings})
        assert p.returncode == 64, (settings, p.returncode, p.stderr[-2000:])
        # The error line (a config error is followed by a pointer to --help).
        lines = p.stderr.strip().splitlines()
        last = next((line for line in reversed(lines) if "upstream 'up'" in line), lines[-1])
        assert "upstream 'up'" in last, last
        for w in words:
            assert w.lower() in last.lower(), (settings, last)
        assert time.monotonic() - started < 30, settings
        assert "s3cr3t-token" not in p.stderr and "wrong-token" not in p.stderr


@pytest.mark.timeout(90)
def test_headers_reach_the_remote_and_stay_out_of_logs_and_argv(server_factory, remotes, tmp_path):
    remote = remotes("--token", "s3cr3t-token")
    srv = front(server_factory, tmp_path, {"up": {"url": remote.url, "headers": {"Authorization": "Bearer s3cr3t-token"}}})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            assert (await c.call_tool("say", {"text": "authorized"})).content[0].text == "authorized"
    run(body)
    assert "s3cr3t-token" not in srv.stderr_tail(10_000)
    for pid in subprocess.run(["pgrep", "-f", "switchyard"], capture_output=True, text=True).stdout.split():
        try:
            assert b"s3cr3t-token" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            pass


def test_headers_are_a_secret_of_the_config_file_and_checked(tmp_path):
    config = tmp_path / "secret.json"
    config.write_text(json.dumps({"upstreams": {"r": {"url": "https://example.test/mcp",
                                                      "headers": {"Authorization": "Bearer s3cr3t-value"}}}}))
    config.chmod(0o644)
    p = subprocess.run([switchyard_bin(), "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 64 and "upstreams.r.headers" in p.stderr, p.stderr
    config.chmod(0o600)
    p = subprocess.run([switchyard_bin(), "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "s3cr3t-value" not in p.stdout + p.stderr
    [u] = json.loads(p.stdout)["upstreams"]
    assert u["url"] == "https://example.test/mcp" and u["headers"] == ["Authorization"], u
    for bad, words in [({"headers": {"X-A": "a\r\nInjected: 1"}}, "control characters"),
                       ({"headers": {"Mcp-Session-Id": "x"}}, "set by Switchyard"),
                       ({"headers": {"bad name": "x"}}, "not an HTTP token"),
                       ({"url": "http://example.test/mcp", "caFile": "ca.pem"}, "needs an https:// URL"),
                       ({"url": "ftp://example.test/"}, "not an http:// or https:// URL")]:
        settings = {"url": "https://example.test/mcp", **bad}
        config.write_text(json.dumps({"upstreams": {"r": settings}}))
        p = subprocess.run([switchyard_bin(), "check-config", str(config)], capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and words in p.stderr, (bad, p.stderr)
        assert "Injected" not in p.stderr


class Flooder(BaseHTTPRequestHandler):
    """A 2025-11-25 MCP server whose one tool answers with a stream of 40 pings and no result,
    and which never takes the bridge's answers to them (each held for 10 s)."""
    protocol_version = "HTTP/1.1"

    def reply(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Mcp-Session-Id", "s1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(405)

    def do_DELETE(self):
        self.reply(200)

    def do_POST(self):
        message = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        method, rid = message.get("method"), message.get("id")
        result = None
        if method is None:  # our answer to a ping: never taken in time
            time.sleep(10)
            return self.reply(202)
        if method == "server/discover":
            return self.reply(404)
        if method == "initialize":
            result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "flooder", "version": "1"}}
        elif method == "tools/list":
            result = {"tools": [{"name": "flood", "inputSchema": {"type": "object"}}]}
        elif method == "tools/call":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for n in range(40):
                ping = {"jsonrpc": "2.0", "id": f"p{n}", "method": "ping"}
                self.wfile.write(f"data: {json.dumps(ping)}\n\n".encode())
                self.wfile.flush()
            time.sleep(10)
            return
        if rid is None:
            return self.reply(202)
        if result is None:
            error = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}}
            return self.reply(200, json.dumps(error).encode())
        self.reply(200, json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}).encode())

    def log_message(self, *args):
        pass


@pytest.mark.timeout(120)
def test_a_server_flooding_a_call_with_requests_fails_that_call_cleanly(server_factory, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flooder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        srv = front(server_factory, tmp_path, {"up": {"url": f"http://127.0.0.1:{server.server_address[1]}/mcp"}})

        async def body():
            async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
                with pytest.raises(MCPError) as flooded:
                    await c.call_tool("flood", {})
                assert flooded.value.error.code == -32603, flooded.value
                assert "sent more than 32 requests" in flooded.value.error.message, flooded.value
        run(body, budget=30)
    finally:
        server.shutdown()
        server.server_close()
