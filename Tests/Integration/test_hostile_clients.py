"""What a hostile client could do before, and cannot now (real sockets, several 127.0.0.x
source addresses):
- slowloris: dripping a request head or body one byte at a time no longer holds a connection
  (the head deadline counts from its first byte; a body must keep a minimum rate);
- trailers are bounded like a head (431);
- an idle flood at the descriptor limit no longer locks a new client out (eviction, counted);
- a per-address cap refuses a source's extra connections;
- an answer to another session's elicitation (or to a made-up id) is refused, never delivered."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from sy_http import RawConnection, expect_tool_text, mcp_headers, rpc, wait_until

SOURCES = [f"127.0.0.{i}" for i in range(2, 6)]


class Client:
    """A raw client socket bound to a source address, keeping what the server answered."""

    def __init__(self, srv, source: str):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(5)
        self.sock.connect((srv.host, srv.port))
        self.answered = b""

    def send(self, data: bytes):
        self.sock.send(data)

    def sendall(self, data: bytes):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


def connect_from(srv, source: str) -> Client:
    return Client(srv, source)


def closed(c: Client) -> bool:
    """The server closed (EOF or reset), after whatever it answered."""
    c.sock.settimeout(0.01)
    try:
        while True:
            data = c.sock.recv(65536)
            if not data:
                return True
            c.answered += data
    except (socket.timeout, BlockingIOError):
        return False
    except OSError:
        return True


def metric(srv, name: str, **labels) -> float:
    text = RawConnection(srv.host, srv.port).request("GET", "/metrics", {}, None).body.decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.timeout(60)
def test_slowloris_head_cannot_be_held_open(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--head-timeout", "2000"])
    socks = [connect_from(srv, SOURCES[i % len(SOURCES)]) for i in range(40)]
    head = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: " + b"a" * 200
    start = time.monotonic()
    i = 0
    # One byte per connection every 0.25 s: before, each byte restarted the 10 s head timeout.
    while time.monotonic() - start < 8 and not all(closed(s) for s in socks):
        for s in socks:
            try:
                s.send(head[i:i + 1])
            except OSError:
                pass
        i = min(i + 1, len(head) - 1)
        time.sleep(0.25)  # the drip itself: part of the attack
    elapsed = time.monotonic() - start
    assert all(closed(s) for s in socks), "dripping connections still open"
    assert elapsed < 5, f"closed only after {elapsed:.1f} s (head timeout 2 s, swept every second)"
    assert all(b"408 Request Timeout" in s.answered for s in socks)
    assert metric(srv, "switchyard_connections_closed_total", reason="head_timeout") >= 40
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        expect_tool_text(c.call_tool(sid, "echo", {"text": "after"}), "after")


@pytest.mark.timeout(60)
def test_slow_body_is_closed_after_its_grace(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--body-min-rate", "100"])
    s = connect_from(srv, SOURCES[0])
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Accept: application/json, text/event-stream\r\nContent-Length: 5000\r\n\r\n")
    start = time.monotonic()
    while not closed(s) and time.monotonic() - start < 15:
        try:
            s.send(b" ")  # one byte every 0.2 s: 5 bytes/s, under the 100 bytes/s floor
        except OSError:
            break
        time.sleep(0.2)  # the drip itself
    elapsed = time.monotonic() - start
    assert closed(s) and b"408" in s.answered, s.answered
    assert 4.5 < elapsed < 8, f"closed after {elapsed:.1f} s (grace 5 s, swept every second)"
    assert metric(srv, "switchyard_connections_closed_total", reason="body_too_slow") == 1


def test_trailers_are_bounded(shared_server):
    srv = shared_server
    s = connect_from(srv, SOURCES[1])
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    trailers = b"".join(b"X-T%d: v\r\n" % i for i in range(70))
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Accept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"%x\r\n" % len(body) + body + b"\r\n0\r\n" + trailers + b"\r\n")
    wait_until(lambda: closed(s), 5, what="the connection to close")
    assert s.answered.startswith(b"HTTP/1.1 431"), s.answered


@pytest.mark.timeout(90)
def test_idle_flood_does_not_lock_out_a_new_client(server_factory):
    # 256 descriptors for the front (the test raises nothing: the server gets a low limit), then
    # 600 idle connections from four addresses: before, the front stopped accepting at its limit.
    srv = server_factory(fronts=1, executors=1, nofile=256)
    idle = []
    for i in range(600):
        try:
            idle.append(connect_from(srv, SOURCES[i % len(SOURCES)]))
        except OSError:
            pass
    wait_until(lambda: metric(srv, "switchyard_connections_closed_total", reason="evicted") > 0, 10,
               what="evictions to be counted")
    with RawConnection(srv.host, srv.port) as c:
        sid = c.initialize()
        expect_tool_text(c.call_tool(sid, "echo", {"text": "still served"}), "still served")
    assert "connections refused or evicted under pressure" in srv.stderr_tail(400)
    for s in idle:
        s.close()


def test_per_address_cap(server_factory):
    srv = server_factory(fronts=1, executors=1, extra_args=["--max-conns-per-address", "5"])
    mine = [connect_from(srv, SOURCES[2]) for _ in range(5)]
    extra = connect_from(srv, SOURCES[2])
    wait_until(lambda: closed(extra), 5, what="the sixth connection from one address to be closed")
    assert not any(closed(s) for s in mine)
    other = connect_from(srv, SOURCES[3])
    assert not closed(other), "another address is not capped"
    assert metric(srv, "switchyard_connections_closed_total", reason="per_address_limit") == 1


# ---- answers bound to their session -------------------------------------------------------------

def open_session(srv, elicitation: bool) -> str:
    caps = {"elicitation": {}} if elicitation else {}
    with RawConnection(srv.host, srv.port) as c:
        r = c.post(rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": caps,
                                      "clientInfo": {"name": "hostile", "version": "1"}}), version=None)
        assert r.status == 200, r
        return r.header("mcp-session-id")


def start_elicitation(srv, sid: str) -> tuple[socket.socket, str, bytes]:
    """POSTs a tools/call whose tool elicits; returns the socket and the elicitation request's id."""
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    body = json.dumps(rpc("tools/call", {"name": "test_elicitation", "arguments": {"message": "who?"}}, id=7)).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in mcp_headers(sid).items())
    s.sendall(f"POST /mcp HTTP/1.1\r\nHost: {srv.host}:{srv.port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
              .encode() + body)
    buf = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        buf += s.recv(65536)
        m = re.search(rb'"method":"elicitation/create"', buf)
        if m:
            ids = re.findall(rb'"id":"(sy-[^"]+)"', buf)
            assert ids, buf
            return s, ids[0].decode(), buf
    raise AssertionError(f"no elicitation request: {buf!r}")


def answer(srv, sid: str | None, rid: str, name: str):
    with RawConnection(srv.host, srv.port) as c:
        msg = {"jsonrpc": "2.0", "id": rid, "result": {"action": "accept", "content": {"name": name}}}
        return c.post(msg, session=sid)


def test_answer_from_another_session_is_refused(server_factory):
    srv = server_factory(fronts=2, executors=1, tools="conformance")
    a = open_session(srv, elicitation=True)
    b = open_session(srv, elicitation=True)
    s, rid, buf = start_elicitation(srv, a)
    assert len(rid) > 40 and not re.fullmatch(r"sy-[\w.]+-\d+", rid), f"guessable id {rid}"
    r = answer(srv, b, rid, "mallory")
    assert r.status == 400 and r.json()["error"]["code"] == -32600 and r.json()["id"] is None, r
    assert answer(srv, None, rid, "mallory").status == 400
    forged = answer(srv, a, "sy-swift-0-1", "mallory")
    assert forged.status == 400, forged
    ok = answer(srv, a, rid, "alice")
    assert ok.status == 202, ok
    deadline = time.monotonic() + 10
    while b'"id":7' not in buf and time.monotonic() < deadline:
        buf += s.recv(65536)
    assert b"alice" in buf and b"mallory" not in buf, buf
    s.close()
