"""Output checks at the front, for every executor: a result larger than --max-result is an error
to the client naming the tool (and a log line), never a crash; other calls go on. (Results must
also be valid JSON in valid UTF-8: Tests/CSupportTests/ReplyScannerTests.swift.)"""

from __future__ import annotations

from sy_http import RawConnection, expect_rpc_error, expect_tool_text, rpc, wait_until


def test_result_over_the_limit_is_an_error(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--max-result", "2048"])
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        big = c.post(rpc("tools/call", {"name": "echo", "arguments": {"text": "x" * 4000}}, id="big"), session=sid)
        msg = expect_rpc_error(big, 200, -32603, id="big")
        assert "echo" in msg["error"]["message"] and "2048" in msg["error"]["message"], msg
        expect_tool_text(c.call_tool(sid, "echo", {"text": "small"}), "small")
    wait_until(lambda: "result too large" in srv.stderr_tail(100) and "tool=echo" in srv.stderr_tail(100), 5,
               what="a log line naming the tool")


def test_structured_content_must_conform_to_the_output_schema(server_factory):
    from conftest import REPO
    cmd = "python3 " + str(REPO / "Tests" / "Integration" / "executors" / "bad_output_executor.py")
    srv = server_factory(fronts=1, executors=0, tools=None, executor_cmds=[cmd])
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        ok = c.post(rpc("tools/call", {"name": "py_word_count", "arguments": {"text": "a b c"}}), session=sid)
        assert ok.status == 200 and ok.json()["result"]["structuredContent"] == {"words": 3}, ok
        bad = c.post(rpc("tools/call", {"name": "py_bad_structured", "arguments": {}}, id="b"), session=sid)
        msg = expect_rpc_error(bad, 200, -32603, id="b")
        assert "py_bad_structured" in msg["error"]["message"] and "/words" in msg["error"]["message"], msg
        none = c.post(rpc("tools/call", {"name": "py_no_structured", "arguments": {}}, id="n"), session=sid)
        msg = expect_rpc_error(none, 200, -32603, id="n")
        assert "no structuredContent" in msg["error"]["message"], msg
    wait_until(lambda: "tool=py_bad_structured" in srv.stderr_tail(100), 5, what="a log line naming the tool")
