@testable import FrontTier
import MCPCore
import XCTest

/// Errors of a readable request carry its id: a foreign Origin (403), an unknown or ended
/// session (404). A body that cannot be read as a request answers with `id: null`.
final class PipelineErrorIdTests: XCTestCase {
    func testForeignOriginIs403WithTheRequestsId() {
        let h = PipelineHarness()
        let session = h.initialize()
        let a = h.client.exchange(MCP.post(MCP.request(id: 11, method: "ping"),
                                           headers: MCP.session(session) + ["Origin: https://evil.example"]))
        XCTAssertEqual(a?.status, 403)
        XCTAssertEqual(a?.message?["id"], .number(11), a?.text ?? "")
        XCTAssertEqual(a?.errorCode, ErrorCode.invalidRequest.rawValue)

        let b = h.client.exchange(MCP.statelessPost(id: 12, method: "server/discover",
                                                    extra: ["Origin: http://evil.example"]))
        XCTAssertEqual(b?.status, 403)
        XCTAssertEqual(b?.message?["id"], .number(12), b?.text ?? "")
    }

    func testForeignHostOnALoopbackListenerIs403WithTheRequestsId() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.post(MCP.request(id: "\"r\"", method: "ping"), host: "rebind.example"))
        XCTAssertEqual(a?.status, 403)
        XCTAssertEqual(a?.message?["id"], .string("r"), a?.text ?? "")
    }

    func testLoopbackAndAllowedOriginsAreServed() {
        var o = PipelineHarness.defaultOptions
        o.allowedOrigins = ["https://app.example"]
        let h = PipelineHarness(options: o)
        for origin in ["http://localhost:3000", "https://app.example", "null"] {
            let a = h.client.exchange(MCP.statelessPost(id: 1, method: "server/discover", extra: ["Origin: \(origin)"]))
            XCTAssertEqual(a?.status, 200, origin)
        }
    }

    func testUnknownSessionIs404WithTheRequestsId() {
        let h = PipelineHarness()
        let session = h.initialize()
        // The session ends (DELETE); a request naming it afterwards is 404 with its id.
        let d = h.client.exchange("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: \(session)\r\n\r\n")
        XCTAssertEqual(d?.status, 200)
        let a = h.client.exchange(MCP.post(MCP.request(id: "\"after-delete\"", method: "ping"),
                                           headers: MCP.session(session)))
        XCTAssertEqual(a?.status, 404)
        XCTAssertEqual(a?.message?["id"], .string("after-delete"), a?.text ?? "")
        XCTAssertEqual(a?.errorCode, ErrorCode.sessionNotFound.rawValue)
    }

    func testParseErrorHasANullId() {
        let h = PipelineHarness()
        let session = h.initialize()
        let a = h.client.exchange(MCP.post("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":", headers: MCP.session(session)))
        XCTAssertEqual(a?.status, 400)
        XCTAssertEqual(a?.errorCode, ErrorCode.parseError.rawValue, a?.text ?? "")
        XCTAssertEqual(a?.message?["id"], .null)
    }

    /// An invalid request's id is null even where it could be read (JSON-RPC 2.0 §5).
    func testInvalidRequestHasANullId() {
        let h = PipelineHarness()
        let session = h.initialize()
        let body = "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}"
        let a = h.client.exchange(MCP.post(body, headers: MCP.session(session)))
        XCTAssertEqual(a?.status, 400)
        XCTAssertEqual(a?.errorCode, ErrorCode.invalidRequest.rawValue, a?.text ?? "")
        XCTAssertEqual(a?.message?["id"], .null)
    }
}
