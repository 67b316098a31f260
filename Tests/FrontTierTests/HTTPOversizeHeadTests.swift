@testable import FrontTier
import XCTest

/// A head longer than `maxHead` is answered 431 and the connection closes.
final class HTTPOversizeHeadTests: XCTestCase {
    private func limits(maxHead: Int) -> HTTPConnection.Limits {
        var l = HTTPConnection.Limits()
        l.maxHead = maxHead
        return l
    }

    /// A GET whose head is exactly `length` bytes.
    private func get(length: Int) -> String {
        let base = Req.get("/", headers: "X-Pad: \r\n")
        return Req.get("/", headers: "X-Pad: " + String(repeating: "p", count: length - base.utf8.count) + "\r\n")
    }

    func testHeadOverTheLimitIs431() {
        let h = HTTPHarness(limits: limits(maxHead: 256))
        h.send(get(length: 257))
        XCTAssertEqual(h.paths, [])
        let answers = h.takeResponses()
        XCTAssertEqual(answers.map(\.status), [431])
        XCTAssertEqual(answers.first?.closes, true)
        XCTAssertTrue(answers.first?.body.contains("request header fields too large") ?? false)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.malformed, [431])
    }

    func testHeadAtTheLimitIsServed() {
        let h = HTTPHarness(limits: limits(maxHead: 256))
        h.send(get(length: 256))
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
        XCTAssertEqual(h.malformed, [])
    }

    func testEndlessHeadIsRefusedOnceTheLimitIsBuffered() {
        let h = HTTPHarness(limits: limits(maxHead: 256))
        h.send("GET / HTTP/1.1\r\nX-Pad: " + String(repeating: "p", count: 200))
        XCTAssertEqual(h.stream.writtenText, "")
        h.send(String(repeating: "p", count: 100))
        XCTAssertEqual(h.takeResponses().map(\.status), [431])
        XCTAssertTrue(h.stream.isClosed)
    }
}
