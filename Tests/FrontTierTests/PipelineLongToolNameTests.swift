@testable import FrontTier
import MCPCore
import XCTest

/// A tool name longer than the CALL's 16-bit name length (65,535 bytes) is the client's error:
/// answered with -32602 and a reason, never truncated into the frame, never a trap.
final class PipelineLongToolNameTests: XCTestCase {
    func testANameTooLongForACallIsInvalidParams() {
        let h = PipelineHarness()
        let session = h.initialize()
        let name = String(repeating: "x", count: 70_000)
        let params = "{\"name\":\"\(name)\",\"arguments\":{}}"
        let answer = h.client.exchange(MCP.post(MCP.request(id: 7, method: "tools/call", params: params),
                                                headers: MCP.session(session)))
        XCTAssertEqual(answer?.status, 200)
        XCTAssertEqual(answer?.errorCode, -32602)
        XCTAssertEqual(answer?.message?["id"], .number(7))
        let message = answer?.message?["error"]?["message"]?.stringValue ?? ""
        XCTAssertTrue(message.contains("70000 bytes") && message.contains("at most 65535 bytes"), message)
        XCTAssertFalse(h.client.stream.isClosing, "the connection stays usable")
        XCTAssertEqual(h.client.exchange(MCP.post(MCP.request(id: 8, method: "ping"),
                                                  headers: MCP.session(session)))?.status, 200)
    }
}
