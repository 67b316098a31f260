import HTTPClient
import XCTest

/// The response decoder fed whole, in every two-piece split, and one byte at a time.
final class HTTPResponseParserTests: XCTestCase {
    struct Decoded: Equatable {
        var heads: [HTTPResponseHead] = []
        var body: [UInt8] = []
        var ends = 0
    }

    /// Feeds `pieces` as a connection would: unused bytes are offered again with the next piece.
    func decode(_ pieces: [[UInt8]], close: Bool = false) throws -> Decoded {
        var parser = HTTPResponseParser()
        var out = Decoded()
        var pending: [UInt8] = []
        let sink: (HTTPResponseParser.Event) -> Void = { event in
            switch event {
            case .head(let h): out.heads.append(h)
            case .body(let b): out.body += b
            case .end: out.ends += 1
            }
        }
        for piece in pieces {
            pending += piece
            let used = try pending.withUnsafeBytes { try parser.parse($0, sink) }
            pending.removeFirst(used)
        }
        if close { try parser.finish(sink) }
        return out
    }

    func splits(_ bytes: [UInt8]) -> [[[UInt8]]] {
        var all: [[[UInt8]]] = [[bytes], bytes.map { [$0] }]
        for i in 1..<bytes.count { all.append([Array(bytes[..<i]), Array(bytes[i...])]) }
        return all
    }

    func testContentLengthBodyInEverySplit() throws {
        let text = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}".utf8)
        for pieces in splits(text) {
            let d = try decode(pieces)
            XCTAssertEqual(d.heads.count, 1)
            XCTAssertEqual(d.heads.first?.status, 200)
            XCTAssertEqual(d.heads.first?.mediaType, "application/json")
            XCTAssertEqual(String(decoding: d.body, as: UTF8.self), "{\"a\":\"bcd\"}")
            XCTAssertEqual(d.ends, 1)
        }
    }

    func testChunkedBodyWithExtensionsAndTrailersInEverySplit() throws {
        let text = Array(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n").utf8)
        for pieces in splits(text) {
            let d = try decode(pieces)
            XCTAssertEqual(String(decoding: d.body, as: UTF8.self), "hello 0123456789")
            XCTAssertEqual(d.ends, 1)
        }
    }

    func testInterimResponseSkippedAndEmptyBodies() throws {
        let text = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".utf8)
        for pieces in splits(text) {
            let d = try decode(pieces)
            XCTAssertEqual(d.heads.map(\.status), [202])
            XCTAssertEqual(d.ends, 1)
        }
        let noContent = try decode([Array("HTTP/1.1 204 No Content\r\n\r\n".utf8)])
        XCTAssertEqual(noContent.ends, 1)
    }

    func testBodyUntilCloseEndsAtClose() throws {
        let text = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it".utf8)
        let open = try decode([text])
        XCTAssertEqual(open.ends, 0)
        let closed = try decode([text], close: true)
        XCTAssertEqual(String(decoding: closed.body, as: UTF8.self), "all of it")
        XCTAssertEqual(closed.ends, 1)
        XCTAssertFalse(closed.heads[0].keepsAlive)
    }

    func testKeepAliveRules() throws {
        XCTAssertTrue(HTTPResponseHead(status: 200, isHTTP11: true).keepsAlive)
        XCTAssertFalse(HTTPResponseHead(status: 200, isHTTP11: true, headers: [("connection", "close")]).keepsAlive)
        XCTAssertTrue(HTTPResponseHead(status: 200, isHTTP11: false, headers: [("connection", "Keep-Alive")]).keepsAlive)
    }

    func testHeaderLookupIgnoresCaseAndTrims() throws {
        let d = try decode([Array("HTTP/1.1 200 OK\r\nMcp-Session-Id:  abc \r\nContent-Length: 0\r\n\r\n".utf8)])
        XCTAssertEqual(d.heads[0].header("MCP-SESSION-ID"), "abc")
    }

    func testMalformedResponsesAreRefused() {
        let bad = [
            "HTTP/2 200 OK\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
        ]
        for text in bad {
            XCTAssertThrowsError(try decode([Array(text.utf8)]), text)
        }
        // A head that never ends is bounded.
        let endless = Array("HTTP/1.1 200 OK\r\n".utf8) + [UInt8](repeating: 0x61, count: HTTPResponseParser.maxHead + 10)
        XCTAssertThrowsError(try decode([endless]))
    }

    func testCutShortIsAnErrorAtClose() {
        XCTAssertThrowsError(try decode([Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)], close: true))
        XCTAssertThrowsError(try decode([Array("HTTP/1.1 200 OK\r\nContent".utf8)], close: true))
    }

    func testRequestWriterRefusesHeaderInjection() throws {
        let ok = try HTTPRequestWriter.render(HTTPRequest(method: "POST", target: "/mcp", headers: [("A", "b")],
                                                          body: Array("{}".utf8)), host: "h:1")
        XCTAssertEqual(String(decoding: ok, as: UTF8.self),
                       "POST /mcp HTTP/1.1\r\nHost: h:1\r\nA: b\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertThrowsError(try HTTPRequestWriter.render(HTTPRequest(method: "GET", target: "/", headers: [("A", "b\r\nC: d")]),
                                                          host: "h"))
        XCTAssertThrowsError(try HTTPRequestWriter.render(HTTPRequest(method: "GET", target: "/", headers: [("A B", "c")]),
                                                          host: "h"))
        XCTAssertThrowsError(try HTTPRequestWriter.render(HTTPRequest(method: "GET", target: "/a b"), host: "h"))
    }

    func testOriginHostHeader() {
        XCTAssertEqual(HTTPOrigin(tls: true, host: "example.com", port: 443).hostHeader, "example.com")
        XCTAssertEqual(HTTPOrigin(tls: false, host: "127.0.0.1", port: 8080).hostHeader, "127.0.0.1:8080")
        XCTAssertEqual(HTTPOrigin(tls: false, host: "::1", port: 80).hostHeader, "[::1]")
    }
}
