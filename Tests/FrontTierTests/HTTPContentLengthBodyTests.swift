@testable import FrontTier
import XCTest

/// Content-Length bodies are handed on whole, however they arrive, and no byte more.
final class HTTPContentLengthBodyTests: XCTestCase {
    func testBodyWithTheHead() {
        let h = HTTPHarness()
        h.send(Req.post("/p", body: "{\"a\":1}") + Req.get("/next"))
        XCTAssertEqual(h.handler.seen.map(\.body), ["{\"a\":1}", ""])
        XCTAssertEqual(h.takeResponses().map(\.body), ["/p {\"a\":1}", "/next "])
    }

    func testBodySplitAtEveryByteBoundary() {
        let bytes = Array((Req.post("/p", body: "0123456789abcdef") + Req.get("/next")).utf8)
        for cut in 1..<bytes.count {
            let h = HTTPHarness()
            h.stream.send(Array(bytes[..<cut]))
            h.stream.send(Array(bytes[cut...]))
            XCTAssertEqual(h.handler.seen.map(\.body), ["0123456789abcdef", ""], "cut at \(cut)")
            XCTAssertEqual(h.takeResponses().map(\.body), ["/p 0123456789abcdef", "/next "], "cut at \(cut)")
        }
    }

    func testBodyNotHandedOnBeforeItsLastByte() {
        let h = HTTPHarness()
        h.send("POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nabc")
        XCTAssertEqual(h.paths, [])
        h.send("d")
        XCTAssertEqual(h.handler.seen.map(\.body), ["abcd"])
    }

    func testBodyLargerThanOneReadArrivesInSmallReads() {
        let body = String((0..<200_000).map { Character(UnicodeScalar(UInt8(48 + $0 % 10))) })
        let h = HTTPHarness()
        h.stream.maxReadLength = 1000
        h.send(Req.post("/big", body: body))
        XCTAssertEqual(h.handler.seen.count, 1)
        XCTAssertEqual(h.handler.seen.first?.body.count, body.count)
        XCTAssertEqual(h.handler.seen.first?.body, body)
    }
}
