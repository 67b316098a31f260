"""The 37 scored server scenarios of the MCP conformance suite at 2026-07-28 (`--requirements
2026-07-28`), reproduced against `switchyard serve --tools conformance`.

At 2026-07-28 the suite is stateless: every request is a raw POST carrying `_meta`
(protocolVersion, clientInfo, clientCapabilities) and the standard headers, and every result the
server sends is validated against the 2026-07-28 schema (resultType everywhere; ttlMs/cacheScope on
lists, reads and discover). Here:
  - the scenarios shared with 2025-11-25 use the official Python SDK in `mode="2026-07-28"`, which
    validates results against the 2026-07-28 types (the same bar as the suite's wire check);
  - server-stateless is split into one test per numbered step, on raw HTTP with exact status codes,
    error codes and id echo;
  - the 14 input-required (MRTR, SEP-2322) scenarios drive the rounds by hand through
    `client.session.call_tool(..., allow_input_required=True)` with the scenarios' exact input keys,
    check each first round's wire result on raw HTTP against the scenario's JSON, and use raw HTTP
    for the malformed requests the typed client cannot build;
  - header-level scenarios (sse-multiple-streams, dns-rebinding-protection, caching) use raw HTTP.
"""

from __future__ import annotations

import json
import threading
import time

import mcp_types as t
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conformance_util import (CONFORMANCE_SERVER, MODERN, NAME_RE, StreamingResponse, dump, open_stateless_stream,
                              post_with_host, read_first_event, request_meta, response_of, rpc_error, rpc_result,
                              run, stateless_headers, stateless_post, until_response, valid_meta)
from sy_http import dumps

pytestmark = [pytest.mark.switchyard(**CONFORMANCE_SERVER), pytest.mark.timeout(20),
              pytest.mark.filterwarnings("ignore:.*deprecated as of 2026-07-28")]



def modern_client(srv, **kw) -> Client:
    return Client(srv.url, mode=MODERN, cache=None, read_timeout_seconds=10, **kw)


async def _with_client(srv, fn, **kw):
    async with modern_client(srv, **kw) as c:
        assert c.protocol_version == MODERN, c.protocol_version
        return await fn(c)


def _call(srv, name, arguments=None):
    return run(_with_client, srv, lambda c: c.call_tool(name, arguments))


# ==== scenarios shared with 2025-11-25 =======================================================

def test_completion_complete(shared_server):
    """completion-complete: completion.values is an array; CompleteResult carries resultType."""
    r = run(_with_client, shared_server, lambda c: c.complete(
        t.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"), {"name": "arg1", "value": "test"}))
    assert isinstance(r.completion.values, list), r
    assert r.result_type == "complete", r


def test_tools_list(shared_server):
    """tools-list (+ tools-name-format): name, description and inputSchema on every tool; names
    1-64 chars of [A-Za-z0-9_./-]; the result carries ttlMs/cacheScope (validated by the client)."""
    r = run(_with_client, shared_server, lambda c: c.list_tools())
    assert r.tools, r
    for tool in r.tools:
        assert tool.name and tool.description and tool.input_schema, tool
        assert 1 <= len(tool.name) <= 64 and NAME_RE.match(tool.name), tool.name
    assert r.ttl_ms is not None and r.cache_scope in ("public", "private"), r


def test_tools_call_simple_text(shared_server):
    """tools-call-simple-text: no `arguments` key; a text item with non-empty text."""
    r = _call(shared_server, "test_simple_text")
    assert r.content and any(c.type == "text" and c.text for c in r.content), r
    assert r.result_type == "complete", r


def test_tools_call_image(shared_server):
    """tools-call-image: an image item with data and mimeType."""
    r = _call(shared_server, "test_image_content", {})
    assert any(c.type == "image" and c.data and c.mime_type for c in r.content), r


def test_tools_call_audio(shared_server):
    """tools-call-audio: an audio item with data and mimeType audio/wav."""
    r = _call(shared_server, "test_audio_content", {})
    assert r.content and any(c.type == "audio" and c.data and c.mime_type == "audio/wav" for c in r.content), r


def test_tools_call_embedded_resource(shared_server):
    """tools-call-embedded-resource: a resource item with uri, mimeType and text or blob."""
    r = _call(shared_server, "test_embedded_resource", {})
    items = [c for c in r.content if c.type == "resource"]
    assert items, r
    res = dump(items[0].resource)
    assert res.get("uri") and res.get("mimeType") and (res.get("text") or res.get("blob")), res


def test_tools_call_mixed_content(shared_server):
    """tools-call-mixed-content: >= 2 items including text, image and resource."""
    r = _call(shared_server, "test_multiple_content_types", {})
    types = [c.type for c in r.content]
    assert len(types) >= 2 and {"text", "image", "resource"} <= set(types), types


def test_tools_call_error(shared_server):
    """tools-call-error: a result with isError true and content[0].text (not a JSON-RPC error)."""
    r = _call(shared_server, "test_error_handling", {})
    assert r.is_error is True and r.content and r.content[0].text, r


def test_tools_call_with_progress(shared_server):
    """tools-call-with-progress at 2026: `_meta.progressToken = "progress-test-1"`; the answer is
    text/event-stream and carries >= 3 notifications/progress for the token, first three
    nondecreasing, BEFORE the response (the suite's reader stops at the response)."""
    params = {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "progress-test-1"}}
    req, resp = stateless_post(shared_server, "tools/call", params)
    assert resp.status == 200, resp
    assert resp.content_type == "text/event-stream", resp
    seen = until_response(resp, req["id"])
    assert seen and seen[-1].get("id") == req["id"] and "result" in seen[-1], seen
    result = seen[-1]["result"]
    assert result.get("resultType") == "complete" and result.get("content"), result
    prog = [f["params"] for f in seen if f.get("method") == "notifications/progress"
            and f.get("params", {}).get("progressToken") == "progress-test-1"]
    assert len(prog) >= 3, seen
    first = [p["progress"] for p in prog[:3]]
    assert first == sorted(first), first

    # and through the official client (which validates the notifications and the result)
    got: list = []

    async def handler(msg):
        if isinstance(msg, t.ProgressNotification):
            got.append(msg.params)

    async def go(c):
        return await c.call_tool("test_tool_with_progress", {}, meta={"progressToken": "progress-test-1"})
    r = run(_with_client, shared_server, go, message_handler=handler)
    assert not r.is_error, r
    assert len([p for p in got if p.progress_token == "progress-test-1"]) >= 3, got


def test_server_sse_multiple_streams(shared_server):
    """server-sse-multiple-streams at 2026: three concurrent stateless POST tools/list (ids
    1000-1002, Accept `text/event-stream, application/json`, clientCapabilities {}) all answer ok;
    SSE answers deliver an event within 2 s."""
    params = {"_meta": request_meta({})}
    h = stateless_headers("tools/list", params, accept="text/event-stream, application/json")
    results: dict = {}

    def one(i):
        body = dumps({"jsonrpc": "2.0", "id": i, "method": "tools/list", "params": params})
        try:
            results[i] = read_first_event(shared_server, h, body, timeout=2.0)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in (1000, 1001, 1002)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(5)
    assert len(results) == 3, results
    for i, res in results.items():
        assert not isinstance(res, Exception), (i, res)
        status, ctype, first = res
        assert 200 <= status < 300, (i, status, first)


def test_resources_list(shared_server):
    """resources-list: uri and name on each resource (ttlMs/cacheScope validated by the client)."""
    r = run(_with_client, shared_server, lambda c: c.list_resources())
    assert r.resources and all(x.uri and x.name for x in r.resources), r


def test_resources_read_text(shared_server):
    """resources-read-text: contents[0] has uri, mimeType, non-empty text."""
    r = run(_with_client, shared_server, lambda c: c.read_resource("test://static-text"))
    c0 = dump(r.contents[0])
    assert c0.get("uri") and c0.get("mimeType") and c0.get("text"), c0


def test_resources_read_binary(shared_server):
    """resources-read-binary: contents[0] has uri, mimeType, non-empty blob."""
    r = run(_with_client, shared_server, lambda c: c.read_resource("test://static-binary"))
    c0 = dump(r.contents[0])
    assert c0.get("uri") and c0.get("mimeType") and c0.get("blob"), c0


def test_resources_templates_read(shared_server):
    """resources-templates-read: test://template/123/data -> uri, text/blob, text contains 123."""
    r = run(_with_client, shared_server, lambda c: c.read_resource("test://template/123/data"))
    c0 = dump(r.contents[0])
    assert c0.get("uri") and ("text" in c0 or "blob" in c0), c0
    if "text" in c0:
        assert "123" in c0["text"], c0


def test_sep_2164_resource_not_found(shared_server):
    """sep-2164-resource-not-found: reading an unknown URI is a JSON-RPC error (never a result with
    empty contents), code -32602, error.data.uri = the URI (the last two are WARNING-level in the
    suite; asserted here)."""
    uri = "test://nonexistent-resource-for-conformance-testing"
    async def go(c):
        try:
            r = await c.read_resource(uri)
        except MCPError as e:
            return e.error
        raise AssertionError(f"expected a JSON-RPC error, got a result {r}")
    err = run(_with_client, shared_server, go)
    assert err.code == -32602, err
    assert isinstance(err.data, dict) and err.data.get("uri") == uri, err
    # the suite's conn: same request, raw
    req, resp = stateless_post(shared_server, "resources/read", {"uri": uri})
    err = rpc_error(resp, req["id"])
    assert err["code"] == -32602 and err.get("data", {}).get("uri") == uri, err


def test_prompts_list(shared_server):
    """prompts-list: name and description on each prompt."""
    r = run(_with_client, shared_server, lambda c: c.list_prompts())
    assert r.prompts and all(p.name and p.description for p in r.prompts), r


def test_prompts_get_simple(shared_server):
    """prompts-get-simple: non-empty messages, each with role and content."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt("test_simple_prompt"))
    assert r.messages and all(m.role and m.content for m in r.messages), r


def test_prompts_get_with_args(shared_server):
    """prompts-get-with-args: messages mention testValue1 and testValue2."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt(
        "test_prompt_with_arguments", {"arg1": "testValue1", "arg2": "testValue2"}))
    text = json.dumps([dump(m) for m in r.messages])
    assert "testValue1" in text and "testValue2" in text, text


def test_prompts_get_embedded_resource(shared_server):
    """prompts-get-embedded-resource: a message with resource content."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt(
        "test_prompt_with_embedded_resource", {"resourceUri": "test://example-resource"}))
    assert any(dump(m)["content"].get("type") == "resource" for m in r.messages), r


def test_prompts_get_with_image(shared_server):
    """prompts-get-with-image: a message with image content (data, mimeType)."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt("test_prompt_with_image"))
    assert any(dump(m)["content"].get("type") == "image" and dump(m)["content"].get("data")
               and dump(m)["content"].get("mimeType") for m in r.messages), r


def test_dns_rebinding_protection(shared_server):
    """dns-rebinding-protection at 2026: a server/discover probe (full _meta, clientCapabilities {})
    with Host/Origin evil.example.com -> 4xx; with the server's own host:port -> 2xx."""
    params = {"_meta": request_meta({}, client_name="conformance-dns-rebinding-test")}
    body = dumps({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": params})
    base = stateless_headers("server/discover", params)
    evil = post_with_host(shared_server, "evil.example.com", {**base, "Origin": "http://evil.example.com"}, body)
    assert 400 <= evil.status < 500, evil
    own = f"{shared_server.host}:{shared_server.port}"
    ok = post_with_host(shared_server, own, {**base, "Origin": f"http://{own}"}, body)
    assert 200 <= ok.status < 300, ok


def test_caching(shared_server):
    """caching (SEP-2549): tools/list, prompts/list, resources/list, resources/templates/list and
    resources/read of the first listed resource each carry ttlMs (integer >= 0) and cacheScope
    ("public"|"private"); so does server/discover (schema)."""
    results = {}
    for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list", "server/discover"):
        req, resp = stateless_post(shared_server, method, {})
        assert resp.status == 200, resp
        results[method] = rpc_result(resp, req["id"])
    first_uri = results["resources/list"]["resources"][0]["uri"]
    req, resp = stateless_post(shared_server, "resources/read", {"uri": first_uri})
    results["resources/read"] = rpc_result(resp, req["id"])
    for method, res in results.items():
        assert "ttlMs" in res and "cacheScope" in res, (method, res)
        ttl = res["ttlMs"]
        assert isinstance(ttl, int) and not isinstance(ttl, bool) and ttl >= 0, (method, ttl)
        assert res["cacheScope"] in ("public", "private"), (method, res["cacheScope"])
        assert res.get("resultType") == "complete", (method, res)


# ==== server-stateless (SEP-2575), one test per step ===========================================

def _discover(srv) -> dict:
    req, resp = stateless_post(srv, "server/discover", {}, meta=valid_meta())
    assert resp.status == 200, resp
    return rpc_result(resp, req["id"])


def _expect_error(resp, id, status, code) -> dict:
    assert resp.status == status, f"expected HTTP {status}, got {resp!r}"
    msg = response_of(resp, id)
    assert msg.get("id") == id, f"error must echo id {id!r}: {msg}"
    assert "error" in msg and msg["error"].get("code") == code, f"expected {code}: {msg}"
    return msg["error"]


def _meta_without(key: str) -> dict:
    m = valid_meta()
    m.pop(f"io.modelcontextprotocol/{key}")
    return m


def test_server_stateless_1_meta_validation(shared_server):
    """Step 1: server/discover with the 2026 header but missing `_meta` (101), `_meta` without
    protocolVersion (102), without clientCapabilities (104) -> HTTP 400 + -32602 each, id echoed
    (so `_meta` is checked before the header/body comparison); without clientInfo (105) -> 200 result."""
    for id, params in ((101, {}), (102, {"_meta": _meta_without("protocolVersion")}),
                       (104, {"_meta": _meta_without("clientCapabilities")})):
        req, resp = stateless_post(shared_server, "server/discover", params, id=id, meta=False)
        _expect_error(resp, id, 400, -32602)
    req, resp = stateless_post(shared_server, "server/discover", {"_meta": _meta_without("clientInfo")}, id=105,
                               meta=False)
    assert resp.status == 200, resp
    assert "supportedVersions" in rpc_result(resp, 105)


def test_server_stateless_2_discover_and_capabilities(shared_server):
    """Step 2: discover (201) has supportedVersions, capabilities and _meta serverInfo {name, version};
    prompts/list (203) existing implies capabilities.prompts; tools/list (202, caps {}) returns a tools
    array iff capabilities.tools is declared (else -32601)."""
    req, resp = stateless_post(shared_server, "server/discover", {}, id=201, meta=valid_meta())
    assert resp.status == 200, resp
    d = rpc_result(resp, 201)
    assert d.get("supportedVersions") and MODERN in d["supportedVersions"], d
    assert d.get("capabilities"), d
    info = d.get("_meta", {}).get("io.modelcontextprotocol/serverInfo")
    assert isinstance(info, dict) and info.get("name") and info.get("version"), d
    caps = d["capabilities"]

    req, resp = stateless_post(shared_server, "prompts/list", {}, id=203, meta=valid_meta())
    msg = response_of(resp, 203)
    if "result" in msg or msg.get("error", {}).get("code") != -32601:
        assert "prompts" in caps, (caps, msg)

    req, resp = stateless_post(shared_server, "tools/list", {}, id=202, meta=valid_meta())
    msg = response_of(resp, 202)
    if "tools" in caps:
        assert isinstance(msg.get("result", {}).get("tools"), list), msg
    else:
        assert msg.get("error", {}).get("code") == -32601, msg


def test_server_stateless_3_version_errors(shared_server):
    """Step 3: header and _meta both v999.0.0 (301) -> 400 + -32022, data.supported non-empty and within
    discover's supportedVersions, data.requested "v999.0.0"; header 2026-07-28 but _meta v999.0.0
    (302) -> 400 + -32020 (the header/body check precedes version support)."""
    supported = _discover(shared_server)["supportedVersions"]
    meta = {**valid_meta(), "io.modelcontextprotocol/protocolVersion": "v999.0.0"}
    params = {"_meta": meta}
    h = stateless_headers("server/discover", params, version="v999.0.0")
    req, resp = stateless_post(shared_server, "server/discover", params, id=301, meta=False, headers=h)
    err = _expect_error(resp, 301, 400, -32022)
    data = err.get("data") or {}
    assert data.get("supported") and all(v in supported for v in data["supported"]), (err, supported)
    assert data.get("requested") == "v999.0.0", err

    req, resp = stateless_post(shared_server, "server/discover", params, id=302, meta=False)
    _expect_error(resp, 302, 400, -32020)


def test_server_stateless_4_missing_capability(shared_server):
    """Step 4: test_missing_capability is listed; calling it without the sampling capability (401)
    -> HTTP 400 + -32021 with data.requiredCapabilities a plain object whose `sampling` is an object."""
    req, resp = stateless_post(shared_server, "tools/list", {}, meta=valid_meta())
    names = {x["name"] for x in rpc_result(resp, req["id"])["tools"]}
    assert "test_missing_capability" in names, names
    req, resp = stateless_post(shared_server, "tools/call", {"name": "test_missing_capability", "arguments": {}},
                               id=401, meta=valid_meta())
    err = _expect_error(resp, 401, 400, -32021)
    rc = (err.get("data") or {}).get("requiredCapabilities")
    assert isinstance(rc, dict) and isinstance(rc.get("sampling"), dict), err


REMOVED = ("initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe")


def test_server_stateless_5_removed_and_unknown_methods(shared_server):
    """Step 5: initialize, ping, logging/setLevel, resources/subscribe, resources/unsubscribe sent
    with the 2026 header and valid _meta (id 500) -> HTTP 404 + -32601 each (route on the version,
    not the method name); unknown/method (601) -> 404 + -32601."""
    for method in REMOVED:
        req, resp = stateless_post(shared_server, method, {}, id=500, meta=valid_meta())
        _expect_error(resp, 500, 404, -32601)
    req, resp = stateless_post(shared_server, "unknown/method", {}, id=601, meta=valid_meta())
    _expect_error(resp, 601, 404, -32601)


def test_server_stateless_6_streams_carry_no_requests_and_no_unrequested_logs(shared_server):
    """Step 6: test_streaming_elicitation (caps {elicitation:{}}): <= 3 frames within 600 ms, >= 1
    frame, not all errors, every method frame is a notifications/*; test_logging_tool without
    logLevel: <= 3 frames within 500 ms, >= 1 frame, not all errors, no notifications/message.
    Both tools must be listed."""
    req, resp = stateless_post(shared_server, "tools/list", {}, meta=valid_meta())
    names = {x["name"] for x in rpc_result(resp, req["id"])["tools"]}
    assert {"test_streaming_elicitation", "test_logging_tool"} <= names, names

    with open_stateless_stream(shared_server, "tools/call", {
            "name": "test_streaming_elicitation", "arguments": {},
            "_meta": valid_meta({"elicitation": {}})}, id=611) as s:
        fr = s.frames(3, 0.6)
    assert fr, "no frame within 600 ms"
    assert not all("error" in f for f in fr), fr
    assert all(f["method"].startswith("notifications/") for f in fr if "method" in f), fr

    with open_stateless_stream(shared_server, "tools/call", {
            "name": "test_logging_tool", "arguments": {}, "_meta": valid_meta()}, id=612) as s:
        fr = s.frames(3, 0.5)
    assert fr, "no frame within 500 ms"
    assert not all("error" in f for f in fr), fr
    assert not any(f.get("method") == "notifications/message" for f in fr), fr


def test_server_stateless_7_listen_absence_is_consistent(shared_server):
    """Step 7, as the suite scores it today: if subscriptions/listen answers -32601, discover must
    advertise none of tools/prompts/resources.listChanged and resources.subscribe (then the suite
    SKIPs the listen checks); otherwise see test_server_stateless_7_listen_ack_and_filtering."""
    caps = _discover(shared_server)["capabilities"]
    with _listen(shared_server, {"toolsListChanged": True}, 700) as s:
        fr = s.frames(1, 0.8)
    if fr and fr[0].get("error", {}).get("code") == -32601:
        advertised = (caps.get("tools", {}).get("listChanged") or caps.get("prompts", {}).get("listChanged")
                      or caps.get("resources", {}).get("listChanged") or caps.get("resources", {}).get("subscribe"))
        assert not advertised, ("listen is -32601 but discover advertises list changes", caps)


def _listen(srv, filt: dict, id) -> StreamingResponse:
    return open_stateless_stream(srv, "subscriptions/listen", {"notifications": filt, "_meta": valid_meta()}, id=id)


def _trigger(srv, tool: str) -> dict:
    req, resp = stateless_post(srv, "tools/call", {"name": tool, "arguments": {}}, meta=valid_meta())
    return response_of(resp, req["id"])



def test_server_stateless_7_listen_ack_and_filtering(shared_server):
    """Step 7: listen {toolsListChanged} (<= 2 frames, 800 ms; a tools change triggered after the first
    frame): the first frame is notifications/subscriptions/acknowledged and every notifications/* frame
    carries _meta subscriptionId; listen {promptsListChanged} (<= 3 frames, 1500 ms) + a tools change
    -> no notifications/tools/list_changed."""
    lid = int(time.time() * 1000)
    with _listen(shared_server, {"toolsListChanged": True}, lid) as s:
        assert s.status == 200, s.status
        first = s.frames(1, 0.8)
        assert first and first[0].get("method") == "notifications/subscriptions/acknowledged", first
        _trigger(shared_server, "test_trigger_tool_change")
        rest = s.frames(1, 0.8)
    for f in first + rest:
        if f.get("method", "").startswith("notifications/"):
            assert f.get("params", {}).get("_meta", {}).get("io.modelcontextprotocol/subscriptionId"), f
    with _listen(shared_server, {"promptsListChanged": True}, lid + 1) as s:
        assert s.status == 200, s.status
        got = s.frames(1, 1.5)
        _trigger(shared_server, "test_trigger_tool_change")
        got += s.frames(2, 1.5)
    assert not any(f.get("method") == "notifications/tools/list_changed" for f in got), got



def test_server_stateless_8_list_changed_delivery(shared_server):
    """Step 8: with prompts.listChanged / tools.listChanged declared, a listen stream receives
    notifications/prompts/list_changed after test_trigger_prompt_change, and
    notifications/tools/list_changed after test_trigger_tool_change."""
    caps = _discover(shared_server)["capabilities"]
    assert caps.get("prompts", {}).get("listChanged") and caps.get("tools", {}).get("listChanged"), caps
    for filt, tool, method in (({"promptsListChanged": True}, "test_trigger_prompt_change",
                                "notifications/prompts/list_changed"),
                               ({"toolsListChanged": True}, "test_trigger_tool_change",
                                "notifications/tools/list_changed")):
        with _listen(shared_server, filt, int(time.time() * 1000)) as s:
            assert s.status == 200, s.status
            got = s.frames(1, 1.5)
            assert "error" not in _trigger(shared_server, tool)
            got += s.frames(1, 1.5)
        assert any(f.get("method") == method for f in got), got


def test_server_stateless_9_error_responses_echo_ids(shared_server):
    """Step 9: every error response carries the request's id, never null (101, 102, 104, 301, 302,
    401, 500, 601 checked here, string ids too)."""
    cases = [
        ("server/discover", {}, 101, None),
        ("server/discover", {"_meta": _meta_without("protocolVersion")}, 102, None),
        ("server/discover", {"_meta": _meta_without("clientCapabilities")}, 104, None),
        ("server/discover", {"_meta": {**valid_meta(), "io.modelcontextprotocol/protocolVersion": "v999.0.0"}},
         301, "v999.0.0"),
        ("server/discover", {"_meta": {**valid_meta(), "io.modelcontextprotocol/protocolVersion": "v999.0.0"}},
         302, None),
        ("tools/call", {"name": "test_missing_capability", "arguments": {}, "_meta": valid_meta()}, 401, None),
        ("ping", {"_meta": valid_meta()}, 500, None),
        ("unknown/method", {"_meta": valid_meta()}, 601, None),
        ("unknown/method", {"_meta": valid_meta()}, "req-601", None),
        ("server/discover", {}, "req-101", None),
    ]
    for method, params, id, header_version in cases:
        h = stateless_headers(method, params, version=header_version or MODERN)
        req, resp = stateless_post(shared_server, method, params, id=id, meta=False, headers=h)
        assert resp.status >= 400, (id, resp)
        msg = json.loads(resp.body)
        assert "error" in msg and msg.get("id") == id, (id, msg)


# ==== input-required results (MRTR, SEP-2322) ==================================================
#
# The keys and input requests below are those of the suite's scenario descriptions
# (modelcontextprotocol/conformance src/scenarios/server/input-required-result.ts). Its example
# everything-server uses other keys for two of them (`sample_request`, `roots_request`); the
# scenarios' own checks take whatever key comes first, so only these tests pin the names.

def _elicitation(message: str, prop: str, type_: str = "string") -> dict:
    return {"method": "elicitation/create", "params": {"message": message, "requestedSchema": {
        "type": "object", "properties": {prop: {"type": type_}}, "required": [prop]}}}


def _sampling(text: str, max_tokens: int) -> dict:
    return {"method": "sampling/createMessage", "params": {
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}], "maxTokens": max_tokens}}


ROOTS_REQUEST = {"method": "roots/list", "params": {}}

# Round 1 of each MRTR tool or prompt: its inputRequests, and whether the scenario shows a requestState.
SUITE_ROUND1 = {
    "test_input_required_result_elicitation": ({"user_name": _elicitation("What is your name?", "name")}, False),
    "test_input_required_result_sampling": (
        {"capital_question": _sampling("What is the capital of France?", 100)}, False),
    "test_input_required_result_list_roots": ({"client_roots": ROOTS_REQUEST}, False),
    "test_input_required_result_request_state": (
        {"confirm": _elicitation("Please confirm", "ok", "boolean")}, True),
    "test_input_required_result_multiple_inputs": ({
        "user_name": _elicitation("What is your name?", "name"),
        "greeting": _sampling("Generate a greeting", 50),
        "client_roots": ROOTS_REQUEST}, True),
    "test_input_required_result_multi_round": (
        {"step1": _elicitation("Step 1: What is your name?", "name")}, True),
    "test_input_required_result_tampered_state": (
        {"confirm": _elicitation("Please confirm", "ok", "boolean")}, True),
    "test_input_required_result_prompt": (
        {"user_context": _elicitation("What context should the prompt use?", "context")}, False),
}
MULTI_ROUND_STEP2 = {"step2": _elicitation("Step 2: What is your favorite color?", "color")}


def _raw_call(srv, name: str, *, caps=None, **extra) -> dict:
    """One stateless tools/call (prompts/get for the prompt) the way the suite sends it; its result."""
    if name == "test_input_required_result_prompt":
        method, params = "prompts/get", {"name": name, **extra}
    else:
        method, params = "tools/call", {"name": name, "arguments": {}, **extra}
    req, resp = stateless_post(srv, method, params, caps=caps)
    return rpc_result(resp, req["id"])


def _assert_input_required(result: dict, requests: dict, with_state: bool) -> str | None:
    """`result` is exactly {resultType: input_required, inputRequests: requests} plus a string
    requestState iff `with_state` (a result `_meta` is allowed). Returns the requestState."""
    body = {k: v for k, v in result.items() if k != "_meta"}
    state = body.pop("requestState", None)
    assert body == {"resultType": "input_required", "inputRequests": requests}, result
    if with_state:
        assert isinstance(state, str) and state, result
    else:
        assert state is None, f"the scenario's round 1 has no requestState: {result}"
    return state


def _assert_round1_raw(srv, name: str) -> str | None:
    requests, with_state = SUITE_ROUND1[name]
    return _assert_input_required(_raw_call(srv, name), requests, with_state)


def elicit_reply(content) -> t.ElicitResult:
    return t.ElicitResult(action="accept", content=content)


def sampling_reply(text) -> t.CreateMessageResult:
    return t.CreateMessageResult(role="assistant", content=t.TextContent(type="text", text=text),
                                 model="test-model", stop_reason="endTurn")


ROOTS_REPLY = t.ListRootsResult(roots=[t.Root(uri="file:///test/root", name="Test Root")])


async def _never_sampling(ctx, p):
    raise AssertionError("manual rounds only")


async def _never_elicit(ctx, p):
    raise AssertionError("manual rounds only")


async def _never_roots(ctx):
    raise AssertionError("manual rounds only")


def mrtr(srv, fn, *, caps=("sampling", "elicitation", "roots")):
    """Runs `fn(session)` on a 2026 client whose capabilities are `caps` (the suite's MRTR requests
    declare sampling, elicitation and roots)."""
    kw = {}
    if "sampling" in caps:
        kw["sampling_callback"] = _never_sampling
    if "elicitation" in caps:
        kw["elicitation_callback"] = _never_elicit
    if "roots" in caps:
        kw["list_roots_callback"] = _never_roots
    return run(_with_client, srv, lambda c: fn(c.session), **kw)


def _state(r) -> dict:
    return {"request_state": r.request_state} if r.request_state is not None else {}


def _is_input_required(r) -> bool:
    return isinstance(r, t.InputRequiredResult) and r.result_type == "input_required"


def _assert_round1(r, name: str) -> None:
    """Round 1 through the SDK: input_required with exactly the suite's keys and methods (the typed
    request adds defaults such as elicitation `mode`, so the wire shape is checked on raw HTTP)."""
    requests, with_state = SUITE_ROUND1[name]
    assert _is_input_required(r), r
    assert {k: v.method for k, v in r.input_requests.items()} == {k: v["method"] for k, v in requests.items()}, r
    assert (r.request_state is not None) == with_state, r


def test_input_required_result_basic_elicitation(shared_server):
    """r1: exactly {resultType: input_required, inputRequests: {user_name: elicitation/create "What is
    your name?", schema {name: string} required [name]}}, no requestState; r2 with user_name =
    accept{name:"Alice"}: complete, "Hello, Alice!"."""
    name = "test_input_required_result_elicitation"
    _assert_round1_raw(shared_server, name)

    async def go(s):
        r1 = await s.call_tool(name, {}, allow_input_required=True)
        _assert_round1(r1, name)
        r2 = await s.call_tool(name, {}, input_responses={"user_name": elicit_reply({"name": "Alice"})},
                               allow_input_required=True, **_state(r1))
        assert isinstance(r2, t.CallToolResult) and r2.content[0].text == "Hello, Alice!", r2
    mrtr(shared_server, go)


def test_input_required_result_basic_sampling(shared_server):
    """r1: exactly {capital_question: sampling/createMessage "What is the capital of France?",
    maxTokens 100}, no requestState; r2 answering capital_question: complete with the sampled text."""
    name = "test_input_required_result_sampling"
    _assert_round1_raw(shared_server, name)

    async def go(s):
        r1 = await s.call_tool(name, {}, allow_input_required=True)
        _assert_round1(r1, name)
        r2 = await s.call_tool(name, {}, input_responses={
            "capital_question": sampling_reply("The capital of France is Paris.")},
            allow_input_required=True, **_state(r1))
        assert isinstance(r2, t.CallToolResult), r2
        assert r2.content[0].text == "Sampling result: The capital of France is Paris.", r2
    mrtr(shared_server, go)


def test_input_required_result_basic_list_roots(shared_server):
    """r1: exactly {client_roots: roots/list, params {}}, no requestState; r2 with client_roots =
    ListRootsResult: complete, naming the roots it got."""
    name = "test_input_required_result_list_roots"
    _assert_round1_raw(shared_server, name)

    async def go(s):
        r1 = await s.call_tool(name, {}, allow_input_required=True)
        _assert_round1(r1, name)
        r2 = await s.call_tool(name, {}, input_responses={"client_roots": ROOTS_REPLY},
                               allow_input_required=True, **_state(r1))
        assert isinstance(r2, t.CallToolResult), r2
        assert r2.content[0].text == "Found 1 root(s): file:///test/root", r2
    mrtr(shared_server, go)


def test_input_required_result_request_state(shared_server):
    """r1: exactly {confirm: elicitation/create "Please confirm", schema {ok: boolean} required [ok]}
    and a string requestState; r2 with confirm = accept{ok:true} + the state: complete, text contains
    "state-ok"."""
    name = "test_input_required_result_request_state"
    _assert_round1_raw(shared_server, name)

    async def go(s):
        r1 = await s.call_tool(name, {}, allow_input_required=True)
        _assert_round1(r1, name)
        r2 = await s.call_tool(name, {}, input_responses={"confirm": elicit_reply({"ok": True})},
                               request_state=r1.request_state, allow_input_required=True)
        assert isinstance(r2, t.CallToolResult) and r2.content, r2
        assert "state-ok" in r2.content[0].text, r2
    mrtr(shared_server, go)


def test_input_required_result_multiple_input_requests(shared_server):
    """r1: exactly {user_name: elicitation/create, greeting: sampling/createMessage "Generate a
    greeting" maxTokens 50, client_roots: roots/list} plus requestState; r2 answering all three + the
    state: complete."""
    name = "test_input_required_result_multiple_inputs"
    _assert_round1_raw(shared_server, name)

    async def go(s):
        r1 = await s.call_tool(name, {}, allow_input_required=True)
        _assert_round1(r1, name)
        r2 = await s.call_tool(name, {}, input_responses={
            "user_name": elicit_reply({"name": "Alice"}), "greeting": sampling_reply("Hello there!"),
            "client_roots": ROOTS_REPLY}, allow_input_required=True, **_state(r1))
        assert isinstance(r2, t.CallToolResult), r2
        assert r2.content[0].text == "Name: Alice; Greeting: Hello there!; Roots: 1", r2
    mrtr(shared_server, go)


def test_input_required_result_multi_round(shared_server):
    """r1: exactly {step1: elicitation/create "Step 1: What is your name?"} + requestState; r2 (step1,
    state1): exactly {step2: elicitation/create "Step 2: What is your favorite color?", schema {color}}
    with requestState != state1; r3 (step2, state2): complete."""
    name = "test_input_required_result_multi_round"
    s1 = _assert_round1_raw(shared_server, name)
    r2 = _raw_call(shared_server, name, requestState=s1, inputResponses={
        "step1": {"action": "accept", "content": {"name": "Alice"}}})
    assert _assert_input_required(r2, MULTI_ROUND_STEP2, True) != s1, r2

    async def go(s):
        r1 = await s.call_tool(name, {}, allow_input_required=True)
        _assert_round1(r1, name)
        r2 = await s.call_tool(name, {}, input_responses={"step1": elicit_reply({"name": "Alice"})},
                               request_state=r1.request_state, allow_input_required=True)
        assert _is_input_required(r2) and r2.request_state, r2
        assert {k: v.method for k, v in r2.input_requests.items()} == {"step2": "elicitation/create"}, r2
        assert r2.request_state != r1.request_state, "requestState must change between rounds"
        r3 = await s.call_tool(name, {}, input_responses={"step2": elicit_reply({"color": "blue"})},
                               request_state=r2.request_state, allow_input_required=True)
        assert isinstance(r3, t.CallToolResult), r3
        assert r3.content[0].text == "Multi-round complete for Alice who likes blue", r3
    mrtr(shared_server, go)


def test_input_required_result_missing_input_response(shared_server):
    """Wrong key only (`wrong_key`, no state) -> a new InputRequiredResult re-asking user_name
    (WARNING-level in the suite; asserted here)."""
    name = "test_input_required_result_elicitation"
    result = _raw_call(shared_server, name, inputResponses={
        "wrong_key": {"action": "accept", "content": {"data": "wrong"}}})
    _assert_input_required(result, SUITE_ROUND1[name][0], False)

    async def go(s):
        r = await s.call_tool(name, {}, input_responses={"wrong_key": elicit_reply({"data": "wrong"})},
                              allow_input_required=True)
        _assert_round1(r, name)
    mrtr(shared_server, go)


def test_input_required_result_non_tool_request(shared_server):
    """prompts/get test_input_required_result_prompt: r1 exactly {user_context: elicitation/create "What
    context should the prompt use?", schema {context}}, no requestState; r2 with user_context =
    accept{context:"test context"}: a complete GetPromptResult with messages."""
    name = "test_input_required_result_prompt"
    _assert_round1_raw(shared_server, name)

    async def go(s):
        r1 = await s.get_prompt(name, allow_input_required=True)
        _assert_round1(r1, name)
        r2 = await s.get_prompt(name, input_responses={"user_context": elicit_reply({"context": "test context"})},
                                allow_input_required=True, **_state(r1))
        assert isinstance(r2, t.GetPromptResult) and r2.messages, r2
        assert "test context" in r2.messages[0].content.text, r2
    mrtr(shared_server, go)


def test_input_required_result_result_type(shared_server):
    """The elicitation tool without inputs: the wire result has the `resultType` key = input_required."""
    req, resp = stateless_post(shared_server, "tools/call",
                               {"name": "test_input_required_result_elicitation", "arguments": {}})
    result = rpc_result(resp, req["id"])
    assert result.get("resultType") == "input_required", result


def test_input_required_result_unsupported_methods(shared_server):
    """tools/list and prompts/list never answer input_required."""
    async def go(c):
        return await c.list_tools(), await c.list_prompts()
    tools, prompts = run(_with_client, shared_server, go, sampling_callback=_never_sampling,
                         elicitation_callback=_never_elicit, list_roots_callback=_never_roots)
    assert tools.result_type != "input_required" and prompts.result_type != "input_required"
    for method in ("tools/list", "prompts/list"):
        req, resp = stateless_post(shared_server, method, {})
        assert rpc_result(resp, req["id"]).get("resultType") != "input_required"


def test_input_required_result_tampered_state(shared_server):
    """r1 must be input_required WITH requestState (here: exactly {confirm: elicitation/create "Please
    confirm"}); r2 with requestState + "-TAMPERED" (and confirm = accept{ok:true}) must be a JSON-RPC
    error; with the untouched state it completes."""
    name = "test_input_required_result_tampered_state"
    state = _assert_round1_raw(shared_server, name)
    confirm = {"confirm": {"action": "accept", "content": {"ok": True}}}
    req, resp = stateless_post(shared_server, "tools/call", {"name": name, "arguments": {}, "inputResponses": confirm,
                                                             "requestState": state + "-TAMPERED"})
    assert rpc_error(resp, req["id"])["code"] == -32602, resp
    assert "integrity-ok" in _raw_call(shared_server, name, inputResponses=confirm,
                                       requestState=state)["content"][0]["text"]

    async def go(s):
        r1 = await s.call_tool(name, {}, allow_input_required=True)
        _assert_round1(r1, name)
        with pytest.raises(MCPError):
            await s.call_tool(name, {}, input_responses={"confirm": elicit_reply({"ok": True})},
                              request_state=r1.request_state + "-TAMPERED", allow_input_required=True)
    mrtr(shared_server, go)


def test_input_required_result_capability_check(shared_server):
    """clientCapabilities {sampling:{}} only: test_input_required_result_capabilities returns an
    InputRequiredResult with no elicitation/create request (complete or error fails)."""
    name = "test_input_required_result_capabilities"

    async def go(s):
        r = await s.call_tool(name, {}, allow_input_required=True)
        assert _is_input_required(r), r
        assert {k: v.method for k, v in r.input_requests.items()} == {"sample_input": "sampling/createMessage"}, r
    mrtr(shared_server, go, caps=("sampling",))
    # the suite's exact request: caller _meta overrides clientCapabilities. The scenario names no key;
    # these are the everything-server's (elicit_input, sample_input).
    result = _raw_call(shared_server, name, caps={"sampling": {}})
    _assert_input_required(result, {"sample_input": _sampling("Sample request", 50)}, True)
    both = _raw_call(shared_server, name)
    assert set(both["inputRequests"]) == {"elicit_input", "sample_input"}, both
    assert both["inputRequests"]["elicit_input"] == _elicitation("Elicitation input", "value"), both


def test_input_required_result_ignore_extra_params(shared_server):
    """user_name answered plus two unknown keys, no requestState -> complete (WARNING-level in the
    suite; asserted here): the elicitation tool must not require requestState."""
    async def go(s):
        r = await s.call_tool("test_input_required_result_elicitation", {}, input_responses={
            "user_name": elicit_reply({"name": "Alice"}),
            "unknown_extra_key": elicit_reply({"foo": "bar"}),
            "another_unexpected": elicit_reply({"baz": 123})}, allow_input_required=True)
        assert isinstance(r, t.CallToolResult) and r.content, r
        assert "Alice" in r.content[0].text, r
    mrtr(shared_server, go)


def test_input_required_result_validate_input(shared_server):
    """inputResponses {user_name: 12345}, then inputResponses null: each answer is anything but a
    complete result (an error or a new input_required; WARNING-level in the suite, asserted here)."""
    for responses in ({"user_name": 12345}, None):
        req, resp = stateless_post(shared_server, "tools/call", {
            "name": "test_input_required_result_elicitation", "arguments": {}, "inputResponses": responses})
        msg = response_of(resp, req["id"])
        if "result" in msg:
            assert msg["result"].get("resultType") == "input_required", msg
        else:
            assert isinstance(msg.get("error", {}).get("code"), int), msg
