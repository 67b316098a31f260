@testable import FrontTier
import MCPCore
import XCTest

/// An unknown method is -32601: with HTTP 200 in the handshake era, 404 in the stateless era,
/// where the methods it removed (`ping`, ...) are unknown too.
final class PipelineUnknownMethodTests: XCTestCase {
    func testHandshakeEraUnknownMethodIs32601With200() {
        let h = PipelineHarness()
        let session = h.initialize()
        let a = h.client.exchange(MCP.post(MCP.request(id: 31, method: "no/such"), headers: MCP.session(session)))
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.message?["id"], .number(31))
        XCTAssertEqual(a?.errorCode, ErrorCode.methodNotFound.rawValue)
    }

    func testStatelessOnlyMethodIsUnknownInTheHandshakeEra() {
        let h = PipelineHarness()
        let session = h.initialize()
        let a = h.client.exchange(MCP.post(MCP.request(id: 32, method: "server/discover"),
                                           headers: MCP.session(session)))
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.errorCode, ErrorCode.methodNotFound.rawValue)
    }

    func testStatelessEraUnknownMethodIs404() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.statelessPost(id: 33, method: "no/such"))
        XCTAssertEqual(a?.status, 404)
        XCTAssertEqual(a?.message?["id"], .number(33))
        XCTAssertEqual(a?.errorCode, ErrorCode.methodNotFound.rawValue)
    }

    func testPingInTheStatelessEraIs404() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.statelessPost(id: 34, method: "ping"))
        XCTAssertEqual(a?.status, 404)
        XCTAssertEqual(a?.message?["id"], .number(34))
        XCTAssertEqual(a?.errorCode, ErrorCode.methodNotFound.rawValue)
        XCTAssertTrue(a?.message?["error"]?["message"]?.stringValue?.contains("removed") ?? false, a?.text ?? "")
    }
}
