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
        let s = "POST /mcp?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nContent-Type:  application/json \r\nContent-Length: 2\r\n\r\n{}"
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
        let s = "POST /mcp HTTP/1.1\r\nX-Other: 1\r\nACCEPT: Application/JSON, text/event-stream\r\nMcp-Session-Id: abc\r\n"
            + "mcp-session-id: second\r\nContent-Length: 0\r\nAccepts: no\r\n\r\n"
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
            XCTAssertEqual(sy_http_media_type_is(&req, b.baseAddress!, 1, "application/json"), 0, "a list is no media type")
            XCTAssertEqual(sy_http_media_type_is(&req, b.baseAddress!, 2, "abc"), 1)
            XCTAssertEqual(sy_http_media_type_is(&req, b.baseAddress!, -1, "x"), -1)
        }
    }

    /// A Content-Type's media type is compared whole: case aside, parameters and spaces allowed.
    func testMediaTypeIsParsedNotSearched() {
        let cases: [(String, Int32)] = [("application/json", 1), ("Application/JSON; charset=utf-8", 1),
                                        ("  application/json  ;x=1", 1), ("application/json-seq", 0),
                                        ("text/x-application/json", 0), ("application/jso", 0), ("", 0)]
        for (v, expected) in cases {
            let s = "POST /mcp HTTP/1.1\r\nContent-Type: \(v)\r\nContent-Length: 0\r\n\r\n"
            var (rc, req) = parse(s)
            XCTAssertGreaterThan(rc, 0, v)
            Array(s.utf8).withUnsafeBufferPointer { b in
                let i = sy_http_known_header(&req, Int32(SY_H_CONTENT_TYPE))
                XCTAssertEqual(sy_http_media_type_is(&req, b.baseAddress!, i, "application/json"), expected, v)
            }
        }
    }

    /// The Accept flags name the media ranges the header lists, each compared whole, and are kept.
    func testAcceptFlagsParseTheList() {
        let json = Int32(SY_ACCEPT_JSON), sse = Int32(SY_ACCEPT_SSE), any = Int32(SY_ACCEPT_ANY)
        let app = Int32(SY_ACCEPT_APPLICATION), text = Int32(SY_ACCEPT_TEXT)
        let cases: [(String, Int32)] = [
            ("application/json, text/event-stream", json | sse), ("APPLICATION/JSON", json),
            ("text/event-stream;q=0.5", sse), ("*/*", any), ("application/*", app), ("Text/*", text),
            ("text/html, image/png", 0), ("", 0), ("application/json-seq", 0), ("a", 0), ("*/", 0),
            ("text/event-stream, application/json, */*", json | sse | any), ("application/json;q=0, text/*", text),
            ("application/json; q=0.000", 0), ("application/json;q=0.5", json), ("x/application/json", 0),
            (" application/json ;charset=x,text/event-stream", json | sse),
        ]
        for (v, expected) in cases {
            let s = "POST /mcp HTTP/1.1\r\nAccept: \(v)\r\nContent-Length: 0\r\n\r\n"
            var (rc, req) = parse(s)
            XCTAssertGreaterThan(rc, 0, v)
            Array(s.utf8).withUnsafeBufferPointer { b in
                XCTAssertEqual(sy_http_accept(&req, b.baseAddress!), expected, v)
                XCTAssertEqual(req.accept_flags, expected, "kept: \(v)")
            }
        }
        var (_, req) = parse("POST /mcp HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(req.accept_flags, -1, "not computed before asked")
        XCTAssertEqual(Array("x".utf8).withUnsafeBufferPointer { sy_http_accept(&req, $0.baseAddress!) }, Int32(SY_ACCEPT_ABSENT))
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

    /// Every name the parse indexes is found in any case, and a name of the same length and
    /// first letter that is not one of them is not (names are classified by length first).
    func testEveryKnownHeaderNameIsIndexed() {
        let names: [(String, Int32)] = [
            ("Accept", Int32(SY_H_ACCEPT)), ("Content-Type", Int32(SY_H_CONTENT_TYPE)),
            ("Content-Length", Int32(SY_H_CONTENT_LENGTH)), ("Connection", Int32(SY_H_CONNECTION)),
            ("Expect", Int32(SY_H_EXPECT)), ("Host", Int32(SY_H_HOST)), ("Origin", Int32(SY_H_ORIGIN)),
            ("Mcp-Session-Id", Int32(SY_H_MCP_SESSION_ID)), ("MCP-Protocol-Version", Int32(SY_H_MCP_PROTOCOL_VERSION)),
            ("Mcp-Method", Int32(SY_H_MCP_METHOD)), ("Mcp-Name", Int32(SY_H_MCP_NAME)),
            ("Last-Event-ID", Int32(SY_H_LAST_EVENT_ID)), ("TRACEPARENT", Int32(SY_H_TRACEPARENT)),
            ("authorization", Int32(SY_H_AUTHORIZATION)), ("X-Forwarded-For", Int32(SY_H_X_FORWARDED_FOR)),
        ]
        for (name, known) in names {
            let value = name == "Content-Length" ? "0" : name == "Connection" ? "keep-alive" : "x"
            var (rc, req) = parse("GET / HTTP/1.1\r\nX-A: 1\r\n\(name): \(value)\r\n\r\n")
            XCTAssertGreaterThan(rc, 0, name)
            XCTAssertEqual(sy_http_known_header(&req, known), 1, name)
        }
        var (_, chunked) = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertEqual(sy_http_known_header(&chunked, Int32(SY_H_TRANSFER_ENCODING)), 0)
        let lookalikes = ["Accepx", "Hosts", "Expext", "Origim", "Content-Typo", "Mcp-Session-Ix", "Mcp-Nam3",
                          "Connectiom", "Mcp-Metho_", "Traceparenx", "Last-Event-IX", "Authorizatiom",
                          "X-Forwarded-Fox", "Transfer-Encodinx", "Mcp-Protocol-Versiom", "Content-Lengtx"]
        for name in lookalikes {
            var (rc, req) = parse("GET / HTTP/1.1\r\n\(name): 1\r\n\r\n")
            XCTAssertGreaterThan(rc, 0, name)
            for known in 0..<Int32(SY_H_KNOWN_COUNT) { XCTAssertEqual(sy_http_known_header(&req, known), -1, name) }
        }
    }

    /// A control byte other than HTAB anywhere in a long value is refused (values are checked
    /// eight bytes a step); tabs and bytes from 0x80 up are not control bytes.
    func testControlBytesAnywhereInAValueAreRefused() {
        let clean = "abcdefghijklmnopqrstuvwxyz0123456789"
        XCTAssertGreaterThan(parse("GET / HTTP/1.1\r\nX: a\tb\u{e9}\(clean)\tz\r\n\r\n").0, 0)
        for position in 0..<clean.count {
            for bad: Character in ["\u{01}", "\u{1f}", "\u{7f}", "\u{00}"] {
                var v = Array(clean)
                v[position] = bad
                let s = "GET / HTTP/1.1\r\nX: \(String(v))\r\n\r\n"
                XCTAssertEqual(Int(parse(s).0), Int(SY_EHTTP_BAD), "\(bad.debugDescription) at \(position)")
            }
        }
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
        XCTAssertEqual(Int(parse("GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 65) + "\r\n").0), Int(SY_EHTTP_TOO_MANY))
        XCTAssertEqual(Int(parse("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200), maxHead: 100).0), Int(SY_EHTTP_TOO_MANY))
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
            rc = buf.withUnsafeMutableBufferPointer { sy_chunked_decode(&st, $0.baseAddress!, avail, &inOff, &outLen, 1 << 20) }
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
