@testable import FrontTier
import MCPCore
import XCTest

/// Both eras declare the `logging` capability: `initialize` (handshake era) and
/// `server/discover` (stateless era).
final class PipelineCapabilitiesTests: XCTestCase {
    func testServerDiscoverDeclaresLogging() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.statelessPost(id: 1, method: "server/discover"))
        XCTAssertEqual(a?.status, 200)
        let caps = a?.message?["result"]?["capabilities"]
        XCTAssertEqual(caps?["logging"], .object([:]), "capabilities: \(caps.map { $0.compactJSON() } ?? "none")")
        XCTAssertNotNil(caps?["tools"])
        XCTAssertEqual(caps?["resources"]?["subscribe"], .bool(false), "no subscriptions without sessions")
    }

    func testInitializeDeclaresLogging() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.post(MCP.request(id: 1, method: "initialize",
                                                       params: MCP.initializeParams("2025-06-18"))))
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.message?["result"]?["protocolVersion"], .string("2025-06-18"))
        let caps = a?.message?["result"]?["capabilities"]
        XCTAssertEqual(caps?["logging"], .object([:]), "capabilities: \(caps.map { $0.compactJSON() } ?? "none")")
    }

    /// What initialize declares is served: logging/setLevel answers on the new session.
    func testLoggingSetLevelIsServedInTheHandshakeEra() {
        let h = PipelineHarness()
        let session = h.initialize()
        let setLevel = MCP.request(id: 2, method: "logging/setLevel", params: "{\"level\":\"debug\"}")
        let a = h.client.exchange(MCP.post(setLevel, headers: MCP.session(session)))
        XCTAssertEqual(a?.status, 200)
        XCTAssertEqual(a?.message?["result"], .object([:]), a?.text ?? "")
    }
}
