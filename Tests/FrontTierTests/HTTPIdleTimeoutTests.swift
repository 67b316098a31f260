@testable import FrontTier
import XCTest

/// An idle keep-alive connection (nothing buffered, nothing in flight) closes quietly after
/// `idleTimeoutMs`; one with a request in flight does not.
final class HTTPIdleTimeoutTests: XCTestCase {
    func testIdleKeepAliveClosesWithoutAnAnswer() {
        let h = HTTPHarness()
        h.send(Req.get("/1"))
        XCTAssertEqual(h.takeResponses().count, 1)
        h.advanceAndSweep(by: 60_000)
        XCTAssertFalse(h.stream.isClosing, "closed at the limit, not after it")

        h.advanceAndSweep(by: 1)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.stream.writtenText, "", "an idle close wrote something")
        XCTAssertEqual(h.closes, 1)
    }

    func testAConnectionThatNeverSentAnythingClosesToo() {
        var limits = HTTPConnection.Limits()
        limits.idleTimeoutMs = 1_000
        let h = HTTPHarness(limits: limits)
        h.advanceAndSweep(by: 1_001)
        XCTAssertTrue(h.stream.isClosed)
    }

    func testARequestInFlightKeepsTheConnectionOpen() {
        let h = HTTPHarness(holdAnswers: true)
        h.send(Req.get("/slow"))
        h.advanceAndSweep(by: 120_000)
        XCTAssertFalse(h.stream.isClosing)
        h.handler.answer(0)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.body), ["/slow "])
        h.advanceAndSweep(by: 60_001)
        XCTAssertTrue(h.stream.isClosed, "the idle time did not restart at the answer")
    }
}
