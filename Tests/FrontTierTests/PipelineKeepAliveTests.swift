@testable import FrontTier
import MCPCore
import XCTest

/// A connection serves request after request until the client asks it to close.
final class PipelineKeepAliveTests: XCTestCase {
    func testConnectionStaysOpenAcrossRequests() {
        let h = PipelineHarness()
        let session = h.initialize()
        for id in 1...4 {
            let a = h.client.exchange(MCP.post(MCP.request(id: id, method: id % 2 == 0 ? "ping" : "tools/list"),
                                               headers: MCP.session(session)))
            XCTAssertEqual(a?.status, 200)
            XCTAssertEqual(a?.message?["id"], .number(Double(id)))
            XCTAssertEqual(a?.closes, false)
            XCTAssertFalse(h.client.stream.isClosing, "closed after request \(id)")
        }
        XCTAssertEqual(h.service.requests, 5) // initialize on its own connection, then four
    }

    func testConnectionCloseIsAnsweredThenTheConnectionCloses() {
        let h = PipelineHarness()
        let session = h.initialize()
        let close = MCP.session(session) + ["Connection: close"]
        h.client.send(MCP.post(MCP.request(id: 1, method: "ping"), headers: MCP.session(session))
                      + MCP.post(MCP.request(id: 2, method: "ping"), headers: close)
                      + MCP.post(MCP.request(id: 3, method: "ping"), headers: MCP.session(session)))
        let answers = h.client.takeAnswers()
        XCTAssertEqual(answers.map(\.status), [200, 200])
        XCTAssertEqual(answers.map { $0.message?["id"] }, [.number(1), .number(2)])
        XCTAssertEqual(answers.map(\.closes), [false, true])
        XCTAssertTrue(h.client.stream.isClosed)
        XCTAssertEqual(h.service.requests, 3, "the request after Connection: close was read") // with initialize
        h.assertNoChunksOutstanding()
    }

    func testErrorAnswersKeepTheConnection() {
        let h = PipelineHarness()
        let a = h.client.exchange(MCP.post(MCP.request(id: 1, method: "ping"))) // no session: 400
        XCTAssertEqual(a?.status, 400)
        XCTAssertEqual(a?.closes, false)
        let session = h.initialize()
        let b = h.client.exchange(MCP.post(MCP.request(id: 2, method: "ping"), headers: MCP.session(session)))
        XCTAssertEqual(b?.status, 200)
    }
}
