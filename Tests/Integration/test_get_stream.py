"""The 2025-11-25 standalone GET stream: server-initiated notifications, event ids, priming,
resumption with Last-Event-ID, and its end on shutdown."""

from __future__ import annotations

import socket
import time

import pytest

from conformance_util import stateless_post
from sy_http import RawConnection


class SSEStream:
    """A raw GET /mcp stream, parsed incrementally (chunked transfer encoding, SSE events)."""

    def __init__(self, srv, session: str, last_event_id: str | None = None):
        self.sock = socket.create_connection((srv.host, srv.port), timeout=5)
        head = (f"GET /mcp HTTP/1.1\r\nHost: {srv.host}:{srv.port}\r\nAccept: text/event-stream\r\n"
                f"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n")
        if last_event_id:
            head += f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall((head + "\r\n").encode())
        self.buf = b""
        self.body = b""
        self.status = None
        self.headers = {}
        self.ended = False

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not data:
            self.ended = True
            return False
        self.buf += data
        return True

    def _parse(self):
        if self.status is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buf[:end].decode().split("\r\n")
            self.status = int(lines[0].split()[1])
            self.headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
            self.buf = self.buf[end + 4:]
        while True:
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                return
            size = int(self.buf[:nl].split(b";")[0], 16)
            if len(self.buf) < nl + 2 + size + 2:
                return
            self.body += self.buf[nl + 2:nl + 2 + size]
            self.buf = self.buf[nl + 2 + size + 2:]
            if size == 0:
                self.ended = True
                return

    def events(self, n: int, timeout: float = 3.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            self._parse()
            if self.status is not None and self.status != 200:
                return []  # an error answer, not a stream: nothing to wait for
            blocks = self.body.decode().split("\n\n")
            complete = [b for b in blocks[:-1] if b.strip() and not b.startswith(":")]
            if len(complete) >= n or self.ended or time.monotonic() >= deadline:
                out = []
                for b in complete[:n]:
                    ev = {}
                    for line in b.split("\n"):
                        if line.startswith(":"):
                            continue
                        k, _, v = line.partition(":")
                        ev[k] = v[1:] if v.startswith(" ") else v
                    out.append(ev)
                return out
            self._fill(deadline)

    def close(self):
        self.sock.close()


def trigger(srv):
    req, resp = stateless_post(srv, "tools/call", {"name": "test_trigger_tool_change", "arguments": {}})
    assert resp.status == 200, resp


@pytest.mark.timeout(30)
def test_get_stream_primes_carries_list_changes_and_resumes(server_factory):
    srv = server_factory(fronts=1, executors=2, tools="conformance")
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        witness_sid = c.initialize()
    s = SSEStream(srv, sid)
    [priming] = s.events(1)
    assert s.status == 200 and s.headers["content-type"] == "text/event-stream", s.headers
    assert priming["id"] and priming.get("data", "") == "" and priming["retry"] == "3000", priming
    # Another session's stream stays open throughout: the front hands each notification to every
    # stream at once, so what this one has received, the first stream's store holds too.
    witness = SSEStream(srv, witness_sid)
    witness.events(1)
    trigger(srv)
    evs = s.events(2, timeout=3)[1:]
    # The executor that ran the trigger broadcasts the change to every front.
    assert len(evs) == 1 and '"notifications/tools/list_changed"' in evs[0]["data"], evs
    last = evs[-1]["id"]
    assert last.split(".")[-1] == "1", last
    # The client goes away. Whether or not the front has noticed yet, the events below are
    # stored (PipelineSSEResumeTests covers the detached stream over an in-memory connection).
    s.close()
    trigger(srv)  # missed while away: kept in the stream's store
    trigger(srv)
    assert len(witness.events(4, timeout=3)) == 4, "the witness stream did not get all three changes"
    witness.close()
    r = SSEStream(srv, sid, last_event_id=last)
    got = r.events(3, timeout=3)
    replayed = [e for e in got if e.get("data")]
    assert [e["id"].split(".")[-1] for e in replayed] == ["2", "3"], got
    # Replayed from the store, not delivered live: the priming event follows what is replayed.
    assert got[-1].get("data", "") == "" and got[-1]["id"] == replayed[-1]["id"], got
    r.close()


@pytest.mark.timeout(30)
def test_get_stream_needs_a_live_session_and_ends_on_shutdown(server_factory):
    srv = server_factory(fronts=1, executors=1, tools="conformance")
    s = SSEStream(srv, "v1.bogus.bogus")
    s.events(1, timeout=2)
    assert s.status == 404
    s.close()
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
    s = SSEStream(srv, sid)
    s.events(1)
    srv.terminate()
    t0 = time.monotonic()
    assert srv.wait(10) == 0
    assert time.monotonic() - t0 < 5, "an open GET stream must not hold up the drain"
    s.events(5, timeout=2)
    assert s.ended and "retry: 1000" in s.body.decode(), s.body
    s.close()
