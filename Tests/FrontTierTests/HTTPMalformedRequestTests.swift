@testable import FrontTier
import XCTest

/// A request that cannot be parsed is answered 400 (after the answers before it) and the
/// connection closes: the stream position is lost.
final class HTTPMalformedRequestTests: XCTestCase {
    func testGarbageIs400AndClose() {
        let h = HTTPHarness()
        h.send("NOT AN HTTP REQUEST\r\n\r\n")
        XCTAssertEqual(h.paths, [])
        let answers = h.takeResponses()
        XCTAssertEqual(answers.map(\.status), [400])
        XCTAssertEqual(answers.first?.closes, true)
        XCTAssertEqual(answers.first?.headers["content-type"], "application/json")
        XCTAssertTrue(answers.first?.body.contains("\"id\":null") ?? false)
        XCTAssertTrue(h.stream.isClosed)
        XCTAssertEqual(h.malformed, [400])
        XCTAssertEqual(h.closes, 1)
    }

    func testEarlierRequestsAreAnsweredFirstAndNothingAfterIsRead() {
        let h = HTTPHarness(holdAnswers: true)
        h.send(Req.get("/ok") + "GET /bad\r\n\r\n" + Req.get("/never"))
        XCTAssertEqual(h.paths, ["/ok"])
        XCTAssertEqual(h.stream.writtenText, "", "the 400 overtook the answer before it")
        h.handler.answer(0)
        h.settle()
        XCTAssertEqual(h.takeResponses().map(\.status), [200, 400])
        XCTAssertTrue(h.stream.isClosed)
    }

    func testMalformedChunkedBodyIs400() {
        let h = HTTPHarness()
        h.send("POST /c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n")
        XCTAssertEqual(h.paths, [])
        XCTAssertEqual(h.takeResponses().map(\.status), [400])
        XCTAssertTrue(h.stream.isClosed)
    }

    func testUnsupportedVersionIs505() {
        let h = HTTPHarness()
        h.send("GET / HTTP/2.0\r\nHost: test\r\n\r\n")
        XCTAssertEqual(h.takeResponses().map(\.status), [505])
        XCTAssertEqual(h.malformed, [505])
        XCTAssertTrue(h.stream.isClosed)
    }
}
