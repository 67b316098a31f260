#!/usr/bin/env python3
"""Writes the seed inputs of the Swift fuzz targets (Fuzz/seeds/<target>/). The structure-aware
targets read their input as decisions (Fuzz/Support/FuzzInput.swift), so a seed is the list of
decisions that builds a known-good case; libFuzzer mutates from there. Run from Fuzz/seeds/."""
import os

def write(target, name, data):
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, name), "wb") as f:
        f.write(bytes(data))

# last_event_id: the front (a byte), then the id's text.
for i, (front, text) in enumerate([(0, "0.1.2"), (1, "1.18446744073709551615.0"), (0, "0..1"), (2, "2.01.3"),
                                    (3, "3.7.9")]):
    write("last_event_id", f"{i:02d}", [front] + list(text.encode()))

# session_token: the mode, then its decisions.
write("session_token", "00-raw", [0] + list(b"v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"))
write("session_token", "01-mutated", [1, 0, 0x5F, 0, 0, 0, 3, 2, 10, 2, 0x41])
write("session_token", "02-round-trip", [2, 1, 5, 0x65, 0x43, 0x21, 0x00, 0x10, 0x00])
write("session_token", "03-round-trip-expired", [2, 2, 0, 0x65, 0, 0, 0, 0x1C, 0x21])
write("session_token", "04-seal", [3, 5] + list(b"state") + [4] + list(b"tool") + [1, 0, 3, 0x2E])

# request_layer: a connection (shape byte, number of requests - 1), then per request: method
# choice, method, path, version, header flags, body seed, [session], extra headers, raw line,
# [GET body], [POST mutations], framing; then the writes (split flag, action).
SEEDS = 22          # the number of bodies in `seeds` of request_layer.swift
POST, GET, DELETE = 0, 4, 6

def request(seed, method=POST, session=0, headers=(), framing=0, flags=0, extra=()):
    out = [0, method, 0, 0, flags, seed]
    if flags & 16 == 0:
        out.append(session)
    out.append(len(headers))
    for h in headers:
        out += h
    out.append(0)            # no raw line
    out.append(0)            # GET: no body; POST: no mutations
    out.append(framing)
    return out + list(extra)  # framing 5 (a wrong Content-Length) reads its delta - 4

def connection(requests, shape=0, last=0, reconnect_after=()):
    out = [shape, len(requests) - 1]
    for i, r in enumerate(requests):
        out += r
        if i < len(requests) - 1:
            out.append(7 if i in reconnect_after else 0)  # send what is pending (7: then reconnect)
        out += [0, 0]        # one write, no action
        if i in reconnect_after:
            out.append(0)    # the connection closes without waiting for deadlines
    return out + [last]

for i in range(SEEDS):
    write("request_layer", f"{i:02d}-body", connection([request(i)]))
write("request_layer", "30-initialize-then-call", connection([request(0, flags=16), request(4, session=3)]))
write("request_layer", "31-stream-then-expect",
      connection([request(0, method=GET), request(3, headers=[[5, 0, 0, 0]], framing=5, extra=[8])]))
write("request_layer", "32-chunked", connection([request(5, framing=6)]))
write("request_layer", "33-batch-2025-03-26", connection([request(12, session=2)]))
write("request_layer", "34-stream-resume",
      connection([request(0, method=GET), request(0, method=GET, headers=[[12, 0, 0, 0]])]))
write("request_layer", "35-delete-then-call", connection([request(3, method=DELETE), request(3)]))
write("request_layer", "36-pipelined-small-reads", connection([request(3), request(4), request(17)], shape=16))
write("request_layer", "37-close", connection([request(3, headers=[[4, 0, 0, 0]]), request(4)]))
write("request_layer", "38-timeouts", connection([request(3, framing=5, extra=[8])], last=1))
write("request_layer", "39-resume-on-another-connection",
      connection([request(0, method=GET), request(0, method=GET, headers=[[12, 0, 0, 0]])], reconnect_after=[0]))

# schema: mode 0 is a schema (two length bytes, its text) and an instance (the rest); mode 1
# is the grammar of schema.swift read from decisions (these seeds start it with a few keywords).
RAW_SCHEMAS = [
    (b'{"type":"object","properties":{"a":{"type":"integer","minimum":1}},"required":["a"]}', b'{"a":2}'),
    (b'{"$defs":{"n":{"type":"number"}},"items":{"$ref":"#/$defs/n"},"minItems":1}', b'[1,2.5,"x"]'),
    (b'{"anyOf":[{"type":"string","pattern":"^a"},{"const":null}],"not":{"enum":["ab"]}}', b'"abc"'),
    (b'{"if":{"minLength":2},"then":{"maxLength":3},"else":{"const":""}}', b'"abcd"'),
    (b'{"prefixItems":[{"type":"boolean"}],"items":false,"uniqueItems":true}', b'[true]'),
    (b'{"oneOf":[{"multipleOf":2},{"multipleOf":3}]}', b'6'),
]
for i, (schema, instance) in enumerate(RAW_SCHEMAS):
    write("schema", f"{i:02d}-raw", [0, len(schema) >> 8, len(schema) & 255] + list(schema) + list(instance))
for i, decisions in enumerate([[1, 1, 2, 12, 3, 0, 1, 5], [1, 1, 1, 31, 2, 3, 1, 6, 2, 5, 3, 2],
                               [1, 1, 2, 27, 2, 1, 0, 1, 22, 1, 6, 2, 7]]):
    write("schema", f"{i + 10:02d}-grammar", decisions)

# http_response: the piece size, close-at-end, then a server's answer (bench and remote upstreams).
HTTP_ANSWERS = [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n"
    b'{"jsonrpc":"2.0","id":1,"result":{}}',
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"".join(b"%x;e=1\r\n%s\r\n" % (len(c), c) for c in
               [b"event: message\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\n", b"data: one\ndata: two\r\r: c\n\n"])
    + b"0\r\nX-T: 1\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: until close\n\n",
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nMcp-Session-Id: x\r\n\r\nnot found",
]
for i, answer in enumerate(HTTP_ANSWERS):
    write("http_response", f"{i:02d}-answer", [i * 7 % 64, i % 2] + list(answer))

# canonical_json: the first text's length (a byte), the first text, then the second text.
CANONICAL_PAIRS = [
    (b'{"b":[10,2.50],"a":{"y":null,"x":true}}', b' { "a" : { "x":true, "y":null }, "b":[1e1, 25e-1] } '),
    (b'"\\u0061\\/\\u00e9\\n"', b'"a/\xc3\xa9\\u000a"'),
    (b'[-0, 0.000, 1.0E+0, 123456789012345678901234567890]', b'[0,0,1,12345678901234567890123456789e1]'),
    (b'{"\\u0061":1,"a\\"b":2,"B":3,"\xc3\xa9":4}', b'{"a":1}'),
    (b'[[[[{"k":[{"z":0,"y":[]}]}]]]]', b'9007199254740993'),
]
for i, (first, second) in enumerate(CANONICAL_PAIRS):
    write("canonical_json", f"{i:02d}-pair", [len(first)] + list(first) + list(second))
