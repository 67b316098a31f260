#!/usr/bin/env python3
"""Reference Switchyard executor (protocol v1), Python 3.11 standard library only.

    python3 reference_executor.py --socket PATH [--name NAME]

Falls back to SWITCHYARD_SOCKET / SWITCHYARD_EXECUTOR_NAME when the flags are
absent. If SWITCHYARD_READY_FD is set, writes "READY\\n" to it once listening.
Hosts three tools: py_reverse, py_word_count, py_sleep. Logs one line per event
to stderr; never writes to stdout. See ../executor-protocol.md.
"""

import argparse
import asyncio
import json
import os
import signal
import stat
import struct
import sys
import time

# ---- wire format -------------------------------------------------------------

HEADER = struct.Struct(">2sBBB3sQI")  # magic, version, type, flags, reserved, stream, length
CALL_HEAD = struct.Struct(">BBHI")    # kind, reserved, name length, meta length
MAGIC, VERSION, MAX_FRAME = b"SY", 1, 16 * 1024 * 1024
SUPPORTED_VERSIONS = [1]
FLAG_COMPRESSED = 0x01

HELLO, READY = 0x01, 0x02
CALL, RESULT, ERROR, PROGRESS, NOTIFY, CANCEL = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15
PING, PONG, DRAIN, GOODBYE = 0x20, 0x21, 0x30, 0x31
REQUEST, RESPONSE, CATALOG = 0x16, 0x17, 0x18  # this executor sends no REQUEST/CATALOG; RESPONSE is skipped
KIND_TOOLS_CALL = 1


class Malformed(Exception):
    """A frame that violates the protocol: the link is closed without answering."""


def log(event, **fields):
    extra = " ".join("%s=%s" % (k, json.dumps(v, ensure_ascii=False)) for k, v in fields.items())
    print("%s executor %s %s" % (time.strftime("%H:%M:%S"), event, extra), file=sys.stderr, flush=True)


def compact(obj) -> bytes:
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert b"\n" not in data and b"\r" not in data  # json.dumps escapes them inside strings
    return data


def encode(type_, stream, payload=b"") -> bytes:
    return HEADER.pack(MAGIC, VERSION, type_, 0, b"\0\0\0", stream, len(payload)) + payload


async def read_frame(reader, max_frame):
    """Returns (type, flags, stream, payload); None on a clean EOF between frames."""
    try:
        head = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise Malformed("truncated header")
        return None
    magic, version, type_, flags, reserved, stream, length = HEADER.unpack(head)
    if magic != MAGIC:
        raise Malformed("bad-magic")
    if version != VERSION:
        raise Malformed("bad-version")
    if flags & ~FLAG_COMPRESSED:
        raise Malformed("bad-flags")
    if reserved != b"\0\0\0":
        raise Malformed("bad-reserved")
    if length > max_frame:
        raise Malformed("too-large")
    try:
        payload = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise Malformed("truncated payload")
    return type_, flags, stream, payload


def parse_call(payload):
    """Returns (kind, name, meta bytes, arguments bytes) or raises Malformed."""
    if len(payload) < CALL_HEAD.size:
        raise Malformed("CALL payload shorter than 8 bytes")
    kind, reserved, n, m = CALL_HEAD.unpack_from(payload)
    if reserved != 0:
        raise Malformed("CALL reserved byte not 0")
    if CALL_HEAD.size + n + m > len(payload):
        raise Malformed("CALL lengths overflow the payload")
    try:
        name = payload[8:8 + n].decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("CALL name is not UTF-8")
    return kind, name, payload[8 + n:8 + n + m], payload[8 + n + m:]


# ---- tools -------------------------------------------------------------------

class InvalidArguments(Exception):
    pass


JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool,
              "object": dict, "array": list}


def validate(schema, args):
    """A deliberately tiny subset of JSON Schema: required + property types + integer bounds."""
    for key in schema.get("required", []):
        if key not in args:
            raise InvalidArguments("missing required argument '%s'" % key)
    for key, prop in schema.get("properties", {}).items():
        if key not in args:
            continue
        value, want = args[key], prop.get("type")
        ok = isinstance(value, JSON_TYPES[want]) and not (isinstance(value, bool) and want in ("integer", "number"))
        if not ok:
            raise InvalidArguments("argument '%s' must be of type %s" % (key, want))
        if "minimum" in prop and value < prop["minimum"] or "maximum" in prop and value > prop["maximum"]:
            raise InvalidArguments("argument '%s' is out of range" % key)


def text_result(text, **more):
    return {"content": [{"type": "text", "text": text}], "isError": False, **more}


async def py_reverse(args, call):
    return text_result(args["text"][::-1])


async def py_word_count(args, call):
    words = len(args["text"].split())
    # MCP: a tool with structured output SHOULD also return it serialized as text.
    return text_result(compact({"words": words}).decode(), structuredContent={"words": words})


async def py_sleep(args, call):
    ms, slices = args["ms"], 10
    for i in range(slices):
        await asyncio.sleep(ms / 1000 / slices)  # cancellation lands here
        await call.progress(i + 1, slices, "slept %d of %d ms" % ((i + 1) * ms // slices, ms))
    return text_result("slept %d ms" % ms)


TOOLS = {
    "py_reverse": (py_reverse, {
        "name": "py_reverse", "title": "Reverse text",
        "description": "Returns the text reversed, character by character.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        "annotations": {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False},
    }),
    "py_word_count": (py_word_count, {
        "name": "py_word_count", "title": "Count words",
        "description": "Counts whitespace-separated words.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        "outputSchema": {"type": "object", "properties": {"words": {"type": "integer"}}, "required": ["words"]},
        "annotations": {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False},
        # A pure function of its arguments: fronts may answer repeats from their result cache for
        # a minute, for every caller (executor-protocol.md, "Switchyard hints in a Tool's _meta").
        "_meta": {"io.switchyard/cacheTtlMs": 60000, "io.switchyard/cacheScope": "shared"},
    }),
    "py_sleep": (py_sleep, {
        "name": "py_sleep", "title": "Sleep",
        "description": "Sleeps for ms milliseconds, reporting progress when asked.",
        "inputSchema": {"type": "object", "required": ["ms"],
                        "properties": {"ms": {"type": "integer", "minimum": 0, "maximum": 600000}}},
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    }),
}


# ---- links -------------------------------------------------------------------

def call_context(meta):
    """Normalizes CALL meta (section 5.3.1): the context object of current fronts, or the bare
    request `_meta` older fronts sent (an object without "era" is {"_meta": it, "era": "legacy"})."""
    if "era" not in meta:
        return {"_meta": meta, "era": "legacy"}
    if meta["era"] not in ("legacy", "modern") or not isinstance(meta.get("_meta", {}), (dict, type(None))):
        raise ValueError("invalid call meta")
    return meta


class CallContext:
    """What a running tool sees of its call: its context, and a way to report progress."""

    def __init__(self, link, stream, meta):
        self.link, self.stream = link, stream
        self.context = call_context(meta)
        self.meta = self.context.get("_meta") or {}  # the client's request _meta
        self.era = self.context["era"]

    async def progress(self, progress, total, message):
        if self.meta.get("progressToken") is not None:  # only when the client asked for progress
            body = {"progress": progress, "total": total, "message": message}
            await self.link.send(PROGRESS, self.stream, compact(body))


class Link:
    """One connected front. Reads frames in order; each CALL runs in its own task."""

    def __init__(self, executor, reader, writer, link_id):
        self.executor, self.reader, self.writer, self.id = executor, reader, writer, link_id
        self.peer_max_frame = MAX_FRAME
        self.ready = False      # READY sent
        self.closed = False
        self.inflight = {}      # stream id -> task running the tool (what CANCEL cancels)
        self.answers = set()    # tasks that will send each call's one terminal frame
        self.write_lock = asyncio.Lock()

    async def send(self, type_, stream, payload=b""):
        if self.closed:
            return
        if len(payload) > self.peer_max_frame:  # never send what the peer said it cannot take
            type_, payload = ERROR, compact({"code": -32603, "message": "result exceeds the front's maxFrame"})
        self.writer.write(encode(type_, stream, payload))  # one write per frame keeps frames whole
        async with self.write_lock:
            try:
                await self.writer.drain()
            except ConnectionError:
                self.closed = True

    async def serve(self):
        log("link.open", link=self.id)
        try:
            if await self.handshake():
                while not self.closed:
                    frame = await read_frame(self.reader, MAX_FRAME)
                    if frame is None:  # EOF: the front closed the link (or we did, while draining)
                        break
                    if not await self.dispatch(*frame):
                        break
        except Malformed as e:
            log("link.malformed", link=self.id, reason=str(e))
        except ConnectionError as e:
            log("link.dropped", link=self.id, reason=str(e))
        finally:
            self.close()

    async def handshake(self):
        """Reads HELLO and answers READY; returns False if the link must close."""
        frame = await read_frame(self.reader, MAX_FRAME)
        if frame is None:
            return False
        type_, flags, stream, payload = frame
        if type_ != HELLO or stream != 0 or flags:
            raise Malformed("first frame is not HELLO")
        try:
            hello = json.loads(payload)
            versions = [v for v in hello["versions"] if isinstance(v, int)]
            peer_max = hello.get("maxFrame", MAX_FRAME)
            if not (isinstance(peer_max, int) and 65536 <= peer_max <= MAX_FRAME):
                raise ValueError("maxFrame out of range")
        except (ValueError, KeyError, TypeError) as e:
            await self.refuse("invalid HELLO: %s" % e, {})
            return False
        common = sorted(set(versions) & set(SUPPORTED_VERSIONS))
        if not common:
            await self.refuse("no common protocol version", {"supported": SUPPORTED_VERSIONS})
            return False
        self.peer_max_frame = peer_max
        log("link.hello", link=self.id, peer=hello.get("peer"), version=common[-1])
        await self.send(READY, 0, compact({
            "version": common[-1], "executor": self.executor.name, "pid": os.getpid(),
            "maxFrame": MAX_FRAME, "zstd": False, "maxConcurrency": 64,
            "tools": [spec for _, spec in TOOLS.values()], "resources": [], "prompts": [],
        }))
        self.ready = True
        return True

    async def refuse(self, message, data):
        log("link.refused", link=self.id, reason=message)
        await self.send(ERROR, 0, compact({"code": -32600, "message": message, "data": data}))
        await self.send(GOODBYE, 0, compact({"reason": message}))

    async def dispatch(self, type_, flags, stream, payload):
        """Handles one frame; returns False when the link should close."""
        if flags & FLAG_COMPRESSED:
            raise Malformed("COMPRESSED frame, but we announced zstd:false")
        if type_ == CALL:
            if stream == 0 or stream in self.inflight:
                raise Malformed("CALL on stream 0 or on a stream already in flight")
            kind, name, meta, arguments = parse_call(payload)
            work = asyncio.create_task(self.execute(stream, kind, name, meta, arguments))
            self.inflight[stream] = work
            answer = asyncio.create_task(self.answer(stream, name, work))
            self.answers.add(answer)
            answer.add_done_callback(self.answers.discard)
        elif type_ == CANCEL:
            work = self.inflight.get(stream)
            if work is not None:  # unknown or finished stream ids are ignored
                log("call.cancel", link=self.id, stream=stream)
                work.cancel()
        elif type_ == PING:
            if len(payload) > 1024:
                raise Malformed("PING payload over 1 KiB")
            await self.send(PONG, stream, payload)
        elif type_ == HELLO:
            raise Malformed("second HELLO")
        elif type_ == DRAIN:
            log("link.drain", link=self.id)  # we never send CALLs, so there is nothing to stop
        elif type_ == GOODBYE:
            log("link.goodbye", link=self.id, payload=payload.decode("utf-8", "replace"))
            return False
        # PONG and unknown types are skipped (forward compatibility).
        return True

    async def answer(self, stream, name, work):
        """Waits for the tool and sends exactly one terminal frame, whatever happened."""
        started = time.monotonic()
        await asyncio.wait([work])
        if work.cancelled():
            type_, body = ERROR, {"code": -32800, "message": "request cancelled"}
        elif work.exception() is not None:  # the tool itself failed: an MCP tool execution error
            text = "tool failed: %s" % work.exception()
            type_, body = RESULT, {"content": [{"type": "text", "text": text}], "isError": True}
        else:
            type_, body = work.result()
        del self.inflight[stream]
        log("call.done", link=self.id, stream=stream, tool=name, ms=round((time.monotonic() - started) * 1000),
            outcome="error %d" % body["code"] if type_ == ERROR else "isError" if body["isError"] else "ok")
        await self.send(type_, stream, compact(body))

    async def execute(self, stream, kind, name, meta_bytes, arg_bytes):
        """Runs one call; returns (RESULT or ERROR, body)."""
        if kind != KIND_TOOLS_CALL:
            return ERROR, {"code": -32601, "message": "Unsupported call kind: %d" % kind}
        if name not in TOOLS:
            return ERROR, {"code": -32602, "message": "Unknown tool: %s" % name}
        try:
            meta = json.loads(meta_bytes) if meta_bytes else {}
            args = json.loads(arg_bytes) if arg_bytes else {}
        except ValueError:
            return ERROR, {"code": -32602, "message": "meta or arguments are not valid JSON"}
        if not isinstance(meta, dict) or not isinstance(args, dict):
            return ERROR, {"code": -32602, "message": "meta and arguments must be JSON objects"}
        try:
            context = CallContext(self, stream, meta)
        except ValueError as e:
            return ERROR, {"code": -32602, "message": str(e)}
        func, spec = TOOLS[name]
        try:
            validate(spec["inputSchema"], args)
        except InvalidArguments as e:
            text = "Invalid arguments for tool %s: %s" % (name, e)
            return RESULT, {"content": [{"type": "text", "text": text}], "isError": True}
        return RESULT, await func(args, context)

    async def drain_and_close(self, reason):
        """Graceful end: DRAIN, let in-flight calls finish (even ones that crossed the DRAIN), GOODBYE."""
        await self.send(DRAIN, 0)
        while self.answers and not self.closed:
            await asyncio.wait(list(self.answers))
        await self.send(GOODBYE, 0, compact({"reason": reason}))
        self.close()

    def close(self):
        if self.closed and self.writer.is_closing():
            return
        log("link.close", link=self.id, cancelled=len(self.inflight))
        self.closed = True
        for work in list(self.inflight.values()):
            work.cancel()  # nobody is left to read the answer
        self.writer.close()


# ---- process -----------------------------------------------------------------

class Executor:
    def __init__(self, name, socket_path):
        self.name, self.socket_path = name, socket_path
        self.links, self.next_link_id = set(), 1
        self.stopping = asyncio.Event()

    async def on_connect(self, reader, writer):
        link = Link(self, reader, writer, self.next_link_id)
        self.next_link_id += 1
        self.links.add(link)
        try:
            await link.serve()
        finally:
            self.links.discard(link)

    async def run(self, grace_seconds):
        path = self.socket_path
        if os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)  # a stale socket from a previous run
        old_umask = os.umask(0o077)  # no authentication in the protocol: owner-only socket
        try:
            server = await asyncio.start_unix_server(self.on_connect, path=path)
        finally:
            os.umask(old_umask)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        log("listening", socket=path, name=self.name, pid=os.getpid())
        ready_fd = os.environ.get("SWITCHYARD_READY_FD")
        if ready_fd:
            os.write(int(ready_fd), b"READY\n")
            os.close(int(ready_fd))

        await self.stopping.wait()
        log("shutdown.begin", links=len(self.links))
        server.close()  # stop accepting new links
        links = list(self.links)
        for link in links:
            if not link.ready:
                link.close()  # still in its handshake: nothing in flight
        finishing = [asyncio.create_task(link.drain_and_close("shutting down")) for link in links if link.ready]
        if finishing:
            _, pending = await asyncio.wait(finishing, timeout=grace_seconds)
            if pending:  # past the grace period: cancel what is left (answered with -32800)
                for link in links:
                    for work in list(link.inflight.values()):
                        work.cancel()
                await asyncio.wait(pending, timeout=5)
        for link in links:
            link.close()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        log("shutdown.done")


def main():
    ap = argparse.ArgumentParser(description="Reference Switchyard executor (protocol v1)")
    ap.add_argument("--socket", default=os.environ.get("SWITCHYARD_SOCKET"), help="Unix socket path to listen on")
    ap.add_argument("--name", default=os.environ.get("SWITCHYARD_EXECUTOR_NAME", "py-ref-0"), help="executor name")
    ap.add_argument("--grace", type=float, default=30.0, help="seconds to let in-flight calls finish on SIGTERM")
    args = ap.parse_args()
    if not args.socket:
        ap.error("--socket PATH or SWITCHYARD_SOCKET is required")
    asyncio.run(Executor(args.name, args.socket).run(args.grace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
