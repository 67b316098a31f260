"""The 30 scored server scenarios of the MCP conformance suite at 2025-11-25 (`--requirements
2025-11-25`), reproduced against `switchyard serve --tools conformance`.

One test per scenario, named after it. The suite drives these scenarios with the TS SDK client
(initialize handshake, session); here the official Python SDK plays that part (`Client(mode="legacy")`,
which negotiates 2025-11-25 and validates every result against the 2025-11-25 types). The suite's
raw-`fetch` scenarios (server-initialize's second half, server-sse-multiple-streams,
dns-rebinding-protection, and the unscored server-session-lifecycle) use raw HTTP here too.
Each test asserts what the suite's checks assert (see the scenario sources in
modelcontextprotocol/conformance src/scenarios/server/).
"""

from __future__ import annotations

import json
import re
import threading
import warnings

import mcp_types as t
import pytest
from mcp import Client

from conformance_util import (CONFORMANCE_SERVER, LEGACY, NAME_RE, dump, post_with_host, read_first_event,
                              run, stateless_headers)
from sy_http import RawConnection, dumps, initialize_message, mcp_headers, rpc, wait_until_async

# The SDK flags logging/ping/subscribe as deprecated for 2026-07-28; they are current at 2025-11-25.
pytestmark = [pytest.mark.switchyard(**CONFORMANCE_SERVER), pytest.mark.timeout(20),
              pytest.mark.filterwarnings("ignore:.*deprecated as of 2026-07-28")]


def legacy_client(srv, **kw) -> Client:
    return Client(srv.url, mode="legacy", cache=None, read_timeout_seconds=10, **kw)


async def _call(srv, name, arguments=None, **kw):
    async with legacy_client(srv, **kw) as c:
        assert c.protocol_version == LEGACY, c.protocol_version
        return await c.call_tool(name, arguments)


def _no_keys_raw(srv, method: str, params: dict):
    """The suite asserts `Object.keys(result).length === 0`; the typed client ignores unknown keys,
    so the exact wire result is checked on a raw session too."""
    with RawConnection(srv.host, srv.port) as conn:
        sid = conn.initialize()
        req = rpc(method, params)
        r = conn.post(req, session=sid)
        assert r.status == 200, r
        msg = r.json()
        assert msg.get("id") == req["id"] and msg.get("result") == {}, msg
        conn.request("DELETE", "/mcp", {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY})


# ---- lifecycle / utilities ------------------------------------------------------------------

def test_server_initialize(shared_server):
    """server-initialize: the SDK connects (check `server-initialize`); a raw initialize with
    `mcp-protocol-version: 2025-11-25` returns a session id of visible ASCII
    (`server-session-id-visible-ascii`; absent would only be INFO)."""
    async def connect():
        async with legacy_client(shared_server) as c:
            assert c.protocol_version == LEGACY
            assert c.session.initialize_result is not None
            return c.server_info
    info = run(connect)
    assert info is not None and info.name and info.version, info

    with RawConnection(shared_server.host, shared_server.port) as conn:
        init = rpc("initialize", {"protocolVersion": LEGACY, "capabilities": {},
                                  "clientInfo": {"name": "conformance-session-id-test", "version": "1.0.0"}})
        r = conn.post(init, version=LEGACY)
        assert r.status == 200, r
        assert r.json()["result"]["protocolVersion"] == LEGACY, r
        sid = r.header("mcp-session-id")
        if sid is not None:
            assert re.fullmatch(r"[\x21-\x7E]+", sid), f"session id not visible ASCII: {sid!r}"
            d = conn.request("DELETE", "/mcp", {"mcp-session-id": sid, "mcp-protocol-version": LEGACY})
            assert d.status < 500, d


def test_logging_set_level(shared_server):
    """logging-set-level: `logging/setLevel {level:"info"}` -> a result with no keys."""
    async def go():
        async with legacy_client(shared_server) as c:
            return await c.set_logging_level("info")
    r = run(go)
    assert dump(r) == {}, dump(r)
    _no_keys_raw(shared_server, "logging/setLevel", {"level": "info"})


def test_ping(shared_server):
    """ping: `ping` -> a result with no keys."""
    async def go():
        async with legacy_client(shared_server) as c:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return await c.send_ping()
    r = run(go)
    assert dump(r) == {}, dump(r)
    _no_keys_raw(shared_server, "ping", {})


def test_completion_complete(shared_server):
    """completion-complete: `completion/complete` for ref/prompt test_prompt_with_arguments, arg1="test"
    -> `completion.values` is an array (empty allowed)."""
    async def go():
        async with legacy_client(shared_server) as c:
            return await c.complete(t.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
                                    {"name": "arg1", "value": "test"})
    r = run(go)
    assert isinstance(r.completion.values, list), r


# ---- tools ----------------------------------------------------------------------------------

def test_tools_list(shared_server):
    """tools-list (+ tools-name-format): a `tools` array; every tool has a name, a description and an
    inputSchema; every name is 1-64 chars of [A-Za-z0-9_./-]."""
    async def go():
        async with legacy_client(shared_server) as c:
            return await c.list_tools()
    r = run(go)
    assert isinstance(r.tools, list) and r.tools, r
    for tool in r.tools:
        assert tool.name and tool.description and tool.input_schema, tool
        assert 1 <= len(tool.name) <= 64 and NAME_RE.match(tool.name), tool.name
    names = {tool.name for tool in r.tools}
    assert {"test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
            "test_multiple_content_types", "test_tool_with_logging", "test_error_handling",
            "test_tool_with_progress", "test_sampling", "test_elicitation", "test_elicitation_sep1034_defaults",
            "test_elicitation_sep1330_enums"} <= names, names


def test_tools_call_simple_text(shared_server):
    """tools-call-simple-text: `tools/call test_simple_text` without `arguments` -> a non-empty
    content array with a text item whose text is non-empty."""
    r = run(_call, shared_server, "test_simple_text", None)
    assert r.content, r
    assert any(c.type == "text" and c.text for c in r.content), r


def test_tools_call_image(shared_server):
    """tools-call-image: an image item with data and mimeType."""
    r = run(_call, shared_server, "test_image_content", {})
    assert any(c.type == "image" and c.data and c.mime_type for c in r.content), r


def test_tools_call_audio(shared_server):
    """tools-call-audio: non-empty content with an audio item, data set, mimeType audio/wav."""
    r = run(_call, shared_server, "test_audio_content", {})
    assert r.content, r
    assert any(c.type == "audio" and c.data and c.mime_type == "audio/wav" for c in r.content), r


def test_tools_call_embedded_resource(shared_server):
    """tools-call-embedded-resource: a resource item with resource.uri, .mimeType and text or blob."""
    r = run(_call, shared_server, "test_embedded_resource", {})
    items = [c for c in r.content if c.type == "resource"]
    assert items, r
    res = dump(items[0].resource)
    assert res.get("uri") and res.get("mimeType") and (res.get("text") or res.get("blob")), res


def test_tools_call_mixed_content(shared_server):
    """tools-call-mixed-content: >= 2 items including text, image and resource."""
    r = run(_call, shared_server, "test_multiple_content_types", {})
    types = [c.type for c in r.content]
    assert len(types) >= 2 and {"text", "image", "resource"} <= set(types), types


def test_tools_call_error(shared_server):
    """tools-call-error: a result (not a JSON-RPC error) with isError true and content[0].text set."""
    r = run(_call, shared_server, "test_error_handling", {})
    assert r.is_error is True, r
    assert r.content and r.content[0].type == "text" and r.content[0].text, r


def test_tools_call_with_progress(shared_server):
    """tools-call-with-progress: `_meta.progressToken = "progress-test-1"` -> at least 3
    notifications/progress for that token, the first three with nondecreasing progress."""
    seen: list = []

    async def handler(msg):
        if isinstance(msg, t.ProgressNotification):
            seen.append(msg.params)

    def mine_so_far():
        return [p for p in seen if p.progress_token == "progress-test-1"]

    async def go():
        async with legacy_client(shared_server, message_handler=handler) as c:
            r = await c.call_tool("test_tool_with_progress", {}, meta={"progressToken": "progress-test-1"})
            # They came before the result on its stream; the client may still be dispatching them.
            await wait_until_async(lambda: len(mine_so_far()) >= 3, 5, what=lambda: f"3 progress notifications: {seen}")
            return r
    r = run(go)
    assert not r.is_error, r
    mine = mine_so_far()
    assert len(mine) >= 3, seen
    first = [p.progress for p in mine[:3]]
    assert first == sorted(first), first


def test_tools_call_with_logging(shared_server):
    """tools-call-with-logging: after `logging/setLevel debug`, `tools/call test_tool_with_logging`
    yields >= 3 notifications/message within 200 ms of the result (any stream)."""
    logs: list = []

    async def on_log(params):
        logs.append(params)

    async def go():
        async with legacy_client(shared_server, logging_callback=on_log) as c:
            await c.set_logging_level("debug")
            r = await c.call_tool("test_tool_with_logging", {})
            # The scenario's own bound: within 200 ms of the result.
            await wait_until_async(lambda: len(logs) >= 3, 0.2, what=lambda: f"3 log notifications: {logs}")
            return r
    r = run(go)
    assert not r.is_error, r
    assert len(logs) >= 3, logs


SAMPLING_REPLY = t.CreateMessageResult(role="assistant", content=t.TextContent(
    type="text", text="This is a test response from the client"), model="test-model", stop_reason="endTurn")


def test_tools_call_sampling(shared_server):
    """tools-call-sampling: the server sends sampling/createMessage during `tools/call test_sampling
    {prompt}`; the client's handler is invoked and the result has content."""
    asked: list = []

    async def sampling(ctx, params):
        asked.append(params)
        return SAMPLING_REPLY

    r = run(_call, shared_server, "test_sampling", {"prompt": "Test prompt for sampling"}, sampling_callback=sampling)
    assert asked, f"sampling handler never invoked; result {r}"
    assert r.content, r


def _elicit_test(srv, tool, arguments, reply):
    asked: list = []

    async def elicit(ctx, params):
        asked.append(params)
        return t.ElicitResult(action="accept", content=reply)

    r = run(_call, srv, tool, arguments, elicitation_callback=elicit)
    return asked, r


def test_tools_call_elicitation(shared_server):
    """tools-call-elicitation: the server sends elicitation/create during `tools/call test_elicitation
    {message}`; the handler is invoked and the result has content."""
    asked, r = _elicit_test(shared_server, "test_elicitation", {"message": "Please provide your information"},
                            {"username": "testuser", "email": "test@example.com"})
    assert asked, f"elicitation handler never invoked; result {r}"
    assert r.content, r


def test_elicitation_sep1034_defaults(shared_server):
    """elicitation-sep1034-defaults: the elicitation's requestedSchema carries defaults: name string
    "John Doe", age integer 30, score number 95.5, status string enum with default "active" in it,
    verified boolean true."""
    asked, r = _elicit_test(shared_server, "test_elicitation_sep1034_defaults", {},
                            {"name": "Jane Smith", "age": 25, "score": 88.0, "status": "inactive", "verified": False})
    assert asked, f"elicitation handler never invoked; result {r}"
    props = dump(asked[0])["requestedSchema"]["properties"]
    assert props["name"]["type"] == "string" and props["name"]["default"] == "John Doe", props
    assert props["age"]["type"] == "integer" and props["age"]["default"] == 30, props
    assert props["score"]["type"] == "number" and props["score"]["default"] == 95.5, props
    st = props["status"]
    assert st["type"] == "string" and isinstance(st["enum"], list) and st["default"] == "active" \
        and st["default"] in st["enum"], st
    assert props["verified"]["type"] == "boolean" and props["verified"]["default"] is True, props


def test_elicitation_sep1330_enums(shared_server):
    """elicitation-sep1330-enums: untitledSingle (string enum, no oneOf/enumNames), titledSingle
    (string oneOf {const,title}, no enum), legacyEnum (string enum + enumNames of equal length),
    untitledMulti (array, items string enum, no items.anyOf), titledMulti (array, items.anyOf
    {const,title}, no items.enum)."""
    asked, r = _elicit_test(shared_server, "test_elicitation_sep1330_enums", {},
                            {"untitledSingle": "option1", "titledSingle": "value1", "legacyEnum": "opt1",
                             "untitledMulti": ["option1", "option2"], "titledMulti": ["value1", "value2"]})
    assert asked, f"elicitation handler never invoked; result {r}"
    p = dump(asked[0])["requestedSchema"]["properties"]
    us = p["untitledSingle"]
    assert us["type"] == "string" and isinstance(us.get("enum"), list) and "oneOf" not in us \
        and "enumNames" not in us, us
    ts = p["titledSingle"]
    assert ts["type"] == "string" and "enum" not in ts and isinstance(ts.get("oneOf"), list) and ts["oneOf"], ts
    assert all(isinstance(o.get("const"), str) and isinstance(o.get("title"), str) for o in ts["oneOf"]), ts
    le = p["legacyEnum"]
    assert le["type"] == "string" and isinstance(le.get("enum"), list) \
        and isinstance(le.get("enumNames"), list) and len(le["enumNames"]) == len(le["enum"]), le
    um = p["untitledMulti"]
    assert um["type"] == "array" and um["items"]["type"] == "string" and isinstance(um["items"].get("enum"), list) \
        and "anyOf" not in um["items"], um
    tm = p["titledMulti"]
    assert tm["type"] == "array" and isinstance(tm["items"].get("anyOf"), list) and tm["items"]["anyOf"] \
        and "enum" not in tm["items"], tm
    assert all(isinstance(o.get("const"), str) and isinstance(o.get("title"), str) for o in tm["items"]["anyOf"]), tm


# ---- streams / transport --------------------------------------------------------------------

def test_server_sse_multiple_streams(shared_server):
    """server-sse-multiple-streams: on one session, three concurrent POST tools/list (ids 1000-1002,
    Accept `text/event-stream, application/json`) all answer ok; an SSE answer delivers an event
    within 2 s (server-accepts-multiple-post-streams, server-sse-streams-functional)."""
    with RawConnection(shared_server.host, shared_server.port) as conn:
        sid = conn.initialize()
        results: dict = {}

        def one(i):
            h = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json",
                 "mcp-session-id": sid, "mcp-protocol-version": LEGACY}
            try:
                results[i] = read_first_event(shared_server, h, dumps(rpc("tools/list", {}, id=i)), timeout=2.0)
            except Exception as e:  # a read exception is what the suite calls non-functional
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
            assert 200 <= status < 300, (i, status)
            if "text/event-stream" in ctype and first is not None:
                msg = json.loads(first["data"])
                assert msg.get("id") == i or "method" in msg, msg
        d = conn.request("DELETE", "/mcp", {"mcp-session-id": sid, "mcp-protocol-version": LEGACY})
        assert d.status < 500, d


def test_dns_rebinding_protection(shared_server):
    """dns-rebinding-protection: an initialize with `Host: evil.example.com` / `Origin:
    http://evil.example.com` gets a 4xx; the same with the server's own host:port gets a 2xx."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": LEGACY, "capabilities": {},
        "clientInfo": {"name": "conformance-dns-rebinding-test", "version": "1.0.0"}}}
    body = dumps(init)
    base = stateless_headers("initialize", init["params"], version=LEGACY)

    evil = post_with_host(shared_server, "evil.example.com", {**base, "Origin": "http://evil.example.com"}, body)
    assert 400 <= evil.status < 500, evil

    own = f"{shared_server.host}:{shared_server.port}"
    ok = post_with_host(shared_server, own, {**base, "Origin": f"http://{own}"}, body)
    assert 200 <= ok.status < 300, ok


def test_server_session_lifecycle(shared_server):
    """server-session-lifecycle (run but not scored at 2025-11-25): initialize -> session id;
    notifications/initialized -> 2xx; DELETE -> 2xx; tools/list with the dead id -> 404."""
    with RawConnection(shared_server.host, shared_server.port) as conn:
        r = conn.post(initialize_message(), version=None)
        assert r.status == 200, r
        sid = r.header("mcp-session-id")
        assert sid, r
        n = conn.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid)
        assert 200 <= n.status < 300, n
        d = conn.request("DELETE", "/mcp", {"mcp-session-id": sid, "MCP-Protocol-Version": LEGACY})
        assert 200 <= d.status < 300, d
        gone = conn.request("POST", "/mcp", mcp_headers(sid), dumps(rpc("tools/list", {})))
        assert gone.status == 404, gone


# ---- resources ------------------------------------------------------------------------------

async def _with_client(srv, fn):
    async with legacy_client(srv) as c:
        return await fn(c)


def test_resources_list(shared_server):
    """resources-list: a `resources` array; each entry has uri and name."""
    r = run(_with_client, shared_server, lambda c: c.list_resources())
    assert isinstance(r.resources, list) and r.resources, r
    for res in r.resources:
        assert res.uri and res.name, res


def test_resources_read_text(shared_server):
    """resources-read-text: test://static-text -> non-empty contents; contents[0] has uri, mimeType
    and non-empty text."""
    r = run(_with_client, shared_server, lambda c: c.read_resource("test://static-text"))
    assert r.contents, r
    c0 = dump(r.contents[0])
    assert c0.get("uri") and c0.get("mimeType") and c0.get("text"), c0


def test_resources_read_binary(shared_server):
    """resources-read-binary: test://static-binary -> contents[0] has uri, mimeType, non-empty blob."""
    r = run(_with_client, shared_server, lambda c: c.read_resource("test://static-binary"))
    assert r.contents, r
    c0 = dump(r.contents[0])
    assert c0.get("uri") and c0.get("mimeType") and c0.get("blob"), c0


def test_resources_templates_read(shared_server):
    """resources-templates-read: test://template/123/data -> contents[0] has a uri and text or blob;
    the text contains "123"."""
    r = run(_with_client, shared_server, lambda c: c.read_resource("test://template/123/data"))
    assert r.contents, r
    c0 = dump(r.contents[0])
    assert c0.get("uri") and ("text" in c0 or "blob" in c0), c0
    if "text" in c0:
        assert "123" in c0["text"], c0


def test_resources_subscribe(shared_server):
    """resources-subscribe: `resources/subscribe test://watched-resource` -> any result (no error)."""
    async def go(c):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return await c.subscribe_resource("test://watched-resource")
    run(_with_client, shared_server, go)


def test_resources_unsubscribe(shared_server):
    """resources-unsubscribe: subscribe, then `resources/unsubscribe` of the same uri -> results."""
    async def go(c):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await c.subscribe_resource("test://watched-resource")
            return await c.unsubscribe_resource("test://watched-resource")
    run(_with_client, shared_server, go)


# ---- prompts --------------------------------------------------------------------------------

def test_prompts_list(shared_server):
    """prompts-list: a `prompts` array; each has a name and a description."""
    r = run(_with_client, shared_server, lambda c: c.list_prompts())
    assert isinstance(r.prompts, list) and r.prompts, r
    for p in r.prompts:
        assert p.name and p.description, p


def test_prompts_get_simple(shared_server):
    """prompts-get-simple: test_simple_prompt (no arguments) -> non-empty messages with role and content."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt("test_simple_prompt"))
    assert r.messages, r
    for m in r.messages:
        assert m.role and m.content, m


def test_prompts_get_with_args(shared_server):
    """prompts-get-with-args: the serialized messages contain testValue1 and testValue2."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt(
        "test_prompt_with_arguments", {"arg1": "testValue1", "arg2": "testValue2"}))
    text = json.dumps([dump(m) for m in r.messages])
    assert "testValue1" in text and "testValue2" in text, text


def test_prompts_get_embedded_resource(shared_server):
    """prompts-get-embedded-resource: a message whose content is of type resource."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt(
        "test_prompt_with_embedded_resource", {"resourceUri": "test://example-resource"}))
    assert any(dump(m)["content"].get("type") == "resource" or "resource" in dump(m)["content"]
               for m in r.messages), r


def test_prompts_get_with_image(shared_server):
    """prompts-get-with-image: a message with image content carrying data and mimeType."""
    r = run(_with_client, shared_server, lambda c: c.get_prompt("test_prompt_with_image"))
    assert any(dump(m)["content"].get("type") == "image" and dump(m)["content"].get("data")
               and dump(m)["content"].get("mimeType") for m in r.messages), r
