#!/usr/bin/env python3
"""Generate the golden vectors of the Switchyard executor protocol v1.

Writes one `NN-name.bin` file per vector (the exact frame bytes: 20-byte
header + payload) and `index.json` describing every vector. See
../executor-protocol.md, section "Golden vectors".

Python standard library only. The one compressed vector's zstd bytes are made
once with the `zstd` command line tool (level 3) and committed as
src/compressed-result.zst; this script only reads that file, so regeneration
is reproducible without zstd. Pass --refresh-zst to recreate it (needs the
`zstd` CLI); without that flag the script checks, when the CLI is present,
that the committed file still decompresses to the expected payload.

Usage: python3 generate.py [--out DIR] [--refresh-zst]
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ZST_PATH = os.path.join(HERE, "src", "compressed-result.zst")

HEADER = struct.Struct(">2sBBB3sQI")  # magic, version, type, flags, reserved, stream, length
MAGIC = b"SY"
VERSION = 1
MAX_FRAME = 16 * 1024 * 1024
FLAG_COMPRESSED = 0x01

TYPES = {
    0x01: "HELLO", 0x02: "READY",
    0x10: "CALL", 0x11: "RESULT", 0x12: "ERROR", 0x13: "PROGRESS", 0x14: "NOTIFY", 0x15: "CANCEL",
    0x16: "REQUEST", 0x17: "RESPONSE", 0x18: "CATALOG",
    0x20: "PING", 0x21: "PONG",
    0x30: "DRAIN", 0x31: "GOODBYE",
}
T = {name: value for value, name in TYPES.items()}


def js(obj) -> bytes:
    """Compact UTF-8 JSON, as every JSON payload of the protocol is sent."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def header(type_, stream, length, flags=0, magic=MAGIC, version=VERSION, reserved=b"\0\0\0") -> bytes:
    return HEADER.pack(magic, version, type_, flags, reserved, stream, length)


def frame(type_, stream, payload, **kw) -> bytes:
    return header(type_, stream, len(payload), **kw) + payload


def call_payload(kind, name, meta: bytes, arguments: bytes) -> bytes:
    n = name.encode("utf-8")
    return struct.pack(">BBHI", kind, 0, len(n), len(meta)) + n + meta + arguments


# --- payloads ---------------------------------------------------------------

HELLO = {"versions": [1], "peer": "front-0", "maxFrame": MAX_FRAME, "zstd": True}

CATALOG = [
    {
        "name": "echo",
        "title": "Echo",
        "description": "Returns its text argument unchanged.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "Text to echo"}},
            "required": ["text"],
        },
        "annotations": {"readOnlyHint": True, "idempotentHint": True},
    },
    {
        "name": "add",
        "description": "Adds two integers.",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
        "outputSchema": {
            "type": "object",
            "properties": {"sum": {"type": "integer"}},
            "required": ["sum"],
        },
    },
]

READY = {
    "version": 1,
    "executor": "demo-0",
    "pid": 1234,
    "maxFrame": MAX_FRAME,
    "zstd": True,
    "maxConcurrency": 64,
    "tools": CATALOG,
    "resources": [],
    "prompts": [],
}


RESOURCES = [{"uri": "test://static-text", "name": "static-text", "mimeType": "text/plain",
              "description": "A static text resource"}]
RESOURCE_TEMPLATES = [{"uriTemplate": "test://template/{id}/data", "name": "template",
                       "mimeType": "application/json"}]
PROMPTS = [{"name": "greet", "description": "Greets someone",
            "arguments": [{"name": "name", "description": "Who to greet", "required": True}]}]

READY_FULL = {
    "version": 1, "executor": "demo-1", "pid": 1235, "maxFrame": MAX_FRAME, "zstd": False, "maxConcurrency": 64,
    "tools": CATALOG[:1], "resources": RESOURCES, "resourceTemplates": RESOURCE_TEMPLATES, "prompts": PROMPTS,
    "completions": True, "subscriptions": True,
}

CATALOG_FRAME = {"tools": CATALOG, "resources": RESOURCES, "resourceTemplates": RESOURCE_TEMPLATES,
                 "prompts": PROMPTS + [{"name": "farewell", "description": "Says goodbye",
                                        "_meta": {"io.switchyard/era": "modern"}}],
                 "completions": True, "subscriptions": True}

LEGACY_META = {"_meta": {"progressToken": "tok-7"}, "era": "legacy", "protocolVersion": "2025-11-25",
               "clientCapabilities": {"sampling": {}}, "logLevel": "info"}
MODERN_META = {"era": "modern", "protocolVersion": "2026-07-28", "clientCapabilities": {}}
MRTR_RETRY_META = {"era": "modern", "protocolVersion": "2026-07-28", "clientCapabilities": {"elicitation": {}},
                   "logLevel": "debug",
                   "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}},
                   "requestState": "eyJ2IjoxfQ"}


def compressible_result() -> bytes:
    """~2 KB CallToolResult that compresses well (a repetitive table)."""
    lines = ["row %02d | status=ok | latency_ms=%03d | region=eu-west" % (i, 100 + i) for i in range(36)]
    text = "\n".join(lines)  # JSON escapes the newlines: no raw LF on the wire
    return js({"content": [{"type": "text", "text": text}], "isError": False})


def refresh_zst(data: bytes) -> None:
    exe = shutil.which("zstd")
    if not exe:
        sys.exit("generate.py: --refresh-zst needs the zstd command line tool")
    os.makedirs(os.path.dirname(ZST_PATH), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "compressed-result.json")
        with open(src, "wb") as f:
            f.write(data)
        # From a file (not a pipe) so the zstd frame records its content size.
        subprocess.run([exe, "-3", "-q", "-f", src, "-o", ZST_PATH], check=True)


def check_zst(zst: bytes, expected: bytes) -> None:
    exe = shutil.which("zstd")
    if not exe:
        return
    out = subprocess.run([exe, "-d", "-q", "-c"], input=zst, stdout=subprocess.PIPE, check=True).stdout
    if out != expected:
        sys.exit("generate.py: src/compressed-result.zst does not decompress to the expected payload; "
                 "run with --refresh-zst")


# --- vector table -----------------------------------------------------------

def build_vectors(zst: bytes, uncompressed: bytes):
    """Returns a list of (name, frame bytes, extra index fields)."""
    v = []

    def add(name, data, **extra):
        v.append((name, data, extra))

    def add_call(name, stream, kind, tool, meta: bytes, arguments: bytes):
        payload = call_payload(kind, tool, meta, arguments)
        add(name, frame(T["CALL"], stream, payload), call={
            "kind": kind, "name": tool,
            "meta": meta.decode("utf-8"), "arguments": arguments.decode("utf-8"),
        })

    add("hello", frame(T["HELLO"], 0, js(HELLO)))
    add("ready", frame(T["READY"], 0, js(READY)))
    add_call("call-echo", 1, 1, "echo", b"{}", js({"text": "hi"}))
    add_call("call-with-meta", 2, 1, "add", js({"progressToken": "tok-2"}), js({"a": 2, "b": 40}))
    add_call("call-no-arguments", 3, 1, "echo", b"", b"")
    add("result", frame(T["RESULT"], 1, js({"content": [{"type": "text", "text": "hi"}], "isError": False})))
    add("error", frame(T["ERROR"], 4, js({"code": -32602, "message": "Unknown tool: nope"})))
    add("progress", frame(T["PROGRESS"], 2, js({"progress": 1, "total": 10, "message": "step 1 of 10"})))
    add("notify", frame(T["NOTIFY"], 0, js({
        "method": "notifications/message",
        "params": {"level": "info", "logger": "demo-0", "data": "cache warmed"},
    })))
    add("cancel", frame(T["CANCEL"], 2, js({"reason": "client cancelled"})))
    ping_payload = bytes.fromhex("deadbeef00010203")  # arbitrary bytes, not UTF-8
    add("ping", frame(T["PING"], 42, ping_payload))
    add("pong", frame(T["PONG"], 42, ping_payload))
    add("drain", frame(T["DRAIN"], 0, b""))
    add("goodbye", frame(T["GOODBYE"], 0, js({"reason": "shutting down"})))
    add("result-big-stream", frame(T["RESULT"], 0x0102030405060708,
                                   js({"content": [{"type": "text", "text": "big-endian"}], "isError": False})))
    add("result-compressed", frame(T["RESULT"], 5, struct.pack(">I", len(uncompressed)) + zst,
                                   flags=FLAG_COMPRESSED),
        uncompressed=uncompressed)
    add("unknown-type", frame(0x7F, 0, b"{}"))  # valid header, unknown type: receivers skip it

    # Invalid: each has exactly one defect. A receiver must reject it with the listed error.
    add("bad-magic", frame(T["PING"], 1, b"x", magic=b"SX"), error="bad-magic")
    add("bad-version", frame(T["PING"], 1, b"x", version=2), error="bad-version")
    add("bad-flags", frame(T["RESULT"], 1, b"{}", flags=0x02), error="bad-flags")
    add("bad-reserved", frame(T["PING"], 1, b"x", reserved=b"\0\1\0"), error="bad-reserved")
    add("too-large", header(T["RESULT"], 1, MAX_FRAME + 1), error="too-large")  # header only

    # Added for MCP completeness (appended, so the files above keep their names and bytes).
    add("ready-full-catalog", frame(T["READY"], 0, js(READY_FULL)))
    add_call("call-resource", 6, 2, "test://static-text", js(MODERN_META), b"")
    add_call("call-prompt", 7, 3, "greet", js(LEGACY_META), js({"name": "Ada"}))
    add_call("call-completion", 8, 4, "", js(MODERN_META), js({
        "ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "A"}}))
    add_call("call-mrtr-retry", 9, 1, "ask_name", js(MRTR_RETRY_META), b"{}")
    add("result-input-required", frame(T["RESULT"], 9, js({
        "resultType": "input_required",
        "inputRequests": {"user_name": {"method": "elicitation/create", "params": {
            "message": "What is your name?",
            "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}},
        "requestState": "eyJ2IjoxfQ"})))
    add("error-missing-capability", frame(T["ERROR"], 10, js({
        "code": -32021, "message": "Missing required client capability",
        "data": {"requiredCapabilities": {"sampling": {}}}})))
    add("error-resource-not-found", frame(T["ERROR"], 6, js({
        "code": -32602, "message": "Resource not found: test://nope", "data": {"uri": "test://nope"}})))
    add("request", frame(T["REQUEST"], 11, js({
        "requestId": 1, "method": "sampling/createMessage",
        "params": {"messages": [{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}],
                   "maxTokens": 100}})))
    add("response", frame(T["RESPONSE"], 11, js({
        "requestId": 1, "result": {"role": "assistant", "content": {"type": "text", "text": "Paris"},
                                   "model": "test-model", "stopReason": "endTurn"}})))
    add("response-error-stream0", frame(T["RESPONSE"], 0, js({
        "requestId": 2, "error": {"code": -1, "message": "User rejected sampling request"}})))
    add("notify-list-changed", frame(T["NOTIFY"], 0, js({"method": "notifications/tools/list_changed"})))
    add("catalog", frame(T["CATALOG"], 0, js(CATALOG_FRAME)))
    # A link-wide NOTIFY for one session only (§5.7): "session" is a CALL context's session key.
    add("notify-session", frame(T["NOTIFY"], 0, js({
        "method": "notifications/resources/updated", "params": {"uri": "file:///notes.txt"},
        "session": "3f2a9c01d4e5b687"})))
    return v


def index_entry(file, name, data, extra):
    magic, version, type_, flags, reserved, stream, length = HEADER.unpack_from(data)
    payload = data[HEADER.size:]
    entry = {
        "file": file,
        "name": name,
        "type": type_,
        "typeName": TYPES.get(type_, "UNKNOWN"),
        "flags": flags,
        "stream": str(stream),
        "length": length,
        "payloadHex": payload.hex(),
    }
    try:
        entry["payloadUtf8"] = payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    entry["valid"] = "error" not in extra
    if "error" in extra:
        entry["error"] = extra["error"]
    if "call" in extra:
        entry["call"] = extra["call"]
    if "uncompressed" in extra:
        entry["uncompressedHex"] = extra["uncompressed"].hex()
        entry["uncompressedUtf8"] = extra["uncompressed"].decode("utf-8")
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE, help="output directory (default: this script's directory)")
    ap.add_argument("--refresh-zst", action="store_true", help="recreate src/compressed-result.zst with zstd -3")
    args = ap.parse_args()

    uncompressed = compressible_result()
    if args.refresh_zst:
        refresh_zst(uncompressed)
    with open(ZST_PATH, "rb") as f:
        zst = f.read()
    check_zst(zst, uncompressed)

    os.makedirs(args.out, exist_ok=True)
    index = []
    for i, (name, data, extra) in enumerate(build_vectors(zst, uncompressed), start=1):
        file = "%02d-%s.bin" % (i, name)
        with open(os.path.join(args.out, file), "wb") as f:
            f.write(data)
        index.append(index_entry(file, name, data, extra))
    with open(os.path.join(args.out, "index.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote %d vectors to %s" % (len(index), args.out))


if __name__ == "__main__":
    main()
