"""Helpers for the conformance-suite reproductions (test_conformance_*.py).

The MCP conformance suite (modelcontextprotocol/conformance 0.2.0-alpha.11, `--requirements 2025-11-25`
and `--requirements 2026-07-28`) drives a server either through an SDK client or through raw `fetch`.
These helpers provide the raw side: stateless (2026-07-28) requests built the way the suite builds
them, the suite's frame reader, and a POST whose Host header can be chosen (DNS-rebinding probes).
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import time

import anyio

from sy_http import ACCEPT_BOTH, RawConnection, Response, dumps, parse_sse

MODERN = "2026-07-28"
LEGACY = "2025-11-25"

# One server for both files: the conformance pack, two fronts, two executors.
CONFORMANCE_SERVER = {"tools": "conformance", "fronts": 2, "executors": 2}

NAME_RE = re.compile(r"^[A-Za-z0-9_./-]+$")

_ids = itertools.count(10_000)


def next_id() -> int:
    return next(_ids)


def run(coro_fn, *args, budget: float = 15.0, **kwargs):
    """Runs `coro_fn(*args, **kwargs)` under anyio with a hard budget."""
    async def main():
        with anyio.fail_after(budget):
            return await coro_fn(*args, **kwargs)
    return anyio.run(main)


# ---- 2026-07-28 stateless requests ---------------------------------------------------------

DEFAULT_CAPS = {"sampling": {}, "elicitation": {}, "roots": {"listChanged": True}}


def request_meta(caps=None, version: str = MODERN, client_name: str = "conformance-test-client",
                 client_info: bool = True, **extra) -> dict:
    """The suite's `withRequestMeta` _meta (caps default to sampling+elicitation+roots)."""
    meta = {"io.modelcontextprotocol/protocolVersion": version}
    if client_info:
        meta["io.modelcontextprotocol/clientInfo"] = {"name": client_name, "version": "1.0.0"}
    meta["io.modelcontextprotocol/clientCapabilities"] = DEFAULT_CAPS if caps is None else caps
    meta.update(extra)
    return meta


def valid_meta(caps=None) -> dict:
    """server-stateless's `validMeta` (caps `{}` by default)."""
    return request_meta({} if caps is None else caps, client_name="conformance-client")


def stateless_headers(method: str, params: dict | None, version: str | None = MODERN,
                      accept: str = ACCEPT_BOTH, extra: dict | None = None) -> dict:
    """The suite's `buildStandardHeaders`: Content-Type, Accept, MCP-Protocol-Version, Mcp-Method and
    (tools/call, prompts/get, resources/read) Mcp-Name as the raw string."""
    h = {"Content-Type": "application/json", "Accept": accept}
    if version is not None:
        h["MCP-Protocol-Version"] = version
    h["Mcp-Method"] = method
    params = params or {}
    if method in ("tools/call", "prompts/get") and isinstance(params.get("name"), str):
        h["Mcp-Name"] = params["name"]
    elif method == "resources/read" and isinstance(params.get("uri"), str):
        h["Mcp-Name"] = params["uri"]
    if extra:
        h.update(extra)
    return h


def stateless_post(srv, method: str, params: dict | None = None, id=None, *, meta=None, caps=None,
                   headers: dict | None = None, extra_headers: dict | None = None,
                   timeout: float = 10.0) -> tuple[dict, Response]:
    """POSTs one stateless request the way the suite does. `params` gets `_meta` = `meta` (default:
    `request_meta(caps)`) unless `meta is False` (then `params` is sent as given). Returns
    (the request message, the HTTP response)."""
    params = dict(params or {})
    if meta is not False:
        m = request_meta(caps) if meta is None else meta
        params["_meta"] = {**m, **params.get("_meta", {})}
    msg = {"jsonrpc": "2.0", "id": next_id() if id is None else id, "method": method, "params": params}
    h = headers if headers is not None else stateless_headers(method, params, extra=extra_headers)
    with RawConnection(srv.host, srv.port, timeout=timeout) as conn:
        resp = conn.request("POST", "/mcp", h, dumps(msg), timeout=timeout)
    return msg, resp


def frames(resp: Response) -> list:
    """The suite's frame reader: split the body into lines, trim, strip a leading `data:`, JSON-parse
    each line and keep what parses (so JSON replies must be one line, SSE must carry one JSON object
    per data line)."""
    out = []
    for line in resp.body.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def until_response(resp: Response, id) -> list:
    """The messages the suite's stateless `conn` sees: frames up to and including the one whose
    `id` equals the request id (it cancels the stream there)."""
    out = []
    for f in frames(resp):
        out.append(f)
        if isinstance(f, dict) and f.get("id") == id and ("result" in f or "error" in f):
            break
    return out


def response_of(resp: Response, id) -> dict:
    """The JSON-RPC response with `id` in the body (JSON or SSE); fails if absent."""
    for f in frames(resp):
        if isinstance(f, dict) and f.get("id") == id and ("result" in f or "error" in f):
            return f
    raise AssertionError(f"no JSON-RPC response with id {id!r} in {resp!r}")


def rpc_result(resp: Response, id) -> dict:
    msg = response_of(resp, id)
    assert "error" not in msg, f"expected a result, got {msg}"
    return msg["result"]


def rpc_error(resp: Response, id) -> dict:
    msg = response_of(resp, id)
    assert "error" in msg and "result" not in msg, f"expected a JSON-RPC error, got {msg}"
    return msg["error"]


# ---- raw HTTP with a chosen Host header ----------------------------------------------------

def post_with_host(srv, host_header: str, headers: dict, body: bytes, timeout: float = 10.0) -> Response:
    """POST /mcp with an arbitrary Host header (RawConnection always sends the real one)."""
    lines = ["POST /mcp HTTP/1.1", f"Host: {host_header}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with RawConnection(srv.host, srv.port, timeout=timeout) as conn:
        conn.send_raw(raw)
        return conn.read_response(timeout)


def read_first_event(srv, headers: dict, body: bytes, timeout: float = 2.0):
    """Sends a POST and returns (status, content-type, first SSE event with data or the JSON body)
    without waiting for the stream's end: what the suite's multiple-streams check reads."""
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as s:
        lines = ["POST /mcp HTTP/1.1", f"Host: {srv.host}:{srv.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in buf:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        ctype = ""
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.decode("latin-1").partition(":")
            if k.strip().lower() == "content-type":
                ctype = v.strip().lower()
        if "text/event-stream" not in ctype:
            return status, ctype, rest
        while True:
            for ev in parse_sse(_dechunk_prefix(rest)):
                if ev.get("data"):
                    return status, ctype, ev
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return status, ctype, None
            s.settimeout(remaining)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return status, ctype, None
            if not chunk:
                return status, ctype, None
            rest += chunk


def _dechunk_prefix(raw: bytes) -> bytes:
    """Best-effort de-chunking of a (possibly incomplete) chunked body; returns the complete events
    only (text up to the last blank line)."""
    out = bytearray()
    pos = 0
    chunked = re.match(rb"^[0-9a-fA-F]+\r\n", raw) is not None
    if not chunked:
        out = bytearray(raw)
    else:
        while True:
            nl = raw.find(b"\r\n", pos)
            if nl < 0:
                break
            try:
                size = int(raw[pos:nl].split(b";")[0], 16)
            except ValueError:
                break
            if size == 0 or len(raw) < nl + 2 + size:
                out += raw[nl + 2:nl + 2 + size]
                break
            out += raw[nl + 2:nl + 2 + size]
            pos = nl + 2 + size + 2
    text = bytes(out).replace(b"\r\n", b"\n")
    cut = text.rfind(b"\n\n")
    return text[:cut + 2] if cut >= 0 else b""


def dump(obj) -> dict:
    """A pydantic model as its wire JSON (by alias, without unset/None fields)."""
    return obj.model_dump(by_alias=True, mode="json", exclude_none=True)


class StreamingResponse:
    """A POST whose answer is read incrementally (the suite's `readFrames(res, n, ms)`): the head
    first, then frames as they arrive, parsed line by line like the suite's reader."""

    def __init__(self, srv, headers: dict, body: bytes, timeout: float = 5.0):
        self.sock = socket.create_connection((srv.host, srv.port), timeout=timeout)
        lines = ["POST /mcp HTTP/1.1", f"Host: {srv.host}:{srv.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.raw = b""
        self.body = b""
        self.eof = False
        self.done = False
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.raw:
            if not self._recv(deadline):
                raise ConnectionError(f"no response head; got {self.raw!r}")
        head, _, self.raw = self.raw.partition(b"\r\n\r\n")
        first, *hdrs = head.decode("latin-1").split("\r\n")
        self.status = int(first.split(" ", 2)[1])
        self.headers = {}
        for h in hdrs:
            k, _, v = h.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.content_type = self.headers.get("content-type", "").split(";")[0].strip().lower()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.length = int(self.headers["content-length"]) if "content-length" in self.headers else None
        self._pending = b""
        self._decode()

    def _recv(self, deadline) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.eof:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        if not data:
            self.eof = True
            return False
        self.raw += data
        return True

    def _decode(self):
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            if self.length is not None and len(self.body) >= self.length:
                self.done = True
            return
        while True:
            nl = self.raw.find(b"\r\n")
            if nl < 0:
                return
            size = int(self.raw[:nl].split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.done = True
                self.raw = b""
                return
            if len(self.raw) < nl + 2 + size + 2:
                return
            self.body += self.raw[nl + 2:nl + 2 + size]
            self.raw = self.raw[nl + 2 + size + 2:]

    def frames(self, max_frames: int, timeout: float) -> list:
        """Up to `max_frames` parsed frames arriving within `timeout` seconds (from now)."""
        deadline = time.monotonic() + timeout
        out: list = []
        while True:
            while b"\n" in self.body and len(out) < max_frames:
                line, _, self.body = self.body.partition(b"\n")
                parsed = _parse_frame_line(line)
                if parsed is not None:
                    out.append(parsed)
            if len(out) >= max_frames:
                return out
            if self.done or self.eof:
                if self.body.strip():
                    parsed = _parse_frame_line(self.body)
                    self.body = b""
                    if parsed is not None:
                        out.append(parsed)
                return out
            if not self._recv(deadline):
                return out
            self._decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _parse_frame_line(line: bytes):
    s = line.decode("utf-8", "replace").strip()
    if s.startswith("data:"):
        s = s[5:].strip()
    if not s:
        return None
    try:
        return json.loads(s)
    except ValueError:
        return None


def open_stateless_stream(srv, method: str, params: dict, id, timeout: float = 5.0) -> StreamingResponse:
    """A stateless request (params sent as given, so include `_meta`) read incrementally."""
    msg = {"jsonrpc": "2.0", "id": id, "method": method, "params": params}
    return StreamingResponse(srv, stateless_headers(method, params), dumps(msg), timeout=timeout)
