@testable import FrontTier
import XCTest

/// An answer may hold a zero-copy slice of the read buffer (`.slice`): the bytes it points at
/// stay as they were while later requests arrive into that buffer.
final class HTTPZeroCopySliceTests: XCTestCase {
    func testHeldSliceSurvivesLaterReads() {
        let h = HTTPHarness(holdAnswers: true)
        h.handler.answerWithSlice = true
        // A body that leaves less free room than a read asks for (16 KiB) in its 64 KiB buffer,
        // then a partial head: the next read must not slide that head down over the held body.
        let body = String((0..<50_000).map { Character(UnicodeScalar(UInt8(48 + $0 % 10))) })
        let next = Req.get("/b", headers: "X-Pad: " + String(repeating: "p", count: 600) + "\r\n")
        let cut = next.utf8.count - 10
        h.stream.send(Array((Req.post("/a", body: body)).utf8) + Array(next.utf8.prefix(cut)))
        XCTAssertEqual(h.paths, ["/a"])
        h.stream.send(Array(next.utf8.dropFirst(cut)))
        XCTAssertEqual(h.paths, ["/a", "/b"])

        h.handler.answer(0)
        h.handler.answer(1)
        h.settle()
        let answers = h.takeResponses()
        XCTAssertEqual(answers.count, 2)
        XCTAssertEqual(answers.first?.body.count, 3 + body.count)
        XCTAssertTrue(answers.first?.body == "/a " + body, "the held slice was overwritten")
        XCTAssertEqual(answers.last?.body, "/b ")
    }
}
