@testable import FrontTier
import XCTest

/// A request body that stops arriving is answered 408 after `bodyTimeoutMs` (not the head's timeout).
final class HTTPBodyTimeoutTests: XCTestCase {
    func testStalledContentLengthBodyIs408AfterTheBodyTimeout() {
        let h = HTTPHarness()
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
