"""The FastMCP test server of fastmcp_server.py (same tools, resources and prompts), served over
Streamable HTTP instead of stdio: a remote upstream for test_upstream_remote.py and bench/upstream.sh.

    python fastmcp_http_server.py --port N [--json] [--token T] [--cert F --key F]

--json        answer calls with one JSON body instead of an SSE stream
--token T     refuse (401) requests without `Authorization: Bearer T`
--legacy-only refuse 2026-07-28 requests (400, as a server of 2025-11-25 only does)
--cert/--key  serve HTTPS with this certificate and key
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fastmcp_server  # noqa: E402  (defines the tools on its `server`, `cancellable` among them)
import uvicorn  # noqa: E402
from mcp.server.mcpserver import Context  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--json", action="store_true")
parser.add_argument("--token")
parser.add_argument("--legacy-only", action="store_true")
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--tag")  # ignored: marks the process
args, _ = parser.parse_known_args()

server = fastmcp_server.server


@server.tool()
async def announce(ctx: Context) -> str:
    """Adds the tool `announced` and says the tool list changed on both eras' channels
    (`grow` only tells a 2025-11-25 session)."""
    def announced() -> str:
        """Added at run time."""
        return "announced"
    server.add_tool(announced, name="announced")
    await ctx.notify_tools_changed()  # 2026-07-28: subscriptions/listen streams
    await ctx.session.send_tool_list_changed()  # 2025-11-25: the session's streams
    return "added"


app = server.streamable_http_app(json_response=args.json)


async def guarded(scope, receive, send):
    """Bearer-token check in front of the MCP app (lifespan events pass through)."""
    if scope["type"] == "http" and args.token is not None:
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if auth != b"Bearer " + args.token.encode():
            body = b'{"error":"unauthorized"}'
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": body})
            return
    if scope["type"] == "http" and args.legacy_only:
        version = dict(scope["headers"]).get(b"mcp-protocol-version", b"")
        if version.startswith(b"2026"):
            body = (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,'
                    b'"message":"Bad Request: Unsupported protocol version"}}')
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
    await app(scope, receive, send)


uvicorn.run(guarded, host="127.0.0.1", port=args.port, log_level="warning",
            ssl_certfile=args.cert, ssl_keyfile=args.key)
