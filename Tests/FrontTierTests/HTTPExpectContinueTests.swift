@testable import FrontTier
import XCTest

/// `Expect: 100-continue`: the interim answer goes out once, only while the body is awaited.
final class HTTPExpectContinueTests: XCTestCase {
    private let head = "POST /e HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\n"
    private let continueLine = "HTTP/1.1 100 Continue\r\n\r\n"

    func testContinueBeforeTheBodyThenTheAnswer() {
        let h = HTTPHarness()
        h.send(head)
        XCTAssertEqual(h.stream.takeWritten(), continueLine)
        h.send("abc")
        XCTAssertEqual(h.stream.writtenText, "", "a second 100 Continue")
        h.send("def")
        XCTAssertEqual(h.handler.seen.map(\.body), ["abcdef"])
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
    }

    func testNoContinueWhenTheBodyCameWithTheHead() {
        let h = HTTPHarness()
        h.send(head + "abcdef")
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
    }

    func testContinueForAChunkedBody() {
        let h = HTTPHarness()
        h.send("POST /e HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertEqual(h.stream.takeWritten(), continueLine)
        h.send("3\r\nabc\r\n0\r\n\r\n")
        XCTAssertEqual(h.handler.seen.map(\.body), ["abc"])
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
    }

    func testEachRequestGetsItsOwnContinue() {
        let h = HTTPHarness()
        h.send(head)
        h.send("abcdef")
        h.send(head)
        XCTAssertEqual(h.takeResponses().map(\.status), [100, 200, 100])
    }

    /// Behind an unanswered request, the interim answer waits for the answers before it: written
    /// at once it would land inside them (in the chunked body of an open SSE stream, say).
    func testContinueWaitsForTheAnswersBeforeIt() {
        let h = HTTPHarness(holdAnswers: true)
        h.send("GET /first HTTP/1.1\r\nHost: test\r\n\r\n")
        h.send(head)
        XCTAssertEqual(h.stream.writtenText, "", "a 100 Continue ahead of the first answer")
        h.handler.answer(0)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.status), [200, 100])
        h.send("abcdef")
        h.handler.answer(1)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.status), [200])
        XCTAssertEqual(h.handler.seen.map(\.body), ["", "abcdef"])
    }

    /// A body that arrives while the answers before it are pending needs no 100 Continue later.
    func testNoContinueOnceTheBodyArrived() {
        let h = HTTPHarness(holdAnswers: true)
        h.send("GET /first HTTP/1.1\r\nHost: test\r\n\r\n")
        h.send(head + "abcdef")
        h.handler.answer(0)
        h.handler.answer(1)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.status), [200, 200])
    }
}
