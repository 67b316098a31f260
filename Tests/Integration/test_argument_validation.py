"""Argument validation at the front (ArgumentValidationStage): every tools/call's arguments are
validated against the tool's inputSchema (JSON Schema 2020-12) before any executor sees them.
A failure is a tool execution error (`isError: true`, HTTP 200) whose text names the instance
path and the failing keyword, in both eras; the official Python client sees `isError`. With
`--validate-arguments off` the executors' own checks answer instead."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client

from conftest import python_executor_cmd
from sy_http import RawConnection, mcp_headers, rpc

STATELESS = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": STATELESS, "io.modelcontextprotocol/clientCapabilities": {}}
SERVER = {"fronts": 2, "executors": 1, "tools": "demo,forms", "executor_cmds": [python_executor_cmd()]}

GOOD_MEETING = {"title": "Plan", "when": {"date": "2026-03-01", "hour": 9}, "priority": "high",
                "attendees": ["a@example.org", "b@example.org"], "repeat": {"days": 7}}

# (tool, arguments, instance path, keyword)
BAD = [
    ("echo", {"text": 5}, "/text", "type"),
    ("echo", {}, "(root)", "required"),
    ("add_numbers", {"a": 1, "b": "2"}, "/b", "type"),
    ("sha256", {"text": "x", "rounds": 0}, "/rounds", "minimum"),
    ("sha256", {"text": "x", "rounds": 1.5}, "/rounds", "type"),
    ("book_meeting", {"title": "", "when": {"date": "2026-03-01"}}, "/title", "minLength"),
    ("book_meeting", {"title": "t", "when": {"date": "March 1"}}, "/when/date", "pattern"),
    ("book_meeting", {"title": "t", "when": {"date": "2026-03-01", "hour": 24}}, "/when/hour", "maximum"),
    ("book_meeting", {"title": "t", "when": {"date": "2026-03-01", "tz": "UTC"}}, "/when/tz", "additionalProperties"),
    ("book_meeting", {"title": "t", "when": {}}, "/when", "required"),
    ("book_meeting", {"title": "t", "when": {"date": "2026-03-01"}, "priority": "urgent"}, "/priority", "enum"),
    ("book_meeting", {"title": "t", "when": {"date": "2026-03-01"}, "attendees": ["a", "a"]}, "/attendees",
     "uniqueItems"),
    ("book_meeting", {"title": "t", "when": {"date": "2026-03-01"}, "attendees": [1]}, "/attendees/0", "type"),
    ("book_meeting", {"title": "t", "when": {"date": "2026-03-01"}, "repeat": {"days": 0}}, "/repeat", "oneOf"),
    ("py_reverse", {"text": ["not", "a", "string"]}, "/text", "type"),
]


@pytest.fixture
def srv(shared_server):
    return shared_server


@pytest.fixture
def conn(srv):
    c = RawConnection(srv.host, srv.port)
    yield c
    c.close()


def stateless_call(conn, name, arguments):
    params = {"name": name, "arguments": arguments, "_meta": META}
    headers = mcp_headers(None, version=STATELESS, extra={"Mcp-Method": "tools/call", "Mcp-Name": name})
    return conn.request("POST", "/mcp", headers, json.dumps(rpc("tools/call", params)).encode())


def expect_invalid(resp, tool, path, keyword, stateless):
    assert resp.status == 200, resp
    result = resp.json()["result"]
    assert result["isError"] is True, result
    text = result["content"][0]["text"]
    assert result["content"][0]["type"] == "text"
    assert text.startswith(f"Invalid arguments for tool {tool}: {path}: {keyword}: "), text
    if stateless:
        assert result["resultType"] == "complete", result
    else:
        assert "resultType" not in result, result


@pytest.mark.switchyard(**SERVER)
@pytest.mark.parametrize("tool,arguments,path,keyword", BAD, ids=[f"{b[0]}-{b[3]}" for b in BAD])
def test_bad_arguments_handshake_era(conn, tool, arguments, path, keyword):
    sid = conn.initialize()
    expect_invalid(conn.call_tool(sid, tool, arguments), tool, path, keyword, stateless=False)


@pytest.mark.switchyard(**SERVER)
@pytest.mark.parametrize("tool,arguments,path,keyword", BAD, ids=[f"{b[0]}-{b[3]}" for b in BAD])
def test_bad_arguments_stateless_era(conn, tool, arguments, path, keyword):
    expect_invalid(stateless_call(conn, tool, arguments), tool, path, keyword, stateless=True)


@pytest.mark.switchyard(**SERVER)
def test_good_arguments_pass_in_both_eras(conn):
    sid = conn.initialize()
    cases = [("echo", {"text": "hi"}, "hi"), ("add_numbers", {"a": 2, "b": 3.5}, "5.5"),
             ("book_meeting", GOOD_MEETING, "booked Plan on 2026-03-01 with 2 attendees"),
             ("book_meeting", {"title": "t", "when": {"date": "2026-03-01"}, "repeat": "never"},
              "booked t on 2026-03-01 with 0 attendees"),
             ("py_reverse", {"text": "abc"}, "cba")]
    for tool, args, text in cases:
        for r in (conn.call_tool(sid, tool, args), stateless_call(conn, tool, args)):
            assert r.status == 200, r
            result = r.json()["result"]
            assert result.get("isError") is False and result["content"][0]["text"] == text, (tool, result)


@pytest.mark.switchyard(**SERVER)
def test_absent_arguments_are_an_empty_object(conn):
    sid = conn.initialize()
    r = conn.post(rpc("tools/call", {"name": "echo"}), session=sid)
    expect_invalid(r, "echo", "(root)", "required", stateless=False)


@pytest.mark.switchyard(**SERVER)
def test_protocol_errors_are_unchanged(conn):
    """Unknown tools and non-object arguments stay -32602: validation only looks at known tools."""
    sid = conn.initialize()
    for params in ({"name": "no_such_tool", "arguments": {}}, {"name": "echo", "arguments": [1]}):
        r = conn.post(rpc("tools/call", params), session=sid)
        assert r.status == 200 and r.json()["error"]["code"] == -32602, r


@pytest.mark.switchyard(**SERVER)
def test_batch_members_are_validated_one_by_one(conn):
    init = rpc("initialize", {"protocolVersion": "2025-03-26", "capabilities": {},
                              "clientInfo": {"name": "batch", "version": "1"}})
    r = conn.post(init, version=None)
    sid = r.header("mcp-session-id")
    batch = [rpc("tools/call", {"name": "echo", "arguments": {"text": 1}}, id=1),
             rpc("tools/call", {"name": "echo", "arguments": {"text": "ok"}}, id=2)]
    r = conn.post(batch, session=sid, version="2025-03-26")
    answers = r.json()
    assert [a["id"] for a in answers] == [1, 2], answers
    assert answers[0]["result"]["isError"] is True and "/text: type" in answers[0]["result"]["content"][0]["text"]
    assert answers[1]["result"]["content"][0]["text"] == "ok", answers


def run(coro_fn, *args, budget: float = 20.0):
    async def main():
        with anyio.fail_after(budget):
            return await coro_fn(*args)
    return anyio.run(main)


@pytest.mark.switchyard(**SERVER)
@pytest.mark.parametrize("mode", ["legacy", STATELESS])
@pytest.mark.filterwarnings("ignore:.*deprecated")
def test_official_python_client_sees_is_error(srv, mode):
    async def go():
        async with Client(srv.url, mode=mode, read_timeout_seconds=10) as c:
            r = await c.call_tool("book_meeting", {"title": "t", "when": {"date": "tomorrow"}})
            assert r.is_error is True, r
            assert r.content[0].text.startswith(
                "Invalid arguments for tool book_meeting: /when/date: pattern: "), r
            r = await c.call_tool("book_meeting", GOOD_MEETING)
            assert r.is_error is False and r.content[0].text.startswith("booked Plan"), r
    run(go)


@pytest.mark.switchyard(fronts=1, executors=1, tools="demo,forms", executor_cmds=[python_executor_cmd()],
                        extra_args=["--validate-arguments", "off"])
def test_validation_off_leaves_it_to_the_executors(conn):
    sid = conn.initialize()
    # The Swift SDK's own check answers (top-level types only)...
    r = conn.call_tool(sid, "echo", {"text": 5}).json()["result"]
    assert r["isError"] is True, r
    assert r["content"][0]["text"] == "Invalid arguments for tool echo: argument 'text' must be of type string", r
    # ...and what it does not look at reaches the tool.
    r = conn.call_tool(sid, "book_meeting", {"title": "t", "when": {"date": "March 1"}}).json()["result"]
    assert r["isError"] is False and r["content"][0]["text"] == "booked t on March 1 with 0 attendees", r
    # The Python reference executor's own check.
    r = conn.call_tool(sid, "py_reverse", {"text": ["x"]}).json()["result"]
    assert r["isError"] is True, r
    assert r["content"][0]["text"] == "Invalid arguments for tool py_reverse: argument 'text' must be of type string", r
