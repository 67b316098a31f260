"""`switchyard stdio`: one MCP client over stdin/stdout (newline-delimited JSON-RPC).

The official Python SDK's stdio client launches the binary, as an IDE would (both eras, 100 calls
at once, progress, elicitation); raw tests drive the pipes themselves for what the SDK hides:
garbage and over-long lines, the 2026-07-28 era without an SDK, cancellation, the end of input,
SIGTERM and a client that closes stdout. Every line on stdout must be one JSON-RPC message.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import anyio
import mcp_types as t
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from conftest import pid_alive, switchyard_bin

pytestmark = [pytest.mark.timeout(60)]

DEMO_TOOLS = {"echo", "add_numbers", "sleep_ms", "sha256", "whoami"}
MODERN = "2026-07-28"
LEGACY = "2025-11-25"


def params(*extra: str, status_file: Path | None = None) -> StdioServerParameters:
    """The SDK launches the binary; with `status_file`, through sh, which writes its exit status there
    (so a process the SDK had to kill, or that exited non-zero, is seen)."""
    args = ["stdio", "--tools", "demo,conformance", *extra]
    if status_file is None:
        return StdioServerParameters(command=switchyard_bin(), args=args)
    line = " ".join(shlex.quote(w) for w in [switchyard_bin(), *args])
    return StdioServerParameters(command="/bin/sh", args=["-c", f"{line}; echo $? > {shlex.quote(str(status_file))}"])


def run(coro_fn, *args, budget: float = 30.0):
    async def main():
        with anyio.fail_after(budget):
            return await coro_fn(*args)
    return anyio.run(main)


# MARK: the official client


async def _session(mode: str, status_file: Path | None = None):
    async with Client(params(status_file=status_file), mode=mode, read_timeout_seconds=15) as c:
        assert c.protocol_version == (LEGACY if mode == "legacy" else MODERN), c.protocol_version
        assert c.server_info is not None and c.server_info.name == "switchyard", c.server_info
        names = {tool.name for tool in (await c.list_tools()).tools}
        assert DEMO_TOOLS | {"test_tool_with_progress", "test_elicitation"} <= names, names

        r = await c.call_tool("echo", {"text": "over stdio"})
        assert r.is_error is False and r.content[0].text == "over stdio", r
        r = await c.call_tool("add_numbers", {"a": 40, "b": 2})
        assert r.structured_content == {"sum": 42}, r

        results = {}

        async def one(i):
            results[i] = await c.call_tool("echo", {"text": f"msg-{i}"})

        async with anyio.create_task_group() as tg:
            for i in range(100):
                tg.start_soon(one, i)
        assert sorted(results) == list(range(100))
        for i in range(100):
            assert results[i].is_error is False and results[i].content[0].text == f"msg-{i}", results[i]

        # argument validation as on HTTP: a tool execution error, not a protocol error
        r = await c.call_tool("echo", {"text": 5})
        assert r.is_error is True and "Invalid arguments" in r.content[0].text, r
        with pytest.raises(MCPError) as ei:
            await c.call_tool("no_such_tool", {})
        assert ei.value.error.code == -32602, ei.value.error
    return True


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_official_stdio_client(mode, tmp_path):
    """initialize (legacy) or server/discover (auto adopts 2026-07-28), list, call, 100 concurrent calls;
    when the client closes its end (EOF), the process exits 0 on its own, within the SDK's 2 s grace
    (after which the SDK kills the tree and sh writes nothing)."""
    status = tmp_path / "exit-status"
    assert run(_session, mode, status)
    assert status.exists(), "switchyard stdio did not exit within the SDK's grace period after EOF"
    assert status.read_text().strip() == "0", status.read_text()


async def _progress(mode: str):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async with Client(params(), mode=mode, read_timeout_seconds=15) as c:
        r = await c.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        assert r.is_error is False, r
    return seen


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_progress_reaches_the_client(mode):
    seen = run(_progress, mode)
    assert [p for p, _, _ in seen] == [0, 50, 100], seen
    assert all(total == 100 for _, total, _ in seen), seen


async def _elicitation(mode: str):
    asked = []

    async def elicit(ctx, p):
        asked.append(p)
        return t.ElicitResult(action="accept", content={"response": "from the stdio client"})

    async with Client(params(), mode=mode, read_timeout_seconds=15, elicitation_callback=elicit) as c:
        r = await c.call_tool("test_elicitation", {"message": "Your name?"})
    return asked, r


@pytest.mark.parametrize("mode", ["legacy", MODERN])
def test_elicitation_round_trip(mode):
    """A tool's elicitation reaches the client's callback: an elicitation/create request whose answer
    comes back on stdin (legacy), or an input-required result the client answers in its retry (2026)."""
    asked, r = run(_elicitation, mode)
    assert len(asked) == 1 and asked[0].message == "Your name?", asked
    assert r.is_error is False, r
    text = r.content[0].text
    assert "action=accept" in text and "from the stdio client" in text, text


# MARK: raw pipes


class RawStdio:
    """`switchyard stdio` on pipes: send messages, read lines (each must be JSON), watch its children."""

    def __init__(self, *extra: str):
        self.proc = subprocess.Popen([switchyard_bin(), "stdio", "--tools", "demo,conformance", *extra],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.raw: list[bytes] = []
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()
        self.next_id = 1

    def _read(self):
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, msg: dict):
        self.send_raw(json.dumps(msg).encode() + b"\n")

    def request(self, method: str, params: dict | None = None) -> int:
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return rid

    def read(self, timeout: float = 10.0) -> dict | list | None:
        line = self.lines.get(timeout=timeout)
        if line is None:
            return None
        assert line.endswith(b"\n"), line
        return json.loads(line)

    def answer(self, rid, timeout: float = 10.0) -> dict:
        """The response with id `rid`; other messages in between are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.read(max(0.1, deadline - time.monotonic()))
            assert msg is not None, "stdout ended before the answer"
            if isinstance(msg, dict) and msg.get("id") == rid and ("result" in msg or "error" in msg):
                return msg

    def initialize(self):
        rid = self.request("initialize", {"protocolVersion": LEGACY, "capabilities": {},
                                          "clientInfo": {"name": "raw", "version": "1"}})
        assert self.answer(rid)["result"]["protocolVersion"] == LEGACY
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except FileNotFoundError:
            return []

    def wait_for_children(self, n: int, timeout: float = 10.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.children()) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.children()

    def close(self):
        """Ends it as a client should (end of input), so its executors stop and its run directory
        goes; killed (with its children) only if it does not exit."""
        kids = self.children()
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for k in kids:
            if pid_alive(k):
                os.kill(k, signal.SIGKILL)

    def assert_stdout_is_json_lines(self):
        for line in self.raw:
            assert line.endswith(b"\n") and b"\n" not in line[:-1], line
            msg = json.loads(line)
            for m in msg if isinstance(msg, list) else [msg]:
                assert m.get("jsonrpc") == "2.0", m


@pytest.fixture
def raw():
    started = []

    def start(*extra: str) -> RawStdio:
        s = RawStdio(*extra)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def test_garbage_line_then_valid_call(raw):
    s = raw()
    s.send_raw(b"this is not json\n")
    err = s.read()
    assert err["id"] is None and err["error"]["code"] == -32700, err
    s.send_raw(b"\n   \n")  # blank lines are not messages: no answer
    s.send_raw(b'{"jsonrpc":"2.0","id":"x","method":"tools/list"}\n')  # no session yet
    err = s.answer("x")
    assert err["error"]["code"] == -32600 and "initialize" in err["error"]["message"], err
    s.initialize()
    rid = s.request("tools/call", {"name": "echo", "arguments": {"text": "still fine"}})
    assert s.answer(rid)["result"]["content"][0]["text"] == "still fine"
    s.assert_stdout_is_json_lines()


def test_over_long_line_is_refused_and_skipped(raw):
    s = raw("--max-body", "2000")
    s.initialize()
    big = json.dumps({"jsonrpc": "2.0", "id": 99, "method": "tools/call",
                      "params": {"name": "echo", "arguments": {"text": "x" * 50_000}}}).encode() + b"\n"
    s.send_raw(big)
    err = s.read()
    assert err["id"] is None and err["error"]["code"] == -32600 and "2000" in err["error"]["message"], err
    rid = s.request("tools/call", {"name": "echo", "arguments": {"text": "after"}})
    assert s.answer(rid)["result"]["content"][0]["text"] == "after"
    # a line just under the limit is served
    rid = s.request("tools/call", {"name": "echo", "arguments": {"text": "y" * 1800}})
    assert s.answer(rid)["result"]["content"][0]["text"] == "y" * 1800
    s.assert_stdout_is_json_lines()


def modern_meta(**extra) -> dict:
    return {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {}, **extra}


def test_stateless_era_over_stdio(raw):
    """2026-07-28: server/discover and tools/call carry `_meta` only (no header layer to match)."""
    s = raw()
    rid = s.request("server/discover", {"_meta": modern_meta()})
    r = s.answer(rid)["result"]
    assert MODERN in r["supportedVersions"] and LEGACY in r["supportedVersions"], r
    assert r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "switchyard", r
    rid = s.request("tools/call", {"name": "echo", "arguments": {"text": "stateless"}, "_meta": modern_meta()})
    r = s.answer(rid)["result"]
    assert r["content"][0]["text"] == "stateless" and r["resultType"] == "complete", r
    # progress in this era too: the notifications precede the answer
    rid = s.request("tools/call", {"name": "test_tool_with_progress", "arguments": {},
                                   "_meta": modern_meta(progressToken="p-1")})
    progress = []
    while True:
        msg = s.read()
        if msg.get("method") == "notifications/progress":
            progress.append(msg["params"])
        elif msg.get("id") == rid:
            break
    assert [p["progress"] for p in progress] == [0, 50, 100], progress
    assert all(p["progressToken"] == "p-1" for p in progress), progress
    # _meta is required in this era; a version this server does not speak is named in the error
    rid = s.request("tools/list", {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}})
    assert s.answer(rid)["error"]["code"] == -32602
    rid = s.request("tools/list", {"_meta": modern_meta(**{"io.modelcontextprotocol/protocolVersion": "2099-01-01"})})
    e = s.answer(rid)["error"]
    assert MODERN in e["data"]["supported"], e
    # a batch is not a message of this era
    s.send_raw(b'[{"jsonrpc":"2.0","id":"b1","method":"tools/list","params":{"_meta":'
               + json.dumps(modern_meta()).encode() + b'}}]\n')
    e = s.read()
    assert e["error"]["code"] == -32600, e
    s.assert_stdout_is_json_lines()


def test_list_changed_reaches_the_client_in_both_eras(raw):
    """Handshake era: the implicit session gets list changes unasked. 2026-07-28: only on a
    `subscriptions/listen` stream, each notification carrying its subscription id."""
    s = raw()
    s.initialize()
    # The trigger tool serves the 2026-07-28 era only: called statelessly by the same client.
    rid = s.request("tools/call", {"name": "test_trigger_tool_change", "arguments": {}, "_meta": modern_meta()})
    seen = []
    while True:
        msg = s.read()
        seen.append(msg)
        if msg.get("id") == rid:
            break
    deadline = time.monotonic() + 5
    while not any(m.get("method") == "notifications/tools/list_changed" for m in seen):
        seen.append(s.read(max(0.1, deadline - time.monotonic())))
    assert "result" in seen[[m.get("id") for m in seen].index(rid)], seen
    s.assert_stdout_is_json_lines()

    m = raw()
    listen = m.request("subscriptions/listen", {"notifications": {"toolsListChanged": True}, "_meta": modern_meta()})
    ack = m.read()
    assert ack["method"] == "notifications/subscriptions/acknowledged", ack
    assert ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == listen, ack
    rid = m.request("tools/call", {"name": "test_trigger_tool_change", "arguments": {}, "_meta": modern_meta()})
    changed = None
    while changed is None:
        msg = m.read()
        if msg.get("method") == "notifications/tools/list_changed":
            changed = msg
    assert changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == listen, changed
    m.proc.stdin.close()  # the open listen stream does not hold up the end
    assert m.proc.wait(10) == 0


def test_batch_in_a_2025_03_26_session(raw):
    """A batch is one line in, one line (an array) out, in the one revision that has batches."""
    s = raw()
    rid = s.request("initialize", {"protocolVersion": "2025-03-26", "capabilities": {},
                                   "clientInfo": {"name": "raw", "version": "1"}})
    assert s.answer(rid)["result"]["protocolVersion"] == "2025-03-26"
    s.send_raw(json.dumps([{"jsonrpc": "2.0", "id": "b1", "method": "ping"},
                           {"jsonrpc": "2.0", "method": "notifications/initialized"},
                           {"jsonrpc": "2.0", "id": "b2", "method": "tools/call",
                            "params": {"name": "echo", "arguments": {"text": "in a batch"}}}]).encode() + b"\n")
    answers = s.read()
    assert isinstance(answers, list) and [a["id"] for a in answers] == ["b1", "b2"], answers
    assert answers[1]["result"]["content"][0]["text"] == "in a batch", answers
    s.assert_stdout_is_json_lines()


def test_cancelled_call_gets_no_answer(raw):
    s = raw()
    s.initialize()
    slow = s.request("tools/call", {"name": "sleep_ms", "arguments": {"ms": 3000}})
    time.sleep(0.2)
    s.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": slow, "reason": "test"}})
    stateless = s.request("tools/call", {"name": "sleep_ms", "arguments": {"ms": 3000}, "_meta": modern_meta()})
    time.sleep(0.2)
    s.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": stateless}})
    started = time.monotonic()
    ping = s.request("ping")
    assert "result" in s.answer(ping)
    rid = s.request("tools/call", {"name": "sleep_ms", "arguments": {"ms": 3500}})
    msg = s.answer(rid, timeout=10)
    assert "result" in msg, msg
    ids = [json.loads(line).get("id") for line in s.raw]
    assert slow not in ids and stateless not in ids, s.raw
    assert time.monotonic() - started < 8


def test_end_of_input_drains_and_exits_zero(raw):
    """Closing stdin: the call in flight is still answered, executors stop, exit status 0."""
    s = raw("--executors", "2")
    s.initialize()
    kids = s.wait_for_children(2)
    assert len(kids) == 2, kids
    rid = s.request("tools/call", {"name": "sleep_ms", "arguments": {"ms": 500}})
    time.sleep(0.1)
    s.proc.stdin.close()
    msg = s.answer(rid)
    assert "result" in msg, msg
    assert s.proc.wait(10) == 0, b"".join(s.stderr)
    assert s.read() is None  # stdout closed after the last answer
    deadline = time.monotonic() + 5
    while any(pid_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(k) for k in kids), kids
    s.assert_stdout_is_json_lines()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_drains_and_exits_zero(raw, sig):
    s = raw()
    s.initialize()
    kids = s.wait_for_children(1)
    rid = s.request("tools/call", {"name": "sleep_ms", "arguments": {"ms": 400}})
    time.sleep(0.1)
    s.proc.send_signal(sig)
    assert "result" in s.answer(rid)
    assert s.proc.wait(10) == 0, b"".join(s.stderr)
    assert not any(pid_alive(k) for k in kids), kids


def test_executors_do_not_outlive_a_killed_server(raw):
    """SIGKILL cannot be drained: the built-in executors get SIGTERM from the kernel when their
    parent dies (PR_SET_PDEATHSIG) and leave instead of lingering as orphans."""
    s = raw("--executors", "2")
    s.initialize()
    kids = s.wait_for_children(2)
    assert len(kids) == 2, kids
    argv = Path(f"/proc/{kids[0]}/cmdline").read_bytes().split(b"\0")
    run_dir = Path(argv[argv.index(b"--socket") + 1].decode()).parent.parent
    s.proc.kill()
    s.proc.wait(10)
    deadline = time.monotonic() + 10
    while any(pid_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(k) for k in kids), kids
    shutil.rmtree(run_dir, ignore_errors=True)  # a killed server cannot remove its run directory


def test_closed_stdout_ends_quietly():
    """The client closes our stdout: the next answer fails to write and the process ends, exit 0."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([switchyard_bin(), "stdio"], stdin=subprocess.PIPE, stdout=write_end,
                            stderr=subprocess.PIPE)
    os.close(write_end)
    try:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
        proc.stdin.write(json.dumps(init).encode() + b"\n")
        proc.stdin.flush()
        with os.fdopen(read_end, "rb", buffering=0) as out:
            first = b""
            while not first.endswith(b"\n"):
                first += out.read(1)
            assert json.loads(first)["id"] == 1
            kids = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        # the read end is closed now: the answer to this ping cannot be written
        proc.stdin.write(b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n')
        proc.stdin.flush()
        assert proc.wait(10) == 0, proc.stderr.read()
        deadline = time.monotonic() + 5
        while any(pid_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(pid_alive(k) for k in kids), kids
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_stdin_that_cannot_be_polled_is_a_clear_error():
    """/dev/null or a regular file as stdin: an error naming standard input, not a crash."""
    with open(os.devnull, "rb") as null:
        p = subprocess.run([switchyard_bin(), "stdio"], stdin=null, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
    assert p.returncode not in (0, -signal.SIGABRT) and p.returncode > 0, p
    assert b"standard input is not a pipe, socket or terminal" in p.stderr, p.stderr
    assert p.stdout == b"", p.stdout


def test_nothing_but_json_on_stdout_with_a_noisy_executor(raw, tmp_path):
    """An executor that prints to its stdout does not reach the protocol stream: it lands on stderr."""
    script = tmp_path / "noisy.sh"
    script.write_text("echo 'noise on stdout'\nexec " + " ".join([switchyard_bin(), "executor", "--socket",
                                                                     '"$SWITCHYARD_SOCKET"', "--name", "noisy",
                                                                     "--tools", "demo"]) + "\n")
    s = raw("--executors", "1", "--executor-cmd", f"sh {script}")
    s.initialize()
    rid = s.request("tools/call", {"name": "echo", "arguments": {"text": "clean"}})
    assert s.answer(rid)["result"]["content"][0]["text"] == "clean"
    s.proc.stdin.close()
    assert s.proc.wait(10) == 0
    s.assert_stdout_is_json_lines()
    assert b"noise on stdout" in b"".join(s.stderr)


# MARK: serve's options over stdio: upstreams, config, rate limits, the audit log

UPSTREAM_SCRIPT = Path(__file__).resolve().parent / "upstreams" / "fastmcp_server.py"


def upstream_command(*extra: str) -> str:
    return " ".join(shlex.quote(w) for w in [sys.executable, str(UPSTREAM_SCRIPT), *extra])


def descendants(pid: int) -> set[int]:
    """Every process under `pid` (children, their children, ...)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(k) for k in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.update(kids)
        todo.extend(kids)
    return found


async def _upstream_session(tag: str):
    asked = []

    async def elicit(ctx, p):
        asked.append(p.message)
        return t.ElicitResult(action="accept", content={"name": "Ada"})

    server = StdioServerParameters(command=switchyard_bin(), args=[
        "stdio", "--executors", "0", "--upstream", f"up={upstream_command('--tag', tag)}", "--upstream-pool", "2"])
    async with Client(server, mode="legacy", read_timeout_seconds=30, elicitation_callback=elicit) as c:
        names = {tool.name for tool in (await c.list_tools()).tools}
        assert {"say", "block", "ask_name", "copy_pid"} <= names and "echo" not in names, names
        r = await c.call_tool("say", {"text": "through stdio"})
        assert r.is_error is False and r.content[0].text == "through stdio", r
        results = {}

        async def one(i):
            results[i] = await c.call_tool("say", {"text": f"m{i}"})

        async with anyio.create_task_group() as tg:
            for i in range(100):
                tg.start_soon(one, i)
        assert all(results[i].is_error is False and results[i].content[0].text == f"m{i}" for i in range(100)), \
            [results[i] for i in range(100) if results[i].is_error]
        pids = set()
        for _ in range(8):
            pids.add((await c.call_tool("block", {"seconds": 0.05})).structured_content["result"])
        r = await c.call_tool("ask_name", {})
        assert r.is_error is False and r.content[0].text == "hello Ada", r
        assert asked == ["What is your name?"], asked
        r = await c.read_resource("info://server")
        assert r.contents[0].text == "a FastMCP test upstream", r
    return pids


def test_upstream_over_stdio_with_the_official_client():
    """`switchyard stdio --upstream`: an IDE's view of a pooled FastMCP server: listed, called,
    100 calls at once, an eliciting tool; at the end of input no copy is left running."""
    tag = uuid.uuid4().hex
    pids = run(_upstream_session, tag, budget=90)
    assert len(pids) >= 1, pids
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids), pids
    leftover = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout.split()
    assert leftover == [], leftover


@pytest.mark.timeout(90)
def test_upstream_copies_end_with_the_input_and_log_on_stderr(raw):
    s = raw("--executors", "0", "--upstream", f"up={upstream_command()}", "--upstream-pool", "2")
    s.initialize()
    rid = s.request("tools/call", {"name": "copy_pid", "arguments": {}})
    assert "result" in s.answer(rid, timeout=60)
    marker = f"stderr-marker-{uuid.uuid4().hex}"  # a copy's stderr line: logged under the upstream's name
    assert "result" in s.answer(s.request("tools/call", {"name": "shout", "arguments": {"text": marker}}))
    # The upstream's resource updates reach the implicit session once it subscribed.
    assert "result" in s.answer(s.request("resources/subscribe", {"uri": "info://server"}))
    touched = s.request("tools/call", {"name": "touch", "arguments": {}})
    seen = []
    deadline = time.monotonic() + 10
    while not any(m.get("method") == "notifications/resources/updated" for m in seen):
        seen.append(s.read(max(0.1, deadline - time.monotonic())))
    assert any(m.get("id") == touched for m in seen) or "result" in s.answer(touched)
    assert [m["params"]["uri"] for m in seen if m.get("method") == "notifications/resources/updated"] \
        == ["info://server"], seen
    family = descendants(s.proc.pid)
    assert len(family) >= 3, family  # the bridge and its two copies
    # A last message without its newline is still answered at the end of input.
    s.send_raw(b'{"jsonrpc":"2.0","id":"last","method":"tools/call","params":{"name":"say","arguments":{"text":"end"}}}')
    s.proc.stdin.close()
    assert s.answer("last")["result"]["content"][0]["text"] == "end"
    assert s.proc.wait(15) == 0, b"".join(s.stderr)
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in family), family
    s.assert_stdout_is_json_lines()
    deadline = time.monotonic() + 5
    while marker.encode() not in b"".join(s.stderr):
        assert time.monotonic() < deadline, b"".join(s.stderr)[-3000:]
        time.sleep(0.05)
    [line] = [ln for ln in s.stderr if marker.encode() in ln]
    assert b"component=upstream:up" in line and b"stream=stderr" in line, line


@pytest.mark.parametrize("command, words", [
    ("definitely-not-a-command-x7", ["cannot be used", "not found"]),
    (upstream_command("--exit"), ["status 3", "giving up"]),
    (upstream_command("--garbage"), ["not JSON-RPC", "this is not JSON-RPC"]),
], ids=["missing", "exits", "garbage"])
def test_an_upstream_that_cannot_start_is_a_clear_error(command, words):
    """The start-up check of serve, over stdio: exit status 64, a last line naming the upstream and
    the reason, nothing on stdout."""
    p = subprocess.run([switchyard_bin(), "stdio", "--upstream", f"bad={command}"],
                       stdin=subprocess.PIPE, capture_output=True, timeout=60)
    assert p.returncode == 64, p
    last = p.stderr.decode().strip().splitlines()[-1]
    for w in ["upstream 'bad'", *words]:
        assert w in last, last
    assert p.stdout == b"", p.stdout


def test_rate_limit_and_audit_log_from_the_config_file(raw, tmp_path):
    audit = tmp_path / "audit.log"
    config = tmp_path / "stdio.json"
    config.write_text(json.dumps({"rateLimits": ["echo=2/m"], "auditLog": str(audit), "executors": 1}))
    s = raw("--config", str(config))
    s.initialize()
    answers = [s.answer(s.request("tools/call", {"name": "echo", "arguments": {"text": f"r{i}"}})) for i in range(3)]
    assert [a.get("result", {}).get("content", [{}])[0].get("text") for a in answers[:2]] == ["r0", "r1"], answers
    e = answers[2]["error"]
    assert "rate limit of tool echo" in e["message"], e
    # other tools are not limited
    assert "result" in s.answer(s.request("tools/call", {"name": "add_numbers", "arguments": {"a": 1, "b": 2}}))
    s.proc.stdin.close()
    assert s.proc.wait(10) == 0, b"".join(s.stderr)
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    calls = [r for r in records if r["method"] == "tools/call" and r["name"] == "echo"]
    assert [r["decision"] for r in calls].count("allow") == 2, calls
    assert [r["status"] for r in calls].count(429) == 1, calls
    assert all(r["session"] for r in calls), calls  # the implicit session
    assert "r0" not in audit.read_text()  # digests, never argument values
    verify = subprocess.run([switchyard_bin(), "audit", "verify", str(audit)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr


@pytest.mark.parametrize("argv", [["--port", "8080"], ["--tls-cert", "x.pem"], ["--api-keys", "k.json"],
                                  ["--redis", "redis://127.0.0.1:6379"], ["--prefer-sse"]])
def test_http_only_options_are_refused_by_name(argv):
    p = subprocess.run([switchyard_bin(), "stdio", *argv], stdin=subprocess.PIPE, capture_output=True, timeout=20)
    assert p.returncode == 64, p
    assert f"{argv[0]} does not apply to switchyard stdio".encode() in p.stderr, p.stderr
    assert p.stdout == b""


def test_http_only_config_keys_are_refused_by_name(tmp_path):
    config = tmp_path / "shared.json"
    config.write_text(json.dumps({"executors": 1, "port": 8080}))
    p = subprocess.run([switchyard_bin(), "stdio", "--config", str(config)], stdin=subprocess.PIPE,
                       capture_output=True, timeout=20)
    assert p.returncode != 0 and b"'port' does not apply to switchyard stdio" in p.stderr, p.stderr
    assert p.stdout == b""


def test_second_initialize_starts_a_new_session(raw):
    s = raw()
    s.initialize()
    first = s.answer(s.request("tools/call", {"name": "echo", "arguments": {"text": "a"}}))
    assert "result" in first
    s.initialize()
    assert "result" in s.answer(s.request("tools/call", {"name": "echo", "arguments": {"text": "b"}}))
    s.assert_stdout_is_json_lines()


@pytest.mark.timeout(90)
def test_upstream_copies_do_not_outlive_a_killed_server(raw):
    """SIGKILL: the bridge gets SIGTERM from the kernel (parent death) and stops its copies."""
    s = raw("--executors", "0", "--upstream", f"up={upstream_command()}", "--upstream-pool", "2")
    s.initialize()
    assert "result" in s.answer(s.request("tools/call", {"name": "say", "arguments": {"text": "x"}}), timeout=60)
    family = descendants(s.proc.pid)
    assert len(family) >= 3, family
    bridge = s.children()[0]
    argv = Path(f"/proc/{bridge}/cmdline").read_bytes().split(b"\0")
    run_dir = Path(argv[argv.index(b"--socket") + 1].decode()).parent.parent
    s.proc.kill()
    s.proc.wait(10)
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in family), [p for p in family if pid_alive(p)]
    shutil.rmtree(run_dir, ignore_errors=True)  # a killed server cannot remove its run directory
