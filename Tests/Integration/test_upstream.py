"""Existing stdio MCP servers pooled behind Switchyard (`serve --upstream`): a FastMCP server
(upstreams/fastmcp_server.py, the official Python SDK) driven through the fronts by the official
Python client over HTTP. README.md, "Pooling stdio MCP servers"."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import anyio
import mcp_types as t
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import switchyard_bin, free_port

SERVER_SCRIPT = Path(__file__).resolve().parent / "upstreams" / "fastmcp_server.py"
UPSTREAM_TOOLS = {"say", "copy_pid", "block", "wait", "counter", "ask_name", "steps", "grow"}


def upstream_command(*extra: str, tag: str | None = None) -> str:
    """The test server's command line; `tag` marks its copies so a test can find their pids."""
    words = [sys.executable, str(SERVER_SCRIPT), *extra]
    if tag:
        words += ["--tag", tag]
    return " ".join(shlex.quote(w) for w in words)


def copy_pids(tag: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout
    pids = []
    for p in out.split():
        try:
            argv0 = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0]
        except FileNotFoundError:
            continue
        if not argv0.endswith(b"switchyard"):  # serve's own argv holds the command line too
            pids.append(int(p))
    return pids


def run(coro_fn, *args, budget: float = 60.0):
    async def main():
        with anyio.fail_after(budget):
            return await coro_fn(*args)
    return anyio.run(main)


async def calls_at_once(srv, tool: str, n: int):
    """`n` calls of `tool` (`block` or `wait`, 0.25 s each) at once in one session, after one
    that warms the copies up: how long they took, and the pid of the copy each ran on."""
    async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
        await c.call_tool(tool, {"seconds": 0.0})
        pids = []

        async def one():
            r = await c.call_tool(tool, {"seconds": 0.25})
            assert r.is_error is False, r
            pids.append(r.structured_content["result"])
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
        return time.monotonic() - started, pids


def start(server_factory, upstream: str, pool: int = 2, extra=()):
    return server_factory(fronts=2, executors=1,
                          extra_args=["--upstream", f"up={upstream}", "--upstream-pool", str(pool), *extra])


@pytest.mark.timeout(90)
def test_tools_resources_and_prompts_of_the_upstream_are_served(server_factory):
    srv = start(server_factory, upstream_command())

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            names = {tool.name for tool in (await c.list_tools()).tools}
            assert UPSTREAM_TOOLS <= names and "echo" in names, names  # the upstream's and the built-in pack's
            r = await c.call_tool("say", {"text": "hello"})
            assert r.is_error is False and r.content[0].text == "hello", r
            assert r.structured_content == {"result": "hello"}, r
            r = await c.read_resource("info://server")
            assert r.contents[0].text == "a FastMCP test upstream", r
            p = await c.get_prompt("greet", {"name": "Ada"})
            assert "Say hello to Ada." in p.messages[0].content.text, p
            # Arguments are checked against the upstream's schema at the front.
            r = await c.call_tool("say", {"text": 5})
            assert r.is_error is True, r
            # Progress passes through with the client's own token.
            seen = []

            async def progress(p, total, message):
                seen.append((p, total, message))

            r = await c.call_tool("steps", {"count": 3}, progress_callback=progress)
            assert r.content[0].text == "3 steps", r
            assert [s[0] for s in seen] == [1, 2, 3] and seen[-1][1] == 3, seen
    run(body)


@pytest.mark.timeout(60)
def test_blocking_calls_spread_over_the_copies(server_factory):
    pool = 4
    srv = start(server_factory, upstream_command(), pool=pool)

    elapsed, pids = run(calls_at_once, srv, "block", 32)
    # One copy serialises its blocking calls: 32 x 0.25 s = 8 s; four copies take about 2 s (2.03
    # to 2.14 s measured on this 2-core machine, also beside 6 busy loops). 1.6x that (3.2 s) is
    # well under the 4 s of two copies, and leaves a loaded machine room.
    ideal = 32 * 0.25 / pool
    assert len(pids) == 32
    assert len(set(pids)) >= 3, f"calls ran on {len(set(pids))} copies: {sorted(set(pids))}"
    assert ideal * 0.9 <= elapsed < ideal * 1.6, f"32 blocking calls took {elapsed:.2f} s (ideal {ideal:.2f} s)"


@pytest.mark.timeout(180)
def test_two_hundred_sessions_of_five_calls(server_factory):
    srv = start(server_factory, upstream_command(), pool=4)
    wrong = []

    async def session(i, limit):
        async with limit:
            async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
                for k in range(5):
                    text = f"s{i}-c{k}"
                    r = await c.call_tool("say", {"text": text})
                    if r.is_error or r.content[0].text != text:
                        wrong.append((text, r))

    async def body():
        limit = anyio.Semaphore(20)
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(session, i, limit)
    run(body, budget=170)
    assert not wrong, wrong[:3]


@pytest.mark.timeout(90)
def test_a_copy_killed_mid_call_fails_that_call_cleanly_and_is_replaced(server_factory):
    tag = uuid.uuid4().hex
    srv = start(server_factory, upstream_command(tag=tag), pool=2)
    before = copy_pids(tag)
    assert len(before) == 2, before

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            outcome = {}

            async def slow():
                try:
                    outcome["result"] = await c.call_tool("wait", {"seconds": 5})
                except MCPError as e:
                    outcome["error"] = e

            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                await anyio.sleep(0.8)
                for pid in copy_pids(tag):
                    os.kill(pid, signal.SIGKILL)
            assert "error" in outcome, outcome
            message = str(outcome["error"])
            assert "upstream up" in message and "did not complete" in message, message
            # The copies are started again (with backoff): later calls succeed.
            deadline = time.monotonic() + 30
            while True:
                try:
                    r = await c.call_tool("say", {"text": "back"})
                    if r.is_error is False and r.content[0].text == "back":
                        break
                except MCPError:
                    pass
                assert time.monotonic() < deadline, "no call succeeded after the copies were killed"
                await anyio.sleep(0.2)
    run(body, budget=80)
    after = copy_pids(tag)
    assert after and not set(after) & set(before), (before, after)
    assert srv.running()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_an_upstream_elicitation_reaches_the_calling_session(server_factory, mode):
    srv = start(server_factory, upstream_command(), pool=2)
    asked = []

    async def elicit(ctx, params):
        asked.append(params)
        return t.ElicitResult(action="accept", content={"name": "Ada"})

    async def body():
        async with Client(srv.url, mode=mode, read_timeout_seconds=20, elicitation_callback=elicit) as c:
            r = await c.call_tool("ask_name", {})
            assert r.is_error is False and r.content[0].text == "hello Ada", r
    run(body)
    assert asked and asked[0].message == "What is your name?", asked


@pytest.mark.timeout(90)
def test_per_session_mode_keeps_each_sessions_state_apart(server_factory, tmp_path):
    config = tmp_path / "switchyard.json"
    config.write_text(json.dumps({"upstreams": {"up": {
        "command": sys.executable, "args": [str(SERVER_SCRIPT)], "mode": "per-session", "pool": 4}}}))
    srv = server_factory(fronts=2, executors=1, extra_args=["--config", str(config)])

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as a, \
                Client(srv.url, mode="legacy", read_timeout_seconds=30) as b:
            async def count(c):
                r = await c.call_tool("counter", {})
                assert r.is_error is False, r
                return r.structured_content["result"]
            assert [await count(a) for _ in range(3)] == [1, 2, 3]
            assert await count(b) == 1
            assert await count(a) == 4
            assert await count(b) == 2
            pa = (await a.call_tool("copy_pid", {})).structured_content["result"]
            pb = (await b.call_tool("copy_pid", {})).structured_content["result"]
            assert pa != pb
        # 2026-07-28 has no session to give a copy to: a clear error, naming the way out.
        async with Client(srv.url, mode="auto", read_timeout_seconds=30) as m:
            assert m.protocol_version == "2026-07-28", m.protocol_version
            with pytest.raises(MCPError) as ei:
                await m.call_tool("counter", {})
            assert ei.value.error.code == -32600, ei.value.error
            assert "no session" in ei.value.error.message and "shared" in ei.value.error.message, ei.value.error
    run(body)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command, words", [
    ("definitely-not-a-command-x7", ["upstream 'up'", "cannot be used", "not found"]),
    (upstream_command("--exit"), ["upstream 'up'", "status 3", "giving up"]),
    (upstream_command("--garbage"), ["upstream 'up'", "not JSON-RPC", "this is not JSON-RPC"]),
])
def test_a_broken_upstream_stops_the_start_with_a_clear_error(tmp_path, command, words):
    port = free_port()
    p = subprocess.run([switchyard_bin(), "serve", "--port", str(port), "--fronts", "1", "--executors", "1",
                        "--upstream", f"up={command}"], capture_output=True, text=True, timeout=90)
    assert p.returncode == 64, (p.returncode, p.stderr[-2000:])
    last = p.stderr.strip().splitlines()[-1]
    for w in words:
        assert w in last, last


@pytest.mark.timeout(90)
def test_a_name_two_sources_serve_is_refused_unless_prefixed(server_factory, tmp_path):
    # The test server's `say` twice: the second upstream must be given a prefix.
    config = tmp_path / "twice.json"
    config.write_text(json.dumps({"upstreams": {
        "a": {"command": sys.executable, "args": [str(SERVER_SCRIPT)]},
        "b": {"command": sys.executable, "args": [str(SERVER_SCRIPT)]}}}))
    p = subprocess.run([switchyard_bin(), "serve", "--port", str(free_port()), "--executors", "1", "--config",
                        str(config)], capture_output=True, text=True, timeout=90)
    assert p.returncode == 64, p.stderr[-2000:]
    assert "served by both upstream 'a' and upstream 'b'" in p.stderr, p.stderr[-1000:]

    config.write_text(json.dumps({"upstreams": {
        "a": {"command": sys.executable, "args": [str(SERVER_SCRIPT)], "pool": 1},
        "b": {"command": sys.executable, "args": [str(SERVER_SCRIPT), "--no-resources"], "pool": 1,
              "prefix": "b_"}}}))
    srv = server_factory(fronts=1, executors=1, extra_args=["--config", str(config)])

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            names = {tool.name for tool in (await c.list_tools()).tools}
            assert {"say", "b_say", "b_counter"} <= names, names
            r = await c.call_tool("b_say", {"text": "prefixed"})
            assert r.content[0].text == "prefixed", r
    run(body)


@pytest.mark.timeout(90)
def test_a_prefix_does_not_rename_resource_uris(tmp_path):
    """URIs are served as the upstream lists them (README, "Resource URIs are not prefixed"): a
    prefix separates tool and prompt names, and two upstreams listing one URI are still refused."""
    config = tmp_path / "uris.json"
    config.write_text(json.dumps({"upstreams": {
        "a": {"command": sys.executable, "args": [str(SERVER_SCRIPT)], "pool": 1},
        "b": {"command": sys.executable, "args": [str(SERVER_SCRIPT)], "pool": 1, "prefix": "b_"}}}))
    p = subprocess.run([switchyard_bin(), "serve", "--port", str(free_port()), "--executors", "0", "--config",
                        str(config)], capture_output=True, text=True, timeout=90)
    assert p.returncode == 64, p.stderr[-2000:]
    assert "the resource 'info://server' is served by both upstream 'a' and upstream 'b'" in p.stderr, \
        p.stderr[-1000:]


@pytest.mark.timeout(60)
def test_a_hung_copy_times_the_call_out_and_is_replaced(server_factory, tmp_path):
    tag = uuid.uuid4().hex
    config = tmp_path / "hang.json"
    config.write_text(json.dumps({"upstreams": {"up": {
        "command": sys.executable, "args": [str(SERVER_SCRIPT), "--tag", tag], "pool": 1, "timeoutMs": 1000}}}))
    srv = server_factory(fronts=1, executors=1, extra_args=["--config", str(config)])
    before = copy_pids(tag)
    assert len(before) == 1, before

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            started = time.monotonic()
            with pytest.raises(MCPError) as e:
                await c.call_tool("block", {"seconds": 60})  # stalls the copy: it cannot even answer a ping
            assert "did not answer within 1000 ms" in str(e.value), e.value
            assert time.monotonic() - started < 5
            # The ping after the timeout goes unanswered for 5 s: the copy is killed and started again.
            deadline = time.monotonic() + 30
            while True:
                try:
                    r = await c.call_tool("say", {"text": "fresh"})
                    if r.is_error is False and r.content[0].text == "fresh":
                        break
                except MCPError:
                    pass
                assert time.monotonic() < deadline, "no call succeeded after the hung copy"
                await anyio.sleep(0.3)
    run(body, budget=50)
    after = copy_pids(tag)
    assert len(after) == 1 and after != before, (before, after)


@pytest.mark.timeout(90)
def test_list_changed_from_a_copy_refreshes_the_catalog(server_factory):
    srv = start(server_factory, upstream_command(), pool=1)
    changed = []

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.append(message)

    async def body():
        async with Client(srv.url, mode="legacy", cache=None, read_timeout_seconds=20, message_handler=on_message) as c:
            assert "grown" not in {tool.name for tool in (await c.list_tools()).tools}
            assert (await c.call_tool("grow", {})).content[0].text == "added"
            deadline = time.monotonic() + 10
            while "grown" not in {tool.name for tool in (await c.list_tools()).tools}:
                assert time.monotonic() < deadline, "the new tool never reached the catalog"
                await anyio.sleep(0.1)
            r = await c.call_tool("grown", {})
            assert r.content[0].text == "grown", r
            deadline = time.monotonic() + 5
            while not changed:  # the front told the session its tool list changed
                assert time.monotonic() < deadline, "no notifications/tools/list_changed reached the client"
                await anyio.sleep(0.1)
    run(body)


def test_an_upstream_env_is_a_secret_of_the_config_file(tmp_path):
    config = tmp_path / "secret.json"
    config.write_text(json.dumps({"upstreams": {"gh": {"command": "npx", "args": ["some-server"],
                                                       "env": {"GITHUB_TOKEN": "s3cr3t-value"}, "prefix": "gh_"}}}))
    config.chmod(0o644)
    p = subprocess.run([switchyard_bin(), "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 64 and "upstreams.gh.env" in p.stderr, p.stderr
    config.chmod(0o600)
    p = subprocess.run([switchyard_bin(), "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "s3cr3t-value" not in p.stdout + p.stderr
    [u] = json.loads(p.stdout)["upstreams"]
    assert u["name"] == "gh" and u["env"] == ["GITHUB_TOKEN"] and u["argv"] == ["npx", "some-server"], u


@pytest.mark.timeout(120)
def test_per_session_copies_are_bounded_and_reaped_when_idle(server_factory, tmp_path):
    config = tmp_path / "bounded.json"
    config.write_text(json.dumps({"upstreams": {"up": {
        "command": sys.executable, "args": [str(SERVER_SCRIPT)], "mode": "per-session", "pool": 1,
        "idleMs": 1000}}}))
    srv = server_factory(fronts=1, executors=1, extra_args=["--config", str(config)])

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=60) as a, \
                Client(srv.url, mode="legacy", read_timeout_seconds=60) as b:
            async def count(c):
                r = await c.call_tool("counter", {})
                assert r.is_error is False, r
                return r.structured_content["result"]
            assert [await count(a), await count(a)] == [1, 2]
            assert await count(b) == 1  # one copy at most: a's idle copy made room
            assert await count(a) == 1  # and b's made room for a fresh one of a's
            await anyio.sleep(2.5)      # idle past idleMs: stopped
            assert await count(a) == 1
    run(body, budget=110)


@pytest.mark.timeout(90)
def test_a_name_that_appears_later_does_not_shadow_another_upstreams(server_factory):
    """Upstream `late` adds a tool `say` at run time (list_changed), as upstream `up` already serves:
    the newcomer is refused with a logged error naming both, and `say` stays `up`'s."""
    srv = server_factory(fronts=1, executors=1, extra_args=[
        "--upstream", f"up={upstream_command()}", "--upstream", f"late={upstream_command('--late-conflict')}",
        "--upstream-pool", "1"])

    async def body():
        async with Client(srv.url, mode="legacy", cache=None, read_timeout_seconds=20) as c:
            assert (await c.call_tool("add_say", {})).content[0].text == "added"
            deadline = time.monotonic() + 10
            while "name conflict" not in srv.stderr_tail(200):
                assert time.monotonic() < deadline, "no conflict was logged\n" + srv.stderr_tail(50)
                await anyio.sleep(0.1)
            names = [tool.name for tool in (await c.list_tools()).tools]
            assert names.count("say") == 1 and "add_say" in names, names
            for i in range(6):  # every call goes to the first owner, never the newcomer
                r = await c.call_tool("say", {"text": f"t{i}"})
                assert r.is_error is False and r.content[0].text == f"t{i}", r
    run(body)
    line = next(ln for ln in srv.stderr_tail(400).splitlines() if "name conflict" in ln)
    assert "say" in line and "upstream 'up'" in line and "upstream 'late'" in line, line


@pytest.mark.timeout(90)
def test_resource_updates_of_an_upstream_reach_subscribed_sessions(server_factory):
    """The bridge subscribes every copy to the listed resources; a copy's resources/updated reaches
    the sessions that subscribed to the URI, and no other."""
    srv = start(server_factory, upstream_command(), pool=2)
    updates: dict[str, list] = {"a": [], "b": []}

    def collector(key):
        async def on_message(message):
            if getattr(message, "method", None) == "notifications/resources/updated":
                updates[key].append(str(message.params.uri))
        return on_message

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20, message_handler=collector("a")) as a, \
                Client(srv.url, mode="legacy", read_timeout_seconds=20, message_handler=collector("b")) as b:
            assert a.server_capabilities.resources.subscribe is True, a.server_capabilities
            await a.subscribe_resource("info://server")
            # Both copies were subscribed by the bridge, whichever runs the call.
            for _ in range(4):
                r = await b.call_tool("touch", {})
                assert r.content[0].text == "updated", r
            deadline = time.monotonic() + 10
            while len(updates["a"]) < 4:
                assert time.monotonic() < deadline, updates
                await anyio.sleep(0.1)
            await anyio.sleep(0.3)
    run(body)
    assert updates["a"] == ["info://server"] * 4, updates
    assert updates["b"] == [], updates


@pytest.mark.timeout(90)
def test_a_per_session_copys_resource_update_reaches_only_its_own_session(server_factory, tmp_path):
    """In per-session mode a copy's resources/updated is about that session's private state: the
    session that owns the copy hears it, another session subscribed to the same URI does not."""
    config = tmp_path / "switchyard.json"
    config.write_text(json.dumps({"upstreams": {"up": {
        "command": sys.executable, "args": [str(SERVER_SCRIPT)], "mode": "per-session", "pool": 4}}}))
    srv = server_factory(fronts=2, executors=1, extra_args=["--config", str(config)])
    updates: dict[str, list] = {"a": [], "b": []}

    def collector(key):
        async def on_message(message):
            if getattr(message, "method", None) == "notifications/resources/updated":
                updates[key].append(str(message.params.uri))
        return on_message

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30, message_handler=collector("a")) as a, \
                Client(srv.url, mode="legacy", read_timeout_seconds=30, message_handler=collector("b")) as b:
            assert a.server_capabilities.resources.subscribe is True, a.server_capabilities
            await a.subscribe_resource("info://server")
            await b.subscribe_resource("info://server")
            # b has a copy of its own too (whose state did not change).
            assert (await b.call_tool("counter", {})).structured_content["result"] == 1
            touched = 0
            deadline = time.monotonic() + 15
            while touched < 3:  # a's copy is subscribed once it is ready: "not subscribed" before
                assert time.monotonic() < deadline, "a's copy never reported a change"
                r = await a.call_tool("touch", {})
                touched += r.content[0].text == "updated"
            deadline = time.monotonic() + 10
            while len(updates["a"]) < 3:
                assert time.monotonic() < deadline, updates
                await anyio.sleep(0.1)
            await anyio.sleep(0.5)
    run(body)
    assert updates["a"] == ["info://server"] * 3, updates
    assert updates["b"] == [], updates


def config_front(server_factory, tmp_path, settings: dict, fronts: int = 1, extra=()):
    """A front whose config file has the one upstream `up` (mode 600: an `env` is a secret)."""
    config = tmp_path / f"up-{len(list(tmp_path.glob('up-*.json')))}.json"
    config.write_text(json.dumps({"upstreams": {"up": {"command": sys.executable, **settings}}}))
    config.chmod(0o600)
    return server_factory(fronts=fronts, executors=1, extra_args=["--config", str(config), *extra])


async def say_still_works(c):
    r = await c.call_tool("say", {"text": "still serving"})
    assert r.is_error is False and r.content[0].text == "still serving", r


@pytest.mark.timeout(90)
@pytest.mark.parametrize("tool, idempotent", [("idempotent_wait", True), ("once_wait", False)])
def test_a_call_on_a_killed_copy_runs_again_only_when_the_tool_is_idempotent(server_factory, tool, idempotent):
    """README, "A copy that dies": a call of a tool marked readOnlyHint/idempotentHint runs again on
    another copy; any other call ends with -32603. Only the copy running the call is killed (it
    says its pid in a progress message)."""
    tag = uuid.uuid4().hex
    srv = start(server_factory, upstream_command(tag=tag), pool=2)
    copies = copy_pids(tag)
    assert len(copies) == 2, copies

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            reported: list[int] = []
            running = anyio.Event()

            async def progress(p, total, message):
                if message and message.startswith("pid "):
                    reported.append(int(message.split()[1]))
                    running.set()
            outcome = {}

            async def call():
                try:
                    outcome["result"] = await c.call_tool(tool, {"seconds": 2}, progress_callback=progress)
                except MCPError as e:
                    outcome["error"] = e
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await running.wait()
                os.kill(reported[0], signal.SIGKILL)
            elapsed = time.monotonic() - started
            await say_still_works(c)
            return reported, outcome, elapsed
    reported, outcome, elapsed = run(body)
    victim = reported[0]
    assert victim in copies, (victim, copies)
    [other] = set(copies) - {victim}
    if idempotent:
        assert "result" in outcome, outcome
        r = outcome["result"]
        assert r.is_error is False and r.structured_content == {"result": other}, (r, victim, other)
        assert reported[-1] == other, reported  # run again from the start, on the copy left
    else:
        assert "error" in outcome, outcome
        e = outcome["error"].error
        assert e.code == -32603 and "upstream up" in e.message and "did not complete" in e.message, e
        assert reported == [victim], reported  # never run a second time
        assert elapsed < 2, f"the lost call took {elapsed:.2f} s to fail"
    assert srv.running()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("max_concurrency", [1, 4])
def test_max_concurrency_bounds_the_calls_one_copy_runs_at_once(server_factory, tmp_path, max_concurrency):
    """`maxConcurrency`: calls one copy runs at once; the rest wait in the bridge's queue. `wait`
    does not block the copy (a blocking tool would serialise whatever the bound)."""
    srv = config_front(server_factory, tmp_path, {"args": [str(SERVER_SCRIPT)], "pool": 1,
                                                  "maxConcurrency": max_concurrency})

    elapsed, pids = run(calls_at_once, srv, "wait", 4)
    assert len(pids) == 4 and len(set(pids)) == 1, pids
    if max_concurrency == 1:
        assert elapsed >= 4 * 0.25 * 0.95, f"4 calls with maxConcurrency 1 took {elapsed:.2f} s"
    else:
        assert elapsed < 0.9, f"4 calls with maxConcurrency 4 took {elapsed:.2f} s"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("max_queued", [0, None], ids=["maxQueued0", "default"])
def test_calls_beyond_the_bridges_queue_are_refused_with_32000(server_factory, tmp_path, max_queued):
    """`maxQueued` (README: beyond it, -32000). The front sends the bridge as many calls as
    pool x maxConcurrency (2); while one copy is starting again (slowly: --slow-start), the one
    left has room for one, so the second call waits in the bridge's queue, or with maxQueued 0
    is refused at once."""
    tag = uuid.uuid4().hex
    slow = tmp_path / "slow-start"
    settings = {"args": [str(SERVER_SCRIPT), "--tag", tag, "--slow-start", str(slow)], "pool": 2,
                "maxConcurrency": 1}
    if max_queued is not None:
        settings["maxQueued"] = max_queued
    srv = config_front(server_factory, tmp_path, settings)
    copies = copy_pids(tag)
    assert len(copies) == 2, copies

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            await say_still_works(c)
            slow.touch()
            victim, [survivor] = copies[0], copies[1:]
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while not set(copy_pids(tag)) - set(copies):  # its replacement runs (and sleeps 3 s)
                assert time.monotonic() < deadline, "the killed copy was not started again"
                await anyio.sleep(0.05)
            outcomes = []

            async def one():
                try:
                    r = await c.call_tool("wait", {"seconds": 0.5})
                    outcomes.append(("ok", r.structured_content["result"]))
                except MCPError as e:
                    outcomes.append(("error", e.error))
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                tg.start_soon(one)
                tg.start_soon(one)
            return survivor, outcomes, time.monotonic() - started
    survivor, outcomes, elapsed = run(body)
    assert elapsed < 2.5, f"the calls took {elapsed:.2f} s: the slow copy took one?"
    ok = [o for kind, o in outcomes if kind == "ok"]
    errors = [o for kind, o in outcomes if kind == "error"]
    if max_queued == 0:
        assert ok == [survivor] and len(errors) == 1, outcomes
        assert errors[0].code == -32000 and "overloaded" in errors[0].message, errors[0]
    else:
        assert ok == [survivor, survivor], outcomes
        assert elapsed >= 0.95, f"two calls on one copy of maxConcurrency 1 took {elapsed:.2f} s"


@pytest.mark.timeout(60)
def test_calls_beyond_max_concurrency_wait_in_the_bridges_queue_up_to_timeout_ms(server_factory, tmp_path):
    """12 calls of 0.5 s on one copy that runs one at a time: 6 s, well within timeoutMs (60 s) and
    maxQueued (10,000), so every call is answered: they wait in the bridge's queue, not in the
    front's (which sheds a call after 5 s). The bridge offers each front its copies' room plus
    maxQueued for that."""
    srv = config_front(server_factory, tmp_path, {"args": [str(SERVER_SCRIPT)], "pool": 1, "maxConcurrency": 1})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            outcomes = []

            async def one():
                try:
                    r = await c.call_tool("wait", {"seconds": 0.5})
                    outcomes.append(r.structured_content["result"])
                except MCPError as e:
                    outcomes.append(f"{e.error.code}: {e.error.message}")
            async with anyio.create_task_group() as tg:
                for _ in range(12):
                    tg.start_soon(one)
            return outcomes
    outcomes = run(body, budget=40)
    refused = [o for o in outcomes if isinstance(o, str)]
    assert not refused, refused


@pytest.mark.timeout(60)
def test_a_cancelled_call_is_cancelled_on_the_stdio_copy(server_factory):
    """test_upstream_remote's test_a_cancelled_call_is_cancelled_on_the_remote for a stdio copy:
    the client's notifications/cancelled reaches the copy running the call."""
    srv = start(server_factory, upstream_command(), pool=1)

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            assert (await c.call_tool("cancelled_calls", {})).structured_content["result"] == 0
            with anyio.move_on_after(1.0):
                await c.call_tool("cancellable", {"seconds": 30})
                raise AssertionError("the call was not cancelled")
            deadline = time.monotonic() + 10
            while (await c.call_tool("cancelled_calls", {})).structured_content["result"] != 1:
                assert time.monotonic() < deadline, "the copy never saw the cancellation"
                await anyio.sleep(0.2)
    run(body)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_an_elicitation_that_cannot_be_attributed_is_refused_not_misdelivered(server_factory, mode):
    """Shared mode, one copy, two sessions calling the eliciting tool at once: stdio cannot say which
    call a copy's request is for, so with both calls in flight it is refused (an error to the copy,
    and its call ends with an error); each call ends with its own client's answer or an error, never
    the other's, and the front keeps serving. Legacy, in turn: while A's call waits for A's answer,
    B's call elicits too; B's request is refused, A gets its answer, B's question reaches nobody.
    (2026-07-28 in turn: A's call has left the copy with an input-required result, so both succeed.)"""
    srv = start(server_factory, upstream_command(), pool=1)
    asked = {"Ada": 0, "Grace": 0}

    def answering(name, hold):
        async def elicit(ctx, params):
            asked[name] += 1
            await hold()
            return t.ElicitResult(action="accept", content={"name": name})
        return elicit

    async def outcome(c):
        try:
            r = await c.call_tool("ask_name", {})
        except MCPError as e:
            return ("error", e.error.message)
        return ("error", r.content[0].text) if r.is_error else ("ok", r.content[0].text)

    def own_or_error(results):
        for name, (kind, text) in results.items():
            other = "Grace" if name == "Ada" else "Ada"
            assert (kind, text) == ("ok", f"hello {name}") or (kind == "error" and other not in text), results

    async def body():
        a_asked, b_done = anyio.Event(), anyio.Event()
        holding = [True]

        async def hold_a():
            a_asked.set()
            if holding[0]:
                with anyio.move_on_after(10):
                    await b_done.wait()
            else:
                await anyio.sleep(0.2)

        async def hold_b():
            await anyio.sleep(0.2)
        async with Client(srv.url, mode=mode, read_timeout_seconds=20,
                          elicitation_callback=answering("Ada", hold_a)) as a, \
                Client(srv.url, mode=mode, read_timeout_seconds=20,
                       elicitation_callback=answering("Grace", hold_b)) as b:
            turns = {}

            async def call_a():
                turns["Ada"] = await outcome(a)

            async def call_b():
                await a_asked.wait()  # A's call is on the copy, waiting for A's answer
                turns["Grace"] = await outcome(b)
                b_done.set()
            async with anyio.create_task_group() as tg:
                tg.start_soon(call_a)
                tg.start_soon(call_b)
            asked_in_turn = dict(asked)
            holding[0] = False
            rounds = []
            for _ in range(3):
                both = {}

                async def free(name, c):
                    both[name] = await outcome(c)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(free, "Ada", a)
                    tg.start_soon(free, "Grace", b)
                rounds.append(both)
            await say_still_works(a)
            await say_still_works(b)
        return turns, asked_in_turn, rounds
    turns, asked_in_turn, rounds = run(body)
    own_or_error(turns)
    for both in rounds:
        own_or_error(both)
    if mode == "legacy":
        assert turns["Ada"] == ("ok", "hello Ada"), turns
        assert asked_in_turn == {"Ada": 1, "Grace": 0}, asked_in_turn  # B's question reached nobody
        text = turns["Grace"][1]
        assert "cannot deliver elicitation/create" in text and "2 calls are in flight" in text, text
        assert "refused a server-to-client request" in srv.stderr_tail(400), srv.stderr_tail(50)
    else:  # 2026-07-28: A's call ends input-required while A answers, so B's is the only one in flight
        assert turns == {"Ada": ("ok", "hello Ada"), "Grace": ("ok", "hello Grace")}, turns
    assert srv.running()


@pytest.mark.timeout(60)
def test_a_copys_stderr_lines_are_logged_under_the_upstreams_name(server_factory):
    srv = start(server_factory, upstream_command(), pool=1)
    marker = f"stderr-marker-{uuid.uuid4().hex}"

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            assert (await c.call_tool("shout", {"text": marker})).content[0].text == "shouted"
    run(body)
    deadline = time.monotonic() + 5
    while marker not in srv.stderr_tail(200):
        assert time.monotonic() < deadline, "the copy's stderr line was not logged\n" + srv.stderr_tail(50)
        time.sleep(0.05)
    [line] = [ln for ln in srv.stderr_tail(200).splitlines() if marker in ln]
    assert "upstream:up" in line, line


@pytest.mark.timeout(60)
def test_env_and_cwd_of_the_config_file_reach_the_copies(server_factory, tmp_path):
    workdir = tmp_path / "copy-cwd"
    workdir.mkdir()
    srv = config_front(server_factory, tmp_path, {"args": [str(SERVER_SCRIPT)], "pool": 2, "cwd": str(workdir),
                                                  "env": {"SY_UPSTREAM_TEST_X": "value of x"}})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20) as c:
            seen = []
            for _ in range(4):  # both copies, whichever takes the call
                r = await c.call_tool("environment", {"name": "SY_UPSTREAM_TEST_X"})
                assert r.is_error is False, r
                seen.append(r.structured_content)
            r = await c.call_tool("environment", {"name": "SWITCHYARD_SOCKET"})
            seen.append(r.structured_content)
            return seen
    seen = run(body)
    for s in seen[:4]:
        assert s == {"value": "value of x", "cwd": str(workdir)}, seen
    assert seen[4]["value"] is None, seen  # none of the supervisor's SWITCHYARD_* variables


@pytest.mark.timeout(60)
def test_a_copys_log_message_reaches_the_calling_client(server_factory):
    """notifications/message from a copy with one call in flight reaches that call's client."""
    srv = start(server_factory, upstream_command(), pool=1)
    marker = f"log-marker-{uuid.uuid4().hex}"
    logs = []

    async def on_log(params):
        logs.append((params.level, params.data))

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=20, logging_callback=on_log) as c:
            r = await c.call_tool("chat", {"text": marker})
            assert r.is_error is False and r.content[0].text == "said", r
    run(body)
    assert ("info", marker) in logs, logs


@pytest.mark.timeout(90)
def test_a_per_session_copy_attributes_requests_of_several_calls_to_its_session(server_factory, tmp_path):
    """README, "Server-to-client requests": on a per-session copy every call is its session's, so
    with several calls in flight a copy's elicitation still reaches that session (on a shared copy
    it is refused: test_an_elicitation_that_cannot_be_attributed_is_refused_not_misdelivered)."""
    srv = config_front(server_factory, tmp_path, {"args": [str(SERVER_SCRIPT)], "mode": "per-session", "pool": 2})
    asked = []

    async def elicit(ctx, params):
        asked.append(params.message)
        await anyio.sleep(0.3)  # the calls overlap on the copy while the client thinks
        return t.ElicitResult(action="accept", content={"name": "Ada"})

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30, elicitation_callback=elicit) as c:
            results = []

            async def one():
                r = await c.call_tool("ask_name", {})
                results.append(r.content[0].text)
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(one)
            await say_still_works(c)
            return results
    assert run(body) == ["hello Ada"] * 3
    assert asked == ["What is your name?"] * 3
    assert "refused a server-to-client request" not in srv.stderr_tail(400)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_request_the_copy_withdraws_is_withdrawn_from_the_client(server_factory, mode):
    """A copy that stops waiting for its elicitation (the SDK sends notifications/cancelled) answers
    its call at once, while the client still thinks: the call's answer is not held up by the
    question, and in the legacy era the client is told (notifications/cancelled under the id it
    got, proto 5.9), so its SDK cancels the callback. (2026-07-28: the question is an
    input-required result, so there is nothing to withdraw: the client answers, the retry runs
    the call again and the copy gets the answer within its patience.)"""
    srv = start(server_factory, upstream_command(), pool=1)
    seen = {"asked": 0, "cancelled": 0}

    async def elicit(ctx, params):
        seen["asked"] += 1
        try:
            # Legacy: the client thinks past the copy's patience. 2026-07-28: it answers at once,
            # and the retry brings the answer to a copy asked again.
            await anyio.sleep(20 if mode == "legacy" else 0)
        except anyio.get_cancelled_exc_class():
            seen["cancelled"] += 1
            raise
        return t.ElicitResult(action="accept", content={"name": "Late"})

    async def body():
        async with Client(srv.url, mode=mode, read_timeout_seconds=30, elicitation_callback=elicit) as c:
            started = time.monotonic()
            r = await c.call_tool("ask_briefly", {"seconds": 0.5})
            elapsed = time.monotonic() - started
            if mode == "legacy":
                assert r.is_error is False and r.content[0].text == "gave up", r
                assert elapsed < 5, f"the answer waited for the client's question: {elapsed:.1f} s"
                deadline = time.monotonic() + 5
                while seen["cancelled"] == 0:
                    assert time.monotonic() < deadline, "the client was never told the request was withdrawn"
                    await anyio.sleep(0.05)
            else:
                assert r.is_error is False and r.content[0].text == "hello Late", r
                assert elapsed < 5, f"{elapsed:.1f} s"
            await say_still_works(c)
    run(body)
    assert seen == ({"asked": 1, "cancelled": 1} if mode == "legacy" else {"asked": 1, "cancelled": 0}), seen
    assert srv.running()
