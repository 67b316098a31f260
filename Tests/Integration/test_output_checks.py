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
