import MCPCore
import XCTest

final class EnvelopeTests: XCTestCase {
    func withBody<T>(_ s: String, _ f: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try Array(s.utf8).withUnsafeBytes(f)
    }

    func testRequestMembers() throws {
        try withBody(#"{"jsonrpc":"2.0","id":"a\"b","method":"tools\/call","params":{"name":"echo"}}"#) { b in
            let e = try Envelope.scan(b)
            try e.validateRequest(in: b)
            XCTAssertEqual(e.method(in: b), "tools/call", "escapes are decoded")
            XCTAssertEqual(e.idJSON(in: b), #""a\"b""#, "string ids echo back as sent")
            XCTAssertEqual(e.name(in: b), "echo")
            XCTAssertEqual(e.idRange().map { String(decoding: b[$0], as: UTF8.self) }, #""a\"b""#)
        }
    }

    func testInvalidRequestsAndParseErrors() {
        func code(_ s: String) -> ErrorCode? {
            withBody(s) { b -> ErrorCode? in
                do throws(ProtocolError) {
                    try Envelope.scan(b).validateRequest(in: b)
                    return nil
                } catch { return error.code }
            }
        }
        XCTAssertEqual(code("{nope"), .parseError)
        XCTAssertEqual(code(""), .parseError)
        XCTAssertEqual(code(#"{"id":1,"method":"x"}"#), .invalidRequest, "jsonrpc missing")
        XCTAssertEqual(code(#"{"jsonrpc":"1.0","id":1,"method":"x"}"#), .invalidRequest)
        XCTAssertEqual(code(#"{"jsonrpc":"2.0","id":{},"method":"x"}"#), .invalidRequest)
        XCTAssertEqual(code(#"{"jsonrpc":"2.0","id":1,"method":3}"#), .invalidRequest)
        XCTAssertEqual(code(#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#), .invalidRequest)
        XCTAssertEqual(code("[1]"), .invalidRequest)
        XCTAssertNil(code(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#))
    }

    func testErrorResponsesAndStatuses() {
        let e = ProtocolError(.methodNotFound, "Method not found: x")
        XCTAssertEqual(e.httpStatus, 200)
        XCTAssertEqual(e.responseJSON(idJSON: "7"),
                       #"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"Method not found: x"}}"#)
        XCTAssertEqual(ProtocolError(.parseError, "p").responseJSON(idJSON: nil),
                       #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"p"}}"#)
        XCTAssertEqual(ProtocolError(.parseError, "p").httpStatus, 400)
        XCTAssertEqual(ProtocolError(.sessionNotFound, "s").httpStatus, 404)
        XCTAssertEqual(ProtocolError(.overloaded, "o").httpStatus, 503)
    }

    func testVersionNegotiation() {
        XCTAssertEqual(ProtocolVersion.negotiate(requested: "2025-06-18"), "2025-06-18")
        XCTAssertEqual(ProtocolVersion.negotiate(requested: "2024-11-05"), "2025-11-25")
        XCTAssertEqual(ProtocolVersion.negotiate(requested: nil), "2025-11-25")
    }

    func testCompactJSONIsDeterministicAndSingleLine() throws {
        let v = try JSONValue.parse(Array(#"{"b":[1,2.5,"x\ny"],"a":{"z":null,"t":true}}"#.utf8))
        XCTAssertEqual(v.compactJSON(), #"{"a":{"t":true,"z":null},"b":[1,2.5,"x\ny"]}"#)
        XCTAssertFalse(v.compactJSON().contains("\n"))
        XCTAssertEqual(JSONValue.quote("a\u{01}\"\\"), #""a\u0001\"\\""#)
    }
}
