import EventLoop
import EventLoopTesting
import Foundation
@testable import FrontTier
import MCPCore
import XCTest

/// The front's real request layer (FrontServices, MCPService and its pipeline, HTTPConnection)
/// over in-memory streams, without a Front: no socket, no executor, no running libuv loop.
/// The executor pool is never started, so the catalog is empty and no call reaches an executor.
/// Connections run on a ManualLoop (its clock moves only with `advance(by:)`).
final class PipelineHarness {
    /// The libuv loop FrontServices needs for its timers (the listeners' keep-alive): created
    /// once, never run, so those timers never fire. Shared: a Loop is never freed.
    nonisolated(unsafe) private static let uvLoop = Loop()

    let loop: ManualLoop
    let options: FrontOptions
    let services: FrontServices
    let service: MCPService
    let limits: HTTPConnection.Limits
    /// The first connection; `connect()` opens more.
    let client: PipelineClient
    private var clients: [PipelineClient] = []

    static var defaultOptions: FrontOptions {
        var o = FrontOptions()
        o.host = "127.0.0.1"
        return o
    }

    init(options: FrontOptions = PipelineHarness.defaultOptions, limits: HTTPConnection.Limits? = nil) {
        self.options = options
        let loop = ManualLoop()
        self.loop = loop
        let uv = PipelineHarness.uvLoop
        let log = Log("pipeline-test", minimum: .error)
        let pool = ExecutorPool(loop: uv, directory: options.executorDirectory, peerName: "front-test",
                                compressThreshold: options.compressThreshold, log: log)
        let router = CallRouter(loop: uv, pool: pool, options: options, log: log)
        var key = [UInt8](repeating: 0, count: 32)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        let sessions = SessionTokens(key: key, versions: ProtocolVersion.supported, runDir: nil)
        // As Front builds it.
        let access = options.access.map {
            AccessControl(authenticator: $0.authenticator, policy: $0.policy,
                          resource: try! $0.metadata(endpointPath: options.endpointPath))
        }
        services = FrontServices(options: options, loop: uv, log: log, pool: pool, router: router,
                                 sessions: sessions, metrics: FrontMetrics(), access: access)
        let service = MCPService(services: services)
        self.service = service
        let limits = limits ?? HTTPConnection.Limits(maxHead: options.maxHead, maxBody: options.maxBody,
                                                     idleTimeoutMs: options.idleTimeoutMs)
        self.limits = limits
        client = PipelineClient(loop: loop, handler: service, limits: limits)
        clients.append(client)
    }

    /// A new connection to the same front, served by `handler` (the MCP service by default).
    func connect(handler: (any HTTPHandler)? = nil) -> PipelineClient {
        let c = PipelineClient(loop: loop, handler: handler ?? service, limits: limits)
        clients.append(c)
        return c
    }

    /// `initialize` on a connection of its own; returns the new session's id.
    func initialize(version: String = "2025-11-25", headers: [String] = [], file: StaticString = #filePath,
                    line: UInt = #line) -> String {
        let c = connect()
        c.send(MCP.post(MCP.request(id: 0, method: "initialize", params: MCP.initializeParams(version)),
                        headers: headers))
        let answers = c.takeAnswers(file: file, line: line)
        XCTAssertEqual(answers.map(\.status), [200], file: file, line: line)
        XCTAssertEqual(answers.first?.message?["result"]?["protocolVersion"], .string(version), file: file, line: line)
        c.close()
        return answers.first?.headers["mcp-session-id"] ?? ""
    }

    /// Every chunk is back in the pool (call once streams are closed and nothing holds a request).
    func assertNoChunksOutstanding(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(loop.outstandingChunks, 0, "chunks still out of the pool", file: file, line: line)
    }
}

/// One client connection: a MemoryStream the test plays the peer of, and its HTTPConnection.
final class PipelineClient {
    let loop: ManualLoop
    let stream: MemoryStream
    let connection: HTTPConnection

    init(loop: ManualLoop, handler: any HTTPHandler, limits: HTTPConnection.Limits) {
        self.loop = loop
        stream = MemoryStream(loop: loop)
        stream.readSize = HTTPConnection.clientReadSize  // as the front's client connections read
        connection = HTTPConnection(conn: stream, handler: handler, limits: limits)
        connection.start()
        loop.run()
    }

    /// The peer sends `text`; the loop runs until it settles.
    func send(_ text: String) { stream.send(text) }
    func send(_ bytes: [UInt8]) { stream.send(bytes) }

    /// The peer closes its side; the close completes.
    func close() {
        stream.sendEOF()
        loop.run()
    }

    /// Moves the clock by `ms`, then runs the connection's timeout sweep as the front's timer does.
    func advanceAndSweep(by ms: UInt64) {
        loop.advance(by: ms)
        connection.checkTimeouts(now: loop.now)
        loop.run()
    }

    /// The answers that reached the peer so far, parsed; forgets them. The last one may be an
    /// open stream (`complete` false).
    func takeAnswers(file: StaticString = #filePath, line: UInt = #line) -> [HTTPAnswer] {
        HTTPAnswer.parseAll(Array(stream.takeWritten().utf8), file: file, line: line)
    }

    /// Everything that reached the peer so far, parsed, without forgetting it (for an open
    /// stream, whose later chunks have no head of their own).
    func answersSoFar(file: StaticString = #filePath, line: UInt = #line) -> [HTTPAnswer] {
        HTTPAnswer.parseAll(stream.written, file: file, line: line)
    }

    /// Sends `text` and expects exactly one complete answer.
    func exchange(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> HTTPAnswer? {
        send(text)
        let answers = takeAnswers(file: file, line: line)
        XCTAssertEqual(answers.count, 1, "answers: \(answers.map(\.status))", file: file, line: line)
        return answers.first
    }
}

/// One HTTP/1.1 answer as the peer reads it: status, headers (names lowercased), the body
/// (de-chunked), and for a chunked body whether its last chunk arrived.
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var complete = true

    var text: String { String(decoding: body, as: UTF8.self) }
    var closes: Bool { headers["connection"]?.lowercased() == "close" }
    var isSSE: Bool { headers["content-type"]?.hasPrefix("text/event-stream") ?? false }

    /// The SSE events of a text/event-stream body (comments dropped; an event without data kept).
    var events: [SSEEvent] { SSEEvent.parseAll(text) }

    /// The JSON-RPC message (or batch array) of the answer: the JSON body, or the data of the
    /// first event of a one-event SSE answer.
    var message: JSONValue? {
        if isSSE {
            guard let data = events.first(where: { !$0.data.isEmpty })?.data else { return nil }
            return try? JSONValue.parse(Array(data.utf8))
        }
        return try? JSONValue.parse(body)
    }

    /// The JSON-RPC error code, when the message is an error.
    var errorCode: Int? { message?["error"]?["code"]?.numberValue.map { Int($0) } }

    /// Splits the bytes the peer read into answers: Content-Length framing, chunked framing
    /// (an open stream ends the list), or no body (1xx, 204, 304, and heads without a length).
    static func parseAll(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [HTTPAnswer] {
        var out: [HTTPAnswer] = []
        var i = 0
        let crlf2: [UInt8] = [13, 10, 13, 10]
        func find(_ needle: [UInt8], from: Int) -> Int? {
            guard bytes.count >= needle.count, from <= bytes.count - needle.count else { return nil }
            for k in from...(bytes.count - needle.count) where bytes[k..<k + needle.count].elementsEqual(needle) {
                return k
            }
            return nil
        }
        while i < bytes.count {
            guard let end = find(crlf2, from: i) else {
                let rest = String(decoding: bytes[i...], as: UTF8.self)
                XCTFail("an incomplete answer head: \(rest.debugDescription)", file: file, line: line)
                break
            }
            let lines = String(decoding: bytes[i..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let parts = lines[0].split(separator: " ")
            guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
                XCTFail("not a status line: \(lines[0].debugDescription)", file: file, line: line)
                break
            }
            var headers: [String: String] = [:]
            for h in lines.dropFirst() {
                guard let colon = h.firstIndex(of: ":") else { continue }
                headers[h[..<colon].lowercased()] = h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            i = end + 4
            var answer = HTTPAnswer(status: status, headers: headers, body: [])
            if headers["transfer-encoding"]?.lowercased() == "chunked" {
                answer.complete = false
                while let sizeEnd = find([13, 10], from: i) {
                    let sizeText = String(decoding: bytes[i..<sizeEnd], as: UTF8.self)
                    guard let size = Int(sizeText, radix: 16) else {
                        XCTFail("not a chunk size: \(sizeText.debugDescription)", file: file, line: line)
                        return out
                    }
                    guard sizeEnd + 2 + size + 2 <= bytes.count else { break }
                    if size == 0 {
                        answer.complete = true
                        i = sizeEnd + 4
                        break
                    }
                    answer.body += bytes[(sizeEnd + 2)..<(sizeEnd + 2 + size)]
                    i = sizeEnd + 2 + size + 2
                }
                out.append(answer)
                if !answer.complete { break }
            } else {
                let length = Int(headers["content-length"] ?? "0") ?? 0
                guard i + length <= bytes.count else {
                    XCTFail("a body shorter than its Content-Length", file: file, line: line)
                    break
                }
                answer.body = Array(bytes[i..<i + length])
                i += length
                out.append(answer)
            }
        }
        return out
    }
}

/// One server-sent event.
struct SSEEvent: Equatable {
    var id: String?
    var event: String?
    var data: String
    var retry: String?

    static func parseAll(_ text: String) -> [SSEEvent] {
        var out: [SSEEvent] = []
        for block in text.components(separatedBy: "\n\n") where !block.isEmpty {
            var e = SSEEvent(data: "")
            var fields = 0
            for l in block.components(separatedBy: "\n") where !l.hasPrefix(":") {
                let (name, value) = l.firstIndex(of: ":").map {
                    (String(l[..<$0]), String(l[l.index(after: $0)...].drop { $0 == " " }))
                } ?? (l, "")
                fields += 1
                switch name {
                case "id": e.id = value
                case "event": e.event = value
                case "data": e.data += e.data.isEmpty ? value : "\n" + value
                case "retry": e.retry = value
                default: fields -= 1
                }
            }
            if fields > 0 { out.append(e) }
        }
        return out
    }

    var message: JSONValue? { try? JSONValue.parse(Array(data.utf8)) }
}

/// Builders of MCP requests over HTTP.
enum MCP {
    static let path = "/mcp"
    static let both = "application/json, text/event-stream"
    static let stateless = "2026-07-28"

    /// A POST of `body` to the endpoint. `accept`/`contentType` nil leave the header out;
    /// `headers` are whole header lines without CRLF.
    static func post(_ body: String, headers: [String] = [], accept: String? = both,
                     contentType: String? = "application/json", host: String = "localhost:8080") -> String {
        var s = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Length: \(body.utf8.count)\r\n"
        if let contentType { s += "Content-Type: \(contentType)\r\n" }
        if let accept { s += "Accept: \(accept)\r\n" }
        for h in headers { s += h + "\r\n" }
        return s + "\r\n" + body
    }

    /// A chunked POST whose body is `chunks`, each sent as one HTTP chunk.
    static func chunkedPost(_ chunks: [String], headers: [String] = []) -> String {
        var s = "POST \(path) HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
            + "Content-Type: application/json\r\nAccept: \(both)\r\n"
        for h in headers { s += h + "\r\n" }
        s += "\r\n"
        for c in chunks { s += String(c.utf8.count, radix: 16) + "\r\n" + c + "\r\n" }
        return s + "0\r\n\r\n"
    }

    /// A GET of the session's stream.
    static func get(session: String, headers: [String] = [], accept: String = "text/event-stream") -> String {
        var s = "GET \(path) HTTP/1.1\r\nHost: localhost\r\nAccept: \(accept)\r\nMcp-Session-Id: \(session)\r\n"
        for h in headers { s += h + "\r\n" }
        return s + "\r\n"
    }

    /// A JSON-RPC request; `id` as JSON text (a number, or a quoted string).
    static func request(id: String, method: String, params: String? = nil) -> String {
        "{\"jsonrpc\":\"2.0\",\"id\":\(id),\"method\":\"\(method)\"" + (params.map { ",\"params\":\($0)" } ?? "") + "}"
    }

    static func request(id: Int, method: String, params: String? = nil) -> String {
        request(id: String(id), method: method, params: params)
    }

    static func notification(_ method: String) -> String { "{\"jsonrpc\":\"2.0\",\"method\":\"\(method)\"}" }

    static func initializeParams(_ version: String) -> String {
        "{\"protocolVersion\":\"\(version)\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}"
    }

    /// Handshake-era headers of a session.
    static func session(_ id: String, version: String? = nil) -> [String] {
        ["Mcp-Session-Id: \(id)"] + (version.map { ["MCP-Protocol-Version: \($0)"] } ?? [])
    }

    /// A 2026-07-28 request: `_meta` with the version and client capabilities in its params.
    static func statelessRequest(id: Int, method: String) -> String {
        let meta = "{\"io.modelcontextprotocol/protocolVersion\":\"\(stateless)\","
            + "\"io.modelcontextprotocol/clientCapabilities\":{}}"
        return request(id: id, method: method, params: "{\"_meta\":\(meta)}")
    }

    /// The headers a 2026-07-28 request carries.
    static func statelessHeaders(method: String) -> [String] {
        ["MCP-Protocol-Version: \(stateless)", "Mcp-Method: \(method)"]
    }

    /// A whole 2026-07-28 POST, with `extra` header lines.
    static func statelessPost(id: Int, method: String, extra: [String] = []) -> String {
        post(statelessRequest(id: id, method: method), headers: statelessHeaders(method: method) + extra)
    }
}
