"""A stdio MCP server written with the official Python SDK, pooled behind Switchyard in
test_upstream.py and bench/upstream.sh.

    python fastmcp_server.py            serve on stdin/stdout
    python fastmcp_server.py --garbage  write a line that is not JSON-RPC, then wait (a broken server)
    python fastmcp_server.py --exit     exit at once with status 3
    --no-resources                      serve no resource; --tag WORD is ignored (it marks the processes)
    --late-conflict                     serve only `add_say`, which adds a tool named `say` at run time
    --slow-start FILE                   when FILE exists at start, wait 3 s before serving (a copy that
                                        takes long to start again, while the first ones start at once)
"""

import asyncio
import os
import sys
import time

from pydantic import BaseModel

if "--late-conflict" in sys.argv:
    # A second upstream whose catalog meets the first one's only after start-up (list_changed).
    from mcp.server.mcpserver import Context as LateContext, MCPServer as LateServer

    late = LateServer("switchyard-late-conflict")

    @late.tool()
    async def add_say(ctx: LateContext) -> str:
        """Adds a tool named `say`, as the other upstream serves, and says the tool list changed."""
        def say(text: str) -> str:
            """The late `say`."""
            return "late " + text
        late.add_tool(say, name="say")
        await ctx.session.send_tool_list_changed()
        return "added"

    late.run("stdio")
    sys.exit(0)

if "--garbage" in sys.argv:
    print("this is not JSON-RPC", flush=True)
    time.sleep(60)
    sys.exit(0)
if "--exit" in sys.argv:
    print("starting... no, giving up", file=sys.stderr, flush=True)
    sys.exit(3)

if "--slow-start" in sys.argv and os.path.exists(sys.argv[sys.argv.index("--slow-start") + 1]):
    time.sleep(3)

import mcp_types  # noqa: E402
from mcp.server.mcpserver import Context, MCPServer  # noqa: E402

server = MCPServer("switchyard-upstream-test")
calls = 0
cancelled: list[float] = []


@server.tool()
def say(text: str) -> str:
    """Returns its argument."""
    return text


@server.tool()
def copy_pid() -> int:
    """The process id of the copy that ran the call."""
    return os.getpid()


@server.tool()
async def block(seconds: float) -> int:
    """Blocks the copy's event loop (time.sleep in a coroutine, as careless servers do), so the
    copy serves nothing else meanwhile; then returns its process id."""
    time.sleep(seconds)
    return os.getpid()


@server.tool()
async def wait(seconds: float) -> int:
    """Waits without blocking the copy, then returns its process id."""
    await asyncio.sleep(seconds)
    return os.getpid()


@server.tool()
def counter() -> int:
    """Counts the calls this copy has served: state that belongs to one copy."""
    global calls
    calls += 1
    return calls


async def _report_pid_and_wait(seconds: float, ctx: Context) -> int:
    # The pid goes out first as a progress message: a test learns which copy runs the call.
    await ctx.report_progress(0, 1, f"pid {os.getpid()}")
    await asyncio.sleep(seconds)
    return os.getpid()


@server.tool(annotations=mcp_types.ToolAnnotations(readOnlyHint=True, idempotentHint=True))
async def idempotent_wait(seconds: float, ctx: Context) -> int:
    """Read-only and idempotent (may run again on another copy): says its pid in a progress
    message, waits, then returns the pid."""
    return await _report_pid_and_wait(seconds, ctx)


@server.tool(annotations=mcp_types.ToolAnnotations(readOnlyHint=False, idempotentHint=False))
async def once_wait(seconds: float, ctx: Context) -> int:
    """`idempotent_wait` marked neither read-only nor idempotent (must not run twice)."""
    return await _report_pid_and_wait(seconds, ctx)


@server.tool()
async def cancellable(seconds: float) -> str:
    """Waits; a cancelled wait is counted (see `cancelled_calls`)."""
    try:
        await asyncio.sleep(seconds)
    except BaseException:
        cancelled.append(time.time())
        raise
    return "finished"


@server.tool()
def cancelled_calls() -> int:
    """How many `cancellable` calls were cancelled (on this copy)."""
    return len(cancelled)


@server.tool()
def shout(text: str) -> str:
    """Writes `text` on the copy's stderr (one line)."""
    print(text, file=sys.stderr, flush=True)
    return "shouted"


class Surroundings(BaseModel):
    value: str | None
    cwd: str


@server.tool()
def environment(name: str) -> Surroundings:
    """The copy's environment variable `name` (null when unset) and its working directory."""
    return Surroundings(value=os.environ.get(name), cwd=os.getcwd())


@server.tool()
async def chat(text: str, ctx: Context) -> str:
    """Sends `text` as a log message (notifications/message, level info) during the call."""
    await ctx.info(text)
    return "said"


class Name(BaseModel):
    name: str


@server.tool()
async def ask_name(ctx: Context) -> str:
    """Asks the user for a name through the client (elicitation)."""
    result = await ctx.elicit("What is your name?", Name)
    if result.action == "accept" and result.data is not None:
        return f"hello {result.data.name}"
    return f"no name ({result.action})"


@server.tool()
async def ask_briefly(seconds: float, ctx: Context) -> str:
    """Asks for a name but waits only `seconds`: the SDK then withdraws its request
    (notifications/cancelled) and the tool answers without a name."""
    try:
        result = await asyncio.wait_for(ctx.elicit("Quick: your name?", Name), seconds)
    except asyncio.TimeoutError:
        return "gave up"
    return f"hello {result.data.name}" if result.action == "accept" and result.data else f"no name ({result.action})"


@server.tool()
async def list_roots(ctx: Context) -> str:
    """Asks the client for its roots (roots/list); returns their URIs, comma-separated."""
    result = await ctx.session.list_roots()
    return ",".join(str(root.uri) for root in result.roots)


@server.tool()
async def steps(count: int, ctx: Context) -> str:
    """Reports progress `count` times."""
    for i in range(count):
        await ctx.report_progress(i + 1, count, f"step {i + 1}")
        await asyncio.sleep(0.01)
    return f"{count} steps"


@server.tool()
async def grow(ctx: Context) -> str:
    """Adds the tool `grown` to this copy and says the tool list changed."""
    def grown() -> str:
        """Added at run time."""
        return "grown"
    server.add_tool(grown, name="grown")
    await ctx.session.send_tool_list_changed()
    return "added"


if "--no-resources" not in sys.argv:  # a second copy of this server behind one front (URIs have no prefix)
    @server.resource("info://server")
    def info() -> str:
        """What this server is."""
        return "a FastMCP test upstream"

    # resources/subscribe (MCPServer has no decorator for it): the URIs this copy was asked about.
    subscribed: set[str] = set()

    async def on_subscribe(ctx, params: mcp_types.SubscribeRequestParams) -> mcp_types.EmptyResult:
        subscribed.add(str(params.uri))
        return mcp_types.EmptyResult()

    server._lowlevel_server.add_request_handler("resources/subscribe", mcp_types.SubscribeRequestParams, on_subscribe)

    @server.tool()
    async def touch(ctx: Context) -> str:
        """Says info://server changed, if this copy was asked to report it."""
        if "info://server" not in subscribed:
            return "not subscribed"
        await ctx.session.send_resource_updated("info://server")
        return "updated"


@server.prompt()
def greet(name: str) -> str:
    """A greeting for `name`."""
    return f"Say hello to {name}."


if __name__ == "__main__":
    server.run("stdio")
