import CSupport
import XCTest

final class HTTPParserTests: XCTestCase {
    func parse(_ s: String, maxHead: Int = 16384) -> (Int32, sy_http_request_t) {
        var req = sy_http_request_t()
        let bytes = Array(s.utf8)
        let rc = bytes.withUnsafeBufferPointer { sy_http_parse_request($0.baseAddress!, $0.count, maxHead, &req) }
        return (rc, req)
    }

    func text(_ s: String, _ span: sy_span_t) -> String {
        let b = Array(s.utf8)
        return String(decoding: b[Int(span.off)..<Int(span.off + span.len)], as: UTF8.self)
    }

    func header(_ req: sy_http_request_t, _ i: Int) -> sy_http_header_t {
        withUnsafeBytes(of: req.headers) { $0.bindMemory(to: sy_http_header_t.self)[i] }
    }

    func testParsesRequestLineAndHeaders() {
        let s = "POST /mcp?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nContent-Type:  application/json \r\n"
            + "Content-Length: 2\r\n\r\n{}"
        let (rc, req) = parse(s)
        XCTAssertEqual(Int(rc), s.utf8.count - 2)
        XCTAssertEqual(text(s, req.method), "POST")
        XCTAssertEqual(text(s, req.target), "/mcp?x=1")
        XCTAssertEqual(req.minor_version, 1)
        XCTAssertEqual(req.nheaders, 3)
        XCTAssertEqual(text(s, header(req, 1).value), "application/json")
        XCTAssertEqual(req.content_length, 2)
        XCTAssertEqual(req.keep_alive, 1)
        var r = req
        let idx = Array(s.utf8).withUnsafeBufferPointer { sy_http_find_header(&r, $0.baseAddress!, "content-type") }
        XCTAssertEqual(idx, 1)
    }

    /// The parse indexes the headers the server reads: any case, the first of duplicates, -1
    /// when absent, and the same answer as a search by name.
    func testKnownHeadersAreIndexedWhileParsing() {
        let s = "POST /mcp HTTP/1.1\r\nX-Other: 1\r\nACCEPT: Application/JSON, text/event-stream\r\n"
            + "Mcp-Session-Id: abc\r\nmcp-session-id: second\r\nContent-Length: 0\r\nAccepts: no\r\n\r\n"
        var (rc, req) = parse(s)
        XCTAssertGreaterThan(rc, 0)
        let bytes = Array(s.utf8)
        XCTAssertEqual(sy_http_known_header(&req, Int32(SY_H_ACCEPT)), 1)
        XCTAssertEqual(sy_http_known_header(&req, Int32(SY_H_MCP_SESSION_ID)), 2)
        XCTAssertEqual(text(s, header(req, 2).value), "abc")
        XCTAssertEqual(sy_http_known_header(&req, Int32(SY_H_CONTENT_LENGTH)), 4)
        XCTAssertEqual(sy_http_known_header(&req, Int32(SY_H_ORIGIN)), -1)
        XCTAssertEqual(sy_http_known_header(&req, -1), -1)
        XCTAssertEqual(sy_http_known_header(&req, Int32(SY_H_KNOWN_COUNT)), -1)
        bytes.withUnsafeBufferPointer { b in
            XCTAssertEqual(sy_http_find_header(&req, b.baseAddress!, "mcp-session-id"), 2)
            XCTAssertEqual(sy_http_header_at_contains(&req, b.baseAddress!, 1, "application/json"), 1)
            XCTAssertEqual(sy_http_header_at_contains(&req, b.baseAddress!, 1, "text/plain"), 0)
            XCTAssertEqual(sy_http_header_at_contains(&req, b.baseAddress!, -1, "x"), -1)
        }
    }

    /// The Accept flags give what a substring test of each media range gives, and are kept.
    func testAcceptFlagsMatchSubstringTests() {
        let values = ["application/json, text/event-stream", "APPLICATION/JSON", "text/event-stream;q=0.5",
                      "*/*", "application/*", "Text/*", "text/html, image/png", "", "application/json-seq",
                      "text/event-stream, application/json, */*", "a", "application/jso", "tex", "*/"]
        let ranges: [(String, Int32)] = [("application/json", Int32(SY_ACCEPT_JSON)),
                                         ("text/event-stream", Int32(SY_ACCEPT_SSE)),
                                         ("*/*", Int32(SY_ACCEPT_ANY)), ("application/*", Int32(SY_ACCEPT_APPLICATION)),
                                         ("text/*", Int32(SY_ACCEPT_TEXT))]
        for v in values {
            let s = "POST /mcp HTTP/1.1\r\nAccept: \(v)\r\nContent-Length: 0\r\n\r\n"
            var (rc, req) = parse(s)
            XCTAssertGreaterThan(rc, 0, v)
            let bytes = Array(s.utf8)
            bytes.withUnsafeBufferPointer { b in
                var expected: Int32 = 0
                for (needle, flag) in ranges where sy_http_header_at_contains(&req, b.baseAddress!, 0, needle) == 1 {
                    expected |= flag
                }
                XCTAssertEqual(sy_http_accept(&req, b.baseAddress!), expected, v)
                XCTAssertEqual(req.accept_flags, expected, "kept: \(v)")
            }
        }
        var (_, req) = parse("POST /mcp HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(req.accept_flags, -1, "not computed before asked")
        XCTAssertEqual(Array("x".utf8).withUnsafeBufferPointer { sy_http_accept(&req, $0.baseAddress!) },
                       Int32(SY_ACCEPT_ABSENT))
    }

    func testIncompleteUntilBlankLineByteByByte() {
        let s = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        let bytes = Array(s.utf8)
        for n in 0..<bytes.count {
            var req = sy_http_request_t()
            let rc = bytes.withUnsafeBufferPointer { sy_http_parse_request($0.baseAddress!, n, 16384, &req) }
            XCTAssertEqual(Int(rc), Int(SY_EHTTP_INCOMPLETE), "prefix of \(n) bytes")
        }
        XCTAssertEqual(Int(parse(s).0), bytes.count)
    }

    func testConnectionSemantics() {
        XCTAssertEqual(parse("GET / HTTP/1.0\r\n\r\n").1.keep_alive, 0)
        XCTAssertEqual(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").1.keep_alive, 1)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").1.keep_alive, 0)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n").1.keep_alive, 0)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").1.expect_continue, 1)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").1.chunked, 1)
        XCTAssertEqual(parse("GET / HTTP/1.1\n\n").0, 16, "bare LF line endings are accepted")
    }

    func testRejectsAmbiguousAndMalformedHeads() {
        let bad = [
            "POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Header: a\r\n\r\n",
            "GET / HTTP/1.1\r\n: empty\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1 \r\n\r\n",
            "G\u{7f}T / HTTP/1.1\r\n\r\n",
            " / HTTP/1.1\r\n\r\n",
            "GET / HTTPS/1.1\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]
        for s in bad { XCTAssertEqual(Int(parse(s).0), Int(SY_EHTTP_BAD), s.debugDescription) }
        XCTAssertEqual(Int(parse("GET / HTTP/2.0\r\n\r\n").0), Int(SY_EHTTP_VERSION))
        XCTAssertEqual(Int(parse("GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 65) + "\r\n").0),
                       Int(SY_EHTTP_TOO_MANY))
        XCTAssertEqual(Int(parse("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200), maxHead: 100).0),
                       Int(SY_EHTTP_TOO_MANY))
    }

    func testDuplicateEqualContentLengthIsAccepted() {
        XCTAssertGreaterThan(parse("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n").0, 0)
    }

    // MARK: chunked bodies

    func decodeChunked(_ s: String, pieces: Int) -> (Int32, String) {
        var buf = Array(s.utf8)
        var st = sy_chunked_t()
        var inOff = 0, outLen = 0
        var rc: Int32 = 0
        let step = max(1, buf.count / pieces)
        var avail = 0
        while rc == 0 && avail < buf.count {
            avail = min(buf.count, avail + step)
            rc = buf.withUnsafeMutableBufferPointer {
                sy_chunked_decode(&st, $0.baseAddress!, avail, &inOff, &outLen, 1 << 20)
            }
        }
        return (rc, String(decoding: buf[0..<outLen], as: UTF8.self))
    }

    func testChunkedWholeAndByteByByte() {
        let s = "4\r\nWiki\r\n5;name=v\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: 1\r\n\r\n"
        for pieces in [1, 3, s.utf8.count] {
            let (rc, body) = decodeChunked(s, pieces: pieces)
            XCTAssertEqual(rc, 1, "pieces \(pieces)")
            XCTAssertEqual(body, "Wikipedia in\r\n\r\nchunks.")
        }
    }

    func testChunkedRejectsGarbageAndOversize() {
        XCTAssertEqual(Int(decodeChunked("zz\r\n", pieces: 1).0), Int(SY_EHTTP_BAD))
        XCTAssertEqual(Int(decodeChunked("4\r\nabcdX\r\n", pieces: 1).0), Int(SY_EHTTP_BAD))
        XCTAssertEqual(Int(decodeChunked("FFFFFFFFFFFFFFFF\r\n", pieces: 1).0), Int(SY_EHTTP_BAD))
        XCTAssertEqual(Int(decodeChunked("200000\r\n", pieces: 1).0), Int(SY_EHTTP_TOO_MANY))
        XCTAssertEqual(decodeChunked("3\r\nabc\r\n", pieces: 1).0, 0, "needs the last chunk")
    }
}
