@testable import FrontTier
import XCTest

/// `closeIfQuiet` (the drain's grace for idle keep-alives) closes after the delay unless the
/// connection was active meanwhile; its timer is the stream's `schedule(after:)`.
final class HTTPCloseIfQuietTests: XCTestCase {
    func testQuietConnectionClosesAfterTheDelay() {
        let h = HTTPHarness()
        h.send(Req.get("/1"))
        _ = h.takeResponses()
        h.connection.closeIfQuiet(afterMs: 250)
        h.loop.advance(by: 249)
        XCTAssertFalse(h.stream.isClosing)
        h.loop.advance(by: 1)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.stream.writtenText, "")
        XCTAssertEqual(h.loop.pendingTimers, 0)
    }

    func testARequestMeanwhileKeepsItOpen() {
        let h = HTTPHarness()
        h.connection.closeIfQuiet(afterMs: 250)
        h.loop.advance(by: 100)
        h.send(Req.get("/late"))
        h.loop.advance(by: 500)
        XCTAssertEqual(h.takeResponses().map(\.body), ["/late "])
        XCTAssertFalse(h.stream.isClosing)
    }

    func testARequestInFlightKeepsItOpen() {
        let h = HTTPHarness(holdAnswers: true)
        h.send(Req.get("/slow"))
        h.connection.closeIfQuiet(afterMs: 250)
        h.loop.advance(by: 500)
        XCTAssertFalse(h.stream.isClosing)
    }
}
