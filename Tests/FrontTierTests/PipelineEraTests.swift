@testable import FrontTier
import MCPCore
import XCTest

/// The era is decided by the protocol version a request declares: a 2026-07-28 request is served
/// statelessly whatever `Mcp-Session-Id` it carries (that revision's transport ignores it),
/// while a handshake-era request must name a live session.
final class PipelineEraTests: XCTestCase {
    private let bogus = "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"

    private func assertDiscovered(_ a: HTTPAnswer?, id: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a?.status, 200, a?.text ?? "", file: file, line: line)
        XCTAssertEqual(a?.message?["id"], .number(Double(id)), file: file, line: line)
        guard case .array(let versions)? = a?.message?["result"]?["supportedVersions"] else {
            return XCTFail("no supportedVersions: \(a?.text ?? "")", file: file, line: line)
        }
        XCTAssertTrue(versions.contains(.string(MCP.stateless)), file: file, line: line)
        XCTAssertEqual(a?.headers["mcp-session-id"], nil, "a stateless answer names no session", file: file, line: line)
    }

    private func assertListed(_ a: HTTPAnswer?, id: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a?.status, 200, a?.text ?? "", file: file, line: line)
        XCTAssertEqual(a?.message?["id"], .number(Double(id)), file: file, line: line)
        XCTAssertEqual(a?.message?["result"]?["resultType"], .string("complete"), file: file, line: line)
        XCTAssertEqual(a?.message?["result"]?["tools"], .array([]), file: file, line: line)
    }

    func testStatelessRequestWithoutASessionId() {
        let h = PipelineHarness()
        assertDiscovered(h.client.exchange(MCP.statelessPost(id: 1, method: "server/discover")), id: 1)
        assertListed(h.client.exchange(MCP.statelessPost(id: 2, method: "tools/list")), id: 2)
    }

    func testStatelessRequestWithAValidSessionIdIsServedStatelessly() {
        let h = PipelineHarness()
        let session = h.initialize()
        let header = ["Mcp-Session-Id: \(session)"]
        assertDiscovered(h.client.exchange(MCP.statelessPost(id: 1, method: "server/discover", extra: header)), id: 1)
        assertListed(h.client.exchange(MCP.statelessPost(id: 2, method: "tools/list", extra: header)), id: 2)
    }

    func testStatelessRequestWithABogusSessionIdIsServedStatelessly() {
        let h = PipelineHarness()
        let header = ["Mcp-Session-Id: \(bogus)"]
        assertDiscovered(h.client.exchange(MCP.statelessPost(id: 1, method: "server/discover", extra: header)), id: 1)
        assertListed(h.client.exchange(MCP.statelessPost(id: 2, method: "tools/list", extra: header)), id: 2)
    }

    func testHandshakeRequestWithABogusSessionIdIs404WithItsId() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.post(MCP.request(id: 9, method: "tools/list"),
                                           headers: MCP.session(bogus, version: "2025-11-25")))
        XCTAssertEqual(a?.status, 404)
        XCTAssertEqual(a?.message?["id"], .number(9))
        XCTAssertEqual(a?.errorCode, ErrorCode.sessionNotFound.rawValue)
    }

    func testHandshakeRequestWithoutASessionIdIs400WithItsId() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.post(MCP.request(id: "\"q\"", method: "tools/list"),
                                           headers: ["MCP-Protocol-Version: 2025-11-25"]))
        XCTAssertEqual(a?.status, 400)
        XCTAssertEqual(a?.message?["id"], .string("q"))
        XCTAssertEqual(a?.errorCode, ErrorCode.invalidRequest.rawValue)
    }

    func testHandshakeRequestOfALiveSessionIsServed() {
        let h = PipelineHarness()
        let session = h.initialize()
        let a = h.client.exchange(MCP.post(MCP.request(id: 3, method: "tools/list"),
                                           headers: MCP.session(session, version: "2025-11-25")))
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.message?["result"]?["tools"], .array([]))
        XCTAssertNil(a?.message?["result"]?["resultType"], "a handshake-era result is not stamped")
    }
}
