"""Protocol gaps a run with real clients found, each checked over raw HTTP against a real server:
the era of a request that declares 2026-07-28 and carries Mcp-Session-Id, the logging capability
in server/discover, request ids in 403/404 answers, JSON-RPC batches on 2025-03-26 sessions, a
POST without Accept, and media types parsed rather than searched."""

from __future__ import annotations

import json

import pytest

from sy_http import RawConnection, expect_rpc_error, mcp_headers, rpc

pytestmark = pytest.mark.switchyard(fronts=2, executors=2)

STATELESS = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": STATELESS, "io.modelcontextprotocol/clientCapabilities": {}}


@pytest.fixture
def srv(shared_server):
    return shared_server


@pytest.fixture
def conn(srv):
    c = RawConnection(srv.host, srv.port)
    yield c
    c.close()


def stateless_headers(method: str, session: str | None, name: str | None = None) -> dict:
    extra = {"Mcp-Method": method}
    if name is not None:
        extra["Mcp-Name"] = name
    return mcp_headers(session, version=STATELESS, extra=extra)


def session_on(conn: RawConnection, version: str) -> str:
    init = rpc("initialize", {"protocolVersion": version, "capabilities": {},
                              "clientInfo": {"name": "gaps", "version": "1"}})
    r = conn.post(init, version=None)
    assert r.status == 200 and r.json()["result"]["protocolVersion"] == version, r
    return r.header("mcp-session-id")


# ---- the era follows the declared version ---------------------------------------------------

@pytest.mark.parametrize("session", ["valid", "bogus"])
def test_stateless_request_with_session_header_is_served_statelessly(conn, session):
    sid = conn.initialize() if session == "valid" else "v1.bogus.bogus"
    req = rpc("tools/list", {"_meta": META})
    r = conn.request("POST", "/mcp", stateless_headers("tools/list", sid), conn_body(req))
    assert r.status == 200, r
    msg = r.json()
    assert msg["id"] == req["id"] and msg["result"]["resultType"] == "complete", msg
    assert r.header("mcp-session-id") is None, r
    # A call too: the stateless context reaches the executor, the session is ignored.
    req = rpc("tools/call", {"name": "echo", "arguments": {"text": "era"}, "_meta": META})
    r = conn.request("POST", "/mcp", stateless_headers("tools/call", sid, "echo"), conn_body(req))
    assert r.status == 200 and r.json()["result"]["content"][0]["text"] == "era", r


def test_handshake_request_still_needs_its_session(conn):
    expect_rpc_error(conn.post(rpc("tools/list", {}, id=41), session="v1.bogus.bogus"), 404, -32001, id=41)
    expect_rpc_error(conn.post(rpc("tools/list", {}, id=42)), 400, -32600, id=42)


def conn_body(msg) -> bytes:
    return json.dumps(msg).encode()


# ---- capabilities -----------------------------------------------------------------------------

def test_discover_declares_logging(conn):
    req = rpc("server/discover", {"_meta": META})
    r = conn.request("POST", "/mcp", stateless_headers("server/discover", None), conn_body(req))
    assert r.status == 200, r
    assert r.json()["result"]["capabilities"]["logging"] == {}, r.json()


# ---- ids in transport-level refusals ---------------------------------------------------------

def test_forbidden_origin_answer_carries_the_id(srv, conn):
    sid = conn.initialize()
    r = conn.post(rpc("ping", id="o-1"), session=sid, extra={"Origin": "http://evil.example"})
    expect_rpc_error(r, 403, -32600, id="o-1")


def test_unknown_session_answer_carries_the_id(conn):
    expect_rpc_error(conn.post(rpc("ping", id=77), session="v1.AAAA.BBBB"), 404, -32001, id=77)


def test_unparsable_body_answer_has_null_id(conn):
    sid = conn.initialize()
    expect_rpc_error(conn.post(b'{"jsonrpc":"2.0","id":5,', session=sid), 400, -32700, id=None)


# ---- batches ------------------------------------------------------------------------------------

def test_batch_on_2025_03_26_session(srv, conn):
    sid = session_on(conn, "2025-03-26")
    batch = [rpc("ping", id=1), {"jsonrpc": "2.0", "method": "notifications/initialized"},
             rpc("tools/call", {"name": "echo", "arguments": {"text": "b"}}, id="two"),
             rpc("no/such/method", id=3), 5]
    r = conn.post(batch, session=sid, version="2025-03-26")
    assert r.status == 200 and r.content_type.startswith("application/json"), r
    answers = r.json()
    assert [a.get("id") for a in answers] == [1, "two", 3, None], answers
    assert answers[0]["result"] == {}
    assert answers[1]["result"]["content"] == [{"type": "text", "text": "b"}]
    assert answers[2]["error"]["code"] == -32601
    assert answers[3]["error"]["code"] == -32600
    only_notifications = [{"jsonrpc": "2.0", "method": "notifications/initialized"}]
    assert conn.post(only_notifications, session=sid, version="2025-03-26").status == 202
    expect_rpc_error(conn.post([], session=sid, version="2025-03-26"), 400, -32600, id=None)
    with_init = conn.post([rpc("initialize", {"protocolVersion": "2025-03-26"}, id="i")], session=sid,
                          version="2025-03-26")
    assert with_init.status == 200 and with_init.json()[0]["error"]["code"] == -32600, with_init


def test_batch_refused_on_later_revisions(conn):
    sid = session_on(conn, "2025-11-25")
    expect_rpc_error(conn.post([rpc("ping", id=1)], session=sid), 400, -32600)
    r = conn.request("POST", "/mcp", stateless_headers("tools/list", None), conn_body([rpc("tools/list", {"_meta": META})]))
    expect_rpc_error(r, 400, -32600)


# ---- Accept and Content-Type --------------------------------------------------------------------

def test_post_without_accept_is_not_acceptable(conn):
    sid = conn.initialize()
    expect_rpc_error(conn.post(rpc("ping", id=406), session=sid, accept=None), 406, -32600, id=406)


@pytest.mark.parametrize("accept", ["application/json-seq", "text/event-streamx", "application/json;q=0"])
def test_accept_ranges_are_parsed(conn, accept):
    sid = conn.initialize()
    assert conn.post(rpc("ping"), session=sid, accept=accept).status == 406


@pytest.mark.parametrize("ctype,status", [("application/json-seq", 415), ("text/x-application/json", 415),
                                          ("Application/JSON ; charset=utf-8", 200)])
def test_content_type_is_parsed(conn, ctype, status):
    sid = conn.initialize()
    assert conn.post(rpc("ping"), session=sid, content_type=ctype).status == status
