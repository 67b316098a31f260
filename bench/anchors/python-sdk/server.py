"""The official MCP Python SDK serving an `echo` tool, stateless with JSON answers, for the
benchmark's side-by-side runs. Run under uvicorn (bench/run.sh starts it):

    uvicorn --app-dir bench/anchors/python-sdk server:app --port 18184 --workers 2
"""

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("python-sdk-anchor")


@mcp.tool()
def echo(text: str) -> str:
    """Returns the given text unchanged."""
    return text


app = mcp.streamable_http_app(json_response=True, stateless_http=True)
