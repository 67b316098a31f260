import XCTest
@testable import BenchClient

final class ResponseHeadTests: XCTestCase {
    func parse(_ s: String) throws -> ResponseHead? {
        let b = Array(s.utf8)
        return try b.withUnsafeBytes { try ResponseHead.parse($0) }
    }

    func testParsesStatusLengthAndSession() throws {
        let h = try XCTUnwrap(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nmcp-session-id:  abc \r\n"
                                    + "Content-Length: 12\r\n\r\n{\"result\":1}"))
        XCTAssertEqual(h.status, 200)
        XCTAssertEqual(h.contentLength, 12)
        XCTAssertEqual(h.sessionID, "abc")
        XCTAssertEqual(h.contentType, "application/json")
        XCTAssertFalse(h.close)
        XCTAssertEqual(h.headLength, 94)
    }

    func testIncompleteHeadNeedsMoreBytes() throws {
        XCTAssertNil(try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"))
    }

    func testChunkedAndClose() throws {
        let h = try XCTUnwrap(parse("HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"))
        XCTAssertEqual(h.status, 202)
        XCTAssertTrue(h.chunked)
        XCTAssertTrue(h.close)
        XCTAssertTrue(try XCTUnwrap(parse("HTTP/1.0 200 OK\r\n\r\n")).close)
    }

    func testMalformed() {
        XCTAssertThrowsError(try parse("HTTX/1.1 2x0 OK\r\n\r\n"))
        XCTAssertThrowsError(try parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"))
    }

    func testAnswerCheck() throws {
        var c = BenchConfig()
        c.arguments = #"{"text":"hello"}"#
        let t = try RequestTemplate(c)
        func check(_ body: String, status: Int = 200, id: UInt64? = 7) -> String? {
            Array(body.utf8).withUnsafeBytes { AnswerCheck.call(status: status, body: $0, id: id, template: t) }
        }
        XCTAssertNil(check(#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hello"}],"#
                           + #""isError":false}}"#))
        XCTAssertEqual(check(#"{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"text","text":"hello"}]}}"#),
                       "id_mismatch")
        XCTAssertEqual(check(#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"bye"}]}}"#),
                       "unexpected_answer")
        XCTAssertEqual(check(#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"x"}}"#), "jsonrpc_error")
        XCTAssertEqual(check(#"{"jsonrpc":"2.0","id":7,"result":{"content":[],"isError":true}}"#), "tool_error")
        XCTAssertEqual(check("", status: 404), "http_404")
    }

    func testLoopbackOnly() throws {
        var c = BenchConfig()
        try c.setURL("http://localhost:9000/mcp")
        XCTAssertEqual(c.host, "127.0.0.1")
        XCTAssertEqual(c.port, 9000)
        XCTAssertEqual(c.path, "/mcp")
        XCTAssertNoThrow(try c.validate())
        try c.setURL("http://10.0.0.1:80/mcp")
        XCTAssertThrowsError(try c.validate())
        c.host = "127.0.0.1"
        c.sourceAddresses = ["127.0.0.2", "192.168.1.1"]
        XCTAssertThrowsError(try c.validate())
    }

    func testStatelessBodyCarriesMeta() throws {
        var c = BenchConfig()
        c.era = .stateless
        let t = try RequestTemplate(c)
        let body = String(decoding: t.callPrefix + Array("1".utf8) + t.callSuffix, as: UTF8.self)
        let obj = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
        let params = obj["params"] as! [String: Any]
        let meta = params["_meta"] as! [String: Any]
        XCTAssertEqual(meta["io.modelcontextprotocol/protocolVersion"] as? String, "2026-07-28")
        XCTAssertNotNil(meta["io.modelcontextprotocol/clientCapabilities"])
        let head = String(decoding: t.headPrefix(sessionID: nil, method: "tools/call", closeConnection: false),
                          as: UTF8.self)
        XCTAssertTrue(head.contains("Mcp-Method: tools/call\r\n"))
        XCTAssertTrue(head.contains("Mcp-Name: echo\r\n"))
        XCTAssertTrue(head.contains("MCP-Protocol-Version: 2026-07-28\r\n"))
    }
}
