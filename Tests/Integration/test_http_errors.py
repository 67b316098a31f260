"""HTTP- and JSON-RPC-level behaviour of POST/GET/DELETE /mcp, checked byte by byte with raw sockets.

Each case checks the exact HTTP status, JSON-RPC code and id from the contract, and then that a
normal echo call on the same server still succeeds.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import threading

import pytest

from sy_http import (PROTOCOL_VERSION, RawConnection, build_request, dumps, expect_rpc_error, expect_tool_text, initialize_message,
                     mcp_headers, rpc)

pytestmark = pytest.mark.switchyard(fronts=2, executors=2)

DEMO_TOOLS = {"echo", "add_numbers", "sleep_ms", "sha256", "whoami"}


@pytest.fixture
def srv(shared_server):
    return shared_server


@pytest.fixture
def conn(srv):
    c = RawConnection(srv.host, srv.port)
    yield c
    c.close()


@pytest.fixture
def sid(conn):
    return conn.initialize()


def echo_ok(srv, conn: RawConnection | None = None, session: str | None = None):
    """A normal echo call succeeds: on `conn`/`session` when given, else on a fresh connection and session."""
    text = "still alive " + secrets.token_hex(4)
    if conn is None:
        with RawConnection(srv.host, srv.port) as fresh:
            s = fresh.initialize()
            req = rpc("tools/call", {"name": "echo", "arguments": {"text": text}})
            expect_tool_text(fresh.post(req, session=s), text, id=req["id"])
        return
    req = rpc("tools/call", {"name": "echo", "arguments": {"text": text}})
    expect_tool_text(conn.post(req, session=session), text, id=req["id"])


# ---- the happy path the error cases are measured against -------------------------------------

def test_initialize_handshake(srv, conn):
    init = initialize_message(id="init-1")
    r = conn.post(init, version=None)
    assert r.status == 200, r
    sid = r.header("mcp-session-id")
    assert sid and re.fullmatch(r"[\x21-\x7e]+", sid), r
    msg = r.json()
    assert msg["jsonrpc"] == "2.0" and msg["id"] == "init-1", msg
    res = msg["result"]
    assert res["protocolVersion"] == PROTOCOL_VERSION, res
    assert res["capabilities"]["tools"] == {"listChanged": True}, res
    assert res["serverInfo"]["name"] == "switchyard", res
    assert isinstance(res["serverInfo"].get("version"), str) and res["serverInfo"]["version"], res
    # the version header is tolerated on initialize too
    r2 = conn.post(initialize_message(), version=PROTOCOL_VERSION)
    assert r2.status == 200 and r2.header("mcp-session-id"), r2
    assert r2.header("mcp-session-id") != sid, "two initializes got the same session id"
    echo_ok(srv, conn, sid)


def test_ping(srv, conn, sid):
    r = conn.post(rpc("ping", id="p-1"), session=sid)
    assert r.status == 200, r
    assert r.json() == {"jsonrpc": "2.0", "id": "p-1", "result": {}}, r
    echo_ok(srv, conn, sid)


def test_tools_list(srv, conn, sid):
    req = rpc("tools/list", {})
    r = conn.post(req, session=sid)
    assert r.status == 200, r
    msg = r.json()
    assert msg["id"] == req["id"], msg
    tools = msg["result"]["tools"]
    names = [t["name"] for t in tools]
    assert sorted(names) == sorted(DEMO_TOOLS), names  # merged across 2 executors without duplicates
    for t in tools:
        assert t["inputSchema"]["type"] == "object", t
        assert t.get("description"), t
    add = next(t for t in tools if t["name"] == "add_numbers")
    assert add["outputSchema"]["type"] == "object", add
    echo_ok(srv, conn, sid)


def test_healthz(srv):
    status, body = srv.healthz()
    assert status == 200, body
    assert body["status"] == "ok", body
    assert isinstance(body["front"], int) and 0 <= body["front"] < 2, body
    assert isinstance(body["pid"], int) and body["pid"] > 0, body
    execs = body["executors"]
    assert len(execs) == 2, body
    assert len({e["name"] for e in execs}) == 2, body
    for e in execs:
        assert isinstance(e["name"], str) and e["name"], e
        assert isinstance(e["pid"], int) and e["pid"] > 0, e
        assert set(e["tools"]) == DEMO_TOOLS, e
        assert isinstance(e["inFlight"], int) and e["inFlight"] >= 0, e
    echo_ok(srv)


# ---- malformed bodies --------------------------------------------------------------------------

def test_malformed_json(srv, conn, sid):
    r = conn.post(b'{"jsonrpc":"2.0","id":1,"method":"tools/list",', session=sid)
    expect_rpc_error(r, 400, -32700, id=None)
    echo_ok(srv)


@pytest.mark.parametrize("body", [
    pytest.param([{"jsonrpc": "2.0", "id": 1, "method": "ping"}], id="batch-array"),
    pytest.param({"id": 1, "method": "ping"}, id="missing-jsonrpc"),
    pytest.param({"jsonrpc": "1.0", "id": 1, "method": "ping"}, id="wrong-jsonrpc-version"),
    pytest.param(42, id="scalar"),
    pytest.param("ping", id="string"),
])
def test_not_a_request_object(srv, conn, sid, body):
    r = conn.post(dumps(body), session=sid)
    expect_rpc_error(r, 400, -32600, id=None)
    echo_ok(srv)


def test_unknown_method(srv, conn, sid):
    r = conn.post(rpc("no/such/method", {}, id="m-42"), session=sid)
    expect_rpc_error(r, 200, -32601, id="m-42")
    echo_ok(srv, conn, sid)


def test_unknown_tool(srv, conn, sid):
    r = conn.post(rpc("tools/call", {"name": "no_such_tool", "arguments": {}}, id=77), session=sid)
    expect_rpc_error(r, 200, -32602, id=77)
    echo_ok(srv, conn, sid)


@pytest.mark.parametrize("params", [
    pytest.param({"arguments": {"text": "x"}}, id="name-missing"),
    pytest.param({"name": 42, "arguments": {"text": "x"}}, id="name-number"),
    pytest.param({"name": None}, id="name-null"),
])
def test_tool_name_invalid(srv, conn, sid, params):
    r = conn.post(rpc("tools/call", params, id=78), session=sid)
    expect_rpc_error(r, 200, -32602, id=78)
    echo_ok(srv, conn, sid)


@pytest.mark.parametrize("arguments", [[1, 2], "text", 5, True], ids=["array", "string", "number", "bool"])
def test_arguments_not_object(srv, conn, sid, arguments):
    r = conn.post(rpc("tools/call", {"name": "echo", "arguments": arguments}, id=79), session=sid)
    expect_rpc_error(r, 200, -32602, id=79)
    echo_ok(srv, conn, sid)


@pytest.mark.parametrize("tool,arguments", [
    ("echo", {}),
    ("echo", {"text": 5}),
    ("add_numbers", {"a": "x", "b": 1}),
    ("sleep_ms", {"ms": "soon"}),
], ids=["echo-missing-text", "echo-text-number", "add-string", "sleep-string"])
def test_schema_failure_is_tool_error(srv, conn, sid, tool, arguments):
    r = conn.post(rpc("tools/call", {"name": tool, "arguments": arguments}, id=80), session=sid)
    assert r.status == 200, r
    msg = r.json()
    assert msg["id"] == 80 and "error" not in msg, msg
    res = msg["result"]
    assert res["isError"] is True, msg
    assert res["content"] and res["content"][0]["type"] == "text" and res["content"][0]["text"], msg
    echo_ok(srv, conn, sid)


def test_body_over_limit(srv, sid):
    """A 5 MiB body (limit 4 MiB) -> 413 with -32600 / id null, sent while the answer is read."""
    inner = "x" * (5 * 1024 * 1024)
    body = dumps(rpc("tools/call", {"name": "echo", "arguments": {"text": inner}}))
    assert len(body) > 5 * 1024 * 1024
    c = RawConnection(srv.host, srv.port, timeout=15)
    head = (f"POST /mcp HTTP/1.1\r\nHost: {c.host_header}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in mcp_headers(sid).items())
            + f"Content-Length: {len(body)}\r\n\r\n").encode()
    send_error = []

    def sender():
        try:
            c.sock.sendall(head + body)
        except OSError as e:  # the server may answer and close before reading everything
            send_error.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        r = c.read_response(timeout=15)
    finally:
        c.close()
        t.join(5)
    expect_rpc_error(r, 413, -32600, id=None)
    echo_ok(srv)


def test_body_over_limit_chunked(srv, sid):
    """The limit also applies to chunked bodies, which announce no length."""
    inner = "y" * (5 * 1024 * 1024)
    body = dumps(rpc("tools/call", {"name": "echo", "arguments": {"text": inner}}))
    c = RawConnection(srv.host, srv.port, timeout=15)
    data = build_request("POST", "/mcp", c.host_header, mcp_headers(sid), body, chunked=True)

    def sender():
        try:
            c.sock.sendall(data)
        except OSError:
            pass

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        r = c.read_response(timeout=15)
    finally:
        c.close()
        t.join(5)
    expect_rpc_error(r, 413, -32600, id=None)
    echo_ok(srv)


# ---- sessions and headers ----------------------------------------------------------------------

def test_missing_session(srv, conn, sid):
    req = rpc("tools/list", {}, id=90)
    r = conn.post(req, session=None)
    msg = expect_rpc_error(r, 400, -32600)
    assert msg.get("id") in (None, 90), msg
    echo_ok(srv)


def _tamper(token: str) -> str:
    last = token[-2]
    repl = "A" if last != "A" else "B"
    return token[:-2] + repl + token[-1]


@pytest.mark.parametrize("kind", ["random", "tampered"])
def test_forged_session(srv, conn, sid, kind):
    forged = "forged-" + secrets.token_hex(16) if kind == "random" else _tamper(sid)
    assert forged != sid
    r = conn.post(rpc("tools/list", {}, id=91), session=forged)
    assert r.status == 404, r
    echo_ok(srv)


@pytest.mark.parametrize("version", ["1999-01-01", "not-a-version"])
def test_unsupported_protocol_version(srv, conn, sid, version):
    r = conn.post(rpc("tools/list", {}, id=92), session=sid, version=version)
    assert r.status == 400, r
    echo_ok(srv)


def test_missing_protocol_version_header_is_accepted(srv, conn, sid):
    req = rpc("tools/call", {"name": "echo", "arguments": {"text": "no header"}})
    expect_tool_text(conn.post(req, session=sid, version=None), "no header", id=req["id"])


@pytest.mark.parametrize("accept", ["text/plain", "text/html, image/png"])
def test_bad_accept(srv, conn, sid, accept):
    r = conn.post(rpc("tools/list", {}, id=93), session=sid, accept=accept)
    assert r.status == 406, r
    echo_ok(srv)


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream, application/json", "*/*",
                                    "application/json;q=0.9, text/event-stream;q=0.8"])
def test_acceptable_accept_headers(srv, conn, sid, accept):
    req = rpc("tools/call", {"name": "echo", "arguments": {"text": accept}})
    expect_tool_text(conn.post(req, session=sid, accept=accept), accept, id=req["id"])


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded"])
def test_bad_content_type(srv, conn, sid, ctype):
    r = conn.post(rpc("tools/list", {}, id=94), session=sid, content_type=ctype)
    assert r.status == 415, r
    echo_ok(srv)


def test_content_type_with_charset(srv, conn, sid):
    req = rpc("tools/call", {"name": "echo", "arguments": {"text": "charset"}})
    r = conn.post(req, session=sid, content_type="application/json; charset=utf-8")
    expect_tool_text(r, "charset", id=req["id"])


def test_get_mcp_without_session_not_allowed(srv, conn):
    headers = {"Accept": "text/event-stream", "MCP-Protocol-Version": PROTOCOL_VERSION}
    r = conn.request("GET", "/mcp", headers)
    assert r.status == 405, r
    echo_ok(srv)


def test_get_mcp_with_session_opens_the_event_stream(srv, sid):
    # The stream stays open: read just its head on a connection of its own (test_get_stream.py
    # covers what flows on it).
    import socket
    s = socket.create_connection((srv.host, srv.port), timeout=5)
    s.sendall((f"GET /mcp HTTP/1.1\r\nHost: {srv.host}:{srv.port}\r\nAccept: text/event-stream\r\n"
               f"Mcp-Session-Id: {sid}\r\nMCP-Protocol-Version: {PROTOCOL_VERSION}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    s.close()
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"Content-Type: text/event-stream" in head, head
    echo_ok(srv)


def test_delete_then_reuse(srv, conn, sid):
    echo_ok(srv, conn, sid)
    r = conn.request("DELETE", "/mcp", {"Mcp-Session-Id": sid, "MCP-Protocol-Version": PROTOCOL_VERSION})
    assert r.status == 200, r
    reuse = conn if not r.wants_close() else RawConnection(srv.host, srv.port)
    r = reuse.post(rpc("tools/list", {}, id=95), session=sid)
    assert r.status == 404, f"same connection after DELETE: {r!r}"
    # every front must know the session is over: fresh connections land on either front
    for i in range(8):
        with RawConnection(srv.host, srv.port) as c:
            r = c.post(rpc("tools/call", {"name": "echo", "arguments": {"text": "x"}}, id=96), session=sid)
            assert r.status == 404, f"fresh connection #{i} after DELETE: {r!r}"
    echo_ok(srv)


def test_delete_without_session(srv, conn, sid):
    r = conn.request("DELETE", "/mcp", {"MCP-Protocol-Version": PROTOCOL_VERSION})
    assert r.status == 400, r
    echo_ok(srv, conn, sid)


@pytest.mark.parametrize("message", [
    pytest.param({"jsonrpc": "2.0", "method": "notifications/initialized"}, id="initialized"),
    pytest.param({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 12345}},
                 id="cancelled-unknown"),
])
def test_notification_202(srv, conn, sid, message):
    r = conn.post(message, session=sid)
    assert r.status == 202, r
    assert r.body == b"", r
    echo_ok(srv, conn, sid)


@pytest.mark.parametrize("message", [
    pytest.param({"jsonrpc": "2.0", "id": 5, "result": {}}, id="client-response"),
    pytest.param({"jsonrpc": "2.0", "id": 6, "error": {"code": -32601, "message": "nope"}}, id="client-error"),
    pytest.param({"jsonrpc": "2.0", "id": "sy-swift-0-1", "result": {}}, id="guessed-id"),
])
def test_response_to_no_request_of_the_session_is_refused(srv, conn, sid, message):
    # The transport lets a server refuse a response it cannot accept with an HTTP error and a
    # JSON-RPC error without an id; test_hostile_clients checks that it is never delivered.
    expect_rpc_error(conn.post(message, session=sid), 400, -32600, id=None)
    echo_ok(srv, conn, sid)


def test_header_block_too_large(srv, sid):
    with RawConnection(srv.host, srv.port) as c:
        headers = mcp_headers(sid)
        headers["X-Padding"] = "p" * (17 * 1024)
        body = dumps(rpc("ping"))
        c.send("POST", "/mcp", headers, body)
        r = c.read_response()
        assert r.status == 431, r
    echo_ok(srv)


def test_many_headers_too_large(srv, sid):
    with RawConnection(srv.host, srv.port) as c:
        headers = list(mcp_headers(sid).items()) + [(f"X-H{i}", "v" * 100) for i in range(200)]
        c.send("POST", "/mcp", headers, dumps(rpc("ping")))
        r = c.read_response()
        assert r.status == 431, r
    echo_ok(srv)


# ---- connection handling -----------------------------------------------------------------------

def test_pipelined_requests(srv, conn, sid):
    """Three requests in one send: answered in order, even when the first is the slowest."""
    reqs = [
        rpc("tools/call", {"name": "sleep_ms", "arguments": {"ms": 300}}, id="pipe-1"),
        rpc("tools/call", {"name": "echo", "arguments": {"text": "second"}}, id="pipe-2"),
        rpc("ping", id="pipe-3"),
    ]
    data = b"".join(build_request("POST", "/mcp", conn.host_header, mcp_headers(sid), dumps(m)) for m in reqs)
    conn.send_raw(data)
    answers = [conn.read_response() for _ in reqs]
    assert [a.status for a in answers] == [200, 200, 200], answers
    assert [a.json()["id"] for a in answers] == ["pipe-1", "pipe-2", "pipe-3"], answers
    expect_tool_text(answers[0], "slept 300 ms")
    expect_tool_text(answers[1], "second")
    assert answers[2].json()["result"] == {}, answers[2]
    echo_ok(srv, conn, sid)


def test_pipelined_with_notification(srv, conn, sid):
    reqs = [
        rpc("tools/call", {"name": "echo", "arguments": {"text": "a"}}, id="pn-1"),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        rpc("tools/call", {"name": "echo", "arguments": {"text": "c"}}, id="pn-3"),
    ]
    conn.send_raw(b"".join(build_request("POST", "/mcp", conn.host_header, mcp_headers(sid), dumps(m)) for m in reqs))
    a, b, c = (conn.read_response() for _ in range(3))
    expect_tool_text(a, "a", id="pn-1")
    assert b.status == 202 and b.body == b"", b
    expect_tool_text(c, "c", id="pn-3")


def test_chunked_request_body(srv, conn, sid):
    req = rpc("tools/call", {"name": "echo", "arguments": {"text": "chunked body " * 50}})
    conn.send("POST", "/mcp", mcp_headers(sid), dumps(req), chunked=True)
    r = conn.read_response()
    expect_tool_text(r, "chunked body " * 50, id=req["id"])
    echo_ok(srv, conn, sid)


def test_keep_alive(srv, conn):
    sid = conn.initialize()
    for i in range(10):
        req = rpc("tools/call", {"name": "echo", "arguments": {"text": f"ka-{i}"}})
        r = conn.post(req, session=sid)
        expect_tool_text(r, f"ka-{i}", id=req["id"])
        assert not r.wants_close(), r
    assert not conn.closed_by_peer(timeout=0.2)
    r = conn.request("GET", "/healthz")
    assert r.status == 200, r
    echo_ok(srv, conn, sid)


def test_http_client_stdlib(srv):
    """http.client (Content-Length, keep-alive) end to end."""
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        c.request("POST", "/mcp", body=dumps(initialize_message()),
                  headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, body
        sid = r.getheader("Mcp-Session-Id")
        assert sid
        for i in range(3):
            req = rpc("tools/call", {"name": "add_numbers", "arguments": {"a": i, "b": 0.5}})
            c.request("POST", "/mcp", body=dumps(req), headers=mcp_headers(sid))
            r = c.getresponse()
            msg = json.loads(r.read())
            assert r.status == 200, msg
            assert msg["result"]["structuredContent"] == {"sum": i + 0.5}, msg
    finally:
        c.close()


# ---- sessions across fronts and restarts, --max-body ------------------------------------------

def test_session_valid_on_every_front(srv, conn, sid):
    """A session opened on one connection works on fresh connections, whichever front takes them."""
    for i in range(8):
        with RawConnection(srv.host, srv.port) as c:
            req = rpc("tools/call", {"name": "echo", "arguments": {"text": f"front-hop-{i}"}})
            expect_tool_text(c.post(req, session=sid), f"front-hop-{i}", id=req["id"])


def test_session_key_survives_restart(server_factory):
    """With --session-key, ids stay valid across a restart with the same key and are refused with another."""
    key = secrets.token_hex(32)
    a = server_factory(fronts=1, executors=1, session_key=key)
    with RawConnection(a.host, a.port) as c:
        sid = c.initialize()
    a.stop()
    b = server_factory(fronts=1, executors=1, session_key=key)
    with RawConnection(b.host, b.port) as c:
        req = rpc("tools/call", {"name": "echo", "arguments": {"text": "same key"}})
        expect_tool_text(c.post(req, session=sid), "same key", id=req["id"])
    other = server_factory(fronts=1, executors=1, session_key=secrets.token_hex(32))
    with RawConnection(other.host, other.port) as c:
        r = c.post(rpc("tools/list", {}, id=97), session=sid)
        assert r.status == 404, r
        echo_ok(other)


def test_max_body_option(server_factory):
    s = server_factory(fronts=1, executors=1, max_body=2048)
    with RawConnection(s.host, s.port) as c:
        sid = c.initialize()
        req = rpc("tools/call", {"name": "echo", "arguments": {"text": "a" * 1500}})
        expect_tool_text(c.post(req, session=sid), "a" * 1500, id=req["id"])
    with RawConnection(s.host, s.port) as c:
        r = c.post(rpc("tools/call", {"name": "echo", "arguments": {"text": "b" * 3000}}), session=sid)
        expect_rpc_error(r, 413, -32600, id=None)
    echo_ok(s)


def test_origin_validation(srv, conn):
    """MCP transport rule: a present, invalid Origin -> 403; a loopback Origin with our port is fine."""
    r = conn.post(initialize_message(), version=None, extra={"Origin": "http://evil.example.com"})
    assert r.status == 403, r
    with RawConnection(srv.host, srv.port) as c:
        r = c.post(initialize_message(), version=None, extra={"Origin": f"http://127.0.0.1:{srv.port}"})
        assert r.status == 200 and r.header("mcp-session-id"), r
    echo_ok(srv)


@pytest.mark.timeout(20)
def test_lists_paginate_with_opaque_cursors(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--list-page-size", "3"])
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        names, cursor, pages = [], None, 0
        while True:
            params = {} if cursor is None else {"cursor": cursor}
            res = c.post(rpc("tools/list", params), session=sid).json()["result"]
            names += [t["name"] for t in res["tools"]]
            pages += 1
            cursor = res.get("nextCursor")
            if cursor is None:
                break
            assert len(res["tools"]) == 3
        assert pages == 2 and set(names) == {"echo", "add_numbers", "sleep_ms", "sha256", "whoami"}, (pages, names)
        bad = c.post(rpc("tools/list", {"cursor": "not-ours"}, id=7), session=sid)
        assert bad.status == 200 and bad.json()["error"]["code"] == -32602, bad


@pytest.mark.timeout(20)
def test_configured_origin_is_allowed_and_others_refused(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--allow-origin", "https://app.example"])
    with RawConnection(srv.host, srv.port) as c:
        ok = c.post(initialize_message(), version=None, extra={"Origin": "https://app.example"})
        assert ok.status == 200, ok
        no = c.post(initialize_message(), version=None, extra={"Origin": "https://evil.example"})
        assert no.status == 403, no
