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

    async def body():
        async with Client(srv.url, mode="legacy", read_timeout_seconds=30) as c:
            await c.call_tool("block", {"seconds": 0.0})
            pids = []

            async def one():
                r = await c.call_tool("block", {"seconds": 0.25})
                assert r.is_error is False, r
                pids.append(r.structured_content["result"])

            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                for _ in range(32):
                    tg.start_soon(one)
            return time.monotonic() - started, pids
    elapsed, pids = run(body)
    # One copy serialises its blocking calls: 32 x 0.25 s = 8 s; four copies take about 2 s.
    assert len(pids) == 32
    assert len(set(pids)) >= 3, f"calls ran on {len(set(pids))} copies: {sorted(set(pids))}"
    assert 32 * 0.25 / pool * 0.9 <= elapsed < 32 * 0.25 / 2, f"32 blocking calls took {elapsed:.2f} s"


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
    assert srv.running


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
