@testable import FrontTier
import XCTest

/// A keep-alive connection serves request after request and stays open.
final class HTTPKeepAliveTests: XCTestCase {
    func testSeveralRequestsOneAfterAnother() {
        let h = HTTPHarness()
        for i in 1...5 {
            h.send(i % 2 == 0 ? Req.post("/\(i)", body: "b\(i)") : Req.get("/\(i)"))
            let answers = h.takeResponses()
            XCTAssertEqual(answers.map(\.body), [i % 2 == 0 ? "/\(i) b\(i)" : "/\(i) "], "request \(i)")
            XCTAssertEqual(answers.first?.closes, false)
            XCTAssertTrue(h.stream.isReading, "not reading after request \(i)")
            XCTAssertFalse(h.stream.isClosing)
            XCTAssertTrue(h.connection.isIdle)
        }
        XCTAssertEqual(h.closes, 0)
    }

    func testHTTP10KeepAliveStaysOpen() {
        let h = HTTPHarness()
        h.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        h.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(h.takeResponses().map(\.body), ["/a ", "/b "])
        XCTAssertFalse(h.stream.isClosing)
    }
}
