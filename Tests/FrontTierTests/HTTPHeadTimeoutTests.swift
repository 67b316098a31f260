@testable import FrontTier
import XCTest

/// A request head is answered 408 unless it is complete `headTimeoutMs` after its first byte:
/// bytes dripping in do not extend the deadline (slowloris).
final class HTTPHeadTimeoutTests: XCTestCase {
    func testStalledHeadIs408AfterTheTimeout() {
        let h = HTTPHarness()
        h.send("GET /slow HTTP/1.1\r\nHost: te")
        h.advanceAndSweep(by: 10_000)
        XCTAssertEqual(h.stream.writtenText, "", "timed out at the limit, not after it")
        XCTAssertFalse(h.stream.isClosing)

        h.advanceAndSweep(by: 1)
        let answers = h.takeResponses()
        XCTAssertEqual(answers.map(\.status), [408])
        XCTAssertTrue(answers.first?.body.contains("request head timed out") ?? false)
        XCTAssertEqual(answers.first?.closes, true)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.paths, [])
    }

    func testDrippingBytesDoNotExtendTheDeadline() {
        let h = HTTPHarness()
        h.send("GET /slow HTTP/1.1\r\n")
        for _ in 0..<9 {
            h.advanceAndSweep(by: 1_000)
            h.send("X")
        }
        XCTAssertFalse(h.stream.isClosing, "closed before the deadline")
        h.advanceAndSweep(by: 1_001)
        XCTAssertEqual(h.takeResponses().map(\.status), [408])
        XCTAssertTrue(h.stream.isClosed)
    }

    func testAHeadCompletedInTimeIsServedAndTheNextHeadHasItsOwnDeadline() {
        let h = HTTPHarness()
        h.send("GET /a HTTP/1.1\r\n")
        h.advanceAndSweep(by: 9_000)
        h.send("Host: test\r\n\r\n")
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
        h.advanceAndSweep(by: 5_000)
        h.send("GET /b HTTP/1.1\r\n")
        h.advanceAndSweep(by: 9_000)
        h.send("Host: test\r\n\r\n")
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
    }

    func testShorterConfiguredTimeout() {
        var limits = HTTPConnection.Limits()
        limits.headTimeoutMs = 500
        let h = HTTPHarness(limits: limits)
        h.send("GET")
        h.advanceAndSweep(by: 501)
        XCTAssertEqual(h.takeResponses().map(\.status), [408])
    }
}
