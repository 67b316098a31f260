@testable import FrontTier
import XCTest

/// A body larger than `maxBody` is answered 413 and the connection closes.
final class HTTPOversizeBodyTests: XCTestCase {
    private func limits(maxBody: Int) -> HTTPConnection.Limits {
        var l = HTTPConnection.Limits()
        l.maxBody = maxBody
        return l
    }

    func testContentLengthOverTheLimitIs413BeforeTheBody() {
        let h = HTTPHarness(limits: limits(maxBody: 1000))
        h.send("POST /big HTTP/1.1\r\nHost: test\r\nContent-Length: 1001\r\n\r\n")
        XCTAssertEqual(h.paths, [])
        let answers = h.takeResponses()
        XCTAssertEqual(answers.map(\.status), [413])
        XCTAssertEqual(answers.first?.closes, true)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.malformed, [413])
    }

    func testContentLengthAtTheLimitIsServed() {
        let h = HTTPHarness(limits: limits(maxBody: 1000))
        h.send(Req.post("/ok", body: String(repeating: "b", count: 1000)))
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
    }

    func testChunkedBodyOverTheLimitIs413() {
        let h = HTTPHarness(limits: limits(maxBody: 1000))
        h.send(Req.chunked("/big", [String(repeating: "a", count: 600), String(repeating: "b", count: 401)]))
        XCTAssertEqual(h.paths, [])
        XCTAssertEqual(h.takeResponses().map(\.status), [413])
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.malformed, [413])
    }

    func testChunkedBodyAtTheLimitIsServed() {
        let h = HTTPHarness(limits: limits(maxBody: 1000))
        h.send(Req.chunked("/ok", [String(repeating: "a", count: 600), String(repeating: "b", count: 400)]))
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
    }
}
