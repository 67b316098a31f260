"""The official MCP Python SDK against `switchyard serve` (JSON and SSE answers, legacy and auto modes)."""

from __future__ import annotations

import warnings

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import python_executor_cmd
from sy_http import RawConnection, expect_tool_text, initialize_message, rpc, parse_sse

DEMO_TOOLS = {"echo", "add_numbers", "sleep_ms", "sha256", "whoami"}
PY_TOOLS = {"py_reverse", "py_word_count", "py_sleep"}

JSON_SERVER = {"fronts": 2, "executors": 2}
SSE_SERVER = {"fronts": 2, "executors": 2, "prefer_sse": True}


def run(coro_fn, *args, budget: float = 20.0):
    async def main():
        with anyio.fail_after(budget):
            return await coro_fn(*args)
    return anyio.run(main)


async def _client_session(url: str, mode: str):
    async with Client(url, mode=mode, read_timeout_seconds=10) as c:
        # "auto" probes server/discover and adopts the stateless revision, which Switchyard serves too.
        assert c.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28"), c.protocol_version
        assert c.server_info is not None and c.server_info.name == "switchyard", c.server_info
        caps = c.server_capabilities
        assert caps.tools is not None, caps

        listed = await c.list_tools()
        names = {t.name for t in listed.tools}
        assert DEMO_TOOLS <= names, names
        for t in listed.tools:
            assert t.description, f"tool {t.name} has no description"
            assert t.input_schema.get("type") == "object", t

        r = await c.call_tool("echo", {"text": "hi"})
        assert r.is_error is False, r
        assert len(r.content) == 1 and r.content[0].type == "text" and r.content[0].text == "hi", r

        r = await c.call_tool("add_numbers", {"a": 2, "b": 3.5})
        assert r.is_error is False, r
        assert r.structured_content == {"sum": 5.5}, r

        r = await c.call_tool("add_numbers", {"a": 40, "b": 2})
        assert r.structured_content == {"sum": 42}, r

        # several calls in flight on the same session at once
        results = {}

        async def one(i):
            results[i] = await c.call_tool("echo", {"text": f"msg-{i}"})

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(one, i)
        for i in range(10):
            assert results[i].content[0].text == f"msg-{i}", results[i]

        # a schema failure is a tool execution error, not a protocol error
        r = await c.call_tool("echo", {"text": 5})
        assert r.is_error is True, r
        assert r.content and r.content[0].type == "text" and r.content[0].text, r

        # an unknown tool is a protocol error
        with pytest.raises(MCPError) as ei:
            await c.call_tool("no_such_tool", {})
        assert ei.value.error.code == -32602, ei.value.error

        if mode == "legacy":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated only for 2026-07-28 connections
                await c.send_ping()
    return True


@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("shared_server", [JSON_SERVER, SSE_SERVER], indirect=True, ids=["json", "sse"])
def test_official_client(shared_server, mode):
    assert run(_client_session, shared_server.url, mode)


@pytest.mark.parametrize("shared_server", [JSON_SERVER], indirect=True, ids=["json"])
def test_json_answer_by_default(shared_server):
    """Without --prefer-sse, a client accepting both types gets application/json."""
    with RawConnection(shared_server.host, shared_server.port) as conn:
        sid = conn.initialize()
        req = rpc("tools/call", {"name": "echo", "arguments": {"text": "plain"}})
        r = conn.post(req, session=sid)
        assert r.content_type == "application/json", r
        expect_tool_text(r, "plain", id=req["id"])


@pytest.mark.parametrize("shared_server", [SSE_SERVER], indirect=True, ids=["sse"])
def test_sse_answer_wire_format(shared_server):
    """With --prefer-sse: text/event-stream with one `event: message` carrying the response;
    a client that accepts only application/json still gets JSON."""
    with RawConnection(shared_server.host, shared_server.port) as conn:
        init = initialize_message()
        r = conn.post(init, version=None)
        assert r.status == 200, r
        sid = r.header("mcp-session-id")
        assert sid, r
        assert r.json()["result"]["serverInfo"]["name"] == "switchyard", r

        req = rpc("tools/call", {"name": "echo", "arguments": {"text": "streamed"}})
        r = conn.post(req, session=sid)
        assert r.status == 200, r
        assert r.content_type == "text/event-stream", r
        events = [e for e in parse_sse(r.body) if e.get("data")]
        assert len(events) == 1, r
        assert events[0].get("event", "message") == "message", events
        expect_tool_text(r, "streamed", id=req["id"])

        req = rpc("tools/call", {"name": "echo", "arguments": {"text": "json please"}})
        r = conn.post(req, session=sid, accept="application/json")
        assert r.content_type == "application/json", r
        expect_tool_text(r, "json please", id=req["id"])


async def _python_executor_session(url: str):
    async with Client(url, mode="legacy", read_timeout_seconds=10) as c:
        listed = await c.list_tools()
        names = {t.name for t in listed.tools}
        assert DEMO_TOOLS | PY_TOOLS <= names, names
        r = await c.call_tool("py_reverse", {"text": "switchyard"})
        assert r.is_error is False, r
        assert r.content[0].text == "switchyard"[::-1], r
        r = await c.call_tool("py_word_count", {"text": "one two  three"})
        assert r.is_error is False, r
        assert r.structured_content == {"words": 3}, r
        r = await c.call_tool("py_reverse", {})
        assert r.is_error is True, r
        # the Swift executors keep working next to the Python one
        r = await c.call_tool("echo", {"text": "still here"})
        assert r.content[0].text == "still here", r
    async with Client(url, read_timeout_seconds=10) as c:  # auto mode
        r = await c.call_tool("py_reverse", {"text": "abc"})
        assert r.content[0].text == "cba", r
    return True


def test_python_reference_executor(server_factory):
    srv = server_factory(fronts=2, executors=2, executor_cmds=[python_executor_cmd()])
    assert run(_python_executor_session, srv.url)
    status, health = srv.healthz()
    assert status == 200, health
    ext = [e for e in health.get("executors", []) if "py_reverse" in e.get("tools", [])]
    assert len(ext) == 1, health
