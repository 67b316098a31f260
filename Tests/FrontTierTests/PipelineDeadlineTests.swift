@testable import FrontTier
import MCPCore
import XCTest

/// Deadlines on the fake clock: a POST whose head or body stops arriving is answered 408 and
/// closed; it never reaches the pipeline.
final class PipelineDeadlineTests: XCTestCase {
    func testIncompleteHeadIs408AfterTheHeadTimeout() {
        let h = PipelineHarness()
        let c = h.client
        c.send("POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Le")
        c.advanceAndSweep(by: h.limits.headTimeoutMs)
        XCTAssertEqual(c.stream.writtenText, "", "timed out at the limit, not after it")
        XCTAssertFalse(c.stream.isClosing)

        c.advanceAndSweep(by: 1)
        let answers = c.takeAnswers()
        XCTAssertEqual(answers.map(\.status), [408])
        XCTAssertEqual(answers.first?.closes, true)
        XCTAssertEqual(answers.first?.message?["id"], .null)
        XCTAssertTrue(answers.first?.text.contains("request head timed out") ?? false)
        XCTAssertTrue(c.stream.isClosed)
        XCTAssertEqual(h.service.requests, 0)
        h.assertNoChunksOutstanding()
    }

    func testIncompleteBodyIs408AfterTheBodyTimeout() {
        var limits = HTTPConnection.Limits()
        limits.bodyMinRate = 0 // the silence alone, not the minimum rate
        let h = PipelineHarness(limits: limits)
        let session = h.initialize()
        let c = h.client
        let full = MCP.post(MCP.request(id: 1, method: "ping"), headers: MCP.session(session))
        c.send(String(full.dropLast(5)))
        c.advanceAndSweep(by: h.limits.bodyTimeoutMs)
        XCTAssertEqual(c.stream.writtenText, "")
        c.advanceAndSweep(by: 1)
        let answers = c.takeAnswers()
        XCTAssertEqual(answers.map(\.status), [408])
        XCTAssertTrue(answers.first?.text.contains("request body timed out") ?? false)
        XCTAssertTrue(c.stream.isClosed)
        XCTAssertEqual(h.service.requests, 1, "only initialize reached the service")
    }

    /// An answered request does not leave a deadline behind: the next head has its own.
    func testTimeoutStartsAfterTheLastAnswer() {
        let h = PipelineHarness()
        let session = h.initialize()
        let c = h.client
        c.advanceAndSweep(by: 5_000)
        XCTAssertEqual(c.exchange(MCP.post(MCP.request(id: 1, method: "ping"), headers: MCP.session(session)))?.status,
                       200)
        c.send("POST /mcp HTTP/1.1\r\n")
        c.advanceAndSweep(by: h.limits.headTimeoutMs)
        XCTAssertFalse(c.stream.isClosing)
        c.advanceAndSweep(by: 1)
        XCTAssertEqual(c.takeAnswers().map(\.status), [408])
    }

    func testIdleKeepAliveClosesAfterTheIdleTimeout() {
        let h = PipelineHarness()
        let c = h.client
        XCTAssertEqual(c.exchange(MCP.statelessPost(id: 1, method: "server/discover"))?.status, 200)
        c.advanceAndSweep(by: h.limits.idleTimeoutMs)
        XCTAssertFalse(c.stream.isClosing)
        c.advanceAndSweep(by: 1)
        XCTAssertTrue(c.stream.isClosed)
        XCTAssertEqual(c.stream.writtenText, "", "an idle close writes nothing")
    }
}
