"""Tests for the golden vectors and the reference executor (stdlib + pytest only).

Run: python3 -m pytest proto/tests -q
"""

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

PROTO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(PROTO, "vectors")
EXECUTOR = os.path.join(PROTO, "examples", "reference_executor.py")
TIMEOUT = 5.0

# ---- a small frame codec, written independently of the executor ------------------------------

HELLO, READY, CALL, RESULT, ERROR, PROGRESS, NOTIFY, CANCEL = 0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15
PING, PONG, DRAIN, GOODBYE = 0x20, 0x21, 0x30, 0x31
MAX_FRAME = 16 * 1024 * 1024


class ProtoError(Exception):
    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


def encode(type_, stream, payload=b"", flags=0):
    return b"SY" + bytes([1, type_, flags, 0, 0, 0]) + stream.to_bytes(8, "big") + len(payload).to_bytes(4, "big") + payload


def decode(buf, max_frame=MAX_FRAME):
    """Returns ((type, flags, stream, payload), bytes consumed), or None if more bytes are needed."""
    if len(buf) < 20:
        return None
    if buf[0:2] != b"SY":
        raise ProtoError("bad-magic")
    if buf[2] != 1:
        raise ProtoError("bad-version")
    if buf[4] & 0xFE:
        raise ProtoError("bad-flags")
    if buf[5:8] != b"\0\0\0":
        raise ProtoError("bad-reserved")
    length = int.from_bytes(buf[16:20], "big")
    if length > max_frame:
        raise ProtoError("too-large")
    if len(buf) < 20 + length:
        return None
    return (buf[3], buf[4], int.from_bytes(buf[8:16], "big"), bytes(buf[20:20 + length])), 20 + length


def encode_call(name, arguments=b"", meta=b"", kind=1):
    n = name.encode()
    return struct.pack(">BBHI", kind, 0, len(n), len(meta)) + n + meta + arguments


def decode_call(payload):
    kind, reserved, n, m = struct.unpack_from(">BBHI", payload)
    assert reserved == 0 and 8 + n + m <= len(payload)
    return kind, payload[8:8 + n].decode(), payload[8 + n:8 + n + m], payload[8 + n + m:]


def js(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


# ---- golden vectors ---------------------------------------------------------------------------

def load_index():
    with open(os.path.join(VECTORS, "index.json"), encoding="utf-8") as f:
        return json.load(f)


def read_vector(entry):
    with open(os.path.join(VECTORS, entry["file"]), "rb") as f:
        return f.read()


INDEX = load_index()
VALID = [e for e in INDEX if e["valid"]]
INVALID = [e for e in INDEX if not e["valid"]]


def test_index_covers_every_type_and_error():
    names = {e["typeName"] for e in VALID}
    assert {"HELLO", "READY", "CALL", "RESULT", "ERROR", "PROGRESS", "NOTIFY", "CANCEL",
            "PING", "PONG", "DRAIN", "GOODBYE"} <= names
    assert {e["error"] for e in INVALID} == {"bad-magic", "bad-version", "bad-flags", "bad-reserved", "too-large"}
    assert sorted(os.listdir(VECTORS)) == sorted([e["file"] for e in INDEX] + ["index.json", "generate.py", "src"])


@pytest.mark.parametrize("entry", VALID, ids=[e["name"] for e in VALID])
def test_valid_vector_round_trips(entry):
    data = read_vector(entry)
    decoded = decode(data)
    assert decoded is not None
    (type_, flags, stream, payload), used = decoded
    assert used == len(data)
    assert (type_, flags, str(stream), payload.hex()) == (entry["type"], entry["flags"], entry["stream"], entry["payloadHex"])
    assert entry["length"] == len(payload)
    if "payloadUtf8" in entry:
        assert payload.decode("utf-8") == entry["payloadUtf8"]
    assert encode(type_, stream, payload, flags) == data  # byte for byte
    if entry["typeName"] == "CALL":
        kind, name, meta, arguments = decode_call(payload)
        call = entry["call"]
        assert (kind, name, meta.decode(), arguments.decode()) == (call["kind"], call["name"], call["meta"], call["arguments"])
        assert encode_call(name, arguments, meta, kind) == payload
    if flags & 1:
        check_compressed(payload, bytes.fromhex(entry["uncompressedHex"]))
        assert bytes.fromhex(entry["uncompressedHex"]).decode() == entry["uncompressedUtf8"]


def check_compressed(payload, expected):
    assert int.from_bytes(payload[:4], "big") == len(expected)
    assert payload[4:8] == bytes.fromhex("28b52ffd")  # zstd frame magic
    zstd = shutil.which("zstd")
    if zstd:  # the standard library of 3.11 has no zstd; use the CLI when present
        out = subprocess.run([zstd, "-d", "-q", "-c"], input=payload[4:], stdout=subprocess.PIPE,
                             check=True, timeout=TIMEOUT).stdout
        assert out == expected


@pytest.mark.parametrize("entry", INVALID, ids=[e["name"] for e in INVALID])
def test_invalid_vector_is_rejected(entry):
    with pytest.raises(ProtoError) as err:
        decode(read_vector(entry))
    assert err.value.kind == entry["error"]


def test_generator_is_reproducible():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(VECTORS, "generate.py"), "--out", out],
                       check=True, timeout=30, stdout=subprocess.DEVNULL)
        produced = sorted(os.listdir(out))
        assert produced == sorted([e["file"] for e in INDEX] + ["index.json"])
        for name in produced:
            with open(os.path.join(out, name), "rb") as a, open(os.path.join(VECTORS, name), "rb") as b:
                assert a.read() == b.read(), name


# ---- a raw-socket client ----------------------------------------------------------------------

class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, type_, stream, payload=b"", flags=0):
        self.send(encode(type_, stream, payload, flags))

    def recv(self):
        """Next frame as (type, flags, stream, payload); None on EOF."""
        while True:
            decoded = decode(self.buf)
            if decoded:
                frame, used = decoded
                del self.buf[:used]
                return frame
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                assert not self.buf, "EOF inside a frame"
                return None
            self.buf += chunk

    def hello(self, versions=(1,)):
        self.send_frame(HELLO, 0, js({"versions": list(versions), "peer": "test-front", "maxFrame": MAX_FRAME,
                                      "zstd": True}))
        type_, flags, stream, payload = self.recv()
        assert (type_, flags, stream) == (READY, 0, 0)
        return json.loads(payload)

    def call(self, stream, name, arguments=None, meta=None, kind=1):
        args = b"" if arguments is None else js(arguments)
        self.send_frame(CALL, stream, encode_call(name, args, b"" if meta is None else js(meta), kind))

    def terminal(self, stream):
        """Skips PROGRESS/NOTIFY of `stream`; returns (type, parsed JSON) of its terminal frame."""
        while True:
            type_, _, s, payload = self.recv()
            assert s == stream
            if type_ in (RESULT, ERROR):
                assert b"\n" not in payload and b"\r" not in payload
                return type_, json.loads(payload)
            assert type_ in (PROGRESS, NOTIFY)

    def expect_closed(self):
        assert self.recv() is None

    def close(self):
        self.sock.close()


def start_executor(sock_path, use_env=False):
    r, w = os.pipe()
    env = dict(os.environ, SWITCHYARD_READY_FD=str(w))
    argv = [sys.executable, EXECUTOR]
    if use_env:
        env.update(SWITCHYARD_SOCKET=sock_path, SWITCHYARD_EXECUTOR_NAME="test-env")
    else:
        argv += ["--socket", sock_path, "--name", "test-exec"]
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, env=env, pass_fds=(w,), stdout=subprocess.PIPE, stderr=stderr)
    os.close(w)
    ready, _, _ = select.select([r], [], [], 10)
    line = os.read(r, 64) if ready else b""
    os.close(r)
    assert line == b"READY\n", "executor did not signal readiness"
    proc.stderr_file = stderr
    return proc


def stop_executor(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.stdout.read() == b"", "the executor must not write to stdout"
    proc.stdout.close()
    proc.stderr_file.close()


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="sy-")  # short: AF_UNIX paths are limited to ~100 bytes
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def executor(sockdir):
    path = os.path.join(sockdir, "ex.sock")
    proc = start_executor(path)
    proc.socket_path = path
    yield proc
    stop_executor(proc)


@pytest.fixture
def link(executor):
    c = Client(executor.socket_path)
    c.hello()
    yield c
    c.close()


# ---- executor behaviour -----------------------------------------------------------------------

def test_hello_ready_catalog(executor):
    c = Client(executor.socket_path)
    ready = c.hello(versions=(1, 7))  # highest common version is 1
    assert ready["version"] == 1 and ready["executor"] == "test-exec" and ready["pid"] == executor.pid
    assert ready["zstd"] is False and ready["maxConcurrency"] == 64 and ready["maxFrame"] == MAX_FRAME
    assert ready["resources"] == [] and ready["prompts"] == []
    tools = {t["name"]: t for t in ready["tools"]}
    assert set(tools) == {"py_reverse", "py_word_count", "py_sleep"}
    for tool in tools.values():
        assert tool["inputSchema"]["type"] == "object"
    assert tools["py_word_count"]["outputSchema"]["properties"]["words"]["type"] == "integer"
    assert os.stat(executor.socket_path).st_mode & 0o077 == 0  # owner-only socket
    c.close()


def test_env_configuration(sockdir):
    path = os.path.join(sockdir, "env.sock")
    proc = start_executor(path, use_env=True)
    try:
        c = Client(path)
        assert c.hello()["executor"] == "test-env"
        c.close()
    finally:
        stop_executor(proc)


def test_reverse(link):
    link.call(1, "py_reverse", {"text": "héllo\nwörld"})
    assert link.terminal(1) == (RESULT, {"content": [{"type": "text", "text": "dlröw\nolléh"}], "isError": False})


def test_word_count_structured(link):
    link.call(2, "py_word_count", {"text": "one two  three"}, meta={})
    type_, result = link.terminal(2)
    assert type_ == RESULT and result["isError"] is False
    assert result["structuredContent"] == {"words": 3}
    assert json.loads(result["content"][0]["text"]) == {"words": 3}


@pytest.mark.parametrize("args", [None, {}, {"text": 5}, {"txt": "x"}])
def test_invalid_arguments_is_tool_error(link, args):
    link.call(3, "py_reverse", args)
    type_, result = link.terminal(3)
    assert type_ == RESULT and result["isError"] is True
    assert "text" in result["content"][0]["text"]


def test_unknown_tool(link):
    link.call(4, "nope", {})
    assert link.terminal(4) == (ERROR, {"code": -32602, "message": "Unknown tool: nope"})


def test_unknown_kind(link):
    link.call(5, "file:///x", kind=2)
    type_, error = link.terminal(5)
    assert type_ == ERROR and error["code"] == -32601


def test_meta_or_arguments_not_objects(link):
    link.send_frame(CALL, 6, encode_call("py_reverse", b"[1]"))
    assert link.terminal(6)[1]["code"] == -32602
    link.send_frame(CALL, 7, encode_call("py_reverse", b'{"text":"x"}', meta=b"not json"))
    assert link.terminal(7)[1]["code"] == -32602
    link.call(8, "py_reverse", {"text": "ok"})  # the link stays usable
    assert link.terminal(8)[1]["content"][0]["text"] == "ko"


def test_pipelined_calls(link):
    frames = b""
    for i in range(1, 31):
        if i % 3 == 0:
            args = encode_call("py_sleep", js({"ms": 300 - 5 * i}))
        else:
            args = encode_call("py_reverse", js({"text": "call %d" % i}))
        frames += encode(CALL, i, args)
    link.send(frames)  # 30 CALLs in one write, without waiting
    seen = {}
    order = []
    while len(seen) < 30:
        type_, _, stream, payload = link.recv()
        assert type_ == RESULT and stream not in seen
        seen[stream] = json.loads(payload)
        order.append(stream)
    for i in range(1, 31):
        text = seen[i]["content"][0]["text"]
        assert text == ("slept %d ms" % (300 - 5 * i) if i % 3 == 0 else ("call %d" % i)[::-1])
    assert order.index(30) < order.index(3)  # shorter sleeps finish first: any order is allowed


def test_cancel_in_flight(link):
    t0 = time.monotonic()
    link.call(7, "py_sleep", {"ms": 10000})
    link.send_frame(CANCEL, 99, b"")  # unknown stream: ignored
    time.sleep(0.1)
    link.send_frame(CANCEL, 7, js({"reason": "test"}))
    assert link.terminal(7) == (ERROR, {"code": -32800, "message": "request cancelled"})
    assert time.monotonic() - t0 < 3
    link.send_frame(CANCEL, 7, b"")  # finished stream: ignored, the link stays usable
    link.send_frame(PING, 1, b"after")
    assert link.recv() == (PONG, 0, 1, b"after")


def test_cancel_right_after_call(link):
    link.send(encode(CALL, 8, encode_call("py_sleep", js({"ms": 10000}))) + encode(CANCEL, 8))
    assert link.terminal(8)[1]["code"] == -32800


def test_progress_only_when_asked(link):
    link.call(9, "py_sleep", {"ms": 50}, meta={"progressToken": "p9"})
    progress = []
    while True:
        type_, _, stream, payload = link.recv()
        assert stream == 9
        if type_ != PROGRESS:
            break
        progress.append(json.loads(payload))
    assert type_ == RESULT and len(progress) == 10 and progress[-1]["progress"] == progress[-1]["total"] == 10
    link.call(10, "py_sleep", {"ms": 50})
    assert link.recv()[0] == RESULT


def read_progress(link, stream):
    progress = []
    while True:
        type_, _, s, payload = link.recv()
        assert s == stream
        if type_ != PROGRESS:
            return type_, progress
        progress.append(json.loads(payload))


def test_call_context_meta(link):
    """Current fronts send a context object; the progress token is in its `_meta`."""
    link.call(11, "py_sleep", {"ms": 20}, meta={
        "_meta": {"progressToken": 11}, "era": "modern", "protocolVersion": "2026-07-28",
        "clientCapabilities": {}, "logLevel": "info", "future": True})
    type_, progress = read_progress(link, 11)
    assert type_ == RESULT and [p["progress"] for p in progress] == list(range(1, 11))
    # A context object without `_meta`: no progress token, so no PROGRESS.
    link.call(12, "py_sleep", {"ms": 20}, meta={"era": "legacy", "logLevel": "info"})
    assert read_progress(link, 12) == (RESULT, [])
    # "progressToken" at the top of a context object is not the client's token.
    link.call(13, "py_sleep", {"ms": 20}, meta={"era": "modern", "progressToken": "x"})
    assert read_progress(link, 13) == (RESULT, [])
    # A context object with an unknown era is answered -32602; the link stays open.
    link.call(14, "py_reverse", {"text": "ab"}, meta={"era": "future"})
    assert link.terminal(14)[1]["code"] == -32602
    link.call(15, "py_reverse", {"text": "ab"}, meta={"era": "legacy"})
    assert link.terminal(15)[1]["content"][0]["text"] == "ba"


def test_new_frame_types_are_skipped(link):
    """RESPONSE (and wrong-direction REQUEST/CATALOG) mean nothing to an executor without them."""
    link.send_frame(0x17, 0, js({"requestId": 1, "result": {}}))
    link.send_frame(0x16, 3, js({"requestId": 1, "method": "roots/list"}))
    link.send_frame(0x18, 0, js({"tools": []}))
    link.call(16, "py_reverse", {"text": "xy"})
    assert link.terminal(16)[1]["content"][0]["text"] == "yx"


def test_ping_pong_and_unknown_type(link):
    link.send_frame(0x7F, 0, b"future frame")  # unknown type: skipped
    link.send_frame(PING, 0x0102030405060708, bytes(range(256)))
    assert link.recv() == (PONG, 0, 0x0102030405060708, bytes(range(256)))


def test_two_links(executor):
    a, b = Client(executor.socket_path), Client(executor.socket_path)
    a.hello()
    b.hello()
    a.call(1, "py_sleep", {"ms": 200})
    b.call(1, "py_reverse", {"text": "ab"})
    assert b.terminal(1)[1]["content"][0]["text"] == "ba"
    assert a.terminal(1)[0] == RESULT
    a.close()
    b.close()


@pytest.mark.parametrize("entry", INVALID, ids=[e["name"] for e in INVALID])
def test_malformed_vector_closes_link(link, entry):
    link.send(read_vector(entry))
    link.expect_closed()


@pytest.mark.parametrize("frame", [
    encode(RESULT, 1, b"\0\0\0\2{}", flags=1),               # COMPRESSED, but it said zstd:false
    encode(CALL, 1, struct.pack(">BBHI", 1, 0, 50, 0) + b"py_reverse"),  # name length overflows
    encode(CALL, 1, struct.pack(">BBHI", 1, 0, 2, 100) + b"ab{}"),       # meta length overflows
    encode(CALL, 1, b"\1\0\0"),                                        # shorter than 8 bytes
    encode(CALL, 0, encode_call("py_reverse", b'{"text":"x"}')),       # CALL on stream 0
    encode(HELLO, 0, js({"versions": [1]})),                          # second HELLO
    encode(PING, 1, bytes(1025)),                                     # PING over 1 KiB
], ids=["compressed", "name-overflow", "meta-overflow", "short-call", "stream-0", "second-hello", "big-ping"])
def test_protocol_violation_closes_link(link, frame):
    link.send(frame)
    link.expect_closed()


def test_duplicate_stream_closes_link(link):
    link.call(11, "py_sleep", {"ms": 2000})
    link.call(11, "py_reverse", {"text": "x"})
    link.expect_closed()


def test_first_frame_must_be_hello(executor):
    c = Client(executor.socket_path)
    c.send_frame(PING, 1, b"x")
    c.expect_closed()


def test_no_common_version(executor):
    c = Client(executor.socket_path)
    c.send_frame(HELLO, 0, js({"versions": [2, 3], "peer": "future-front"}))
    type_, _, stream, payload = c.recv()
    assert (type_, stream) == (ERROR, 0)
    assert json.loads(payload) == {"code": -32600, "message": "no common protocol version", "data": {"supported": [1]}}
    assert c.recv()[0] == GOODBYE
    c.expect_closed()


@pytest.mark.parametrize("payload", [b"not json", b"[1]", js({"peer": "x"}), js({"versions": [1], "maxFrame": 10})])
def test_invalid_hello(executor, payload):
    c = Client(executor.socket_path)
    c.send_frame(HELLO, 0, payload)
    type_, _, stream, body = c.recv()
    assert (type_, stream, json.loads(body)["code"]) == (ERROR, 0, -32600)
    assert c.recv()[0] == GOODBYE
    c.expect_closed()


def test_goodbye_from_front(link):
    link.send_frame(GOODBYE, 0, js({"reason": "done"}))
    link.expect_closed()


def test_sigterm_drains_and_exits_zero(executor):
    c = Client(executor.socket_path)
    c.hello()
    c.call(1, "py_sleep", {"ms": 400})
    time.sleep(0.1)
    executor.send_signal(signal.SIGTERM)
    assert c.recv() == (DRAIN, 0, 0, b"")
    assert c.terminal(1)[1]["content"][0]["text"] == "slept 400 ms"  # in-flight call completes
    type_, _, stream, _ = c.recv()
    assert (type_, stream) == (GOODBYE, 0)
    c.expect_closed()
    assert executor.wait(10) == 0
    assert not os.path.exists(executor.socket_path)
    with pytest.raises(OSError):
        Client(executor.socket_path)
