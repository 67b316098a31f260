@testable import FrontTier
import XCTest

/// A request body that stops arriving is answered 408 after `bodyTimeoutMs` (not the head's
/// timeout); one that drips slower than `bodyMinRate` is answered 408 once its grace is over.
final class HTTPBodyTimeoutTests: XCTestCase {
    func testStalledContentLengthBodyIs408AfterTheBodyTimeout() {
        var limits = HTTPConnection.Limits()
        limits.bodyMinRate = 0 // the silence alone
        let h = HTTPHarness(limits: limits)
        h.send("POST /slow HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n12345")
        h.advanceAndSweep(by: 20_000)
        XCTAssertEqual(h.stream.writtenText, "", "the head's timeout applied to the body")
        h.advanceAndSweep(by: 10_000)
        XCTAssertFalse(h.stream.isClosing, "timed out at the limit, not after it")

        h.advanceAndSweep(by: 1)
        let answers = h.takeResponses()
        XCTAssertEqual(answers.map(\.status), [408])
        XCTAssertTrue(answers.first?.body.contains("request body timed out") ?? false)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.paths, [])
    }

    func testDrippingBodyIs408AfterItsGrace() {
        var limits = HTTPConnection.Limits()
        limits.bodyMinRate = 100
        let h = HTTPHarness(limits: limits)
        h.send("POST /slow HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n")
        // One byte a second: never silent for the body timeout, far below 100 bytes/s.
        for _ in 0..<5 {
            h.send("x")
            h.advanceAndSweep(by: 1_000)
        }
        XCTAssertFalse(h.stream.isClosing, "closed within the grace period")
        h.send("x")
        h.advanceAndSweep(by: 1_000)
        let answers = h.takeResponses()
        XCTAssertEqual(answers.map(\.status), [408])
        XCTAssertTrue(answers.first?.body.contains("slower than 100 bytes/s") ?? false)
        XCTAssertTrue(h.stream.isClosed)
    }

    func testBodyAtTheMinimumRateIsServed() {
        var limits = HTTPConnection.Limits()
        limits.bodyMinRate = 100
        let h = HTTPHarness(limits: limits)
        h.send("POST /ok HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n")
        for _ in 0..<9 {
            h.send(String(repeating: "y", count: 110))
            h.advanceAndSweep(by: 1_000)
        }
        h.send(String(repeating: "y", count: 10))
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
    }

    func testStalledChunkedBodyIs408() {
        var limits = HTTPConnection.Limits()
        limits.bodyTimeoutMs = 2_000
        let h = HTTPHarness(limits: limits)
        h.send("POST /slow HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        h.advanceAndSweep(by: 2_000)
        XCTAssertFalse(h.stream.isClosing)
        h.advanceAndSweep(by: 1)
        XCTAssertEqual(h.takeResponses().map(\.status), [408])
        XCTAssertTrue(h.stream.isClosed)
    }
}
