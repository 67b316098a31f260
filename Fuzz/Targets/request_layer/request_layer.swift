// Whole HTTP requests through the front's request layer: HTTPConnection and MCPService (the
// request pipeline, method handlers and response writer) over a MemoryStream on a ManualLoop,
// as Tests/FrontTierTests/PipelineHarness.swift builds them, with no socket and no executor.
//
// Structure-aware: the input is read as decisions (FuzzInput) that build a few requests from a
// small grammar: a method, a path, an HTTP version, the headers the front reads with values from
// a dictionary (live session ids and event ids taken from earlier answers included) or mutated,
// a JSON-RPC body mutated from real MCP requests of both eras (handshake: initialize, session
// calls, batches; 2026-07-28: `_meta` and routing headers), framed by Content-Length (right or
// wrong), chunked (random chunk sizes, extensions, trailers) or not at all; the bytes go out in
// random write sizes and read sizes, with the clock moved (deadlines) and executor
// notifications delivered to open streams in between.
//
// Invariants: no crash or sanitizer report; what the server writes always splits into HTTP/1.1
// answers; every request handed to the service gets exactly one answer, in order (an answer's
// JSON-RPC id comes from its own request), except behind an open stream or a call waiting for
// an executor, and at most one more answer follows: an error that closes the connection; after
// the close every chunk is back in the pool.
import EventLoop
import EventLoopTesting
@testable import FrontTier
import FuzzSupport
import Glibc
import MCPCore

/// The libuv loop FrontServices needs for its timers: never run while requests are served.
nonisolated(unsafe) private let uvLoop = Loop()
private let sessionKey = [UInt8](repeating: 0x33, count: 32)
private let modern = "2026-07-28"
private let metaJSON = "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"\(modern)\","
    + "\"io.modelcontextprotocol/clientCapabilities\":{}}"

/// A JSON-RPC body (ID is replaced by the request's id) and the headers that go with it.
private struct Seed {
    var body: String
    var headers: [String] = []
}

private func modernSeed(_ method: String, name: String? = nil, params: String = "") -> Seed {
    let p = params.isEmpty ? "{\(metaJSON)}" : "{\(params),\(metaJSON)}"
    return Seed(body: "{\"jsonrpc\":\"2.0\",\"id\":ID,\"method\":\"\(method)\",\"params\":\(p)}",
                headers: ["MCP-Protocol-Version: \(modern)", "Mcp-Method: \(method)"]
                    + (name.map { ["Mcp-Name: \($0)"] } ?? []))
}

private func request(_ method: String, _ params: String? = nil) -> String {
    "{\"jsonrpc\":\"2.0\",\"id\":ID,\"method\":\"\(method)\"" + (params.map { ",\"params\":\($0)" } ?? "") + "}"
}

private let seeds: [Seed] = [
    Seed(body: request("initialize", "{\"protocolVersion\":\"2025-11-25\","
                                     + "\"capabilities\":{\"sampling\":{},\"roots\":{}},"
                                     + "\"clientInfo\":{\"name\":\"fuzz\",\"version\":\"1\"}}")),
    Seed(body: request("initialize", "{\"protocolVersion\":\"2025-03-26\",\"capabilities\":{},"
                                     + "\"clientInfo\":{\"name\":\"fuzz\",\"version\":\"1\"}}")),
    Seed(body: "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"),
    Seed(body: request("ping")),
    Seed(body: request("tools/list", "{\"cursor\":\"abc\"}")),
    Seed(body: request("tools/call", "{\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"},"
                                     + "\"_meta\":{\"progressToken\":7}}")),
    Seed(body: request("resources/list")),
    Seed(body: request("resources/read", "{\"uri\":\"demo://x\"}")),
    Seed(body: request("resources/subscribe", "{\"uri\":\"demo://x\"}")),
    Seed(body: request("prompts/get", "{\"name\":\"p\",\"arguments\":{\"a\":\"b\"}}")),
    Seed(body: request("completion/complete", "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"p\"},"
                                              + "\"argument\":{\"name\":\"a\",\"value\":\"b\"}}")),
    Seed(body: request("logging/setLevel", "{\"level\":\"debug\"}")),
    Seed(body: "[{\"jsonrpc\":\"2.0\",\"id\":ID,\"method\":\"ping\"},"
             + "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
             + "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"tools/list\"}]"),
    Seed(body: "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"result\":{}}"),
    Seed(body: "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":ID}}"),
    Seed(body: request("foo/bar", "[]")),
    modernSeed("server/discover"),
    modernSeed("tools/list"),
    modernSeed("tools/call", name: "echo",
               params: "\"name\":\"echo\",\"arguments\":{},\"requestState\":\"eA.AAAAAAAAAAAAAAAAAAAAAA\""),
    modernSeed("subscriptions/listen",
               params: "\"notifications\":{\"toolsListChanged\":true,\"resourceSubscriptions\":[\"demo://x\"]}"),
    modernSeed("resources/read", name: "demo://x", params: "\"uri\":\"demo://x\""),
    modernSeed("prompts/get", name: "p", params: "\"name\":\"p\""),
]

/// JSON fragments spliced into bodies by mutations.
private let jsonTokens = ["{", "}", "[", "]", ",", ":", "\"", "\\u0000", "\\\"", "null", "true", "1e999", "-0",
                          "\"id\":", "\"method\":", "\"params\":", "\"_meta\":{}", "\"jsonrpc\":\"2.0\"", "\u{0}", "é",
                          "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"", "\"progressToken\":\"t\""]

private let methods = ["POST", "POST", "POST", "POST", "GET", "GET", "DELETE", "OPTIONS", "PUT", "post"]
private let paths = ["/mcp", "/mcp", "/mcp", "/healthz", "/readyz", "/metrics", "/status", "/", "/mcp?x=1", "/mcp/",
                     "*"]
private let versions = ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 "]

/// The headers the front reads, with values worth trying (`$SESSION`/`$EVENT` stand for live ones).
private let headerValues: [(String, [String])] = [
    ("Accept", ["application/json, text/event-stream", "application/json", "text/event-stream", "*/*", "text/html",
                "application/json;q=0, text/event-stream", ""]),
    ("Content-Type", ["application/json", "application/json; charset=utf-8", "text/plain", "APPLICATION/JSON", ""]),
    ("Content-Length", ["0", "5", "-1", "99999999999999999999", "1 2", "+5"]),
    ("Transfer-Encoding", ["chunked", "gzip, chunked", "identity", "chunked, gzip"]),
    ("Connection", ["close", "keep-alive", "Upgrade", "close, keep-alive"]),
    ("Expect", ["100-continue", "100-Continue", "foo"]),
    ("Host", ["localhost", "127.0.0.1:8080", "evil.example", "localhost:8080", "[::1]:8080", ""]),
    ("Origin", ["http://localhost:8080", "https://evil.example", "null", "http://127.0.0.1"]),
    ("Mcp-Session-Id", ["$SESSION", "$SESSION", "v1.AAAA.BBBB", ""]),
    ("MCP-Protocol-Version", ["2025-11-25", "2025-06-18", "2025-03-26", modern, "1999-01-01", ""]),
    ("Mcp-Method", ["tools/call", "tools/list", "ping", "initialize", "server/discover"]),
    ("Mcp-Name", ["echo", "x", "=?base64?ZWNobw==?=", "demo://x"]),
    ("Last-Event-ID", ["$EVENT", "$EVENT", "0.1.0", "0.18446744073709551615.1", "1.1.1", "x", "0..1"]),
    ("traceparent", ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                     "00-00000000000000000000000000000000-b7ad6b7169203331-01", "zz"]),
]

private let notifications = [
    "{\"method\":\"notifications/tools/list_changed\",\"params\":{}}",
    "{\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\"demo://x\"}}",
    "{\"method\":\"notifications/prompts/list_changed\"}",
]

/// Counts and keeps the requests the connection hands to the service.
private final class Recorder: HTTPHandler {
    let service: MCPService
    var bodies: [[UInt8]] = []
    init(_ service: MCPService) { self.service = service }
    func handle(_ request: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {
        bodies.append(Array(request.body))
        service.handle(request, slot: slot, connection: connection)
    }
}

/// Live values seen in what the server wrote: the last session id and SSE event id.
private struct Live {
    var sessions: [String]
    var event = "0.1.1"
    var scanned = 0

    mutating func scan(_ written: [UInt8]) {
        guard scanned < written.count else { return }
        let text = String(decoding: written[scanned...], as: UTF8.self)
        scanned = written.count
        for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            if line.lowercased().hasPrefix("mcp-session-id:") {
                sessions.append(String(line.dropFirst("mcp-session-id:".count)).trimmingSpaces)
            } else if line.hasPrefix("id: ") {
                event = String(line.dropFirst(4))
            }
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}

private func buildRequest(_ input: inout FuzzInput, index: Int, live: Live) -> [UInt8] {
    let method = input.below(16) == 15 ? String(decoding: input.bytes(max: 8), as: UTF8.self) : input.pick(methods)
    let path = input.pick(paths)
    let version = input.pick(versions)
    var lines = ["\(method) \(path) \(version)"]
    let flags = input.byte()
    let seed = input.pick(seeds)
    if flags & 1 == 0 { lines.append("Host: localhost:8080") }
    if method == "GET" {
        if flags & 2 == 0 { lines.append("Accept: text/event-stream") }
    } else {
        if flags & 2 == 0 { lines.append("Accept: application/json, text/event-stream") }
        if flags & 4 == 0 { lines.append("Content-Type: application/json") }
        if flags & 8 == 0 { lines += seed.headers }
    }
    if flags & 16 == 0 && !live.sessions.isEmpty { lines.append("Mcp-Session-Id: \(input.pick(live.sessions))") }
    for _ in 0..<input.below(4) {
        let (name, values) = input.pick(headerValues)
        var value: String
        switch input.pick(values) {
        case "$SESSION": value = live.sessions.isEmpty ? "" : input.pick(live.sessions)
        case "$EVENT": value = live.event
        case let v: value = v
        }
        if input.below(8) == 7 {
            let mutated = mutate(Array(value.utf8), &input, count: 1 + input.below(3), tokens: [",", ";", " "])
            value = String(decoding: mutated, as: UTF8.self)
        }
        let spelled = input.below(4) == 3 ? name.uppercased() : name
        lines.append("\(spelled): \(value)")
    }
    if input.below(32) == 31 {
        lines.append(String(decoding: input.bytes(max: 40), as: UTF8.self))
    }
    var body: [UInt8] = []
    if method != "GET" || input.below(8) == 7 {
        body = Array(seed.body.split(separator: "ID", omittingEmptySubsequences: false)
            .joined(separator: String(1000 + index)).utf8)
        let mutations = input.below(4) == 3 ? 1 + input.below(6) : 0
        body = mutate(body, &input, count: mutations, tokens: jsonTokens)
    }
    var tail: [UInt8] = []
    switch input.below(8) {
    case 0...4:
        lines.append("Content-Length: \(body.count)")
        tail = body
    case 5:
        // A length that does not match the body.
        let wrong = max(0, body.count + input.below(9) - 4)
        lines.append("Content-Length: \(wrong)")
        tail = body
    case 6:
        lines.append("Transfer-Encoding: chunked")
        var rest = body[...]
        while !rest.isEmpty {
            let n = min(rest.count, 1 + input.below(max(1, rest.count)))
            let ext = input.below(8) == 7 ? ";x=\"y\"" : ""
            tail += Array((String(n, radix: 16) + ext + "\r\n").utf8) + rest.prefix(n) + [13, 10]
            rest = rest.dropFirst(n)
        }
        tail += Array((input.below(8) == 7 ? "0\r\nX-Trailer: 1\r\n\r\n" : "0\r\n\r\n").utf8)
        if input.below(16) == 15 {
            tail = mutate(tail, &input, count: 1 + input.below(3), tokens: ["\r\n", "0", "ffffffff"])
        }
    default:
        tail = []
    }
    return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + tail
}

/// FUZZ_PRINT=1 prints each request built and what the server wrote (to read a reproducer).
private let printRequests = getenv("FUZZ_PRINT") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestLayer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let loop = ManualLoop()
    do {
        var options = FrontOptions()
        options.host = "127.0.0.1"
        let log = Log("fuzz", minimum: .error)
        let pool = ExecutorPool(loop: uvLoop, directory: options.executorDirectory, peerName: "front-fuzz",
                                compressThreshold: options.compressThreshold, log: log)
        let router = CallRouter(loop: uvLoop, pool: pool, options: options, log: log)
        let sessions = SessionTokens(key: sessionKey, versions: ProtocolVersion.supported, runDir: nil)
        let services = FrontServices(options: options, loop: uvLoop, log: log, pool: pool, router: router,
                                     sessions: sessions, metrics: FrontMetrics())
        defer { services.listeners.stop() }
        let service = MCPService(services: services)
        var limits = HTTPConnection.Limits(maxHead: options.maxHead, maxBody: options.maxBody,
                                           idleTimeoutMs: options.idleTimeoutMs)
        let shape = input.byte()
        if shape & 1 != 0 { limits.maxHead = 512 }
        if shape & 2 != 0 { limits.maxBody = 256 }
        if shape & 4 != 0 { limits.maxPipelined = 2 }
        let readLength = [Int.max, Int.max, 1, 7, 100, 4096][Int(shape >> 3) % 6]
        let connect = { Peer(loop: loop, service: service, limits: limits, readLength: readLength) }
        var peer = connect()
        var live = Live(sessions: ProtocolVersion.supported.map { sessions.issue(protocolVersion: $0).id })

        var pending: [UInt8] = []
        let count = 1 + input.below(6)
        for index in 0..<count {
            let bytes = buildRequest(&input, index: index, live: live)
            if printRequests {
                print("--- request \(index):\n" + String(decoding: bytes, as: UTF8.self).debugDescription)
            }
            pending += bytes
            // Send some of what is pending, in writes of random sizes (the rest goes with the
            // next request), or all of it, then the next requests on a new connection.
            var toSend = pending.count
            var reconnect = false
            if index < count - 1 {
                switch input.below(8) {
                case 3: toSend = input.below(pending.count + 1)
                case 7: reconnect = true
                default: break
                }
            }
            while toSend > 0 {
                let n = input.bool() ? min(toSend, 1 + input.below(64)) : toSend
                peer.stream.send(Array(pending.prefix(n)))
                pending.removeFirst(n)
                toSend -= n
                live.scan(peer.stream.written)
                switch input.below(16) {
                case 14:
                    loop.advance(by: input.pick([1, 5_000, 10_001, 30_001, 60_001]))
                    peer.connection.checkTimeouts(now: loop.now)
                    loop.run()
                case 15:
                    services.listeners.deliver(Array(input.pick(notifications).utf8))
                    loop.run()
                default: break
                }
            }
            if reconnect {
                live.scan(peer.stream.written)
                peer.finish(&input, router)
                peer = connect()
            }
        }
        live.scan(peer.stream.written)
        peer.finish(&input, router)
    }
    uvLoop.run()
    require(loop.outstandingChunks == 0, "\(loop.outstandingChunks) chunks still out of the pool after the close")
    return 0
}

/// One client connection: the stream the fuzzer plays the peer of, and the server's side.
private final class Peer {
    let loop: ManualLoop
    let stream: MemoryStream
    let recorder: Recorder
    let connection: HTTPConnection

    init(loop: ManualLoop, service: MCPService, limits: HTTPConnection.Limits, readLength: Int) {
        self.loop = loop
        stream = MemoryStream(loop: loop)
        stream.maxReadLength = readLength
        recorder = Recorder(service)
        connection = HTTPConnection(conn: stream, handler: recorder, limits: limits)
        connection.start()
        loop.run()
    }

    /// Checks the answers so far, lets the deadlines run out or not, closes from the peer's side
    /// and checks again.
    func finish(_ input: inout FuzzInput, _ router: CallRouter) {
        loop.run()
        if printRequests { print("--- written:\n" + stream.writtenText) }
        checkAnswers(stream, recorder, router, final: false)
        if input.bool() {
            loop.advance(by: 120_000)
            connection.checkTimeouts(now: loop.now)
            loop.run()
        }
        stream.sendEOF()
        loop.run()
        if !stream.isClosed {
            // Reading is paused (requests in flight up to the limit, or an answer that closes is
            // pending), so the EOF is not seen: the front notices a gone peer when a write fails.
            require(!stream.isReading, "reading, and the peer's EOF did not close the connection")
            stream.close(status: -32) // EPIPE
            loop.run()
        }
        require(stream.isClosed, "the connection did not close")
        checkAnswers(stream, recorder, router, final: true)
    }
}

/// The answers written so far against the requests handed to the service.
private func checkAnswers(_ stream: MemoryStream, _ recorder: Recorder, _ router: CallRouter, final: Bool) {
    let all: [HTTPAnswer]
    do { all = try HTTPAnswers.parse(stream.written) } catch {
        require(false, "the server wrote what a client cannot read: \(error)\n\(stream.writtenText.prefix(4000))")
        return
    }
    let answers = all.filter { !$0.isInterim }
    let dispatched = recorder.bodies.count
    let open = answers.last.map { !$0.complete } ?? false
    require(answers.count <= dispatched + 1, "\(answers.count) answers to \(dispatched) requests")
    if answers.count == dispatched + 1 {
        let last = answers[dispatched]
        require(last.status >= 400 && last.closes && stream.isClosing,
                "an answer to no request that does not close: \(last.status)")
    }
    if !final && !open && !stream.isClosing && router.queued == 0 && router.outstanding == 0 {
        require(answers.count == dispatched, "\(dispatched) requests, \(answers.count) answers")
    }
    // In order: a JSON answer's numeric id (1000 + request index) comes from its own request,
    // where it may be spelled another way (ids are echoed as sent: 100e1 is 1000).
    for (i, a) in answers.enumerated() where i < dispatched && a.complete {
        guard a.header("content-type") == "application/json", case .object(let o)? = try? JSONValue.parse(a.body),
              case .number(let id)? = o["id"], id >= 1000, id < 1010 else { continue }
        let numbers = String(decoding: recorder.bodies[i], as: UTF8.self)
            .split { !"0123456789+-.eE".contains($0) }.compactMap { Double($0) }
        require(numbers.contains(id), "answer \(i) carries id \(id), which its request does not")
    }
}
