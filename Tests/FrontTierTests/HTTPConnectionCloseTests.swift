@testable import FrontTier
import XCTest

/// `Connection: close` (and HTTP/1.0 without keep-alive): the answer goes out, then the
/// connection closes, and nothing after that request is read.
final class HTTPConnectionCloseTests: XCTestCase {
    func testAnswerThenClose() {
        let h = HTTPHarness()
        h.send(Req.get("/1", headers: "Connection: close\r\n") + Req.get("/2"))
        XCTAssertEqual(h.paths, ["/1"], "a request after Connection: close was read")
        let answers = h.takeResponses()
        XCTAssertEqual(answers.map(\.body), ["/1 "])
        XCTAssertEqual(answers.first?.closes, true)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.stream.closeStatus, 0)
        XCTAssertEqual(h.closes, 1)
    }

    func testEarlierAnswersGoFirstAndTheCloseWaitsForTheAnswer() {
        let h = HTTPHarness(holdAnswers: true)
        h.send(Req.get("/1") + Req.get("/2", headers: "Connection: close\r\n"))
        XCTAssertEqual(h.paths, ["/1", "/2"])
        h.handler.answer(1)
        h.settle()
        XCTAssertFalse(h.stream.isClosing, "closed before the earlier request was answered")
        h.handler.answer(0)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.body), ["/1 ", "/2 "])
        XCTAssertTrue(h.stream.isClosed)
    }

    func testHTTP10WithoutKeepAliveCloses() {
        let h = HTTPHarness()
        h.send("GET /old HTTP/1.0\r\n\r\n")
        XCTAssertEqual(h.takeResponses().map(\.body), ["/old "])
        XCTAssertTrue(h.stream.isClosed)
    }
}
