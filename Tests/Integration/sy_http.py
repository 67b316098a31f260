"""Minimal HTTP/1.1 + MCP helpers for the Switchyard integration tests (stdlib only).

`RawConnection` speaks HTTP/1.1 over one blocking socket so tests can control every byte
(pipelining, chunked bodies, oversized heads). `AsyncRawConnection` is the asyncio twin used by
the load tests. Both parse Content-Length, chunked and read-until-close response bodies.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from dataclasses import dataclass, field

PROTOCOL_VERSION = "2025-11-25"
ACCEPT_BOTH = "application/json, text/event-stream"

_ids = itertools.count(1)


def next_id() -> int:
    return next(_ids)


def _describe(what) -> str:
    return what() if callable(what) else str(what)


def wait_until(predicate, timeout: float, interval: float = 0.01, what="the condition"):
    """Polls `predicate()` until it returns something truthy, and returns that. After `timeout`
    seconds raises AssertionError naming `what` (a string, or a callable giving one, called only
    then: e.g. the last /healthz seen). Use it instead of a sleep wherever the thing waited for
    is observable."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {_describe(what)}")
        time.sleep(interval)


async def wait_until_async(predicate, timeout: float, interval: float = 0.01, what="the condition"):
    """`wait_until` for coroutines (asyncio, or anyio on asyncio): `predicate` is a plain callable."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {_describe(what)}")
        await asyncio.sleep(interval)


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self):
        """The JSON-RPC message of the answer: the body (application/json) or the data of the
        single `message` event (text/event-stream)."""
        if self.content_type == "text/event-stream":
            events = [e for e in parse_sse(self.body) if e.get("data")]
            assert len(events) == 1, f"expected exactly one SSE event with data, got {events!r}"
            return json.loads(events[0]["data"])
        return json.loads(self.body)

    def wants_close(self) -> bool:
        return (self.header("connection") or "").lower() == "close"

    def __repr__(self) -> str:
        body = self.body if len(self.body) < 600 else self.body[:600] + b"..."
        return f"<Response {self.status} {self.reason} {self.headers!r} {body!r}>"


def parse_sse(raw: bytes) -> list[dict]:
    """Splits an SSE body into events: dicts with 'event', 'id', 'retry', 'data'."""
    events = []
    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        ev: dict = {}
        data: list[str] = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if key == "data":
                data.append(value)
            else:
                ev[key] = value
        ev["data"] = "\n".join(data)
        events.append(ev)
    return events


def build_request(method: str, path: str, host: str, headers: dict | list | None = None,
                  body: bytes | None = None, chunked: bool = False) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in items}
    for k, v in items:
        lines.append(f"{k}: {v}")
    if body is not None:
        if chunked:
            if "transfer-encoding" not in names:
                lines.append("Transfer-Encoding: chunked")
        elif "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if body is None:
        return head
    if chunked:
        out = bytearray(head)
        step = max(1, len(body) // 3)
        for i in range(0, len(body), step):
            part = body[i:i + step]
            out += b"%x\r\n" % len(part) + part + b"\r\n"
        out += b"0\r\n\r\n"
        return bytes(out)
    return head + body


def mcp_headers(session: str | None = None, version: str | None = PROTOCOL_VERSION,
                accept: str | None = ACCEPT_BOTH, content_type: str | None = "application/json",
                extra: dict | None = None) -> dict:
    h = {}
    if accept is not None:
        h["Accept"] = accept
    if content_type is not None:
        h["Content-Type"] = content_type
    if session is not None:
        h["Mcp-Session-Id"] = session
    if version is not None:
        h["MCP-Protocol-Version"] = version
    if extra:
        h.update(extra)
    return h


def rpc(method: str, params=None, id=None) -> dict:
    msg = {"jsonrpc": "2.0", "id": next_id() if id is None else id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def initialize_message(id=None) -> dict:
    return rpc("initialize", {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "switchyard-integration-tests", "version": "1.0"},
    }, id=id)


def dumps(msg) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


class _Parser:
    """Incremental HTTP/1.1 response parser over a byte buffer."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data: bytes):
        self.buf += data

    def try_parse(self, eof: bool, head_request: bool = False) -> Response | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if eof:
                raise ConnectionError(f"connection closed before a complete response head; got {bytes(self.buf)!r}")
            return None
        head = bytes(self.buf[:end]).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ConnectionError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = Response(status, reason, headers)
        rest = self.buf[end + 4:]
        if head_request or status in (204, 304) or 100 <= status < 200:
            del self.buf[:end + 4]
            return resp
        te = (resp.header("transfer-encoding") or "").lower()
        cl = resp.header("content-length")
        if "chunked" in te:
            body = bytearray()
            pos = 0
            while True:
                nl = rest.find(b"\r\n", pos)
                if nl < 0:
                    break
                size = int(bytes(rest[pos:nl]).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    p = nl + 2  # trailer lines until an empty line
                    consumed = None
                    while True:
                        e = rest.find(b"\r\n", p)
                        if e < 0:
                            break
                        if e == p:
                            consumed = e + 2
                            break
                        p = e + 2
                    if consumed is None:
                        break
                    resp.body = bytes(body)
                    del self.buf[:end + 4 + consumed]
                    return resp
                if len(rest) < nl + 2 + size + 2:
                    break
                body += rest[nl + 2:nl + 2 + size]
                pos = nl + 2 + size + 2
            if eof:
                raise ConnectionError("connection closed inside a chunked body")
            return None
        if cl is not None:
            n = int(cl)
            if len(rest) < n:
                if eof:
                    raise ConnectionError(f"connection closed after {len(rest)} of {n} body bytes")
                return None
            resp.body = bytes(rest[:n])
            del self.buf[:end + 4 + n]
            return resp
        # no framing: body runs to EOF
        if not eof:
            return None
        resp.body = bytes(rest)
        self.buf.clear()
        return resp


class RawConnection:
    """One blocking HTTP/1.1 connection."""

    def __init__(self, host: str, port: int, timeout: float = 10.0, source: str | None = None):
        """`source`: a local address to connect from (such as 127.0.0.2)."""
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = _Parser()
        self.eof = False

    @property
    def host_header(self) -> str:
        return f"{self.host}:{self.port}"

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, method: str, path: str, headers=None, body: bytes | None = None, chunked=False):
        self.send_raw(build_request(method, path, self.host_header, headers, body, chunked))

    def read_response(self, timeout: float = 10.0, head_request: bool = False) -> Response:
        deadline = time.monotonic() + timeout
        while True:
            resp = self.parser.try_parse(self.eof, head_request)
            if resp is not None:
                return resp
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete response within {timeout}s; buffered {bytes(self.parser.buf[:300])!r}")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                self.eof = True
            else:
                self.parser.feed(data)

    def request(self, method: str, path: str, headers=None, body: bytes | None = None,
                chunked=False, timeout: float = 10.0) -> Response:
        self.send(method, path, headers, body, chunked)
        return self.read_response(timeout)

    def post(self, msg, session: str | None = None, timeout: float = 10.0, **hkw) -> Response:
        body = msg if isinstance(msg, (bytes, bytearray)) else dumps(msg)
        return self.request("POST", "/mcp", mcp_headers(session, **hkw), bytes(body), timeout=timeout)

    def initialize(self) -> str:
        """Opens a session (initialize + notifications/initialized); returns its id."""
        r = self.post(initialize_message(), version=None)
        assert r.status == 200, r
        sid = r.header("mcp-session-id")
        assert sid, f"initialize answer without Mcp-Session-Id: {r!r}"
        n = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid)
        assert n.status == 202, n
        return sid

    def call_tool(self, session: str, name: str, arguments=None, timeout: float = 10.0) -> Response:
        params = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return self.post(rpc("tools/call", params), session=session, timeout=timeout)

    def closed_by_peer(self, timeout: float = 1.0) -> bool:
        """True when the server closed the connection (EOF or reset) within `timeout`."""
        if self.eof:
            return True
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except socket.timeout:
            return False
        except OSError:
            return True
        if data:
            self.parser.feed(data)
            return False
        self.eof = True
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class AsyncRawConnection:
    """The asyncio twin of RawConnection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int):
        self.reader, self.writer = reader, writer
        self.host_header = f"{host}:{port}"
        self.parser = _Parser()
        self.eof = False

    @classmethod
    async def open(cls, host: str, port: int) -> "AsyncRawConnection":
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, host, port)

    async def read_response(self) -> Response:
        while True:
            resp = self.parser.try_parse(self.eof)
            if resp is not None:
                return resp
            data = await self.reader.read(65536)
            if not data:
                self.eof = True
            else:
                self.parser.feed(data)

    async def request(self, method, path, headers=None, body=None) -> Response:
        self.writer.write(build_request(method, path, self.host_header, headers, body))
        await self.writer.drain()
        return await self.read_response()

    async def post(self, msg, session: str | None = None, **hkw) -> Response:
        return await self.request("POST", "/mcp", mcp_headers(session, **hkw), dumps(msg))

    async def initialize(self) -> str:
        r = await self.post(initialize_message(), version=None)
        if r.status != 200 or not r.header("mcp-session-id"):
            raise AssertionError(f"initialize failed: {r!r}")
        sid = r.header("mcp-session-id")
        n = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid)
        if n.status != 202:
            raise AssertionError(f"notifications/initialized not accepted: {n!r}")
        return sid

    async def call_tool(self, session: str, name: str, arguments=None) -> Response:
        params = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return await self.post(rpc("tools/call", params), session=session)

    async def close(self):
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (OSError, ConnectionError):
            pass


def expect_tool_text(resp: Response, text: str, id=None):
    """Asserts a 200 JSON-RPC success whose CallToolResult is one text block `text`."""
    assert resp.status == 200, resp
    msg = resp.json()
    assert msg.get("jsonrpc") == "2.0", msg
    if id is not None:
        assert msg.get("id") == id, msg
    assert "error" not in msg, msg
    result = msg["result"]
    assert result.get("isError") in (False, None), msg
    assert result["content"] == [{"type": "text", "text": text}], msg
    return msg


def expect_rpc_error(resp: Response, status: int, code: int, id="__any__"):
    """Asserts HTTP `status` and a JSON-RPC error `code`; `id` is checked unless "__any__"
    (None means the member must be present and null)."""
    assert resp.status == status, f"expected HTTP {status}, got {resp!r}"
    ctype = resp.content_type
    assert ctype in ("application/json", "text/event-stream"), f"error answer is not JSON: {resp!r}"
    msg = resp.json()
    assert msg.get("jsonrpc") == "2.0", msg
    assert "result" not in msg, msg
    err = msg.get("error")
    assert isinstance(err, dict), msg
    assert err.get("code") == code, f"expected JSON-RPC code {code}, got {msg}"
    assert isinstance(err.get("message"), str) and err["message"], msg
    if id != "__any__":
        assert "id" in msg, f"error has no id member (expected {id!r}): {msg}"
        assert msg["id"] == id, f"expected id {id!r}, got {msg}"
    return msg
