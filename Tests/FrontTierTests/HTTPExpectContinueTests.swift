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
}
