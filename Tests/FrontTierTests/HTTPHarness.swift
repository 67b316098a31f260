import EventLoopTesting
import Foundation
@testable import FrontTier
import XCTest

/// What the test handler saw of one request (copied: the request is valid during dispatch only).
struct SeenRequest: Equatable {
    var method: String
    var path: String
    var body: String
}

/// A handler that answers each request with a fixed body naming it: `<path> <body>`, as
/// text/plain with Content-Length. With `holdAnswers` it keeps the slots instead, and the test
/// answers them later, in any order (`answer(_:)`).
final class FixedAnswerHandler: HTTPHandler {
    var holdAnswers = false
    /// Answer with a zero-copy slice of the read buffer (the request body) instead of a copy.
    var answerWithSlice = false
    private(set) var seen: [SeenRequest] = []
    /// The capacity of the read chunk each request arrived in (what a call in flight holds).
    private(set) var chunkCapacities: [Int] = []
    /// Unanswered slots, by request index (`seen`), when `holdAnswers`.
    private(set) var held: [Int: (slot: ResponseSlot, connection: HTTPConnection)] = [:]

    func handle(_ request: HTTPRequest, slot: ResponseSlot, connection: HTTPConnection) {
        let method = request.methodIs("POST") ? "POST" : request.methodIs("GET") ? "GET" : "other"
        let body = String(decoding: request.body, as: UTF8.self)
        seen.append(SeenRequest(method: method, path: request.path, body: body))
        chunkCapacities.append(Int(request.chunk.pointee.cap))
        let prefix = "\(request.path) "
        slot.append(.text(HTTPResponse.head(status: 200, contentType: "text/plain",
                                            contentLength: prefix.utf8.count + request.body.count,
                                            keepAlive: !slot.closeAfter)))
        slot.append(.text(prefix))
        if answerWithSlice { slot.append(.slice(request.chunk, request.body)) } else { slot.append(.text(body)) }
        if holdAnswers { held[seen.count - 1] = (slot, connection) } else { connection.finish(slot) }
    }

    /// Finishes the held answer to request `index` (0-based, in arrival order).
    func answer(_ index: Int) {
        guard let h = held.removeValue(forKey: index) else { return XCTFail("request \(index) is not held") }
        h.connection.finish(h.slot)
    }

    /// Forgets held answers (their slots release what they hold).
    func dropHeld() { held.removeAll() }
}

/// One HTTPConnection over a MemoryStream on a ManualLoop, with the fixed-answer handler.
final class HTTPHarness {
    let loop = ManualLoop()
    let stream: MemoryStream
    let handler = FixedAnswerHandler()
    let connection: HTTPConnection
    private(set) var closes = 0
    private(set) var malformed: [Int] = []

    init(limits: HTTPConnection.Limits = .init(), holdAnswers: Bool = false) {
        stream = MemoryStream(loop: loop)
        stream.readSize = HTTPConnection.clientReadSize  // as the front's client connections read
        handler.holdAnswers = holdAnswers
        connection = HTTPConnection(conn: stream, handler: handler, limits: limits)
        connection.onClose = { [unowned self] _ in closes += 1 }
        connection.onMalformed = { [unowned self] status in malformed.append(status) }
        connection.start()
        loop.run()
    }

    /// The peer sends `text`; the loop runs until it settles.
    func send(_ text: String) { stream.send(text) }

    /// Runs what answers finished outside a read queued (flushes, closes).
    func settle() { loop.run() }

    /// Moves the clock by `ms`, then runs the connection's timeout sweep as the front's timer does.
    func advanceAndSweep(by ms: UInt64) {
        loop.advance(by: ms)
        connection.checkTimeouts(now: loop.now)
        loop.run()
    }

    /// The answers the peer received so far, parsed; forgets them.
    func takeResponses(file: StaticString = #filePath, line: UInt = #line) -> [ParsedResponse] {
        ParsedResponse.parseAll(stream.takeWritten(), file: file, line: line)
    }

    var paths: [String] { handler.seen.map(\.path) }

    /// Every chunk is back in the pool: call once the stream closed and held answers are dropped.
    func assertNoChunksOutstanding(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(loop.outstandingChunks, 0, "chunks still out of the pool", file: file, line: line)
    }
}

/// An HTTP/1.1 answer as the peer reads it: status, headers (names lowercased), body.
struct ParsedResponse: Equatable {
    var status: Int
    var headers: [String: String]
    var body: String

    /// Splits `text` into answers, each framed by its Content-Length (none: no body, as for 100).
    static func parseAll(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [ParsedResponse] {
        var rest = Substring(text)
        var out: [ParsedResponse] = []
        while !rest.isEmpty {
            guard let end = rest.range(of: "\r\n\r\n") else {
                XCTFail("an incomplete answer head: \(rest.debugDescription)", file: file, line: line)
                break
            }
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            let statusParts = lines[0].split(separator: " ")
            guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else {
                XCTFail("not a status line: \(lines[0].debugDescription)", file: file, line: line)
                break
            }
            var headers: [String: String] = [:]
            for h in lines.dropFirst() {
                guard let colon = h.firstIndex(of: ":") else { continue }
                headers[h[..<colon].lowercased()] = h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            rest = rest[end.upperBound...]
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let bodyBytes = Array(rest.utf8.prefix(length))
            guard bodyBytes.count == length else {
                XCTFail("a body shorter than its Content-Length", file: file, line: line)
                break
            }
            rest = Substring(String(decoding: rest.utf8.dropFirst(length), as: UTF8.self))
            let body = String(decoding: bodyBytes, as: UTF8.self)
            out.append(ParsedResponse(status: status, headers: headers, body: body))
        }
        return out
    }

    var closes: Bool { headers["connection"]?.lowercased() == "close" }
}

/// Request builders.
enum Req {
    static func get(_ path: String, headers: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: test\r\n\(headers)\r\n"
    }

    static func post(_ path: String, body: String, headers: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.utf8.count)\r\n\(headers)\r\n\(body)"
    }

    /// A chunked POST whose body is `chunks`, each sent as one HTTP chunk.
    static func chunked(_ path: String, _ chunks: [String], headers: String = "") -> String {
        var s = "POST \(path) HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\(headers)\r\n"
        for c in chunks { s += String(c.utf8.count, radix: 16) + "\r\n" + c + "\r\n" }
        return s + "0\r\n\r\n"
    }
}
